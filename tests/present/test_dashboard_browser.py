"""The generated dashboard in a real headless Chromium: every visual renders, no console errors, the KPI
cards equal the same numbers queried from the warehouse, and a filter changes them to the filtered SQL.

Set ETL_UPDATE_SCREENSHOTS=1 to refresh docs/img/dashboard-*.png from this run.
"""

from __future__ import annotations

import os
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

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The KPI cards of the loan sheet against SQL on the star schema (not the marts), with an optional filter.
LOAN_KPIS = {
    "applications": "SELECT COUNT(*) FROM fact_loan_application a {join} {where}",
    "total_loan_amount": "SELECT SUM(a.loan_amount) FROM fact_loan_application a {join} {where}",
    "avg_annual_income": "SELECT AVG(a.annual_income) FROM fact_loan_application a {join} {where}",
    "avg_loan_amount": "SELECT AVG(a.loan_amount) FROM fact_loan_application a {join} {where}",
    "approval_rate": "SELECT SUM(CASE WHEN application_status = 'approved' THEN 1.0 ELSE 0 END)"
    " / SUM(CASE WHEN application_status IN ('approved', 'rejected') THEN 1 ELSE 0 END)"
    " FROM fact_loan_application a {join} {where}",
    "default_rate": "SELECT AVG(CASE WHEN EXISTS (SELECT 1 FROM fact_repayment r WHERE r.application_key ="
    " a.application_key AND (r.days_late > 90 OR (r.paid_date IS NULL AND r.due_date + 90 <"
    " (SELECT MAX(paid_date) FROM fact_repayment)))) THEN 1.0 ELSE 0 END)"
    " FROM fact_loan_application a {join} {where} {and_} EXISTS (SELECT 1 FROM fact_repayment r"
    " WHERE r.application_key = a.application_key)",
}
STATEMENT_KPIS = {
    "transactions": "SELECT COUNT(*) FROM fact_bank_transaction",
    "total_income": "SELECT SUM(transaction_amount) FROM fact_bank_transaction WHERE direction = 'credit'",
    "total_spend": "SELECT -SUM(transaction_amount) FROM fact_bank_transaction WHERE direction = 'debit'",
    "rows_loaded": "SELECT SUM(rows_loaded) FROM etl_file_ledger",
    "rows_quarantined": "SELECT SUM(rows_quarantined) FROM etl_file_ledger",
}


def loan_sql(kpi: str, where: str = "") -> str:
    join = "JOIN dim_credit_band b ON b.credit_band_key = a.credit_band_key" if "credit_band" in where else ""
    clause = f"WHERE {where}" if where else ""
    return LOAN_KPIS[kpi].format(join=join, where=clause, and_="AND" if where else "WHERE")


@pytest.fixture(scope="module")
def built() -> Iterator[tuple[Env, Path]]:
    tmp = Path(tempfile.mkdtemp(prefix="dashboard-"))
    try:
        generate_dataset(tmp / "data", customers=150, seed=7, dirty_rate=0.01)
        env = make_env(tmp)
        env.run()
        out = write_dashboard(env.settings, tmp / "dashboard.html")
        yield env, out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def page(built: tuple[Env, Path]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `bash scripts/ensure_system_packages.sh`", pytrace=False)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as pw:
        # a fresh profile per run (launch_persistent_context is Playwright's way to pass --user-data-dir)
        browser = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield _opened(browser, built[1])
        finally:
            browser.close()
            shutil.rmtree(profile, ignore_errors=True)


def _opened(browser: Any, html: Path) -> Any:
    """A new page of `browser` with `html` rendered; its `.console_errors` collects the page's errors."""
    errors: list[str] = []
    pg = browser.new_page()
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(html.resolve().as_uri())
    pg.wait_for_function("document.body.dataset.rendered === '1'", timeout=30_000)
    pg.console_errors = errors
    return pg


def kpis(page: Any) -> dict[str, float | None]:
    values: dict[str, str] = page.eval_on_selector_all(
        ".kpi", "els => Object.fromEntries(els.map(e => [e.dataset.kpi, e.dataset.value]))"
    )
    return {k: float(v) if v else None for k, v in values.items()}


def close(page_value: float | None, sql_value: Any) -> bool:
    if sql_value is None or page_value is None:
        return sql_value is None and page_value is None
    return abs(page_value - float(sql_value)) <= 1e-6 * max(1.0, abs(float(sql_value)))


def test_every_visual_renders_without_console_errors(page: Any) -> None:
    spec = load_spec()
    charts = [v["id"] for v in visuals(spec) if v["type"] != "kpi"]
    assert page.eval_on_selector_all(".visual", "els => els.map(e => e.dataset.visual)") == charts
    rendered = page.eval_on_selector_all(
        ".visual", "els => els.filter(e => e.querySelector('.main-svg')).map(e => e.dataset.visual)"
    )
    assert rendered == charts
    assert page.eval_on_selector_all(".kpi", "els => els.length") == sum(
        v["type"] == "kpi" for v in visuals(spec)
    )
    assert page.console_errors == []


# Mode bar buttons that send a chart (and the data behind it) off the page, or link out of it.
LEAKING_BUTTONS = {
    "sendChartToCloud",
    "sendDataToCloud",
    "editInChartStudio",
    "Share chart...",
    "Edit in Chart Studio",
}


def test_no_chart_offers_to_upload_its_data_or_link_out(page: Any) -> None:
    spec = load_spec()
    charts = [f"v-{v['id']}" for v in visuals(spec) if v["type"] != "kpi"]
    # the configuration every rendered chart resolved (plotly.js keeps it as the div's _context)
    configs = page.eval_on_selector_all(
        ".js-plotly-plot",
        """els => els.map(e => ({id: e.id, showSendToCloud: e._context.showSendToCloud,
            plotlyServerURL: e._context.plotlyServerURL, displaylogo: e._context.displaylogo}))""",
    )
    assert [c["id"] for c in configs] == charts
    for config in configs:
        assert config == {
            "id": config["id"],
            "showSendToCloud": False,
            "plotlyServerURL": "",
            "displaylogo": False,
        }
    # and what the mode bars hold: local actions only, no upload button, no link anywhere in them
    for chart in charts:
        page.hover(f"#{chart}")
        buttons = page.eval_on_selector_all(
            f"#{chart} .modebar-btn", "els => els.map(e => [e.dataset.title, e.getAttribute('data-attr')])"
        )
        assert buttons, chart  # the mode bar is there (so an absent button is absent, not unrendered)
        titles = {title for title, _ in buttons}
        assert not titles & LEAKING_BUTTONS, (chart, titles)
        assert "Download plot as a PNG" in titles
    assert page.eval_on_selector_all(".modebar a[href], .modebar [href]", "els => els.length") == 0
    assert (
        page.eval_on_selector_all(
            "[href*='plot.ly'], [href*='plotly.com'], [src*='plot.ly'], [src*='plotly.com']",
            "els => els.length",
        )
        == 0
    )
    assert page.console_errors == []


def test_kpis_equal_the_warehouse(page: Any, built: tuple[Env, Path]) -> None:
    env = built[0]
    shown = kpis(page)
    for kpi in LOAN_KPIS:
        assert close(shown[kpi], env.scalar(loan_sql(kpi))), kpi
    for kpi, sql in STATEMENT_KPIS.items():
        assert close(shown[kpi], env.scalar(sql)), kpi
    assert shown["applications"] and shown["applications"] > 100


def test_filters_change_the_kpis_to_the_filtered_sql(page: Any, built: tuple[Env, Path]) -> None:
    env = built[0]
    before = kpis(page)
    try:
        page.select_option("#f-employment", "Employed")
        after = kpis(page)
        assert after["applications"] != before["applications"]
        for kpi in LOAN_KPIS:
            assert close(after[kpi], env.scalar(loan_sql(kpi, "a.employment_status = 'Employed'"))), kpi

        page.select_option("#f-band", "Good")
        months = env.query("SELECT DISTINCT year_month FROM dim_date ORDER BY 1")
        page.select_option("#f-month-from", months[3][0])
        where = (
            "a.employment_status = 'Employed' AND b.credit_band = 'Good'"
            f" AND a.application_date_key >= {months[3][0].replace('-', '')}01"
        )
        both = kpis(page)
        for kpi in LOAN_KPIS:
            assert close(both[kpi], env.scalar(loan_sql(kpi, where))), kpi
        if os.environ.get("ETL_UPDATE_SCREENSHOTS") == "1":
            IMG.mkdir(parents=True, exist_ok=True)
            page.evaluate("document.querySelector('.filters').style.position = 'static'")
            page.screenshot(
                path=str(IMG / "dashboard-filtered.png"), clip={"x": 0, "y": 0, "width": 1400, "height": 900}
            )
    finally:
        page.click("#f-reset")
    assert kpis(page) == before


def bars(page: Any, visual: str) -> dict[str, list[Any]]:
    """{trace name: [(x, y), ...]} of a rendered chart."""
    traces: dict[str, list[Any]] = page.evaluate(
        "id => Object.fromEntries(document.getElementById(id).data.map(t => [t.name, t.x.map((x, i) => [x, t.y[i]])]))",
        f"v-{visual}",
    )
    return traces


def test_money_out_by_category_has_no_zero_bars(page: Any, built: tuple[Env, Path]) -> None:
    env = built[0]
    shown = dict(bars(page, "spend_by_category")["Money out"])
    sql = dict(
        env.query(
            "SELECT category, -SUM(transaction_amount) FROM fact_bank_transaction WHERE direction = 'debit'"
            " GROUP BY category"
        )
    )
    assert "salary" not in shown  # credits only: no money out
    assert set(shown) == set(sql)
    for category, value in shown.items():
        assert value > 0 and close(value, sql[category]), category


def notes(page: Any) -> dict[str, str]:
    """{visual id: ids of the set filters its note says do not apply ('' when the note is hidden)}."""
    shown: dict[str, str] = page.eval_on_selector_all(
        ".filter-note",
        "els => Object.fromEntries(els.map(e => [e.dataset.noteFor, e.hidden ? '' : e.dataset.ignoredFilters]))",
    )
    return shown


def test_a_filter_a_visual_cannot_apply_is_shown_on_it(page: Any, built: tuple[Env, Path]) -> None:
    # mart_interest_and_terms has no month, employment status or state: the term chart cannot follow those
    # filters, and must not look as if it did
    env, spec = built[0], load_spec()
    assert set(notes(page).values()) == {""}
    months = [m for (m,) in env.query("SELECT DISTINCT year_month FROM mart_loan_segment_monthly ORDER BY 1")]
    try:
        page.select_option("#f-employment", "Employed")
        page.select_option("#f-month-from", months[3])
        shown = notes(page)
        expected = {
            v["id"]: ",".join(
                f["id"]
                for f in spec["filters"]
                if f["id"] in {"month", "employment"}
                and f["column"] not in spec["datasets"][v["dataset"]]["columns"]
            )
            for v in visuals(spec)
        }
        assert shown == expected
        assert shown["interest_by_term"] == "month,employment"
        assert shown["risk_customers"] == "month" and shown["kpi_rows_loaded"] == "month,employment"
        assert shown["loans_by_state"] == "" and shown["kpi_applications"] == ""
        note = page.locator('.filter-note[data-note-for="interest_by_term"]')
        assert note.is_visible()
        assert "Not filtered by Month, Employment status" in (note.text_content() or "")
        # what the note says: the chart shows every month and status of its data
        term_sql = {
            str(term): n
            for term, n in env.query(
                "SELECT loan_term_months, SUM(applications) FROM mart_interest_and_terms GROUP BY 1"
            )
        }
        assert dict(bars(page, "interest_by_term")["Applications"]) == term_sql
        # a visual the filters apply to is filtered to the SQL and carries no note
        state_sql = dict(
            env.query(
                "SELECT state, SUM(total_loan_amount) FROM mart_loan_segment_monthly"
                " WHERE employment_status = 'Employed' AND year_month >= ? GROUP BY 1",
                [months[3]],
            )
        )
        by_state = dict(bars(page, "loans_by_state")["Loan amount requested"])
        assert set(by_state) == set(state_sql)
        assert all(close(by_state[k], state_sql[k]) for k in state_sql)
        page.select_option("#f-band", "Good")  # the term chart has credit_band: still month, employment only
        assert notes(page)["interest_by_term"] == "month,employment"
    finally:
        page.click("#f-reset")
    assert set(notes(page).values()) == {""}


def test_a_month_from_after_to_is_reported(page: Any, built: tuple[Env, Path]) -> None:
    months = [
        m for (m,) in built[0].query("SELECT DISTINCT year_month FROM mart_loan_segment_monthly ORDER BY 1")
    ]
    warning = page.locator("#f-warning")
    assert warning.is_hidden()
    try:
        page.select_option("#f-month-from", months[-1])
        page.select_option("#f-month-to", months[0])
        assert warning.is_visible()
        text = warning.text_content() or ""
        assert months[-1] in text and months[0] in text and "later than" in text
        assert page.get_attribute("#f-month-from", "aria-invalid") == "true"
        page.select_option("#f-month-to", months[-1])  # from = to: one month, no warning
        assert warning.is_hidden()
        assert kpis(page)["applications"] == built[0].scalar(
            "SELECT SUM(applications) FROM mart_loan_segment_monthly WHERE year_month = ?", [months[-1]]
        )
        page.select_option("#f-month-to", months[0])
        assert warning.is_visible()
    finally:
        page.click("#f-reset")
    assert warning.is_hidden()
    assert page.get_attribute("#f-month-from", "aria-invalid") == "false"


def test_screenshots(page: Any) -> None:
    if os.environ.get("ETL_UPDATE_SCREENSHOTS") != "1":
        pytest.skip("set ETL_UPDATE_SCREENSHOTS=1 to refresh docs/img/dashboard-*.png")
    IMG.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.querySelector('.filters').style.position = 'static'")  # not over the sheets
    for sheet in load_spec()["sheets"]:
        page.locator(f"#sheet-{sheet['id']}").screenshot(path=str(IMG / f"dashboard-{sheet['id']}.png"))


MARKUP = ['<a href="https://evil.example/">Lagos</a>', "Kano<br>Kaduna", "Kano & <b>Co</b>"]


def test_data_text_is_shown_as_text_not_markup(page: Any, tmp_path: Path) -> None:
    # Plotly formats <a>, <b> and <br> in labels and table cells: a state or customer id must not become a
    # link, a line break or bold text
    env = make_env(tmp_path)
    rows = "".join(
        f'A{i},"{c}",1000.00,2023-01-10,700,Employed,50000.00,,,,"{state.replace('"', '""')}",approved\n'
        for i, (c, state) in enumerate(zip(["<i>C0</i>", "C1", "C2"], MARKUP, strict=True))
    )
    write(
        env.data,
        "loan_applications",
        "apps.csv",
        f"{APP_HEADER},loan_term_months,interest_rate,loan_purpose,state,application_status\n{rows}",
    )
    write(
        env.data,
        "bank_statements",
        "s.csv",
        f'{STMT_HEADER}\nT1,"<i>C0</i>",2023-02-01,500.00,SALARY,500.00\n',
    )
    assert [f.status for f in env.run().files] == ["loaded", "loaded"]
    pg = _opened(page.context, write_dashboard(env.settings, tmp_path / "dashboard.html"))
    try:
        assert pg.console_errors == []
        for visual in ("loans_by_state", "risk_customers"):
            assert (
                pg.eval_on_selector_all(
                    f"#v-{visual} svg a, #v-{visual} svg b, #v-{visual} svg i", "e => e.length"
                )
                == 0
            )
        ticks = pg.eval_on_selector_all("#v-loans_by_state .xtick text", "els => els.map(e => e.textContent)")
        assert sorted(ticks) == sorted(MARKUP)
        cells = pg.eval_on_selector_all("#v-risk_customers .cell-text", "els => els.map(e => e.textContent)")
        assert "<i>C0</i>" in cells
    finally:
        pg.close()
