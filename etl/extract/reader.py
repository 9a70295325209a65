"""Streaming CSV reading: layout sniffing, whole-file rejection and exact physical line numbers.

Rows are read in bounded chunks with pyarrow's streaming reader, every column as text: casting is the
validator's job, so a bad value becomes a quarantined row instead of a failed file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl.contracts import SourceContract, normalise_header
from etl.errors import FileRejected

HEAD_BYTES = 64 * 1024
_LINE_BREAK = r"\r\n|\r|\n"  # what ends a line: CRLF, LF, or CR alone
READ_BLOCK = 1 << 20  # bytes pyarrow reads per block; it queues up to 32 of them ahead
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


@dataclass(frozen=True)
class MalformedRow:
    line: int
    text: str
    reason: str


def fingerprint(stream: BinaryIO, chunk: int = 1 << 20) -> tuple[str, int, bytes]:
    """Content SHA-256, size and the first HEAD_BYTES, in one pass: the file's identity whatever its name,
    and what `sniff_layout` needs, without reading the source again."""
    digest, size, head = hashlib.sha256(), 0, b""
    while block := stream.read(chunk):
        digest.update(block)
        size += len(block)
        if len(head) < HEAD_BYTES:
            head += block[: HEAD_BYTES - len(head)]
    return digest.hexdigest(), size, head


def sniff_layout(head: bytes, size: int, contract: SourceContract) -> CsvLayout:
    """Decide encoding, delimiter and columns from the first bytes, or reject the file with one clear line."""
    if size == 0:
        raise FileRejected("empty file (0 bytes)")
    bom, encoding = b"", "utf-8"
    for mark, name in _BOMS:
        if head.startswith(mark):
            bom, encoding = mark, name
            break
    if not bom and b"\x00" in head:
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
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]  # old Mac exports end lines with \r alone
    if not first.strip():
        raise FileRejected("no header row: the first line is blank")
    delimiter = max(DELIMITERS, key=first.count)
    if first.count(delimiter) == 0:
        delimiter = ","
    try:
        raw = next(csv.reader([first], delimiter=delimiter))
    except csv.Error as exc:
        raise FileRejected(f"unreadable header row: {exc}") from None
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
    return CsvLayout(encoding, bom, delimiter, header, columns)


@dataclass
class _LineTracker:
    """Maps records to the physical line they start on, across chunks.

    pyarrow numbers records, not lines (a quoted field may hold line breaks), and hands malformed records to
    a callback ahead of the chunk they sit in. A record's line is 2 + its record index + the line breaks
    inside all earlier records.
    """

    valid_seen: int = 0
    newlines_before: int = 0
    next_index: int = 0  # first record index not yet placed
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (record index, text), in arrival order
    _placed_malformed: int = 0

    def handler(self, row: Any) -> str:
        self.malformed.append((int(row.number) - 2, str(row.text)))
        return "skip"

    def place(self, embedded: np.ndarray) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """Lines of the next chunk's valid records, and the malformed records (line, text) placed before them."""
        n = len(embedded)
        bad_idx = np.fromiter((i for i, _ in self.malformed), dtype=np.int64, count=len(self.malformed))
        shifted = bad_idx - np.arange(len(bad_idx), dtype=np.int64)
        ordinals = np.arange(self.valid_seen, self.valid_seen + n, dtype=np.int64)
        index = ordinals + np.searchsorted(shifted, ordinals, side="right")
        last = int(index[-1]) if n else None
        pending = [(i, t) for i, t in self.malformed[self._placed_malformed :] if last is None or i < last]
        self._placed_malformed += len(pending)
        all_index = np.concatenate([index, np.array([i for i, _ in pending], dtype=np.int64)])
        all_newlines = np.concatenate(
            [
                embedded.astype(np.int64),
                np.array([len(re.findall(_LINE_BREAK, t)) for _, t in pending], dtype=np.int64),
            ]
        )
        order = np.argsort(all_index, kind="stable")
        before = np.empty_like(all_newlines)
        before[order] = np.cumsum(all_newlines[order]) - all_newlines[order]
        lines = 2 + all_index + self.newlines_before + before
        self.newlines_before += int(all_newlines.sum())
        self.valid_seen += n
        placed = [(int(line), text) for line, (_, text) in zip(lines[n:], pending, strict=True)]
        return lines[:n], placed


def iter_chunks(
    stream: BinaryIO | io.RawIOBase, layout: CsvLayout, *, block_size: int
) -> Iterator[tuple[pa.Table, list[MalformedRow], int]]:
    """Yield (rows as text with `source_row`, malformed rows, blank-line count), about `block_size` bytes at a time.

    Lines with no values at all (blank lines) are not records and are counted, not loaded. pyarrow's
    streaming reader keeps up to 32 blocks queued ahead of the consumer, so it is given blocks of at most
    READ_BLOCK bytes (memory stays flat in file size) and consecutive blocks are joined into one chunk.
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
    tracker = _LineTracker()
    names = _fill_blank_names(layout.header)
    expected = len(layout.header)
    try:
        reader = pacsv.open_csv(
            _NoTrailingCR(stream),
            read_options=pacsv.ReadOptions(
                use_threads=False,
                block_size=block_size,
                skip_rows=1,
                column_names=names,
                encoding=layout.encoding,
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
            table = pa.Table.from_batches([batch])
            chunk, malformed, blanks = _finish_chunk(table, tracker, expected)
            yield chunk.select([*layout.columns, "source_row"]), malformed, blanks
        _, tail = tracker.place(np.zeros(0, dtype=np.int64))
        if tail:
            yield table_of_nothing(layout), _malformed(tail, expected), 0
    except pa.ArrowInvalid as exc:
        raise FileRejected(_explain_arrow_error(exc, layout)) from None


class _NoTrailingCR(io.RawIOBase):
    """Never hands pyarrow a read that ends on '\r': it holds the byte back for the next read.

    pyarrow 25 drops the '\n' of a quoted CRLF that straddles two read blocks (apache/arrow#51368),
    which changed the value and moved every later line number; a block that never ends on '\r' cannot
    split a CRLF.
    """

    def __init__(self, inner: BinaryIO | io.RawIOBase) -> None:
        self.inner = inner
        self.held = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        start = len(self.held)
        view[:start] = self.held
        self.held = b""
        if len(view) - start < 1:  # a one-byte buffer holding the byte held back: hand it over
            return start
        n = start + read_into(self.inner, view[start:])
        if n > 1 and view[n - 1] == 0x0D:  # '\r'
            self.held = b"\r"
            n -= 1
        return n


def read_into(stream: BinaryIO | io.RawIOBase, buffer: memoryview) -> int:
    """Fill `buffer` from `stream` (fewer bytes at the end of the stream): without a copy when it can."""
    if hasattr(stream, "readinto"):
        return stream.readinto(buffer) or 0
    data = stream.read(len(buffer)) or b""  # streams that can only read (some S3 bodies)
    buffer[: len(data)] = data
    return len(data)


def _finish_chunk(
    table: pa.Table, tracker: _LineTracker, expected: int
) -> tuple[pa.Table, list[MalformedRow], int]:
    embedded = np.zeros(table.num_rows, dtype=np.int64)
    for col in table.columns:
        if _has_newline(col):
            embedded += pc.fill_null(pc.count_substring_regex(col, _LINE_BREAK), 0).to_numpy()
    lines, placed = tracker.place(embedded)
    table = table.append_column("source_row", pa.array(lines, type=pa.int64()))
    blank = _blank_rows(table.columns[: table.num_columns - 1])
    blanks = 0
    if blank is not None and (blanks := int(blank.sum())):
        table = table.filter(pa.array(~blank))
    return table, _malformed(placed, expected), blanks


def _blank_rows(columns: list[pa.ChunkedArray]) -> np.ndarray | None:
    """Rows whose every field is empty, or None when a column without empty values rules them out."""
    blank: np.ndarray | None = None
    for col in columns:
        empty = pc.equal(pc.binary_length(col), 0)
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


def _malformed(placed: list[tuple[int, str]], expected: int) -> list[MalformedRow]:
    return [
        MalformedRow(line, text, f"expected {expected} fields, found {_count_fields(text)}")
        for line, text in placed
    ]


def _count_fields(text: str) -> int:
    try:
        return max((len(r) for r in csv.reader(text.splitlines() or [""])), default=0)
    except csv.Error:
        return text.count(",") + 1


def table_of_nothing(layout: CsvLayout) -> pa.Table:
    arrays = [pa.array([], type=pa.string()) for _ in layout.columns]
    return pa.table([*arrays, pa.array([], type=pa.int64())], names=[*layout.columns, "source_row"])


def _fill_blank_names(header: tuple[str, ...]) -> list[str]:
    return [h or f"_unnamed_{i}" for i, h in enumerate(header)]


def _explain_arrow_error(exc: pa.ArrowInvalid, layout: CsvLayout) -> str:
    text = str(exc)
    if "invalid UTF8" in text:
        return f"not {layout.encoding.upper()} text: invalid byte sequence; save the file as UTF-8"
    return "unreadable CSV: " + text.splitlines()[0]
