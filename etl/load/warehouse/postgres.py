"""PostgreSQL (psycopg 3): a production target in its own right and the real-database test of the SQL Redshift shares.

Staging is `CREATE TEMPORARY TABLE` + `COPY ... FROM STDIN (FORMAT csv)`, fed from Arrow record batches, so a
file's rows stream from the local Parquet without being held in memory at once. In the CSV an unquoted empty
field is NULL and a quoted one ("") is an empty string, which is how pyarrow's writer renders them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import errors as pgerrors
from psycopg.pq import TransactionStatus

from etl.errors import ConfigError, Redactor, WarehouseError, first_line, redact_urls, url_secrets
from etl.load.sql import SqlBuilder
from etl.load.warehouse.base import FileLoad, Warehouse
from etl.model.schema import TableSpec

COPY_BATCH_ROWS = 50_000
# SQLSTATE classes worth a retry: serialisation failure, deadlock, lost connection, and a unique violation
# from a concurrent loader inserting the same new dimension member (the retry's MERGE sees and updates it).
TRANSIENT_SQLSTATES = {"40001", "40P01", "23505", "57P01", "57P02", "57P03"}
SCHEMA_LOCK_ID = 0x45544C  # pg_advisory_lock key: one schema creator at a time ("ETL")
CUSTOMERS_LOCK_ID = 0x45544C43  # pg_advisory_xact_lock key: loads adding vs removing customers ("ETLC")
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False)
# password=... in a key/value conninfo, a fallback for what the URL does not name
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class PostgresWarehouse(Warehouse):
    dialect = "postgres"
    sql = SqlBuilder("postgres", "%s")

    def __init__(self, conninfo: str, *, connect_timeout: int = 10) -> None:
        self.conninfo = conninfo
        self.connect_timeout = connect_timeout
        self._in_transaction = False
        self.conn = self._connect()

    @classmethod
    def from_url(cls, url: str) -> PostgresWarehouse:
        # SQLAlchemy-style driver suffixes are accepted: postgresql+psycopg://...
        scheme, _, rest = url.partition("://")
        if not rest:
            raise ConfigError(
                f"warehouse URL {redact(url, url)!r} is not postgresql://user@host:port/database"
            )
        return cls(f"postgresql://{rest}" if scheme.split("+")[0] in {"postgresql", "postgres"} else url)

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        try:
            conn = psycopg.connect(self.conninfo, autocommit=False, connect_timeout=self.connect_timeout)
            # whatever the server's default: lock_customers relies on each statement seeing what committed
            # before it (REPEATABLE READ would keep the snapshot taken before the lock wait)
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            return conn
        except psycopg.OperationalError as exc:
            raise WarehouseError(
                f"cannot connect to PostgreSQL: {redact(first_line(exc), self.conninfo)}", retryable=True
            ) from None
        except psycopg.Error as exc:  # a malformed URL: psycopg quotes it, password included
            raise ConfigError(f"invalid PostgreSQL URL: {redact(first_line(exc), self.conninfo)}") from None
        except ValueError as exc:  # a host name no resolver takes (IDNA: "Violation of BIDI requirement 2")
            raise ConfigError(
                f"invalid PostgreSQL URL: the host name is not valid ({redact(first_line(exc), self.conninfo)})"
            ) from None

    # ---- primitives ----------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql, list(params) if params else None)
        self._end_implicit()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, list(params) if params else None)
            rows = cur.fetchall()
        self._end_implicit()
        return rows

    def _end_implicit(self) -> None:
        """Outside begin()/commit() a statement is its own transaction: no session sits idle in one."""
        if not self._in_transaction and self.conn.info.transaction_status == TransactionStatus.INTRANS:
            self.conn.commit()

    def begin(self) -> None:
        if self.conn.info.transaction_status != TransactionStatus.IDLE:
            self.conn.rollback()
        self._in_transaction = True  # psycopg opens the transaction with the next statement

    def commit(self) -> None:
        try:
            self.conn.commit()
        finally:
            self._in_transaction = False

    def rollback(self) -> None:
        self._in_transaction = False
        if not self.conn.closed:
            self.conn.rollback()

    def stage_table(self, staging: str, spec: TableSpec, rows: pa.Table) -> None:
        self.execute(self.sql.create_staging(spec, staging))
        self._copy(staging, spec, rows.select(list(spec.column_names)).to_batches(COPY_BATCH_ROWS))

    def stage_file(self, staging: str, spec: TableSpec, load: FileLoad) -> None:
        self.execute(self.sql.create_staging(spec, staging))
        parquet = pq.ParquetFile(load.fact_path)
        self._copy(
            staging, spec, parquet.iter_batches(batch_size=COPY_BATCH_ROWS, columns=list(spec.column_names))
        )

    def _copy(self, staging: str, spec: TableSpec, batches: Iterable[pa.RecordBatch]) -> None:
        statement = copy_statement(staging, spec)
        with self.conn.cursor() as cur, cur.copy(statement) as copy:
            for batch in batches:
                if batch.num_rows:
                    copy.write(arrow_to_csv(batch))

    def close(self) -> None:
        self.conn.close()

    # ---- hooks ---------------------------------------------------------------------------------------
    def lock_customers(self, *, exclusive: bool) -> None:
        """Under READ COMMITTED a statement load could find a customer, and an application load then remove
        it as left with nothing because the statements' facts are not committed yet. Statement and
        repayment loads hold this lock shared, application loads exclusively, each for its whole
        transaction: statement loads still run side by side, and an application load sees their committed
        facts (or they see its removal). Taken as the first statement, it waits on no row lock."""
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        self.query(f"SELECT {function}(%s)", (CUSTOMERS_LOCK_ID,))

    def is_transient(self, exc: Exception) -> bool:
        if isinstance(exc, psycopg.Error):
            if exc.sqlstate in TRANSIENT_SQLSTATES or (exc.sqlstate or "").startswith("08"):
                return True
            return isinstance(exc, psycopg.OperationalError) and self.conn.closed
        return False

    def is_duplicate_key(self, exc: Exception) -> bool:
        return isinstance(exc, pgerrors.UniqueViolation)

    def reconnect(self) -> None:
        self._in_transaction = False
        if self.conn.closed or self.conn.info.transaction_status == TransactionStatus.UNKNOWN:
            self.conn.close()
            self.conn = self._connect()
        elif self.conn.info.transaction_status != TransactionStatus.IDLE:
            self.conn.rollback()

    def ensure_schema(self, seeds: Sequence[tuple[TableSpec, pa.Table]]) -> None:
        """Concurrent `CREATE TABLE IF NOT EXISTS` can collide in the catalog: one creator at a time."""
        self.query("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_ID,))
        try:
            self._set_up_schema_retrying(seeds, (psycopg.Error,))
        finally:
            if not self.conn.closed:
                self.query("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_ID,))


def copy_statement(staging: str, spec: TableSpec) -> str:
    return f"COPY {staging} ({', '.join(spec.column_names)}) FROM STDIN (FORMAT csv)"


def arrow_to_csv(batch: pa.RecordBatch) -> bytes:
    """Rows as PostgreSQL CSV: nulls unquoted and empty, strings quoted, decimals and dates as exact text."""
    buffer = io.BytesIO()
    pacsv.write_csv(batch, buffer, _CSV_OPTIONS)
    return buffer.getvalue()


def redact(text: str, url: str) -> str:
    """`text` with the password of `url` hidden however a parser quoted it or a piece of it (see
    `etl.errors.url_secrets`), and any other URL's or conninfo's password."""
    return _KV_PASSWORD.sub(r"\1***", redact_urls(Redactor(url_secrets(url))(text)))
