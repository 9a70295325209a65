"""The lake on S3: curated and quarantine Parquet under the lake prefix, registered in Glue for Athena.

Object names are the same deterministic ones as the local lake (`<root>/curated/<table>/<file_id>.parquet`,
`<root>/quarantine/<source>/<file_id>.parquet`), so a retried file overwrites its earlier attempt. Each Glue
table points at its folder, so Athena sees every batch of a table as one table. Every I/O function takes an
optional `boto3_session`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import awswrangler as wr
import boto3
import pyarrow.parquet as pq
from awswrangler import _data_types
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from etl.errors import LakeError
from etl.extract.s3 import split_s3_uri
from etl.load.lake.base import Lake


class S3Lake(Lake):
    def __init__(
        self, root: str, *, glue_database: str | None = None, boto3_session: boto3.Session | None = None
    ) -> None:
        split_s3_uri(root)
        self.root = root.rstrip("/")
        self.glue_database = glue_database
        self.session = boto3_session or boto3.Session()
        self._s3: Any = None
        self._database_ready = False

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = self.session.client("s3")
        return self._s3

    def publish(self, local: Path, uri: str, *, table: str, kind: str) -> None:
        bucket, key = split_s3_uri(uri)
        try:
            # upload_file streams the file (multipart above 8 MB); a PUT replaces the object atomically.
            self.s3.upload_file(str(local), bucket, key)
            if self.glue_database:
                self.register(table, uri.rsplit("/", 1)[0] + "/", pq.read_schema(local), kind=kind)
        # upload_file wraps the ClientError of a failed PUT in S3UploadFailedError (not a ClientError)
        except (BotoCoreError, ClientError, S3UploadFailedError, wr.exceptions.InvalidArgumentValue) as exc:
            raise LakeError(f"cannot write {uri}: {exc}") from None

    def register(self, table: str, folder_uri: str, schema: Any, *, kind: str) -> None:
        """Create or update the Glue table over `folder_uri` from the Parquet schema (idempotent)."""
        assert self.glue_database is not None
        if not self._database_ready:
            try:
                wr.catalog.create_database(self.glue_database, exist_ok=True, boto3_session=self.session)
            except ClientError as exc:  # a concurrent loader created it after exist_ok looked
                if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
                    raise
            self._database_ready = True
        columns = _data_types.athena_types_from_pyarrow_schema(schema)
        exists = wr.catalog.does_table_exist(
            database=self.glue_database, table=table, boto3_session=self.session
        )
        # An existing table is updated in place ("overwrite" updates it; the table is not partitioned). A new
        # one is created with "append": when a concurrent loader created it first, awswrangler then leaves
        # that table (the same columns) as it is, where "overwrite" would delete and re-create it: a moment
        # without the table for readers, and a glue:DeleteTable the role does not have.
        self._create_table(table, folder_uri, columns, kind, mode="overwrite" if exists else "append")

    def _create_table(
        self,
        table: str,
        folder_uri: str,
        columns: dict[str, str],
        kind: str,
        *,
        mode: Literal["overwrite", "append"],
    ) -> None:
        assert self.glue_database is not None
        wr.catalog.create_parquet_table(
            database=self.glue_database,
            table=table,
            path=folder_uri,
            columns_types=columns,
            compression="zstd",
            description=f"{kind} Parquet batches of the credit-risk ETL, one object per source file",
            parameters={"etl_kind": kind},
            mode=mode,
            boto3_session=self.session,
        )
