"""`etl smoke` as the deploy job runs it: the verdict on one screen, exit 0 or 1, one line when it cannot run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import typer
from typer.testing import CliRunner

from etl.cli.smoke import smoke_command
from etl.tools import smoke as smoke_module
from etl.tools.smoke_files import build_smoke_files
from tests.tools.smoke_api import (
    BUCKET,
    DATABASE,
    REGION,
    RUN_ID,
    SECRET_ARN,
    WORKGROUP,
    Answer,
    healthy,
    ledger_answer,
    script,
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
