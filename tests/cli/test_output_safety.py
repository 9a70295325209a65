"""What people see stays safe: masked narrations stay masked in quarantine reasons, and control characters from
file names or CSV values are shown escaped in every human output while JSON stays exact."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from etl.cli import app
from etl.extract.layout import HEAD_BYTES
from tests.helpers import STMT_HEADER, write

ESC = "\x1b"
CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home


def _good_rows(n: int) -> list[str]:
    return [f"T{i},C1,2023-01-01,10.00,POS PURCHASE {i},10.00" for i in range(n)]


def test_masked_narrations_stay_masked_in_quarantine_reasons_the_listing_and_the_csv(tmp_path: Path) -> None:
    lines = [STMT_HEADER, *_good_rows(1500), "X1,C1,2023-01-02,10.00,SALARY ACME LTD 1234\x00 'Q',10.00"]
    path = write(tmp_path / "data", "bank_statements", "s.csv", "\n".join(lines) + "\n")
    assert path.read_bytes().index(b"\x00") > HEAD_BYTES  # past the sniffed head: a row, not a binary file
    lake, masked = str(tmp_path / "lake"), {"ETL_MASK_NARRATION": "true"}
    runner = CliRunner(env=masked)
    run = runner.invoke(
        app,
        ["run", str(tmp_path / "data"), "--lake", lake, "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}"],
    )
    assert run.exit_code == 0, run.output

    [quarantine] = (tmp_path / "lake" / "quarantine" / "bank_statements").glob("*.parquet")
    [row] = pq.read_table(quarantine).to_pylist()
    assert (row["source_row"], row["rule"], row["column"]) == (1502, "invalid_text", "narration")
    assert row["narration"] == "xxxxxx xxxx xxx 9999\x00 'x'"
    assert (
        row["reason"]
        == "narration 'xxxxxx xxxx xxx 9999␀ 'x'' contains a NUL byte (shown as ␀), which is not text"
    )

    listing = runner.invoke(app, ["quarantine", "list", "--lake", lake, "--rows"])
    as_json = runner.invoke(app, ["quarantine", "list", "--lake", lake, "--rows", "--json"])
    exported = tmp_path / "rows.csv"
    runner.invoke(app, ["quarantine", "list", "--lake", lake, "--csv", str(exported)])
    assert "xxxxxx" in listing.stdout  # the table may cut the cell short
    assert json.loads(as_json.stdout)["rows"][0]["reason"] == row["reason"]
    assert "xxxxxx xxxx xxx 9999" in exported.read_text()
    for text in (
        listing.stdout,
        as_json.stdout,
        exported.read_text(),
        pq.read_table(quarantine).to_pandas().to_csv(),
    ):
        for secret in ("SALARY", "ACME", "LTD", "1234"):
            assert secret not in text


def test_control_characters_from_file_names_and_values_are_shown_escaped_and_json_stays_exact(
    tmp_path: Path,
) -> None:
    data, lake = tmp_path / "data", str(tmp_path / "lake")
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    name = f"{CLEAR}FAKE OK\x07.csv"  # a name that would clear the screen and ring the bell
    write(data, "bank_statements", name, f"{STMT_HEADER}\nT1,C1,2023-01-01,10.00,POS,10.00\n")
    write(
        data, "bank_statements", f"bad{ESC}[31m.csv", f"no,columns{ESC}[5m\n1,2\n"
    )  # rejected: error quotes it
    write(
        data, "bank_statements", f"v{ESC}.csv", f"{STMT_HEADER}\nT{CLEAR}9,C1,2023-01-01,oops\u202e,POS,1\n"
    )
    (data / "bank_statements" / f"notes{ESC}[8m.txt").write_text("not a csv")
    runner = CliRunner()

    run = runner.invoke(app, ["run", str(data), "--lake", lake, "--warehouse", warehouse])
    assert run.exit_code == 1, run.output  # the file without the columns is rejected
    listing = runner.invoke(app, ["quarantine", "list", "--lake", lake, "--rows"])
    for shown in (run.stdout, run.stderr, listing.stdout, listing.stderr):
        assert ESC not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b[2J\\x1b[HFAKE OK\\x07.csv" in run.stdout.replace("\n", "")  # the table may fold it
    assert "bad\\x1b[31m.csv" in run.stdout.replace("\n", "")
    assert "columns\\x1b[5m" in run.stdout.replace("\n", "")  # the rejection's reason quotes the header
    assert "notes\\x1b[8m.txt" in run.stderr  # the note on files that are not loaded
    # The table cuts cells short (15 columns in 160 characters since quarantine_state and merchant:
    # "T\\x1b[…", "oops\\u2…"): the escape is shown as text as far as the cell goes
    assert "T\\x1b[" in listing.stdout and "oops\\u2" in listing.stdout

    again = runner.invoke(app, ["run", str(data), "--lake", lake, "--warehouse", warehouse, "--json"])
    paths = sorted(Path(f["path"]).name for f in json.loads(again.stdout)["files"])
    assert paths == sorted([name, f"bad{ESC}[31m.csv", f"v{ESC}.csv"])  # exact, escaped by JSON itself
    rows = json.loads(runner.invoke(app, ["quarantine", "list", "--lake", lake, "--rows", "--json"]).stdout)[
        "rows"
    ]
    assert [(r["transaction_id"], r["transaction_amount"]) for r in rows] == [(f"T{CLEAR}9", "oops\u202e")]
    assert ESC not in again.stdout  # JSON escapes control characters itself
