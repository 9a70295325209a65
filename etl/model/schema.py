"""Table specifications of the star schema: one source of truth for DDL, staging, MERGE and data tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from etl.contracts import ATTRIBUTES_MAX_BYTES, LABEL_BYTES
from etl.model.dialect import Dialect

TableKind = Literal["fact", "dim", "meta"]

# SQL types shared by DuckDB, PostgreSQL and Redshift.
_ARROW_TO_SQL: dict[str, str] = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "int32": "INTEGER",
    "int16": "SMALLINT",
    "bool": "BOOLEAN",
    "date32[day]": "DATE",
    "timestamp[us]": "TIMESTAMP",
    "decimal128(18, 2)": "DECIMAL(18,2)",
    "decimal128(18, 4)": "DECIMAL(18,4)",
    "decimal128(9, 4)": "DECIMAL(9,4)",
}


# A JSON object column: its text in Arrow and Parquet, a JSON type in each warehouse. Redshift loads it
# through a VARCHAR staging column (COPY puts a Parquet string into SUPER as a string scalar, not parsed) that
# the MERGE parses with JSON_PARSE; 65535 bytes is the widest VARCHAR, so the widest text it can stage.
JSON_TYPES: dict[Dialect, str] = {"duckdb": "JSON", "postgres": "JSONB", "redshift": "SUPER"}
JSON_MAX_BYTES = ATTRIBUTES_MAX_BYTES


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    arrow: pa.DataType
    nullable: bool = True
    length: int | None = None  # VARCHAR length (Redshift needs one; bytes, not characters)
    json: bool = False  # a JSON object, stored as text in the lake (see JSON_TYPES)

    @property
    def sql_type(self) -> str:
        """The type as the data dictionary shows it (DuckDB's name for a JSON column)."""
        return self.sql_type_in("duckdb")

    def sql_type_in(self, dialect: Dialect) -> str:
        """The column's type in `dialect`'s warehouse tables."""
        if self.json:
            return JSON_TYPES[dialect]
        base = _ARROW_TO_SQL[str(self.arrow)]
        return f"VARCHAR({self.length or 256})" if base == "VARCHAR" else base

    def staging_type_in(self, dialect: Dialect) -> str:
        """The column's type in a staging table: its table type, except a JSON column on Redshift, staged as
        text (COPY from Parquet) and parsed by the statements that read the staging table."""
        if self.json and dialect == "redshift":
            return f"VARCHAR({JSON_MAX_BYTES})"
        return self.sql_type_in(dialect)


@dataclass(frozen=True)
class TableSpec:
    name: str
    kind: TableKind
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    distkey: str | None = None
    sortkey: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow, nullable=c.nullable) for c in self.columns])


def _c(name: str, arrow: pa.DataType, nullable: bool = True, length: int | None = None) -> ColumnSpec:
    return ColumnSpec(name, arrow, nullable, length)


S, I64, I32, I16, B, D, TS = (
    pa.string(),
    pa.int64(),
    pa.int32(),
    pa.int16(),
    pa.bool_(),
    pa.date32(),
    pa.timestamp("us"),
)
MONEY, RATIO, RATE = pa.decimal128(18, 2), pa.decimal128(18, 4), pa.decimal128(9, 4)
ID = 128
# channel is stored lower-cased, and lower case may be longer in UTF-8 (Arrow's utf8_lower turns the 2-byte
# "Ⱥ" into the 3-byte "ⱥ", the most any character grows): room for a validated label after it.
LOWERED_LABEL_BYTES = LABEL_BYTES * 3 // 2

# Extra columns a profile keeps, as one JSON object of text per row (`{"branch": "Ikeja"}`); NULL without.
ATTRIBUTES = ColumnSpec("attributes", S, json=True)

LINEAGE = (
    _c("source_file_id", S, False, 64),
    _c("source_row", I64, False),
    _c("loaded_at", TS, False),
)

FACT_LOAN_APPLICATION = TableSpec(
    "fact_loan_application",
    "fact",
    (
        _c("application_id", S, False, ID),
        _c("application_key", I64, False),
        _c("customer_key", I64, False),
        _c("application_date_key", I32, False),
        _c("credit_band_key", I64, False),
        _c("loan_application_date", D, False),
        _c("loan_amount", MONEY, False),
        _c("credit_score", I32, False),
        _c("employment_status", S, False, 32),
        _c("annual_income", MONEY, False),
        _c("loan_to_income", RATIO),
        _c("loan_term_months", I32),
        _c("interest_rate", RATE),
        _c("loan_purpose", S, length=LABEL_BYTES),
        _c("state", S, length=LABEL_BYTES),
        _c("application_status", S, length=16),
        _c("decision_date", D),
        _c("decision_date_key", I32),
        _c("fraud_score", RATE),
        ATTRIBUTES,
        *LINEAGE,
    ),
    key=("application_id",),
    distkey="customer_key",
    sortkey=("loan_application_date",),
)

FACT_BANK_TRANSACTION = TableSpec(
    "fact_bank_transaction",
    "fact",
    (
        _c("transaction_id", S, False, ID),
        _c("customer_key", I64, False),
        _c("transaction_date_key", I32, False),
        _c("category_key", I64, False),
        _c("transaction_amount", MONEY, False),
        _c("direction", S, False, 8),
        _c("balance", MONEY, False),
        _c("narration", S, False, 4096),
        _c("channel", S, length=LOWERED_LABEL_BYTES),
        _c("merchant", S, length=LABEL_BYTES),  # stored as written (not lower-cased)
        ATTRIBUTES,
        *LINEAGE,
    ),
    key=("transaction_id",),
    distkey="customer_key",
    sortkey=("transaction_date_key",),  # yyyymmdd: sorts as the date does
)

FACT_REPAYMENT = TableSpec(
    "fact_repayment",
    "fact",
    (
        _c("repayment_id", S, False, ID),
        _c("application_id", S, False, ID),
        _c("application_key", I64, False),
        # The application's customer, resolved in the warehouse; without a known application the file's
        # customer_id's (an inferred member), else the unknown member (-1)
        _c("customer_key", I64),
        _c("due_date", D, False),
        _c("due_date_key", I32, False),
        _c("paid_date", D),
        _c("paid_date_key", I32),
        _c("amount_due", MONEY, False),
        _c("amount_paid", MONEY),
        _c("days_late", I32),
        _c("status", S, False, 16),
        ATTRIBUTES,
        *LINEAGE,
    ),
    key=("repayment_id",),
    distkey="customer_key",
    sortkey=("due_date",),
)

DIM_DATE = TableSpec(
    "dim_date",
    "dim",
    (
        _c("date_key", I32, False),
        _c("date", D, False),
        _c("year", I16, False),
        _c("quarter", I16, False),
        _c("month", I16, False),
        _c("month_name", S, False, 16),
        _c("year_month", S, False, 7),
        _c("day", I16, False),
        _c("day_of_week", I16, False),
        _c("day_name", S, False, 16),
        _c("iso_week", I16, False),
        _c("is_weekend", B, False),
        _c("is_month_end", B, False),
    ),
    key=("date_key",),
    sortkey=("date_key",),
)

DIM_CUSTOMER = TableSpec(
    "dim_customer",
    "dim",
    (
        _c("customer_key", I64, False),
        _c("customer_id", S, False, ID),
        _c("is_inferred", B, False),
        _c("employment_status", S, length=32),
        _c("annual_income", MONEY),
        _c("state", S, length=LABEL_BYTES),
        _c("latest_credit_score", I32),
        _c("latest_credit_band_key", I64),
        _c("first_application_date", D),
        _c("latest_application_date", D),
        _c("application_count", I32, False),
        _c("updated_at", TS, False),
    ),
    key=("customer_key",),
    distkey="customer_key",
    sortkey=("customer_key",),
)

DIM_CUSTOMER_HISTORY = TableSpec(
    "dim_customer_history",
    "dim",
    (
        _c("customer_key", I64, False),
        _c("version", I32, False),
        _c("customer_id", S, False, ID),
        _c("employment_status", S, length=32),
        _c("annual_income", MONEY),
        _c("state", S, length=LABEL_BYTES),
        _c("valid_from", D, False),
        _c("valid_to", D),
        _c("is_current", B, False),
        _c("source_application_id", S, False, ID),
    ),
    key=("customer_key", "version"),
    distkey="customer_key",
    sortkey=("customer_key", "valid_from"),
)

DIM_CREDIT_BAND = TableSpec(
    "dim_credit_band",
    "dim",
    (
        _c("credit_band_key", I64, False),
        _c("credit_band", S, False, 16),
        _c("min_score", I32, False),
        _c("max_score", I32, False),
        _c("band_order", I16, False),
    ),
    key=("credit_band_key",),
)

DIM_TRANSACTION_CATEGORY = TableSpec(
    "dim_transaction_category",
    "dim",
    (
        _c("category_key", I64, False),
        _c("category", S, False, 32),
        _c("category_description", S, length=256),
        _c("display_order", I16, False),
    ),
    key=("category_key",),
)

ETL_FILE_LEDGER = TableSpec(
    "etl_file_ledger",
    "meta",
    (
        _c("file_id", S, False, 64),
        _c("source", S, length=32),
        _c("uri", S, False, 1024),
        _c("file_name", S, False, 512),
        _c("bytes", I64, False),
        _c("rows_in", I64, False),
        _c("rows_loaded", I64, False),
        _c("rows_quarantined", I64, False),
        _c("rows_blank", I64, False),
        _c("status", S, False, 24),
        _c("error", S, length=1024),
        _c("lake_uri", S, length=1024),
        _c("quarantine_uri", S, length=1024),
        _c("started_at", TS, False),
        _c("finished_at", TS, False),
        _c("duration_ms", I64, False),
        _c("run_id", S, False, 64),
        # File lineage (columns added by later versions are nullable: a ledger from before them has NULLs)
        _c("logical_name", S, length=1024),  # <source>/<path under the source folder>: the file's identity
        _c("replay_of", S, length=64),  # a quarantine replay: the file whose quarantined rows it loads
        _c("superseded_by", S, length=64),  # a newer version of the same logical file replaced this one
        _c("rows_inserted", I64),  # keys new to the warehouse
        _c("rows_updated", I64),  # keys it held already, with other values (a correction, or a conflict)
        _c("rows_unchanged", I64),  # keys it held already, with the same values
        _c("rows_removed", I64),  # keys of the previous version that this version no longer has
        _c("rows_conflicting", I64),  # keys another logical file held (updated or quarantined by policy)
        # What was read of the file: the profile layout that read it, and the columns it had beyond the
        # contract's (not loaded) and the optional ones it lacked, comma-separated
        _c("layout", S, length=512),
        _c("extra_columns", S, length=1024),
        _c("missing_columns", S, length=1024),
    ),
    key=("file_id",),
    sortkey=("finished_at",),
)

# The rows a loaded file quarantined, by key: what `mart_quarantine_status` tells open from resolved.
ETL_QUARANTINE = TableSpec(
    "etl_quarantine",
    "meta",
    (
        _c("file_id", S, False, 64),
        _c("source_row", I64, False),
        _c("source", S, False, 32),
        _c("rule", S, False, 32),
        _c("column_name", S, length=64),
        _c("key_value", S, length=ID),  # the natural key as loading normalises it; NULL when unusable
        _c("reason", S, length=1024),
    ),
    key=("file_id", "source_row"),
    sortkey=("file_id",),
)

ETL_DATA_TEST_RESULT = TableSpec(
    "etl_data_test_result",
    "meta",
    (
        _c("run_id", S, False, 64),
        _c("test_name", S, False, 256),
        _c("test_type", S, False, 32),
        _c("table_name", S, False, 64),
        _c("severity", S, False, 8),
        _c("status", S, False, 8),
        _c("failures", I64, False),
        _c("checked_at", TS, False),
    ),
    key=("run_id", "test_name"),
    sortkey=("checked_at",),
)

ETL_SCHEMA_VERSION = TableSpec(
    "etl_schema_version",
    "meta",
    (
        _c("digest", S, False, 64),
        _c("applied_at", TS, False),
    ),
    key=("digest",),
)

# Columns earlier versions kept in the facts as copies of their dimensions' attributes (issue 21: a fact holds
# keys, measures and degenerate dimensions). The schema step drops them from an existing warehouse: they were
# NOT NULL, so rows that no longer carry them could not be inserted beside them.
RETIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "fact_loan_application": ("customer_id",),
    "fact_bank_transaction": ("customer_id", "transaction_date", "category"),
    "fact_repayment": ("customer_id",),
}

# The sort keys (Redshift) those versions gave the tables whose sort key was a retired column: Redshift drops
# no sort key column, so such a table gets its new sort key first.
RETIRED_SORTKEYS: dict[str, tuple[str, ...]] = {"fact_bank_transaction": ("transaction_date",)}

# A file's customers by key, staged beside its fact rows (not a warehouse table): the facts keep the key only,
# and a customer the warehouse does not know yet becomes a member of dim_customer with this natural id.
FILE_CUSTOMERS = TableSpec(
    "file_customers",
    "meta",
    (_c("customer_key", I64, False), _c("customer_id", S, False, ID)),
    key=("customer_key",),
)

FACTS = (FACT_LOAN_APPLICATION, FACT_BANK_TRANSACTION, FACT_REPAYMENT)
DIMENSIONS = (DIM_DATE, DIM_CUSTOMER, DIM_CUSTOMER_HISTORY, DIM_CREDIT_BAND, DIM_TRANSACTION_CATEGORY)
META = (ETL_FILE_LEDGER, ETL_QUARANTINE, ETL_DATA_TEST_RESULT, ETL_SCHEMA_VERSION)
ALL_TABLES = (*DIMENSIONS, *FACTS, *META)
TABLES = {t.name: t for t in ALL_TABLES}
