"""A scripted Redshift Data API for the smoke tests, on moto.

moto's redshift-data backend records statements but never finishes them and always returns the same
canned rows, so the tests script the two read calls (describe_statement, get_statement_result) on the
backend, answering by the statement's SQL; execute_statement and everything on the wire stay moto's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.models import RedshiftDataAPIServiceBackend, redshiftdata_backends

from etl.model import schema
from etl.tools.smoke import Target, run_smoke
from etl.tools.smoke_files import SmokeFile, build_smoke_files, expected_rows, smoke_columns

REGION = "us-east-1"
BUCKET = "raw-bucket"
WORKGROUP = "etl"
DATABASE = "warehouse"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{DEFAULT_ACCOUNT_ID}:secret:redshift-admin"
TARGET = Target(BUCKET, WORKGROUP, DATABASE, SECRET_ARN)
RUN_ID = "run000000001"
TODAY = date(2026, 1, 31)
FILES = build_smoke_files(RUN_ID, TODAY)
LOAD_STARTED, LOAD_FINISHED = datetime(2026, 1, 31, 10, 0, 0, 250000), datetime(2026, 1, 31, 10, 0, 3)
LOADED_AT = datetime(2026, 1, 31, 10, 0, 1, 123456)


@dataclass(frozen=True)
class Answer:
    """What one statement returns: rows (Data API records), or the error it failed with."""

    columns: tuple[str, ...] = ()
    records: tuple[tuple[dict[str, Any], ...], ...] = ()
    error: str | None = None


Script = Callable[[str, list[dict[str, str]]], Answer]


def field(value: Any) -> dict[str, Any]:
    """A value as the Data API sends it: text for VARCHAR, DECIMAL, DATE and TIMESTAMP."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, datetime):
        return {"stringValue": value.isoformat(sep=" ")}
    return {"stringValue": value.isoformat() if isinstance(value, date) else str(value)}


def ledger_answer(
    status: str = "loaded",
    counts: tuple[int, int, int] = (3, 2, 1),
    error: str | None = None,
    run: str = "run-a",
) -> Answer:
    values = [status, *counts, LOAD_STARTED, LOAD_FINISHED, error, run]
    columns = (
        "status",
        "rows_in",
        "rows_loaded",
        "rows_quarantined",
        "started_at",
        "finished_at",
        "error",
        "run_id",
    )
    return Answer(columns, (tuple(field(v) for v in values),))


# the data-test results of a healthy run: a warning is no failure
TEST_RESULTS = [
    ("unique_fact_loan_application", "error", "pass"),
    ("relationships_repayment", "warn", "fail"),
]


def data_test_answer(results: list[tuple[str, str, str]]) -> Answer:
    return Answer(("test_name", "severity", "status"), tuple(tuple(field(v) for v in r) for r in results))


def table_answer(table: str, rows: list[dict[str, Any]]) -> Answer:
    names = tuple(smoke_columns(schema.TABLES[table]))
    return Answer(names, tuple(tuple(field(row[n]) for n in names) for row in rows))


def loaded_rows(file: SmokeFile, **changes: Any) -> list[dict[str, Any]]:
    """The rows a correct load of `file` holds: what the pipeline builds from it, loaded at LOADED_AT."""
    rows, _ = expected_rows(file)
    return [{**row, "loaded_at": LOADED_AT, **changes} for row in rows]


def healthy(
    ledgers: dict[str, list[Answer]] | None = None,
    tables: dict[str, list[dict[str, Any]]] | None = None,
    marts: dict[str, str] | None = None,
    files: tuple[SmokeFile, ...] = FILES,
    tests: dict[str, list[Answer]] | None = None,
) -> Script:
    """A deployed pipeline: each file's ledger answers in turn (by source; the last repeats, default
    loaded), each fact table's rows (default: what a correct load holds), every mart (an error for those
    named in `marts`)."""
    by_id = {f.file_id: f for f in files}
    queues = {f.file_id: list((ledgers or {}).get(f.contract.name) or [ledger_answer()]) for f in files}

    test_queues = {run: list(answers) for run, answers in (tests or {}).items()}

    def answer(sql: str, params: list[dict[str, str]]) -> Answer:
        if "etl_data_test_result" in sql:
            queue = test_queues.get(params[0]["value"]) or [data_test_answer(TEST_RESULTS)]
            return queue.pop(0) if len(queue) > 1 else queue[0]
        if "etl_file_ledger" in sql:
            queue = queues[params[0]["value"]]
            return queue.pop(0) if len(queue) > 1 else queue[0]
        if "fact_" in sql:
            file = by_id[params[0]["value"]]
            table = file.contract.fact_table
            rows = (tables or {}).get(table)
            return table_answer(table, loaded_rows(file) if rows is None else rows)
        mart = sql.split(".")[-1].split()[0]
        return Answer(error=(marts or {})[mart]) if mart in (marts or {}) else Answer(("x",), ())

    return answer


def script(monkeypatch: pytest.MonkeyPatch, answer: Script | None) -> None:
    """Finish every statement with what `answer` says for its SQL; None leaves them running forever."""
    if answer is None:
        return
    original = RedshiftDataAPIServiceBackend.describe_statement
    answered: dict[str, Answer] = {}

    def decide(backend: RedshiftDataAPIServiceBackend, statement_id: str) -> Answer:
        if statement_id not in answered:
            statement = backend.statements[statement_id]
            answered[statement_id] = answer(statement.query_string, statement.query_parameters or [])
        return answered[statement_id]

    def describe_statement(self: RedshiftDataAPIServiceBackend, statement_id: str) -> dict[str, Any]:
        described, found = dict(original(self, statement_id)), decide(self, statement_id)
        if found.error is not None:
            return {**described, "Status": "FAILED", "Error": found.error}
        return {**described, "Status": "FINISHED", "HasResultSet": bool(found.columns)}

    def get_statement_result(self: RedshiftDataAPIServiceBackend, statement_id: str) -> dict[str, Any]:
        found = decide(self, statement_id)
        records = [list(r) for r in found.records]
        return {
            "ColumnMetadata": [{"name": c} for c in found.columns],
            "Records": records,
            "TotalNumberRows": len(records),
        }

    monkeypatch.setattr(RedshiftDataAPIServiceBackend, "describe_statement", describe_statement)
    monkeypatch.setattr(RedshiftDataAPIServiceBackend, "get_statement_result", get_statement_result)


def executed() -> list[Any]:
    return list(redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION].statements.values())


def smoke(session: boto3.session.Session, target: Target = TARGET, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "timeout_seconds": 5,
        "poll_seconds": 0.01,
        "check_seconds": 2,
        "session": session,
        "run_id": RUN_ID,
        "today": TODAY,
    }
    return run_smoke(target, **(arguments | overrides))
