"""Synthetic customers: employment, income, credit score and state, drawn so that the risk story holds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl.tools.generate.common import Floats, Ints
from etl.tools.generate.narrations import (
    AIRTIME_NAIRA,
    BUSINESS_KIND,
    FEE_KOBO,
    FIXED,
    KIND,
    KINDS,
    RENT_KIND,
    SALARY_KIND,
    SALARY_VARIANTS,
    SIGN,
)

EMPLOYMENT_WEIGHTS = (0.62, 0.28, 0.10)


EMPLOYED, SELF_EMPLOYED, UNEMPLOYED = 0, 1, 2


STATES = (
    "Lagos",
    "Abuja FCT",
    "Rivers",
    "Oyo",
    "Kano",
    "Kaduna",
    "Enugu",
    "Delta",
    "Ogun",
    "Anambra",
    "Edo",
    "Kwara",
)


STATE_WEIGHTS = (0.30, 0.12, 0.08, 0.08, 0.07, 0.05, 0.06, 0.05, 0.06, 0.05, 0.04, 0.04)


@dataclass(frozen=True)
class CustomerTable:
    """One row per customer, in customer-number order; attributes as of the first application."""

    employment: Ints
    income: Floats  # NGN a year, whole naira
    state: Ints
    score: Ints
    employer: Ints  # index into the salary narration variants
    opening: Floats  # NGN
    spend_ratio: Floats  # expected debits / credits: above 1 drifts overdrawn
    rates: Floats  # (customers, kinds): expected transactions a month


def incomes(rng: np.random.Generator, employment: Ints) -> Floats:
    medians = np.array([2_400_000.0, 1_800_000.0, 150_000.0])[employment]
    sigmas = np.array([0.65, 0.85, 0.9])[employment]
    income = medians * np.exp(sigmas * rng.standard_normal(len(employment)))
    low = np.array([600_000.0, 240_000.0, 0.0])[employment]
    high = np.array([60_000_000.0, 80_000_000.0, 1_200_000.0])[employment]
    income = np.clip(income, low, high)
    # about a quarter of the unemployed declare no income at all
    income[(employment == UNEMPLOYED) & (rng.random(len(employment)) < 0.25)] = 0.0
    return np.asarray(np.round(income / 100.0) * 100.0, dtype=np.float64)


def _scores(rng: np.random.Generator, employment: Ints, income: Floats) -> Ints:
    z = rng.standard_normal(len(employment))
    score = (
        648
        + 88 * z
        + 14 * np.log(np.maximum(income, 100_000.0) / 2_400_000.0)
        - 30 * (employment == UNEMPLOYED)
    )
    return np.asarray(np.clip(np.round(score), 300, 850), dtype=np.int64)


def _risk(score: Ints) -> Floats:
    """0 for a strong score, up to 1 for the weakest."""
    return np.asarray(np.clip((680.0 - score) / 300.0, 0.0, 1.0), dtype=np.float64)


def make_customers(rng: np.random.Generator, n: int) -> CustomerTable:
    employment = rng.choice(3, size=n, p=EMPLOYMENT_WEIGHTS).astype(np.int64)
    income = incomes(rng, employment)
    state = rng.choice(len(STATES), size=n, p=STATE_WEIGHTS).astype(np.int64)
    score = _scores(rng, employment, income)
    risk = _risk(score)
    monthly = monthly_base(income, employment)
    rates = _transaction_rates(rng, employment, risk)
    # savers hold a buffer and put the year's rent aside; risky customers hold little and overspend
    renter = rates[:, RENT_KIND] > 0
    opening = np.round(monthly * (rng.uniform(1.5, 4.0, n) * (1 - 0.7 * risk) + 3.5 * renter * (1 - risk)), 2)
    spend_ratio = 0.8 + 0.55 * risk + 0.03 * rng.standard_normal(n)
    employer = rng.integers(0, SALARY_VARIANTS, n)
    return CustomerTable(employment, income, state, score, employer, opening, spend_ratio, rates)


def monthly_base(income: Floats, employment: Ints) -> Floats:
    """Monthly money that drives transaction sizes; the unemployed still live on family transfers."""
    floor = np.where(employment == UNEMPLOYED, 25_000.0, 30_000.0)
    return np.asarray(np.maximum(income / 12.0, floor), dtype=np.float64)


def _transaction_rates(rng: np.random.Generator, employment: Ints, risk: Floats) -> Floats:
    """Expected transactions a month per customer and kind (20-60 a month in life, scaled down ~15x)."""
    n = len(employment)
    rates = np.zeros((n, len(KINDS)))
    volume = rng.uniform(1.2, 3.2, n)
    has_car = rng.random(n) < 0.4
    heavy_bettor = rng.random(n) < 0.03 + 0.12 * risk
    light_bettor = ~heavy_bettor & (rng.random(n) < 0.22)
    borrower = rng.random(n) < 0.12 + 0.35 * risk
    mix = {
        "transfer_in": np.full(n, 0.10),
        "transfer_out": np.full(n, 0.20),
        "pos": np.full(n, 0.20),
        "fuel": np.where(has_car, 0.12, 0.01),
        "utilities": np.full(n, 0.08),
        "airtime": np.full(n, 0.12),
        "atm": np.full(n, 0.10),
        "betting_out": np.where(heavy_bettor, 0.40, np.where(light_bettor, 0.04, 0.0)),
        "betting_in": np.where(heavy_bettor, 0.05, np.where(light_bettor, 0.005, 0.0)),
        "loan_repayment": np.where(borrower, 0.06, 0.0),
        "fee": np.full(n, 0.06),
        "other_in": np.full(n, 0.03),
    }
    total = sum(mix.values())
    for name, share in mix.items():
        rates[:, KIND[name]] = volume * share / total
    rates[:, SALARY_KIND] = employment == EMPLOYED
    rates[:, BUSINESS_KIND] = np.where(employment == SELF_EMPLOYED, 1.5, 0.0)
    renter = rng.random(n) < 0.55
    rates[:, RENT_KIND] = np.where(renter, 1.0 / 12.0, 0.0)
    return rates


def flow_factors(customers: CustomerTable) -> Floats:
    """(customers, kinds) scale on amounts so that, in expectation, a month brings in at least the monthly
    base (family transfers stand in for a missing salary) and debits = spend_ratio x credits."""
    monthly = monthly_of(customers)
    scale = np.array([k.scale * np.exp(k.sigma**2 / 2) for k in KINDS])
    expected = customers.rates * scale  # per month, in units of the monthly base
    expected[:, KIND["airtime"]] = customers.rates[:, KIND["airtime"]] * 1_500.0 / monthly
    expected[:, KIND["fee"]] = customers.rates[:, KIND["fee"]] * 200.0 / monthly
    earned = expected[:, [SALARY_KIND, BUSINESS_KIND]].sum(axis=1)
    credit = expected[:, SIGN > 0].sum(axis=1)
    other_credit = credit - earned
    credit_factor = np.clip((1.0 - earned) / np.maximum(other_credit, 1e-9), 1.0, 50.0)
    credit = earned + other_credit * credit_factor
    fixed = expected[:, [*FIXED, RENT_KIND]].sum(axis=1)
    variable = expected[:, SIGN < 0].sum(axis=1) - fixed
    debit_factor = np.clip((customers.spend_ratio * credit - fixed) / np.maximum(variable, 1e-9), 0.05, 6.0)
    factors = np.where(SIGN[None, :] > 0, credit_factor[:, None], debit_factor[:, None])
    factors[:, [SALARY_KIND, BUSINESS_KIND, RENT_KIND, *FIXED]] = 1.0
    return np.asarray(factors, dtype=np.float64)


def monthly_of(customers: CustomerTable) -> Floats:
    return monthly_base(customers.income, customers.employment)


def amounts_kobo(rng: np.random.Generator, kind: Ints, monthly: Floats, factor: Floats) -> Ints:
    """Signed transaction amounts in kobo, never zero."""
    n = len(kind)
    scale = np.array([k.scale for k in KINDS])[kind]
    sigma = np.array([k.sigma for k in KINDS])[kind]
    unit = np.array([k.unit for k in KINDS], dtype=np.int64)[kind]
    naira = monthly * scale * factor * np.exp(sigma * rng.standard_normal(n))
    kobo = np.maximum(np.round(naira * 100.0 / unit), 1).astype(np.int64) * unit
    airtime = kind == KIND["airtime"]
    kobo[airtime] = AIRTIME_NAIRA[rng.integers(0, len(AIRTIME_NAIRA), int(airtime.sum()))] * 100
    fee = kind == KIND["fee"]
    kobo[fee] = FEE_KOBO[rng.integers(0, len(FEE_KOBO), int(fee.sum()))]
    return np.asarray(kobo * SIGN[kind], dtype=np.int64)
