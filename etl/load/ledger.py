"""The file ledger's rows: one per processed file, with its counts, status, error, timings and run.

Text that may not fit its column is shortened here: Redshift counts VARCHAR in bytes, an S3 key may be
1,024 bytes and a file name or error any length, and a ledger row that does not fit would fail the file's
transaction on every retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.contracts import SourceContract
from etl.model import schema
from etl.normalize.validate import MAX_ID_BYTES, TRIMMED_CHARS


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
    logical_name: str | None = None
    replay_of: str | None = None
    superseded_by: str | None = None
    rows_inserted: int | None = None
    rows_updated: int | None = None
    rows_unchanged: int | None = None
    rows_removed: int | None = None
    rows_conflicting: int | None = None
    layout: str | None = None
    extra_columns: str | None = None
    missing_columns: str | None = None


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
    layout: str | None
    extra_columns: list[str]
    missing_columns: list[str]


def ledger_row(
    uri: str,
    name: str,
    size: int,
    outcome: FileOutcome,
    *,
    started_at: datetime,
    run_id: str,
    logical_name: str | None = None,
    replay_of: str | None = None,
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
        logical_name=None if logical_name is None else fit_utf8(logical_name, LEDGER_BYTES["logical_name"]),
        replay_of=replay_of,
        layout=outcome.layout and fit_utf8(outcome.layout, LEDGER_BYTES["layout"]),
        extra_columns=_listed(outcome.extra_columns, LEDGER_BYTES["extra_columns"]),
        missing_columns=_listed(outcome.missing_columns, LEDGER_BYTES["missing_columns"]),
    )


def _listed(names: list[str], limit: int) -> str | None:
    return fit_utf8(", ".join(names), limit) if names else None


QUARANTINE_REASON_CHARS = 250  # at most 1,000 UTF-8 bytes: etl_quarantine.reason is VARCHAR(1024)


def quarantine_by_key(stored: Path, out: Path, contract: SourceContract, file_id: str) -> Path | None:
    """The quarantined rows of a file (the lake's quarantine Parquet at `stored`) as etl_quarantine rows at
    `out`: line, rule, column, the natural key as loading normalises it (NULL when empty or too long to be
    one) and the reason, shortened. None when the file quarantined nothing."""
    source = pq.ParquetFile(stored)
    if source.metadata.num_rows == 0:
        return None
    spec = schema.ETL_QUARANTINE
    with pq.ParquetWriter(out, spec.arrow_schema) as writer:
        for batch in source.iter_batches(columns=["source_row", "rule", "column", "reason", contract.key]):
            n = batch.num_rows
            key = pc.utf8_trim(batch.column(contract.key), characters=TRIMMED_CHARS)
            usable = pc.and_(
                pc.greater(pc.binary_length(key), 0), pc.less_equal(pc.binary_length(key), MAX_ID_BYTES)
            )
            writer.write_table(
                pa.table(
                    {
                        "file_id": pa.repeat(pa.scalar(file_id, pa.string()), n),
                        "source_row": batch.column("source_row"),
                        "source": pa.repeat(pa.scalar(contract.name, pa.string()), n),
                        "rule": batch.column("rule"),
                        "column_name": batch.column("column"),
                        "key_value": pc.if_else(
                            pc.fill_null(usable, False), key, pa.scalar(None, pa.string())
                        ),
                        "reason": pc.utf8_slice_codeunits(batch.column("reason"), 0, QUARANTINE_REASON_CHARS),
                    },
                    schema=spec.arrow_schema,
                )
            )
    return out
