"""One run, orchestrated: for each file identify -> read -> validate -> model -> write the lake -> load the
warehouse, then the data tests.

The orchestrator only orders the stages; each stage's work lives in its package (`extract`, `normalize`,
`model`, `load`, `quality`). A file's chunks pass read, validate, model and the Parquet write on four
threads a chunk apart (`workers.run_chain`), and the next file is hashed while the current one loads.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pyarrow as pa

from etl import interrupt
from etl.arrowenv import arrow_without_pandas
from etl.contracts import CONTRACTS, SourceContract
from etl.errors import EtlError, FileRejected
from etl.extract.discover import SourceFile
from etl.extract.identity import Identity, identify
from etl.extract.layout import CsvLayout, sniff_layout
from etl.extract.reader import MalformedRow
from etl.extract.rows import Chunk, read_rows
from etl.load.lake import Lake, open_lake
from etl.load.ledger import LedgerRow, ledger_row
from etl.load.staging import Staged, Staging
from etl.load.warehouse import open_warehouse
from etl.load.warehouse.base import FileLoad, Warehouse
from etl.model import schema
from etl.model.dimensions import (
    build_dim_credit_band,
    build_dim_date,
    build_dim_transaction_category,
    calendar_range,
)
from etl.model.facts import FactContext, build_fact, date_bounds, distinct_customers, file_customers
from etl.normalize.categories import CategoryRule, load_category_rules, with_layout_rules
from etl.normalize.formats import prepare
from etl.normalize.rejects import QuarantineContext, malformed_table, to_store
from etl.normalize.validate import Validated, validate
from etl.pipeline.report import FileResult, Progress, RunReport, record_error
from etl.pipeline.workers import run_chain, timed
from etl.profiles import Layout, Profile, load_profile
from etl.quality import choose_scope, run_data_tests
from etl.settings import Settings
from etl.timing import NullTimer, StageTimer

__all__ = [
    "FileResult",
    "Pipeline",
    "Progress",
    "RunReport",
    "arrow_without_pandas",
    "open_pipeline",
    "run_files",
    "use_memory_pool",
]


def run_files(
    settings: Settings, files: Sequence[SourceFile], *, progress: Progress | None = None
) -> RunReport:
    """Load `files` into the lake and warehouse the settings name, then run the data tests: `etl run`."""
    with open_pipeline(settings, progress=progress) as pipeline:
        return pipeline.run(files)


@contextmanager
def open_pipeline(
    settings: Settings,
    *,
    progress: Progress | None = None,
    timer: StageTimer | None = None,
    must_exist: bool = False,
) -> Iterator[Pipeline]:
    """A Pipeline on the lake and warehouse the settings name, the warehouse closed afterwards.

    Sets the process-wide Arrow allocator first. The lake is checked before a warehouse is created, so a
    bad lake leaves no empty warehouse behind (`must_exist`: an embedded warehouse must have been loaded
    before). When a run fails, `pipeline.report` holds what it did so far.
    """
    use_memory_pool(settings.arrow_memory_pool)
    arrow_without_pandas()
    profile = load_profile(settings.profile, read_s3=_read_s3)  # refused whole before anything loads
    lake = open_lake(settings)
    with open_warehouse(settings, must_exist=must_exist) as warehouse:
        yield Pipeline(settings, lake, warehouse, progress=progress, timer=timer, profile=profile)


def _read_s3(uri: str) -> bytes:
    from etl.extract.s3 import read_object

    return read_object(uri)


def use_memory_pool(name: str) -> None:
    """Make `name` the process's default Arrow allocator (a build without it keeps the current one).

    Process-wide, so entry points call it (`run_files`, the tools), never the pipeline itself. The
    pipeline's threads free and allocate chunk-sized buffers all the time; jemalloc returns them to the
    system sooner than pyarrow's default mimalloc: at 1M statement rows peak RSS drops from about 500 MB
    to about 400 MB, at the same speed.
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
        profile: Profile | None = None,
    ) -> None:
        self.settings = settings
        self.profile = profile
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
                (schema.DIM_CREDIT_BAND, build_dim_credit_band()),
                (schema.DIM_TRANSACTION_CATEGORY, build_dim_transaction_category(self.rules)),
            ]
        )

    def run(self, files: Iterable[SourceFile], *, with_tests: bool = True) -> RunReport:
        report = self.report = RunReport(self.run_id, now())  # so far, also when the run raises
        self.prepare()
        items = list(files)
        # Each file's content hash is computed while the file before it loads: hashing releases the GIL, and
        # the next file's identity is ready when its turn comes (on S3 its first read overlaps too).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="etl-identify") as pool:
            ahead = pool.submit(identify, items[0]) if items else None
            for i, item in enumerate(items):
                identity, ahead = ahead, (pool.submit(identify, items[i + 1]) if i + 1 < len(items) else None)
                report.files.append(self.process(item, identity))
                if i + 1 < len(items):  # the next file's streaming starts from what this one's load left
                    self.warehouse.release_memory()
                if interrupt.requested():  # a client may have swallowed it whole in a statement that ended
                    raise KeyboardInterrupt
        if with_tests:
            with self.timer.stage("data_tests"):
                # what this run changed (the files it loaded, rejected or failed), or the whole suite
                changed = [f.file_id for f in report.files if f.file_id and f.status != "skipped_duplicate"]
                checked_at = now()
                scope = choose_scope(
                    self.settings.data_tests,
                    self.warehouse,
                    changed,
                    since=report.started_at,
                    now=checked_at,
                    removed_rows=sum(f.rows_removed for f in report.files),
                    loaded_rows=sum(f.rows_loaded for f in report.files if f.status == "loaded"),
                )
                report.data_tests = run_data_tests(self.warehouse, self.run_id, checked_at, scope=scope)
            if interrupt.requested():
                raise KeyboardInterrupt
        report.finished_at = now()
        return report

    # ---- one file ------------------------------------------------------------------------------------
    def process(self, item: SourceFile, identity: Future[Identity] | None = None) -> FileResult:
        """Load one file; `identity` is its `identify` already under way (else it is computed here)."""
        started, clock = now(), time.perf_counter()
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
                self._load(item, CONTRACTS[item.source], ident, result, started)
        except Exception as exc:
            if self._interrupted(
                exc
            ):  # Ctrl-C inside a warehouse statement: stop the run, not just this file
                raise KeyboardInterrupt from None
            record_error(result, exc)
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

    def _load(
        self,
        item: SourceFile,
        contract: SourceContract,
        ident: Identity,
        result: FileResult,
        started: datetime,
    ) -> None:
        """The stages of one file, in order: extract -> normalize -> model -> load. The stages' work is their
        own; this only passes each one's product to the next."""
        loaded_at = now()
        mask = self.settings.mask_narration
        layout = self.profile.layout_for(contract.name, item.logical) if self.profile else None
        sniffed = sniff_layout(ident.head, ident.size, contract, layout)
        self._describe(result, layout, sniffed)
        policy, whose = contract.conflict_policy, f"{contract.name}'s conflict policy"
        if layout is not None and layout.conflict_policy is not None:
            policy, whose = layout.conflict_policy, f"the conflict policy of layout {result.layout}"
        rejects = QuarantineContext(ident.file_id, item.uri, self.run_id, loaded_at, mask)
        facts = FactContext(ident.file_id, loaded_at, self._rules(layout), mask)
        rows = read_rows(item, ident, sniffed, block_size=self.settings.chunk_bytes, progress=self.progress)
        spec = schema.TABLES[contract.fact_table]
        with self.lake.workspace(ident.file_id) as work:
            tally, staging = self._stream(
                rows, contract, facts, rejects, Staging(work, spec, contract), layout, sniffed
            )
            pa.default_memory_pool().release_unused()  # the chunks' buffers, before DuckDB needs memory
            span = calendar_range(tally.dates, self.settings.calendar_start, self.settings.calendar_end)
            load = FileLoad(
                contract.customers,
                spec,
                staging.fact_path,
                self.lake.curated_uri(spec.name, ident.file_id),
                build_dim_date(*span) if span else schema.DIM_DATE.arrow_schema.empty_table(),
                tally.file_customers(),
                self._ledger(item, ident, result, started),
                loaded_at,
                policy,
            )
            with self.timer.stage("lake"):
                staged = staging.finish(
                    rejects, rows=tally.rows_in, memory_limit=self.settings.duckdb_memory_limit
                )
                if policy != "update":
                    staged = self._check_conflicts(
                        replace(load, fact_path=staged.fact_path), staging, staged, rejects, whose
                    )
                result.rows_in, result.rows_blank = tally.rows_in, tally.rows_blank
                result.rows_quarantined = tally.rows_quarantined + staged.duplicates + staged.conflicts
                result.rows_loaded = result.rows_in - result.rows_quarantined
                quarantine_uri = self.lake.quarantine_uri(contract.name, ident.file_id)
                if result.rows_quarantined:
                    self.lake.publish(
                        staged.quarantine_path,
                        quarantine_uri,
                        table=f"quarantine_{contract.name}",
                        kind="quarantine",
                    )
                    result.quarantine_uri = quarantine_uri
                if item.replay_of is None:  # a replay's rows were all quarantined once already
                    self._check_budget(contract, result, ident.file_id, layout)
                result.lake_uri = load.fact_uri
                self.lake.publish(staged.fact_path, load.fact_uri, table=spec.name, kind="curated")
            result.status = "loaded"
            load = replace(
                load,
                fact_path=staged.fact_path,
                ledger=self._ledger(item, ident, result, started),
                quarantine=staging.for_warehouse(staged, ident.file_id) if item.replay_of is None else None,
                conflicts_set_aside=staged.conflicts,
            )
            with self.timer.stage("warehouse"):
                counts = self.warehouse.load_file(load)
            if counts is None:  # another run committed the same content first: this one added nothing
                result.status = "skipped_duplicate"
                result.rows_in = result.rows_quarantined = result.rows_blank = 0
            else:
                result.record(counts)

    def _check_conflicts(
        self, load: FileLoad, staging: Staging, staged: Staged, rejects: QuarantineContext, whose: str
    ) -> Staged:
        """The rows whose key another logical file holds with other values: set aside under the source's
        conflict policy ("quarantine"), or the file rejected ("reject")."""
        conflicts = self.warehouse.conflicting_rows(load)
        if not conflicts:
            return staged
        contract = staging.contract
        if load.policy == "reject":
            first = conflicts[0]
            raise FileRejected(
                f"{len(conflicts)} row(s) have a {contract.key} that another file holds with other values "
                f"(line {first.source_row}: held by {first.holder}); {whose} is reject"
            )
        return staging.set_aside_conflicts(staged, conflicts, rejects, whose)

    def _check_budget(
        self, contract: SourceContract, result: FileResult, file_id: str, layout: Layout | None
    ) -> None:
        """Reject a file whose quarantined share is above the budget (its quarantine stays in the lake)."""
        budget = self.settings.max_quarantine_rate
        whose = f"a {contract.name} file"
        if layout is not None and layout.max_quarantine_rate is not None:
            budget, whose = layout.max_quarantine_rate, f"layout {result.layout}"
        if not result.rows_in or result.rows_quarantined / result.rows_in <= budget:
            return
        raise FileRejected(
            f"{result.rows_quarantined:,} of {result.rows_in:,} rows "
            f"({result.rows_quarantined / result.rows_in:.1%}) were quarantined, above the budget of "
            f"{budget:.0%} for {whose}: nothing of it is loaded; see why with "
            f"`etl quarantine list --rows --file-id {file_id[:12]}`"
        )

    def _rules(self, layout: Layout | None) -> Sequence[CategoryRule]:
        """The narration rules of a file: its layout's first (or alone), then the built-in ones."""
        if layout is None or not layout.narration_rules:
            return self.rules
        return with_layout_rules(
            self.rules,
            [(rule.category, rule.pattern) for rule in layout.narration_rules],
            replace=layout.narration_rules_mode == "replace",
        )

    def _describe(self, result: FileResult, layout: Layout | None, sniffed: CsvLayout) -> None:
        """What the file's report says of its columns: the layout read by, extra and missing columns."""
        if layout is not None and self.profile is not None:
            result.layout = f"{self.profile.origin}: {layout.name}"
        result.extra_columns = list(sniffed.extra)
        result.missing_columns = list(sniffed.missing)
        result.notes = [
            f"column {name} has the name of a lineage column the load adds itself: ignored"
            for name in sniffed.ignored
        ]

    def _ledger(self, item: SourceFile, ident: Identity, result: FileResult, started: datetime) -> LedgerRow:
        return ledger_row(
            item.uri,
            item.name,
            ident.size,
            result,
            started_at=started,
            run_id=self.run_id,
            logical_name=item.logical,
            replay_of=item.replay_of,
        )

    def _stream(
        self,
        rows: Iterator[Chunk],
        contract: SourceContract,
        facts: FactContext,
        rejects: QuarantineContext,
        staging: Staging,
        layout: Layout | None,
        sniffed: CsvLayout,
    ) -> tuple[_Tally, Staging]:
        """Validate, model and stage every chunk, on threads a chunk apart (see `run_chain`); what the
        chunks counted, and the staging with both its files written and closed."""
        tally, timer = _Tally(), self.timer
        formats = layout is not None or sniffed.delimiter == ";"  # see etl.normalize.formats

        def validate_chunk(chunk: Chunk) -> tuple[Validated, list[MalformedRow]]:
            text, malformed, blanks = chunk
            with timer.stage("validate"):
                prepared = prepare(text, contract, layout, sniffed.delimiter) if formats else None
                checked = validate(text, contract, prepared)
            tally.rows_in += text.num_rows + len(malformed)
            tally.rows_blank += blanks
            self.progress("rows", text.num_rows)
            return checked, malformed

        def model_chunk(checked: tuple[Validated, list[MalformedRow]]) -> tuple[pa.Table, pa.Table]:
            valid, malformed = checked
            with timer.stage("model"):
                fact = build_fact(contract, valid.valid, facts)
                bad = pa.concat_tables([valid.quarantine, malformed_table(malformed, contract)])
                if bad.num_rows:
                    bad = to_store(bad, contract, rejects)
                tally.dates.extend(date_bounds(valid.valid, contract.date_columns))
                tally.add_customers(file_customers(valid.valid, fact))
            tally.rows_quarantined += bad.num_rows
            return fact, bad

        def write_chunk(parts: tuple[pa.Table, pa.Table]) -> None:
            with timer.stage("lake"):
                staging.write(*parts)

        with staging:  # the writers close once every thread has ended
            run_chain(timed(rows, lambda: timer.stage("read")), [validate_chunk, model_chunk, write_chunk])
        return tally, staging

    # ---- failures ------------------------------------------------------------------------------------
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
        """The file's ledger row. When it cannot be written the file is `failed`, not `rejected`: a
        rejection is acknowledged for good (SQS deletes its message), and one with no ledger row would be
        recorded nowhere; a failed file is delivered again and its rejection recorded then."""
        try:
            row = ledger_row(
                item.uri,
                item.name,
                size,
                result,
                started_at=started,
                run_id=self.run_id,
                logical_name=item.logical,
                replay_of=item.replay_of,
            )
            self.warehouse.record_ledger(row)
        except Exception as exc:
            if self._interrupted(exc):
                raise KeyboardInterrupt from None
            if result.status != "rejected":  # a failed file is delivered again anyway; its error says why
                result.error = result.error or str(exc)
                return
            recording = f"its ledger row was not written: {exc.message if isinstance(exc, EtlError) else exc}"
            result.error = f"{result.error}; {recording}" if result.error else recording
            result.status = "failed"
            result.retryable = isinstance(exc, EtlError) and exc.retryable


COMPACT_CUSTOMERS_ROWS = 200_000  # a file's customers are folded into one table past this many rows


@dataclass
class _Tally:
    """What a file's chunks counted; each field is written by one stage's thread, read after they end."""

    rows_in: int = 0
    rows_blank: int = 0
    rows_quarantined: int = 0
    dates: list[date] = field(default_factory=list)
    customers: list[pa.Table] = field(default_factory=list)  # the chunks' customers by key, since compacted
    _pending: int = 0  # rows in `customers` beyond the compacted first table
    _compacted: int = 0

    def add_customers(self, chunk: pa.Table) -> None:
        """A chunk's customers. The tables are folded into one distinct table once they hold more rows than
        it did: each chunk names most of a large file's customers again (10M statements of 50,000
        customers: 29,000 per chunk), and keeping every chunk's made the streaming phase's peak RSS grow
        with the file (+90 MiB at 10M rows)."""
        self.customers.append(chunk)
        self._pending += chunk.num_rows
        if self._pending > max(COMPACT_CUSTOMERS_ROWS, self._compacted):
            self.customers = [self.file_customers()]
            self._compacted, self._pending = self.customers[0].num_rows, 0

    def file_customers(self) -> pa.Table:
        """The file's customers by key, once each (`schema.FILE_CUSTOMERS`)."""
        if not self.customers:
            return schema.FILE_CUSTOMERS.arrow_schema.empty_table()
        return distinct_customers(pa.concat_tables(self.customers))


def now() -> datetime:
    """The current UTC time without a zone, as every timestamp the product stores."""
    return datetime.now(UTC).replace(tzinfo=None)
