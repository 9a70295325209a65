"""The post-deploy self-check against moto: a real (mocked) S3 upload, a scripted Redshift Data API.

moto's redshift-data backend records statements but never finishes them and always returns the same
canned rows, so the tests script the two read calls (describe_statement, get_statement_result) on the
backend, answering by the statement's SQL; execute_statement and everything on the wire stay moto's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
import typer
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.models import RedshiftDataAPIServiceBackend, redshiftdata_backends
from typer.testing import CliRunner

from etl.cli.smoke import smoke_command
from etl.model import schema
from etl.model.marts import MARTS
from etl.tools import smoke as smoke_module
from etl.tools.smoke import Target, run_smoke
from etl.tools.smoke_files import SMOKE_CUSTOMER_ID, SmokeFile, build_smoke_files, expected_rows

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
    names = schema.TABLES[table].column_names
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


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield boto3.session.Session(region_name=REGION)


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


# ---- a healthy deploy -----------------------------------------------------------------------------------------


def test_a_healthy_pipeline_passes_every_check(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_table = Answer(error='ERROR: relation "etl_file_ledger" does not exist')
    script(
        monkeypatch,
        healthy({"loan_applications": [no_table, Answer(), ledger_answer("failed"), ledger_answer()]}),
    )
    sent: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.redshift-data.ExecuteStatement", lambda params, **_: sent.append(dict(params))
    )
    puts: list[str] = []
    session.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: puts.append(params["Key"])
    )

    verdict = smoke(session)

    assert verdict.ok, verdict.lines()
    s3 = session.client("s3")
    for file, uri in zip(FILES, verdict.uris, strict=True):
        key = uri.removeprefix(f"s3://{BUCKET}/")
        assert key.startswith(f"incoming/{file.contract.name}/smoke-{file.file_id[:12]}-") and key.endswith(
            ".csv"
        )
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == file.body
    lines = verdict.lines()
    assert lines[:4] == ["etl smoke: 3 file(s) uploaded", *(f"  {uri}" for uri in verdict.uris)]
    assert lines[4].startswith("  ok    ledger  3 files loaded after ") and lines[4].endswith(
        ": 9 rows in, 6 loaded, 3 quarantined"
    )
    cells = 2 * sum(len(schema.TABLES[f.contract.fact_table].columns) for f in FILES)
    assert lines[5] == (
        f"  ok    values  6 rows, {cells} values in 3 fact tables as sent (128-byte ids, cents, dates, NULLs, keys, "
        "categories; loaded_at within each load)"
    )
    assert lines[6:] == [
        "  ok    tests   the data tests ran after the loads (1 run(s)): 1 passed, 1 warned, 0 failed",
        f"  ok    marts   all {len(MARTS)} mart_* views answered",
        "verdict: OK",
    ]
    # the applications' ledger is polled until loaded (no table yet, no row, failed, loaded) before the
    # other files are uploaded: the repayments' customers come from their applications
    sqls = [s["Sql"] for s in sent]
    ledger_sql = smoke_module.LEDGER_QUERY.format(schema="public")
    assert sqls[:4] == [ledger_sql] * 4 and puts == [uri.split("/", 3)[3] for uri in verdict.uris]
    assert [s["Parameters"][0]["value"] for s in sent[:6]] == [FILES[0].file_id] * 4 + [
        f.file_id for f in FILES[1:]
    ]
    fact_sqls = [sql for sql in sqls if "fact_" in sql]
    assert [sql.split(" FROM ")[1].split()[0] for sql in fact_sqls] == [
        f"public.{f.contract.fact_table}" for f in FILES
    ]
    assert sqls[-len(MARTS) :] == [f"SELECT * FROM public.{m.name} LIMIT 1" for m in MARTS]
    assert all(
        s["WorkgroupName"] == WORKGROUP and s["Database"] == DATABASE and s["SecretArn"] == SECRET_ARN
        for s in sent
    )
    for statement in executed():  # bound, never formatted into the SQL
        assert not any(f.file_id in statement.query_string for f in FILES)


def test_without_a_secret_the_data_api_uses_the_callers_identity_and_another_schema_is_named(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, healthy())
    sent: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.redshift-data.ExecuteStatement", lambda params, **_: sent.append(dict(params))
    )

    assert smoke(session, Target(BUCKET, WORKGROUP, DATABASE, None, "risk")).ok

    assert not any("SecretArn" in s for s in sent)
    assert all(" risk." in s["Sql"] and " public." not in s["Sql"] for s in sent)


# ---- what a broken deploy shows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "changes", "detail"),
    [
        # COPY misreading the Parquet timestamp (apache/arrow#38000 saw a 2023 value as year 161065)
        (
            "fact_loan_application",
            {"loaded_at": "161065-10-07 20:24:18.134352"},
            "fact_loan_application row 1 loaded_at: read 161065-10-07 20:24:18.134352, outside the load",
        ),
        (
            "fact_repayment",
            {"loaded_at": datetime(2262, 4, 11, 23, 47, 16)},
            "fact_repayment row 1 loaded_at: read 2262-04-11 23:47:16, outside the load",
        ),
        (
            "fact_loan_application",
            {"loan_amount": Decimal("1234567.90")},
            "fact_loan_application row 1 loan_amount: sent Decimal('1234567.89'), read Decimal('1234567.90')",
        ),
        (
            "fact_bank_transaction",
            {"channel": "Mobile"},
            "fact_bank_transaction row 1 channel: sent 'mobile', read 'Mobile'",
        ),
        (
            "fact_repayment",
            {"customer_key": -1},
            "fact_repayment row 1 customer_key: sent 322292969060255584, read -1",
        ),
    ],
)
def test_a_value_that_did_not_round_trip_fails_the_values_check(
    session: boto3.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    table: str,
    changes: dict[str, Any],
    detail: str,
) -> None:
    file = next(f for f in FILES if f.contract.fact_table == table)
    rows = loaded_rows(file)
    rows[0] = {**rows[0], **changes}
    script(monkeypatch, healthy(tables={table: rows}))

    verdict = smoke(session)

    [_, values, _, _] = verdict.checks
    assert values.ok is False and values.detail.startswith(detail), values.detail
    assert verdict.lines()[-1] == "verdict: FAILED (1 of 4 checks)"


def test_a_cut_multibyte_id_is_shown(session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    cut = loaded_rows(FILES[0], customer_id=SMOKE_CUSTOMER_ID[:-2])
    script(monkeypatch, healthy(tables={"fact_loan_application": cut}))
    [_, values, _, _] = smoke(session).checks
    sent, read = "'SMOKE-CUSTOM'...'ßßßßßx' (128 bytes)", "'SMOKE-CUSTOM'...'ßßßßßß' (125 bytes)"
    assert values.detail == (
        f"fact_loan_application row 1 customer_id: sent {sent}, read {read}; "
        f"fact_loan_application row 2 customer_id: sent {sent}, read {read}"
    )


def test_a_missing_row_is_counted(session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    script(monkeypatch, healthy(tables={"fact_bank_transaction": loaded_rows(FILES[1])[:1]}))
    [_, values, _, _] = smoke(session).checks
    assert values.detail == "fact_bank_transaction: 1 rows of the file, expected 2"


@pytest.mark.parametrize(
    ("source", "ledger", "detail", "uploaded"),
    [
        (
            "loan_applications",
            ledger_answer("rejected", (0, 0, 0), "missing required column: annual_income"),
            "loan_applications: rejected: missing required column: annual_income",
            1,  # the others are not sent: their repayments would have no application
        ),
        (
            "repayments",
            ledger_answer("loaded", (3, 3, 0)),
            "repayments: loaded, but 3 rows in, 3 loaded, 0 quarantined (expected 3, 2, 1)",
            3,
        ),
        (
            "bank_statements",
            Answer(error="ERROR: permission denied for relation etl_file_ledger"),
            "bank_statements: the ledger query failed: etl-smoke-ledger failed: ERROR: permission denied for relation "
            "etl_file_ledger",
            3,
        ),
    ],
)
def test_a_file_that_did_not_load_as_sent_fails_the_ledger_and_skips_the_values(
    session: boto3.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    ledger: Answer,
    detail: str,
    uploaded: int,
) -> None:
    script(monkeypatch, healthy({source: [ledger]}))

    verdict = smoke(session)

    assert len(verdict.uris) == uploaded
    assert [(c.name, c.ok) for c in verdict.checks] == [
        ("ledger", False),
        ("values", None),
        ("tests", None),
        ("marts", True),
    ]
    assert verdict.checks[0].detail == detail
    assert verdict.lines()[-4:-2] == [
        "  skip  values  not read: a file did not load",
        "  skip  tests   not read: a file did not load",
    ]
    assert verdict.lines()[-1] == "verdict: FAILED (3 of 4 checks)"


@pytest.mark.parametrize(
    "answer", [None, healthy({"loan_applications": [Answer()]})], ids=["never-finishes", "no-row"]
)
def test_no_loaded_row_by_the_deadline_fails_the_ledger(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch, answer: Script | None
) -> None:
    script(monkeypatch, answer)
    verdict = smoke(session, timeout_seconds=0.2, check_seconds=0.1)
    assert verdict.checks[0].ok is False
    assert verdict.checks[0].detail.startswith(
        "loan_applications: no loaded row after 0 s (last seen: no ledger row)"
    )


@pytest.mark.parametrize(
    ("answers", "ok", "detail"),
    [
        (
            [data_test_answer([]), data_test_answer(TEST_RESULTS)],
            True,
            "the data tests ran after the loads (1 run(s)): 1 passed, 1 warned, 0 failed",
        ),
        (
            [data_test_answer([("unique_fact_repayment", "error", "fail"), *TEST_RESULTS])],
            False,
            "1 passed, 1 warned, 1 failed: unique_fact_repayment",
        ),
        (
            [data_test_answer([])],
            False,
            "no data-test results for run run-a: see its run summary (run error)",
        ),
    ],
)
def test_the_data_tests_of_the_loads_runs_are_read(
    session: boto3.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    answers: list[Answer],
    ok: bool,
    detail: str,
) -> None:
    # a run writes its data-test results after its files' ledger rows: polled for until check_seconds
    script(monkeypatch, healthy(tests={"run-a": answers}))
    [_, _, tests, _] = smoke(session, check_seconds=0.3).checks
    assert (tests.ok, tests.detail) == (ok, detail)


def test_a_mart_that_fails_is_named(session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {MARTS[2].name: "ERROR: function now() is a leader-node-only function"}
    script(monkeypatch, healthy(marts=broken))

    [_, _, _, marts] = smoke(session).checks

    assert marts.ok is False
    assert marts.detail == (
        f"{len(MARTS) - 1} of {len(MARTS)} answered; {MARTS[2].name}: failed: "
        "ERROR: function now() is a leader-node-only function"
    )


# ---- the command ----------------------------------------------------------------------------------------------


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("smoke")(smoke_command)
    return app


def invoke(*extra: str) -> Any:
    return CliRunner().invoke(
        cli(),
        ["--bucket", BUCKET, "--workgroup", WORKGROUP, "--database", DATABASE, "--region", REGION, *extra],
    )


def test_command_prints_the_verdict_on_one_screen_and_exits_0(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smoke_module.uuid, "uuid4", lambda: type("U", (), {"hex": RUN_ID})())
    today = build_smoke_files(RUN_ID, datetime.now(UTC).date())
    script(monkeypatch, healthy(files=today))

    result = invoke("--secret-arn", SECRET_ARN)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 9 and lines[-1] == "verdict: OK"
    assert [line.split()[0] for line in lines[4:8]] == ["ok", "ok", "ok", "ok"]
    keys = [obj["Key"] for obj in session.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 3


def test_command_exits_1_with_the_verdict_when_a_check_fails(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(
        monkeypatch,
        lambda sql, params: (
            ledger_answer("rejected", (0, 0, 0), "empty file") if "ledger" in sql else Answer()
        ),
    )

    result = invoke("--timeout", "2")

    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "verdict: FAILED (3 of 4 checks)"
    assert "Traceback" not in result.output


def test_command_reports_a_smoke_that_cannot_run_in_one_line(session: boto3.session.Session) -> None:
    result = CliRunner().invoke(
        cli(),
        ["--bucket", "no-such-bucket", "--workgroup", WORKGROUP, "--database", DATABASE, "--region", REGION],
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("smoke failed: NoSuchBucket:")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_command_refuses_a_schema_that_is_not_a_name(session: boto3.session.Session) -> None:
    result = invoke("--schema", "public; drop table x")
    assert result.exit_code == 1
    assert result.stderr == (
        "smoke failed: --schema 'public; drop table x' is not a lower-case name (letters, digits, _)\n"
    )
