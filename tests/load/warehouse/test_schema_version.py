"""The schema step runs once per change of the schema, not once per load (every Lambda invocation).

Dropping and re-creating the mart views on every load took exclusive locks that waited for, and blocked,
the dashboards' queries, and lost every GRANT on the views.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from etl.load.lake import LocalLake
from etl.load.warehouse import open_warehouse
from etl.model.marts import MARTS
from etl.pipeline import Pipeline
from etl.settings import Settings


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(lake=str(tmp_path / "lake"), warehouse_url=url)


def _prepare(settings: Settings) -> list[str]:
    """Pipeline.prepare on a new connection; the statements it executed (queries not counted)."""
    with open_warehouse(settings) as wh:
        executed: list[str] = []
        execute = wh.execute

        def recording(sql: str, params: Any = ()) -> None:
            executed.append(sql)
            execute(sql, params)

        wh.execute = recording  # type: ignore[method-assign]
        Pipeline(settings, LocalLake(settings.lake), wh).prepare()
        return executed


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_the_schema_is_set_up_once_and_then_left_alone(backend: str, tmp_path: Path, request: Any) -> None:
    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgres"
        else f"duckdb:///{tmp_path / 'w.duckdb'}"
    )
    settings = _settings(tmp_path, url)
    first = _prepare(settings)
    assert any(s.startswith("CREATE TABLE IF NOT EXISTS fact_bank_transaction") for s in first)
    assert sum(s.startswith("DROP VIEW IF EXISTS mart_") for s in first) == len(MARTS)
    assert _prepare(settings) == []  # nothing executed: no DDL, no view dropped
    with open_warehouse(settings) as wh:
        [(digest,)] = wh.query("SELECT digest FROM etl_schema_version")
        assert len(digest) == 64
    with open_warehouse(settings) as wh:  # a view and a table dropped by hand are made again
        wh.execute("DROP VIEW mart_loan_customer_360")
        wh.execute("DROP VIEW mart_data_test_latest")  # it reads the table below
        wh.execute("DROP TABLE etl_data_test_result")
    repaired = _prepare(settings)
    assert "CREATE OR REPLACE VIEW mart_loan_customer_360 AS" in "\n".join(repaired)
    assert any(s.startswith("CREATE TABLE IF NOT EXISTS etl_data_test_result") for s in repaired)
    assert _prepare(settings) == []
    with open_warehouse(settings) as wh:
        wh.execute("UPDATE etl_schema_version SET digest = 'an older release'")
    again = _prepare(settings)  # another schema: the whole step runs again
    assert sum(s.startswith("CREATE OR REPLACE VIEW mart_") for s in again) == len(MARTS)
    with open_warehouse(settings) as wh:
        assert wh.query("SELECT digest FROM etl_schema_version") == [(digest,)]


def test_a_grant_on_a_mart_view_survives_the_next_load(tmp_path: Path, postgres_url: str) -> None:
    settings = _settings(tmp_path, postgres_url)
    _prepare(settings)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS quicksight_reader")
        conn.execute("CREATE ROLE quicksight_reader")
        conn.execute("GRANT SELECT ON mart_data_quality TO quicksight_reader")
    _prepare(settings)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        granted = conn.execute(
            "SELECT has_table_privilege('quicksight_reader', 'mart_data_quality', 'SELECT')"
        )
        assert granted.fetchone() == (True,)
        conn.execute("REVOKE ALL ON mart_data_quality FROM quicksight_reader")
        conn.execute("DROP ROLE quicksight_reader")


def test_the_digest_covers_the_seed_rows(tmp_path: Path) -> None:
    import pyarrow as pa

    from etl.model import schema

    bands = schema.DIM_CREDIT_BAND
    rows = pa.table({c.name: pa.nulls(1, c.arrow) for c in bands.columns})
    changed = rows.set_column(0, bands.columns[0].name, pa.array([7], bands.columns[0].arrow))
    with open_warehouse(_settings(tmp_path, f"duckdb:///{tmp_path / 'w.duckdb'}")) as wh:
        assert wh.schema_digest([(bands, rows)]) == wh.schema_digest([(bands, rows)])
        assert wh.schema_digest([(bands, rows)]) != wh.schema_digest([(bands, changed)])
