"""Rows set aside after staging (in-file duplicates, key conflicts): the staged fact is rewritten without
them a row group at a time, and they join the staged quarantine with their reasons."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.contracts import BANK_STATEMENTS
from etl.model import schema
from etl.model.parquet import QUARANTINE_OPTIONS, fact_parquet_options
from etl.normalize.rejects import QuarantineContext, SetAside, set_aside, stored_schema

SPEC = schema.TABLES[BANK_STATEMENTS.fact_table]
CTX = QuarantineContext("f" * 64, "data/bank_statements/s.csv", "run-1", datetime(2026, 12, 7, 9, 0))


def _facts(lines: range) -> pa.Table:
    n = len(lines)
    values = {
        "transaction_id": [f"T{i}" for i in lines],
        "customer_key": [7] * n,
        "transaction_date_key": [20230115] * n,
        "category_key": [3] * n,
        "transaction_amount": [Decimal(f"-{i}.25") for i in lines],
        "direction": ["debit"] * n,
        "balance": [Decimal("100.00")] * n,
        "narration": [f"POS {i}" for i in lines],
        "channel": [None] * n,
        "merchant": [None] * n,
        "attributes": [None] * n,
        "source_file_id": ["f" * 64] * n,
        "source_row": list(lines),
        "loaded_at": [datetime(2026, 12, 7, 9, 0)] * n,
    }
    return pa.table(values, schema=SPEC.arrow_schema)


def _reason(taken: pa.Table) -> pa.Array:
    return pc.binary_join_element_wise(
        "line ", pc.cast(taken.column("source_row"), pa.string()), " set aside", ""
    )


def _set_aside(staged: Path, lines: list[int], quarantine: Path, work: Path) -> Path:
    why = SetAside("duplicate_key", "transaction_id", _reason)
    options = fact_parquet_options(SPEC)
    return set_aside(
        staged,
        pa.array(lines, pa.int64()),
        why,
        BANK_STATEMENTS,
        CTX,
        quarantine,
        work,
        fact_options=options,
        quarantine_options=QUARANTINE_OPTIONS,
    )


def test_rows_are_set_aside_from_any_row_group_and_the_rest_keep_their_order(tmp_path: Path) -> None:
    options = fact_parquet_options(SPEC)
    staged, quarantine = tmp_path / "fact.parquet", tmp_path / "quarantine.parquet"
    with pq.ParquetWriter(staged, SPEC.arrow_schema, **options) as out:
        for lines in (range(2, 6), range(6, 10), range(10, 14)):  # a row group per chunk, as staging writes
            out.write_table(_facts(lines))
    pq.write_table(stored_schema(BANK_STATEMENTS).empty_table(), quarantine, **QUARANTINE_OPTIONS)

    kept = _set_aside(staged, [3, 12, 13], quarantine, tmp_path)

    left = pq.ParquetFile(kept)
    assert left.metadata.num_row_groups == 3
    # the file a plain write makes: the same Parquet schema and the same Arrow schema stored for readers
    # (the dictionary-encoded text columns are rewritten from their dictionaries)
    assert str(left.schema).split("\n")[1:] == str(pq.ParquetFile(staged).schema).split("\n")[1:]
    assert left.metadata.metadata == pq.ParquetFile(staged).metadata.metadata
    assert left.schema_arrow == SPEC.arrow_schema
    assert left.read().column("narration").type == pa.string()
    assert left.read().column("source_row").to_pylist() == [2, 4, 5, 6, 7, 8, 9, 10, 11]
    assert sum(left.read().column("transaction_amount").to_pylist(), Decimal(0)) == Decimal("-64.25")
    moved = pq.read_table(quarantine).to_pylist()
    assert [(r["source_row"], r["rule"], r["column"], r["reason"]) for r in moved] == [
        (3, "duplicate_key", "transaction_id", "line 3 set aside"),
        (12, "duplicate_key", "transaction_id", "line 12 set aside"),
        (13, "duplicate_key", "transaction_id", "line 13 set aside"),
    ]
    first = moved[0]
    assert (first["transaction_id"], first["transaction_amount"], first["file_id"]) == (
        "T3",
        "-3.25",
        "f" * 64,
    )


def test_nothing_to_set_aside_leaves_the_rows_and_the_quarantine_as_they_were(tmp_path: Path) -> None:
    options = fact_parquet_options(SPEC)
    staged, quarantine = tmp_path / "fact.parquet", tmp_path / "quarantine.parquet"
    pq.write_table(_facts(range(2, 6)), staged, **options)
    pq.write_table(stored_schema(BANK_STATEMENTS).empty_table(), quarantine, **QUARANTINE_OPTIONS)
    for lines in ([99], []):
        kept = _set_aside(staged, lines, quarantine, tmp_path)
        assert pq.read_table(kept).column("source_row").to_pylist() == [2, 3, 4, 5]
        assert pq.read_table(quarantine).num_rows == 0


def test_the_duplicate_check_runs_with_half_the_duckdb_cap() -> None:
    import duckdb

    from etl.normalize.duplicates import _halve_memory_limit

    for given, halved in (
        ("128MB", "61.0 MiB"),
        ("1GB", "476.7 MiB"),
        ("256MiB", "128.0 MiB"),
        ("8MB", "16.0 MiB"),
    ):
        con = duckdb.connect(":memory:", config={"memory_limit": given})
        try:
            _halve_memory_limit(con)
            assert con.execute("SELECT current_setting('memory_limit')").fetchall() == [(halved,)], given
        finally:
            con.close()
