"""The optional standard columns of issue 17: fraud_score (loan_applications, a number 0-100) and merchant
(bank_statements, text). Each is checked by the contract's own rules; an out-of-range value is quarantined
with a reason that quotes it, never clipped or dropped; a file without the column loads with NULLs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from etl.contracts import BANK_STATEMENTS, LABEL_BYTES, LOAN_APPLICATIONS, SourceContract
from etl.model.facts import FactContext, build_fact_bank_transaction, build_fact_loan_application
from etl.normalize.validate import validate

APPLICATION = {
    "application_id": "A1",
    "customer_id": "C1",
    "loan_amount": "1000.00",
    "loan_application_date": "2024-01-15",
    "credit_score": "700",
    "employment_status": "Employed",
    "annual_income": "50000",
}
STATEMENT = {
    "transaction_id": "T1",
    "customer_id": "C1",
    "transaction_date": "2024-01-15",
    "transaction_amount": "-2500.00",
    "narration": "POS PURCHASE SHOPRITE IKEJA",
    "balance": "100.00",
}
AT = datetime(2024, 5, 1, 12, 0, 0)


def _chunk(rows: list[dict[str, str]], contract: SourceContract) -> pa.Table:
    names = [c for c in contract.names if any(c in r for r in rows)]
    cols = {n: pa.array([r.get(n) for r in rows], pa.string()) for n in names}
    cols["source_row"] = pa.array(range(2, len(rows) + 2), pa.int64())
    return pa.table(cols)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", Decimal("0.0000")),
        ("100", Decimal("100.0000")),
        ("100.0000", Decimal("100.0000")),
        ("37.25", Decimal("37.2500")),
        ("0.0001", Decimal("0.0001")),
        (" 12.5 ", Decimal("12.5000")),
        ("", None),  # empty: no score (the column is optional)
    ],
)
def test_a_fraud_score_from_0_to_100_is_taken(text: str, value: Decimal | None) -> None:
    checked = validate(_chunk([{**APPLICATION, "fraud_score": text}], LOAN_APPLICATIONS), LOAN_APPLICATIONS)
    assert checked.quarantine.num_rows == 0
    assert checked.valid.column("fraud_score").to_pylist() == [value]
    fact = build_fact_loan_application(checked.valid, FactContext("f" * 64, AT))
    assert fact.column("fraud_score").to_pylist() == [value]
    assert fact.schema.field("fraud_score").type == pa.decimal128(9, 4)


@pytest.mark.parametrize(
    ("text", "rule", "reason"),
    [
        # a 0-1000 score (Amazon Fraud Detector, Telesign) must be converted first: refused, not clipped
        ("750", "out_of_range", "fraud_score '750' is outside the allowed range (0-100)"),
        ("100.01", "out_of_range", "fraud_score '100.01' is outside the allowed range (0-100)"),
        ("-0.01", "out_of_range", "fraud_score '-0.01' is outside the allowed range (0-100)"),
        ("high", "invalid_number", "fraud_score 'high' is not a number"),
        ("12.34567", "decimal_scale", "fraud_score '12.34567' has more than 4 decimal places"),
        ("87%", "invalid_number", "fraud_score '87%' is not a number"),
    ],
)
def test_a_fraud_score_outside_0_to_100_is_quarantined_with_its_reason(
    text: str, rule: str, reason: str
) -> None:
    rows = [APPLICATION, {**APPLICATION, "application_id": "A2", "fraud_score": text}]
    checked = validate(_chunk(rows, LOAN_APPLICATIONS), LOAN_APPLICATIONS)
    assert checked.valid.column("application_id").to_pylist() == ["A1"]
    [bad] = checked.quarantine.to_pylist()
    assert (bad["source_row"], bad["rule"], bad["column"], bad["reason"], bad["fraud_score"]) == (
        3,
        rule,
        "fraud_score",
        reason,
        text,
    )


def test_a_file_without_the_optional_columns_loads_them_as_null() -> None:
    apps = validate(_chunk([APPLICATION], LOAN_APPLICATIONS), LOAN_APPLICATIONS)
    statements = validate(_chunk([STATEMENT], BANK_STATEMENTS), BANK_STATEMENTS)
    assert build_fact_loan_application(apps.valid, FactContext("f" * 64, AT)).column(
        "fraud_score"
    ).to_pylist() == [None]
    fact = build_fact_bank_transaction(statements.valid, FactContext("f" * 64, AT))
    assert fact.column("merchant").to_pylist() == [None]
    assert fact.column("attributes").to_pylist() == [None]


def test_a_merchant_is_text_trimmed_as_every_value_and_kept_as_written() -> None:
    rows = [
        {**STATEMENT, "merchant": "  SHOPRITE IKEJA  "},
        {**STATEMENT, "transaction_id": "T2", "merchant": '"BUKKA HUT", Lekki'},
        {**STATEMENT, "transaction_id": "T3", "merchant": "ÈKÓ HOTELS"},
        {**STATEMENT, "transaction_id": "T4", "merchant": "   "},  # blank: no merchant
    ]
    checked = validate(_chunk(rows, BANK_STATEMENTS), BANK_STATEMENTS)
    assert checked.quarantine.num_rows == 0
    fact = build_fact_bank_transaction(checked.valid, FactContext("f" * 64, AT))
    assert fact.column("merchant").to_pylist() == ["SHOPRITE IKEJA", '"BUKKA HUT", Lekki', "ÈKÓ HOTELS", None]


def test_a_merchant_longer_than_a_label_is_quarantined() -> None:
    # a merchant is a label (as channel and state are: VARCHAR(128) in Redshift), not free text
    assert LABEL_BYTES == 128
    rows = [
        {**STATEMENT, "merchant": "M" * LABEL_BYTES},
        {**STATEMENT, "transaction_id": "T2", "merchant": "M" * (LABEL_BYTES + 1)},
    ]
    checked = validate(_chunk(rows, BANK_STATEMENTS), BANK_STATEMENTS)
    assert checked.valid.column("transaction_id").to_pylist() == ["T1"]
    [bad] = checked.quarantine.to_pylist()
    assert (bad["source_row"], bad["rule"], bad["column"], bad["reason"]) == (
        3,
        "out_of_range",
        "merchant",
        f"merchant is longer than {LABEL_BYTES} bytes",
    )
