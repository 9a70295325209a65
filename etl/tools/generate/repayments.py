"""Repayment schedules of approved loans and how each instalment is paid."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from etl.tools.generate.applications import Applications
from etl.tools.generate.common import Window, date_strings, ids, money_text, sigmoid
from etl.tools.generate.customers import UNEMPLOYED

# The contract accepts columns in any order; exports usually put the customer beside the application.
REPAYMENT_COLUMNS = (
    "repayment_id",
    "application_id",
    "customer_id",
    "due_date",
    "amount_due",
    "paid_date",
    "amount_paid",
)


def repayment_columns(
    rng: np.random.Generator, apps: Applications, app_ids: pa.Array, people_ids: pa.Array, window: Window
) -> dict[str, pa.Array]:
    """Monthly instalments of approved loans that fall due inside the window, with payment behaviour.

    Each loan gets a month of default drawn from a hazard that rises steeply as the score falls and as
    loan-to-income rises; from then on instalments are mostly missed, otherwise paid very late.
    """
    loans = np.flatnonzero(apps.status == 0)
    principal = apps.amount[loans].astype(np.float64)
    monthly_rate = apps.rate_bp[loans] / 10_000.0 / 12.0
    term = apps.term[loans]
    instalment = np.round(principal * monthly_rate / (1.0 - (1.0 + monthly_rate) ** (-term))).astype(np.int64)

    start = np.datetime64(window.start, "D")
    decided = start + apps.decision[loans]
    month = decided.astype("datetime64[M]")
    day = np.minimum((decided - month.astype("datetime64[D]")).astype(np.int64), 27)
    loan = np.repeat(np.arange(len(loans)), term)
    k = np.arange(len(loan)) - np.repeat(np.cumsum(term) - term, term) + 1
    due = (month[loan] + k).astype("datetime64[D]") + day[loan]
    due_offset = (due - start).astype(np.int64)
    keep = due_offset < window.days
    loan, k, due_offset = loan[keep], k[keep], due_offset[keep]

    score = apps.score[loans]
    unemployed = apps.employment[loans] == UNEMPLOYED
    hazard = sigmoid(
        -3.55 - 0.0103 * (score - 650) + 0.8 * np.log(apps.loan_to_income[loans] / 0.4) + 0.4 * unemployed
    )
    default_at = rng.geometric(hazard)
    h = hazard[loan]
    defaulted = k >= default_at[loan]
    n = len(loan)
    missed = defaulted & (rng.random(n) < 0.8)
    late = rng.random(n) < 0.06 + 0.6 * h
    days_late = np.where(
        defaulted,
        31 + rng.integers(0, 90, n),
        np.where(late, np.minimum(rng.geometric(0.15, n), 30), rng.integers(-5, 1, n)),
    )
    paid_offset = due_offset + days_late
    # a payment made after the extract date has not happened yet
    paid = ~missed & (paid_offset < window.days)
    partial = paid & (rng.random(n) < 0.03 + 0.2 * h)
    due_kobo = instalment[loan]
    paid_kobo = np.where(partial, np.maximum(np.round(due_kobo * rng.uniform(0.3, 0.9, n)), 1), due_kobo)

    app_rows = pa.array(loans[loan])
    return {
        "repayment_id": ids("RPY-", np.arange(1, n + 1), 7),
        "application_id": app_ids.take(app_rows),
        "customer_id": people_ids.take(pa.array(apps.customer[loans][loan])),
        "due_date": date_strings(window.start, due_offset),
        "amount_due": money_text(due_kobo),
        "paid_date": date_strings(window.start, np.where(paid, paid_offset, due_offset), paid),
        "amount_paid": money_text(paid_kobo.astype(np.int64), paid),
    }
