"""Installing a Debian package the tests need, once, when running as root (a fresh CI machine)."""

from __future__ import annotations

import fcntl
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path


def apt_install(package: str, present: Callable[[], bool]) -> str | None:
    """Install `package` with apt-get unless `present()` says it is there; the failure as one message, or
    None. xdist workers may get here together and dpkg allows one installer at a time: a lock file orders
    them, and each looks again once it holds it."""
    with open(Path(tempfile.gettempdir()) / f"etl-tests-{package}-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if present():
            return None
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
        ):
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                return f"`{shlex.join(command)}` failed (exit {result.returncode}): {tail(result.stderr or result.stdout)}"
    return None


def tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
