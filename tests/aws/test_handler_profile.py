"""The Lambda reads its profile from S3 (ETL_PROFILE=s3://bucket/key) at each invocation: a bank's export under
incoming/bank_statements/<bank>/ loads by that bank's layout, the same export elsewhere is read by the contract
alone, a profile changed in S3 applies to the next invocation without a new image, and a profile that is
missing or wrong fails the invocation's messages (delivered again) with one line naming it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from etl.handler import lambda_handler
from tests.aws.test_handler import CONTEXT, RAW, Aws, aws, warehouse_url  # noqa: F401 (fixtures)
from tests.helpers import TRANSACTIONS

PROFILE_KEY = "config/etl-profile.toml"
PROFILE = """
[[layout]]
source = "bank_statements"
folder = "gtbank"
columns = { "Reference" = "transaction_id", "Account No" = "customer_id", "Trans. Date" = "transaction_date", "Remarks" = "narration", "Balance" = "balance" }
date_format = "%d-%b-%Y"
currency = ["\u20a6"]
debit = "Debits"
credit = "Credits"
[[layout.narration_rules]]
category = "salary"
pattern = "monthly income"
"""
EXPORT = (
    "Reference,Account No,Trans. Date,Remarks,Debits,Credits,Balance\n"
    'G1,C1,05-Jan-2024,Monthly Income,,"\u20a6250,000.00","\u20a6250,000.00"\n'
    'G2,C1,06-Jan-2024,POS PURCHASE,"\u20a61,200.50",,"\u20a6248,799.50"\n'
)


@pytest.fixture
def profiled(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:  # noqa: F811 (the imported fixture)
    aws.upload(PROFILE_KEY, PROFILE)
    monkeypatch.setenv("ETL_PROFILE", f"s3://{RAW}/{PROFILE_KEY}")
    return aws


def test_the_lambda_loads_a_bank_export_by_the_profile_it_reads_from_s3(profiled: Aws) -> None:
    profiled.upload("incoming/bank_statements/gtbank/jan.csv", EXPORT)

    response = lambda_handler(profiled.drain(), CONTEXT)

    assert response["batchItemFailures"] == []
    [result] = response["report"]["run"]["files"]
    assert (result["status"], result["rows_loaded"], result["layout"]) == (
        "loaded",
        2,
        f"s3://{RAW}/{PROFILE_KEY}: bank_statements/gtbank",
    )
    assert profiled.query(
        f"SELECT transaction_id, transaction_amount, balance, category FROM {TRANSACTIONS} "
        "ORDER BY transaction_id"
    ) == [
        ("G1", Decimal("250000.00"), Decimal("250000.00"), "salary"),
        ("G2", Decimal("-1200.50"), Decimal("248799.50"), "pos"),
    ]


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_a_profile_changed_in_s3_applies_to_the_next_invocation(profiled: Aws) -> None:
    profiled.upload("incoming/bank_statements/gtbank/jan.csv", EXPORT)
    lambda_handler(profiled.drain(), CONTEXT)
    profiled.upload(PROFILE_KEY, PROFILE.replace('"monthly income"', '"monthly income|pos purchase"'))
    profiled.upload("incoming/bank_statements/gtbank/feb.csv", EXPORT.replace("G1", "G3").replace("G2", "G4"))

    lambda_handler(profiled.drain(), CONTEXT)

    assert profiled.query(f"SELECT transaction_id, category FROM {TRANSACTIONS} ORDER BY 1") == [
        ("G1", "salary"),
        ("G2", "pos"),
        ("G3", "salary"),
        ("G4", "salary"),
    ]


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_the_export_outside_its_profiles_folder_is_read_by_the_contract_and_refused(profiled: Aws) -> None:
    profiled.upload("incoming/bank_statements/jan.csv", EXPORT)

    response = lambda_handler(profiled.drain(), CONTEXT)

    [result] = response["report"]["run"]["files"]
    assert result["status"] == "rejected"
    assert result["error"].startswith(
        "missing required column(s) for bank_statements: transaction_id, customer_id"
    )
    assert response["batchItemFailures"] == []  # a rejected file is the file's fault: not delivered again


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, f"cannot read s3://{RAW}/{PROFILE_KEY}: NoSuchKey"),
        (PROFILE.replace("date_format", "date_fromat"), "date_fromat"),
    ],
)
def test_a_missing_or_wrong_profile_fails_every_message_with_one_line(
    aws: Aws,  # noqa: F811 (the imported fixture)
    monkeypatch: pytest.MonkeyPatch,
    body: str | None,
    expected: str,
) -> None:
    if body is not None:
        aws.upload(PROFILE_KEY, body)
    monkeypatch.setenv("ETL_PROFILE", f"s3://{RAW}/{PROFILE_KEY}")
    aws.upload("incoming/bank_statements/gtbank/jan.csv", EXPORT)
    event = aws.drain()
    uploads = [r["messageId"] for r in event["Records"] if "TestEvent" not in r["body"]]

    response = lambda_handler(event, CONTEXT)

    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(uploads)
    error = response["report"]["error"]
    assert error.startswith("run failed before its files were processed: ") and expected in error
    assert "\n" not in error
    tables = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'etl_file_ledger'"
    assert aws.query(tables) == [(0,)]  # refused before the warehouse was touched
