"""Every text a file may carry fits the warehouse column it lands in: Redshift counts VARCHAR in bytes, and
a value one byte too long fails the whole file's COPY on every retry instead of quarantining one row."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from etl.contracts import BANK_STATEMENTS, CONTRACTS, LABEL_BYTES, LOAN_APPLICATIONS, SourceContract
from etl.model import schema
from etl.normalize.validate import MAX_ID_BYTES, MAX_TEXT_BYTES, validate


def _limit(contract: SourceContract, name: str) -> int:
    column = next(c for c in contract.columns if c.name == name)
    return MAX_ID_BYTES if column.kind == "id" else column.max_bytes or MAX_TEXT_BYTES


# The facts keep customer_id's key only: the id itself lands in dim_customer (staged as FILE_CUSTOMERS).
_IN_DIMENSIONS = {"customer_id": (schema.DIM_CUSTOMER, schema.DIM_CUSTOMER_HISTORY, schema.FILE_CUSTOMERS)}


@pytest.mark.parametrize("contract", list(CONTRACTS.values()), ids=lambda c: c.name)
def test_each_validated_text_fits_its_fact_column(contract: SourceContract) -> None:
    fact = schema.TABLES[contract.fact_table]
    for column in contract.columns:
        if column.kind not in {"id", "text"}:
            continue
        for table in _IN_DIMENSIONS.get(column.name, (fact,)):
            width = next(c.length for c in table.columns if c.name == column.name)
            assert width is not None and width >= _limit(contract, column.name), (table.name, column.name)


def test_the_facts_hold_no_copy_of_a_dimension_attribute() -> None:
    """Issue 21: a fact holds keys, measures and degenerate dimensions; customer_id, category and the
    transaction's date are read through dim_customer, dim_transaction_category and dim_date."""
    for table, retired in schema.RETIRED_COLUMNS.items():
        assert not set(retired) & set(schema.TABLES[table].column_names), table
    assert {c for f in schema.FACTS for c in f.column_names} & {
        "customer_id",
        "category",
        "transaction_date",
    } == set()
    assert schema.FACT_BANK_TRANSACTION.sortkey == ("transaction_date_key",)


def test_group_by_labels_are_right_sized_where_the_validator_holds_them() -> None:
    assert {
        c.name: c.length for c in schema.FACT_LOAN_APPLICATION.columns if c.name in {"state", "loan_purpose"}
    } == {
        "state": LABEL_BYTES,
        "loan_purpose": LABEL_BYTES,
    }
    for dim in (schema.DIM_CUSTOMER, schema.DIM_CUSTOMER_HISTORY):  # copies of the application's state
        assert next(c.length for c in dim.columns if c.name == "state") == LABEL_BYTES
    assert _limit(LOAN_APPLICATIONS, "state") == _limit(BANK_STATEMENTS, "channel") == LABEL_BYTES
    assert _limit(BANK_STATEMENTS, "narration") == MAX_TEXT_BYTES == 4096  # free text keeps its room


def test_a_channel_at_the_limit_still_fits_once_lower_cased() -> None:
    # the fact stores utf8_lower(channel); "Ⱥ" (2 bytes) lower-cases to "ⱥ" (3 bytes)
    label = "Ⱥ" * (LABEL_BYTES // 2)
    checked = validate(
        pa.table(
            {
                "transaction_id": ["T1"],
                "customer_id": ["C1"],
                "transaction_date": ["2023-01-05"],
                "transaction_amount": ["-5.00"],
                "narration": ["POS"],
                "balance": ["1.00"],
                "channel": [label],
                "source_row": pa.array([2], pa.int64()),
            }
        ),
        BANK_STATEMENTS,
    )
    assert checked.quarantine.num_rows == 0
    lowered = pc.utf8_lower(checked.valid.column("channel"))[0].as_py()
    width = next(c.length for c in schema.FACT_BANK_TRANSACTION.columns if c.name == "channel")
    assert len(lowered.encode()) == 3 * LABEL_BYTES // 2 <= width


@pytest.mark.parametrize(("column", "value"), [("channel", "x" * 129), ("narration", "é" * 2049)])
def test_a_text_past_its_limit_is_quarantined_with_the_limit_named(column: str, value: str) -> None:
    row = {
        "transaction_id": "T1",
        "customer_id": "C1",
        "transaction_date": "2023-01-05",
        "transaction_amount": "-5.00",
        "narration": "POS",
        "balance": "1.00",
        "channel": "web",
        column: value,
    }
    table = pa.table({k: [v] for k, v in row.items()} | {"source_row": pa.array([2], pa.int64())})
    [bad] = validate(table, BANK_STATEMENTS).quarantine.to_pylist()
    limit = _limit(BANK_STATEMENTS, column)
    assert (bad["rule"], bad["column"], bad["reason"]) == (
        "out_of_range",
        column,
        f"{column} is longer than {limit} bytes",
    )
