"""Between files, DuckDB gives back the memory the last load left cached, and keeps its limit."""

from __future__ import annotations

from pathlib import Path

from etl.load.warehouse.duckdb import DuckDBWarehouse


def _in_use(wh: DuckDBWarehouse) -> int:
    return int(wh.query("SELECT SUM(memory_usage_bytes) FROM duckdb_memory()")[0][0])


def test_release_memory_evicts_what_a_load_cached_and_keeps_the_limit(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(str(tmp_path / "w.duckdb"), memory_limit="256MB")
    try:
        limit = wh.query("SELECT current_setting('memory_limit')")[0][0]
        wh.execute("CREATE TABLE t AS SELECT i, 'row ' || i AS label FROM range(2000000) r(i)")
        wh.execute("CHECKPOINT")
        assert wh.query("SELECT COUNT(DISTINCT label), SUM(i) FROM t") == [(2_000_000, 1_999_999_000_000)]
        cached = _in_use(wh)
        wh.release_memory()
        assert _in_use(wh) < cached / 4, (cached, _in_use(wh))
        assert wh.query("SELECT current_setting('memory_limit')")[0][0] == limit
        # the data is still there, read back from the file
        assert wh.query("SELECT COUNT(*), MAX(label) FROM t WHERE i >= 1999998") == [(2, "row 1999999")]
    finally:
        wh.close()
