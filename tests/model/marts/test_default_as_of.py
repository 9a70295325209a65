"""Defaults are judged as of the extract: the latest payment date in the warehouse.

An instalment that is not due by then is not missed; one unpaid for 90 days or fewer after its due date is
missed but no default; one unpaid for 91 is a default. A paid date without an amount is paid in full.
Here the latest payment is 2024-06-30, so the 90-day line falls on 2024-04-01.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.helpers import write
from tests.model.marts import Marts, loaded_warehouse

D = Decimal
APPS = (
    "application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,"
    "annual_income,application_status\n"
    + "".join(f"B{i},D{i},1000.00,2024-01-10,700,Employed,50000.00,approved\n" for i in range(1, 6))
)
REPAYMENTS = """repayment_id,application_id,due_date,amount_due,paid_date,amount_paid
P1,B1,2024-07-15,100.00,,
P1b,B1,2024-05-15,100.00,2024-05-15,100.00
P2,B2,2024-05-31,100.00,,
P3,B3,2024-03-31,100.00,,
P4,B4,2024-04-01,100.00,,
P5,B5,2024-06-30,250.00,2024-06-30,
"""


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def marts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marts]:
    tmp = tmp_path_factory.mktemp(f"as-of-{request.param}")
    write(tmp / "data", "loan_applications", "apps.csv", APPS)
    write(tmp / "data", "repayments", "repayments.csv", REPAYMENTS)
    with loaded_warehouse(request, tmp, "as_of") as (settings, report):
        assert [f.status for f in report.files] == ["loaded"] * 2
        yield Marts(settings)


def test_each_loan_is_judged_as_of_the_latest_payment(marts: Marts) -> None:
    assert marts.by_key(
        "mart_loan_customer_360", ["application_id"], ["instalments", "missed_instalments", "is_defaulted"]
    ) == {
        "B1": (2, 0, 0),  # P1 is due after the extract: neither missed nor a default
        "B2": (1, 1, 0),  # 30 days overdue
        "B3": (1, 1, 1),  # 91 days overdue
        "B4": (1, 1, 0),  # 90 days overdue: not more than 90
        "B5": (1, 0, 0),
    }


def test_the_default_rate_and_amount_paid(marts: Marts) -> None:
    assert marts.by_key(
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
    ) == {
        # amount_paid: P1b 100 + P5 250 (a paid date without an amount is paid in full)
        ("Good", "Employed"): (5, 1, D("0.2"), 6, 3, D("750.00"), D("350.00")),
    }
