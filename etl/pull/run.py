"""One extraction: read the warehouse's mark, stream the source's rows into a CSV file, name it by its range.

Nothing here writes to the warehouse. The file lands in `<out>/<source>/<name>/` (a local folder or an S3
prefix, `etl.pull.destination`) only when complete, so `etl run` never sees half a file; the mark advances
only when `etl run` loads the file (its ledger row commits with its rows; see `etl.pull.marks`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl.arrowenv import arrow_without_pandas
from etl.errors import ConfigError, EtlError, SourceDatabaseError, WarehouseError, first_line
from etl.profiles import Extraction, Profile
from etl.pull.destination import Destination, destination
from etl.pull.marks import FULL_FILE, Mark, increment_name, mark_of, range_of
from etl.pull.source import build_query, csv_batch, cursor_kind, plan_columns, read_batches
from etl.settings import Settings

if TYPE_CHECKING:
    import boto3

LEDGER = "etl_file_ledger"


@dataclass(frozen=True)
class Extracted:
    """What one extraction wrote: its file (None when there was nothing new), rows and cursor range."""

    name: str
    source: str
    mode: str
    path: Path | None
    rows: int
    low: Mark | None = None  # read from (None: every row)
    high: Mark | None = None  # the largest cursor value written
    previous: Mark | None = None  # the mark the warehouse held
    removed: tuple[str, ...] = field(default_factory=tuple)  # pending increments this one replaces
    uri: str | None = None  # where the file is: its path, or s3://bucket/key

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "mode": self.mode,
            "path": self.uri or (None if self.path is None else str(self.path)),
            "rows": self.rows,
            "from": None if self.low is None else self.low.shown(),
            "to": None if self.high is None else self.high.shown(),
            "previous_mark": None if self.previous is None else self.previous.shown(),
            "replaced_pending": list(self.removed),
        }


def source_url(entry: Extraction, env: Mapping[str, str], *, session: boto3.Session | None = None) -> str:
    """The entry's database URL, from the environment variable it names (ConfigError when unset) or from
    its Secrets Manager secret (`etl.pull.secret`)."""
    if entry.url_secret:
        from etl.pull.secret import url_from_secret

        return url_from_secret(entry.name, entry.url_secret, session=session)
    assert entry.url_env is not None  # exactly one of them: the profile's validator
    url = env.get(entry.url_env, "").strip()
    if not url:
        raise ConfigError(
            f"extraction {entry.name}: environment variable {entry.url_env} (url_env) is not set: "
            "export the source database's URL in it"
        )
    return url


def select_extractions(profile: Profile, names: Iterable[str]) -> list[Extraction]:
    """The profile's extractions named (in that order, each once), or all of them when none is named;
    ConfigError naming the first unknown one. The command line and the scheduled run both choose this way."""
    known = {e.name: e for e in profile.extract}
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ConfigError(
            f"profile {profile.origin} has no extraction {unknown[0]!r} (it has {', '.join(known)})"
        )
    return [known[n] for n in wanted] if wanted else list(profile.extract)


def loaded_names(settings: Settings, folder: str) -> list[str]:
    """The logical names of the loaded files under `folder` (`<source>/<name>`), from the warehouse's
    ledger; none when the warehouse or its ledger does not exist yet."""
    from etl.load.warehouse import duckdb_path, open_warehouse

    url = settings.warehouse_url
    if url.lower().startswith("duckdb:"):
        where = duckdb_path(url)
        if where != ":memory:" and not Path(where).exists():
            return []
    try:
        with open_warehouse(settings) as warehouse:
            tables = warehouse.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                f"AND table_name = {warehouse.sql.param}",
                (LEDGER,),
            )
            if not tables:
                return []
            rows = warehouse.query(
                f"SELECT logical_name FROM {LEDGER} WHERE status = 'loaded' AND logical_name LIKE "
                f"{warehouse.sql.param}",
                (folder + "/%",),
            )
    except EtlError:
        raise
    except Exception as exc:
        raise WarehouseError(
            f"reading the extraction marks from {LEDGER} failed: {first_line(exc)}"
        ) from None
    return [str(name) for (name,) in rows if name]


def extract(
    entry: Extraction,
    url: str,
    out: Path | str,
    loaded: list[str],
    *,
    full_refresh: bool = False,
    session: boto3.Session | None = None,
) -> Extracted:
    """Extract one entry into `out` given the logical names of its loaded files; see the module's docstring."""
    arrow_without_pandas()  # pa.array of Python values would import pandas: 0.5 s of every extraction
    incremental = entry.mode == "incremental"
    try:
        previous = mark_of(loaded, entry.folder) if incremental else None
    except ValueError as exc:
        raise ConfigError(f"extraction {entry.name}: {exc}: run it with --full-refresh") from None
    low: Mark | None = None
    if previous is not None and not full_refresh:
        try:
            low = previous.minus(
                entry.lookback if isinstance(entry.lookback, int) else None, entry.lookback_seconds()
            )
        except ValueError as exc:
            raise ConfigError(f"extraction {entry.name}: lookback {entry.lookback!r} {exc}") from None
    folder = destination(out, entry.folder, session=session)
    partial = folder.staging()
    try:
        rows, high = _write(entry, url, build_query(entry, low, url), partial, previous)
        if incremental and (high is None or rows == 0):
            partial.unlink()
            return Extracted(entry.name, entry.source, entry.mode, None, 0, low, None, previous)
        if incremental and high is not None and previous is not None and high < previous and not full_refresh:
            raise SourceDatabaseError(
                f"extraction {entry.name}: cursor {entry.cursor} went backwards: its largest value is "
                f"{high.shown()}, but rows up to {previous.shown()} were loaded already (restored or rewritten "
                "source?): check it, then run with --full-refresh"
            )
        assert high is not None or not incremental
        final, uri = folder.publish(partial, increment_name(low, high) if incremental and high else FULL_FILE)
    finally:
        partial.unlink(missing_ok=True)
    removed = _replace_pending(folder, entry, loaded, final.name, high) if incremental else ()
    return Extracted(entry.name, entry.source, entry.mode, final, rows, low, high, previous, removed, uri)


def _write(
    entry: Extraction, url: str, sql: str, path: Path, previous: Mark | None
) -> tuple[int, Mark | None]:
    """Stream the result of `sql` into the CSV file at `path`: (rows, the largest cursor value)."""
    rows, nulls, high = 0, 0, None
    with read_batches(entry, url, sql) as (schema, batches):
        plans = plan_columns(schema, entry)
        kind = cursor_kind(schema, entry) if entry.mode == "incremental" else None
        if kind is not None and previous is not None and previous.kind != kind:
            raise ConfigError(
                f"extraction {entry.name}: cursor {entry.cursor} is now a {kind}, but the loaded increments' "
                f"marks are {previous.kind}s: run it with --full-refresh"
            )
        header = csv_batch(pa.RecordBatch.from_pylist([], schema=schema), plans).schema
        with path.open("wb") as sink:
            with pacsv.CSVWriter(sink, header) as writer:  # the header even when there is no row
                for batch in batches:
                    writer.write_batch(csv_batch(batch, plans))
                    rows += batch.num_rows
                    if kind is None:
                        continue
                    column = batch.column(entry.cursor or "")
                    nulls += column.null_count
                    top = pc.max(column).as_py()
                    if top is not None and (high is None or top > high.value):
                        high = Mark(kind, top)
            sink.flush()
            os.fsync(sink.fileno())
    if nulls:
        raise SourceDatabaseError(
            f"extraction {entry.name}: {nulls} row(s) have no value in cursor {entry.cursor}: an increment "
            "cannot place them; give them a value, or filter them out in a query"
        )
    return rows, high


def _replace_pending(
    folder: Destination, entry: Extraction, loaded: list[str], final: str, high: Mark | None
) -> tuple[str, ...]:
    """Remove the increments of this entry that were extracted but never loaded and that the new file
    covers (a crash, or no `etl run`, between two extractions): loading them after it would put older values
    back."""
    done = {name.rsplit("/", 1)[-1] for name in loaded if name.startswith(entry.folder + "/")}
    removed = []
    for name in folder.names():
        found = range_of(name)
        if name == final or name in done or found is None or high is None:
            continue
        if found[1].kind == high.kind and found[1] <= high:
            folder.remove(name)
            removed.append(name)
    return tuple(removed)
