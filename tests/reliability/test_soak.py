"""Soak, short variant: 40 files of mixed sizes back to back through one pipeline and one warehouse.

The long variant (200 files, up to 20,000 rows each) is `etl soak` (`etl.tools.soak.soak_command`).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import typer
from typer.testing import CliRunner

from etl.cli.soak import soak_command
from etl.tools.soak import WARMUP_FILES, check, make_files, run_soak

MAX_RSS_GROWTH = 48 << 20  # after the warm-up files; measured growth is a few MiB


def test_forty_files_back_to_back_give_exact_totals_with_flat_memory_descriptors_and_no_leftovers(
    tmp_path: Path,
) -> None:
    files = make_files(40, max_rows=2000, seed=7)
    kinds = {k: sum(f.kind == k for f in files) for k in ("rows", "duplicate", "rejected")}
    assert kinds["duplicate"] >= 2 and kinds["rejected"] >= 2 and kinds["rows"] >= 30  # the mix is real
    assert any(f.invalid for f in files) and min(f.valid for f in files if f.kind == "rows") < 200

    result = run_soak(tmp_path, files=40, max_rows=2000, seed=7)

    assert result.statuses == {
        "loaded": kinds["rows"],
        "skipped_duplicate": kinds["duplicate"],
        "rejected": kinds["rejected"],
    }
    expected_rows = sum(f.valid for f in files)
    expected_total = sum((f.total for f in files if f.kind == "rows"), Decimal(0))
    assert (result.rows_loaded, Decimal(result.amount_total)) == (expected_rows, expected_total)
    assert result.rows_quarantined == sum(f.invalid for f in files if f.kind == "rows")
    assert len(result.rss_bytes) == 40 and result.rss_growth_bytes < MAX_RSS_GROWTH, [
        r >> 20 for r in result.rss_bytes[WARMUP_FILES - 1 :]
    ]
    assert result.fds[-1] == result.fds_before, result.fds
    assert result.scratch_left == [] and result.temp_left == []
    assert check(result, max_rss_growth_bytes=MAX_RSS_GROWTH) == []


def test_the_soak_command_reports_a_clean_run(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("soak")(soak_command)  # registered on etl.cli.app the same way
    app.command("other")(lambda: None)  # two commands: typer keeps the command name
    result = CliRunner().invoke(
        app, ["soak", "--files", "12", "--max-rows", "300", "--json", "--keep", str(tmp_path / "soak")]
    )
    assert result.exit_code == 0, result.output
    assert '"problems": []' in result.stdout
    assert (tmp_path / "soak" / "warehouse.duckdb").exists()


def test_a_soak_that_loads_no_rows_is_clean(tmp_path: Path) -> None:
    """0 rows give the total 0.00 in the warehouse and in the files: the same amount, not a difference."""
    result = run_soak(tmp_path, files=5, max_rows=0, seed=7)

    assert (result.rows_loaded, result.expected_rows, result.amount_total) == (0, 0, "0.00")
    assert check(result, max_rss_growth_bytes=MAX_RSS_GROWTH) == []
