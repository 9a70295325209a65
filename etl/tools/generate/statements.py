"""Bank statements: a year of transactions per customer with running balances."""

from __future__ import annotations

import calendar
from pathlib import Path

import numpy as np
import pyarrow as pa

from etl.contracts import (
    BANK_STATEMENTS,
)
from etl.tools.generate.applications import Applications
from etl.tools.generate.common import (
    BENCH_MONTHS,
    BENCH_START,
    Bools,
    Floats,
    Ints,
    Window,
    customer_ids,
    date_strings,
    ids,
    make_window,
    money_text,
    random_streams,
    write_header,
    write_rows,
)
from etl.tools.generate.customers import (
    EMPLOYED,
    SELF_EMPLOYED,
    CustomerTable,
    amounts_kobo,
    flow_factors,
    make_customers,
    monthly_base,
    monthly_of,
)
from etl.tools.generate.narrations import (
    BUSINESS_KIND,
    KINDS,
    RENT_KIND,
    SALARY_KIND,
    STRUCTURAL,
    build_pools,
    narrate,
)

STATEMENT_COLUMNS = BANK_STATEMENTS.names


CHANNELS = ("mobile", "ussd", "pos", "atm", "web", "branch")


def _statement_events(
    rng: np.random.Generator, people: CustomerTable, apps: Applications, window: Window
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
    base = monthly_base(income, employment)

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
    rents = (
        (people.rates[:, RENT_KIND] > 0)[:, None] & (calendar_month[None, :] == rent_month[:, None])
    ).astype(np.int64)
    rents = rents * (high > low)[None, :]
    rc, rm, ro = spread(rents)

    variable = [i for i in range(len(KINDS)) if i not in STRUCTURAL]
    shares = people.rates[:, variable]
    other = rng.poisson(shares.sum(axis=1)[:, None] * covered[None, :])
    oc, om, oo = spread(other)
    cdf = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    which = np.minimum((rng.random(len(oc))[:, None] > cdf[oc]).sum(axis=1), len(variable) - 1)
    okind = np.array(variable, dtype=np.int64)[which]

    cust = np.concatenate([sc, bc, rc, oc])
    mon = np.concatenate([sm, bm, rm, om])
    kind = np.concatenate(
        [np.full(len(sc), SALARY_KIND), np.full(len(bc), BUSINESS_KIND), np.full(len(rc), RENT_KIND), okind]
    )
    offset = np.concatenate([pay_day[sc, sm], bo, ro, oo])
    order = np.lexsort((rng.random(len(cust)), offset, cust))
    return cust[order], kind[order].astype(np.int64), offset[order], base[cust[order], mon[order]]


def _second_rows(apps: Applications) -> Bools:
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
    narration: tuple[pa.Array, pa.Array, pa.Array],  # narration, channel, merchant
    people_ids: pa.Array,
    window: Window,
    first_id: int = 1,
) -> dict[str, pa.Array]:
    return {
        "transaction_id": ids("TXN-", np.arange(first_id, first_id + len(customer)), 8),
        "customer_id": people_ids.take(pa.array(customer)),
        "transaction_date": date_strings(window.start, offset),
        "transaction_amount": money_text(amount_kobo),
        "narration": narration[0],
        "balance": money_text(balance_kobo),
        "channel": narration[1],
        "merchant": narration[2],
    }


def bank_statement_table(
    rng: np.random.Generator, people: CustomerTable, apps: Applications, people_ids: pa.Array, window: Window
) -> dict[str, pa.Array]:
    customer, kind, offset, monthly = _statement_events(rng, people, apps, window)
    amount = amounts_kobo(rng, kind, monthly, flow_factors(people)[customer, kind])
    opening = np.round(people.opening * 100).astype(np.int64)
    balance = _running_balance(customer, amount, opening)
    pools = build_pools(window.month_starts)
    narration = narrate(rng, pools, kind, window.month_of(offset), people.employer[customer])
    return _statement_columns(customer, offset, amount, balance, narration, people_ids, window)


def generate_bank_statements_file(
    path: Path, *, rows: int, customers: int, seed: int = 42, chunk_rows: int = 250_000, first_id: int = 1
) -> int:
    """Stream a bank_statements CSV of exactly `rows` rows for `customers` customers, in bounded memory.

    Rows are grouped by customer in date order with a running balance carried across chunks. Each row's
    kind is drawn independently from the customer's mix (so salary narrations do not fall on the 25th as in
    `generate_dataset`); narrations, amounts and channels come from the same model. The output depends on
    (rows, customers, seed, chunk_rows). Customers match `generate_loan_applications_file`. Transaction ids
    count from `first_id` (a later file of new transactions starts after an earlier one's).
    """
    if rows < 0 or customers < 1 or chunk_rows < 1:
        raise ValueError(
            f"need rows >= 0, customers >= 1, chunk_rows >= 1; got {rows}, {customers}, {chunk_rows}"
        )
    streams = random_streams(seed)
    window = make_window(BENCH_START, BENCH_MONTHS)
    people = make_customers(streams["customers"], customers)
    people_ids = customer_ids(customers)
    pools = build_pools(window.month_starts)
    weights = people.rates.sum(axis=1)
    counts = streams["statements"].multinomial(rows, weights / weights.sum()).astype(np.int64)
    ends = np.cumsum(counts)
    begins = ends - counts
    cdf = np.cumsum(people.rates / weights[:, None], axis=1)
    factors = flow_factors(people)
    monthly = monthly_of(people)
    running = np.round(people.opening * 100).astype(np.int64)

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_header(out, STATEMENT_COLUMNS)
        for chunk, first in enumerate(range(0, rows, chunk_rows)):
            rng = np.random.default_rng([seed, 1, chunk])
            position = np.arange(first, min(first + chunk_rows, rows), dtype=np.int64)
            customer = np.searchsorted(ends, position, side="right").astype(np.int64)
            within = position - begins[customer]
            offset = np.floor((within + rng.random(len(position))) * window.days / counts[customer]).astype(
                np.int64
            )
            draw = rng.random(len(position))[:, None]
            kind = np.minimum((draw > cdf[customer]).sum(axis=1), len(KINDS) - 1).astype(np.int64)
            amount = amounts_kobo(rng, kind, monthly[customer], factors[customer, kind])
            balance = _running_balance(customer, amount, running)
            last = np.r_[customer[1:] != customer[:-1], True]
            running[customer[last]] = balance[last]
            narration = narrate(rng, pools, kind, window.month_of(offset), people.employer[customer])
            columns = _statement_columns(
                customer, offset, amount, balance, narration, people_ids, window, first_id=first + first_id
            )
            write_rows(out, [columns[name] for name in STATEMENT_COLUMNS])
    return rows
