"""Redshift's staging without a cluster (moto S3, recorded statements): the Parquet COPY reads, the upload
before the transaction, the load lock nobody reads, and ledger rows of rejected files."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.errors import WarehouseError
from etl.extract.discover import discover
from etl.load.lake import LocalLake
from etl.load.warehouse import redshift
from etl.load.warehouse.redshift import copy_statement, customers_prefix, write_copy_parquet
from etl.model import schema
from etl.pipeline import Pipeline
from etl.settings import Settings
from tests.helpers import STMT_HEADER, write
from tests.load.warehouse.redshift_fakes import (
    LOADED_AT,
    LOCK,
    ROLE,
    URL,
    fact_load,
    make_warehouse,
    repayment_rows,
    staged_keys,
)

SPEC = schema.FACT_REPAYMENT


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("etl.load.warehouse.base.time.sleep", lambda _: None)


def _log_s3_calls(wh: Any, log: list[str]) -> None:
    wh.s3.meta.events.register("before-call.s3", lambda model, **_: log.append(f"S3 {model.name}"))


# ---- the Parquet COPY reads --------------------------------------------------------------------------------


def test_the_staged_parquet_carries_int96_timestamps_and_the_same_values(tmp_path: Path) -> None:
    load = fact_load(tmp_path, repayment_rows())
    target = tmp_path / "copy.parquet"

    write_copy_parquet(load.fact_path, target)

    meta = pq.ParquetFile(target).metadata
    columns = {meta.schema.column(i).name: meta.schema.column(i) for i in range(meta.num_columns)}
    # Spectrum misreads INT64 timestamps that carry only the newer logical type (apache/arrow#38000);
    # INT96 is what awswrangler's Redshift path writes (pyarrow's "spark" flavor, format 1.0, snappy)
    assert columns["loaded_at"].physical_type == "INT96"
    assert meta.format_version == "1.0"
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"SNAPPY"}
    assert columns["amount_due"].logical_type.to_json() == '{"Type": "Decimal", "precision": 18, "scale": 2}'
    assert columns["due_date"].converted_type == "DATE"
    assert meta.schema.to_arrow_schema().names == list(SPEC.column_names)  # COPY maps by position
    back = pq.read_table(target, coerce_int96_timestamp_unit="us")
    assert back.cast(SPEC.arrow_schema).to_pylist() == repayment_rows().to_pylist()
    assert back.column("loaded_at").to_pylist() == [LOADED_AT, LOADED_AT]


def test_the_lake_file_keeps_its_own_encoding(tmp_path: Path) -> None:
    # Athena and DuckDB read the logical type; a UTC-adjusted annotation would make DuckDB read
    # TIMESTAMP WITH TIME ZONE. Only the staged copy changes.
    load = fact_load(tmp_path, repayment_rows())
    column = pq.ParquetFile(load.fact_path).metadata.schema.column(SPEC.column_names.index("loaded_at"))
    assert (column.physical_type, column.converted_type) == ("INT64", "NONE")
    logical = json.loads(column.logical_type.to_json())
    assert (logical["Type"], logical["isAdjustedToUTC"], logical["timeUnit"]) == (
        "Timestamp",
        False,
        "microseconds",
    )


# ---- staging on S3 before the transaction ------------------------------------------------------------------


def test_a_load_uploads_before_its_transaction_copies_under_the_lock_and_deletes_afterwards(
    aws: Any, secret_arn: str, tmp_path: Path
) -> None:
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    wh.query("SELECT 1")
    log = made[0].log
    _log_s3_calls(wh, log)
    uploaded: list[bytes] = []
    real_execute = wh.execute

    def spy(sql: str, params: Any = ()) -> None:
        if sql.startswith("COPY"):
            [key] = staged_keys(aws)  # the Parquet is in place when COPY runs
            uploaded.append(aws.get_object(Bucket="etl-staging", Key=key)["Body"].read())
        real_execute(sql, params)

    wh.execute = spy  # type: ignore[method-assign]
    assert wh.load_file(fact_load(tmp_path, repayment_rows())) is not None  # loaded: its counts

    start, end = log.index(LOCK), len(log) - log[::-1].index("COMMIT") - 1
    assert [entry for entry in log[:start] if entry.startswith("S3")] == ["S3 ListObjectsV2", "S3 PutObject"]
    assert not [entry for entry in log[start:end] if entry.startswith("S3")]  # nothing of S3 under the lock
    assert [entry for entry in log[end:] if entry.startswith("S3")][-1] == "S3 DeleteObjects"
    copy = next(sql for sql in log if sql.startswith("COPY"))
    prefix = copy.split("'")[1]
    assert copy == copy_statement("stg_fact_repayment", SPEC, prefix, ROLE)
    assert prefix.startswith("s3://etl-staging/staging/") and prefix.endswith("/fact_repayment/")
    assert (
        pq.ParquetFile(io.BytesIO(uploaded[0]))
        .schema.column(SPEC.column_names.index("loaded_at"))
        .physical_type
        == "INT96"
    )
    assert staged_keys(aws) == []
    assert list(tmp_path.iterdir()) == [tmp_path / "fact.parquet"]  # the local copy is gone too


def test_a_retried_transaction_copies_the_same_upload_again(
    aws: Any, secret_arn: str, tmp_path: Path
) -> None:
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    wh.query("SELECT 1")
    made[0].fail_on, made[0].failures_left = "COPY", 1
    made[0].failure = "ERROR: 1023 DETAIL: Serializable isolation violation on table"
    puts: list[str] = []
    wh.s3.meta.events.register("before-call.s3.PutObject", lambda **_: puts.append("put"))

    assert wh.load_file(fact_load(tmp_path)) is not None

    copies = [sql for conn in made for sql, _ in conn.statements if sql.startswith("COPY")]
    assert len(made) == 2 and len(copies) == 2 and copies[0] == copies[1]
    assert puts == ["put"]
    assert staged_keys(aws) == []


def test_staging_objects_are_deleted_when_copy_fails(aws: Any, secret_arn: str, tmp_path: Path) -> None:
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    wh.query("SELECT 1")
    made[0].fail_on = "COPY"
    with pytest.raises(WarehouseError, match="loading into fact_repayment failed: simulated failure"):
        wh.load_file(fact_load(tmp_path))
    assert staged_keys(aws) == []


def test_a_failed_staging_upload_is_a_retryable_warehouse_error(
    aws: Any, secret_arn: str, tmp_path: Path
) -> None:
    aws.delete_bucket(Bucket="etl-staging")
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    with pytest.raises(
        WarehouseError,
        match=r"^s3://raw/r.csv: loading into fact_repayment failed: cannot stage "
        r"s3://etl-staging/staging/\w+/fact_repayment/ for COPY: .*NoSuchBucket",
    ) as caught:
        wh.load_file(fact_load(tmp_path))
    assert caught.value.retryable is True
    assert not made  # no transaction was opened for it


def test_a_non_empty_staging_prefix_is_refused(
    aws: Any, secret_arn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FixedUuid:
        hex = "0" * 32

    monkeypatch.setattr(redshift.uuid, "uuid4", lambda: FixedUuid())
    aws.put_object(Bucket="etl-staging", Key=f"staging/{'0' * 32}/fact_repayment/other.parquet", Body=b"x")
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    with pytest.raises(WarehouseError, match="is not empty: refusing"):
        wh.load_file(fact_load(tmp_path))
    assert not any(sql.startswith("COPY") for conn in made for sql, _ in conn.statements)
    assert staged_keys(aws) == [f"staging/{'0' * 32}/fact_repayment/other.parquet"]  # not ours: untouched


def test_the_key_check_before_a_load_stages_its_own_copy_and_removes_it(
    aws: Any, secret_arn: str, tmp_path: Path
) -> None:
    # a source whose conflict policy is not "update" has its keys checked in a read-only transaction that
    # COPYs the rows: they are staged for it (outside it) and removed after it, as for a load
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    wh.query("SELECT 1")
    log = made[0].log
    _log_s3_calls(wh, log)

    assert wh.conflicting_rows(fact_load(tmp_path, repayment_rows())) == []

    copy = next(i for i, sql in enumerate(log) if sql.startswith("COPY"))
    assert "S3 PutObject" in log[:copy] and log[-1] == "S3 DeleteObjects"
    assert not any(sql.startswith("LOCK") for sql in log)  # it reads only: no lock, nobody waits
    assert staged_keys(aws) == []


def test_copying_a_file_that_was_not_staged_first_is_refused(secret_arn: str, tmp_path: Path) -> None:
    wh, _ = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    with pytest.raises(WarehouseError, match="was not staged for COPY"):
        wh.stage_file("stg_fact_repayment", SPEC, fact_load(tmp_path))


# ---- ledger rows of rejected files --------------------------------------------------------------------------


def _run(wh: Any, tmp_path: Path, *, good: bool = True) -> Any:
    """A run of a rejected file (its required columns missing) and, when `good`, a file that loads."""
    data = tmp_path / "data"
    write(data, "bank_statements", "bad.csv", "transaction_id,customer_id\nT1,C1\n")
    if good:
        write(
            data, "bank_statements", "good.csv", STMT_HEADER + "\nT1,C9,2023-01-05,-5.00,POS PURCHASE,1.00\n"
        )
    settings = Settings(lake=str(tmp_path / "lake"), warehouse_url=URL + "&secret_arn=x")
    return Pipeline(settings, LocalLake(settings.lake), wh).run(discover([data]))


def test_a_rejected_files_ledger_row_is_written_under_the_load_lock(
    aws: Any, secret_arn: str, tmp_path: Path
) -> None:
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    report = _run(wh, tmp_path)
    assert [f.status for f in report.files] == ["rejected", "loaded"]
    log = made[0].log
    insert = next(i for i, sql in enumerate(log) if sql.startswith("INSERT INTO etl_file_ledger"))
    assert log[insert - 3 : insert] == [
        LOCK,
        "SELECT status FROM etl_file_ledger WHERE file_id = %s AND status = 'loaded'",
        "DELETE FROM etl_file_ledger WHERE file_id = %s AND status <> 'loaded'",
    ]
    assert log[insert + 1] == "COMMIT"


def test_a_conflict_writing_a_rejection_is_retried(aws: Any, secret_arn: str, tmp_path: Path) -> None:
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    wh.query("SELECT 1")
    made[0].fail_on, made[0].failures_left = "INSERT INTO etl_file_ledger", 1
    made[0].failure = "ERROR: 1023 DETAIL: Serializable isolation violation on table etl_file_ledger"

    report = _run(wh, tmp_path)

    assert [f.status for f in report.files] == ["rejected", "loaded"]
    assert len(made) == 2 and made[0].rollbacks >= 1  # retried on a new connection
    assert sum(sql.startswith("INSERT INTO etl_file_ledger") for sql, _ in made[1].statements) == 2


@pytest.mark.parametrize(
    ("failure", "retryable"),
    [
        ("ERROR: 1023 DETAIL: Serializable isolation violation on table etl_file_ledger", True),
        ("ERROR: permission denied for relation etl_file_ledger", False),
    ],
)
def test_a_rejection_whose_ledger_row_cannot_be_written_fails_the_file(
    aws: Any, secret_arn: str, tmp_path: Path, failure: str, retryable: bool
) -> None:
    # A rejection is acknowledged for good; without its ledger row it would be recorded nowhere. As a
    # failed file it is delivered again (SQS) and its rejection recorded then.
    def failing(conn: Any) -> None:  # every connection: the retries meet the same failure
        conn.fail_on, conn.failure = "INSERT INTO etl_file_ledger", failure

    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}", failing)

    report = _run(wh, tmp_path, good=False)

    [bad] = report.files
    assert (bad.status, bad.retryable) == ("failed", retryable)
    assert bad.error.startswith("missing required column")
    assert (
        f"; its ledger row was not written: recording the file in etl_file_ledger failed: {failure}"
        in bad.error
    )
    assert report.exit_code == 1
    assert len(made) == (3 if retryable else 1)  # Warehouse.retries attempts, each on a new connection


def test_the_files_customers_are_copied_beside_its_rows_and_deleted_afterwards(
    aws: Any, secret_arn: str, tmp_path: Path
) -> None:
    """The facts keep the customer's key only: the file's customers (key, id) are staged for COPY beside its
    rows, under their own prefix (COPY reads every object under a prefix), not inserted 500 rows at a time."""
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    customers = pa.table({"customer_key": [21, 22], "customer_id": ["C1", "ü" * 64]})
    staged: dict[str, list[dict[str, Any]]] = {}
    real_execute = wh.execute

    def spy(sql: str, params: Any = ()) -> None:
        if sql.startswith("COPY stg_file_customers"):
            for key in staged_keys(aws):
                body = aws.get_object(Bucket="etl-staging", Key=key)["Body"].read()
                staged[key.split("/")[-2]] = pq.read_table(io.BytesIO(body)).to_pylist()
        real_execute(sql, params)

    wh.execute = spy  # type: ignore[method-assign]
    load = replace(fact_load(tmp_path, repayment_rows()), customer_ids=customers)
    assert wh.load_file(load) is not None

    log = made[0].log
    fact_copy = next(sql for sql in log if sql.startswith("COPY stg_fact_repayment"))
    prefix = fact_copy.split("'")[1]
    assert customers_prefix(prefix) == prefix.removesuffix("fact_repayment/") + "file_customers/"
    assert copy_statement("stg_file_customers", schema.FILE_CUSTOMERS, customers_prefix(prefix), ROLE) in log
    assert staged["file_customers"] == customers.to_pylist()
    assert len(staged["fact_repayment"]) == 2
    assert not any(sql.startswith("INSERT INTO stg_file_customers") for sql in log)
    assert staged_keys(aws) == []
    assert list(tmp_path.iterdir()) == [tmp_path / "fact.parquet"]  # the local copies are gone too
