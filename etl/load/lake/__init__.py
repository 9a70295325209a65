"""The Parquet lake: curated fact batches and quarantined rows, one object per source file.

Object names are deterministic (`curated/<table>/<file_id>.parquet`, `quarantine/<source>/<file_id>.parquet`),
so a retry overwrites rather than adds. `open_lake` picks the local or the S3 lake from the settings.
"""

from __future__ import annotations

from etl.load.lake.base import Lake, sweep_dead_scratch
from etl.load.lake.local import LocalLake
from etl.settings import Settings

__all__ = ["Lake", "LocalLake", "open_lake", "sweep_dead_scratch"]


def open_lake(settings: Settings) -> Lake:
    if settings.lake.startswith("s3://"):
        from etl.load.lake.s3 import S3Lake  # boto3 only for an S3 lake

        return S3Lake(settings.lake, glue_database=settings.glue_database)
    return LocalLake(settings.lake)
