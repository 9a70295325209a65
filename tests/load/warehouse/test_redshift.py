"""Redshift without a cluster: every statement the backend sends is parsed with sqlglot's Redshift dialect;
S3 staging and Secrets Manager run on moto. The same shared statements run for real in the PostgreSQL tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlglot
from moto import mock_aws
from sqlglot import exp

from etl.errors import ConfigError, WarehouseError
from etl.extract.discover import discover
from etl.load.lake import LocalLake
from etl.load.sql import SMALL_DIMENSIONS, SqlBuilder
from etl.load.warehouse import redshift
from etl.load.warehouse.redshift import RedshiftTarget, RedshiftWarehouse, copy_statement
from etl.model import schema
from etl.pipeline import Pipeline
from etl.settings import Settings
from tests.helpers import APP_HEADER, REPAY_HEADER, STMT_HEADER, write

ROLE = "arn:aws:iam::123456789012:role/redshift-copy"
SECRET_NAME = "etl/redshift"
URL = f"redshift://wg.123456789012.us-east-1.redshift-serverless.amazonaws.com:5439/analytics?iam_role={ROLE}&staging=s3://etl-staging/staging"


class FakeCursor:
    def __init__(self, conn: FakeConnection) -> None:
        self.conn = conn
        self.rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, params: Any = None) -> None:
        self.conn.statements.append((sql, params))
        self.conn.log.append(sql)
        if not self.conn.autocommit:  # as redshift_connector: any statement opens a transaction
            self.conn.in_transaction = True
        if self.conn.fail_on and self.conn.fail_on in sql:
            raise RuntimeError(f"simulated failure of: {self.conn.fail_on}")
        head = sql.lstrip().upper()
        if head.startswith("SELECT 1 FROM FACT_"):  # rows of other files exist: the conflict check runs
            self.rows = [(1,)]
        elif head.startswith("SELECT COUNT("):  # a count, or a file's classification (a count and sums)
            self.rows = [(0,) * (1 + head.count(", COALESCE(SUM("))]
        elif head.startswith("SELECT COALESCE(SUM("):  # the data tests of one table, batched
            self.rows = [(0,) * head.count("COALESCE(SUM(")]
        else:
            self.rows = []

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def close(self) -> None:
        pass


class FakeConnection:
    """Stands in for redshift_connector.Connection: records statements, answers counts with 0, else nothing."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.statements: list[tuple[str, Any]] = []
        self.fail_on: str | None = None
        self.autocommit = True
        self.in_transaction = False
        self.commits = self.rollbacks = 0
        self.log: list[str] = []  # statements, COMMIT and ROLLBACK, in order

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def commit(self) -> None:
        self.commits += 1
        self.in_transaction = False
        self.log.append("COMMIT")

    def rollback(self) -> None:
        self.rollbacks += 1
        if self.in_transaction:
            self.log.append("ROLLBACK")
        self.in_transaction = False

    def close(self) -> None:
        pass


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="etl-staging")
        yield s3


@pytest.fixture
def secret_arn(aws: Any) -> str:
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    answer = sm.create_secret(
        Name=SECRET_NAME, SecretString=json.dumps({"username": "etl", "password": "p@ss"})
    )
    return str(answer["ARN"])


def _warehouse(secret_arn: str) -> tuple[RedshiftWarehouse, list[FakeConnection]]:
    made: list[FakeConnection] = []

    def connect(**kwargs: Any) -> FakeConnection:
        made.append(FakeConnection(**kwargs))
        return made[-1]

    target = RedshiftTarget.parse(f"{URL}&secret_arn={secret_arn}")
    return RedshiftWarehouse(target, connect=connect), made


def _parse(sql: str) -> exp.Expression:
    parsed = sqlglot.parse_one(sql, read="redshift")
    assert not isinstance(parsed, exp.Command), f"sqlglot only saw an opaque command: {sql[:80]}"
    return parsed


# ---- URL and credentials ----------------------------------------------------------------------------------


def test_url_names_host_database_role_and_a_staging_prefix() -> None:
    target = RedshiftTarget.parse(f"{URL}&secret_arn=arn:aws:secretsmanager:us-east-1:1:secret:x")
    assert (target.host, target.port, target.database) == (
        "wg.123456789012.us-east-1.redshift-serverless.amazonaws.com",
        5439,
        "analytics",
    )
    assert (target.iam_role, target.staging) == (ROLE, "s3://etl-staging/staging/")
    local = RedshiftTarget.parse(
        f"redshift://me:s%40cret@localhost:5439/dev?iam_role={ROLE}&staging=s3://b/p/"
    )
    assert (local.user, local.password, local.secret_arn) == ("me", "s@cret", None)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redshift://host:5439/db?staging=s3://b/p/&secret_arn=x", "iam_role"),
        (f"redshift://host:5439/db?iam_role={ROLE}&secret_arn=x", "staging"),
        (f"redshift://host:5439/db?iam_role={ROLE}&staging=s3://b/p/", "secret_arn"),
        (f"redshift://host:5439/?iam_role={ROLE}&staging=s3://b/p/&secret_arn=x", "host:5439/database"),
    ],
)
def test_incomplete_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RedshiftTarget.parse(url)


def test_credentials_come_from_secrets_manager(secret_arn: str) -> None:
    wh, made = _warehouse(secret_arn)
    wh.query("SELECT 1")
    [conn] = made
    assert conn.kwargs == {
        "host": "wg.123456789012.us-east-1.redshift-serverless.amazonaws.com",
        "port": 5439,
        "database": "analytics",
        "user": "etl",
        "password": "p@ss",
    }
    assert conn.autocommit is False
    assert redshift.credentials_from_secret(secret_arn) == ("etl", "p@ss")


def test_a_secret_without_credentials_is_a_configuration_error(aws: Any) -> None:
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    arn = sm.create_secret(Name="wrong", SecretString="just a string")["ARN"]
    with pytest.raises(ConfigError, match="username and password"):
        redshift.credentials_from_secret(arn)


def test_the_module_imports_without_the_driver_loaded() -> None:
    source = Path(redshift.__file__).read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not any("redshift_connector" in line for line in top_level)


# ---- generated statements ----------------------------------------------------------------------------------


def test_ddl_parses_as_redshift_with_distribution_and_sort_keys() -> None:
    builder = SqlBuilder("redshift", "%s")
    for spec in schema.ALL_TABLES:
        ddl = builder.create_table(spec)
        parsed = _parse(ddl)
        assert isinstance(parsed, exp.Create)
        if spec.name in SMALL_DIMENSIONS:
            assert "DISTSTYLE ALL" in ddl, spec.name
        if spec.kind == "fact":
            assert f"DISTSTYLE KEY DISTKEY ({spec.distkey})" in ddl
            assert f"COMPOUND SORTKEY ({', '.join(spec.sortkey)})" in ddl
        assert f"PRIMARY KEY ({', '.join(spec.key)})" in ddl
    assert "DISTSTYLE KEY DISTKEY (customer_key)" in builder.create_table(schema.FACT_LOAN_APPLICATION)
    assert "COMPOUND SORTKEY (loan_application_date)" in builder.create_table(schema.FACT_LOAN_APPLICATION)


@pytest.mark.parametrize(
    "spec", [schema.FACT_LOAN_APPLICATION, schema.FACT_BANK_TRANSACTION, schema.FACT_REPAYMENT]
)
def test_copy_fills_the_staging_table_by_position_from_parquet_of_the_same_columns(
    spec: schema.TableSpec, tmp_path: Path
) -> None:
    # From Parquet, COPY maps columns by position and their number must match the table's (Redshift's
    # "COPY from columnar data formats"); a column list is not among the parameters that page allows.
    sql = copy_statement(f"stg_{spec.name}", spec, f"s3://etl-staging/staging/abc/{spec.name}/", ROLE)
    assert sql == (
        f"COPY stg_{spec.name} FROM 's3://etl-staging/staging/abc/{spec.name}/' IAM_ROLE '{ROLE}' "
        "FORMAT AS PARQUET"
    )
    assert isinstance(_parse(sql), exp.Copy)
    staging = _parse(SqlBuilder("redshift", "%s").create_staging(spec, f"stg_{spec.name}"))
    staged_columns = [c.name for c in staging.this.expressions]
    import pyarrow.parquet as pq

    path = tmp_path / "fact.parquet"
    pq.write_table(spec.arrow_schema.empty_table(), path)  # as the pipeline writes the fact Parquet
    assert pq.read_schema(path).names == staged_columns == list(spec.column_names)


# ---- staging on S3 (moto) ---------------------------------------------------------------------------------


def _fact_load(tmp_path: Path) -> Any:
    from datetime import datetime

    import pyarrow.parquet as pq

    from etl.load.ledger import LedgerRow
    from etl.load.warehouse.base import FileLoad

    path = tmp_path / "fact.parquet"
    pq.write_table(schema.FACT_REPAYMENT.arrow_schema.empty_table(), path)
    now = datetime(2024, 1, 1)
    ledger = LedgerRow(
        "f" * 64,
        "repayments",
        "s3://raw/r.csv",
        "r.csv",
        1,
        0,
        0,
        0,
        0,
        "loaded",
        None,
        None,
        None,
        now,
        now,
        0,
        "run",
    )
    return FileLoad(
        "infers_via_application",
        schema.FACT_REPAYMENT,
        path,
        "s3://lake/x.parquet",
        schema.DIM_DATE.arrow_schema.empty_table(),
        ledger,
        now,
    )


def _staged_keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket="etl-staging").get("Contents", [])]


def test_stage_file_copies_from_a_unique_prefix_and_removes_it(
    aws: Any, secret_arn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wh, made = _warehouse(secret_arn)
    seen: list[list[str]] = []
    real_execute = wh.execute

    def spy(sql: str, params: Any = ()) -> None:
        if sql.startswith("COPY"):
            seen.append(_staged_keys(aws))  # the Parquet is in place when COPY runs
        real_execute(sql, params)

    monkeypatch.setattr(wh, "execute", spy)
    wh.stage_file("stg_fact_repayment", schema.FACT_REPAYMENT, _fact_load(tmp_path))

    [[staged]] = seen
    assert staged.startswith("staging/") and staged.endswith("/fact_repayment/part.parquet")
    prefix = "s3://etl-staging/" + staged.removesuffix("part.parquet")
    statements = [sql for sql, _ in made[0].statements]
    assert statements[-1] == copy_statement("stg_fact_repayment", schema.FACT_REPAYMENT, prefix, ROLE)
    assert statements[0].startswith("CREATE TEMPORARY TABLE stg_fact_repayment (")
    assert _staged_keys(aws) == []


def test_staging_objects_are_deleted_when_copy_fails(aws: Any, secret_arn: str, tmp_path: Path) -> None:
    wh, made = _warehouse(secret_arn)
    wh.query("SELECT 1")
    made[0].fail_on = "COPY"
    with pytest.raises(RuntimeError, match="simulated failure"):
        wh.stage_file("stg_fact_repayment", schema.FACT_REPAYMENT, _fact_load(tmp_path))
    assert _staged_keys(aws) == []


def test_a_failed_staging_upload_is_a_retryable_warehouse_error(
    aws: Any, secret_arn: str, tmp_path: Path
) -> None:
    aws.delete_bucket(Bucket="etl-staging")
    wh, _ = _warehouse(secret_arn)
    with pytest.raises(
        WarehouseError,
        match=r"^cannot stage s3://etl-staging/staging/\w+/fact_repayment/ for COPY: .*NoSuchBucket",
    ) as caught:
        wh.stage_file("stg_fact_repayment", schema.FACT_REPAYMENT, _fact_load(tmp_path))
    assert caught.value.retryable is True


def test_a_failed_staging_upload_stays_retryable_through_load_file(
    aws: Any, secret_arn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("etl.load.warehouse.base.time.sleep", lambda _: None)
    aws.delete_bucket(Bucket="etl-staging")
    wh, _ = _warehouse(secret_arn)
    with pytest.raises(
        WarehouseError, match=r"^s3://raw/r.csv: loading into fact_repayment failed: cannot stage "
    ) as caught:
        wh.load_file(_fact_load(tmp_path))
    assert caught.value.retryable is True  # load_file re-wrapped it as not retryable


def test_a_non_empty_staging_prefix_is_refused(
    aws: Any, secret_arn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FixedUuid:
        hex = "0" * 32

    monkeypatch.setattr(redshift.uuid, "uuid4", lambda: FixedUuid())
    aws.put_object(Bucket="etl-staging", Key=f"staging/{'0' * 32}/fact_repayment/other.parquet", Body=b"x")
    wh, made = _warehouse(secret_arn)
    with pytest.raises(WarehouseError, match="is not empty: refusing"):
        wh.stage_file("stg_fact_repayment", schema.FACT_REPAYMENT, _fact_load(tmp_path))
    assert not any(sql.startswith("COPY") for sql, _ in made[0].statements)
    assert _staged_keys(aws) == [f"staging/{'0' * 32}/fact_repayment/other.parquet"]  # not ours: untouched


# ---- a whole run: every statement Redshift would receive -------------------------------------------------------


def test_a_pipeline_run_sends_only_statements_that_parse_as_redshift(
    aws: Any, secret_arn: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write(data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,100.10,2023-01-01,700,Employed,1000\n")
    write(data, "bank_statements", "s.csv", STMT_HEADER + "\nT1,C9,2023-01-05,-5.00,POS PURCHASE,1.00\n")
    write(data, "repayments", "r.csv", REPAY_HEADER + "\nR1,A1,2023-02-01,100.00,2023-02-05,100.00\n")
    wh, made = _warehouse(secret_arn)
    settings = Settings(lake=str(tmp_path / "lake"), warehouse_url=URL + "&secret_arn=x")

    report = Pipeline(settings, LocalLake(settings.lake), wh).run(discover([data]))

    assert [f.status for f in report.files] == ["loaded", "loaded", "loaded"]
    statements = [sql for conn in made for sql, _ in conn.statements]
    kinds: dict[str, int] = {}
    for sql in statements:
        if sql == "LOCK etl_file_ledger":  # Redshift's LOCK: sqlglot keeps it as a command, nothing to check
            continue
        parsed = _parse(sql)
        kinds[type(parsed).__name__] = kinds.get(type(parsed).__name__, 0) + 1
    assert kinds["Merge"] >= 3 + 1  # one per fact file, and dim_customer for the applications
    assert kinds["Copy"] == 3 + 1  # one per fact file, and the statements' conflict check (policy quarantine)
    loads = [i for i, sql in enumerate(statements) if sql == "LOCK etl_file_ledger"]
    assert len(loads) == 3  # every file load starts by taking the ledger lock
    for start in loads:
        assert statements[start + 1].startswith("SELECT status FROM etl_file_ledger WHERE file_id = %s")
    # The LOCK opens its transaction: a ledger read before it, left open, held AccessShareLock through the
    # parse, and two loaders upgrading to AccessExclusive in the same transaction deadlocked.
    log = made[0].log
    locks = [i for i, sql in enumerate(log) if sql == "LOCK etl_file_ledger"]
    assert len(locks) == 3
    assert all(log[i - 1] in ("COMMIT", "ROLLBACK") for i in locks), [log[i - 1][:60] for i in locks]
    # and no statement is left open outside a load: each one outside a transaction is committed
    assert not made[0].in_transaction
    assert _staged_keys(aws) == []
    assert made[0].commits >= 3


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        (
            "ERROR: 1023 DETAIL: Serializable isolation violation on table - 100, transactions forming the cycle",
            True,
        ),
        ("ERROR: deadlock detected DETAIL: Process 1 waits for AccessExclusiveLock on relation 2", True),
        ("connection reset by peer", True),
        ('ERROR: column "x" does not exist', False),
        ("ERROR: Value too long for character type", False),
    ],
)
def test_conflicts_and_lost_connections_are_retried_other_errors_are_not(
    message: str, transient: bool
) -> None:
    wh = RedshiftWarehouse(RedshiftTarget.parse(f"{URL}&secret_arn=x"), connect=FakeConnection)
    assert wh.is_transient(RuntimeError(message)) is transient


def test_a_serialisation_conflict_in_the_schema_step_is_retried_on_a_new_connection(
    aws: Any, secret_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two first loads after an upgrade both set the schema up; Redshift aborts one of them with 1023
    monkeypatch.setattr("etl.load.warehouse.base.time.sleep", lambda _: None)
    made: list[FakeConnection] = []

    class Conflicting(FakeCursor):
        def execute(self, sql: str, params: Any = None) -> None:
            if self.conn is made[0] and sql.startswith("DELETE FROM etl_schema_version"):
                raise RuntimeError(
                    "ERROR: 1023 DETAIL: Serializable isolation violation on table etl_schema_version"
                )
            super().execute(sql, params)

    def connect(**kwargs: Any) -> FakeConnection:
        conn = FakeConnection(**kwargs)
        conn.cursor = lambda: Conflicting(conn)  # type: ignore[method-assign]
        made.append(conn)
        return conn

    wh = RedshiftWarehouse(RedshiftTarget.parse(f"{URL}&secret_arn={secret_arn}"), connect=connect)
    wh.ensure_schema([])
    assert len(made) == 2 and made[0].rollbacks >= 1
    assert "DELETE FROM etl_schema_version" in made[1].log and made[1].log[-1] == "COMMIT"
