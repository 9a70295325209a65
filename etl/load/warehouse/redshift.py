"""Redshift (redshift-connector): the production warehouse.

URL: ``redshift://<host>:5439/<database>?secret_arn=<arn>&iam_role=<arn>&staging=s3://<bucket>/staging/``.
Credentials come from the Secrets Manager secret (JSON ``{"username", "password"}``, as Redshift's own
secrets hold them); ``user:password@`` in the URL is accepted for local testing.

A file's fact rows are staged as Parquet under a unique prefix ``<staging>/<uuid>/<table>/`` (a non-empty
prefix is refused: COPY would load whatever else is there), copied with ``COPY <temp> FROM '<prefix>'
IAM_ROLE '<role>' FORMAT AS PARQUET`` (columns by position) and merged with the statements every backend
shares; the staged objects are deleted afterwards whatever happens. Small dimension rows are staged with a multi-row
INSERT of bound parameters. Redshift runs transactions serialisably and does not enforce keys, so a load
takes ``LOCK etl_file_ledger`` first: concurrent loads queue instead of failing with error 1023, and the
ledger check inside the lock makes a second loader of the same content skip it.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pyarrow as pa
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from etl.errors import ConfigError, Redactor, WarehouseError, redact_urls, url_secrets
from etl.load.sql import SqlBuilder
from etl.load.warehouse.base import FileLoad, LoadCounts, Warehouse, first_line
from etl.model.schema import TableSpec
from etl.settings import Settings

INSERT_BATCH_ROWS = 500
# Serialisable isolation violation, and the connection-level failures a new connection may not meet.
TRANSIENT_MARKERS = (
    "1023",
    "serializable isolation violation",
    "deadlock",
    "connection",
    "timeout",
    "reset by peer",
)


@dataclass(frozen=True)
class RedshiftTarget:
    host: str
    port: int
    database: str
    iam_role: str
    staging: str  # s3://bucket/prefix/ (ends with a slash)
    secret_arn: str | None = None
    user: str | None = None
    password: str | None = None
    region: str | None = None

    @classmethod
    def parse(cls, url: str) -> RedshiftTarget:
        try:
            return cls._parse(url)
        except (
            ValueError
        ):  # Python's URL parser: an unclosed "[" ("Invalid IPv6 URL"), a port that is no number
            raise ConfigError(_not_redshift(url)) from None

    @classmethod
    def _parse(cls, url: str) -> RedshiftTarget:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        database = parts.path.lstrip("/")
        if parts.scheme != "redshift" or not parts.hostname or not database:
            raise ConfigError(_not_redshift(url))
        iam_role, staging = query.get("iam_role"), query.get("staging")
        if not iam_role or not staging or not staging.startswith("s3://"):
            raise ConfigError("a redshift:// URL needs iam_role=<role arn> and staging=s3://bucket/prefix/")
        if not query.get("secret_arn") and not (parts.username and parts.password):
            raise ConfigError("a redshift:// URL needs secret_arn=<Secrets Manager arn> (or user:password@)")
        return cls(
            host=parts.hostname,
            port=parts.port or 5439,
            database=database,
            iam_role=iam_role,
            staging=staging.rstrip("/") + "/",
            secret_arn=query.get("secret_arn"),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            region=query.get("region"),
        )


def credentials_from_secret(
    secret_arn: str, *, boto3_session: boto3.Session | None = None
) -> tuple[str, str]:
    """(username, password) from a Secrets Manager secret holding Redshift's JSON credentials."""
    client = (boto3_session or boto3.Session()).client("secretsmanager")
    try:
        value = client.get_secret_value(SecretId=secret_arn)
        secret = json.loads(value["SecretString"])
        return str(secret["username"]), str(secret["password"])
    except (KeyError, ValueError, TypeError):
        raise ConfigError(f"secret {secret_arn} does not hold JSON with username and password") from None
    except Exception as exc:  # botocore ClientError / connection errors: the secret may be readable later
        raise WarehouseError(f"cannot read secret {secret_arn}: {exc}", retryable=True) from None


def copy_statement(staging_table: str, spec: TableSpec, prefix: str, iam_role: str) -> str:
    """COPY of the staged Parquet into the staging table, without a column list: from columnar files
    Redshift fills the table's columns by position, and their number must match ("COPY from columnar data
    formats"). The staging table is created from `spec` (create_staging) and the Parquet is written with
    `spec.arrow_schema`, so both hold the same columns in the same order."""
    return f"COPY {staging_table} FROM {_literal(prefix)} IAM_ROLE {_literal(iam_role)} FORMAT AS PARQUET"


def insert_statement(staging_table: str, spec: TableSpec, rows: int) -> str:
    placeholders = "(" + ", ".join(["%s"] * len(spec.columns)) + ")"
    return f"INSERT INTO {staging_table} ({', '.join(spec.column_names)}) VALUES " + ", ".join(
        [placeholders] * rows
    )


class RedshiftWarehouse(Warehouse):
    dialect = "redshift"
    sql = SqlBuilder("redshift", "%s")

    def __init__(
        self,
        target: RedshiftTarget,
        *,
        boto3_session: boto3.Session | None = None,
        connect: Any | None = None,
    ) -> None:
        self.target = target
        self.session = boto3_session or boto3.Session(region_name=target.region)
        self._connect_fn = connect
        self._conn: Any = None
        self._s3: Any = None
        self._in_transaction = False  # between begin() and commit()/rollback()

    @classmethod
    def from_url(
        cls, url: str, *, settings: Settings | None = None, boto3_session: boto3.Session | None = None
    ) -> RedshiftWarehouse:
        return cls(RedshiftTarget.parse(url), boto3_session=boto3_session)

    # ---- connection ----------------------------------------------------------------------------------
    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> Any:
        t = self.target
        user, password = t.user, t.password
        if t.secret_arn and not (user and password):
            user, password = credentials_from_secret(t.secret_arn, boto3_session=self.session)
        connect = self._connect_fn
        if connect is None:
            import redshift_connector  # lazy: the module imports without the driver or a server

            connect = redshift_connector.connect
        try:
            conn = connect(host=t.host, port=t.port, database=t.database, user=user, password=password)
        except Exception as exc:
            raise WarehouseError(
                f"cannot connect to Redshift {t.host}: {first_line(exc)}", retryable=True
            ) from None
        conn.autocommit = False
        return conn

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = self.session.client("s3")
        return self._s3

    # ---- primitives ----------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql, list(params) if params else None)
        finally:
            cursor.close()
        self._end_implicit()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql, list(params) if params else None)
            rows = [tuple(row) for row in cursor.fetchall() or ()]
        finally:
            cursor.close()
        self._end_implicit()
        return rows

    def _end_implicit(self) -> None:
        """Outside begin()/commit() a statement is its own transaction. redshift-connector (autocommit off)
        opens one with any statement, and a ledger read left open would hold its AccessShareLock through the
        parse of the file: the load's `LOCK etl_file_ledger` (AccessExclusive) in that same transaction is
        then a lock upgrade, and two loaders upgrading deadlock."""
        if not self._in_transaction and getattr(self.conn, "in_transaction", False):
            self.conn.commit()

    def begin(self) -> None:
        """The transaction opens with the next statement (autocommit off): for a load, its LOCK."""
        if getattr(self.conn, "in_transaction", False):
            self.conn.rollback()
        self._in_transaction = True

    def commit(self) -> None:
        try:
            self.conn.commit()
        finally:
            self._in_transaction = False

    def rollback(self) -> None:
        self._in_transaction = False
        if self._conn is not None:
            self._conn.rollback()

    def close(self) -> None:
        self._in_transaction = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stage_table(self, staging: str, spec: TableSpec, rows: pa.Table) -> None:
        self.execute(self.sql.create_staging(spec, staging))
        rows = rows.select(list(spec.column_names))
        for batch in rows.to_batches(INSERT_BATCH_ROWS):
            values = [tuple(r.values()) for r in batch.to_pylist()]
            if values:
                self.execute(insert_statement(staging, spec, len(values)), [v for row in values for v in row])

    def stage_file(self, staging: str, spec: TableSpec, load: FileLoad) -> None:
        self.execute(self.sql.create_staging(spec, staging))
        prefix = f"{self.target.staging}{uuid.uuid4().hex}/{spec.name}/"
        bucket, key_prefix = _split(prefix)
        with _staging_errors(prefix):
            occupied = self.s3.list_objects_v2(Bucket=bucket, Prefix=key_prefix, MaxKeys=1).get("KeyCount", 0)
        if occupied:
            raise WarehouseError(f"staging prefix {prefix} is not empty: refusing to COPY from it")
        try:
            with _staging_errors(prefix):
                self.s3.upload_file(str(load.fact_path), bucket, key_prefix + "part.parquet")
            self.execute(copy_statement(staging, spec, prefix, self.target.iam_role))
        except BaseException:
            with contextlib.suppress(BotoCoreError, ClientError):  # the first error is the one to report
                self.delete_prefix(prefix)
            raise
        with _staging_errors(prefix):
            self.delete_prefix(prefix)

    def delete_prefix(self, prefix: str) -> None:
        bucket, key_prefix = _split(prefix)
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=key_prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self.s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})

    # ---- hooks ---------------------------------------------------------------------------------------
    def ensure_schema(self, seeds: Sequence[tuple[TableSpec, pa.Table]]) -> None:
        """Two first loads after an upgrade both set the schema up; one of them can meet a serialisable
        isolation conflict (1023): it is retried, on a new connection, like a load."""
        self._set_up_schema_retrying(seeds, (Exception,))

    def _load_file(self, load: FileLoad, *, exclusive: bool) -> LoadCounts:
        self.execute("LOCK etl_file_ledger")  # one loader at a time; see the module docstring
        return super()._load_file(load, exclusive=exclusive)

    def is_transient(self, exc: Exception) -> bool:
        text = str(exc).lower()
        if any(marker in text for marker in TRANSIENT_MARKERS):
            return True
        try:
            from redshift_connector.error import InterfaceError, OperationalError
        except ImportError:  # pragma: no cover
            return False
        return isinstance(exc, (InterfaceError, OperationalError))

    def reconnect(self) -> None:
        try:
            self.close()
        except Exception:  # the old connection is gone either way
            self._conn = None


@contextlib.contextmanager
def _staging_errors(prefix: str) -> Iterator[None]:
    """S3 errors of the staging area as a retryable WarehouseError (upload_file raises S3UploadFailedError,
    which is not a ClientError)."""
    try:
        yield
    except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
        raise WarehouseError(f"cannot stage {prefix} for COPY: {exc}", retryable=True) from None


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _not_redshift(url: str) -> str:
    return f"warehouse URL {_redact(url)!r} is not redshift://host:5439/database?..."


def _redact(url: str) -> str:
    """The URL with its password hidden, however it is written (see `etl.errors.url_secrets`)."""
    return redact_urls(Redactor(url_secrets(url))(url))
