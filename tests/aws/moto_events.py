"""Produce real S3 -> SQS / SNS / EventBridge events with moto, as a Lambda would receive them.

`python -m tests.aws.moto_events` rewrites the saved fixtures in tests/fixtures/events/; the tests also run
the same flow live, so a moto upgrade that changes the shape shows up as a failing test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

REGION = "us-east-1"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"

# Key -> content. Spaces, plus signs, a literal "%2F", unicode, an alias folder, an upper-case extension and
# a console-style "folder" object.
UPLOADS: dict[str, bytes] = {
    "incoming/loan_applications/a b+c.csv": b"application_id,customer_id\nA1,C1\n",
    "incoming/bank_statements/dir%2Fx.csv": b"transaction_id\nT1\n",
    "incoming/repayments/\u00e9ch\u00e9ancier 2024.csv": "repayment_id\nR\u00e9\n".encode(),
    "incoming/customer_bank_statement/Q1 (final).CSV": b"transaction_id\r\nT2\r\n",
    "incoming/loan_applications/": b"",
}
DELETED_KEY = "incoming/loan_applications/a b+c.csv"


@contextmanager
def _fake_aws() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in _FAKE_ENV}
    os.environ.update(_FAKE_ENV)
    try:
        with mock_aws():
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


def _lambda_sqs_event(sqs: Any, queue_url: str, queue_arn: str) -> dict[str, Any]:
    """Drain a queue and shape the messages the way Lambda's SQS event source mapping delivers them."""
    records: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            records.append(
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": message.get("MessageAttributes", {}),
                    "md5OfBody": message["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn,
                    "awsRegion": REGION,
                }
            )
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return {"Records": records}


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _upload_all(s3: Any, bucket: str) -> None:
    for key, body in UPLOADS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def _prefix_filter() -> dict[str, Any]:
    return {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}}


def sqs_s3_events() -> dict[str, Any]:
    """S3 -> SQS: the TestEvent, one message per upload, and one ObjectRemoved message."""
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    s3.create_bucket(Bucket="credit-risk-raw")
    url, arn = _queue(sqs, "etl-incoming")
    s3.put_bucket_notification_configuration(
        Bucket="credit-risk-raw",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "created",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": _prefix_filter(),
                },
                {
                    "Id": "removed",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectRemoved:*"],
                    "Filter": _prefix_filter(),
                },
            ]
        },
    )
    _upload_all(s3, "credit-risk-raw")
    s3.put_object(Bucket="credit-risk-raw", Key="elsewhere/ignored.csv", Body=b"x\n")  # outside the filter
    s3.delete_object(Bucket="credit-risk-raw", Key=DELETED_KEY)
    return _lambda_sqs_event(sqs, url, arn)


def sqs_sns_s3_events() -> dict[str, Any]:
    """S3 -> SNS -> SQS (no raw delivery): every body is an SNS envelope around the S3 notification."""
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    s3.create_bucket(Bucket="credit-risk-raw-sns")
    topic_arn = sns.create_topic(Name="raw-uploads")["TopicArn"]
    url, arn = _queue(sqs, "etl-incoming-sns")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    s3.put_bucket_notification_configuration(
        Bucket="credit-risk-raw-sns",
        NotificationConfiguration={
            "TopicConfigurations": [
                {"TopicArn": topic_arn, "Events": ["s3:ObjectCreated:*"], "Filter": _prefix_filter()}
            ]
        },
    )
    s3.put_object(Bucket="credit-risk-raw-sns", Key="incoming/loan_applications/a b+c.csv", Body=b"id\n1\n")
    return _lambda_sqs_event(sqs, url, arn)


def eventbridge_events() -> list[dict[str, Any]]:
    """S3 -> EventBridge -> SQS; returns the EventBridge events themselves (what a Lambda target receives).

    Moto sends two per upload: "Object Created" and "Object Tags Added" (PutObject counts as tagging)."""
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    s3.create_bucket(Bucket="credit-risk-raw-eb")
    url, arn = _queue(sqs, "etl-incoming-eb")
    events.put_rule(Name="raw-object-created", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="raw-object-created", Targets=[{"Id": "queue", "Arn": arn}])
    s3.put_bucket_notification_configuration(
        Bucket="credit-risk-raw-eb", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_object(Bucket="credit-risk-raw-eb", Key="incoming/loan_applications/a b+c.csv", Body=b"id\n1\n")
    batch = _lambda_sqs_event(sqs, url, arn)
    return [json.loads(record["body"]) for record in batch["Records"]]


def generate() -> dict[str, Any]:
    """All moto-made fixtures by file name, each from a fresh mock account."""
    fixtures: dict[str, Any] = {}
    with _fake_aws():
        fixtures["sqs_s3_notifications.json"] = sqs_s3_events()
    with _fake_aws():
        fixtures["sqs_sns_s3_notifications.json"] = sqs_sns_s3_events()
    with _fake_aws():
        created, tagged = eventbridge_events()
        fixtures["eventbridge_object_created_moto.json"] = created
        fixtures["eventbridge_object_tags_added_moto.json"] = tagged
    return fixtures


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, event in generate().items():
        text = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
        (FIXTURES / name).write_text(text, encoding="utf-8")
        print(f"wrote {FIXTURES / name}")


if __name__ == "__main__":
    main()
