"""NUL bytes in values: never loaded, quarantined as `invalid_text` with the column and a readable reason."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.contracts import BANK_STATEMENTS
from etl.extract.layout import HEAD_BYTES
from etl.normalize.validate import _has_nul, validate
from tests.helpers import make_env, write

H = "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance,channel"
GOOD = {
    "transaction_id": "T1",
    "customer_id": "C1",
    "transaction_date": "2023-01-01",
    "transaction_amount": "10.00",
    "narration": "SALARY",
    "balance": "10.00",
    "channel": "web",
}


def chunk(rows: list[dict[str, str]]) -> pa.Table:
    cols = {n: pa.array([r[n] for r in rows], pa.string()) for n in BANK_STATEMENTS.names if n in GOOD}
    cols["source_row"] = pa.array(range(2, len(rows) + 2), pa.int64())
    return pa.table(cols)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("customer_id", "C\x001", "customer_id 'C␀1' contains a NUL byte (shown as ␀), which is not text"),
        (
            "narration",
            "SAL\x00ARY",
            "narration 'SAL␀ARY' contains a NUL byte (shown as ␀), which is not text",
        ),
        ("narration", "\x00", "narration '␀' contains a NUL byte (shown as ␀), which is not text"),
        (
            "transaction_id",
            "T\x00",
            "transaction_id 'T␀' contains a NUL byte (shown as ␀), which is not text",
        ),
        (
            "transaction_amount",
            "10.00\x00",
            "transaction_amount '10.00␀' contains a NUL byte (shown as ␀), which is not text",
        ),
        ("channel", "w\x00eb", "channel 'w␀eb' contains a NUL byte (shown as ␀), which is not text"),
    ],
)
def test_a_value_with_a_nul_byte_is_quarantined_as_invalid_text(column: str, value: str, reason: str) -> None:
    result = validate(chunk([GOOD, {**GOOD, "transaction_id": "T2", column: value}, GOOD]), BANK_STATEMENTS)
    assert [r["source_row"] for r in result.valid.to_pylist()] == [2, 4]
    [bad] = result.quarantine.to_pylist()
    assert (bad["source_row"], bad["rule"], bad["column"], bad["reason"]) == (
        3,
        "invalid_text",
        column,
        reason,
    )
    assert bad[column] == value  # the original text is kept as it was


def test_the_first_column_with_a_nul_names_the_row() -> None:
    row = {**GOOD, "customer_id": "C\x001", "narration": "SAL\x00ARY"}
    [bad] = validate(chunk([row]), BANK_STATEMENTS).quarantine.to_pylist()
    assert (bad["rule"], bad["column"]) == ("invalid_text", "customer_id")


def test_the_nul_scan_only_sees_the_arrays_own_values() -> None:
    values = pa.array(["a\x00", "b", "c", "\x00"])
    assert _has_nul(values) and _has_nul(values.slice(3)) and _has_nul(values.slice(0, 1))
    assert not _has_nul(values.slice(1, 2))
    assert not _has_nul(pa.array(["", ""])) and not _has_nul(pa.nulls(3, pa.string()))


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_nul_rows_after_the_sniff_window_are_quarantined_end_to_end(
    tmp_path: Path, trailing_newline: bool
) -> None:
    env = make_env(tmp_path)
    body = [f"T{i},C1,2023-01-01,10.00,SALARY,10.00,web" for i in range(2000)]
    text = "\n".join(
        [
            H,
            *body,
            "X1,C\x001,2023-01-01,10.00,SALARY,10.00,web",
            "X2,C2,2023-01-01,10.00,SAL\x00ARY,10.00,web",
        ]
    )
    path = write(env.data, "bank_statements", "s.csv", text + ("\n" if trailing_newline else ""))
    assert path.read_bytes().index(b"\x00") > HEAD_BYTES
    [result] = env.run().files
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == (
        "loaded",
        2002,
        2000,
        2,
    )
    assert result.quarantine_uri is not None
    bad = pq.read_table(result.quarantine_uri).sort_by("source_row").to_pylist()
    assert [(q["source_row"], q["rule"], q["column"]) for q in bad] == [
        (2002, "invalid_text", "customer_id"),
        (2003, "invalid_text", "narration"),
    ]
    assert env.scalar("SELECT COUNT(*) FROM fact_bank_transaction") == 2000
    # nothing with a NUL reached the warehouse
    assert env.scalar("SELECT COUNT(*) FROM fact_bank_transaction WHERE transaction_id LIKE 'X%'") == 0
