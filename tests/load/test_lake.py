from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from etl.load.lake import LocalLake, sweep_dead_scratch
from etl.load.lake.base import HOST_TAG


def test_only_scratch_of_dead_loaders_on_this_host_is_swept(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    parent = tmp_path / ".work"
    folders = {
        "dead": parent / f"etl-abc123-{HOST_TAG}.{dead_pid}-x1",
        "alive": parent / f"etl-abc123-{HOST_TAG}.{os.getpid()}-x2",
        "other_host": parent / f"etl-abc123-otherhost.{dead_pid}-x3",
        "unrelated": parent / "notes",
    }
    for folder in folders.values():
        (folder / "sub").mkdir(parents=True)
    assert sweep_dead_scratch(parent) == [folders["dead"]]
    assert sorted(p.name for p in parent.iterdir()) == sorted(
        f.name for k, f in folders.items() if k != "dead"
    )


def test_workspace_is_removed_and_names_its_owner(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    with lake.workspace("0123456789abcdef") as work:
        (work / "fact.parquet").write_bytes(b"x")
        assert work.name.startswith(f"etl-0123456789ab-{HOST_TAG}.{os.getpid()}-")
    assert not work.exists()
