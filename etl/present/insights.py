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
    par30: Decimal | None = None
    par30_month: str | None = None
    par30_previous: Decimal | None = None
    par30_previous_month: str | None = None
    worst_vintage: str | None = None
    worst_vintage_default_rate: Decimal | None = None
    worst_vintage_months_on_book: int | None = None
    score_ks: Decimal | None = None
    score_ks_quarter: str | None = None
    first_ks: Decimal | None = None
    first_ks_quarter: str | None = None
    largest_income_category: str | None = None
    largest_income: Decimal | None = None
    currency: str = "NGN"

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
            *self.risk_lines(),
        ]

    def risk_lines(self) -> list[str]:
        def pct(v: Decimal | None) -> str:
            return "n/a" if v is None else f"{v * 100:.1f}%"

        par30 = f"PAR30 ({self.par30_month or 'n/a'}): {pct(self.par30)}"
        if self.par30 is not None and self.par30_previous is not None:
            change = (self.par30 - self.par30_previous) * 100
            way = "up" if change > 0 else "down" if change < 0 else "unchanged"
            par30 += f" ({way} {abs(change):.1f} pp from {self.par30_previous_month})"
        vintage = "Worst vintage: n/a"
        if self.worst_vintage is not None:
            vintage = (
                f"Worst vintage: {self.worst_vintage} ({pct(self.worst_vintage_default_rate)} defaulted by "
                f"{self.worst_vintage_months_on_book} months on book)"
            )
        ks = f"Score KS ({self.score_ks_quarter or 'n/a'}): {'n/a' if self.score_ks is None else self.score_ks}"
        if self.first_ks is not None and self.first_ks_quarter != self.score_ks_quarter:
            ks += f" ({self.first_ks_quarter}: {self.first_ks})"
        income = "Largest money-in category: n/a"
        if self.largest_income_category is not None and self.largest_income is not None:
            income = (
                f"Largest money-in category: {self.largest_income_category} "
                f"({self.currency} {self.largest_income:,.2f})"
            )
        return [par30, vintage, ks, income]


def _first(rows: list[tuple[Any, ...]]) -> Any:
    return rows[0][0] if rows and rows[0] else None


WORST_VINTAGE_MONTHS_ON_BOOK = 6  # cohorts are compared at the same age (or the oldest cohort's, if younger)


def _risk(warehouse: Any) -> dict[str, Any]:
    """PAR30 of the last two months, the worst vintage, the score's KS and the largest money-in category."""
    q, dialect = warehouse.query, warehouse.dialect
    par = q(
        f"SELECT year_month, {divide('SUM(par30_outstanding)', 'SUM(outstanding)', dialect, places=2, scale=4)}"
        " FROM mart_portfolio_at_risk_monthly GROUP BY year_month ORDER BY year_month DESC LIMIT 2"
    )
    oldest = _first(q("SELECT MAX(months_on_book) FROM mart_vintage_curves"))
    mob = None if oldest is None else min(WORST_VINTAGE_MONTHS_ON_BOOK, int(oldest))
    rate = divide("SUM(defaulted_loans)", "SUM(loans)", dialect, places=0, scale=4)
    vintage = (
        q(
            f"SELECT origination_month, {rate} FROM mart_vintage_curves WHERE months_on_book = {int(mob)}"
            " GROUP BY origination_month ORDER BY 2 DESC, 1 LIMIT 1"
        )
        if mob is not None
        else []
    )
    ks = q(
        "SELECT origination_quarter, MAX(ks) FROM mart_score_monitoring WHERE ks IS NOT NULL"
        " GROUP BY origination_quarter ORDER BY 1"
    )
    income = q(
        "SELECT category, CAST(SUM(total_income) AS DECIMAL(38,2)) FROM mart_spend_by_category_month"
        " WHERE direction = 'credit' GROUP BY category ORDER BY 2 DESC, 1 LIMIT 1"
    )
    return {
        "par30": par[0][1] if par else None,
        "par30_month": par[0][0] if par else None,
        "par30_previous": par[1][1] if len(par) > 1 else None,
        "par30_previous_month": par[1][0] if len(par) > 1 else None,
        "worst_vintage": vintage[0][0] if vintage else None,
        "worst_vintage_default_rate": vintage[0][1] if vintage else None,
        "worst_vintage_months_on_book": mob if vintage else None,
        "score_ks": ks[-1][1] if ks else None,
        "score_ks_quarter": ks[-1][0] if ks else None,
        "first_ks": ks[0][1] if ks else None,
        "first_ks_quarter": ks[0][0] if ks else None,
        "largest_income_category": income[0][0] if income else None,
        "largest_income": income[0][1] if income else None,
    }


def compute_insights(warehouse: Any, *, currency: str = "NGN") -> Insights:
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
        currency=currency,
        **_risk(warehouse),
    )


def warehouse_insights(settings: Settings) -> Insights:
    """Open the warehouse of `settings` (it must exist) and compute the findings."""
    from etl.load.warehouse import open_warehouse

    with open_warehouse(settings, must_exist=True) as wh:
        if wh.dialect == "duckdb":  # a local file may predate the current views
            with wh.transaction():
                ensure_marts(wh)
        return compute_insights(wh, currency=settings.currency)
