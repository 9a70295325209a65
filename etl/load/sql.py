"""SQL shared by every warehouse backend: DDL, staging MERGE, dimension refresh, ledger.

Identifiers come only from the table specifications in `etl.model.schema`; values are always bound
parameters (`param` is the backend's placeholder). The statements use the common subset of DuckDB,
PostgreSQL 15 and Redshift: MERGE, window functions, UPDATE ... FROM, no CTEs inside DML.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.model import schema
from etl.model.dialect import Dialect, bytewise
from etl.model.schema import ColumnSpec, TableSpec

SMALL_DIMENSIONS = {"dim_date", "dim_credit_band", "dim_transaction_category"}
# Redshift: the table every load and ledger write locks first (LOCK takes an exclusive lock that also blocks
# reads). It holds no rows and nothing reads it, so dashboards, the smoke test and the data tests read
# etl_file_ledger while a load runs.
LOAD_LOCK_TABLE = "etl_load_lock"
LINEAGE_COLUMNS = {c.name for c in schema.LINEAGE}


@dataclass(frozen=True)
class SqlBuilder:
    dialect: Dialect
    param: str = "?"

    # ---- DDL -----------------------------------------------------------------------------------------
    def create_table(self, spec: TableSpec) -> str:
        cols = [
            f"{c.name} {c.sql_type_in(self.dialect)}{'' if c.nullable else ' NOT NULL'}" for c in spec.columns
        ]
        if self.dialect == "postgres":
            # PostgreSQL enforces them (concurrent loaders rely on it). DuckDB checks keys eagerly inside a
            # transaction that updates them; MERGE and the data tests keep them unique there. Redshift
            # enforces none but its planner trusts a declared key ("Defining table constraints": a SELECT
            # DISTINCT may return duplicates; "do not define key constraints ... if you doubt their
            # validity"): uniqueness rests on the load (MERGE by key under one lock), and the unique_* data
            # tests that would show a duplicate must not be planned on the assumption that there is none.
            cols.append(f"PRIMARY KEY ({', '.join(spec.key)})")
        ddl = f"CREATE TABLE IF NOT EXISTS {spec.name} (\n  " + ",\n  ".join(cols) + "\n)"
        if self.dialect == "redshift":
            ddl += self._redshift_attributes(spec)
        return ddl

    def _redshift_attributes(self, spec: TableSpec) -> str:
        parts = []
        if spec.name in SMALL_DIMENSIONS:
            parts.append("DISTSTYLE ALL")
        elif spec.distkey:
            parts.append(f"DISTSTYLE KEY DISTKEY ({spec.distkey})")
        else:
            parts.append("DISTSTYLE AUTO")
        if spec.sortkey:
            parts.append(f"COMPOUND SORTKEY ({', '.join(spec.sortkey)})")
        return "\n" + " ".join(parts)

    def create_staging(self, spec: TableSpec, staging: str) -> str:
        cols = ", ".join(f"{c.name} {c.staging_type_in(self.dialect)}" for c in spec.columns)
        return f"CREATE TEMPORARY TABLE {staging} ({cols})"

    def staged(self, column: ColumnSpec, alias: str | None = None) -> str:
        """A staged column's value as the table holds it: Redshift stages a JSON column as text, which
        JSON_PARSE makes the SUPER the table holds; everywhere else the staged value is the value."""
        ref = f"{alias}.{column.name}" if alias else column.name
        return f"JSON_PARSE({ref})" if column.json and self.dialect == "redshift" else ref

    def _comparable(self, column: ColumnSpec, alias: str, *, staged: bool) -> str:
        """A column's value in a form `=` compares: Redshift's SUPER objects as their serialised JSON (the
        staged text parsed first, so both sides are serialised alike); others as they are (PostgreSQL
        compares JSONB by value, DuckDB its JSON by text)."""
        if column.json and self.dialect == "redshift":
            return f"JSON_SERIALIZE({self.staged(column, alias) if staged else f'{alias}.{column.name}'})"
        return f"{alias}.{column.name}"

    def ddl(self) -> list[str]:
        statements = [self.create_table(t) for t in schema.ALL_TABLES]
        if self.dialect == "redshift":
            statements.append(f"CREATE TABLE IF NOT EXISTS {LOAD_LOCK_TABLE} (id INTEGER)")
        return statements

    # ---- seeds ---------------------------------------------------------------------------------------
    def insert_missing(self, spec: TableSpec, staging: str) -> str:
        """Insert staged rows whose key is not in the table yet (dimension members, calendar days)."""
        cols = ", ".join(spec.column_names)
        on = " AND ".join(f"t.{k} = s.{k}" for k in spec.key)
        return (
            f"INSERT INTO {spec.name} ({cols}) SELECT {', '.join('s.' + c for c in spec.column_names)} "
            f"FROM {staging} s WHERE NOT EXISTS (SELECT 1 FROM {spec.name} t WHERE {on})"
        )

    def insert_all(self, spec: TableSpec, staging: str) -> str:
        cols = ", ".join(spec.column_names)
        values = ", ".join(self.staged(c) for c in spec.columns)
        return f"INSERT INTO {spec.name} ({cols}) SELECT {values} FROM {staging}"

    def merge(self, spec: TableSpec, staging: str) -> str:
        """Upsert staged rows by natural key: a corrected file updates, a replay changes nothing."""
        # Redshift allows an alias on the source only: the target is named in full.
        on = " AND ".join(f"{spec.name}.{k} = s.{k}" for k in spec.key)
        updates = ", ".join(
            f"{c.name} = {self.staged(c, 's')}" for c in spec.columns if c.name not in spec.key
        )
        cols = ", ".join(spec.column_names)
        values = ", ".join(self.staged(c, "s") for c in spec.columns)
        return (
            f"MERGE INTO {spec.name} USING {staging} AS s ON {on} "
            f"WHEN MATCHED THEN UPDATE SET {updates} "
            f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})"
        )

    def replace_by_key(self, spec: TableSpec, staging: str) -> list[str]:
        """The same end state as `merge`, as DELETE of the staged keys then INSERT of the staged rows.

        Every column of a matched row is overwritten by MERGE, so deleting it and inserting the staged row
        leaves the same table. On DuckDB this is about twice as fast as its MERGE (1M rows: 0.7 s vs 1.3 s
        into an empty table, 1.0 s vs 2.5 s when every key is already there).

        The DELETE also holds the first key column to the staged keys' range, a redundant condition that
        DuckDB checks against each row group's min/max: a file of new keys (ids that grow) then skips the
        table's old row groups instead of probing every row (10k rows into 10M: 1.35 s -> 0.01 s). The staged
        Parquet keeps no text statistics, so without it DuckDB cannot tell.
        """
        keys = ", ".join(spec.key)
        in_range = self.in_staged_range(spec, staging)
        return [
            f"DELETE FROM {spec.name} WHERE ({keys}) IN (SELECT {keys} FROM {staging}) AND {in_range}",
            self.insert_all(spec, staging),
        ]

    # ---- facts -> dimensions ---------------------------------------------------------------------------
    def resolve_repayment_customers(self, staging: str) -> list[str]:
        """A repayment belongs to its application's customer; without a known application, to the file's
        customer_id, else to the unknown member."""
        return [
            f"UPDATE {staging} SET customer_key = f.customer_key "
            f"FROM fact_loan_application f WHERE f.application_key = {staging}.application_key",
            f"UPDATE {staging} SET customer_key = -1 WHERE customer_key IS NULL",
        ]

    def insert_inferred_customers(self, staging: str, customers: str, now: str) -> str:
        """Customers of the staged rows that dim_customer lacks become inferred members, so every fact joins:
        their natural id comes from `customers` (the file's customers by key, `schema.FILE_CUSTOMERS`), as the
        facts keep only the key. A repayment resolved to its application's customer names a key the
        application's load made already; one with neither application nor customer_id is the unknown member."""
        return (
            "INSERT INTO dim_customer (customer_key, customer_id, is_inferred, application_count, updated_at) "
            f"SELECT c.customer_key, MIN(c.customer_id), TRUE, 0, {now} FROM {customers} c "
            f"WHERE c.customer_key <> -1 AND c.customer_key IN (SELECT DISTINCT customer_key FROM {staging}) "
            "AND NOT EXISTS (SELECT 1 FROM dim_customer d WHERE d.customer_key = c.customer_key) "
            "GROUP BY c.customer_key"
        )

    def refresh_customers(self, staging: str, now: str) -> list[str]:
        """Type 1 attributes of the customers in this file, from their latest application in the warehouse.
        Every one of them is a member already (`insert_inferred_customers` ran first): it is updated."""
        latest = (
            "SELECT customer_key, employment_status, annual_income, state, credit_score, "
            "credit_band_key, first_date, last_date, n FROM ("
            "SELECT f.customer_key, f.employment_status, f.annual_income, f.state, f.credit_score, "
            "f.credit_band_key, "
            "ROW_NUMBER() OVER (PARTITION BY f.customer_key ORDER BY f.loan_application_date DESC, "
            f"{bytewise('f.application_id', self.dialect)} DESC) AS rn, "
            "MIN(f.loan_application_date) OVER (PARTITION BY f.customer_key) AS first_date, "
            "MAX(f.loan_application_date) OVER (PARTITION BY f.customer_key) AS last_date, "
            "CAST(COUNT(*) OVER (PARTITION BY f.customer_key) AS INTEGER) AS n "
            "FROM fact_loan_application f "
            f"WHERE f.customer_key IN (SELECT customer_key FROM {staging})) x WHERE rn = 1"
        )
        refreshed = {
            "is_inferred": "FALSE",
            "employment_status": "s.employment_status",
            "annual_income": "s.annual_income",
            "state": "s.state",
            "latest_credit_score": "s.credit_score",
            "latest_credit_band_key": "s.credit_band_key",
            "first_application_date": "s.first_date",
            "latest_application_date": "s.last_date",
            "application_count": "s.n",
            "updated_at": now,
        }
        if self.dialect == "duckdb":
            # DuckDB updates text columns of many rows slowly (50,000 customers' employment_status: 0.27 s
            # a column, the whole UPDATE 1.6 s); their rows are replaced instead, as facts are (0.1 s). `d.*`
            # with REPLACE keeps every column the table has, one added by hand too, as UPDATE did.
            values = ", ".join(f"{v} AS {c}" for c, v in refreshed.items())
            refresh = [
                f"CREATE TEMPORARY TABLE stg_customer_refreshed AS SELECT d.* REPLACE ({values}) "
                "FROM dim_customer d JOIN stg_customer_latest s ON d.customer_key = s.customer_key",
                "DELETE FROM dim_customer WHERE customer_key IN (SELECT customer_key FROM stg_customer_latest)",
                "INSERT INTO dim_customer SELECT * FROM stg_customer_refreshed",
                "DROP TABLE stg_customer_refreshed",
            ]
        else:
            sets = ", ".join(f"{c} = {v}" for c, v in refreshed.items())
            refresh = [
                f"UPDATE dim_customer SET {sets} "
                "FROM stg_customer_latest s WHERE dim_customer.customer_key = s.customer_key"
            ]
        return [
            f"CREATE TEMPORARY TABLE stg_customer_latest AS {latest}",
            *refresh,
            "DROP TABLE stg_customer_latest",
        ]

    def refresh_customer_history(self, staging: str) -> list[str]:
        """Type 2 history rebuilt from all applications of the affected customers: order-independent, replay-safe."""
        order = f"ORDER BY a.loan_application_date, {bytewise('a.application_id', self.dialect)}"
        changes = (
            "SELECT a.customer_key, d.customer_id, a.employment_status, a.annual_income, a.state, "
            "a.loan_application_date, a.application_id, "
            f"LAG(a.employment_status) OVER (PARTITION BY a.customer_key {order}) AS prev_status, "
            f"LAG(a.annual_income) OVER (PARTITION BY a.customer_key {order}) AS prev_income, "
            f"LAG(a.state) OVER (PARTITION BY a.customer_key {order}) AS prev_state, "
            f"ROW_NUMBER() OVER (PARTITION BY a.customer_key {order}) AS rn "
            "FROM fact_loan_application a JOIN dim_customer d ON d.customer_key = a.customer_key "
            f"WHERE a.customer_key IN (SELECT customer_key FROM {staging})"
        )
        changed = (
            f"SELECT * FROM ({changes}) c WHERE c.rn = 1 "
            "OR COALESCE(c.prev_status, '') <> COALESCE(c.employment_status, '') "
            "OR COALESCE(c.prev_income, -1) <> COALESCE(c.annual_income, -1) "
            "OR COALESCE(c.prev_state, '') <> COALESCE(c.state, '')"
        )
        vorder = f"ORDER BY v.loan_application_date, {bytewise('v.application_id', self.dialect)}"
        versions = (
            "SELECT v.customer_key, "
            f"CAST(ROW_NUMBER() OVER (PARTITION BY v.customer_key {vorder}) AS INTEGER) AS version, "
            "v.customer_id, v.employment_status, v.annual_income, v.state, v.loan_application_date AS valid_from, "
            f"LEAD(v.loan_application_date) OVER (PARTITION BY v.customer_key {vorder}) AS valid_to, "
            f"CASE WHEN LEAD(v.application_id) OVER (PARTITION BY v.customer_key {vorder}) IS NULL "
            "THEN TRUE ELSE FALSE END AS is_current, v.application_id "
            f"FROM ({changed}) v"
        )
        cols = ", ".join(schema.DIM_CUSTOMER_HISTORY.column_names)
        return [
            f"DELETE FROM dim_customer_history WHERE customer_key IN (SELECT customer_key FROM {staging})",
            f"INSERT INTO dim_customer_history ({cols}) {versions}",
        ]

    def relink_repayments(self, staging: str, affected: str) -> list[str]:
        """Repayments follow their application's customer: those loaded before it (the unknown member or the
        file's own customer_id) and those of an application a corrected file gave to another customer.

        Then an inferred member left with nothing (made only for such repayments, or demoted because its
        last application moved away) goes: no fact, history row or application points at it, and the
        dimension ends the same whichever file came first. A member with anything left stays.
        """
        moved = "stg_relinked_customers"
        return [
            f"CREATE TEMPORARY TABLE {moved} AS SELECT DISTINCT r.customer_key FROM fact_repayment r "
            f"JOIN {staging} f ON r.application_key = f.application_key WHERE r.customer_key <> f.customer_key "
            f"UNION SELECT customer_key FROM {affected}",
            "UPDATE fact_repayment SET customer_key = f.customer_key "
            f"FROM {staging} f WHERE fact_repayment.application_key = f.application_key "
            "AND fact_repayment.customer_key <> f.customer_key",
            self.remove_orphans(moved),
            f"DROP TABLE {moved}",
        ]

    def remove_orphans(self, customers: str) -> str:
        """Remove the inferred members among `customers` (a table of customer_key) that nothing references:
        no fact, history row or application points at them any more."""
        return (
            "DELETE FROM dim_customer WHERE is_inferred AND customer_key <> -1 "
            f"AND customer_key IN (SELECT customer_key FROM {customers}) "
            "AND NOT EXISTS (SELECT 1 FROM fact_repayment r WHERE r.customer_key = dim_customer.customer_key) "
            "AND NOT EXISTS (SELECT 1 FROM fact_bank_transaction t WHERE t.customer_key = dim_customer.customer_key) "
            "AND NOT EXISTS (SELECT 1 FROM fact_loan_application a WHERE a.customer_key = dim_customer.customer_key) "
            "AND NOT EXISTS (SELECT 1 FROM dim_customer_history h WHERE h.customer_key = dim_customer.customer_key)"
        )

    # ---- file lineage: versions of a logical file, conflicts with other files --------------------------
    def same_values(self, spec: TableSpec, staged: str, held: str) -> str:
        """True when the staged row `staged` and the table's row `held` of `spec` hold the same values
        (lineage columns aside; the attributes count), NULLs equal: a condition that is never NULL (NOT of it
        is the rows differ)."""
        compared = [c for c in spec.columns if c.name not in LINEAGE_COLUMNS and c.name not in spec.key]
        return " AND ".join(
            f"(COALESCE({self._comparable(c, staged, staged=True)} = {self._comparable(c, held, staged=False)}, "
            f"FALSE) OR ({staged}.{c.name} IS NULL AND {held}.{c.name} IS NULL))"
            for c in compared
        )

    @staticmethod
    def in_staged_range(spec: TableSpec, staging: str) -> str:
        """The first key column of `spec` within the staged keys' MIN..MAX: a condition every row that shares
        a key with `staging` meets, so it changes no result. DuckDB checks it against each row group's
        min/max (Redshift against its zone maps), so a file of new keys (ids that grow) skips the table's
        old rows instead of probing every one: the staged Parquet keeps no text statistics, and a join's own
        filter does not skip row groups for text keys."""
        first = spec.key[0]
        return (
            f"{first} BETWEEN (SELECT MIN({first}) FROM {staging}) AND (SELECT MAX({first}) FROM {staging})"
        )

    def _held(self, spec: TableSpec, staging: str) -> str:
        """The rows of `spec` that may share a key with `staging` (see `in_staged_range`), as a derived table."""
        return f"(SELECT * FROM {spec.name} WHERE {self.in_staged_range(spec, staging)})"

    def held_keys(self, spec: TableSpec, staging: str) -> str:
        """The staged rows whose key the warehouse holds already: the key, the staged row's line, whether
        the values are the same, and the holder's file and logical file (bound parameter: none)."""
        on = " AND ".join(f"f.{k} = s.{k}" for k in spec.key)
        keys = ", ".join(f"s.{k}" for k in spec.key)
        return (
            f"SELECT {keys}, s.source_row, CASE WHEN {self.same_values(spec, 's', 'f')} THEN 1 ELSE 0 END, "
            "f.source_file_id, l.logical_name, l.file_name "
            f"FROM {staging} s JOIN {self._held(spec, staging)} f ON {on} "
            "LEFT JOIN etl_file_ledger l ON l.file_id = f.source_file_id"
        )

    def rows_of_other_files(self, spec: TableSpec) -> str:
        """One row if any row of `spec` comes from a logical file other than the parameter, else none."""
        return (
            f"SELECT 1 FROM {spec.name} f LEFT JOIN etl_file_ledger l ON l.file_id = f.source_file_id "
            f"WHERE COALESCE(l.logical_name, '') <> {self.param} LIMIT 1"
        )

    def classify(self, spec: TableSpec, staging: str) -> str:
        """One row for the staged rows: how many, how many keys the warehouse holds already, how many of those
        with the same values, and how many held by another logical file (the parameter) with other values."""
        on = " AND ".join(f"f.{k} = s.{k}" for k in spec.key)
        held = f"f.{spec.key[0]} IS NOT NULL"
        same = self.same_values(spec, "s", "f")
        return (
            f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {held} THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {held} AND {same} THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {held} AND NOT ({same}) AND COALESCE(l.logical_name, '') <> {self.param} "
            "THEN 1 ELSE 0 END), 0) "
            f"FROM {staging} s LEFT JOIN {self._held(spec, staging)} f ON {on} "
            "LEFT JOIN etl_file_ledger l ON l.file_id = f.source_file_id"
        )

    def previous_version_rows(self, spec: TableSpec, staging: str) -> str:
        """WHERE condition for the rows of `spec` held by the earlier versions (and their replays) of a logical
        file whose keys the staged version no longer has. Parameters: the logical name, the new file_id."""
        keys = " AND ".join(f"s.{k} = {spec.name}.{k}" for k in spec.key)
        return (
            f"{spec.name}.source_file_id IN (SELECT file_id FROM etl_file_ledger "
            f"WHERE logical_name = {self.param} AND file_id <> {self.param}) "
            f"AND NOT EXISTS (SELECT 1 FROM {staging} s WHERE {keys})"
        )

    def supersede(self) -> str:
        """Mark the earlier versions of a logical file (and their replays) as superseded by the new one.
        Parameters: the new file_id, the logical name, the new file_id."""
        p = self.param
        return (
            f"UPDATE etl_file_ledger SET superseded_by = {p} "
            f"WHERE logical_name = {p} AND file_id <> {p} AND superseded_by IS NULL"
        )

    def ledger_counts(self) -> str:
        """Record a loaded file's inserted, updated, unchanged, removed and conflicting rows (then file_id)."""
        p = self.param
        return (
            f"UPDATE etl_file_ledger SET rows_inserted = {p}, rows_updated = {p}, rows_unchanged = {p}, "
            f"rows_removed = {p}, rows_conflicting = {p} WHERE file_id = {p}"
        )

    def add_column(self, spec: TableSpec, column: str) -> str:
        """A column a newer version added to an existing table (nullable: older rows have none)."""
        col = next(c for c in spec.columns if c.name == column)
        return f"ALTER TABLE {spec.name} ADD COLUMN {col.name} {col.sql_type_in(self.dialect)}"

    def drop_columns(self, spec: TableSpec, columns: list[str]) -> list[str]:
        """Drop retired `columns` from an existing table. The mart views are made again by the schema step
        that runs this: PostgreSQL refuses to drop a column a view reads, so CASCADE drops those views (and
        only views read a fact). Redshift drops no column of the sort key: a table whose old sort key is among
        them gets its new one first."""
        statements = []
        old_sortkey = schema.RETIRED_SORTKEYS.get(spec.name, ())
        if self.dialect == "redshift" and set(old_sortkey) & set(columns):
            statements.append(f"ALTER TABLE {spec.name} ALTER COMPOUND SORTKEY ({', '.join(spec.sortkey)})")
        cascade = "" if self.dialect == "duckdb" else " CASCADE"
        statements += [f"ALTER TABLE {spec.name} DROP COLUMN {column}{cascade}" for column in columns]
        return statements

    def moved_customers(self, spec: TableSpec, staging: str, target: str) -> str:
        """The customers of the file's rows that the load moves to another customer (their old customer)."""
        on = " AND ".join(f"f.{k} = s.{k}" for k in spec.key)
        return (
            f"CREATE TEMPORARY TABLE {target} AS SELECT DISTINCT f.customer_key FROM {spec.name} f "
            f"JOIN {staging} s ON {on} WHERE f.customer_key <> s.customer_key"
        )

    def affected_customers(self, staging: str, target: str) -> str:
        """The customers of the file's applications, now and before this load (a correction may move one)."""
        return (
            f"CREATE TEMPORARY TABLE {target} AS SELECT customer_key FROM {staging} "
            f"UNION SELECT t.customer_key FROM fact_loan_application t "
            f"JOIN {staging} s ON t.application_id = s.application_id"
        )

    def demote_customers_without_applications(self, customers: str, now: str) -> str:
        """A customer whose last application moved away keeps its key (facts may still point at it) as an
        inferred member without application attributes."""
        return (
            "UPDATE dim_customer SET is_inferred = TRUE, employment_status = NULL, annual_income = NULL, "
            "state = NULL, latest_credit_score = NULL, latest_credit_band_key = NULL, "
            f"first_application_date = NULL, latest_application_date = NULL, application_count = 0, updated_at = {now} "
            f"WHERE customer_key IN (SELECT customer_key FROM {customers}) AND NOT EXISTS "
            "(SELECT 1 FROM fact_loan_application f WHERE f.customer_key = dim_customer.customer_key)"
        )

    # ---- ledger --------------------------------------------------------------------------------------
    def ledger_is_loaded(self) -> str:
        return f"SELECT status FROM etl_file_ledger WHERE file_id = {self.param} AND status = 'loaded'"

    def ledger_loaded_source(self) -> str:
        return f"SELECT source FROM etl_file_ledger WHERE file_id = {self.param} AND status = 'loaded'"

    def ledger_loaded_versions(self) -> str:
        """Loaded versions of a logical file other than the given file (parameters: logical name, file_id)."""
        p = self.param
        return (
            f"SELECT file_id FROM etl_file_ledger WHERE logical_name = {p} AND file_id <> {p} "
            "AND status = 'loaded'"
        )

    def ledger_name(self) -> str:
        return f"UPDATE etl_file_ledger SET logical_name = {self.param} WHERE file_id = {self.param}"

    def quarantine_delete(self) -> str:
        return f"DELETE FROM etl_quarantine WHERE file_id = {self.param}"

    def ledger_delete_unloaded(self) -> str:
        return f"DELETE FROM etl_file_ledger WHERE file_id = {self.param} AND status <> 'loaded'"

    def ledger_insert(self) -> str:
        cols = schema.ETL_FILE_LEDGER.column_names
        return (
            f"INSERT INTO etl_file_ledger ({', '.join(cols)}) VALUES ({', '.join([self.param] * len(cols))})"
        )

    def test_result_insert(self, rows: int = 1) -> str:
        cols = schema.ETL_DATA_TEST_RESULT.column_names
        row = f"({', '.join([self.param] * len(cols))})"
        return f"INSERT INTO etl_data_test_result ({', '.join(cols)}) VALUES {', '.join([row] * rows)}"
