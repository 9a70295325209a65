"""The header is one CSV record whatever its physical lines, and no line of a file can pass for the reader's
internal end-of-file marker: every record is loaded, quarantined or counted blank, on the lines it has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from etl.cli import app
from etl.extract.layout import HEAD_BYTES
from etl.extract.reader import END_MARK
from tests.helpers import STMT_HEADER, write

ROW = "T{i},C1,2023-01-01,-{i}.00,POS {i},100.00"


def _run(tmp_path: Path, text: str | bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`etl run --json` on one bank-statement file: its report, and its quarantined rows by line."""
    write(tmp_path / "data", "bank_statements", "s.csv", text)
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(tmp_path / "data"),
            "--lake",
            str(tmp_path / "lake"),
            "--warehouse",
            f"duckdb:///{tmp_path / 'w.duckdb'}",
            "--json",
        ],
    )
    [report] = json.loads(result.stdout)["files"]
    uri = report["quarantine_uri"]
    rows = pq.read_table(uri).sort_by("source_row").to_pylist() if uri else []
    return report, rows


def _counts(report: dict[str, Any]) -> tuple[Any, ...]:
    return report["status"], report["rows_in"], report["rows_loaded"], report["rows_quarantined"]


def _rows(n: int) -> list[str]:
    return [ROW.format(i=i) for i in range(1, n + 1)]


# ---- no line can pass for the end-of-file marker ----------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
@pytest.mark.parametrize("where", ["middle", "last line"])
def test_a_line_that_reads_like_the_end_of_file_marker_is_a_record_like_any_other(
    tmp_path: Path, where: str, ending: str
) -> None:
    body = _rows(2000)
    lines = [STMT_HEADER, *body, END_MARK, "T9999,C1,2023-01-01,-1.00,POS,1.00"]
    if where == "last line":
        lines = lines[:-1]
    text = (ending or "\n").join(lines) + ending
    assert text.encode().index(b"\x00") > HEAD_BYTES  # past the sniffed head: a row, not a binary file
    report, bad = _run(tmp_path, text)
    loaded = 2000 + (where == "middle")
    assert _counts(report) == ("loaded", loaded + 1, loaded, 1)  # 2,002 records are 2,002, not 2,001
    assert [(r["source_row"], r["rule"], r["raw_line"]) for r in bad] == [(2002, "malformed_row", END_MARK)]
    assert bad[0]["reason"] == "expected 6 fields, found 1; the line holds a NUL byte"


def test_a_malformed_line_holding_the_marker_keeps_its_text(tmp_path: Path) -> None:
    line = f"X1,{END_MARK}"
    report, bad = _run(
        tmp_path, "\n".join([STMT_HEADER, *_rows(2000), line, "T9999,C1,2023-01-01,-1.00,POS,1.00"])
    )
    assert _counts(report) == ("loaded", 2002, 2001, 1)
    assert [(r["source_row"], r["raw_line"]) for r in bad] == [(2002, line)]


def test_a_quote_never_closed_is_still_found_at_the_end_of_the_file(tmp_path: Path) -> None:
    report, bad = _run(
        tmp_path, f'{STMT_HEADER}\nT1,C1,2023-01-01,-1.00,POS,1.00\nT2,C1,2023-01-01,-2.00,"POS,2.00\n'
    )
    assert _counts(report) == ("loaded", 2, 1, 1)
    assert [(r["source_row"], r["raw_line"]) for r in bad] == [(3, 'T2,C1,2023-01-01,-2.00,"POS,2.00')]
    assert "unterminated quote in column narration opened on line 3" in bad[0]["reason"]


# ---- the header is one record ----------------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_header_cell_with_a_quoted_line_break_is_one_header_and_lines_are_counted_after_it(
    tmp_path: Path, newline: str
) -> None:
    """Excel writes a wrapped header cell ("Transaction ID" on two lines) as a quoted value with a break."""
    header = f'"Transaction{newline}ID",customer_id,"transaction{newline}{newline}date",transaction_amount,narration,balance'
    text = (
        newline.join([header, "T1,C1,2023-01-01,-1.00,POS,1.00", "T2,C1,2023-13-01,-2.00,POS,2.00"]) + newline
    )
    report, bad = _run(tmp_path, text)
    assert _counts(report) == ("loaded", 2, 1, 1)  # rows_in is 2: no piece of the header is a row
    assert [(r["source_row"], r["rule"]) for r in bad] == [(6, "invalid_date")]  # header lines 1-4, T1 on 5


def test_a_header_only_file_with_a_wrapped_header_cell_loads_no_rows(tmp_path: Path) -> None:
    report, bad = _run(
        tmp_path, '"transaction\nid",customer_id,transaction_date,transaction_amount,narration,balance'
    )
    assert _counts(report) == ("loaded", 0, 0, 0) and bad == []


def test_a_quote_never_closed_in_the_header_rejects_the_file_with_one_line(tmp_path: Path) -> None:
    report, _ = _run(tmp_path, f'"transaction_id,{STMT_HEADER[15:]}\nT1,C1,2023-01-01,-1.00,POS,1.00\n')
    assert _counts(report) == ("rejected", 0, 0, 0)
    assert report["error"] == (
        "unreadable header row: a quote opened in it is never closed, so it takes in the whole file; "
        "close the quote and load the file again"
    )


def test_the_delimiter_is_the_one_that_splits_the_header_record_into_most_fields(tmp_path: Path) -> None:
    """A quoted header cell may hold another delimiter, and a line break: the first physical line holds no
    delimiter at all, yet `;` splits the header record into most fields."""
    header = '"transaction\nid";customer_id;transaction_date;transaction_amount;narration;balance;"a, b"'
    report, _ = _run(tmp_path, f"{header}\nT1;C1;2023-01-01;-1.00;POS, CARD;1.00;x\n")
    assert _counts(report) == ("loaded", 1, 1, 0)
