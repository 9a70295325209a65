"""The files `etl smoke` sends: one per source, edge values known in advance, and the rows each must leave
(what the pipeline's own code builds from the same bytes)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from etl.contracts import load_order
from etl.model.keys import surrogate_key_of
from etl.tools.smoke_files import ID_BYTES, SMOKE_CUSTOMER_ID, build_smoke_files, expected_rows

TODAY = date(2026, 1, 31)
FILES = build_smoke_files("run000000001", TODAY)


def test_one_file_per_source_in_load_order_new_on_every_run() -> None:
    assert [f.contract.name for f in FILES] == sorted((f.contract.name for f in FILES), key=load_order)
    assert {f.contract.name for f in FILES} == {"loan_applications", "bank_statements", "repayments"}
    others = build_smoke_files("other", TODAY)
    assert not {f.file_id for f in FILES} & {f.file_id for f in others}


def test_the_files_carry_known_edge_values() -> None:
    apps, statements, repayments = ([*csv.DictReader(io.StringIO(f.body.decode()))] for f in FILES)
    for rows, key in ((apps, "application_id"), (statements, "transaction_id"), (repayments, "repayment_id")):
        assert len(rows[0][key].encode()) == ID_BYTES and not rows[0][key][-10:].isascii()
    assert len(SMOKE_CUSTOMER_ID.encode()) == ID_BYTES
    assert [r["loan_amount"] for r in apps] == ["1234567.89", "0.01", "500.00"]
    assert [r["transaction_amount"] for r in statements] == ["250000.00", "-0.01", "0.00"]
    assert [r["application_id"] for r in repayments[:2]] == [
        apps[0]["application_id"],
        apps[1]["application_id"],
    ]

    built = [expected_rows(f) for f in FILES]

    assert [(len(rows), quarantined) for rows, quarantined in built] == [(2, 1), (2, 1), (2, 1)]
    (first, second), _ = built[0]
    assert first["application_key"] == surrogate_key_of(apps[0]["application_id"])
    assert (first["loan_amount"], first["annual_income"], first["loan_to_income"]) == (
        Decimal("1234567.89"),
        Decimal("98765.43"),
        Decimal("12.5000"),
    )
    assert (second["loan_amount"], second["loan_purpose"], second["decision_date"]) == (
        Decimal("0.01"),
        None,
        None,
    )
    (salary, pos), _ = built[1]
    assert (salary["category"], salary["channel"], pos["direction"], pos["transaction_amount"]) == (
        "salary",
        "mobile",
        "debit",
        Decimal("-0.01"),
    )
    (paid, missed), _ = built[2]
    # the file names no customer: the warehouse takes it from the application
    assert paid["customer_id"] == missed["customer_id"] == SMOKE_CUSTOMER_ID
    assert (paid["status"], missed["status"], missed["amount_paid"]) == ("paid", "missed", None)
    assert first["source_file_id"] == FILES[0].file_id


def test_masked_narrations_are_expected_masked() -> None:
    (salary, _), _ = expected_rows(FILES[1], mask_narration=True)
    assert salary["narration"] != expected_rows(FILES[1])[0][0]["narration"]
    assert salary["category"] == "salary"
