"""The run's figures as CloudWatch metrics, written as EMF lines on stdout (Lambda ships them; elsewhere they
are just log lines: no PutMetricData call).

Two shapes: the invocation's counts with the dimension `service` (one EMF document, flushed by Powertools),
and `FilesLoaded` per source with the dimensions `service` and `source` (one document per source, written
at once), which the per-source freshness alarms read (Terraform, modules/monitoring).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from etl.aws.log import DEFAULT_METRICS_NAMESPACE, SERVICE
from etl.contracts import CONTRACTS

if TYPE_CHECKING:
    from etl.aws.outcome import Outcome


def run_metrics() -> Metrics:
    """The metrics of this invocation, under POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME as
    they are now (read per invocation, not at import)."""
    return Metrics(namespace=_namespace(), service=_service())


def _namespace() -> str:
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE


def _service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE


def emit_source_metrics(outcome: Outcome) -> None:
    """`FilesLoaded` of each source (its canonical name), with exactly the dimensions `service` and `source`,
    zero for a source with no file loaded in this invocation. An EMF document holds one set of dimension
    values, so each source is a document of its own, printed now (Powertools' single_metric)."""
    files = outcome.report.files if outcome.report else []
    for source in CONTRACTS:
        loaded = sum(f.status == "loaded" and f.source == source for f in files)
        with single_metric(
            name="FilesLoaded",
            unit=MetricUnit.Count,
            value=loaded,
            namespace=_namespace(),
            default_dimensions={"service": _service(), "source": source},
        ):
            pass


def add_run_metrics(metrics: Metrics, outcome: Outcome) -> None:
    """The invocation's counts: files by outcome, rows, Fargate follow-ups and failed data tests (zeros when
    nothing ran, so a quiet day is a series of zeros rather than no data). `log_metrics` flushes them."""
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
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
