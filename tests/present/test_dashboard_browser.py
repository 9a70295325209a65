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
from tests.helpers import APP_HEADER, STMT_HEADER, TRANSACTIONS, Env, make_env, write

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
    # defaulted: an instalment more than 90 days past due by the latest payment date (not paid in full within
    # 90 days of its due date; a paid date without an amount is paid in full, an amount without a date counts
    # on the due date)
    "default_rate": "SELECT AVG(CASE WHEN EXISTS (SELECT 1 FROM fact_repayment r WHERE r.application_key ="
    " a.application_key AND r.due_date + 90 < (SELECT MAX(paid_date) FROM fact_repayment) AND NOT ("
    " COALESCE(r.amount_paid, CASE WHEN r.paid_date IS NOT NULL THEN r.amount_due ELSE 0 END) >= r.amount_due"
    " AND COALESCE(r.paid_date, r.due_date) <= r.due_date + 90)) THEN 1.0 ELSE 0 END)"
    " FROM fact_loan_application a {join} {where} {and_} EXISTS (SELECT 1 FROM fact_repayment r"
    " WHERE r.application_key = a.application_key)",
}
STATEMENT_KPIS = {
    "transactions": "SELECT COUNT(*) FROM fact_bank_transaction",
    "total_income": "SELECT SUM(transaction_amount) FROM fact_bank_transaction WHERE direction = 'credit'",
    "total_spend": "SELECT -SUM(transaction_amount) FROM fact_bank_transaction WHERE direction = 'debit'",
    # a logical file counts once (its current version), replays' rows with it
    "rows_loaded": "SELECT SUM(rows_loaded) FROM etl_file_ledger WHERE status = 'loaded' AND superseded_by IS NULL",
    # quarantined rows whose key no load at or after their file's holds
    "rows_quarantined": "SELECT COUNT(*) FROM etl_quarantine q JOIN etl_file_ledger l ON l.file_id = q.file_id "
    "WHERE l.status = 'loaded' AND l.superseded_by IS NULL AND NOT EXISTS (SELECT 1 FROM ("
    "SELECT 'loan_applications' AS s, application_id AS k, source_file_id FROM fact_loan_application "
    "UNION ALL SELECT 'bank_statements', transaction_id, source_file_id FROM fact_bank_transaction "
    "UNION ALL SELECT 'repayments', repayment_id, source_file_id FROM fact_repayment) h "
    "JOIN etl_file_ledger hl ON hl.file_id = h.source_file_id "
    "WHERE h.s = q.source AND h.k = q.key_value AND hl.finished_at >= l.finished_at)",
}


def loan_sql(kpi: str, where: str = "") -> str:
    join = "JOIN dim_credit_band b ON b.credit_band_key = a.credit_band_key" if "credit_band" in where else ""
    clause = f"WHERE {where}" if where else ""
    return LOAN_KPIS[kpi].format(join=join, where=clause, and_="AND" if where else "WHERE")


@pytest.fixture(scope="module")
def built() -> Iterator[tuple[Env, Path]]:
    tmp = Path(tempfile.mkdtemp(prefix="dashboard-"))
    try:
        generate_dataset(tmp / "data", customers=600, seed=7, dirty_rate=0.01, months=24)
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
        ".visual",
        "els => els.filter(e => e.querySelector('.main-svg, .map-svg') && e.dataset.empty === '0')"
        ".map(e => e.dataset.visual)",
    )
    assert rendered == charts  # every visual drew its data (none says "No data for this filter")
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
    # every visual Plotly draws (KPI cards are text, the state map an SVG of the page's own: no mode bar)
    charts = [f"v-{v['id']}" for v in visuals(spec) if v["type"] not in {"kpi", "map"}]
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
            f"SELECT category, -SUM(transaction_amount) FROM {TRANSACTIONS} WHERE direction = 'debit'"
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
        # a betting debit, so C0 ranks in the betting-share table (rows without a share are left out)
        f'{STMT_HEADER}\nT1,"<i>C0</i>",2023-02-01,500.00,SALARY,500.00\n'
        'T2,"<i>C0</i>",2023-02-02,-100.00,BET9JA STAKE,400.00\n',
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


# ---------------------------------------------------------------------------------------- portfolio risk

PAR_SQL = (
    "SELECT SUM(CASE WHEN days_past_due > {days} THEN outstanding ELSE 0 END) / SUM(outstanding)"
    " FROM mart_loan_month WHERE year_month = (SELECT MAX(year_month) FROM mart_loan_month {where}) {and_where}"
)


def par_sql(days: int, where: str = "") -> str:
    return PAR_SQL.format(
        days=days, where=f"WHERE {where}" if where else "", and_where=f"AND {where}" if where else ""
    )


def kpi_texts(page: Any) -> dict[str, tuple[str, str]]:
    shown: dict[str, tuple[str, str]] = page.eval_on_selector_all(
        ".kpi",
        "els => Object.fromEntries(els.map(e => [e.dataset.visual,"
        " [e.querySelector('.kpi-value').textContent, e.querySelector('.kpi-sub').textContent]]))",
    )
    return shown


def test_portfolio_risk_kpis_equal_the_sql(page: Any, built: tuple[Env, Path]) -> None:
    env = built[0]
    shown = kpis(page)
    latest = env.scalar("SELECT MAX(year_month) FROM mart_loan_month")
    assert close(shown["par30"], env.scalar(par_sql(30)))
    assert close(shown["par90"], env.scalar(par_sql(90)))
    assert shown["par30"] and shown["par90"] and 0 < shown["par90"] < shown["par30"] < 1
    assert close(
        shown["outstanding"],
        env.scalar("SELECT SUM(outstanding) FROM mart_loan_month WHERE year_month = ?", [latest]),
    )
    quarter, ks, gini = env.query(
        "SELECT origination_quarter, MAX(ks), MAX(gini) FROM mart_score_monitoring WHERE ks IS NOT NULL"
        " GROUP BY 1 ORDER BY 1 DESC LIMIT 1"
    )[0]
    assert close(shown["ks"], ks) and close(shown["gini"], gini)
    texts = kpi_texts(page)
    assert texts["kpi_par30"][1].startswith(f"{latest} \u00b7 ") and " pp vs " in texts["kpi_par30"][1]
    assert texts["kpi_ks"][1].startswith(quarter)
    assert texts["kpi_outstanding"][0].startswith("NGN ") and "," in texts["kpi_outstanding"][0]
    try:  # a filter: the KPIs follow it
        page.select_option("#f-employment", "Employed")
        after = kpis(page)
        assert close(after["par30"], env.scalar(par_sql(30, "employment_status = 'Employed'")))
        assert after["par30"] != shown["par30"]
    finally:
        page.click("#f-reset")


def _traces(page: Any, visual: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = page.evaluate(
        "id => document.getElementById(id).data.map(t => ({name: t.name, x: t.x, y: t.y, z: t.z, text: t.text,"
        " color: (t.marker || {}).color, type: t.type}))",
        f"v-{visual}",
    )
    return data


def test_the_risk_visuals_read_their_marts(page: Any, built: tuple[Env, Path]) -> None:
    env = built[0]
    # DPD distribution: one stacked bar per month, outstanding by bucket
    dpd = {t["name"]: dict(zip(t["x"], t["y"], strict=True)) for t in _traces(page, "dpd_distribution")}
    assert list(dpd) == ["Current", "1-30 days", "31-60 days", "61-90 days", "90+ days"]
    sql = dict(
        env.query(
            "SELECT year_month, SUM(dpd_90_plus_outstanding) FROM mart_portfolio_at_risk_monthly GROUP BY 1"
        )
    )
    assert set(dpd["90+ days"]) == set(sql) and all(close(dpd["90+ days"][m], sql[m]) for m in sql)
    # vintage curves: one line per origination month
    vintages = _traces(page, "vintage_default")
    cohorts = [
        c for (c,) in env.query("SELECT DISTINCT origination_month FROM mart_vintage_curves ORDER BY 1")
    ]
    assert [t["name"] for t in vintages] == cohorts
    first = vintages[0]
    rate = dict(
        env.query(
            "SELECT months_on_book, SUM(defaulted_loans) * 1.0 / SUM(loans) FROM mart_vintage_curves"
            " WHERE origination_month = ? GROUP BY 1",
            [cohorts[0]],
        )
    )
    assert all(close(y, rate[x]) for x, y in zip(first["x"], first["y"], strict=True))
    # default rate by score decile, and the PSI of the default baseline
    bars_ = _traces(page, "default_by_decile")[0]
    decile = dict(zip(bars_["x"], bars_["y"], strict=True))
    sql = dict(
        env.query(
            "SELECT score_decile, SUM(defaulted_loans) * 1.0 / SUM(loans) FROM mart_score_monitoring GROUP BY 1"
        )
    )
    assert {int(k) for k in decile} == set(sql) and all(close(decile[str(k)], v) for k, v in sql.items())
    psi = _traces(page, "psi_trend")[0]
    sql = dict(
        env.query("SELECT year_month, psi FROM mart_score_stability_monthly WHERE is_default_baseline = 1")
    )
    assert set(psi["x"]) == set(sql) and all(
        close(y, sql[x]) for x, y in zip(psi["x"], psi["y"], strict=True)
    )


def test_heatmap_cells_show_their_share_and_n(page: Any, built: tuple[Env, Path]) -> None:
    env = built[0]
    grey, main = _traces(page, "roll_rates")
    counts = {
        (f, t): int(n)
        for f, t, n in env.query(
            "SELECT from_bucket, to_bucket, SUM(loans) FROM mart_roll_rates GROUP BY 1, 2"
        )
    }
    rows = {f: sum(n for (g, _), n in counts.items() if g == f) for f, _ in counts}
    assert main["y"][0] == "current" and main["x"] == ["current", "1-30", "31-60", "61-90", "90+"]
    for i, f in enumerate(main["y"]):
        for j, t in enumerate(main["x"]):
            n = counts.get((f, t), 0)
            assert main["text"][i][j].endswith(f"n={n:,}"), (f, t)
            low = n < 5
            assert (grey["z"][i][j] == 1) == low and (main["z"][i][j] is None) == low, (f, t)
            if not low:
                assert close(main["z"][i][j], n / rows[f])
    labels = page.eval_on_selector_all("#v-roll_rates .heatmap-label", "els => els.map(e => e.textContent)")
    assert f"n={counts[('current', 'current')]:,}" in "".join(labels)
    # the default heatmap: a colour scale from 0, n in every cell, grey under 10 loans
    layout = page.evaluate("() => document.getElementById('v-default_heatmap').data[1]")
    assert layout["zmin"] == 0 and layout["zmax"] > 0
    assert all("n=" in cell for row in layout["text"] for cell in row)


def _colors(page: Any, visual: str) -> dict[str, str]:
    return {t["name"]: t["color"] for t in _traces(page, visual)}


def test_category_colours_are_fixed_across_filters(page: Any) -> None:
    before = _colors(page, "volume_by_category")
    assert before["utilities"] != before["airtime"]
    assert len(set(before.values())) == len(before)
    try:
        page.select_option("#f-band", "Poor")
        after = _colors(page, "volume_by_category")
        assert after and all(after[k] == before[k] for k in after)
        page.select_option("#f-employment", "Unemployed")
        assert all(c == before[k] for k, c in _colors(page, "volume_by_category").items())
    finally:
        page.click("#f-reset")


def test_axes_money_and_empty_visuals(page: Any) -> None:
    layout = page.evaluate("() => document.getElementById('v-monthly_trend').layout.yaxis")
    assert layout["rangemode"] == "tozero" and layout["tickformat"] == ",d" and layout["dtick"] >= 1
    assert float(layout["dtick"]).is_integer()
    money = page.evaluate("() => document.getElementById('v-loans_by_state').layout.yaxis")
    assert money["tickprefix"] == "NGN " and money["tickformat"] == ",.0f"
    months = page.eval_on_selector_all("#f-month-from option", "els => els.map(e => e.value)")
    try:  # a month range that matches nothing: every chart says so instead of drawing bare axes
        page.select_option("#f-month-from", months[-1])
        page.select_option("#f-month-to", months[0])
        for visual in ("par_trend", "monthly_trend", "roll_rates"):
            assert page.get_attribute(f"#v-{visual}", "data-empty") == "1", visual
            assert "No data for this filter" in (page.text_content(f"#v-{visual}") or ""), visual
        assert page.get_attribute("#v-loans_by_state_map", "data-empty") == "1"
        assert "No data for this filter" in (page.text_content("#v-loans_by_state_map") or "")
        assert page.text_content('.kpi[data-visual="kpi_par30"] .kpi-value') == "\u2013"
    finally:
        page.click("#f-reset")
    assert page.get_attribute("#v-par_trend", "data-empty") == "0"


def test_top_n_tables_have_no_zero_or_blank_rows(page: Any, built: tuple[Env, Path]) -> None:
    cells = page.evaluate("() => document.getElementById('v-risk_customers').data[0].cells.values")
    betting = cells[6]  # betting_share, shown as a percentage
    assert betting and all(v not in ("", "0.0%") for v in betting)
    top = page.evaluate("() => document.getElementById('v-top_applicants').data[0].cells.values")
    expected = built[0].query(
        "SELECT customer_id FROM mart_top_applicants WHERE total_loan_amount > 0 ORDER BY total_loan_amount DESC LIMIT 3"
    )
    assert top[0][:1] == [expected[0][0]]
    assert all(v.startswith("NGN ") for v in top[6])


def test_loans_by_state_on_the_map(page: Any, built: tuple[Env, Path]) -> None:
    env = built[0]
    paths = page.eval_on_selector_all(
        "#v-loans_by_state_map path",
        "els => els.map(e => [e.dataset.region, e.dataset.value, e.getAttribute('fill')])",
    )
    assert len(paths) == 37
    shaded = {region: float(value) for region, value, _ in paths if value}
    sql = dict(env.query("SELECT state, SUM(total_loan_amount) FROM mart_loan_segment_monthly GROUP BY 1"))
    assert close(shaded["lagos"], sql["Lagos"]) and close(shaded["fct"], sql["Abuja FCT"])
    assert len(shaded) == len(sql)  # every state of the data is on the map
    fills = {region: fill for region, _, fill in paths}
    assert fills["lagos"] != fills["sokoto"] == "#f0f0f0"  # no loans in Sokoto: grey
    assert "CC BY 4.0" in (page.text_content("#v-loans_by_state_map .map-credit") or "")


def test_no_approved_line_without_an_approval_status(page: Any, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    rows = "".join(f"A{i},C{i},{1000 + i}.00,2023-0{1 + i % 3}-10,700,Employed,50000.00\n" for i in range(9))
    write(env.data, "loan_applications", "apps.csv", f"{APP_HEADER}\n{rows}")
    assert [f.status for f in env.run().files] == ["loaded"]
    pg = _opened(page.context, write_dashboard(env.settings, tmp_path / "dashboard.html"))
    try:
        assert pg.console_errors == []
        names = pg.evaluate("() => document.getElementById('v-monthly_trend').data.map(t => t.name)")
        assert names == ["Applications"]
        assert pg.text_content('.kpi[data-visual="kpi_approval_rate"] .kpi-value') == "\u2013"
        # no repayments: the risk sheet says so rather than drawing empty axes
        assert pg.get_attribute("#v-par_trend", "data-empty") == "1"
    finally:
        pg.close()
