"""`etl soak`: many files of mixed sizes through ONE pipeline and warehouse, back to back, watching for leaks.

The files are bank statements of 0 to `max_rows` rows (a few rows invalid), plus byte-identical copies of
earlier files under new names (skipped as duplicates) and whole-file rejections (empty, a required column
missing). Their exact totals are known in advance, so the run checks the warehouse against them, and it
samples the process's RSS and open file descriptors after every file and lists what the run left in the
lake's scratch folder and in its own temporary folder (both must end empty).
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from etl.contracts import BANK_STATEMENTS
from etl.errors import ConfigError, EtlError

HEADER = "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance"
NARRATIONS = (
    "SALARY PAYMENT ACME LTD",
    "POS PURCHASE SHOPRITE",
    "BET9JA STAKE",
    "ATM WITHDRAWAL",
    "MTN AIRTIME",
)
WARMUP_FILES = 10  # memory and descriptors are compared from here on: the first files warm caches and pools


class SoakError(EtlError):
    """The soak run found the warehouse or the process in a state it must not be in."""


@dataclass
class SoakFile:
    name: str
    kind: str  # rows | duplicate | rejected
    content: bytes
    valid: int = 0  # rows expected in the warehouse from this file
    invalid: int = 0  # rows expected in the quarantine
    total: Decimal = Decimal(0)  # SUM(transaction_amount) of its valid rows


@dataclass
class SoakResult:
    files: int
    statuses: dict[str, int]
    rows_loaded: int
    rows_quarantined: int
    amount_total: str
    expected_rows: int
    expected_quarantined: int
    expected_total: str
    rss_bytes: list[int] = field(default_factory=list)  # after every file, less DuckDB's buffer cache
    fds: list[int] = field(default_factory=list)  # after every file
    fds_before: int = 0
    scratch_left: list[str] = field(default_factory=list)
    temp_left: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rss_growth_bytes(self) -> int:
        """Peak RSS of the last quarter of the files after warm-up minus that of the first quarter: a leak
        raises the trend, while one large file's transient allocation shows in both peaks."""
        window = self.rss_bytes[WARMUP_FILES - 1 :] or self.rss_bytes
        if not window:
            return 0
        quarter = max(1, len(window) // 4)
        return max(window[-quarter:]) - max(window[:quarter])

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rss_growth_bytes": self.rss_growth_bytes}


def make_files(count: int, *, max_rows: int, seed: int) -> list[SoakFile]:
    """Deterministic files; about one in ten a copy of an earlier one and one in ten a rejection."""
    rng = random.Random(seed)
    files: list[SoakFile] = []
    for k in range(count):
        roll = rng.random()
        loaded = [f for f in files if f.kind == "rows"]
        if roll < 0.1 and loaded:
            twin = rng.choice(loaded)
            files.append(SoakFile(f"f{k:04d}-copy.csv", "duplicate", twin.content))
        elif roll < 0.2:
            content = b"" if rng.random() < 0.5 else b"transaction_id,customer_id\nT1,C1\n"
            files.append(SoakFile(f"f{k:04d}-bad.csv", "rejected", content))
        else:
            files.append(_statement_file(k, rng.randint(0, max_rows), rng))
    return files


def _statement_file(k: int, rows: int, rng: random.Random) -> SoakFile:
    lines = [HEADER]
    item = SoakFile(f"f{k:04d}.csv", "rows", b"")
    for i in range(rows):
        cents = rng.randint(1, 5_000_00)
        amount = Decimal(cents) / 100 * (1 if rng.random() < 0.3 else -1)
        if rng.random() < 0.02:  # a zero amount breaks the contract: quarantined
            amount = Decimal("0.00")
            item.invalid += 1
        else:
            item.valid += 1
            item.total += amount
        day = 1 + (k + i) % 28
        narration = rng.choice(NARRATIONS)
        lines.append(
            f"F{k}T{i},C{rng.randint(0, 49)},2023-02-{day:02d},{amount},{narration},{rng.randint(0, 9999)}.00"
        )
    item.content = ("\n".join(lines) + "\n").encode()
    return item


def run_soak(
    root: Path, *, files: int, max_rows: int, seed: int = 7, chunk_bytes: int = 1 << 20
) -> SoakResult:
    """Write the files under `root`, load them one by one through one Pipeline, and measure."""
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - a dev dependency
        raise ConfigError("etl soak needs psutil (pip install psutil)") from None
    from etl.extract.discover import discover
    from etl.settings import Settings

    made = make_files(files, max_rows=max_rows, seed=seed)
    data = root / "data" / BANK_STATEMENTS.name
    data.mkdir(parents=True, exist_ok=True)
    for item in made:
        (data / item.name).write_bytes(item.content)
    lake, temp = root / "lake", root / "tmp"
    temp.mkdir(exist_ok=True)
    values: dict[str, Any] = {
        "lake": str(lake),
        "warehouse_url": f"duckdb:///{root / 'warehouse.duckdb'}",
        "chunk_bytes": chunk_bytes,
    }
    settings = Settings(**values)
    process = psutil.Process()
    expected = [m for m in made if m.kind == "rows"]
    result = SoakResult(
        files=len(made),
        statuses={},
        rows_loaded=0,
        rows_quarantined=0,
        amount_total="0.00",
        expected_rows=sum(m.valid for m in expected),
        expected_quarantined=sum(m.invalid for m in expected),
        expected_total=str(sum((m.total for m in expected), Decimal("0.00"))),
    )
    saved_tempdir = tempfile.tempdir
    tempfile.tempdir = str(temp)  # whatever the run puts in the temporary folder lands here, to be listed
    started = time.perf_counter()
    try:
        from etl.pipeline import open_pipeline

        with open_pipeline(settings) as pipeline:
            warehouse = pipeline.warehouse
            pipeline.prepare()
            result.fds_before = process.num_fds()
            for source_file in discover([root / "data"]):
                outcome = pipeline.process(source_file)
                result.statuses[outcome.status] = result.statuses.get(outcome.status, 0) + 1
                # DuckDB's buffer cache legitimately grows with the warehouse up to its memory limit:
                # what it holds is not a leak, so it is taken out of the figure
                cached = int(
                    warehouse.query("SELECT COALESCE(SUM(memory_usage_bytes), 0) FROM duckdb_memory()")[0][0]
                )
                result.rss_bytes.append(process.memory_info().rss - cached)
                result.fds.append(process.num_fds())
            [(rows, total)] = warehouse.query(
                "SELECT COUNT(*), SUM(transaction_amount) FROM fact_bank_transaction"
            )
            [(quarantined,)] = warehouse.query(
                "SELECT COALESCE(SUM(rows_quarantined), 0) FROM etl_file_ledger WHERE status = 'loaded'"
            )
    finally:
        tempfile.tempdir = saved_tempdir
    result.seconds = round(time.perf_counter() - started, 3)
    result.rows_loaded, result.rows_quarantined = int(rows), int(quarantined)
    result.amount_total = str(total if total is not None else Decimal("0.00"))
    scratch = lake / ".work"
    result.scratch_left = (
        sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*")) if scratch.exists() else []
    )
    result.temp_left = sorted(str(p.relative_to(temp)) for p in temp.rglob("*"))
    return result


def check(result: SoakResult, *, max_rss_growth_bytes: int) -> list[str]:
    """What is wrong with a soak result; empty when it is clean."""
    problems = []
    if (result.rows_loaded, result.rows_quarantined, Decimal(result.amount_total)) != (
        result.expected_rows,
        result.expected_quarantined,
        Decimal(result.expected_total),
    ):
        problems.append("warehouse totals differ from the files' exact totals")
    if result.rss_growth_bytes > max_rss_growth_bytes:
        problems.append(f"RSS grew {result.rss_growth_bytes} bytes after the warm-up files")
    if result.fds and result.fds[-1] != result.fds_before:
        problems.append(f"open file descriptors went from {result.fds_before} to {result.fds[-1]}")
    if result.scratch_left:
        problems.append(f"scratch files left in the lake: {result.scratch_left[:5]}")
    if result.temp_left:
        problems.append(f"temporary files left: {result.temp_left[:5]}")
    return problems
