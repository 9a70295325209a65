"""High-water marks of incremental extractions, kept in the names of the files they produce.

An increment is written as `<source>/<name>/<from>--<to>.csv`: `<to>` is the largest cursor value in the
file and `<from>` the lower bound it was read from (`start` for a first or a full read). The warehouse keeps
the mark without a table of its own: a file's ledger row, with its logical name, is written in the same
transaction as the file's rows, so the mark of an extraction is the largest `<to>` among its *loaded*
files. A crash between extraction and load leaves the mark where it was; the next extraction reads from
there again.

Tokens sort as their values do (fixed width), so pending increments load in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

MarkKind = Literal["int", "timestamp", "timestamptz", "date"]
FULL_FILE = "full.csv"
START = "start"
_INT_WIDTH = 20
_TOKEN = re.compile(r"^(?:(?P<int>n\d{20})|(?P<ts>\d{8}T\d{6}\.\d{6})(?P<z>Z?)|(?P<date>\d{8}))$")
_FILE = re.compile(r"^(?P<lo>[^/]+)--(?P<hi>[^/]+)\.csv$")


@dataclass(frozen=True, order=True)
class Mark:
    """A cursor value: an integer, a timestamp (with or without a time zone) or a date."""

    kind: MarkKind
    value: int | datetime | date

    def token(self) -> str:
        """The value in a file name: fixed width, so names sort as values do."""
        if self.kind == "int":
            assert isinstance(self.value, int)
            return "n" + str(self.value).zfill(_INT_WIDTH)
        assert isinstance(self.value, date)
        if self.kind == "date":
            return self.value.strftime("%Y%m%d")
        assert isinstance(self.value, datetime)
        value = self.value.astimezone(UTC).replace(tzinfo=None) if self.kind == "timestamptz" else self.value
        return value.strftime("%Y%m%dT%H%M%S.%f") + ("Z" if self.kind == "timestamptz" else "")

    def sql_literal(self) -> str:
        """The value as a SQL literal of its type (built from a parsed value, never from user text)."""
        if isinstance(self.value, int):
            return str(self.value)
        if self.kind == "date":
            return f"CAST('{self.value.isoformat()}' AS DATE)"
        assert isinstance(self.value, datetime)
        if self.kind == "timestamptz":
            text = self.value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
            return f"CAST('{text}' AS TIMESTAMPTZ)"
        return f"CAST('{self.value.strftime('%Y-%m-%d %H:%M:%S.%f')}' AS TIMESTAMP)"

    def shown(self) -> str:
        if isinstance(self.value, datetime) and self.kind == "timestamptz":
            return self.value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return self.value.isoformat() if isinstance(self.value, date) else str(self.value)

    def minus(self, lookback: int | None, seconds: int | None) -> Mark:
        """The mark moved back by a look-back: a count for an integer cursor, seconds for a timestamp (whole
        days for a date). ValueError when the look-back does not fit the cursor's kind."""
        if lookback is None and seconds is None:
            return self
        if self.kind == "int":
            if seconds is not None:
                raise ValueError("is a duration, but the cursor is an integer: give a count of ids")
            assert isinstance(self.value, int) and lookback is not None
            return Mark("int", self.value - lookback)
        if seconds is None:
            raise ValueError(f"is a count, but the cursor is a {self.kind}: give '<n> hours' or '<n> days'")
        if self.kind == "date":
            assert isinstance(self.value, date)
            return Mark("date", self.value - timedelta(days=-(-seconds // 86400)))
        assert isinstance(self.value, datetime)
        return Mark(self.kind, self.value - timedelta(seconds=seconds))


def parse_token(token: str) -> Mark | None:
    """The mark a token names; None when it is not one."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    if match.group("int"):
        return Mark("int", int(match.group("int")[1:]))
    if match.group("date"):
        try:
            return Mark("date", datetime.strptime(match.group("date"), "%Y%m%d").date())
        except ValueError:
            return None
    try:
        value = datetime.strptime(match.group("ts"), "%Y%m%dT%H%M%S.%f")
    except ValueError:
        return None
    return Mark("timestamptz", value.replace(tzinfo=UTC)) if match.group("z") else Mark("timestamp", value)


def increment_name(low: Mark | None, high: Mark) -> str:
    """The file name of an increment read from `low` (None: from the start) up to `high`."""
    return f"{low.token() if low else START}--{high.token()}.csv"


def range_of(file_name: str) -> tuple[Mark | None, Mark] | None:
    """(from, to) of an increment's file name; None when the name is not an increment's."""
    match = _FILE.match(file_name)
    if match is None:
        return None
    high = parse_token(match.group("hi"))
    low = None if match.group("lo") == START else parse_token(match.group("lo"))
    if high is None or (low is None and match.group("lo") != START):
        return None
    return low, high


def mark_of(logical_names: list[str], folder: str) -> Mark | None:
    """The high-water mark of an extraction writing to `folder` (`<source>/<name>`): the largest `to` among
    the logical names of its loaded increments. ValueError when they carry cursors of different kinds (the
    cursor column or its type was changed): they cannot be compared."""
    marks = [
        found[1]
        for logical in logical_names
        if logical.startswith(folder + "/") and "/" not in logical[len(folder) + 1 :]
        if (found := range_of(logical[len(folder) + 1 :])) is not None
    ]
    if not marks:
        return None
    kinds = {m.kind for m in marks}
    if len(kinds) > 1:
        raise ValueError(
            f"loaded increments of {folder} carry cursors of {len(kinds)} kinds: {sorted(kinds)}"
        )
    return max(marks, key=lambda m: m.value)
