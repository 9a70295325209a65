"""The post-deploy self-check against moto: a real (mocked) S3 upload, a scripted Redshift Data API.

moto's redshift-data backend records statements but never finishes them and always returns the same
canned rows, so the tests script the two read calls (describe_statement, get_statement_result) on the
backend, answering by the statement's SQL; execute_statement and everything on the wire stay moto's.
"""

from __future__ import annotations

import csv
import hashlib
import io
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
from etl.contracts import CONTRACTS
from etl.model import schema
from etl.model.keys import surrogate_key_of
from etl.model.marts import MARTS
from etl.tools import smoke as smoke_module
from etl.tools.smoke import (
    ID_BYTES,
    SMOKE_CUSTOMER_ID,
    build_smoke_csv,
    expected_rows,
    run_smoke,
)

REGION = "us-east-1"
BUCKET = "raw-bucket"
WORKGROUP = "etl"
DATABASE = "warehouse"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{DEFAULT_ACCOUNT_ID}:secret:redshift-admin"
RUN_ID = "run000000001"
TODAY = date(2026, 1, 31)
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
    status: str = "loaded", counts: tuple[int, int, int] = (3, 2, 1), error: str | None = None
) -> Answer:
    values = [status, *counts, LOAD_STARTED, LOAD_FINISHED, error]
    columns = ("status", "rows_in", "rows_loaded", "rows_quarantined", "started_at", "finished_at", "error")
    return Answer(columns, (tuple(field(v) for v in values),))


def fact_answer(rows: list[dict[str, Any]]) -> Answer:
    names = schema.FACT_LOAN_APPLICATION.column_names
    return Answer(names, tuple(tuple(field(row[n]) for n in names) for row in rows))


def loaded_rows(today: date = TODAY, **changes: Any) -> list[dict[str, Any]]:
    """The rows a correct load holds: what the pipeline builds from the smoke file, loaded at LOADED_AT."""
    rows, _ = expected_rows(build_smoke_csv(RUN_ID, today))
    return [{**row, "loaded_at": LOADED_AT, **changes} for row in rows]


def healthy(
    ledger: list[Answer] | None = None,
    facts: list[dict[str, Any]] | None = None,
    marts: dict[str, str] | None = None,
) -> Script:
    """A deployed pipeline: the ledger answers in turn (the last repeats), the fact rows, every mart (an
    error for those named in `marts`)."""
    ledger = list(ledger or [ledger_answer()])

    def answer(sql: str, params: list[dict[str, str]]) -> Answer:
        if "etl_file_ledger" in sql:
            return ledger.pop(0) if len(ledger) > 1 else ledger[0]
        if "fact_loan_application" in sql:
            return fact_answer(loaded_rows() if facts is None else facts)
        mart = sql.split(".")[-1].split()[0]
        return Answer(error=(marts or {}).get(mart)) if mart in (marts or {}) else Answer(("x",), ())

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


def smoke(session: boto3.session.Session, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "bucket": BUCKET,
        "workgroup": WORKGROUP,
        "database": DATABASE,
        "secret_arn": SECRET_ARN,
        "timeout_seconds": 5,
        "poll_seconds": 0.01,
        "check_seconds": 2,
        "session": session,
        "run_id": RUN_ID,
        "today": TODAY,
    }
    return run_smoke(**(arguments | overrides))


# ---- the file -------------------------------------------------------------------------------------------------


def test_the_smoke_file_carries_known_edge_values_and_is_new_on_every_run() -> None:
    body = build_smoke_csv(RUN_ID, TODAY)
    assert hashlib.sha256(body).digest() != hashlib.sha256(build_smoke_csv("other", TODAY)).digest()
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows[0]["application_id"].encode()) == ID_BYTES == len(SMOKE_CUSTOMER_ID.encode())
    assert not rows[0]["application_id"][len(f"SMOKE-{RUN_ID}-1-") : -1].isascii()
    assert [r["loan_amount"] for r in rows] == ["1234567.89", "0.01", "500.00"]
    assert rows[2]["credit_score"] == "851"  # the contract's range is 300-850: quarantined

    built, quarantined = expected_rows(body)

    assert quarantined == 1 and [r["source_row"] for r in built] == [2, 3]
    first, second = built
    assert first["application_id"] == rows[0]["application_id"]
    assert first["application_key"] == surrogate_key_of(rows[0]["application_id"])
    assert (first["loan_amount"], first["annual_income"], first["interest_rate"]) == (
        Decimal("1234567.89"),
        Decimal("98765.43"),
        Decimal("12.3456"),
    )
    assert (first["loan_to_income"], first["loan_purpose"], first["application_date_key"]) == (
        Decimal("12.5000"),
        "rénovation ☀",
        20260131,
    )
    assert (second["loan_amount"], second["loan_purpose"], second["decision_date"]) == (
        Decimal("0.01"),
        None,
        None,
    )
    assert first["source_file_id"] == hashlib.sha256(body).hexdigest()


# ---- a healthy deploy -----------------------------------------------------------------------------------------


def test_a_healthy_pipeline_passes_every_check(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(
        monkeypatch,
        healthy(
            ledger=[
                Answer(error='ERROR: relation "etl_file_ledger" does not exist'),
                Answer(),
                ledger_answer("failed"),
                ledger_answer(),
            ]
        ),
    )
    sent: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.redshift-data.ExecuteStatement", lambda params, **_: sent.append(dict(params))
    )

    verdict = smoke(session)

    assert verdict.ok, verdict.lines()
    body = build_smoke_csv(RUN_ID, TODAY)
    file_id = hashlib.sha256(body).hexdigest()
    assert verdict.file_id == file_id
    key = verdict.uri.removeprefix(f"s3://{BUCKET}/")
    assert key.startswith(f"incoming/loan_applications/smoke-{file_id[:12]}-") and key.endswith(".csv")
    assert session.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    lines = verdict.lines()
    assert lines[0] == f"etl smoke: {verdict.uri} (file_id {file_id[:12]})"
    assert lines[1].startswith("  ok    ledger  loaded after ") and lines[1].endswith(
        ": 3 rows in, 2 loaded, 1 quarantined"
    )
    assert lines[2] == (
        "  ok    values  2 rows x 22 columns as sent (128-byte ids, cents, dates, NULLs, keys; "
        "loaded_at 2026-01-31 10:00:01.123456 within the load)"
    )
    assert lines[3] == f"  ok    marts   all {len(MARTS)} mart_* views answered"
    assert lines[4:] == ["verdict: OK"]
    # four ledger polls (no table yet, no row, failed, loaded), the rows, every mart; all bound, none formatted
    sqls = [s["Sql"] for s in sent]
    assert len(sqls) == 4 + 1 + len(MARTS)
    assert all(
        s["WorkgroupName"] == WORKGROUP and s["Database"] == DATABASE and s["SecretArn"] == SECRET_ARN
        for s in sent
    )
    assert sqls[0] == smoke_module.LEDGER_QUERY.format(schema="public")
    assert (
        sqls[4].startswith("SELECT application_id, application_key, ")
        and "FROM public.fact_loan_application" in sqls[4]
    )
    assert sqls[5:] == [f"SELECT * FROM public.{m.name} LIMIT 1" for m in MARTS]
    for statement in executed():
        assert file_id not in statement.query_string
    assert [s["Parameters"] for s in sent[:5]] == [[{"name": "file_id", "value": file_id}]] * 5


def test_without_a_secret_the_data_api_uses_the_callers_identity_and_another_schema_is_named(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, healthy())
    sent: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.redshift-data.ExecuteStatement", lambda params, **_: sent.append(dict(params))
    )

    assert smoke(session, secret_arn=None, schema_name="risk").ok

    assert not any("SecretArn" in s for s in sent)
    assert all(".etl_file_ledger" not in s["Sql"] or "risk.etl_file_ledger" in s["Sql"] for s in sent)
    assert sent[-1]["Sql"] == f"SELECT * FROM risk.{MARTS[-1].name} LIMIT 1"


# ---- what a broken deploy shows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        # COPY misreading the Parquet timestamp (apache/arrow#38000 saw a 2023 value as year 161065)
        (
            {"loaded_at": "161065-10-07 20:24:18.134352"},
            "row 1 loaded_at: read 161065-10-07 20:24:18.134352, outside the load",
        ),
        (
            {"loaded_at": datetime(2262, 4, 11, 23, 47, 16)},
            "row 1 loaded_at: read 2262-04-11 23:47:16, outside the load",
        ),
        (
            {"loan_amount": Decimal("1234567.90")},
            "row 1 loan_amount: sent Decimal('1234567.89'), read Decimal('1234567.90')",
        ),
        ({"state": "Lag"}, "row 1 state: sent 'Lagos', read 'Lag'"),
        ({"credit_band_key": 7}, "row 1 credit_band_key: sent 8594785601849211898, read 7"),
    ],
)
def test_a_value_that_did_not_round_trip_fails_the_values_check(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any], detail: str
) -> None:
    rows = loaded_rows()
    rows[0] = {**rows[0], **changes}
    script(monkeypatch, healthy(facts=rows))

    verdict = smoke(session)

    assert not verdict.ok
    [values] = [c for c in verdict.checks if c.name == "values"]
    assert values.ok is False and values.detail.startswith(detail), values.detail
    assert verdict.lines()[-1] == "verdict: FAILED (1 of 3 checks)"


def test_a_cut_multibyte_id_is_shown_and_a_missing_row_counted(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = loaded_rows()
    cut = [
        {**rows[0], "customer_id": SMOKE_CUSTOMER_ID[:-2]},
        {**rows[1], "customer_id": SMOKE_CUSTOMER_ID[:-2]},
    ]
    script(monkeypatch, healthy(facts=cut))
    [_, values, _] = smoke(session).checks
    sent, read = "'SMOKE-CUSTOM'...'ßßßßßx' (128 bytes)", "'SMOKE-CUSTOM'...'ßßßßßß' (125 bytes)"
    assert (
        values.detail
        == f"row 1 customer_id: sent {sent}, read {read}; row 2 customer_id: sent {sent}, read {read}"
    )


def test_a_missing_row_is_counted(session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    script(monkeypatch, healthy(facts=loaded_rows()[:1]))
    [_, values, _] = smoke(session).checks
    assert values.detail == "1 rows of this file in fact_loan_application, expected 2"


@pytest.mark.parametrize(
    ("ledger", "detail"),
    [
        (
            ledger_answer("rejected", (0, 0, 0), "missing required column: annual_income"),
            "rejected: missing required column: annual_income",
        ),
        (
            ledger_answer("loaded", (3, 3, 0)),
            "loaded, but 3 rows in, 3 loaded, 0 quarantined (expected 3, 2, 1)",
        ),
        (
            Answer(error="ERROR: permission denied for relation etl_file_ledger"),
            "the ledger query failed: etl-smoke-ledger failed: ERROR: permission denied for relation etl_file_ledger",
        ),
    ],
)
def test_a_file_that_did_not_load_as_sent_fails_the_ledger_and_skips_the_values(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch, ledger: Answer, detail: str
) -> None:
    script(monkeypatch, healthy(ledger=[ledger]))

    verdict = smoke(session)

    assert [(c.name, c.ok) for c in verdict.checks] == [("ledger", False), ("values", None), ("marts", True)]
    assert verdict.checks[0].detail == detail
    assert verdict.lines()[2] == "  skip  values  not read: the file did not load"
    assert verdict.lines()[-1] == "verdict: FAILED (2 of 3 checks)"


@pytest.mark.parametrize("answer", [None, healthy(ledger=[Answer()])], ids=["never-finishes", "no-row"])
def test_no_loaded_row_by_the_deadline_fails_the_ledger(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch, answer: Script | None
) -> None:
    script(monkeypatch, answer)
    verdict = smoke(session, timeout_seconds=0.2, check_seconds=0.1)
    assert verdict.checks[0].ok is False
    assert verdict.checks[0].detail.startswith("no loaded row after 0 s (last seen: no ledger row)")


def test_a_mart_that_fails_is_named(session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {MARTS[2].name: "ERROR: function now() is a leader-node-only function"}
    script(monkeypatch, healthy(marts=broken))

    [_, _, marts] = smoke(session).checks

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
    script(monkeypatch, healthy(facts=loaded_rows(today=datetime.now(UTC).date())))

    result = invoke("--secret-arn", SECRET_ARN)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and lines[-1] == "verdict: OK"
    assert [line.split()[0] for line in lines[1:4]] == ["ok", "ok", "ok"]
    keys = [obj["Key"] for obj in session.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 1


def test_command_exits_1_with_the_verdict_when_a_check_fails(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, healthy(ledger=[ledger_answer("rejected", (0, 0, 0), "empty file")]))

    result = invoke("--timeout", "2")

    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "verdict: FAILED (2 of 3 checks)"
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
    assert (
        result.stderr
        == "smoke failed: --schema 'public; drop table x' is not a lower-case name (letters, digits, _)\n"
    )


def test_the_smoke_source_is_the_registrys() -> None:
    assert smoke_module.SOURCE is CONTRACTS["loan_applications"]
