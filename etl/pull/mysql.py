"""Reading a MySQL or MariaDB source (`mysql://user:password@host:port/database`) in Arrow record batches.

ConnectorX streams the result (MySQL's binary protocol) as Arrow record batches of `BATCH_ROWS` rows from a
Rust thread, so memory stays flat in the table's size and no row passes through Python. Before it runs, the
statement is described with PyMySQL (`LIMIT 0`: its column types, no rows): that fails fast with the
server's own words on a refused login, a missing table or column, and tells what Arrow alone cannot:

- DECIMAL is read as its exact text (`CAST(... AS CHAR)` on the server): ConnectorX would pass it through a
  28-digit decimal and a fixed scale of 10, and fail on wider values.
- TIMESTAMP is an instant (MySQL stores it in UTC): the session's zone is UTC and the column is marked as
  UTC, so it is written like PostgreSQL's timestamptz, as wall time with its offset in the entry's zone.
  DATETIME has no zone and is written as it is stored.
- Text arrives as UTF-8 whatever the column's character set (`SET NAMES utf8mb4`).
- A type ConnectorX has no Arrow form for (GEOMETRY, a bare NULL column) is refused before the read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from etl.errors import ConfigError, SourceDatabaseError, first_line, redact_urls
from etl.profiles import Extraction
from etl.pull.marks import Mark

SCHEMES = ("mysql://", "mariadb://")
BATCH_ROWS = 32_768  # rows per record batch ConnectorX hands over
DIALECT = b"mysql"
TYPE_KEY = b"MYSQL:type"
SESSION = ["SET NAMES utf8mb4", "SET time_zone = '+00:00'"]
CONNECT_TIMEOUT_S = 15

# MySQL's field type codes (include/mysql_com.h): those ConnectorX reads, and how they are shown
_TYPES = {
    0: "DECIMAL",
    1: "TINYINT",
    2: "SMALLINT",
    3: "INT",
    4: "FLOAT",
    5: "DOUBLE",
    7: "TIMESTAMP",
    8: "BIGINT",
    9: "MEDIUMINT",
    10: "DATE",
    11: "TIME",
    12: "DATETIME",
    13: "YEAR",
    15: "VARCHAR",
    16: "BIT",
    245: "JSON",
    246: "DECIMAL",
    247: "ENUM",
    248: "SET",
    249: "TINYBLOB",
    250: "MEDIUMBLOB",
    251: "LONGBLOB",
    252: "BLOB",
    253: "VARCHAR",
    254: "CHAR",
}
_UNREADABLE = {6: "NULL", 14: "DATE", 255: "GEOMETRY"}
_DECIMAL, _TIMESTAMP = (0, 246), 7
# server errors a retry can help with: lock wait, deadlock, too many connections, shutting down, network
_TRANSIENT = {1040, 1053, 1152, 1153, 1158, 1159, 1160, 1161, 1205, 1213, 1927}


def is_mysql(url: str) -> bool:
    return url.lower().startswith(SCHEMES)


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def literal(mark: Mark) -> str:
    """A mark as a MySQL literal (built from a parsed value, never from user text). A timestamptz mark is
    compared in UTC, the session's zone, so against a TIMESTAMP column it means the same instant."""
    from datetime import UTC, datetime

    value = mark.value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if mark.kind == "timestamptz":
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"CAST('{value.strftime('%Y-%m-%d %H:%M:%S.%f')}' AS DATETIME(6))"
    return f"CAST('{value.isoformat()}' AS DATE)"


def build_query(entry: Extraction, low: Mark | None) -> str:
    """The statement that reads the entry, as `etl.pull.source.build_query` does for PostgreSQL."""
    if entry.table:
        base = "SELECT * FROM " + ".".join(quote_ident(part) for part in entry.table.split("."))
    else:
        base = (entry.query or "").strip().rstrip(";")
    if entry.mode != "incremental" or low is None:
        return base
    cursor = quote_ident(entry.cursor or "")
    return f"SELECT * FROM ({base}) AS etl_source WHERE {cursor} >= {literal(low)} OR {cursor} IS NULL"


@contextmanager
def read_batches(
    entry: Extraction, url: str, sql: str
) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch]]]:
    """The result of `sql`: its schema and its batches as they stream in; errors as `read_batches` in
    `etl.pull.source` (ConfigError for what only a changed profile or database can fix)."""
    import connectorx

    columns = _describe(entry, url, sql)
    selected = ", ".join(
        f"CAST({quote_ident(name)} AS CHAR) AS {quote_ident(name)}" if code in _DECIMAL else quote_ident(name)
        for name, code in columns
    )
    try:
        reader: Any = connectorx.read_sql(
            "mysql://" + url.split("://", 1)[1],
            f"SELECT {selected} FROM ({sql}) AS etl_read",
            return_type="arrow_stream",
            batch_size=BATCH_ROWS,
            pre_execution_query=SESSION,
        )
    except BaseException as exc:
        if not _is_failure(exc):
            raise
        raise SourceDatabaseError(f"extraction {entry.name}: the query failed: {_first_line(exc)}") from None
    schema = _marked(reader.schema, dict(columns))
    try:
        yield schema, _batches(entry, reader, schema)
    finally:
        with suppress(Exception):
            reader.close()


def _describe(entry: Extraction, url: str, sql: str) -> list[tuple[str, int]]:
    """The result's columns and their MySQL type codes, read without a row; ConfigError for a column
    ConnectorX cannot read."""
    import pymysql

    parts = urlsplit(url)
    try:
        connection = pymysql.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or "").encode(),  # UTF-8 (PyMySQL would send latin-1)
            database=unquote(parts.path.lstrip("/")) or None,
            charset="utf8mb4",
            connect_timeout=CONNECT_TIMEOUT_S,
        )
    except pymysql.MySQLError as exc:
        raise _driver_error(entry, "cannot connect", exc) from None
    except ValueError as exc:  # a port that is not a number
        raise ConfigError(f"extraction {entry.name}: {entry.url_origin} is not a usable URL: {exc}") from None
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({sql}) AS etl_describe LIMIT 0")
            columns = [(str(d[0]), int(d[1])) for d in cursor.description or ()]
    except pymysql.MySQLError as exc:
        raise _driver_error(entry, "the query failed", exc) from None
    finally:
        with suppress(pymysql.MySQLError):
            connection.close()
    for name, code in columns:
        if code not in _TYPES:
            shown = _UNREADABLE.get(code, f"type code {code}")
            raise ConfigError(
                f"extraction {entry.name}: column {name!r} is of type {shown}, which has no exact CSV form: "
                f"cast it in a query (for example CAST({name} AS CHAR))"
            )
    return columns


def _marked(schema: pa.Schema, codes: dict[str, int]) -> pa.Schema:
    """The stream's schema with each column's MySQL type (for messages) and TIMESTAMP marked as UTC."""
    fields = []
    for field in schema:
        code = codes.get(field.name, -1)
        kind = field.type
        if code == _TIMESTAMP and pa.types.is_timestamp(kind) and kind.tz is None:
            kind = pa.timestamp(kind.unit, tz="UTC")
        fields.append(pa.field(field.name, kind, field.nullable, {TYPE_KEY: _TYPES.get(code, "").encode()}))
    return pa.schema(fields, metadata={b"etl.dialect": DIALECT})


def _batches(entry: Extraction, reader: Any, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    try:
        for batch in reader:
            # a naive timestamp read as UTC becomes the same instant marked UTC: no value changes
            yield pa.RecordBatch.from_arrays(
                [column.cast(field.type) for column, field in zip(batch.columns, schema, strict=True)],
                schema=schema,
            )
    except BaseException as exc:
        if not _is_failure(exc):
            raise
        raise SourceDatabaseError(
            f"extraction {entry.name}: reading failed: {_first_line(exc)}", retryable=True
        ) from None


def _is_failure(exc: BaseException) -> bool:
    """An error of the read: any Exception, or a Rust panic inside ConnectorX (pyo3's PanicException
    derives from BaseException), but not an interrupt."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _driver_error(entry: Extraction, what: str, exc: Exception) -> Exception:
    args: tuple[Any, ...] = exc.args
    code = args[0] if args and isinstance(args[0], int) else 0
    text = str(args[1]) if len(args) > 1 else str(exc)
    message = f"extraction {entry.name}: {what}: {_first_line(text)}"
    if 1000 <= code < 2000 and code not in _TRANSIENT:
        return ConfigError(message)
    return SourceDatabaseError(message, retryable=True)


def _first_line(exc: BaseException | str) -> str:
    return redact_urls(first_line(exc).strip())
