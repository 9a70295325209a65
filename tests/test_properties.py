"""Property: for any mixture of valid and invalid rows, nothing is lost, every valid row is loaded with its
exact values, every invalid row is quarantined, and a replay changes nothing."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.contracts import LOAN_APPLICATIONS
from tests.helpers import make_env, write

# Each field strategy yields (text as written in the CSV, expected typed value or INVALID).
INVALID = object()

cents = st.integers(min_value=1, max_value=10**17 - 1)
money = st.one_of(
    cents.map(lambda c: (f"{Decimal(c) / 100:.2f}", Decimal(c) / 100)),
    st.integers(1, 10**6).map(lambda n: (f"{n:,}", Decimal(n))),
    st.sampled_from(["12,3x", "1e5", "12.345", "12345678901234567890.00", "0", "-5", "", "abc"]).map(
        lambda t: (t, INVALID)
    ),
)
income = st.one_of(
    st.integers(0, 10**9).map(lambda n: (str(n), Decimal(n))),
    st.sampled_from(["-1", "", "1.001", "N/A"]).map(lambda t: (t, INVALID)),
)
score = st.one_of(
    st.integers(300, 850).map(lambda n: (str(n), n)),
    st.sampled_from(["299", "851", "900", "7OO", "", "700.5"]).map(lambda t: (t, INVALID)),
)
employment = st.one_of(
    st.sampled_from(
        [
            (" employed", "Employed"),
            ("SELF-EMPLOYED", "Self-Employed"),
            ("Self Employed", "Self-Employed"),
            ("unemployed ", "Unemployed"),
            ("Employed", "Employed"),
        ]
    ),
    st.sampled_from(["Retired", "", "Student"]).map(lambda t: (t, INVALID)),
)
day = st.one_of(
    st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(lambda d: (d.isoformat(), d)),
    st.sampled_from(["2023-02-30", "31/12/2023", "", "2023-13-01", "1850-01-01"]).map(lambda t: (t, INVALID)),
)
customer = st.one_of(
    st.text(alphabet="ABCabc019 ,\"'é\n;=-", min_size=1, max_size=12).map(
        # an id with a line break inside (after trimming) is quarantined as invalid_text (issue 19)
        lambda t: (t, INVALID if not t.strip() or "\n" in t.strip() else t.strip())
    ),
    st.just(("", INVALID)),
)
row = st.tuples(customer, money, day, score, employment, income)

COLUMNS = list(LOAN_APPLICATIONS.required)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=0, max_size=40))
def test_reconciliation_exact_values_and_replay(rows: list[tuple[tuple[str, object], ...]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    expected: dict[str, tuple[object, ...]] = {}
    invalid = 0
    for i, fields in enumerate(rows):
        app_id = f"A{i}"
        writer.writerow([app_id, *(text for text, _ in fields)])
        values = tuple(value for _, value in fields)
        if any(v is INVALID for v in values):
            invalid += 1
        else:
            expected[app_id] = values
    with tempfile.TemporaryDirectory() as tmp:
        env = make_env(Path(tmp))
        write(env.data, "loan_applications", "a.csv", buffer.getvalue())
        [result] = env.run(max_quarantine_rate=1.0).files  # any mixture loads: the budget is not under test
        assert result.status == "loaded"
        assert result.rows_in == len(rows)
        assert result.rows_in == result.rows_loaded + result.rows_quarantined
        assert (result.rows_loaded, result.rows_quarantined) == (len(expected), invalid)
        loaded = {
            r[0]: r[1:]
            for r in env.query(
                "SELECT f.application_id, c.customer_id, f.loan_amount, f.loan_application_date, "
                "f.credit_score, f.employment_status, f.annual_income "
                "FROM fact_loan_application f JOIN dim_customer c USING (customer_key)"
            )
        }
        assert loaded == expected
        if invalid:
            quarantined = pq.read_table(result.quarantine_uri)
            assert quarantined.num_rows == invalid
            assert set(quarantined.column("application_id").to_pylist()).isdisjoint(expected)
        before = env.query("SELECT * FROM fact_loan_application ORDER BY application_id")
        assert env.run().files[0].status == "skipped_duplicate"
        assert env.query("SELECT * FROM fact_loan_application ORDER BY application_id") == before
