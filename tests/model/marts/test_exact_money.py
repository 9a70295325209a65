"""Money in the marts is exact and the same on DuckDB and PostgreSQL: no DOUBLE, no DECIMAL(18,2) overflow.

DuckDB divides DECIMALs (`/`, AVG, PERCENTILE_CONT) in DOUBLE, so a half-cent tie such as 666539.46 / 12 =
55544.955 came out as 55544.95 there and 55544.96 on PostgreSQL; and sums were cast back to DECIMAL(18,2),
so two amounts of 6e15 made whole marts fail. Here the real pipeline loads such rows into a DuckDB file and
into a PostgreSQL database, and every value is checked against an exact Decimal worked out by hand; the
division helper is also checked on its own, for negative values and ties, against Python's Decimal.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import sqlglot

from etl.model.dialect import Dialect
from etl.model.exact import div
from etl.model.marts import MARTS, Mart, create_view_sql
from tests.helpers import REPAY_HEADER, STMT_HEADER, write
from tests.model.marts import Marts, loaded_warehouse

D = Decimal
BIG = "6000000000000000.00"  # fits DECIMAL(18,2); two of them do not
APP_HEADER = (
    "application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,"
    "annual_income,loan_term_months,interest_rate,state,application_status"
)


def _statements() -> str:
    rows = []
    # C1: 12 active months; inflow and outflow both 666539.46 (11 x 55544.95 + 55545.01): 55544.955 a month
    for month in range(1, 13):
        amount = "55545.01" if month == 12 else "55544.95"
        rows.append(f"S{month},C1,2024-{month:02d}-01,{amount},SALARY ACME LTD,{amount}")
        rows.append(f"D{month},C1,2024-{month:02d}-02,-{amount},POS PURCHASE SHOPRITE,0.00")
    # C2: betting 0.01 of 1.60 debits = 0.00625 -> 0.0063 (DOUBLE: 0.0062)
    rows.append("B1,C2,2024-03-05,-0.01,BET9JA STAKE,100.00")
    rows.append("B2,C2,2024-03-06,-1.59,POS PURCHASE SHOPRITE,98.41")
    # C3: two credits of 6e15 in one month (sum 1.2e16); C4: two debits of 6e15
    rows.append(f"H1,C3,2024-05-01,{BIG},TRANSFER FROM JOHN,{BIG}")
    rows.append(f"H2,C3,2024-05-02,{BIG},TRANSFER FROM JOHN,{BIG}")
    rows.append(f"H3,C4,2024-05-01,-{BIG},TRANSFER TO JOHN,0.00")
    rows.append(f"H4,C4,2024-05-02,-{BIG},TRANSFER TO JOHN,0.00")
    return "\n".join([STMT_HEADER, *rows]) + "\n"


APPLICATIONS = f"""{APP_HEADER}
A1,C3,6000000000000000.01,2024-05-10,700,Employed,50000.00,60,24.00,Lagos,approved
A2,C4,6000000000000000.02,2024-05-11,701,Employed,50000.00,60,24.00,Lagos,approved
A3,C1,1000.01,2024-06-01,650,Unemployed,10.00,12,1.50,Kano,approved
A4,C2,0.02,2024-06-02,651,Unemployed,10.01,,,Kano,rejected
A5,C5,1.00,2024-06-03,700,Self-Employed,1.00,,,Kano,pending
A6,C6,2.00,2024-06-04,701,Self-Employed,2.01,,,Kano,pending
"""
REPAYMENTS = f"""{REPAY_HEADER}
R1,A1,2024-06-10,{BIG},2024-06-10,{BIG}
R2,A2,2024-06-11,{BIG},2024-06-11,{BIG}
"""


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marts]:
    tmp = tmp_path_factory.mktemp(f"exact-{request.param}")
    data = tmp / "data"
    write(data, "bank_statements", "statements.csv", _statements())
    write(data, "loan_applications", "apps.csv", APPLICATIONS)
    write(data, "repayments", "repayments.csv", REPAYMENTS)
    with loaded_warehouse(request, tmp, "exact") as (settings, report):
        assert [(f.status, f.rows_quarantined) for f in report.files] == [("loaded", 0)] * 3
        yield Marts(settings)


def test_every_mart_answers_select_star(warehouse: Marts) -> None:
    from etl.quality import data_tests

    # SELECT * raised "out of range" for sums over 10^16; every mart answers, with its rows
    counts = {mart.name: len(warehouse.query(f"SELECT * FROM {mart.name}")) for mart in MARTS}
    assert counts == {
        "mart_customer_credit_profile": 6,
        "mart_income_by_employment": 3,
        "mart_loan_kpis_monthly": 2,
        "mart_loan_segment_monthly": 3,
        "mart_approval_by_band_employment": 3,
        "mart_default_rate_by_band_employment": 1,
        "mart_spend_by_category_month": 27,
        "mart_loans_by_state": 2,
        "mart_interest_and_terms": 2,
        "mart_data_quality": 3,
        "mart_data_test_latest": len(data_tests()),
        "mart_loan_customer_360": 6,
        "mart_loan_month": 2,  # A1 and A2 in June
        "mart_portfolio_at_risk_monthly": 1,  # one segment
        "mart_roll_rates": 0,  # one month only
        "mart_vintage_curves": 2,  # May cohort, months on book 0 and 1
        "mart_collection_efficiency_monthly": 2,  # due in June, originated in May
        "mart_score_monitoring": 2,  # 2024-Q2, two deciles
        "mart_score_stability_monthly": 2,  # May and June against 2024-Q2
        "mart_disbursements_monthly": 2,  # A1 + A2 in May, A3 in June
        "mart_top_applicants": 6,
        "mart_applications_daily": 26,  # 2024-05-10 .. 2024-06-04
        "mart_quarantine": 0,
        "mart_fraud_score_bands": 6,  # every band, empty ones too: no application has a fraud score
        "mart_fraud_score_monthly": 3,  # all in "No fraud score": the three segment months
        "mart_top_merchants": 1,  # "(no merchant)": no statement names one
    }
    # sums of two 6e15 instalments do not fit DECIMAL(18,2) and stay exact
    assert warehouse.query(
        "SELECT SUM(amount_due), SUM(collected), SUM(collection_efficiency) FROM mart_collection_efficiency_monthly"
    ) == [(D("12000000000000000.00"), D("12000000000000000.00"), D("1.0000"))]
    assert warehouse.query("SELECT SUM(scheduled_to_date), SUM(outstanding) FROM mart_loan_month") == [
        (D("12000000000000000.00"), D("0.00"))
    ]


def test_monthly_averages_round_half_cent_ties_up(warehouse: Marts) -> None:
    got = warehouse.rows(
        "SELECT customer_id, active_months, total_inflow, total_outflow, avg_monthly_inflow,"
        " avg_monthly_outflow, betting_share, inflow_to_loan FROM mart_customer_credit_profile"
        " WHERE customer_id IN ('C1', 'C2')"
    )
    # 666539.46 / 12 = 55544.955 -> 55544.96 (DOUBLE: 55544.95); inflow_to_loan = 55544.955 / 1000.01
    assert got["C1"] == (12, D("666539.46"), D("666539.46"), D("55544.96"), D("55544.96"), D("0"),
                         D("55.5444"))  # fmt: skip
    assert got["C2"][2] == D("1.60") and got["C2"][5] == D("0.0063")  # 0.01 / 1.60 = 0.00625 (DOUBLE: 0.0062)


def test_customer_sums_beyond_decimal_18_2(warehouse: Marts) -> None:
    got = warehouse.rows(
        "SELECT customer_id, active_months, total_inflow, total_outflow, avg_monthly_inflow,"
        " avg_monthly_outflow, betting_share, inflow_to_loan FROM mart_customer_credit_profile"
        " WHERE customer_id IN ('C3', 'C4')"
    )
    # 1.2e16 in one month; inflow_to_loan = 1.2e16 / 6000000000000000.01
    assert got["C3"] == (1, D("12000000000000000.00"), D("0.00"), D("12000000000000000.00"), D("0.00"),
                         None, D("2.0000"))  # fmt: skip
    assert got["C4"] == (1, D("0.00"), D("12000000000000000.00"), D("0.00"), D("12000000000000000.00"),
                         D("0"), D("0.0000"))  # fmt: skip
    customer_360 = warehouse.rows("SELECT application_id, total_inflow FROM mart_loan_customer_360")
    assert customer_360["A1"] == (D("12000000000000000.00"),)


def test_spend_sums_beyond_decimal_18_2(warehouse: Marts) -> None:
    got = warehouse.query(
        "SELECT direction, total_value, total_spend, total_income FROM mart_spend_by_category_month"
        " WHERE year_month = '2024-05' AND category = 'transfer' ORDER BY direction"
    )
    assert got == [
        ("credit", D("12000000000000000.00"), D("0.00"), D("12000000000000000.00")),
        ("debit", D("12000000000000000.00"), D("12000000000000000.00"), D("0.00")),
    ]


def test_loan_averages_and_medians_round_ties_up(warehouse: Marts) -> None:
    got = warehouse.rows(
        "SELECT employment_status, total_loan_amount, avg_loan_amount, avg_annual_income,"
        " median_annual_income, total_annual_income FROM mart_income_by_employment"
        " WHERE employment_status <> 'Employed'"
    )
    assert got == {
        # loans 1000.01 and 0.02: 500.015 -> 500.02; incomes 10.00 and 10.01: 10.005 -> 10.01
        "Unemployed": (D("1000.03"), D("500.02"), D("10.01"), D("10.01"), D("20.01")),
        # incomes 1.00 and 2.01: mean and median 1.505 -> 1.51 (DuckDB's PERCENTILE_CONT: 1.50)
        "Self-Employed": (D("3.00"), D("1.50"), D("1.51"), D("1.51"), D("3.01")),
    }
    kpis = warehouse.rows(
        "SELECT year_month, total_loan_amount, avg_credit_score, avg_interest_rate, expected_interest"
        " FROM mart_loan_kpis_monthly WHERE year_month = '2024-06'"
    )
    # scores (650 + 651 + 700 + 701) / 4; A3's interest 1000.01 x 1.5% x 12 / 12 = 15.00015 -> 15.00
    assert kpis == {"2024-06": (D("1003.03"), D("675.50"), D("1.5000"), D("15.00"))}


def test_loan_sums_beyond_decimal_18_2(warehouse: Marts) -> None:
    got = warehouse.rows(
        "SELECT employment_status, total_loan_amount, avg_loan_amount, median_annual_income"
        " FROM mart_income_by_employment WHERE employment_status = 'Employed'"
    )
    # 6000000000000000.01 and .02: the mean 6000000000000000.015 -> .02 (beyond the 15-16 digits of a DOUBLE)
    assert got == {"Employed": (D("12000000000000000.03"), D("6000000000000000.02"), D("50000.00"))}
    kpis = warehouse.rows(
        "SELECT year_month, total_loan_amount, avg_credit_score, avg_interest_rate, expected_interest"
        " FROM mart_loan_kpis_monthly WHERE year_month = '2024-05'"
    )
    # loan x 24% x 60 / 12 = loan x 1.2: 7200000000000000.012 -> .01 and 7200000000000000.024 -> .02
    assert kpis == {
        "2024-05": (D("12000000000000000.03"), D("700.50"), D("24.0000"), D("14400000000000000.03"))
    }
    segments = warehouse.query(
        "SELECT SUM(total_loan_amount), SUM(expected_interest) FROM mart_loan_segment_monthly"
        " WHERE year_month = '2024-05'"
    )
    assert segments == [(D("12000000000000000.03"), D("14400000000000000.03"))]
    defaults = warehouse.query("SELECT amount_due, amount_paid FROM mart_default_rate_by_band_employment")
    assert defaults == [(D("12000000000000000.00"), D("12000000000000000.00"))]
    by_state = warehouse.rows(
        "SELECT state, total_loan_amount FROM mart_loans_by_state WHERE state = 'Lagos'"
    )
    assert by_state == {"Lagos": (D("12000000000000000.03"),)}


def test_money_sums_are_decimal_38_2(warehouse: Marts) -> None:
    got = warehouse.query(
        "SELECT column_name, numeric_precision, numeric_scale FROM information_schema.columns"
        " WHERE table_name = 'mart_customer_credit_profile'"
        " AND column_name IN ('total_inflow', 'avg_monthly_inflow', 'betting_share') ORDER BY column_name"
    )
    assert got == [("avg_monthly_inflow", 38, 2), ("betting_share", 9, 4), ("total_inflow", 38, 2)]


# ---- the division helper on its own, against Python's Decimal -----------------------------------------


NUMERATORS = ["666539.46", "-666539.46", "0.05", "-0.05", "0.00", "1.00", "-2.01", "12000000000000000.01",
              "-99999999999999999999.99", "7.77"]  # fmt: skip
DENOMINATORS = ["12", "-12", "2", "3", "8", "-8", "0", "1.60", "-0.16", "7"]


def _exact(numerator: str, denominator: str, quantum: str) -> Decimal | None:
    if D(denominator) == 0:
        return None
    with localcontext(prec=80):
        return (D(numerator) / D(denominator)).quantize(
            D(quantum), rounding=ROUND_HALF_UP
        )  # half away from 0


def _division_mart() -> Mart:
    pairs = list(itertools.product(NUMERATORS, DENOMINATORS))
    values = ", ".join(
        f"({i}, CAST('{n}' AS DECIMAL(38,2)), CAST('{d}' AS DECIMAL(18,2)))" for i, (n, d) in enumerate(pairs)
    )
    select = (
        f"SELECT i, {div('n', 'd', places=2)} AS money, {div('n', 'd', places=2, scale=4)} AS ratio,"
        f" {div('n', 'd', places=2, scale=0)} AS whole"
        f" FROM (VALUES {values}) AS v (i, n, d)"
    )
    return Mart("mart_division_check", "", select)


def _expected() -> dict[int, tuple[Decimal | None, ...]]:
    pairs = itertools.product(NUMERATORS, DENOMINATORS)
    return {
        i: (_exact(n, d, "0.01"), _exact(n, d, "0.0001"), _exact(n, d, "1")) for i, (n, d) in enumerate(pairs)
    }


def _run(connection: Any, dialect: Dialect) -> dict[int, tuple[Any, ...]]:
    mart = _division_mart()
    connection.execute(create_view_sql(mart, dialect))
    rows = connection.execute(f"SELECT i, money, ratio, whole FROM {mart.name}").fetchall()
    return {int(i): (money, ratio, whole) for i, money, ratio, whole in rows}


def test_division_is_exact_on_duckdb(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "division.duckdb")) as connection:
        assert _run(connection, "duckdb") == _expected()


def test_division_is_exact_on_postgres(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        assert _run(connection, "postgres") == _expected()


def test_the_samples_hold_ties() -> None:
    ties = [i for i, (n, d) in enumerate(itertools.product(NUMERATORS, DENOMINATORS))
            if D(d) and (D(n) / D(d) * 100) % 1 in (D("0.5"), D("-0.5"))]  # fmt: skip
    assert any(D(NUMERATORS[i // len(DENOMINATORS)]) < 0 for i in ties) and len(ties) >= 8


@pytest.mark.parametrize("dialect", ["postgres", "redshift"])
def test_divisions_use_no_duckdb_operators_elsewhere(dialect: Dialect) -> None:
    for mart in MARTS:
        sql = create_view_sql(mart, dialect)
        assert "//" not in sql and "HUGEINT" not in sql and "PERCENTILE_CONT" not in sql, mart.name
        sqlglot.parse_one(sql, read=dialect)


def test_no_double_paths_in_duckdb_marts() -> None:
    for mart in MARTS:
        sql = create_view_sql(mart, "duckdb")
        assert "AVG(" not in sql and "PERCENTILE_CONT" not in sql and " / " not in sql, mart.name


def test_only_the_psi_is_double(warehouse: Marts) -> None:
    # every mart column is exact (DECIMAL, integers, text, dates) except the PSI, which takes logarithms
    rows = warehouse.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_name LIKE 'mart%' AND (data_type LIKE '%double%' OR data_type LIKE '%DOUBLE%'"
        " OR data_type LIKE '%real%' OR data_type LIKE '%REAL%' OR data_type LIKE '%FLOAT%')"
    )
    assert rows == [("mart_score_stability_monthly", "psi", rows[0][2])]
