"""DuckDB refreshes the customers of an application file by replacing their rows: every column survives."""

from __future__ import annotations

from decimal import Decimal

from etl.load.warehouse import open_warehouse
from tests.helpers import APP_HEADER, Env, write


def test_a_refresh_keeps_a_column_added_to_dim_customer_by_hand(env: Env) -> None:
    write(
        env.data / "d1",
        "loan_applications",
        "a.csv",
        f"{APP_HEADER}\nA1,C1,100.00,2023-01-01,700,Employed,1000\n",
    )
    assert env.run([env.data / "d1"]).exit_code == 0
    with open_warehouse(env.settings) as wh, wh.transaction():
        wh.execute("ALTER TABLE dim_customer ADD COLUMN relationship_manager VARCHAR")
        wh.execute("UPDATE dim_customer SET relationship_manager = 'Ada' WHERE customer_id = 'C1'")
    write(
        env.data / "d2",
        "loan_applications",
        "b.csv",
        f"{APP_HEADER}\nA2,C1,90.00,2023-03-01,720,Self-Employed,2000\n",
    )
    assert env.run([env.data / "d2"]).exit_code == 0
    assert env.query(
        "SELECT customer_id, is_inferred, employment_status, annual_income, latest_credit_score, "
        "application_count, relationship_manager FROM dim_customer WHERE customer_id = 'C1'"
    ) == [("C1", False, "Self-Employed", Decimal("2000.00"), 720, 2, "Ada")]
