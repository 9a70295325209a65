"""Streaming CSV reading: layout sniffing, whole-file rejection and exact physical line numbers.

Rows are read in bounded chunks with pyarrow's streaming reader, every column as text: casting is the
validator's job, so a bad value becomes a quarantined row instead of a failed file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl.errors import FileRejected
from etl.extract.layout import LINE_BREAK, CsvLayout

READ_BLOCK = 1 << 20  # bytes pyarrow reads per block; it queues up to 32 of them ahead
# A line _PyarrowInput adds after the file's last byte. Outside quotes it is a record of one field, dropped;
# a quote that is never closed takes it into its value, which is how such a quote is found even when the
# record still has the header's field count (the quote opened in the last column). It is told from the
# file's own bytes by where it is, never by what it says: it is always the last record (see
# _LineTracker.settle_end), so a line of the file that reads the same is a record like any other.
END_MARK = "\x00etl:end-of-file\x00"


@dataclass(frozen=True)
class MalformedRow:
    line: int
    text: str
    reason: str


@dataclass
class _LineTracker:
    """Maps records to the physical line they start on, across chunks.

    pyarrow numbers records, not lines (a quoted field may hold line breaks), and hands malformed records to
    a callback ahead of the chunk they sit in. A record's line is the first line after the header + its
    record index + the line breaks inside all earlier records.
    """

    header_lines: int = 1  # physical lines of the header record (a quoted header cell may hold line breaks)
    valid_seen: int = 0
    newlines_before: int = 0
    next_index: int = 0  # first record index not yet placed
    # (record index, text, fields pyarrow found), in arrival order
    malformed: list[tuple[int, str, int]] = field(default_factory=list)
    _placed_malformed: int = 0
    end_mark_seen: bool = False  # END_MARK came as a record of its own: every quote was closed

    def handler(self, row: Any) -> str:
        # pyarrow counts the skipped header lines, then records
        self.malformed.append(
            (int(row.number) - 1 - self.header_lines, str(row.text), int(row.actual_columns))
        )
        return "skip"

    def settle_end(self, held_rows: int) -> None:
        """Take END_MARK out of the last record, once every record has been read (`held_rows`: valid records
        not handed over yet). Only the last record can hold it: alone, it is dropped; at the end of a
        malformed record, a quote ran to the end of the file and the record keeps what came before it. A
        valid last record is `take_last_record`'s."""
        if not self.malformed:
            return
        index, text, found = self.malformed[-1]
        if index != self.valid_seen + held_rows + len(self.malformed) - 1:
            return  # a valid record came after it
        if text.strip("\r\n") == END_MARK:
            self.malformed.pop()
            self.end_mark_seen = True
        elif text.rstrip("\r\n").endswith(END_MARK):
            self.malformed[-1] = (index, self.without_end_mark(text), found)

    @staticmethod
    def without_end_mark(text: str) -> str:
        """`text` without the END_MARK at its end and the line break before it (added, or the file's last
        one: a line ending, not part of the value, as pyarrow reports a record's text)."""
        text = text[: text.rfind(END_MARK)]
        return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith(("\n", "\r")) else text

    def take_last_record(self, table: pa.Table, delimiter: str) -> pa.Table:
        """The final chunk without its last record when END_MARK ended up in that record's last field: a
        quote opened there ran to the end of the file, taking in the lines after it, and the record kept the
        header's field count. It becomes a malformed record, its text rebuilt from its fields."""
        n = table.num_rows
        if self.end_mark_seen or n == 0:
            return table
        last = table.column(table.num_columns - 1)[n - 1].as_py()
        if last is None or not last.rstrip("\r\n").endswith(END_MARK):
            return table
        # the fields before the open one, quoted where CSV needs it (a field holding \r or \n is quoted
        # only when they are in the writer's line terminator), then the open field as it was read
        line = io.StringIO()
        csv.writer(line, delimiter=delimiter, lineterminator="\r\n").writerow(
            [table.column(i)[n - 1].as_py() or "" for i in range(table.num_columns - 1)] + [""]
        )
        text = line.getvalue().removesuffix("\r\n") + '"' + self.without_end_mark(last)
        index = self.valid_seen + n - 1 + len(self.malformed)
        self.malformed.append((index, text, table.num_columns))
        return table.slice(0, n - 1)

    def next_line(self) -> int:
        """The line the first record not yet handed over starts on (the malformed records already reported
        come before it)."""
        pending = self.malformed[self._placed_malformed :]
        breaks = sum(_line_breaks(t) for _, t, _ in pending)
        return 1 + self.header_lines + self.valid_seen + len(self.malformed) + self.newlines_before + breaks

    def place(self, embedded: np.ndarray) -> tuple[np.ndarray, list[tuple[int, str, int]]]:
        """Lines of the next chunk's valid records, and the malformed records (line, text, fields found)
        placed before them."""
        n = len(embedded)
        bad_idx = np.fromiter((i for i, _, _ in self.malformed), dtype=np.int64, count=len(self.malformed))
        shifted = bad_idx - np.arange(len(bad_idx), dtype=np.int64)
        ordinals = np.arange(self.valid_seen, self.valid_seen + n, dtype=np.int64)
        index = ordinals + np.searchsorted(shifted, ordinals, side="right")
        last = int(index[-1]) if n else None
        pending = [m for m in self.malformed[self._placed_malformed :] if last is None or m[0] < last]
        self._placed_malformed += len(pending)
        all_index = np.concatenate([index, np.array([i for i, _, _ in pending], dtype=np.int64)])
        all_newlines = np.concatenate(
            [
                embedded.astype(np.int64),
                np.array([_line_breaks(t) for _, t, _ in pending], dtype=np.int64),
            ]
        )
        order = np.argsort(all_index, kind="stable")
        before = np.empty_like(all_newlines)
        before[order] = np.cumsum(all_newlines[order]) - all_newlines[order]
        lines = 1 + self.header_lines + all_index + self.newlines_before + before
        self.newlines_before += int(all_newlines.sum())
        self.valid_seen += n
        placed = [(int(line), text, found) for line, (_, text, found) in zip(lines[n:], pending, strict=True)]
        return lines[:n], placed


def _line_breaks(text: str) -> int:
    """How many line breaks (CRLF, LF or CR alone) `text` holds."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def iter_chunks(
    stream: BinaryIO | io.RawIOBase, layout: CsvLayout, *, block_size: int
) -> Iterator[tuple[pa.Table, list[MalformedRow], int]]:
    """Yield (rows as text with `source_row`, malformed rows, blank-line count), about `block_size` bytes at a time.

    Lines with no values at all (empty, or only whitespace and delimiters) are not records and are counted,
    not loaded. pyarrow's streaming reader keeps up to 32 blocks queued ahead of the consumer, so it is
    given blocks of at most READ_BLOCK bytes (memory stays flat in file size) and consecutive blocks are
    joined into one chunk.
    """
    per_chunk = max(1, -(-block_size // READ_BLOCK))
    tables: list[pa.Table] = []
    bad: list[MalformedRow] = []
    blanks = 0
    for table, malformed, blank in _iter_blocks(stream, layout, block_size=min(block_size, READ_BLOCK)):
        tables.append(table)
        bad.extend(malformed)
        blanks += blank
        if len(tables) >= per_chunk:
            yield _joined(tables), bad, blanks
            tables, bad, blanks = [], [], 0
    if tables or bad or blanks:
        yield (_joined(tables) if tables else table_of_nothing(layout)), bad, blanks


def _joined(tables: list[pa.Table]) -> pa.Table:
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def _iter_blocks(
    stream: BinaryIO | io.RawIOBase, layout: CsvLayout, *, block_size: int
) -> Iterator[tuple[pa.Table, list[MalformedRow], int]]:
    tracker = _LineTracker(header_lines=layout.header_lines)
    names = layout.reader_names()
    held: pa.Table | None = None  # one chunk behind the reader: the last one is checked for END_MARK
    try:
        # pyarrow reads UTF-8: another encoding is transcoded first, so the repairs of _PyarrowInput see
        # the bytes pyarrow splits into blocks (a CR of UTF-16 is two bytes, neither of them 0x0D last).
        utf8 = stream if layout.encoding == "utf-8" else _Transcoded(stream, layout.encoding)
        reader = pacsv.open_csv(
            _PyarrowInput(utf8),
            read_options=pacsv.ReadOptions(
                use_threads=False,
                block_size=block_size,
                skip_rows=layout.header_lines,  # pyarrow skips physical lines, whatever their quotes
                column_names=names,
                encoding="utf-8",
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=tracker.handler,
            ),
            convert_options=pacsv.ConvertOptions(
                # Every column is read as text, extras too: a line break inside any field moves the line numbers.
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            if batch.num_rows == 0:  # a chunk of only malformed rows: they are placed with the next records
                continue
            if held is not None:
                yield _finish_chunk(held, tracker, layout)
            held = pa.Table.from_batches([batch])
        tracker.settle_end(held.num_rows if held is not None else 0)
        if held is not None and (held := tracker.take_last_record(held, layout.delimiter)).num_rows:
            yield _finish_chunk(held, tracker, layout)
        _, tail = tracker.place(np.zeros(0, dtype=np.int64))
        if tail:
            malformed, blanks = _malformed(tail, layout)
            yield table_of_nothing(layout), malformed, blanks
    except pa.ArrowInvalid as exc:
        if "straddling object" in str(exc):  # a record that does not end within two read blocks
            if held is not None:  # its records come before the long one
                _finish_chunk(held, tracker, layout)
            raise FileRejected(
                _record_too_long(f"the record starting on line {tracker.next_line()}", block_size)
            ) from None
        if "Could not skip initial" in str(exc):  # the header line does not end within the first block
            raise FileRejected(_record_too_long("the header row (line 1)", block_size)) from None
        raise FileRejected(_explain_arrow_error(exc, layout)) from None


def _record_too_long(what: str, block_size: int) -> str:
    size = f"{block_size >> 20} MiB" if block_size % (1 << 20) == 0 else f"{block_size} bytes"
    return (
        f"unreadable CSV: {what} is longer than {size}, usually a quote that is never closed; "
        "close the quote (or shorten the value) and load the file again"
    )


class _Transcoded(io.RawIOBase):
    """A UTF-16 or UTF-32 stream as UTF-8 bytes, decoded READ_BLOCK raw bytes at a time."""

    def __init__(self, inner: BinaryIO | io.RawIOBase, encoding: str) -> None:
        self.inner = inner
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self.raw = bytearray(READ_BLOCK)
        self.out = b""
        self.ended = False
        self.encoding = encoding
        self.consumed = 0  # raw bytes decoded so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self.out and not self.ended:
            got = read_into(self.inner, memoryview(self.raw))
            self.ended = got == 0
            pending = len(self.decoder.getstate()[0])  # bytes of a character begun in the previous read
            try:
                self.out = self.decoder.decode(bytes(self.raw[:got]), final=self.ended).encode("utf-8")
            except UnicodeDecodeError as exc:  # exc.start counts from the pending bytes
                where = self.consumed - pending + exc.start
                raise FileRejected(
                    f"not {self.encoding.upper()} text: {exc.reason} at offset {where}; save the file as UTF-8"
                ) from None
            self.consumed += got
        n, self.out = _hand_over(self.out, view, 0)
        return n


class _PyarrowInput(io.RawIOBase):
    """The file's bytes as pyarrow reads them, with two repairs.

    - A read never ends on '\r': the byte is held back for the next read. pyarrow 25 drops the '\n' of a
      quoted CRLF that straddles two read blocks (apache/arrow#51368), which changed the value and moved
      every later line number; a block that never ends on '\r' cannot split a CRLF.
    - After the file's last byte comes a line of END_MARK (and a line break before it when the file does
      not end on one): a quote never closed takes it in, so _LineTracker can tell. It also gives a header-only
      file whose header line is not terminated its line break: pyarrow skips the header only once it sees
      where the header line ends, and otherwise rejects the file ("Could not skip initial 1 rows").

    Short reads of the stream (some network bodies) are joined until the buffer is full, so pyarrow's first
    block holds the whole header line whenever it fits in a block.
    """

    def __init__(self, inner: BinaryIO | io.RawIOBase) -> None:
        self.inner = inner
        self.held = b""
        self.ended = False
        self.last = 0x0A  # the last byte of the file read so far (an empty file "ends on a line break")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = self._hand_held(view, 0)
        while n < len(view) and not self.ended:
            got = read_into(self.inner, view[n:])
            if not got:
                self.ended = True
                self.held += (b"" if self.last in (0x0A, 0x0D) else b"\n") + END_MARK.encode() + b"\n"
                n = self._hand_held(view, n)
            else:
                self.last = view[n + got - 1]
                n += got
        if not self.ended and n > 1 and view[n - 1] == 0x0D and not self.held:  # '\r'
            self.held = b"\r"
            n -= 1
        return n

    def _hand_held(self, view: memoryview, n: int) -> int:
        n, self.held = _hand_over(self.held, view, n)
        return n


def _hand_over(pending: bytes, view: memoryview, n: int) -> tuple[int, bytes]:
    """Copy what fits of `pending` into `view` from offset `n`: the new offset, and what is left over."""
    take = min(len(pending), len(view) - n)
    view[n : n + take] = pending[:take]
    return n + take, pending[take:]


def read_into(stream: BinaryIO | io.RawIOBase, buffer: memoryview) -> int:
    """Fill `buffer` from `stream` (fewer bytes at the end of the stream): without a copy when it can."""
    if hasattr(stream, "readinto"):
        return stream.readinto(buffer) or 0
    data = stream.read(len(buffer)) or b""  # streams that can only read (some S3 bodies)
    buffer[: len(data)] = data
    return len(data)


def _finish_chunk(
    table: pa.Table, tracker: _LineTracker, layout: CsvLayout
) -> tuple[pa.Table, list[MalformedRow], int]:
    embedded = np.zeros(table.num_rows, dtype=np.int64)
    for col in table.columns:
        if _has_newline(col):
            embedded += pc.fill_null(pc.count_substring_regex(col, LINE_BREAK), 0).to_numpy()
    lines, placed = tracker.place(embedded)
    table = table.append_column("source_row", pa.array(lines, type=pa.int64()))
    blank = _blank_rows(table.columns[: table.num_columns - 1])
    blanks = 0
    if blank is not None and (blanks := int(blank.sum())):
        table = table.filter(pa.array(~blank))
    malformed, blank_lines = _malformed(placed, layout)
    return table.select([*layout.columns, "source_row"]), malformed, blanks + blank_lines


def _blank_rows(columns: list[pa.ChunkedArray]) -> np.ndarray | None:
    """Rows whose every field is empty or whitespace, or None when a column without such values rules them
    out."""
    blank: np.ndarray | None = None
    for col in columns:
        empty = pc.or_(pc.equal(pc.binary_length(col), 0), pc.utf8_is_space(col))
        if not pc.any(empty).as_py():
            return None  # the usual case: the first column settles it
        flags = empty.to_numpy(zero_copy_only=False)
        blank = flags if blank is None else blank & flags
    return blank


def _has_newline(column: pa.ChunkedArray) -> bool:
    """Whether any value holds a line break: one scan of the character data instead of a count per value."""
    for chunk in column.chunks:
        if not pa.types.is_string(chunk.type):
            return True
        offsets, data = chunk.buffers()[1], chunk.buffers()[2]
        if offsets is None or data is None or len(chunk) == 0:
            continue
        bounds = np.frombuffer(offsets, dtype=np.int32, count=chunk.offset + len(chunk) + 1)
        start, end = int(bounds[chunk.offset]), int(bounds[-1])
        raw = memoryview(data)[start:end].tobytes()
        if raw.find(b"\n") >= 0 or raw.find(b"\r") >= 0:
            return True
    return False


def _malformed(placed: list[tuple[int, str, int]], layout: CsvLayout) -> tuple[list[MalformedRow], int]:
    """The records pyarrow could not split, and how many of them are blank lines: nothing but whitespace
    and delimiters (`   `, `,,`), whatever their field count, are no more a record than an empty line."""
    rows = [
        MalformedRow(line, text, _malformed_reason(line, text, found, layout))
        for line, text, found in placed
        if text.replace(layout.delimiter, "").strip()
    ]
    return rows, len(placed) - len(rows)


def _malformed_reason(line: int, text: str, found: int, layout: CsvLayout) -> str:
    """Why a record could not be split into the header's fields, from pyarrow's own field count.

    A record holding a line break has a quoted field over several lines: when the count is wrong, that
    quote is the usual cause (one never closed takes in every line to the end of the file), so the reason
    says where it opened and where it closed.
    """
    expected = len(layout.header)
    counted = f"expected {expected} fields, found {found}"
    if found == expected:  # pyarrow does not say otherwise, but a reason must never contradict itself
        counted = f"could not be split into {expected} fields"
    reason = counted
    quote = _open_quote(text, layout.delimiter)
    if quote is not None:
        index, start = quote
        column = _column_name(index, layout.header)
        close = _closing_quote(text, start + 1)
        if close < 0:
            lines = _line_breaks(text[start:]) + 1
            span = f"over {lines} lines" if lines > 1 else "over its line"
            reason = (
                f"unterminated quote in column {column} opened on line {line}: the field runs {span} to the "
                f"end of the file ({counted})"
            )
        else:
            last = line + _line_breaks(text[:close])
            reason = f"{counted}: the quoted field in column {column} runs from line {line} to line {last}"
    if "\x00" in text:
        reason += "; the line holds a NUL byte"
    return reason


def _open_quote(text: str, delimiter: str) -> tuple[int, int] | None:
    """(field index, offset of its opening quote) of the quoted field still open where the first line of
    `text` ends, or None when every quote on that line is closed."""
    end = re.search(LINE_BREAK, text)
    first = text[: end.start()] if end else text
    index, pos = 0, 0
    while True:
        if first.startswith('"', pos):
            close = _closing_quote(first, pos + 1)
            if close < 0:
                return index, pos
            pos = close + 1
        pos = first.find(delimiter, pos)
        if pos < 0:
            return None
        index, pos = index + 1, pos + len(delimiter)


def _closing_quote(text: str, start: int) -> int:
    """Offset of the quote that closes a quoted field whose value starts at `start` ('""' is a quote
    inside it), or -1 when none does."""
    while (pos := text.find('"', start)) >= 0:
        if not text.startswith('"', pos + 1):
            return pos
        start = pos + 2
    return -1


def _column_name(index: int, header: tuple[str, ...]) -> str:
    if index >= len(header):
        return f"#{index + 1} (past the last header column)"
    return header[index] or f"#{index + 1}"


def table_of_nothing(layout: CsvLayout) -> pa.Table:
    arrays = [pa.array([], type=pa.string()) for _ in layout.columns]
    return pa.table([*arrays, pa.array([], type=pa.int64())], names=[*layout.columns, "source_row"])


def _explain_arrow_error(exc: pa.ArrowInvalid, layout: CsvLayout) -> str:
    text = str(exc)
    if "invalid UTF8" in text:
        return f"not {layout.encoding.upper()} text: invalid byte sequence; save the file as UTF-8"
    return "unreadable CSV: " + text.splitlines()[0]
