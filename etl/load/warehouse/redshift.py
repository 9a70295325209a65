"""Redshift (redshift-connector): the production warehouse.

URL: ``redshift://<host>:5439/<database>?secret_arn=<arn>&iam_role=<arn>&staging=s3://<bucket>/staging/``
(optional ``&schema=<name>``, default ``public``: every connection sets ``search_path`` to it, so the tables,
the views and the ledger are made and read there, where QuickSight's datasets look; a schema other than
``public`` is created when missing). Credentials come from the Secrets Manager secret (JSON ``{"username",
"password"}``, as Redshift's own secrets hold them); ``user:password@`` in the URL is accepted for local testing.

A file's fact rows are rewritten as Parquet that COPY reads (``REDSHIFT_COPY_OPTIONS``: INT96 timestamps,
format 1.0, snappy) and uploaded under a unique prefix ``<staging>/<uuid>/<table>/`` before the file's
transaction begins (a non-empty prefix is refused: COPY would load whatever else is there). Inside it,
``COPY <temp> FROM '<prefix>' IAM_ROLE '<role>' FORMAT AS PARQUET STATUPDATE OFF`` (columns by position)
and the statements every backend shares; the staged objects are deleted afterwards whatever happens. Small
dimension rows are staged with a multi-row INSERT of bound parameters.

Redshift runs transactions serialisably and enforces no keys, so every load and every ledger write takes
``LOCK etl_load_lock`` first: concurrent loads queue instead of failing with error 1023, and the ledger
check inside the lock makes a second loader of the same content skip it. The lock table holds nothing and
nothing reads it: LOCK also blocks reads, and dashboards, the smoke test and the data tests read the ledger.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from etl.errors import ConfigError, Redactor, WarehouseError, first_line, redact_urls, url_secrets
from etl.load.ledger import LedgerRow
from etl.load.sql import LOAD_LOCK_TABLE, SqlBuilder
from etl.load.warehouse.base import FileLoad, HeldKey, LoadCounts, Warehouse
from etl.model.parquet import REDSHIFT_COPY_OPTIONS
from etl.model.schema import FILE_CUSTOMERS, TableSpec
from etl.settings import Settings

logger = logging.getLogger(__name__)

INSERT_BATCH_ROWS = 500
COPY_BATCH_ROWS = 128 * 1024  # rows per batch when rewriting the fact Parquet for COPY (bounded memory)
# Seconds to wait for the server when connecting. redshift-connector applies its `timeout` to the socket
# for the whole session, so it is lifted once connected: a COPY or MERGE may run longer than that.
CONNECT_TIMEOUT_S = 10
DEFAULT_SCHEMA = "public"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,126}$")
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
    schema: str = DEFAULT_SCHEMA

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
        schema = query.get("schema", DEFAULT_SCHEMA)
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(
                f"schema={schema!r} in the redshift:// URL is not a lower-case name (letters, digits, _)"
            )
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
            schema=schema,
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
    `spec.arrow_schema`, so both hold the same columns in the same order.

    STATUPDATE OFF: a COPY into an empty table otherwise runs ANALYZE on it, once per file for a temporary
    table that is read once. COMPUPDATE is not among the parameters COPY from Parquet accepts (that page
    lists ACCEPTINVCHARS, FILLRECORD, FROM, IAM_ROLE, CREDENTIALS, STATUPDATE, MANIFEST, the access keys and
    EXPLICIT_IDS) and it applies no compression encodings from columnar files anyway."""
    return (
        f"COPY {staging_table} FROM {_literal(prefix)} IAM_ROLE {_literal(iam_role)} "
        "FORMAT AS PARQUET STATUPDATE OFF"
    )


def write_copy_parquet(source: Path, target: Path) -> None:
    """The fact rows of `source` rewritten for COPY with `REDSHIFT_COPY_OPTIONS`, batch by batch: the same
    columns, rows and values; only the encoding differs (INT96 timestamps, format 1.0, snappy)."""
    parquet = pq.ParquetFile(source)
    with pq.ParquetWriter(target, parquet.schema_arrow, **REDSHIFT_COPY_OPTIONS) as out:
        for batch in parquet.iter_batches(batch_size=COPY_BATCH_ROWS):
            out.write_batch(batch)


def customers_prefix(prefix: str) -> str:
    """Where a load's customers are staged beside its fact rows: `<staging>/<uuid>/file_customers/` for the
    fact's `<staging>/<uuid>/<fact>/` (COPY reads every object under a prefix: not under the fact's)."""
    return prefix.rstrip("/").rsplit("/", 1)[0] + f"/{FILE_CUSTOMERS.name}/"


def _staged_prefixes(load: FileLoad, prefix: str) -> list[str]:
    """What `stage_for_copy` staged for `load` at `prefix`: its fact rows, and its customers if it names any."""
    return [prefix, customers_prefix(prefix)] if load.customer_ids.num_rows else [prefix]


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
        self._copy_prefixes: dict[Path, str] = {}  # a load's fact Parquet -> where it was staged for COPY

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
            conn = connect(
                host=t.host,
                port=t.port,
                database=t.database,
                user=user,
                password=password,
                timeout=CONNECT_TIMEOUT_S,
            )
        except Exception as exc:
            raise WarehouseError(
                f"cannot connect to Redshift {t.host}: {first_line(exc)}", retryable=True
            ) from None
        _lift_socket_timeout(conn)
        conn.autocommit = False
        try:
            # Set and committed at once: a SET in a transaction that rolls back is undone with it.
            cursor = conn.cursor()
            try:
                cursor.execute(f"SET search_path TO {t.schema}")
            finally:
                cursor.close()
            conn.commit()
        except Exception as exc:
            with contextlib.suppress(Exception):
                conn.close()
            raise WarehouseError(
                f"cannot use schema {t.schema} on Redshift {t.host}: {first_line(exc)}", retryable=True
            ) from None
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
        opens one with any statement, and a ledger read left open would hold its locks and its snapshot
        through the parse of the file, into the load's transaction that its `LOCK` should open."""
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
        """COPY the file's rows from where `load_file` staged them, before its transaction began."""
        prefix = self._copy_prefixes.get(load.fact_path)
        if prefix is None:
            raise WarehouseError(f"{load.fact_path} was not staged for COPY: load it with load_file")
        self.execute(self.sql.create_staging(spec, staging))
        self.execute(copy_statement(staging, spec, prefix, self.target.iam_role))

    def stage_customers(self, staging: str, load: FileLoad) -> None:
        """COPY the file's customers from where `load_file` staged them (an application file names about as
        many customers as rows: 500-row INSERTs, as small tables are staged, would be thousands of
        statements); none staged when the file names none."""
        prefix = self._copy_prefixes.get(load.fact_path)
        if prefix is None:
            raise WarehouseError(f"{load.fact_path} was not staged for COPY: load it with load_file")
        self.execute(self.sql.create_staging(FILE_CUSTOMERS, staging))
        if load.customer_ids.num_rows:
            self.execute(
                copy_statement(staging, FILE_CUSTOMERS, customers_prefix(prefix), self.target.iam_role)
            )

    def load_file(self, load: FileLoad) -> LoadCounts | None:
        """Stage the file's rows on S3, then load them (`Warehouse.load_file`: one transaction, retried on
        conflicts), then delete what was staged, whatever happened.

        The upload runs before the transaction, so the load's lock is held for its statements only, and
        a retried transaction COPYs the same objects again instead of uploading them again."""
        with self._staged_for_copy(load, "loading into"):
            return super().load_file(load)

    def conflicting_rows(self, load: FileLoad) -> list[HeldKey]:
        """As every backend's (a read-only transaction that COPYs the rows), with the rows staged first."""
        with self._staged_for_copy(load, "checking the keys of"):
            return super().conflicting_rows(load)

    @contextlib.contextmanager
    def _staged_for_copy(self, load: FileLoad, doing: str) -> Iterator[None]:
        """The file's rows staged for COPY (`stage_for_copy`) while the body runs; deleted afterwards (a
        failure to delete is logged: the load's outcome stands, and the prefix is unique)."""
        try:
            prefix = self.stage_for_copy(load)
        except WarehouseError as exc:
            raise WarehouseError(
                f"{doing} {load.fact.name} failed: {exc.message}",
                path=load.ledger.uri,
                retryable=exc.retryable,
            ) from exc
        self._copy_prefixes[load.fact_path] = prefix
        try:
            yield
        finally:
            del self._copy_prefixes[load.fact_path]
            for staged in _staged_prefixes(load, prefix):
                try:
                    self.delete_prefix(staged)
                except (BotoCoreError, ClientError) as exc:
                    logger.warning("staged objects under %s were not deleted: %s", staged, exc)

    def stage_for_copy(self, load: FileLoad) -> str:
        """Write the Parquet COPY reads beside the fact Parquet and upload it to a new, empty prefix."""
        spec = load.fact
        prefix = f"{self.target.staging}{uuid.uuid4().hex}/{spec.name}/"
        bucket, key_prefix = _split(prefix)
        with _staging_errors(prefix):
            occupied = self.s3.list_objects_v2(Bucket=bucket, Prefix=key_prefix, MaxKeys=1).get("KeyCount", 0)
        if occupied:
            raise WarehouseError(f"staging prefix {prefix} is not empty: refusing to COPY from it")
        local = load.fact_path.with_name(f"{load.fact_path.stem}.copy.parquet")
        customers = load.fact_path.with_name("file_customers.copy.parquet")
        try:
            write_copy_parquet(load.fact_path, local)
            with _staging_errors(prefix):
                self.s3.upload_file(str(local), bucket, key_prefix + "part.parquet")
            if load.customer_ids.num_rows:  # the file's customers by key, beside it (`stage_customers`)
                rows = load.customer_ids.select(list(FILE_CUSTOMERS.column_names))
                pq.write_table(rows.cast(FILE_CUSTOMERS.arrow_schema), customers, **REDSHIFT_COPY_OPTIONS)
                _, customers_key = _split(customers_prefix(prefix))
                with _staging_errors(prefix):
                    self.s3.upload_file(str(customers), bucket, customers_key + "part.parquet")
        except BaseException:
            with contextlib.suppress(BotoCoreError, ClientError):  # the first error is the one to report
                for staged in _staged_prefixes(load, prefix):
                    self.delete_prefix(staged)
            raise
        finally:
            local.unlink(missing_ok=True)
            customers.unlink(missing_ok=True)
        return prefix

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
        isolation conflict (1023): it is retried, on a new connection, like a load. A schema other than
        `public` is created first when it is missing (every connection's search_path names it)."""
        if self.target.schema != DEFAULT_SCHEMA:
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.target.schema}")
        self._set_up_schema_retrying(seeds, (Exception,))

    def schema_is(self, digest: str) -> bool:
        """As every backend's, and the load lock's table is there too (a load cannot start without it)."""
        if not super().schema_is(digest):
            return False
        return bool(
            self.query(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                (self.target.schema, LOAD_LOCK_TABLE),
            )
        )

    def _load_file(self, load: FileLoad, *, exclusive: bool) -> LoadCounts:
        self.execute(f"LOCK {LOAD_LOCK_TABLE}")  # one loader at a time; see the module docstring
        return super()._load_file(load, exclusive=exclusive)

    def _record_ledger(self, row: LedgerRow) -> None:
        self.execute(f"LOCK {LOAD_LOCK_TABLE}")  # as a load: the ledger check and write under the same lock
        super()._record_ledger(row)

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


def _lift_socket_timeout(conn: Any) -> None:
    """No timeout on the connected socket (see CONNECT_TIMEOUT_S); redshift-connector keeps it as `_usock`."""
    sock = getattr(conn, "_usock", None)
    if sock is not None:
        sock.settimeout(None)


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
