"""The dashboard as data: `dashboard/spec.json`, packaged with `etl`, read by both renderers.

Sheets, visuals (KPI, bar, line, heatmap, table), the dataset (mart) each visual reads, the measures and the
filters. The local HTML renderer (`etl.present.html`) and the QuickSight renderer (`etl.present.quicksight`)
draw the same spec.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

Spec = dict[str, Any]


def load_spec(path: Path | None = None) -> Spec:
    """The spec at `path`, or the packaged one."""
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else resources.files("etl.present").joinpath("dashboard", "spec.json").read_text(encoding="utf-8")
    )
    spec: Spec = json.loads(text)
    return spec


def visuals(spec: Spec) -> list[dict[str, Any]]:
    return [v for sheet in spec["sheets"] for v in sheet["visuals"]]


def load_map(name: str) -> dict[str, Any]:
    """A packaged map (`dashboard/<name>.json`: viewBox, locations with their SVG paths, aliases, licence)."""
    text = resources.files("etl.present").joinpath("dashboard", f"{name}.json").read_text(encoding="utf-8")
    geo: dict[str, Any] = json.loads(text)
    return geo


def with_settings(spec: Spec, *, score_baseline: str | None) -> Spec:
    """The spec with what the settings choose: a visual with `baseline_setting` (the PSI trend) reads the
    rows of the settings' baseline quarter instead of its default `where` (the first quarter)."""
    if score_baseline is None:
        return spec
    chosen = copy.deepcopy(spec)
    for v in visuals(chosen):
        if "baseline_setting" in v:
            v["where"] = {v["baseline_setting"]: [score_baseline]}
    return chosen
