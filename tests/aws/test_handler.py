"""The Lambda handler end to end on moto: S3 upload -> SQS notification -> handler -> S3 lake + Glue + warehouse.

The warehouse is real: a DuckDB file, or a database on the PostgreSQL server the test session starts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import botocore.client
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from etl.aws.events import ObjectRef
from etl.handler import lambda_handler
from etl.load.warehouse import open_warehouse
from etl.settings import Settings
from tests.aws.moto_events import _lambda_sqs_event
from tests.helpers import APP_HEADER, STMT_HEADER

REGION = "us-east-1"
RAW, LAKE = "credit-risk-raw", "credit-risk-lake"
GLUE_DB = "credit_risk_lake"

APPS = APP_HEADER + "\nA1,C1,100.10,2023-01-01,700,Employed,1000\nA2,C2,200.20,2023-01-02,650,Unemployed,0\n"
STATEMENTS = (
    STMT_HEADER + "\nT1,C1,2023-01-05,250000.00,SALARY PAYMENT ACME LTD,250000.00\n"
    "T2,C9,2023-01-06,-5000.00,BET9JA STAKE,245000.00\n"
    "T3,C9,2023-13-45,-1.00,POS PURCHASE,1.00\n"  # invalid date -> quarantined
)
CONTEXT = types.SimpleNamespace(
    function_name="credit-risk-etl",
    function_version="$LATEST",
    memory_limit_in_mb=2048,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:credit-risk-etl",
    aws_request_id="00000000-0000-4000-8000-000000000000",
    log_group_name="/aws/lambda/credit-risk-etl",
    log_stream_name="test",
    get_remaining_time_in_millis=lambda: 900_000,
)


@dataclass
class Aws:
    """A moto account wired like production: raw bucket -> SQS queue; lake bucket; SNS topic -> capture queue."""

    s3: Any
    sqs: Any
    glue: Any
    queue_url: str
    queue_arn: str
    summary_queue_url: str
    warehouse_url: str

    def upload(self, key: str, body: str | bytes) -> None:
        self.s3.put_object(Bucket=RAW, Key=key, Body=body.encode() if isinstance(body, str) else body)

    def drain(self) -> dict[str, Any]:
        return _lambda_sqs_event(self.sqs, self.queue_url, self.queue_arn)

    def lake_keys(self) -> list[str]:
        answer = self.s3.list_objects_v2(Bucket=LAKE)
        return sorted(o["Key"] for o in answer.get("Contents", []))

    def lake_table(self, key: str) -> Any:
        body = self.s3.get_object(Bucket=LAKE, Key=key)["Body"].read()
        return pq.read_table(io.BytesIO(body))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with open_warehouse(Settings(warehouse_url=self.warehouse_url)) as wh:
            return wh.query(sql)

    def summaries(self) -> list[dict[str, Any]]:
        """The SNS envelopes the topic delivered, with `Message` the summary's text: a queue receives the
        default message, AWS Chatbot's custom notification, whose description is that text."""
        answer = self.sqs.receive_message(QueueUrl=self.summary_queue_url, MaxNumberOfMessages=10)
        envelopes = [json.loads(m["Body"]) for m in answer.get("Messages", [])]
        for envelope in envelopes:
            notification = json.loads(envelope["Message"])
            assert (notification["version"], notification["source"]) == ("1.0", "custom")
            assert notification["content"]["title"] == envelope["Subject"]
            envelope["Message"] = notification["content"]["description"]
        return envelopes


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, warehouse_url: str) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_METRICS_NAMESPACE": "CreditRiskETLTest",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "ETL_SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        s3, sqs, sns = (boto3.client(n, region_name=REGION) for n in ("s3", "sqs", "sns"))
        s3.create_bucket(Bucket=RAW)
        s3.create_bucket(Bucket=LAKE)
        queue_url = sqs.create_queue(QueueName="etl-incoming")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
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
        topic_arn = sns.create_topic(Name="etl-run-summaries")["TopicArn"]
        summary_url = sqs.create_queue(QueueName="etl-summaries")["QueueUrl"]
        summary_arn = sqs.get_queue_attributes(QueueUrl=summary_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=summary_arn,
            Attributes={"RawMessageDelivery": "false"},
        )
        monkeypatch.setenv("ETL_LAKE", f"s3://{LAKE}/lake")
        monkeypatch.setenv("ETL_WAREHOUSE_URL", warehouse_url)
        monkeypatch.setenv("ETL_GLUE_DATABASE", GLUE_DB)
        monkeypatch.setenv("ETL_SNS_TOPIC_ARN", topic_arn)
        yield Aws(
            s3,
            sqs,
            boto3.client("glue", region_name=REGION),
            queue_url,
            queue_arn,
            summary_url,
            warehouse_url,
        )


def test_uploads_flow_through_sqs_into_the_lake_glue_and_the_warehouse(aws: Aws) -> None:
    aws.upload("incoming/loan_applications/day 1+final.csv", APPS)
    aws.upload("incoming/customer_bank_statement/jan.csv", STATEMENTS)
    aws.upload("incoming/loan_applications/readme.txt", "not a csv")
    aws.upload("elsewhere/x.csv", APPS)  # outside the notification filter: no message at all
    event = aws.drain()
    assert len(event["Records"]) == 4  # s3:TestEvent + three uploads under incoming/

    response = lambda_handler(event, CONTEXT)

    assert response["batchItemFailures"] == []
    run = response["report"]["run"]
    by_uri = {f["path"]: f for f in run["files"]}
    apps = by_uri[f"s3://{RAW}/incoming/loan_applications/day 1+final.csv"]  # the key is URL-decoded
    stmts = by_uri[f"s3://{RAW}/incoming/customer_bank_statement/jan.csv"]
    assert [f["path"] for f in run["files"]] == [apps["path"], stmts["path"]]  # applications first
    assert (apps["status"], apps["rows_in"], apps["rows_loaded"], apps["rows_quarantined"]) == (
        "loaded",
        2,
        2,
        0,
    )
    assert (stmts["status"], stmts["rows_in"], stmts["rows_loaded"], stmts["rows_quarantined"]) == (
        "loaded",
        3,
        2,
        1,
    )
    assert response["report"]["ignored"] == [
        f"ignored s3://{RAW}/incoming/loan_applications/readme.txt: not a .csv under incoming/<source>/"
    ]
    assert run["data_tests"]["not_passed"] == [] and run["data_tests"]["passed"] > 50

    # the lake: deterministic names under the lake prefix
    assert aws.lake_keys() == sorted(
        [
            f"lake/curated/fact_loan_application/{apps['file_id']}.parquet",
            f"lake/curated/fact_bank_transaction/{stmts['file_id']}.parquet",
            f"lake/quarantine/bank_statements/{stmts['file_id']}.parquet",
        ]
    )
    assert apps["lake_uri"] == f"s3://{LAKE}/lake/curated/fact_loan_application/{apps['file_id']}.parquet"
    curated = aws.lake_table(f"lake/curated/fact_loan_application/{apps['file_id']}.parquet")
    assert sorted(curated.column("application_id").to_pylist()) == ["A1", "A2"]
    assert sorted(curated.column("loan_amount").to_pylist()) == [Decimal("100.10"), Decimal("200.20")]
    [bad] = aws.lake_table(f"lake/quarantine/bank_statements/{stmts['file_id']}.parquet").to_pylist()
    assert (bad["source_row"], bad["rule"], bad["transaction_id"]) == (4, "invalid_date", "T3")

    # Glue: one table per fact and per quarantine source, over its folder, with the Parquet's columns
    tables = {t["Name"]: t for t in aws.glue.get_tables(DatabaseName=GLUE_DB)["TableList"]}
    assert set(tables) == {"fact_loan_application", "fact_bank_transaction", "quarantine_bank_statements"}
    fact = tables["fact_loan_application"]["StorageDescriptor"]
    assert fact["Location"] == f"s3://{LAKE}/lake/curated/fact_loan_application/"
    columns = {c["Name"]: c["Type"] for c in fact["Columns"]}
    assert (columns["loan_amount"], columns["loan_application_date"], columns["source_row"]) == (
        "decimal(18,2)",
        "date",
        "bigint",
    )
    assert tables["quarantine_bank_statements"]["StorageDescriptor"]["Location"] == (
        f"s3://{LAKE}/lake/quarantine/bank_statements/"
    )

    # the warehouse holds exactly the expected rows
    assert aws.query(
        "SELECT f.application_id, c.customer_id, f.loan_amount FROM fact_loan_application f "
        "JOIN dim_customer c USING (customer_key) ORDER BY 1"
    ) == [("A1", "C1", Decimal("100.10")), ("A2", "C2", Decimal("200.20"))]
    assert aws.query(
        "SELECT t.transaction_id, c.customer_id, g.category FROM fact_bank_transaction t "
        "JOIN dim_customer c USING (customer_key) JOIN dim_transaction_category g USING (category_key) ORDER BY 1"
    ) == [
        ("T1", "C1", "salary"),
        ("T2", "C9", "betting"),
    ]
    assert aws.query(
        "SELECT customer_id, is_inferred FROM dim_customer WHERE customer_key <> -1 ORDER BY 1"
    ) == [
        ("C1", False),
        ("C2", False),
        ("C9", True),
    ]
    assert aws.query("SELECT uri, status, rows_loaded, rows_quarantined FROM etl_file_ledger ORDER BY 1") == [
        (f"s3://{RAW}/incoming/customer_bank_statement/jan.csv", "loaded", 2, 1),
        (f"s3://{RAW}/incoming/loan_applications/day 1+final.csv", "loaded", 2, 0),
    ]

    # the summary went to SNS
    [summary] = aws.summaries()
    assert "2 loaded" in summary["Subject"] or "loaded" in summary["Message"]
    assert "jan.csv" in summary["Message"] and "1 quarantined" in summary["Message"]

    # replaying the same SQS messages changes nothing
    again = lambda_handler(event, CONTEXT)
    assert again["batchItemFailures"] == []
    assert {f["status"] for f in again["report"]["run"]["files"]} == {"skipped_duplicate"}
    assert aws.query("SELECT COUNT(*) FROM fact_loan_application") == [(2,)]
    assert aws.query("SELECT COUNT(*) FROM fact_bank_transaction") == [(2,)]
    assert aws.query("SELECT COUNT(*) FROM etl_file_ledger") == [(2,)]
    assert len(aws.lake_keys()) == 3


# ---- event shapes and delivery semantics (DuckDB: the backend does not matter here) ---------------------------

duckdb_only = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)


def _s3_notification(key_in_event: str, size: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": RAW}, "object": {"key": key_in_event, "size": size}},
            }
        ]
    }


def _eventbridge(key: str, size: int) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2024-01-01T00:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{RAW}"],
        "detail": {"version": "0", "bucket": {"name": RAW}, "object": {"key": key, "size": size}},
    }


@duckdb_only
def test_direct_s3_notification_url_decodes_the_key_and_returns_the_report(aws: Aws) -> None:
    aws.upload("incoming/Loan_Application/q1 dir/a+b c.csv", APPS)
    aws.drain()

    report = lambda_handler(
        _s3_notification("incoming/Loan_Application/q1+dir%2Fa%2Bb+c.csv", len(APPS)), CONTEXT
    )

    [result] = report["run"]["files"]
    assert (result["path"], result["status"], result["rows_loaded"]) == (
        f"s3://{RAW}/incoming/Loan_Application/q1 dir/a+b c.csv",
        "loaded",
        2,
    )
    assert "batchItemFailures" not in report


@duckdb_only
def test_eventbridge_object_created_uses_the_raw_key(aws: Aws) -> None:
    aws.upload("incoming/loan_applications/a+b.csv", APPS)
    aws.drain()

    report = lambda_handler(_eventbridge("incoming/loan_applications/a+b.csv", len(APPS)), CONTEXT)

    assert [(f["path"], f["status"]) for f in report["run"]["files"]] == [
        (f"s3://{RAW}/incoming/loan_applications/a+b.csv", "loaded")
    ]
    assert aws.query("SELECT COUNT(*) FROM fact_loan_application") == [(2,)]


@duckdb_only
def test_keys_outside_the_prefix_are_ignored_not_failed(aws: Aws) -> None:
    aws.upload("elsewhere/x.csv", APPS)

    report = lambda_handler(_s3_notification("elsewhere/x.csv", len(APPS)), CONTEXT)

    assert report["run"] is None
    assert report["ignored"] == [f"ignored s3://{RAW}/elsewhere/x.csv: not a .csv under incoming/<source>/"]


@duckdb_only
def test_rejected_files_are_acknowledged_and_unreadable_messages_retried(aws: Aws) -> None:
    aws.upload("incoming/loan_applications/good.csv", APPS)
    aws.upload("incoming/loan_applications/bad.csv", "application_id,customer_id\nA9,C9\n")
    aws.upload("incoming/unknown_source/x.csv", APPS.replace("A1", "A7"))
    event = aws.drain()
    garbage = dict(event["Records"][-1], messageId="not-json", body="{this is not json")
    event["Records"].append(garbage)

    response = lambda_handler(event, CONTEXT)

    assert response["batchItemFailures"] == [{"itemIdentifier": "not-json"}]
    statuses = {f["path"].rsplit("/", 1)[-1]: f["status"] for f in response["report"]["run"]["files"]}
    assert statuses == {"good.csv": "loaded", "bad.csv": "rejected", "x.csv": "rejected"}
    ledger = dict(aws.query("SELECT file_name, status FROM etl_file_ledger"))
    assert ledger == {"good.csv": "loaded", "bad.csv": "rejected", "x.csv": "rejected"}


def _key_of(record: dict[str, Any]) -> str:
    return unquote_plus(json.loads(record["body"])["Records"][0]["s3"]["object"]["key"])


@duckdb_only
def test_a_failed_file_is_redelivered_alone(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.errors import LakeError
    from etl.load.lake.s3 import S3Lake

    publish = S3Lake.publish

    def flaky(self: S3Lake, local: Path, uri: str, *, table: str, kind: str) -> None:
        if table == "fact_bank_transaction":
            raise LakeError("S3 is having a bad day")
        publish(self, local, uri, table=table, kind=kind)

    monkeypatch.setattr(S3Lake, "publish", flaky)
    aws.upload("incoming/loan_applications/a.csv", APPS)
    aws.upload("incoming/bank_statements/s.csv", STATEMENTS)
    event = aws.drain()
    message_of = {_key_of(r): r["messageId"] for r in event["Records"] if "TestEvent" not in r["body"]}

    response = lambda_handler(event, CONTEXT)

    assert response["batchItemFailures"] == [{"itemIdentifier": message_of["incoming/bank_statements/s.csv"]}]
    assert aws.query("SELECT COUNT(*) FROM fact_loan_application") == [(2,)]
    assert aws.query("SELECT COUNT(*) FROM fact_bank_transaction") == [(0,)]

    monkeypatch.setattr(S3Lake, "publish", publish)  # S3 recovers; SQS redelivers the message
    retry = {
        "Records": [
            r for r in event["Records"] if r["messageId"] == message_of["incoming/bank_statements/s.csv"]
        ]
    }
    assert lambda_handler(retry, CONTEXT)["batchItemFailures"] == []
    assert aws.query("SELECT COUNT(*) FROM fact_bank_transaction") == [(2,)]


@duckdb_only
def test_an_unreachable_warehouse_fails_every_message_or_raises(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.handler import RunFailed

    monkeypatch.setenv("ETL_WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")
    aws.upload("incoming/loan_applications/a.csv", APPS)
    aws.upload("incoming/bank_statements/s.csv", STATEMENTS)
    event = aws.drain()
    uploads = [r["messageId"] for r in event["Records"] if "TestEvent" not in r["body"]]

    response = lambda_handler(event, CONTEXT)

    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(uploads)
    assert "cannot connect to PostgreSQL" in response["report"]["error"]
    with pytest.raises(RunFailed, match="cannot connect to PostgreSQL"):
        lambda_handler(_s3_notification("incoming/loan_applications/a.csv", len(APPS)), CONTEXT)


def test_the_fargate_task_exits_75_when_its_file_failed_and_1_when_it_was_rejected(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from etl.handler import main

    aws.upload("incoming/loan_applications/bad.csv", "application_id,customer_id\nA1,C1\n")
    assert main(["--bucket", RAW, "--key", "incoming/loan_applications/bad.csv"]) == 1  # rejected: final
    aws.upload("incoming/loan_applications/a.csv", APPS)
    monkeypatch.setenv("ETL_WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["--bucket", RAW, "--key", "incoming/loan_applications/a.csv"]) == 75  # worth running again
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["retry"] == [f"s3://{RAW}/incoming/loan_applications/a.csv"]
    assert "cannot connect to PostgreSQL" in out["error"]


@duckdb_only
def test_an_unreadable_message_whose_object_also_failed_is_listed_once(aws: Aws) -> None:
    from etl.handler import handle
    from etl.settings import settings_from_env

    aws.upload("incoming/loan_applications/a.csv", APPS)
    event = aws.drain()
    upload = next(r for r in event["Records"] if "TestEvent" not in r["body"])
    event["Records"].append({**upload, "body": "not json"})  # the same messageId, once unreadable

    class Failing:
        def client(self, name: str) -> Any:
            return boto3.client(name, region_name=REGION)

    settings = settings_from_env().model_copy(
        update={"warehouse_url": "postgresql://nobody@127.0.0.1:1/none"}
    )
    response = handle(event, settings, session=Failing())  # type: ignore[arg-type]
    assert response["batchItemFailures"] == [{"itemIdentifier": upload["messageId"]}]


def per_source(emfs: list[dict[str, Any]]) -> dict[str, float]:
    """FilesLoaded by source from the EMF documents whose only dimensions are service and source, checked
    against what Terraform's freshness alarms ask for (namespace, metric, dimension names and values)."""
    found: dict[str, float] = {}
    for emf in emfs:
        [directive] = emf["_aws"]["CloudWatchMetrics"]
        if directive["Dimensions"] != [["service", "source"]]:
            continue
        assert directive["Namespace"] == "CreditRiskETLTest"
        assert directive["Metrics"] == [{"Name": "FilesLoaded", "Unit": "Count"}]
        assert emf["service"] == "credit-risk-etl"
        [found[emf["source"]]] = emf["FilesLoaded"]
    return found


def _run_one_statement_file(aws: Aws) -> None:
    aws.upload("incoming/bank_statements/s.csv", STATEMENTS)
    lambda_handler(aws.drain(), CONTEXT)


@duckdb_only
def test_metrics_are_printed_as_cloudwatch_emf_and_the_report_logged(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    logged: list[logging.LogRecord] = []
    keep = logging.Handler()
    keep.emit = logged.append  # type: ignore[method-assign]
    logging.getLogger("credit-risk-etl").addHandler(keep)
    try:
        _run_one_statement_file(aws)
    finally:
        logging.getLogger("credit-risk-etl").removeHandler(keep)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emfs = [line for line in lines if "_aws" in line]
    [emf] = [e for e in emfs if e["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]]
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "CreditRiskETLTest"
    assert emf["service"] == "credit-risk-etl"
    # FilesLoaded per source, as the freshness alarms read it: {service, source}, every canonical source
    assert per_source(emfs) == {"loan_applications": 0.0, "bank_statements": 1.0, "repayments": 0.0}
    assert {m["Name"] for m in directive["Metrics"]} >= {
        "FilesLoaded",
        "FilesRejected",
        "RowsLoaded",
        "RowsQuarantined",
        "DataTestFailures",
    }
    names = ("FilesLoaded", "FilesSkipped", "FilesRejected", "FilesFailed", "FilesHandedOff", "RowsLoaded")
    assert [emf[name] for name in names] == [[1.0], [0.0], [0.0], [0.0], [0.0], [2.0]]
    assert [emf[name] for name in ("RowsQuarantined", "DataTestFailures")] == [[1.0], [0.0]]

    [report] = [r for r in logged if r.getMessage() == "run report"]
    assert report.run_report["run"]["files"][0]["rows_quarantined"] == 1  # type: ignore[attr-defined]


@duckdb_only
def test_module_entry_loads_one_object_as_the_fargate_task_does(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    from etl.handler import main

    aws.upload("incoming/loan_applications/big one.csv", APPS)

    code = main(["--bucket", RAW, "--key", "incoming/loan_applications/big one.csv"])

    assert code == 0
    printed = capsys.readouterr().out.strip().splitlines()
    out = json.loads(printed[-1])
    emfs = [json.loads(line) for line in printed if line.startswith('{"_aws"')]
    assert per_source(emfs) == {"loan_applications": 1.0, "bank_statements": 0.0, "repayments": 0.0}
    assert out["run"]["files"][0]["status"] == "loaded"
    assert aws.query("SELECT COUNT(*) FROM fact_loan_application") == [(2,)]


def test_module_entry_with_a_bad_setting_prints_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from etl.handler import main

    monkeypatch.setenv("ETL_WAREHOUSE_URL", "mysql://u:secret@db/x")
    assert main(["--bucket", RAW, "--key", "incoming/loan_applications/a.csv"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "error: invalid setting warehouse_url: unsupported warehouse URL scheme 'mysql': "
        "use duckdb:///, postgresql:// or redshift://\n"
    )
    assert "secret" not in captured.err and captured.out == ""


@duckdb_only
def test_a_run_that_fails_after_its_files_committed_reports_them_and_redelivers_nothing(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.errors import WarehouseError

    def lost(*_: Any, **__: Any) -> Any:
        raise WarehouseError("running the data tests failed: server closed the connection", retryable=True)

    monkeypatch.setattr("etl.pipeline.run_data_tests", lost)
    aws.upload("incoming/loan_applications/a.csv", APPS)

    response = lambda_handler(aws.drain(), CONTEXT)

    # the file is committed: acknowledged, not redelivered (it used to be, as "failed before its files were
    # processed", with no report and no summary)
    assert response["batchItemFailures"] == []
    assert aws.query("SELECT COUNT(*) FROM fact_loan_application") == [(2,)]
    assert [f["status"] for f in response["report"]["run"]["files"]] == ["loaded"]
    assert response["report"]["error"] == (
        "run failed after 1 of 1 file(s) were processed: running the data tests failed: server closed the connection"
    )
    [summary] = aws.summaries()
    assert ": run error, 1 loaded, 0 rejected, 0 quarantined" in summary["Subject"]  # first: not cut off
    assert "Result: FAILED" in summary["Message"] and "Finished: ?" in summary["Message"]
    assert (
        "Run error: run failed after 1 of 1 file(s) were processed: running the data tests failed"
        in (summary["Message"])
    )


def test_the_log_service_name_comes_from_powertools_service_name() -> None:
    code = "import etl.handler as h; print(h.logger.service)"
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": "my-etl"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "my-etl"
    env.pop("POWERTOOLS_SERVICE_NAME")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "credit-risk-etl"


def _fargate_cluster(monkeypatch: pytest.MonkeyPatch, container: str = "etl") -> Any:
    """A moto ECS cluster and task definition, and the settings that point the handler at them."""
    ecs, ec2 = boto3.client("ecs", region_name=REGION), boto3.client("ec2", region_name=REGION)
    ecs.create_cluster(clusterName="etl")
    ecs.register_task_definition(
        family="etl-large-files",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="4096",
        containerDefinitions=[
            {
                "name": container,
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1",
                "cpu": 1024,
                "memory": 4096,
            }
        ],
    )
    for name, value in {
        "ETL_FARGATE_CLUSTER": "etl",
        "ETL_FARGATE_TASK_DEFINITION": "etl-large-files",
        "ETL_FARGATE_SUBNETS": ec2.describe_subnets()["Subnets"][0]["SubnetId"],
        "ETL_FARGATE_SECURITY_GROUPS": "sg-1",
    }.items():
        monkeypatch.setenv(name, value)
    return ecs


@duckdb_only
def test_large_objects_are_handed_to_fargate_with_the_same_image(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.aws.fargate import run_task_request
    from etl.settings import settings_from_env

    ecs = _fargate_cluster(monkeypatch, container="loader")
    subnet = os.environ["ETL_FARGATE_SUBNETS"]
    monkeypatch.setenv("ETL_FARGATE_MIN_BYTES", "300")
    monkeypatch.setenv("ETL_FARGATE_SUBNETS", f"{subnet}, ")
    monkeypatch.setenv("ETL_FARGATE_SECURITY_GROUPS", "sg-1,sg-2")
    monkeypatch.setenv("ETL_FARGATE_CONTAINER", "loader")
    ecs_calls: list[str] = []
    make_api_call = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: Any) -> Any:
        if client.meta.service_model.service_name == "ecs":
            ecs_calls.append(operation)
        return make_api_call(client, operation, params)

    big = APPS * 3
    aws.upload("incoming/loan_applications/big.csv", big)
    aws.upload(
        "incoming/loan_applications/small.csv", APP_HEADER + "\nA5,C5,1.00,2023-01-01,700,Employed,1\n"
    )
    event = aws.drain()

    with monkeypatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        response = lambda_handler(event, CONTEXT)

    assert response["batchItemFailures"] == []
    assert ecs_calls == ["RunTask"]  # what the function's role allows (DescribeTaskDefinition is not)
    [handed] = response["report"]["handed_off"]
    assert (handed["uri"], handed["size"]) == (f"s3://{RAW}/incoming/loan_applications/big.csv", len(big))
    [task] = ecs.describe_tasks(cluster="etl", tasks=[handed["task_arn"]])["tasks"]
    [override] = task["overrides"]["containerOverrides"]
    assert override["name"] == "loader"
    assert override["command"][:7] == [
        "python",
        "-m",
        "etl.handler",
        "--bucket",
        RAW,
        "--key",
        "incoming/loan_applications/big.csv",
    ]
    assert [f["path"].rsplit("/", 1)[-1] for f in response["report"]["run"]["files"]] == ["small.csv"]

    ref = ObjectRef(RAW, "incoming/loan_applications/big.csv", len(big), "abc", "v1", "m1")
    request = run_task_request(ref, settings_from_env(), "etl")
    assert request == {
        "cluster": "etl",
        "taskDefinition": "etl-large-files",
        "launchType": "FARGATE",
        "count": 1,
        "startedBy": "credit-risk-etl",
        "clientToken": request["clientToken"],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": [subnet],
                "securityGroups": ["sg-1", "sg-2"],
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": {
            "containerOverrides": [
                {
                    "name": "etl",
                    "command": [
                        "python",
                        "-m",
                        "etl.handler",
                        "--bucket",
                        RAW,
                        "--key",
                        "incoming/loan_applications/big.csv",
                        "--version-id",
                        "v1",
                        "--etag",
                        "abc",
                        "--attempt",
                        "1",
                    ],
                }
            ]
        },
    }
    expected = hashlib.sha256(f"s3://{RAW}/incoming/loan_applications/big.csv|v1|abc|1".encode()).hexdigest()
    assert request["clientToken"] == expected[:64]
    assert run_task_request(ref, settings_from_env(), "etl")["clientToken"] == request["clientToken"]
    for other in (dataclasses.replace(ref, version_id="v2"), dataclasses.replace(ref, etag="abd")):
        assert run_task_request(other, settings_from_env(), "etl")["clientToken"] != request["clientToken"]
    # a follow-up run is a new attempt: ECS must not hand back the stopped task for the same token
    assert run_task_request(ref, settings_from_env(), "etl", 2)["clientToken"] != request["clientToken"]


@pytest.mark.parametrize("warehouse_url", ["postgres"], indirect=True)
def test_messages_handled_by_concurrent_invocations_leave_no_duplicates(aws: Aws) -> None:
    import threading

    aws.upload("incoming/loan_applications/a.csv", APPS)
    aws.upload("incoming/loan_applications/a-again.csv", APPS)  # same bytes, other name
    aws.upload("incoming/bank_statements/s.csv", STATEMENTS)
    records = [r for r in aws.drain()["Records"] if "TestEvent" not in r["body"]]
    responses: list[dict[str, Any]] = []
    start = threading.Barrier(len(records))

    def invoke(record: dict[str, Any]) -> None:
        start.wait(timeout=30)
        responses.append(lambda_handler({"Records": [record]}, CONTEXT))

    threads = [threading.Thread(target=invoke, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert [r["batchItemFailures"] for r in responses] == [[], [], []]
    statuses = sorted(f["status"] for r in responses for f in r["report"]["run"]["files"])
    assert statuses == ["loaded", "loaded", "skipped_duplicate"]
    assert aws.query("SELECT COUNT(*), COUNT(DISTINCT application_id) FROM fact_loan_application") == [(2, 2)]
    assert aws.query("SELECT COUNT(*) FROM fact_bank_transaction") == [(2,)]
    assert aws.query("SELECT COUNT(*), COUNT(DISTINCT file_id) FROM etl_file_ledger") == [(2, 2)]


# ---- a Fargate task's end comes back through the queue: run again, or give up into the DLQ ---------------


@pytest.fixture
def fargate(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Any:
    return _fargate_cluster(monkeypatch)


def _stopped(attempt: int, exit_code: int | None, receive_count: int = 1) -> dict[str, Any]:
    from etl.aws.events import task_command

    event = json.loads((Path(__file__).parent.parent / "fixtures/events/ecs_task_stopped.json").read_text())
    ref = ObjectRef(RAW, "incoming/bank_statements/big.csv", None, '"e1"', "v1", None)
    event["detail"]["overrides"]["containerOverrides"][0]["command"] = task_command(ref, attempt)
    if exit_code is None:
        del event["detail"]["containers"][0]["exitCode"]
        event["detail"]["stoppedReason"] = "ResourceInitializationError: unable to pull secrets"
    else:
        event["detail"]["containers"][0]["exitCode"] = exit_code
    record = {
        "messageId": "stop-1",
        "eventSource": "aws:sqs",
        "body": json.dumps(event),
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
    }
    return {"Records": [record]}


def _started_commands(ecs: Any) -> list[list[str]]:
    arns = ecs.list_tasks(cluster="etl")["taskArns"]
    tasks = ecs.describe_tasks(cluster="etl", tasks=arns)["tasks"] if arns else []
    return [t["overrides"]["containerOverrides"][0]["command"] for t in tasks]


@duckdb_only
@pytest.mark.parametrize("exit_code", [75, 137, None])  # retryable, killed (out of memory), never ran
def test_a_fargate_task_that_did_not_finish_is_run_again_as_its_next_attempt(
    aws: Aws, fargate: Any, exit_code: int | None
) -> None:
    response = lambda_handler(_stopped(1, exit_code), CONTEXT)

    assert response["batchItemFailures"] == []
    [again] = _started_commands(fargate)
    assert again[again.index("--key") + 1] == "incoming/bank_statements/big.csv"
    assert again[again.index("--version-id") + 1] == "v1" and again[-2:] == ["--attempt", "2"]
    [seen] = response["report"]["stopped_tasks"]
    assert (seen["action"], seen["attempt"], seen["exit_code"]) == ("run again", 1, exit_code)
    assert response["report"]["handed_off"][0]["attempt"] == 2


@duckdb_only
@pytest.mark.parametrize("exit_code", [0, 1, 3])
def test_a_fargate_task_that_finished_is_left_alone(aws: Aws, fargate: Any, exit_code: int) -> None:
    response = lambda_handler(_stopped(1, exit_code), CONTEXT)

    assert response["batchItemFailures"] == []
    assert _started_commands(fargate) == []
    assert [t["action"] for t in response["report"]["stopped_tasks"]] == ["none"]


@duckdb_only
def test_after_the_last_attempt_the_stop_event_fails_into_the_dead_letter_queue(
    aws: Aws, fargate: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = lambda_handler(_stopped(3, 75), CONTEXT)  # ETL_FARGATE_MAX_ATTEMPTS: 3 by default

    assert response["batchItemFailures"] == [{"itemIdentifier": "stop-1"}]
    assert _started_commands(fargate) == []
    assert [t["action"] for t in response["report"]["stopped_tasks"]] == ["given up"]
    assert "after 3 run(s); giving up, its message goes to the dead-letter queue" in caplog.text


@duckdb_only
def test_the_fargate_threshold_is_at_least_min_bytes_and_a_failed_hand_off_is_redelivered(
    aws: Aws, fargate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ETL_FARGATE_MIN_BYTES", str(len(APPS)))
    aws.upload("incoming/loan_applications/exact.csv", APPS)  # exactly the threshold: Fargate
    smaller = APP_HEADER + "\nA9,C9,1.00,2023-01-01,700,Employed,1\n"
    assert len(smaller) < len(APPS)
    aws.upload("incoming/loan_applications/smaller.csv", smaller)  # below it: loaded here
    event = aws.drain()

    response = lambda_handler(event, CONTEXT)

    assert [h["uri"].rsplit("/", 1)[-1] for h in response["report"]["handed_off"]] == ["exact.csv"]
    assert [f["path"].rsplit("/", 1)[-1] for f in response["report"]["run"]["files"]] == ["smaller.csv"]

    # ECS refuses the task (no capacity): the object's message is delivered again
    def refused(self: Any, operation: str, params: Any) -> Any:
        if operation == "RunTask":
            return {"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:FARGATE"}]}
        return make_api_call(self, operation, params)

    make_api_call = botocore.client.BaseClient._make_api_call
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refused)
    aws.upload("incoming/loan_applications/exact-again.csv", APPS.replace("A1,", "A7,"))
    again = aws.drain()
    [record] = [r for r in again["Records"] if "exact-again" in r["body"]]
    response = lambda_handler(again, CONTEXT)
    assert response["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]
    assert response["report"]["handed_off"] == []
    assert response["report"]["retry"] == [f"s3://{RAW}/incoming/loan_applications/exact-again.csv"]


@duckdb_only
def test_a_task_stopped_by_a_bad_setting_goes_to_the_dead_letter_queue_without_another_run(
    aws: Aws, fargate: Any
) -> None:
    response = lambda_handler(_stopped(1, 2), CONTEXT)

    assert response["batchItemFailures"] == [{"itemIdentifier": "stop-1"}]
    assert _started_commands(fargate) == []
    assert [t["action"] for t in response["report"]["stopped_tasks"]] == ["given up"]


@duckdb_only
def test_a_given_up_task_is_counted_once_however_often_its_message_comes_back(
    aws: Aws, fargate: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for delivery in (1, 2, 3):
        response = lambda_handler(_stopped(3, 75, receive_count=delivery), CONTEXT)
        assert response["batchItemFailures"] == [{"itemIdentifier": "stop-1"}]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    counted = [line["FargateTasksGivenUp"] for line in lines if "_aws" in line and "source" not in line]
    assert counted == [[1.0], [0.0], [0.0]]


def test_the_fargate_task_exits_2_when_the_warehouse_setting_is_unusable(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from etl.handler import main

    aws.upload("incoming/loan_applications/a.csv", APPS)
    monkeypatch.setenv("ETL_WAREHOUSE_URL", "redshift://h:5439/db")  # no iam_role, no staging
    assert main(["--bucket", RAW, "--key", "incoming/loan_applications/a.csv"]) == 2
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "iam_role" in out["error"]
