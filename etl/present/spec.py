"""The dashboard as data: `dashboard/spec.json`, packaged with `etl`, read by both renderers.

Sheets, visuals (KPI, bar, line, heatmap, table), the dataset (mart) each visual reads, the measures and the
filters. The local HTML renderer (`etl.present.html`) and the QuickSight renderer (`etl.present.quicksight`)
draw the same spec.
"""

from __future__ import annotations

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
