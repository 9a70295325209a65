"""Streaming: memory is bounded by the chunk size, not the file size."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from etl.extract.discover import discover
from etl.load.lake import LocalLake
from etl.load.warehouse import open_warehouse
from etl.pipeline import Pipeline
from etl.settings import Settings
from tests.helpers import STMT_HEADER, write


def statement_file(folder: Path, rows: int) -> Path:
    body = "\n".join(
        f"T{i:08d},C{i % 997:04d},2023-{1 + i % 12:02d}-{1 + i % 28:02d},{(-1) ** i * (i % 5000 + 0.25):.2f},"
        f"POS PURCHASE SHOPRITE LEKKI {i % 113},{i % 90000}.50"
        for i in range(rows)
    )
    return write(folder, "bank_statements", f"s{rows}.csv", STMT_HEADER + "\n" + body + "\n")


def peak_arrow_bytes(tmp: Path, path: Path) -> tuple[int, int]:
    settings = Settings(
        lake=str(tmp / "lake"), warehouse_url=f"duckdb:///{tmp / 'w.duckdb'}", chunk_bytes=1 << 18
    )
    peak = 0

    def sample(event: str, n: int) -> None:
        nonlocal peak
        if event == "rows":  # sampled after each chunk is validated and modelled, while its tables are alive
            peak = max(peak, pa.total_allocated_bytes())

    with open_warehouse(settings) as wh:
        pipeline = Pipeline(settings, LocalLake(settings.lake), wh, progress=sample)
        report = pipeline.run(discover([path]), with_tests=False)
    return peak, report.files[0].rows_loaded


def test_arrow_memory_does_not_grow_with_file_size(tmp_path: Path) -> None:
    small = statement_file(tmp_path / "small", 20_000)
    large = statement_file(tmp_path / "large", 200_000)  # 10x the rows, about 15 MB
    small_peak, small_rows = peak_arrow_bytes(tmp_path / "a", small)
    large_peak, large_rows = peak_arrow_bytes(tmp_path / "b", large)
    assert (small_rows, large_rows) == (20_000, 200_000)
    assert large.stat().st_size > 10 * (1 << 20)
    # a whole-file approach would hold > 15 MB of Arrow buffers; chunks of 256 KB keep the peak flat
    assert large_peak < 1.5 * small_peak + (2 << 20), (small_peak, large_peak)
    assert large_peak < 8 << 20


def _customers(ids: range) -> pa.Table:
    from etl.model.schema import FILE_CUSTOMERS

    return pa.table(
        {"customer_key": [i * 7 for i in ids], "customer_id": [f"C{i}" for i in ids]},
        schema=FILE_CUSTOMERS.arrow_schema,
    )


def test_a_files_customers_are_folded_as_chunks_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each chunk of a large file names most of its customers again: the tally keeps them once, so what it
    holds is bounded by the file's customers, not by its chunks."""
    import etl.pipeline

    monkeypatch.setattr(etl.pipeline, "COMPACT_CUSTOMERS_ROWS", 2_500)
    tally = etl.pipeline._Tally()
    for _ in range(60):  # the same 1,000 customers in every chunk, then 500 new ones in each of ten
        tally.add_customers(_customers(range(1_000)))
        assert sum(t.num_rows for t in tally.customers) <= 4_000
    for chunk in range(10):
        tally.add_customers(_customers(range(1_000 + 500 * chunk, 1_500 + 500 * chunk)))
    folded = tally.file_customers()
    assert folded.num_rows == 6_000 and len(set(folded.column("customer_id").to_pylist())) == 6_000
    assert sum(folded.column("customer_key").to_pylist()) == 7 * sum(range(6_000))
    assert folded.schema == etl.pipeline.schema.FILE_CUSTOMERS.arrow_schema
