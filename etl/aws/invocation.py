"""One invocation's work: route each S3 object to a file of its source (or to Fargate), load them with one
pipeline, follow up stopped Fargate tasks, then notify and count.

What it adds to `etl run` is delivery semantics: a FAILED file (warehouse down, lost connection...) is
listed for redelivery; a REJECTED file (bad content) is recorded in the ledger and quarantine and
acknowledged, since redelivering the same bytes cannot help.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3

from etl.aws import fargate
from etl.aws.events import ObjectRef, StoppedTask, route_source
from etl.aws.log import logger
from etl.aws.outcome import Outcome
from etl.contracts import load_order, source_from_folder, source_list
from etl.errors import ConfigError, redact
from etl.extract.discover import SourceFile
from etl.extract.s3 import open_s3_object
from etl.notify import notify_run
from etl.pipeline import Pipeline, open_pipeline
from etl.settings import Settings


def process_objects(
    refs: Sequence[ObjectRef],
    settings: Settings,
    *,
    session: boto3.Session,
    allow_fargate: bool = True,
    stopped: Sequence[StoppedTask] = (),
) -> Outcome:
    """Load the objects with one Pipeline (one warehouse connection), follow up stopped Fargate tasks, then
    send the run summary."""
    outcome = Outcome()
    for task in stopped:
        fargate.follow_up(task, settings, session, outcome)
    work: list[tuple[SourceFile, ObjectRef]] = []
    s3 = session.client("s3")
    for ref in refs:
        folder = route_source(ref.key)
        if folder is None:
            note = f"ignored {ref.uri}: not a .csv under incoming/<source>/"
            logger.info(note)
            outcome.ignored.append(note)
        elif allow_fargate and fargate.wanted(ref, settings):
            fargate.hand_off(ref, settings, session, outcome)
        else:
            work.append((_source_file(ref, folder, s3), ref))
    work.sort(key=lambda pair: (load_order(pair[0].source), pair[0].uri))
    if work:
        _run(work, settings, outcome)
    if (summary := outcome.summary()) is not None:
        notify_run(summary, settings, session=session)
    return outcome


def _source_file(ref: ObjectRef, folder: str, s3: Any) -> SourceFile:
    source = source_from_folder(folder)
    reason = (
        None
        if source
        else f"unknown source folder '{folder}' in {ref.key}: use {source_list(prefix='incoming/', suffix='/')}"
    )
    opener = open_s3_object(ref.bucket, ref.key, version_id=ref.version_id, etag=ref.etag, s3_client=s3)
    # the logical file: <source>/<the key's part under incoming/<folder>/>, as for a local file
    logical = f"{source}/{ref.key.split('/', 2)[2]}" if source else None
    return SourceFile(ref.uri, ref.key.rsplit("/", 1)[-1], source, opener, reason, logical=logical)


def _run(work: list[tuple[SourceFile, ObjectRef]], settings: Settings, outcome: Outcome) -> None:
    files = [item for item, _ in work]
    pipeline: Pipeline | None = None
    try:
        with open_pipeline(settings) as pipeline:
            outcome.report = pipeline.run(files)
    except Exception as exc:
        partial = pipeline.report if pipeline is not None else None
        done = len(partial.files) if partial is not None else 0
        if partial is None or not done:  # the run as a whole did not happen: every object is delivered again
            outcome.config_error = isinstance(exc, ConfigError)
            outcome.error = redact(f"run failed before its files were processed: {exc}")
            logger.exception(outcome.error)
            outcome.failed.extend(ref for _, ref in work)
            return
        # Files were processed (the loaded ones are committed) and then the run failed, in the data tests
        # or on closing: their outcomes stand and are reported; files not reached are delivered again.
        outcome.report = partial
        outcome.error = redact(f"run failed after {done} of {len(work)} file(s) were processed: {exc}")
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
