"""Ctrl-C in the first second of `etl` (while it imports typer, rich, pydantic, pyarrow, DuckDB) prints one line
and exits 130, as during a run: never a traceback, never death by the signal (-2).

The console script is run as pip writes it (`from <module> import <function>`, the `etl` entry of
pyproject.toml's [project.scripts]), and a real SIGINT is sent to the process from inside the import of a
heavy module, so it lands at that moment every time, with no timing involved.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.reliability.faults import ROOT, child_env

CONSOLE_SCRIPT = """
import builtins, os, signal, sys
module, function, heavy, *argv = sys.argv[1:]
real_import = builtins.__import__

def ctrl_c_while_importing(name, *args, **kwargs):
    if name == heavy and not getattr(ctrl_c_while_importing, "sent", False):
        ctrl_c_while_importing.sent = True
        os.kill(os.getpid(), signal.SIGINT)  # handled at the next bytecode: inside this import
    return real_import(name, *args, **kwargs)

builtins.__import__ = ctrl_c_while_importing
sys.argv = ["etl", *argv]
sys.exit(getattr(__import__(module, fromlist=[function]), function)())
"""


def _entry_point() -> tuple[str, str]:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["etl"].split(":")
    return module, function


@pytest.mark.parametrize(
    ("heavy", "argv"),
    [
        ("typer", ["--help"]),  # the command line's own imports, before any command runs
        ("pydantic", ["--help"]),
        ("pyarrow", ["run", "no-such-folder"]),  # a command's imports
        ("duckdb", ["quality"]),
    ],
)
def test_ctrl_c_while_etl_starts_prints_one_line_and_exits_130(
    tmp_path: Path, heavy: str, argv: list[str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, *_entry_point(), heavy, *argv],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr, result.stdout) == (130, "interrupted\n", "")
