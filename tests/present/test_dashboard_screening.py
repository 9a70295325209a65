"""The fraud score and merchant visuals of the generated dashboard in a real headless Chromium: their bars,
table rows and KPI equal SQL on the marts, their notes are shown, and without the optional columns they say
so instead of drawing a chart that could pass for a finding."""

from __future__ import annotations

import html
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl.present.html import write_dashboard
from etl.present.spec import load_spec, visuals
from etl.tools.generate import generate_dataset
from tests.helpers import APP_HEADER, STMT_HEADER, Env, make_env, write
from tests.present.test_dashboard_browser import ARGS, CHROMIUM, _opened, bars, close, kpis

pytestmark = pytest.mark.browser

BANDS = ["0 to <20", "20 to <40", "40 to <60", "60 to <80", "80 to 100", "No fraud score"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `bash scripts/ensure_system_packages.sh`", pytrace=False)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def generated(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, Any]]:
    tmp = tmp_path_factory.mktemp("screening-dashboard")
    generate_dataset(tmp / "data", customers=400, seed=7, months=12)
    env = make_env(tmp)
    assert [f.status for f in env.run().files] == ["loaded"] * 3
    page = _opened(browser, write_dashboard(env.settings, tmp / "dashboard.html"))
    try:
        yield env, page
    finally:
        page.close()


def _annotation(page: Any, visual: str) -> str:
    text: str = page.evaluate(f"() => document.getElementById('v-{visual}').layout.annotations[0].text")
    return text.replace("<br>", " ")


def test_approval_and_default_rate_by_fraud_band_equal_the_mart(generated: tuple[Env, Any]) -> None:
    env, page = generated
    assert page.console_errors == []
    # the labels are escaped for Plotly (text, not markup) and shown as written
    shown = {
        name: [(html.unescape(x), y) for x, y in xy] for name, xy in bars(page, "fraud_band_rates").items()
    }
    ticks = page.eval_on_selector_all("#v-fraud_band_rates .xtick text", "els => els.map(e => e.textContent)")
    assert ticks[0] == "0 to <20"
    sql = {
        band: (approved / decided if decided else None, defaulted / loans if loans else None)
        for band, approved, decided, defaulted, loans in env.query(
            "SELECT fraud_band, SUM(approved), SUM(approved + rejected), SUM(defaulted_loans), SUM(loans) "
            "FROM mart_fraud_score_monthly GROUP BY fraud_band"
        )
    }
    # in band order, the applications without a score last
    assert [x for x, _ in shown["Approval rate"]] == [b for b in BANDS if b in sql]
    assert "No fraud score" in sql and len(sql) >= 5
    for x, y in shown["Approval rate"]:
        assert close(y, sql[x][0]), x
    for x, y in shown["Default rate"]:
        assert close(y, sql[x][1]), x
    # the generator's lender declines high scores: approval falls from the lowest band to the highest
    approval = dict(shown["Approval rate"])
    assert approval["0 to <20"] > approval["80 to 100"]
    volume = {html.unescape(x): n for x, n in bars(page, "fraud_band_volume")["Applications"]}
    assert volume == {
        b: n
        for b, n in env.query("SELECT fraud_band, SUM(applications) FROM mart_fraud_score_monthly GROUP BY 1")
    }
    note = page.text_content('.visual-note[data-note-of="fraud_band_rates"]')
    assert note == "Applications without a fraud score are the band \u201cNo fraud score\u201d."
    assert page.get_attribute("#v-fraud_band_rates", "data-absent") == "0"


def test_top_merchants_and_the_money_out_without_one_equal_the_mart(generated: tuple[Env, Any]) -> None:
    env, page = generated
    cells = page.evaluate("() => document.getElementById('v-top_merchants_spend').data[0].cells.values")
    expected = env.query(
        "SELECT merchant, total_spend FROM mart_top_merchants WHERE has_merchant = 1 AND total_spend > 0 "
        "ORDER BY total_spend DESC, merchant LIMIT 15"
    )
    assert len(cells[0]) == 15 and cells[0][0] == expected[0][0]
    assert set(cells[0]) <= {m for (m,) in env.query("SELECT merchant FROM mart_top_merchants")}
    assert "(no merchant)" not in cells[0]
    assert all(v.startswith("NGN ") for v in cells[1])
    by_customers = page.evaluate(
        "() => document.getElementById('v-top_merchants_customers').data[0].cells.values"
    )
    most = env.scalar("SELECT MAX(customers) FROM mart_top_merchants WHERE has_merchant = 1")
    assert int(by_customers[1][0]) == most
    assert close(
        kpis(page)["spend_no_merchant"],
        env.scalar("SELECT total_spend FROM mart_top_merchants WHERE has_merchant = 0"),
    )
    assert close(
        kpis(page)["spend_no_merchant"],
        env.scalar(
            "SELECT -SUM(transaction_amount) FROM fact_bank_transaction WHERE direction = 'debit' AND merchant IS NULL"
        ),
    )


def test_without_the_optional_columns_the_visuals_say_so(browser: Any, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    rows = "".join(f"A{i},C{i},{1000 + i}.00,2023-0{1 + i % 3}-10,700,Employed,50000.00\n" for i in range(6))
    write(env.data, "loan_applications", "apps.csv", f"{APP_HEADER}\n{rows}")
    write(
        env.data, "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C1,2023-02-01,-500.00,POS PURCHASE,500.00\n"
    )
    assert [f.status for f in env.run().files] == ["loaded", "loaded"]
    page = _opened(browser, write_dashboard(env.settings, tmp_path / "dashboard.html"))
    try:
        assert page.console_errors == []
        spec = {v["id"]: v for v in visuals(load_spec())}
        for visual in (
            "fraud_band_rates",
            "fraud_band_volume",
            "top_merchants_spend",
            "top_merchants_customers",
        ):
            assert page.get_attribute(f"#v-{visual}", "data-absent") == "1", visual
            assert _annotation(page, visual) == spec[visual]["absent_text"], visual
        assert _annotation(page, "fraud_band_rates") == (
            "No loaded application carries a fraud score (the optional fraud_score column of loan_applications): "
            "there is nothing to compare."
        )
        # the money out without a merchant is still counted: the one debit
        assert kpis(page)["spend_no_merchant"] == 500.0
        # an ordinary visual of the same data is drawn as usual
        assert page.get_attribute("#v-monthly_trend", "data-absent") == "0"
    finally:
        page.close()
