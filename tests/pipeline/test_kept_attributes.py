"""A profile's kept columns land in the facts' `attributes` (one JSON object per row: DuckDB JSON, PostgreSQL
JSONB), exactly as the file wrote them, in the lake's fact Parquet as text, and count as values when a new
version of the file arrives; rows without a kept column (a file no layout keeps anything of) hold NULL."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.helpers import APP_HEADER, STMT_HEADER, Env, by_path, make_env, write
from tests.load.warehouse.pg import make_pg_env

PROFILE = """
[[layout]]
source = "bank_statements"
folder = "gtbank"
columns = { "Reference" = "transaction_id", "Account No" = "customer_id", "Trans. Date" = "transaction_date", "Remarks" = "narration", "Balance" = "balance", "Amount" = "transaction_amount" }
date_format = "%d-%b-%Y"
keep = ["Originating Branch"]

[[layout]]
source = "loan_applications"
keep = ["Agent Code", "Channel"]
"""
GT_HEADER = "Reference,Account No,Trans. Date,Remarks,Amount,Balance,Originating Branch,Teller"
GT_ROWS = (
    "G1,C1,05-Jan-2024,SALARY,250000.00,250000.00,Ikeja,T01\n"
    "G2,C1,06-Jan-2024,POS,-1200.50,248799.50,,T02\n"  # empty: null, the key kept
    'G3,C1,07-Jan-2024,POS,-99.99,248699.51,"Wuse ""II"" \\ Abuja",T01\n'  # a quote and a backslash
    "G4,C1,08-Jan-2024,POS,-0.51,248699.00,  Ìbàdàn  ,T03\n"  # trimmed as every value
)


@pytest.fixture(params=["duckdb", "postgres"])
def kenv(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    env = (
        make_pg_env(tmp_path, str(request.getfixturevalue("postgres_url")))
        if request.param == "postgres"
        else make_env(tmp_path)
    )
    profile = tmp_path / "kept.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    env.settings = env.settings.model_copy(update={"profile": str(profile)})
    return env


def attributes(env: Env, table: str, key: str) -> dict[str, Any]:
    """{key: attributes as the warehouse returns them}: JSON text from DuckDB, a parsed object from PostgreSQL."""
    return dict(env.query(f"SELECT {key}, attributes FROM {table} ORDER BY {key}"))


def as_objects(env: Env, held: dict[str, Any]) -> dict[str, Any]:
    if env.settings.warehouse_url.startswith("duckdb"):
        return {k: None if v is None else json.loads(v) for k, v in held.items()}
    return held


def test_kept_columns_land_in_the_fact_attributes_exactly(kenv: Env) -> None:
    write(kenv.data, "bank_statements", "gtbank/jan.csv", f"{GT_HEADER}\n{GT_ROWS}")
    write(kenv.data, "bank_statements", "plain.csv", f"{STMT_HEADER}\nP1,C2,2024-01-05,-5.00,POS,1.00\n")
    write(
        kenv.data,
        "loan_applications",
        "apps.csv",
        f"{APP_HEADER},Channel,Agent Code,Region\n"
        "A1,C1,1000.00,2024-01-02,700,Employed,50000.00,web,AG-7,South\n"
        "A2,C2,2000.00,2024-01-03,650,Employed,60000.00,,,North\n",
    )
    results = by_path(kenv.run())
    assert {n: (r.status, r.rows_loaded) for n, r in results.items()} == {
        "jan.csv": ("loaded", 4),
        "plain.csv": ("loaded", 1),
        "apps.csv": ("loaded", 2),
    }
    assert results["jan.csv"].extra_columns == ["teller"]  # not kept: listed, not loaded
    assert results["apps.csv"].extra_columns == ["region"]

    held = attributes(kenv, "fact_bank_transaction", "transaction_id")
    if kenv.settings.warehouse_url.startswith("duckdb"):
        # DuckDB keeps the JSON text as normalisation wrote it
        assert held == {
            "G1": '{"originating_branch":"Ikeja"}',
            "G2": '{"originating_branch":null}',
            "G3": '{"originating_branch":"Wuse \\"II\\" \\\\ Abuja"}',
            "G4": '{"originating_branch":"Ìbàdàn"}',
            "P1": None,
        }
    assert as_objects(kenv, held) == {
        "G1": {"originating_branch": "Ikeja"},
        "G2": {"originating_branch": None},
        "G3": {"originating_branch": 'Wuse "II" \\ Abuja'},
        "G4": {"originating_branch": "Ìbàdàn"},
        "P1": None,  # a file no layout keeps anything of
    }
    assert as_objects(kenv, attributes(kenv, "fact_loan_application", "application_id")) == {
        "A1": {"agent_code": "AG-7", "channel": "web"},
        "A2": {"agent_code": None, "channel": None},
    }
    # the warehouse reads into the object (JSON path in DuckDB, ->> in PostgreSQL)
    path = (
        "attributes->>'$.originating_branch'"
        if kenv.settings.warehouse_url.startswith("duckdb")
        else "attributes->>'originating_branch'"
    )
    assert kenv.query(
        f"SELECT {path}, SUM(transaction_amount) FROM fact_bank_transaction WHERE attributes IS NOT NULL "
        "GROUP BY 1 ORDER BY 1 NULLS LAST"
    ) == [
        ("Ikeja", Decimal("250000.00")),
        ('Wuse "II" \\ Abuja', Decimal("-99.99")),
        ("Ìbàdàn", Decimal("-0.51")),
        (None, Decimal("-1200.50")),
    ]
    # the lake's fact Parquet holds the same JSON text
    lake = pq.read_table(results["jan.csv"].lake_uri).sort_by("transaction_id")
    assert lake.schema.field("attributes").type == "string"
    assert lake.column("attributes").to_pylist()[0] == '{"originating_branch":"Ikeja"}'


def test_a_new_version_that_changes_only_a_kept_column_updates_the_row(kenv: Env) -> None:
    path = write(kenv.data, "bank_statements", "gtbank/jan.csv", f"{GT_HEADER}\n{GT_ROWS}")
    [first] = kenv.run().files
    assert (first.status, first.rows_inserted) == ("loaded", 4)
    # the bank re-exports January: G1's branch corrected, the rest the same (the teller column changed too,
    # but it is not kept: no value of the warehouse)
    path.write_text(
        f"{GT_HEADER}\n{GT_ROWS.replace(',Ikeja,T01', ',Ikeja Central,T01').replace('T02', 'T09')}",
        encoding="utf-8",
    )
    [second] = kenv.run().files
    assert (second.status, second.rows_updated, second.rows_unchanged) == ("loaded", 1, 3)
    held = as_objects(kenv, attributes(kenv, "fact_bank_transaction", "transaction_id"))
    assert held["G1"] == {"originating_branch": "Ikeja Central"}
    assert held["G3"] == {"originating_branch": 'Wuse "II" \\ Abuja'}
    assert kenv.scalar("SELECT COUNT(DISTINCT source_file_id) FROM fact_bank_transaction") == 1


def test_kept_columns_too_long_for_the_attributes_quarantine_their_row(tmp_path: Path) -> None:
    # Redshift stages attributes as VARCHAR(65535): a longer object would fail the whole file's COPY on every
    # retry, so its row is quarantined with the reason and the other rows load (as on every warehouse)
    env = make_env(tmp_path)
    profile = tmp_path / "kept.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    near = "x" * (65535 - len('{"originating_branch":""}'))  # exactly 65535 bytes as JSON
    write(
        env.data,
        "bank_statements",
        "gtbank/jan.csv",
        f"{GT_HEADER}\nG1,C1,05-Jan-2024,SALARY,10.00,10.00,{near},T1\n"
        f"G2,C1,06-Jan-2024,SALARY,10.00,20.00,{near}y,T1\n",
    )
    [result] = env.run(profile=str(profile), max_quarantine_rate=1.0).files
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 1)
    [row] = pq.read_table(result.quarantine_uri).to_pylist()
    assert (row["transaction_id"], row["rule"], row["column"], row["reason"]) == (
        "G2",
        "out_of_range",
        "attributes",
        "the kept columns are longer than 65535 bytes as JSON",
    )
    [(held,)] = env.query("SELECT attributes FROM fact_bank_transaction")
    assert len(held.encode()) == 65535 and json.loads(held) == {"originating_branch": near}
