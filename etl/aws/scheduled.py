"""Scheduled extraction on AWS: `etl extract` run by EventBridge Scheduler in the Lambda function, or in the
Fargate task for big pulls, writing to the raw bucket's `incoming/` so the S3 -> SQS -> Lambda path loads
the files like uploads.

The schedule's payload (the Lambda target's input) is one JSON object:

    {"etl": "extract", "names": ["core"], "full_refresh": false}

`names` lists extractions of the profile (`[[extract]]` entries) and may be left out for all of them;
`full_refresh` is optional. Any other key or type is refused in one line (a failure metric, nothing
extracted). The Fargate task runs the same with `python -m etl.handler extract NAME... [--full-refresh]`
(`extract_command`).

Metrics (EMF, dimension `service`): ExtractionsSucceeded, ExtractionsFailed and RowsExtracted; the
monitoring module alarms on ExtractionsFailed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from etl.aws.log import logger
from etl.errors import ConfigError, EtlError, first_line, hide_secrets, redact, url_secrets

if TYPE_CHECKING:
    import boto3
    from aws_lambda_powertools import Metrics

    from etl.settings import Settings

EXTRACT_PROGRAM = ("python", "-m", "etl.handler", "extract")
_KEYS = {"etl", "names", "full_refresh"}


@dataclass(frozen=True)
class ExtractRequest:
    """Which extractions to run (none named: every one of the profile's)."""

    names: tuple[str, ...] = ()
    full_refresh: bool = False


@dataclass
class ExtractOutcome:
    """What the scheduled run did: one result per extraction that ran, one line per one that failed."""

    results: list[dict[str, object]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retryable: bool = False  # a failure a later run may not meet (source or Secrets Manager unreachable)
    config_error: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"extracted": self.results, "errors": self.errors}


def is_extract_event(event: Any) -> bool:
    """An event meant for scheduled extraction: a JSON object with the key `etl` (checked by
    `parse_extract_event`)."""
    return isinstance(event, Mapping) and "etl" in event


def parse_extract_event(event: Mapping[str, Any]) -> ExtractRequest:
    """The request a scheduler payload makes; ConfigError, one line, for any other shape."""
    unknown = sorted(str(k) for k in event if k not in _KEYS)
    if unknown:
        raise ConfigError(
            f"scheduled payload: unknown key(s) {', '.join(unknown)} (keys: etl, names, full_refresh)"
        )
    if event.get("etl") != "extract":
        raise ConfigError(f'scheduled payload: etl is {event.get("etl")!r}; the only command is "extract"')
    names = event.get("names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ConfigError("scheduled payload: names must be a list of extraction names (strings)")
    full_refresh = event.get("full_refresh", False)
    if not isinstance(full_refresh, bool):
        raise ConfigError("scheduled payload: full_refresh must be true or false")
    return ExtractRequest(tuple(dict.fromkeys(n.strip() for n in names)), full_refresh)


def extract_command(request: ExtractRequest) -> list[str]:
    """The Fargate task's command for a request (the scheduler's ECS target sets it as an override)."""
    return [*EXTRACT_PROGRAM, *request.names, *(["--full-refresh"] if request.full_refresh else [])]


def run_extractions(
    request: ExtractRequest,
    settings: Settings,
    *,
    session: boto3.Session,
    env: Mapping[str, str] | None = None,
) -> ExtractOutcome:
    """Run the requested extractions into `settings.extract_out` (an S3 prefix); each failure is one line in
    the outcome and the others still run. The warehouse is only read (the marks)."""
    outcome = ExtractOutcome()
    try:
        entries = _entries(request, settings, session)
    except EtlError as exc:
        record_failure(outcome, exc, None)
        return outcome
    from etl.pull.run import extract, loaded_names, source_url

    for entry in entries:
        try:
            url = source_url(entry, os.environ if env is None else env, session=session)
            hide_secrets(url_secrets(url))  # from here on no message or log line can show its password
            done = extract(
                entry,
                url,
                settings.extract_out,
                loaded_names(settings, entry.folder),
                full_refresh=request.full_refresh,
                session=session,
            )
        except EtlError as exc:
            record_failure(outcome, exc, entry.name)
            continue
        except OSError as exc:  # the temporary file: /tmp full
            record_failure(
                outcome, EtlError(f"extraction {entry.name}: cannot write a temporary file: {exc}"), None
            )
            continue
        result = done.as_dict()
        outcome.results.append(result)
        logger.info("extracted", extra={"extraction": result})
    return outcome


def _entries(request: ExtractRequest, settings: Settings, session: boto3.Session) -> list[Any]:
    from etl.extract.s3 import read_object
    from etl.profiles import load_profile
    from etl.pull.run import select_extractions

    if not settings.extract_out.startswith("s3://"):
        raise ConfigError(
            f"ETL_EXTRACT_OUT is {settings.extract_out!r}: a scheduled extraction writes to "
            "s3://<raw bucket>/incoming (Terraform sets it)"
        )
    s3 = session.client("s3")
    profile = load_profile(settings.profile, read_s3=lambda uri: read_object(uri, s3_client=s3))
    if profile is None or not profile.extract:
        where = f"profile {profile.origin} has" if profile else "no profile (ETL_PROFILE):"
        raise ConfigError(f"{where} no [[extract]] entries to run")
    return select_extractions(profile, request.names)


def record_failure(outcome: ExtractOutcome, exc: EtlError, name: str | None) -> None:
    line = redact(first_line(exc))
    outcome.errors.append(line)
    outcome.retryable = outcome.retryable or bool(getattr(exc, "retryable", False))
    outcome.config_error = outcome.config_error or isinstance(exc, ConfigError)
    logger.error(line, extra={"extraction_name": name} if name else None)


def add_extract_metrics(metrics: Metrics, outcome: ExtractOutcome) -> None:
    """The run's counts; a refused payload or an unreadable profile counts as one failed extraction."""
    values = {
        "ExtractionsSucceeded": len(outcome.results),
        "ExtractionsFailed": len(outcome.errors),
        "RowsExtracted": sum(int(r["rows"]) for r in outcome.results),  # type: ignore[call-overload]
    }
    for name, value in values.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
