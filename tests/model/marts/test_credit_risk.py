"""The credit-risk marts against hand-computed values, on DuckDB and on a real PostgreSQL server.

Five loans over January-May 2024 and two applications without repayments go through the real pipeline.
The as-of date is the latest payment, 2024-05-20 (R42), so the May snapshot is taken on 2024-05-20 and the
others on their month end (February 2024 has 29 days).

- L1 (A1, Good, 700): falls 35 days behind in March, catches up on 2024-04-15 (a cure); R15 is not due yet.
- L2 (A2, Poor, 560): pays once, then nothing: 1-30, 31-60, 61-90, then 90+ and defaulted in May.
- L3 (A3, Exceptional, 800): pays early and on time (R32 has a paid date without an amount: paid in full).
- L4 (A4, Fair, 650): pays 50 of 150 on R41 (partial: R41 stays past due), R42 30 days late.
- L5 (A5, Good, 690): pays 40 of 100 on R51 and never the rest, so it is more than 90 days past due in May
  and defaulted (the old rule called a partly paid instalment no default at all); R52 has an amount
  without a date (it counts on its due date).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from tests.helpers import write
from tests.model.marts import Marts, loaded_warehouse

D = Decimal
APPS = """application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income,state,application_status,decision_date
A1,C1,500.00,2024-01-10,700,Employed,60000.00,Lagos,approved,2024-01-12
A2,C2,400.00,2024-01-15,560,Unemployed,5000.00,Kano,approved,
A3,C3,200.00,2024-02-05,800,Self-Employed,90000.00,Lagos,approved,2024-03-01
A4,C4,300.00,2024-02-20,650,Employed,30000.00,Kano,approved,
A5,C5,200.00,2024-01-05,690,Self-Employed,20000.00,Oyo,approved,
A6,C2,500.00,2024-04-10,540,Unemployed,5000.00,Kano,rejected,2024-04-11
A7,C7,250.00,2024-05-02,590,Employed,40000.00,Lagos,pending,
"""
REPAYMENTS = """repayment_id,application_id,due_date,amount_due,paid_date,amount_paid
R11,A1,2024-01-25,100.00,2024-01-25,100.00
R12,A1,2024-02-25,100.00,2024-04-15,100.00
R13,A1,2024-03-25,100.00,2024-04-15,100.00
R14,A1,2024-04-25,100.00,2024-04-25,100.00
R15,A1,2024-05-25,100.00,,
R21,A2,2024-01-20,100.00,2024-01-20,100.00
R22,A2,2024-02-10,100.00,,
R23,A2,2024-03-10,100.00,,
R24,A2,2024-04-10,100.00,,
R31,A3,2024-03-05,100.00,2024-03-01,100.00
R32,A3,2024-04-05,100.00,2024-04-05,
R41,A4,2024-03-20,150.00,2024-03-20,50.00
R42,A4,2024-04-20,150.00,2024-05-20,150.00
R51,A5,2024-02-05,100.00,2024-02-10,40.00
R52,A5,2024-03-05,100.00,,100.00
"""
MONTH_END = {
    "2024-01": date(2024, 1, 31),
    "2024-02": date(2024, 2, 29),
    "2024-03": date(2024, 3, 31),
    "2024-04": date(2024, 4, 30),
    "2024-05": date(2024, 5, 20),  # the as-of date
}


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def marts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marts]:
    tmp = tmp_path_factory.mktemp(f"risk-{request.param}")
    write(tmp / "data", "loan_applications", "apps.csv", APPS)
    write(tmp / "data", "repayments", "repayments.csv", REPAYMENTS)
    with loaded_warehouse(request, tmp, "risk") as (settings, report):
        assert [(f.status, f.rows_quarantined) for f in report.files] == [("loaded", 0)] * 2
        yield Marts(settings)


# (application, month): days past due, bucket, scheduled to date, paid to date, outstanding, arrears,
# instalments due, instalments past due, open, ever more than 30 days past due, defaulted, months on book
SNAPSHOTS = {
    ("A1", "2024-01"): (0, "current", 100, 100, 400, 0, 1, 0, 1, 0, 0, 0),
    ("A1", "2024-02"): (4, "1-30", 200, 100, 400, 100, 2, 1, 1, 0, 0, 1),  # R12 due 02-25
    ("A1", "2024-03"): (35, "31-60", 300, 100, 400, 200, 3, 2, 1, 1, 0, 2),
    ("A1", "2024-04"): (0, "current", 400, 400, 100, 0, 4, 0, 1, 1, 0, 3),  # cured on 04-15
    ("A1", "2024-05"): (0, "current", 400, 400, 100, 0, 4, 0, 1, 1, 0, 4),  # R15 due 05-25: not yet
    ("A2", "2024-01"): (0, "current", 100, 100, 300, 0, 1, 0, 1, 0, 0, 0),
    ("A2", "2024-02"): (19, "1-30", 200, 100, 300, 100, 2, 1, 1, 0, 0, 1),  # R22 due 02-10
    ("A2", "2024-03"): (50, "31-60", 300, 100, 300, 200, 3, 2, 1, 1, 0, 2),
    ("A2", "2024-04"): (80, "61-90", 400, 100, 300, 300, 4, 3, 1, 1, 0, 3),
    ("A2", "2024-05"): (100, "90+", 400, 100, 300, 300, 4, 3, 1, 1, 1, 4),  # 02-10 < 05-20 - 90
    ("A3", "2024-03"): (0, "current", 100, 100, 100, 0, 1, 0, 1, 0, 0, 1),  # first due in March
    ("A3", "2024-04"): (0, "current", 200, 200, 0, 0, 2, 0, 0, 0, 0, 2),  # paid off
    ("A3", "2024-05"): (0, "current", 200, 200, 0, 0, 2, 0, 0, 0, 0, 3),
    ("A4", "2024-03"): (11, "1-30", 150, 50, 250, 100, 1, 1, 1, 0, 0, 1),  # 50 of 150: not settled
    ("A4", "2024-04"): (41, "31-60", 300, 50, 250, 250, 2, 2, 1, 1, 0, 2),
    ("A4", "2024-05"): (61, "61-90", 300, 200, 100, 100, 2, 1, 1, 1, 0, 3),  # R42 paid on 05-20
    ("A5", "2024-02"): (24, "1-30", 100, 40, 160, 60, 1, 1, 1, 0, 0, 1),
    ("A5", "2024-03"): (55, "31-60", 200, 140, 60, 60, 2, 1, 1, 1, 0, 2),  # R52: amount, no date
    ("A5", "2024-04"): (85, "61-90", 200, 140, 60, 60, 2, 1, 1, 1, 0, 3),
    ("A5", "2024-05"): (105, "90+", 200, 140, 60, 60, 2, 1, 1, 1, 1, 4),
}


def test_loan_month_snapshots(marts: Marts) -> None:
    got = marts.by_key(
        "mart_loan_month",
        ["application_id", "year_month"],
        [
            "days_past_due",
            "dpd_bucket",
            "scheduled_to_date",
            "paid_to_date",
            "outstanding",
            "arrears",
            "instalments_due",
            "instalments_past_due",
            "is_open",
            "is_ever_30_dpd",
            "is_defaulted",
            "months_on_book",
        ],
    )
    expected = {
        key: (dpd, bucket, D(f"{s}.00"), D(f"{p}.00"), D(f"{o}.00"), D(f"{a}.00"), *rest)
        for key, (dpd, bucket, s, p, o, a, *rest) in SNAPSHOTS.items()
    }
    assert got == expected


def test_loan_month_dates_and_attributes(marts: Marts) -> None:
    rows = marts.query(
        "SELECT application_id, year_month, month_end, snapshot_date, as_of_date, origination_month,"
        " credit_band, employment_status, state, scheduled_total, instalments FROM mart_loan_month"
    )
    attributes = {
        "A1": ("2024-01", "Good", "Employed", "Lagos", D("500.00"), 5),
        "A2": ("2024-01", "Poor", "Unemployed", "Kano", D("400.00"), 4),
        "A3": ("2024-02", "Exceptional", "Self-Employed", "Lagos", D("200.00"), 2),
        "A4": ("2024-02", "Fair", "Employed", "Kano", D("300.00"), 2),
        "A5": ("2024-01", "Good", "Self-Employed", "Oyo", D("200.00"), 2),
    }
    for app, month, month_end, snapshot, as_of, *attrs in rows:
        assert snapshot == MONTH_END[month] and as_of == date(2024, 5, 20)
        assert month_end == (date(2024, 5, 31) if month == "2024-05" else snapshot)
        assert tuple(attrs) == attributes[app]
    assert len(rows) == len(SNAPSHOTS)


def test_the_last_snapshot_agrees_with_is_defaulted(marts: Marts) -> None:
    # the application marts judge defaults as of the as-of date: the same rule as the May snapshot
    assert marts.rows(
        "SELECT application_id, is_defaulted FROM mart_loan_customer_360 WHERE has_repayments = 1"
    ) == {"A1": (0,), "A2": (1,), "A3": (0,), "A4": (0,), "A5": (1,)}


def test_portfolio_at_risk(marts: Marts) -> None:
    got = marts.rows(
        "SELECT year_month, SUM(loans), SUM(open_loans), SUM(outstanding), SUM(par1_outstanding),"
        " SUM(par30_outstanding), SUM(par60_outstanding), SUM(par90_outstanding), SUM(par30_loans),"
        " SUM(par90_loans) FROM mart_portfolio_at_risk_monthly GROUP BY year_month"
    )
    assert {m: tuple(int(v) for v in row) for m, row in got.items()} == {
        "2024-01": (2, 2, 700, 0, 0, 0, 0, 0, 0),
        "2024-02": (3, 3, 860, 860, 0, 0, 0, 0, 0),  # 400 + 300 + 160, all 1-30
        "2024-03": (5, 5, 1110, 1010, 760, 0, 0, 3, 0),  # PAR30: A1 400 + A2 300 + A5 60
        "2024-04": (5, 4, 710, 610, 610, 360, 0, 3, 0),  # PAR60: A2 300 + A5 60
        "2024-05": (5, 4, 560, 460, 460, 460, 360, 3, 2),  # PAR90: A2 300 + A5 60
    }
    # each row's own ratios: A2's May row is all PAR90; the other segments hold one loan each too
    rows = marts.by_key(
        "mart_portfolio_at_risk_monthly",
        ["year_month", "credit_band", "employment_status"],
        ["par1", "par30", "par60", "par90", "dpd_90_plus_loans", "dpd_90_plus_outstanding"],
    )
    assert rows[("2024-05", "Poor", "Unemployed")] == (D(1), D(1), D(1), D(1), 1, D("300.00"))
    assert rows[("2024-05", "Fair", "Employed")] == (D(1), D(1), D(1), D(0), 0, D("0.00"))  # A4: 61-90
    assert rows[("2024-03", "Good", "Employed")] == (D(1), D(1), D(0), D(0), 0, D("0.00"))  # A1: 35 days
    # A3 is paid off: nothing outstanding, so no share
    assert rows[("2024-04", "Exceptional", "Self-Employed")] == (None, None, None, None, 0, D("0.00"))


def test_portfolio_at_risk_buckets_add_up(marts: Marts) -> None:
    got = marts.rows(
        "SELECT year_month, SUM(current_outstanding), SUM(dpd_1_30_outstanding), SUM(dpd_31_60_outstanding),"
        " SUM(dpd_61_90_outstanding), SUM(dpd_90_plus_outstanding), SUM(current_loans), SUM(dpd_1_30_loans),"
        " SUM(dpd_31_60_loans), SUM(dpd_61_90_loans), SUM(dpd_90_plus_loans)"
        " FROM mart_portfolio_at_risk_monthly GROUP BY year_month"
    )
    assert {m: tuple(int(v) for v in row) for m, row in got.items()} == {
        "2024-01": (700, 0, 0, 0, 0, 2, 0, 0, 0, 0),
        "2024-02": (0, 860, 0, 0, 0, 0, 3, 0, 0, 0),
        "2024-03": (100, 250, 760, 0, 0, 1, 1, 3, 0, 0),
        "2024-04": (100, 0, 250, 360, 0, 2, 0, 1, 2, 0),
        "2024-05": (100, 0, 0, 100, 360, 2, 0, 0, 1, 2),
    }


def test_roll_rates(marts: Marts) -> None:
    moves = marts.by_key(
        "mart_roll_rates",
        ["credit_band", "employment_status", "year_month"],
        ["from_month", "from_bucket", "to_bucket", "loans", "outstanding", "loan_share"],
    )
    one = D("1.0000")
    assert moves == {
        ("Good", "Employed", "2024-02"): ("2024-01", "current", "1-30", 1, D("400.00"), one),
        ("Good", "Employed", "2024-03"): ("2024-02", "1-30", "31-60", 1, D("400.00"), one),
        ("Good", "Employed", "2024-04"): ("2024-03", "31-60", "current", 1, D("400.00"), one),  # the cure
        ("Good", "Employed", "2024-05"): ("2024-04", "current", "current", 1, D("100.00"), one),
        ("Poor", "Unemployed", "2024-02"): ("2024-01", "current", "1-30", 1, D("300.00"), one),
        ("Poor", "Unemployed", "2024-03"): ("2024-02", "1-30", "31-60", 1, D("300.00"), one),
        ("Poor", "Unemployed", "2024-04"): ("2024-03", "31-60", "61-90", 1, D("300.00"), one),
        ("Poor", "Unemployed", "2024-05"): ("2024-04", "61-90", "90+", 1, D("300.00"), one),
        # A3 was paid off in April: nothing open rolls from April to May
        ("Exceptional", "Self-Employed", "2024-04"): ("2024-03", "current", "current", 1, D("100.00"), one),
        ("Fair", "Employed", "2024-04"): ("2024-03", "1-30", "31-60", 1, D("250.00"), one),
        ("Fair", "Employed", "2024-05"): ("2024-04", "31-60", "61-90", 1, D("250.00"), one),
        ("Good", "Self-Employed", "2024-03"): ("2024-02", "1-30", "31-60", 1, D("160.00"), one),
        ("Good", "Self-Employed", "2024-04"): ("2024-03", "31-60", "61-90", 1, D("60.00"), one),
        ("Good", "Self-Employed", "2024-05"): ("2024-04", "61-90", "90+", 1, D("60.00"), one),
    }


def test_roll_rate_matrix(marts: Marts) -> None:
    # the matrix over every month: each move's share of the loans that started in its bucket
    got = marts.query(
        "SELECT from_bucket, to_bucket, SUM(loans) FROM mart_roll_rates GROUP BY from_bucket, to_bucket"
    )
    counts = {(f, t): int(n) for f, t, n in got}
    assert counts == {
        ("current", "1-30"): 2,
        ("current", "current"): 2,
        ("1-30", "31-60"): 4,
        ("31-60", "current"): 1,
        ("31-60", "61-90"): 3,
        ("61-90", "90+"): 2,
    }
    row_totals = {f: sum(n for (g, _), n in counts.items() if g == f) for f, _ in counts}
    shares = {k: n / row_totals[k[0]] for k, n in counts.items()}
    assert shares[("31-60", "current")] == 0.25 and shares[("31-60", "61-90")] == 0.75


def test_vintage_curves(marts: Marts) -> None:
    got = marts.query(
        "SELECT origination_month, months_on_book, SUM(loans), SUM(loan_amount), SUM(defaulted_loans),"
        " SUM(defaulted_amount), SUM(ever_30_dpd_loans), SUM(ever_30_dpd_amount)"
        " FROM mart_vintage_curves GROUP BY origination_month, months_on_book"
    )
    points = {(c, int(m)): tuple(int(v) for v in rest) for c, m, *rest in got}
    # January: A1 (500), A2 (400), A5 (200); February: A3 (200), A4 (300). Every month from origination
    # to the as-of month; a loan not yet due counts as neither defaulted nor late.
    assert points == {
        ("2024-01", 0): (3, 1100, 0, 0, 0, 0),
        ("2024-01", 1): (3, 1100, 0, 0, 0, 0),
        ("2024-01", 2): (3, 1100, 0, 0, 3, 1100),
        ("2024-01", 3): (3, 1100, 0, 0, 3, 1100),
        ("2024-01", 4): (3, 1100, 2, 600, 3, 1100),  # A2 and A5 defaulted by May
        ("2024-02", 0): (2, 500, 0, 0, 0, 0),
        ("2024-02", 1): (2, 500, 0, 0, 0, 0),
        ("2024-02", 2): (2, 500, 0, 0, 1, 300),  # A4
        ("2024-02", 3): (2, 500, 0, 0, 1, 300),
    }


def test_vintage_rates_of_one_segment(marts: Marts) -> None:
    # a single-loan segment: the cumulative rates are 0 or 1, by count and by amount alike
    got = marts.by_key(
        "mart_vintage_curves",
        ["credit_band", "employment_status", "months_on_book"],
        ["cumulative_default_rate", "cumulative_default_rate_amount", "ever_30_dpd_rate"],
    )
    assert got[("Poor", "Unemployed", 3)] == (D(0), D(0), D(1))
    assert got[("Poor", "Unemployed", 4)] == (D(1), D(1), D(1))
    assert got[("Exceptional", "Self-Employed", 2)] == (D(0), D(0), D(0))


def test_collection_efficiency(marts: Marts) -> None:
    got = marts.query(
        "SELECT year_month, SUM(instalments_due), SUM(amount_due), SUM(collected_on_time), SUM(collected_late),"
        " SUM(collected), SUM(originated_loans), SUM(epd_observed_loans), SUM(epd_loans)"
        " FROM mart_collection_efficiency_monthly GROUP BY year_month"
    )
    assert {m: tuple(int(v) for v in rest) for m, *rest in got} == {
        # R11, R21 on time
        "2024-01": (2, 200, 200, 0, 200, 3, 3, 3),
        # R12 late 100, R22 nothing, R51 40 late; A3, A4 originated (A4's third instalment is not 30 days
        # past due yet: not observed)
        "2024-02": (3, 300, 0, 140, 140, 2, 1, 0),
        # R13 late 100, R23 nothing, R31 early 100, R41 50 of 150 on time, R52 100 (no date: on time)
        "2024-03": (5, 550, 250, 100, 350, 0, 0, 0),
        # R14 100 and R32 100 on time, R24 nothing, R42 150 late (paid on 05-20)
        "2024-04": (4, 450, 200, 150, 350, 0, 0, 0),
    }


def test_collection_efficiency_ratios(marts: Marts) -> None:
    got = marts.by_key(
        "mart_collection_efficiency_monthly",
        ["year_month", "credit_band", "employment_status"],
        ["collection_efficiency", "on_time_efficiency", "epd_rate"],
    )
    assert got[("2024-03", "Fair", "Employed")] == (D("0.3333"), D("0.3333"), None)  # A4: 50 of 150 on time
    assert got[("2024-02", "Good", "Self-Employed")] == (D("0.4000"), D("0"), None)  # A5: 40 of 100, late
    assert got[("2024-04", "Fair", "Employed")] == (D("1.0000"), D("0"), None)  # A4: R42 in full, late
    assert got[("2024-01", "Poor", "Unemployed")] == (D(1), D(1), D(1))  # A2: paid R21, then an early default
    assert got[("2024-01", "Good", "Self-Employed")] == (None, None, D(1))  # A5: originated, nothing due yet
    assert got[("2024-02", "Exceptional", "Self-Employed")] == (None, None, D("0"))  # A3: no early default


def test_score_monitoring(marts: Marts) -> None:
    # 2024-Q1 loans by score: 560 bad (A2), 650 good (A4), 690 bad (A5), 700 good (A1), 800 good (A3).
    # goods 3, bads 2. F_bad - F_good by score: 1/2-0, 1/2-1/3, 1-1/3, 1-2/3, 1-1: KS = 2/3.
    # Good-beats-bad pairs: 650>560, 700>560, 700>690, 800>560, 800>690 = 5 of 6: AUC 5/6, Gini 2/3.
    got = marts.by_key(
        "mart_score_monitoring",
        ["origination_quarter", "score_decile"],
        ["min_score", "max_score", "loans", "defaulted_loans", "default_rate", "ks", "auc", "gini"],
    )
    ks, auc, gini = D("0.6667"), D("0.8333"), D("0.6667")
    assert got == {
        ("2024-Q1", 1): (560, 560, 1, 1, D(1), ks, auc, gini),
        ("2024-Q1", 2): (650, 650, 1, 0, D(0), ks, auc, gini),
        ("2024-Q1", 3): (690, 690, 1, 1, D(1), ks, auc, gini),
        ("2024-Q1", 4): (700, 700, 1, 0, D(0), ks, auc, gini),
        ("2024-Q1", 5): (800, 800, 1, 0, D(0), ks, auc, gini),
    }
    quarter = marts.query(
        "SELECT DISTINCT quarter_start, quarter_goods, quarter_defaults FROM mart_score_monitoring"
    )
    assert quarter == [(date(2024, 1, 1), 3, 2)]


def _psi(actual: list[int], expected: list[int]) -> float:
    """PSI over the 8 score bins, as the mart computes it: each share (n + 0.5) / (N + 4), to 6 places."""
    a_total, e_total = sum(actual), sum(expected)
    total = 0.0
    for a, e in zip(actual, expected, strict=True):
        pa = round((D(a) + D("0.5")) / (D(a_total) + 4), 6)
        pe = round((D(e) + D("0.5")) / (D(e_total) + 4), 6)
        total += float(pa - pe) * (math.log(pa) - math.log(pe))
    return total


def test_score_stability(marts: Marts) -> None:
    # Bins: <500, 500-549, 550-599, 600-649, 650-699, 700-749, 750-799, 800+. Applications: A6 540 (bin 2),
    # A2 560 and A7 590 (3), A4 650 and A5 690 (5), A1 700 (6), A3 800 (8).
    months = {
        "2024-01": [0, 0, 1, 0, 1, 1, 0, 0],  # A5, A1, A2
        "2024-02": [0, 0, 0, 0, 1, 0, 0, 1],  # A3, A4
        "2024-04": [0, 1, 0, 0, 0, 0, 0, 0],  # A6
        "2024-05": [0, 0, 1, 0, 0, 0, 0, 0],  # A7
    }
    quarters = {"2024-Q1": [0, 0, 1, 0, 2, 1, 0, 1], "2024-Q2": [0, 1, 1, 0, 0, 0, 0, 0]}
    got = marts.by_key(
        "mart_score_stability_monthly",
        ["year_month", "baseline_quarter"],
        ["applications", "baseline_applications", "is_default_baseline", "psi", "psi_status"],
    )
    assert set(got) == {(m, q) for m in months for q in quarters}
    for (month, quarter), (n, base, default, psi, status) in got.items():
        assert (n, base, default) == (sum(months[month]), sum(quarters[quarter]), int(quarter == "2024-Q1"))
        assert psi == pytest.approx(_psi(months[month], quarters[quarter]), abs=1e-9), (month, quarter)
        assert status == ("stable" if psi < 0.1 else "moderate shift" if psi < 0.25 else "major shift")
    # worked by hand: January against 2024-Q1. Shares (n + 0.5) / (N + 4): January (N = 3) 0.5/7 = 0.071429
    # for an empty bin and 1.5/7 = 0.214286 for bins 3, 5 and 6; Q1 (N = 5) 0.5/9 = 0.055556, 1.5/9 =
    # 0.166667 (bins 3, 6, 8), 2.5/9 = 0.277778 (bin 5). Empty in both: 4 bins x (0.071429 - 0.055556) x
    # ln(0.071429 / 0.055556); bins 3 and 6 x (0.214286 - 0.166667) ln(0.214286 / 0.166667); bin 5 and bin 8.
    a0, a1, e0, e1, e2 = 0.071429, 0.214286, 0.055556, 0.166667, 0.277778
    jan = (
        4 * (a0 - e0) * math.log(a0 / e0)
        + 2 * (a1 - e1) * math.log(a1 / e1)
        + (a1 - e2) * math.log(a1 / e2)
        + (a0 - e1) * math.log(a0 / e1)
    )
    assert got[("2024-01", "2024-Q1")][3] == pytest.approx(jan, abs=1e-9)
    assert got[("2024-01", "2024-Q1")][4] == "moderate shift"  # 0.137: from 0.1, below 0.25


def test_disbursements(marts: Marts) -> None:
    got = marts.query(
        "SELECT year_month, SUM(approved_loans), SUM(disbursed_amount) FROM mart_disbursements_monthly"
        " GROUP BY year_month"
    )
    # by decision month: A3 applied in February, decided on 2024-03-01; without a decision date, the
    # application month
    assert {m: (int(n), D(a)) for m, n, a in got} == {
        "2024-01": (3, D("1100.00")),
        "2024-02": (1, D("300.00")),
        "2024-03": (1, D("200.00")),
    }


def test_top_applicants(marts: Marts) -> None:
    got = marts.by_key(
        "mart_top_applicants",
        ["customer_id"],
        ["applications", "approved", "total_loan_amount", "approved_amount", "credit_band", "volume_rank"],
    )
    assert got == {
        "C2": (2, 1, D("900.00"), D("400.00"), "Poor", 1),  # A2 approved + A6 rejected; latest score 540
        "C1": (1, 1, D("500.00"), D("500.00"), "Good", 2),
        "C4": (1, 1, D("300.00"), D("300.00"), "Fair", 3),
        "C7": (1, 0, D("250.00"), D("0.00"), "Fair", 4),
        "C3": (1, 1, D("200.00"), D("200.00"), "Exceptional", 5),
        "C5": (1, 1, D("200.00"), D("200.00"), "Good", 5),
    }


def test_applications_daily_has_every_day(marts: Marts) -> None:
    rows = marts.query(
        "SELECT application_date, applications, total_loan_amount FROM mart_applications_daily"
    )
    days = {d: (int(n), D(a)) for d, n, a in rows}
    # 2024-01-05 .. 2024-05-02: 27 + 29 + 31 + 30 + 2 days, seven with one application each
    assert len(days) == 119 and min(days) == date(2024, 1, 5) and max(days) == date(2024, 5, 2)
    assert {d: v for d, v in days.items() if v[0]} == {
        date(2024, 1, 5): (1, D("200.00")),
        date(2024, 1, 10): (1, D("500.00")),
        date(2024, 1, 15): (1, D("400.00")),
        date(2024, 2, 5): (1, D("200.00")),
        date(2024, 2, 20): (1, D("300.00")),
        date(2024, 4, 10): (1, D("500.00")),
        date(2024, 5, 2): (1, D("250.00")),
    }
    assert days[date(2024, 3, 1)] == (0, D("0.00"))


def test_the_calendar_covers_whole_years_and_the_next(marts: Marts) -> None:
    # the data's dates lie in 2024: dim_date holds 2024 and 2025, every day
    assert marts.query("SELECT MIN(date), MAX(date), COUNT(*) FROM dim_date") == [
        (date(2024, 1, 1), date(2025, 12, 31), 366 + 365)
    ]


def test_insights_add_par30_the_worst_vintage_and_the_ks(marts: Marts) -> None:
    from etl.load.warehouse import open_warehouse
    from etl.present.insights import compute_insights

    with open_warehouse(marts.settings) as wh:
        found = compute_insights(wh)
    # PAR30: May 460 / 560 = 0.8214, April 610 / 710 = 0.8592; the oldest cohort is 4 months on book, so
    # the cohorts are compared there: January 2 of 3 defaulted (February has no month 4 yet)
    assert (found.par30_month, found.par30, found.par30_previous) == ("2024-05", D("0.8214"), D("0.8592"))
    assert (found.worst_vintage, found.worst_vintage_default_rate, found.worst_vintage_months_on_book) == (
        "2024-01",
        D("0.6667"),
        4,
    )
    assert (found.score_ks_quarter, found.score_ks) == ("2024-Q1", D("0.6667"))
    assert found.risk_lines() == [
        "PAR30 (2024-05): 82.1% (down 3.8 pp from 2024-04)",
        "Worst vintage: 2024-01 (66.7% defaulted by 4 months on book)",
        "Score KS (2024-Q1): 0.6667",
        "Largest money-in category: n/a",  # no bank statements here
    ]
