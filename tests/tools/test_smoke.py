"""The post-deploy smoke test against moto: a real (mocked) S3 upload, a scripted Redshift Data API.

moto's redshift-data backend records statements but never finishes them and always returns the same
canned rows, so the tests script the two read calls (describe_statement, get_statement_result) on the
backend; execute_statement and everything on the wire stay moto's.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.models import RedshiftDataAPIServiceBackend, redshiftdata_backends
from typer.testing import CliRunner

from etl.cli.smoke import smoke_command
from etl.tools.smoke import LEDGER_QUERY, SmokeError, SmokeRejected, SmokeTimeout, build_smoke_csv, run_smoke

REGION = "us-east-1"
BUCKET = "raw-bucket"
WORKGROUP = "etl"
DATABASE = "warehouse"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{DEFAULT_ACCOUNT_ID}:secret:redshift-admin"


@dataclass(frozen=True)
class Answer:
    """What one ledger query returns: a row, no row, or a failed statement."""

    row: tuple[str, int] | None = None
    error: str | None = None


NO_ROW = Answer()


@dataclass
class ScriptedLedger:
    """Answers ledger queries in order, one answer per statement; the last answer repeats."""

    answers: list[Answer]
    assigned: dict[str, Answer] = field(default_factory=dict)

    def answer(self, statement_id: str) -> Answer:
        if statement_id not in self.assigned:
            self.assigned[statement_id] = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return self.assigned[statement_id]


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


def script_ledger(monkeypatch: pytest.MonkeyPatch, *answers: Answer) -> ScriptedLedger:
    ledger = ScriptedLedger(list(answers))
    original_describe = RedshiftDataAPIServiceBackend.describe_statement

    def describe_statement(self: RedshiftDataAPIServiceBackend, statement_id: str) -> dict[str, Any]:
        described = dict(original_describe(self, statement_id))
        answer = ledger.answer(statement_id)
        if answer.error is not None:
            return {**described, "Status": "FAILED", "Error": answer.error}
        return {**described, "Status": "FINISHED", "HasResultSet": True}

    def get_statement_result(self: RedshiftDataAPIServiceBackend, statement_id: str) -> dict[str, Any]:
        answer = ledger.answer(statement_id)
        records = (
            [] if answer.row is None else [[{"stringValue": answer.row[0]}, {"longValue": answer.row[1]}]]
        )
        return {
            "ColumnMetadata": [{"name": "status"}, {"name": "rows_loaded"}],
            "Records": records,
            "TotalNumberRows": len(records),
        }

    monkeypatch.setattr(RedshiftDataAPIServiceBackend, "describe_statement", describe_statement)
    monkeypatch.setattr(RedshiftDataAPIServiceBackend, "get_statement_result", get_statement_result)
    return ledger


def executed_statements() -> list[Any]:
    return list(redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION].statements.values())


@pytest.fixture
def smoke_csv(tmp_path: Path) -> Path:
    path = tmp_path / "smoke.csv"
    path.write_bytes(build_smoke_csv("run0001", date(2026, 1, 31)))
    return path


def smoke(session: boto3.session.Session, csv_path: Path, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "bucket": BUCKET,
        "workgroup": WORKGROUP,
        "database": DATABASE,
        "secret_arn": SECRET_ARN,
        "csv_path": csv_path,
        "timeout_seconds": 5,
        "poll_seconds": 0.01,
        "session": session,
    }
    return run_smoke(**(arguments | overrides))


def test_smoke_csv_is_a_valid_loan_application_unique_per_run() -> None:
    first = build_smoke_csv("aaa", date(2026, 1, 31))
    second = build_smoke_csv("bbb", date(2026, 1, 31))

    assert hashlib.sha256(first).digest() != hashlib.sha256(second).digest()
    (row,) = csv.DictReader(io.StringIO(first.decode()))
    assert row["application_id"] == "SMOKE-aaa"
    assert row["loan_application_date"] == "2026-01-31"
    assert float(row["loan_amount"]) > 0
    assert 300 <= int(row["credit_score"]) <= 850
    assert row["employment_status"] == "Employed"
    assert float(row["annual_income"]) >= 0


def test_uploads_the_file_and_succeeds_once_the_loaded_row_appears(
    session: boto3.session.Session, smoke_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script_ledger(monkeypatch, NO_ROW, NO_ROW, Answer(row=("loaded", 1)))
    sent: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.redshift-data.ExecuteStatement",
        lambda params, **_: sent.append(dict(params)),
    )

    result = smoke(session, smoke_csv)

    file_id = hashlib.sha256(smoke_csv.read_bytes()).hexdigest()
    assert (result.status, result.rows_loaded, result.polls) == ("loaded", 1, 3)
    assert result.file_id == file_id
    assert result.key.startswith(f"incoming/loan_applications/smoke-{file_id[:12]}-")
    assert result.key.endswith(".csv")
    uploaded = session.client("s3").get_object(Bucket=BUCKET, Key=result.key)["Body"].read()
    assert uploaded == smoke_csv.read_bytes()

    assert len(sent) == 3
    assert sent[0]["WorkgroupName"] == WORKGROUP
    assert sent[0]["Database"] == DATABASE
    assert sent[0]["SecretArn"] == SECRET_ARN
    assert sent[0]["Parameters"] == [{"name": "file_id", "value": file_id}]
    for statement in executed_statements():
        assert statement.query_string == LEDGER_QUERY
        assert ":file_id" in statement.query_string
        assert file_id not in statement.query_string
        assert statement.query_parameters == [{"name": "file_id", "value": file_id}]


def test_without_a_secret_the_data_api_uses_the_callers_identity(
    session: boto3.session.Session, smoke_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script_ledger(monkeypatch, Answer(row=("loaded", 1)))
    sent: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.redshift-data.ExecuteStatement",
        lambda params, **_: sent.append(dict(params)),
    )

    smoke(session, smoke_csv, secret_arn=None)

    assert "SecretArn" not in sent[0]


@pytest.mark.parametrize(
    "answers",
    [pytest.param(None, id="statement-never-finishes"), pytest.param([NO_ROW], id="no-ledger-row")],
)
def test_times_out_when_no_loaded_row_appears(
    session: boto3.session.Session,
    smoke_csv: Path,
    monkeypatch: pytest.MonkeyPatch,
    answers: list[Answer] | None,
) -> None:
    if answers is not None:
        script_ledger(monkeypatch, *answers)

    with pytest.raises(
        SmokeTimeout, match=r"s3://raw-bucket/incoming/loan_applications/smoke-|still STARTED"
    ):
        smoke(session, smoke_csv, timeout_seconds=0.2, poll_seconds=0.02)


def test_a_rejected_file_fails_at_once(
    session: boto3.session.Session, smoke_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script_ledger(monkeypatch, Answer(row=("rejected", 0)))

    with pytest.raises(SmokeRejected, match="rejected by the pipeline"):
        smoke(session, smoke_csv)


def test_a_missing_ledger_table_means_not_loaded_yet(
    session: boto3.session.Session, smoke_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script_ledger(
        monkeypatch,
        Answer(error='ERROR: relation "etl_file_ledger" does not exist'),
        Answer(row=("loaded", 1)),
    )

    assert smoke(session, smoke_csv).polls == 2


def test_a_failing_ledger_query_is_reported(
    session: boto3.session.Session, smoke_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script_ledger(monkeypatch, Answer(error="ERROR: permission denied for relation etl_file_ledger"))

    with pytest.raises(SmokeError, match="ledger query failed: ERROR: permission denied"):
        smoke(session, smoke_csv)


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("smoke")(smoke_command)
    return app


def invoke(*extra: str) -> Any:
    return CliRunner().invoke(
        cli(),
        ["--bucket", BUCKET, "--workgroup", WORKGROUP, "--database", DATABASE, "--region", REGION, *extra],
    )


def test_command_prints_one_line_and_exits_0_on_success(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    script_ledger(monkeypatch, Answer(row=("loaded", 1)))

    result = invoke("--secret-arn", SECRET_ARN)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("smoke ok: s3://raw-bucket/incoming/loan_applications/smoke-")
    assert len(result.stdout.splitlines()) == 1
    keys = [obj["Key"] for obj in session.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 1


def test_command_reports_a_failure_in_one_line_without_a_traceback(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(
        cli(),
        ["--bucket", "no-such-bucket", "--workgroup", WORKGROUP, "--database", DATABASE, "--region", REGION],
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("smoke failed: NoSuchBucket:")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_command_times_out_with_exit_1(session: boto3.session.Session) -> None:
    result = invoke("--timeout", "0.1")

    assert result.exit_code == 1
    assert result.stderr.startswith("smoke failed: ")
    assert "Traceback" not in result.output
