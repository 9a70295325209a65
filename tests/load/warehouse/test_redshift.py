"""Redshift without a cluster: every statement the backend sends is parsed with sqlglot's Redshift dialect;
S3 staging and Secrets Manager run on moto. The same shared statements run for real in the PostgreSQL tests.
Staging, the Parquet COPY reads, the load lock and the ledger of rejected files: test_redshift_staging.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlglot import exp

from etl.errors import ConfigError
from etl.extract.discover import discover
from etl.load.lake import LocalLake
from etl.load.sql import LOAD_LOCK_TABLE, SMALL_DIMENSIONS, SqlBuilder
from etl.load.warehouse import redshift
from etl.load.warehouse.redshift import RedshiftTarget, RedshiftWarehouse, copy_statement
from etl.model import schema
from etl.model.marts import MARTS
from etl.pipeline import Pipeline
from etl.settings import Settings
from tests.helpers import APP_HEADER, REPAY_HEADER, STMT_HEADER, write
from tests.load.warehouse.redshift_fakes import (
    HOST,
    LOCK,
    ROLE,
    URL,
    FakeConnection,
    FakeCursor,
    make_warehouse,
    parse,
    staged_keys,
)

# Redshift's leader-node-only functions ("Leader node-only functions"): an error in a statement that
# touches a user table. CURRENT_SCHEMA is allowed in catalog queries only (information_schema).
LEADER_NODE_ONLY = re.compile(
    r"\b(CURRENT_TIME|CURRENT_TIMESTAMP|LOCALTIME|ISFINITE|NOW\s*\(|AGE\s*\()", re.I
)

# ---- URL and credentials ----------------------------------------------------------------------------------


def test_url_names_host_database_role_a_staging_prefix_and_the_schema() -> None:
    target = RedshiftTarget.parse(f"{URL}&secret_arn=arn:aws:secretsmanager:us-east-1:1:secret:x")
    assert (target.host, target.port, target.database, target.schema) == (HOST, 5439, "analytics", "public")
    assert (target.iam_role, target.staging) == (ROLE, "s3://etl-staging/staging/")
    local = RedshiftTarget.parse(
        f"redshift://me:s%40cret@localhost:5439/dev?iam_role={ROLE}&staging=s3://b/p/&schema=risk_mart"
    )
    assert (local.user, local.password, local.secret_arn, local.schema) == ("me", "s@cret", None, "risk_mart")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redshift://host:5439/db?staging=s3://b/p/&secret_arn=x", "iam_role"),
        (f"redshift://host:5439/db?iam_role={ROLE}&secret_arn=x", "staging"),
        (f"redshift://host:5439/db?iam_role={ROLE}&staging=s3://b/p/", "secret_arn"),
        (f"redshift://host:5439/?iam_role={ROLE}&staging=s3://b/p/&secret_arn=x", "host:5439/database"),
        (f"{URL}&secret_arn=x&schema=Public;DROP", "schema='Public;DROP' in the redshift:// URL is not"),
    ],
)
def test_incomplete_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        RedshiftTarget.parse(url)


def test_a_connection_times_out_connecting_sets_its_schema_and_then_waits_for_statements(
    secret_arn: str,
) -> None:
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    wh.query("SELECT 1")
    [conn] = made
    assert conn.kwargs == {
        "host": HOST,
        "port": 5439,
        "database": "analytics",
        "user": "etl",
        "password": "p@ss",
        "timeout": redshift.CONNECT_TIMEOUT_S,
    }
    # redshift-connector keeps `timeout` on the socket for the whole session: a long COPY would fail
    assert conn._usock.timeouts == [None]
    assert conn.autocommit is False
    # the schema QuickSight reads, set and committed before anything else (a rollback would undo a SET)
    assert conn.log[:3] == ["SET search_path TO public", "COMMIT", "SELECT 1"]
    assert isinstance(parse(conn.log[0]), exp.Set)
    assert redshift.credentials_from_secret(secret_arn) == ("etl", "p@ss")


def test_a_schema_other_than_public_is_created_and_searched(secret_arn: str) -> None:
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}&schema=risk")
    wh.ensure_schema([])
    log = made[0].log
    assert log[:2] == ["SET search_path TO risk", "COMMIT"]
    assert log[2] == "CREATE SCHEMA IF NOT EXISTS risk"
    assert isinstance(parse(log[2]), exp.Create)


@pytest.mark.parametrize("lock_table", [True, False])
def test_the_schema_step_is_skipped_only_when_the_lock_table_is_there_too(
    secret_arn: str, lock_table: bool
) -> None:
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    digest = wh.schema_digest([])
    made_by_the_step = [t.name for t in schema.ALL_TABLES] + [m.name for m in MARTS]

    class Answering(FakeCursor):
        def execute(self, sql: str, params: Any = None) -> None:
            super().execute(sql, params)
            if "table_schema = current_schema()" in sql:
                self.rows = [(name,) for name in made_by_the_step]
            elif sql == "SELECT digest FROM etl_schema_version":
                self.rows = [(digest,)]
            elif "table_name = %s" in sql:
                assert params == ["public", LOAD_LOCK_TABLE]
                self.rows = [(1,)] if lock_table else []

    wh.query("SELECT 1")
    made[0].cursor = lambda: Answering(made[0])  # type: ignore[method-assign]
    assert wh.schema_is(digest) is lock_table


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


def test_ddl_parses_as_redshift_with_distribution_and_sort_keys_and_no_key_constraints() -> None:
    builder = SqlBuilder("redshift", "%s")
    for spec in schema.ALL_TABLES:
        ddl = builder.create_table(spec)
        parsed = parse(ddl)
        assert isinstance(parsed, exp.Create)
        if spec.name in SMALL_DIMENSIONS:
            assert "DISTSTYLE ALL" in ddl, spec.name
        if spec.kind == "fact":
            assert f"DISTSTYLE KEY DISTKEY ({spec.distkey})" in ddl
            assert f"COMPOUND SORTKEY ({', '.join(spec.sortkey)})" in ddl
        # Redshift's planner trusts a declared key it never enforces: none is declared there
        assert not list(parsed.find_all(exp.PrimaryKey)) and "PRIMARY KEY" not in ddl, spec.name
        for column in spec.columns:  # NOT NULL, which Redshift does enforce, stays
            assert (f"{column.name} {column.sql_type} NOT NULL" in ddl) is (not column.nullable)
    assert "DISTSTYLE KEY DISTKEY (customer_key)" in builder.create_table(schema.FACT_LOAN_APPLICATION)
    assert "COMPOUND SORTKEY (loan_application_date)" in builder.create_table(schema.FACT_LOAN_APPLICATION)
    # PostgreSQL enforces them, and concurrent loaders there rely on it
    assert "PRIMARY KEY (application_id)" in SqlBuilder("postgres", "%s").create_table(
        schema.FACT_LOAN_APPLICATION
    )


def test_the_load_lock_is_a_table_of_its_own_that_the_schema_step_makes() -> None:
    ddl = SqlBuilder("redshift", "%s").ddl()
    assert ddl[-1] == f"CREATE TABLE IF NOT EXISTS {LOAD_LOCK_TABLE} (id INTEGER)"
    assert isinstance(parse(ddl[-1]), exp.Create)
    assert LOAD_LOCK_TABLE not in " ".join(SqlBuilder("postgres", "%s").ddl())
    assert LOAD_LOCK_TABLE not in {t.name for t in schema.ALL_TABLES}  # nothing reads it


@pytest.mark.parametrize(
    "spec", [schema.FACT_LOAN_APPLICATION, schema.FACT_BANK_TRANSACTION, schema.FACT_REPAYMENT]
)
def test_copy_fills_the_staging_table_by_position_from_parquet_of_the_same_columns(
    spec: schema.TableSpec, tmp_path: Path
) -> None:
    # From Parquet, COPY maps columns by position and their number must match the table's (Redshift's
    # "COPY from columnar data formats"); a column list is not among the parameters that page allows,
    # STATUPDATE is (a COPY into an empty table would otherwise ANALYZE it), COMPUPDATE is not.
    sql = copy_statement(f"stg_{spec.name}", spec, f"s3://etl-staging/staging/abc/{spec.name}/", ROLE)
    assert sql == (
        f"COPY stg_{spec.name} FROM 's3://etl-staging/staging/abc/{spec.name}/' IAM_ROLE '{ROLE}' "
        "FORMAT AS PARQUET STATUPDATE OFF"
    )
    assert isinstance(parse(sql), exp.Copy)
    assert "COMPUPDATE" not in sql
    staging = parse(SqlBuilder("redshift", "%s").create_staging(spec, f"stg_{spec.name}"))
    staged_columns = [c.name for c in staging.this.expressions]
    import pyarrow.parquet as pq

    path = tmp_path / "fact.parquet"
    pq.write_table(spec.arrow_schema.empty_table(), path)  # as the pipeline writes the fact Parquet
    assert pq.read_schema(path).names == staged_columns == list(spec.column_names)


# ---- a whole run: every statement Redshift would receive -------------------------------------------------------


def _three_files(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    write(data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,100.10,2023-01-01,700,Employed,1000\n")
    write(data, "bank_statements", "s.csv", STMT_HEADER + "\nT1,C9,2023-01-05,-5.00,POS PURCHASE,1.00\n")
    write(data, "repayments", "r.csv", REPAY_HEADER + "\nR1,A1,2023-02-01,100.00,2023-02-05,100.00\n")
    return data


def test_a_pipeline_run_sends_only_statements_that_parse_as_redshift(
    aws: Any, secret_arn: str, tmp_path: Path
) -> None:
    data = _three_files(tmp_path)
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    settings = Settings(lake=str(tmp_path / "lake"), warehouse_url=URL + "&secret_arn=x")

    report = Pipeline(settings, LocalLake(settings.lake), wh).run(discover([data]))

    assert [f.status for f in report.files] == ["loaded", "loaded", "loaded"]
    statements = [sql for conn in made for sql, _ in conn.statements]
    kinds: dict[str, int] = {}
    for sql in statements:
        if sql == LOCK:  # Redshift's LOCK: sqlglot keeps it as a command, nothing to check
            continue
        parsed = parse(sql)
        kinds[type(parsed).__name__] = kinds.get(type(parsed).__name__, 0) + 1
        # leader-node-only functions fail in statements on user tables (the schema step's inserts used
        # CURRENT_TIMESTAMP); the catalog query may use current_schema()
        if "information_schema" not in sql:
            assert not LEADER_NODE_ONLY.search(sql), sql[:120]
            assert not list(parsed.find_all(exp.CurrentTimestamp, exp.CurrentTime)), sql[:120]
    assert kinds["Merge"] >= 3  # one per fact file
    assert kinds["Update"] >= 1  # dim_customer's members (inserted first) get the applications' attributes
    # one per fact file, the statements' conflict check (policy quarantine), and the customers of the two
    # files that name them (applications, statements; these repayments have no customer_id)
    assert kinds["Copy"] == 3 + 1 + 2
    loads = [i for i, sql in enumerate(statements) if sql == LOCK]
    assert len(loads) == 3  # every file load starts by taking the load lock, not a lock on the ledger
    assert not any(sql.startswith("LOCK") and sql != LOCK for sql in statements)
    for start in loads:
        assert statements[start + 1].startswith("SELECT status FROM etl_file_ledger WHERE file_id = %s")
    # The LOCK opens its transaction: nothing of the file (no ledger read) is left open before it
    log = made[0].log
    locks = [i for i, sql in enumerate(log) if sql == LOCK]
    assert all(log[i - 1] in ("COMMIT", "ROLLBACK") for i in locks), [log[i - 1][:60] for i in locks]
    # and no statement is left open outside a load: each one outside a transaction is committed
    assert not made[0].in_transaction
    assert staged_keys(aws) == []
    assert made[0].commits >= 3


def test_the_schema_step_binds_its_timestamps(secret_arn: str) -> None:
    wh, made = make_warehouse(f"{URL}&secret_arn={secret_arn}")
    wh.ensure_schema([])
    sent = dict(made[0].statements)
    unknown = next(s for s in sent if s.startswith("INSERT INTO dim_customer"))
    version = next(s for s in sent if s.startswith("INSERT INTO etl_schema_version"))
    assert unknown.endswith("VALUES (-1, '(unknown)', TRUE, 0, %s)")
    assert version == "INSERT INTO etl_schema_version (digest, applied_at) VALUES (%s, %s)"
    [updated_at] = sent[unknown]
    digest, applied_at = sent[version]
    assert applied_at == updated_at and applied_at.tzinfo is None and len(digest) == 64


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
