"""How this process's pyarrow is set up before it works: told that pandas is not used.

Ground level (no etl import): every entry point that hands pyarrow Python objects calls it first, the
pipeline (`etl.pipeline.open_pipeline`) and the extraction (`etl.pull.run.extract`).
"""

from __future__ import annotations

import sys

import pyarrow as pa


class _NoPandas:
    """A finder that makes `import pandas` fail, while `arrow_without_pandas` asks pyarrow its question."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "pandas":
            raise ModuleNotFoundError("pandas is not used by this process", name=name)


def arrow_without_pandas() -> None:
    """Settle pyarrow's "is pandas installed?" as no, unless pandas is imported already.

    pyarrow asks it the first time pa.array or pa.scalar meets a Python object (to recognise pandas
    objects), and asking imports pandas: 0.3-0.5 s of every run for a library the product never hands to
    pyarrow. Asked once while pandas cannot be imported, the answer sticks for those checks; a real
    conversion (Table.to_pandas, awswrangler's from_pandas) still imports pandas when it happens. Process-wide
    and idempotent, so entry points call it (through `open_pipeline`) before any thread starts.
    """
    if "pandas" in sys.modules or _NoPandas in sys.meta_path:
        return
    sys.meta_path.insert(0, _NoPandas)
    try:
        pa.scalar(0)
    finally:
        sys.meta_path.remove(_NoPandas)
