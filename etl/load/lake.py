"""The Parquet lake: curated fact batches and quarantined rows, one object per source file.

Object names are deterministic (`curated/<table>/<file_id>.parquet`, `quarantine/<source>/<file_id>.parquet`),
so a retry overwrites rather than adds.
"""

from __future__ import annotations

import abc
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl.errors import ConfigError, LakeError
from etl.settings import Settings


class Lake(abc.ABC):
    root: str

    def curated_uri(self, table: str, file_id: str) -> str:
        return self._join("curated", table, f"{file_id}.parquet")

    def quarantine_uri(self, source: str, file_id: str) -> str:
        return self._join("quarantine", source, f"{file_id}.parquet")

    def _join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    @abc.abstractmethod
    def publish(self, local: Path, uri: str, *, table: str, kind: str) -> None:
        """Put a finished local Parquet file at `uri`, replacing any earlier attempt."""

    @contextmanager
    def workspace(self, name: str) -> Iterator[Path]:
        """A scratch folder for one file's intermediate Parquet, removed afterwards whatever happens."""
        parent = self._scratch_parent()
        if parent is not None:
            sweep_dead_scratch(Path(parent))
        owner = f"{_HOST}.{os.getpid()}"
        path = Path(tempfile.mkdtemp(prefix=f"etl-{name[:12]}-{owner}-", dir=parent))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _scratch_parent(self) -> str | None:
        return None


_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_SCRATCH = re.compile(r"^etl-[0-9a-f]{0,12}-(?P<host>[A-Za-z0-9]+)\.(?P<pid>\d+)-")


def sweep_dead_scratch(parent: Path) -> list[Path]:
    """Remove scratch folders left by loaders of this host that no longer run (a `kill -9` skips clean-up)."""
    removed = []
    for entry in parent.glob("etl-*"):
        match = _SCRATCH.match(entry.name)
        if not match or match["host"] != _HOST or _alive(int(match["pid"])):
            continue  # another host's loader, or one still running: not ours to touch
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalLake(Lake):
    def __init__(self, root: str | Path) -> None:
        if Path(root).exists() and not Path(root).is_dir():
            raise ConfigError(f"lake {root} is a file, not a folder")
        self.root = str(Path(root))

    def publish(self, local: Path, uri: str, *, table: str, kind: str) -> None:
        target = Path(uri)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # unique per writer: two loaders of the same content may publish the same object at once
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
            try:
                os.link(local, tmp)  # the scratch folder sits inside the lake: no copy of the bytes
            except OSError:
                shutil.copyfile(local, tmp)
            os.replace(tmp, target)  # atomic: readers see the old object or the new one
        except OSError as exc:
            raise LakeError(f"cannot write {uri}: {exc.strerror or exc}") from None

    def _scratch_parent(self) -> str | None:
        parent = Path(self.root) / ".work"
        parent.mkdir(parents=True, exist_ok=True)
        return str(parent)


def open_lake(settings: Settings) -> Lake:
    if settings.lake.startswith("s3://"):
        from etl.load.s3lake import S3Lake  # type: ignore[import-not-found,unused-ignore]

        return S3Lake(settings.lake, glue_database=settings.glue_database)  # type: ignore[no-any-return,unused-ignore]
    return LocalLake(settings.lake)
