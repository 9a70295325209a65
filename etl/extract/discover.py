"""Finding the files to load: local files and folders, in load order, each with the source it belongs to.

A file's source comes from the nearest enclosing folder that names one (`loan_applications/`, an alias,
or any depth below it), as on S3 (`incoming/<source>/...`), or from `--source`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

from etl.contracts import SourceName, load_order, source_from_folder, source_list
from etl.errors import ConfigError


@dataclass(frozen=True)
class SourceFile:
    """A raw file to load, wherever it lives: `open` returns a fresh binary stream from the start."""

    uri: str
    name: str
    source: SourceName | None
    open: Callable[[], BinaryIO]
    reason: str | None = None  # why the source could not be told
    # A cheap token of the content's version (local files: size, mtime, inode), compared before and after
    # each read; None where every read is pinned to one version anyway (S3 objects, by VersionId or ETag).
    stamp: Callable[[], tuple[int, ...]] | None = None
    # The file's logical identity across versions: `<source>/<path under its source folder>` (an S3 key's
    # part after `incoming/`). A new content under the same name is a new version of the same file, which
    # replaces the rows of the version before it. None for a file that is not one (a quarantine replay).
    logical: str | None = None
    replay_of: str | None = None  # a quarantine replay: the file_id of the file whose rows it loads again


def discover(paths: Sequence[str | Path], source: str | None = None) -> list[SourceFile]:
    """Files to load, in load order: applications first, so statements and repayments find their customers."""
    forced: SourceName | None = None
    if source is not None:
        forced = source_from_folder(source)
        if forced is None:
            raise ConfigError(f"unknown source {source!r}: use {source_list()}")
    found: list[SourceFile] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = [p for p in _visible_files(path) if p.suffix.lower() == ".csv"]
        elif path.is_file():
            files = [path]
        elif os.path.lexists(path):  # a FIFO, a device, a dangling or looping link
            raise ConfigError(f"not a regular file or folder: {path}")
        else:
            raise ConfigError(f"no such file or folder: {path}")
        found.extend(_local_file(p, forced) for p in files)
    return sorted(found, key=lambda f: (load_order(f.source), f.uri))


def not_loaded(paths: Sequence[str | Path]) -> list[Path]:
    """Files in the given folders that `discover` leaves out because they are not .csv (hidden ones aside)."""
    left: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            left.extend(p for p in _visible_files(path) if p.suffix.lower() != ".csv")
    return left


def _visible_files(folder: Path) -> list[Path]:
    """The files below `folder`, sorted, leaving out hidden ones and those in hidden folders.

    A folder that cannot be read is an error: read as empty (as `Path.rglob` does), its files would be left
    out without a word. Links to folders are not followed.
    """

    def unreadable(exc: OSError) -> None:
        raise ConfigError(f"cannot read folder {exc.filename}: {exc.strerror or exc}")

    found: list[Path] = []
    for root, folders, names in os.walk(folder, onerror=unreadable):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found.extend(p for name in names if not name.startswith(".") and (p := Path(root, name)).is_file())
    return sorted(found)


def _local_file(path: Path, forced: SourceName | None) -> SourceFile:
    # The nearest enclosing folder that names a source, as on S3 (incoming/<source>/any/depth/file.csv).
    resolved = path.resolve()
    folder = next(
        ((parent, found) for parent in resolved.parents if (found := source_from_folder(parent.name))), None
    )
    detected = forced or (folder[1] if folder else None)
    reason = (
        None
        if detected
        else (
            f"cannot tell the source from folder '{path.parent.name}': put the file under "
            f"{source_list(suffix='/')}, or pass --source"
        )
    )
    return SourceFile(
        str(path),
        path.name,
        detected,
        lambda: path.open("rb"),
        reason,
        partial(_stamp, path),
        logical_name(detected, resolved, folder[0] if folder else None),
    )


def logical_name(source: SourceName | None, path: Path, folder: Path | None) -> str | None:
    """`<source>/<path under its source folder>`; a file under no source folder (given with --source) is
    known by its whole path, so two files of one name elsewhere are never taken for versions of each other."""
    if source is None:
        return None
    under = path.relative_to(folder).as_posix() if folder is not None else path.as_posix().lstrip("/")
    return f"{source}/{under}"


def _stamp(path: Path) -> tuple[int, ...]:
    try:
        info = path.stat()
    except OSError:
        return ()
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def logical_from_uri(uri: str, source: str | None) -> str | None:
    """The logical name of a file known by its URI or path alone (a ledger row from before file lineage):
    `<source>/<the part after the last folder that names the source>`; None when no folder names it."""
    parts = uri.split("/")
    for i in range(len(parts) - 2, -1, -1):
        found = source_from_folder(parts[i])
        if found is not None and (source is None or found == source):
            return f"{found}/{'/'.join(parts[i + 1 :])}"
    return None
