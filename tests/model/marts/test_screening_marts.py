"""The fraud score and merchant marts against hand-computed values, on DuckDB and on a real PostgreSQL server.

The fixtures (fixtures_screening/) go through the real pipeline:
- 9 applications: F1-F5 with a fraud score (5, 19.9999, 20, 59.5, 100: the band edges), F6 and F7 without
  one, F8 (100.01) and F9 (-0.5) quarantined as out of range;
- 5 repayments: loans F1 (paid), F3 (nothing paid, due 2024-02-12: more than 90 days past due on the as-of
  date 2024-06-30, the latest payment), F5 (paid, the second 28 days late), F6 (paid 109 days late);
  defaulted: F3 and F6;
- 9 statement lines: SHOPRITE three times (one written "  SHOPRITE  ", trimmed), JUMIA (a debit and a
  refund), "MAMA CASS, VI" (a comma in the name), "Shoprite" (another case: another merchant) and two lines
  without a merchant.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.model.marts import Marts, loaded_warehouse

FIXTURES = Path(__file__).parent / "fixtures_screening"
PLAIN = Path(__file__).parent / "fixtures"  # the other marts' fixtures: no fraud score, no merchant
D = Decimal
U = "(unknown)"


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def marts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marts]:
    tmp = tmp_path_factory.mktemp(f"screening-{request.param}")
    shutil.copytree(FIXTURES, tmp / "data")
    with loaded_warehouse(request, tmp, "screening") as (settings, report):
        got = {f.source: (f.status, f.rows_in, f.rows_loaded, f.rows_quarantined) for f in report.files}
        assert got == {
            "loan_applications": ("loaded", 9, 7, 2),
            "bank_statements": ("loaded", 9, 9, 0),
            "repayments": ("loaded", 5, 5, 0),
        }
        yield Marts(settings)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def unscored(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marts]:
    tmp = tmp_path_factory.mktemp(f"unscored-{request.param}")
    shutil.copytree(PLAIN, tmp / "data")
    with loaded_warehouse(request, tmp, "unscored") as (settings, _):
        yield Marts(settings)


def test_out_of_range_fraud_scores_are_quarantined_with_their_reason(marts: Marts) -> None:
    assert marts.query(
        "SELECT key_value, rule, column_name, reason FROM etl_quarantine ORDER BY key_value"
    ) == [
        ("F8", "out_of_range", "fraud_score", "fraud_score '100.01' is outside the allowed range (0-100)"),
        ("F9", "out_of_range", "fraud_score", "fraud_score '-0.5' is outside the allowed range (0-100)"),
    ]


def test_the_facts_carry_the_fraud_score_and_the_merchant(marts: Marts) -> None:
    assert marts.query("SELECT application_id, fraud_score FROM fact_loan_application ORDER BY 1") == [
        ("F1", D("5.0000")),
        ("F2", D("19.9999")),
        ("F3", D("20.0000")),
        ("F4", D("59.5000")),
        ("F5", D("100.0000")),
        ("F6", None),
        ("F7", None),
    ]
    assert marts.query("SELECT transaction_id, merchant FROM fact_bank_transaction ORDER BY 1") == [
        ("T1", "SHOPRITE"),
        ("T2", "SHOPRITE"),
        ("T3", "JUMIA"),
        ("T4", "SHOPRITE"),  # "  SHOPRITE  ", trimmed as every value is
        ("T5", "JUMIA"),
        ("T6", "MAMA CASS, VI"),
        ("T7", None),
        ("T8", None),
        ("T9", "Shoprite"),
    ]


BAND_COLUMNS = [
    "applications",
    "application_share",
    "approved",
    "rejected",
    "pending",
    "approval_rate",
    "total_loan_amount",
    "approved_amount",
    "loans",
    "defaulted_loans",
    "default_rate",
    "defaulted_amount",
    "avg_fraud_score",
]


def test_fraud_score_bands(marts: Marts) -> None:
    got = marts.by_key("mart_fraud_score_bands", ["fraud_band_order", "fraud_band"], BAND_COLUMNS)
    assert got == {
        # F1 (approved, paid) + F2 (rejected); 2 of 7 applications; scores (5 + 19.9999) / 2 = 12.49995
        (1, "0 to <20"): (
            2, D("0.2857"), 1, 1, 0, D("0.5000"), D("3000.00"), D("1000.00"), 1, 0, D("0.0000"), D("0.00"),
            D("12.50"),
        ),
        # F3: a score of exactly 20 is in this band; approved, defaulted (nothing paid)
        (2, "20 to <40"): (
            1, D("0.1429"), 1, 0, 0, D("1.0000"), D("3000.00"), D("3000.00"), 1, 1, D("1.0000"),
            D("3000.00"), D("20.00"),
        ),
        # F4 pending: no decision, no loan, so no approval or default rate
        (3, "40 to <60"): (
            1, D("0.1429"), 0, 0, 1, None, D("4000.00"), D("0.00"), 0, 0, None, D("0.00"), D("59.50"),
        ),
        # nobody scored 60 to <80: the band is listed with 0, not left out
        (4, "60 to <80"): (0, D("0.0000"), 0, 0, 0, None, D("0.00"), D("0.00"), 0, 0, None, D("0.00"), None),
        # F5: 100 is in the last band; approved, paid (28 days late is no default)
        (5, "80 to 100"): (
            1, D("0.1429"), 1, 0, 0, D("1.0000"), D("5000.00"), D("5000.00"), 1, 0, D("0.0000"), D("0.00"),
            D("100.00"),
        ),
        # F6 (approved, paid 109 days late: defaulted) + F7 (rejected): nothing hidden
        (6, "No fraud score"): (
            2, D("0.2857"), 1, 1, 0, D("0.5000"), D("1300.00"), D("600.00"), 1, 1, D("1.0000"), D("600.00"),
            None,
        ),
    }  # fmt: skip


def test_fraud_score_monthly_is_additive_by_segment(marts: Marts) -> None:
    got = marts.by_key(
        "mart_fraud_score_monthly",
        ["fraud_band", "year_month", "employment_status", "credit_band", "state"],
        [
            "fraud_band_order",
            "month_start",
            "band_order",
            "applications",
            "scored_applications",
            "approved",
            "rejected",
            "pending",
            "total_loan_amount",
            "approved_amount",
            "loans",
            "defaulted_loans",
            "defaulted_amount",
        ],
    )
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    assert got == {
        ("0 to <20", "2024-01", "Employed", "Good", U): (
            1, jan, 3, 1, 1, 1, 0, 0, D("1000.00"), D("1000.00"), 1, 0, D("0.00"),
        ),
        ("0 to <20", "2024-01", "Employed", "Fair", U): (
            1, jan, 2, 1, 1, 0, 1, 0, D("2000.00"), D("0.00"), 0, 0, D("0.00"),
        ),
        ("20 to <40", "2024-01", "Unemployed", "Fair", U): (
            2, jan, 2, 1, 1, 1, 0, 0, D("3000.00"), D("3000.00"), 1, 1, D("3000.00"),
        ),
        ("40 to <60", "2024-02", "Self-Employed", "Good", U): (
            3, feb, 3, 1, 1, 0, 0, 1, D("4000.00"), D("0.00"), 0, 0, D("0.00"),
        ),
        ("80 to 100", "2024-02", "Employed", "Fair", U): (
            5, feb, 2, 1, 1, 1, 0, 0, D("5000.00"), D("5000.00"), 1, 0, D("0.00"),
        ),
        ("No fraud score", "2024-02", "Employed", "Exceptional", U): (
            6, feb, 5, 1, 0, 1, 0, 0, D("600.00"), D("600.00"), 1, 1, D("600.00"),
        ),
        ("No fraud score", "2024-02", "Unemployed", "Poor", U): (
            6, feb, 1, 1, 0, 0, 1, 0, D("700.00"), D("0.00"), 0, 0, D("0.00"),
        ),
    }  # fmt: skip
    # re-aggregated as the dashboards do (ratios of sums), it gives the band mart's rates
    [(approved, decided, defaulted, loans)] = marts.query(
        "SELECT SUM(approved), SUM(approved + rejected), SUM(defaulted_loans), SUM(loans) "
        "FROM mart_fraud_score_monthly WHERE fraud_band = 'No fraud score'"
    )
    assert (approved, decided, defaulted, loans) == (1, 2, 1, 1)


def test_loan_customer_360_carries_the_fraud_score_and_its_band(marts: Marts) -> None:
    assert marts.query(
        "SELECT application_id, fraud_score, fraud_band FROM mart_loan_customer_360 ORDER BY 1"
    ) == [
        ("F1", D("5.0000"), "0 to <20"),
        ("F2", D("19.9999"), "0 to <20"),
        ("F3", D("20.0000"), "20 to <40"),
        ("F4", D("59.5000"), "40 to <60"),
        ("F5", D("100.0000"), "80 to 100"),
        ("F6", None, "No fraud score"),
        ("F7", None, "No fraud score"),
    ]


def test_top_merchants(marts: Marts) -> None:
    got = marts.by_key(
        "mart_top_merchants",
        ["merchant", "has_merchant"],
        [
            "transactions",
            "debit_transactions",
            "customers",
            "total_spend",
            "total_income",
            "avg_spend",
            "first_transaction_date",
            "last_transaction_date",
            "spend_rank",
            "customer_rank",
        ],
    )
    day = lambda d: date(2024, 1, d)  # noqa: E731
    assert got == {
        # T1 + T2 + T4 (C1 twice, C2): 100 + 50.50 + 25.25; 175.75 / 3 = 58.583 -> 58.58
        ("SHOPRITE", 1): (3, 3, 2, D("175.75"), D("0.00"), D("58.58"), day(5), day(8), 2, 1),
        # T3 a debit, T5 a refund (money in, not out); C2 and C3 share the customer rank with SHOPRITE
        ("JUMIA", 1): (2, 1, 2, D("200.00"), D("30.00"), D("200.00"), day(7), day(9), 1, 1),
        ("MAMA CASS, VI", 1): (1, 1, 1, D("75.00"), D("0.00"), D("75.00"), day(10), day(10), 3, 3),
        ("Shoprite", 1): (1, 1, 1, D("10.00"), D("0.00"), D("10.00"), day(14), day(14), 4, 3),
        # T7 (salary) + T8 (a transfer): one row, no rank; the rows add up to every transaction
        ("(no merchant)", 0): (2, 1, 2, D("300.00"), D("5000.00"), D("300.00"), day(11), day(12), None, None),
    }
    assert marts.query("SELECT SUM(transactions), SUM(total_spend) FROM mart_top_merchants") == [
        (9, D("760.75"))  # every statement line, every debit: 100 + 50.50 + 200 + 25.25 + 75 + 300 + 10
    ]


def test_without_fraud_scores_or_merchants_nothing_is_hidden(unscored: Marts) -> None:
    # no file had a fraud_score column: every application is in "No fraud score", every band still listed
    got = unscored.by_key(
        "mart_fraud_score_bands", ["fraud_band"], ["applications", "application_share", "avg_fraud_score"]
    )
    assert got == {
        "0 to <20": (0, D("0.0000"), None),
        "20 to <40": (0, D("0.0000"), None),
        "40 to <60": (0, D("0.0000"), None),
        "60 to <80": (0, D("0.0000"), None),
        "80 to 100": (0, D("0.0000"), None),
        "No fraud score": (5, D("1.0000"), None),
    }
    assert unscored.query("SELECT SUM(scored_applications) FROM mart_fraud_score_monthly") == [(0,)]
    assert unscored.query(
        "SELECT merchant, has_merchant, transactions, spend_rank FROM mart_top_merchants"
    ) == [("(no merchant)", 0, 9, None)]
