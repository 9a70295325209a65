"""A file's rows, read once its identity is known: the layout sniffed from the head the identity kept, the
bytes streamed in bounded chunks and counted for progress, and, once the last chunk is out, the check that
they were the bytes that were hashed."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import pyarrow as pa

from etl.extract.discover import SourceFile
from etl.extract.identity import Identity, check_unchanged
from etl.extract.layout import CsvLayout
from etl.extract.reader import MalformedRow, iter_chunks, read_into

Chunk = tuple[
    pa.Table, list[MalformedRow], int
]  # rows as text with source_row, malformed records, blank lines
Progress = Callable[[str, int], None]  # ("start:<name>", size) | ("bytes", n) | ("rows", n) | ("done", 0)


def read_rows(
    item: SourceFile, ident: Identity, layout: CsvLayout, *, block_size: int, progress: Progress
) -> Iterator[Chunk]:
    """The chunks of `item` in its sniffed `layout` (see `iter_chunks`), about `block_size` bytes each.

    Raises SourceChanged after the last chunk when the bytes read are not the ones `ident` hashed.
    Closing the iterator early closes the file.
    """
    with item.open() as stream:
        counted = _CountingStream(stream, progress)
        yield from iter_chunks(counted, layout, block_size=block_size)
    check_unchanged(item, ident, counted.total)


class _CountingStream(io.RawIOBase):
    """Counts the bytes read and reports them, for progress bars."""

    def __init__(self, inner: BinaryIO, progress: Progress) -> None:
        self.inner, self.progress = inner, progress
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = read_into(self.inner, memoryview(buffer).cast("B"))
        if n:
            self.total += n
            self.progress("bytes", n)
        return n
