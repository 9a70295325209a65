"""The run's figures as CloudWatch metrics, written as EMF lines on stdout (Lambda ships them; elsewhere they
are just log lines: no PutMetricData call)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from etl.aws.log import DEFAULT_METRICS_NAMESPACE, SERVICE

if TYPE_CHECKING:
    from etl.aws.outcome import Outcome


def run_metrics() -> Metrics:
    """The metrics of this invocation, under POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME as
    they are now (read per invocation, not at import)."""
    return Metrics(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
        service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE,
    )


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
