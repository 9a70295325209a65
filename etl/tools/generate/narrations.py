"""Bank-statement vocabulary: transaction kinds, their narration templates and amounts, and how often each
kind of customer makes each kind of transaction.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from etl.tools.generate.common import Ints


@dataclass(frozen=True)
class _Kind:
    name: str
    category: str  # what etl.normalize.categories must map the narration to
    sign: int  # +1 credit, -1 debit
    scale: float  # median amount as a fraction of the monthly base
    sigma: float  # lognormal spread
    unit: int  # rounding unit in kobo
    # "channel|narration template", or "channel|narration template|merchant template"
    templates: tuple[str, ...]


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


SALARY_VARIANTS = len(_EMPLOYERS) * len(_SALARY_TEMPLATES)


# "channel|narration" templates per kind; {placeholders} are filled from the word lists above. Card and web
# payments to a business name it as their merchant ("channel|narration|merchant"); transfers, cash, fees and
# the rest have none.
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
    "pos": (
        "pos|POS PURCHASE {merchant}|{merchant}",
        "pos|POS/WEB PMT {merchant}|{merchant}",
        "web|WEB PAYMENT {online}|{online}",
    ),
    "fuel": ("pos|POS PURCHASE {fuel}|{fuel}", "pos|POS/WEB PMT {fuel}|{fuel}"),
    "utilities": (
        "web|IKEDC PREPAID METER {meter}|IKEDC",
        "mobile|EKEDC TOKEN PURCHASE {meter}",
        "web|AEDC POSTPAID BILL {meter}|AEDC",
        "mobile|PHED ELECTRICITY PAYMENT",
        "web|DSTV SUBSCRIPTION COMPACT|DSTV",
        "mobile|GOTV MAX RENEWAL",
        "ussd|STARTIMES NOVA",
        "web|LAWMA BILL PAYMENT|LAWMA",
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
        "web|POS/WEB PMT NAIRABET|NAIRABET",
        "web|1XBET DEPOSIT|1XBET",
        "mobile|BETKING ONLINE",
        "ussd|MERRYBET TOPUP",
        "web|BETWAY NG DEPOSIT|BETWAY NG",
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
KINDS: tuple[_Kind, ...] = tuple(
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


KIND = {k.name: i for i, k in enumerate(KINDS)}


SIGN = np.array([k.sign for k in KINDS], dtype=np.int64)


AIRTIME_NAIRA = np.array([100, 200, 500, 1_000, 1_500, 2_000, 5_000], dtype=np.int64)


FEE_KOBO = np.array([400, 698, 1_075, 2_688, 5_000, 5_250, 10_000, 107_500], dtype=np.int64)


FIXED = (KIND["airtime"], KIND["fee"])


SALARY_KIND, BUSINESS_KIND, RENT_KIND = KIND["salary"], KIND["business_in"], KIND["rent"]


STRUCTURAL = (SALARY_KIND, BUSINESS_KIND, RENT_KIND)


_POOL_SIZE = 48  # narrations per non-salary kind


@dataclass(frozen=True)
class _Pools:
    """Narrations, channels and merchants of every kind in one array; salary narrations are per month and
    variant."""

    narration: pa.Array
    channel: pa.Array
    merchant: pa.Array  # NULL where the transaction names no merchant
    start: Ints  # first pool index of each kind
    size: Ints  # pool entries of each kind (salary: per month)
    category_of: tuple[str, ...]  # expected category of each pool entry


def build_pools(months: Sequence[date]) -> _Pools:
    """A few hundred narrations per kind, filled in from fixed word lists (independent of the seed)."""
    rng = np.random.default_rng(20230101)
    texts: list[str] = []
    channels: list[str] = []
    merchants: list[str | None] = []
    kinds: list[int] = []
    start: list[int] = []
    size: list[int] = []
    for index, kind in enumerate(KINDS):
        start.append(len(texts))
        entries: list[tuple[str, str, str | None]]
        if index == SALARY_KIND:
            entries = [
                (template.format(**_month_words(month), employer=employer), channel, None)
                for month in months
                for employer in _EMPLOYERS
                for channel, template in (t.split("|", 1) for t in kind.templates)
            ]
            size.append(SALARY_VARIANTS)
        else:
            entries = []
            for i in range(_POOL_SIZE):
                channel, template, *merchant = kind.templates[i % len(kind.templates)].split("|")
                words = _fillers(rng)
                entries.append(
                    (template.format(**words), channel, merchant[0].format(**words) if merchant else None)
                )
            size.append(_POOL_SIZE)
        texts.extend(t for t, _, _ in entries)
        channels.extend(c for _, c, _ in entries)
        merchants.extend(m for _, _, m in entries)
        kinds.extend([index] * len(entries))
    return _Pools(
        narration=pa.array(texts, pa.string()),
        channel=pa.array(channels, pa.string()),
        merchant=pa.array(merchants, pa.string()),
        start=np.array(start, dtype=np.int64),
        size=np.array(size, dtype=np.int64),
        category_of=tuple(KINDS[k].category for k in kinds),
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


def narrate(
    rng: np.random.Generator, pools: _Pools, kind: Ints, month: Ints, employer: Ints
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Narration, channel and merchant for each transaction: pool lookups, no per-row Python."""
    pick = np.floor(rng.random(len(kind)) * pools.size[kind]).astype(np.int64)
    salary = kind == SALARY_KIND
    pick = np.where(salary, month * SALARY_VARIANTS + employer, pick)
    index = pa.array(pools.start[kind] + pick)
    return pools.narration.take(index), pools.channel.take(index), pools.merchant.take(index)
