"""`etl bench --layout`: the same generated rows loaded as the contracts lay them out and as a bank's export
through its profile; both runs load every row, and the report says what the profile costs."""

from __future__ import annotations

import pytest

from etl.cli.bench import format_layout
from etl.tools.bench.common import BenchError
from etl.tools.bench.layout import run_layout_bench


def test_both_layouts_load_the_same_rows_and_the_cost_is_reported() -> None:
    result = run_layout_bench(2_000, "nigerian-bank")

    assert result.customers == 50 and result.rows > 1_000
    assert result.plain_seconds > 0 and result.profile_seconds > 0
    assert result.profile_bytes > result.plain_bytes  # the bank's export: naira signs, two amount columns
    assert result.as_dict()["slowdown"] == round(result.profile_seconds / result.plain_seconds - 1, 4)
    lines = format_layout(result)
    assert lines[0].startswith(f"bank statements: {result.rows:,} rows (50 customers), loaded two ways")
    assert lines[2].startswith("nigerian-bank + profile") and lines[3].startswith("the profile costs ")


def test_an_unknown_layout_is_one_line() -> None:
    with pytest.raises(BenchError, match="unknown layout 'zenith': use challenge, nigerian-bank"):
        run_layout_bench(100, "zenith")
