"""`etl bench`: speed and memory of the pipeline as measured facts, beside what the engine alone does.

Five measurements (the first two on files made by the product's generator):

- `run_bench` (`full`): one bank-statement file of N rows (and its customers' applications) loaded into a
  fresh lake and warehouse, beside two references on the same CSV: DuckDB's typed `COPY` into a table, and
  the job's physical floor (the CSV read once, typed rows written to a DuckDB table and a zstd Parquet
  file: what any loader of this job must at least do). In-process, the pipeline runs in a child process
  and its run is timed from inside (start-up reported apart); `whole_process` times `etl run` and the
  references as whole processes instead, start-up included, as a user meets them.
- `run_incremental` (`incremental`): a small file of new transactions into warehouses that already hold
  0, 1M, 10M transactions, per stage in-process and as whole `etl run` processes.
- `run_layout_bench` (`layout`): what a profile costs: the same generated rows loaded as the contracts lay
  them out and as a bank's export read through its profile (every format rule), alternately.
- `run_startup` (`startup`): what every process pays before it works: `etl --help`, an empty and a tiny
  `etl run`, `import etl.handler` (the Lambda's init) and the bare interpreter, as whole processes.

Nothing here is imported by the product; heavy modules load inside the functions that use them, so the
references' processes (`python -m etl.tools.bench.reference`) start as light as they can.
"""

from __future__ import annotations

from etl.tools.bench.common import BenchError, peak_rss_bytes
from etl.tools.bench.full import BenchResult, run_bench
from etl.tools.bench.incremental import IncrementalResult, run_incremental

__all__ = ["BenchError", "BenchResult", "IncrementalResult", "peak_rss_bytes", "run_bench", "run_incremental"]
