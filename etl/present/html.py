"""The local renderer of the dashboard spec: one self-contained HTML file read from the warehouse.

The marts each visual reads are embedded at their own grain (already aggregated, never raw transactions)
as JSON; a small inline script applies the filters, re-aggregates the additive measures of the spec and
re-renders the KPI cards and the Plotly charts. The page, its style and its script are package data in
`templates/`; Plotly is inlined, so the file works offline from file://.
The spec is shared with the QuickSight renderer (`etl.present.quicksight`).
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from etl.model.marts import ensure_marts
from etl.present.spec import Spec, load_map, load_spec, visuals, with_settings
from etl.settings import Settings

Dataset = dict[str, Any]  # {"columns": [...], "rows": [[...], ...]}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def collect_data(warehouse: Any, spec: Spec, lake_root: Path | None) -> dict[str, Dataset]:
    """Read every dataset of the spec: marts from the warehouse, lake datasets from local Parquet."""
    data: dict[str, Dataset] = {}
    for name, dataset in spec["datasets"].items():
        columns = list(dataset["columns"])
        if dataset.get("local_only"):
            rows = (
                quarantine_by_rule(lake_root, _loaded_file_ids(warehouse))
                if name == "lake_quarantine_by_rule"
                else []
            )
        else:
            rows = [list(r) for r in warehouse.query(f"SELECT {', '.join(columns)} FROM {name}")]
        data[name] = {"columns": columns, "rows": [[_json_value(v) for v in r] for r in rows]}
    return data


def _loaded_file_ids(warehouse: Any) -> set[str]:
    return {row[0] for row in warehouse.query("SELECT file_id FROM etl_file_ledger WHERE status = 'loaded'")}


def quarantine_by_rule(lake_root: Path | None, file_ids: set[str]) -> list[list[Any]]:
    """Quarantined rows by source, rule and day from `<lake>/quarantine/<source>/<file_id>.parquet`, for the
    files in `file_ids` (the warehouse's loaded files: a lake may be shared by several warehouses)."""
    if lake_root is None or not (lake_root / "quarantine").is_dir():
        return []
    import pyarrow.parquet as pq

    counts: Counter[tuple[str, str, str]] = Counter()
    for path in sorted((lake_root / "quarantine").glob("*/*.parquet")):
        if path.stem not in file_ids:
            continue
        table = pq.read_table(path, columns=["rule", "quarantined_at"])
        for rule, at in zip(
            table.column("rule").to_pylist(), table.column("quarantined_at").to_pylist(), strict=True
        ):
            counts[(path.parent.name, str(rule), at.date().isoformat() if at else "")] += 1
    return [[s, r, d, n] for (s, r, d), n in sorted(counts.items())]


def _script_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_json_value).replace("</", "<\\/")


def render_html(
    spec: Spec, data: Mapping[str, Dataset], generated_at: datetime, *, currency: str = "NGN"
) -> str:
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    sheets = []
    for sheet in spec["sheets"]:
        kpis = "".join(
            f'<div class="kpi" data-kpi="{html.escape(v["measure"])}" data-visual="{v["id"]}" data-value="">'
            f'<div class="kpi-label">{html.escape(spec["measures"][v["measure"]]["label"])}</div>'
            '<div class="kpi-value">&ndash;</div><div class="kpi-sub"></div>'
            f'<div class="filter-note" data-note-for="{v["id"]}" data-ignored-filters="" hidden></div></div>'
            for v in sheet["visuals"]
            if v["type"] == "kpi"
        )
        charts = "".join(
            f'<div class="card {"wide" if v["type"] == "table" else ""}">'
            f'<div class="filter-note" data-note-for="{v["id"]}" data-ignored-filters="" hidden></div>'
            f'<div class="visual" id="v-{v["id"]}" data-visual="{v["id"]}" data-type="{v["type"]}"></div>'
            + (
                f'<div class="visual-note" data-note-of="{v["id"]}">{html.escape(v["note"])}</div>'
                if v.get("note")
                else ""
            )
            + "</div>"
            for v in sheet["visuals"]
            if v["type"] != "kpi"
        )
        sheets.append(
            f'<section class="sheet" id="sheet-{sheet["id"]}"><h2>{html.escape(sheet["title"])}</h2>'
            f'<div class="kpis">{kpis}</div><div class="grid">{charts}</div></section>'
        )
    filters = "".join(
        (
            f'<label>{html.escape(f["label"])} from <select id="f-{f["id"]}-from" data-filter="{f["id"]}-from">'
            f'</select></label><label>to <select id="f-{f["id"]}-to" data-filter="{f["id"]}-to"></select></label>'
        )
        if f["type"] == "range"
        else f'<label>{html.escape(f["label"])} <select id="f-{f["id"]}" data-filter="{f["id"]}"></select></label>'
        for f in spec["filters"]
    )
    return _template("dashboard.html").substitute(
        style=_template("dashboard.css").template,
        title=html.escape(spec["title"]),
        description=html.escape(spec.get("description", "")),
        generated=html.escape(generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        filters=filters,
        sheets="".join(sheets),
        plotly=get_plotlyjs(),
        spec=_script_json(spec),
        data=_script_json(data),
        config=_script_json({"currency": currency}),
        maps=_script_json(maps_of(spec)),
        script=_template("dashboard.js").template,
    )


def write_dashboard(settings: Settings, out: Path, spec: Spec | None = None) -> Path:
    """Query the warehouse of `settings` and write the dashboard HTML to `out`."""
    from etl.load.warehouse import open_warehouse  # the backends' drivers load only when a page is written

    spec = with_settings(spec or load_spec(), score_baseline=settings.score_baseline)
    lake = str(settings.lake)
    lake_root = None if "://" in lake else Path(lake)
    with open_warehouse(settings, must_exist=True) as wh:
        if wh.dialect == "duckdb":  # the local file may predate the current views; servers get them on load
            with wh.transaction():
                ensure_marts(wh)
        data = collect_data(wh, spec, lake_root)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(spec, data, datetime.now(UTC), currency=settings.currency), encoding="utf-8")
    return out


def maps_of(spec: Spec) -> dict[str, Any]:
    """The packaged maps the spec's map visuals draw (`dashboard/<name>.json`), by name."""
    return {v["map"]: load_map(v["map"]) for v in visuals(spec) if v["type"] == "map"}


def _template(name: str) -> Template:
    """A file of the page, packaged beside this module in templates/."""
    return Template(resources.files("etl.present").joinpath("templates", name).read_text(encoding="utf-8"))
