"""AWS Lambda entry point: S3 notifications, SQS batches of them and EventBridge "Object Created" events.

The handler is thin: read the event (`etl.aws.events`), turn each object under `incoming/<source>/` into a
`SourceFile` that streams from S3, and run the same `Pipeline` as `etl run` over them with the lake and
warehouse the settings name. What it adds is delivery semantics:

- SQS: the answer lists in `batchItemFailures` the messages to redeliver: unreadable messages and messages
  whose file FAILED (warehouse down, lost connection...). A REJECTED file (bad content) is recorded in the
  ledger and quarantine and acknowledged: redelivering the same bytes cannot help.
- S3 / EventBridge (asynchronous invocations): a failed file raises `RunFailed` so Lambda retries the event.

Objects of at least `fargate_min_bytes` are handed to ECS Fargate when a cluster and task definition are
configured; the task runs `python -m etl.handler --bucket B --key K` from the same image, which takes this
module's code path for one object. The message is acknowledged once the task runs, so the task's end comes
back as its own message: EventBridge forwards our tasks' "ECS Task State Change" (STOPPED) events to the
queue, and a task that did not finish (exit 75, no exit code, killed) is run again, up to
`fargate_max_attempts` runs; after that its message is left to fail into the DLQ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from etl.aws.events import ObjectRef, StoppedTask, parse_event, route_source, task_command
from etl.contracts import SOURCE_ORDER, source_from_folder
from etl.errors import ConfigError, EtlError
from etl.extract.s3 import open_s3_object
from etl.load.lake import open_lake
from etl.load.warehouse import open_warehouse
from etl.notify import publish_summary
from etl.pipeline import Pipeline, RunReport, SourceFile
from etl.settings import Settings, invalid_setting

SERVICE = "credit-risk-etl"
DEFAULT_METRICS_NAMESPACE = "CreditRiskETL"

# POWERTOOLS_SERVICE_NAME, as Powertools documents it; an explicit service= would override it
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE)


class RunFailed(EtlError):
    """At least one file failed for a reason a retry may fix; raised for asynchronous invocations."""

    retryable = True


@dataclass
class Outcome:
    """What one invocation did with its objects."""

    report: RunReport | None = None
    error: str | None = None  # the whole run could not happen (warehouse unreachable, schema creation failed)
    failed: list[ObjectRef] = field(default_factory=list)  # objects to deliver again
    ignored: list[str] = field(default_factory=list)
    handed_off: list[dict[str, Any]] = field(default_factory=list)
    stopped_tasks: list[dict[str, Any]] = field(default_factory=list)  # what was done about each
    config_error: bool = False  # the run could not start because of a setting (ConfigError)

    @property
    def ran(self) -> bool:
        # a failed hand-off alone ran too: it is reported and counted (FilesFailed), not only logged
        hand_offs = bool(self.handed_off or self.stopped_tasks or self.failed)
        return self.report is not None or self.error is not None or hand_offs

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": _compact(self.report.as_dict()) if self.report else None,
            "error": self.error,
            "retry": [ref.uri for ref in self.failed],
            "ignored": self.ignored,
            "handed_off": self.handed_off,
            "stopped_tasks": self.stopped_tasks,
        }


def settings_from_env() -> Settings:
    """The CLI's Settings from ETL_* environment variables alone (no flags here).

    A bad value is reported by name and rule only: pydantic's own message quotes the value, and a
    warehouse URL may carry a password.
    """
    no_flags: dict[str, Any] = {}
    try:
        return Settings(**no_flags)
    except ValidationError as exc:
        raise ConfigError(invalid_setting(exc)) from None


def _compact(run: dict[str, Any]) -> dict[str, Any]:
    """The run with its data tests summarised: every test that did not pass, and how many did."""
    tests = run.get("data_tests") or []
    not_passed = [t for t in tests if t.get("status") != "pass"]
    return {**run, "data_tests": {"passed": len(tests) - len(not_passed), "not_passed": not_passed}}


# ---- Lambda -----------------------------------------------------------------------------------------------


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    settings = settings_from_env()
    logger.setLevel(settings.log_level)
    return handle(event, settings, session=boto3.Session())


def handle(event: Mapping[str, Any], settings: Settings, *, session: boto3.Session) -> dict[str, Any]:
    parsed = parse_event(event)  # an event of no accepted shape raises: nothing in it can be acknowledged
    for note in parsed.ignored:
        logger.info(note)
    for reason in parsed.failure_reasons:
        logger.error(reason)
    outcome = process_objects(parsed.objects, settings, session=session, stopped=parsed.stopped_tasks)
    if outcome.ran:
        logger.info("run report", extra={"run_report": outcome.as_dict()})
    if _is_sqs(event):
        retry = [*parsed.failed_messages, *(ref.message_id for ref in outcome.failed if ref.message_id)]
        response: dict[str, Any] = {
            "batchItemFailures": [{"itemIdentifier": message_id} for message_id in dict.fromkeys(retry)]
        }
        if outcome.ran:
            response["report"] = outcome.as_dict()
        return response
    if outcome.failed:
        raise RunFailed(outcome.error or f"{len(outcome.failed)} file(s) failed: {outcome.failed[0].uri}")
    return outcome.as_dict()


def process_objects(
    refs: Sequence[ObjectRef],
    settings: Settings,
    *,
    session: boto3.Session,
    allow_fargate: bool = True,
    stopped: Sequence[StoppedTask] = (),
) -> Outcome:
    """Load the objects with one Pipeline (one warehouse connection), follow up stopped Fargate tasks, then
    summarise and emit metrics."""
    outcome = Outcome()
    for task in stopped:
        _follow_up(task, settings, session, outcome)
    work: list[tuple[SourceFile, ObjectRef]] = []
    s3 = session.client("s3")
    for ref in refs:
        folder = route_source(ref.key)
        if folder is None:
            note = f"ignored {ref.uri}: not a .csv under incoming/<source>/"
            logger.info(note)
            outcome.ignored.append(note)
        elif allow_fargate and _wants_fargate(ref, settings):
            _hand_off(ref, settings, session, outcome)
        else:
            work.append((_source_file(ref, folder, s3), ref))
    work.sort(key=lambda pair: (SOURCE_ORDER.get(pair[0].source or "", 99), pair[0].uri))
    if work:
        _run(work, settings, outcome)
    if outcome.ran:
        _notify(outcome, settings, session)
        _emit_metrics(outcome)
    return outcome


def _source_file(ref: ObjectRef, folder: str, s3: Any) -> SourceFile:
    source = source_from_folder(folder)
    reason = (
        None
        if source
        else f"unknown source folder '{folder}' in {ref.key}: use incoming/loan_applications/, incoming/bank_statements/ or incoming/repayments/"
    )
    opener = open_s3_object(ref.bucket, ref.key, version_id=ref.version_id, etag=ref.etag, s3_client=s3)
    return SourceFile(ref.uri, ref.key.rsplit("/", 1)[-1], source, opener, reason)


def _run(work: list[tuple[SourceFile, ObjectRef]], settings: Settings, outcome: Outcome) -> None:
    files = [item for item, _ in work]
    pipeline: Pipeline | None = None
    try:
        with open_warehouse(settings) as warehouse:
            pipeline = Pipeline(settings, open_lake(settings), warehouse)
            outcome.report = pipeline.run(files)
    except Exception as exc:
        partial = pipeline.report if pipeline is not None else None
        done = len(partial.files) if partial is not None else 0
        if partial is None or not done:  # the run as a whole did not happen: every object is delivered again
            outcome.config_error = isinstance(exc, ConfigError)
            outcome.error = f"run failed before its files were processed: {exc}"
            logger.exception(outcome.error)
            outcome.failed.extend(ref for _, ref in work)
            return
        # Files were processed (the loaded ones are committed) and then the run failed, in the data tests
        # or on closing: their outcomes stand and are reported; files not reached are delivered again.
        outcome.report = partial
        outcome.error = f"run failed after {done} of {len(work)} file(s) were processed: {exc}"
        logger.exception(outcome.error)
        outcome.failed.extend(ref for _, ref in work[done:])
    assert outcome.report is not None
    for result, (_, ref) in zip(outcome.report.files, work, strict=False):
        if result.status == "failed":  # our side, not the file's content: redeliver (the DLQ keeps poison)
            outcome.failed.append(ref)
            logger.error(
                "file failed", extra={"uri": ref.uri, "error": result.error, "retryable": result.retryable}
            )
        elif result.status == "rejected":
            logger.warning("file rejected", extra={"uri": ref.uri, "error": result.error})


def _notify(outcome: Outcome, settings: Settings, session: boto3.Session) -> None:
    if outcome.report is None:
        return
    webhook = _slack_webhook(settings, session)
    if not settings.sns_topic_arn and not webhook:
        return
    publish_summary(
        {**outcome.report.as_dict(), "error": outcome.error} if outcome.error else outcome.report.as_dict(),
        topic_arn=settings.sns_topic_arn,
        slack_webhook_url=webhook,
        sns_client=session.client("sns") if settings.sns_topic_arn else None,
    )


def _slack_webhook(settings: Settings, session: boto3.Session) -> str | None:
    if settings.slack_webhook_url is not None:
        return settings.slack_webhook_url.get_secret_value()
    if not settings.slack_webhook_secret_arn:
        return None
    try:
        secret = session.client("secretsmanager").get_secret_value(SecretId=settings.slack_webhook_secret_arn)
    except Exception as exc:  # a missing notification channel must not fail the load
        logger.warning(f"Slack webhook secret unreadable, no Slack summary: {type(exc).__name__}")
        return None
    url = webhook_from_secret(str(secret.get("SecretString") or ""))
    if url is None:
        logger.warning("Slack webhook secret holds no URL (a URL, or JSON with 'url'), no Slack summary")
    return url


def webhook_from_secret(text: str) -> str | None:
    """The webhook URL a secret holds: the URL itself, or JSON `{"url": ...}` / `{"webhook_url": ...}`.
    None for anything else; it is read after the files are committed, so it must not raise."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return None
        found = value.get("url") or value.get("webhook_url") if isinstance(value, dict) else None
        text = found.strip() if isinstance(found, str) else ""
    return text or None


def _emit_metrics(outcome: Outcome) -> None:
    """CloudWatch metrics as EMF lines on stdout (Lambda ships them; elsewhere they are just log lines)."""
    metrics = Metrics(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
        service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE,
    )
    files = outcome.report.files if outcome.report else []
    tests = outcome.report.data_tests if outcome.report else []
    values = {
        "FilesLoaded": sum(f.status == "loaded" for f in files),
        "FilesSkipped": sum(f.status == "skipped_duplicate" for f in files),
        "FilesRejected": sum(f.status == "rejected" for f in files),
        "FilesFailed": len(outcome.failed),
        "FilesHandedOff": len(outcome.handed_off),
        "FargateTasksRetried": sum(t["action"] == "run again" for t in outcome.stopped_tasks),
        "FargateTasksGivenUp": sum(t["action"] == "given up" for t in outcome.stopped_tasks),
        "RowsLoaded": sum(f.rows_loaded for f in files if f.status == "loaded"),
        "RowsQuarantined": sum(f.rows_quarantined for f in files if f.status == "loaded"),
        "DataTestFailures": sum(t.status == "fail" for t in tests),
    }
    for name, value in values.items():
        unit = MetricUnit.Count
        metrics.add_metric(name=name, unit=unit, value=value)
    metrics.flush_metrics()


def _is_sqs(event: Mapping[str, Any]) -> bool:
    records = event.get("Records")
    return bool(records) and isinstance(records, list) and records[0].get("eventSource") == "aws:sqs"


# ---- ECS Fargate for objects too large for one Lambda run -------------------------------------------------


def _fargate_configured(settings: Settings) -> bool:
    return bool(settings.fargate_cluster and settings.fargate_task_definition)


def _wants_fargate(ref: ObjectRef, settings: Settings) -> bool:
    return ref.size is not None and ref.size >= settings.fargate_min_bytes and _fargate_configured(settings)


def run_task_request(ref: ObjectRef, settings: Settings, container: str, attempt: int = 1) -> dict[str, Any]:
    """RunTask arguments. The client token makes a redelivered message start no second task for the same
    object and attempt; a follow-up run is a new attempt, so ECS does not hand back the stopped task."""
    token = hashlib.sha256(f"{ref.uri}|{ref.version_id}|{ref.etag}|{attempt}".encode()).hexdigest()[:64]
    return {
        "cluster": settings.fargate_cluster,
        "taskDefinition": settings.fargate_task_definition,
        "launchType": "FARGATE",
        "count": 1,
        "startedBy": SERVICE,
        "clientToken": token,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": _split(settings.fargate_subnets),
                "securityGroups": _split(settings.fargate_security_groups),
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": {"containerOverrides": [{"name": container, "command": task_command(ref, attempt)}]},
    }


def _hand_off(
    ref: ObjectRef, settings: Settings, session: boto3.Session, outcome: Outcome, attempt: int = 1
) -> None:
    ecs = session.client("ecs")
    try:
        # The container is named by a setting, not looked up: DescribeTaskDefinition would be one more call
        # per object and one more permission (the function's role grants RunTask and DescribeTasks only).
        answer = ecs.run_task(**run_task_request(ref, settings, settings.fargate_container, attempt))
    except Exception as exc:
        logger.error(f"handing {ref.uri} to Fargate failed: {exc}")
        outcome.failed.append(ref)
        return
    if answer.get("failures") or not answer.get("tasks"):
        logger.error("Fargate refused the task", extra={"uri": ref.uri, "failures": answer.get("failures")})
        outcome.failed.append(ref)
        return
    task_arn = answer["tasks"][0]["taskArn"]
    logger.info(
        "handed to Fargate",
        extra={"uri": ref.uri, "task_arn": task_arn, "size": ref.size, "attempt": attempt},
    )
    outcome.handed_off.append({"uri": ref.uri, "size": ref.size, "task_arn": task_arn, "attempt": attempt})


# Exit codes of `python -m etl.handler` whose outcome is recorded (ledger, quarantine, the run summary):
# running the task again would change nothing.
FINISHED_EXITS = {0: "loaded or skipped", 1: "a file was rejected", 3: "a data test failed"}
CONFIG_EXIT = 2  # a bad setting: a new run meets it again, so the object goes to the DLQ without one


def _follow_up(task: StoppedTask, settings: Settings, session: boto3.Session, outcome: Outcome) -> None:
    """What to do about a Fargate task that stopped: nothing when it finished, else run it again, or give up
    after `fargate_max_attempts` runs and leave the message to fail into the DLQ."""
    seen = {
        "uri": task.ref.uri,
        "task_arn": task.task_arn,
        "attempt": task.attempt,
        "exit_code": task.exit_code,
    }
    if task.exit_code in FINISHED_EXITS:
        logger.info(f"Fargate task finished: {FINISHED_EXITS[task.exit_code]}", extra=seen)
        outcome.stopped_tasks.append({**seen, "action": "none"})
        return
    if task.exit_code == CONFIG_EXIT:
        why = "exit code 2, a configuration error: fix the task's settings"
    else:
        why = f"exit code {task.exit_code}" if task.exit_code is not None else "no exit code"
    if (
        task.exit_code == CONFIG_EXIT
        or task.attempt >= settings.fargate_max_attempts
        or not _fargate_configured(settings)
    ):
        # Reported on every delivery of the message until SQS moves it to the DLQ; counted once (its first).
        first = task.receive_count <= 1
        (logger.error if first else logger.warning)(
            f"Fargate task did not finish ({why}) after {task.attempt} run(s); giving up, its message goes to "
            "the dead-letter queue (to load the object later, copy it onto itself: a new version starts again)",
            extra={**seen, "reason": task.reason, "delivery": task.receive_count},
        )
        outcome.stopped_tasks.append({**seen, "action": "given up" if first else "given up before"})
        outcome.failed.append(task.ref)
        return
    logger.warning(
        f"Fargate task did not finish ({why}); running it again", extra={**seen, "reason": task.reason}
    )
    outcome.stopped_tasks.append({**seen, "action": "run again"})
    _hand_off(task.ref, settings, session, outcome, attempt=task.attempt + 1)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


# ---- the Fargate task: one object, the same code path --------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.handler", description="Load one S3 object.")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True, help="the object key, not URL-encoded")
    parser.add_argument("--version-id")
    parser.add_argument("--etag")
    parser.add_argument("--attempt", type=int, default=1, help="which run of this object's task this is")
    args = parser.parse_args(argv)
    try:
        settings = settings_from_env()
    except ConfigError as exc:  # one line, as `etl` prints it; 2 = configuration, not the file
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logger.setLevel(settings.log_level)
    ref = ObjectRef(args.bucket, args.key, None, args.etag, args.version_id, None)
    logger.info("Fargate task", extra={"uri": ref.uri, "attempt": args.attempt})
    outcome = process_objects([ref], settings, session=boto3.Session(), allow_fargate=False)
    print(json.dumps(outcome.as_dict(), default=str))
    if outcome.config_error:  # e.g. a warehouse URL without its iam_role: not worth running again
        return CONFIG_EXIT
    if outcome.failed:
        return 75  # EX_TEMPFAIL: worth running again
    return outcome.report.exit_code if outcome.report else 0


if __name__ == "__main__":
    sys.exit(main())
