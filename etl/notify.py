"""Publish a run summary to SNS and/or a Slack incoming webhook: one path for `etl run` and the Lambda.

`notify_run` is what both call: it finds the channels the settings name and publishes. `format_summary` and
`sns_message` are pure. `publish_summary` never raises: a notification that fails is logged as a warning and
the run goes on.

On AWS, Slack reads the SNS topic through AWS Chatbot (Amazon Q Developer in chat applications), which posts
only messages in its custom-notification format and drops any other (the function's VPC has no route to
Slack). So the summary is published with MessageStructure "json": the "default" message, which Chatbot's
HTTPS subscription (and a queue) receives, is a custom notification (`{"version": "1.0", "source":
"custom", "id", "content": {"textType": "client-markdown", "title", "description"}, "metadata"}`), and
e-mail subscriptions get the plain-text body as before.

A webhook (ETL_SLACK_WEBHOOK_URL) is for runs that can reach Slack, such as `etl run` on a laptop. Its URL
is a secret (whoever has it can post), so it never appears in a log line, an exception message or the
summary itself. Plain ``http://`` webhooks are refused, except to a loopback address (127.0.0.0/8 or ::1):
such a request never leaves the machine, which is how the tests reach a local server. There is
deliberately no "allow http" switch that could be left on in production.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from etl.settings import Settings

if TYPE_CHECKING:
    import boto3

logger = logging.getLogger(__name__)

HttpPost = Callable[[str, bytes, Mapping[str, str]], int]

APP = "credit-risk-etl"
SUBJECT_MAX = 99  # SNS wants subjects "less than 100 characters long"
SNS_MESSAGE_MAX_BYTES = 250_000  # SNS caps a whole message at 256 KiB, attributes included
SLACK_TEXT_MAX = 39_000  # Slack truncates message text past 40,000 characters
WEBHOOK_TIMEOUT_S = 5.0

EXIT_MEANINGS: Mapping[int, str] = {
    0: "every file loaded or skipped",
    1: "at least one file was rejected",
    2: "usage or configuration error",
    3: "a data test of severity error failed",
}


class NotificationError(Exception):
    """A notification could not be delivered. Retrying may help (network, throttling); the run is unaffected."""

    retryable = True


def format_summary(report: Mapping[str, Any]) -> tuple[str, str]:
    """Subject (at most 99 characters, one line) and plain-text body for a run report."""
    files: Sequence[Mapping[str, Any]] = report.get("files") or []
    tests: Sequence[Mapping[str, Any]] = report.get("data_tests") or []
    return _subject(report, files, tests), _body(report, files, tests)


def publish_summary(
    report: Mapping[str, Any],
    *,
    topic_arn: str | None,
    slack_webhook_url: str | None,
    sns_client: Any | None = None,
    http_post: HttpPost | None = None,
) -> list[str]:
    """Send the summary to every configured channel; returns the ones that succeeded ("sns", "slack")."""
    if not topic_arn and not slack_webhook_url:
        return []
    try:
        subject, body = format_summary(report)
    except Exception as exc:  # a malformed report must not crash the run it describes
        logger.warning("run summary not sent: the run report could not be formatted (%s)", _describe(exc))
        return []
    sent: list[str] = []
    if topic_arn:
        try:
            exit_code = int(report.get("exit_code", -1))
            _publish_sns(sns_client, topic_arn, subject, body, exit_code, str(report.get("run_id", "")))
            sent.append("sns")
        except Exception as exc:
            logger.warning("run summary not published to SNS topic %s: %s", topic_arn, _describe(exc))
    if slack_webhook_url:
        try:
            _post_slack(http_post or post_webhook, slack_webhook_url, subject, body)
            sent.append("slack")
        except Exception as exc:
            reason = _redact(_describe(exc), slack_webhook_url)
            logger.warning("run summary not posted to the Slack webhook: %s", reason)
    return sent


def notify_run(
    report: Mapping[str, Any], settings: Settings, *, session: boto3.Session | None = None
) -> list[str]:
    """Send the run summary to the channels `settings` name; never raises (see `publish_summary`).

    `session` is the boto3 session for SNS (a default one when a topic is configured and none is given).
    """
    if not (settings.sns_topic_arn or settings.slack_webhook_url):
        return []
    sns_client = None
    if settings.sns_topic_arn:
        if session is None:
            import boto3  # only when SNS is configured

            session = boto3.Session()
        sns_client = session.client("sns")
    webhook = settings.slack_webhook_url.get_secret_value() if settings.slack_webhook_url else None
    return publish_summary(
        report, topic_arn=settings.sns_topic_arn, slack_webhook_url=webhook, sns_client=sns_client
    )


def post_webhook(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """POST with urllib: https only (http to loopback allowed), 5 s timeout, no redirects; the status code.

    Raises NotificationError for anything but a 2xx answer; its message never contains the URL."""
    _check_webhook_url(url)
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise NotificationError(f"webhook answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise NotificationError(f"webhook unreachable: {reason}") from None
    if not 200 <= status < 300:
        raise NotificationError(f"webhook answered HTTP {status}")
    return status


# --- formatting ----------------------------------------------------------------------------------------------


def _subject(
    report: Mapping[str, Any], files: Sequence[Mapping[str, Any]], tests: Sequence[Mapping[str, Any]]
) -> str:
    counts = Counter(str(f["status"]) for f in files)
    parts = ["run error"] if report.get("error") else []  # first: a long subject is cut at the end
    parts.append(f"{counts['loaded']} loaded")
    if counts["skipped_duplicate"]:
        parts.append(f"{counts['skipped_duplicate']} skipped")
    parts.append(f"{counts['rejected']} rejected")
    parts.append(f"{sum(int(f.get('rows_quarantined') or 0) for f in files)} quarantined")
    parts.append(_plural(len(_failed(tests)), "failed test"))
    run_id = _one_line(str(report["run_id"]))
    if len(run_id) > 24:
        run_id = run_id[:23] + "~"
    subject = _one_line(f"[{APP}] run {run_id}: {', '.join(parts)}")
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 3] + "..."


def _body(
    report: Mapping[str, Any], files: Sequence[Mapping[str, Any]], tests: Sequence[Mapping[str, Any]]
) -> str:
    exit_code = int(report["exit_code"])
    outcome = "OK" if exit_code == 0 and not report.get("error") else "FAILED"
    meaning = EXIT_MEANINGS.get(exit_code, "unexpected exit code")
    started, finished = str(report.get("started_at") or "?"), str(report.get("finished_at") or "?")
    lines = [
        f"{APP} run {report['run_id']}",
        f"Result: {outcome}, exit code {exit_code} ({meaning})",
        f"Started:  {started}",
        f"Finished: {finished}{_duration(started, finished)}",
        *([f"Run error: {_one_line(str(report['error']))}"] if report.get("error") else []),
        "",
    ]
    lines += _file_lines(files)
    lines.append("")
    lines += _test_lines(tests)
    return "\n".join(lines) + "\n"


def _file_lines(files: Sequence[Mapping[str, Any]]) -> list[str]:
    if not files:
        return ["Files: none"]
    counts = Counter(str(f["status"]) for f in files)
    rows = {
        name: sum(int(f.get(name) or 0) for f in files)
        for name in ("rows_in", "rows_loaded", "rows_quarantined")
    }
    lines = [
        f"Files: {len(files)} ({counts['loaded']} loaded, {counts['skipped_duplicate']} skipped as duplicates, "
        f"{counts['rejected']} rejected)",
        f"Rows: {rows['rows_in']} in, {rows['rows_loaded']} loaded, {rows['rows_quarantined']} quarantined",
    ]
    for f in files:
        lines.append(f"- {f['status']}: {f['path']}")
        lines.append(
            f"    source {f.get('source') or '-'}, file {f.get('file_id') or '-'}, rows in {f.get('rows_in', 0)}, "
            f"loaded {f.get('rows_loaded', 0)}, quarantined {f.get('rows_quarantined', 0)}"
        )
        if f.get("status") == "loaded" and "rows_inserted" in f:
            lines.append(
                f"    inserted {f.get('rows_inserted', 0)}, updated {f.get('rows_updated', 0)}, "
                f"unchanged {f.get('rows_unchanged', 0)}, removed {f.get('rows_removed', 0)}, "
                f"conflicting {f.get('rows_conflicting', 0)}"
            )
        if f.get("error"):
            error_lines = str(f["error"]).splitlines() or [""]
            lines.append(f"    error: {error_lines[0]}")
            lines += [f"           {line}" for line in error_lines[1:]]
    return lines


def _test_lines(tests: Sequence[Mapping[str, Any]]) -> list[str]:
    if not tests:
        return ["Data tests: none run"]
    failed = _failed(tests)
    if not failed:
        return [f"Data tests: {len(tests)} run, all passed"]
    by_severity = Counter(str(t.get("severity")) for t in failed)
    lines = [
        f"Data tests: {len(tests)} run, {len(failed)} failed "
        f"({by_severity['error']} error, {by_severity['warn']} warn)"
    ]
    for t in failed:
        lines.append(
            f"- FAIL [{t.get('severity')}] {t['name']}: {_plural(int(t.get('failures') or 0), 'failure')}"
        )
    return lines


def _failed(tests: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [t for t in tests if t.get("status") == "fail"]


def _duration(started: str, finished: str) -> str:
    try:
        seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except (TypeError, ValueError):  # unparsable, or naive against aware
        return ""
    return f" ({seconds:.1f} s)"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _one_line(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


# --- delivery ------------------------------------------------------------------------------------------------


def _publish_sns(
    sns_client: Any | None, topic_arn: str, subject: str, body: str, exit_code: int, run_id: str
) -> None:
    if sns_client is None:
        import boto3  # only when SNS is configured and no client was passed in

        sns_client = boto3.client("sns")
    sns_client.publish(
        TopicArn=topic_arn,
        Subject=subject,
        MessageStructure="json",
        Message=sns_message(run_id, subject, body),
        MessageAttributes={
            "exit_code": {"DataType": "Number", "StringValue": str(exit_code)},
            "status": {"DataType": "String", "StringValue": "succeeded" if exit_code == 0 else "failed"},
        },
    )


def chatbot_notification(run_id: str, subject: str, body: str) -> dict[str, Any]:
    """The run summary as an AWS Chatbot custom notification (rendered in Slack as a card)."""
    return {
        "version": "1.0",
        "source": "custom",
        "id": run_id,
        "content": {"textType": "client-markdown", "title": subject, "description": body},
        "metadata": {"summary": subject, "eventType": "RunSummary"},
    }


def sns_message(run_id: str, subject: str, body: str) -> str:
    """The Message of a MessageStructure="json" publish: the Chatbot notification as the default, the
    plain-text body for e-mail; the body is cut (marked "[truncated]") so the whole fits SNS's 256 KiB."""
    budget = len(body.encode("utf-8"))
    while True:
        text = _truncate_utf8(body, budget)
        message = json.dumps(
            {"default": json.dumps(chatbot_notification(run_id, subject, text)), "email": text}
        )
        size = len(message.encode("utf-8"))
        if size <= SNS_MESSAGE_MAX_BYTES:
            return message
        budget = max(budget * SNS_MESSAGE_MAX_BYTES // size - 256, 0)  # smaller every time round


def _post_slack(http_post: HttpPost, url: str, subject: str, body: str) -> None:
    text = f"*{_slack_escape(subject)}*\n```\n{_slack_escape(body)}```"
    if len(text) > SLACK_TEXT_MAX:
        text = text[: SLACK_TEXT_MAX - 20] + "\n[truncated]```"
    payload = json.dumps({"text": text}).encode("utf-8")
    status = http_post(url, payload, {"Content-Type": "application/json; charset=utf-8"})
    if not 200 <= status < 300:
        raise NotificationError(f"webhook answered HTTP {status}")


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads <...> as links and mentions; these three are the documented escapes.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate_utf8(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    marker = "\n[truncated]\n"
    return data[: max(max_bytes - len(marker), 0)].decode("utf-8", errors="ignore") + marker


def _check_webhook_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise NotificationError("webhook URL has no host")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    raise NotificationError(f"webhook URL must use https (got {parts.scheme or 'no'} scheme)")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would re-send the body somewhere else, maybe over http: treat 3xx as an error instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _redact(text: str, secret: str) -> str:
    """Remove the webhook URL, and its path and query on their own, from a message."""
    parts = urllib.parse.urlsplit(secret)
    for piece in (secret, parts.path + ("?" + parts.query if parts.query else ""), parts.path):
        if len(piece) > 1:
            text = text.replace(piece, "<redacted>")
    return text
