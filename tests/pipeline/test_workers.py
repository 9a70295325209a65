"""The pipeline's helper threads: a chain of stages (read, validate, model, write), each on its own thread."""

from __future__ import annotations

import errno
import threading
from pathlib import Path

import pytest

import etl.load.staging
import etl.pipeline
from etl.pipeline.workers import run_chain, timed
from etl.timing import StageTimer
from tests.helpers import STMT_HEADER, make_env, write


def test_items_go_through_every_stage_in_order_each_stage_on_its_own_thread() -> None:
    done: list[tuple[int, str]] = []

    def double(i: int) -> int:
        return i * 2

    def keep(i: int) -> None:
        done.append((i, threading.current_thread().name))

    run_chain(range(50), [double, keep])
    assert [i for i, _ in done] == [i * 2 for i in range(50)]
    assert {name for _, name in done} == {"etl-keep"}


def test_a_failed_stage_stops_the_rest_and_is_raised() -> None:
    done: list[int] = []

    def job(i: int) -> None:
        if i == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        done.append(i)

    with pytest.raises(OSError, match="No space left"):
        run_chain(range(20), [job])
    assert done == [0, 1, 2]


def test_the_first_error_wins_and_queued_items_are_dropped() -> None:
    started, release = threading.Event(), threading.Event()
    done: list[int] = []

    def first(i: int) -> int:
        if i == 2:
            started.wait(5)
            threading.Timer(0.3, release.set).start()  # the item in hand ends after this stage has failed
            raise ValueError("bad chunk")
        return i

    def slow(i: int) -> None:
        started.set()
        release.wait(5)
        done.append(i)

    with pytest.raises(ValueError, match="bad chunk"):
        run_chain(range(10), [first, slow])
    assert done == [0]  # the item in hand finished; the queued one never ran


def test_items_read_before_a_failed_read_still_go_through() -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield 1
        yield 2
        raise RuntimeError("rejected halfway")

    seen: list[int] = []
    with pytest.raises(RuntimeError, match="rejected halfway"):
        run_chain(chunks(), [seen.append])
    assert seen == [1, 2]


def test_the_time_spent_producing_items_is_counted() -> None:
    timer = StageTimer()
    assert list(timed(iter([1, 2, 3]), lambda: timer.stage("read"))) == [1, 2, 3]
    assert set(timer.seconds) == {"read"}


def test_a_full_disk_while_writing_parquet_fails_the_file_retryably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env(tmp_path)
    write(env.data, "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C1,2023-01-01,-5.00,POS,1.00\n")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(etl.load.staging.Staging, "write", full)
    report = env.run()
    [result] = report.files
    assert (result.status, result.retryable) == ("failed", True)
    assert result.error == "local I/O error: No space left on device"
    assert env.scalar("SELECT COUNT(*) FROM fact_bank_transaction") == 0
    assert env.query("SELECT status FROM etl_file_ledger") == [("failed",)]
    assert not list((tmp_path / "lake").rglob("*.parquet"))


@pytest.mark.parametrize("pool", ["system", "mimalloc", "jemalloc"])
def test_the_arrow_allocator_follows_the_setting(tmp_path: Path, pool: str) -> None:
    import pyarrow as pa

    env = make_env(tmp_path)
    write(env.data, "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C1,2023-01-01,-5.00,POS,1.00\n")
    assert env.run(arrow_memory_pool=pool).exit_code == 0
    assert pa.default_memory_pool().backend_name == pool
    etl.pipeline.use_memory_pool("jemalloc")  # the default, for the tests that follow in this process


def test_a_local_io_error_names_the_path_it_hit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env(tmp_path)
    write(env.data, "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C1,2023-01-01,-5.00,POS,1.00\n")
    target = str(tmp_path / "lake" / "curated")

    def denied(*args: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", target)

    monkeypatch.setattr(etl.load.staging.Staging, "write", denied)
    [result] = env.run().files
    assert (result.status, result.error) == ("failed", f"local I/O error: Permission denied ({target})")
