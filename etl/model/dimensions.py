"""Pure builders of the dimension rows the pipeline stages itself: the calendar, credit bands and
transaction categories (customers are kept in the warehouse, from the facts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from etl.model import schema
from etl.model.keys import surrogate_key_of
from etl.normalize.categories import CategoryRule, category_table

CREDIT_BANDS: tuple[tuple[str, int, int], ...] = (
    ("Poor", 300, 579),
    ("Fair", 580, 669),
    ("Good", 670, 739),
    ("Very Good", 740, 799),
    ("Exceptional", 800, 850),
)


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


def calendar_range(days: Sequence[date], start: date | None, end: date | None) -> tuple[date, date] | None:
    """The days dim_date must hold for `days` (a file's dates): the conformed calendar.

    By default every day of the whole years the dates fall in, plus the next year (so month ends, weekends
    and the days with no activity are there, and next year's due dates join); `start` / `end` (the
    settings' calendar_start / calendar_end) fix either end instead. The range always covers `days`, so
    every fact joins its day. None when there is nothing to cover.
    """
    if not days and (start is None or end is None):
        return None
    first = start or date(min(days).year, 1, 1)
    last = end or date(max(days).year + 1, 12, 31)
    if days:
        first, last = min(first, *days), max(last, *days)
    return first, last


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
