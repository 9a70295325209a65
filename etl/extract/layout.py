"""A CSV file's layout from its first bytes: encoding, delimiter, header, and the contract columns it has.

A file that cannot be loaded at all (empty, binary, wrongly encoded, no header, a required column missing)
is rejected here with one line that names the problem.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, replace

from etl.contracts import LINEAGE_COLUMNS, SourceContract, normalise_header
from etl.errors import FileRejected
from etl.profiles import Layout, signed_amount_column

# The reader's names for a layout's debit and credit columns and (a prefix) for the columns it keeps; an
# input column the load does not read gets `_extra_<position>`, so no header can collide with another or
# with `source_row`.
DEBIT, CREDIT = "__debit", "__credit"
KEPT = "__keep__"

LINE_BREAK = r"\r\n|\r|\n"  # what ends a line: CRLF, LF, or CR alone
HEAD_BYTES = 64 * 1024


DELIMITERS = (",", ";", "\t", "|")


_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class CsvLayout:
    encoding: str
    bom: bytes
    delimiter: str
    header: tuple[str, ...]  # normalised names, in file order
    columns: tuple[str, ...]  # what the reader keeps: contract columns in contract order, debit, credit, kept
    names: tuple[str, ...] = ()  # the reader's name of each header column (default: the header)
    extra: tuple[str, ...] = ()  # header columns the load does not read (lineage names among them)
    missing: tuple[str, ...] = ()  # optional contract columns (and kept columns) the file does not have
    ignored: tuple[str, ...] = ()  # header columns named like a lineage column: never read
    header_lines: int = 1  # physical lines the header record takes (a quoted cell may hold line breaks)

    def reader_names(self) -> list[str]:
        return list(self.names) or [h or f"_unnamed_{i}" for i, h in enumerate(self.header)]


def sniff_layout(head: bytes, size: int, contract: SourceContract, layout: Layout | None = None) -> CsvLayout:
    """Decide encoding, delimiter and columns from the first bytes, or reject the file with one clear line.

    `layout` (a profile's, for this file) maps the file's headers to contract columns and names its debit,
    credit and kept columns.
    """
    if size == 0:
        raise FileRejected("empty file (0 bytes)")
    bom, encoding = b"", "utf-8"
    for mark, name in _BOMS:
        if head.startswith(mark):
            bom, encoding = mark, name
            break
    if encoding == "utf-8" and b"\x00" in head:  # with a UTF-8 BOM too: NUL is never UTF-8 text
        raise FileRejected("unreadable: binary data (NUL bytes), not CSV text")
    body = head[len(bom) :]
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        if len(head) == HEAD_BYTES and exc.start >= len(body) - 4:  # a character cut by the head boundary
            text = body[: exc.start].decode(encoding)
        else:
            raise FileRejected(
                f"not {encoding.upper()} text: invalid byte 0x{body[exc.start]:02x} at offset {exc.start + len(bom)}; "
                "save the file as UTF-8"
            ) from None
    first = re.split(LINE_BREAK, text, maxsplit=1)[0]  # old Mac exports end lines with \r alone
    if not first.strip() and (len(first) < len(text) or size == len(head)):
        raise FileRejected("no header row: the first line is blank")
    # The header is one CSV record, whatever its physical lines: Excel writes a wrapped header cell as a
    # quoted value with a line break. The delimiter is the one that splits it into the most fields.
    records = {d: _first_record(text, d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: len(records[d][0]))
    raw, header_lines = records[delimiter]
    # a record that takes in every line of the head may go on past it, or have a quote that never closes
    to_the_end = header_lines >= len(io.StringIO(text, newline="").readlines())
    unclosed = to_the_end and _quote_left_open(text, delimiter)
    if size > len(head) and to_the_end and (unclosed or not text.endswith(("\n", "\r"))):
        raise FileRejected(
            f"the header row (line 1) is {HEAD_BYTES >> 10} KiB or longer; "
            "these sources have a few dozen columns at most: is this the right file?"
        )
    if unclosed:
        raise FileRejected(
            "unreadable header row: a quote opened in it is never closed, so it takes in the whole file; "
            "close the quote and load the file again"
        )
    header = tuple(normalise_header(h) for h in raw)
    sniffed = CsvLayout(encoding, bom, delimiter, header, (), header_lines=header_lines)
    return _columns(header, contract, layout, sniffed)


def _columns(
    header: tuple[str, ...], contract: SourceContract, layout: Layout | None, sniffed: CsvLayout
) -> CsvLayout:
    """Each header column's part in the load: a contract column (after the layout's renames), the debit
    or credit column, a kept column, or extra; the file rejected when a required column is missing."""
    renames = layout.renames() if layout else {}
    roles: dict[str, str] = {}
    amount = signed_amount_column(contract)
    if layout is not None and layout.debit and layout.credit:
        roles = {normalise_header(layout.debit): DEBIT, normalise_header(layout.credit): CREDIT}
        if not set(roles) & set(header) and amount in header:
            roles = {}  # a file with the signed amount itself (a quarantine replay, a fixed export)
    kept = set(layout.kept()) if layout else set()
    contract_names = set(contract.names)
    names: list[str] = []
    seen: dict[str, str] = {}
    extra: list[str] = []
    ignored: list[str] = []
    for i, h in enumerate(header):
        name = roles.get(h) or renames.get(h) or (h if h in contract_names else None)
        if name is None and h in kept:
            name = KEPT + h
        if name is None or (h in LINEAGE_COLUMNS and h not in renames):
            if h in LINEAGE_COLUMNS:
                ignored.append(h)
            if h:
                extra.append(h)
            names.append(f"_extra_{i}")
            continue
        if name in seen:
            raise FileRejected(_twice(name, seen[name], h, layout))
        seen[name] = h
        names.append(name)
    if not roles:
        amount = None
    need = [c for c in contract.required if c != amount] + ([DEBIT, CREDIT] if roles else [])
    missing = [c for c in need if c not in seen]
    if missing:
        found = ", ".join(h for h in header if h) or "none"
        shown = ", ".join(_expected(c, layout) for c in missing)
        raise FileRejected(f"missing required column(s) for {contract.name}: {shown} (found: {found})")
    columns = [c for c in contract.names if c in seen]
    columns += [n for n in (DEBIT, CREDIT) if n in seen]
    columns += [KEPT + k for k in (layout.kept() if layout else ()) if KEPT + k in seen]
    optional = [c for c in contract.names if c not in seen and c not in contract.required and c != amount]
    absent_kept = [k for k in (layout.kept() if layout else ()) if KEPT + k not in seen]
    return replace(
        sniffed,
        columns=tuple(columns),
        names=tuple(names),
        extra=tuple(extra),
        missing=tuple(optional + absent_kept),
        ignored=tuple(ignored),
    )


def _twice(name: str, first: str, second: str, layout: Layout | None) -> str:
    shown = {DEBIT: "the debit column", CREDIT: "the credit column"}.get(name, name.removeprefix(KEPT))
    if first == second:
        return f"duplicate column(s) after header normalisation: {first}"
    how = " (after the profile's header mapping)" if layout is not None and layout.columns else ""
    return f"columns {first!r} and {second!r} are both {shown}{how}: keep one of them"


def _expected(column: str, layout: Layout | None) -> str:
    """A missing column as the file should name it: the profile's header when the profile maps one."""
    if layout is None:
        return column
    if column in (DEBIT, CREDIT):
        header = layout.debit if column == DEBIT else layout.credit
        return f"{header!r} (the profile's {'debit' if column == DEBIT else 'credit'} column, for {layout.source}'s signed amount)"
    theirs = [h for h, ours in layout.columns.items() if ours == column]
    return f"{column} (the profile's header {theirs[0]!r})" if theirs else column


def _first_record(text: str, delimiter: str) -> tuple[list[str], int]:
    """The fields of the first CSV record of `text` and how many physical lines it takes (quotes honoured;
    lenient about stray quotes, as the data's reader is)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return next(reader), reader.line_num
    except StopIteration:
        return [], 1
    except csv.Error as exc:
        raise FileRejected(f"unreadable header row: {exc}") from None


def _quote_left_open(text: str, delimiter: str) -> bool:
    """Whether the first record of `text`, which runs to its end, ends inside a quoted field."""
    try:
        next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False
