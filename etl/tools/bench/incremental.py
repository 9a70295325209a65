"""`etl bench --incremental`: a small file of new transactions into warehouses that already hold some.

For each base size (default 0, 1M and 10M transactions) a base warehouse is built once: the customers'
applications and that many generated transactions, loaded by the real pipeline without data tests (10M
takes minutes). Every base holds the same customers (those of the largest base: one per 200 of its
transactions), so the empty base is those customers' applications alone. Then one file of `file_rows` new
transactions (ids after the largest base's, for those customers) is loaded into a copy of each base, the
copy made and flushed to disk before any clock starts: the same file, the same customers known, only the
number of transactions differs. (Until 2026-12-07 each base had customers and a file of its own: 50 for the
empty base against 50,000 for the 10M one, which put the file's own extra customers in the ratio.)

- in-process, in a child process with stage times (the run timed from inside, start-up apart), and the
  time the whole data-test suite would have taken on the same warehouse, for comparison;
- as a whole `etl run` process, start-up included.

Both with `ETL_DATA_TESTS=scoped`: what a run after the day's first costs. With `keep` the bases stay in the
work folder (`base-<rows>/warehouse.duckdb` and what built it) and later runs reuse them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from etl.timing import STAGES
from etl.tools.bench.common import (
    APPLICATIONS_CSV,
    ROWS_PER_CUSTOMER,
    STATEMENTS_CSV,
    BenchError,
    copy_to_disk,
    etl_command,
    fresh,
    machine,
    measure_process,
    run_child,
)

SIZES = (0, 1_000_000, 10_000_000)
FILE_ROWS = 10_000
INCREMENT_CSV = STATEMENTS_CSV.parent / "increment.csv"  # a new daily file, not a version of the base's


@dataclass
class IncrementalRun:
    """One base size: the file's load into it, best of the repeats."""

    base_rows: int
    customers: int
    warehouse_bytes: int  # the base warehouse file
    build_seconds: float  # building the base (0 when a kept one was reused)
    in_process_seconds: float  # the run timed from inside (start-up apart)
    stages: dict[str, float]
    startup_seconds: float
    whole_suite_seconds: float  # the whole data-test suite on the same warehouse (not part of the run)
    whole_process_seconds: float  # `etl run` as a process, start-up included
    peak_rss_bytes: int  # the whole process's
    in_process_ratio: float = 1.0  # against the smallest base
    whole_process_ratio: float = 1.0
    runs: list[dict[str, float]] = field(default_factory=list)


@dataclass
class IncrementalResult:
    file_rows: int
    seed: int
    repeat: int
    sizes: list[IncrementalRun]
    workdir: str | None = None
    machine: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_incremental(
    sizes: Sequence[int] = SIZES,
    *,
    file_rows: int = FILE_ROWS,
    keep: bool,
    workdir: Path | None = None,
    seed: int = 42,
    repeat: int = 1,
    echo: Callable[[str], None] | None = None,
) -> IncrementalResult:
    """Build (or reuse) a base per size, then time the file into a copy of each, alternating sizes per round."""
    say = echo or (lambda message: None)
    if file_rows < 1 or repeat < 1 or not sizes or min(sizes) < 0:
        raise BenchError(
            f"need file rows >= 1, repeat >= 1 and sizes >= 0; got {file_rows}, {repeat}, {sizes}"
        )
    root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="etl-bench-incremental-"))
    root.mkdir(parents=True, exist_ok=True)
    ordered = sorted(set(sizes))
    try:
        customers = customers_for(ordered[-1], file_rows)  # every base knows the same customers
        bases = {rows: _base(root, rows, customers, seed, say) for rows in ordered}
        increment = _increment(root, ordered[-1], file_rows, customers, seed)
        rounds: dict[int, list[dict[str, Any]]] = {rows: [] for rows in ordered}
        for attempt in range(1, repeat + 1):
            for rows in ordered:
                say(f"a {file_rows:,}-row file into {rows:,} transactions ({attempt}/{repeat})")
                rounds[rows].append(_measure(root / "run", bases[rows][0], increment, file_rows))
        results = [_summary(rows, bases[rows], rounds[rows]) for rows in ordered]
        first = results[0]
        for r in results:
            r.in_process_ratio = round(r.in_process_seconds / first.in_process_seconds, 3)
            r.whole_process_ratio = round(r.whole_process_seconds / first.whole_process_seconds, 3)
        return IncrementalResult(file_rows, seed, repeat, results, str(root) if keep else None, machine())
    finally:
        shutil.rmtree(root / "run", ignore_errors=True)
        shutil.rmtree(root / "increments", ignore_errors=True)
        if not keep and workdir is None:
            shutil.rmtree(root, ignore_errors=True)
        elif not keep:
            for folder in root.glob("base-*"):
                shutil.rmtree(folder, ignore_errors=True)


def customers_for(base_rows: int, file_rows: int) -> int:
    return max(1, max(base_rows, file_rows) // ROWS_PER_CUSTOMER)


def _base(root: Path, rows: int, customers: int, seed: int, say: Callable[[str], None]) -> tuple[Path, float]:
    """The base warehouse of `rows` transactions (and its build seconds), reused when kept before."""
    from etl.tools.generate.applications import generate_loan_applications_file
    from etl.tools.generate.statements import generate_bank_statements_file

    folder = root / f"base-{rows}"
    warehouse, marker = folder / "warehouse.duckdb", folder / "base.json"
    wanted = {"rows": rows, "customers": customers, "seed": seed}
    if warehouse.is_file() and marker.is_file() and json.loads(marker.read_text()) == wanted:
        say(f"reusing the base of {rows:,} transactions in {folder}")
        return warehouse, 0.0
    fresh(folder)
    data = folder / "data"
    say(f"building a base of {rows:,} transactions for {wanted['customers']:,} customers in {folder}")
    generate_loan_applications_file(data / APPLICATIONS_CSV, customers=wanted["customers"], seed=seed)
    generate_bank_statements_file(data / STATEMENTS_CSV, rows=rows, customers=wanted["customers"], seed=seed)
    built = run_child(str(data), str(folder), "--no-tests")
    shutil.rmtree(data)
    shutil.rmtree(folder / "lake", ignore_errors=True)  # the runs write lakes of their own
    marker.write_text(json.dumps(wanted))
    return warehouse, float(built["pipeline_seconds"]) + float(built["startup_seconds"])


def _increment(root: Path, rows: int, file_rows: int, customers: int, seed: int) -> Path:
    """A folder with one statements file of new transactions (ids after `rows`) for the bases' customers.

    The file has a name of its own (`INCREMENT_CSV`): under the base file's name it would be that file's
    next version, which replaces the base's rows (file lineage) instead of adding to them.
    """
    from etl.tools.generate.statements import generate_bank_statements_file

    folder = root / "increments" / str(rows)
    generate_bank_statements_file(
        folder / INCREMENT_CSV,
        rows=file_rows,
        customers=customers,
        seed=seed + 1,
        first_id=rows + 1,
    )
    return folder


def _measure(run_root: Path, base: Path, increment: Path, file_rows: int) -> dict[str, Any]:
    """The file into a copy of `base`: in a child process (stages), then as a whole `etl run`."""
    child = run_child(
        str(increment),
        str(fresh(run_root / "child")),
        "--base",
        str(base),
        "--data-tests",
        "scoped",
        "--whole-suite",
    )
    added = child["rows_loaded"] == child["rows_inserted"] == file_rows and not child["rows_removed"]
    if not added or child["data_tests_failed"] or child["whole_suite_failed"]:
        raise BenchError(f"the file did not load cleanly into {base}: {child}")
    whole = fresh(run_root / "process")
    copy_to_disk(base, whole / "warehouse.duckdb")
    command = [
        *etl_command(),
        "run",
        str(increment),
        "--lake",
        str(whole / "lake"),
        "--warehouse",
        f"duckdb:///{(whole / 'warehouse.duckdb').resolve()}",
    ]
    measured = measure_process(command, log=whole / "etl-run.log", env={"ETL_DATA_TESTS": "scoped"})
    return {
        **child,
        "whole_process_seconds": measured.seconds,
        "whole_peak_rss_bytes": measured.peak_rss_bytes,
    }


def _summary(rows: int, base: tuple[Path, float], rounds: list[dict[str, Any]]) -> IncrementalRun:
    best = min(rounds, key=lambda r: float(r["pipeline_seconds"]))
    return IncrementalRun(
        base_rows=rows,
        customers=int(json.loads((base[0].parent / "base.json").read_text())["customers"]),
        warehouse_bytes=base[0].stat().st_size,
        build_seconds=round(base[1], 2),
        in_process_seconds=round(float(best["pipeline_seconds"]), 4),
        stages={name: round(float(best["stages"].get(name, 0.0)), 4) for name in STAGES},
        startup_seconds=round(float(best["startup_seconds"]), 4),
        whole_suite_seconds=round(min(float(r["whole_suite_seconds"]) for r in rounds), 4),
        whole_process_seconds=round(min(float(r["whole_process_seconds"]) for r in rounds), 4),
        peak_rss_bytes=max(int(r["whole_peak_rss_bytes"]) for r in rounds),
        runs=[
            {
                "in_process_seconds": round(float(r["pipeline_seconds"]), 4),
                "whole_process_seconds": round(float(r["whole_process_seconds"]), 4),
                "whole_suite_seconds": round(float(r["whole_suite_seconds"]), 4),
            }
            for r in rounds
        ],
    )
