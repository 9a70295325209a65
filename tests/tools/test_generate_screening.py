"""The generator's optional standard columns (issue 17): a fraud screening score on loan applications and the
merchant of card and web payments; their dirt, and how they load into the facts and the screening marts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from etl.tools.generate import generate_dataset
from tests.helpers import Env
from tests.tools.test_generate import END, _loan_months, application_problems, read


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_dataset(tmp_path_factory.mktemp("clean"), customers=200, seed=7)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_dataset(tmp_path_factory.mktemp("large"), customers=2000, seed=42)


def test_fraud_scores_are_0_to_100_some_missing_and_higher_bands_default_more(large: dict[str, Path]) -> None:
    apps = read(large["loan_applications"])
    scored = apps.fraud_score[apps.fraud_score != ""]
    assert scored.str.fullmatch(r"\d{1,3}\.\d{2}").all()
    score = pd.to_numeric(scored)
    assert score.between(0, 100).all()
    assert 0.05 < 1 - len(scored) / len(apps) < 0.12  # the screening returned no score for about 8%
    assert score.median() < 20 and (score >= 60).sum() >= 10  # most score low, a tail scores high
    # the lender declines high scores: approval falls with the band
    decided = apps[(apps.application_status != "pending") & (apps.fraud_score != "")]
    band = pd.cut(pd.to_numeric(decided.fraud_score), [-1, 20, 40, 100], labels=["low", "mid", "high"])
    approval = (decided.application_status == "approved").groupby(band, observed=False).mean()
    assert approval["low"] > approval["mid"] > approval["high"]
    # and a higher score defaults a little more often: loans more than 90 days behind, by band
    loans = _loan_months(large).join(apps.set_index("application_id").fraud_score)
    loans = loans[(loans.fraud_score != "") & (loans.decided < pd.Timestamp(END) - pd.Timedelta(days=150))]
    high = pd.to_numeric(loans.fraud_score) >= 40
    assert (loans.worst[high] > 90).mean() > 1.5 * (loans.worst[~high] > 90).mean()


def test_card_and_web_payments_name_their_merchant_and_nothing_else_does(clean: dict[str, Path]) -> None:
    df = read(clean["bank_statements"])
    named = df[df.merchant != ""]
    assert 0.1 < len(named) / len(df) < 0.35
    assert set(named.channel) == {"pos", "web"}  # card and web payments only
    assert (pd.to_numeric(named.transaction_amount) < 0).all()  # payments: debits
    # the merchant is the business the narration names, as the bank writes it
    assert named.apply(lambda r: r.merchant in r.narration, axis=1).all()
    assert {"SPAR LEKKI", '"BUKKA HUT" LEKKI PHASE 1', "ÈKÓ HOTELS AND SUITES", "DSTV"} <= set(named.merchant)
    unnamed = df[df.merchant == ""]
    assert unnamed.narration.str.contains(r"\bTRF\b", regex=True).any() and (unnamed.channel == "atm").any()
    assert not named.narration.str.contains(r"\bTRF\b|SALARY|ATM WDL", regex=True).any()


def test_a_dirty_fraud_score_is_just_above_the_range(clean: dict[str, Path], tmp_path: Path) -> None:
    # at 10% the out-of-range kind reaches no fraud score in 245 applications; at 50% it does
    dirty = generate_dataset(tmp_path, customers=200, seed=7, dirty_rate=0.5)
    before, after = read(clean["loan_applications"]), read(dirty["loan_applications"])
    spoiled = after.fraud_score == "100.01"
    assert spoiled.sum() == 4
    assert application_problems(after)[spoiled].all()
    # the spoiled rows differ from the clean ones in the fraud score only
    changed = (before != after)[spoiled]
    assert changed.fraud_score.all() and not changed.drop(columns="fraud_score").any(axis=None)


def test_generated_scores_and_merchants_load_exactly(env: Env) -> None:
    files = generate_dataset(env.data, customers=60, seed=3)
    report = env.run()
    assert [(f.source, f.status, f.rows_quarantined) for f in report.files] == [
        ("loan_applications", "loaded", 0),
        ("bank_statements", "loaded", 0),
        ("repayments", "loaded", 0),
    ]
    apps, statements = read(files["loan_applications"]), read(files["bank_statements"])
    scored = apps[apps.fraud_score != ""]
    # every score as written (2 decimals), exactly; a missing one is NULL
    assert env.query(
        "SELECT COUNT(*), COUNT(fraud_score), SUM(fraud_score), MIN(fraud_score), MAX(fraud_score) "
        "FROM fact_loan_application"
    ) == [
        (
            len(apps),
            len(scored),
            sum(Decimal(s) for s in scored.fraud_score),
            min(Decimal(s) for s in scored.fraud_score),
            max(Decimal(s) for s in scored.fraud_score),
        )
    ]
    # each merchant's money out, customers and rank in the mart are the file's own
    named = statements[statements.merchant != ""]
    spend = named.groupby("merchant").transaction_amount.apply(lambda s: -sum(Decimal(v) for v in s))
    customers = named.groupby("merchant").customer_id.nunique()
    got = env.query(
        "SELECT merchant, total_spend, customers, spend_rank FROM mart_top_merchants WHERE has_merchant = 1"
    )
    assert {m: (s, c) for m, s, c, _ in got} == {m: (spend[m], customers[m]) for m in spend.index}
    top = max(got, key=lambda r: r[1])
    assert top[3] == 1 and top[1] == spend.max()
    assert env.query("SELECT transactions FROM mart_top_merchants WHERE has_merchant = 0") == [
        (len(statements) - len(named),)
    ]
