"""A layout's formats become the contract's: dates, separators, currency, debit/credit, kept columns."""

from __future__ import annotations

import json

import pyarrow as pa

from etl.contracts import BANK_STATEMENTS, LOAN_APPLICATIONS
from etl.normalize.formats import CREDIT, DEBIT, KEPT, prepare
from etl.profiles import parse_profile


def layout(toml: str):  # type: ignore[no-untyped-def]
    [found] = parse_profile("[[layout]]\n" + toml, "p.toml").layouts
    return found


def chunk(**columns: list[str | None]) -> pa.Table:
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def reasons(prepared, n: int) -> list[tuple[str, str, str] | None]:  # type: ignore[no-untyped-def]
    """The first refusal of each row: (rule, column, reason)."""
    found: list[tuple[str, str, str] | None] = [None] * n
    for refusal in prepared.refusals:
        text = refusal.reason()
        values = text.to_pylist() if isinstance(text, pa.Array) else [text.as_py()] * n
        for i, (hit, why) in enumerate(zip(refusal.mask.to_pylist(), values, strict=True)):
            if hit and found[i] is None:
                found[i] = (refusal.rule, refusal.column, why)
    return found


def test_dates_in_the_declared_format_become_iso_and_others_are_refused_quoting_the_format() -> None:
    dates = ["05-Jan-2024", "5-JAN-2024", "30-Feb-2024", "2024-01-05", None, " 07-Mar-2023 "]
    prepared = prepare(
        chunk(transaction_date=dates),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ndate_format='%d-%b-%Y'"),
        ",",
    )
    assert prepared.text["transaction_date"].to_pylist() == [
        "2024-01-05",
        "2024-01-05",
        None,
        None,
        None,
        "2023-03-07",
    ]
    assert reasons(prepared, 6) == [
        None,
        None,
        (
            "invalid_date",
            "transaction_date",
            "transaction_date '30-Feb-2024' does not match the date format %d-%b-%Y",
        ),
        (
            "invalid_date",
            "transaction_date",
            "transaction_date '2024-01-05' does not match the date format %d-%b-%Y",
        ),
        None,
        None,
    ]


def test_day_first_dates_are_never_guessed() -> None:
    prepared = prepare(
        chunk(loan_application_date=["12/01/2024", "13/01/2024", "01/13/2024"]),
        LOAN_APPLICATIONS,
        layout("source='loan_applications'\ndate_format='%d/%m/%Y'"),
        ",",
    )
    assert prepared.text["loan_application_date"].to_pylist() == ["2024-01-12", "2024-01-13", None]
    assert reasons(prepared, 3)[2] == (
        "invalid_date",
        "loan_application_date",
        "loan_application_date '01/13/2024' does not match the date format %d/%m/%Y",
    )


def test_currency_symbols_and_separators_become_plain_numbers() -> None:
    amounts = ["\u20a61,200.00", "NGN 3,500.5", "-\u20a6 7,732.50", "N200", "1,20,0.00", "12.5"]
    prepared = prepare(
        chunk(balance=amounts),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ncurrency=['\u20a6','NGN','N']"),
        ",",
    )
    assert prepared.text["balance"].to_pylist() == ["1200.00", "3500.5", "-7732.50", "200", None, "12.5"]
    rule, column, why = reasons(prepared, 6)[4] or ("", "", "")
    assert (rule, column) == ("invalid_number", "balance")
    assert why == (
        "balance '1,20,0.00' is not a number written as this layout writes them (decimal '.', thousands ',', "
        "currency NGN, \u20a6, N)"
    )


def test_decimal_commas_are_read_as_the_layout_says() -> None:
    prepared = prepare(
        chunk(balance=["-7732,50", "1.500,25", "1,5", "1.5"]),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ndecimal=','\nthousands='.'"),
        ";",
    )
    assert prepared.text["balance"].to_pylist() == ["-7732.50", "1500.25", "1.5", None]
    assert [r[0] if r else None for r in reasons(prepared, 4)] == [None, None, None, "invalid_number"]


def test_without_a_profile_a_comma_in_a_semicolon_file_is_refused_not_read_as_thousands() -> None:
    prepared = prepare(chunk(balance=["1,500", "1500.00"]), BANK_STATEMENTS, None, ";")
    assert prepared.text == {}
    assert reasons(prepared, 2) == [
        (
            "invalid_number",
            "balance",
            "balance '1,500' has a comma, which a ';'-separated file may use as its decimal point: declare "
            "decimal and thousands in a profile",
        ),
        None,
    ]
    assert prepare(chunk(balance=["1,500"]), BANK_STATEMENTS, None, ",").refusals == []


def test_debit_and_credit_columns_become_one_signed_amount() -> None:
    prepared = prepare(
        chunk(
            **{DEBIT: ["1,200.00", "", "0.00", "5.00", None], CREDIT: ["", "3,000.00", "250.00", "6.00", "0"]}
        ),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ndebit='Debit'\ncredit='Credit'"),
        ",",
    )
    assert prepared.text["transaction_amount"].to_pylist() == ["-1200.00", "3000.00", "250.00", "6.00", None]
    found = reasons(prepared, 5)
    assert found[3] == (
        "invalid_number",
        "transaction_amount",
        "Debit '5.00' and Credit '6.00' both hold an amount: a row is a debit or a credit",
    )
    assert found[4] == ("required", "transaction_amount", "Debit and Credit are both empty or zero")


def test_kept_columns_become_one_json_object_per_row() -> None:
    prepared = prepare(
        chunk(**{f"{KEPT}branch": ["Ikeja", None], f"{KEPT}memo": ['say "hi"\n\\ \x01', " x "]}),
        BANK_STATEMENTS,
        layout("source='bank_statements'\nkeep=['Branch', 'Memo']"),
        ",",
    )
    assert prepared.attributes is not None
    assert [json.loads(v) for v in prepared.attributes.to_pylist()] == [
        {"branch": "Ikeja", "memo": 'say "hi"\n\\ \x01'},
        {"branch": None, "memo": "x"},
    ]
