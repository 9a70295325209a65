"""Quarantined rows as the lake keeps them: the contract's rule, column and reason, the original text of
every column, the raw line of a malformed record, and where and when the row was quarantined.

Masked columns (`Column.masked`, with masking on) are masked here, and so is the raw line of a source
that has one, so nothing the contract hides is stored in the quarantine either.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.contracts import SourceContract
from etl.extract.reader import MalformedRow
from etl.normalize.validate import quarantine_schema

QUARANTINE_META = [
    pa.field("file_id", pa.string()),
    pa.field("source_uri", pa.string()),
    pa.field("run_id", pa.string()),
    pa.field("quarantined_at", pa.timestamp("us")),
]


@dataclass(frozen=True)
class QuarantineContext:
    """Where and when the rows of one file are quarantined, and whether masked columns are masked."""

    file_id: str
    uri: str
    run_id: str
    at: datetime
    mask: bool = False


def stored_schema(contract: SourceContract) -> pa.Schema:
    """The schema of a quarantine Parquet file: the validator's columns, then where and when."""
    return pa.schema([*quarantine_schema(contract), *QUARANTINE_META])


def malformed_table(rows: list[MalformedRow], contract: SourceContract) -> pa.Table:
    """Records the reader could not split into the header's fields, as quarantined rows (`malformed_row`)."""
    n = len(rows)
    q = quarantine_schema(contract)
    columns: dict[str, Any] = {f.name: pa.nulls(n, f.type) for f in q}
    columns["source_row"] = pa.array([r.line for r in rows], pa.int64())
    columns["rule"] = pa.repeat(pa.scalar("malformed_row", pa.string()), n)
    columns["reason"] = pa.array([r.reason for r in rows], pa.string())
    columns["raw_line"] = pa.array([r.text for r in rows], pa.string())
    return pa.table(columns, schema=q)


def to_store(bad: pa.Table, contract: SourceContract, ctx: QuarantineContext) -> pa.Table:
    """Quarantined rows (validator's schema) with masking applied and the file's lineage columns added."""
    n = bad.num_rows
    if ctx.mask and contract.masked_columns:
        for name in (*contract.masked_columns, "raw_line"):
            bad = bad.set_column(bad.schema.get_field_index(name), name, mask_text(bad.column(name)))
        reasons = _mask_quoted_values(bad.column("reason"), bad.column("column"), contract.masked_columns)
        bad = bad.set_column(bad.schema.get_field_index("reason"), "reason", reasons)
    meta = [
        pa.repeat(pa.scalar(ctx.file_id, pa.string()), n),
        pa.repeat(pa.scalar(ctx.uri, pa.string()), n),
        pa.repeat(pa.scalar(ctx.run_id, pa.string()), n),
        pa.repeat(pa.scalar(ctx.at, pa.timestamp("us")), n),
    ]
    return pa.Table.from_arrays([*bad.columns, *meta], schema=pa.schema([*bad.schema, *QUARANTINE_META]))


def _mask_quoted_values(
    reasons: pa.ChunkedArray, columns: pa.ChunkedArray, masked: tuple[str, ...]
) -> pa.Array | pa.ChunkedArray:
    """The reasons with the value they quote masked where the rule is about a masked column.

    A reason quotes a value as `<column> '<value>' <message>` (see `etl.normalize.validate`), and no
    message holds a quote: everything between the first quote and the last is the value, whatever quotes
    the value holds itself.
    """
    hit = pc.fill_null(pc.is_in(columns, value_set=pa.array(masked, pa.string())), False)
    if not pc.any(hit).as_py():
        return reasons
    texts = reasons.to_pylist()
    for i in pc.indices_nonzero(hit).to_pylist():
        text = texts[i]
        if text and (start := text.find("'")) < (end := text.rfind("'")):
            value = mask_text(pa.array([text[start + 1 : end]], pa.string()))[0].as_py()
            texts[i] = f"{text[: start + 1]}{value}{text[end:]}"
    return pa.array(texts, pa.string())


def mask_text(text: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Keep the shape of a narration for categorisation audits, hide names and numbers: letters -> x, digits -> 9."""
    masked = pc.replace_substring_regex(text, r"\d", "9")
    return pc.replace_substring_regex(masked, r"[^\W\d_]", "x")


@dataclass(frozen=True)
class SetAside:
    """Valid rows taken out of the facts into the quarantine: the rule and column they are quarantined
    under, and their reasons (built from the fact rows themselves, in the order given)."""

    rule: str
    column: str
    reason: Callable[[pa.Table], pa.Array]


def set_aside(
    fact_path: Path,
    source_rows: pa.Array | pa.ChunkedArray,
    why: SetAside,
    contract: SourceContract,
    ctx: QuarantineContext,
    quarantine_path: Path,
    work: Path,
    *,
    fact_options: dict[str, Any],
    quarantine_options: dict[str, Any],
) -> Path:
    """Move the fact rows at `source_rows` from the staged facts to the staged quarantine, under `why`.

    Returns the path of the fact rows that are left (written with `fact_options`, beside the others in
    `work`); the quarantine file at `quarantine_path` gains the moved rows, their values as text.
    """
    kept_path = work / f"fact.{why.rule}.parquet"
    moved: list[pa.Table] = []
    plain = pq.ParquetFile(fact_path).schema_arrow
    # The columns the writer dictionary-encodes are read as the dictionaries they are stored as and written
    # back from them: decoding them to text and hashing every value again was half the rewrite (1M rows:
    # 0.50-0.63 -> 0.38-0.40 s). The file is the same: its Parquet schema, and the Arrow schema stored in it
    # for readers, are those of a plain write (a stored dictionary type would make pyarrow read them back so).
    dictionary = fact_options.get("use_dictionary")
    encoded = [
        name
        for name in (dictionary if isinstance(dictionary, list) else [])
        if name in plain.names and pa.types.is_string(plain.field(name).type)
    ]
    source_file = pq.ParquetFile(fact_path, read_dictionary=encoded)
    with pq.ParquetWriter(
        kept_path, source_file.schema_arrow, **{**fact_options, "store_schema": False}
    ) as out:
        for table in _row_groups(source_file):
            chosen = pc.is_in(table.column("source_row"), value_set=source_rows)
            if pc.any(chosen).as_py():
                moved.append(table.filter(chosen).cast(plain))
                table = table.filter(pc.invert(chosen))
            out.write_table(table)
        out.add_key_value_metadata({"ARROW:schema": base64.b64encode(plain.serialize().to_pybytes())})
    taken = pa.concat_tables(moved) if moved else plain.empty_table()
    n = taken.num_rows
    originals = {
        c: (pc.cast(taken.column(c), pa.string()) if c in taken.column_names else pa.nulls(n, pa.string()))
        for c in contract.names
    }
    quarantined = pa.table(
        {
            "source_row": taken.column("source_row"),
            "rule": pa.repeat(pa.scalar(why.rule), n),
            "column": pa.repeat(pa.scalar(why.column), n),
            "reason": why.reason(taken),
            **originals,
            "raw_line": pa.nulls(n, pa.string()),
        },
        schema=quarantine_schema(contract),
    )
    merged = work / f"quarantine.{why.rule}.parquet"
    with pq.ParquetWriter(merged, stored_schema(contract), **quarantine_options) as out:
        if quarantine_path.exists():
            for batch in pq.ParquetFile(quarantine_path).iter_batches():
                out.write_batch(batch)
        out.write_table(to_store(quarantined, contract, ctx))
    merged.replace(quarantine_path)
    return kept_path


def _row_groups(source: pq.ParquetFile) -> Iterator[pa.Table]:
    """The file's row groups in order, the next one decoded on a helper thread while the caller writes this
    one: the rewrite of a 1M-row fact took 0.58 s decoding and encoding in turn, in batches of 250,000 rows
    that raised the run's peak RSS by 190 MiB; a row group at a time (a chunk's rows) holds two."""
    count = source.metadata.num_row_groups
    if not count:
        yield source.schema_arrow.empty_table()
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="etl-set-aside") as pool:
        ahead = pool.submit(source.read_row_group, 0)
        for index in range(count):
            table = ahead.result()
            if index + 1 < count:
                ahead = pool.submit(source.read_row_group, index + 1)
            yield table
