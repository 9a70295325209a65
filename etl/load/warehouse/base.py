"""The warehouse interface. Backends differ only in how they connect, execute and stage rows."""

from __future__ import annotations

import abc
import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from etl.contracts import ConflictPolicy, CustomerRole
from etl.errors import EtlError, WarehouseError, first_line
from etl.extract.discover import logical_from_uri
from etl.load.ledger import LedgerRow
from etl.load.sql import SqlBuilder
from etl.model import schema
from etl.model.dialect import Dialect
from etl.model.keys import UNKNOWN_CUSTOMER_KEY
from etl.model.marts import MARTS, create_view_sql, ensure_marts
from etl.model.schema import TableSpec


@dataclass(frozen=True)
class FileLoad:
    customers: CustomerRole  # how the file's rows relate to dim_customer (its source's contract says)
    fact: TableSpec
    fact_path: Path  # local Parquet of the file's deduplicated fact rows
    fact_uri: str  # the same rows in the lake (Redshift COPYs a staged copy of fact_path, not this object)
    dates: pa.Table  # dim_date rows covering the file's dates
    customer_ids: pa.Table  # the file's customers by key (schema.FILE_CUSTOMERS), for dim_customer
    ledger: LedgerRow  # its logical_name and replay_of say what the file replaces
    loaded_at: datetime
    policy: ConflictPolicy = (
        "update"  # keys held by another logical file: checked before the load unless "update"
    )
    quarantine: Path | None = None  # the file's quarantined rows in etl_quarantine's shape (Parquet)
    conflicts_set_aside: int = 0  # rows quarantined as key_conflict by the check before the load


@dataclass(frozen=True)
class LoadCounts:
    """What a file's load did to its fact table, key by key."""

    inserted: int  # keys new to the warehouse
    updated: int  # keys held already with other values
    unchanged: int  # keys held already with the same values
    removed: int  # keys of the file's previous version that this version no longer has
    conflicting: int  # keys another logical file held with other values (updated: policy "update")


@dataclass(frozen=True)
class HeldKey:
    """A staged row whose key another logical file holds with other values."""

    source_row: int
    holder: str  # the holding file, as a person reads it: its logical name and file id


class KeysTakenMeanwhile(EtlError):
    """Keys of the file were loaded by another logical file after the file's conflict check: the file's
    lake objects leave them in, so it is loaded again from the start (a retry sees the new holders)."""

    retryable = True


AFFECTED_CUSTOMERS = "stg_affected_customers"
FILE_CUSTOMERS_STAGING = "stg_file_customers"  # where schema.FILE_CUSTOMERS rows are staged
QUARANTINE_BATCH_ROWS = 100_000  # quarantined rows staged at once into etl_quarantine


class AlreadyLoaded(Exception):
    """Another load committed the same content first."""


class Warehouse(abc.ABC):
    dialect: Dialect
    sql: SqlBuilder
    retries: int = 3

    # ---- backend primitives ----------------------------------------------------------------------
    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def begin(self) -> None: ...

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...

    @abc.abstractmethod
    def stage_table(self, staging: str, spec: TableSpec, rows: pa.Table) -> None:
        """Create temporary table `staging` shaped like `spec` holding `rows`."""

    @abc.abstractmethod
    def stage_file(self, staging: str, spec: TableSpec, load: FileLoad) -> None:
        """Create temporary table `staging` shaped like `spec` holding the file's fact rows."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def stage_customers(self, staging: str, load: FileLoad) -> None:
        """Create temporary table `staging` holding the file's customers by key (`schema.FILE_CUSTOMERS`)."""
        self.stage_table(staging, schema.FILE_CUSTOMERS, load.customer_ids)

    def drop_staging(self, staging: str) -> None:
        """Remove what `stage_file` created (a backend may stage as a view rather than a table)."""
        self.execute(f"DROP TABLE {staging}")

    def upsert(self, spec: TableSpec, staging: str) -> None:
        """Upsert the staged rows by natural key: a corrected file updates, a replay changes nothing."""
        self.execute(self.sql.merge(spec, staging))

    def is_transient(self, exc: Exception) -> bool:
        """Whether a failed transaction may succeed when retried (lost connection, serialisation conflict)."""
        return False

    def reconnect(self) -> None:  # noqa: B027 - optional hook; embedded backends have nothing to re-open
        """Re-open a lost connection before a retry."""

    def is_duplicate_key(self, exc: Exception) -> bool:
        return False

    def release_memory(self) -> None:  # noqa: B027 - optional hook; a server's memory is not this process's
        """Give back the memory the last file's load left cached in this process, before the next file."""

    def lock_customers(self, *, exclusive: bool) -> None:  # noqa: B027 - optional hook
        """Until the transaction ends, order loads that rely on which customers exist (shared) against loads
        that may remove customers (exclusive); backends whose loads never overlap need nothing."""

    def is_interrupt(self, exc: BaseException) -> bool:
        """Whether `exc` is the backend's way of reporting Ctrl-C during a statement (DuckDB raises its own)."""
        return False

    # ---- shared behaviour ------------------------------------------------------------------------
    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def ensure_schema(self, seeds: Sequence[tuple[TableSpec, pa.Table]]) -> None:
        """Create missing tables, seed the static dimensions and (re)create the marts (idempotent).

        Skipped when `etl_schema_version` holds the digest of exactly this work: every load (each Lambda
        invocation) used to drop and re-create the twelve mart views, which takes exclusive locks that
        wait for and block the dashboards' queries, and loses any GRANT on the views.
        """
        self._set_up_schema(seeds)

    def _set_up_schema(self, seeds: Sequence[tuple[TableSpec, pa.Table]]) -> None:
        digest = self.schema_digest(seeds)
        if self.schema_is(digest):
            return
        # Columns a newer version added to existing tables, and retired ones: each its own statement, outside
        # the schema transaction (Redshift alters no table inside one); added ones are nullable (older rows
        # have no value).
        for statement in self._added_columns():
            self.execute(statement)
        with self.transaction():
            for statement in self.sql.ddl():
                self.execute(statement)
            self._name_logical_files()
            for spec, rows in seeds:
                staging = f"stg_{spec.name}"
                self.stage_table(staging, spec, rows)
                self.execute(self.sql.insert_missing(spec, staging))
                self.execute(f"DROP TABLE {staging}")
            # The time is bound, not CURRENT_TIMESTAMP: on Redshift that is a leader-node-only function, which
            # fails in an INSERT into a user table ("Leader node-only functions"; GETDATE()/SYSDATE are the
            # compute-node ones, which DuckDB and PostgreSQL lack).
            now = datetime.now(UTC).replace(tzinfo=None)
            unknown = self.query("SELECT 1 FROM dim_customer WHERE customer_key = -1")
            if not unknown:
                self.execute(
                    "INSERT INTO dim_customer (customer_key, customer_id, is_inferred, application_count, updated_at) "
                    f"VALUES ({UNKNOWN_CUSTOMER_KEY}, '(unknown)', TRUE, 0, {self.sql.param})",
                    (now,),
                )
            ensure_marts(self)  # marts read every table: created after them, same transaction
            self.execute("DELETE FROM etl_schema_version")
            self.execute(
                f"INSERT INTO etl_schema_version (digest, applied_at) VALUES ({self.sql.param}, {self.sql.param})",
                (digest, now),
            )

    def _added_columns(self) -> list[str]:
        """The statements that bring an existing warehouse's tables to this version's columns: add the
        columns a newer version added (nullable), drop the retired ones (`schema.RETIRED_COLUMNS`)."""
        present: dict[str, set[str]] = {}
        for table, column in self.query(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        ):
            present.setdefault(str(table).lower(), set()).add(str(column).lower())
        added = [
            self.sql.add_column(spec, column.name)
            for spec in schema.ALL_TABLES
            if spec.name in present
            for column in spec.columns
            if column.name not in present[spec.name]
        ]
        retired = [
            statement
            for table, columns in schema.RETIRED_COLUMNS.items()
            if table in present and present[table] & set(columns)
            for statement in self.sql.drop_columns(
                schema.TABLES[table], [c for c in columns if c in present[table]]
            )
        ]
        return added + retired

    def _name_logical_files(self) -> None:
        """Give the loaded files of a ledger from before file lineage their logical name (from their URI),
        so that their next version replaces them rather than conflicting with them."""
        unnamed = self.query(
            "SELECT file_id, uri, source FROM etl_file_ledger WHERE logical_name IS NULL AND status = 'loaded'"
        )
        for file_id, uri, source in unnamed:
            name = logical_from_uri(str(uri), source)
            if name is not None:
                self.execute(self.sql.ledger_name(), (name, file_id))

    def _set_up_schema_retrying(
        self, seeds: Sequence[tuple[TableSpec, pa.Table]], errors: tuple[type[Exception], ...]
    ) -> None:
        """The schema step, run again on a new connection after a transient error among `errors` (a
        concurrent creator's conflict); any other of them is one WarehouseError line."""
        for attempt in range(1, self.retries + 1):
            try:
                self._set_up_schema(seeds)
                return
            except errors as exc:
                transient = self.is_transient(exc)
                if not transient or attempt == self.retries:
                    raise WarehouseError(
                        f"creating the warehouse schema failed: {first_line(exc)}", retryable=transient
                    ) from exc
                time.sleep(0.2 * 2**attempt)
                self.reconnect()

    def schema_digest(self, seeds: Sequence[tuple[TableSpec, pa.Table]]) -> str:
        """SHA-256 of everything ensure_schema would run here: the DDL, the seed rows and the mart views."""
        digest = hashlib.sha256(self.dialect.encode())
        for statement in self.sql.ddl():
            digest.update(statement.encode())
        for spec, rows in seeds:
            digest.update(spec.name.encode())
            digest.update(repr(rows.select(list(spec.column_names)).to_pylist()).encode())
        for mart in MARTS:
            digest.update(create_view_sql(mart, self.dialect).encode())
        return digest.hexdigest()

    def schema_is(self, digest: str) -> bool:
        """Whether the warehouse's schema was last set up by exactly `digest` and every table and mart view
        it made is still there (one dropped by hand is made again by the next load)."""
        present = {
            str(name).lower()
            for (name,) in self.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        }
        wanted = {t.name for t in schema.ALL_TABLES} | {m.name for m in MARTS}
        if not wanted <= present:
            return False
        return self.query("SELECT digest FROM etl_schema_version") == [(digest,)]

    def is_loaded(self, file_id: str) -> bool:
        return bool(self.query(self.sql.ledger_is_loaded(), (file_id,)))

    def loaded_source(self, file_id: str) -> str | None:
        """The source a content was loaded as ('' when its ledger row names none), None if it was not loaded."""
        rows = self.query(self.sql.ledger_loaded_source(), (file_id,))
        return (rows[0][0] or "") if rows else None

    def record_ledger(self, row: LedgerRow) -> None:
        """Record a rejected or failed file; a file already loaded keeps its row.

        Retried like a load on a transient error (a serialisation conflict with a concurrent load, a lost
        connection); a failure that remains is raised, so the caller never reports a rejection that left
        no ledger row."""
        for attempt in range(1, self.retries + 1):
            try:
                with self.transaction():
                    self._record_ledger(row)
                return
            except Exception as exc:
                self._retry_or_raise(exc, attempt, "recording the file in etl_file_ledger", row.uri)

    def _retry_or_raise(self, exc: Exception, attempt: int, what: str, path: str | None) -> None:
        """After failed attempt `attempt` of `what`: a WarehouseError when `exc` is not transient (our own
        errors say whether a retry may help) or the attempts are spent; otherwise back off and reconnect."""
        transient = self.is_transient(exc) or (isinstance(exc, EtlError) and exc.retryable)
        if not transient or attempt == self.retries:
            raise WarehouseError(f"{what} failed: {first_line(exc)}", path=path, retryable=transient) from exc
        time.sleep(0.2 * 2**attempt)
        self.reconnect()

    def _record_ledger(self, row: LedgerRow) -> None:
        """The statements of `record_ledger`, inside its transaction (a backend may lock first, as for a load)."""
        if self.query(self.sql.ledger_is_loaded(), (row.file_id,)):
            return
        self.execute(self.sql.ledger_delete_unloaded(), (row.file_id,))
        self.execute(self.sql.ledger_insert(), astuple(row))

    def load_file(self, load: FileLoad) -> LoadCounts | None:
        """Load one file atomically; None when the same content was committed first by someone else."""
        for attempt in range(1, self.retries + 1):
            try:
                exclusive = self._removes_rows(load)
                with self.transaction():
                    return self._load_file(load, exclusive=exclusive)
            except AlreadyLoaded:
                return None
            except KeysTakenMeanwhile:
                raise
            except Exception as exc:
                if self.is_duplicate_key(exc) and self.is_loaded_after_conflict(load.ledger.file_id):
                    return None
                self._retry_or_raise(exc, attempt, f"loading into {load.fact.name}", load.ledger.uri)
        return None  # pragma: no cover - the loop always returns or raises

    def conflicting_rows(self, load: FileLoad) -> list[HeldKey]:
        """The file's rows whose key another logical file holds with other values (a read-only check before
        the file is published and loaded, for a source whose conflict policy is not "update"). Transient
        errors are retried like a load's."""
        logical = load.ledger.logical_name or ""
        if not self.query(self.sql.rows_of_other_files(load.fact), (logical,)):
            return []  # no other logical file holds any row of the table: nothing to conflict with
        for attempt in range(1, self.retries + 1):
            try:
                return self._conflicting_rows(load, logical)
            except Exception as exc:
                self._retry_or_raise(
                    exc, attempt, f"checking {load.fact.name} for conflicting keys", load.ledger.uri
                )
        return []  # pragma: no cover - the loop always returns or raises

    def _conflicting_rows(self, load: FileLoad, logical: str) -> list[HeldKey]:
        fact, staging = load.fact, f"stg_{load.fact.name}"
        with self.transaction():
            self.stage_file(staging, fact, load)
            if load.customers == "infers_via_application":
                for statement in self.sql.resolve_repayment_customers(staging):
                    self.execute(statement)
            held = self.query(self.sql.held_keys(fact, staging))
            self.drop_staging(staging)
        width = len(fact.key)
        return [
            HeldKey(
                int(row[width]),
                f"{row[width + 3] or row[width + 4] or 'a file'} (file {str(row[width + 2])[:12]})",
            )
            for row in held
            if not row[width + 1] and (row[width + 3] or "") != logical
        ]

    def _removes_rows(self, load: FileLoad) -> bool:
        """Whether the load may leave customers with nothing: an application load, or a new version of a
        logical file already loaded (it removes the rows the new version no longer has)."""
        if load.customers == "defines":
            return True
        logical = load.ledger.logical_name
        if logical is None or load.ledger.replay_of is not None:
            return False
        return bool(self.query(self.sql.ledger_loaded_versions(), (logical, load.ledger.file_id)))

    def is_loaded_after_conflict(self, file_id: str) -> bool:
        try:
            return self.is_loaded(file_id)
        except Exception:
            return False

    def _load_file(self, load: FileLoad, *, exclusive: bool) -> LoadCounts:
        sql, fact, file_id = self.sql, load.fact, load.ledger.file_id
        # A load that may remove customers (applications, a new version of a file) holds the customer lock
        # exclusively; others rely on the customers they found to exist until they commit. Taken first.
        defines = load.customers == "defines"
        self.lock_customers(exclusive=exclusive)
        if self.query(sql.ledger_is_loaded(), (file_id,)):
            raise AlreadyLoaded
        self.execute(sql.ledger_delete_unloaded(), (file_id,))
        self.execute(sql.ledger_insert(), astuple(load.ledger))

        staging = f"stg_{fact.name}"
        self.stage_file(staging, fact, load)
        now = f"CAST('{load.loaded_at.isoformat(sep=' ')}' AS TIMESTAMP)"
        if load.customers == "infers_via_application":
            for statement in sql.resolve_repayment_customers(staging):
                self.execute(statement)
        logical = load.ledger.logical_name or ""
        [(total, held, same, conflicting)] = self.query(sql.classify(fact, staging), (logical,))
        if conflicting and load.policy != "update":
            raise KeysTakenMeanwhile(
                f"{conflicting} key(s) of this file were loaded by another file after its conflict check: "
                "loading it again",
                path=load.ledger.uri,
            )
        if exclusive:  # the customers this load may leave with nothing, before anything moves
            if defines:
                self.execute(sql.affected_customers(staging, AFFECTED_CUSTOMERS))
            else:
                self.execute(sql.moved_customers(fact, staging, AFFECTED_CUSTOMERS))
        removed = 0 if load.ledger.replay_of else self._remove_previous_version(load, staging, exclusive)
        self.upsert(fact, staging)

        self.stage_table("stg_dim_date", schema.DIM_DATE, load.dates)
        self.execute(sql.insert_missing(schema.DIM_DATE, "stg_dim_date"))
        self.execute("DROP TABLE stg_dim_date")

        # The customers of the staged rows that dim_customer lacks, as inferred members with the file's
        # customer_id (the facts keep only the key); an application load then makes its own full members.
        self.stage_customers(FILE_CUSTOMERS_STAGING, load)
        self.execute(sql.insert_inferred_customers(staging, FILE_CUSTOMERS_STAGING, now))
        self.execute(f"DROP TABLE {FILE_CUSTOMERS_STAGING}")
        if defines:
            for statement in [
                *sql.refresh_customers(AFFECTED_CUSTOMERS, now),
                sql.demote_customers_without_applications(AFFECTED_CUSTOMERS, now),
                *sql.refresh_customer_history(AFFECTED_CUSTOMERS),
                *sql.relink_repayments(staging, AFFECTED_CUSTOMERS),
            ]:
                self.execute(statement)
        elif exclusive:
            self.execute(sql.remove_orphans(AFFECTED_CUSTOMERS))
        if exclusive:
            self.execute(f"DROP TABLE {AFFECTED_CUSTOMERS}")
        if load.ledger.logical_name is not None and load.ledger.replay_of is None:
            self.execute(sql.supersede(), (file_id, load.ledger.logical_name, file_id))
        self._record_quarantine(load)
        inserted, updated = int(total) - int(held), int(held) - int(same)
        counts = LoadCounts(
            inserted, updated, int(same), removed, int(conflicting) + load.conflicts_set_aside
        )
        self.execute(sql.ledger_counts(), (*astuple(counts), file_id))
        self.drop_staging(staging)
        return counts

    def _remove_previous_version(self, load: FileLoad, staging: str, affected: bool) -> int:
        """Delete the rows of the file's earlier versions whose keys this version no longer has; how many.
        `affected`: their customers are added to the affected customers (checked for orphans after)."""
        if load.ledger.logical_name is None:
            return 0
        fact = load.fact
        where = self.sql.previous_version_rows(fact, staging)
        params = (load.ledger.logical_name, load.ledger.file_id)
        [(removed,)] = self.query(f"SELECT COUNT(*) FROM {fact.name} WHERE {where}", params)
        if removed:
            if affected:
                self.execute(
                    f"INSERT INTO {AFFECTED_CUSTOMERS} SELECT customer_key FROM {fact.name} WHERE {where}",
                    params,
                )
            self.execute(f"DELETE FROM {fact.name} WHERE {where}", params)
        return int(removed)

    def _record_quarantine(self, load: FileLoad) -> None:
        """The file's quarantined rows, by key, into etl_quarantine (replacing an earlier attempt's)."""
        self.execute(self.sql.quarantine_delete(), (load.ledger.file_id,))
        if load.quarantine is None:
            return
        spec = schema.ETL_QUARANTINE
        for batch in pq.ParquetFile(load.quarantine).iter_batches(batch_size=QUARANTINE_BATCH_ROWS):
            staging = "stg_etl_quarantine"
            self.stage_table(staging, spec, pa.Table.from_batches([batch]))
            self.execute(self.sql.insert_all(spec, staging))
            self.execute(f"DROP TABLE {staging}")

    def record_test_results(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with self.transaction():  # one statement: a round trip per row cost more than the tests themselves
            self.execute(self.sql.test_result_insert(len(rows)), [value for row in rows for value in row])
