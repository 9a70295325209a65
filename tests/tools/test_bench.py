"""`etl bench`: a small real run (generator, child-process pipeline, DuckDB reference); shape, not speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from etl.cli.bench import bench_command, format_result
from etl.timing import STAGES, NullTimer, StageTimer
from etl.tools.bench import BenchError, BenchResult, run_bench

ROWS = 20_000


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> BenchResult:
    return run_bench(ROWS, keep=False, workdir=tmp_path_factory.mktemp("bench"))


def test_every_stage_is_timed(result: BenchResult) -> None:
    assert list(result.stages) == list(STAGES)
    assert all(seconds > 0 for seconds in result.stages.values()), result.stages


def test_rows_add_up(result: BenchResult) -> None:
    assert result.rows == ROWS
    # the bench's generated statements are clean: every row is in fact_bank_transaction afterwards
    assert (result.rows_loaded, result.rows_quarantined) == (ROWS, 0)
    assert result.data_tests_failed == 0


def test_speed_memory_and_reference_are_reported(result: BenchResult) -> None:
    assert result.pipeline_seconds > 0
    assert result.rows_per_second > 0
    assert result.reference_seconds > 0
    assert result.ratio == pytest.approx(result.pipeline_seconds / result.reference_seconds, rel=0.01)
    assert result.peak_rss_bytes > 10 << 20  # a whole Python process, measured in the child
    assert result.file_bytes > 0


def test_json_shape(result: BenchResult) -> None:
    data = json.loads(json.dumps(result.as_dict()))
    for key in (
        "rows",
        "stages",
        "pipeline_seconds",
        "rows_per_second",
        "peak_rss_bytes",
        "peak_rss_mb",
        "reference_seconds",
        "ratio",
        "rows_loaded",
        "rows_quarantined",
    ):
        assert key in data
    assert set(data["stages"]) == set(STAGES)


def test_text_report_names_every_figure(result: BenchResult) -> None:
    text = "\n".join(format_result(result))
    for word in (*STAGES, "rows/s", "reference", "ratio", "peak RSS"):
        assert word in text
    # VmHWM / 2**20 is MiB, and the report says so (it used to print "MB")
    assert f"peak RSS     {result.peak_rss_bytes / (1 << 20):8.1f} MiB (pipeline process)" in text


def test_nothing_is_left_behind_without_keep(result: BenchResult) -> None:
    assert result.workdir is None


def test_keep_keeps_the_lake_and_warehouse(tmp_path: Path) -> None:
    kept = run_bench(2_000, keep=True, workdir=tmp_path / "kept")
    assert kept.workdir == str(tmp_path / "kept")
    assert list((tmp_path / "kept" / "run" / "lake" / "curated").rglob("*.parquet"))
    assert (tmp_path / "kept" / "run" / "warehouse.duckdb").exists()


def test_command_prints_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()
    app.command("bench")(bench_command)
    app.command("noop")(lambda: None)  # two commands, so `bench` is addressed by name as in etl
    outcome = CliRunner().invoke(app, ["bench", "--rows", "3000", "--json"])
    assert outcome.exit_code == 0, outcome.output
    data = json.loads(outcome.stdout)
    assert data["rows"] == 3000 and data["ratio"] > 0
    assert not list(tmp_path.iterdir())  # no --keep: nothing left in the working folder


def test_repeat_keeps_the_best_of_alternating_runs(tmp_path: Path) -> None:
    result = run_bench(2_000, keep=False, workdir=tmp_path / "repeat", repeat=2)
    assert result.repeat == 2 and len(result.runs) == 2
    assert result.pipeline_seconds == min(r["pipeline_seconds"] for r in result.runs)
    assert result.reference_seconds == min(r["reference_seconds"] for r in result.runs)
    assert result.ratio == pytest.approx(result.pipeline_seconds / result.reference_seconds, rel=0.01)
    assert result.cpu_seconds > 0
    assert result.rows_loaded == 2_000 - result.rows_quarantined  # the last run's warehouse is a fresh one
    text = "\n".join(format_result(result))
    assert "best of 2 alternating runs" in text and "s of CPU" in text


def test_repeat_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="repeat must be >= 1"):
        run_bench(10, keep=False, workdir=tmp_path, repeat=0)


def test_timers() -> None:
    timer = StageTimer()
    with timer.stage("read"):
        pass
    with timer.stage("read"):
        pass
    assert set(timer.seconds) == {"read"} and timer.seconds["read"] >= 0
    null = NullTimer()
    with null.stage("read"):
        pass
    assert null.seconds == {}


def test_bench_soak_runs_the_long_soak(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import etl.cli.soak
    from etl.cli import app

    calls: list[bool] = []
    monkeypatch.setattr(etl.cli.soak, "soak_command", lambda as_json=False: calls.append(as_json))
    result = CliRunner().invoke(app, ["bench", "--soak", "--json"])
    assert result.exit_code == 0, result.output
    assert calls == [True]


def test_peak_rss_is_the_childs_own_not_its_parents(tmp_path: Path) -> None:
    import subprocess
    import sys

    ballast = bytearray(300 << 20)  # the parent's peak: 300 MB touched
    ballast[::4096] = b"x" * len(ballast[::4096])
    code = "import resource; from etl.tools.bench import peak_rss_bytes; print(peak_rss_bytes(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)"
    own, inherited = map(int, subprocess.check_output([sys.executable, "-c", code], text=True).split())
    del ballast
    assert own < 150 << 20  # a small interpreter
    assert inherited > 300 << 20  # what ru_maxrss reports in the same child: the parent's peak


def test_peak_rss_reads_vmhwm(tmp_path: Path) -> None:
    from etl.tools.bench import peak_rss_bytes

    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t 900000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 100000 kB\n")
    assert peak_rss_bytes(status) == 123456 * 1024
    import resource

    # elsewhere getrusage's peak (KiB on Linux); a peak only grows, so it lies between two readings
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    value = peak_rss_bytes(tmp_path / "missing")
    assert before <= value <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
