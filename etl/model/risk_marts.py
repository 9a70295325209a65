"""The credit-risk marts a lender's risk team runs its month on, and the portfolio views beside them.

Delinquency and default follow the definitions of `etl.model.mart_sql` (as-of date, paid, past due,
default, outstanding). Every ratio is exact (`etl.model.exact`); the PSI alone is DOUBLE PRECISION, because
it needs a logarithm: PSI = sum over score bins of (a - e) x (ln a - ln e), a and e the month's and the
baseline's shares of applications in the bin, each smoothed with half an application per bin
((n + 0.5) / (N + 0.5 x bins)) so an empty bin has a logarithm and a month of a few applications is not
scored as a shift by its empty bins alone.

Days-past-due buckets: current (0), 1-30, 31-60, 61-90, 90+ (more than 90: the default rule). PARn is the
share of outstanding in loans more than n days past due (PAR1: at least 1 day), so PAR30 sums the 31-60,
61-90 and 90+ buckets and PAR90 is the 90+ bucket.
"""

from __future__ import annotations

from etl.model.exact import BYTEWISE_ID, avg, count, div, money, ratio
from etl.model.mart_sql import APPLICATIONS, LOAN_MONTH, LOANS, UNKNOWN, Mart, past_due_more_than

SEGMENT = "employment_status, credit_band, band_order, state"
PAR_DAYS = {"par1": 0, "par30": 30, "par60": 60, "par90": 90}  # more than this many days past due
BUCKETS = {
    "current": "0",
    "dpd_1_30": "1-30",
    "dpd_31_60": "31-60",
    "dpd_61_90": "61-90",
    "dpd_90_plus": "90+",
}
# Fixed score bins of the PSI: below 500, 50 points each from 500 to 799, 800 and above.
PSI_BINS = (500, 550, 600, 650, 700, 750, 800)
PSI_PSEUDO_COUNT = "0.5"  # applications added to every bin of the PSI

_LOAN_MONTH_COLUMNS = """application_id, customer_id, year_month, month_start, month_end, snapshot_date, as_of_date,
    origination_month, months_on_book, credit_band, band_order, employment_status, state, credit_score,
    loan_amount, instalments, instalments_due, instalments_past_due, scheduled_total, scheduled_to_date,
    paid_to_date, outstanding, arrears, days_past_due, dpd_bucket, bucket_order, is_open, is_ever_30_dpd,
    is_defaulted"""


def _bucket_measures() -> str:
    lines = []
    for name, label in BUCKETS.items():
        when = "days_past_due = 0" if label == "0" else f"dpd_bucket = '{label}'"
        lines.append(f"{count(when)} AS {name}_loans")
        lines.append(f"{money(f'SUM(CASE WHEN {when} THEN outstanding ELSE 0 END)')} AS {name}_outstanding")
    for name, days in PAR_DAYS.items():
        lines.append(f"{count(f'days_past_due > {days}')} AS {name}_loans")
        lines.append(
            f"{money(f'SUM(CASE WHEN days_past_due > {days} THEN outstanding ELSE 0 END)')} AS {name}_outstanding"
        )
    for name, days in PAR_DAYS.items():
        par = f"SUM(CASE WHEN days_past_due > {days} THEN outstanding ELSE 0 END)"
        lines.append(f"{ratio(par, 'SUM(outstanding)', places=2)} AS {name}")
    return ",\n    ".join(lines)


def _psi_bin(score: str) -> str:
    steps = " ".join(f"WHEN {score} < {edge} THEN {i + 1}" for i, edge in enumerate(PSI_BINS))
    return f"CASE {steps} ELSE {len(PSI_BINS) + 1} END"


def _share(n: str, total: str) -> str:
    bins = len(PSI_BINS) + 1
    return div(f"{n} + {PSI_PSEUDO_COUNT}", f"{total} + {PSI_PSEUDO_COUNT} * {bins}", places=1, scale=6)


def _psi_bins() -> str:
    return " UNION ALL ".join(f"SELECT {i} AS score_bin" for i in range(1, len(PSI_BINS) + 2))


def _double(expr: str) -> str:
    return f"CAST({expr} AS DOUBLE PRECISION)"


RISK_MARTS: tuple[Mart, ...] = (
    Mart(
        "mart_loan_month",
        "Loan x month-end snapshot from the loan's first due month to the as-of date (the as-of month is taken "
        "on the as-of date): scheduled and paid to date, outstanding, arrears, days past due (its oldest "
        "instalment past due), DPD bucket, defaulted and ever-30+ flags, months on book, and the loan's "
        "origination month, credit band, employment status and state.",
        f"WITH {LOAN_MONTH}\nSELECT {_LOAN_MONTH_COLUMNS}\nFROM loan_month",
        grain="loan x month end (first due month to the as-of month)",
    ),
    Mart(
        "mart_portfolio_at_risk_monthly",
        "Portfolio at risk by month-end snapshot, employment status, credit band and state: loans, "
        "outstanding and arrears, loans and outstanding in each DPD bucket, and PAR1/30/60/90 (the share of "
        "outstanding in loans more than 0/30/60/90 days past due).",
        f"""WITH {LOAN_MONTH}
SELECT
    year_month, month_start, {SEGMENT},
    COUNT(*) AS loans,
    CAST(SUM(is_open) AS BIGINT) AS open_loans,
    {money("SUM(outstanding)")} AS outstanding,
    {money("SUM(arrears)")} AS arrears,
    {count("is_defaulted = 1")} AS defaulted_loans,
    {_bucket_measures()}
FROM loan_month
GROUP BY year_month, month_start, {SEGMENT}""",
        grain="month x employment status x credit band x state",
    ),
    Mart(
        "mart_roll_rates",
        "Roll rates: loans open at one month end by their DPD bucket then and at the next month end (cures "
        "included), with the outstanding they carried, and each move's share of its from-bucket (row share).",
        f"""WITH {LOAN_MONTH},
moves AS (
    SELECT t.year_month, t.month_start, f.year_month AS from_month,
           f.dpd_bucket AS from_bucket, f.bucket_order AS from_bucket_order,
           t.dpd_bucket AS to_bucket, t.bucket_order AS to_bucket_order,
           f.employment_status, f.credit_band, f.band_order, f.state, f.outstanding
    FROM loan_month f
    JOIN loan_month t ON t.application_key = f.application_key AND t.month_index = f.month_index + 1
    WHERE f.is_open = 1
)
SELECT
    year_month, month_start, from_month, from_bucket, from_bucket_order, to_bucket, to_bucket_order, {SEGMENT},
    COUNT(*) AS loans,
    {money("SUM(outstanding)")} AS outstanding,
    {ratio("COUNT(*)", f"SUM(COUNT(*)) OVER (PARTITION BY year_month, from_bucket, {SEGMENT})", places=0)}
        AS loan_share,
    {ratio("SUM(outstanding)", f"SUM(SUM(outstanding)) OVER (PARTITION BY year_month, from_bucket, {SEGMENT})", places=2)}
        AS outstanding_share
FROM moves
GROUP BY year_month, month_start, from_month, from_bucket, from_bucket_order, to_bucket, to_bucket_order, {SEGMENT}""",
        grain="month rolled into x from bucket x to bucket x employment status x credit band x state",
    ),
    Mart(
        "mart_vintage_curves",
        "Vintage curves: loans by origination month and months on book (every month from origination to the "
        "as-of month): the cohort's loans and amount, and how many of them (and how much of the amount) had "
        "defaulted, or had ever been more than 30 days past due, by then (cumulative rates).",
        f"""WITH {LOAN_MONTH},
on_book AS (
    SELECT l.application_key, l.origination_month, l.{SEGMENT.replace(", ", ", l.")}, l.loan_amount,
           m.month_index - l.origination_index AS months_on_book, m.month_index
    FROM loan l
    CROSS JOIN as_of o
    JOIN month_end m ON m.month_index >= l.origination_index AND m.month_start <= o.as_of_date
),
point AS (
    SELECT b.*, COALESCE(s.is_defaulted, 0) AS is_defaulted, COALESCE(s.is_ever_30_dpd, 0) AS is_ever_30_dpd
    FROM on_book b
    LEFT JOIN loan_month s ON s.application_key = b.application_key AND s.month_index = b.month_index
)
SELECT
    origination_month,
    CAST(origination_month || '-01' AS DATE) AS origination_start,
    months_on_book, {SEGMENT},
    COUNT(*) AS loans,
    {money("SUM(loan_amount)")} AS loan_amount,
    {count("is_defaulted = 1")} AS defaulted_loans,
    {money("SUM(CASE WHEN is_defaulted = 1 THEN loan_amount ELSE 0 END)")} AS defaulted_amount,
    {count("is_ever_30_dpd = 1")} AS ever_30_dpd_loans,
    {money("SUM(CASE WHEN is_ever_30_dpd = 1 THEN loan_amount ELSE 0 END)")} AS ever_30_dpd_amount,
    {ratio("SUM(is_defaulted)", "COUNT(*)", places=0)} AS cumulative_default_rate,
    {ratio("SUM(CASE WHEN is_defaulted = 1 THEN loan_amount ELSE 0 END)", "SUM(loan_amount)", places=2)}
        AS cumulative_default_rate_amount,
    {ratio("SUM(is_ever_30_dpd)", "COUNT(*)", places=0)} AS ever_30_dpd_rate,
    {ratio("SUM(CASE WHEN is_ever_30_dpd = 1 THEN loan_amount ELSE 0 END)", "SUM(loan_amount)", places=2)}
        AS ever_30_dpd_rate_amount
FROM point
GROUP BY origination_month, months_on_book, {SEGMENT}""",
        grain="origination month x months on book x employment status x credit band x state",
    ),
    Mart(
        "mart_collection_efficiency_monthly",
        "Collections by due month: instalments and amount due (by the as-of date), collected against them on "
        "time and late (each instalment up to its amount due), collection efficiency; and early payment "
        "default by origination month: loans more than 30 days past due on one of their first three "
        "instalments, among the loans whose third instalment is more than 30 days past its due date.",
        f"""WITH {LOANS},
due AS (
    SELECT
        d.year_month, l.{SEGMENT.replace(", ", ", l.")},
        COUNT(*) AS instalments_due,
        {count("i.settled_on <= i.due_date")} AS instalments_paid_on_time,
        SUM(i.amount_due) AS amount_due,
        SUM(CASE WHEN i.paid_on <= i.due_date THEN LEAST(i.amount_paid, i.amount_due) ELSE 0 END)
            AS collected_on_time,
        SUM(CASE WHEN i.paid_on > i.due_date AND i.paid_on <= o.as_of_date
                 THEN LEAST(i.amount_paid, i.amount_due) ELSE 0 END) AS collected_late
    FROM instalment i
    CROSS JOIN as_of o
    JOIN loan l ON l.application_key = i.application_key
    JOIN dim_date d ON d.date_key = i.due_date_key
    WHERE i.due_date <= o.as_of_date
    GROUP BY d.year_month, l.{SEGMENT.replace(", ", ", l.")}
),
early AS (
    SELECT
        i.application_key,
        MAX(i.due_date) AS third_due_date,
        MAX(CASE WHEN {past_due_more_than(30, "o.as_of_date")} THEN 1 ELSE 0 END) AS is_early_default
    FROM (
        SELECT instalment.*, DENSE_RANK() OVER (PARTITION BY application_key ORDER BY due_date) AS due_rank
        FROM instalment
    ) i
    CROSS JOIN as_of o
    WHERE i.due_rank <= 3
    GROUP BY i.application_key
),
originated AS (
    SELECT
        l.origination_month AS year_month, l.{SEGMENT.replace(", ", ", l.")},
        COUNT(*) AS originated_loans,
        {count("e.third_due_date < o.as_of_date - 30")} AS epd_observed_loans,
        {count("e.third_due_date < o.as_of_date - 30 AND e.is_early_default = 1")} AS epd_loans
    FROM loan l
    JOIN early e ON e.application_key = l.application_key
    CROSS JOIN as_of o
    GROUP BY l.origination_month, l.{SEGMENT.replace(", ", ", l.")}
),
joined AS (
    SELECT
        COALESCE(d.year_month, g.year_month) AS year_month,
        COALESCE(d.employment_status, g.employment_status) AS employment_status,
        COALESCE(d.credit_band, g.credit_band) AS credit_band,
        COALESCE(d.band_order, g.band_order) AS band_order,
        COALESCE(d.state, g.state) AS state,
        COALESCE(d.instalments_due, 0) AS instalments_due,
        COALESCE(d.instalments_paid_on_time, 0) AS instalments_paid_on_time,
        COALESCE(d.amount_due, 0) AS amount_due,
        COALESCE(d.collected_on_time, 0) AS collected_on_time,
        COALESCE(d.collected_late, 0) AS collected_late,
        COALESCE(g.originated_loans, 0) AS originated_loans,
        COALESCE(g.epd_observed_loans, 0) AS epd_observed_loans,
        COALESCE(g.epd_loans, 0) AS epd_loans
    FROM due d
    FULL OUTER JOIN originated g
        ON g.year_month = d.year_month AND g.employment_status = d.employment_status
        AND g.credit_band = d.credit_band AND g.state = d.state
)
SELECT
    year_month, CAST(year_month || '-01' AS DATE) AS month_start, {SEGMENT},
    CAST(instalments_due AS BIGINT) AS instalments_due,
    CAST(instalments_paid_on_time AS BIGINT) AS instalments_paid_on_time,
    {money("amount_due")} AS amount_due,
    {money("collected_on_time")} AS collected_on_time,
    {money("collected_late")} AS collected_late,
    {money("collected_on_time + collected_late")} AS collected,
    {ratio("collected_on_time + collected_late", "amount_due", places=2)} AS collection_efficiency,
    {ratio("collected_on_time", "amount_due", places=2)} AS on_time_efficiency,
    CAST(originated_loans AS BIGINT) AS originated_loans,
    CAST(epd_observed_loans AS BIGINT) AS epd_observed_loans,
    CAST(epd_loans AS BIGINT) AS epd_loans,
    {ratio("epd_loans", "epd_observed_loans", places=0)} AS epd_rate
FROM joined""",
        grain="month (due month for collections, origination month for early payment default) x employment "
        "status x credit band x state",
    ),
    # KS = max over scores of |F_bad - F_good| = max |bads_to x goods - goods_to x bads| over (goods x bads);
    # AUC = P(a good outscores a bad) + half the ties = pairs over (2 x goods x bads), where
    # pairs = sum over scores of goods x (2 x the bads scored below + the bads at the same score).
    Mart(
        "mart_score_monitoring",
        "Credit-score performance per origination quarter: loans, defaults and default rate by score decile "
        "(deciles of the quarter's loans, 1 = lowest scores), and the quarter's KS, AUC and Gini "
        "(2 x AUC - 1) of the score against default, exact (repeated on each decile row).",
        f"""WITH {APPLICATIONS},
quarter AS (
    SELECT CAST(year AS VARCHAR(4)) || '-Q' || CAST(quarter AS VARCHAR(1)) AS year_quarter, MIN(date) AS quarter_start
    FROM dim_date
    GROUP BY year, quarter
),
scored AS (
    SELECT year_quarter, credit_score, is_defaulted, loan_amount,
           NTILE(10) OVER (PARTITION BY year_quarter ORDER BY credit_score, {BYTEWISE_ID}) AS score_decile
    FROM apps
    WHERE has_repayments = 1
),
by_score AS (
    SELECT year_quarter, credit_score, COUNT(*) - SUM(is_defaulted) AS goods, SUM(is_defaulted) AS bads
    FROM scored
    GROUP BY year_quarter, credit_score
),
cumulative AS (
    SELECT
        year_quarter, goods, bads,
        SUM(goods) OVER (PARTITION BY year_quarter ORDER BY credit_score ROWS UNBOUNDED PRECEDING) AS goods_to,
        SUM(bads) OVER (PARTITION BY year_quarter ORDER BY credit_score ROWS UNBOUNDED PRECEDING) AS bads_to,
        SUM(goods) OVER (PARTITION BY year_quarter) AS total_goods,
        SUM(bads) OVER (PARTITION BY year_quarter) AS total_bads
    FROM by_score
),
separation AS (
    SELECT
        year_quarter,
        MAX(ABS(bads_to * total_goods - goods_to * total_bads)) AS ks_gap,
        SUM(goods * (2 * (bads_to - bads) + bads)) AS auc_pairs,
        MAX(total_goods) AS goods,
        MAX(total_bads) AS bads
    FROM cumulative
    GROUP BY year_quarter
)
SELECT
    s.year_quarter AS origination_quarter,
    q.quarter_start,
    s.score_decile,
    MIN(s.credit_score) AS min_score,
    MAX(s.credit_score) AS max_score,
    COUNT(*) AS loans,
    {count("s.is_defaulted = 1")} AS defaulted_loans,
    {ratio("SUM(s.is_defaulted)", "COUNT(*)", places=0)} AS default_rate,
    {money("SUM(s.loan_amount)")} AS loan_amount,
    CAST(MAX(x.goods) AS BIGINT) AS quarter_goods,
    CAST(MAX(x.bads) AS BIGINT) AS quarter_defaults,
    {ratio("MAX(x.ks_gap)", "MAX(x.goods) * MAX(x.bads)", places=0)} AS ks,
    {ratio("MAX(x.auc_pairs)", "2 * MAX(x.goods) * MAX(x.bads)", places=0)} AS auc,
    {ratio("MAX(x.auc_pairs) - MAX(x.goods) * MAX(x.bads)", "MAX(x.goods) * MAX(x.bads)", places=0)} AS gini
FROM scored s
JOIN separation x ON x.year_quarter = s.year_quarter
JOIN quarter q ON q.year_quarter = s.year_quarter
GROUP BY s.year_quarter, q.quarter_start, s.score_decile""",
        grain="origination quarter x score decile (loans only)",
    ),
    Mart(
        "mart_score_stability_monthly",
        "Population stability of application scores: for each application month and each origination "
        f"quarter taken as the baseline, the PSI over fixed score bins (below {PSI_BINS[0]}, 50 points each, "
        f"{PSI_BINS[-1]} and above; {PSI_PSEUDO_COUNT} application added to each bin); is_default_baseline marks the first "
        "quarter (the settings' score_baseline picks another). PSI is DOUBLE PRECISION (it takes logarithms).",
        f"""WITH {APPLICATIONS},
binned AS (
    SELECT year_month, year_quarter, {_psi_bin("credit_score")} AS score_bin FROM apps
),
months AS (SELECT year_month, COUNT(*) AS applications FROM binned GROUP BY year_month),
quarters AS (SELECT year_quarter, COUNT(*) AS applications FROM binned GROUP BY year_quarter),
first_quarter AS (SELECT MIN(year_quarter) AS year_quarter FROM quarters),
month_bins AS (SELECT year_month, score_bin, COUNT(*) AS n FROM binned GROUP BY year_month, score_bin),
quarter_bins AS (SELECT year_quarter, score_bin, COUNT(*) AS n FROM binned GROUP BY year_quarter, score_bin),
bins AS ({_psi_bins()}),
shares AS (
    SELECT
        m.year_month, q.year_quarter AS baseline_quarter,
        m.applications, q.applications AS baseline_applications,
        {_share("COALESCE(mb.n, 0)", "m.applications")} AS actual_share,
        {_share("COALESCE(qb.n, 0)", "q.applications")} AS expected_share
    FROM months m
    CROSS JOIN quarters q
    CROSS JOIN bins b
    LEFT JOIN month_bins mb ON mb.year_month = m.year_month AND mb.score_bin = b.score_bin
    LEFT JOIN quarter_bins qb ON qb.year_quarter = q.year_quarter AND qb.score_bin = b.score_bin
),
psi AS (
    SELECT
        year_month, baseline_quarter,
        MAX(applications) AS applications,
        MAX(baseline_applications) AS baseline_applications,
        SUM({_double("actual_share - expected_share")}
            * (LN({_double("actual_share")}) - LN({_double("expected_share")}))) AS psi
    FROM shares
    GROUP BY year_month, baseline_quarter
)
SELECT
    p.year_month,
    CAST(p.year_month || '-01' AS DATE) AS month_start,
    p.baseline_quarter,
    CASE WHEN p.baseline_quarter = f.year_quarter THEN 1 ELSE 0 END AS is_default_baseline,
    CAST(p.applications AS BIGINT) AS applications,
    CAST(p.baseline_applications AS BIGINT) AS baseline_applications,
    p.psi,
    CASE WHEN p.psi < 0.1 THEN 'stable' WHEN p.psi < 0.25 THEN 'moderate shift' ELSE 'major shift' END
        AS psi_status
FROM psi p
CROSS JOIN first_quarter f""",
        grain="application month x baseline origination quarter",
    ),
    Mart(
        "mart_disbursements_monthly",
        "Approved (disbursed) loans and amount by decision month (the application month when there is no "
        "decision date), employment status, credit band and state.",
        f"""WITH {APPLICATIONS},
approved AS (
    SELECT COALESCE(dd.year_month, a.year_month) AS year_month, a.{SEGMENT.replace(", ", ", a.")}, a.loan_amount
    FROM apps a
    LEFT JOIN dim_date dd ON dd.date_key = a.decision_date_key
    WHERE a.is_approved = 1
)
SELECT
    year_month, CAST(year_month || '-01' AS DATE) AS month_start, {SEGMENT},
    COUNT(*) AS approved_loans,
    {money("SUM(loan_amount)")} AS disbursed_amount,
    {avg("loan_amount", places=2)} AS avg_disbursed_amount
FROM approved
GROUP BY year_month, {SEGMENT}""",
        grain="decision month x employment status x credit band x state (approved applications)",
    ),
    Mart(
        "mart_top_applicants",
        "Applicants by loan volume: applications, amount requested and approved, with the customer's current "
        "employment status, credit band and state; volume_rank 1 is the largest amount requested.",
        f"""WITH {APPLICATIONS}
SELECT
    a.customer_id,
    COALESCE(c.employment_status, '{UNKNOWN}') AS employment_status,
    b.credit_band,
    b.band_order,
    COALESCE(c.state, '{UNKNOWN}') AS state,
    COUNT(*) AS applications,
    CAST(SUM(a.is_approved) AS BIGINT) AS approved,
    {money("SUM(a.loan_amount)")} AS total_loan_amount,
    {money("SUM(CASE WHEN a.is_approved = 1 THEN a.loan_amount ELSE 0 END)")} AS approved_amount,
    MAX(a.loan_application_date) AS latest_application_date,
    RANK() OVER (ORDER BY SUM(a.loan_amount) DESC) AS volume_rank
FROM apps a
JOIN dim_customer c ON c.customer_key = a.customer_key
JOIN dim_credit_band b ON b.credit_band_key = c.latest_credit_band_key
GROUP BY a.customer_id, c.employment_status, b.credit_band, b.band_order, c.state""",
        grain="customer with applications",
    ),
    Mart(
        "mart_applications_daily",
        "Applications, approvals and amount requested on every calendar day from the first application to "
        "the last (days without applications included, from dim_date).",
        f"""WITH {APPLICATIONS},
span AS (SELECT MIN(loan_application_date) AS first_day, MAX(loan_application_date) AS last_day FROM apps),
daily AS (
    SELECT loan_application_date, COUNT(*) AS applications, SUM(is_approved) AS approved,
           SUM(loan_amount) AS total_loan_amount
    FROM apps
    GROUP BY loan_application_date
)
SELECT
    d.date AS application_date,
    d.year_month,
    CAST(d.year_month || '-01' AS DATE) AS month_start,
    d.day_name,
    d.is_weekend,
    CAST(COALESCE(x.applications, 0) AS BIGINT) AS applications,
    CAST(COALESCE(x.approved, 0) AS BIGINT) AS approved,
    {money("COALESCE(x.total_loan_amount, 0)")} AS total_loan_amount
FROM dim_date d
CROSS JOIN span s
LEFT JOIN daily x ON x.loan_application_date = d.date
WHERE d.date BETWEEN s.first_day AND s.last_day""",
        grain="calendar day (first to last application)",
    ),
)
