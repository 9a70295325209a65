"""`etl insights`: the headline findings computed from the warehouse."""

from __future__ import annotations

from etl.cli.console import build_settings, fail, fail_with, print_json, say
from etl.cli.options import JsonOption, WarehouseOption
from etl.errors import EtlError, first_line


def insights_command(warehouse: WarehouseOption = None, as_json: JsonOption = False) -> None:
    """Print the headline findings computed from the warehouse."""
    from dataclasses import asdict

    from etl.present.insights import warehouse_insights

    settings = build_settings(warehouse_url=warehouse)
    try:
        found = warehouse_insights(settings)
    except EtlError as exc:
        raise fail_with(exc) from None
    except Exception as exc:
        raise fail(f"cannot compute insights: {first_line(exc)}", 1) from None
    if as_json:
        print_json(asdict(found))
    else:
        for line in found.lines():
            say(line)
