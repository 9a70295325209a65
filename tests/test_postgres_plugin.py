"""The PostgreSQL test server: a real server, version 15 or later, a fresh database per test."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.plugins.postgres import PostgresServer, find_bindir

pytestmark = pytest.mark.postgres


def test_server_is_real_and_recent(postgres_server: PostgresServer, postgres_url: str) -> None:
    assert postgres_url.startswith(f"postgresql://postgres@127.0.0.1:{postgres_server.port}/test_")
    with psycopg.connect(postgres_url) as conn:
        (version,) = conn.execute("SHOW server_version_num").fetchone() or (0,)
        (fsync,) = conn.execute("SHOW fsync").fetchone() or ("",)
        (listen,) = conn.execute("SHOW listen_addresses").fetchone() or ("",)
        (user,) = conn.execute("SELECT current_user").fetchone() or ("",)
    assert int(version) >= 150000
    assert fsync == "off"
    assert listen == "127.0.0.1"
    assert user == "postgres"


def test_create_insert_select(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute(
            "CREATE TABLE loan (application_id text PRIMARY KEY, loan_amount numeric(18, 2) NOT NULL)"
        )
        conn.cursor().executemany(
            "INSERT INTO loan VALUES (%s, %s)", [("A1", Decimal("1000.10")), ("A2", Decimal("250.00"))]
        )
        rows = conn.execute("SELECT application_id, loan_amount FROM loan ORDER BY 1").fetchall()
    assert rows == [("A1", Decimal("1000.10")), ("A2", Decimal("250.00"))]


def test_merge_works(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE dim (k int PRIMARY KEY, v text, updates int NOT NULL DEFAULT 0)")
        conn.execute("INSERT INTO dim (k, v) VALUES (1, 'old'), (2, 'keep')")
        conn.execute("CREATE TEMP TABLE stage (k int, v text)")
        conn.execute("INSERT INTO stage VALUES (1, 'new'), (3, 'added')")
        conn.execute(
            """
            MERGE INTO dim AS t
            USING stage AS s ON t.k = s.k
            WHEN MATCHED THEN UPDATE SET v = s.v, updates = t.updates + 1
            WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v)
            """
        )
        rows = conn.execute("SELECT k, v, updates FROM dim ORDER BY k").fetchall()
    assert rows == [(1, "new", 1), (2, "keep", 0), (3, "added", 0)]


def test_each_test_gets_its_own_database(postgres_server: PostgresServer, postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables == (0,)  # nothing left over from the tests above
    url = postgres_server.create_database("explicit_db")
    try:
        assert url == postgres_server.dsn("explicit_db")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("explicit_db",)
    finally:
        postgres_server.drop_database("explicit_db")


def test_unix_socket_lives_in_the_temporary_folder(postgres_server: PostgresServer) -> None:
    socket_file = Path(postgres_server.socket_dir) / f".s.PGSQL.{postgres_server.port}"
    assert socket_file.is_socket()
    if os.geteuid() == 0:
        # As root the server runs as an unprivileged user, who owns its folder.
        assert Path(postgres_server.socket_dir).stat().st_uid != 0


def test_binaries_are_found() -> None:
    bindir = find_bindir()
    assert bindir is not None
    assert (bindir / "initdb").exists() and (bindir / "pg_ctl").exists()


def test_missing_binaries_fail_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.plugins import postgres

    monkeypatch.setattr(postgres, "find_bindir", lambda: None)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(
        postgres.PostgresUnavailable, match=r"initdb, pg_ctl\) not found .* apt-get install postgresql"
    ):
        postgres.install_postgresql()


def test_two_servers_side_by_side() -> None:
    # What two xdist workers do: each its own folder and port.
    from tests.plugins.postgres import running_server

    bindir = find_bindir()
    assert bindir is not None
    with running_server(bindir) as first, running_server(bindir) as second:
        assert first.port != second.port
        assert first.socket_dir != second.socket_dir
        for server in (first, second):
            with psycopg.connect(server.dsn()) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not Path(first.socket_dir).exists() and not Path(second.socket_dir).exists()
