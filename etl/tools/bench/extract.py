"""`etl bench --extract VAR`: `etl extract` of a large table, as a whole process, at two sizes.

The bench creates a scratch table of bank transactions (`etl_bench_extract_<pid>`, UNLOGGED, dropped at the
end) in the PostgreSQL database whose URL is in environment variable VAR, fills it with `generate_series`
to N and then 10N rows, and times a full-mode `etl extract` of it each time (best of `repeat`): wall clock,
rows/s, CSV bytes and peak RSS. The extraction streams Arrow batches into the CSV writer, so its peak RSS
should not grow with the table: the result states the ratio of the two peaks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from etl.errors import first_line
from etl.tools.bench.common import BenchError, etl_command, machine, measure_process

COLUMNS = (
    "txn_ref text NOT NULL, account text NOT NULL, posted_at timestamptz NOT NULL, amount numeric(18,2) NOT NULL, "
    "remarks text NOT NULL, balance numeric(18,2) NOT NULL, updated_at timestamptz NOT NULL"
)
# Rows from..to of the scratch table: every value derived from n, nothing random (the same table each time).
FILL = (
    "INSERT INTO {} SELECT 'TXN-' || lpad(n::text, 10, '0'), 'CUST-' || lpad((n %% 40000)::text, 6, '0'), "
    "timestamptz '2024-01-01 00:00+00' + n * interval '7 seconds', "
    "((CASE WHEN n %% 3 = 0 THEN 1 ELSE -1 END) * (1 + n %% 250000) / 100.0)::numeric(18,2), "
    "'POS PURCHASE SHOP ' || (n %% 977) || ' LAGOS', (n %% 9000000 / 100.0)::numeric(18,2), "
    "timestamptz '2024-01-01 00:00+00' + n * interval '7 seconds' FROM generate_series(%s::bigint, %s::bigint) AS n"
)
MAPPING = (
    'columns = { txn_ref = "transaction_id", account = "customer_id", posted_at = "transaction_date", '
    'amount = "transaction_amount", remarks = "narration" }'
)


@dataclass
class ExtractBenchResult:
    url_env: str
    sizes: list[dict[str, Any]]  # per table size: rows, seconds, rows_per_second, csv_bytes, peak_rss_mb
    repeat: int
    machine: dict[str, Any]

    @property
    def rss_growth(self) -> float:
        """Peak RSS at the largest size over the smallest, minus 1 (0.05 = 5% more memory for 10x rows)."""
        return float(self.sizes[-1]["peak_rss_mb"]) / float(self.sizes[0]["peak_rss_mb"]) - 1

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rss_growth"] = round(self.rss_growth, 4)
        return data


def run_extract_bench(
    rows: int, url_env: str, *, repeat: int = 1, echo: Callable[[str], None] | None = None
) -> ExtractBenchResult:
    """Extract a scratch table of `rows` and then `10 * rows` rows as whole `etl extract` processes."""
    import psycopg
    from psycopg import sql

    say = echo or (lambda message: None)
    url = os.environ.get(url_env, "").strip()
    if not url:
        raise BenchError(
            f"--extract {url_env}: the environment variable is not set (export a PostgreSQL URL)"
        )
    if not url.lower().startswith(("postgresql://", "postgres://")):
        raise BenchError(f"--extract {url_env}: the bench extracts from PostgreSQL (postgresql://...)")
    table = f"etl_bench_extract_{os.getpid()}"
    root = Path(tempfile.mkdtemp(prefix="etl-bench-extract-"))
    profile = root / "bench.toml"
    profile.write_text(
        f'[[extract]]\nname = "bench"\nsource = "bank_statements"\nurl_env = "{url_env}"\n'
        f'table = "{table}"\nmode = "full"\ntimezone = "Africa/Lagos"\n{MAPPING}\n',
        encoding="utf-8",
    )
    measured: list[dict[str, Any]] = []
    try:
        # composed by psycopg: the table's name quoted as an identifier
        name = sql.Identifier(table)
        create, fill = (
            sql.SQL("CREATE UNLOGGED TABLE {} (" + COLUMNS + ")").format(name),
            sql.SQL(FILL).format(name),
        )
        analyze, drop = (
            sql.SQL("VACUUM ANALYZE {}").format(name),
            sql.SQL("DROP TABLE IF EXISTS {}").format(name),
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(create)
        try:
            filled = 0
            for size in (rows, rows * 10):
                say(f"filling {table} to {size:,} rows")
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(fill, (filled + 1, size))
                    conn.execute(analyze)
                filled = size
                measured.append(_extract(size, profile, root, repeat, say))
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(drop)
    except psycopg.Error as exc:
        raise BenchError(f"--extract {url_env}: {first_line(exc)}") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return ExtractBenchResult(url_env=url_env, sizes=measured, repeat=repeat, machine=machine())


def _extract(size: int, profile: Path, root: Path, repeat: int, say: Callable[[str], None]) -> dict[str, Any]:
    best = None
    out = root / "out"
    for attempt in range(1, repeat + 1):
        say(f"etl extract of {size:,} rows ({attempt}/{repeat})")
        shutil.rmtree(out, ignore_errors=True)
        command = [
            *etl_command(),
            "extract",
            "--profile",
            str(profile),
            "--out",
            str(out),
            "--warehouse",
            f"duckdb:///{root / 'none.duckdb'}",  # full mode reads no mark: the file is never created
        ]
        run = measure_process(command, log=root / "extract.log")
        if best is None or run.seconds < best.seconds:
            best = run
    assert best is not None
    written = out / "bank_statements" / "bench" / "full.csv"
    with written.open("rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
    if lines - 1 != size:
        raise BenchError(f"etl extract wrote {lines - 1:,} rows of {size:,}")
    return {
        "rows": size,
        "seconds": round(best.seconds, 3),
        "rows_per_second": round(size / best.seconds),
        "csv_bytes": written.stat().st_size,
        "peak_rss_mb": round(best.peak_rss_bytes / (1 << 20), 1),
        "cpu_seconds": round(best.cpu_seconds, 3),
    }
