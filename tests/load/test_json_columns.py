"""The facts' `attributes` column (a profile's kept columns as one JSON object) in each warehouse's SQL: a JSON
type per dialect, and on Redshift a text staging column that the statements reading the staging table parse
(COPY from Parquet would put the text into SUPER as one string scalar, not as the object it spells)."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from etl.load.sql import SqlBuilder
from etl.model import schema

FACTS = (schema.FACT_LOAN_APPLICATION, schema.FACT_BANK_TRANSACTION, schema.FACT_REPAYMENT)
REDSHIFT = SqlBuilder("redshift", "%s")


def _columns(ddl: str) -> dict[str, str]:
    parsed = sqlglot.parse_one(ddl, read="redshift")
    assert isinstance(parsed, exp.Create)
    return {
        c.name: c.args["kind"].sql("redshift")
        for c in parsed.this.expressions
        if isinstance(c, exp.ColumnDef)
    }


@pytest.mark.parametrize(
    ("dialect", "table_type"), [("duckdb", "JSON"), ("postgres", "JSONB"), ("redshift", "SUPER")]
)
def test_every_fact_has_one_json_attributes_column(dialect: str, table_type: str) -> None:
    builder = SqlBuilder(dialect, "?" if dialect == "duckdb" else "%s")
    for spec in FACTS:
        ddl = builder.create_table(spec)
        assert f" attributes {table_type}," in ddl, spec.name
        assert (
            builder.add_column(spec, "attributes")
            == f"ALTER TABLE {spec.name} ADD COLUMN attributes {table_type}"
        )
        staging = builder.create_staging(spec, "stg")
        assert f" attributes {'VARCHAR(65535)' if dialect == 'redshift' else table_type}," in staging
    # the dimensions and the ledger have none
    assert [t.name for t in schema.ALL_TABLES if "attributes" in t.column_names] == [f.name for f in FACTS]


def test_redshift_parses_the_staged_text_wherever_it_reaches_the_table() -> None:
    spec = schema.FACT_REPAYMENT
    assert _columns(REDSHIFT.create_table(spec))["attributes"] == "SUPER"
    assert _columns(REDSHIFT.create_staging(spec, "stg"))["attributes"] == "VARCHAR(65535)"
    merge = REDSHIFT.merge(spec, "stg")
    assert "attributes = JSON_PARSE(s.attributes)," in merge  # WHEN MATCHED: the parsed object
    values = merge.split(" VALUES (")[1]
    assert values.count("JSON_PARSE(") == 1 and "JSON_PARSE(s.attributes)" in values
    for sql in (merge, REDSHIFT.insert_all(spec, "stg"), *REDSHIFT.replace_by_key(spec, "stg")):
        parsed = sqlglot.parse_one(sql, read="redshift")
        assert not isinstance(parsed, exp.Command), sql[:80]
    insert = REDSHIFT.insert_all(spec, "stg")
    assert insert.endswith("status, JSON_PARSE(attributes), source_file_id, source_row, loaded_at FROM stg")
    # no other column is parsed, and no other dialect parses anything
    assert merge.count("JSON_PARSE(") == 2
    for dialect in ("duckdb", "postgres"):
        other = SqlBuilder(dialect, "%s")
        assert "JSON_PARSE" not in other.merge(spec, "stg") + other.insert_all(spec, "stg")


def test_redshift_compares_attributes_as_serialised_json() -> None:
    # SUPER objects are compared by their serialised text: the staged text parsed first, so that both sides
    # are serialised alike ('{"a": "1"}' and '{"a":"1"}' are the same object)
    same = REDSHIFT.same_values(schema.FACT_BANK_TRANSACTION, "s", "f")
    assert (
        "(COALESCE(JSON_SERIALIZE(JSON_PARSE(s.attributes)) = JSON_SERIALIZE(f.attributes), FALSE) "
        "OR (s.attributes IS NULL AND f.attributes IS NULL))"
    ) in same
    assert "COALESCE(s.merchant = f.merchant, FALSE)" in same
    assert "source_row" not in same  # lineage is no value
    postgres = SqlBuilder("postgres", "%s").same_values(schema.FACT_BANK_TRANSACTION, "s", "f")
    assert "COALESCE(s.attributes = f.attributes, FALSE)" in postgres  # JSONB compares by value
