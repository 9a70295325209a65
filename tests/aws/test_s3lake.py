"""Raw objects are streamed from S3 in bounded reads, pinned to one version; the lake publishes and registers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from etl.errors import FileRejected, LakeError
from etl.extract.discover import SourceFile
from etl.extract.s3 import READ_BUFFER_BYTES, open_s3_object
from etl.load.lake import LocalLake
from etl.load.lake.s3 import S3Lake
from etl.load.warehouse.duckdb import DuckDBWarehouse
from etl.pipeline import Pipeline
from etl.settings import Settings
from tests.helpers import STMT_HEADER


class GeneratedBody:
    """A GetObject body producing a large CSV on the fly, recording every read size."""

    def __init__(self, rows: int, reads: list[int | None]) -> None:
        self.lines = (
            f"T{i},C{i % 50},2023-01-{1 + i % 28:02d},-{i % 900 + 1}.00,POS PURCHASE,10.00\n"
            for i in range(rows)
        )
        self.pending = (STMT_HEADER + "\n").encode()
        self.reads = reads

    def read(self, amount: int | None = None) -> bytes:
        self.reads.append(amount)
        assert amount is not None, "the whole object was asked for at once"
        while len(self.pending) < amount:
            line = next(self.lines, None)
            if line is None:
                break
            self.pending += line.encode()
        out, self.pending = self.pending[:amount], self.pending[amount:]
        return out

    def close(self) -> None:
        pass


class GeneratingS3:
    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.reads: list[int | None] = []
        self.calls: list[dict[str, Any]] = []

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"Body": GeneratedBody(self.rows, self.reads)}


def test_the_pipeline_reads_an_s3_object_in_bounded_pieces(tmp_path: Path) -> None:
    s3 = GeneratingS3(rows=120_000)  # ~6 MB of CSV that never exists as one bytes object
    opener = open_s3_object("raw", "incoming/bank_statements/big.csv", etag="abc", s3_client=s3)
    item = SourceFile("s3://raw/incoming/bank_statements/big.csv", "big.csv", "bank_statements", opener)
    settings = Settings(
        lake=str(tmp_path / "lake"), warehouse_url=f"duckdb:///{tmp_path / 'w.duckdb'}", chunk_bytes=1 << 20
    )
    with DuckDBWarehouse(str(tmp_path / "w.duckdb")) as wh:
        result = Pipeline(settings, LocalLake(settings.lake), wh).run([item], with_tests=False).files[0]

    assert (result.status, result.rows_loaded) == ("loaded", 120_000)
    assert len(s3.calls) == 2  # fingerprint (keeping the head), parse: each a fresh GetObject
    assert all(
        call == {"Bucket": "raw", "Key": "incoming/bank_statements/big.csv", "IfMatch": '"abc"'}
        for call in s3.calls
    )
    assert max(n or 0 for n in s3.reads) <= READ_BUFFER_BYTES


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="raw")
        yield client


def test_reads_are_pinned_to_the_version_of_the_event(s3: Any) -> None:
    etag = s3.put_object(Bucket="raw", Key="k.csv", Body=b"a,b\n1,2\n")["ETag"]
    opener = open_s3_object("raw", "k.csv", etag=etag.strip('"'), s3_client=s3)
    with opener() as stream:
        assert stream.read(3) == b"a,b"
        assert stream.read() == b"\n1,2\n"
    s3.put_object(Bucket="raw", Key="k.csv", Body=b"changed\n")
    with pytest.raises(FileRejected, match=r"PreconditionFailed|412"):
        opener()


def test_a_deleted_object_is_unreadable_and_other_errors_are_retryable(s3: Any) -> None:
    with pytest.raises(FileRejected, match="NoSuchKey"):
        open_s3_object("raw", "gone.csv", s3_client=s3)()
    with pytest.raises(LakeError):
        open_s3_object("no-such-bucket", "k.csv", s3_client=s3)()


def test_publish_overwrites_the_same_key_and_registers_the_glue_table(s3: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    s3.create_bucket(Bucket="lake")
    lake = S3Lake("s3://lake/root/", glue_database="lake_db")
    local = tmp_path / "x.parquet"
    for n in (1, 2):
        pq.write_table(pa.table({"id": pa.array(range(n), pa.int64())}), local)
        lake.publish(local, lake.curated_uri("fact_x", "f1"), table="fact_x", kind="curated")
    [obj] = s3.list_objects_v2(Bucket="lake")["Contents"]
    assert obj["Key"] == "root/curated/fact_x/f1.parquet"
    assert (
        pq.read_table(io.BytesIO(s3.get_object(Bucket="lake", Key=obj["Key"])["Body"].read())).num_rows == 2
    )
    table = boto3.client("glue", region_name="us-east-1").get_table(DatabaseName="lake_db", Name="fact_x")[
        "Table"
    ]
    assert table["StorageDescriptor"]["Location"] == "s3://lake/root/curated/fact_x/"
    assert table["Parameters"]["etl_kind"] == "curated"


def test_a_failed_upload_is_a_retryable_lake_error_not_an_internal_one(s3: Any, tmp_path: Path) -> None:
    local = tmp_path / "part.parquet"
    local.write_bytes(b"PAR1")
    lake = S3Lake("s3://no-such-lake/root/")
    with pytest.raises(
        LakeError, match=r"^cannot write s3://no-such-lake/root/x.parquet: .*NoSuchBucket"
    ) as caught:
        lake.publish(local, "s3://no-such-lake/root/x.parquet", table="t", kind="fact")
    assert caught.value.retryable is True


def test_a_table_another_loader_created_first_is_left_as_it_is_not_deleted(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # awswrangler's "overwrite" answers CreateTable's AlreadyExists by deleting and re-creating the table
    import botocore.client
    import pyarrow as pa
    import pyarrow.parquet as pq

    s3.create_bucket(Bucket="lake")
    lake = S3Lake("s3://lake/root/", glue_database="lake_db")
    local = tmp_path / "x.parquet"
    pq.write_table(pa.table({"id": pa.array([1], pa.int64())}), local)
    lake.publish(local, lake.curated_uri("fact_x", "f1"), table="fact_x", kind="curated")
    calls: list[str] = []
    make_api_call = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: Any) -> Any:
        calls.append(operation)
        if operation == "GetTable":  # the race: it looked before the other loader's CreateTable landed
            error = {"Error": {"Code": "EntityNotFoundException", "Message": "not yet"}}
            raise client.exceptions.EntityNotFoundException(error, operation)
        return make_api_call(client, operation, params)

    with monkeypatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        lake.publish(local, lake.curated_uri("fact_x", "f2"), table="fact_x", kind="curated")
    assert "CreateTable" in calls and "DeleteTable" not in calls  # the role may not delete tables
    glue = boto3.client("glue", region_name="us-east-1")
    assert (
        glue.get_table(DatabaseName="lake_db", Name="fact_x")["Table"]["Parameters"]["etl_kind"] == "curated"
    )


def test_an_event_for_an_older_version_is_refused_before_any_read(s3: Any) -> None:
    """A new version replaces the rows of the one before it: a late event must not put the old one back."""
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket="versioned", Key="incoming/bank_statements/june.csv", Body=b"a\n1\n")[
        "VersionId"
    ]
    new = s3.put_object(Bucket="versioned", Key="incoming/bank_statements/june.csv", Body=b"a\n2\n")[
        "VersionId"
    ]

    with pytest.raises(FileRejected) as refused:
        open_s3_object("versioned", "incoming/bank_statements/june.csv", version_id=old, s3_client=s3)()
    assert str(refused.value) == (
        f"s3://versioned/incoming/bank_statements/june.csv: version {old} is no longer the object's current "
        f"version ({new}): a newer version was uploaded since, and its own event loads it"
    )
    opener = open_s3_object("versioned", "incoming/bank_statements/june.csv", version_id=new, s3_client=s3)
    assert opener().read() == b"a\n2\n"
    assert opener().read() == b"a\n2\n"  # the second read (the parse) checks nothing again
