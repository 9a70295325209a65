"""What every command shares: the two consoles, one-line errors with their exit codes, and the settings.

Errors print one line, never a traceback; exit codes are part of the interface (see `etl.errors`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from etl.errors import EtlError, exit_code_of, redact_urls

if TYPE_CHECKING:
    from etl.settings import Settings

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def fail(message: str, code: int) -> typer.Exit:
    """Print `error: <message>` (passwords of URLs hidden) and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {escape(redact_urls(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def fail_with(exc: EtlError) -> typer.Exit:
    return fail(str(exc), exit_code_of(exc))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def build_settings(**flags: Any) -> Settings:
    """Flags win over ETL_* environment variables, which win over defaults."""
    from pydantic import ValidationError  # pydantic-settings costs 0.3 s: not for `etl --help`

    from etl.settings import Settings, invalid_setting

    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        raise fail(invalid_setting(exc), 2) from None


def say(line: str) -> None:
    """One line of plain text on stdout: no markup, no highlighting."""
    out.print(line, markup=False, highlight=False)


def print_json(value: Any) -> None:
    """One JSON value on stdout (dates, decimals and the like as text)."""
    import json

    out.print_json(json.dumps(value, default=str))
