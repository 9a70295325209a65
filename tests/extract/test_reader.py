from __future__ import annotations

import io

import pytest

from etl.contracts import BANK_STATEMENTS, LOAN_APPLICATIONS
from etl.errors import FileRejected
from etl.extract.identity import fingerprint
from etl.extract.layout import HEAD_BYTES, sniff_layout
from etl.extract.reader import iter_chunks

APP = "application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income"


def layout_of(data: bytes, contract=LOAN_APPLICATIONS):  # type: ignore[no-untyped-def]
    return sniff_layout(data[:HEAD_BYTES], len(data), contract)


def read_all(data: bytes, contract=LOAN_APPLICATIONS, block_size: int = 1 << 20):  # type: ignore[no-untyped-def]
    layout = layout_of(data, contract)
    rows, malformed, blanks = [], [], 0
    for table, bad, blank in iter_chunks(io.BytesIO(data), layout, block_size=block_size):
        rows.extend(table.to_pylist())
        malformed.extend(bad)
        blanks += blank
    return rows, malformed, blanks


def test_fingerprint_is_content_sha256() -> None:
    digest, size, head = fingerprint(io.BytesIO(b"abc"))
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert (size, head) == (3, b"abc")
    data = bytes(range(256)) * 1000
    assert fingerprint(io.BytesIO(data), chunk=1000)[1:] == (len(data), data[:HEAD_BYTES])


@pytest.mark.parametrize(
    "header",
    [
        "Application ID,Customer ID,Loan Amount,Loan Application Date,Credit Score,Employment Status,Annual Income",
        " APPLICATION_ID , CUSTOMER_ID ,LOAN_AMOUNT,LOAN_APPLICATION_DATE,CREDIT_SCORE,EMPLOYMENT_STATUS,ANNUAL_INCOME",
        "Application_ID,Customer_ID,Loan_Amount,Loan_Application_Date,Credit_Score,Employment_Status,Annual_Income",
    ],
)
def test_header_variants_are_the_same_columns(header: str) -> None:
    layout = layout_of(f"{header}\nA1,C1,10,2023-01-01,700,Employed,5\n".encode())
    assert layout.columns == LOAN_APPLICATIONS.required


def test_bom_and_crlf() -> None:
    data = (
        "\ufeff" + APP + "\r\nA1,C1,10,2023-01-01,700,Employed,5\r\nA2,C2,11,2023-01-02,701,Employed,6\r\n"
    ).encode()
    rows, malformed, blanks = read_all(data)
    assert [r["application_id"] for r in rows] == ["A1", "A2"]
    assert [r["annual_income"] for r in rows] == ["5", "6"]  # no stray \r
    assert [r["source_row"] for r in rows] == [2, 3]
    assert (malformed, blanks) == ([], 0)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_detected(delimiter: str) -> None:
    text = (
        APP.replace(",", delimiter)
        + "\n"
        + delimiter.join(["A1", "C1", "1,5", "2023-01-01", "700", "x", "5"])
    )
    rows, _, _ = read_all(text.encode())
    assert rows[0]["loan_amount"] == "1,5"


def test_utf16_with_bom_is_decoded() -> None:
    data = (APP + "\nA1,C1,10,2023-01-01,700,Employed,5\nA2,Cé,10,2023-01-01,700,Employed,5\n").encode(
        "utf-16"
    )
    rows, _, _ = read_all(data)
    assert [r["customer_id"] for r in rows] == ["C1", "Cé"]


def test_latin1_is_rejected_clearly() -> None:
    data = (APP + "\nA1,Café,10,2023-01-01,700,Employed,5\n").encode("latin-1")
    with pytest.raises(
        FileRejected, match=r"not UTF-8 text: invalid byte 0xe9 at offset \d+; save the file as UTF-8"
    ):
        layout_of(data)


def test_invalid_utf8_after_the_head_is_rejected_clearly() -> None:
    body = ("A1,C1,10,2023-01-01,700,Employed,5\n" * 3000).encode()
    data = (APP + "\n").encode() + body + b"A9,\xff\xfe,10,2023-01-01,700,Employed,5\n"
    assert len(data) > HEAD_BYTES
    with pytest.raises(FileRejected, match="not UTF-8 text"):
        read_all(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file (0 bytes)"),
        (b"\n\nA1,C1\n", "no header row: the first line is blank"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (
            b"application_id,customer_id,loan_amount\nA1,C1,5\n",
            "missing required column(s) for loan_applications: loan_application_date, credit_score, "
            "employment_status, annual_income (found: application_id, customer_id, loan_amount)",
        ),
        ((APP + ",Loan Amount\n").encode(), "duplicate column(s) after header normalisation: loan_amount"),
    ],
)
def test_whole_file_rejections(data: bytes, message: str) -> None:
    with pytest.raises(FileRejected) as caught:
        layout_of(data)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_header_longer_than_the_head_is_rejected_not_cut() -> None:
    # Its names past 64 KiB are not in the head: the layout would have too few columns, and every row
    # would be quarantined as malformed (or a required column reported missing though it is there).
    header = APP + "," + ",".join(f"extra_{i}" for i in range(HEAD_BYTES // 8))
    data = (header + "\nA1,C1,10,2023-01-01,700,Employed,5" + "," * (HEAD_BYTES // 8) + "\n").encode()
    with pytest.raises(FileRejected) as caught:
        layout_of(data)
    assert str(caught.value) == (
        "the header row (line 1) is 64 KiB or longer; "
        "these sources have a few dozen columns at most: is this the right file?"
    )


def test_a_header_only_file_of_exactly_the_head_size_still_loads() -> None:
    header = APP + ",note_" + "x" * (HEAD_BYTES - len(APP) - 6)
    assert len(header) == HEAD_BYTES
    rows, malformed, blanks = read_all(header.encode())
    assert (rows, malformed, blanks) == ([], [], 0)


def test_header_only_file_has_no_rows() -> None:
    rows, malformed, blanks = read_all((APP + "\r\n").encode())
    assert (rows, malformed, blanks) == ([], [], 0)


def test_line_numbers_survive_quoted_newlines_blank_lines_and_malformed_rows() -> None:
    header = "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance,note"
    data = (
        (
            header + "\n"
            'T1,C1,2023-01-01,-5.00,"POS, ""SHOPRITE""\nLEKKI",10.00,x\n'  # lines 2-3
            "\n"  # line 4: blank
            "T2,C1,2023-01-02\n"  # line 5: malformed
            'T3,C1,2023-01-03,7.00,SALARY,17.00,"two\nline\nnote"\n'  # lines 6-8
            "T4,C1,2023-01-04,-1.00,Ọ̀yọ́ café,16.00,z\n"  # line 9
            "T5,C2\n"  # line 10: malformed
        ).encode()
    )
    for block_size in (128, 1 << 20):  # chunk boundaries must not move line numbers
        rows, malformed, blanks = read_all(data, BANK_STATEMENTS, block_size=block_size)
        assert [(r["transaction_id"], r["source_row"]) for r in rows] == [("T1", 2), ("T3", 6), ("T4", 9)]
        assert rows[0]["narration"] == 'POS, "SHOPRITE"\nLEKKI'
        assert rows[2]["narration"] == "Ọ̀yọ́ café"
        assert [(m.line, m.text, m.reason) for m in malformed] == [
            (5, "T2,C1,2023-01-02", "expected 7 fields, found 3"),
            (10, "T5,C2", "expected 7 fields, found 2"),
        ]
        assert blanks == 1


def test_lines_of_only_whitespace_and_delimiters_are_blank_whatever_their_field_count() -> None:
    header = "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance"
    data = (
        (
            header + "\r\n"
            "T1,C1,2023-01-01,-5.00,POS,1.00\r\n"  # line 2
            "   \r\n"  # 3: one field of spaces
            ",,\r\n"  # 4: three empty fields
            " , , , , , \r\n"  # 5: six fields, all spaces
            "\t,,,,,,,,\r\n"  # 6: too many fields, none with a value
            ', "x" ,\r\n'  # 7: a value: malformed
            "T2,C1,2023-01-02,-1.00,POS,0.00\r\n"  # 8
            "  "  # 9: spaces without a final line break
        ).encode()
    )
    for block_size in (128, 1 << 20):  # 128: the header and a record or two per block
        rows, malformed, blanks = read_all(data, BANK_STATEMENTS, block_size=block_size)
        assert [(r["transaction_id"], r["source_row"]) for r in rows] == [("T1", 2), ("T2", 8)]
        assert [(m.line, m.text, m.reason) for m in malformed] == [
            (7, ', "x" ,', "expected 6 fields, found 3")
        ]
        assert blanks == 5


def test_carriage_return_only_line_endings_keep_rows_and_line_numbers() -> None:
    header = "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance"
    data = (header + '\rT1,C1,2023-01-01,-5.00,"two\rlines",1.00\rT2,C1,2023-01-02,-1.00,POS,0.00\r').encode()
    rows, malformed, blanks = read_all(data, BANK_STATEMENTS)
    assert [(r["transaction_id"], r["source_row"]) for r in rows] == [("T1", 2), ("T2", 4)]
    assert rows[0]["narration"] == "two\rlines"
    assert (malformed, blanks) == ([], 0)


def test_a_quoted_crlf_split_by_a_read_block_keeps_its_value_and_the_line_numbers() -> None:
    # pyarrow 25 loses the \n of a quoted CRLF that straddles two read blocks (apache/arrow#51368)
    header = "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\r\n"
    for pad in range(0, 140):
        data = (
            header
            + f'T1,C1,2023-01-01,-5.00,"{"p" * pad}",1.00\r\n'
            + 'T2,C1,2023-01-02,-1.00,"x\r\ny",0.00\r\n'
            + "T3,C1,2023-01-03,-1.00,after,0.00\r\n"
        ).encode()
        rows, _, _ = read_all(data, BANK_STATEMENTS, block_size=128)
        assert [(r["transaction_id"], r["narration"][-4:], r["source_row"]) for r in rows] == [
            ("T1", ("p" * pad)[-4:], 2),
            ("T2", "x\r\ny", 3),
            ("T3", "fter", 5),
        ], pad


class _ReadOnly:
    """A stream with `read` only (as some S3 bodies are), returning at most `most` bytes per call."""

    def __init__(self, data: bytes, most: int) -> None:
        self.inner, self.most = io.BytesIO(data), most

    def read(self, n: int = -1) -> bytes:
        return self.inner.read(min(n, self.most) if n >= 0 else self.most)


@pytest.mark.parametrize("most", [100, 129, 1 << 20])  # pyarrow needs the header in its first read
def test_streams_without_readinto_and_short_reads_give_the_same_rows(most: int) -> None:
    header = "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance\r\n"
    data = (
        header
        + "".join(f'T{i},C1,2023-01-01,-5.00,"{"p" * i}\r\nq",1.00\r\n' for i in range(60))
        + "\r\nT99,C1,2023-01-03,-1.00,after,0.00\r\n"
    ).encode()
    expected = read_all(data, BANK_STATEMENTS, block_size=128)
    layout = layout_of(data, BANK_STATEMENTS)
    rows, blanks = [], 0
    for table, _, blank in iter_chunks(_ReadOnly(data, most), layout, block_size=128):  # type: ignore[arg-type]
        rows.extend(table.to_pylist())
        blanks += blank
    assert (rows, blanks) == (expected[0], expected[2])
    assert len(rows) == 61 and blanks == 1
    assert rows[59]["narration"] == "p" * 59 + "\r\nq" and rows[60]["source_row"] == 2 + 60 * 2 + 1
