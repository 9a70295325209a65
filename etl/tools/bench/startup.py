"""`etl bench --startup`: what every `etl` process and every Lambda cold start pays before it does any work.

Each command runs as a process of its own (`common.measure_process`: wall clock from fork to exit, its own
peak RSS and CPU time), the commands alternately, `repeat` rounds, the best of each kept (on a shared
machine the slow rounds measure the neighbours):

- `python -c pass`: the interpreter alone, the floor every command stands on;
- `etl --help`: the command line's own imports (typer, rich) and nothing else;
- `etl run` of an empty folder: the settings built, the profile, lake and warehouse URL vetted, no work;
- `etl run` of a tiny folder (one row per source) into a fresh lake and warehouse: the user's first run,
  pyarrow, DuckDB, the schema and the data tests included;
- `import etl.handler`: the Lambda function's init, its share of a cold start.

Targets (issue 21, `TARGETS`): `etl --help` 0.35 s, an empty `etl run` 0.6 s, `import etl.handler` 0.5 s.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.tools.bench.common import BenchError, Measured, etl_command, fresh, machine, measure_process

TARGETS = {"etl --help": 0.35, "etl run (empty folder)": 0.6, "import etl.handler": 0.5}
TINY = {
    "loan_applications": "application_id,customer_id,loan_amount,loan_application_date,credit_score,"
    "employment_status,annual_income\nA1,C1,1000.00,2024-01-10,700,Employed,50000.00\n",
    "bank_statements": "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\n"
    "T1,C1,2024-02-01,-10.00,POS SHOP,90.00\n",
    "repayments": "repayment_id,application_id,due_date,amount_due,paid_date,amount_paid\n"
    "R1,A1,2024-02-10,100.00,2024-02-10,100.00\n",
}


@dataclass
class StartupResult:
    commands: dict[str, dict[str, float]]  # name -> best seconds, its CPU seconds, the largest peak RSS
    repeat: int
    targets: dict[str, float] = field(default_factory=lambda: dict(TARGETS))
    runs: list[dict[str, float]] = field(default_factory=list)  # every round: each command's seconds
    machine: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "commands": self.commands,
            "targets": self.targets,
            "repeat": self.repeat,
            "runs": self.runs,
            "machine": self.machine,
        }


def run_startup(
    *, repeat: int = 5, workdir: Path | None = None, echo: Callable[[str], None] | None = None
) -> StartupResult:
    """Time each start-up command as a whole process, `repeat` alternating rounds; the best of each."""
    say = echo or (lambda message: None)
    if repeat < 1:
        raise BenchError(f"repeat must be >= 1, got {repeat}")
    root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="etl-bench-startup-"))
    try:
        empty, tiny = fresh(root / "empty"), fresh(root / "tiny")
        (empty / "data").mkdir()
        for source, text in TINY.items():
            (tiny / "data" / source).mkdir(parents=True)
            (tiny / "data" / source / "one.csv").write_text(text, encoding="utf-8")
        etl = etl_command()
        run = [*etl, "run", "--lake", "lake", "--warehouse", "duckdb:///warehouse.duckdb"]
        commands: dict[str, tuple[list[str], Path]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], empty),
            "etl --help": ([*etl, "--help"], empty),
            "etl run (empty folder)": (run, empty),
            "etl run (one row per source, fresh warehouse)": (run, tiny),
            "import etl.handler": ([sys.executable, "-c", "import etl.handler"], empty),
        }
        rounds: list[dict[str, Measured]] = []
        for attempt in range(1, repeat + 1):
            say(f"start-up round {attempt}/{repeat}")
            measured: dict[str, Measured] = {}
            for name, (command, cwd) in commands.items():
                shutil.rmtree(cwd / "lake", ignore_errors=True)  # a fresh lake and warehouse each time
                for made in ("warehouse.duckdb", "warehouse.duckdb.wal"):
                    (cwd / made).unlink(missing_ok=True)
                measured[name] = measure_process(command, log=root / "logs" / f"{len(measured)}.log", cwd=cwd)
            rounds.append(measured)
        return StartupResult(
            commands={name: _best(name, rounds) for name in commands},
            repeat=repeat,
            runs=[{name: round(m.seconds, 4) for name, m in r.items()} for r in rounds],
            machine=machine(),
        )
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)


def _best(name: str, rounds: list[dict[str, Measured]]) -> dict[str, float]:
    best = min((r[name] for r in rounds), key=lambda m: m.seconds)
    return {
        "seconds": round(best.seconds, 4),
        "cpu_seconds": round(best.cpu_seconds, 4),
        "peak_rss_mb": round(max(r[name].peak_rss_bytes for r in rounds) / (1 << 20), 1),
    }
