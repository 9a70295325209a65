"""Marts on the optional standard columns: the fraud score of loan applications and the merchant of bank
transactions. Both columns are optional, so the marts never hide what lacks them: applications without a
fraud score are the band "No fraud score", transactions without a merchant the row "(no merchant)".

Fraud score bands (the score is 0-100, higher is riskier; see the loan_applications contract): 0 to <20,
20 to <40, 40 to <60, 60 to <80, 80 to 100, and "No fraud score". Approval and default follow the application
marts (`etl.model.mart_sql`): approval_rate = approved / (approved + rejected); default_rate = defaulted
loans / loans (applications with repayment instalments), by the default rule as of the as-of date.

Merchants are grouped by their text as loaded (trimmed, case kept: "SHOPRITE" and "Shoprite" are two
merchants). Money out is the debits' absolute amount; money in (refunds, reversals) the credits.
"""

from __future__ import annotations

from etl.model.exact import count, div, money, ratio
from etl.model.mart_sql import APPLICATIONS, Mart

NO_FRAUD_SCORE = "No fraud score"
NO_MERCHANT = "(no merchant)"
# (label, lowest score in the band); each band runs to the next one's lowest score (exclusive), the last to
# 100 (inclusive). Order: as listed, then NO_FRAUD_SCORE.
FRAUD_BANDS: tuple[tuple[str, int], ...] = (
    ("0 to <20", 0),
    ("20 to <40", 20),
    ("40 to <60", 40),
    ("60 to <80", 60),
    ("80 to 100", 80),
)


def fraud_band(score: str) -> str:
    """SQL: the band label of `score` (a fraud_score column), NO_FRAUD_SCORE when it is NULL."""
    steps = " ".join(
        f"WHEN {score} < {FRAUD_BANDS[i + 1][1]} THEN '{label}'"
        for i, (label, _) in enumerate(FRAUD_BANDS[:-1])
    )
    return f"CASE WHEN {score} IS NULL THEN '{NO_FRAUD_SCORE}' {steps} ELSE '{FRAUD_BANDS[-1][0]}' END"


def fraud_band_order(score: str) -> str:
    """SQL: 1 for the lowest band ... 5 for the highest, 6 for NO_FRAUD_SCORE."""
    steps = " ".join(
        f"WHEN {score} < {FRAUD_BANDS[i + 1][1]} THEN {i + 1}" for i in range(len(FRAUD_BANDS) - 1)
    )
    return f"CASE WHEN {score} IS NULL THEN {len(FRAUD_BANDS) + 1} {steps} ELSE {len(FRAUD_BANDS)} END"


_BANDS = " UNION ALL ".join(
    f"SELECT '{label}' AS fraud_band, {order} AS fraud_band_order"
    for order, label in enumerate([*(b[0] for b in FRAUD_BANDS), NO_FRAUD_SCORE], start=1)
)

_SCORED = f"""{APPLICATIONS},
scored AS (
    SELECT apps.*,
           {fraud_band("fraud_score")} AS fraud_band,
           {fraud_band_order("fraud_score")} AS fraud_band_order
    FROM apps
)"""

# Sums of one group of scored applications (the band marts' measures before any ratio).
_SUMS = f"""COUNT(*) AS applications,
        COUNT(fraud_score) AS scored_applications,
        CAST(SUM(is_approved) AS BIGINT) AS approved,
        CAST(SUM(is_rejected) AS BIGINT) AS rejected,
        CAST(SUM(is_pending) AS BIGINT) AS pending,
        {money("SUM(loan_amount)")} AS total_loan_amount,
        {money("SUM(CASE WHEN is_approved = 1 THEN loan_amount ELSE 0 END)")} AS approved_amount,
        CAST(SUM(has_repayments) AS BIGINT) AS loans,
        CAST(SUM(is_defaulted) AS BIGINT) AS defaulted_loans,
        {money("SUM(CASE WHEN is_defaulted = 1 THEN loan_amount ELSE 0 END)")} AS defaulted_amount"""

SCREENING_MARTS: tuple[Mart, ...] = (
    Mart(
        "mart_fraud_score_bands",
        "Fraud score band impact on approval and default: applications, their share, approvals and approval "
        "rate, amounts requested, approved and defaulted, loans, defaults and default rate, by fraud score "
        "band; every band is listed (0 when empty), and applications without a fraud score are the band "
        f"'{NO_FRAUD_SCORE}'.",
        f"""WITH {_SCORED},
bands AS (
    {_BANDS}
),
by_band AS (
    SELECT fraud_band,
        {_SUMS},
        SUM(fraud_score) AS total_fraud_score
    FROM scored
    GROUP BY fraud_band
),
totals AS (
    SELECT COUNT(*) AS all_applications FROM apps
)
SELECT
    b.fraud_band,
    b.fraud_band_order,
    CAST(COALESCE(x.applications, 0) AS BIGINT) AS applications,
    {ratio("COALESCE(x.applications, 0)", "t.all_applications", places=0)} AS application_share,
    CAST(COALESCE(x.approved, 0) AS BIGINT) AS approved,
    CAST(COALESCE(x.rejected, 0) AS BIGINT) AS rejected,
    CAST(COALESCE(x.pending, 0) AS BIGINT) AS pending,
    {ratio("x.approved", "x.approved + x.rejected", places=0)} AS approval_rate,
    {money("COALESCE(x.total_loan_amount, 0)")} AS total_loan_amount,
    {money("COALESCE(x.approved_amount, 0)")} AS approved_amount,
    CAST(COALESCE(x.loans, 0) AS BIGINT) AS loans,
    CAST(COALESCE(x.defaulted_loans, 0) AS BIGINT) AS defaulted_loans,
    {ratio("x.defaulted_loans", "x.loans", places=0)} AS default_rate,
    {money("COALESCE(x.defaulted_amount, 0)")} AS defaulted_amount,
    {div("x.total_fraud_score", "x.scored_applications", places=4)} AS avg_fraud_score
FROM bands b
CROSS JOIN totals t
LEFT JOIN by_band x ON x.fraud_band = b.fraud_band""",
        grain="fraud score band (all six, empty ones included)",
    ),
    Mart(
        "mart_fraud_score_monthly",
        "Additive application measures by fraud score band, application month, employment status, credit band "
        "and state: what the dashboards re-aggregate under their filters into approval and default rates by "
        f"fraud score band ('{NO_FRAUD_SCORE}' included).",
        f"""WITH {_SCORED}
SELECT
    fraud_band, fraud_band_order,
    year_month, CAST(year_month || '-01' AS DATE) AS month_start,
    employment_status, credit_band, band_order, state,
    {_SUMS}
FROM scored
GROUP BY fraud_band, fraud_band_order, year_month, CAST(year_month || '-01' AS DATE),
    employment_status, credit_band, band_order, state""",
        grain="fraud score band x application month x employment status x credit band x state",
    ),
    Mart(
        "mart_top_merchants",
        "Merchants by money out and by customers: transactions, debits, distinct customers, money out and in, "
        f"average debit, first and last day, and ranks; transactions without a merchant are one row "
        f"'{NO_MERCHANT}' (has_merchant = 0, no rank), so the rows add up to every transaction.",
        f"""WITH by_merchant AS (
    SELECT
        COALESCE(merchant, '{NO_MERCHANT}') AS merchant,
        CASE WHEN merchant IS NULL THEN 0 ELSE 1 END AS has_merchant,
        COUNT(*) AS transactions,
        {count("direction = 'debit'")} AS debit_transactions,
        COUNT(DISTINCT customer_key) AS customers,
        SUM(CASE WHEN direction = 'debit' THEN -transaction_amount ELSE 0 END) AS total_spend,
        SUM(CASE WHEN direction = 'credit' THEN transaction_amount ELSE 0 END) AS total_income,
        MIN(d.date) AS first_transaction_date,
        MAX(d.date) AS last_transaction_date
    FROM fact_bank_transaction t
    JOIN dim_date d ON d.date_key = t.transaction_date_key
    GROUP BY COALESCE(merchant, '{NO_MERCHANT}'), CASE WHEN merchant IS NULL THEN 0 ELSE 1 END
)
SELECT
    merchant,
    has_merchant,
    transactions,
    debit_transactions,
    customers,
    {money("total_spend")} AS total_spend,
    {money("total_income")} AS total_income,
    {div("total_spend", "debit_transactions", places=2)} AS avg_spend,
    first_transaction_date,
    last_transaction_date,
    CASE WHEN has_merchant = 1 THEN RANK() OVER (PARTITION BY has_merchant ORDER BY total_spend DESC) END
        AS spend_rank,
    CASE WHEN has_merchant = 1 THEN RANK() OVER (PARTITION BY has_merchant ORDER BY customers DESC) END
        AS customer_rank
FROM by_merchant""",
        grain=f"merchant ('{NO_MERCHANT}': the transactions without one)",
    ),
)
