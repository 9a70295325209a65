"""Run summaries: formatting, SNS through moto, Slack through a fake and through a real local HTTP server."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etl.notify import (
    SNS_MESSAGE_MAX_BYTES,
    NotificationError,
    format_summary,
    notify_run,
    post_webhook,
    publish_summary,
    sns_message,
)
from etl.settings import Settings

REPORT: dict[str, Any] = {
    "run_id": "1a2b3c",
    "started_at": "2024-06-01T12:00:00+00:00",
    "finished_at": "2024-06-01T12:03:25.500000+00:00",
    "exit_code": 1,
    "files": [
        {
            "path": "data/loan_applications/apps.csv",
            "source": "loan_applications",
            "file_id": "3f2a",
            "status": "loaded",
            "rows_in": 1000,
            "rows_loaded": 990,
            "rows_quarantined": 10,
            "error": None,
        },
        {
            "path": "data/bank_statements/jan.csv",
            "source": "bank_statements",
            "file_id": "77b1",
            "status": "loaded",
            "rows_in": 500,
            "rows_loaded": 498,
            "rows_quarantined": 2,
            "error": None,
        },
        {
            "path": "data/repayments/r.csv",
            "source": "repayments",
            "file_id": "c0de",
            "status": "loaded",
            "rows_in": 20,
            "rows_loaded": 20,
            "rows_quarantined": 0,
            "error": None,
        },
        {
            "path": "data/bank_statements/feb.csv",
            "source": "bank_statements",
            "file_id": None,
            "status": "rejected",
            "rows_in": 0,
            "rows_loaded": 0,
            "rows_quarantined": 0,
            "error": "missing required column: balance\nfound: transaction_id, narration",
        },
    ],
    "data_tests": [
        {"name": "unique_fact_loan_application", "severity": "error", "status": "pass", "failures": 0},
        {
            "name": "relationships_fact_repayment_application",
            "severity": "warn",
            "status": "fail",
            "failures": 3,
        },
    ],
}

SUBJECT = "[credit-risk-etl] run 1a2b3c: 3 loaded, 1 rejected, 12 quarantined, 1 failed test"
BODY = """\
credit-risk-etl run 1a2b3c
Result: FAILED, exit code 1 (at least one file was rejected)
Started:  2024-06-01T12:00:00+00:00
Finished: 2024-06-01T12:03:25.500000+00:00 (205.5 s)

Files: 4 (3 loaded, 0 skipped as duplicates, 1 rejected)
Rows: 1520 in, 1508 loaded, 12 quarantined
- loaded: data/loan_applications/apps.csv
    source loan_applications, file 3f2a, rows in 1000, loaded 990, quarantined 10
- loaded: data/bank_statements/jan.csv
    source bank_statements, file 77b1, rows in 500, loaded 498, quarantined 2
- loaded: data/repayments/r.csv
    source repayments, file c0de, rows in 20, loaded 20, quarantined 0
- rejected: data/bank_statements/feb.csv
    source bank_statements, file -, rows in 0, loaded 0, quarantined 0
    error: missing required column: balance
           found: transaction_id, narration

Data tests: 2 run, 1 failed (0 error, 1 warn)
- FAIL [warn] relationships_fact_repayment_application: 3 failures
"""

SECRET_PATH = "/services/T000/B000/XXXXsecretXXXX"


# --- format_summary ------------------------------------------------------------------------------------------


def test_format_summary() -> None:
    assert format_summary(REPORT) == (SUBJECT, BODY)


def test_format_summary_of_a_clean_run() -> None:
    report = dict(
        REPORT,
        exit_code=0,
        files=[REPORT["files"][0], dict(REPORT["files"][2], status="skipped_duplicate", rows_loaded=0)],
        data_tests=[REPORT["data_tests"][0]],
    )
    subject, body = format_summary(report)
    assert (
        subject
        == "[credit-risk-etl] run 1a2b3c: 1 loaded, 1 skipped, 0 rejected, 10 quarantined, 0 failed tests"
    )
    assert "Result: OK, exit code 0 (every file loaded or skipped)\n" in body
    assert "- skipped_duplicate: data/repayments/r.csv\n" in body
    assert body.endswith("Data tests: 1 run, all passed\n")


def test_subject_is_one_short_line() -> None:
    huge = dict(REPORT["files"][0], rows_quarantined=10**12)
    report = dict(REPORT, run_id="run\nwith-a-very-long-identifier-" + "x" * 80, files=[huge] * 5000)
    subject, _ = format_summary(report)
    assert len(subject) <= 99
    assert "\n" not in subject
    assert subject.startswith("[credit-risk-etl] run run with-a-very-long-id~: 5000 loaded")


# --- SNS through moto ----------------------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        yield


def _topic_with_queue() -> tuple[str, Any, str]:
    sns = boto3.client("sns", region_name="eu-west-1")
    sqs = boto3.client("sqs", region_name="eu-west-1")
    topic_arn = sns.create_topic(Name="etl-runs")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="etl-runs-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, sqs, queue_url


def _received(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    return [json.loads(m["Body"]) for m in messages]


CHATBOT = {
    "version": "1.0",
    "source": "custom",
    "id": "1a2b3c",
    "content": {"textType": "client-markdown", "title": SUBJECT, "description": BODY},
    "metadata": {"summary": SUBJECT, "eventType": "RunSummary"},
}


def test_sns_publish_is_a_chatbot_notification_with_the_plain_text_for_email(aws: None) -> None:
    # AWS Chatbot (Slack) posts only its custom-notification format; its subscription, like a queue's,
    # receives the "default" message of a MessageStructure="json" publish, e-mail its "email" one.
    topic_arn, sqs, queue_url = _topic_with_queue()
    client = boto3.client("sns", region_name="eu-west-1")
    published: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.sns.Publish", lambda params, **_: published.append(params)
    )

    sent = publish_summary(REPORT, topic_arn=topic_arn, slack_webhook_url=None, sns_client=client)

    assert sent == ["sns"]
    [params] = published
    assert (params["MessageStructure"], params["Subject"]) == ("json", SUBJECT)
    message = json.loads(params["Message"])
    assert set(message) == {"default", "email"}
    assert json.loads(message["default"]) == CHATBOT
    assert message["email"] == BODY
    (envelope,) = _received(sqs, queue_url)
    assert envelope["TopicArn"] == topic_arn
    assert envelope["Subject"] == SUBJECT
    assert json.loads(envelope["Message"]) == CHATBOT
    assert envelope["MessageAttributes"] == {
        "exit_code": {"Type": "Number", "Value": "1"},
        "status": {"Type": "String", "Value": "failed"},
    }


def test_a_long_summary_is_cut_to_fit_one_sns_message() -> None:
    files = [
        dict(REPORT["files"][0], path=f"s3://raw/incoming/loan_applications/é-{i:05}.csv")
        for i in range(3000)
    ]
    subject, body = format_summary(dict(REPORT, files=files))
    assert len(body.encode()) > SNS_MESSAGE_MAX_BYTES

    message = sns_message("1a2b3c", subject, body)

    assert len(message.encode()) <= SNS_MESSAGE_MAX_BYTES
    parsed = json.loads(message)
    notification = json.loads(parsed["default"])
    assert notification["content"]["description"] == parsed["email"]
    assert parsed["email"].endswith("\n[truncated]\n")
    assert body.startswith(parsed["email"].removesuffix("\n[truncated]\n"))
    assert len(parsed["email"]) > 50_000  # cut to fit, not emptied


def test_sns_client_is_injectable(aws: None) -> None:
    topic_arn, sqs, queue_url = _topic_with_queue()
    client = boto3.client("sns", region_name="eu-west-1")

    report = dict(REPORT, exit_code=0)

    assert publish_summary(report, topic_arn=topic_arn, slack_webhook_url=None, sns_client=client) == ["sns"]
    (envelope,) = _received(sqs, queue_url)
    assert envelope["MessageAttributes"]["status"] == {"Type": "String", "Value": "succeeded"}


def test_sns_failure_is_a_warning(aws: None, caplog: pytest.LogCaptureFixture) -> None:
    missing = "arn:aws:sns:eu-west-1:123456789012:no-such-topic"
    posted: list[str] = []

    def fake_post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        posted.append(url)
        return 200

    with caplog.at_level(logging.WARNING, logger="etl.notify"):
        sent = publish_summary(
            REPORT,
            topic_arn=missing,
            slack_webhook_url="https://hooks.example" + SECRET_PATH,
            http_post=fake_post,
        )

    assert sent == ["slack"]
    assert posted == ["https://hooks.example" + SECRET_PATH]
    assert "run summary not published to SNS topic " + missing in caplog.text


# --- Slack -------------------------------------------------------------------------------------------------


def test_slack_payload_through_an_injected_poster() -> None:
    calls: list[tuple[str, bytes, Mapping[str, str]]] = []

    def fake_post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        calls.append((url, body, headers))
        return 200

    url = "https://hooks.slack.invalid" + SECRET_PATH
    assert publish_summary(REPORT, topic_arn=None, slack_webhook_url=url, http_post=fake_post) == ["slack"]

    ((called_url, body, headers),) = calls
    assert called_url == url
    assert headers == {"Content-Type": "application/json; charset=utf-8"}
    assert json.loads(body) == {"text": f"*{SUBJECT}*\n```\n{BODY}```"}
    assert SECRET_PATH not in body.decode()


def test_slack_text_escapes_angle_brackets() -> None:
    captured: list[bytes] = []

    def fake_post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        captured.append(body)
        return 204

    report = dict(REPORT, files=[dict(REPORT["files"][3], error="bad header <!channel> & more")])
    publish_summary(report, topic_arn=None, slack_webhook_url="https://x.invalid/h", http_post=fake_post)
    text = json.loads(captured[0])["text"]
    assert "bad header &lt;!channel&gt; &amp; more" in text
    assert "<!channel>" not in text


class _Recorder(BaseHTTPRequestHandler):
    status = 200
    requests: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.requests.append((self.path, dict(self.headers), self.rfile.read(length)))
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"ok" if self.status == 200 else b"no")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_server() -> Iterator[tuple[type[_Recorder], int]]:
    handler = type("Handler", (_Recorder,), {"requests": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_slack_post_to_a_real_local_server(webhook_server: tuple[type[_Recorder], int]) -> None:
    handler, port = webhook_server

    sent = publish_summary(REPORT, topic_arn=None, slack_webhook_url=f"http://127.0.0.1:{port}{SECRET_PATH}")

    assert sent == ["slack"]
    ((path, headers, body),) = handler.requests
    assert path == SECRET_PATH
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == {"text": f"*{SUBJECT}*\n```\n{BODY}```"}


def test_failing_webhook_keeps_sns_and_logs_without_the_url(
    aws: None, webhook_server: tuple[type[_Recorder], int], caplog: pytest.LogCaptureFixture
) -> None:
    handler, port = webhook_server
    handler.status = 500
    topic_arn, sqs, queue_url = _topic_with_queue()
    url = f"http://127.0.0.1:{port}{SECRET_PATH}"

    with caplog.at_level(logging.WARNING, logger="etl.notify"):
        sent = publish_summary(REPORT, topic_arn=topic_arn, slack_webhook_url=url)

    assert sent == ["sns"]
    assert len(handler.requests) == 1
    assert len(_received(sqs, queue_url)) == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "run summary not posted to the Slack webhook: NotificationError: webhook answered HTTP 500"
    ]
    assert "secret" not in caplog.text
    assert str(port) not in caplog.text


def test_poster_errors_mentioning_the_url_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    url = "https://hooks.slack.invalid" + SECRET_PATH

    def leaky_post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        raise OSError(f"cannot reach {url} (path {SECRET_PATH})")

    with caplog.at_level(logging.WARNING, logger="etl.notify"):
        assert publish_summary(REPORT, topic_arn=None, slack_webhook_url=url, http_post=leaky_post) == []
    assert "secret" not in caplog.text
    assert "cannot reach <redacted> (path <redacted>)" in caplog.text


def test_non_2xx_from_an_injected_poster_is_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="etl.notify"):
        sent = publish_summary(
            REPORT, topic_arn=None, slack_webhook_url="https://x.invalid/h", http_post=lambda u, b, h: 302
        )
    assert sent == []
    assert "webhook answered HTTP 302" in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.invalid/services/T/B/s3cr3t",  # plain http off the machine
        "http://192.0.2.10/s3cr3t",
        "http://localhost/s3cr3t",  # a name, not a loopback address
        "ftp://127.0.0.1/s3cr3t",
        "file:///etc/s3cr3t",
        "hooks.slack.invalid/services/s3cr3t",
    ],
)
def test_post_webhook_refuses_anything_but_https_or_loopback_http(url: str) -> None:
    # Refused before any connection is attempted, so none of these addresses is ever contacted.
    with pytest.raises(NotificationError) as info:
        post_webhook(url, b"{}", {})
    assert "s3cr3t" not in str(info.value)


def test_unreachable_local_webhook_is_a_notification_error() -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NotificationError, match="webhook unreachable"):
        post_webhook(f"http://127.0.0.1:{port}/hook", b"{}", {})


def test_the_webhook_is_a_setting_of_its_own_and_no_secret_is_read(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ETL_SLACK_WEBHOOK_SECRET_ARN is gone (the AWS deployment posts to Slack through Chatbot): a value
    # left in an environment is ignored, and nothing calls Secrets Manager.
    monkeypatch.setenv("ETL_SLACK_WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:slack")
    settings = Settings()
    assert "slack_webhook_secret_arn" not in Settings.model_fields
    calls: list[str] = []
    session = boto3.Session(region_name="eu-west-1")
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    assert notify_run(REPORT, settings, session=session) == []
    posted: list[str] = []
    local = Settings(slack_webhook_url="https://hooks.example" + SECRET_PATH)
    monkeypatch.setattr(
        "etl.notify.post_webhook",
        lambda url, body, headers: posted.append(url) or 200,  # type: ignore[func-returns-value]
    )
    assert notify_run(REPORT, local, session=session) == ["slack"]
    assert posted == ["https://hooks.example" + SECRET_PATH]
    assert calls == []


def test_nothing_configured_sends_nothing() -> None:
    assert publish_summary(REPORT, topic_arn=None, slack_webhook_url=None) == []
    assert publish_summary(REPORT, topic_arn="", slack_webhook_url="") == []


def test_malformed_report_is_a_warning_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="etl.notify"):
        sent = publish_summary({"files": [{}]}, topic_arn=None, slack_webhook_url="https://x.invalid/h")
    assert sent == []
    assert "could not be formatted" in caplog.text


def test_a_loaded_files_changes_are_in_the_summary() -> None:
    report = {
        "run_id": "r1",
        "exit_code": 0,
        "files": [
            {
                "path": "data/bank_statements/feb.csv",
                "source": "bank_statements",
                "status": "loaded",
                "file_id": "f1",
                "rows_in": 7,
                "rows_loaded": 5,
                "rows_quarantined": 2,
                "rows_inserted": 4,
                "rows_updated": 0,
                "rows_unchanged": 1,
                "rows_removed": 0,
                "rows_conflicting": 2,
            }
        ],
        "data_tests": [],
    }
    _, body = format_summary(report)
    assert "    inserted 4, updated 0, unchanged 1, removed 0, conflicting 2\n" in body
