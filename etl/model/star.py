"""Pure builders of star-schema rows from validated source rows (Arrow tables in, Arrow tables out)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from etl.model import schema
from etl.model.keys import surrogate_key_of, surrogate_keys
from etl.normalize.categories import CATEGORIES, CategoryRule, category_codes, category_table

CREDIT_BANDS: tuple[tuple[str, int, int], ...] = (
    ("Poor", 300, 579),
    ("Fair", 580, 669),
    ("Good", 670, 739),
    ("Very Good", 740, 799),
    ("Exceptional", 800, 850),
)
MAX_RATIO = 10**13  # DECIMAL(18,4) holds less than 10^14
_CATEGORY_NAMES = pa.array(CATEGORIES, pa.string())
_CATEGORY_KEYS = pa.array([surrogate_key_of(c) for c in CATEGORIES], pa.int64())


def _lineage(n: int, file_id: str, source_row: pa.ChunkedArray, loaded_at: datetime) -> dict[str, pa.Array]:
    return {
        "source_file_id": pa.repeat(pa.scalar(file_id, pa.string()), n),
        "source_row": source_row,
        "loaded_at": pa.repeat(pa.scalar(loaded_at, pa.timestamp("us")), n),
    }


def date_key(dates: pa.Array | pa.ChunkedArray) -> pa.Array:
    """yyyymmdd as an INTEGER (null stays null)."""
    year, month, day = pc.year(dates), pc.month(dates), pc.day(dates)
    key = pc.add(pc.add(pc.multiply(year, 10000), pc.multiply(month, 100)), day)
    return pc.cast(key, pa.int32())


def credit_band_names(scores: pa.Array | pa.ChunkedArray) -> pa.Array:
    band = pa.nulls(len(scores), pa.string())
    for name, low, high in CREDIT_BANDS:
        inside = pc.and_(pc.greater_equal(scores, low), pc.less_equal(scores, high))
        band = pc.if_else(inside, pa.scalar(name), band)
    return band


def build_dim_credit_band() -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "credit_band_key": surrogate_key_of(name),
                "credit_band": name,
                "min_score": low,
                "max_score": high,
                "band_order": i + 1,
            }
            for i, (name, low, high) in enumerate(CREDIT_BANDS)
        ],
        schema=schema.DIM_CREDIT_BAND.arrow_schema,
    )


def build_dim_transaction_category(rules: Sequence[CategoryRule]) -> pa.Table:
    cats = category_table(rules)
    keys = pa.array([surrogate_key_of(c) for c in cats.column("category").to_pylist()], pa.int64())
    return pa.table(
        {
            "category_key": keys,
            "category": cats.column("category"),
            "category_description": cats.column("category_description"),
            "display_order": pc.cast(cats.column("display_order"), pa.int16()),
        },
        schema=schema.DIM_TRANSACTION_CATEGORY.arrow_schema,
    )


def build_dim_date(first: date, last: date) -> pa.Table:
    """Every calendar day from first to last inclusive."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    dates = pa.array(days, pa.date32())
    ts = pc.cast(dates, pa.timestamp("s"))
    month = pc.month(dates)
    next_day = pc.cast(pc.add(pc.cast(dates, pa.int32()), 1), pa.int32()).cast(pa.date32())
    return pa.table(
        {
            "date_key": date_key(dates),
            "date": dates,
            "year": pc.cast(pc.year(dates), pa.int16()),
            "quarter": pc.cast(pc.quarter(dates), pa.int16()),
            "month": pc.cast(month, pa.int16()),
            "month_name": pc.strftime(ts, format="%B"),
            "year_month": pc.strftime(ts, format="%Y-%m"),
            "day": pc.cast(pc.day(dates), pa.int16()),
            "day_of_week": pc.cast(pc.day_of_week(dates, count_from_zero=False), pa.int16()),
            "day_name": pc.strftime(ts, format="%A"),
            "iso_week": pc.cast(pc.iso_week(dates), pa.int16()),
            "is_weekend": pc.greater_equal(pc.day_of_week(dates), 5),
            "is_month_end": pc.not_equal(pc.month(next_day), month),
        },
        schema=schema.DIM_DATE.arrow_schema,
    )


def build_fact_loan_application(valid: pa.Table, file_id: str, loaded_at: datetime) -> pa.Table:
    n = valid.num_rows
    income = valid.column("annual_income")
    # Exact: DECIMAL(18,2) / DECIMAL(18,2) is DECIMAL(37,19), truncated after 19 places, then rounded half
    # away from zero to 4 places, as the marts round (a float ratio made 0.50005 0.5000 and 1/32 0.0312).
    divisor = pc.if_else(pc.equal(income, 0), pa.scalar(None, income.type), income)
    ratio = pc.round(pc.divide(valid.column("loan_amount"), divisor), 4, round_mode="half_towards_infinity")
    ratio = pc.if_else(pc.greater_equal(ratio, MAX_RATIO), pa.scalar(None, ratio.type), ratio)
    band = credit_band_names(valid.column("credit_score"))
    columns = {
        "application_id": valid.column("application_id"),
        "application_key": surrogate_keys(valid.column("application_id")),
        "customer_key": surrogate_keys(valid.column("customer_id")),
        "customer_id": valid.column("customer_id"),
        "application_date_key": date_key(valid.column("loan_application_date")),
        "credit_band_key": surrogate_keys(band),
        "loan_application_date": valid.column("loan_application_date"),
        "loan_amount": valid.column("loan_amount"),
        "credit_score": valid.column("credit_score"),
        "employment_status": valid.column("employment_status"),
        "annual_income": income,
        "loan_to_income": pc.cast(ratio, schema.RATIO),
        "loan_term_months": valid.column("loan_term_months"),
        "interest_rate": valid.column("interest_rate"),
        "loan_purpose": valid.column("loan_purpose"),
        "state": valid.column("state"),
        "application_status": valid.column("application_status"),
        "decision_date": valid.column("decision_date"),
        "decision_date_key": date_key(valid.column("decision_date")),
        **_lineage(n, file_id, valid.column("source_row"), loaded_at),
    }
    return pa.table(columns, schema=schema.FACT_LOAN_APPLICATION.arrow_schema)


def build_fact_bank_transaction(
    valid: pa.Table,
    file_id: str,
    loaded_at: datetime,
    rules: Sequence[CategoryRule],
    *,
    mask_narration: bool = False,
) -> pa.Table:
    n = valid.num_rows
    amount = valid.column("transaction_amount")
    narration = valid.column("narration")
    codes = category_codes(narration, rules)
    if mask_narration:
        narration = mask_text(narration)
    columns = {
        "transaction_id": valid.column("transaction_id"),
        "customer_key": surrogate_keys(valid.column("customer_id")),
        "customer_id": valid.column("customer_id"),
        "transaction_date_key": date_key(valid.column("transaction_date")),
        "transaction_date": valid.column("transaction_date"),
        "category_key": pc.take(_CATEGORY_KEYS, codes),
        "category": pc.take(_CATEGORY_NAMES, codes),
        "transaction_amount": amount,
        "direction": pc.if_else(pc.greater(amount, pa.scalar(0, schema.MONEY)), "credit", "debit"),
        "balance": valid.column("balance"),
        "narration": narration,
        "channel": pc.utf8_lower(valid.column("channel")),
        **_lineage(n, file_id, valid.column("source_row"), loaded_at),
    }
    return pa.table(columns, schema=schema.FACT_BANK_TRANSACTION.arrow_schema)


def build_fact_repayment(valid: pa.Table, file_id: str, loaded_at: datetime) -> pa.Table:
    n = valid.num_rows
    due, paid = valid.column("due_date"), valid.column("paid_date")
    amount_due, amount_paid = valid.column("amount_due"), valid.column("amount_paid")
    days_late = pc.cast(pc.days_between(due, paid), pa.int32())
    zero = pa.scalar(0, schema.MONEY)
    # amount_paid is optional: a paid date without an amount means paid in full (the fact keeps the NULL);
    # an amount without a date is judged by the amount
    paid_amount = pc.coalesce(amount_paid, pc.if_else(pc.is_valid(paid), amount_due, zero))
    nothing = pc.less_equal(paid_amount, zero)
    partial = pc.less(paid_amount, amount_due)
    late = pc.greater(pc.fill_null(days_late, 0), 0)
    status = pc.if_else(nothing, "missed", pc.if_else(partial, "partial", pc.if_else(late, "late", "paid")))
    customer_id = valid.column("customer_id")
    columns = {
        "repayment_id": valid.column("repayment_id"),
        "application_id": valid.column("application_id"),
        "application_key": surrogate_keys(valid.column("application_id")),
        "customer_key": surrogate_keys(customer_id),
        "customer_id": customer_id,
        "due_date": due,
        "due_date_key": date_key(due),
        "paid_date": paid,
        "paid_date_key": date_key(paid),
        "amount_due": amount_due,
        "amount_paid": amount_paid,
        "days_late": pc.if_else(pc.is_null(paid), pa.scalar(None, pa.int32()), days_late),
        "status": status,
        **_lineage(n, file_id, valid.column("source_row"), loaded_at),
    }
    return pa.table(columns, schema=schema.FACT_REPAYMENT.arrow_schema)


def mask_text(text: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Keep the shape of a narration for categorisation audits, hide names and numbers: letters -> x, digits -> 9."""
    masked = pc.replace_substring_regex(text, r"\d", "9")
    return pc.replace_substring_regex(masked, r"[^\W\d_]", "x")


FACT_BUILDERS = {
    "loan_applications": build_fact_loan_application,
    "repayments": build_fact_repayment,
}
