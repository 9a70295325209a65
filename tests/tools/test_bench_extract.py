"""`etl bench --extract VAR`: `etl extract` of a scratch table at N and 10N rows, as whole processes."""

from __future__ import annotations

import psycopg
import pytest

from etl.cli.bench import format_extract
from etl.tools.bench.common import BenchError
from etl.tools.bench.extract import run_extract_bench


def test_the_scratch_table_is_extracted_at_both_sizes_and_dropped(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_SOURCE_URL", postgres_url)
    result = run_extract_bench(300, "BENCH_SOURCE_URL")

    assert [s["rows"] for s in result.sizes] == [300, 3_000]  # each file's line count checked by the bench
    small, large = result.sizes
    assert large["csv_bytes"] > 9 * small["csv_bytes"]
    assert all(s["seconds"] > 0 and s["peak_rss_mb"] > 10 for s in result.sizes)
    assert result.as_dict()["rss_growth"] == round(large["peak_rss_mb"] / small["peak_rss_mb"] - 1, 4)
    lines = format_extract(result)
    assert lines[1].lstrip().startswith("300 rows") and lines[2].lstrip().startswith("3,000 rows")
    assert lines[-1].startswith("peak RSS for 10x the rows: ")
    with psycopg.connect(postgres_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'etl_bench_extract_%'"
        ).fetchone()
    assert left == (0,)


def test_an_unset_or_foreign_url_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_URL", raising=False)
    with pytest.raises(BenchError, match=r"^--extract NO_SUCH_URL: the environment variable is not set"):
        run_extract_bench(10, "NO_SUCH_URL")
    monkeypatch.setenv("A_MYSQL_URL", "mysql://u@h/db")
    with pytest.raises(BenchError, match=r"^--extract A_MYSQL_URL: the bench extracts from PostgreSQL"):
        run_extract_bench(10, "A_MYSQL_URL")
