"""A file's identity: its content hash (SHA-256), size and head, and the check that the content read is the
content that was hashed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from etl.errors import FileRejected, SourceChanged
from etl.extract.discover import SourceFile
from etl.extract.layout import HEAD_BYTES


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


@dataclass(frozen=True)
class Identity:
    file_id: str  # content SHA-256
    size: int
    head: bytes  # the first bytes, for sniffing the layout
    stamp: tuple[int, ...] | None  # the source's version token when it was hashed (SourceFile.stamp)


def identify(item: SourceFile) -> Identity:
    """The file's content hash, size and head (see `fingerprint`).

    FileRejected when it cannot be read; SourceChanged (retryable) when its stamp moved while it was hashed.
    """
    before = item.stamp() if item.stamp else None
    try:
        with item.open() as stream:
            file_id, size, head = fingerprint(stream)
    except OSError as exc:  # the source itself cannot be read (missing, a folder, no permission)
        raise FileRejected(f"unreadable: {exc.strerror or exc}") from None
    if item.stamp and item.stamp() != before:
        raise SourceChanged("changed while it was being hashed (still being written?); load it again later")
    return Identity(file_id, size, head, before)


def check_unchanged(item: SourceFile, ident: Identity, read: int) -> None:
    """The parse read the content that was hashed: the file is hashed ahead of its turn, and a file still
    being written or replaced since would be recorded under the hash of another content."""
    if read != ident.size or (item.stamp is not None and item.stamp() != ident.stamp):
        raise SourceChanged(
            f"changed while it was being loaded ({ident.size} bytes hashed, {read} read; "
            "still being written?); load it again later"
        )
