"""Days read from a date column's bytes agree with Python's calendar, value by value."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pyarrow as pa
import pytest

from etl.contracts import BANK_STATEMENTS
from etl.normalize.dates import leading_days
from etl.normalize.validate import validate

EPOCH = date(1970, 1, 1)


def _expected(text: str | None) -> date | None:
    """The day a value's first ten characters name, by Python's own calendar (None: no real day)."""
    if text is None or len(text.encode()) < 10:
        return None
    head = text[:10]
    parts = head.split("-")
    if (
        len(parts) != 3
        or [len(p) for p in parts] != [4, 2, 2]
        or not all(p.isascii() and p.isdigit() for p in parts)
    ):
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def _days(values: pa.Array) -> list[date | None]:
    return [None if d is None else EPOCH + timedelta(days=d) for d in values.view(pa.int32()).to_pylist()]


@pytest.mark.parametrize(
    ("text", "day", "longer"),
    [
        ("2023-01-15", date(2023, 1, 15), False),
        ("2024-02-29", date(2024, 2, 29), False),
        ("2000-02-29", date(2000, 2, 29), False),
        ("1900-02-29", None, False),  # not a leap year: divisible by 100, not by 400
        ("2023-02-29", None, False),
        ("2023-04-31", None, False),
        ("2023-13-01", None, False),
        ("2023-00-10", None, False),
        ("2023-01-00", None, False),
        ("31/12/2023", None, False),
        ("2023/01/15", None, False),
        ("2023-1-15", None, False),
        ("2023-01-15 10:00", date(2023, 1, 15), True),  # the time part is the validator's to check
        ("2023-01-15T10:00:00Z", date(2023, 1, 15), True),
        ("\uff12\uff10\uff12\uff13-01-01", None, True),  # full-width digits are not ASCII digits
        ("", None, False),
        (None, None, False),
        ("1969-12-31", date(1969, 12, 31), False),
        ("9999-12-31", date(9999, 12, 31), False),
    ],
)
def test_a_values_day_and_whether_more_follows(text: str | None, day: date | None, longer: bool) -> None:
    column = pa.concat_arrays([pa.array(["2020-01-01"]), pa.array([text], pa.string())]).slice(1)  # an offset
    values, real, more = leading_days(column)
    assert _days(values) == [day] and real.tolist() == [day is not None] and more.tolist() == [longer]


def test_random_text_agrees_with_pythons_calendar() -> None:
    rng = random.Random(7)
    texts: list[str | None] = [
        "".join(rng.choice("0123456789-/ T:") for _ in range(rng.randint(8, 13))) for _ in range(20_000)
    ]
    texts += [
        f"{rng.randint(1, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}" for _ in range(20_000)
    ]
    texts += [None] * 50
    values, real, _ = leading_days(pa.array(texts, pa.string()))
    expected = [_expected(t) for t in texts]
    assert _days(values) == expected
    assert real.tolist() == [d is not None for d in expected]
    assert sum(real) > 10_000  # the sample holds many real days, not only refusals


def test_a_chunk_arrow_refuses_is_judged_value_by_value() -> None:
    dates = [
        "2023-01-15",
        "2023-02-30",
        "31/12/2023",
        "1899-12-31",
        "2023-03-01 09:30",
        "2023-03-01 25:00",
        "",
    ]
    chunk = pa.table(
        {
            "transaction_id": [f"T{i}" for i in range(len(dates))],
            "customer_id": ["C1"] * len(dates),
            "transaction_date": dates,
            "transaction_amount": ["-1.00"] * len(dates),
            "narration": ["POS"] * len(dates),
            "balance": ["1.00"] * len(dates),
            "source_row": list(range(2, 2 + len(dates))),
        }
    )
    result = validate(chunk, BANK_STATEMENTS)
    assert result.valid.column("transaction_date").to_pylist() == [date(2023, 1, 15), date(2023, 3, 1)]
    assert [(r["source_row"], r["rule"], r["reason"]) for r in result.quarantine.to_pylist()] == [
        (3, "invalid_date", "transaction_date '2023-02-30' is not a valid date (expected YYYY-MM-DD)"),
        (4, "invalid_date", "transaction_date '31/12/2023' is not a valid date (expected YYYY-MM-DD)"),
        (5, "out_of_range", "transaction_date '1899-12-31' is outside 1900-01-01..2100-12-31"),
        (7, "invalid_date", "transaction_date '2023-03-01 25:00' is not a valid date (expected YYYY-MM-DD)"),
        (8, "required", "transaction_date is empty"),
    ]
