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


def test_the_settings_choose_the_currency_and_the_psi_baseline(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from etl.present.html import maps_of, render_html
    from etl.present.spec import visuals, with_settings

    spec = load_spec()
    assert with_settings(spec, score_baseline=None) is spec
    chosen = with_settings(spec, score_baseline="2023-Q3")
    psi = next(v for v in visuals(chosen) if v["id"] == "psi_trend")
    assert psi["where"] == {"baseline_quarter": ["2023-Q3"]}
    assert next(v for v in visuals(spec) if v["id"] == "psi_trend")["where"] == {"is_default_baseline": [1]}
    data = {name: {"columns": list(ds["columns"]), "rows": []} for name, ds in spec["datasets"].items()}
    page = render_html(spec, data, datetime(2024, 1, 1, tzinfo=UTC), currency="USD")
    assert 'const CONFIG = {"currency":"USD"};' in page
    # the map travels inside the page (offline), with its licence
    geo = maps_of(spec)["nigeria-states"]
    assert len(geo["locations"]) == 37 and geo["license"] == "CC BY 4.0"
    assert '"license":"CC BY 4.0"' in page and geo["locations"][0]["path"][:40] in page
