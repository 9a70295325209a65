"""What the dashboard reads: the quarantine breakdown counts this warehouse's files only."""

from __future__ import annotations

from pathlib import Path

from etl.load.warehouse import open_warehouse
from etl.present.html import collect_data
from etl.present.spec import load_spec
from etl.settings import Settings
from tests.helpers import STMT_HEADER, Env, write


def test_the_quarantine_breakdown_counts_only_this_warehouses_files(tmp_path: Path) -> None:
    # two warehouses share one lake: each chart must add up to its own "rows quarantined" card
    envs = [
        Env(
            tmp_path / name,
            Settings(
                lake=str(tmp_path / "lake"),
                warehouse_url=f"duckdb:///{tmp_path / name / 'wh.duckdb'}",
                max_quarantine_rate=1.0,  # the chart, not the budget: a file of mostly bad rows loads
            ),
        )
        for name in ("a", "b")
    ]
    bad_rows = {"a": 1, "b": 3}
    for env in envs:
        name = env.root.name
        lines = "".join(
            f"{name}{i},C1,2023-02-01,0,POS,5.00\n" for i in range(bad_rows[name])
        )  # zero amounts
        write(
            env.data,
            "bank_statements",
            "s.csv",
            f"{STMT_HEADER}\n{name}-ok,C1,2023-02-01,5.00,POS,5.00\n{lines}",
        )
        assert [(f.status, f.rows_quarantined) for f in env.run().files] == [("loaded", bad_rows[name])]
    for env in envs:
        with open_warehouse(env.settings) as wh:
            rows = collect_data(wh, load_spec(), tmp_path / "lake")["lake_quarantine_by_rule"]["rows"]
        assert sum(r[-1] for r in rows) == bad_rows[env.root.name]
