"""Scheduled extraction on moto: EventBridge Scheduler's payload -> the handler extracts from the real
PostgreSQL source into the raw bucket's incoming/ -> the S3 notification, through the same handler, loads
the file -> the next scheduled run reads from the mark the load moved. The Fargate task's command runs the
same; a refused payload or a missing secret is one line and a failure metric, with nothing written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etl.handler import lambda_handler, main
from etl.load.warehouse import open_warehouse
from etl.settings import Settings
from tests.aws.moto_events import _lambda_sqs_event
from tests.aws.test_handler import CONTEXT
from tests.helpers import make_env
from tests.plugins.postgres import PostgresServer
from tests.pull.conftest import STATEMENTS, Lender, profile_text
from tests.pull.test_extract import ROWS

pytestmark = pytest.mark.postgres

REGION = "us-east-1"
RAW, LAKE = "sched-raw", "sched-lake"
PREFIX = "incoming/bank_statements/core/"
SECRET_PASSWORD = "Sched-s3cret-9Zq"


@dataclass
class Scheduled:
    s3: Any
    sqs: Any
    secrets: Any
    queue_url: str
    queue_arn: str
    lender: Lender
    warehouse_url: str

    def use_profile(self, text: str) -> None:
        self.s3.put_object(Bucket=RAW, Key="config/profile.toml", Body=text.encode())

    def keys(self) -> list[str]:
        answer = self.s3.list_objects_v2(Bucket=RAW, Prefix="incoming/")
        return sorted(o["Key"] for o in answer.get("Contents", []))

    def load(self) -> dict[str, Any]:
        """The raw bucket's notifications, through the handler as the SQS event source delivers them."""
        return lambda_handler(_lambda_sqs_event(self.sqs, self.queue_url, self.queue_arn), CONTEXT)

    def count(self) -> int:
        with open_warehouse(Settings(warehouse_url=self.warehouse_url)) as wh:
            return int(wh.query("SELECT COUNT(*) FROM fact_bank_transaction")[0][0])


@pytest.fixture
def scheduled(
    monkeypatch: pytest.MonkeyPatch, postgres_server: PostgresServer, tmp_path: Path
) -> Iterator[Scheduled]:
    name = f"lender_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    lender = Lender(url, make_env(tmp_path), tmp_path / "profile.toml")
    lender.sql(STATEMENTS)
    warehouse_url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_METRICS_NAMESPACE": "CreditRiskETLTest",
        "ETL_LAKE": f"s3://{LAKE}/lake",
        "ETL_WAREHOUSE_URL": warehouse_url,
        "ETL_PROFILE": f"s3://{RAW}/config/profile.toml",
        "ETL_EXTRACT_OUT": f"s3://{RAW}/incoming",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "ETL_SLACK_WEBHOOK_URL", "ETL_SNS_TOPIC_ARN", "ETL_GLUE_DATABASE"):
        monkeypatch.delenv(key, raising=False)
    try:
        with mock_aws():
            s3, sqs, secrets = (boto3.client(n, region_name=REGION) for n in ("s3", "sqs", "secretsmanager"))
            s3.create_bucket(Bucket=RAW)
            s3.create_bucket(Bucket=LAKE)
            queue_url = sqs.create_queue(QueueName="etl-incoming")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            s3.put_bucket_notification_configuration(
                Bucket=RAW,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": queue_arn,
                            "Events": ["s3:ObjectCreated:*"],
                            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
                        }
                    ]
                },
            )
            secrets.create_secret(Name="lender/core", SecretString=url)
            found = Scheduled(s3, sqs, secrets, queue_url, queue_arn, lender, warehouse_url)
            found.use_profile(_secret_profile("lender/core"))
            yield found
    finally:
        postgres_server.drop_database(name)


def _secret_profile(secret: str) -> str:
    return profile_text().replace('url_env = "LENDER_DB_URL"', f'url_secret = "{secret}"')


def _emf(out: str) -> dict[str, float]:
    """The extraction counts of the EMF document the invocation printed."""
    for line in out.splitlines():
        if line.startswith('{"_aws"') and "ExtractionsFailed" in line:
            doc = json.loads(line)
            names = ("ExtractionsSucceeded", "ExtractionsFailed", "RowsExtracted")
            return {n: float(doc[n][0] if isinstance(doc[n], list) else doc[n]) for n in names}
    raise AssertionError("no EMF document with ExtractionsFailed")


def test_a_scheduled_event_extracts_to_the_raw_bucket_and_its_load_moves_the_mark(
    scheduled: Scheduled, capsys: pytest.CaptureFixture[str]
) -> None:
    scheduled.lender.sql(ROWS)
    event = {"etl": "extract", "names": ["core"]}

    first = lambda_handler(event, CONTEXT)

    [result] = first["extracted"]
    key = PREFIX + "start--20240303T120000.000000Z.csv"
    assert (result["path"], result["rows"], result["previous_mark"]) == (f"s3://{RAW}/{key}", 3, None)
    assert first["errors"] == [] and scheduled.keys() == [key]
    assert _emf(capsys.readouterr().out) == {
        "ExtractionsSucceeded": 1.0,
        "ExtractionsFailed": 0.0,
        "RowsExtracted": 3.0,
    }
    # the upload's notification, through the handler: loaded like any upload
    loaded = scheduled.load()
    assert loaded["batchItemFailures"] == []
    assert [(f["path"], f["status"], f["rows_loaded"]) for f in loaded["report"]["run"]["files"]] == [
        (f"s3://{RAW}/{key}", "loaded", 3)
    ]
    assert scheduled.count() == 3

    scheduled.lender.sql(
        "INSERT INTO txns VALUES ('T4','C2','2024-03-04 09:00+00',-50.05,'AIRTIME',1,'2024-03-04 09:00+00')"
    )
    [second] = lambda_handler(event, CONTEXT)["extracted"]
    assert (second["previous_mark"], second["from"], second["to"], second["rows"]) == (
        "2024-03-03T12:00:00Z",
        "2024-03-03T12:00:00Z",
        "2024-03-04T09:00:00Z",
        2,  # T3 at the mark (>=) and T4
    )
    assert second["path"] == f"s3://{RAW}/{PREFIX}20240303T120000.000000Z--20240304T090000.000000Z.csv"
    assert scheduled.load()["batchItemFailures"] == []
    assert scheduled.count() == 4


def test_the_fargate_task_runs_the_same_extraction_from_its_command(
    scheduled: Scheduled, capsys: pytest.CaptureFixture[str]
) -> None:
    scheduled.lender.sql(ROWS)

    assert main(["extract", "core"]) == 0

    printed = capsys.readouterr().out.strip().splitlines()
    [result] = json.loads(printed[-1])["extracted"]
    assert result["rows"] == 3
    assert scheduled.keys() == [PREFIX + "start--20240303T120000.000000Z.csv"]
    assert main(["extract", "nope"]) == 2


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (
            {"etl": "extract", "names": "core"},
            "scheduled payload: names must be a list of extraction names (strings)",
        ),
        ({"etl": "load"}, "scheduled payload: etl is 'load'; the only command is \"extract\""),
        (
            {"etl": "extract", "name": ["core"]},
            "scheduled payload: unknown key(s) name (keys: etl, names, full_refresh)",
        ),
        ({"etl": "extract", "full_refresh": "yes"}, "scheduled payload: full_refresh must be true or false"),
        ({"etl": "extract", "names": ["other"]}, "has no extraction 'other' (it has core)"),
    ],
)
def test_a_wrong_payload_is_one_line_a_failure_metric_and_nothing_written(
    scheduled: Scheduled, capsys: pytest.CaptureFixture[str], event: dict[str, Any], line: str
) -> None:
    scheduled.lender.sql(ROWS)

    answer = lambda_handler(event, CONTEXT)

    assert answer["extracted"] == [] and len(answer["errors"]) == 1 and line in answer["errors"][0]
    out = capsys.readouterr().out
    assert _emf(out)["ExtractionsFailed"] == 1.0 and "Traceback" not in out
    assert scheduled.keys() == []


def test_a_missing_secret_is_one_line_and_nothing_is_written(
    scheduled: Scheduled, capsys: pytest.CaptureFixture[str]
) -> None:
    scheduled.lender.sql(ROWS)
    scheduled.use_profile(_secret_profile("lender/missing"))

    answer = lambda_handler({"etl": "extract"}, CONTEXT)

    assert answer == {
        "extracted": [],
        "errors": ["extraction core: secret lender/missing (url_secret) does not exist"],
    }
    assert _emf(capsys.readouterr().out)["ExtractionsFailed"] == 1.0
    assert scheduled.keys() == []


def test_the_password_of_a_secret_is_never_printed_when_the_source_is_unreachable(
    scheduled: Scheduled, capsys: pytest.CaptureFixture[str]
) -> None:
    rds = {
        "engine": "postgres",
        "host": "127.0.0.1",
        "port": 1,
        "username": "lender",
        "password": SECRET_PASSWORD,
        "dbname": "core",
    }
    scheduled.secrets.create_secret(Name="lender/down", SecretString=json.dumps(rds))
    scheduled.use_profile(_secret_profile("lender/down"))

    with pytest.raises(Exception) as caught:  # retryable: Lambda runs the event again
        lambda_handler({"etl": "extract"}, CONTEXT)

    assert type(caught.value).__name__ == "RunFailed"
    assert str(caught.value).startswith("extraction core: cannot connect")
    out = capsys.readouterr()
    everything = out.out + out.err + str(caught.value)
    assert "extraction core: cannot connect" in everything
    for piece in (SECRET_PASSWORD, "s3cret", "Sched-s3"):
        assert piece not in everything
    assert scheduled.keys() == []
