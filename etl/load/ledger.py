"""The file ledger's rows: one per processed file, with its counts, status, error, timings and run.

Text that may not fit its column is shortened here: Redshift counts VARCHAR in bytes, an S3 key may be
1,024 bytes and a file name or error any length, and a ledger row that does not fit would fail the file's
transaction on every retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
