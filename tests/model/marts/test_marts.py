"""Every mart against hand-computed values, on DuckDB and on a real PostgreSQL server.

The fixtures (tests/marts/fixtures) go through the real pipeline: 5 applications (one pending, one without
term/rate/state), 10 statement lines (one quarantined for a zero amount, one from a customer seen only in
statements) and 5 repayments (one missed, one paid 101 days late). Expected values are worked out by hand
in the comments.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from etl.load.warehouse import open_warehouse
from etl.model.marts import MARTS, create_view_sql, ensure_marts
from tests.model.marts import Marts, loaded_warehouse

FIXTURES = Path(__file__).parent / "fixtures"
D = Decimal
U = "(unknown)"


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def marts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marts]:
    tmp = tmp_path_factory.mktemp(f"marts-{request.param}")
    shutil.copytree(FIXTURES, tmp / "data")
    with loaded_warehouse(request, tmp, "marts") as (settings, report):
        assert [f.status for f in report.files] == ["loaded"] * 3
        with open_warehouse(settings) as wh, wh.transaction():
            ensure_marts(wh)  # idempotent
        yield Marts(settings)


def test_every_mart_is_a_view_that_answers(marts: Marts) -> None:
    for mart in MARTS:
        assert mart.name.startswith("mart_")
        assert create_view_sql(mart, "redshift").startswith(f"CREATE OR REPLACE VIEW {mart.name} AS")
        marts.query(f"SELECT COUNT(*) FROM {mart.name}")


def test_income_by_employment(marts: Marts) -> None:
    got = marts.by_key(
        "mart_income_by_employment",
        ["employment_status"],
        [
            "customers",
            "applications",
            "approved",
            "rejected",
            "pending",
            "approval_rate",
            "total_loan_amount",
            "avg_loan_amount",
            "avg_annual_income",
            "median_annual_income",
        ],
    )
    assert got == {
        # A1 + A3: 1000 + 3000; incomes 50000, 70000
        "Employed": (2, 2, 2, 0, 0, D("1.0000"), D("4000.00"), D("2000.00"), D("60000.00"), D("60000.00")),
        # A2 rejected + A5 approved: 2000 + 800; incomes 10000, 20000
        "Unemployed": (2, 2, 1, 1, 0, D("0.5000"), D("2800.00"), D("1400.00"), D("15000.00"), D("15000.00")),
        # A4 pending: no decision, so no approval rate
        "Self-Employed": (1, 1, 0, 0, 1, None, D("500.00"), D("500.00"), D("30000.00"), D("30000.00")),
    }


def test_loan_kpis_monthly(marts: Marts) -> None:
    got = marts.by_key(
        "mart_loan_kpis_monthly",
        ["year_month"],
        [
            "customers",
            "applications",
            "approved",
            "rejected",
            "pending",
            "approval_rate",
            "total_loan_amount",
            "avg_loan_amount",
            "avg_credit_score",
            "avg_interest_rate",
            "expected_interest",
        ],
    )
    assert got == {
        # A1 (700, 10%, 12m approved: 1000*10*12/1200 = 100) and A2 (550, 20%, rejected)
        "2024-01": (2, 2, 1, 1, 0, D("0.5"), D("3000.00"), D("1500.00"), D("625.00"), D("15.0"), D("100.00")),
        # A3 (720, 12.5%, 12m: 375), A4 (810, pending, no rate), A5 (600, 24%, 6m: 800*24*6/1200 = 96)
        "2024-02": (3, 3, 2, 0, 1, D("1"), D("4300.00"), D("1433.33"), D("710.00"), D("18.25"), D("471.00")),
    }


def test_approval_by_band_employment(marts: Marts) -> None:
    got = marts.by_key(
        "mart_approval_by_band_employment",
        ["credit_band", "employment_status"],
        [
            "band_order",
            "applications",
            "approved",
            "rejected",
            "pending",
            "approval_rate",
            "total_loan_amount",
        ],
    )
    assert got == {
        ("Good", "Employed"): (3, 2, 2, 0, 0, D("1"), D("4000.00")),
        ("Poor", "Unemployed"): (1, 1, 0, 1, 0, D("0"), D("2000.00")),
        ("Fair", "Unemployed"): (2, 1, 1, 0, 0, D("1"), D("800.00")),
        ("Exceptional", "Self-Employed"): (5, 1, 0, 0, 1, None, D("500.00")),
    }


def test_default_rate_by_band_employment(marts: Marts) -> None:
    got = marts.by_key(
        "mart_default_rate_by_band_employment",
        ["credit_band", "employment_status"],
        [
            "loans",
            "defaulted_loans",
            "default_rate",
            "instalments",
            "missed_instalments",
            "amount_due",
            "amount_paid",
        ],
    )
    assert got == {
        # A1 has a missed instalment (defaulted); A3 was late 15 and 1 days (not defaulted)
        ("Good", "Employed"): (2, 1, D("0.5"), 4, 1, D("800.00"), D("700.00")),
        # A5 paid 101 days late (> 90: defaulted)
        ("Fair", "Unemployed"): (1, 1, D("1"), 1, 0, D("200.00"), D("200.00")),
    }


def test_loans_by_state(marts: Marts) -> None:
    got = marts.by_key(
        "mart_loans_by_state",
        ["state"],
        [
            "customers",
            "applications",
            "approved",
            "approval_rate",
            "total_loan_amount",
            "avg_loan_amount",
            "avg_credit_score",
        ],
    )
    assert got == {
        "Lagos": (2, 2, 2, D("1"), D("4000.00"), D("2000.00"), D("710.00")),
        "Kano": (2, 2, 1, D("0.5"), D("2800.00"), D("1400.00"), D("575.00")),
        U: (1, 1, 0, None, D("500.00"), D("500.00"), D("810.00")),
    }


def test_interest_and_terms(marts: Marts) -> None:
    got = marts.by_key(
        "mart_interest_and_terms",
        ["loan_term_months", "credit_band"],
        ["applications", "approved", "total_loan_amount", "avg_interest_rate", "expected_interest"],
    )
    assert got == {
        (12, "Good"): (2, 2, D("4000.00"), D("11.25"), D("475.00")),
        (6, "Poor"): (1, 0, D("2000.00"), D("20"), None),
        (6, "Fair"): (1, 1, D("800.00"), D("24"), D("96.00")),
    }


def test_customer_credit_profile(marts: Marts) -> None:
    got = marts.by_key(
        "mart_customer_credit_profile",
        ["customer_id"],
        [
            "is_inferred",
            "employment_status",
            "credit_band",
            "transactions",
            "active_months",
            "total_inflow",
            "total_outflow",
            "avg_monthly_inflow",
            "avg_monthly_outflow",
            "salary_months",
            "salary_regularity",
            "betting_share",
            "lowest_balance",
            "days_overdrawn",
            "loan_to_income",
            "inflow_to_loan",
        ],
    )
    assert set(got) == {"C1", "C2", "C3", "C4", "C5", "C9"}  # not the unknown member
    # C1: salary in both months, 1000 of 6000 debits on betting, overdrawn on 2024-01-20; T10 quarantined
    assert got["C1"] == (
        False, "Employed", "Good", 5, 2, D("10000.00"), D("6000.00"), D("5000.00"), D("3000.00"),
        2, D("1"), D("0.1667"), D("-500.00"), 1, D("0.02"), D("5"),
    )  # fmt: skip
    # C2: two debits on one day both below zero count as one overdrawn day
    assert got["C2"] == (
        False, "Unemployed", "Poor", 3, 1, D("2000.00"), D("2600.00"), D("2000.00"), D("2600.00"),
        0, D("0"), D("0"), D("-600.00"), 1, D("0.2"), D("1"),
    )  # fmt: skip
    # C3 has no statement lines: flows are unknown, not zero
    assert got["C3"] == (
        False, "Employed", "Good", 0, 0, None, None, None, None, 0, None, None, None, 0, D("0.0429"), None,
    )  # fmt: skip
    # C9 appears only in statements: an inferred member with no application
    assert got["C9"] == (
        True, U, U, 1, 1, D("300.00"), D("0.00"), D("300.00"), D("0.00"), 0, D("0"), None, D("300.00"), 0, None, None,
    )  # fmt: skip


def test_spend_by_category_month(marts: Marts) -> None:
    got = marts.by_key(
        "mart_spend_by_category_month",
        ["year_month", "category", "direction"],
        [
            "flow",
            "employment_status",
            "credit_band",
            "state",
            "transactions",
            "total_value",
            "total_spend",
            "total_income",
        ],
    )
    assert len(got) == 9
    assert got[("2024-01", "betting", "debit")] == (
        "spending", "Employed", "Good", "Lagos", 1, D("1000.00"), D("1000.00"), D("0.00"),
    )  # fmt: skip
    assert got[("2024-01", "transfer", "credit")] == (
        "income", "Unemployed", "Poor", "Kano", 1, D("2000.00"), D("0.00"), D("2000.00"),
    )  # fmt: skip
    assert got[("2024-02", "transfer", "credit")] == (
        "income",
        U,
        U,
        U,
        1,
        D("300.00"),
        D("0.00"),
        D("300.00"),
    )
    assert sum(v[5] for v in got.values()) == D("20900.00")
    assert sum(v[6] for v in got.values()) == D("8600.00")  # 1000 + 4500 + 500 + 2500 + 100
    assert sum(v[7] for v in got.values()) == D("12300.00")  # 5000 + 5000 + 2000 + 300


def test_loan_segment_monthly_adds_up(marts: Marts) -> None:
    got = marts.by_key(
        "mart_loan_segment_monthly",
        ["year_month", "employment_status", "credit_band", "state"],
        ["applications", "approved", "total_loan_amount", "total_annual_income", "total_credit_score",
         "loans", "defaulted_loans", "rated_applications", "total_interest_rate", "expected_interest"],
    )  # fmt: skip
    assert len(got) == 5
    assert got[("2024-02", "Unemployed", "Fair", "Kano")] == (
        1, 1, D("800.00"), D("20000.00"), 600, 1, 1, 1, D("24"), D("96.00"),
    )  # fmt: skip
    assert got[("2024-02", "Self-Employed", "Exceptional", U)] == (
        1, 0, D("500.00"), D("30000.00"), 810, 0, 0, 0, None, None,
    )  # fmt: skip
    assert sum(v[0] for v in got.values()) == 5
    assert sum(v[2] for v in got.values()) == D("7300.00")


def test_data_quality(marts: Marts) -> None:
    got = marts.by_key(
        "mart_data_quality",
        ["source", "status"],
        ["files", "rows_in", "rows_loaded", "rows_quarantined", "quarantine_rate"],
    )
    assert got == {
        ("loan_applications", "loaded"): (1, 5, 5, 0, D("0")),
        ("bank_statements", "loaded"): (1, 10, 9, 1, D("0.1")),  # T10: zero amount
        ("repayments", "loaded"): (1, 5, 5, 0, D("0")),
    }
    load_days = marts.query("SELECT DISTINCT load_date FROM mart_data_quality")
    assert all(isinstance(d[0], date) for d in load_days)


def test_data_test_latest(marts: Marts) -> None:
    tests = marts.query("SELECT COUNT(DISTINCT test_name) FROM etl_data_test_result")[0][0]
    latest = marts.query("SELECT test_name, status FROM mart_data_test_latest")
    assert len(latest) == tests > 10
    assert {status for _, status in latest} == {"pass"}


def test_loan_customer_360(marts: Marts) -> None:
    got = marts.by_key(
        "mart_loan_customer_360",
        ["application_id"],
        ["customer_id", "credit_band", "is_approved", "is_defaulted", "instalments", "max_days_late",
         "expected_interest", "total_inflow", "betting_share", "days_overdrawn"],
    )  # fmt: skip
    assert got == {
        "A1": ("C1", "Good", 1, 1, 2, 0, D("100.00"), D("10000.00"), D("0.1667"), 1),
        "A2": ("C2", "Poor", 0, 0, 0, None, None, D("2000.00"), D("0"), 1),
        "A3": ("C3", "Good", 1, 0, 2, 15, D("375.00"), None, None, 0),
        "A4": ("C4", "Exceptional", 0, 0, 0, None, None, None, None, 0),
        "A5": ("C5", "Fair", 1, 1, 1, 101, D("96.00"), None, None, 0),
    }


def test_insights(marts: Marts) -> None:
    from etl.present.insights import compute_insights

    with open_warehouse(marts.settings) as wh:
        found = compute_insights(wh)
    assert found.avg_annual_income == D("36000.00")  # (50000 + 10000 + 70000 + 30000 + 20000) / 5
    assert found.avg_loan_amount == D("1460.00")  # 7300 / 5
    assert found.transactions_per_customer == D("3.00")  # C1 5, C2 3, C9 1
    assert (found.highest_income_employment, found.lowest_income_employment) == ("Employed", "Unemployed")
    assert (found.highest_loan_employment, found.lowest_loan_employment) == ("Employed", "Self-Employed")
    assert (found.highest_spending_category, found.lowest_spending_category) == ("pos", "airtime")
    assert found.spending_by_category == {
        "pos": D("4500.00"), "utilities": D("2500.00"), "betting": D("1000.00"), "fuel": D("500.00"),
        "airtime": D("100.00"),
    }  # fmt: skip
    assert found.lines()[0] == "Average annual income: 36,000.00"
    # the fixtures' statements: salary credits are the largest money in
    assert (found.largest_income_category, found.lines()[-1]) == (
        found.largest_income_category,
        f"Largest money-in category: {found.largest_income_category} (NGN {found.largest_income:,.2f})",
    )
    assert found.largest_income_category == "salary"


def test_insights_without_statements_say_n_a_not_none(tmp_path: Path) -> None:
    from etl.present.insights import compute_insights
    from tests.helpers import APP_HEADER, make_env, write

    env = make_env(tmp_path)
    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
    )
    assert env.run().exit_code == 0
    with open_warehouse(env.settings) as wh:
        found = compute_insights(wh)
    assert found.lines()[2:] == [
        "Transactions per customer (with statements): n/a",
        "Highest / lowest average income: Employed / Employed",
        "Highest / lowest average loan request: Employed / Employed",
        "Highest / lowest spending category: n/a / n/a",
        "PAR30 (n/a): n/a",
        "Worst vintage: n/a",
        "Score KS (n/a): n/a",
        "Largest money-in category: n/a",
    ]
