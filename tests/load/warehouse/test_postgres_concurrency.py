"""Concurrent loaders and a killed loader against one real PostgreSQL database."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from etl.extract.discover import discover
from etl.load.lake import LocalLake
from etl.load.warehouse.postgres import PostgresWarehouse
from etl.pipeline import FileResult, Pipeline
from etl.settings import Settings
from tests.helpers import APP_HEADER, STMT_HEADER, write

ROOT = Path(__file__).resolve().parents[3]


def _statements(prefix: str, n: int) -> str:
    # Both files share customer C9 (an inferred member) and the same days: their dimension rows collide.
    lines = [
        f"{prefix}{i},C9,2023-01-{1 + i % 28:02d},-{i}.00,POS PURCHASE,{1000 - i}.00" for i in range(1, n + 1)
    ]
    return STMT_HEADER + "\n" + "\n".join(lines) + "\n"


def _load_in_threads(
    settings: Settings, paths: list[Path], hook_before: str, stage_hook: Any, after_hook: Any = None
) -> list[FileResult]:
    """Run one Pipeline per path in threads, all at once; `stage_hook` runs before statements starting `hook_before`."""
    results: dict[int, FileResult] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(paths))

    def run(i: int, path: Path) -> None:
        try:
            with PostgresWarehouse.from_url(settings.warehouse_url) as wh:
                # one lake folder per loader: LocalLake's temporary name is shared by writers of the same
                # object (S3's PUT is atomic, so this only concerns the local lake); the warehouse is shared
                pipeline = Pipeline(settings, LocalLake(Path(settings.lake) / f"loader{i}"), wh)
                start.wait(timeout=30)
                [results[i]] = pipeline.run(discover([path]), with_tests=False).files
        except BaseException as exc:  # surfaced below, with the thread's own traceback
            errors.append(exc)

    original = PostgresWarehouse.execute

    def execute(self: PostgresWarehouse, sql: str, params: Any = ()) -> None:
        if sql.startswith(hook_before):
            stage_hook()
        original(self, sql, params)
        if after_hook is not None and sql.startswith(hook_before):
            after_hook()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(PostgresWarehouse, "execute", execute)
        threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(paths)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    if errors:
        raise errors[0]
    return [results[i] for i in range(len(paths))]


def _settings(tmp_path: Path, postgres_url: str) -> Settings:
    return Settings(lake=str(tmp_path / "lake"), warehouse_url=postgres_url)


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with PostgresWarehouse.from_url(url) as wh:
        return wh.query(sql)


def test_the_same_file_loaded_twice_at_once_is_loaded_once(tmp_path: Path, postgres_url: str) -> None:
    settings = _settings(tmp_path, postgres_url)
    text = (
        APP_HEADER + "\nA1,C1,100.10,2023-01-01,700,Employed,1000\nA2,C2,200.20,2023-01-02,650,Unemployed,0\n"
    )
    first = write(tmp_path / "one", "loan_applications", "a.csv", text)
    second = write(tmp_path / "two", "loan_applications", "same-bytes-other-name.csv", text)

    # The first loader holds its transaction open a moment, so the second meets its uncommitted ledger row.
    lost_races: list[bool] = []
    load_file = PostgresWarehouse.load_file

    def watched(self: PostgresWarehouse, load: Any) -> bool:
        won = load_file(self, load)
        lost_races.append(not won)
        return won

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(PostgresWarehouse, "load_file", watched)
        results = _load_in_threads(
            settings, [first, second], "MERGE INTO fact_loan_application", stage_hook=lambda: time.sleep(0.5)
        )

    assert sorted(r.status for r in results) == ["loaded", "skipped_duplicate"], [r.error for r in results]
    # the race happened: both loaders reached the warehouse, and one found the other's claim there (had the
    # second started late, it would have skipped at the ledger check and proved nothing)
    assert sorted(lost_races) == [False, True]
    counts = {r.status: (r.rows_in, r.rows_loaded, r.rows_quarantined) for r in results}
    assert counts == {"loaded": (2, 2, 0), "skipped_duplicate": (0, 0, 0)}  # the loser added nothing
    assert _query(postgres_url, "SELECT COUNT(*), SUM(loan_amount) FROM fact_loan_application") == [
        (2, Decimal("300.30"))
    ]
    assert _query(postgres_url, "SELECT COUNT(*), COUNT(DISTINCT file_id) FROM etl_file_ledger") == [(1, 1)]


def test_different_files_at_once_both_load_after_retrying_the_conflict(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, postgres_url)
    a = write(tmp_path / "one", "bank_statements", "a.csv", _statements("TA", 30))
    b = write(tmp_path / "two", "bank_statements", "b.csv", _statements("TB", 20))
    with PostgresWarehouse.from_url(postgres_url) as wh:  # schema first, so the race is in the loads
        Pipeline(settings, LocalLake(settings.lake), wh).prepare()
    retries: list[str] = []
    reconnect = PostgresWarehouse.reconnect

    def counting_reconnect(self: PostgresWarehouse) -> None:
        retries.append("retry")
        reconnect(self)

    monkeypatch.setattr(PostgresWarehouse, "reconnect", counting_reconnect)
    both_staged = threading.Barrier(2)

    first_stagings = itertools.count()

    def meet() -> None:  # both transactions are open and about to insert the same days
        if next(first_stagings) < 2:  # retries go straight on
            both_staged.wait(timeout=30)

    first_done = itertools.count()

    def hold_until_the_other_waits() -> None:
        # The first loader to insert the days keeps its transaction open until PostgreSQL shows the other
        # loader blocked on those rows, so the conflict happens however the threads are scheduled.
        if next(first_done) != 0:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = _query(
                postgres_url,
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
            )[0][0]
            if waiting:
                return
            time.sleep(0.05)

    results = _load_in_threads(
        settings, [a, b], "INSERT INTO dim_date", stage_hook=meet, after_hook=hold_until_the_other_waits
    )

    assert [r.status for r in results] == ["loaded", "loaded"]
    assert retries, "the loads did not conflict: the test proves nothing"
    assert _query(
        postgres_url, "SELECT COUNT(*), COUNT(DISTINCT transaction_id) FROM fact_bank_transaction"
    ) == [(50, 50)]
    assert _query(postgres_url, "SELECT COUNT(*) FROM dim_customer WHERE customer_id = 'C9'") == [(1,)]
    assert _query(postgres_url, "SELECT COUNT(*) FROM dim_date") == [(365 + 366,)]  # 2023 and 2024
    assert _query(postgres_url, "SELECT COUNT(*) FROM etl_file_ledger WHERE status = 'loaded'") == [(2,)]


KILLED_LOADER = textwrap.dedent(
    """
    import sys, time
    from etl.load.lake import LocalLake
    from etl.load.warehouse.postgres import PostgresWarehouse
    from etl.pipeline import Pipeline
    from etl.extract.discover import discover
    from etl.settings import Settings

    original = PostgresWarehouse.stage_file

    def stage_then_hang(self, staging, spec, load):  # test-only: pause inside the open transaction
        original(self, staging, spec, load)
        print("staged", flush=True)
        time.sleep(600)

    PostgresWarehouse.stage_file = stage_then_hang
    lake, url, data = sys.argv[1:4]
    settings = Settings(lake=lake, warehouse_url=url)
    with PostgresWarehouse.from_url(url) as wh:
        Pipeline(settings, LocalLake(lake), wh).run(discover([data]))
    """
)


def test_a_load_killed_mid_transaction_leaves_nothing_and_the_next_run_loads_it_all(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = _settings(tmp_path, postgres_url)
    write(tmp_path / "data", "bank_statements", "s.csv", _statements("T", 40))
    loader = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOADER, settings.lake, postgres_url, str(tmp_path / "data")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert loader.stdout is not None
        line = loader.stdout.readline()
        assert line.strip() == "staged", loader.stderr.read() if loader.stderr else line
        assert _query(postgres_url, "SELECT COUNT(*) FROM fact_bank_transaction") == [(0,)]  # not committed
        os.kill(loader.pid, signal.SIGKILL)
        assert loader.wait(timeout=30) == -signal.SIGKILL
    finally:
        if loader.poll() is None:
            loader.kill()
            loader.wait()

    assert _query(postgres_url, "SELECT COUNT(*) FROM fact_bank_transaction") == [(0,)]
    assert _query(postgres_url, "SELECT COUNT(*) FROM etl_file_ledger") == [(0,)]
    assert _query(postgres_url, "SELECT COUNT(*) FROM dim_customer WHERE customer_id = 'C9'") == [(0,)]

    with PostgresWarehouse.from_url(postgres_url) as wh:
        report = Pipeline(settings, LocalLake(settings.lake), wh).run(discover([tmp_path / "data"]))
    assert [(f.status, f.rows_loaded) for f in report.files] == [("loaded", 40)]
    assert _query(postgres_url, "SELECT COUNT(*), COUNT(DISTINCT source_row) FROM fact_bank_transaction") == [
        (40, 40)
    ]
    assert _query(postgres_url, "SELECT status FROM etl_file_ledger") == [("loaded",)]


@pytest.mark.parametrize("server_default", ["read committed", "repeatable read"])
def test_an_application_load_never_removes_a_customer_that_a_concurrent_statement_load_uses(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, server_default: str
) -> None:
    """A correction moves CX's only application to CY, which leaves CX with nothing: it is removed. A
    statement load of CX that found CX in dim_customer, but has not committed its fact yet, must not lose
    its customer to that removal (READ COMMITTED hides its uncommitted fact from the removal). The loads
    run READ COMMITTED whatever the server's default: a snapshot taken before the lock wait would not see
    the other load's commit."""
    database = postgres_url.rsplit("/", 1)[1]
    with PostgresWarehouse.from_url(postgres_url) as wh:
        wh.execute(f"ALTER DATABASE {database} SET default_transaction_isolation = '{server_default}'")
    settings = _settings(tmp_path, postgres_url)
    first = (
        APP_HEADER
        + "\nA1,CX,100.00,2023-01-01,700,Employed,1000\nA2,CZ,100.00,2023-02-01,700,Employed,1000\n"
    )
    apps = write(tmp_path / "a", "loan_applications", "a.csv", first)
    corrected = write(
        tmp_path / "b",
        "loan_applications",
        "a-fixed.csv",
        APP_HEADER + "\nA1,CY,100.00,2023-01-01,700,Employed,1000\n",
    )
    statement = write(
        tmp_path / "s", "bank_statements", "s.csv", STMT_HEADER + "\nT1,CX,2023-01-01,-1.00,POS,10.00\n"
    )
    with PostgresWarehouse.from_url(postgres_url) as wh:
        assert [
            f.status for f in Pipeline(settings, LocalLake(settings.lake), wh).run(discover([apps])).files
        ] == ["loaded"]

    checked = threading.Event()  # the statement load found CX and has not committed
    original = PostgresWarehouse.execute

    def execute(self: PostgresWarehouse, sql: str, params: Any = ()) -> None:
        original(self, sql, params)
        if threading.current_thread().name == "statements" and sql.startswith("INSERT INTO dim_customer"):
            checked.set()
            deadline = time.monotonic() + 5  # until the application load waits for it (or 5 s)
            while time.monotonic() < deadline:
                waiting = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                if _query(postgres_url, waiting)[0][0]:
                    break
                time.sleep(0.05)

    monkeypatch.setattr(PostgresWarehouse, "execute", execute)
    statuses: dict[str, str] = {}

    def load(path: Path, folder: str) -> None:
        if folder == "applications":
            assert checked.wait(timeout=30)
        with PostgresWarehouse.from_url(postgres_url) as wh:
            pipeline = Pipeline(settings, LocalLake(Path(settings.lake) / folder), wh)
            [statuses[folder]] = [f.status for f in pipeline.run(discover([path]), with_tests=False).files]

    threads = [
        threading.Thread(target=load, args=(statement, "statements"), name="statements"),
        threading.Thread(target=load, args=(corrected, "applications"), name="applications"),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert statuses == {"statements": "loaded", "applications": "loaded"}
    orphans = (
        "SELECT t.transaction_id FROM fact_bank_transaction t "
        "LEFT JOIN dim_customer c ON c.customer_key = t.customer_key WHERE c.customer_key IS NULL"
    )
    assert _query(postgres_url, orphans) == []
    assert _query(postgres_url, "SELECT customer_id, is_inferred FROM dim_customer ORDER BY 1") == [
        ("(unknown)", True),
        ("CX", True),  # demoted, but kept: its statement's fact points at it
        ("CY", False),
        ("CZ", False),
    ]
