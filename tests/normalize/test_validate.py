from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from etl.contracts import BANK_STATEMENTS, LOAN_APPLICATIONS, REPAYMENTS
from etl.normalize.validate import validate

GOOD = {
    "application_id": "A1",
    "customer_id": "C1",
    "loan_amount": "1000.50",
    "loan_application_date": "2023-01-15",
    "credit_score": "700",
    "employment_status": "Employed",
    "annual_income": "50000",
}


def chunk(rows: list[dict[str, str]], contract=LOAN_APPLICATIONS) -> pa.Table:  # type: ignore[no-untyped-def]
    names = [c for c in contract.names if any(c in r for r in rows)]
    cols = {n: pa.array([r.get(n, "") for r in rows], pa.string()) for n in names}
    cols["source_row"] = pa.array(range(2, len(rows) + 2), pa.int64())
    return pa.table(cols)


def one(**changes: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    result = validate(chunk([{**GOOD, **changes}]), LOAN_APPLICATIONS)
    return result.valid.to_pylist(), result.quarantine.to_pylist()


@pytest.mark.parametrize(
    ("changes", "column", "value"),
    [
        ({"credit_score": "850"}, "credit_score", 850),
        ({"credit_score": "300"}, "credit_score", 300),
        ({"credit_score": "000000700"}, "credit_score", 700),  # nine digits: the longest taken as they are
        ({"loan_application_date": "2100-12-31"}, "loan_application_date", date(2100, 12, 31)),
        ({"loan_application_date": "1900-01-01"}, "loan_application_date", date(1900, 1, 1)),
        (
            {"decision_date": "2023-01-15"},
            "decision_date",
            date(2023, 1, 15),
        ),  # decided on the day it came in
        ({"loan_term_months": "600"}, "loan_term_months", 600),
        ({"loan_term_months": "1"}, "loan_term_months", 1),
        ({"application_id": "A" * 128}, "application_id", "A" * 128),
        ({"application_id": "é" * 64}, "application_id", "é" * 64),  # 128 bytes
        ({"loan_purpose": "x" * 128}, "loan_purpose", "x" * 128),  # a label: 128 bytes (LABEL_BYTES)
        ({"state": "é" * 64}, "state", "é" * 64),
        ({"annual_income": "0"}, "annual_income", Decimal("0.00")),
        ({"loan_amount": "0.01"}, "loan_amount", Decimal("0.01")),
    ],
)
def test_values_on_the_edge_of_each_limit_are_accepted(
    changes: dict[str, str], column: str, value: object
) -> None:
    valid, bad = one(**changes)
    assert bad == []
    assert valid[0][column] == value


def test_good_row_is_cast_exactly() -> None:
    valid, bad = one(employment_status="  self employed ", loan_amount="1,234,567.8", annual_income=" 0 ")
    assert bad == []
    row = valid[0]
    assert row["loan_amount"] == Decimal("1234567.80")
    assert row["annual_income"] == Decimal("0.00")
    assert row["employment_status"] == "Self-Employed"
    assert row["loan_application_date"] == date(2023, 1, 15)
    assert row["credit_score"] == 700
    assert row["source_row"] == 2


@pytest.mark.parametrize(
    ("changes", "rule", "column", "reason"),
    [
        ({"customer_id": "  "}, "required", "customer_id", "customer_id is empty"),
        ({"loan_amount": "12,3x"}, "invalid_number", "loan_amount", "loan_amount '12,3x' is not a number"),
        ({"loan_amount": "1e5"}, "invalid_number", "loan_amount", "loan_amount '1e5' is not a number"),
        (
            {"loan_amount": "12.345"},
            "decimal_scale",
            "loan_amount",
            "loan_amount '12.345' has more than 2 decimal places",
        ),
        (
            {"loan_amount": "12345678901234567890.00"},
            "decimal_overflow",
            "loan_amount",
            "loan_amount '12345678901234567890.00' does not fit DECIMAL(18,2)",
        ),
        (
            {"loan_amount": "0"},
            "out_of_range",
            "loan_amount",
            "loan_amount '0' is outside the allowed range (> 0)",
        ),
        (
            {"loan_amount": "-5"},
            "out_of_range",
            "loan_amount",
            "loan_amount '-5' is outside the allowed range (> 0)",
        ),
        (
            {"annual_income": "-1"},
            "out_of_range",
            "annual_income",
            "annual_income '-1' is outside the allowed range (>= 0)",
        ),
        (
            {"credit_score": "900"},
            "out_of_range",
            "credit_score",
            "credit_score '900' is outside the allowed range (300-850)",
        ),
        (
            {"credit_score": "299"},
            "out_of_range",
            "credit_score",
            "credit_score '299' is outside the allowed range (300-850)",
        ),
        (
            {"credit_score": "700.5"},
            "invalid_integer",
            "credit_score",
            "credit_score '700.5' is not a whole number",
        ),
        (
            {"loan_application_date": "2023-02-30"},
            "invalid_date",
            "loan_application_date",
            "loan_application_date '2023-02-30' is not a valid date (expected YYYY-MM-DD)",
        ),
        (
            {"loan_application_date": "31/12/2023"},
            "invalid_date",
            "loan_application_date",
            "loan_application_date '31/12/2023' is not a valid date (expected YYYY-MM-DD)",
        ),
        (
            {"loan_application_date": "1850-01-01"},
            "out_of_range",
            "loan_application_date",
            "loan_application_date '1850-01-01' is outside 1900-01-01..2100-12-31",
        ),
        (
            {"employment_status": "Retired"},
            "invalid_enum",
            "employment_status",
            "employment_status 'Retired' is not one of Employed, Self-Employed, Unemployed",
        ),
        (
            {"decision_date": "2023-01-01"},
            "date_order",
            "decision_date",
            "decision_date is before loan_application_date",
        ),
        (
            {"application_id": "A" * 129},
            "out_of_range",
            "application_id",
            f"application_id '{'A' * 60}' is longer than 128 bytes",
        ),
        # 65 characters but 130 bytes: Redshift's VARCHAR(128) counts bytes
        (
            {"application_id": "é" * 65},
            "out_of_range",
            "application_id",
            f"application_id '{'é' * 60}' is longer than 128 bytes",
        ),
        (
            {"loan_purpose": "x" * 129},
            "out_of_range",
            "loan_purpose",
            "loan_purpose is longer than 128 bytes",
        ),
        # 65 characters but 130 bytes: the limit is in bytes, as Redshift's VARCHAR counts
        (
            {"state": "é" * 65},
            "out_of_range",
            "state",
            "state is longer than 128 bytes",
        ),
        # ten digits would overflow the cast to int32: a row quarantined, not a failed file
        (
            {"credit_score": "9999999999"},
            "out_of_range",
            "credit_score",
            "credit_score '9999999999' is too large",
        ),
        (
            {"loan_term_months": "601"},
            "out_of_range",
            "loan_term_months",
            "loan_term_months '601' is outside the allowed range (1-600)",
        ),
    ],
)
def test_each_rule_quarantines_with_a_reason(
    changes: dict[str, str], rule: str, column: str, reason: str
) -> None:
    valid, bad = one(**changes)
    assert valid == []
    assert len(bad) == 1
    assert (bad[0]["rule"], bad[0]["column"], bad[0]["reason"], bad[0]["source_row"]) == (
        rule,
        column,
        reason,
        2,
    )
    for name, value in {**GOOD, **changes}.items():
        assert bad[0][name] == value  # the original text is kept, untrimmed


def test_first_broken_rule_in_column_order_is_reported() -> None:
    _, bad = one(customer_id="", credit_score="abc")
    assert bad[0]["rule"] == "required"


def test_optional_columns_cast_when_present() -> None:
    valid, bad = one(
        interest_rate="12.5",
        loan_term_months="36",
        application_status=" APPROVED",
        state="Lagos",
        decision_date="2023-01-20 10:15:00",
    )
    assert bad == []
    assert valid[0]["interest_rate"] == Decimal("12.5000")
    assert valid[0]["loan_term_months"] == 36
    assert valid[0]["application_status"] == "approved"
    assert valid[0]["decision_date"] == date(2023, 1, 20)


def test_mixed_chunk_splits_and_keeps_every_row() -> None:
    rows = [GOOD, {**GOOD, "application_id": "A2", "credit_score": "x"}, {**GOOD, "application_id": "A3"}]
    result = validate(chunk(rows), LOAN_APPLICATIONS)
    assert [r["application_id"] for r in result.valid.to_pylist()] == ["A1", "A3"]
    assert [r["source_row"] for r in result.quarantine.to_pylist()] == [3]
    assert result.valid.num_rows + result.quarantine.num_rows == 3


def test_bank_statement_amount_must_not_be_zero() -> None:
    row = {
        "transaction_id": "T1",
        "customer_id": "C1",
        "transaction_date": "2023-01-01",
        "transaction_amount": "0.00",
        "narration": "POS",
        "balance": "-10.50",
    }
    result = validate(
        chunk([row, {**row, "transaction_id": "T2", "transaction_amount": "-3.10"}], BANK_STATEMENTS),
        BANK_STATEMENTS,
    )
    assert [r["transaction_id"] for r in result.valid.to_pylist()] == ["T2"]
    assert result.valid.to_pylist()[0]["balance"] == Decimal("-10.50")
    assert result.quarantine.to_pylist()[0]["reason"] == (
        "transaction_amount '0.00' is outside the allowed range (non-zero)"
    )


def test_repayment_optional_payment_columns() -> None:
    row = {
        "repayment_id": "R1",
        "application_id": "A1",
        "due_date": "2023-02-01",
        "amount_due": "100",
        "paid_date": "",
        "amount_paid": "",
    }
    result = validate(chunk([row], REPAYMENTS), REPAYMENTS)
    assert result.quarantine.num_rows == 0
    assert result.valid.to_pylist()[0]["amount_paid"] is None


def test_plus_signed_integers_and_odd_spacing_are_valid() -> None:
    valid, bad = one(credit_score="+700", employment_status="Self\u00a0Employed", loan_term_months="+12")
    assert bad == []
    assert (valid[0]["credit_score"], valid[0]["employment_status"], valid[0]["loan_term_months"]) == (
        700,
        "Self-Employed",
        12,
    )


@pytest.mark.parametrize("text", ["2024-01-01T25:00", "2024-01-01T10:60", "2024-01-01 10:00:61"])
def test_impossible_times_make_the_date_invalid(text: str) -> None:
    _, bad = one(loan_application_date=text)
    assert bad[0]["rule"] == "invalid_date"


MONEY_TEXTS = [
    "12.50",
    "-3",
    "+700",
    "0",
    "0.5",
    ".5",
    "12.",
    "007.10",
    "1,234.50",
    "1e5",
    "1E2",
    "12.345",
    "1.230",
    "9999999999999999.99",
    "10000000000000000",
    "abc",
    "1.2.3",
    "-",
    "",
    " 5 ",
    "12,3x",
    "-0.00",
]
DATE_TEXTS = [
    "2023-01-15",
    "2024-02-29",
    "2023-02-29",
    "2023-02-30",
    "2023-13-01",
    "1899-12-31",
    "2101-01-01",
    "2023-1-05",
    "2023/01/05",
    "2023-01-15T10:00:00",
    "2023-01-15 25:00",
    "",
    "20230115",
    "0000-01-01",
]


@pytest.mark.parametrize(
    ("column", "texts"), [("transaction_amount", MONEY_TEXTS), ("transaction_date", DATE_TEXTS)]
)
def test_column_fast_paths_agree_with_the_full_parse(column: str, texts: list[str]) -> None:
    """A clean column takes Arrow's cast, a dirty one the full parse: a value's fate must not depend on which."""
    base = {
        "transaction_id": "T",
        "customer_id": "C1",
        "transaction_date": "2023-01-15",
        "transaction_amount": "10",
        "narration": "POS",
        "balance": "1",
    }

    def outcome(values: list[str]) -> list[tuple[object, ...]]:
        rows = [{**base, "transaction_id": f"T{i}", column: v} for i, v in enumerate(values)]
        result = validate(chunk(rows, BANK_STATEMENTS), BANK_STATEMENTS)
        valid = {r["source_row"]: ("ok", r[column]) for r in result.valid.to_pylist()}
        bad = {r["source_row"]: (r["rule"], r["reason"]) for r in result.quarantine.to_pylist()}
        return [valid.get(line) or bad[line] for line in range(2, len(values) + 2)]

    one_by_one = [outcome([text])[0] for text in texts]  # clean values alone: the fast path
    assert outcome(texts) == one_by_one  # together with dirty ones: the full parse
    clean = [t for t, o in zip(texts, one_by_one, strict=True) if o[0] == "ok"]
    assert len(clean) >= 3 and outcome(clean) == [o for o in one_by_one if o[0] == "ok"]


EDGE_TEXTS = [
    "T1",
    " T1",
    "T1 ",
    "\tT1",
    "T1\r",
    "\u00a0T1",
    "T1\u3000",
    "caf\u00e9",
    "\u00e9",
    "",
    "   ",
    "a b",
    "x",
    "\x1fT",
]


@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_the_no_trim_shortcut_gives_what_trimming_gives(text: str) -> None:
    """Columns whose values need no trim skip it; any value at the edge of that rule takes the full trim."""
    from etl.normalize.validate import _trimmed_and_filled

    clean = pa.array(["T2", "C9", "2023-01-15"])
    for values in ([text], ["T2", text], ["T2", text, "C9"]):
        raw = pa.concat_arrays([clean, pa.array(values)]).slice(1)  # an offset, as in a chunk slice
        trimmed = pc.utf8_trim_whitespace(raw)
        unchanged = raw.equals(trimmed) and not pc.any(pc.equal(trimmed, "")).as_py()
        if _trimmed_and_filled(raw):
            assert unchanged, values
    expected_shortcut = (
        text not in {"", "   "} and text == text.strip() and text.isascii() and text.isprintable()
    )
    assert _trimmed_and_filled(pa.array([text])) is expected_shortcut
    assert _trimmed_and_filled(clean) is True
    assert _trimmed_and_filled(pa.array(["a", None])) is False


def _statements(*ids: str) -> pa.Table:
    """A chunk of bank-statement rows that differ only in their transaction_id."""
    base = {
        "customer_id": "C1",
        "transaction_date": "2023-01-15",
        "transaction_amount": "10",
        "narration": "POS",
    }
    return chunk([{"transaction_id": tid, **base, "balance": "1"} for tid in ids], BANK_STATEMENTS)


def test_invisible_characters_are_found_in_the_rows_that_hold_them_whatever_their_neighbours() -> None:
    from etl.normalize.text import unprintable_rows

    values = ["T1", "T\u200b2", "caf\u00e9", None, "", "T\x1f3", "T4", "\u00a0"]
    raw = pa.concat_arrays([pa.array(["x"]), pa.array(values, pa.string())]).slice(1)
    assert unprintable_rows(raw).tolist() == [1, 2, 5, 7]
    assert unprintable_rows(pa.array(["T1", "T2"])).tolist() == []
    result = validate(_statements("T1", "T\u200b2", "caf\u00e9", "T\x1f3", "T4"), BANK_STATEMENTS)
    assert result.valid.column("transaction_id").to_pylist() == ["T1", "caf\u00e9", "T4"]
    assert result.quarantine.column("reason").to_pylist() == [
        "transaction_id 'T<U+200B>2' holds an invisible character (shown as <U+200B>), which no key may hold",
        "transaction_id 'T<U+001F>3' holds an invisible character (shown as <U+001F>), which no key may hold",
    ]


def test_a_byte_order_mark_at_either_end_of_a_value_is_trimmed_like_whitespace() -> None:
    # `cat a.csv b.csv` leaves b's BOM at the start of a line: "\ufeffT1" must be the key T1, not a new one
    rows = [
        {
            "transaction_id": tid,
            "customer_id": "C1",
            "transaction_date": "2023-01-15",
            "transaction_amount": "10",
            "narration": narration,
            "balance": "1",
        }
        for tid, narration in (("\ufeffT1", "POS"), ("T2", " \ufeff"), ("T3\ufeff ", "a\ufeffb"))
    ]
    result = validate(chunk(rows, BANK_STATEMENTS), BANK_STATEMENTS)
    assert [(r["transaction_id"], r["narration"]) for r in result.valid.to_pylist()] == [
        ("T1", "POS"),
        ("T3", "a\ufeffb"),  # inside a value it is kept
    ]
    assert [(r["source_row"], r["rule"], r["narration"]) for r in result.quarantine.to_pylist()] == [
        (3, "required", " \ufeff")  # nothing but a BOM and a space is empty; the original is kept
    ]


def test_padded_and_empty_values_are_trimmed_and_made_empty_whatever_the_rest_of_the_column() -> None:
    result = validate(_statements("T1", " T2 ", "\u00a0T3", ""), BANK_STATEMENTS)
    assert [r["transaction_id"] for r in result.valid.to_pylist()] == ["T1", "T2", "T3"]
    assert [(r["source_row"], r["rule"]) for r in result.quarantine.to_pylist()] == [(5, "required")]
