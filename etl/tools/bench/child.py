"""The bench's child process: the real pipeline on a folder, timed from inside, its peak RSS its own.

`python -m etl.tools.bench DATA RUN_DIR [--base WAREHOUSE] [--no-tests] [--data-tests MODE] [--whole-suite]`
loads DATA into a lake and DuckDB warehouse under RUN_DIR (a copy of WAREHOUSE when given, copied before
the clock starts) and prints one line of JSON: the run's seconds (start-up reported apart), stage times,
CPU, peak RSS and the bank-statement file's counts. `--whole-suite` also times the whole data-test suite
on the loaded warehouse, apart from the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from etl.contracts import BANK_STATEMENTS
from etl.errors import EtlError
from etl.tools.bench.common import LAMBDA_SIZING, BenchError, copy_to_disk, cpu_seconds, peak_rss_bytes


def run_pipeline(
    data: Path,
    run_dir: Path,
    *,
    base: Path | None = None,
    with_tests: bool = True,
    data_tests: str | None = None,
    whole_suite: bool = False,
    profile: str | None = None,
) -> dict[str, Any]:
    """Run the real pipeline on `data` into a lake and warehouse under `run_dir`; report as a dict."""
    from etl.extract.discover import discover
    from etl.load.warehouse import open_warehouse
    from etl.pipeline import now, open_pipeline
    from etl.quality import run_data_tests
    from etl.settings import Settings
    from etl.timing import StageTimer

    run_dir.mkdir(parents=True, exist_ok=True)
    warehouse = run_dir / "warehouse.duckdb"
    if base is not None:
        copy_to_disk(base, warehouse)
    overrides: dict[str, Any] = {
        "lake": str(run_dir / "lake"),
        "warehouse_url": f"duckdb:///{warehouse.resolve()}",
    }
    for name, value in LAMBDA_SIZING.items():  # an explicit ETL_* variable still wins
        if f"ETL_{name.upper()}" not in os.environ:
            overrides[name] = value
    if data_tests is not None:
        overrides["data_tests"] = data_tests
    if profile is not None:
        overrides["profile"] = profile
    settings = Settings(**overrides)
    timer = StageTimer()
    files = discover([data])
    setup = time.perf_counter()
    with open_pipeline(settings, timer=timer) as pipeline:
        started = time.perf_counter()  # one-off start-up (rules, schema check) is reported, not counted
        cpu_started = cpu_seconds()
        report = pipeline.run(files, with_tests=with_tests)
        with timer.stage("warehouse"):  # closing checkpoints the file, as the references' close does
            pipeline.warehouse.close()
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started
    statements = [f for f in report.files if f.source == BANK_STATEMENTS.name]
    problems = [f"{f.path}: {f.status} {f.error or ''}" for f in report.files if f.status != "loaded"]
    if problems or not statements:
        raise BenchError("; ".join(problems) or "no bank-statement file was loaded")
    result = {
        "pipeline_seconds": elapsed,
        "cpu_seconds": cpu,
        "startup_seconds": started - setup,
        "stages": timer.seconds,
        "rows_loaded": statements[0].rows_loaded,
        "rows_quarantined": statements[0].rows_quarantined,
        "rows_inserted": statements[0].rows_inserted,  # new keys (file lineage: a new version replaces)
        "rows_removed": statements[0].rows_removed,
        "data_tests_failed": sum(t.status == "fail" for t in report.data_tests),
        "peak_rss_bytes": peak_rss_bytes(),
        "chunk_bytes": settings.chunk_bytes,
        "duckdb_memory_limit": settings.duckdb_memory_limit,
        "data_tests": settings.data_tests,
    }
    if whole_suite:
        with open_warehouse(settings) as wh:
            clock = time.perf_counter()
            whole = run_data_tests(wh, "bench-whole-suite", now())
            result["whole_suite_seconds"] = time.perf_counter() - clock
            result["whole_suite_failed"] = sum(t.status == "fail" for t in whole)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.tools.bench")
    parser.add_argument("data", type=Path)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--base", type=Path, help="a warehouse file to load into (copied first)")
    parser.add_argument("--no-tests", action="store_true", help="skip the data tests (building a base)")
    parser.add_argument("--data-tests", choices=("scoped", "daily", "full"))
    parser.add_argument("--whole-suite", action="store_true", help="then time the whole suite, apart")
    parser.add_argument("--profile", help="the profile the files are read with")
    args = parser.parse_args(argv)
    try:
        result = run_pipeline(
            args.data,
            args.run_dir,
            base=args.base,
            with_tests=not args.no_tests,
            data_tests=args.data_tests,
            whole_suite=args.whole_suite,
            profile=args.profile,
        )
    except EtlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0
