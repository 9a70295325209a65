"""`etl bench --rows N`: one file of N rows into a fresh lake and warehouse, beside the two references.

One run generates a bank-statement file of N rows (and the matching applications) with the product's
generator and loads both into a fresh local lake and DuckDB warehouse with the real pipeline. In-process
(the default) the pipeline runs in a child process and times its run from inside, its stages too; its
peak RSS is its own. `whole_process` times `etl run` as a user runs it instead, start-up included. The
references (`etl.tools.bench.reference`: DuckDB's typed COPY and the job's physical floor) load the same
CSV, in the bench process or as processes of their own to match.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from etl.timing import STAGES
from etl.tools.bench.common import (
    APPLICATIONS_CSV,
    ROWS_PER_CUSTOMER,
    STATEMENTS_CSV,
    BenchError,
    Measured,
    etl_command,
    machine,
    measure_process,
    run_child,
)
from etl.tools.bench.reference import physical_floor, process_command, typed_copy

Mode = Literal["in-process", "whole-process"]


@dataclass
class BenchResult:
    rows: int  # bank-statement rows generated
    customers: int
    seed: int
    file_bytes: int  # size of the bank-statement CSV
    rows_loaded: int  # bank-statement rows in fact_bank_transaction after the run
    rows_quarantined: int
    stages: dict[str, float]  # seconds spent in each stage (read, validate, model and writes overlap)
    pipeline_seconds: (
        float  # wall clock of the whole run: both files, warehouse, data tests (+ start-up whole)
    )
    startup_seconds: float  # in-process: once per process (schema check, rules), not counted above
    rows_per_second: float
    peak_rss_bytes: int  # of the process that ran the pipeline (interpreter and imports included)
    reference_seconds: float  # DuckDB: CREATE TABLE + COPY of the same CSV into a fresh database file
    ratio: float  # pipeline_seconds / reference_seconds
    data_tests_failed: int
    chunk_bytes: int
    duckdb_memory_limit: str
    workdir: str | None = None  # kept data, lake and warehouse (with --keep)
    machine: dict[str, Any] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # CPU time of the pipeline over `pipeline_seconds` (all threads)
    repeat: int = 1  # pipeline/reference runs, alternately; the figures are the best of each
    runs: list[dict[str, float]] = field(default_factory=list)  # every round: each one's seconds
    mode: Mode = "in-process"
    floor_seconds: float = 0.0  # the CSV read once into a typed DuckDB table and a Parquet file
    floor_ratio: float = 0.0  # pipeline_seconds / floor_seconds
    reference_peak_rss_bytes: int | None = None  # whole-process mode: the references' own processes
    floor_peak_rss_bytes: int | None = None

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_bytes / (1 << 20)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["peak_rss_mb"] = round(self.peak_rss_mb, 1)
        return data


def run_bench(
    rows: int,
    *,
    keep: bool,
    workdir: Path | None = None,
    customers: int | None = None,
    seed: int = 42,
    echo: Callable[[str], None] | None = None,
    repeat: int = 1,
    whole_process: bool = False,
) -> BenchResult:
    """Generate, load with the real pipeline, load again with each reference, compare.

    With `repeat` > 1 the pipeline and the references run alternately that many times, each into a fresh
    lake and warehouse, and the best time of each is kept (as `timeit` does): on a shared machine the
    slowest runs measure the neighbours, not the code. Peak RSS is the largest of all runs.
    `workdir` (created if missing) holds the data, lake and warehouse; without it a temporary folder is used.
    Unless `keep`, the folder's bench files are removed afterwards.
    """
    from etl.tools.generate.applications import generate_loan_applications_file
    from etl.tools.generate.statements import generate_bank_statements_file

    say = echo or (lambda message: None)
    if rows < 1:
        raise BenchError(f"rows must be >= 1, got {rows}")
    if repeat < 1:
        raise BenchError(f"repeat must be >= 1, got {repeat}")
    customers = customers or max(1, rows // ROWS_PER_CUSTOMER)
    root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="etl-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    data, run_dir = root / "data", root / "run"
    try:
        for stale in (data, run_dir):
            shutil.rmtree(stale, ignore_errors=True)
        statements = data / STATEMENTS_CSV
        say(f"generating {rows:,} bank-statement rows for {customers:,} customers in {root}")
        generate_loan_applications_file(data / APPLICATIONS_CSV, customers=customers, seed=seed)
        generate_bank_statements_file(statements, rows=rows, customers=customers, seed=seed)
        rounds: list[tuple[dict[str, Any], Measured, Measured]] = []
        for attempt in range(1, repeat + 1):
            of = f" ({attempt}/{repeat})" if repeat > 1 else ""
            shutil.rmtree(run_dir, ignore_errors=True)
            say(f"running the pipeline ({'etl run' if whole_process else 'child process'}){of}")
            child = _whole_run(data, run_dir) if whole_process else run_child(str(data), str(run_dir))
            say(f"running the references (typed COPY, physical floor){of}")
            rounds.append((child, *_references(statements, run_dir, whole_process=whole_process)))
        return _result(rounds, rows, customers, seed, statements, whole_process, root if keep else None)
    finally:
        if not keep:
            for made in (data, run_dir):
                shutil.rmtree(made, ignore_errors=True)
            if workdir is None:
                shutil.rmtree(root, ignore_errors=True)


def _whole_run(data: Path, run_dir: Path) -> dict[str, Any]:
    """`etl run` as a user runs it, into a fresh lake and warehouse: start-up, notification, summary."""
    command = [
        *etl_command(),
        "run",
        str(data),
        "--lake",
        str(run_dir / "lake"),
        "--warehouse",
        f"duckdb:///{(run_dir / 'warehouse.duckdb').resolve()}",
    ]
    measured = measure_process(command, log=run_dir / "etl-run.log")
    return {
        "pipeline_seconds": measured.seconds,
        "cpu_seconds": measured.cpu_seconds,
        "peak_rss_bytes": measured.peak_rss_bytes,
        **_counts(run_dir / "warehouse.duckdb"),
    }


def _counts(warehouse: Path) -> dict[str, Any]:
    """What a whole-process run loaded, read back from its warehouse."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        loaded, quarantined = con.execute(
            "SELECT SUM(rows_loaded), SUM(rows_quarantined) FROM etl_file_ledger WHERE source = 'bank_statements'"
        ).fetchone() or (0, 0)
        (failed,) = con.execute(
            "SELECT COUNT(*) FROM etl_data_test_result WHERE status = 'fail'"
        ).fetchone() or (0,)
    finally:
        con.close()
    return {"rows_loaded": loaded, "rows_quarantined": quarantined, "data_tests_failed": failed}


def _references(statements: Path, run_dir: Path, *, whole_process: bool) -> tuple[Measured, Measured]:
    """(typed COPY, physical floor) of the same CSV: in this process, or as processes of their own."""
    out = run_dir / "references"
    if whole_process:
        return (
            measure_process(process_command("copy", statements, out), log=out / "copy.log"),
            measure_process(process_command("floor", statements, out), log=out / "floor.log"),
        )
    return Measured(typed_copy(statements, out), 0, 0.0), Measured(physical_floor(statements, out), 0, 0.0)


def _result(
    rounds: list[tuple[dict[str, Any], Measured, Measured]],
    rows: int,
    customers: int,
    seed: int,
    statements: Path,
    whole_process: bool,
    kept: Path | None,
) -> BenchResult:
    child = min((c for c, _, _ in rounds), key=lambda c: float(c["pipeline_seconds"]))
    copy = min((r for _, r, _ in rounds), key=lambda r: r.seconds)
    floor = min((f for _, _, f in rounds), key=lambda f: f.seconds)
    seconds = float(child["pipeline_seconds"])
    return BenchResult(
        rows=rows,
        customers=customers,
        seed=seed,
        file_bytes=statements.stat().st_size,
        rows_loaded=int(child["rows_loaded"]),
        rows_quarantined=int(child["rows_quarantined"]),
        stages={name: round(float(child.get("stages", {}).get(name, 0.0)), 4) for name in STAGES},
        pipeline_seconds=round(seconds, 4),
        startup_seconds=round(float(child.get("startup_seconds", 0.0)), 4),
        rows_per_second=round(rows / seconds, 1),
        peak_rss_bytes=max(int(c["peak_rss_bytes"]) for c, _, _ in rounds),
        reference_seconds=round(copy.seconds, 4),
        ratio=round(seconds / copy.seconds, 3),
        data_tests_failed=int(child["data_tests_failed"]),
        chunk_bytes=int(child.get("chunk_bytes", 4 << 20)),
        duckdb_memory_limit=str(child.get("duckdb_memory_limit", "128MB")),
        workdir=str(kept) if kept else None,
        machine=machine(),
        cpu_seconds=round(float(child["cpu_seconds"]), 4),
        repeat=len(rounds),
        runs=[
            {
                "pipeline_seconds": round(float(c["pipeline_seconds"]), 4),
                "reference_seconds": round(r.seconds, 4),
                "floor_seconds": round(f.seconds, 4),
                "peak_rss_mb": round(int(c["peak_rss_bytes"]) / (1 << 20), 1),
            }
            for c, r, f in rounds
        ],
        mode="whole-process" if whole_process else "in-process",
        floor_seconds=round(floor.seconds, 4),
        floor_ratio=round(seconds / floor.seconds, 3),
        reference_peak_rss_bytes=max(r.peak_rss_bytes for _, r, _ in rounds) if whole_process else None,
        floor_peak_rss_bytes=max(f.peak_rss_bytes for _, _, f in rounds) if whole_process else None,
    )
