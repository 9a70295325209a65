"""Faults injected into real loads: SIGKILL mid-load, a dropped warehouse connection, lake and warehouse
writes failing on either side of each other, and eight loader processes racing on one PostgreSQL database.

Every test asserts the exact warehouse state afterwards (rows, sums, ledger), not just that code ran.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from etl.errors import LakeError
from etl.load.lake import LocalLake
from etl.load.warehouse import open_warehouse
from etl.load.warehouse.duckdb import DuckDBWarehouse
from etl.load.warehouse.postgres import PostgresWarehouse
from etl.quality import run_data_tests
from etl.settings import Settings
from tests.helpers import Env, make_env, write
from tests.load.warehouse.pg import make_pg_env
from tests.reliability.faults import PYTHON, ROOT, child_env, statements, statements_total


@pytest.fixture(params=["duckdb", "postgres"])
def any_env(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    if request.param == "postgres":
        return make_pg_env(tmp_path, str(request.getfixturevalue("postgres_url")))
    return make_env(tmp_path)


def _ledger(env: Env) -> list[tuple[Any, ...]]:
    return env.query("SELECT file_name, status, rows_in, rows_loaded, rows_quarantined FROM etl_file_ledger")


def _facts(env: Env) -> tuple[int, int, Decimal | None]:
    row = env.query(
        "SELECT COUNT(*), COUNT(DISTINCT transaction_id), SUM(transaction_amount) FROM fact_bank_transaction"
    )[0]
    return int(row[0]), int(row[1]), row[2]


# ---- kill -9 in the middle of a file's load (DuckDB) -----------------------------------------------------

KILLED_DUCKDB_LOADER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from etl.load.lake import LocalLake
    from etl.load.warehouse.duckdb import DuckDBWarehouse
    from etl.pipeline import Pipeline
    from etl.extract.discover import discover
    from etl.settings import Settings

    lake, url, data, ready = sys.argv[1:5]
    original = DuckDBWarehouse.stage_file

    def stage_then_hang(self, staging, spec, load):  # test-only: pause inside the file's open transaction
        original(self, staging, spec, load)
        Path(ready).write_text("staged")
        time.sleep(600)

    DuckDBWarehouse.stage_file = stage_then_hang
    settings = Settings(lake=lake, warehouse_url=url)
    with DuckDBWarehouse.from_url(url) as wh:
        Pipeline(settings, LocalLake(lake), wh).run(discover([data]))
    """
)


def test_duckdb_load_killed_mid_transaction_leaves_nothing_and_the_next_run_loads_it_all(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path)
    n = 20_000
    write(env.data, "bank_statements", "big.csv", statements("T", n))
    ready = tmp_path / "ready"
    loader = subprocess.Popen(
        [
            PYTHON,
            "-c",
            KILLED_DUCKDB_LOADER,
            env.settings.lake,
            env.settings.warehouse_url,
            str(env.data),
            str(ready),
        ],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert loader.poll() is None, loader.stderr.read() if loader.stderr else "loader exited"
            assert time.monotonic() < deadline, "the loader never reached its transaction"
            time.sleep(0.05)
        os.kill(loader.pid, signal.SIGKILL)
        assert loader.wait(timeout=30) == -signal.SIGKILL
    finally:
        if loader.poll() is None:
            loader.kill()
            loader.wait()

    # the warehouse file opens (WAL replayed) and holds the schema but none of the file
    assert _facts(env) == (0, 0, None)
    assert _ledger(env) == []
    assert env.query("SELECT COUNT(*) FROM dim_customer WHERE customer_key <> -1") == [(0,)]
    assert env.query("SELECT COUNT(*) FROM dim_date") == [(0,)]

    report = env.run()
    assert [(f.status, f.rows_in, f.rows_loaded, f.rows_quarantined) for f in report.files] == [
        ("loaded", n, n, 0)
    ]
    assert report.exit_code == 0
    assert _facts(env) == (n, n, statements_total(n))
    assert _ledger(env) == [("big.csv", "loaded", n, n, 0)]
    assert env.query("SELECT COUNT(*) FROM dim_customer WHERE customer_key <> -1") == [(5,)]
    assert env.query("SELECT COUNT(*) FROM dim_date") == [
        (365 + 366,)
    ]  # 2023 and 2024, the conformed calendar
    # the lake object the killed loader had published is overwritten, not added to
    assert len(list((Path(env.settings.lake) / "curated" / "fact_bank_transaction").glob("*.parquet"))) == 1
    # kill -9 skipped the killed loader's scratch clean-up; the next run swept it (its process is gone) and
    # removed its own
    assert list((Path(env.settings.lake) / ".work").iterdir()) == []


# ---- a warehouse connection dropped mid-transaction is retried (PostgreSQL) ----------------------------------


def test_postgres_connection_terminated_mid_transaction_is_retried_and_commits_once(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_pg_env(tmp_path, postgres_url)
    n = 500
    write(env.data, "bank_statements", "s.csv", statements("T", n))
    killed: list[int] = []
    reconnects: list[int] = []
    stage_file, reconnect = PostgresWarehouse.stage_file, PostgresWarehouse.reconnect

    def stage_then_lose_the_connection(self: PostgresWarehouse, staging: str, spec: Any, load: Any) -> None:
        stage_file(self, staging, spec, load)
        if not killed:  # the first attempt only: the server ends this session from another connection
            pid = self.conn.info.backend_pid
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                [(done,)] = admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchall()
            assert done is True
            killed.append(pid)

    def counting_reconnect(self: PostgresWarehouse) -> None:
        reconnects.append(self.conn.info.backend_pid if not self.conn.closed else -1)
        reconnect(self)

    monkeypatch.setattr(PostgresWarehouse, "stage_file", stage_then_lose_the_connection)
    monkeypatch.setattr(PostgresWarehouse, "reconnect", counting_reconnect)

    report = env.run()

    assert killed and len(reconnects) == 1, "no connection was lost: the test proves nothing"
    [result] = report.files
    assert (result.status, result.rows_loaded, result.error) == ("loaded", n, None)
    assert report.exit_code == 0
    assert _facts(env) == (n, n, statements_total(n))
    assert _ledger(env) == [("s.csv", "loaded", n, n, 0)]
    assert env.query("SELECT COUNT(*) FROM dim_customer WHERE customer_key <> -1") == [(5,)]


# ---- lake and warehouse failing on either side of each other -------------------------------------------------


def test_lake_write_failing_before_the_warehouse_load_fails_the_file_and_a_replay_loads_it_once(
    any_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, n = any_env, 300
    write(env.data, "bank_statements", "s.csv", statements("T", n))
    publish = LocalLake.publish
    calls: list[str] = []

    def publish_fails_once(self: LocalLake, local: Path, uri: str, *, table: str, kind: str) -> None:
        calls.append(uri)
        if len(calls) == 1:
            raise LakeError(f"cannot write {uri}: injected outage")
        publish(self, local, uri, table=table, kind=kind)

    monkeypatch.setattr(LocalLake, "publish", publish_fails_once)

    first = env.run()
    [failed] = first.files
    assert (failed.status, failed.retryable, first.exit_code) == ("failed", True, 1)
    assert failed.error is not None and "injected outage" in failed.error
    assert _facts(env) == (0, 0, None)
    assert env.query("SELECT file_name, status FROM etl_file_ledger") == [("s.csv", "failed")]

    replay = env.run()
    assert [(f.status, f.rows_loaded) for f in replay.files] == [("loaded", n)]
    assert replay.exit_code == 0
    assert _facts(env) == (n, n, statements_total(n))
    assert _ledger(env) == [("s.csv", "loaded", n, n, 0)]
    assert len(list((Path(env.settings.lake) / "curated" / "fact_bank_transaction").glob("*"))) == 1

    again = env.run()  # and a replay after success is a no-op
    assert [f.status for f in again.files] == ["skipped_duplicate"]
    assert _facts(env) == (n, n, statements_total(n))


def test_warehouse_failing_after_the_lake_write_is_recovered_by_a_replay_without_duplicates(
    any_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, n = any_env, 300
    write(env.data, "bank_statements", "s.csv", statements("T", n))
    backend: Any = PostgresWarehouse if env.settings.warehouse_url.startswith("postgres") else DuckDBWarehouse
    original = backend.stage_file
    failures: list[str] = []

    def fail_once(self: Any, staging: str, spec: Any, load: Any) -> None:
        if not failures:
            failures.append(staging)
            raise RuntimeError("disk full (injected)")  # not transient: no in-process retry
        original(self, staging, spec, load)

    monkeypatch.setattr(backend, "stage_file", fail_once)

    first = env.run()
    [failed] = first.files
    assert (failed.status, first.exit_code) == ("failed", 1)
    assert failed.error is not None and "disk full (injected)" in failed.error
    curated = Path(env.settings.lake) / "curated" / "fact_bank_transaction"
    assert len(list(curated.glob("*.parquet"))) == 1  # the lake was written before the warehouse failed
    assert _facts(env) == (0, 0, None)
    assert env.query("SELECT file_name, status FROM etl_file_ledger") == [("s.csv", "failed")]

    replay = env.run()
    assert [(f.status, f.rows_loaded) for f in replay.files] == [("loaded", n)]
    assert _facts(env) == (n, n, statements_total(n))
    assert _ledger(env) == [("s.csv", "loaded", n, n, 0)]
    assert len(list(curated.glob("*"))) == 1  # overwritten by the replay, not added to


def test_a_lake_object_lost_after_the_commit_is_not_rebuilt_by_a_replay_and_the_warehouse_stays_intact(
    env: Env,
) -> None:
    """Documents the limit: `etl run` trusts the ledger; the warehouse is the state, the lake its history."""
    n = 200
    write(env.data, "bank_statements", "s.csv", statements("T", n))
    [loaded] = env.run().files
    assert loaded.lake_uri is not None
    Path(loaded.lake_uri).unlink()  # the lake object is lost after the warehouse committed

    replay = env.run()
    assert [f.status for f in replay.files] == ["skipped_duplicate"]
    assert _facts(env) == (n, n, statements_total(n))
    assert _ledger(env) == [("s.csv", "loaded", n, n, 0)]
    assert not Path(loaded.lake_uri).exists()
    # what a person uses to rebuild it: the ledger names the object and the raw file it came from
    assert env.query("SELECT lake_uri, uri FROM etl_file_ledger") == [
        (loaded.lake_uri, str(env.data / "bank_statements" / "s.csv"))
    ]


# ---- eight loader processes at once into one PostgreSQL database ---------------------------------------------


def test_eight_processes_loading_eight_files_at_once_give_exactly_the_expected_rows(
    tmp_path: Path, postgres_url: str
) -> None:
    files, n = 8, 250
    paths = [
        write(tmp_path / f"in{k}", "bank_statements", f"s{k}.csv", statements(f"F{k}T", n))
        for k in range(files)
    ]
    loaders = [
        subprocess.Popen(
            [
                PYTHON,
                "-m",
                "etl.cli",
                "run",
                str(path),
                "--json",
                "--warehouse",
                postgres_url,
                "--lake",
                str(tmp_path / f"lake{k}"),
            ],
            cwd=tmp_path,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k, path in enumerate(paths)
    ]
    outputs = [loader.communicate(timeout=240) for loader in loaders]
    for loader, (stdout, stderr) in zip(loaders, outputs, strict=True):
        assert loader.returncode == 0, stderr or stdout
        [result] = json.loads(stdout)["files"]
        assert (result["status"], result["rows_loaded"], result["rows_quarantined"]) == ("loaded", n, 0)

    env = make_pg_env(tmp_path, postgres_url)
    assert _facts(env) == (files * n, files * n, files * statements_total(n))
    assert sorted(_ledger(env)) == [(f"s{k}.csv", "loaded", n, n, 0) for k in range(files)]
    assert env.query("SELECT COUNT(DISTINCT file_id) FROM etl_file_ledger") == [(files,)]
    assert env.query(
        "SELECT customer_id, COUNT(*) FROM dim_customer WHERE customer_key <> -1 GROUP BY 1 ORDER BY 1"
    ) == [(f"C{i}", 1) for i in range(5)]
    assert env.query("SELECT COUNT(*), COUNT(DISTINCT date_key) FROM dim_date") == [(365 + 366, 365 + 366)]
    assert (
        env.query(
            "SELECT source_file_id, COUNT(*) FROM fact_bank_transaction GROUP BY 1 HAVING COUNT(*) <> %s",
            (n,),
        )
        == []
    )
    with open_warehouse(Settings(warehouse_url=postgres_url)) as wh:
        results = run_data_tests(wh, "after-race", datetime.now(UTC).replace(tzinfo=None))
    assert [r.name for r in results if r.status == "fail"] == []
