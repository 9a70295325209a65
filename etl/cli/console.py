"""What every command shares: the two consoles, one-line errors with their exit codes, and the settings.

Errors print one line, never a traceback; exit codes are part of the interface (see `etl.errors`).

Everything a person reads goes through `shown`: the secrets of the settings are hidden (see
`etl.errors.redact`) and the characters a terminal acts on are written as escapes, so a file name or a
CSV value cannot clear the screen or print fake text. JSON output stays exact (JSON escapes those
characters itself), with the secrets hidden.
"""

from __future__ import annotations

import logging
import sys
import unicodedata
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from etl.errors import EtlError, exit_code_of, hide_in_logs, hide_secrets, redact, redact_all

if TYPE_CHECKING:
    from etl.settings import Settings

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every character a terminal acts on or does not show written as an escape (`\\x1b`,
    `\\n`, `\\u200b`): control characters (C0, DEL, C1), format characters (bidi overrides, zero-width
    ones), line and paragraph separators, surrogates, private-use and unassigned code points. Spaces stay."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or unicodedata.category(c) == "Zs" else _escaped(c) for c in text)


def _escaped(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(value: object) -> str:
    """Any value as a person may see it: secrets hidden, control characters escaped."""
    return printable(redact(str(value)))


def cell(value: object) -> Text:
    """A table cell: `shown`, never read as markup (None is empty)."""
    return Text("" if value is None else shown(value))


def fail(message: str, code: int) -> typer.Exit:
    """Print `error: <message>` (`shown`) and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {escape(shown(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def fail_with(exc: EtlError) -> typer.Exit:
    return fail(str(exc), exit_code_of(exc))


def note(message: str) -> None:
    """A warning or a note on stderr, `shown`."""
    err.print(shown(message), markup=False, highlight=False, soft_wrap=True)


def build_settings(**flags: Any) -> Settings:
    """Flags win over ETL_* environment variables, which win over defaults.

    From here on, the settings' secrets are hidden from everything the command prints or logs.
    """
    from pydantic import ValidationError  # pydantic-settings costs 0.3 s: not for `etl --help`

    from etl.settings import Settings, invalid_setting

    try:
        settings = Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        raise fail(invalid_setting(exc), 2) from None
    hide_secrets(settings.secrets())
    if logging.lastResort is not None:  # where library modules' warnings go when logging is not configured
        hide_in_logs([logging.lastResort])
    return settings


def say(line: str) -> None:
    """One line of plain text on stdout (`shown`): no markup, no highlighting."""
    out.print(shown(line), markup=False, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """One JSON value on stdout (dates, decimals and the like as text), secrets hidden. Exact: every
    non-ASCII character is a `\\u` escape, so no C1 control or bidi override reaches the terminal raw."""
    import json

    out.print_json(json.dumps(redact_all(json.loads(json.dumps(value, default=str)))), ensure_ascii=True)
