"""What the database servers the tests start (PostgreSQL, MariaDB) share on a Debian machine: their package
installed once when running as root (a fresh CI machine), the unprivileged user a server runs as under
root, a free port, a log read back, and a throwaway database for one test."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shlex
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol


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


def install_server[T](
    package: str,
    find: Callable[[], T | None],
    unavailable: type[Exception],
    *,
    name: str,
    binaries: tuple[str, ...],
    looked: str = "",
) -> T:
    """Install `package` when `find()` finds no binaries and this is root; what `find()` then finds, or
    `unavailable` saying what to do."""
    if os.geteuid() != 0:
        raise unavailable(
            f"{name} binaries ({', '.join(binaries)}) not found{looked}; install them "
            f"(Debian: apt-get install {package}) or run the tests as root"
        )
    problem = apt_install(package, lambda: find() is not None)
    if problem:
        raise unavailable(f"{name} is not installed and {problem}")
    found = find()
    if found is None:
        raise unavailable(f"apt-get installed {package} but {'/'.join(binaries)} are still not to be found")
    return found


def unprivileged_user(preferred: str, unavailable: type[Exception]) -> pwd.struct_passwd:
    """The user a server started by root runs as: `preferred` (the package's own) or `nobody`."""
    for name in (preferred, "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise unavailable(
        f"running as root, and neither a `{preferred}` nor a `nobody` user exists to run the server"
    )


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def read_text(path: Path) -> str:
    """A server's log or pid file, or nothing when it is not there (yet)."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


class DatabaseServer(Protocol):
    def create_database(self, name: str) -> str: ...

    def drop_database(self, name: str) -> None: ...


@contextlib.contextmanager
def scratch_database(server: DatabaseServer, prefix: str) -> Iterator[str]:
    """A new, empty database on `server` for one test (its URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)
