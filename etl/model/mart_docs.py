"""What the credit-risk and screening marts' columns mean, and the definitions they rest on: the data
dictionary's text (`etl docs`), kept beside the SQL (`etl.model.mart_sql`, `etl.model.risk_marts`,
`etl.model.screening_marts`) so they change together."""

from __future__ import annotations

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "As-of date",
        "The latest payment date in the warehouse (the extract's date); today when there is none or it lies "
        "ahead. Nothing after it is known, so nothing after it is judged: an instalment due later is not "
        "missed, and the last monthly snapshot is taken on this date.",
    ),
    (
        "Paid",
        "An instalment's paid amount is amount_paid, or its amount_due when the file gives only a paid date "
        "(paid in full). The amount counts from its paid date, or from its due date when the file gives only "
        "the amount. An instalment is settled on the day its paid amount reaches amount_due; one paid in part "
        "is not settled: the rest is still owed.",
    ),
    (
        "Past due, days past due (DPD)",
        "An instalment is past due on day S when it fell due before S and was not settled by S. A loan's DPD on "
        "S are the days since the due date of its oldest past-due instalment (0 when none is). Buckets: "
        "current (0), 1-30, 31-60, 61-90, 90+ (more than 90).",
    ),
    (
        "Default",
        "A loan has defaulted by day S when one of its instalments fell due more than 90 days before S and was "
        "not settled within 90 days of its due date: it was more than 90 days past due. `is_defaulted` of "
        "the application marts (and default_rate, defaulted_loans) apply this on the as-of date; "
        "mart_loan_month applies it at each snapshot, so a loan in the 90+ bucket has defaulted, and a "
        "defaulted loan stays defaulted after a cure. An instalment paid only in part counts as unpaid (until "
        "this release a partial payment, however small, was never a default: a borrower paying a tenth of "
        "every instalment was not in default, while the same loan showed 90+ days past due).",
    ),
    (
        "Outstanding, arrears",
        "Outstanding on day S: the loan's scheduled instalments in the warehouse (its whole schedule when the "
        "extract carries it) less what was paid by S, never below 0; a loan is open while it is above 0. "
        "Arrears: the unpaid part of the instalments past due on S.",
    ),
    (
        "Portfolio at risk (PAR)",
        "PARn = outstanding of loans more than n days past due / all outstanding, on the month's snapshot; "
        "PAR1 counts loans at least 1 day past due. So PAR30 is the 31-60, 61-90 and 90+ buckets and PAR90 "
        "the 90+ bucket (the loans that meet the default rule).",
    ),
    (
        "Roll rate",
        "Of the loans open at one month end in a bucket, the share in each bucket at the next month end "
        "(a move to current from a later bucket is a cure).",
    ),
    (
        "Vintage",
        "Loans by origination month (the month of the application date). At months on book k (k = 0 is the "
        "origination month) the cumulative default rate is the share of the cohort (count, or loan amount) "
        "defaulted by that month end; the ever-30+ rate the share ever more than 30 days past due by then.",
    ),
    (
        "Collection efficiency",
        "Of the amount due in a month (instalments due by the as-of date), the share collected against "
        "those instalments, each up to its amount due: on time (paid on or before the due date) or late (by "
        "the as-of date).",
    ),
    (
        "Early payment default (EPD)",
        "A loan more than 30 days past due on one of its first three instalments (its first three due dates). "
        "The rate counts only loans whose third instalment fell due more than 30 days before the as-of date "
        "(the others cannot be judged yet).",
    ),
    (
        "KS, AUC, Gini",
        "Of the credit score against default (the as-of rule) among a quarter's loans: KS is the largest gap "
        "between the cumulative score distributions of defaulted and other loans; AUC the probability that "
        "a loan that did not default scored higher than one that did (ties count half); Gini = 2 x AUC - 1. "
        "All three are exact ratios of whole numbers (DECIMAL). Recent quarters have had little time to "
        "default, so their figures rest on few defaults.",
    ),
    (
        "Population stability index (PSI)",
        "PSI = sum over score bins of (a - e) x (ln a - ln e), where a and e are a month's and the baseline "
        "quarter's shares of applications in the bin (bins: below 500, 500-549, ..., 750-799, 800 and "
        "above), each smoothed with half an application per bin: (n + 0.5) / (N + 4.5). Below 0.1 stable, "
        "0.1-0.25 a moderate shift, from 0.25 a major shift. The baseline is the first quarter of "
        "applications, or the settings' score_baseline (ETL_SCORE_BASELINE). PSI is the one DOUBLE PRECISION "
        "figure of the marts (it needs logarithms); every other ratio and amount is an exact DECIMAL.",
    ),
    (
        "Fraud score band",
        "The application's fraud_score (0-100, higher is riskier, an optional column of loan_applications) in "
        "bands 0 to <20, 20 to <40, 40 to <60, 60 to <80 and 80 to 100 (each includes its lower bound; 100 is "
        "in the last); an application without a score is in the band 'No fraud score', so the bands add up to "
        "every application.",
    ),
    (
        "Merchant",
        "The merchant a bank-statement transaction names (an optional column of bank_statements), as loaded "
        "(trimmed, case kept). Money out at a merchant is its debits' absolute amount; transactions without a "
        "merchant form the row '(no merchant)' of mart_top_merchants, which has no rank.",
    ),
)

_SEGMENT = {
    "employment_status": "Employment status given on the application",
    "credit_band": "Credit band of the application's credit score",
    "band_order": "Sort order of credit_band (1 = Poor ... 5 = Exceptional)",
    "state": "State of residence given on the application ('(unknown)' when it has none)",
}
_BUCKETS = {
    "current": "current (0 days past due)",
    "dpd_1_30": "1-30 days past due",
    "dpd_31_60": "31-60 days past due",
    "dpd_61_90": "61-90 days past due",
    "dpd_90_plus": "more than 90 days past due",
}
_PAR = {
    "par1": "at least 1 day",
    "par30": "more than 30 days",
    "par60": "more than 60 days",
    "par90": "more than 90 days",
}

RISK_COLUMNS: dict[str, dict[str, str]] = {
    "mart_loan_month": {
        "application_id": "The loan's application",
        "customer_id": "The borrower",
        "year_month": "The snapshot's month",
        "month_end": "Last day of the snapshot's month",
        "snapshot_date": "The day the snapshot is taken: the month end, or the as-of date in its month",
        "as_of_date": "The as-of date (latest payment date in the warehouse)",
        "origination_month": "Month (yyyy-mm) of the loan's application date",
        "months_on_book": "Months from the origination month to the snapshot's month (0 in the origination month)",
        "credit_score": "Credit score on the application",
        "loan_amount": "Amount of the loan (as applied for and approved)",
        "instalments": "Instalments of the loan in the warehouse",
        "instalments_due": "Instalments due on or before the snapshot date",
        "instalments_past_due": "Instalments past due on the snapshot date (due before it, not settled by it)",
        "scheduled_total": "Sum of amount_due of all the loan's instalments",
        "scheduled_to_date": "Sum of amount_due of the instalments due by the snapshot date",
        "paid_to_date": "Amount paid by the snapshot date (see Paid)",
        "outstanding": "scheduled_total - paid_to_date, never below 0",
        "arrears": "Unpaid part of the instalments past due on the snapshot date",
        "days_past_due": "Days since the due date of the oldest instalment past due on the snapshot date (0: none)",
        "dpd_bucket": "current, 1-30, 31-60, 61-90 or 90+ (days past due)",
        "bucket_order": "Sort order of dpd_bucket (0 = current ... 4 = 90+)",
        "is_open": "1 while outstanding is above 0",
        "is_ever_30_dpd": "1 when an instalment had been more than 30 days past due by the snapshot date",
        "is_defaulted": "1 when the loan had defaulted by the snapshot date (see Default)",
    },
    "mart_portfolio_at_risk_monthly": {
        "year_month": "The snapshot's month",
        "loans": "Loans with a snapshot in the month (open or paid off)",
        "open_loans": "Loans with something outstanding",
        "outstanding": "Outstanding of the loans on the snapshot date",
        "arrears": "Arrears of the loans on the snapshot date",
        "defaulted_loans": "Loans that had defaulted by the snapshot date",
        **{f"{b}_loans": f"Loans {text}" for b, text in _BUCKETS.items()},
        **{f"{b}_outstanding": f"Outstanding of the loans {text}" for b, text in _BUCKETS.items()},
        **{f"{p}_loans": f"Loans {text} past due" for p, text in _PAR.items()},
        **{f"{p}_outstanding": f"Outstanding of the loans {text} past due" for p, text in _PAR.items()},
        **{p: f"{p}_outstanding / outstanding: {p.upper()} (null when nothing is outstanding)" for p in _PAR},
    },
    "mart_roll_rates": {
        "year_month": "The month the loans rolled into (the later snapshot)",
        "from_month": "The month they rolled from (the month before)",
        "from_bucket": "DPD bucket at the end of from_month (loans open then)",
        "from_bucket_order": "Sort order of from_bucket (0 = current ... 4 = 90+)",
        "to_bucket": "DPD bucket at the end of year_month (current after a later bucket: a cure)",
        "to_bucket_order": "Sort order of to_bucket",
        "loans": "Loans that moved from from_bucket to to_bucket",
        "outstanding": "Their outstanding at the end of from_month",
        "loan_share": "loans / the row's loans in from_bucket (same month and segment): the roll rate",
        "outstanding_share": "outstanding / the row's outstanding in from_bucket (same month and segment)",
    },
    "mart_vintage_curves": {
        "origination_month": "The cohort: month of the loans' application date",
        "origination_start": "First day of origination_month",
        "months_on_book": "Months since the origination month (0 = the origination month)",
        "loans": "Loans of the cohort (every one, from the origination month on)",
        "loan_amount": "Their loan amount",
        "defaulted_loans": "Loans of the cohort defaulted by the end of that month on book",
        "defaulted_amount": "Loan amount of those loans",
        "ever_30_dpd_loans": "Loans of the cohort ever more than 30 days past due by then",
        "ever_30_dpd_amount": "Loan amount of those loans",
        "cumulative_default_rate": "defaulted_loans / loans",
        "cumulative_default_rate_amount": "defaulted_amount / loan_amount",
        "ever_30_dpd_rate": "ever_30_dpd_loans / loans",
        "ever_30_dpd_rate_amount": "ever_30_dpd_amount / loan_amount",
    },
    "mart_collection_efficiency_monthly": {
        "year_month": "The month: instalments due in it (collections), loans originated in it (EPD)",
        "instalments_due": "Instalments due in the month, by the as-of date",
        "instalments_paid_on_time": "Of those, settled on or before their due date",
        "amount_due": "Their amount due",
        "collected_on_time": "Paid against them on or before the due date (each up to its amount due)",
        "collected_late": "Paid against them after the due date, by the as-of date (each up to its amount due)",
        "collected": "collected_on_time + collected_late",
        "collection_efficiency": "collected / amount_due",
        "on_time_efficiency": "collected_on_time / amount_due",
        "originated_loans": "Loans originated in the month",
        "epd_observed_loans": "Of those, loans whose third instalment fell due more than 30 days before the as-of date",
        "epd_loans": "Of the observed, loans more than 30 days past due on one of their first three instalments",
        "epd_rate": "epd_loans / epd_observed_loans: the early payment default rate",
    },
    "mart_score_monitoring": {
        "origination_quarter": "Quarter (yyyy-Qn) of the loans' application date",
        "quarter_start": "First day of the quarter",
        "score_decile": "Decile of the credit score among the quarter's loans (1 = lowest scores; ties by application_id)",
        "min_score": "Lowest credit score in the decile",
        "max_score": "Highest credit score in the decile",
        "loans": "Loans in the decile",
        "defaulted_loans": "Of those, defaulted by the as-of date",
        "default_rate": "defaulted_loans / loans",
        "loan_amount": "Their loan amount",
        "quarter_goods": "Loans of the quarter that did not default",
        "quarter_defaults": "Loans of the quarter that defaulted",
        "ks": "Kolmogorov-Smirnov statistic of the score against default in the quarter (exact)",
        "auc": "Area under the ROC curve of the score against default in the quarter (exact)",
        "gini": "2 x auc - 1 (exact)",
    },
    "mart_score_stability_monthly": {
        "year_month": "Month of the applications",
        "baseline_quarter": "The quarter (yyyy-Qn) whose applications are the baseline of this row",
        "is_default_baseline": "1 for the first quarter of applications, the default baseline",
        "applications": "Applications in the month",
        "baseline_applications": "Applications in the baseline quarter",
        "psi": "Population stability index of the month's scores against the baseline's (DOUBLE PRECISION)",
        "psi_status": "stable (below 0.1), moderate shift (below 0.25) or major shift",
    },
    "mart_disbursements_monthly": {
        "year_month": "Decision month (the application month when there is no decision date)",
        "approved_loans": "Approved applications (disbursed loans)",
        "disbursed_amount": "Their loan amount",
        "avg_disbursed_amount": "disbursed_amount / approved_loans",
    },
    "mart_top_applicants": {
        "customer_id": "The applicant",
        "employment_status": "The customer's current employment status (latest application)",
        "credit_band": "Credit band of the customer's latest credit score",
        "state": "The customer's current state ('(unknown)' when none was given)",
        "applications": "The customer's applications",
        "approved": "Of those, approved",
        "total_loan_amount": "Amount requested over all the customer's applications",
        "approved_amount": "Amount of the approved ones",
        "latest_application_date": "The customer's latest application date",
        "volume_rank": "Rank by total_loan_amount, largest first (ties share a rank)",
    },
    "mart_fraud_score_bands": {
        "fraud_band": "Fraud score band (see Fraud score band)",
        "fraud_band_order": "Sort order of fraud_band (1 = 0 to <20 ... 5 = 80 to 100, 6 = No fraud score)",
        "applications": "Applications in the band (0 when none)",
        "application_share": "applications / all applications",
        "approved": "Of those, approved",
        "rejected": "Of those, rejected",
        "pending": "Of those, pending",
        "total_loan_amount": "Amount the band's applications requested",
        "approved_amount": "Amount of the approved ones",
        "defaulted_amount": "Loan amount of the band's defaulted loans",
        "avg_fraud_score": "Average fraud score of the band's applications (NULL for No fraud score)",
    },
    "mart_fraud_score_monthly": {
        "fraud_band": "Fraud score band (see Fraud score band)",
        "fraud_band_order": "Sort order of fraud_band (1 = 0 to <20 ... 5 = 80 to 100, 6 = No fraud score)",
        "applications": "Applications of the row",
        "scored_applications": "Of those, with a fraud score (0 in the band No fraud score)",
        "approved": "Of those, approved",
        "rejected": "Of those, rejected",
        "pending": "Of those, pending",
        "total_loan_amount": "Amount they requested",
        "approved_amount": "Amount of the approved ones",
        "defaulted_amount": "Loan amount of the row's defaulted loans",
    },
    "mart_top_merchants": {
        "merchant": "The merchant, as loaded; '(no merchant)' for the transactions without one",
        "has_merchant": "1 for a merchant, 0 for the row '(no merchant)'",
        "transactions": "Transactions naming the merchant",
        "debit_transactions": "Of those, debits (payments)",
        "customers": "Distinct customers with a transaction naming the merchant",
        "total_spend": "Money out: the absolute amount of the debits",
        "total_income": "Money in from the merchant: the credits (refunds, reversals)",
        "avg_spend": "total_spend / debit_transactions",
        "first_transaction_date": "The first transaction naming the merchant",
        "last_transaction_date": "The last one",
        "spend_rank": "Rank by total_spend, largest first (ties share a rank); NULL for '(no merchant)'",
        "customer_rank": "Rank by customers, most first (ties share a rank); NULL for '(no merchant)'",
    },
    "mart_applications_daily": {
        "application_date": "The calendar day (every day from the first application to the last)",
        "year_month": "Month of the day",
        "day_name": "Monday ... Sunday",
        "is_weekend": "Saturday or Sunday",
        "applications": "Applications made that day (0 on a day without)",
        "approved": "Of those, approved",
        "total_loan_amount": "Amount they requested",
    },
}
for _mart in (
    "mart_loan_month",
    "mart_portfolio_at_risk_monthly",
    "mart_roll_rates",
    "mart_vintage_curves",
    "mart_collection_efficiency_monthly",
    "mart_disbursements_monthly",
    "mart_top_applicants",
    "mart_fraud_score_monthly",
):
    RISK_COLUMNS[_mart] = {**_SEGMENT, **RISK_COLUMNS[_mart]}
