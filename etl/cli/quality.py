"""`etl quality`: the data tests against the warehouse, recorded."""

from __future__ import annotations

from typing import Annotated

import typer

from etl.cli.console import build_settings, cell, fail, fail_with, out, print_json
from etl.cli.options import WarehouseOption
from etl.cli.run import print_test_summary
from etl.errors import EtlError, first_line


def quality_command(
    warehouse: WarehouseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as one JSON array")] = False,
) -> None:
    """Run the data tests against the warehouse and record them."""
    from etl.quality import check_warehouse

    settings = build_settings(warehouse_url=warehouse)
    try:
        results = check_warehouse(settings)
    except EtlError as exc:
        raise fail_with(exc) from None
    except Exception as exc:
        raise fail(f"cannot run data tests: {first_line(exc)}", 1) from None
    rows = [r.as_dict() for r in results]
    if as_json:
        print_json(rows)
    else:
        from rich.table import Table

        table = Table("test", "severity", "status", "failures")
        for r in rows:
            table.add_row(cell(r["name"]), cell(r["severity"]), cell(r["status"]), str(r["failures"]))
        out.print(table)
        print_test_summary(rows)
    raise typer.Exit(3 if any(r["status"] == "fail" and r["severity"] == "error" for r in rows) else 0)
