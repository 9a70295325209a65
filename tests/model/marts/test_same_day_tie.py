"""Two applications of one customer on one day: the later is the one with the greater application_id byte
by byte, on DuckDB and on PostgreSQL whatever the database's collation (en-US ICU sorts `a2` before `B1`,
byte order puts `B1` first)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from etl.load.warehouse import open_warehouse
from etl.settings import Settings
from tests.helpers import Env, write
from tests.plugins.postgres import PostgresServer

APPS = """application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income,state
B1,H1,1000.00,2023-01-10,700,Employed,12000.00,Lagos
a2,H1,2000.00,2023-01-10,500,Unemployed,6000.00,Kano
"""


@pytest.fixture(params=["duckdb", "postgres-c", "postgres-en-us"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    database = None
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        database = f"tie_{uuid.uuid4().hex[:12]}"
        url = server.create_database(
            database, icu_locale="en-US" if request.param == "postgres-en-us" else None
        )
    try:
        yield request.param, Settings(lake=str(tmp_path / "lake"), warehouse_url=url)
    finally:
        if database is not None:
            server.drop_database(database)


def test_the_same_day_tie_is_broken_by_application_id_bytes(
    backend: tuple[str, Settings], tmp_path: Path
) -> None:
    name, settings = backend
    write(tmp_path / "data", "loan_applications", "apps.csv", APPS)
    assert [f.status for f in Env(tmp_path, settings).run().files] == ["loaded"]
    with open_warehouse(settings) as wh:
        if name != "duckdb":  # the database really sorts by its collation
            assert wh.query("SELECT 'a2' < 'B1'") == [(name == "postgres-en-us",)]
        assert wh.query(
            "SELECT employment_status, annual_income, state, latest_credit_score FROM dim_customer "
            "WHERE customer_id = 'H1'"
        ) == [("Unemployed", Decimal("6000.00"), "Kano", 500)]
        assert wh.query(
            "SELECT version, source_application_id, valid_from, valid_to, is_current FROM dim_customer_history "
            "WHERE customer_id = 'H1' ORDER BY version"
        ) == [
            (1, "B1", date(2023, 1, 10), date(2023, 1, 10), False),
            (2, "a2", date(2023, 1, 10), None, True),
        ]
        assert wh.query(
            "SELECT latest_loan_amount FROM mart_customer_credit_profile WHERE customer_id = 'H1'"
        ) == [(Decimal("2000.00"),)]
