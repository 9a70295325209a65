"""Star-schema builders: derived values are exact decimals, rounded as the marts round."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from etl.contracts import LOAN_APPLICATIONS
from etl.model.facts import FactContext, build_fact_loan_application
from etl.normalize.validate import validate

AT = datetime(2024, 5, 1, 12, 0, 0)


def _ratios(pairs: list[tuple[str, str]]) -> list[Decimal | None]:
    names = [c.name for c in LOAN_APPLICATIONS.columns]
    rows = [
        {
            "application_id": f"A{i}",
            "customer_id": f"C{i}",
            "loan_amount": amount,
            "loan_application_date": "2023-01-10",
            "credit_score": "700",
            "employment_status": "Employed",
            "annual_income": income,
        }
        for i, (amount, income) in enumerate(pairs)
    ]
    chunk = pa.table(
        {
            **{n: pa.array([r.get(n) for r in rows], pa.string()) for n in names},
            "source_row": pa.array(range(2, len(rows) + 2), pa.int64()),
        }
    )
    checked = validate(chunk, LOAN_APPLICATIONS)
    assert checked.quarantine.num_rows == 0
    fact = build_fact_loan_application(checked.valid, FactContext("f" * 64, AT))
    assert fact.schema.field("loan_to_income").type == pa.decimal128(18, 4)
    ratios: list[Decimal | None] = fact.column("loan_to_income").to_pylist()
    return ratios


def test_loan_to_income_rounds_exact_halves_away_from_zero() -> None:
    # float64 made 10001/20000 = 0.50005 into 0.5000 and rounded 1/32 = 0.03125 half to even, 0.0312
    assert _ratios(
        [("1.00", "32.00"), ("10001.00", "20000.00"), ("1.00", "3.00"), ("2.00", "3.00"), ("5000", "0")]
    ) == [Decimal("0.0313"), Decimal("0.5001"), Decimal("0.3333"), Decimal("0.6667"), None]


def test_loan_to_income_beyond_the_column_is_null() -> None:
    assert _ratios([("9999999999999999.99", "0.01"), ("99999999999.99", "0.01")]) == [
        None,  # 10^18: DECIMAL(18,4) cannot hold it
        Decimal("9999999999999.0000"),
    ]


@given(
    st.lists(
        st.tuples(st.integers(1, 10**12), st.integers(1, 10**12)),
        min_size=1,
        max_size=20,
    )
)
def test_loan_to_income_is_the_exact_quotient_rounded_half_up(cents: list[tuple[int, int]]) -> None:
    pairs = [(f"{Decimal(a) / 100:.2f}", f"{Decimal(b) / 100:.2f}") for a, b in cents]
    with localcontext(prec=60):  # exact enough to tell any quotient of 12-digit integers from a half
        expected = [(Decimal(a) / Decimal(b)).quantize(Decimal("0.0001"), ROUND_HALF_UP) for a, b in cents]
    assert _ratios(pairs) == [e if e < 10**13 else None for e in expected]
