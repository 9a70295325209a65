"""The pipeline's helper threads: the reader ahead of validation, the modeller and the Parquet writer behind it."""

from __future__ import annotations

import errno
import threading
from pathlib import Path

import pytest

import etl.pipeline
from etl.pipeline import _read_ahead, _WriteBehind
from etl.timing import StageTimer
from tests.helpers import STMT_HEADER, make_env, write


def test_jobs_run_in_order_on_another_thread() -> None:
    done: list[tuple[int, str]] = []
    with _WriteBehind() as behind:
        for i in range(50):
            behind.submit(lambda i=i: done.append((i, threading.current_thread().name)))
    assert [i for i, _ in done] == list(range(50))
    assert {name for _, name in done} == {"etl-writer"}


def test_a_failed_job_stops_the_rest_and_is_raised() -> None:
    done: list[int] = []

    def job(i: int) -> None:
        if i == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        done.append(i)

    with pytest.raises(OSError, match="No space left"), _WriteBehind() as behind:
        for i in range(20):
            behind.submit(lambda i=i: job(i))
    assert done == [0, 1, 2]


def test_the_producers_error_wins_and_queued_jobs_are_dropped() -> None:
    started, release = threading.Event(), threading.Event()
    done: list[int] = []

    def slow(i: int) -> None:
        started.set()
        release.wait(5)
        done.append(i)

    with pytest.raises(ValueError, match="bad chunk"), _WriteBehind() as behind:
        behind.submit(lambda: slow(0))
        started.wait(5)
        behind.submit(lambda: slow(1))  # queued behind the job in hand
        threading.Timer(0.3, release.set).start()  # the job in hand ends after the producer has failed
        raise ValueError("bad chunk")
    assert done == [0]  # the job in hand finished; the queued one never ran


def test_read_ahead_hands_over_items_and_errors() -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield 1
        yield 2
        raise RuntimeError("rejected halfway")

    seen: list[int] = []
    with pytest.raises(RuntimeError, match="rejected halfway"), _read_ahead(chunks(), StageTimer()) as ahead:
        seen.extend(ahead)
    assert seen == [1, 2]


def test_a_full_disk_while_writing_parquet_fails_the_file_retryably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env(tmp_path)
    write(env.data, "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C1,2023-01-01,-5.00,POS,1.00\n")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(etl.pipeline, "_write_parts", full)
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

    monkeypatch.setattr(etl.pipeline, "_write_parts", denied)
    [result] = env.run().files
    assert (result.status, result.error) == ("failed", f"local I/O error: Permission denied ({target})")
