"""A warehouse made before issue 21 (facts with customer_id, category and transaction_date beside their keys)
is brought to the lean facts by the next load: the retired columns are dropped (they were NOT NULL, so rows
without them could not be inserted beside them; Redshift cannot make a column nullable), the rows already
loaded keep every other value, new files load, and the marts read the dimensions."""

from __future__ import annotations

from dataclasses import astuple, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from etl.load.ledger import LedgerRow
from etl.load.sql import SqlBuilder
from etl.load.warehouse import open_warehouse
from etl.model import schema
from etl.model.dialect import Dialect
from etl.model.keys import surrogate_key_of
from tests.helpers import APP_HEADER, STMT_HEADER, Env, make_env, write
from tests.load.warehouse.pg import make_pg_env

OLD_FILE = "0" * 64

# The retired columns as the version before issue 21 declared them, after the column they followed.
_OLD: dict[str, list[tuple[str, schema.ColumnSpec]]] = {
    "fact_loan_application": [("customer_key", schema.ColumnSpec("customer_id", schema.S, False, schema.ID))],
    "fact_bank_transaction": [
        ("customer_key", schema.ColumnSpec("customer_id", schema.S, False, schema.ID)),
        ("transaction_date_key", schema.ColumnSpec("transaction_date", schema.D, False)),
        ("category_key", schema.ColumnSpec("category", schema.S, False, 32)),
    ],
    "fact_repayment": [("customer_key", schema.ColumnSpec("customer_id", schema.S, length=schema.ID))],
}


def _old_spec(spec: schema.TableSpec) -> schema.TableSpec:
    columns: list[schema.ColumnSpec] = []
    for column in spec.columns:
        columns.append(column)
        columns += [old for after, old in _OLD[spec.name] if after == column.name]
    sortkey = ("transaction_date",) if spec.name == "fact_bank_transaction" else spec.sortkey
    return replace(spec, columns=tuple(columns), sortkey=sortkey)


def _columns(env: Env, table: str) -> set[str]:
    return {
        str(name).lower()
        for (name,) in env.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            [table],
        )
    }


def _make_old_warehouse(env: Env, dialect: Dialect) -> None:
    """The old facts, one statement file loaded by the old version (its row carries the copies; its ledger
    row), and an old mart view that reads a retired column (PostgreSQL refuses to drop a column a view reads)."""
    sql = SqlBuilder(dialect, "?" if dialect == "duckdb" else "%s")
    now = datetime(2024, 1, 1)
    c1 = surrogate_key_of("C1")
    with open_warehouse(env.settings) as wh:
        for spec in schema.FACTS:
            wh.execute(sql.create_table(_old_spec(spec)))
        wh.execute(sql.create_table(schema.ETL_FILE_LEDGER))
        uri = str(env.data / "bank_statements" / "old.csv")
        old = LedgerRow(
            OLD_FILE,
            "bank_statements",
            uri,
            "old.csv",
            1,
            1,
            1,
            0,
            0,
            "loaded",
            None,
            None,
            None,
            now,
            now,
            0,
            "old",
        )
        wh.execute(sql.ledger_insert(), astuple(old))
        wh.execute(
            "INSERT INTO fact_bank_transaction (transaction_id, customer_key, customer_id, transaction_date_key, "
            "transaction_date, category_key, category, transaction_amount, direction, balance, narration, "
            f"source_file_id, source_row, loaded_at) VALUES ('T0', {c1}, 'C1', 20230104, DATE '2023-01-04', "
            f"{surrogate_key_of('salary')}, 'salary', 100.00, 'credit', 100.00, 'SALARY', '{OLD_FILE}', 2, "
            f"{sql.param})",
            (now,),
        )
        wh.execute("CREATE VIEW mart_spend_by_category_month AS SELECT category FROM fact_bank_transaction")


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_an_old_warehouse_drops_the_copied_columns_and_keeps_loading(
    backend: str, tmp_path: Path, request: Any
) -> None:
    if backend == "postgres":
        env: Env = make_pg_env(tmp_path, request.getfixturevalue("postgres_url"))
    else:
        env = make_env(tmp_path)
    _make_old_warehouse(env, "postgres" if backend == "postgres" else "duckdb")
    assert {"customer_id", "transaction_date", "category"} <= _columns(env, "fact_bank_transaction")

    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
    )
    write(
        env.data, "bank_statements", "s.csv", STMT_HEADER + "\nT1,C1,2023-01-05,-40.00,POS SHOPRITE,60.00\n"
    )
    report = env.run()

    assert [f.status for f in report.files] == ["loaded", "loaded"]
    for spec in schema.FACTS:  # exactly this version's columns: the retired ones are gone
        assert _columns(env, spec.name) == set(spec.column_names), spec.name
    # the row the old version loaded keeps its values; its customer, date and category come from the dimensions
    assert env.query(
        "SELECT t.transaction_id, c.customer_id, d.date, g.category, t.transaction_amount "
        "FROM fact_bank_transaction t JOIN dim_customer c USING (customer_key) "
        "JOIN dim_date d ON d.date_key = t.transaction_date_key "
        "JOIN dim_transaction_category g USING (category_key) ORDER BY 1"
    ) == [
        ("T0", "C1", date(2023, 1, 4), "salary", Decimal("100.00")),
        ("T1", "C1", date(2023, 1, 5), "pos", Decimal("-40.00")),
    ]
    # the old view was replaced by this version's mart, which reads the category through its dimension
    assert env.query(
        "SELECT category, direction, transactions, total_value FROM mart_spend_by_category_month ORDER BY 1"
    ) == [("pos", "debit", 1, Decimal("40.00")), ("salary", "credit", 1, Decimal("100.00"))]
    assert all(t.status == "pass" for t in report.data_tests), [
        (t.name, t.failures) for t in report.data_tests if t.status != "pass"
    ]


def test_redshift_moves_the_sort_key_off_a_retired_column_before_dropping_it() -> None:
    """Redshift drops no column of a table's sort key: fact_bank_transaction sorted by transaction_date
    gets its new sort key (the yyyymmdd date key, which sorts the same) first."""
    sql = SqlBuilder("redshift", "%s")
    assert sql.drop_columns(
        schema.FACT_BANK_TRANSACTION, ["customer_id", "transaction_date", "category"]
    ) == [
        "ALTER TABLE fact_bank_transaction ALTER COMPOUND SORTKEY (transaction_date_key)",
        "ALTER TABLE fact_bank_transaction DROP COLUMN customer_id CASCADE",
        "ALTER TABLE fact_bank_transaction DROP COLUMN transaction_date CASCADE",
        "ALTER TABLE fact_bank_transaction DROP COLUMN category CASCADE",
    ]
    assert sql.drop_columns(schema.FACT_REPAYMENT, ["customer_id"]) == [
        "ALTER TABLE fact_repayment DROP COLUMN customer_id CASCADE"
    ]
    assert "COMPOUND SORTKEY (transaction_date_key)" in sql.create_table(schema.FACT_BANK_TRANSACTION)
