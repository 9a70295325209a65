"""Exact arithmetic in the SQL every warehouse shares: divisions, averages and ratios that never go through
DOUBLE, rendered per dialect.

Money is exact: sums and averages of money are DECIMAL(38,2) (a sum of DECIMAL(18,2) amounts does not fit
DECIMAL(18,2)), and every division (ratios, averages = SUM / COUNT, the median) goes through `div`, which
`render` turns into exact integer arithmetic rounded half away from zero for the warehouse's dialect:
DuckDB's `/` (and its AVG and PERCENTILE_CONT of DECIMAL) would go through DOUBLE, PostgreSQL's
PERCENTILE_CONT is DOUBLE and Redshift's AVG of an integer is a truncated BIGINT, so none of them is used.
"""

from __future__ import annotations

import re

from etl.model.dialect import Dialect, bytewise

# `div` leaves a placeholder in the SQL; `render` renders it for the warehouse's dialect.
_DIV = re.compile(r"\{\{div (\d+),(\d+),(\d+): (.*?) ;; (.*?)\}\}", re.DOTALL)


def div(numerator: str, denominator: str, *, places: int, scale: int = 2, precision: int = 38) -> str:
    """numerator / NULLIF(denominator, 0) as DECIMAL(precision, scale), exact and rounded half away from zero.

    `places` is the largest number of decimal places of the numerator and the denominator (0 for counts, 2
    for money; fewer would round them): both become whole numbers once scaled by 10^places, and the division
    of whole numbers is exact.
    """
    assert "{{" not in numerator + denominator and ";;" not in numerator + denominator, "nested div"
    return f"{{{{div {precision},{scale},{places}: {numerator} ;; {denominator}}}}}"


# Ties between same-day applications are broken by application_id compared byte by byte on every backend.
# Ties between same-day applications are broken by application_id compared byte by byte on every backend.
BYTEWISE_ID = "{{bytewise application_id}}"


def render(sql: str, dialect: Dialect) -> str:
    """`sql` with every `div` placeholder, and BYTEWISE_ID, rendered for `dialect`."""
    rendered = _DIV.sub(lambda match: _render_div(match, dialect), sql)
    return rendered.replace(BYTEWISE_ID, bytewise("application_id", dialect))


def _render_div(match: re.Match[str], dialect: Dialect) -> str:
    precision, scale, places = (int(g) for g in match.group(1, 2, 3))
    # Whole numbers: DuckDB's HUGEINT (its `/` and `//` of DECIMAL are DOUBLE; `//` of integers truncates),
    # elsewhere DECIMAL(38,0), exact in PostgreSQL's numeric and Redshift's DECIMAL.
    whole = "HUGEINT" if dialect == "duckdb" else "DECIMAL(38,0)"
    n = f"CAST(CAST({match.group(4)} AS DECIMAL(38,{places})) * 1{'0' * (places + scale)} AS {whole})"
    d = f"CAST(CAST(NULLIF({match.group(5)}, 0) AS DECIMAL(38,{places})) * 1{'0' * places} AS {whole})"
    # round(n / d) = sign(n) * sign(d) * floor((2|n| + |d|) / (2|d|)), a division of non-negative integers
    a, b = f"(2 * ABS({n}) + ABS({d}))", f"(2 * ABS({d}))"
    # DuckDB: `//` truncates; PostgreSQL and Redshift (no `//`): (a - MOD(a, b)) / b is an exact division
    quotient = f"{a} // {b}" if dialect == "duckdb" else f"({a} - MOD({a}, {b})) / {b}"
    unit = f"0.{'0' * (scale - 1)}1" if scale else "1"
    return f"CAST(SIGN({n}) * SIGN({d}) * ({quotient}) * {unit} AS DECIMAL({precision},{scale}))"


def ratio(numerator: str, denominator: str, *, places: int, precision: int = 9) -> str:
    """A ratio: DECIMAL(9,4) unless told otherwise."""
    return div(numerator, denominator, scale=4, precision=precision, places=places)


def money(expr: str) -> str:
    """A sum of money: DECIMAL(38,2), wide enough for any sum of DECIMAL(18,2) amounts."""
    return f"CAST({expr} AS DECIMAL(38,2))"


def avg(expr: str, *, places: int, precision: int = 38) -> str:
    """AVG(expr) to 2 decimals, exact: SUM / COUNT."""
    return div(f"SUM({expr})", f"COUNT({expr})", precision=precision, places=places)


def count(condition: str) -> str:
    return f"CAST(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS BIGINT)"


def divide(
    numerator: str, denominator: str, dialect: Dialect, *, places: int, scale: int = 2, precision: int = 38
) -> str:
    """SQL for numerator / NULLIF(denominator, 0), exact, as DECIMAL(precision, scale) (see `div`), for
    queries over the marts outside them."""
    return render(div(numerator, denominator, places=places, scale=scale, precision=precision), dialect)
