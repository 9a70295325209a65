"""The Lambda handler end to end on moto: S3 upload -> SQS notification -> handler -> S3 lake + Glue + warehouse.

The warehouse is real: a DuckDB file, or a database on the PostgreSQL server the test session starts.
"""

from __future__ import annotations

import io
import json
import types
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

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
        answer = self.sqs.receive_message(QueueUrl=self.summary_queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


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
    for name in ("AWS_PROFILE", "ETL_SLACK_WEBHOOK_URL", "ETL_SLACK_WEBHOOK_SECRET_ARN"):
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
    assert all(t["status"] == "pass" for t in run["data_tests"])

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
        "SELECT application_id, customer_id, loan_amount FROM fact_loan_application ORDER BY 1"
    ) == [("A1", "C1", Decimal("100.10")), ("A2", "C2", Decimal("200.20"))]
    assert aws.query(
        "SELECT transaction_id, customer_id, category FROM fact_bank_transaction ORDER BY 1"
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
