"""One file's rows staged as Parquet in its scratch folder: the fact rows and the quarantined rows, written
chunk by chunk as they are modelled, then published to the lake and loaded into the warehouse."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from etl.contracts import SourceContract
from etl.model.parquet import QUARANTINE_OPTIONS, fact_parquet_options
from etl.model.schema import TableSpec
from etl.normalize.rejects import stored_schema


class Staging:
    """The two Parquet files of one file in `work`; a context manager that closes both writers."""

    def __init__(self, work: Path, spec: TableSpec, contract: SourceContract) -> None:
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

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._facts.close()
        finally:
            self._quarantine.close()
