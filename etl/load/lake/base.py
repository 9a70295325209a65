"""The lake interface and the scratch folders a load works in.

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
        owner = f"{HOST_TAG}.{os.getpid()}"
        path = Path(tempfile.mkdtemp(prefix=f"etl-{name[:12]}-{owner}-", dir=parent))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _scratch_parent(self) -> str | None:
        return None


HOST_TAG = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_SCRATCH = re.compile(r"^etl-[0-9a-f]{0,12}-(?P<host>[A-Za-z0-9]+)\.(?P<pid>\d+)-")


def sweep_dead_scratch(parent: Path) -> list[Path]:
    """Remove scratch folders left by loaders of this host that no longer run (a `kill -9` skips clean-up)."""
    removed = []
    for entry in parent.glob("etl-*"):
        match = _SCRATCH.match(entry.name)
        if not match or match["host"] != HOST_TAG or _alive(int(match["pid"])):
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
