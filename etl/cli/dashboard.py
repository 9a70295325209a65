"""`etl dashboard`: the dashboard as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl.cli.console import build_settings, fail, fail_with, say
from etl.cli.options import WarehouseOption
from etl.errors import EtlError, first_line


def dashboard_command(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write")] = Path("dashboard.html"),
    warehouse: WarehouseOption = None,
    lake: Annotated[
        str | None, typer.Option(help="Lake folder (quarantine breakdown) (env ETL_LAKE)")
    ] = None,
) -> None:
    """Write the dashboard as one self-contained HTML file (works offline)."""
    from etl.present.html import write_dashboard

    settings = build_settings(warehouse_url=warehouse, lake=lake)
    try:
        path = write_dashboard(settings, out)
    except EtlError as exc:
        raise fail_with(exc) from None
    except Exception as exc:
        raise fail(f"cannot write the dashboard: {first_line(exc)}", 1) from None
    say(f"dashboard written to {path}")
