"""Loan applications: who applies, for how much and how long, and how the lender decides."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from etl.contracts import (
    APPLICATION_STATUSES,
    EMPLOYMENT_STATUSES,
    LOAN_APPLICATIONS,
)
from etl.tools.generate.common import (
    BENCH_MONTHS,
    BENCH_START,
    Floats,
    Ints,
    Window,
    customer_ids,
    date_strings,
    ids,
    int_text,
    label_array,
    make_window,
    money_text,
    random_streams,
    sigmoid,
    write_csv,
)
from etl.tools.generate.customers import (
    EMPLOYMENT_WEIGHTS,
    SELF_EMPLOYED,
    STATE_WEIGHTS,
    STATES,
    UNEMPLOYED,
    CustomerTable,
    incomes,
    make_customers,
)

APPLICATION_COLUMNS = LOAN_APPLICATIONS.names


LOAN_PURPOSES = (
    "business",
    "education",
    "medical",
    "home_improvement",
    "debt_consolidation",
    "personal",
    "vehicle",
)


_PURPOSE_WEIGHTS = (0.22, 0.12, 0.08, 0.12, 0.10, 0.28, 0.08)


LOAN_TERMS = (6, 12, 18, 24, 36)


_TERM_WEIGHTS = (0.18, 0.34, 0.16, 0.20, 0.12)


MIN_LOAN, MAX_LOAN = 50_000, 5_000_000  # NGN


MIN_RATE, MAX_RATE = 12.50, 35.00  # percent a year


FRAUD_MISSING = 0.08  # applications the fraud screening returned no score for
FRAUD_DECLINE_FROM, FRAUD_DECLINE_SHARE = 80.0, 0.5  # the lender declines half the approvals scored from 80


@dataclass(frozen=True)
class Applications:
    """One row per application, in file order (by application date)."""

    customer: Ints
    offset: Ints  # application date, days from the window start
    employment: Ints
    income: Floats
    state: Ints
    score: Ints
    amount: Ints  # kobo
    term: Ints  # months
    rate_bp: Ints  # interest rate in hundredths of a percent
    purpose: Ints
    status: Ints  # index into APPLICATION_STATUSES
    decision: Ints  # days from the window start; -1 while pending
    fraud: Floats  # fraud screening score 0-100 (2 decimals), NaN where the screening returned none

    @property
    def loan_to_income(self) -> Floats:
        return np.asarray(
            np.clip(self.amount / 100.0 / np.maximum(self.income, 1.0), 0.05, 10.0), dtype=np.float64
        )


def pick_applications(
    rng: np.random.Generator, people: CustomerTable, window: Window
) -> tuple[Ints, Ints, Ints, Floats, Ints, Ints]:
    """Who applies when: ~95% of customers once, a quarter of those again later, with changed details.

    Weaker scores apply later on average (the lender's marketing reaches further down the market as the
    window goes on), so the application score mix drifts: the PSI of later months grows.
    """
    n, days = len(people.score), window.days
    applicant = rng.random(n) >= 0.05
    if n and not applicant.any():
        applicant[0] = True
    repeat = applicant & (rng.random(n) < 0.25) & (days >= 32)
    weak = np.clip((680.0 - people.score) / 300.0, 0.0, 1.0)
    when = rng.random(n) ** (1.0 / (1.0 + 2.0 * weak))
    first = np.floor(when * np.where(repeat, days - 31, days)).astype(np.int64)
    second = first + 30 + np.floor(rng.random(n) * np.maximum(days - 30 - first, 1)).astype(np.int64)
    once, again = np.flatnonzero(applicant), np.flatnonzero(repeat)

    employment = people.employment[again]
    changed = rng.random(len(again)) < 0.3
    new_employment = np.where(changed, rng.choice(3, size=len(again), p=EMPLOYMENT_WEIGHTS), employment)
    drifted = (
        np.round(people.income[again] * np.exp(0.05 + 0.1 * rng.standard_normal(len(again))) / 100.0) * 100.0
    )
    new_income = np.where(new_employment != employment, incomes(rng, new_employment), drifted)
    moved = rng.random(len(again)) < 0.1
    new_state = np.where(
        moved, rng.choice(len(STATES), size=len(again), p=STATE_WEIGHTS), people.state[again]
    )
    new_score = np.clip(people.score[again] + np.round(20 * rng.standard_normal(len(again))), 300, 850)

    return (
        np.concatenate([once, again]),
        np.concatenate([first[once], second[again]]),
        np.concatenate([people.employment[once], new_employment]).astype(np.int64),
        np.concatenate([people.income[once], new_income]),
        np.concatenate([people.state[once], new_state]).astype(np.int64),
        np.concatenate([people.score[once], new_score]).astype(np.int64),
    )


def decide(
    rng: np.random.Generator,
    picked: tuple[Ints, Ints, Ints, Floats, Ints, Ints],
    window: Window,
) -> Applications:
    """Loan terms and the lender's decision for each picked application, sorted into file order."""
    order = np.lexsort((picked[0], picked[1]))
    customer, offset, employment = picked[0][order], picked[1][order], picked[2][order]
    income, state, score = picked[3][order], picked[4][order], picked[5][order]
    m = len(customer)
    unemployed = employment == UNEMPLOYED
    ratio = 0.35 * np.exp(0.55 * rng.standard_normal(m))
    naira = np.clip(np.round(np.maximum(income, 300_000.0) * ratio / 5_000.0) * 5_000.0, MIN_LOAN, MAX_LOAN)
    amount = (naira * 100).astype(np.int64)
    term_index = rng.choice(len(LOAN_TERMS), size=m, p=_TERM_WEIGHTS) + (naira > 1_500_000)
    term = np.array(LOAN_TERMS, dtype=np.int64)[np.minimum(term_index, len(LOAN_TERMS) - 1)]
    rate = MAX_RATE - (score - 300) / 550 * 20 + 1.2 * rng.standard_normal(m) + 2.0 * unemployed
    rate_bp = np.round(np.clip(rate, MIN_RATE, MAX_RATE) * 100).astype(np.int64)
    purpose = rng.choice(len(LOAN_PURPOSES), size=m, p=_PURPOSE_WEIGHTS)
    purpose = np.where((employment == SELF_EMPLOYED) & (rng.random(m) < 0.3), 0, purpose).astype(np.int64)

    lti = np.clip(naira / np.maximum(income, 1.0), 0.05, 10.0)
    recent = offset >= window.days - 14
    pending = rng.random(m) < np.where(recent, 0.5, 0.03)
    approve = sigmoid(0.9 + 0.018 * (score - 620) - 1.3 * np.log(lti / 0.4) - 0.8 * unemployed)
    approved = ~pending & (rng.random(m) < approve)
    status = np.where(pending, 2, np.where(approved, 0, 1)).astype(np.int64)
    decision = np.where(pending, -1, offset + rng.integers(0, 15, m)).astype(np.int64)
    fraud, status = _fraud_screening(rng, score, lti, status)
    return Applications(
        customer,
        offset,
        employment,
        income,
        state,
        score,
        amount,
        term,
        rate_bp,
        purpose,
        status,
        decision,
        fraud,
    )


def _fraud_screening(rng: np.random.Generator, score: Ints, lti: Floats, status: Ints) -> tuple[Floats, Ints]:
    """(fraud score, status after the fraud rule) of each application. Drawn after every other draw of the
    decision, so the rest of an application does not depend on it.

    Most applications score low; weaker credit and a stretched loan-to-income score a little higher, and the
    score's latent part also raises the chance of missing instalments (`repayments`), so higher bands
    default more. The lender declines half the approvals scored from FRAUD_DECLINE_FROM.
    """
    m = len(score)
    latent = rng.standard_normal(m)
    logit = -1.9 + 1.1 * latent + 0.4 * (620.0 - score) / 100.0 + 0.3 * np.log(lti / 0.4)
    fraud = np.round(100.0 * sigmoid(logit), 2)
    fraud = np.where(rng.random(m) < FRAUD_MISSING, np.nan, fraud)
    declined = (
        (status == 0) & (np.nan_to_num(fraud) >= FRAUD_DECLINE_FROM) & (rng.random(m) < FRAUD_DECLINE_SHARE)
    )
    return fraud, np.where(declined, 1, status).astype(np.int64)


def application_columns(apps: Applications, people_ids: pa.Array, window: Window) -> dict[str, pa.Array]:
    decided = apps.decision >= 0
    return {
        "application_id": ids("APP-", np.arange(1, len(apps.customer) + 1), 6),
        "customer_id": people_ids.take(pa.array(apps.customer)),
        "loan_amount": money_text(apps.amount),
        "loan_application_date": date_strings(window.start, apps.offset),
        "credit_score": int_text(apps.score),
        "employment_status": label_array(EMPLOYMENT_STATUSES, apps.employment),
        "annual_income": money_text(np.round(apps.income * 100).astype(np.int64)),
        "loan_term_months": int_text(apps.term),
        "interest_rate": money_text(apps.rate_bp),
        "loan_purpose": label_array(LOAN_PURPOSES, apps.purpose),
        "state": label_array(STATES, apps.state),
        "application_status": label_array(APPLICATION_STATUSES, apps.status),
        "decision_date": date_strings(window.start, np.where(decided, apps.decision, apps.offset), decided),
        "fraud_score": money_text(
            np.round(np.nan_to_num(apps.fraud) * 100).astype(np.int64), ~np.isnan(apps.fraud)
        ),
    }


def generate_loan_applications_file(path: Path, *, customers: int, seed: int = 42) -> int:
    """One application per customer, for the customers of `generate_bank_statements_file`; returns rows."""
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    streams = random_streams(seed)
    window = make_window(BENCH_START, BENCH_MONTHS)
    people = make_customers(streams["customers"], customers)
    rng = streams["applications"]
    offset = np.floor(rng.random(customers) * window.days).astype(np.int64)
    picked = (np.arange(customers), offset, people.employment, people.income, people.state, people.score)
    apps = decide(rng, picked, window)
    write_csv(path, APPLICATION_COLUMNS, application_columns(apps, customer_ids(customers), window))
    return customers
