"""What one invocation did with its objects: the run report, the objects to deliver again, the ones ignored,
handed to Fargate or followed up, and the error that stopped the run, if any."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from etl.aws.events import ObjectRef
from etl.errors import redact_all
from etl.pipeline import RunReport


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
        """The report the handler logs and returns, no secret of the settings in it (`etl.errors.redact`)."""
        return redact_all(
            {
                "run": _compact(self.report.as_dict()) if self.report else None,
                "error": self.error,
                "retry": [ref.uri for ref in self.failed],
                "ignored": self.ignored,
                "handed_off": self.handed_off,
                "stopped_tasks": self.stopped_tasks,
            }
        )

    def summary(self) -> dict[str, Any] | None:
        """The run report the SNS/Slack summary describes (with the run error, if any); None if nothing ran."""
        if self.report is None:
            return None
        report = self.report.as_dict()
        return redact_all({**report, "error": self.error} if self.error else report)


def _compact(run: dict[str, Any]) -> dict[str, Any]:
    """The run with its data tests summarised: every test that did not pass, and how many did."""
    tests = run.get("data_tests") or []
    not_passed = [t for t in tests if t.get("status") != "pass"]
    return {**run, "data_tests": {"passed": len(tests) - len(not_passed), "not_passed": not_passed}}
