"""`etl bench`: speed and memory of the full pipeline as measured facts, beside DuckDB's own CSV load.

One run generates a bank-statement file of N rows (and the matching applications) with the product's
generator, loads both into a fresh local lake and DuckDB warehouse with the real pipeline, and times the
stages. The pipeline runs in a child process so its peak RSS is its own: the generator and the reference
load do not count. The reference is DuckDB loading the same CSV straight into a typed table in a fresh
database file: what the engine itself does on this machine, so the ratio travels between machines.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from etl.contracts import BANK_STATEMENTS, LOAN_APPLICATIONS
from etl.errors import EtlError
from etl.timing import STAGES

STATEMENTS_CSV = Path(BANK_STATEMENTS.name) / "statements.csv"
APPLICATIONS_CSV = Path(LOAN_APPLICATIONS.name) / "applications.csv"
ROWS_PER_CUSTOMER = 200  # about 17 transactions a month over the generator's year
# The sizing the bench measures (and docs/performance.md recommends for Lambda): parse 4 MiB of CSV per
# chunk and cap each embedded DuckDB at 128 MB, so peak RSS stays flat whatever the file size.
LAMBDA_SIZING: dict[str, Any] = {"chunk_bytes": 4 << 20, "duckdb_memory_limit": "128MB"}
REFERENCE_DDL = (
    "CREATE TABLE t (transaction_id VARCHAR, customer_id VARCHAR, transaction_date DATE, "
    "transaction_amount DECIMAL(18,2), narration VARCHAR, balance DECIMAL(18,2), channel VARCHAR, merchant VARCHAR)"
)


class BenchError(EtlError):
    """The benchmark could not run (the child pipeline failed); the message says why."""


@dataclass
class BenchResult:
    rows: int  # bank-statement rows generated
    customers: int
    seed: int
    file_bytes: int  # size of the bank-statement CSV
    rows_loaded: int  # bank-statement rows in fact_bank_transaction after the run
    rows_quarantined: int
    stages: dict[str, float]  # seconds spent in each stage (read, validate, model and writes overlap)
    pipeline_seconds: float  # wall clock of the whole run: both files, warehouse MERGE, data tests
    startup_seconds: float  # once per process (category rules, lazy imports), not per file
    rows_per_second: float
    peak_rss_bytes: int  # of the process that ran the pipeline (interpreter and imports included)
    reference_seconds: float  # DuckDB: CREATE TABLE + COPY of the same CSV into a fresh database file
    ratio: float  # pipeline_seconds / reference_seconds
    data_tests_failed: int
    chunk_bytes: int
    duckdb_memory_limit: str
    workdir: str | None = None  # kept data, lake and warehouse (with --keep)
    machine: dict[str, Any] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # CPU time of the pipeline process over `pipeline_seconds` (all threads)
    repeat: int = 1  # pipeline/reference pairs run, alternately; the figures are the best of each
    runs: list[dict[str, float]] = field(default_factory=list)  # every pair: pipeline, reference seconds

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
    echo: Any = None,
    repeat: int = 1,
) -> BenchResult:
    """Generate, load with the real pipeline in a child process, load again with DuckDB alone, compare.

    With `repeat` > 1 the pipeline and the reference run alternately that many times, each into a fresh
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
        children: list[dict[str, Any]] = []
        references: list[float] = []
        for attempt in range(1, repeat + 1):
            of = f" ({attempt}/{repeat})" if repeat > 1 else ""
            shutil.rmtree(run_dir, ignore_errors=True)
            say(f"running the pipeline (child process){of}")
            children.append(_run_child(data, run_dir))
            say(f"running the DuckDB reference load{of}")
            references.append(_reference_load(statements, run_dir / "reference.duckdb"))
        child = min(children, key=lambda c: float(c["pipeline_seconds"]))
        reference = min(references)
        pipeline_seconds = float(child["pipeline_seconds"])
        return BenchResult(
            rows=rows,
            customers=customers,
            seed=seed,
            file_bytes=statements.stat().st_size,
            rows_loaded=int(child["rows_loaded"]),
            rows_quarantined=int(child["rows_quarantined"]),
            stages={name: round(float(child["stages"].get(name, 0.0)), 4) for name in STAGES},
            pipeline_seconds=round(pipeline_seconds, 4),
            startup_seconds=round(float(child["startup_seconds"]), 4),
            rows_per_second=round(rows / pipeline_seconds, 1),
            peak_rss_bytes=max(int(c["peak_rss_bytes"]) for c in children),
            reference_seconds=round(reference, 4),
            ratio=round(pipeline_seconds / reference, 3),
            data_tests_failed=int(child["data_tests_failed"]),
            chunk_bytes=int(child["chunk_bytes"]),
            duckdb_memory_limit=str(child["duckdb_memory_limit"]),
            workdir=str(root) if keep else None,
            machine=_machine(),
            cpu_seconds=round(float(child["cpu_seconds"]), 4),
            repeat=repeat,
            runs=[
                {
                    "pipeline_seconds": round(float(c["pipeline_seconds"]), 4),
                    "reference_seconds": round(r, 4),
                    "peak_rss_mb": round(int(c["peak_rss_bytes"]) / (1 << 20), 1),
                }
                for c, r in zip(children, references, strict=True)
            ],
        )
    finally:
        if not keep:
            for made in (data, run_dir):
                shutil.rmtree(made, ignore_errors=True)
            if workdir is None:
                shutil.rmtree(root, ignore_errors=True)


def _run_child(data: Path, run_dir: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "etl.tools.bench", str(data), str(run_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise BenchError(f"the pipeline run failed: {lines[-1] if lines else f'exit {done.returncode}'}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _reference_load(csv_path: Path, db_path: Path) -> float:
    """Seconds for DuckDB to load the CSV into a typed table in a fresh file (connect to close)."""
    import duckdb

    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(db_path))
    try:
        con.execute(REFERENCE_DDL)
        con.execute(f"COPY t FROM {_sql_string(csv_path)} (HEADER)")  # COPY takes no bound file name
    finally:
        con.close()
    return time.perf_counter() - started


def _sql_string(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _machine() -> dict[str, Any]:
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def _child_main(data: Path, run_dir: Path) -> dict[str, Any]:
    """Run the real pipeline on `data` into a fresh lake and warehouse under `run_dir`; report as a dict."""
    from etl.extract.discover import discover
    from etl.pipeline import open_pipeline
    from etl.settings import Settings
    from etl.timing import StageTimer

    run_dir.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, Any] = {
        "lake": str(run_dir / "lake"),
        "warehouse_url": f"duckdb:///{(run_dir / 'warehouse.duckdb').resolve()}",
    }
    for name, value in LAMBDA_SIZING.items():  # an explicit ETL_* variable still wins
        if f"ETL_{name.upper()}" not in os.environ:
            overrides[name] = value
    settings = Settings(**overrides)
    timer = StageTimer()
    files = discover([data])
    setup = time.perf_counter()
    with open_pipeline(settings, timer=timer) as pipeline:
        started = time.perf_counter()  # one-off start-up (rules, lazy imports) is reported, not counted
        cpu_started = _cpu_seconds()
        report = pipeline.run(files)
        with timer.stage("warehouse"):  # closing checkpoints the file, as the reference's close does
            pipeline.warehouse.close()
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_started
    statements = [f for f in report.files if f.source == BANK_STATEMENTS.name]
    problems = [f"{f.path}: {f.status} {f.error or ''}" for f in report.files if f.status != "loaded"]
    if problems or not statements:
        raise BenchError("; ".join(problems) or "no bank-statement file was loaded")
    return {
        "pipeline_seconds": elapsed,
        "cpu_seconds": cpu,
        "startup_seconds": started - setup,
        "stages": timer.seconds,
        "rows_loaded": statements[0].rows_loaded,
        "rows_quarantined": statements[0].rows_quarantined,
        "data_tests_failed": sum(t.status == "fail" for t in report.data_tests),
        "peak_rss_bytes": peak_rss_bytes(),
        "chunk_bytes": settings.chunk_bytes,
        "duckdb_memory_limit": settings.duckdb_memory_limit,
    }


def peak_rss_bytes(status: Path = Path("/proc/self/status")) -> int:
    """Peak resident memory of this process since it started its program.

    Linux's VmHWM, not getrusage's ru_maxrss: the latter carries over the peak of the process that
    spawned this one (Linux keeps it across exec, and subprocess shares the parent's memory until then),
    so a child of a parent that had just run the reference load reported the parent's 560 MiB.
    """
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # elsewhere (KiB on Linux)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":  # the child process of run_bench: python -m etl.tools.bench DATA RUN_DIR
    try:
        print(json.dumps(_child_main(Path(sys.argv[1]), Path(sys.argv[2]))))
    except EtlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
