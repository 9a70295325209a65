"""Deterministic synthetic credit-risk data: loan applications, bank statements and repayments as CSV.

Everything is drawn from numpy Generators seeded from one integer and built column-wise, so the same
arguments always give byte-identical files. The risk story is planted on purpose so analyses find it:
approval rises with credit score and falls with loan-to-income; missed and very late repayments are far more
common in the Poor band and at high loan-to-income; risky customers spend more than they earn and go
overdrawn; a minority bets heavily.

Files are written with a small CSV encoder on pyarrow.compute (UTF-8, header row, `\\n` endings, a field is
quoted only when it holds a comma, a double quote or a line break) because pyarrow's own writer quotes
every string.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from etl.contracts import (
    APPLICATION_STATUSES,
    BANK_STATEMENTS,
    EMPLOYMENT_STATUSES,
    LOAN_APPLICATIONS,
    REPAYMENTS,
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

APPLICATION_COLUMNS = LOAN_APPLICATIONS.names
STATEMENT_COLUMNS = BANK_STATEMENTS.names
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

_EMPLOYMENT_WEIGHTS = (0.62, 0.28, 0.10)
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
_STATE_WEIGHTS = (0.30, 0.12, 0.08, 0.08, 0.07, 0.05, 0.06, 0.05, 0.06, 0.05, 0.04, 0.04)
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
CHANNELS = ("mobile", "ussd", "pos", "atm", "web", "branch")

MIN_LOAN, MAX_LOAN = 50_000, 5_000_000  # NGN
MIN_RATE, MAX_RATE = 12.50, 35.00  # percent a year

SOURCE_FOLDERS = ("loan_applications", "bank_statements", "repayments")


# --------------------------------------------------------------------------------------------- customers


@dataclass(frozen=True)
class _Customers:
    """One row per customer, in customer-number order; attributes as of the first application."""

    employment: Ints
    income: Floats  # NGN a year, whole naira
    state: Ints
    score: Ints
    employer: Ints  # index into the salary narration variants
    opening: Floats  # NGN
    spend_ratio: Floats  # expected debits / credits: above 1 drifts overdrawn
    rates: Floats  # (customers, kinds): expected transactions a month


def _incomes(rng: np.random.Generator, employment: Ints) -> Floats:
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


def _make_customers(rng: np.random.Generator, n: int) -> _Customers:
    employment = rng.choice(3, size=n, p=_EMPLOYMENT_WEIGHTS).astype(np.int64)
    income = _incomes(rng, employment)
    state = rng.choice(len(STATES), size=n, p=_STATE_WEIGHTS).astype(np.int64)
    score = _scores(rng, employment, income)
    risk = _risk(score)
    monthly = _monthly_base(income, employment)
    rates = _transaction_rates(rng, employment, risk)
    # savers hold a buffer and put the year's rent aside; risky customers hold little and overspend
    renter = rates[:, _RENT] > 0
    opening = np.round(monthly * (rng.uniform(1.5, 4.0, n) * (1 - 0.7 * risk) + 3.5 * renter * (1 - risk)), 2)
    spend_ratio = 0.8 + 0.55 * risk + 0.03 * rng.standard_normal(n)
    employer = rng.integers(0, _SALARY_VARIANTS, n)
    return _Customers(employment, income, state, score, employer, opening, spend_ratio, rates)


def _monthly_base(income: Floats, employment: Ints) -> Floats:
    """Monthly money that drives transaction sizes; the unemployed still live on family transfers."""
    floor = np.where(employment == UNEMPLOYED, 25_000.0, 30_000.0)
    return np.asarray(np.maximum(income / 12.0, floor), dtype=np.float64)


# ------------------------------------------------------------------------------------ transaction kinds


@dataclass(frozen=True)
class _Kind:
    name: str
    category: str  # what etl.normalize.categories must map the narration to
    sign: int  # +1 credit, -1 debit
    scale: float  # median amount as a fraction of the monthly base
    sigma: float  # lognormal spread
    unit: int  # rounding unit in kobo
    templates: tuple[str, ...]  # "channel|narration template"


_NAMES = (
    "ADEBAYO OLUWASEUN",
    "CHUKWUEMEKA OKAFOR",
    "NGOZI EZE",
    "AISHA BELLO",
    "IBRAHIM MUSA",
    "FUNMILAYO OGUNLEYE",
    "EMEKA NWOSU",
    "TUNDE ADEWALE",
    "BLESSING ETIM",
    "CHIDINMA OKONKWO",
    "YUSUF ABUBAKAR",
    "HALIMA DANJUMA",
    "IFEOMA IBEKWE",
    "SEGUN LAWAL",
    "KEMI OYELARAN",
    "UCHE BASSEY",
    "ADÉBÁYỌ̀ ỌLÁWÁLÉ",
    "ỌLỌ́RUNFẸ́MI ÀDÌSÁ",
    "ZAINAB ABDULLAHI",
    "DAVID OKON",
)
_BANKS = (
    "GTB",
    "ZENITH",
    "ACCESS",
    "UBA",
    "FIRSTBANK",
    "FIDELITY",
    "FCMB",
    "STERLING",
    "WEMA",
    "KUDA",
    "OPAY",
)
_AREAS = (
    "IKEJA",
    "LEKKI",
    "SURULERE",
    "YABA",
    "WUSE II",
    "GARKI",
    "GRA PH",
    "BODIJA IBADAN",
    "ENUGU",
    "KANO",
)
_MERCHANTS = (
    "SHOPRITE IKEJA CITY MALL",
    "SPAR LEKKI",
    "CHICKEN REPUBLIC SURULERE",
    "MAMA CASS, VICTORIA ISLAND",
    '"BUKKA HUT" LEKKI PHASE 1',
    "CAFÉ NEO VI",
    "ÈKÓ HOTELS AND SUITES",
    "MEDPLUS PHARMACY",
    "HUBMART IKOYI",
    "PRINCE EBEANO, LEKKI",
    "FILMHOUSE CINEMAS",
    "DOMINOS PIZZA YABA",
    "JUSTRITE SUPERMARKET",
    "SLOT SYSTEMS",
)
_ONLINE = ("JUMIA ONLINE", "KONGA.COM", "JIJI NG", "NETFLIX.COM", "UBER *TRIP", "BOLT.EU")
_FUEL = (
    "TOTAL FILLING STATION LEKKI",
    "TOTALENERGIES ADMIRALTY WAY",
    "MOBIL OIL AJAH",
    "CONOIL ALLEN AVENUE",
    "OANDO STATION IKOYI",
    "NNPC MEGA STATION KUBWA",
    "ARDOVA PLC PH",
    "MRS OIL APAPA",
    "ÀJÀNÍ PETROL STATION, Ọ̀YỌ́",
)
_EMPLOYERS = (
    "DANGOTE CEMENT PLC",
    "ACCESS BANK PLC",
    "LAGOS STATE GOVT",
    "MTN NIGERIA COMMUNICATIONS",
    "NESTLE NIGERIA PLC",
    "Ọ̀YỌ́ STATE GOVT",
    "FLOUR MILLS OF NIGERIA, PLC",
    "SEPLAT ENERGY",
    "ANDELA NIGERIA LTD",
    "INTERSWITCH LTD",
    "UNIVERSITY OF IBADAN",
    "JULIUS BERGER NIG PLC",
    "TOTAL ENERGIES E&P",
    "CAFÉ NEO LTD",
    "LUTH IDI-ARABA",
    "KANO STATE GOVT",
)
_SALARY_TEMPLATES = (
    ("NIP TRF SALARY {mon} {year} FRM {employer}", "web"),
    ("SALARY PAYMENT {mon} {year} - {employer}", "branch"),
    ("SAL/{mon}/{year}/{employer}", "web"),
    ("PAYROLL CREDIT {employer} {mon}{yy}", "web"),
    ("{employer} MONTHLY PAY {mon} {year}", "web"),
)
_SALARY_VARIANTS = len(_EMPLOYERS) * len(_SALARY_TEMPLATES)

# "channel|narration" templates per kind; {placeholders} are filled from the word lists above.
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "salary": tuple(f"{channel}|{template}" for template, channel in _SALARY_TEMPLATES),
    "business_in": (
        "mobile|TRF FRM {name}",
        "web|NIP/{bank}/{name}/PAYMENT FOR GOODS",
        "mobile|MOBILE TRF FRM {name}",
        "web|NIP TRF FRM {name} - SUPPLY, {area}",
        "ussd|USSD TRF FRM {name}",
    ),
    "transfer_in": (
        "mobile|TRF FRM {name}",
        "web|NIP TRF FRM {name} UPKEEP",
        "mobile|MOBILE TRF FRM {name}",
        "web|INWARD TRANSFER FROM {bank} {name}",
        "ussd|USSD TRF FRM {name}",
        "web|NIP TRF FRM {name}",
        "mobile|TRF FRM {name} - {bank}",
        "mobile|FAIRMONEY LOAN DISBURSEMENT",
    ),
    "transfer_out": (
        "mobile|NIP TRF TO {name}",
        "mobile|MOBILE TRF TO {name}",
        "ussd|USSD TRF TO {name}",
        "branch|FT {name} FAMILY SUPPORT",
        'web|NIP/{bank}/{name}/"SCHOOL FEES"',
    ),
    "pos": ("pos|POS PURCHASE {merchant}", "pos|POS/WEB PMT {merchant}", "web|WEB PAYMENT {online}"),
    "fuel": ("pos|POS PURCHASE {fuel}", "pos|POS/WEB PMT {fuel}"),
    "utilities": (
        "web|IKEDC PREPAID METER {meter}",
        "mobile|EKEDC TOKEN PURCHASE {meter}",
        "web|AEDC POSTPAID BILL {meter}",
        "mobile|PHED ELECTRICITY PAYMENT",
        "web|DSTV SUBSCRIPTION COMPACT",
        "mobile|GOTV MAX RENEWAL",
        "ussd|STARTIMES NOVA",
        "web|LAWMA BILL PAYMENT",
        "branch|LAGOS WATER BOARD",
    ),
    "airtime": (
        "mobile|MTN AIRTIME VTU {phone}",
        "mobile|AIRTEL DATA BUNDLE {phone}",
        "ussd|GLO RECHARGE {phone}",
        "ussd|9MOBILE AIRTIME {phone}",
        "ussd|USSD AIRTIME PURCHASE {phone}",
    ),
    "atm": (
        "atm|ATM WDL {bank} ATM {area}",
        "atm|ATM WITHDRAWAL {bank} {area}",
        "atm|CASH WDL {area}",
        "pos|POS CASH WDL MONIEPOINT AGENT {area}",
    ),
    "betting_out": (
        "mobile|NIP TRF TO BET9JA",
        "mobile|SPORTYBET WALLET FUNDING",
        "web|POS/WEB PMT NAIRABET",
        "web|1XBET DEPOSIT",
        "mobile|BETKING ONLINE",
        "ussd|MERRYBET TOPUP",
        "web|BETWAY NG DEPOSIT",
    ),
    "betting_in": ("mobile|BET9JA WINNINGS", "mobile|SPORTYBET WITHDRAWAL", "web|BETKING PAYOUT"),
    "loan_repayment": (
        "mobile|CARBON LOAN REPAYMENT",
        "mobile|FAIRMONEY REPAYMENT",
        "mobile|PALMCREDIT DIRECT DEBIT",
        "mobile|BRANCH INTL LOAN REPAY",
        "web|RENMONEY LOAN REPAYMENT",
        "web|DIRECT DEBIT LOAN {ref}",
        "web|NIP TRF LOAN REPAYMENT TO LAPO MFB",
    ),
    "rent": (
        "mobile|NIP TRF TO LANDLORD {name}",
        "branch|HOUSE RENT {year}/{next_year}",
        "web|RENT PAYMENT - FLAT {flat}, {area}",
        "mobile|MOBILE TRF TO {name} HOUSE RENT",
    ),
    "fee": (
        "branch|SMS ALERT CHARGES",
        "branch|STAMP DUTY",
        "branch|ACCOUNT MAINTENANCE FEE",
        "branch|VAT ON SMS ALERT",
        "branch|CARD ISSUANCE FEE",
    ),
    "other_in": ("branch|CASH DEPOSIT {area} BRANCH", "branch|INTEREST CREDIT", "branch|CHEQUE DEPOSIT"),
}

# name, category the narration must get, sign, median as a share of the monthly base, spread, unit (kobo)
_KINDS: tuple[_Kind, ...] = tuple(
    _Kind(name, category, sign, scale, sigma, unit, _TEMPLATES[name])
    for name, category, sign, scale, sigma, unit in (
        ("salary", "salary", 1, 1.0, 0.0, 1),
        ("business_in", "transfer", 1, 0.6, 0.6, 5_000),
        ("transfer_in", "transfer", 1, 0.08, 0.7, 10_000),
        ("transfer_out", "transfer", -1, 0.10, 0.6, 10_000),
        ("pos", "pos", -1, 0.03, 0.7, 1),
        ("fuel", "fuel", -1, 0.035, 0.5, 1),
        ("utilities", "utilities", -1, 0.03, 0.6, 10_000),
        ("airtime", "airtime", -1, 0.0, 0.0, 1),  # fixed top-up amounts
        ("atm", "atm", -1, 0.05, 0.5, 100_000),
        ("betting_out", "betting", -1, 0.02, 0.8, 10_000),
        ("betting_in", "betting", 1, 0.05, 1.2, 100),
        ("loan_repayment", "loan_repayment", -1, 0.08, 0.4, 1),
        ("rent", "rent", -1, 2.6, 0.3, 1_000_000),  # a year's rent, paid once a year
        ("fee", "other", -1, 0.0, 0.0, 1),  # fixed bank charges
        ("other_in", "other", 1, 0.04, 1.0, 1),
    )
)
_KIND = {k.name: i for i, k in enumerate(_KINDS)}
_SIGN = np.array([k.sign for k in _KINDS], dtype=np.int64)
_AIRTIME_NAIRA = np.array([100, 200, 500, 1_000, 1_500, 2_000, 5_000], dtype=np.int64)
_FEE_KOBO = np.array([400, 698, 1_075, 2_688, 5_000, 5_250, 10_000, 107_500], dtype=np.int64)
_FIXED = (_KIND["airtime"], _KIND["fee"])
_SALARY, _BUSINESS, _RENT = _KIND["salary"], _KIND["business_in"], _KIND["rent"]
_STRUCTURAL = (_SALARY, _BUSINESS, _RENT)
_POOL_SIZE = 48  # narrations per non-salary kind


def _transaction_rates(rng: np.random.Generator, employment: Ints, risk: Floats) -> Floats:
    """Expected transactions a month per customer and kind (20-60 a month in life, scaled down ~15x)."""
    n = len(employment)
    rates = np.zeros((n, len(_KINDS)))
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
        rates[:, _KIND[name]] = volume * share / total
    rates[:, _SALARY] = employment == EMPLOYED
    rates[:, _BUSINESS] = np.where(employment == SELF_EMPLOYED, 1.5, 0.0)
    renter = rng.random(n) < 0.55
    rates[:, _RENT] = np.where(renter, 1.0 / 12.0, 0.0)
    return rates


def _flow_factors(customers: _Customers) -> Floats:
    """(customers, kinds) scale on amounts so that, in expectation, a month brings in at least the monthly
    base (family transfers stand in for a missing salary) and debits = spend_ratio x credits."""
    monthly = _monthly_of(customers)
    scale = np.array([k.scale * np.exp(k.sigma**2 / 2) for k in _KINDS])
    expected = customers.rates * scale  # per month, in units of the monthly base
    expected[:, _KIND["airtime"]] = customers.rates[:, _KIND["airtime"]] * 1_500.0 / monthly
    expected[:, _KIND["fee"]] = customers.rates[:, _KIND["fee"]] * 200.0 / monthly
    earned = expected[:, [_SALARY, _BUSINESS]].sum(axis=1)
    credit = expected[:, _SIGN > 0].sum(axis=1)
    other_credit = credit - earned
    credit_factor = np.clip((1.0 - earned) / np.maximum(other_credit, 1e-9), 1.0, 50.0)
    credit = earned + other_credit * credit_factor
    fixed = expected[:, [*_FIXED, _RENT]].sum(axis=1)
    variable = expected[:, _SIGN < 0].sum(axis=1) - fixed
    debit_factor = np.clip((customers.spend_ratio * credit - fixed) / np.maximum(variable, 1e-9), 0.05, 6.0)
    factors = np.where(_SIGN[None, :] > 0, credit_factor[:, None], debit_factor[:, None])
    factors[:, [_SALARY, _BUSINESS, _RENT, *_FIXED]] = 1.0
    return np.asarray(factors, dtype=np.float64)


def _monthly_of(customers: _Customers) -> Floats:
    return _monthly_base(customers.income, customers.employment)


def _amounts_kobo(rng: np.random.Generator, kind: Ints, monthly: Floats, factor: Floats) -> Ints:
    """Signed transaction amounts in kobo, never zero."""
    n = len(kind)
    scale = np.array([k.scale for k in _KINDS])[kind]
    sigma = np.array([k.sigma for k in _KINDS])[kind]
    unit = np.array([k.unit for k in _KINDS], dtype=np.int64)[kind]
    naira = monthly * scale * factor * np.exp(sigma * rng.standard_normal(n))
    kobo = np.maximum(np.round(naira * 100.0 / unit), 1).astype(np.int64) * unit
    airtime = kind == _KIND["airtime"]
    kobo[airtime] = _AIRTIME_NAIRA[rng.integers(0, len(_AIRTIME_NAIRA), int(airtime.sum()))] * 100
    fee = kind == _KIND["fee"]
    kobo[fee] = _FEE_KOBO[rng.integers(0, len(_FEE_KOBO), int(fee.sum()))]
    return np.asarray(kobo * _SIGN[kind], dtype=np.int64)


# ------------------------------------------------------------------------------------------ narrations


@dataclass(frozen=True)
class _Pools:
    """Narrations and channels of every kind in one array; salary narrations are per month and variant."""

    narration: pa.Array
    channel: pa.Array
    start: Ints  # first pool index of each kind
    size: Ints  # pool entries of each kind (salary: per month)
    category_of: tuple[str, ...]  # expected category of each pool entry


def _build_pools(months: Sequence[date]) -> _Pools:
    """A few hundred narrations per kind, filled in from fixed word lists (independent of the seed)."""
    rng = np.random.default_rng(20230101)
    texts: list[str] = []
    channels: list[str] = []
    kinds: list[int] = []
    start: list[int] = []
    size: list[int] = []
    for index, kind in enumerate(_KINDS):
        start.append(len(texts))
        if index == _SALARY:
            entries = [
                (template.format(**_month_words(month), employer=employer), channel)
                for month in months
                for employer in _EMPLOYERS
                for channel, template in (t.split("|", 1) for t in kind.templates)
            ]
            size.append(_SALARY_VARIANTS)
        else:
            entries = []
            for i in range(_POOL_SIZE):
                channel, template = kind.templates[i % len(kind.templates)].split("|", 1)
                entries.append((template.format(**_fillers(rng)), channel))
            size.append(_POOL_SIZE)
        texts.extend(t for t, _ in entries)
        channels.extend(c for _, c in entries)
        kinds.extend([index] * len(entries))
    return _Pools(
        narration=pa.array(texts, pa.string()),
        channel=pa.array(channels, pa.string()),
        start=np.array(start, dtype=np.int64),
        size=np.array(size, dtype=np.int64),
        category_of=tuple(_KINDS[k].category for k in kinds),
    )


def _month_words(month: date) -> dict[str, str]:
    mon = calendar.month_abbr[month.month].upper()
    return {"mon": mon, "year": str(month.year), "yy": f"{month.year % 100:02d}"}


def _fillers(rng: np.random.Generator) -> dict[str, str]:
    def pick(options: Sequence[str]) -> str:
        return options[int(rng.integers(0, len(options)))]

    year = int(rng.integers(2022, 2026))
    return {
        "name": pick(_NAMES),
        "bank": pick(_BANKS),
        "area": pick(_AREAS),
        "merchant": pick(_MERCHANTS),
        "online": pick(_ONLINE),
        "fuel": pick(_FUEL),
        "meter": f"{int(rng.integers(10**10, 10**11))}",
        "phone": f"0{pick(('803', '806', '813', '816', '703', '802', '805', '809'))}{int(rng.integers(10**6, 10**7))}",
        "ref": f"{int(rng.integers(10**7, 10**8))}",
        "flat": str(int(rng.integers(1, 12))),
        "year": str(year),
        "next_year": str(year + 1),
    }


def _narrate(
    rng: np.random.Generator, pools: _Pools, kind: Ints, month: Ints, employer: Ints
) -> tuple[pa.Array, pa.Array]:
    """Narration and channel for each transaction: pool lookups, no per-row Python."""
    pick = np.floor(rng.random(len(kind)) * pools.size[kind]).astype(np.int64)
    salary = kind == _SALARY
    pick = np.where(salary, month * _SALARY_VARIANTS + employer, pick)
    index = pa.array(pools.start[kind] + pick)
    return pools.narration.take(index), pools.channel.take(index)


# ------------------------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class _Window:
    start: date
    end: date  # exclusive
    month_starts: tuple[date, ...]  # first day of every calendar month that overlaps the window

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def month_offsets(self) -> Ints:
        """Offset (days from start, may be negative for the first month) of each month's first day."""
        return np.array([(m - self.start).days for m in self.month_starts], dtype=np.int64)

    def month_of(self, offset: Ints) -> Ints:
        return np.asarray(np.searchsorted(self.month_offsets(), offset, side="right") - 1, dtype=np.int64)


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _window(start: date, months: int) -> _Window:
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    end = _add_months(start, months)
    first = start.replace(day=1)
    starts: list[date] = []
    while first < end:
        starts.append(first)
        first = _add_months(first, 1)
    return _Window(start, end, tuple(starts))


def _date_strings(start: date, offsets: Ints, valid: Bools | None = None) -> pa.Array:
    """ISO dates by lookup: casting date32 to string is ~20x slower than taking from a small table."""
    low = int(offsets.min()) if len(offsets) else 0
    high = int(offsets.max()) if len(offsets) else 0
    table = pa.array([(start + timedelta(days=d)).isoformat() for d in range(low, high + 1)], pa.string())
    mask = None if valid is None else ~valid
    return table.take(pa.array(offsets - low, mask=mask))


# -------------------------------------------------------------------------------------------- formats


def _money(kobo: Ints, valid: Bools | None = None) -> pa.Array:
    """Exact 2-decimal text: a float of kobo/100 is within 1e-9 of the decimal, and the cast rounds."""
    text = pc.cast(pa.array(kobo / 100.0).cast(pa.decimal128(18, 2)), pa.string())
    if valid is None:
        return text
    return pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))


def _ids(prefix: str, numbers: Ints, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _labels(labels: Sequence[str], codes: Ints) -> pa.Array:
    return pa.array(list(labels), pa.string()).take(pa.array(codes))


def _int_text(values: Ints) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


# ---------------------------------------------------------------------------------------- CSV writing

_CHUNK = 250_000


def _csv_field(column: pa.Array) -> pa.Array:
    """Quote (doubling inner quotes) only the values that hold a comma, a double quote or a line break."""
    need = pc.fill_null(pc.match_substring_regex(column, '[",\r\n]'), False)
    if not pc.any(need).as_py():
        return column
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(need, quoted, column)


def _csv_chunk(columns: Sequence[pa.Array]) -> bytes:
    """The CSV lines of a chunk of rows, each ending in "\n"."""
    fields = [_csv_field(c) for c in columns]
    lines = pc.binary_join_element_wise(*fields, ",", null_handling="replace", null_replacement="")
    # one list holding every line, joined in one call: ~5x faster than appending "\n" element-wise
    whole = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n")
    return bytes(whole[0].as_buffer()) + b"\n"


def _write_header(out: IO[bytes], header: Sequence[str]) -> None:
    out.write((",".join(header) + "\n").encode("utf-8"))


def _write_rows(out: IO[bytes], columns: Sequence[pa.Array]) -> None:
    rows = len(columns[0]) if columns else 0
    for begin in range(0, rows, _CHUNK):
        out.write(_csv_chunk([c.slice(begin, _CHUNK) for c in columns]))


def _write_csv(path: Path, header: Sequence[str], columns: dict[str, pa.Array]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        _write_header(out, header)
        _write_rows(out, [columns[name] for name in header])
    return path


# --------------------------------------------------------------------------------------- applications


@dataclass(frozen=True)
class _Applications:
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

    @property
    def loan_to_income(self) -> Floats:
        return np.asarray(
            np.clip(self.amount / 100.0 / np.maximum(self.income, 1.0), 0.05, 10.0), dtype=np.float64
        )


def _sigmoid(x: Floats) -> Floats:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def _pick_applications(
    rng: np.random.Generator, people: _Customers, window: _Window
) -> tuple[Ints, Ints, Ints, Floats, Ints, Ints]:
    """Who applies when: ~95% of customers once, a quarter of those again later, with changed details."""
    n, days = len(people.score), window.days
    applicant = rng.random(n) >= 0.05
    if n and not applicant.any():
        applicant[0] = True
    repeat = applicant & (rng.random(n) < 0.25) & (days >= 32)
    first = np.floor(rng.random(n) * np.where(repeat, days - 31, days)).astype(np.int64)
    second = first + 30 + np.floor(rng.random(n) * np.maximum(days - 30 - first, 1)).astype(np.int64)
    once, again = np.flatnonzero(applicant), np.flatnonzero(repeat)

    employment = people.employment[again]
    changed = rng.random(len(again)) < 0.3
    new_employment = np.where(changed, rng.choice(3, size=len(again), p=_EMPLOYMENT_WEIGHTS), employment)
    drifted = (
        np.round(people.income[again] * np.exp(0.05 + 0.1 * rng.standard_normal(len(again))) / 100.0) * 100.0
    )
    new_income = np.where(new_employment != employment, _incomes(rng, new_employment), drifted)
    moved = rng.random(len(again)) < 0.1
    new_state = np.where(
        moved, rng.choice(len(STATES), size=len(again), p=_STATE_WEIGHTS), people.state[again]
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


def _decide(
    rng: np.random.Generator,
    picked: tuple[Ints, Ints, Ints, Floats, Ints, Ints],
    window: _Window,
) -> _Applications:
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
    approve = _sigmoid(0.9 + 0.018 * (score - 620) - 1.3 * np.log(lti / 0.4) - 0.8 * unemployed)
    approved = ~pending & (rng.random(m) < approve)
    status = np.where(pending, 2, np.where(approved, 0, 1)).astype(np.int64)
    decision = np.where(pending, -1, offset + rng.integers(0, 15, m)).astype(np.int64)
    return _Applications(
        customer, offset, employment, income, state, score, amount, term, rate_bp, purpose, status, decision
    )


def _application_columns(apps: _Applications, people_ids: pa.Array, window: _Window) -> dict[str, pa.Array]:
    decided = apps.decision >= 0
    return {
        "application_id": _ids("APP-", np.arange(1, len(apps.customer) + 1), 6),
        "customer_id": people_ids.take(pa.array(apps.customer)),
        "loan_amount": _money(apps.amount),
        "loan_application_date": _date_strings(window.start, apps.offset),
        "credit_score": _int_text(apps.score),
        "employment_status": _labels(EMPLOYMENT_STATUSES, apps.employment),
        "annual_income": _money(np.round(apps.income * 100).astype(np.int64)),
        "loan_term_months": _int_text(apps.term),
        "interest_rate": _money(apps.rate_bp),
        "loan_purpose": _labels(LOAN_PURPOSES, apps.purpose),
        "state": _labels(STATES, apps.state),
        "application_status": _labels(APPLICATION_STATUSES, apps.status),
        "decision_date": _date_strings(window.start, np.where(decided, apps.decision, apps.offset), decided),
    }


# ----------------------------------------------------------------------------------------- repayments


def _repayment_columns(
    rng: np.random.Generator, apps: _Applications, app_ids: pa.Array, people_ids: pa.Array, window: _Window
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
    hazard = _sigmoid(
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
        "repayment_id": _ids("RPY-", np.arange(1, n + 1), 7),
        "application_id": app_ids.take(app_rows),
        "customer_id": people_ids.take(pa.array(apps.customer[loans][loan])),
        "due_date": _date_strings(window.start, due_offset),
        "amount_due": _money(due_kobo),
        "paid_date": _date_strings(window.start, np.where(paid, paid_offset, due_offset), paid),
        "amount_paid": _money(paid_kobo.astype(np.int64), paid),
    }


# ------------------------------------------------------------------------------------- bank statements


def _statement_events(
    rng: np.random.Generator, people: _Customers, apps: _Applications, window: _Window
) -> tuple[Ints, Ints, Ints, Floats]:
    """(customer, kind, day offset, monthly base) of every transaction, sorted by customer and date.

    Salary arrives around the 25th for whoever is employed that month (a second application can change
    that); the self-employed get irregular inflows; renters pay a year's rent once a year.
    """
    n, days = len(people.score), window.days
    months = window.month_offsets()
    lengths = np.array([calendar.monthrange(m.year, m.month)[1] for m in window.month_starts], dtype=np.int64)
    low, high = np.maximum(months, 0), np.minimum(months + lengths, days)
    covered = (high - low) / lengths

    employment = np.repeat(people.employment[:, None], len(months), axis=1)
    income = np.repeat(people.income[:, None], len(months), axis=1)
    again = np.flatnonzero(_second_rows(apps))
    later = months[None, :] >= apps.offset[again][:, None]
    employment[apps.customer[again]] = np.where(
        later, apps.employment[again][:, None], employment[apps.customer[again]]
    )
    income[apps.customer[again]] = np.where(later, apps.income[again][:, None], income[apps.customer[again]])
    base = _monthly_base(income, employment)

    pay_day = months[None, :] + 24 + rng.integers(-2, 3, (n, len(months)))
    regular = np.where(rng.random(n) < 0.15, 0.8, 0.99)
    salaried = (
        (employment == EMPLOYED)
        & (pay_day >= 0)
        & (pay_day < days)
        & (rng.random((n, len(months))) < regular[:, None])
    )
    sc, sm = np.nonzero(salaried)

    def spread(counts: Ints) -> tuple[Ints, Ints, Ints]:
        cust, mon = np.nonzero(counts)
        reps = counts[cust, mon]
        cust, mon = np.repeat(cust, reps), np.repeat(mon, reps)
        offset = low[mon] + np.floor(rng.random(len(cust)) * (high - low)[mon]).astype(np.int64)
        return cust, mon, offset

    business = rng.poisson(1.5 * covered[None, :] * (employment == SELF_EMPLOYED))
    bc, bm, bo = spread(business)
    rent_month = rng.integers(0, 12, n)
    calendar_month = np.array([m.month - 1 for m in window.month_starts])
    rents = ((people.rates[:, _RENT] > 0)[:, None] & (calendar_month[None, :] == rent_month[:, None])).astype(
        np.int64
    )
    rents = rents * (high > low)[None, :]
    rc, rm, ro = spread(rents)

    variable = [i for i in range(len(_KINDS)) if i not in _STRUCTURAL]
    shares = people.rates[:, variable]
    other = rng.poisson(shares.sum(axis=1)[:, None] * covered[None, :])
    oc, om, oo = spread(other)
    cdf = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    which = np.minimum((rng.random(len(oc))[:, None] > cdf[oc]).sum(axis=1), len(variable) - 1)
    okind = np.array(variable, dtype=np.int64)[which]

    cust = np.concatenate([sc, bc, rc, oc])
    mon = np.concatenate([sm, bm, rm, om])
    kind = np.concatenate(
        [np.full(len(sc), _SALARY), np.full(len(bc), _BUSINESS), np.full(len(rc), _RENT), okind]
    )
    offset = np.concatenate([pay_day[sc, sm], bo, ro, oo])
    order = np.lexsort((rng.random(len(cust)), offset, cust))
    return cust[order], kind[order].astype(np.int64), offset[order], base[cust[order], mon[order]]


def _second_rows(apps: _Applications) -> Bools:
    """Rows of applications that are a customer's second (later) one."""
    order = np.lexsort((apps.offset, apps.customer))
    later = np.zeros(len(apps.customer), dtype=np.bool_)
    sorted_cust = apps.customer[order]
    later[order[1:]] = sorted_cust[1:] == sorted_cust[:-1]
    return later


def _running_balance(customer: Ints, amount: Ints, opening: Ints) -> Ints:
    """Balance after each transaction; rows are grouped by customer, in date order within one."""
    total = np.cumsum(amount)
    first = np.searchsorted(customer, customer, side="left")
    return np.asarray(opening[customer] + total - total[first] + amount[first], dtype=np.int64)


def _statement_columns(
    customer: Ints,
    offset: Ints,
    amount_kobo: Ints,
    balance_kobo: Ints,
    narration: tuple[pa.Array, pa.Array],
    people_ids: pa.Array,
    window: _Window,
    first_id: int = 1,
) -> dict[str, pa.Array]:
    return {
        "transaction_id": _ids("TXN-", np.arange(first_id, first_id + len(customer)), 8),
        "customer_id": people_ids.take(pa.array(customer)),
        "transaction_date": _date_strings(window.start, offset),
        "transaction_amount": _money(amount_kobo),
        "narration": narration[0],
        "balance": _money(balance_kobo),
        "channel": narration[1],
    }


# ---------------------------------------------------------------------------------------- dirty rows

DIRTY_KINDS = ("empty", "unparseable", "bad_date", "out_of_range", "unknown_enum", "overflow", "duplicate")
UNPARSEABLE = "12,3x"
BAD_DATES = ("2023-02-30", "31/12/2023")
OVERFLOW = "12345678901234567890.00"


@dataclass(frozen=True)
class _DirtySpec:
    key: str
    empty: tuple[str, ...]
    numbers: tuple[str, ...]
    dates: tuple[str, ...]
    out_of_range: tuple[tuple[str, str], ...]
    enums: tuple[tuple[str, str], ...]
    money: tuple[str, ...]

    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in DIRTY_KINDS if k != "unknown_enum" or self.enums)


_DIRTY: dict[str, _DirtySpec] = {
    "loan_applications": _DirtySpec(
        key=LOAN_APPLICATIONS.key,
        empty=(
            "customer_id",
            "loan_amount",
            "loan_application_date",
            "credit_score",
            "employment_status",
            "annual_income",
        ),
        numbers=("loan_amount", "credit_score", "annual_income"),
        dates=("loan_application_date",),
        out_of_range=(("credit_score", "900"), ("loan_amount", "-5.00"), ("annual_income", "-1.00")),
        enums=(("employment_status", "Retired"),),
        money=("loan_amount", "annual_income"),
    ),
    "bank_statements": _DirtySpec(
        key=BANK_STATEMENTS.key,
        empty=("customer_id", "transaction_date", "transaction_amount", "balance"),
        numbers=("transaction_amount", "balance"),
        dates=("transaction_date",),
        out_of_range=(("transaction_amount", "0.00"),),
        enums=(),
        money=("transaction_amount", "balance"),
    ),
    "repayments": _DirtySpec(
        key=REPAYMENTS.key,
        empty=("application_id", "due_date", "amount_due"),
        numbers=("amount_due",),
        dates=("due_date",),
        out_of_range=(("amount_due", "-5.00"),),
        enums=(),
        money=("amount_due",),
    ),
}


def _make_dirty(
    rng: np.random.Generator, columns: dict[str, pa.Array], spec: _DirtySpec, rate: float
) -> dict[str, pa.Array]:
    """Spoil round(rate x rows) distinct rows, one problem each, the kinds dealt out evenly.

    A duplicate takes the id of a random earlier row and keeps its own values, so it sits later in the file.
    """
    n = len(columns[spec.key])
    count = round(rate * n)
    if count == 0:
        return columns
    kinds = spec.kinds()
    rows = np.sort(rng.choice(n, size=count, replace=False))
    dealt = rng.permutation(np.resize(np.arange(len(kinds)), count))
    duplicate = kinds.index("duplicate")
    if rows[0] == 0 and dealt[0] == duplicate:
        dealt[0] = kinds.index("empty")  # the first row has no earlier row to copy
    edits: dict[str, list[tuple[Ints, list[str | None]]]] = {}

    def edit(column: str, at: Ints, values: list[str | None]) -> None:
        edits.setdefault(column, []).append((at, values))

    for index, kind in enumerate(kinds):
        at = rows[dealt == index]
        j = np.arange(len(at))
        if kind == "duplicate":
            # copy from an earlier row that keeps its own id, so every copy really is a duplicate
            keeps = np.setdiff1d(np.arange(n), at)
            source = keeps[np.floor(rng.random(len(at)) * np.searchsorted(keeps, at)).astype(np.int64)]
            edit(spec.key, at, columns[spec.key].take(pa.array(source)).to_pylist())
            continue
        for choice in range(_choices(spec, kind)):
            picked = at[j % _choices(spec, kind) == choice]
            column, values = _dirty_values(spec, kind, choice, len(picked))
            edit(column, picked, values)
    out = dict(columns)
    for column, parts in edits.items():
        at = np.concatenate([p[0] for p in parts])
        values = [v for p in parts for v in p[1]]
        order = np.argsort(at)
        mask = np.zeros(n, dtype=np.bool_)
        mask[at] = True
        replacement = pa.array([values[i] for i in order], pa.string())
        out[column] = pc.replace_with_mask(columns[column], pa.array(mask), replacement)
    return out


def _choices(spec: _DirtySpec, kind: str) -> int:
    return {
        "empty": len(spec.empty),
        "unparseable": len(spec.numbers),
        "bad_date": len(spec.dates) * len(BAD_DATES),
        "out_of_range": len(spec.out_of_range),
        "unknown_enum": len(spec.enums),
        "overflow": len(spec.money),
    }[kind]


def _dirty_values(spec: _DirtySpec, kind: str, choice: int, count: int) -> tuple[str, list[str | None]]:
    if kind == "empty":
        return spec.empty[choice], [None] * count
    if kind == "unparseable":
        return spec.numbers[choice], [UNPARSEABLE] * count
    if kind == "bad_date":
        which, value = divmod(choice, len(BAD_DATES))
        return spec.dates[which], [BAD_DATES[value]] * count
    if kind == "out_of_range":
        name, text = spec.out_of_range[choice]
        return name, [text] * count
    if kind == "unknown_enum":
        name, text = spec.enums[choice]
        return name, [text] * count
    return spec.money[choice], [OVERFLOW] * count


# ----------------------------------------------------------------------------------------- public API


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per concern, so changing one table (or the dirt) leaves the others alone."""
    names = ("customers", "applications", "repayments", "statements", "dirty")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def _customer_ids(n: int) -> pa.Array:
    return _ids("CUST-", np.arange(1, n + 1), 6)


def generate_dataset(
    out_dir: Path,
    *,
    customers: int,
    seed: int = 42,
    dirty_rate: float = 0.0,
    start: date = date(2023, 1, 1),
    months: int = 12,
) -> dict[str, Path]:
    """Write loan_applications, bank_statements and repayments CSVs under `out_dir/<source>/`.

    `dirty_rate` of the rows of each file get exactly one problem each (see DIRTY_KINDS); every other row
    is valid. Returns the path of each file by source name.
    """
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    if not 0.0 <= dirty_rate <= 1.0:
        raise ValueError(f"dirty_rate must be between 0 and 1, got {dirty_rate}")
    streams = _streams(seed)
    window = _window(start, months)
    people = _make_customers(streams["customers"], customers)
    people_ids = _customer_ids(customers)
    apps = _decide(
        streams["applications"], _pick_applications(streams["applications"], people, window), window
    )

    tables: dict[str, dict[str, pa.Array]] = {}
    tables["loan_applications"] = _application_columns(apps, people_ids, window)
    app_ids = tables["loan_applications"]["application_id"]
    tables["bank_statements"] = _bank_statements(streams["statements"], people, apps, people_ids, window)
    tables["repayments"] = _repayment_columns(streams["repayments"], apps, app_ids, people_ids, window)

    headers = {
        "loan_applications": APPLICATION_COLUMNS,
        "bank_statements": STATEMENT_COLUMNS,
        "repayments": REPAYMENT_COLUMNS,
    }
    paths: dict[str, Path] = {}
    for source in SOURCE_FOLDERS:
        columns = _make_dirty(streams["dirty"], tables[source], _DIRTY[source], dirty_rate)
        paths[source] = _write_csv(out_dir / source / f"{source}.csv", headers[source], columns)
    return paths


def _bank_statements(
    rng: np.random.Generator, people: _Customers, apps: _Applications, people_ids: pa.Array, window: _Window
) -> dict[str, pa.Array]:
    customer, kind, offset, monthly = _statement_events(rng, people, apps, window)
    amount = _amounts_kobo(rng, kind, monthly, _flow_factors(people)[customer, kind])
    opening = np.round(people.opening * 100).astype(np.int64)
    balance = _running_balance(customer, amount, opening)
    pools = _build_pools(window.month_starts)
    narration = _narrate(rng, pools, kind, window.month_of(offset), people.employer[customer])
    return _statement_columns(customer, offset, amount, balance, narration, people_ids, window)


_BENCH_START = date(2023, 1, 1)
_BENCH_MONTHS = 12


def generate_bank_statements_file(
    path: Path, *, rows: int, customers: int, seed: int = 42, chunk_rows: int = 250_000
) -> int:
    """Stream a bank_statements CSV of exactly `rows` rows for `customers` customers, in bounded memory.

    Rows are grouped by customer in date order with a running balance carried across chunks. Each row's
    kind is drawn independently from the customer's mix (so salary narrations do not fall on the 25th as in
    `generate_dataset`); narrations, amounts and channels come from the same model. The output depends on
    (rows, customers, seed, chunk_rows). Customers match `generate_loan_applications_file`.
    """
    if rows < 0 or customers < 1 or chunk_rows < 1:
        raise ValueError(
            f"need rows >= 0, customers >= 1, chunk_rows >= 1; got {rows}, {customers}, {chunk_rows}"
        )
    streams = _streams(seed)
    window = _window(_BENCH_START, _BENCH_MONTHS)
    people = _make_customers(streams["customers"], customers)
    people_ids = _customer_ids(customers)
    pools = _build_pools(window.month_starts)
    weights = people.rates.sum(axis=1)
    counts = streams["statements"].multinomial(rows, weights / weights.sum()).astype(np.int64)
    ends = np.cumsum(counts)
    begins = ends - counts
    cdf = np.cumsum(people.rates / weights[:, None], axis=1)
    factors = _flow_factors(people)
    monthly = _monthly_of(people)
    running = np.round(people.opening * 100).astype(np.int64)

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        _write_header(out, STATEMENT_COLUMNS)
        for chunk, first in enumerate(range(0, rows, chunk_rows)):
            rng = np.random.default_rng([seed, 1, chunk])
            position = np.arange(first, min(first + chunk_rows, rows), dtype=np.int64)
            customer = np.searchsorted(ends, position, side="right").astype(np.int64)
            within = position - begins[customer]
            offset = np.floor((within + rng.random(len(position))) * window.days / counts[customer]).astype(
                np.int64
            )
            draw = rng.random(len(position))[:, None]
            kind = np.minimum((draw > cdf[customer]).sum(axis=1), len(_KINDS) - 1).astype(np.int64)
            amount = _amounts_kobo(rng, kind, monthly[customer], factors[customer, kind])
            balance = _running_balance(customer, amount, running)
            last = np.r_[customer[1:] != customer[:-1], True]
            running[customer[last]] = balance[last]
            narration = _narrate(rng, pools, kind, window.month_of(offset), people.employer[customer])
            columns = _statement_columns(
                customer, offset, amount, balance, narration, people_ids, window, first_id=first + 1
            )
            _write_rows(out, [columns[name] for name in STATEMENT_COLUMNS])
    return rows


def generate_loan_applications_file(path: Path, *, customers: int, seed: int = 42) -> int:
    """One application per customer, for the customers of `generate_bank_statements_file`; returns rows."""
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    streams = _streams(seed)
    window = _window(_BENCH_START, _BENCH_MONTHS)
    people = _make_customers(streams["customers"], customers)
    rng = streams["applications"]
    offset = np.floor(rng.random(customers) * window.days).astype(np.int64)
    picked = (np.arange(customers), offset, people.employment, people.income, people.state, people.score)
    apps = _decide(rng, picked, window)
    _write_csv(path, APPLICATION_COLUMNS, _application_columns(apps, _customer_ids(customers), window))
    return customers
