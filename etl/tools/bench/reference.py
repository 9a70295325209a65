"""The references a run is compared with, on the same bank-statement CSV, in a fresh DuckDB file each.

- `typed_copy`: DuckDB's own typed load (`CREATE TABLE` with DATE and DECIMAL(18,2) columns, `COPY ...
  (HEADER)`, close): the engine's speed on this machine.
- `physical_floor`: what any loader of this job must at least do: the CSV read once, its typed rows written
  to a DuckDB table and to a zstd Parquet file (the lake's compression), closed. No validation, quarantine,
  categories, keys, ledger or tests: the floor the product's own work sits on.

`python -m etl.tools.bench.reference copy|floor CSV OUT_DIR` runs one as a whole process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from etl.tools.bench.common import sql_string

TYPED_DDL = (
    "CREATE TABLE t (transaction_id VARCHAR, customer_id VARCHAR, transaction_date DATE, "
    "transaction_amount DECIMAL(18,2), narration VARCHAR, balance DECIMAL(18,2), channel VARCHAR, "
    "merchant VARCHAR)"
)


def typed_copy(csv_path: Path, out_dir: Path) -> float:
    """Seconds for DuckDB to load the CSV into a typed table in a fresh file (connect to close)."""
    return _load(csv_path, out_dir / "reference.duckdb", None)


def physical_floor(csv_path: Path, out_dir: Path) -> float:
    """Seconds to read the CSV once into a typed DuckDB table and write those rows to Parquet too."""
    return _load(csv_path, out_dir / "floor.duckdb", out_dir / "floor.parquet")


def _load(csv_path: Path, db_path: Path, parquet: Path | None) -> float:
    import duckdb

    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(db_path))
    try:
        con.execute(TYPED_DDL)
        con.execute(f"COPY t FROM {sql_string(csv_path)} (HEADER)")  # COPY takes no bound file name
        if parquet is not None:
            con.execute(f"COPY t TO {sql_string(parquet)} (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()
    return time.perf_counter() - started


def process_command(kind: str, csv_path: Path, out_dir: Path) -> list[str]:
    """The command that runs reference `kind` ("copy" or "floor") as a process of its own."""
    return [sys.executable, "-m", "etl.tools.bench.reference", kind, str(csv_path), str(out_dir)]


if __name__ == "__main__":
    kind, csv, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    (typed_copy if kind == "copy" else physical_floor)(csv, out)
