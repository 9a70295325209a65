"""Marts: the `mart_*` views analysts, the local dashboard and QuickSight read, kept as data.

Each mart is a name, a description and one SELECT in the common subset of DuckDB, PostgreSQL 15 and
Redshift: CTEs, CASE, COALESCE, window functions, CAST(... AS DECIMAL(p,s)) and date arithmetic with +, -
(a date plus or minus days, the days between two dates); calendar attributes (year_month, month ends) come
from dim_date rather than dialect date functions. Money is exact: every sum, average and ratio goes through
`etl.model.exact`, rendered per dialect by `create_view_sql`. The credit-risk marts are in
`etl.model.risk_marts`, on the definitions of `etl.model.mart_sql`.

Definitions an analyst needs to read a number:
- approval_rate = approved / (approved + rejected): pending applications are not decided yet.
- a loan is an application with at least one repayment instalment; it has defaulted when any instalment
  was more than 90 days past due: paid in full more than 90 days late, or still not paid in full more than
  90 days after its due date (default_rate = defaulted_loans / loans). "Not paid" is judged as of the
  latest payment date in the warehouse, the extract's date (today if there is none or it lies ahead): an
  instalment not due by then is not missed, and amount_paid counts a paid date without an amount as paid
  in full. An instalment paid only in part stays unpaid (see `etl.model.mart_sql`, which also defines the
  credit-risk marts' as-of date, outstanding and days past due).
- inflow / outflow are credits / absolute debits of the bank statements; monthly figures divide by the
  customer's active months (months with at least one transaction).
- salary_regularity = months with a salary credit / active months; betting_share = betting debits /
  all debits; days_overdrawn = distinct days on which a transaction left the balance below zero.
- expected_interest = loan_amount x interest_rate% x loan_term_months / 12 (simple interest) of approved
  loans that carry both a rate and a term.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from etl.contracts import REGISTRY
from etl.model.dialect import Dialect
from etl.model.exact import BYTEWISE_ID, avg, count, div, money, ratio, render
from etl.model.mart_sql import APPLICATIONS, UNKNOWN, Mart
from etl.model.risk_marts import RISK_MARTS
from etl.model.screening_marts import SCREENING_MARTS, fraud_band

_APPLICATIONS = APPLICATIONS

# The median without PERCENTILE_CONT (DOUBLE in PostgreSQL, truncated in DuckDB): the mean of the middle
# income (n odd: rank (n + 1) / 2) or the two middle incomes (n even: ranks n / 2 and n / 2 + 1).
_MIDDLE = "2 * income_rank BETWEEN incomes AND incomes + 2"

_LOAN_MEASURES = f"""
        COUNT(*) AS applications,
        CAST(SUM(is_approved) AS BIGINT) AS approved,
        CAST(SUM(is_rejected) AS BIGINT) AS rejected,
        CAST(SUM(is_pending) AS BIGINT) AS pending,
        {ratio("SUM(is_approved)", "SUM(is_approved) + SUM(is_rejected)", places=0)} AS approval_rate,
        {money("SUM(loan_amount)")} AS total_loan_amount,
        {avg("loan_amount", places=2)} AS avg_loan_amount"""

# Per-customer flows from the bank statements (customers without statements get NULL flows).
# inflow_to_loan (monthly inflow / loan amount) is DECIMAL(38,4): DECIMAL(9,4) overflows from 10^5.
_PROFILE = f"""
tx AS (
    SELECT t.customer_key, d.date AS transaction_date, d.year_month, g.category, t.direction,
           t.transaction_amount, t.balance
    FROM fact_bank_transaction t
    JOIN dim_date d ON d.date_key = t.transaction_date_key
    JOIN dim_transaction_category g ON g.category_key = t.category_key
),
flows AS (
    SELECT
        customer_key,
        COUNT(*) AS transactions,
        COUNT(DISTINCT year_month) AS active_months,
        SUM(CASE WHEN direction = 'credit' THEN transaction_amount ELSE 0 END) AS total_inflow,
        SUM(CASE WHEN direction = 'debit' THEN -transaction_amount ELSE 0 END) AS total_outflow,
        SUM(CASE WHEN direction = 'debit' AND category = 'betting' THEN -transaction_amount ELSE 0 END)
            AS betting_outflow,
        COUNT(DISTINCT CASE WHEN direction = 'credit' AND category = 'salary' THEN year_month END)
            AS salary_months,
        MIN(balance) AS lowest_balance,
        COUNT(DISTINCT CASE WHEN balance < 0 THEN transaction_date END) AS days_overdrawn,
        MIN(transaction_date) AS first_transaction_date,
        MAX(transaction_date) AS last_transaction_date
    FROM tx
    GROUP BY customer_key
),
latest_application AS (
    SELECT customer_key, loan_amount, loan_to_income,
           ROW_NUMBER() OVER (
               PARTITION BY customer_key ORDER BY loan_application_date DESC, {BYTEWISE_ID} DESC
           ) AS rn
    FROM fact_loan_application
),
profile AS (
    SELECT
        c.customer_key,
        c.customer_id,
        c.is_inferred,
        COALESCE(c.employment_status, '{UNKNOWN}') AS employment_status,
        c.annual_income,
        COALESCE(c.state, '{UNKNOWN}') AS state,
        c.latest_credit_score AS credit_score,
        COALESCE(b.credit_band, '{UNKNOWN}') AS credit_band,
        c.application_count AS applications,
        CAST(COALESCE(f.transactions, 0) AS BIGINT) AS transactions,
        CAST(COALESCE(f.active_months, 0) AS BIGINT) AS active_months,
        {money("f.total_inflow")} AS total_inflow,
        {money("f.total_outflow")} AS total_outflow,
        {div("f.total_inflow", "f.active_months", places=2)} AS avg_monthly_inflow,
        {div("f.total_outflow", "f.active_months", places=2)} AS avg_monthly_outflow,
        CAST(COALESCE(f.salary_months, 0) AS BIGINT) AS salary_months,
        {ratio("f.salary_months", "f.active_months", places=0)} AS salary_regularity,
        {money("f.betting_outflow")} AS betting_outflow,
        {ratio("f.betting_outflow", "f.total_outflow", places=2)} AS betting_share,
        f.lowest_balance,
        CAST(COALESCE(f.days_overdrawn, 0) AS BIGINT) AS days_overdrawn,
        f.first_transaction_date,
        f.last_transaction_date,
        a.loan_amount AS latest_loan_amount,
        a.loan_to_income,
        {ratio("f.total_inflow", "f.active_months * a.loan_amount", places=2, precision=38)}
            AS inflow_to_loan
    FROM dim_customer c
    LEFT JOIN flows f ON f.customer_key = c.customer_key
    LEFT JOIN latest_application a ON a.customer_key = c.customer_key AND a.rn = 1
    LEFT JOIN dim_credit_band b ON b.credit_band_key = c.latest_credit_band_key
    WHERE c.customer_key <> -1
)"""


# Where each source's natural keys are held now, and each quarantined row's state: open until a load at or
# after its file's holds its key (resolved; a replay holds it as of its original file), or a newer version
# of its file replaced the file (superseded).
_HOLDERS = "\n    UNION ALL ".join(
    f"SELECT '{c.name}' AS source, {c.key} AS key_value, source_file_id FROM {c.fact_table}" for c in REGISTRY
)
_QUARANTINE_STATE = f"""
holders AS (
    {_HOLDERS}
),
quarantine_state AS (
    SELECT
        q.file_id,
        q.source,
        q.source_row,
        q.rule,
        q.column_name,
        q.key_value,
        q.reason,
        l.logical_name,
        l.file_name,
        l.finished_at AS quarantined_at,
        h.source_file_id AS loaded_by,
        CASE
            WHEN l.superseded_by IS NOT NULL THEN 'superseded'
            WHEN hl.file_id IS NOT NULL AND COALESCE(ho.finished_at, hl.finished_at) >= l.finished_at
                THEN 'resolved'
            ELSE 'open'
        END AS state
    FROM etl_quarantine q
    JOIN etl_file_ledger l ON l.file_id = q.file_id AND l.status = 'loaded'
    LEFT JOIN holders h ON h.source = q.source AND h.key_value = q.key_value
    LEFT JOIN etl_file_ledger hl ON hl.file_id = h.source_file_id
    LEFT JOIN etl_file_ledger ho ON ho.file_id = hl.replay_of
)"""


MARTS: tuple[Mart, ...] = (
    Mart(
        "mart_customer_credit_profile",
        "Per-customer credit profile from bank statements: inflow, outflow, salary regularity, betting "
        "share, lowest balance, days overdrawn, loan-to-income and inflow-to-loan.",
        f"WITH {_PROFILE}\nSELECT * FROM profile",
        grain="one customer (the unknown member excluded)",
    ),
    Mart(
        "mart_income_by_employment",
        "Average and median annual income and loan amount requested by employment status (applications).",
        f"""WITH {_APPLICATIONS},
ranked AS (
    SELECT apps.*,
           ROW_NUMBER() OVER (PARTITION BY employment_status ORDER BY annual_income) AS income_rank,
           COUNT(annual_income) OVER (PARTITION BY employment_status) AS incomes
    FROM apps
)
SELECT
    employment_status,
    COUNT(DISTINCT customer_key) AS customers,{_LOAN_MEASURES},
    {avg("annual_income", places=2)} AS avg_annual_income,
    {div(f"SUM(CASE WHEN {_MIDDLE} THEN annual_income END)", f"COUNT(CASE WHEN {_MIDDLE} THEN annual_income END)", places=2)}
        AS median_annual_income,
    {money("SUM(annual_income)")} AS total_annual_income
FROM ranked
GROUP BY employment_status""",
        grain="employment status",
    ),
    Mart(
        "mart_loan_kpis_monthly",
        "Monthly loan KPIs: applications, decisions, approval rate, amounts, credit score, interest.",
        f"""WITH {_APPLICATIONS}
SELECT
    year_month,
    CAST(year_month || '-01' AS DATE) AS month_start,
    COUNT(DISTINCT customer_key) AS customers,{_LOAN_MEASURES},
    {avg("credit_score", places=0, precision=18)} AS avg_credit_score,
    {avg("annual_income", places=2)} AS avg_annual_income,
    {ratio("SUM(interest_rate)", "COUNT(interest_rate)", places=4)} AS avg_interest_rate,
    {money("SUM(expected_interest)")} AS expected_interest
FROM apps
GROUP BY year_month, CAST(year_month || '-01' AS DATE)""",
        grain="application month",
    ),
    Mart(
        "mart_loan_segment_monthly",
        "Additive loan measures by month, employment status, credit band and state: the detail the "
        "dashboards re-aggregate under their filters.",
        f"""WITH {_APPLICATIONS}
SELECT
    year_month, CAST(year_month || '-01' AS DATE) AS month_start,
    employment_status, credit_band, band_order, state,
    COUNT(*) AS applications,
    CAST(SUM(is_approved) AS BIGINT) AS approved,
    CAST(SUM(is_rejected) AS BIGINT) AS rejected,
    CAST(SUM(is_pending) AS BIGINT) AS pending,
    {money("SUM(loan_amount)")} AS total_loan_amount,
    {money("SUM(annual_income)")} AS total_annual_income,
    CAST(SUM(credit_score) AS BIGINT) AS total_credit_score,
    CAST(SUM(has_repayments) AS BIGINT) AS loans,
    CAST(SUM(is_defaulted) AS BIGINT) AS defaulted_loans,
    COUNT(interest_rate) AS rated_applications,
    CAST(SUM(interest_rate) AS DECIMAL(18,4)) AS total_interest_rate,
    {money("SUM(expected_interest)")} AS expected_interest
FROM apps
GROUP BY year_month, CAST(year_month || '-01' AS DATE), employment_status, credit_band, band_order, state""",
        grain="month x employment status x credit band x state",
    ),
    Mart(
        "mart_approval_by_band_employment",
        "Applications and approval rate by credit band and employment status.",
        f"""WITH {_APPLICATIONS}
SELECT
    credit_band, band_order, employment_status,{_LOAN_MEASURES}
FROM apps
GROUP BY credit_band, band_order, employment_status""",
        grain="credit band x employment status",
    ),
    Mart(
        "mart_default_rate_by_band_employment",
        "Default rate of loans (applications with repayments) by credit band and employment status; "
        "a loan defaulted when any instalment was paid more than 90 days late or is not paid in full more than "
        "90 days after its due date (as of the latest payment date in the warehouse).",
        f"""WITH {_APPLICATIONS}
SELECT
    credit_band, band_order, employment_status,
    COUNT(*) AS loans,
    CAST(SUM(is_defaulted) AS BIGINT) AS defaulted_loans,
    {ratio("SUM(is_defaulted)", "COUNT(*)", places=0)} AS default_rate,
    CAST(SUM(instalments) AS BIGINT) AS instalments,
    CAST(SUM(missed_instalments) AS BIGINT) AS missed_instalments,
    {money("SUM(amount_due)")} AS amount_due,
    {money("SUM(amount_paid)")} AS amount_paid
FROM apps
WHERE has_repayments = 1
GROUP BY credit_band, band_order, employment_status""",
        grain="credit band x employment status (loans only)",
    ),
    Mart(
        "mart_spend_by_category_month",
        "Transaction volume and value by narration category, direction and month (income vs spending).",
        f"""WITH {_PROFILE}
SELECT
    d.year_month,
    CAST(d.year_month || '-01' AS DATE) AS month_start,
    g.category,
    t.direction,
    CASE WHEN t.direction = 'credit' THEN 'income' ELSE 'spending' END AS flow,
    COALESCE(p.employment_status, '{UNKNOWN}') AS employment_status,
    COALESCE(p.credit_band, '{UNKNOWN}') AS credit_band,
    COALESCE(p.state, '{UNKNOWN}') AS state,
    COUNT(*) AS transactions,
    COUNT(DISTINCT t.customer_key) AS customers,
    {money("SUM(ABS(t.transaction_amount))")} AS total_value,
    {money("SUM(CASE WHEN t.direction = 'debit' THEN -t.transaction_amount ELSE 0 END)")} AS total_spend,
    {money("SUM(CASE WHEN t.direction = 'credit' THEN t.transaction_amount ELSE 0 END)")} AS total_income
FROM fact_bank_transaction t
JOIN dim_date d ON d.date_key = t.transaction_date_key
JOIN dim_transaction_category g ON g.category_key = t.category_key
LEFT JOIN profile p ON p.customer_key = t.customer_key
GROUP BY d.year_month, CAST(d.year_month || '-01' AS DATE), g.category, t.direction, p.employment_status, p.credit_band, p.state""",
        grain="month x category x direction x customer employment/band/state",
    ),
    Mart(
        "mart_loans_by_state",
        "Applications, approvals and amounts by state of residence.",
        f"""WITH {_APPLICATIONS}
SELECT
    state,
    COUNT(DISTINCT customer_key) AS customers,{_LOAN_MEASURES},
    {avg("credit_score", places=0, precision=18)} AS avg_credit_score
FROM apps
GROUP BY state""",
        grain="state",
    ),
    Mart(
        "mart_interest_and_terms",
        "Term preference and interest: applications, approvals, average rate and expected interest "
        "revenue by loan term and credit band (applications that carry a term).",
        f"""WITH {_APPLICATIONS}
SELECT
    loan_term_months, credit_band, band_order,{_LOAN_MEASURES},
    {ratio("SUM(interest_rate)", "COUNT(interest_rate)", places=4)} AS avg_interest_rate,
    {money("SUM(expected_interest)")} AS expected_interest
FROM apps
WHERE loan_term_months IS NOT NULL
GROUP BY loan_term_months, credit_band, band_order""",
        grain="loan term x credit band",
    ),
    Mart(
        "mart_data_quality",
        "Files and rows by source, load day and file status (from the ledger). A logical file counts once: "
        "rows in, loaded and quarantined are its current version's (replays' loaded rows in rows_replayed); "
        "inserted, updated, unchanged, removed and conflicting rows count every load; the quarantine is told "
        "open from resolved (a later load holds the key) by etl_quarantine.",
        f"""WITH {_QUARANTINE_STATE},
quarantine_by_file AS (
    SELECT file_id,
           {count("state = 'open'")} AS open_rows,
           {count("state = 'resolved'")} AS resolved_rows
    FROM quarantine_state
    GROUP BY file_id
),
files AS (
    SELECT l.*,
           CASE WHEN l.superseded_by IS NULL AND l.replay_of IS NULL THEN 1 ELSE 0 END AS is_current,
           CASE WHEN l.superseded_by IS NULL AND l.replay_of IS NOT NULL THEN 1 ELSE 0 END AS is_replay
    FROM etl_file_ledger l
)
SELECT
    COALESCE(f.source, '{UNKNOWN}') AS source,
    CAST(f.finished_at AS DATE) AS load_date,
    f.status,
    COUNT(*) AS files,
    CAST(SUM(f.is_current) AS BIGINT) AS current_files,
    CAST(SUM(f.rows_in * f.is_current) AS BIGINT) AS rows_in,
    CAST(SUM(f.rows_loaded * f.is_current) AS BIGINT) AS rows_loaded,
    CAST(SUM(f.rows_loaded * f.is_replay) AS BIGINT) AS rows_replayed,
    CAST(SUM(f.rows_quarantined * f.is_current) AS BIGINT) AS rows_quarantined,
    CAST(SUM(COALESCE(q.open_rows, 0) * f.is_current) AS BIGINT) AS rows_quarantine_open,
    CAST(SUM(COALESCE(q.resolved_rows, 0) * f.is_current) AS BIGINT) AS rows_quarantine_resolved,
    CAST(SUM(COALESCE(f.rows_inserted, 0)) AS BIGINT) AS rows_inserted,
    CAST(SUM(COALESCE(f.rows_updated, 0)) AS BIGINT) AS rows_updated,
    CAST(SUM(COALESCE(f.rows_unchanged, 0)) AS BIGINT) AS rows_unchanged,
    CAST(SUM(COALESCE(f.rows_removed, 0)) AS BIGINT) AS rows_removed,
    CAST(SUM(COALESCE(f.rows_conflicting, 0)) AS BIGINT) AS rows_conflicting,
    {ratio("SUM(COALESCE(q.open_rows, 0) * f.is_current)", "SUM(f.rows_in * f.is_current)", places=0)}
        AS quarantine_rate
FROM files f
LEFT JOIN quarantine_by_file q ON q.file_id = f.file_id
GROUP BY COALESCE(f.source, '{UNKNOWN}'), CAST(f.finished_at AS DATE), f.status""",
        grain="source x load day x file status",
    ),
    Mart(
        "mart_quarantine",
        "Every row a loaded file quarantined, with its state: open (nothing loaded its key since), resolved "
        "(a later load holds the key: a correction, a newer version or a replay) or superseded (a newer "
        "version of its file replaced the file).",
        f"""WITH {_QUARANTINE_STATE}
SELECT * FROM quarantine_state""",
        grain="one quarantined row of a loaded file",
    ),
    Mart(
        "mart_data_test_latest",
        "The latest result of every data test.",
        """SELECT run_id, test_name, test_type, table_name, severity, status, failures, checked_at
FROM (
    SELECT r.*, ROW_NUMBER() OVER (PARTITION BY test_name ORDER BY checked_at DESC, run_id DESC) AS rn
    FROM etl_data_test_result r
) latest
WHERE rn = 1""",
        grain="data test",
    ),
    Mart(
        "mart_loan_customer_360",
        "One wide row per application with the customer's bank-statement profile and repayment outcome.",
        f"""WITH {_APPLICATIONS},
{_PROFILE}
SELECT
    a.application_id,
    a.customer_id,
    a.loan_application_date AS application_date,
    a.year_month,
    a.loan_amount,
    a.credit_score,
    a.credit_band,
    a.employment_status,
    a.annual_income,
    a.loan_to_income,
    a.loan_term_months,
    a.interest_rate,
    a.loan_purpose,
    a.application_status,
    a.state,
    a.fraud_score,
    {fraud_band("a.fraud_score")} AS fraud_band,
    a.is_approved,
    a.has_repayments,
    a.is_defaulted,
    a.instalments,
    a.missed_instalments,
    a.max_days_late,
    a.expected_interest,
    p.total_inflow,
    p.total_outflow,
    p.avg_monthly_inflow,
    p.salary_regularity,
    p.betting_share,
    p.lowest_balance,
    p.days_overdrawn,
    p.inflow_to_loan
FROM apps a
LEFT JOIN profile p ON p.customer_key = a.customer_key""",
        grain="one application",
    ),
    *RISK_MARTS,
    *SCREENING_MARTS,
)

MARTS_BY_NAME = {m.name: m for m in MARTS}


def create_view_sql(mart: Mart, dialect: Dialect) -> str:
    """`CREATE OR REPLACE VIEW` is shared by DuckDB, PostgreSQL and Redshift; the divisions are the dialect's."""
    select = render(mart.sql.strip(), dialect)
    assert "{{" not in select, f"{mart.name}: a division was left unrendered"
    return f"CREATE OR REPLACE VIEW {mart.name} AS\n{select}"


def drop_view_sql(mart: Mart) -> str:
    return f"DROP VIEW IF EXISTS {mart.name}"


class SupportsExecute(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...


def ensure_marts(warehouse: SupportsExecute) -> None:
    """Create or replace every mart view. Call it inside the schema transaction.

    The views are dropped first: PostgreSQL and Redshift refuse `CREATE OR REPLACE VIEW` when a new
    version changes a view's columns, and no mart depends on another, so the order does not matter.
    """
    for mart in MARTS:
        warehouse.execute(drop_view_sql(mart))
    for mart in MARTS:
        warehouse.execute(create_view_sql(mart, warehouse.dialect))
