"""A real PostgreSQL server for the test session, and a fresh database per test.

`postgres_server` (session) runs initdb into a temporary folder and starts the server on a free port of
127.0.0.1, unix sockets inside that folder, durability switched off for speed. Under pytest-xdist every
worker has its own session and so its own server. Missing binaries are installed with apt-get when running
as root; if they still cannot be found the fixture FAILS: a CI run must not pass by skipping the SQL tests.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user (or `nobody`),
which owns the temporary folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.plugins.debian import free_port, install_server, read_text, scratch_database, unprivileged_user
from tests.plugins.debian import tail as _tail

SUPERUSER = "postgres"
HOST = "127.0.0.1"
SERVER_OPTIONS = (
    "-F -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
    " -c listen_addresses=127.0.0.1"
)
START_ATTEMPTS = 3  # the free port can be taken between choosing it and binding it
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    socket_dir: str

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str, *, icu_locale: str | None = None) -> str:
        """Create a database (with an ICU collation such as en-US if given; the server's is C) and return its URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if icu_locale:
            statement += sql.SQL(" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE {}").format(
                sql.Literal(icu_locale)
            )
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(statement)
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class PostgresUnavailable(RuntimeError):
    """The server could not be found or started; the message says what to do."""


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with contextlib.ExitStack() as stack:
        try:
            bindir = find_bindir() or install_postgresql()
            server = stack.enter_context(running_server(bindir))
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty database for one test: postgresql://postgres@127.0.0.1:<port>/<db>."""
    with scratch_database(postgres_server, "test") as url:
        yield url


# --- finding and installing the binaries -----------------------------------------------------------------


def find_bindir() -> Path | None:
    """The folder holding both initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<v>/bin."""
    on_path = shutil.which("initdb"), shutil.which("pg_ctl")
    if on_path[0] and on_path[1]:
        initdb_dir = Path(on_path[0]).resolve().parent
        if (initdb_dir / "pg_ctl").exists():
            return initdb_dir
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True):
        if Path(bindir, "initdb").exists() and Path(bindir, "pg_ctl").exists():
            return Path(bindir)
    return None


def _major_version(bindir: str) -> int:
    version = Path(bindir).parent.name
    return int(version) if version.isdigit() else 0


def install_postgresql() -> Path:
    return install_server(
        "postgresql",
        find_bindir,
        PostgresUnavailable,
        name="PostgreSQL",
        binaries=("initdb", "pg_ctl"),
        looked=" on PATH or in /usr/lib/postgresql/*/bin",
    )


# --- running a server --------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_server(bindir: Path) -> Iterator[PostgresServer]:
    """initdb + start in a fresh temporary folder; stop (immediate) and delete it afterwards, whatever happens."""
    run_as = unprivileged_user("postgres", PostgresUnavailable) if os.geteuid() == 0 else None
    # Under /tmp, not pytest's tmp_path: as root that lives in a 0700 folder the server user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="etl-pg-", dir="/tmp" if run_as else None))
    datadir, socket_dir, log = root / "data", root / "sock", root / "server.log"
    started = False
    try:
        socket_dir.mkdir(mode=0o700)
        if run_as is not None:
            for path in (root, socket_dir):
                os.chown(path, run_as.pw_uid, run_as.pw_gid)
        _run(
            run_as,
            root,
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "--auth=trust",
                "-U",
                SUPERUSER,
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )
        started = True  # from here on a server may be running, even if _start then gives up
        port = _start(bindir, run_as, root, datadir, socket_dir, log)
        yield PostgresServer(host=HOST, port=port, user=SUPERUSER, socket_dir=str(socket_dir))
    finally:
        if started and (datadir / "postmaster.pid").exists():
            stop = [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]
            _run(run_as, root, stop, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _start(
    bindir: Path, run_as: pwd.struct_passwd | None, root: Path, datadir: Path, socket_dir: Path, log: Path
) -> int:
    failure = ""
    for _ in range(START_ATTEMPTS):
        port = free_port(HOST)
        options = f"{SERVER_OPTIONS} -c port={port} -c unix_socket_directories={shlex.quote(str(socket_dir))}"
        command = [
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-l",
            str(log),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-o",
            options,
            "start",
        ]
        result = _run(run_as, root, command, check=False)
        if result.returncode == 0:
            return port
        failure = f"{_tail(result.stderr or result.stdout)}\n--- server log ---\n{_tail(read_text(log))}"
        if "already in use" not in failure:
            break
    raise PostgresUnavailable(f"PostgreSQL did not start: {failure}")


def _run(
    run_as: pwd.struct_passwd | None, cwd: Path, command: list[str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if run_as is not None:
        if shutil.which("runuser"):
            command = ["runuser", "-u", run_as.pw_name, "--", *command]
        else:
            command = ["su", "-s", "/bin/sh", run_as.pw_name, "-c", shlex.join(command)]
    # PG* variables of the caller (PGHOST, PGPORT, PGDATA...) must not steer initdb and pg_ctl.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = subprocess.run(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise PostgresUnavailable(
            f"`{shlex.join(command)}` failed (exit {result.returncode}): {_tail(result.stderr or result.stdout)}"
        )
    return result
