"""Security guarantees: injection payloads stay text on every backend, SQL is built from contract identifiers and
bound values only, no secret reaches a log line or an error message, and narrations can be masked."""

from __future__ import annotations

import ast
import io
import itertools
import json
import logging
import re
import subprocess
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from etl.cli import app as cli_app
from etl.errors import ConfigError
from etl.handler import lambda_handler
from etl.load.sql import SqlBuilder
from etl.model import schema
from etl.model.keys import surrogate_key_of
from etl.quarantine import read_quarantine, replay
from tests.aws.test_handler import CONTEXT, STATEMENTS, Aws, aws  # noqa: F401 - the moto account fixture
from tests.helpers import TRANSACTIONS, Env, write
from tests.load.warehouse.pg import PgEnv, make_pg_env
from tests.pipeline import test_pipeline as core
from tests.reliability.faults import PYTHON, ROOT, child_env, statements

PASSWORD = "s3cr3tP4ss"
WEBHOOK = "https://hooks.slack.com/services/T000/B000/SECRETTOKEN123"
SECRETS = (PASSWORD, "SECRETTOKEN123", "T000/B000")
PACKAGE = ROOT / "etl"


def _with_password(url: str) -> str:
    """The test server trusts every local connection, so any password works: it only has to stay secret."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)


@pytest.fixture
def env(tmp_path: Path, postgres_url: str) -> PgEnv:
    """This module's `env` is PostgreSQL: the reused core scenario below runs on a real server."""
    return make_pg_env(tmp_path, _with_password(postgres_url))


@pytest.fixture
def warehouse_url(postgres_url: str) -> str:
    """The moto `aws` fixture's warehouse: PostgreSQL, reached with a URL that carries a password."""
    return _with_password(postgres_url)


# ---- (a) injection payloads are stored as text on PostgreSQL too -------------------------------------------------

test_sql_and_formula_payloads_are_stored_as_text_and_never_executed_on_postgresql = (
    core.test_sql_and_formula_payloads_are_stored_as_text_and_never_executed
)


def test_injection_payloads_in_quarantined_rows_stay_text_through_a_replay(env: PgEnv) -> None:
    payload = "x'); DROP TABLE etl_file_ledger; --"
    quoted = payload.replace("'", "''")
    assert quoted  # the CSV below needs no quoting of its own: the payload has no comma or double quote
    write(
        env.data, "bank_statements", "s.csv", statements("T", 2) + f"{payload},C1,2023-01-09,0,{payload},1\n"
    )
    [result] = env.run().files
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    [row] = read_quarantine(env.settings.lake, "bank_statements").to_pylist()
    assert (row["transaction_id"], row["narration"], row["rule"]) == (payload, payload, "out_of_range")

    plans, report = replay(env.settings, ["bank_statements"])
    assert [p.rows for p in plans] == [1]
    assert [(f.status, f.rows_loaded, f.rows_quarantined) for f in report.files] == [("loaded", 0, 1)]
    assert env.query("SELECT COUNT(*) FROM etl_file_ledger") == [(2,)]  # the table is still there
    assert env.query("SELECT COUNT(*) FROM fact_bank_transaction") == [(2,)]


# ---- (b) SQL is built from identifiers of the model and bound values --------------------------------------------

SQL_CALLS = {"execute", "query", "sql", "executemany", "copy"}
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|COPY|VALUES|WHERE|FROM|CAST)\b")
# f-strings that put a value inside a SQL string literal ('{...}'), each reviewed: neither value comes from input.
REVIEWED_LITERALS = {
    ("etl/load/warehouse/base.py", "_load_file"),  # CAST('<loaded_at, a datetime we made>' AS TIMESTAMP)
    ("etl/normalize/duplicates.py", "find_duplicates"),  # read_parquet('<our scratch path, quotes doubled>')
    (
        "etl/load/warehouse/duckdb.py",
        "stage_file",
    ),  # read_parquet('<our scratch path, quotes doubled>') in a view
    # CAST('<a mark: printed from a date or datetime parsed out of a file name, never user text>' AS ...)
    ("etl/pull/marks.py", "sql_literal"),
}


def _python_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _functions(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node


def test_no_sql_call_is_given_a_string_built_with_percent_or_format() -> None:
    offenders: list[str] = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in SQL_CALLS or not node.args:
                continue
            first = node.args[0]
            if isinstance(first, ast.BinOp) and isinstance(first.op, ast.Mod):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} %-formatting")
            if (
                isinstance(first, ast.Call)
                and isinstance(first.func, ast.Attribute)
                and first.func.attr == "format"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} str.format")
    assert offenders == []


def test_values_are_never_spliced_into_sql_string_literals_except_the_reviewed_ones() -> None:
    found: set[tuple[str, str]] = set()
    for path in _python_files():
        rel = str(path.relative_to(ROOT))
        for name, function in _functions(ast.parse(path.read_text())):
            for node in ast.walk(function):
                if not isinstance(node, ast.JoinedStr):
                    continue
                parts = node.values
                text = "".join(
                    p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)
                )
                quoted = any(
                    isinstance(a, ast.Constant)
                    and isinstance(a.value, str)
                    and a.value.endswith("'")
                    and isinstance(b, ast.FormattedValue)
                    for a, b in itertools.pairwise(parts)
                )
                if quoted and SQL_WORDS.search(text):
                    found.add((rel, name))
    assert found <= REVIEWED_LITERALS, sorted(found - REVIEWED_LITERALS)


@pytest.mark.parametrize("builder", [SqlBuilder("duckdb", "?"), SqlBuilder("postgres", "%s")])
def test_ledger_and_test_result_inserts_bind_every_value(builder: SqlBuilder) -> None:
    p = re.escape(builder.param)
    for statement, spec in [
        (builder.ledger_insert(), schema.ETL_FILE_LEDGER),
        (builder.test_result_insert(), schema.ETL_DATA_TEST_RESULT),
    ]:
        match = re.fullmatch(rf"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \(({p}(?:, {p})*)\)", statement)
        assert match, statement
        assert match.group(1) == spec.name
        assert match.group(2).split(", ") == list(spec.column_names)  # identifiers from the model only
        assert match.group(3).count(builder.param) == len(spec.column_names)
    for statement in (builder.ledger_is_loaded(), builder.ledger_delete_unloaded()):
        assert statement.endswith(f"file_id = {builder.param} AND status = 'loaded'") or statement.endswith(
            f"file_id = {builder.param} AND status <> 'loaded'"
        )


def test_every_table_and_column_in_generated_ddl_comes_from_the_model() -> None:
    known = {t.name for t in schema.ALL_TABLES}
    for statement in SqlBuilder("postgres", "%s").ddl():
        [table] = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", statement)
        assert table in known
        spec = next(t for t in schema.ALL_TABLES if t.name == table)
        columns = [line.strip().split(" ")[0] for line in statement.splitlines()[1:-1]]
        assert [c for c in columns if c != "PRIMARY"] == list(spec.column_names)


# ---- (c) no secret is ever logged ---------------------------------------------------------------------------


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, (
                f"{secret!r} leaked: ...{text[max(0, text.find(secret) - 200) :][:400]}..."
            )


@pytest.fixture
def handler_logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Everything the handler's powertools logger writes (it prints JSON to stdout), plus the records."""
    caplog.set_level(logging.DEBUG)
    buffer = io.StringIO()
    handlers = [
        h for h in logging.getLogger("credit-risk-etl").handlers if isinstance(h, logging.StreamHandler)
    ]
    previous = [h.setStream(buffer) for h in handlers]
    try:
        yield buffer
    finally:
        for h, stream in zip(handlers, previous, strict=True):
            if stream is not None:
                h.setStream(stream)


def _records(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {json.dumps(r.__dict__, default=str)}" for r in caplog.records)


def test_the_lambda_handler_logs_no_password_and_no_webhook(
    aws: Aws,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    handler_logs: io.StringIO,
) -> None:
    assert PASSWORD in aws.warehouse_url
    monkeypatch.setenv(
        "ETL_SLACK_WEBHOOK_URL", WEBHOOK
    )  # unreachable here: the failure is logged, not the URL
    monkeypatch.setenv("ETL_LOG_LEVEL", "DEBUG")
    aws.upload("incoming/bank_statements/jan.csv", STATEMENTS)
    aws.upload("incoming/bank_statements/empty.csv", b"")  # a rejection is logged too
    response = lambda_handler(aws.drain(), CONTEXT)
    statuses = sorted(f["status"] for f in response["report"]["run"]["files"])
    assert statuses == ["loaded", "rejected"]
    assert aws.query("SELECT COUNT(*) FROM fact_bank_transaction") == [(2,)]

    # the warehouse unreachable, with the password in its URL
    monkeypatch.setenv("ETL_WAREHOUSE_URL", re.sub(r":\d+/", ":1/", aws.warehouse_url))
    aws.upload("incoming/bank_statements/feb.csv", STATEMENTS.replace("T1,", "T7,"))
    failed = lambda_handler(aws.drain(), CONTEXT)
    assert failed["batchItemFailures"] and "cannot connect to PostgreSQL" in failed["report"]["error"]

    captured = capsys.readouterr()
    assert "run report" in handler_logs.getvalue()
    _assert_no_secret(
        handler_logs.getvalue(),
        _records(caplog),
        captured.out,
        captured.err,
        json.dumps(response, default=str),
        json.dumps(failed, default=str),
        json.dumps(aws.summaries()),
    )


def test_a_bad_warehouse_setting_in_the_lambda_is_reported_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ETL_WAREHOUSE_URL", f"mysql://admin:{PASSWORD}@db.internal/risk")
    with pytest.raises(ConfigError) as caught:
        lambda_handler({"Records": []}, CONTEXT)
    text = "".join(traceback.format_exception(caught.value))
    assert "invalid setting warehouse_url" in text
    _assert_no_secret(text)


def test_etl_run_logs_no_password_and_no_webhook(tmp_path: Path, postgres_url: str) -> None:
    url = _with_password(postgres_url)
    write(tmp_path / "data", "bank_statements", "s.csv", statements("T", 20))
    write(tmp_path / "data", "bank_statements", "bad.csv", "no,columns\n1,2\n")
    result = subprocess.run(
        [PYTHON, "-m", "etl.cli", "run", str(tmp_path / "data"), "--lake", str(tmp_path / "lake")],
        cwd=tmp_path,
        env=child_env(ETL_WAREHOUSE_URL=url, ETL_SLACK_WEBHOOK_URL=WEBHOOK, ETL_LOG_LEVEL="DEBUG"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr  # bad.csv is rejected
    assert "s.csv" in result.stdout and "loaded" in result.stdout
    _assert_no_secret(result.stdout, result.stderr)
    assert make_pg_env(tmp_path, postgres_url).query("SELECT COUNT(*) FROM fact_bank_transaction") == [(20,)]


# URLs a person may type, each with the password: the examples of what parsers quote
TYPED_URLS = [
    f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/db",  # unreachable
    f"postgresql://postgres:{PASSWORD}@127.0.0.1:notaport/db",  # psycopg quotes bad options
    f"postgresql://postgres:{PASSWORD}@[zz/db",  # psycopg quotes the whole URI
    f"postgresql:postgres:{PASSWORD}@host/db",  # not a URL at all
    f"postgresql:/postgres:{PASSWORD}@127.0.0.1:1/db",  # one slash: quoted whole by the backend
    f"postgresql://postgres:ab%zz{PASSWORD}@127.0.0.1:1/db",  # a raw %: libpq quotes the password alone
    f"postgresql://postgres:a b{PASSWORD}@127.0.0.1:1/db",  # a space: libpq quotes it too
    f"postgresql://postgres:p@{PASSWORD}@127.0.0.1:1/db",  # an @: libpq takes the rest for the host
    f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/db",  # the driver suffix, accepted
    f"redshift:/admin:{PASSWORD}@host/db",  # one slash: quoted whole by the backend
    f"mysql://admin:{PASSWORD}@db.internal/risk",  # an unsupported scheme
    f"host=db.internal password={PASSWORD}",  # a key=value conninfo, not a URL
]


@pytest.mark.parametrize("url", TYPED_URLS)
def test_a_bad_or_unreachable_warehouse_url_is_reported_in_one_line_without_its_password(
    tmp_path: Path, url: str
) -> None:
    write(tmp_path / "data", "bank_statements", "s.csv", statements("T", 2))
    (tmp_path / "lake").mkdir()
    lake = str(tmp_path / "lake")
    for args in (
        ["run", str(tmp_path / "data"), "--lake", lake, "--warehouse", url],
        ["quality", "--warehouse", url],
        ["quarantine", "replay", "--lake", lake, "--warehouse", url],
    ):
        result = CliRunner().invoke(cli_app, args)
        assert result.exit_code in {1, 2}, result.output
        assert isinstance(result.exception, SystemExit), repr(
            result.exception
        )  # a one-line error, no traceback
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        _assert_no_secret(result.output, result.stderr)


@pytest.mark.parametrize("url", TYPED_URLS[4:10])
def test_the_lambda_hides_the_password_of_a_typed_url_in_its_logs_stack_traces_and_response(
    aws: Aws,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    handler_logs: io.StringIO,
    url: str,
) -> None:
    monkeypatch.setenv("ETL_WAREHOUSE_URL", url)
    monkeypatch.setenv("ETL_LOG_LEVEL", "DEBUG")
    aws.upload("incoming/bank_statements/jan.csv", STATEMENTS)
    response = lambda_handler(aws.drain(), CONTEXT)

    assert len(response["batchItemFailures"]) == 1  # delivered again: the warehouse may be fixed by then
    error = response["report"]["error"]
    assert error.startswith("run failed before its files were processed: "), error
    logged = handler_logs.getvalue()
    lines = {entry["message"]: entry for entry in map(json.loads, logged.splitlines())}
    assert lines[error]["level"] == "ERROR"
    assert (
        lines[error]["exception"].startswith("Traceback")
        and error.split(": ", 1)[1] in lines[error]["exception"]
    )
    assert lines["run report"]["run_report"]["error"] == error
    captured = capsys.readouterr()
    _assert_no_secret(
        logged,
        _records(caplog),
        captured.out,
        captured.err,
        json.dumps(response, default=str),
        json.dumps(aws.summaries()),
    )


# ---- (d) narrations masked in the lake, the quarantine and the logs -----------------------------------------------

NARRATIONS = ("SALARY PAYMENT ACME LTD", "BET9JA STAKE", "POS PURCHASE")


def test_masked_narrations_never_reach_the_lake_or_the_logs_and_categories_still_use_the_real_text(
    aws: Aws,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    handler_logs: io.StringIO,
) -> None:
    monkeypatch.setenv("ETL_MASK_NARRATION", "true")
    monkeypatch.setenv("ETL_LOG_LEVEL", "DEBUG")
    aws.upload("incoming/bank_statements/jan.csv", STATEMENTS)
    response = lambda_handler(aws.drain(), CONTEXT)
    [result] = response["report"]["run"]["files"]
    assert (result["status"], result["rows_loaded"], result["rows_quarantined"]) == ("loaded", 2, 1)

    curated = aws.lake_table(f"lake/curated/fact_bank_transaction/{result['file_id']}.parquet")
    assert sorted(
        zip(
            curated.column("transaction_id").to_pylist(),
            curated.column("narration").to_pylist(),
            curated.column("category_key").to_pylist(),  # the lake's fact keeps the key (issue 21)
            strict=True,
        )
    ) == [
        ("T1", "xxxxxx xxxxxxx xxxx xxx", surrogate_key_of("salary")),
        ("T2", "xxx9xx xxxxx", surrogate_key_of("betting")),
    ]
    quarantine = aws.lake_table(f"lake/quarantine/bank_statements/{result['file_id']}.parquet")
    assert quarantine.select(["source_row", "narration"]).to_pylist() == [
        {"source_row": 4, "narration": "xxx xxxxxxxx"}
    ]
    [raw_line] = quarantine.column("raw_line").to_pylist()
    assert raw_line is None or "POS" not in raw_line
    assert aws.query(f"SELECT transaction_id, narration, category FROM {TRANSACTIONS} ORDER BY 1") == [
        ("T1", "xxxxxx xxxxxxx xxxx xxx", "salary"),
        ("T2", "xxx9xx xxxxx", "betting"),
    ]

    captured = capsys.readouterr()
    everything = "\n".join(
        [
            handler_logs.getvalue(),
            _records(caplog),
            captured.out,
            captured.err,
            json.dumps(response, default=str),
            json.dumps(aws.summaries()),
            curated.to_pandas().to_csv(),
            pq.ParquetFile(io.BytesIO(_object(aws, result["lake_uri"]))).metadata.to_dict().__repr__(),
        ]
    )
    for narration in NARRATIONS:
        assert narration not in everything


def _object(account: Aws, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body: Any = account.s3.get_object(Bucket=bucket, Key=key)["Body"]
    return bytes(body.read())


def test_this_module_runs_the_core_scenario_on_postgresql(env: Env) -> None:
    assert env.settings.warehouse_url.startswith("postgresql://postgres:")
