"""A CSV file's layout from its first bytes: encoding, delimiter, header, and the contract columns it has.

A file that cannot be loaded at all (empty, binary, wrongly encoded, no header, a required column missing)
is rejected here with one line that names the problem.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass

from etl.contracts import SourceContract, normalise_header
from etl.errors import FileRejected

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
    columns: tuple[str, ...]  # contract columns present in the file, in contract order
    header_lines: int = 1  # physical lines the header record takes (a quoted cell may hold line breaks)


def sniff_layout(head: bytes, size: int, contract: SourceContract) -> CsvLayout:
    """Decide encoding, delimiter and columns from the first bytes, or reject the file with one clear line."""
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
    dupes = sorted({h for h in header if header.count(h) > 1 and h})
    if dupes:
        raise FileRejected(f"duplicate column(s) after header normalisation: {', '.join(dupes)}")
    missing = [c for c in contract.required if c not in header]
    if missing:
        found = ", ".join(h for h in header if h) or "none"
        raise FileRejected(
            f"missing required column(s) for {contract.name}: {', '.join(missing)} (found: {found})"
        )
    columns = tuple(c for c in contract.names if c in header)
    return CsvLayout(encoding, bom, delimiter, header, columns, header_lines)


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
