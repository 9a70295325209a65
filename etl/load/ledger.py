"""The file ledger's rows: one per processed file, with its counts, status, error, timings and run.

Text that may not fit its column is shortened here: Redshift counts VARCHAR in bytes, an S3 key may be
1,024 bytes and a file name or error any length, and a ledger row that does not fit would fail the file's
transaction on every retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from etl.model import schema


@dataclass(frozen=True)
class LedgerRow:
    file_id: str
    source: str | None
    uri: str
    file_name: str
    bytes: int
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    rows_blank: int
    status: str
    error: str | None
    lake_uri: str | None
    quarantine_uri: str | None
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    run_id: str


LEDGER_BYTES = {c.name: c.length for c in schema.ETL_FILE_LEDGER.columns if c.length}


def fit_utf8(text: str, limit: int) -> str:
    """`text` within `limit` UTF-8 bytes (Redshift counts VARCHAR in bytes): when longer, its start and
    end with "…" between, cut on character boundaries. An S3 key may be 1,024 bytes, so a URI may not fit
    the ledger's VARCHAR(1024), and a long non-ASCII name not its VARCHAR(512)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len("…".encode())
    head = data[: room - room // 3].decode("utf-8", errors="ignore")
    tail = data[len(data) - room // 3 :].decode("utf-8", errors="ignore")
    return head + "…" + tail


class FileOutcome(Protocol):
    """What a run knows of one processed file (the pipeline's FileResult)."""

    file_id: str | None
    source: str | None
    status: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    rows_blank: int
    error: str | None
    lake_uri: str | None
    quarantine_uri: str | None


def ledger_row(
    uri: str, name: str, size: int, outcome: FileOutcome, *, started_at: datetime, run_id: str
) -> LedgerRow:
    """The ledger row of one processed file, finished now; texts are shortened to fit their columns."""
    finished_at = datetime.now(UTC).replace(tzinfo=None)
    return LedgerRow(
        file_id=outcome.file_id or "",
        source=outcome.source,
        uri=fit_utf8(uri, LEDGER_BYTES["uri"]),
        file_name=fit_utf8(name, LEDGER_BYTES["file_name"]),
        bytes=size,
        rows_in=outcome.rows_in,
        rows_loaded=outcome.rows_loaded,
        rows_quarantined=outcome.rows_quarantined,
        rows_blank=outcome.rows_blank,
        status=outcome.status,
        error=(outcome.error or None) and fit_utf8(outcome.error, LEDGER_BYTES["error"]),
        lake_uri=outcome.lake_uri,
        quarantine_uri=outcome.quarantine_uri,
        started_at=started_at,
        finished_at=finished_at,
        duration_ms=int((finished_at - started_at).total_seconds() * 1000),
        run_id=run_id,
    )
