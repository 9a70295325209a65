"""The conformed calendar: dim_date covers whole years of the data plus the next year, or a fixed range set
in the settings, and always every day a fact needs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from etl.errors import ConfigError
from etl.model.dimensions import build_dim_date, calendar_range
from etl.settings import Settings, settings_from_env
from tests.helpers import STMT_HEADER, make_env, write


def test_default_range_is_whole_years_and_the_next() -> None:
    days = [date(2023, 3, 5), date(2024, 11, 30)]
    assert calendar_range(days, None, None) == (date(2023, 1, 1), date(2025, 12, 31))
    assert calendar_range([], None, None) is None


def test_a_fixed_range_is_widened_to_every_day_of_the_data() -> None:
    start, end = date(2023, 6, 1), date(2023, 12, 31)
    assert calendar_range([date(2023, 7, 1)], start, end) == (start, end)
    assert calendar_range([date(2023, 5, 2), date(2024, 1, 3)], start, end) == (
        date(2023, 5, 2),
        date(2024, 1, 3),
    )
    assert calendar_range([], start, end) == (start, end)  # a file without dates still gets the calendar
    # one end set: the other is the default
    assert calendar_range([date(2023, 7, 1)], start, None) == (start, date(2024, 12, 31))


def test_month_ends_and_weekends() -> None:
    table = build_dim_date(date(2024, 2, 27), date(2024, 3, 2)).to_pydict()
    assert table["is_month_end"] == [False, False, True, False, False]  # 2024-02-29
    assert table["is_weekend"] == [False, False, False, False, True]  # 2024-03-02 is a Saturday
    assert table["year_month"][-1] == "2024-03"


def test_the_pipeline_loads_the_configured_range(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    write(env.data, "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C1,2023-02-01,5.00,SALARY,5.00\n")
    report = env.run(calendar_start=date(2022, 1, 1), calendar_end=date(2022, 12, 31))
    assert [f.status for f in report.files] == ["loaded"]
    # 2022 as configured, widened to the file's one day in 2023
    assert env.query("SELECT MIN(date), MAX(date), COUNT(*) FROM dim_date") == [
        (date(2022, 1, 1), date(2023, 2, 1), 365 + 32)
    ]


def test_calendar_and_baseline_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(score_baseline=" 2023-q2 ", currency="ngn").score_baseline == "2023-Q2"
    monkeypatch.setenv("ETL_CALENDAR_START", "2024-01-01")
    monkeypatch.setenv("ETL_CALENDAR_END", "2023-01-01")
    with pytest.raises(ConfigError, match="calendar_start 2024-01-01 is after calendar_end 2023-01-01"):
        settings_from_env()
    monkeypatch.delenv("ETL_CALENDAR_END")
    monkeypatch.setenv("ETL_SCORE_BASELINE", "2023Q2")
    with pytest.raises(ConfigError, match="score_baseline: '2023Q2' is not a quarter: use yyyy-Qn"):
        settings_from_env()
    monkeypatch.delenv("ETL_SCORE_BASELINE")
    monkeypatch.setenv("ETL_CURRENCY", "naira")
    with pytest.raises(ConfigError, match="currency: 'NAIRA' is not a three-letter ISO 4217 currency code"):
        settings_from_env()
