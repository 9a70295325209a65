"""The lake in a local folder: `<root>/curated/...` and `<root>/quarantine/...`, written atomically."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from etl.errors import ConfigError, LakeError
from etl.load.lake.base import Lake


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
