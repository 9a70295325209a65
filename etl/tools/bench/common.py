"""What the bench's measurements share: child processes, whole-process timing, peak memory, the machine."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.contracts import BANK_STATEMENTS, LOAN_APPLICATIONS
from etl.errors import EtlError

STATEMENTS_CSV = Path(BANK_STATEMENTS.name) / "statements.csv"
APPLICATIONS_CSV = Path(LOAN_APPLICATIONS.name) / "applications.csv"
ROWS_PER_CUSTOMER = 200  # about 17 transactions a month over the generator's year
# The sizing the bench measures (and docs/performance.md recommends for Lambda): parse 4 MiB of CSV per
# chunk and cap each embedded DuckDB at 128 MB, so peak RSS stays flat whatever the file size.
LAMBDA_SIZING: dict[str, Any] = {"chunk_bytes": 4 << 20, "duckdb_memory_limit": "128MB"}


class BenchError(EtlError):
    """The benchmark could not run (a child process failed); the message says why."""


@dataclass(frozen=True)
class Measured:
    """One whole process: wall clock from its start to its exit, its peak RSS and CPU time."""

    seconds: float
    peak_rss_bytes: int
    cpu_seconds: float

    def as_dict(self) -> dict[str, float]:
        return {
            "seconds": round(self.seconds, 4),
            "peak_rss_mb": round(self.peak_rss_bytes / (1 << 20), 1),
            "cpu_seconds": round(self.cpu_seconds, 4),
        }


# Forks the command, waits for it and prints its wall clock and rusage as JSON. The fork is taken from this
# bare interpreter (about 10 MB) rather than from the bench, because Linux carries a forking process's peak
# into the child's ru_maxrss: spawned from the bench, every command would report the bench's own peak.
_SPAWNER = """
import json, os, sys, time
log = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "seconds": seconds,
                  "peak_rss_kib": usage.ru_maxrss, "cpu_seconds": usage.ru_utime + usage.ru_stime}))
"""


def measure_process(
    command: list[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Measured:
    """Run `command` as a process of its own (output to `log`) and measure it; a failure is a BenchError."""
    log.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _SPAWNER, str(log), *command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    if done.returncode != 0:
        raise BenchError(f"could not run {command[0]}: {(done.stderr or done.stdout).strip()[-300:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["exit"] != 0:
        lines = log.read_text(errors="replace").strip().splitlines()
        raise BenchError(f"{' '.join(command[:3])} exited {result['exit']}: {lines[-1] if lines else ''}")
    return Measured(
        float(result["seconds"]), int(result["peak_rss_kib"]) * 1024, float(result["cpu_seconds"])
    )


def etl_command() -> list[str]:
    """The `etl` a user runs: the console script beside this interpreter, else the module."""
    script = Path(sys.executable).parent / "etl"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "etl.cli"]


def run_child(*args: str) -> dict[str, Any]:
    """`python -m etl.tools.bench ARGS` (see `etl.tools.bench.child`): its last line of JSON."""
    command = [sys.executable, "-m", "etl.tools.bench", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise BenchError(f"the pipeline run failed: {lines[-1] if lines else f'exit {done.returncode}'}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def fresh(path: Path) -> Path:
    """`path` as an empty folder."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def copy_to_disk(source: Path, target: Path) -> None:
    """Copy a base warehouse and flush the copy to disk before it is timed. A fresh copy's pages are still
    dirty in the page cache, and DuckDB's checkpoint on close fsyncs the file: a 300 MB copy of the 10M
    warehouse put 0.10-0.13 s of the copy's own write-back into the load's close, which a warehouse that
    was not just copied never pays."""
    shutil.copyfile(source, target)
    with open(target, "rb+") as copied:
        os.fsync(copied.fileno())


def sql_string(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def machine() -> dict[str, Any]:
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


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


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
