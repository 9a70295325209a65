"""One file's rows staged as Parquet in its scratch folder: the fact rows and the quarantined rows, written
chunk by chunk as they are modelled; then the in-file duplicate rule settles which rows stand, and what
is left is published to the lake and loaded into the warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.contracts import SourceContract
from etl.load.ledger import quarantine_by_key
from etl.load.warehouse.base import HeldKey
from etl.model.parquet import QUARANTINE_OPTIONS, fact_parquet_options
from etl.model.schema import TableSpec
from etl.normalize.duplicates import drop_duplicates, find_duplicates
from etl.normalize.rejects import QuarantineContext, SetAside, set_aside, stored_schema


@dataclass(frozen=True)
class Staged:
    """A file's staged Parquet once its chunks are written and its duplicates settled."""

    fact_path: Path
    quarantine_path: Path
    duplicates: int  # valid rows quarantined as duplicate_key
    conflicts: int = 0  # valid rows quarantined as key_conflict (another logical file holds their key)


class Staging:
    """The two Parquet files of one file in `work`; a context manager that closes both writers."""

    def __init__(self, work: Path, spec: TableSpec, contract: SourceContract) -> None:
        self.work, self.contract = work, contract
        self.fact_path = work / "fact.parquet"
        self.quarantine_path = work / "quarantine.parquet"
        self.fact_options = fact_parquet_options(spec)
        self._facts = pq.ParquetWriter(self.fact_path, spec.arrow_schema, **self.fact_options)
        self._quarantine = pq.ParquetWriter(
            self.quarantine_path, stored_schema(contract), **QUARANTINE_OPTIONS
        )

    def write(self, fact: pa.Table, bad: pa.Table) -> None:
        """Append one chunk's fact rows and quarantined rows (already in the stored schema)."""
        self._facts.write_table(fact)
        if bad.num_rows:
            self._quarantine.write_table(bad)

    def finish(self, rejects: QuarantineContext, *, rows: int, memory_limit: str) -> Staged:
        """Apply the in-file duplicate rule to the written (closed) files: `rows` is the file's record count,
        `memory_limit` the DuckDB cap of the check."""
        dupes = find_duplicates(
            self.fact_path, self.quarantine_path, self.contract.key, self.work, memory_limit, rows
        )
        if not dupes.num_rows:
            return Staged(self.fact_path, self.quarantine_path, 0)
        kept = drop_duplicates(
            self.fact_path,
            dupes,
            self.contract,
            rejects,
            self.quarantine_path,
            self.work,
            fact_options=self.fact_options,
            quarantine_options=QUARANTINE_OPTIONS,
        )
        return Staged(kept, self.quarantine_path, dupes.num_rows)

    def set_aside_conflicts(
        self,
        staged: Staged,
        conflicts: list[HeldKey],
        rejects: QuarantineContext,
        whose: str | None = None,
    ) -> Staged:
        """Quarantine as key_conflict the rows whose key another logical file holds with other values
        (`whose`: the conflict policy that says so, for the reason; default the contract's)."""
        whose = whose or f"{self.contract.name}'s conflict policy"
        holder = {row.source_row: row.holder for row in conflicts}
        lines = pa.array(sorted(holder), pa.int64())

        def reason(taken: pa.Table) -> pa.Array:
            held_by = pa.array([holder[line] for line in taken.column("source_row").to_pylist()], pa.string())
            return pc.binary_join_element_wise(
                f"{self.contract.key} '",
                pc.cast(taken.column(self.contract.key), pa.string()),
                "' is held by ",
                held_by,
                f" with other values; {whose} is quarantine: this row is not loaded",
                "",
            )

        kept = set_aside(
            staged.fact_path,
            lines,
            SetAside("key_conflict", self.contract.key, reason),
            self.contract,
            rejects,
            staged.quarantine_path,
            self.work,
            fact_options=self.fact_options,
            quarantine_options=QUARANTINE_OPTIONS,
        )
        return Staged(kept, staged.quarantine_path, staged.duplicates, staged.conflicts + len(conflicts))

    def for_warehouse(self, staged: Staged, file_id: str) -> Path | None:
        """The staged quarantine in etl_quarantine's shape (None when nothing was quarantined)."""
        return quarantine_by_key(
            staged.quarantine_path, self.work / "etl_quarantine.parquet", self.contract, file_id
        )

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._facts.close()
        finally:
            self._quarantine.close()
