"""Headline findings computed from the warehouse marts (`etl insights`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from etl.model.exact import divide
from etl.model.marts import ensure_marts
from etl.settings import Settings


@dataclass(frozen=True)
class Insights:
    avg_annual_income: Decimal | None
    avg_loan_amount: Decimal | None
    transactions_per_customer: Decimal | None
    highest_income_employment: str | None
    lowest_income_employment: str | None
    highest_loan_employment: str | None
    lowest_loan_employment: str | None
    highest_spending_category: str | None
    lowest_spending_category: str | None
    spending_by_category: dict[str, Decimal]

    def lines(self) -> list[str]:
        def money(v: Decimal | None) -> str:
            return "n/a" if v is None else f"{v:,.2f}"

        def name(v: str | None) -> str:
            return "n/a" if v is None else v

        return [
            f"Average annual income: {money(self.avg_annual_income)}",
            f"Average loan amount requested: {money(self.avg_loan_amount)}",
            f"Transactions per customer (with statements): {money(self.transactions_per_customer)}",
            f"Highest / lowest average income: {name(self.highest_income_employment)} / "
            f"{name(self.lowest_income_employment)}",
            f"Highest / lowest average loan request: {name(self.highest_loan_employment)} / "
            f"{name(self.lowest_loan_employment)}",
            f"Highest / lowest spending category: {name(self.highest_spending_category)} / "
            f"{name(self.lowest_spending_category)}",
        ]


def _first(rows: list[tuple[Any, ...]]) -> Any:
    return rows[0][0] if rows and rows[0] else None


def compute_insights(warehouse: Any) -> Insights:
    """Read the marts; `warehouse` is anything with `.query(sql)`."""
    q = warehouse.query
    dialect = warehouse.dialect
    # exact divisions (DuckDB's `/` of DECIMAL is DOUBLE) over sums as wide as the marts' DECIMAL(38,2)
    overall = q(
        f"SELECT {divide('SUM(total_annual_income)', 'SUM(applications)', dialect, places=2)},"
        f" {divide('SUM(total_loan_amount)', 'SUM(applications)', dialect, places=2)}"
        " FROM mart_income_by_employment"
    )[0]
    per_customer = _first(
        q(
            f"SELECT {divide('SUM(transactions)', 'COUNT(*)', dialect, places=0)}"
            " FROM mart_customer_credit_profile WHERE transactions > 0"
        )
    )
    income = q("SELECT employment_status FROM mart_income_by_employment ORDER BY avg_annual_income DESC, 1")
    loans = q("SELECT employment_status FROM mart_income_by_employment ORDER BY avg_loan_amount DESC, 1")
    spend = q(
        "SELECT category, CAST(SUM(total_spend) AS DECIMAL(38,2)) FROM mart_spend_by_category_month"
        " WHERE direction = 'debit' GROUP BY category ORDER BY 2 DESC, 1"
    )
    return Insights(
        avg_annual_income=overall[0],
        avg_loan_amount=overall[1],
        transactions_per_customer=per_customer,
        highest_income_employment=income[0][0] if income else None,
        lowest_income_employment=income[-1][0] if income else None,
        highest_loan_employment=loans[0][0] if loans else None,
        lowest_loan_employment=loans[-1][0] if loans else None,
        highest_spending_category=spend[0][0] if spend else None,
        lowest_spending_category=spend[-1][0] if spend else None,
        spending_by_category={str(c): Decimal(v) for c, v in spend},
    )


def warehouse_insights(settings: Settings) -> Insights:
    """Open the warehouse of `settings` (it must exist) and compute the findings."""
    from etl.load.warehouse import open_warehouse

    with open_warehouse(settings, must_exist=True) as wh:
        if wh.dialect == "duckdb":  # a local file may predate the current views
            with wh.transaction():
                ensure_marts(wh)
        return compute_insights(wh)
