"""What a run reports: one FileResult per file and the data-test results, with the run's exit code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from etl.errors import EtlError, FileRejected
from etl.load.warehouse.base import LoadCounts
from etl.quality import DataTestResult


@dataclass
class FileResult:
    path: str
    source: str | None
    status: str  # loaded | skipped_duplicate | rejected | failed
    file_id: str | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_blank: int = 0
    error: str | None = None
    retryable: bool = False
    lake_uri: str | None = None
    quarantine_uri: str | None = None
    duration_ms: int = 0
    # What the load did key by key (etl.load.warehouse.base.LoadCounts); 0 for a file not loaded
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_removed: int = 0
    rows_conflicting: int = 0
    # What was read: the profile layout that read the file ("<profile>: <source>[/<folder>]"), the columns
    # it had that the load does not read, the optional ones it lacked, and notes on what was ignored
    layout: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def record(self, counts: LoadCounts) -> None:
        self.rows_inserted, self.rows_updated, self.rows_unchanged = (
            counts.inserted,
            counts.updated,
            counts.unchanged,
        )
        self.rows_removed, self.rows_conflicting = counts.removed, counts.conflicting


@dataclass
class RunReport:
    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    files: list[FileResult] = field(default_factory=list)
    data_tests: list[DataTestResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if any(f.status in {"rejected", "failed"} for f in self.files):
            return 1
        if any(t.status == "fail" and t.severity == "error" for t in self.data_tests):
            return 3
        return 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "exit_code": self.exit_code,
            "files": [{k: v for k, v in asdict(f).items() if k not in {"retryable"}} for f in self.files],
            "data_tests": [t.as_dict() for t in self.data_tests],
        }


Progress = Callable[[str, int], None]  # ("start:<name>", size) | ("bytes", n) | ("rows", n) | ("done", 0)


def record_error(result: FileResult, exc: Exception) -> None:
    """Set the status and one-line error of a file that did not load."""
    if isinstance(exc, FileRejected):
        result.status, result.error = "rejected", exc.message
        result.rows_in = result.rows_quarantined = 0
    elif isinstance(exc, OSError):  # our own disk (scratch space, temp files): the same file may load later
        result.status, result.retryable = "failed", True
        where = f" ({exc.filename})" if exc.filename else ""
        result.error = f"local I/O error: {exc.strerror or exc}{where}"
    elif isinstance(exc, EtlError):
        result.status, result.error, result.retryable = "failed", exc.message, exc.retryable
    else:  # a defect must fail this file only, never the other files of the run
        lines = str(exc).strip().splitlines()
        result.status, result.retryable = "failed", False
        result.error = f"internal error ({type(exc).__name__}): {lines[0] if lines else ''}"
