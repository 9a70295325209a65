"""Repayment schedules of approved loans and how each borrower pays, month by month.

Every approved loan gets its whole amortised schedule (instalments due after the extract date are in the
file, unpaid: the book's outstanding). Each borrower is a small delinquency chain over the instalments:
a borrower who is current misses the next one with a monthly probability set by risk; one in arrears
either cures (pays every instalment in arrears at once, late) or misses again, and the deeper the arrears
the less often borrowers cure, so some go 30 days late and cure, some roll to 60 and 90 and default. The
first missed instalment is sometimes paid in part (a partial payment never completed unless the borrower
cures). A payment after the extract date has not happened yet.

Risk (the monthly miss probability) rises as the score falls and as loan-to-income rises, falls with
income, is higher for the unemployed and for loans decided in a bad stretch of the window (a worse
vintage); the score's weight shrinks and unexplained risk grows for loans decided later, so the score
separates good from bad less well in later quarters.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from etl.tools.generate.applications import Applications
from etl.tools.generate.common import Floats, Ints, Window, date_strings, ids, money_text, sigmoid
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

# A fraud score above the typical one raises the miss probability a little (80 vs 20: +0.6 on the logit).
FRAUD_WEIGHT, FRAUD_TYPICAL = 0.03, 20.0
BAD_VINTAGE = (0.40, 0.60)  # loans decided in this stretch of the window (as fractions of it) are riskier
UNPAID = -1


def monthly_miss_probability(
    rng: np.random.Generator, apps: Applications, loans: Ints, window: Window
) -> Floats:
    """Each loan's probability of missing an instalment while it is current."""
    score = apps.score[loans].astype(np.float64)
    decided = apps.decision[loans] / max(window.days, 1)  # 0 at the window's start, 1 at its end
    score_weight = 1.6 * (1.0 - 0.75 * decided)
    hidden = rng.standard_normal(len(loans)) * (0.1 + 1.5 * decided)
    income = np.maximum(apps.income[loans], 100_000.0)
    bad_vintage = (decided >= BAD_VINTAGE[0]) & (decided < BAD_VINTAGE[1])
    logit = (
        -3.65
        + score_weight * (650.0 - score) / 100.0
        + 0.6 * np.log(apps.loan_to_income[loans] / 0.4)
        - 0.3 * np.log(income / 2_400_000.0)
        + 0.5 * (apps.employment[loans] == UNEMPLOYED)
        + 0.75 * bad_vintage
        + FRAUD_WEIGHT * (np.nan_to_num(apps.fraud[loans], nan=FRAUD_TYPICAL) - FRAUD_TYPICAL)
        + hidden
    )
    return sigmoid(logit)


def schedule(apps: Applications, loans: Ints, window: Window) -> tuple[Ints, Ints]:
    """(due offsets as a loans x longest-term array, padded with -1; instalment in kobo) of every loan:
    the first instalment a month after the decision, on its day of the month (at most the 28th)."""
    principal = apps.amount[loans].astype(np.float64)
    monthly_rate = apps.rate_bp[loans] / 10_000.0 / 12.0
    term = apps.term[loans]
    instalment = np.round(principal * monthly_rate / (1.0 - (1.0 + monthly_rate) ** (-term))).astype(np.int64)
    start = np.datetime64(window.start, "D")
    decided = start + apps.decision[loans]
    month = decided.astype("datetime64[M]")
    day = np.minimum((decided - month.astype("datetime64[D]")).astype(np.int64), 27)
    longest = int(term.max()) if len(term) else 0
    k = np.arange(1, longest + 1)
    due = (month[:, None] + k[None, :]).astype("datetime64[D]") + day[:, None]
    offsets = (due - start).astype(np.int64)
    return np.where(k[None, :] <= term[:, None], offsets, UNPAID), instalment


def pay(rng: np.random.Generator, due: Ints, miss: Floats) -> tuple[Ints, Floats]:
    """How each instalment is paid: (paid offset or UNPAID, share of the instalment paid)."""
    n, longest = int(due.shape[0]), int(due.shape[1])
    paid = np.full((n, longest), UNPAID, dtype=np.int64)
    share = np.zeros((n, longest))
    arrears = np.zeros(n, dtype=np.int64)  # instalments in arrears (0: current)
    first = np.zeros(n, dtype=np.int64)  # the oldest instalment in arrears
    cure_base = np.clip(0.72 - 3.0 * miss, 0.2, 0.72)
    columns = np.arange(longest)[None, :]
    for k in range(longest):
        live = due[:, k] != UNPAID
        draw, when, part = rng.random(n), rng.random(n), rng.uniform(0.3, 0.9, n)
        current = live & (arrears == 0)
        misses = current & (draw < miss)
        pays = current & ~misses
        # on time, a few days early or, now and then, a few days late
        late = when < 0.05 + 3.0 * miss
        jitter = np.where(
            late, 1 + (when * 1000).astype(np.int64) % 20, -((when * 1000).astype(np.int64) % 6)
        )
        paid[pays, k] = due[pays, k] + jitter[pays]
        share[pays, k] = 1.0
        partial = misses & (when < 0.3)  # distress often starts with a part payment
        paid[partial, k] = due[partial, k] + (when[partial] * 40).astype(np.int64)
        share[partial, k] = part[partial]
        first[misses], arrears[misses] = k, 1
        # in arrears: cure (pay everything owed, late) or fall one instalment further behind
        behind = live & (arrears > 0) & ~misses
        cure_chance = np.where(arrears >= 4, 0.03, cure_base * 0.55 ** (arrears - 1))
        cures = behind & (draw < cure_chance)
        cured_on = due[:, k] - 2 + (when * 15).astype(np.int64)
        owed = cures[:, None] & (columns >= first[:, None]) & (columns <= k)
        paid = np.where(owed, cured_on[:, None], paid)
        share = np.where(owed, 1.0, share)
        arrears[cures] = 0
        arrears[behind & ~cures] += 1
    return paid, share


def repayment_columns(
    rng: np.random.Generator, apps: Applications, app_ids: pa.Array, people_ids: pa.Array, window: Window
) -> dict[str, pa.Array]:
    """Every instalment of every approved loan, with how it was paid by the end of the window."""
    loans = np.flatnonzero(apps.status == 0)
    due, instalment = schedule(apps, loans, window)
    paid, share = pay(rng, due, monthly_miss_probability(rng, apps, loans, window))
    rows = due != UNPAID
    loan = np.nonzero(rows)[0]  # row-major: each loan's instalments in due order
    due_offset, paid_offset, paid_share = due[rows], paid[rows], share[rows]
    # a payment after the extract date has not happened yet
    known = (paid_offset != UNPAID) & (paid_offset < window.days)
    due_kobo = instalment[loan]
    paid_kobo = np.where(paid_share >= 1.0, due_kobo, np.maximum(np.round(due_kobo * paid_share), 1))
    n = len(loan)
    return {
        "repayment_id": ids("RPY-", np.arange(1, n + 1), 7),
        "application_id": app_ids.take(pa.array(loans[loan])),
        "customer_id": people_ids.take(pa.array(apps.customer[loans][loan])),
        "due_date": date_strings(window.start, due_offset),
        "amount_due": money_text(due_kobo),
        "paid_date": date_strings(window.start, np.where(known, paid_offset, due_offset), known),
        "amount_paid": money_text(paid_kobo.astype(np.int64), known),
    }
