"""Turn a Lambda event into work items: the S3 objects to load, what was acknowledged, which messages failed.

Pure: no boto3, no environment. Accepted shapes:

- a direct S3 notification (``Records`` with ``eventSource`` ``aws:s3``);
- an SQS batch (``Records`` with ``eventSource`` ``aws:sqs``) whose bodies are S3 notifications (one or more
  records), S3's ``s3:TestEvent``, an SNS envelope holding either, or an EventBridge event forwarded to SQS;
- an EventBridge event from S3 (``source`` ``aws.s3``), also when it arrives directly;
- an EventBridge "ECS Task State Change" of one of our Fargate tasks that stopped (``source`` ``aws.ecs``),
  forwarded to the queue so the function can run the task again when it did not finish (``StoppedTask``).

Keys in S3 notifications are URL-encoded form style (a space arrives as ``+``, ``/`` may arrive as ``%2F``)
and are decoded with ``unquote_plus``. Keys in EventBridge events are the raw key and are NOT decoded: AWS's
EventBridge message structure page shows no encoding step, and real captured "Object Created" events carry
characters verbatim that S3 notifications would escape (``raw/health-check/2023-08-08T14:03:40.532432.zip``
where a notification would say ``%3A``). Moto agrees: it ``quote_plus``-es notification keys and leaves
EventBridge keys alone. Beware powertools' ``S3EventBridgeNotificationObject.key``: it applies
``unquote_plus`` anyway and would turn a real ``+`` into a space, so this module reads the key itself.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event, SQSEvent

from etl.contracts import source_from_folder

# Anything a malformed payload can raise while being read; a programming error elsewhere is not caught.
_PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError)


class UnsupportedEventError(ValueError):
    """The Lambda event is none of the accepted shapes. Retrying the same event cannot help."""

    retryable = False


@dataclass(frozen=True)
class ObjectRef:
    """One S3 object to process. ``message_id`` is the SQS message it came from (for batchItemFailures)."""

    bucket: str
    key: str
    size: int | None
    etag: str | None
    version_id: str | None
    message_id: str | None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class StoppedTask:
    """A Fargate task that loaded one object and has stopped. ``ref`` is that object, read back from the
    task's command (``task_command``), with the SQS message this event came in; ``exit_code`` is None when
    the container never exited on its own (it failed to start, or ECS stopped the task)."""

    task_arn: str
    ref: ObjectRef
    attempt: int
    exit_code: int | None
    reason: str
    receive_count: int = 1  # SQS's ApproximateReceiveCount of the message it came in


@dataclass(frozen=True)
class ParsedEvent:
    """What an event asks for. ``failed_messages`` are SQS messageIds whose body could not be read at all;
    ``failure_reasons`` says why, one line per failed message, for the logs."""

    objects: tuple[ObjectRef, ...]
    ignored: tuple[str, ...]
    failed_messages: tuple[str, ...]
    failure_reasons: tuple[str, ...] = field(default=())
    stopped_tasks: tuple[StoppedTask, ...] = field(default=())


class _MalformedPayload(ValueError):
    """A payload that is JSON but not one of the accepted shapes."""


_Parsed = tuple[list[ObjectRef | StoppedTask], list[str]]

TASK_PROGRAM = ("python", "-m", "etl.handler")


def task_command(ref: ObjectRef, attempt: int = 1) -> list[str]:
    """The command a Fargate task runs to load one object (``python -m etl.handler``'s arguments)."""
    command = [*TASK_PROGRAM, "--bucket", ref.bucket, "--key", ref.key]
    if ref.version_id:
        command += ["--version-id", ref.version_id]
    if ref.etag:
        command += ["--etag", ref.etag]
    return [*command, "--attempt", str(attempt)]


def parse_task_command(command: Any, message_id: str | None = None) -> tuple[ObjectRef, int]:
    """The object and attempt of a ``task_command``; _MalformedPayload for any other command."""
    if not isinstance(command, list) or tuple(command[:3]) != TASK_PROGRAM:
        raise _MalformedPayload("the task's command is not python -m etl.handler")
    args = command[3:]
    if len(args) % 2 or not all(isinstance(a, str) for a in args):
        raise _MalformedPayload("the task's command arguments do not come in --name value pairs")
    options = dict(zip(args[::2], args[1::2], strict=True))
    attempt = options.get("--attempt", "1")
    if not attempt.isdigit():
        raise _MalformedPayload(f"the task's --attempt is {attempt!r}, not a number")
    ref = ObjectRef(
        bucket=_require_str(options.get("--bucket"), "the task's --bucket"),
        key=_require_str(options.get("--key"), "the task's --key"),
        size=None,
        etag=options.get("--etag"),
        version_id=options.get("--version-id"),
        message_id=message_id,
    )
    return ref, int(attempt)


def parse_event(event: Mapping[str, Any]) -> ParsedEvent:
    """Read a Lambda event. Raises ``UnsupportedEventError`` when the event as a whole is not understood;
    inside an SQS batch, an unreadable message is reported in ``failed_messages`` and the rest still count."""
    if not isinstance(event, Mapping):
        raise UnsupportedEventError(f"event is a {type(event).__name__}, not a JSON object")
    if _is_sqs_batch(event):
        return _parse_sqs_batch(event)
    try:
        items, ignored = _parse_payload(event, message_id=None)
    except _PARSE_ERRORS as exc:
        raise UnsupportedEventError(f"unsupported Lambda event: {_describe(exc)}") from exc
    objects, stopped = _split_items(items)
    return ParsedEvent(objects=objects, ignored=tuple(ignored), failed_messages=(), stopped_tasks=stopped)


def _split_items(
    items: list[ObjectRef | StoppedTask],
) -> tuple[tuple[ObjectRef, ...], tuple[StoppedTask, ...]]:
    objects = tuple(i for i in items if isinstance(i, ObjectRef))
    return objects, tuple(i for i in items if isinstance(i, StoppedTask))


def route_source(key: str, prefix: str = "incoming/") -> str | None:
    """The source named by a key ``<prefix><source>/.../<name>.csv``, with folder aliases applied.

    The folder matches case-insensitively (``Loan_Application`` -> ``loan_applications``); the prefix is
    matched exactly, as S3 notification filters do. Returns None for keys outside the prefix, "folder" keys
    ending in ``/``, files directly under the prefix and names not ending in ``.csv`` (any case). Whether the
    source is a known one is for the contracts to decide, so an unknown folder comes back as its name.
    """
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if not key.startswith(prefix) or key.endswith("/"):
        return None
    folder, _, rest = key[len(prefix) :].partition("/")
    name = rest.rsplit("/", 1)[-1]
    folder = folder.strip().lower()
    if not folder or not name.lower().endswith(".csv") or len(name) <= len(".csv"):
        return None
    return source_from_folder(folder) or folder


def _is_sqs_batch(event: Mapping[str, Any]) -> bool:
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], Mapping)
        and records[0].get("eventSource") == "aws:sqs"
    )


def _parse_sqs_batch(event: Mapping[str, Any]) -> ParsedEvent:
    objects: list[ObjectRef | StoppedTask] = []
    ignored: list[str] = []
    failed: list[str] = []
    reasons: list[str] = []
    for record in SQSEvent(dict(event)).records:
        try:
            message_id = record.message_id
        except KeyError as exc:
            raise UnsupportedEventError("SQS record without a messageId") from exc
        try:
            # A message counts whole or not at all: its objects are kept only if all of it was readable.
            message_objects, message_ignored = _parse_payload(record.json_body, message_id)
        except _PARSE_ERRORS as exc:
            failed.append(message_id)
            reasons.append(f"SQS message {message_id}: {_describe(exc)}")
            continue
        count = _receive_count(record)
        objects.extend(
            dataclasses.replace(o, receive_count=count) if isinstance(o, StoppedTask) else o
            for o in message_objects
        )
        ignored.extend(message_ignored)
    refs, stopped = _split_items(objects)
    return ParsedEvent(refs, tuple(ignored), tuple(failed), tuple(reasons), stopped)


def _parse_payload(payload: Any, message_id: str | None) -> _Parsed:
    """One decoded payload: an S3 notification, a TestEvent, an SNS envelope or an EventBridge event."""
    if not isinstance(payload, Mapping):
        raise _MalformedPayload(f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("Event") == "s3:TestEvent":
        return [], [f"s3:TestEvent acknowledged (bucket {payload.get('Bucket')})"]
    if payload.get("Type") == "Notification" and "Message" in payload:
        # SNS -> SQS without raw message delivery: the S3 notification is a JSON string inside.
        return _parse_payload(json.loads(payload["Message"]), message_id)
    if "detail-type" in payload:
        return _parse_eventbridge(payload, message_id)
    if isinstance(payload.get("Records"), list):
        return _parse_records(payload, message_id)
    raise _MalformedPayload("neither an S3 notification, an SNS envelope nor an EventBridge event")


def _parse_records(payload: Mapping[str, Any], message_id: str | None) -> _Parsed:
    objects: list[ObjectRef | StoppedTask] = []
    ignored: list[str] = []
    for record in payload["Records"]:
        if not isinstance(record, Mapping):
            raise _MalformedPayload("a record is not a JSON object")
        if record.get("EventSource") == "aws:sns":  # SNS -> Lambda directly
            more_objects, more_ignored = _parse_payload(json.loads(record["Sns"]["Message"]), message_id)
        elif record.get("eventSource") == "aws:s3":
            more_objects, more_ignored = _parse_s3_record(record, message_id)
        else:
            raise _MalformedPayload(f"record from {record.get('eventSource')!r}, expected aws:s3")
        objects.extend(more_objects)
        ignored.extend(more_ignored)
    return objects, ignored


def _parse_s3_record(record: Mapping[str, Any], message_id: str | None) -> _Parsed:
    # The data class, not powertools' pydantic S3Model: the model insists on fields (userIdentity,
    # requestParameters, sequencer...) that moto's notifications leave out.
    s3_record = next(S3Event({"Records": [dict(record)]}).records)
    event_name = s3_record.event_name.removeprefix("s3:")
    bucket = s3_record.s3.bucket.name
    s3_object = s3_record.s3.get_object
    key = unquote_plus(_require_str(s3_object.key, "object key"))
    if not event_name.startswith("ObjectCreated:"):
        return [], [f"{event_name} ignored: s3://{bucket}/{key}"]
    ref = ObjectRef(
        bucket=_require_str(bucket, "bucket name"),
        key=key,
        size=_optional_int(s3_object.get("size")),
        etag=s3_object.get("eTag") or None,
        version_id=_version_id(s3_object.version_id),
        message_id=message_id,
    )
    return [ref], []


def _parse_eventbridge(payload: Mapping[str, Any], message_id: str | None) -> _Parsed:
    event = EventBridgeEvent(dict(payload))
    if event.source == "aws.ecs" and event.detail_type == "ECS Task State Change":
        return _parse_task_state(event.detail, message_id)
    if event.source != "aws.s3":
        raise _MalformedPayload(f"EventBridge event from {event.source!r}, expected aws.s3 or aws.ecs")
    detail = event.detail
    bucket = _require_str(detail["bucket"]["name"], "bucket name")
    s3_object = detail["object"]
    key = _require_str(s3_object["key"], "object key")  # raw key: EventBridge does not URL-encode it
    if event.detail_type != "Object Created":
        return [], [f"EventBridge {event.detail_type!r} ignored: s3://{bucket}/{key}"]
    ref = ObjectRef(
        bucket=bucket,
        key=key,
        size=_optional_int(s3_object.get("size")),
        # AWS spells it "etag"; moto's EventBridge events say "eTag" like a notification does.
        etag=s3_object.get("etag") or s3_object.get("eTag") or None,
        version_id=_version_id(s3_object.get("version-id")),
        message_id=message_id,
    )
    return [ref], []


def _parse_task_state(detail: Mapping[str, Any], message_id: str | None) -> _Parsed:
    task_arn = _require_str(detail.get("taskArn"), "taskArn")
    if detail.get("lastStatus") != "STOPPED":
        return [], [f"ECS task {task_arn} is {detail.get('lastStatus')}: only a stopped task is followed up"]
    overrides = (detail.get("overrides") or {}).get("containerOverrides") or []
    ours = [o for o in overrides if tuple((o.get("command") or [])[:3]) == TASK_PROGRAM]
    if not ours:
        raise _MalformedPayload(f"ECS task {task_arn} was not started with python -m etl.handler")
    ref, attempt = parse_task_command(ours[0]["command"], message_id)
    exits = [
        c.get("exitCode") for c in detail.get("containers") or [] if c.get("name") == ours[0].get("name")
    ]
    exit_code = exits[0] if exits and isinstance(exits[0], int) else None
    reason = str(detail.get("stoppedReason") or detail.get("stopCode") or "")
    return [StoppedTask(task_arn, ref, attempt, exit_code, reason)], []


def _receive_count(record: Any) -> int:
    try:
        return int(record.attributes.approximate_receive_count)
    except (KeyError, TypeError, ValueError):  # not given (a hand-made event): its first delivery
        return 1


def _require_str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _MalformedPayload(f"{what} is missing or not a string")
    return value


def _version_id(value: Any) -> str | None:
    # "null" is S3's version id of an object written while versioning was off: the same as none at all.
    return None if value in (None, "", "null") else str(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    if isinstance(exc, json.JSONDecodeError):
        return f"body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    return str(exc) or type(exc).__name__
