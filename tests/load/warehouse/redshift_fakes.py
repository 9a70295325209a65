"""What the Redshift tests share: a recording stand-in for redshift_connector's connection, the warehouse
wired to it, a one-file load and sqlglot's parse. S3 and Secrets Manager are moto's (conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from etl.load.ledger import LedgerRow
from etl.load.warehouse.base import FileLoad
from etl.load.warehouse.redshift import RedshiftTarget, RedshiftWarehouse
from etl.model import schema

ROLE = "arn:aws:iam::123456789012:role/redshift-copy"
HOST = "wg.123456789012.us-east-1.redshift-serverless.amazonaws.com"
URL = f"redshift://{HOST}:5439/analytics?iam_role={ROLE}&staging=s3://etl-staging/staging"
LOCK = "LOCK etl_load_lock"


class FakeSocket:
    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def settimeout(self, value: float | None) -> None:
        self.timeouts.append(value)


class FakeCursor:
    def __init__(self, conn: FakeConnection) -> None:
        self.conn = conn
        self.rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, params: Any = None) -> None:
        self.conn.statements.append((sql, params))
        self.conn.log.append(sql)
        if not self.conn.autocommit:  # as redshift_connector: any statement opens a transaction
            self.conn.in_transaction = True
        if self.conn.fail_on and self.conn.fail_on in sql and self.conn.failures_left:
            self.conn.failures_left -= 1
            raise RuntimeError(f"{self.conn.failure}: {self.conn.fail_on}")
        head = sql.lstrip().upper()
        if head.startswith("SELECT 1 FROM FACT_"):  # rows of other files exist: the conflict check runs
            self.rows = [(1,)]
        elif head.startswith("SELECT COUNT("):  # a count, or a file's classification (a count and sums)
            self.rows = [(0,) * (1 + head.count(", COALESCE(SUM("))]
        elif head.startswith("SELECT COALESCE(SUM("):  # the data tests of one table, batched
            self.rows = [(0,) * head.count("COALESCE(SUM(")]
        else:
            self.rows = []

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def close(self) -> None:
        pass


class FakeConnection:
    """Stands in for redshift_connector.Connection: records statements, answers counts with 0, else nothing.
    `fail_on` makes the next `failures_left` statements containing it raise `failure`."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.statements: list[tuple[str, Any]] = []
        self.fail_on: str | None = None
        self.failure = "simulated failure of"
        self.failures_left = 1_000_000
        self.autocommit = True
        self.in_transaction = False
        self.commits = self.rollbacks = 0
        self.log: list[str] = []  # statements, COMMIT and ROLLBACK, in order
        self._usock = FakeSocket()

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def commit(self) -> None:
        self.commits += 1
        self.in_transaction = False
        self.log.append("COMMIT")

    def rollback(self) -> None:
        self.rollbacks += 1
        if self.in_transaction:
            self.log.append("ROLLBACK")
        self.in_transaction = False

    def close(self) -> None:
        pass


def make_warehouse(
    url: str, configure: Callable[[FakeConnection], None] | None = None
) -> tuple[RedshiftWarehouse, list[FakeConnection]]:
    """The warehouse of `url` on fake connections, each new one passed to `configure`; the list holds each
    connection it opened."""
    made: list[FakeConnection] = []

    def connect(**kwargs: Any) -> FakeConnection:
        made.append(FakeConnection(**kwargs))
        if configure is not None:
            configure(made[-1])
        return made[-1]

    return RedshiftWarehouse(RedshiftTarget.parse(url), connect=connect), made


def parse(sql: str) -> exp.Expression:
    parsed = sqlglot.parse_one(sql, read="redshift")
    assert not isinstance(parsed, exp.Command), f"sqlglot only saw an opaque command: {sql[:80]}"
    return parsed


LOADED_AT = datetime(2023, 9, 11, 10, 39, 0, 123456)  # the value apache/arrow#38000 saw as year 161065


def repayment_rows() -> pa.Table:
    """Two fact_repayment rows as the pipeline writes them (spec.arrow_schema): cents, NULLs, a multibyte id."""
    rows = {
        "repayment_id": ["R1", "é" * 64],  # 128 bytes
        "application_id": ["A1", "A2"],
        "application_key": [11, 12],
        "customer_key": [21, None],
        "due_date": [datetime(2023, 2, 1).date(), datetime(2023, 3, 1).date()],
        "due_date_key": [20230201, 20230301],
        "paid_date": [datetime(2023, 2, 5).date(), None],
        "paid_date_key": [20230205, None],
        "amount_due": ["100.01", "99999999.99"],
        "amount_paid": ["100.01", None],
        "days_late": [4, None],
        "status": ["late", "missed"],
        "attributes": ['{"branch":"Ikeja"}', None],  # a profile's kept columns: JSON text, staged as text
        "source_file_id": ["f" * 64, "f" * 64],
        "source_row": [2, 3],
        "loaded_at": [LOADED_AT, LOADED_AT],
    }
    from decimal import Decimal

    rows["amount_due"] = [Decimal(v) for v in rows["amount_due"]]
    rows["amount_paid"] = [None if v is None else Decimal(v) for v in rows["amount_paid"]]
    return pa.Table.from_pydict(rows, schema=schema.FACT_REPAYMENT.arrow_schema)


def fact_load(tmp_path: Path, rows: pa.Table | None = None) -> FileLoad:
    """A repayments file's load whose fact Parquet is written as the pipeline writes it."""
    from etl.model.parquet import fact_parquet_options

    path = tmp_path / "fact.parquet"
    spec = schema.FACT_REPAYMENT
    pq.write_table(
        spec.arrow_schema.empty_table() if rows is None else rows, path, **fact_parquet_options(spec)
    )
    now = datetime(2024, 1, 1)
    ledger = LedgerRow(
        "f" * 64,
        "repayments",
        "s3://raw/r.csv",
        "r.csv",
        1,
        0,
        0,
        0,
        0,
        "loaded",
        None,
        None,
        None,
        now,
        now,
        0,
        "run",
    )
    return FileLoad(
        "infers_via_application",
        spec,
        path,
        "s3://lake/x.parquet",
        schema.DIM_DATE.arrow_schema.empty_table(),
        schema.FILE_CUSTOMERS.arrow_schema.empty_table(),
        ledger,
        now,
    )


def staged_keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket="etl-staging").get("Contents", [])]
