"""Synthetic data: determinism, exact shapes, clean rows valid by independent checks, dirt of every kind,
and the risk patterns the dashboards are meant to find."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from etl.contracts import CATEGORIES
from etl.normalize.categories import categorise, load_category_rules
from etl.tools.generate import generate_dataset
from etl.tools.generate.applications import APPLICATION_COLUMNS, generate_loan_applications_file
from etl.tools.generate.common import make_window
from etl.tools.generate.narrations import build_pools
from etl.tools.generate.repayments import REPAYMENT_COLUMNS
from etl.tools.generate.statements import STATEMENT_COLUMNS, generate_bank_statements_file

START, END = date(2023, 1, 1), date(2024, 1, 1)
MONEY = r"-?\d+\.\d{2}"
ISO = r"\d{4}-\d{2}-\d{2}"
BANDS = ("Poor", "Fair", "Good", "Very Good", "Exceptional")
HEADERS = {
    "loan_applications": (
        "application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,"
        "annual_income,loan_term_months,interest_rate,loan_purpose,state,application_status,decision_date,"
        "fraud_score"
    ),
    "bank_statements": (
        "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance,channel,merchant"
    ),
    "repayments": "repayment_id,application_id,customer_id,due_date,amount_due,paid_date,amount_paid",
}
STATES = {
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
}


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_dataset(tmp_path_factory.mktemp("clean"), customers=200, seed=7)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_dataset(tmp_path_factory.mktemp("dirty"), customers=200, seed=7, dirty_rate=0.1)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_dataset(tmp_path_factory.mktemp("large"), customers=2000, seed=42)


# ------------------------------------------------------------------------------------------ row checks


def _iso_dates(values: pd.Series) -> pd.Series:
    """Parsed dates, NaT where the text is not a real ISO date."""
    shaped = values.str.fullmatch(ISO)
    return pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")


def _money(values: pd.Series) -> pd.Series:
    """Numbers of at most 18 digits with exactly 2 decimals; NaN otherwise."""
    ok = values.str.fullmatch(MONEY) & (values.str.len() <= 20)
    return pd.to_numeric(values.where(ok), errors="coerce")


def _in_window(dates: pd.Series) -> pd.Series:
    return (dates >= pd.Timestamp(START)) & (dates < pd.Timestamp(END))


def application_problems(df: pd.DataFrame) -> pd.Series:
    """True for each row that breaks the loan_applications contract (ignoring duplicate keys)."""
    amount, income = _money(df.loan_amount), _money(df.annual_income)
    score = pd.to_numeric(df.credit_score.where(df.credit_score.str.fullmatch(r"\d+")), errors="coerce")
    fraud = pd.to_numeric(df.fraud_score.where(df.fraud_score.str.fullmatch(r"\d+\.\d{2}")), errors="coerce")
    applied = _iso_dates(df.loan_application_date)
    good = (
        df.application_id.str.fullmatch(r"APP-\d{6}")
        & df.customer_id.str.fullmatch(r"CUST-\d{6}")
        & amount.between(50_000, 5_000_000)
        & _in_window(applied)
        & score.between(300, 850)
        & df.employment_status.isin(["Employed", "Self-Employed", "Unemployed"])
        & (income >= 0)
        & ((df.fraud_score == "") | fraud.between(0, 100))  # optional: empty, or a score 0-100
    )
    return ~good.fillna(False).astype(bool)


def statement_problems(df: pd.DataFrame) -> pd.Series:
    amount, balance = _money(df.transaction_amount), _money(df.balance)
    good = (
        df.transaction_id.str.fullmatch(r"TXN-\d{8}")
        & df.customer_id.str.fullmatch(r"CUST-\d{6}")
        & _in_window(_iso_dates(df.transaction_date))
        & (amount != 0)
        & amount.notna()
        & balance.notna()
        & (df.narration.str.strip() != "")
    )
    return ~good.fillna(False).astype(bool)


def repayment_problems(df: pd.DataFrame) -> pd.Series:
    good = (
        df.repayment_id.str.fullmatch(r"RPY-\d{7}")
        & df.application_id.str.fullmatch(r"APP-\d{6}")
        & (_iso_dates(df.due_date) >= pd.Timestamp(START))  # the whole schedule: also after the window
        & (_money(df.amount_due) > 0)
    )
    return ~good.fillna(False).astype(bool)


def later_duplicates(ids: pd.Series) -> pd.Series:
    return ids.duplicated(keep="first") & (ids != "")


# ----------------------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes(tmp_path: Path, clean: dict[str, Path]) -> None:
    again = generate_dataset(tmp_path, customers=200, seed=7)
    for source, path in clean.items():
        assert again[source].read_bytes() == path.read_bytes(), source


def test_different_seed_gives_different_files(tmp_path: Path, clean: dict[str, Path]) -> None:
    other = generate_dataset(tmp_path, customers=200, seed=8)
    for source, path in clean.items():
        assert other[source].read_bytes() != path.read_bytes(), source


def test_layout_and_headers(tmp_path: Path, clean: dict[str, Path]) -> None:
    assert set(clean) == {"loan_applications", "bank_statements", "repayments"}
    for source, path in clean.items():
        assert path == path.parent.parent / source / f"{source}.csv"
        raw = path.read_bytes()
        assert b"\r" not in raw
        assert raw.endswith(b"\n")
        assert raw.decode("utf-8").split("\n", 1)[0] == HEADERS[source]
    assert ",".join(APPLICATION_COLUMNS) == HEADERS["loan_applications"]
    assert ",".join(STATEMENT_COLUMNS) == HEADERS["bank_statements"]
    assert ",".join(REPAYMENT_COLUMNS) == HEADERS["repayments"]


def test_sizes(clean: dict[str, Path]) -> None:
    apps, statements = read(clean["loan_applications"]), read(clean["bank_statements"])
    assert 2_000 <= len(statements) <= 15_000  # a few thousand rows for 200 customers
    assert 1.1 <= len(apps) / 200 <= 1.3
    assert apps.customer_id.value_counts().max() == 2


# ------------------------------------------------------------------------------------ clean validity


def test_clean_applications_are_valid(clean: dict[str, Path]) -> None:
    df = read(clean["loan_applications"])
    assert not application_problems(df).any()
    assert df.application_id.is_unique
    for column in ("loan_amount", "annual_income", "interest_rate"):
        assert df[column].str.fullmatch(r"\d+\.\d{2}").all(), column
    assert pd.to_numeric(df.interest_rate).between(12.5, 35).all()
    assert set(df.loan_term_months.astype(int)) <= {6, 12, 18, 24, 36}
    assert set(df.loan_purpose) <= {
        "business",
        "education",
        "medical",
        "home_improvement",
        "debt_consolidation",
        "personal",
        "vehicle",
    }
    assert set(df.state) <= STATES
    assert set(df.application_status) == {"approved", "rejected", "pending"}
    pending = df.application_status == "pending"
    assert (df.decision_date[pending] == "").all()
    decided = _iso_dates(df.decision_date[~pending])
    lag = (decided - _iso_dates(df.loan_application_date[~pending])).dt.days
    assert lag.between(0, 14).all()
    unemployed = df[df.employment_status == "Unemployed"]
    assert pd.to_numeric(unemployed.annual_income).max() < pd.to_numeric(df.annual_income).median()


def test_repeat_applicants_apply_later(clean: dict[str, Path]) -> None:
    df = read(clean["loan_applications"])
    df["day"] = _iso_dates(df.loan_application_date)
    twice = df[df.customer_id.duplicated(keep=False)].sort_values(["customer_id", "application_id"])
    first = twice.groupby("customer_id").day.first()
    last = twice.groupby("customer_id").day.last()
    assert len(first) > 10
    assert ((last - first).dt.days >= 30).all()


def test_some_customers_only_have_statements(clean: dict[str, Path]) -> None:
    applicants = set(read(clean["loan_applications"]).customer_id)
    holders = set(read(clean["bank_statements"]).customer_id)
    assert applicants <= holders
    assert len(holders) == 200
    assert 0.01 <= len(holders - applicants) / 200 <= 0.12


def test_clean_statements_are_valid(clean: dict[str, Path]) -> None:
    df = read(clean["bank_statements"])
    assert not statement_problems(df).any()
    assert df.transaction_id.is_unique
    assert set(df.channel) <= {"mobile", "ussd", "pos", "atm", "web", "branch"}
    _assert_running_balance(df)


def _assert_running_balance(df: pd.DataFrame) -> None:
    cents = (pd.to_numeric(df.transaction_amount) * 100).round().astype("int64")
    balance = (pd.to_numeric(df.balance) * 100).round().astype("int64")
    same = df.customer_id.eq(df.customer_id.shift())
    expected = balance.shift() + cents
    assert (balance[same] == expected[same]).all()
    assert df.transaction_date.str.fullmatch(ISO).all()
    ordered = df.groupby("customer_id").transaction_date.apply(lambda s: s.is_monotonic_increasing)
    assert ordered.all()


def test_clean_repayments_are_valid(clean: dict[str, Path]) -> None:
    df = read(clean["repayments"])
    apps = read(clean["loan_applications"]).set_index("application_id")
    assert not repayment_problems(df).any()
    assert df.repayment_id.is_unique
    assert (apps.loc[df.application_id, "application_status"] == "approved").all()
    assert (apps.loc[df.application_id, "customer_id"].to_numpy() == df.customer_id.to_numpy()).all()
    missed = df.paid_date == ""
    assert ((df.amount_paid == "") == missed).all()
    assert _in_window(_iso_dates(df.paid_date[~missed])).all()
    paid, due = pd.to_numeric(df.amount_paid[~missed]), pd.to_numeric(df.amount_due[~missed])
    assert (paid > 0).all() and (paid <= due).all()
    assert (paid < due).any()  # some partial payments
    counts = df.groupby("application_id").size()  # every instalment of the schedule, due or not
    assert (counts == apps.loc[counts.index, "loan_term_months"].astype(int)).all()
    assert set(counts.index) == set(apps.index[apps.application_status == "approved"])
    # instalments due after the window are not paid yet (a borrower pays at most 5 days early)
    future = _iso_dates(df.due_date) >= pd.Timestamp(END) + pd.Timedelta(days=5)
    assert future.any() and (df.paid_date[future] == "").all()
    # the instalment is the amortised payment of the loan
    loan = apps.loc[df.application_id]
    rate = pd.to_numeric(loan.interest_rate).to_numpy() / 1200
    term = loan.loan_term_months.astype(int).to_numpy()
    principal = pd.to_numeric(loan.loan_amount).to_numpy()
    expected = principal * rate / (1 - (1 + rate) ** -term)
    assert np.allclose(pd.to_numeric(df.amount_due).to_numpy(), expected, atol=0.011)


def test_clean_files_have_no_dirty_markers(clean: dict[str, Path]) -> None:
    for path in clean.values():
        text = path.read_text(encoding="utf-8")
        for marker in ("12,3x", "2023-02-30", "31/12/2023", "Retired", "12345678901234567890"):
            assert marker not in text


# ------------------------------------------------------------------------------------------ dirty rows


@pytest.mark.parametrize(
    ("source", "problems", "key"),
    [
        ("loan_applications", application_problems, "application_id"),
        ("bank_statements", statement_problems, "transaction_id"),
        ("repayments", repayment_problems, "repayment_id"),
    ],
)
def test_dirty_rate_spoils_exactly_that_share_of_rows(
    clean: dict[str, Path],
    dirty: dict[str, Path],
    source: str,
    problems: Callable[[pd.DataFrame], pd.Series],
    key: str,
) -> None:
    before, after = read(clean[source]), read(dirty[source])
    assert len(before) == len(after)
    bad = problems(after) | later_duplicates(after[key])
    assert bad.sum() == round(0.1 * len(after))
    # every other row is untouched
    changed = (before != after).any(axis=1)
    assert (changed == bad).all()


def test_dirty_rows_of_every_kind(dirty: dict[str, Path]) -> None:
    apps = read(dirty["loan_applications"])
    statements = read(dirty["bank_statements"])
    repayments = read(dirty["repayments"])
    for df, key, money in (
        (apps, "application_id", "loan_amount"),
        (statements, "transaction_id", "transaction_amount"),
        (repayments, "repayment_id", "amount_due"),
    ):
        text = df.drop(columns=[key])
        assert (text == "").any(axis=None), key  # empty required value
        assert (text == "12,3x").any(axis=None), key
        assert (text == "2023-02-30").any(axis=None), key
        assert (text == "31/12/2023").any(axis=None), key
        assert (df[money] == "12345678901234567890.00").any(), key
        assert later_duplicates(df[key]).any(), key
    assert (apps.credit_score == "900").any()
    assert (apps.loan_amount == "-5.00").any()
    assert (apps.annual_income == "-1.00").any()
    assert (apps.employment_status == "Retired").any()
    assert (statements.transaction_amount == "0.00").any()
    assert (repayments.amount_due == "-5.00").any()


def test_dirty_duplicate_sits_after_the_row_it_copies(dirty: dict[str, Path]) -> None:
    df = read(dirty["bank_statements"])
    dupes = df[df.transaction_id.duplicated(keep="first")]
    for index, row in dupes.iterrows():
        first = df.index[df.transaction_id == row.transaction_id][0]
        assert first < index
        assert not df.loc[first].equals(row)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="customers"):
        generate_dataset(tmp_path, customers=0)
    with pytest.raises(ValueError, match="dirty_rate"):
        generate_dataset(tmp_path, customers=5, dirty_rate=1.5)


def test_tiny_and_short_windows(tmp_path: Path) -> None:
    paths = generate_dataset(tmp_path, customers=1, months=1, start=date(2024, 2, 10), dirty_rate=1.0)
    for source, path in paths.items():
        assert path.read_text(encoding="utf-8").split("\n", 1)[0] == HEADERS[source]


# ----------------------------------------------------------------------------------- risk and realism


def _band(score: pd.Series) -> pd.Series:
    return pd.cut(score.astype(int), [299, 579, 669, 739, 799, 850], labels=BANDS)


def test_default_rate_falls_from_poor_to_exceptional(large: dict[str, Path]) -> None:
    apps = read(large["loan_applications"]).set_index("application_id")
    df = read(large["repayments"])
    df["band"] = pd.Categorical(
        _band(apps.loc[df.application_id, "credit_score"]), categories=BANDS, ordered=True
    )
    days_late = (_iso_dates(df.paid_date) - _iso_dates(df.due_date)).dt.days
    df["defaulted"] = (df.paid_date == "") | (days_late > 30)
    df = df[_iso_dates(df.due_date) < pd.Timestamp(END) - pd.Timedelta(days=30)]  # could be 30 days late
    rate = df.groupby("band", observed=False).defaulted.mean()
    assert list(rate.index) == list(BANDS)
    assert rate.is_monotonic_decreasing, rate.to_dict()
    assert rate["Poor"] > 5 * rate["Exceptional"]
    # loan-to-income matters too
    lti = pd.to_numeric(apps.loc[df.application_id, "loan_amount"]).to_numpy() / np.maximum(
        pd.to_numeric(apps.loc[df.application_id, "annual_income"]).to_numpy(), 1
    )
    high = lti > np.median(lti)
    assert df.defaulted[high].mean() > df.defaulted[~high].mean()


def _loan_months(paths: dict[str, Path], until: date = END) -> pd.DataFrame:
    """Each approved loan with its decision day, score, income and how far behind it fell: the deepest
    arrears seen (days an instalment stayed unpaid, up to the window's end) and whether it later caught up."""
    apps = read(paths["loan_applications"]).set_index("application_id")
    df = read(paths["repayments"])
    due, paid = _iso_dates(df.due_date), _iso_dates(df.paid_date)
    end = pd.Timestamp(until) - pd.Timedelta(days=1)
    df["late"] = (paid.fillna(end).clip(upper=end) - due).dt.days.where(due <= end)
    df["unpaid"] = paid.isna() & (due <= end)
    loans = df.groupby("application_id").agg(worst=("late", "max"), unpaid=("unpaid", "sum"))
    loans = loans.join(apps[["decision_date", "credit_score", "annual_income"]])
    loans["decided"] = _iso_dates(loans.decision_date)
    loans["score"] = loans.credit_score.astype(int)
    loans["income"] = pd.to_numeric(loans.annual_income)
    return loans


def test_borrowers_cure_roll_and_default(large: dict[str, Path]) -> None:
    loans = _loan_months(large)
    cured = loans[(loans.worst > 30) & (loans.unpaid == 0)]  # more than 30 days behind, then caught up
    assert len(cured) >= 0.02 * len(loans)
    assert (loans.worst.between(31, 60)).sum() > (loans.worst.between(61, 90)).sum() > 0
    defaulted = loans.worst > 90
    assert 0.03 <= defaulted.mean() <= 0.3
    # one borrower's instalments: missed in a row, then paid together on one late day (a cure)
    df = read(large["repayments"])
    together = df[df.paid_date != ""].groupby(["application_id", "paid_date"]).size()
    assert (together >= 2).sum() >= 10


def test_default_depends_on_income_within_a_band(large: dict[str, Path]) -> None:
    loans = _loan_months(large)
    loans = loans[loans.decided < pd.Timestamp(END) - pd.Timedelta(days=150)]  # long enough to default
    fair = loans[(loans.score >= 580) & (loans.score <= 669)]
    rich = fair.income > fair.income.median()
    assert (fair.worst[~rich] > 60).mean() > (fair.worst[rich] > 60).mean()


def test_vintages_differ(tmp_path: Path) -> None:
    paths = generate_dataset(tmp_path, customers=1500, seed=11, months=24)
    loans = _loan_months(paths, date(2025, 1, 1))
    loans["quarter"] = loans.decided.dt.to_period("Q")
    # the share of loans more than 30 days behind within their first 6 months, by decision quarter
    first = read(paths["repayments"]).groupby("application_id").due_date.min()
    loans["first_due"] = _iso_dates(first.reindex(loans.index))
    young = loans[loans.first_due < pd.Timestamp(date(2024, 7, 1))]
    rate = (young.worst > 30).groupby(young.quarter).mean()
    assert rate.max() > 1.8 * rate.min(), rate.to_dict()


def _ks(score: pd.Series, bad: pd.Series) -> float:
    grid = np.sort(score.unique())
    bads = np.searchsorted(np.sort(score[bad]), grid, side="right") / max(bad.sum(), 1)
    goods = np.searchsorted(np.sort(score[~bad]), grid, side="right") / max((~bad).sum(), 1)
    return float(np.abs(bads - goods).max())


def test_the_score_separates_less_well_later_and_its_mix_drifts(tmp_path: Path) -> None:
    paths = generate_dataset(tmp_path, customers=3000, seed=5, months=24)
    loans = _loan_months(paths, date(2025, 1, 1))
    # bad: more than 60 days behind within the window; loans decided in the first and the third six months
    bad = loans.worst > 60
    early = loans.decided < pd.Timestamp(date(2023, 7, 1))
    later = (loans.decided >= pd.Timestamp(date(2024, 1, 1))) & (
        loans.decided < pd.Timestamp(date(2024, 7, 1))
    )
    assert _ks(loans.score[early], bad[early]) > _ks(loans.score[later], bad[later]) + 0.1
    apps = read(paths["loan_applications"])
    applied = _iso_dates(apps.loan_application_date)
    scores = apps.credit_score.astype(int)
    assert (
        scores[applied < pd.Timestamp(date(2023, 4, 1))].mean()
        > scores[applied >= pd.Timestamp(date(2024, 10, 1))].mean() + 15
    )


def test_approval_rises_with_score(large: dict[str, Path]) -> None:
    apps = read(large["loan_applications"])
    decided = apps[apps.application_status != "pending"]
    approved = (
        (decided.application_status == "approved").groupby(_band(decided.credit_score), observed=False).mean()
    )
    assert approved["Poor"] < approved["Good"] < approved["Exceptional"]


def test_risky_customers_go_overdrawn_more(large: dict[str, Path]) -> None:
    statements = read(large["bank_statements"])
    apps = read(large["loan_applications"]).groupby("customer_id").credit_score.first()
    lowest = pd.to_numeric(statements.balance).groupby(statements.customer_id).min()
    overdrawn = (lowest < 0).groupby(_band(apps.reindex(lowest.index).dropna())).mean()
    assert overdrawn["Poor"] > 2 * overdrawn["Exceptional"]
    assert 0 < (lowest < 0).mean() < 0.5


def test_every_category_appears_and_salary_is_credit_only(clean: dict[str, Path]) -> None:
    df = read(clean["bank_statements"])
    df["category"] = categorise(pa.array(df.narration), load_category_rules()).to_pylist()
    assert set(df.category) == set(CATEGORIES)
    amount = pd.to_numeric(df.transaction_amount)
    assert (amount[df.category == "salary"] > 0).all()
    for category in ("pos", "fuel", "utilities", "airtime", "atm", "rent", "loan_repayment"):
        assert (amount[df.category == category] < 0).all(), category


def test_salary_arrives_monthly_around_the_25th(clean: dict[str, Path]) -> None:
    df = read(clean["bank_statements"])
    salary = df[
        categorise(pa.array(df.narration), load_category_rules()).to_numpy(zero_copy_only=False) == "salary"
    ]
    days = _iso_dates(salary.transaction_date).dt.day
    assert days.between(23, 27).all()
    per_customer = salary.groupby("customer_id").size()
    assert per_customer.median() >= 11


def test_betting_is_heavy_for_a_minority(large: dict[str, Path]) -> None:
    df = read(large["bank_statements"])
    df["category"] = categorise(pa.array(df.narration), load_category_rules()).to_pylist()
    debit = -pd.to_numeric(df.transaction_amount).clip(upper=0)
    share = (
        debit.where(df.category == "betting", 0).groupby(df.customer_id).sum()
        / debit.groupby(df.customer_id).sum()
    )
    assert (share == 0).mean() > 0.5
    assert 0.005 < (share > 0.15).mean() < 0.2


def test_quoting_round_trips(clean: dict[str, Path]) -> None:
    path = clean["bank_statements"]
    raw = path.read_text(encoding="utf-8")
    df = read(path)
    assert len(df) == raw.count("\n") - 1  # no field spans lines
    narrations = set(df.narration)
    with_comma = {n for n in narrations if "," in n}
    with_quote = {n for n in narrations if '"' in n}
    non_ascii = {n for n in narrations if not n.isascii()}
    assert with_comma and with_quote and non_ascii
    assert any("Ọ̀" in n or "É" in n for n in non_ascii)
    for narration in with_quote:
        assert '"' + narration.replace('"', '""') + '"' in raw
    # a field is quoted only when it must be
    plain = next(n for n in narrations if n.isascii() and not set(n) & {",", '"'})
    assert f',"{plain}",' not in raw


def test_narration_pools_map_to_their_categories() -> None:
    pools = build_pools(make_window(START, 12).month_starts)
    got = categorise(pools.narration, load_category_rules()).to_pylist()
    wrong = [
        (n, e, g)
        for n, e, g in zip(pools.narration.to_pylist(), pools.category_of, got, strict=True)
        if e != g
    ]
    assert wrong == []


# --------------------------------------------------------------------------------------- streamed files


def test_streamed_statements_exact_rows_and_balance_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "bs.csv"
    written = generate_bank_statements_file(path, rows=2_345, customers=30, seed=3, chunk_rows=500)
    assert written == 2_345
    raw = path.read_bytes()
    assert raw.count(b"\n") == 2_346
    df = read(path)
    assert list(df.columns) == list(STATEMENT_COLUMNS)
    assert len(df) == 2_345
    assert (df.transaction_id == [f"TXN-{i:08d}" for i in range(1, 2_346)]).all()
    assert not statement_problems(df).any()
    _assert_running_balance(df)
    assert df.customer_id.nunique() == 30
    assert generate_bank_statements_file(
        tmp_path / "again.csv", rows=2_345, customers=30, seed=3, chunk_rows=500
    )
    assert (tmp_path / "again.csv").read_bytes() == raw
    generate_bank_statements_file(tmp_path / "other.csv", rows=2_345, customers=30, seed=4, chunk_rows=500)
    assert (tmp_path / "other.csv").read_bytes() != raw


def test_streamed_statements_zero_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    assert generate_bank_statements_file(path, rows=0, customers=3) == 0
    assert path.read_text(encoding="utf-8") == HEADERS["bank_statements"] + "\n"


def test_streamed_statements_categories(tmp_path: Path) -> None:
    path = tmp_path / "bs.csv"
    generate_bank_statements_file(path, rows=20_000, customers=200, chunk_rows=7_000)
    df = read(path)
    categories = categorise(pa.array(df.narration), load_category_rules()).to_pylist()
    assert set(categories) == set(CATEGORIES)


def test_loan_applications_file_matches_streamed_customers(tmp_path: Path) -> None:
    path = tmp_path / "la.csv"
    assert generate_loan_applications_file(path, customers=50, seed=5) == 50
    df = read(path)
    assert list(df.columns) == list(APPLICATION_COLUMNS)
    assert sorted(df.customer_id) == [f"CUST-{i:06d}" for i in range(1, 51)]
    assert df.application_id.is_unique
    assert not application_problems(df).any()
    generate_bank_statements_file(tmp_path / "bs.csv", rows=500, customers=50, seed=5)
    assert set(read(tmp_path / "bs.csv").customer_id) <= set(df.customer_id)
