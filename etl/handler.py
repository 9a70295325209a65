"""AWS Lambda entry point: S3 notifications, SQS batches of them and EventBridge "Object Created" events;
and EventBridge Scheduler's `{"etl": "extract", ...}` payloads, which run `etl extract` into the raw bucket
(`etl.aws.scheduled`).

The handler is thin: read the event (`etl.aws.events`), do the invocation's work (`etl.aws.invocation`:
the same pipeline as `etl run`, Fargate for large objects in `etl.aws.fargate`) and answer in the shape the
event source wants:

- SQS: `batchItemFailures` lists the messages to redeliver: unreadable messages and messages whose file
  FAILED (warehouse down, lost connection...). A REJECTED file (bad content) is acknowledged.
- S3 / EventBridge (asynchronous invocations): a failed file raises `RunFailed` so Lambda retries the event.

Powertools' `inject_lambda_context` adds the request to every log line, `log_metrics` flushes the
invocation's metrics as EMF, and inside Lambda a Tracer records the invocation in X-Ray (what the trace
header samples; Terraform turns active tracing on).

`python -m etl.handler --bucket B --key K` is the Fargate task: the same code path for one object;
`python -m etl.handler extract NAME... [--full-refresh]` is a scheduled extraction run in the task.

Importing this module (the cold start's init) loads powertools and the event parsing only: boto3 and the
settings come with the first invocation, pyarrow and DuckDB with the first file one loads
(`etl.aws.invocation`), awswrangler only with a Glue catalog to update, pandas never.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl.aws.events import ObjectRef, parse_event
from etl.aws.fargate import CONFIG_EXIT
from etl.aws.invocation import process_objects
from etl.aws.log import logger
from etl.aws.metrics import add_run_metrics, emit_source_metrics, run_metrics
from etl.aws.outcome import Outcome
from etl.aws.scheduled import (
    ExtractOutcome,
    ExtractRequest,
    add_extract_metrics,
    is_extract_event,
    parse_extract_event,
    record_failure,
    run_extractions,
)
from etl.errors import ConfigError, EtlError, hide_in_logs, hide_secrets

if TYPE_CHECKING:
    import boto3

    from etl.settings import Settings


class RunFailed(EtlError):
    """At least one file failed for a reason a retry may fix; raised for asynchronous invocations."""

    retryable = True


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    import boto3

    from etl.settings import settings_from_env

    settings = settings_from_env()
    _hide_secrets(settings)
    logger.setLevel(settings.log_level)
    metrics = run_metrics()

    def handle_invocation(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        if is_extract_event(event):
            return handle_extract(event, settings, session=boto3.Session(), metrics=metrics)

        def count(outcome: Outcome) -> None:
            add_run_metrics(metrics, outcome)
            emit_source_metrics(outcome)

        return handle(event, settings, session=boto3.Session(), on_outcome=count)

    return _traced(metrics.log_metrics(handle_invocation))(event, context)


def handle(
    event: Mapping[str, Any],
    settings: Settings,
    *,
    session: boto3.Session,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> dict[str, Any]:
    parsed = parse_event(event)  # an event of no accepted shape raises: nothing in it can be acknowledged
    for note in parsed.ignored:
        logger.info(note)
    for reason in parsed.failure_reasons:
        logger.error(reason)
    outcome = process_objects(parsed.objects, settings, session=session, stopped=parsed.stopped_tasks)
    if on_outcome is not None:
        on_outcome(outcome)
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


def handle_extract(
    event: Mapping[str, Any], settings: Settings, *, session: boto3.Session, metrics: Any
) -> dict[str, Any]:
    """A scheduled extraction: its report, or RunFailed when one failed for a reason a retry may fix (Lambda
    runs an asynchronous invocation again, then sends it to the function's dead-letter queue). A refused
    payload or a configuration error is reported and counted, not retried: the same event meets it again."""
    try:
        request = parse_extract_event(event)
    except ConfigError as exc:
        outcome = ExtractOutcome()
        record_failure(outcome, exc, None)
    else:
        outcome = run_extractions(request, settings, session=session)
    add_extract_metrics(metrics, outcome)
    logger.info("extract report", extra={"extract_report": outcome.as_dict()})
    if outcome.retryable:
        raise RunFailed(outcome.errors[0])
    return outcome.as_dict()


def _hide_secrets(settings: Settings) -> None:
    """No secret of the settings in any log line: the message, the exception and its stack trace, and the
    fields of our logger and of every other logger that reaches the runtime's handlers."""
    hide_secrets(settings.secrets())
    ours = logging.getLogger(logger.name)
    hide_in_logs([ours, *ours.handlers, *logging.getLogger().handlers])


def _is_sqs(event: Mapping[str, Any]) -> bool:
    records = event.get("Records")
    return bool(records) and isinstance(records, list) and records[0].get("eventSource") == "aws:sqs"


def _traced(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """`handler` recorded by a powertools Tracer inside Lambda (the X-Ray SDK sends what the invocation's
    trace header samples: nothing unless active tracing or a caller sampled it); as it is elsewhere, and
    with POWERTOOLS_TRACE_DISABLED=true (the X-Ray SDK is then never imported)."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in {"1", "true"}
    if disabled or not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer(service=logger.service).capture_lambda_handler(handler, capture_response=False)


# ---- the Fargate task: one object, the same code path --------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["extract"]:
        return extract_main(args_in[1:])
    parser = argparse.ArgumentParser(prog="python -m etl.handler", description="Load one S3 object.")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True, help="the object key, not URL-encoded")
    parser.add_argument("--version-id")
    parser.add_argument("--etag")
    parser.add_argument("--attempt", type=int, default=1, help="which run of this object's task this is")
    args = parser.parse_args(args_in)
    import boto3

    from etl.settings import settings_from_env

    try:
        settings = settings_from_env()
    except ConfigError as exc:  # one line, as `etl` prints it; 2 = configuration, not the file
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _hide_secrets(settings)
    logger.setLevel(settings.log_level)
    ref = ObjectRef(args.bucket, args.key, None, args.etag, args.version_id, None)
    logger.info("Fargate task", extra={"uri": ref.uri, "attempt": args.attempt})
    metrics = run_metrics()
    outcome = process_objects([ref], settings, session=boto3.Session(), allow_fargate=False)
    add_run_metrics(metrics, outcome)
    emit_source_metrics(outcome)
    metrics.flush_metrics()
    print(json.dumps(outcome.as_dict(), default=str))
    if outcome.config_error:  # e.g. a warehouse URL without its iam_role: not worth running again
        return CONFIG_EXIT
    if outcome.failed:
        return 75  # EX_TEMPFAIL: worth running again
    return outcome.report.exit_code if outcome.report else 0


def extract_main(argv: Sequence[str]) -> int:
    """The Fargate task of a scheduled extraction. Exit 0: done; 2: configuration (no run again helps);
    75: a failure a later run may not meet; 1: another failure."""
    parser = argparse.ArgumentParser(
        prog="python -m etl.handler extract", description="Run the profile's extractions into the raw bucket."
    )
    parser.add_argument("names", nargs="*", help="extractions to run (default: all of the profile's)")
    parser.add_argument("--full-refresh", action="store_true")
    args = parser.parse_args(argv)
    import boto3

    from etl.settings import settings_from_env

    try:
        settings = settings_from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return CONFIG_EXIT
    _hide_secrets(settings)
    logger.setLevel(settings.log_level)
    metrics = run_metrics()
    request = ExtractRequest(tuple(args.names), args.full_refresh)
    outcome = run_extractions(request, settings, session=boto3.Session())
    add_extract_metrics(metrics, outcome)
    metrics.flush_metrics()
    print(json.dumps(outcome.as_dict(), default=str))
    if not outcome.errors:
        return 0
    return 75 if outcome.retryable else CONFIG_EXIT if outcome.config_error else 1


if __name__ == "__main__":
    sys.exit(main())
