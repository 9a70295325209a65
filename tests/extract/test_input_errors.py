"""Bad input at the reader: header-only files, NUL bytes, unclosed quotes and records longer than a block.

Each must give a one-line file rejection or a malformed row with an honest reason and its line, never a
pyarrow message, a traceback or a silent drop.
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from etl.contracts import BANK_STATEMENTS, CONTRACTS, LOAN_APPLICATIONS, REPAYMENTS, SourceName
from etl.errors import FileRejected
from etl.extract.layout import HEAD_BYTES, sniff_layout
from etl.extract.reader import READ_BLOCK, iter_chunks
from tests.extract.test_reader import read_all
from tests.helpers import make_env, write

H = "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance,channel"
GOOD = "T{i},C1,2023-01-01,10.00,SALARY,10.00,web"
HEADERS: dict[SourceName, str] = {
    "bank_statements": H,
    "loan_applications": ",".join(LOAN_APPLICATIONS.names),
    "repayments": ",".join(REPAYMENTS.required),
}


def good_lines(n: int, start: int = 0) -> list[str]:
    return [GOOD.format(i=i) for i in range(start, start + n)]


# ---- 1. header-only files -----------------------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(HEADERS))
@pytest.mark.parametrize("ending", ["", "\r", "\n", "\r\n"])
@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_a_header_only_file_has_no_rows_whatever_its_line_ending(
    source: SourceName, ending: str, bom: bytes
) -> None:
    data = bom + (HEADERS[source] + ending).encode()
    assert read_all(data, CONTRACTS[source]) == ([], [], 0)  # was: "Could not skip initial 1 rows"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
@pytest.mark.parametrize("ending", ["", "\r", "\r\n"])
def test_a_header_only_file_in_utf16_or_utf32_has_no_rows(encoding: str, ending: str) -> None:
    assert read_all((H + ending).encode(encoding), BANK_STATEMENTS) == ([], [], 0)


def test_a_single_data_line_without_a_line_break_after_the_header_still_loads() -> None:
    rows, malformed, blanks = read_all((H + "\n" + GOOD.format(i=1)).encode(), BANK_STATEMENTS)
    assert [(r["transaction_id"], r["source_row"]) for r in rows] == [("T1", 2)]
    assert (malformed, blanks) == ([], 0)


class _Trickle:
    """A stream with `read` only that hands over at most `most` bytes per call."""

    def __init__(self, data: bytes, most: int) -> None:
        self.inner, self.most = io.BytesIO(data), most

    def read(self, n: int = -1) -> bytes:
        return self.inner.read(min(n, self.most) if n >= 0 else self.most)


@pytest.mark.parametrize("most", [1, 7, 50])
def test_a_header_split_over_short_reads_is_still_read(most: int) -> None:
    # pyarrow needs the whole header line in its first block: short reads are joined into full blocks
    for data in ((H + "\r\n" + "\r\n".join(good_lines(3)) + "\r\n").encode(), H.encode()):
        layout = sniff_layout(data[:HEAD_BYTES], len(data), BANK_STATEMENTS)
        rows = [
            r
            for table, _, _ in iter_chunks(_Trickle(data, most), layout, block_size=128)  # type: ignore[arg-type]
            for r in table.to_pylist()
        ]
        assert [r["source_row"] for r in rows] == list(range(2, 2 + len(rows)))
        assert len(rows) == (3 if len(data) > len(H) else 0)


def test_a_header_longer_than_the_read_block_is_rejected_in_one_clear_line() -> None:
    data = (H + ',"' + "x" * 3000 + '"\n' + GOOD.format(i=1) + "\n").encode()
    with pytest.raises(FileRejected) as caught:
        read_all(data, BANK_STATEMENTS, block_size=1000)
    assert str(caught.value) == (
        "unreadable CSV: the header row (line 1) is longer than 1000 bytes, usually a quote that is never "
        "closed; close the quote (or shorten the value) and load the file again"
    )


# ---- 2. NUL bytes ---------------------------------------------------------------------------------------


def test_nul_bytes_in_the_sniffed_head_reject_the_file_with_a_utf8_bom_too() -> None:
    for bom in (b"", codecs.BOM_UTF8):
        data = bom + (H + "\nT1,C\x001,2023-01-01,10.00,SALARY,10.00,web\n").encode()
        with pytest.raises(FileRejected, match=r"^unreadable: binary data \(NUL bytes\), not CSV text$"):
            sniff_layout(data[:HEAD_BYTES], len(data), BANK_STATEMENTS)


def test_nul_bytes_after_the_head_reach_the_validator_with_their_line() -> None:
    lines = [
        H,
        *good_lines(2000),
        "X1,C\x001,2023-01-01,10.00,SAL\x00ARY,10.00,web",
        "X2,C1,2023-01-01,1.00,a,1.00,w",
    ]
    data = "\n".join(lines).encode()
    assert data.index(b"\x00") > HEAD_BYTES
    rows, malformed, _ = read_all(data, BANK_STATEMENTS)
    assert malformed == []
    assert [(r["customer_id"], r["narration"], r["source_row"]) for r in rows[-2:]] == [
        ("C\x001", "SAL\x00ARY", 2002),
        ("C1", "a", 2003),
    ]


def test_a_malformed_row_reason_uses_the_parsers_field_count_and_names_a_nul() -> None:
    # A long quoted value with a comma, one field short: Python's csv refused the long field and the
    # commas counted 7, so the reason said "expected 7 fields, found 7".
    short = 'X1,C1,2023-01-01,10.00,"SAL, ' + "A" * 200_000 + '",10.00'
    nul = "X2,C\x001,2023-01-01"
    data = "\n".join([H, *good_lines(2000), short, nul, GOOD.format(i=9999)]).encode()
    rows, malformed, _ = read_all(data, BANK_STATEMENTS)
    assert len(rows) == 2001 and rows[-1]["source_row"] == 2004
    assert [(m.line, m.reason) for m in malformed] == [
        (2002, "expected 7 fields, found 6"),
        (2003, "expected 7 fields, found 3; the line holds a NUL byte"),
    ]


# ---- 3. unterminated quotes ------------------------------------------------------------------------------


def test_an_unterminated_quote_says_where_it_opened_and_how_far_it_ran() -> None:
    lines = [H, *good_lines(999, start=1)]  # lines 1..1000
    lines[11] = 'T10,C1,2023-01-01,10.00,"OPEN QUOTE,10.00,web'  # line 12
    data = ("\n".join(lines) + "\n").encode()
    rows, malformed, blanks = read_all(data, BANK_STATEMENTS)
    assert [r["source_row"] for r in rows] == list(range(2, 12))
    [bad] = malformed
    assert bad.line == 12
    assert bad.reason == (
        "unterminated quote in column narration opened on line 12: the field runs over 989 lines to the end "
        "of the file (expected 7 fields, found 5)"
    )
    assert bad.text.startswith(lines[11] + "\n") and bad.text.endswith(lines[-1])
    assert len(rows) + len(malformed) + blanks == 11  # what the file holds as records: nothing dropped


def test_an_unterminated_quote_on_the_last_line_runs_over_its_line() -> None:
    data = "\n".join([H, GOOD.format(i=1), 'T2,C1,"2023-01-01,10.00,x,1.00,w']).encode()
    rows, malformed, _ = read_all(data, BANK_STATEMENTS)
    assert [r["source_row"] for r in rows] == [2]
    assert [(m.line, m.reason) for m in malformed] == [
        (
            3,
            "unterminated quote in column transaction_date opened on line 3: the field runs over its line "
            "to the end of the file (expected 7 fields, found 3)",
        )
    ]


def test_a_stray_quote_that_closes_later_says_which_lines_it_joined() -> None:
    lines = [
        H,
        GOOD.format(i=1),
        'T2,C1,2023-01-01,10.00,"OPEN,10.00,web',  # line 3: the quote closes on line 5
        GOOD.format(i=3),
        'T4,C1,2023-01-01,10.00,CLOSE",1,10.00,web',
        GOOD.format(i=5),  # line 6
    ]
    for block_size in (128, 1 << 20):
        rows, malformed, _ = read_all(("\r\n".join(lines) + "\r\n").encode(), BANK_STATEMENTS, block_size)
        assert [(r["transaction_id"], r["source_row"]) for r in rows] == [("T1", 2), ("T5", 6)]
        assert [(m.line, m.reason) for m in malformed] == [
            (3, "expected 7 fields, found 8: the quoted field in column narration runs from line 3 to line 5")
        ]


def test_a_quote_in_a_column_past_the_header_is_named_by_position() -> None:
    data = "\n".join([H, GOOD.format(i=1) + ',"extra', GOOD.format(i=2)]).encode()
    _, malformed, _ = read_all(data, BANK_STATEMENTS)
    assert [m.reason for m in malformed] == [
        "unterminated quote in column #8 (past the last header column) opened on line 2: the field runs over "
        "2 lines to the end of the file (expected 7 fields, found 8)"
    ]


# ---- 4. records longer than the read block ---------------------------------------------------------------


def _rejection(data: bytes, block_size: int = 4 << 20) -> str:
    with pytest.raises(FileRejected) as caught:
        read_all(data, BANK_STATEMENTS, block_size=block_size)
    message = str(caught.value)
    assert "\n" not in message and "straddl" not in message
    return message


def test_a_value_longer_than_the_read_block_rejects_the_file_naming_its_line() -> None:
    big = "T1,C1,2023-01-01,10.00," + "N" * 2_200_000 + ",10.00,web"
    data = "\n".join([H, *good_lines(100, start=2), big, GOOD.format(i=999)]).encode()
    assert _rejection(data) == (
        "unreadable CSV: the record starting on line 102 is longer than 1 MiB, usually a quote that is never "
        "closed; close the quote (or shorten the value) and load the file again"
    )
    assert READ_BLOCK == 1 << 20


def test_a_stray_quote_before_more_than_two_mib_rejects_the_file_naming_its_line() -> None:
    lines = [H, *good_lines(2000), 'X1,C1,2023-01-01,10.00,"STRAY,10.00,web', *good_lines(60_000, start=5000)]
    data = "\n".join(lines).encode()
    assert len(data) > 2 * READ_BLOCK
    assert "the record starting on line 2002 is longer than 1 MiB" in _rejection(data)


def test_the_line_of_a_long_record_counts_quoted_breaks_blank_lines_and_malformed_rows_before_it() -> None:
    before = (
        'T1,C1,2023-01-01,-5.00,"two\nlines",10.00,x\n'  # 2 lines
        "\n"  # blank
        "T2,C1\n"  # malformed
        'T3,C1,2023-01-03,7.00,"a\r\nb",17.00,z\n'  # 2 lines
    ) * 5
    for block_size in (128, 256, 1000):
        data = (H + "\n" + before + "T9,C1,2023-01-01,1.00," + "x" * 3000 + ",1.00,w\n").encode()
        assert f"the record starting on line {2 + 6 * 5} is longer than {block_size} bytes" in _rejection(
            data, block_size
        )


# ---- end to end ------------------------------------------------------------------------------------------


def test_header_only_files_without_a_line_break_load_with_0_rows_end_to_end(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    for source, header in HEADERS.items():
        write(env.data, source, "plain.csv", header)
        write(env.data, source, "bom-cr.csv", codecs.BOM_UTF8 + (header + "\r").encode())
    report = env.run()
    assert report.exit_code == 0
    assert sorted((f.source, f.status, f.rows_in, f.rows_loaded, f.error) for f in report.files) == sorted(
        (source, "loaded", 0, 0, None) for source in HEADERS for _ in range(2)
    )


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("last_break", [True, False])
@pytest.mark.parametrize("block_size", [256, 1 << 20])
def test_a_quote_never_closed_in_the_last_column_is_malformed_not_a_row_that_swallows_the_rest(
    ending: str, last_break: bool, block_size: int
) -> None:
    # The record keeps the header's field count, so pyarrow returned it as a valid row whose channel held
    # every later line: T11 and T12 were lost without a trace.
    lines = [H, *good_lines(10, start=1)]  # lines 1..11
    lines[10] = 'T10,C1,2023-01-01,10.00,"SALARY, MAY",10.00,"mobile'  # line 11
    lines += [GOOD.format(i=11), GOOD.format(i=12)]  # lines 12-13
    data = (ending.join(lines) + (ending if last_break else "")).encode()
    rows, malformed, blanks = read_all(data, BANK_STATEMENTS, block_size=block_size)
    assert [r["source_row"] for r in rows] == list(range(2, 11))
    assert blanks == 0
    [bad] = malformed
    assert bad.line == 11
    assert bad.text == ending.join(lines[10:])  # rebuilt from the fields; here the same text as the file's
    assert bad.reason == (
        "unterminated quote in column channel opened on line 11: the field runs over 3 lines to the end of the "
        "file (could not be split into 7 fields)"
    )


def test_a_quote_never_closed_in_an_ignored_last_column_is_malformed_too() -> None:
    lines = [H + ",note", GOOD.format(i=1) + ",ok", GOOD.format(i=2) + ',"open', GOOD.format(i=3) + ",x"]
    rows, malformed, _ = read_all("\n".join(lines).encode(), BANK_STATEMENTS)
    assert [r["transaction_id"] for r in rows] == ["T1"]
    assert [(m.line, m.text) for m in malformed] == [(3, "\n".join(lines[2:]))]


def test_a_file_ending_on_a_closed_quote_or_an_empty_last_field_loads_every_row() -> None:
    lines = [
        H,
        GOOD.format(i=1),
        'T2,C1,2023-01-01,10.00,SALARY,10.00,"two\nlines"',
        "T3,C1,2023-01-01,1,X,1,",
    ]
    for ending in ("\n", ""):
        rows, malformed, blanks = read_all(("\n".join(lines) + ending).encode(), BANK_STATEMENTS)
        assert [(r["transaction_id"], r["channel"], r["source_row"]) for r in rows] == [
            ("T1", "web", 2),
            ("T2", "two\nlines", 3),
            ("T3", "", 5),
        ]
        assert (malformed, blanks) == ([], 0)


def test_an_unterminated_quote_and_a_too_long_record_end_to_end(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    lines = [H, *good_lines(999, start=1)]
    lines[11] = 'T10,C1,2023-01-01,10.00,"OPEN QUOTE,10.00,web'
    write(env.data, "bank_statements", "quote.csv", "\n".join(lines) + "\n")
    big = [H, *good_lines(5, start=5000), "T1,C1,2023-01-01,10.00," + "N" * 2_200_000 + ",10.00,web"]
    write(env.data, "bank_statements", "long.csv", "\n".join(big) + "\n")
    files = {Path(f.path).name: f for f in env.run().files}
    quote, long = files["quote.csv"], files["long.csv"]
    assert (quote.status, quote.rows_in, quote.rows_loaded, quote.rows_quarantined) == ("loaded", 11, 10, 1)
    assert quote.quarantine_uri is not None
    [bad] = pq.read_table(quote.quarantine_uri).to_pylist()
    assert (bad["source_row"], bad["rule"]) == (12, "malformed_row")
    assert bad["reason"].startswith("unterminated quote in column narration opened on line 12: ")
    assert bad["raw_line"].count("\n") == 988
    assert (long.status, long.rows_in, long.rows_loaded) == ("rejected", 0, 0)
    assert long.error == (
        "unreadable CSV: the record starting on line 7 is longer than 1 MiB, usually a quote that is never "
        "closed; close the quote (or shorten the value) and load the file again"
    )


def _utf16_layout() -> object:
    from etl.extract.layout import CsvLayout

    return CsvLayout("utf-16-le", codecs.BOM_UTF16_LE, ",", ("a", "b", "c"), ("a", "b", "c"))


@pytest.mark.parametrize("pad", [1003, 1004, 1005, 1006])  # 1005: the quoted CR ends a 1024-byte block
def test_a_quoted_crlf_of_utf16_across_a_block_boundary_keeps_its_line_feed(pad: int) -> None:
    text = "a,b,c\n" + "p," + "q" * pad + ",r\n" + '1,"x\r\ny",z\n2,w,z\n'
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    rows = [
        (b, line)
        for table, _, _ in iter_chunks(io.BytesIO(data), _utf16_layout(), block_size=1024)  # type: ignore[arg-type]
        for b, line in zip(table.column("b").to_pylist(), table.column("source_row").to_pylist(), strict=True)
    ]
    assert rows[1:] == [("x\r\ny", 3), ("w", 5)]


def test_a_utf16_header_only_file_whose_last_character_holds_a_0x0a_byte_has_no_rows() -> None:
    data = codecs.BOM_UTF16_LE + "a,b,c\u010a".encode("utf-16-le")  # U+010A is the bytes 0A 01
    from etl.extract.layout import CsvLayout

    layout = CsvLayout("utf-16-le", codecs.BOM_UTF16_LE, ",", ("a", "b", "c\u010a"), ("a", "b"))
    assert sum(t.num_rows for t, _, _ in iter_chunks(io.BytesIO(data), layout, block_size=1024)) == 0


def test_a_utf16_file_that_stops_mid_character_is_rejected_in_one_line() -> None:
    data = codecs.BOM_UTF16_LE + "a,b,c\n1,2,3\n".encode("utf-16-le") + b"\x00"
    with pytest.raises(FileRejected) as raised:
        list(iter_chunks(io.BytesIO(data), _utf16_layout(), block_size=1024))  # type: ignore[arg-type]
    assert raised.value.message == "not UTF-16-LE text: truncated data at offset 26; save the file as UTF-8"


def test_a_lone_surrogate_across_a_raw_read_is_reported_at_its_offset() -> None:
    body = "a,b,c\n" + "x" * (READ_BLOCK // 2 - 8)  # the high surrogate: the last 2 bytes of a raw read
    data = codecs.BOM_UTF16_LE + body.encode("utf-16-le") + b"\x00\xd8" + "z,y\n".encode("utf-16-le")
    offset = len(codecs.BOM_UTF16_LE) + len(body) * 2
    assert offset == READ_BLOCK - 2
    with pytest.raises(FileRejected) as raised:
        list(iter_chunks(io.BytesIO(data), _utf16_layout(), block_size=1 << 20))  # type: ignore[arg-type]
    assert raised.value.message == (
        f"not UTF-16-LE text: illegal UTF-16 surrogate at offset {offset}; save the file as UTF-8"
    )
