"""The command line as a user runs it: a real `etl` process, its exit codes, its output, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.helpers import APP_HEADER, write

ETL = [sys.executable, "-m", "etl.cli"]


def etl(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    full_env.update(env or {})
    return subprocess.run([*ETL, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)


def test_run_defaults_to_data_lake_and_warehouse_duckdb_and_prints_a_summary(tmp_path: Path) -> None:
    write(
        tmp_path / "data",
        "loan_applications",
        "a.csv",
        APP_HEADER + "\nA1,C1,10.50,2023-01-01,700,Employed,100\n",
    )
    done = etl("run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "a.csv" in done.stdout and "loaded" in done.stdout
    assert "data tests:" in done.stdout and " 0 failed, 0 warnings" in done.stdout
    assert (tmp_path / "warehouse.duckdb").exists()
    assert list((tmp_path / "lake" / "curated" / "fact_loan_application").glob("*.parquet"))
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT SUM(loan_amount) FROM fact_loan_application").fetchone() == (
        pytest.approx(10.5),
    )
    con.close()


def test_json_report_and_exit_1_when_a_file_is_rejected(tmp_path: Path) -> None:
    write(
        tmp_path / "in",
        "loan_applications",
        "good.csv",
        APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n",
    )
    write(tmp_path / "in", "loan_applications", "bad.csv", "application_id\nA1\n")
    done = etl("run", "in", "--json", "--lake", "l", "--warehouse", "duckdb:///w.duckdb", cwd=tmp_path)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert files["good.csv"]["status"] == "loaded" and files["good.csv"]["rows_loaded"] == 1
    assert files["bad.csv"]["status"] == "rejected"
    assert files["bad.csv"]["error"].startswith(
        "missing required column(s) for loan_applications: customer_id"
    )
    assert set(files["good.csv"]) >= {
        "path",
        "source",
        "status",
        "rows_in",
        "rows_loaded",
        "rows_quarantined",
        "error",
    }
    assert report["exit_code"] == 1
    assert "Traceback" not in done.stderr


def test_environment_settings_apply_and_flags_win(tmp_path: Path) -> None:
    write(
        tmp_path / "data", "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n"
    )
    done = etl(
        "run",
        "--lake",
        "flag-lake",
        cwd=tmp_path,
        env={"ETL_LAKE": "env-lake", "ETL_WAREHOUSE_URL": "duckdb:///env.duckdb"},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "flag-lake").is_dir() and not (tmp_path / "env-lake").exists()
    assert (tmp_path / "env.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing-folder"], "no such file or folder: missing-folder"),
        (["run", "--source", "payslips"], "unknown source 'payslips'"),
        (["run", "--warehouse", "mysql://x"], "unsupported warehouse URL scheme 'mysql'"),
        (["run", "--bogus"], "error: No such option: --bogus (see `etl run --help`)"),
        (
            ["bench", "--rows", "0"],
            "error: Invalid value for '--rows': Input should be greater than or equal to 1",
        ),
        (["nosuch"], "error: No such command 'nosuch'. (see `etl --help`)"),
        (
            ["quarantine", "list", "--rule"],
            "error: Option '--rule' requires an argument. (see `etl quarantine list --help`)",
        ),
    ],
)
def test_usage_and_configuration_errors_exit_2_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "data").mkdir()
    done = etl(*args, cwd=tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()  # not Click's boxed usage panel
    assert message in line
    assert done.stdout == ""


def test_failed_error_data_test_exits_3(tmp_path: Path) -> None:
    write(
        tmp_path / "data", "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n"
    )
    assert etl("run", cwd=tmp_path).returncode == 0
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(
        "UPDATE fact_loan_application SET credit_score = 999"
    )  # corrupt the warehouse behind our back
    con.close()
    done = etl("quality", cwd=tmp_path)
    assert done.returncode == 3
    assert "range_fact_loan_application_credit_score" in done.stdout
    # A run tests what it changed: this one loads nothing (the file is a duplicate), and the whole suite ran
    # today already (`etl quality`), so it finds nothing; with ETL_DATA_TESTS=full every run tests it all.
    assert etl("run", cwd=tmp_path).returncode == 0
    rerun = etl("run", cwd=tmp_path, env={"ETL_DATA_TESTS": "full"})
    assert rerun.returncode == 3
    assert "error range_fact_loan_application_credit_score: 1 failing rows" in rerun.stdout


def test_a_locked_warehouse_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    write(
        tmp_path / "data", "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n"
    )
    (tmp_path / "warehouse.duckdb").write_text("not a database")
    done = etl("run", cwd=tmp_path)
    assert done.returncode == 2
    assert "cannot open DuckDB warehouse" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_warehouse_in_use_by_another_process_is_a_retryable_failure(tmp_path: Path) -> None:
    """Not a configuration error (exit 2, "retrying cannot help"): the same command works once the other ends."""
    write(
        tmp_path / "data", "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n"
    )
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect('warehouse.duckdb'); print(1, flush=True); sys.stdin.read()",
        ],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
        done = etl("run", cwd=tmp_path)
    finally:
        holder.communicate("")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: DuckDB warehouse warehouse.duckdb is in use by another process (PID {holder.pid}): "
        "run again when it has finished"
    )
    assert etl("run", cwd=tmp_path).returncode == 0


def test_files_that_are_not_csv_are_named_not_silently_left_out(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "loan_applications"
    write(
        tmp_path / "data", "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n"
    )
    (folder / "b.csv.gz").write_bytes(b"\x1f\x8b\x08\x00")
    (folder / "notes.txt").write_text("x")
    (folder / ".DS_Store").write_text("x")
    done = etl("run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        "note: 2 file(s) not loaded, only .csv files are: data/loan_applications/b.csv.gz, "
        "data/loan_applications/notes.txt; decompress .gz files first"
    )


def test_a_path_that_exists_but_is_no_file_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "loop.csv").symlink_to("loop.csv")
    done = etl("run", "loop.csv", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (2, "error: not a regular file or folder: loop.csv")


def test_a_lake_that_is_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    write(
        tmp_path / "data", "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n"
    )
    (tmp_path / "lakefile").write_text("x")
    done = etl("run", "--lake", "lakefile", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (2, "error: lake lakefile is a file, not a folder")


def test_an_empty_folder_warns_that_nothing_was_found(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("x")
    done = etl("run", cwd=tmp_path)
    assert done.returncode == 0
    assert "warning: no .csv file found in data" in done.stderr


@pytest.mark.parametrize("command", ["quality", "insights", "dashboard"])
def test_reading_commands_without_a_warehouse_say_so_and_create_nothing(tmp_path: Path, command: str) -> None:
    done = etl(command, cwd=tmp_path)
    assert done.returncode == 2
    assert "no warehouse at duckdb:///warehouse.duckdb: load one first with `etl run`" in done.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_generate_into_a_file_is_one_line_not_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    done = etl("generate", "--out", "taken", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (2, "error: cannot write to taken: Not a directory")


def test_files_of_the_same_name_are_told_apart_by_their_paths(tmp_path: Path) -> None:
    write(
        tmp_path / "data" / "jan",
        "loan_applications",
        "f.csv",
        APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n",
    )
    write(
        tmp_path / "data" / "feb",
        "loan_applications",
        "f.csv",
        APP_HEADER + "\nA2,C2,10,2023-02-01,700,Employed,1\n",
    )
    write(
        tmp_path / "data",
        "bank_statements",
        "[s].csv",
        "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\n",
    )
    done = etl("run", cwd=tmp_path, env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "data/feb/loan_applications/f.csv" in done.stdout
    assert "data/jan/loan_applications/f.csv" in done.stdout
    assert "│ [s].csv " in done.stdout  # a unique name stays short, and brackets are not markup


def test_brackets_in_paths_are_printed_as_they_are_not_as_markup(tmp_path: Path) -> None:
    # Rich reads [red] or [/a] as markup: a path with brackets was cut, restyled or a MarkupError traceback
    done = etl("quality", "--warehouse", f"duckdb:///{tmp_path}/[/a].duckdb", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: no warehouse at duckdb:///{tmp_path}/[/a].duckdb: load one first with `etl run`"
    ]
    write(
        tmp_path / "data", "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n"
    )
    assert etl("run", cwd=tmp_path).returncode == 0
    done = etl("dashboard", "--out", "[red]x.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "dashboard written to [red]x.html"
    assert (tmp_path / "[red]x.html").is_file()
    done = etl("generate", "--customers", "2", "--out", "[b]synthetic", cwd=tmp_path)
    assert done.returncode == 0 and "[b]synthetic" in done.stdout
    write(tmp_path / "m", "loan_applications", "m.csv", "a,[/x]\n1,2\n")
    done = etl("run", "m", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "(found: a, [/x])" in done.stdout.replace("\n", " ").replace("│", " ")


def test_an_unreadable_folder_is_an_error_not_an_empty_folder(tmp_path: Path) -> None:
    # root reads any folder: run the CLI without the capabilities that bypass file permissions
    write(
        tmp_path / "data" / "loan_applications",
        "sub",
        "a.csv",
        APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n",
    )
    sub = tmp_path / "data" / "loan_applications" / "sub"
    sub.chmod(0)
    try:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
        done = subprocess.run(
            ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *ETL, "run"],
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        sub.chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip()
        == f"error: cannot read folder {Path('data/loan_applications/sub')}: Permission denied"
    )
    assert not (tmp_path / "warehouse.duckdb").exists()


@pytest.mark.parametrize(
    ("lake", "message"),
    [
        ("", "the lake is empty: use a local folder or s3://bucket/prefix"),
        ("gs://bucket/x", "unsupported lake URL scheme 'gs': use a local folder or s3://bucket/prefix"),
        ("S3://", "lake 'S3://' names no bucket: use s3://bucket/prefix"),
    ],
)
def test_a_lake_that_is_no_folder_or_s3_location_is_refused_before_anything_is_written(
    tmp_path: Path, lake: str, message: str
) -> None:
    # an empty ETL_LAKE wrote curated/ into the current folder, gs://... made a local folder "gs:"
    write(
        tmp_path / "data", "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,10,2023-01-01,700,Employed,1\n"
    )
    done = etl("run", cwd=tmp_path, env={"ETL_LAKE": lake})
    assert (done.returncode, done.stderr.strip()) == (2, f"error: invalid setting lake: {message}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_an_uppercase_s3_scheme_is_the_s3_lake() -> None:
    from etl.settings import Settings

    assert Settings(lake="S3://bucket/lake").lake == "s3://bucket/lake"


def test_a_lake_that_is_a_file_is_refused_before_a_warehouse_is_created(tmp_path: Path) -> None:
    (tmp_path / "lakefile").write_text("x")
    done = etl("run", "--lake", "lakefile", cwd=tmp_path)
    assert done.returncode == 2 and not (tmp_path / "warehouse.duckdb").exists()


@pytest.mark.parametrize("command", ["run", "quality", "dashboard"])
def test_a_duckdb_url_with_options_is_refused(tmp_path: Path, command: str) -> None:
    (tmp_path / "data").mkdir()
    done = etl(command, "--warehouse", "duckdb:///x.duckdb?threads=1", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (
        2,
        "error: DuckDB warehouse URL 'duckdb:///x.duckdb?threads=1' takes no options: use duckdb:///warehouse.duckdb",
    )
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


@pytest.mark.parametrize("command", [["quarantine", "list"], ["quarantine", "replay"]])
def test_the_quarantine_of_a_lake_that_does_not_exist_is_an_error_not_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    done = etl(*command, "--lake", "typo-lake", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "error: no lake at typo-lake: load files with `etl run` first, or pass --lake",
    )


def test_docs_into_a_file_is_a_usage_error_like_generate(tmp_path: Path) -> None:
    (tmp_path / "docs").write_text("x")
    done = etl("docs", "--out", "docs", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (2, "error: cannot write to docs: File exists")


def test_etl_alone_prints_the_help_and_nothing_on_stderr(tmp_path: Path) -> None:
    done = etl(cwd=tmp_path)
    assert done.returncode == 2 and done.stderr == ""
    assert "Credit-risk ETL" in done.stdout and "run" in done.stdout


def test_no_help_text_loses_words_to_markup() -> None:
    # Rich reads `[name]` in a help text as a style tag and drops it: "the profile's [[extract]] entries"
    # printed as "the profile's [] entries". Every command's help, rendered as a user sees it.
    from typer.main import get_command
    from typer.testing import CliRunner

    from etl.cli import app

    root = get_command(app)
    paths: list[list[str]] = []
    for name, command in getattr(root, "commands", {}).items():
        paths.append([name])
        paths.extend([name, sub] for sub in getattr(command, "commands", {}))
    assert len(paths) >= 13
    runner = CliRunner()
    for path in paths:
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, (path, shown.output)
        assert "[]" not in shown.output, (path, [line for line in shown.output.splitlines() if "[]" in line])
    extract = runner.invoke(app, ["extract", "--help"], env={"COLUMNS": "200"}).output
    assert "the profile's [[extract]] entries" in extract
    assert "ETL_EXTRACT_OUT" in extract  # was "[env ETL_EXTRACT_OUT; default: data]": gone without a trace
    # and at the source: a '[' Rich may read as a tag must be escaped in every help text
    import re

    texts: list[tuple[str, str]] = []
    for name, command in getattr(root, "commands", {}).items():
        for cmd in [command, *getattr(command, "commands", {}).values()]:
            texts.append((name, cmd.help or ""))
            texts.extend((f"{name} {p.name}", getattr(p, "help", None) or "") for p in cmd.params)
    assert [where for where, text in texts if re.search(r"(?<!\\)\[", text)] == []
