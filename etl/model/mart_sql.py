"""What the mart views share: the `Mart` record and the common table expressions the loan marts build on.

Definitions (the data dictionary repeats them, `etl docs`):
- as-of date: the latest payment date in the warehouse (the extract's date), today if there is none or it
  lies ahead. Nothing after it is known, so nothing after it is judged.
- paid: an instalment's paid amount is amount_paid, or its amount_due when only a paid date is given (a paid
  date without an amount is paid in full); the amount counts from its paid date, or from its due date when
  only the amount is given. An instalment is settled on the day its paid amount reaches amount_due; one
  paid in part is not settled (the rest is still owed).
- past due: an instalment is past due on day S when it fell due before S and was not settled by S; a
  loan's days past due (DPD) on S are the days since the due date of its oldest such instalment (0: none).
- default: a loan has defaulted by day S when one of its instalments fell due more than 90 days before S
  and was not settled within 90 days of its due date (it was more than 90 days past due). `is_defaulted`
  of the application marts is this as of the as-of date; in `mart_loan_month` it is this at each snapshot
  (once defaulted, always defaulted: a cure does not undo it).
- outstanding on day S: the loan's scheduled instalments in the warehouse (the whole schedule when the
  extract carries it) less what was paid by S, never below 0; arrears: the unpaid part of the instalments
  past due on S.
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.model.exact import count, div

UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class Mart:
    name: str
    description: str
    sql: str  # the SELECT only
    grain: str = ""


# The paid amount of an instalment (a paid date without an amount is paid in full).
_PAID = "COALESCE(r.amount_paid, CASE WHEN r.paid_date IS NOT NULL THEN r.amount_due ELSE 0 END)"

# The as-of date and one row per instalment with what was paid, from when, and when it was settled.
INSTALMENTS = f"""
as_of AS (
    SELECT LEAST(COALESCE(MAX(paid_date), CURRENT_DATE), CURRENT_DATE) AS as_of_date FROM fact_repayment
),
instalment AS (
    SELECT
        r.application_key,
        r.repayment_id,
        r.status,
        r.days_late,
        r.due_date,
        r.due_date_key,
        r.amount_due,
        {_PAID} AS amount_paid,
        COALESCE(r.paid_date, r.due_date) AS paid_on,
        CASE WHEN {_PAID} >= r.amount_due THEN COALESCE(r.paid_date, r.due_date) END AS settled_on
    FROM fact_repayment r
)"""


def past_due_more_than(days: int, on: str) -> str:
    """An instalment of `instalment i` was more than `days` past due at some point before day `on`: it fell
    due more than `days` days before `on` and was not settled within `days` days of its due date."""
    return f"i.due_date < {on} - {days} AND (i.settled_on IS NULL OR i.settled_on > i.due_date + {days})"


# One row per application with its calendar, band and repayment outcome; shared by the application marts.
APPLICATIONS = f"""{INSTALMENTS},
repayment_outcome AS (
    SELECT
        i.application_key,
        COUNT(*) AS instalments,
        {count("i.status = 'missed' AND i.due_date <= o.as_of_date")} AS missed_instalments,
        {count("i.status = 'late'")} AS late_instalments,
        MAX(COALESCE(i.days_late, 0)) AS max_days_late,
        MAX(CASE WHEN {past_due_more_than(90, "o.as_of_date")} THEN 1 ELSE 0 END) AS is_defaulted,
        SUM(i.amount_due) AS amount_due,
        SUM(i.amount_paid) AS amount_paid
    FROM instalment i
    CROSS JOIN as_of o
    GROUP BY i.application_key
),
apps AS (
    SELECT
        a.application_id,
        a.application_key,
        a.customer_key,
        cu.customer_id,
        a.loan_application_date,
        d.year_month,
        CAST(d.year AS VARCHAR(4)) || '-Q' || CAST(d.quarter AS VARCHAR(1)) AS year_quarter,
        a.decision_date_key,
        a.loan_amount,
        a.credit_score,
        b.credit_band,
        b.band_order,
        a.employment_status,
        a.annual_income,
        a.loan_to_income,
        a.loan_term_months,
        a.interest_rate,
        a.loan_purpose,
        a.fraud_score,
        COALESCE(a.state, '{UNKNOWN}') AS state,
        COALESCE(a.application_status, 'unknown') AS application_status,
        CASE WHEN a.application_status = 'approved' THEN 1 ELSE 0 END AS is_approved,
        CASE WHEN a.application_status = 'rejected' THEN 1 ELSE 0 END AS is_rejected,
        CASE WHEN a.application_status = 'pending' THEN 1 ELSE 0 END AS is_pending,
        CASE WHEN r.application_key IS NULL THEN 0 ELSE 1 END AS has_repayments,
        COALESCE(r.is_defaulted, 0) AS is_defaulted,
        COALESCE(r.instalments, 0) AS instalments,
        COALESCE(r.missed_instalments, 0) AS missed_instalments,
        COALESCE(r.late_instalments, 0) AS late_instalments,
        r.max_days_late,
        r.amount_due,
        r.amount_paid,
        CASE
            WHEN a.application_status = 'approved' AND a.interest_rate IS NOT NULL
                AND a.loan_term_months IS NOT NULL
            THEN {div("CAST(a.loan_amount AS DECIMAL(38,2)) * a.interest_rate * a.loan_term_months", "1200", places=6)}
        END AS expected_interest
    FROM fact_loan_application a
    JOIN dim_customer cu ON cu.customer_key = a.customer_key
    JOIN dim_date d ON d.date_key = a.application_date_key
    JOIN dim_credit_band b ON b.credit_band_key = a.credit_band_key
    LEFT JOIN repayment_outcome r ON r.application_key = a.application_key
)"""

# Loans: applications (loaded) with at least one instalment, with their segment and schedule; and the
# month ends of the conformed calendar.
LOANS = f"""{INSTALMENTS},
loan AS (
    SELECT
        a.application_id,
        a.application_key,
        cu.customer_id,
        a.loan_amount,
        a.credit_score,
        b.credit_band,
        b.band_order,
        a.employment_status,
        COALESCE(a.state, '{UNKNOWN}') AS state,
        d.year_month AS origination_month,
        CAST(d.year AS INTEGER) * 12 + d.month AS origination_index,
        s.first_due_date,
        s.instalments,
        s.scheduled_total
    FROM fact_loan_application a
    JOIN dim_customer cu ON cu.customer_key = a.customer_key
    JOIN dim_date d ON d.date_key = a.application_date_key
    JOIN dim_credit_band b ON b.credit_band_key = a.credit_band_key
    JOIN (
        SELECT application_key, MIN(due_date) AS first_due_date, COUNT(*) AS instalments,
               SUM(amount_due) AS scheduled_total
        FROM instalment
        GROUP BY application_key
    ) s ON s.application_key = a.application_key
),
month_end AS (
    SELECT date AS month_end, year_month, CAST(year_month || '-01' AS DATE) AS month_start,
           CAST(year AS INTEGER) * 12 + month AS month_index
    FROM dim_date
    WHERE is_month_end
)"""

_UNSETTLED_ON = "i.due_date < s.snapshot_date AND (i.settled_on IS NULL OR i.settled_on > s.snapshot_date)"
_PAID_BY = "CASE WHEN i.paid_on <= s.snapshot_date THEN i.amount_paid ELSE 0 END"

# One row per loan and month end, from the month of its first due date to the month of the as-of date; the
# snapshot of the as-of month is taken on the as-of date.
LOAN_MONTH = f"""{LOANS},
snapshot AS (
    SELECT l.application_key, m.year_month, m.month_start, m.month_end, m.month_index, o.as_of_date,
           CASE WHEN m.month_end < o.as_of_date THEN m.month_end ELSE o.as_of_date END AS snapshot_date
    FROM loan l
    CROSS JOIN as_of o
    JOIN month_end m ON m.month_end >= l.first_due_date AND m.month_start <= o.as_of_date
),
position AS (
    SELECT
        s.application_key,
        s.month_index,
        COUNT(CASE WHEN i.due_date <= s.snapshot_date THEN 1 END) AS instalments_due,
        COUNT(CASE WHEN {_UNSETTLED_ON} THEN 1 END) AS instalments_past_due,
        SUM(CASE WHEN i.due_date <= s.snapshot_date THEN i.amount_due ELSE 0 END) AS scheduled_to_date,
        SUM({_PAID_BY}) AS paid_to_date,
        SUM(CASE WHEN {_UNSETTLED_ON} THEN i.amount_due - LEAST({_PAID_BY}, i.amount_due) ELSE 0 END) AS arrears,
        MIN(CASE WHEN {_UNSETTLED_ON} THEN i.due_date END) AS oldest_past_due_date,
        MAX(CASE WHEN {past_due_more_than(30, "s.snapshot_date")} THEN 1 ELSE 0 END) AS is_ever_30_dpd,
        MAX(CASE WHEN {past_due_more_than(90, "s.snapshot_date")} THEN 1 ELSE 0 END) AS is_defaulted
    FROM snapshot s
    JOIN instalment i ON i.application_key = s.application_key
    GROUP BY s.application_key, s.month_index
),
dpd AS (
    SELECT
        s.*,
        p.instalments_due,
        p.instalments_past_due,
        p.scheduled_to_date,
        p.paid_to_date,
        p.arrears,
        p.is_ever_30_dpd,
        p.is_defaulted,
        CAST(CASE WHEN p.oldest_past_due_date IS NULL THEN 0
                  ELSE s.snapshot_date - p.oldest_past_due_date END AS INTEGER) AS days_past_due
    FROM snapshot s
    JOIN position p ON p.application_key = s.application_key AND p.month_index = s.month_index
),
loan_month AS (
    SELECT
        l.application_id,
        l.application_key,
        l.customer_id,
        d.year_month,
        d.month_start,
        d.month_end,
        d.month_index,
        d.snapshot_date,
        d.as_of_date,
        l.origination_month,
        l.origination_index,
        d.month_index - l.origination_index AS months_on_book,
        l.credit_band,
        l.band_order,
        l.employment_status,
        l.state,
        l.credit_score,
        l.loan_amount,
        l.instalments,
        d.instalments_due,
        d.instalments_past_due,
        CAST(l.scheduled_total AS DECIMAL(38,2)) AS scheduled_total,
        CAST(d.scheduled_to_date AS DECIMAL(38,2)) AS scheduled_to_date,
        CAST(d.paid_to_date AS DECIMAL(38,2)) AS paid_to_date,
        CAST(GREATEST(l.scheduled_total - d.paid_to_date, 0) AS DECIMAL(38,2)) AS outstanding,
        CAST(d.arrears AS DECIMAL(38,2)) AS arrears,
        d.days_past_due,
        CASE WHEN d.days_past_due = 0 THEN 'current'
             WHEN d.days_past_due <= 30 THEN '1-30'
             WHEN d.days_past_due <= 60 THEN '31-60'
             WHEN d.days_past_due <= 90 THEN '61-90'
             ELSE '90+' END AS dpd_bucket,
        CASE WHEN d.days_past_due = 0 THEN 0
             WHEN d.days_past_due <= 30 THEN 1
             WHEN d.days_past_due <= 60 THEN 2
             WHEN d.days_past_due <= 90 THEN 3
             ELSE 4 END AS bucket_order,
        CASE WHEN l.scheduled_total > d.paid_to_date THEN 1 ELSE 0 END AS is_open,
        d.is_ever_30_dpd,
        d.is_defaulted
    FROM dpd d
    JOIN loan l ON l.application_key = d.application_key
)"""
