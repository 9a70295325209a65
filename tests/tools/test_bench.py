"""`etl bench`: small real runs (generator, child-process pipeline, whole `etl run` processes, the DuckDB
references, incremental loads into kept base warehouses); shape and values, not speed."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from etl.cli.bench import bench_command, format_incremental, format_result
from etl.timing import STAGES, NullTimer, StageTimer
from etl.tools.bench import BenchError, BenchResult, run_bench, run_incremental
from etl.tools.bench.common import measure_process

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


def test_the_floor_reads_the_csv_once_into_a_table_and_a_parquet_file(tmp_path: Path) -> None:
    kept = run_bench(3_000, keep=True, workdir=tmp_path / "floor")
    references = tmp_path / "floor" / "run" / "references"
    con = duckdb.connect(str(references / "floor.duckdb"), read_only=True)
    try:
        table = con.execute("SELECT COUNT(*), SUM(transaction_amount) FROM t").fetchone()
    finally:
        con.close()
    parquet = pq.read_table(references / "floor.parquet")
    assert table is not None and table[0] == parquet.num_rows == 3_000
    assert str(parquet.schema.field("transaction_amount").type) == "decimal128(18, 2)"
    assert sum(parquet.column("transaction_amount").to_pylist()) == table[1]  # exact decimals both ways
    assert pq.ParquetFile(references / "floor.parquet").metadata.row_group(0).column(0).compression == "ZSTD"
    assert kept.floor_seconds > 0
    assert kept.floor_ratio == pytest.approx(kept.pipeline_seconds / kept.floor_seconds, rel=0.01)
    text = "\n".join(format_result(kept))
    assert "floor" in text and "x to the floor" in text


def test_whole_process_mode_times_etl_run_and_the_references_as_processes(tmp_path: Path) -> None:
    result = run_bench(2_000, keep=True, workdir=tmp_path / "whole", whole_process=True)

    assert result.mode == "whole-process"
    assert (result.rows_loaded, result.rows_quarantined, result.data_tests_failed) == (2_000, 0, 0)
    assert "loaded" in (tmp_path / "whole" / "run" / "etl-run.log").read_text()  # the CLI's own summary
    # each a whole interpreter: the pipeline's with pyarrow and DuckDB, the references' with DuckDB
    assert result.peak_rss_bytes > 80 << 20
    assert result.reference_peak_rss_bytes and result.reference_peak_rss_bytes > 30 << 20
    assert result.floor_peak_rss_bytes and result.floor_peak_rss_bytes > 30 << 20
    assert set(result.stages.values()) == {0.0}  # no stage timer in a plain `etl run`
    text = "\n".join(format_result(result))
    assert "whole processes, start-up included" in text and " MiB" in text.split("reference", 1)[1]


def test_a_measured_process_reports_its_own_peak_not_the_benchs(tmp_path: Path) -> None:
    import sys

    ballast = bytearray(300 << 20)  # the bench's peak: 300 MB touched
    ballast[::4096] = b"x" * len(ballast[::4096])
    small = measure_process([sys.executable, "-c", "pass"], log=tmp_path / "log")
    big = measure_process(
        [sys.executable, "-c", "b = bytearray(200 << 20); b[::4096] = b'x' * len(b[::4096])"],
        log=tmp_path / "log",
    )
    del ballast
    assert small.peak_rss_bytes < 60 << 20 < 200 << 20 < big.peak_rss_bytes < 300 << 20
    assert small.seconds > 0 and big.cpu_seconds > 0
    with pytest.raises(BenchError, match=r"exited 3: boom"):
        measure_process(
            [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], log=tmp_path / "log"
        )


def test_incremental_loads_a_file_into_copies_of_kept_bases(tmp_path: Path) -> None:
    work = tmp_path / "inc"
    first = run_incremental([20_000, 0], file_rows=1_000, keep=True, workdir=work)

    assert [r.base_rows for r in first.sizes] == [0, 20_000]  # smallest first: the ratios' reference
    assert [r.customers for r in first.sizes] == [100, 100]  # the largest base's customers, in every base
    assert all(r.build_seconds > 0 for r in first.sizes)
    for r in first.sizes:
        assert r.in_process_seconds > 0 and r.whole_process_seconds > r.in_process_seconds
        assert set(r.stages) == set(STAGES) and r.stages["data_tests"] > 0 and r.whole_suite_seconds > 0
        assert r.peak_rss_bytes > 80 << 20
    assert first.sizes[0].in_process_ratio == first.sizes[0].whole_process_ratio == 1.0
    assert first.sizes[1].in_process_ratio == pytest.approx(
        first.sizes[1].in_process_seconds / first.sizes[0].in_process_seconds, rel=0.01
    )
    # the bases are untouched (each run loads into a copy), and kept for the next bench
    con = duckdb.connect(str(work / "base-20000" / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT COUNT(*), MAX(transaction_id) FROM fact_bank_transaction").fetchone() == (
            20_000,
            "TXN-00020000",
        )
        assert con.execute("SELECT COUNT(*) FROM fact_loan_application").fetchone() == (100,)
    finally:
        con.close()
    again = run_incremental([20_000], file_rows=1_000, keep=False, workdir=work)
    assert [r.build_seconds for r in again.sizes] == [0.0]  # reused
    assert not list(work.glob("base-*"))  # not kept this time
    text = "\n".join(format_incremental(first))
    assert "a 1,000-row bank-statement file" in text and "      20,000" in text and "kept in" in text


def test_incremental_command_prints_json_and_refuses_bad_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = typer.Typer()
    app.command("bench")(bench_command)
    app.command("noop")(lambda: None)
    outcome = CliRunner().invoke(
        app, ["bench", "--incremental", "--sizes", "0", "--file-rows", "500", "--json"]
    )
    assert outcome.exit_code == 0, outcome.output
    data = json.loads(outcome.stdout)
    assert data["file_rows"] == 500 and [s["base_rows"] for s in data["sizes"]] == [0]
    assert not list(tmp_path.iterdir())
    refused = CliRunner().invoke(app, ["bench", "--incremental", "--sizes", "0,lots"])
    assert refused.exit_code == 2 and "--sizes takes whole numbers" in refused.output


def test_startup_times_each_command_as_a_process_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.cli.bench import format_startup
    from etl.tools.bench.startup import TARGETS, run_startup

    monkeypatch.setenv("ETL_WAREHOUSE_URL", "duckdb:///elsewhere.duckdb")  # the bench names its own
    result = run_startup(repeat=2, workdir=tmp_path)

    assert list(result.commands) == [
        "python -c pass",
        "etl --help",
        "etl run (empty folder)",
        "etl run (one row per source, fresh warehouse)",
        "import etl.handler",
    ]
    assert [sorted(r) for r in result.runs] == [sorted(result.commands)] * 2
    for name, m in result.commands.items():
        assert m["seconds"] == min(r[name] for r in result.runs) and m["cpu_seconds"] > 0, name
    rss = {name: m["peak_rss_mb"] for name, m in result.commands.items()}
    # the interpreter alone < the CLI without pyarrow or DuckDB < a run that loads (both, and the schema)
    assert (
        rss["python -c pass"] < rss["etl --help"] < 100 < rss["etl run (one row per source, fresh warehouse)"]
    )
    assert rss["etl run (empty folder)"] < 100 and rss["import etl.handler"] < 100
    # the tiny run loaded one row of each source into its own fresh warehouse; the empty one made nothing
    con = duckdb.connect(str(tmp_path / "tiny" / "warehouse.duckdb"), read_only=True)
    try:
        counts = [
            con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()
            for t in ("fact_loan_application", "fact_bank_transaction", "fact_repayment")
        ]
        assert counts == [(1,)] * 3
    finally:
        con.close()
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["data"]  # no lake, no warehouse
    assert not (tmp_path / "tiny" / "elsewhere.duckdb").exists()
    assert json.loads(json.dumps(result.as_dict()))["targets"] == TARGETS
    text = "\n".join(format_startup(result))
    assert "best of 2 alternating rounds" in text and "etl --help" in text and "target 0.35 s: " in text
