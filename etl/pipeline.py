"""One run: discover files, then for each file stream -> validate -> model -> lake -> warehouse, then data tests.

The per-file work is a sequence of pure steps (validate, build facts) between two I/O edges (the raw
stream and the lake/warehouse), all passed in.
"""

from __future__ import annotations

import io
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl import interrupt
from etl.contracts import CONTRACTS, SOURCE_ORDER, SourceContract, SourceName, source_from_folder
from etl.errors import ConfigError, EtlError, FileRejected, SourceChanged
from etl.extract.reader import MalformedRow, fingerprint, iter_chunks, read_into, sniff_layout
from etl.load.lake import Lake
from etl.load.warehouse.base import FileLoad, LedgerRow, Warehouse
from etl.model import schema, star
from etl.normalize.categories import CategoryRule, load_category_rules
from etl.normalize.validate import TRIMMED_CHARS, Validated, quarantine_schema, validate
from etl.quality import DataTestResult, run_data_tests
from etl.settings import Settings
from etl.timing import NullTimer, StageTimer

DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "loan_applications": ("loan_application_date", "decision_date"),
    "bank_statements": ("transaction_date",),
    "repayments": ("due_date", "paid_date"),
}
PARQUET_COMPRESSION = "zstd"
READ_AHEAD = 1  # parsed chunks waiting for validation: parsing the next overlaps work on this one
DUPLICATE_CHECK_ROWS = 5_000_000  # keys per partition of the duplicate check (bounds its memory)
WRITE_BEHIND = 1  # chunks waiting for each stage behind validation (modelling, then the Parquet writer)
QUARANTINE_META = [
    pa.field("file_id", pa.string()),
    pa.field("source_uri", pa.string()),
    pa.field("run_id", pa.string()),
    pa.field("quarantined_at", pa.timestamp("us")),
]


@dataclass(frozen=True)
class SourceFile:
    """A raw file to load, wherever it lives: `open` returns a fresh binary stream from the start."""

    uri: str
    name: str
    source: SourceName | None
    open: Callable[[], BinaryIO]
    reason: str | None = None  # why the source could not be told
    # A cheap token of the content's version (local files: size, mtime, inode), compared before and after
    # each read; None where every read is pinned to one version anyway (S3 objects, by VersionId or ETag).
    stamp: Callable[[], tuple[int, ...]] | None = None


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


def discover(paths: Sequence[str | Path], source: str | None = None) -> list[SourceFile]:
    """Files to load, in load order: applications first, so statements and repayments find their customers."""
    forced: SourceName | None = None
    if source is not None:
        forced = source_from_folder(source)
        if forced is None:
            raise ConfigError(
                f"unknown source {source!r}: use loan_applications, bank_statements or repayments"
            )
    found: list[SourceFile] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = [p for p in _visible_files(path) if p.suffix.lower() == ".csv"]
        elif path.is_file():
            files = [path]
        elif os.path.lexists(path):  # a FIFO, a device, a dangling or looping link
            raise ConfigError(f"not a regular file or folder: {path}")
        else:
            raise ConfigError(f"no such file or folder: {path}")
        found.extend(_local_file(p, forced) for p in files)
    return sorted(found, key=lambda f: (SOURCE_ORDER.get(f.source or "", 99), f.uri))


def not_loaded(paths: Sequence[str | Path]) -> list[Path]:
    """Files in the given folders that `discover` leaves out because they are not .csv (hidden ones aside)."""
    left: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            left.extend(p for p in _visible_files(path) if p.suffix.lower() != ".csv")
    return left


def _visible_files(folder: Path) -> list[Path]:
    """The files below `folder`, sorted, leaving out hidden ones and those in hidden folders.

    A folder that cannot be read is an error: read as empty (as `Path.rglob` does), its files would be left
    out without a word. Links to folders are not followed.
    """

    def unreadable(exc: OSError) -> None:
        raise ConfigError(f"cannot read folder {exc.filename}: {exc.strerror or exc}")

    found: list[Path] = []
    for root, folders, names in os.walk(folder, onerror=unreadable):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found.extend(p for name in names if not name.startswith(".") and (p := Path(root, name)).is_file())
    return sorted(found)


def _local_file(path: Path, forced: SourceName | None) -> SourceFile:
    # The nearest enclosing folder that names a source, as on S3 (incoming/<source>/any/depth/file.csv).
    detected = forced or next(
        (found for parent in path.resolve().parents if (found := source_from_folder(parent.name))), None
    )
    reason = (
        None
        if detected
        else (
            f"cannot tell the source from folder '{path.parent.name}': put the file under loan_applications/, "
            "bank_statements/ or repayments/, or pass --source"
        )
    )
    return SourceFile(str(path), path.name, detected, lambda: path.open("rb"), reason, partial(_stamp, path))


def _stamp(path: Path) -> tuple[int, ...]:
    try:
        info = path.stat()
    except OSError:
        return ()
    return (info.st_size, info.st_mtime_ns, info.st_ino)


@dataclass(frozen=True)
class Identity:
    file_id: str  # content SHA-256
    size: int
    head: bytes  # the first bytes, for sniffing the layout
    stamp: tuple[int, ...] | None  # the source's version token when it was hashed (SourceFile.stamp)


def identify(item: SourceFile) -> Identity:
    """The file's content hash, size and head (see `fingerprint`).

    FileRejected when it cannot be read; SourceChanged (retryable) when its stamp moved while it was hashed.
    """
    before = item.stamp() if item.stamp else None
    try:
        with item.open() as stream:
            file_id, size, head = fingerprint(stream)
    except OSError as exc:  # the source itself cannot be read (missing, a folder, no permission)
        raise FileRejected(f"unreadable: {exc.strerror or exc}") from None
    if item.stamp and item.stamp() != before:
        raise SourceChanged("changed while it was being hashed (still being written?); load it again later")
    return Identity(file_id, size, head, before)


def _check_unchanged(item: SourceFile, ident: Identity, read: int) -> None:
    """The parse read the content that was hashed: the file is hashed ahead of its turn, and a file still
    being written or replaced since would be recorded under the hash of another content."""
    if read != ident.size or (item.stamp is not None and item.stamp() != ident.stamp):
        raise SourceChanged(
            f"changed while it was being loaded ({ident.size} bytes hashed, {read} read; "
            "still being written?); load it again later"
        )


def use_memory_pool(name: str) -> None:
    """Make `name` the process's default Arrow allocator (a build without it keeps the current one).

    The pipeline's threads free and allocate chunk-sized buffers all the time; jemalloc returns them to
    the system sooner than pyarrow's default mimalloc: at 1M statement rows peak RSS drops from about
    500 MB to about 400 MB, at the same speed.
    """
    pools: dict[str, Callable[[], pa.MemoryPool]] = {
        "jemalloc": pa.jemalloc_memory_pool,
        "mimalloc": pa.mimalloc_memory_pool,
        "system": pa.system_memory_pool,
    }
    try:
        pool = pools[name]()
    except NotImplementedError:  # a pyarrow built without that allocator
        return
    if pa.default_memory_pool().backend_name != pool.backend_name:
        pa.set_memory_pool(pool)


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        lake: Lake,
        warehouse: Warehouse,
        *,
        rules: Sequence[CategoryRule] | None = None,
        progress: Progress | None = None,
        timer: StageTimer | None = None,
    ) -> None:
        self.settings = settings
        use_memory_pool(settings.arrow_memory_pool)
        self.timer = timer or NullTimer()
        self.lake = lake
        self.warehouse = warehouse
        self.rules = list(rules) if rules is not None else load_category_rules()
        self.progress = progress or (lambda event, n: None)
        self.run_id = uuid.uuid4().hex[:16]
        self.report: RunReport | None = None  # the current or last run's report, as far as it got

    def prepare(self) -> None:
        self.warehouse.ensure_schema(
            [
                (schema.DIM_CREDIT_BAND, star.build_dim_credit_band()),
                (schema.DIM_TRANSACTION_CATEGORY, star.build_dim_transaction_category(self.rules)),
            ]
        )

    def run(self, files: Iterable[SourceFile], *, with_tests: bool = True) -> RunReport:
        report = self.report = RunReport(self.run_id, _now())  # so far, also when the run raises
        self.prepare()
        items = list(files)
        # Each file's content hash is computed while the file before it loads: hashing releases the GIL, and
        # the next file's identity is ready when its turn comes (on S3 its first read overlaps too).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="etl-identify") as pool:
            ahead = pool.submit(identify, items[0]) if items else None
            for i, item in enumerate(items):
                identity, ahead = ahead, (pool.submit(identify, items[i + 1]) if i + 1 < len(items) else None)
                report.files.append(self.process(item, identity))
                if interrupt.requested():  # a client may have swallowed it whole in a statement that ended
                    raise KeyboardInterrupt
        if with_tests:
            with self.timer.stage("data_tests"):
                report.data_tests = run_data_tests(self.warehouse, self.run_id, _now())
            if interrupt.requested():
                raise KeyboardInterrupt
        report.finished_at = _now()
        return report

    # ---- one file ------------------------------------------------------------------------------------
    def process(self, item: SourceFile, identity: Future[Identity] | None = None) -> FileResult:
        """Load one file; `identity` is its `identify` already under way (else it is computed here)."""
        started = _now()
        clock = time.perf_counter()
        result = FileResult(item.uri, item.source, "failed")
        size = 0
        try:
            ident = identity.result() if identity is not None else identify(item)
            result.file_id, size = ident.file_id, ident.size
            self.progress(f"start:{item.name}", size)
            loaded_as = self.warehouse.loaded_source(result.file_id)
            if loaded_as is not None:
                if item.source is not None and loaded_as and loaded_as != item.source:
                    raise FileRejected(
                        f"the same content was already loaded as {loaded_as}: it cannot also be {item.source}"
                    )
                result.status = "skipped_duplicate"
            elif item.source is None:
                raise FileRejected(item.reason or "unknown source")
            else:
                self._load(item, item.source, result, started, ident)
        except Exception as exc:
            # Ctrl-C inside a warehouse statement: stop the run, not just this file
            if self._interrupted(exc):
                raise KeyboardInterrupt from None
            _record_error(result, exc)
        if result.status != "loaded":
            # Nothing of it is in the warehouse, whatever was read: it counts no rows and names no lake object
            # (an attempt that failed in the warehouse leaves its lake objects for the next one to overwrite).
            result.rows_in = result.rows_loaded = result.rows_quarantined = result.rows_blank = 0
            result.lake_uri = result.quarantine_uri = None
        result.duration_ms = int((time.perf_counter() - clock) * 1000)
        if result.status in {"rejected", "failed"} and result.file_id:
            self._record_failure(item, result, size, started)
        self.progress("done", 0)
        return result

    def _interrupted(self, exc: BaseException) -> bool:
        """Whether `exc` or an error it caused or replaced reports Ctrl-C (as a backend's own exception)."""
        if interrupt.requested():
            return True
        seen: set[int] = set()
        at: BaseException | None = exc
        while at is not None and id(at) not in seen:
            if isinstance(at, KeyboardInterrupt) or self.warehouse.is_interrupt(at):
                return True
            seen.add(id(at))
            at = at.__cause__ or at.__context__
        return False

    def _record_failure(self, item: SourceFile, result: FileResult, size: int, started: datetime) -> None:
        try:
            self.warehouse.record_ledger(self._ledger(item, result, size, started))
        except Exception as exc:  # the run report still carries the rejection
            if not result.error:
                result.error = str(exc)

    def _ledger(self, item: SourceFile, result: FileResult, size: int, started: datetime) -> LedgerRow:
        finished = _now()
        return LedgerRow(
            file_id=result.file_id or "",
            source=result.source,
            uri=fit_utf8(item.uri, _LEDGER_BYTES["uri"]),
            file_name=fit_utf8(item.name, _LEDGER_BYTES["file_name"]),
            bytes=size,
            rows_in=result.rows_in,
            rows_loaded=result.rows_loaded,
            rows_quarantined=result.rows_quarantined,
            rows_blank=result.rows_blank,
            status=result.status,
            error=(result.error or None) and fit_utf8(result.error, _LEDGER_BYTES["error"]),
            lake_uri=result.lake_uri,
            quarantine_uri=result.quarantine_uri,
            started_at=started,
            finished_at=finished,
            duration_ms=int((finished - started).total_seconds() * 1000),
            run_id=self.run_id,
        )

    def _load(
        self,
        item: SourceFile,
        source: SourceName,
        result: FileResult,
        started: datetime,
        ident: Identity,
    ) -> None:
        contract = CONTRACTS[source]
        file_id, size = ident.file_id, ident.size
        layout = sniff_layout(ident.head, size, contract)
        loaded_at = _now()
        spec = schema.TABLES[contract.fact_table]
        with self.lake.workspace(file_id) as work:
            fact_path, quarantine_path = work / "fact.parquet", work / "quarantine.parquet"
            q_schema = pa.schema([*quarantine_schema(contract), *QUARANTINE_META])
            dates: list[date] = []
            timer = self.timer

            def model_and_write(checked: Validated, malformed: list[MalformedRow]) -> None:
                with timer.stage("model"):
                    fact = self._build(source, checked.valid, file_id, loaded_at)
                    bad = pa.concat_tables([checked.quarantine, _malformed_table(malformed, contract)])
                    if bad.num_rows:
                        bad = self._quarantine_rows(bad, contract, item, file_id, loaded_at)
                    dates.extend(_date_bounds(fact, DATE_COLUMNS[source]))
                result.rows_quarantined += bad.num_rows  # read by the main thread after the join only
                writer.submit(partial(_write_parts, facts, fact, quarantine, bad, timer))

            with (
                item.open() as stream,
                pq.ParquetWriter(fact_path, spec.arrow_schema, **fact_parquet_options(spec)) as facts,
                pq.ParquetWriter(quarantine_path, q_schema, compression=PARQUET_COMPRESSION) as quarantine,
            ):
                counted = _CountingStream(stream, self.progress)
                chunks = iter_chunks(counted, layout, block_size=self.settings.chunk_bytes)
                with (
                    _read_ahead(chunks, timer) as ahead,
                    _WriteBehind("etl-writer") as writer,
                    _WriteBehind("etl-model") as behind,
                ):
                    for chunk, malformed, blanks in ahead:
                        with timer.stage("validate"):
                            checked = validate(chunk, contract)
                        # Four stages on four threads, a chunk or so apart: read, validate, model, write.
                        behind.submit(partial(model_and_write, checked, malformed))
                        result.rows_in += chunk.num_rows + len(malformed)
                        result.rows_blank += blanks
                        self.progress("rows", chunk.num_rows)
                        del chunk, checked  # let the next chunk reuse the memory
            _check_unchanged(item, ident, counted.total)
            pa.default_memory_pool().release_unused()  # the chunks' buffers, before DuckDB needs memory
            with timer.stage("lake"):
                dupes = _duplicates(
                    fact_path,
                    quarantine_path,
                    contract.key,
                    work,
                    self.settings.duckdb_memory_limit,
                    result.rows_in,
                )
                if dupes.num_rows:
                    fact_path = self._remove_duplicates(
                        fact_path, dupes, contract, item, file_id, loaded_at, quarantine_path, q_schema, work
                    )
                    result.rows_quarantined += dupes.num_rows
                result.rows_loaded = result.rows_in - result.rows_quarantined
                result.lake_uri = self.lake.curated_uri(spec.name, file_id)
                self.lake.publish(fact_path, result.lake_uri, table=spec.name, kind="curated")
                if result.rows_quarantined:
                    result.quarantine_uri = self.lake.quarantine_uri(source, file_id)
                    self.lake.publish(
                        quarantine_path,
                        result.quarantine_uri,
                        table=f"quarantine_{source}",
                        kind="quarantine",
                    )
            result.status = "loaded"
            dim_dates = (
                star.build_dim_date(min(dates), max(dates))
                if dates
                else schema.DIM_DATE.arrow_schema.empty_table()
            )
            load = FileLoad(
                source,
                spec,
                fact_path,
                result.lake_uri,
                dim_dates,
                self._ledger(item, result, size, started),
                loaded_at,
            )
            with timer.stage("warehouse"):
                loaded = self.warehouse.load_file(load)
            if not loaded:  # another run committed the same content first: this one added nothing
                result.status = "skipped_duplicate"
                result.rows_in = result.rows_quarantined = result.rows_blank = 0

    def _build(self, source: SourceName, valid: pa.Table, file_id: str, loaded_at: datetime) -> pa.Table:
        if source == "bank_statements":
            return star.build_fact_bank_transaction(
                valid, file_id, loaded_at, self.rules, mask_narration=self.settings.mask_narration
            )
        return star.FACT_BUILDERS[source](valid, file_id, loaded_at)

    def _quarantine_rows(
        self, bad: pa.Table, contract: SourceContract, item: SourceFile, file_id: str, at: datetime
    ) -> pa.Table:
        n = bad.num_rows
        if self.settings.mask_narration and contract.name == "bank_statements":
            bad = bad.set_column(
                bad.schema.get_field_index("narration"), "narration", star.mask_text(bad.column("narration"))
            )
            bad = bad.set_column(
                bad.schema.get_field_index("raw_line"), "raw_line", star.mask_text(bad.column("raw_line"))
            )
        meta = [
            pa.repeat(pa.scalar(file_id, pa.string()), n),
            pa.repeat(pa.scalar(item.uri, pa.string()), n),
            pa.repeat(pa.scalar(self.run_id, pa.string()), n),
            pa.repeat(pa.scalar(at, pa.timestamp("us")), n),
        ]
        return pa.Table.from_arrays([*bad.columns, *meta], schema=pa.schema([*bad.schema, *QUARANTINE_META]))

    def _remove_duplicates(
        self,
        fact_path: Path,
        dupes: pa.Table,
        contract: SourceContract,
        item: SourceFile,
        file_id: str,
        at: datetime,
        quarantine_path: Path,
        q_schema: pa.Schema,
        work: Path,
    ) -> Path:
        """Quarantine as duplicate_key the valid rows that a later occurrence of their key supersedes."""
        rows = dupes.column("source_row")
        kept_path = work / "fact.dedup.parquet"
        dropped: list[pa.Table] = []
        source_file = pq.ParquetFile(fact_path)
        spec = schema.TABLES[contract.fact_table]
        with pq.ParquetWriter(kept_path, source_file.schema_arrow, **fact_parquet_options(spec)) as out:
            for batch in source_file.iter_batches(batch_size=250_000):
                table = pa.Table.from_batches([batch])
                is_dupe = pc.is_in(table.column("source_row"), value_set=rows)
                out.write_table(table.filter(pc.invert(is_dupe)))
                dropped.append(table.filter(is_dupe))
        earlier = pa.concat_tables(dropped)
        kept = pc.index_in(earlier.column("source_row"), value_set=rows)
        kept_line = pc.cast(pc.take(dupes.column("kept_row"), kept), pa.string())
        superseded_by = pc.if_else(
            pc.take(dupes.column("kept_valid"), kept),
            pa.scalar(""),
            pc.binary_join_element_wise(
                "; line ", kept_line, " is quarantined itself, so no row of this key loads", ""
            ),
        )
        key_text = pc.cast(earlier.column(contract.key), pa.string())
        reason = pc.binary_join_element_wise(
            f"duplicate {contract.key} '",
            key_text,
            "': line ",
            kept_line,
            " holds a later occurrence, which supersedes this one",
            superseded_by,
            "",
        )
        n = earlier.num_rows
        originals = {
            c: (
                pc.cast(earlier.column(c), pa.string())
                if c in earlier.column_names
                else pa.nulls(n, pa.string())
            )
            for c in contract.names
        }
        table = pa.table(
            {
                "source_row": earlier.column("source_row"),
                "rule": pa.repeat(pa.scalar("duplicate_key"), n),
                "column": pa.repeat(pa.scalar(contract.key), n),
                "reason": reason,
                **originals,
                "raw_line": pa.nulls(n, pa.string()),
            },
            schema=quarantine_schema(contract),
        )
        merged = work / "quarantine.all.parquet"
        with pq.ParquetWriter(merged, q_schema, compression=PARQUET_COMPRESSION) as out:
            if quarantine_path.exists():
                for batch in pq.ParquetFile(quarantine_path).iter_batches():
                    out.write_batch(batch)
            out.write_table(self._quarantine_rows(table, contract, item, file_id, at))
        merged.replace(quarantine_path)
        return kept_path


def _record_error(result: FileResult, exc: Exception) -> None:
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


def fact_parquet_options(spec: schema.TableSpec) -> dict[str, Any]:
    """zstd, with dictionary encoding only where values repeat, and min/max statistics only where they prune.

    Trying a dictionary on the natural key, the line number and amounts (nearly all distinct) and falling
    back costs about a quarter of the write time; the repeating columns (ids, dates, categories,
    narrations) still get one, which also makes the files smaller (1M statements: 13 MB instead of 18).
    Min/max statistics of unsorted text (ids, narrations, categories) let no engine skip a row group but
    cost 13% of the write: they are kept for numbers, dates and timestamps only.
    """
    unique_ish = {*spec.key, "source_row"}
    repeating = [
        f.name for f in spec.arrow_schema if f.name not in unique_ish and not pa.types.is_decimal(f.type)
    ]
    ranged = [f.name for f in spec.arrow_schema if not pa.types.is_string(f.type)]
    return {"compression": PARQUET_COMPRESSION, "use_dictionary": repeating, "write_statistics": ranged}


def _write_parts(
    facts: pq.ParquetWriter, fact: pa.Table, quarantine: pq.ParquetWriter, bad: pa.Table, timer: StageTimer
) -> None:
    with timer.stage("lake"):
        facts.write_table(fact)
        if bad.num_rows:
            quarantine.write_table(bad)


class _WriteBehind:
    """Runs submitted jobs in order on one background thread, at most WRITE_BEHIND of them waiting.

    pyarrow's kernels and Parquet encoding release the GIL, so a chunk is modelled on one such thread and
    written on another while the next one is validated (1M rows: 0.05-0.08 s faster than modelling and
    writing on one thread, for about 25 MB more peak RSS). A job's
    exception is raised by the next `submit` or on leaving; leaving early (an exception in the producer)
    drops what is still queued and waits for the job in hand.
    """

    def __init__(self, name: str = "etl-writer") -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=WRITE_BEHIND)
        self._error: BaseException | None = None
        self._abandon = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    def __enter__(self) -> _WriteBehind:
        self._thread.start()
        return self

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        self._jobs.put(job)

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is not None:
            self._abandon.set()
        self._jobs.put(None)
        self._thread.join()
        if kind is None:
            self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None and not self._abandon.is_set():
                try:
                    job()
                except BaseException as exc:  # handed to the producer, which raises it
                    self._error = exc


@contextmanager
def _read_ahead[T](chunks: Iterator[T], timer: StageTimer) -> Iterator[Iterator[T]]:
    """Pull `chunks` on a reader thread, at most READ_AHEAD items ahead of the consumer.

    pyarrow parses with the GIL released, so the next chunk is parsed while this one is validated. The
    reader's exceptions (a file rejected halfway) are raised in the consumer; leaving early stops the reader
    before the stream it reads is closed.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            while True:
                with timer.stage("read"):
                    item = next(chunks, _END)
                if item is _END or not put(("item", item)):
                    break
        except BaseException as exc:  # handed to the consumer, which raises it
            put(("error", exc))
            return
        put(("end", None))

    def consume() -> Iterator[T]:
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    thread = threading.Thread(target=produce, name="etl-reader", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()


_END: Any = object()


class _CountingStream(io.RawIOBase):
    """Counts the bytes read and reports them, for progress bars."""

    def __init__(self, inner: BinaryIO, progress: Progress) -> None:
        self.inner, self.progress = inner, progress
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = read_into(self.inner, memoryview(buffer).cast("B"))
        if n:
            self.total += n
            self.progress("bytes", n)
        return n


def _duplicates(
    path: Path, quarantined: Path, key: str, work: Path, memory_limit: str, rows: int
) -> pa.Table:
    """Valid rows whose key occurs again later in the file, with the line of the last occurrence.

    Quarantined rows count as occurrences too: when the last copy of a key is invalid, the earlier valid
    copy must not load in its place (it is the stale version the file meant to replace).

    The keys are checked in hash partitions of at most DUPLICATE_CHECK_ROWS rows (`rows` is the file's
    count): DuckDB's distinct count holds every key hash of what it checks at once. At 10M rows one pass
    takes 0.6 s and raises the peak RSS by 35 MB over the streaming phase's; two partitions take 0.9 s
    and stay under it (ten partitions of 1M: 2.4 s).
    """
    con = duckdb.connect(
        ":memory:", config={"memory_limit": memory_limit, "temp_directory": str(work / "duck")}
    )
    fact = str(path).replace("'", "''")  # our own scratch paths, never user text
    bad = str(quarantined).replace("'", "''")
    # quarantined keys are the original text: trimmed here as validation trims the valid ones
    trimmed = f"trim({key}, '{TRIMMED_CHARS}')"
    occurrences = (
        f"SELECT source_row, {key} AS k, TRUE AS valid FROM read_parquet('{fact}') UNION ALL "
        f"SELECT source_row, {trimmed} AS k, FALSE FROM read_parquet('{bad}') "
        f"WHERE rule <> 'duplicate_key' AND {trimmed} <> ''"
    )
    parts = max(1, -(-rows // DUPLICATE_CHECK_ROWS))
    found: list[pa.Table] = []
    try:
        for part in range(parts):
            scope = (
                f"SELECT * FROM ({occurrences}) o WHERE hash(k) % {parts} = {part}"
                if parts > 1
                else occurrences
            )
            # Distinct 64-bit hashes mean distinct keys (a collision can only make the window below run
            # for nothing), and counting hashes is a quarter cheaper than counting strings.
            repeated = con.execute(f"SELECT COUNT(*) - COUNT(DISTINCT hash(k)) FROM ({scope}) s").fetchall()
            if repeated[0][0]:  # rare: only then the window that finds which line wins
                found.append(
                    con.sql(
                        "SELECT source_row, kept_row, kept_valid FROM (SELECT source_row, valid, "
                        "MAX(source_row) OVER (PARTITION BY k) AS kept_row, "
                        f"arg_max(valid, source_row) OVER (PARTITION BY k) AS kept_valid FROM ({scope}) s) o "
                        "WHERE valid AND source_row < kept_row"
                    ).to_arrow_table()
                )
    finally:
        con.close()
    empty = pa.table(
        {
            "source_row": pa.array([], pa.int64()),
            "kept_row": pa.array([], pa.int64()),
            "kept_valid": pa.array([], pa.bool_()),
        }
    )
    return pa.concat_tables([empty, *[t.cast(empty.schema) for t in found]])


def _malformed_table(rows: list[MalformedRow], contract: SourceContract) -> pa.Table:
    n = len(rows)
    q = quarantine_schema(contract)
    columns: dict[str, Any] = {f.name: pa.nulls(n, f.type) for f in q}
    columns["source_row"] = pa.array([r.line for r in rows], pa.int64())
    columns["rule"] = pa.repeat(pa.scalar("malformed_row", pa.string()), n)
    columns["reason"] = pa.array([r.reason for r in rows], pa.string())
    columns["raw_line"] = pa.array([r.text for r in rows], pa.string())
    return pa.table(columns, schema=q)


def _date_bounds(fact: pa.Table, columns: Sequence[str]) -> list[date]:
    bounds: list[date] = []
    for col in columns:
        span = pc.min_max(fact.column(col))
        bounds.extend(v for v in (span["min"].as_py(), span["max"].as_py()) if v is not None)
    return bounds


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_LEDGER_BYTES = {c.name: c.length for c in schema.ETL_FILE_LEDGER.columns if c.length}


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
