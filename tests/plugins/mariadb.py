"""A real MariaDB server for the test session, and a fresh database per test.

`mariadb_server` (session) runs mariadb-install-db into a temporary folder and starts mariadbd on a free
port of 127.0.0.1 (a unix socket inside that folder too), durability switched off for speed, with a user
`etl` that logs in with a password. Under pytest-xdist every worker has its own server. Missing binaries are
installed with apt-get (Debian's mariadb-server) when running as root; if they still cannot be found the
fixture FAILS: a CI run must not pass by skipping the MySQL tests.

mariadbd refuses to run as root without being told whom to run as, so as root it runs as the `mysql` system
user (or `nobody`), which owns the temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest

from tests.plugins.debian import free_port, install_server, read_text, scratch_database, unprivileged_user
from tests.plugins.debian import tail as _tail

HOST = "127.0.0.1"
USER, PASSWORD = "etl", "etl-pw"
START_ATTEMPTS = 3
START_TIMEOUT_S = 60
SERVER_OPTIONS = (
    "--no-defaults",
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--skip-log-bin",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-buffer-pool-size=32M",
    "--max-connections=50",
)


@dataclass(frozen=True)
class MariaDBServer:
    host: str
    port: int
    socket: str

    def url(self, database: str, *, password: str = PASSWORD) -> str:
        return f"mysql://{USER}:{password}@{self.host}:{self.port}/{database}"

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:  # type: ignore[type-arg]
        """A root connection over the unix socket, autocommit, text as utf8mb4."""
        return pymysql.connect(
            unix_socket=self.socket, user="root", database=database, charset="utf8mb4", autocommit=True
        )

    def execute(self, statement: str, database: str | None = None) -> None:
        with self.connect(database) as conn, conn.cursor() as cursor:
            cursor.execute(statement)

    def create_database(self, name: str) -> str:
        self.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS `{name}`")


class MariaDBUnavailable(RuntimeError):
    """The server could not be found or started; the message says what to do."""


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    with contextlib.ExitStack() as stack:
        try:
            binaries = find_binaries() or install_mariadb()
            server = stack.enter_context(running_server(*binaries))
        except MariaDBUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server


@pytest.fixture
def mariadb_url(mariadb_server: MariaDBServer) -> Iterator[str]:
    """A new, empty utf8mb4 database for one test: mysql://etl:...@127.0.0.1:<port>/<db>."""
    with scratch_database(mariadb_server, "lender") as url:
        yield url


def find_binaries() -> tuple[Path, Path] | None:
    """(mariadb-install-db, mariadbd) from PATH or Debian's /usr/bin and /usr/sbin."""
    path = f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"
    install = shutil.which("mariadb-install-db", path=path)
    server = shutil.which("mariadbd", path=path)
    return (Path(install), Path(server)) if install and server else None


def install_mariadb() -> tuple[Path, Path]:
    return install_server(
        "mariadb-server",
        find_binaries,
        MariaDBUnavailable,
        name="MariaDB",
        binaries=("mariadb-install-db", "mariadbd"),
    )


@contextlib.contextmanager
def running_server(install: Path, mariadbd: Path) -> Iterator[MariaDBServer]:
    """Install the system tables in a fresh temporary folder and start the server; stop it and delete the
    folder afterwards, whatever happens."""
    run_as = unprivileged_user("mysql", MariaDBUnavailable) if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="etl-my-", dir="/tmp" if run_as else None))
    datadir, sock, log, pid = root / "data", root / "sock", root / "server.log", root / "server.pid"
    process: subprocess.Popen[bytes] | None = None
    try:
        if run_as is not None:
            os.chown(root, run_as.pw_uid, run_as.pw_gid)
        init = [
            str(install),
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ]
        result = subprocess.run(
            _as(run_as, init), cwd=root, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise MariaDBUnavailable(f"mariadb-install-db failed: {_tail(result.stderr or result.stdout)}")
        failure = ""
        for _ in range(START_ATTEMPTS):
            port = free_port(HOST)
            command = [
                str(mariadbd),
                *SERVER_OPTIONS,
                f"--datadir={datadir}",
                f"--port={port}",
                f"--socket={sock}",
                f"--pid-file={pid}",
                f"--log-error={log}",
            ]
            process = subprocess.Popen(
                _as(run_as, command), cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
            )
            server = MariaDBServer(HOST, port, str(sock))
            if _ready(server, process):
                server.execute(f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
                server.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%'")
                yield server
                return
            failure = _tail(read_text(log))
            _stop(process, pid)
            process = None
            if "already in use" not in failure:
                break
        raise MariaDBUnavailable(f"MariaDB did not start:\n--- server log ---\n{failure}")
    finally:
        if process is not None:
            _stop(process, pid)
        shutil.rmtree(root, ignore_errors=True)


def _ready(server: MariaDBServer, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(pymysql.MySQLError):
            server.connect().close()
            return True
        time.sleep(0.2)
    return False


def _stop(process: subprocess.Popen[bytes], pid_file: Path) -> None:
    """SIGTERM to the server (its pid from its pid file: the process started may be runuser)."""
    with contextlib.suppress(ValueError, OSError):
        os.kill(int(read_text(pid_file).strip()), signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _as(run_as: pwd.struct_passwd | None, command: list[str]) -> list[str]:
    return command if run_as is None else ["runuser", "-u", run_as.pw_name, "--", *command]
