"""`etl bench --layout NAME`: what a profile costs. The same generated rows are loaded twice, alternately: as
the contracts lay them out (no profile), and as a bank's export in layout NAME with its profile, which
applies every format rule (mapped headers, a day-month-year date format, thousands separators, a currency
sign, separate debit and credit columns, narration rules before the built-in ones, a kept column)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from etl.tools.bench.common import BenchError, fresh, machine, run_child

CUSTOMERS_PER_ROW = 1 / 40  # the dataset generator writes about 40 transactions per customer


@dataclass
class LayoutBenchResult:
    layout: str
    customers: int
    rows: int  # bank-statement rows loaded by each run
    plain_seconds: float  # best of `repeat`: the contracts' layout, no profile
    profile_seconds: float  # best of `repeat`: the bank's layout read through its profile
    plain_bytes: int
    profile_bytes: int
    repeat: int
    runs: list[dict[str, float]]
    machine: dict[str, Any]

    @property
    def slowdown(self) -> float:
        """profile_seconds / plain_seconds - 1 (0.05 = 5% slower with the profile)."""
        return self.profile_seconds / self.plain_seconds - 1

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["slowdown"] = round(self.slowdown, 4)
        return data


def run_layout_bench(
    rows: int,
    layout: str,
    *,
    repeat: int = 1,
    seed: int = 42,
    echo: Callable[[str], None] | None = None,
) -> LayoutBenchResult:
    """Generate the dataset twice from one seed (plain and in `layout`: the same rows), load each `repeat`
    times alternately into a fresh lake and warehouse, and keep the best time of each."""
    from etl.tools.generate import generate_dataset
    from etl.tools.generate.layouts import LAYOUTS

    if layout not in LAYOUTS:
        raise BenchError(f"unknown layout {layout!r}: use {', '.join(LAYOUTS)}")
    say = echo or (lambda message: None)
    customers = max(1, round(rows * CUSTOMERS_PER_ROW))
    root = Path(tempfile.mkdtemp(prefix="etl-bench-layout-"))
    try:
        say(f"generating about {rows:,} bank-statement rows ({customers:,} customers), plain and as {layout}")
        plain = generate_dataset(root / "plain", customers=customers, seed=seed)
        theirs = generate_dataset(root / "layout", customers=customers, seed=seed, layout=layout)
        plain_runs: list[dict[str, Any]] = []
        profile_runs: list[dict[str, Any]] = []
        for attempt in range(1, repeat + 1):
            of = f" ({attempt}/{repeat})" if repeat > 1 else ""
            say(f"loading the plain files{of}")
            plain_runs.append(run_child(str(root / "plain"), str(fresh(root / "run"))))
            say(f"loading the {layout} files with their profile{of}")
            profile_runs.append(
                run_child(str(root / "layout"), str(fresh(root / "run")), "--profile", str(theirs["profile"]))
            )
        loaded = {int(r["rows_loaded"]) for r in plain_runs + profile_runs}
        if len(loaded) != 1:
            raise BenchError(f"the two layouts loaded different row counts: {sorted(loaded)}")
        return LayoutBenchResult(
            layout=layout,
            customers=customers,
            rows=loaded.pop(),
            plain_seconds=round(min(float(r["pipeline_seconds"]) for r in plain_runs), 4),
            profile_seconds=round(min(float(r["pipeline_seconds"]) for r in profile_runs), 4),
            plain_bytes=plain["bank_statements"].stat().st_size,
            profile_bytes=theirs["bank_statements"].stat().st_size,
            repeat=repeat,
            runs=[
                {
                    "plain_seconds": round(float(p["pipeline_seconds"]), 4),
                    "profile_seconds": round(float(q["pipeline_seconds"]), 4),
                }
                for p, q in zip(plain_runs, profile_runs, strict=True)
            ],
            machine=machine(),
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
