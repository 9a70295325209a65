"""Data tests scoped to what a run changed agree with the whole suite on what fails.

Every fixture is loaded run by run with `ETL_DATA_TESTS=scoped`; after each run the whole suite runs on the
same warehouse. What the scoped suite reports fails in the whole suite too, and every test the whole suite
fails either failed before the run or is reported by the scoped suite. Then failures are injected into the
rows of a run (DuckDB and PostgreSQL): both suites name the same tests, with the same counts for the row tests.
Damage outside a run's rows is the whole suite's to find: `etl quality`, and the first run of each UTC day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from etl.load.warehouse import open_warehouse
from etl.pipeline import RunReport
from etl.quality import DataTestResult, RunScope, choose_scope, data_tests, run_data_tests
from etl.tools.generate import generate_dataset
from tests.helpers import APP_HEADER, REPAY_HEADER, STMT_HEADER, Env, make_env, write
from tests.load.warehouse.pg import make_pg_env

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data"


def failing(results: list[DataTestResult]) -> set[str]:
    return {r.name for r in results if r.status == "fail"}


def whole_suite(env: Env) -> list[DataTestResult]:
    with open_warehouse(env.settings) as wh:
        return run_data_tests(wh, "whole-suite", datetime.now())


def load_run_by_run(env: Env, steps: list[list[Path]]) -> list[tuple[set[str], set[str]]]:
    """Each step as one scoped run; (what the scoped suite failed, what the whole suite fails after it)."""
    seen: list[tuple[set[str], set[str]]] = []
    before: set[str] = set()
    for paths in steps:
        report = env.run(paths, data_tests="scoped")
        assert report.data_tests, "a scoped run records its tests"
        scoped, after = failing(report.data_tests), failing(whole_suite(env))
        assert scoped <= after, f"{paths}: scoped reports {scoped - after} the whole suite does not"
        assert after <= scoped | before, f"{paths}: the run broke {after - scoped - before} unseen"
        seen.append((scoped, after))
        before = after
    return seen


# ---- every fixture, run by run ---------------------------------------------------------------------------


def _sample(tmp: Path, order: tuple[str, ...]) -> list[list[Path]]:
    steps = [[SAMPLE / source] for source in order]
    return [*steps, [SAMPLE / source for source in order]]  # and all of it again: every file a duplicate


def _indicina(tmp: Path, sample: Path) -> list[list[Path]]:
    folder = tmp / "in" / "loan_application"
    folder.mkdir(parents=True)
    (folder / "loan_data.csv").write_bytes(sample.read_bytes())
    return [[folder], [folder]]


def _generated(tmp: Path) -> list[list[Path]]:
    """Dirty generated data, then a second draw with the same ids: corrections that move applications,
    statements and repayments between customers (demoted and removed inferred customers)."""
    steps: list[list[Path]] = []
    for seed in (7, 8):
        paths = generate_dataset(tmp / f"gen{seed}", customers=40, seed=seed, dirty_rate=0.05, months=3)
        steps += [[paths[source].parent] for source in ("loan_applications", "bank_statements", "repayments")]
    return steps


def _corrections(tmp: Path) -> list[list[Path]]:
    """Hand-made: orphan repayments (warn), an inferred customer, a correction that moves A2 to C9 (C2 is
    demoted), a file rejected whole, and the orphans' application arriving last."""
    d = tmp / "hand"
    return [
        [write(d / "1", "repayments", "r.csv", f"{REPAY_HEADER}\nR1,A1,2023-02-10,100.00,,\nR9,A9,2023-02-10,5.00,,\n")],
        [write(d / "2", "loan_applications", "a.csv", f"{APP_HEADER}\nA1,C1,1000,2023-01-10,700,Employed,50000\nA2,C2,2000,2023-01-11,650,Employed,40000\n")],
        [write(d / "3", "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C1,2023-02-01,-10.00,POS SHOP,90.00\nT2,C9,2023-02-02,25.00,SALARY,25.00\n")],
        [write(d / "4", "loan_applications", "a.csv", f"{APP_HEADER}\nA1,C1,1000,2023-01-10,700,Employed,50000\nA2,C9,2000,2023-01-11,650,Employed,40000\n")],
        [write(d / "5", "loan_applications", "bad.csv", "application_id,customer_id\nA3,C3\n")],
        [write(d / "6", "loan_applications", "a9.csv", f"{APP_HEADER}\nA9,C7,500,2023-01-05,600,Unemployed,0\n")],
    ]  # fmt: skip


def _withdrawn(tmp: Path) -> list[list[Path]]:
    """Hand-made lineage: a new version of an applications file withdraws A2, whose repayment (another
    file's row) is left pointing at nothing (a warning); then A2's customer comes back in a statement."""
    d = tmp / "lineage"
    return [
        [write(d / "1", "loan_applications", "a.csv", f"{APP_HEADER}\nA1,C1,1000,2023-01-10,700,Employed,50000\nA2,C2,2000,2023-01-11,650,Employed,40000\n")],
        [write(d / "2", "repayments", "r.csv", f"{REPAY_HEADER}\nR1,A1,2023-02-10,100.00,,\nR2,A2,2023-02-10,5.00,,\n")],
        [write(d / "3", "loan_applications", "a.csv", f"{APP_HEADER}\nA1,C1,1000,2023-01-10,700,Employed,50000\n")],
        [write(d / "4", "bank_statements", "s.csv", f"{STMT_HEADER}\nT1,C2,2023-02-01,-10.00,POS SHOP,90.00\n")],
    ]  # fmt: skip


@pytest.mark.parametrize(
    "fixture", ["sample", "sample_repayments_first", "indicina", "generated", "corrections", "withdrawn"]
)
def test_scoped_and_whole_suites_agree_run_by_run(
    tmp_path: Path, fixture: str, request: pytest.FixtureRequest
) -> None:
    env = make_env(tmp_path)
    steps = {
        "sample": lambda: _sample(tmp_path, ("loan_applications", "bank_statements", "repayments")),
        "sample_repayments_first": lambda: _sample(
            tmp_path, ("repayments", "bank_statements", "loan_applications")
        ),
        "indicina": lambda: _indicina(tmp_path, request.getfixturevalue("indicina_sample")),
        "generated": lambda: _generated(tmp_path),
        "corrections": lambda: _corrections(tmp_path),
        "withdrawn": lambda: _withdrawn(tmp_path),
    }[fixture]()

    seen = load_run_by_run(env, steps)

    assert len(seen) == len(steps)
    if fixture == "corrections":  # the orphans warn until their application arrives, in both suites
        assert [after for _, after in seen] == [
            *[{"relationships_fact_repayment_application_key_to_fact_loan_application"}] * 5,
            set(),
        ]
        assert seen[0][0] == seen[0][1]
    if fixture == "withdrawn":  # the run that removed A2 ran the whole suite: it reports the orphan itself
        orphan = {"relationships_fact_repayment_application_key_to_fact_loan_application"}
        assert seen == [(set(), set()), (set(), set()), (orphan, orphan), (set(), orphan)]


# ---- injected failures in a run's rows ---------------------------------------------------------------------


@pytest.fixture(params=["duckdb", "postgres"])
def backend_env(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    if request.param == "postgres":
        return make_pg_env(tmp_path, str(request.getfixturevalue("postgres_url")))
    return make_env(tmp_path)


def _scope(report: RunReport) -> RunScope:
    return RunScope(tuple(f.file_id for f in report.files if f.file_id), report.started_at)


def _both(env: Env, report: RunReport) -> tuple[dict[str, int], dict[str, int]]:
    with open_warehouse(env.settings) as wh:
        scoped = run_data_tests(wh, "scoped", datetime.now(), scope=_scope(report))
        whole = run_data_tests(wh, "whole", datetime.now())
    return (
        {r.name: r.failures for r in scoped if r.status == "fail"},
        {r.name: r.failures for r in whole if r.status == "fail"},
    )


def _load_history(env: Env) -> None:
    write(
        env.data / "old",
        "loan_applications",
        "a.csv",
        f"{APP_HEADER}\nA1,C1,1000,2023-01-10,700,Employed,50000\nA2,C2,2000,2023-01-11,650,Employed,40000\n",
    )
    write(
        env.data / "old",
        "bank_statements",
        "s.csv",
        f"{STMT_HEADER}\nT1,C1,2023-02-01,-10.00,POS SHOP,90.00\nT2,C2,2023-02-02,25.00,SALARY,25.00\n",
    )
    assert env.run([env.data / "old"]).exit_code == 0  # fmt: skip


def _execute(env: Env, *statements: str) -> None:
    with open_warehouse(env.settings) as wh, wh.transaction():
        for sql in statements:
            wh.execute(sql)


def test_failures_injected_into_a_statement_run_are_found_by_both(backend_env: Env) -> None:
    env = backend_env
    _load_history(env)
    write(env.data / "new", "bank_statements", "s2.csv", f"{STMT_HEADER}\nT3,C1,2023-03-01,-5.00,POS SHOP,85.00\nT4,C8,2023-03-02,40.00,SALARY,40.00\nT5,C2,2023-03-03,-1.00,ATM,24.00\n")  # fmt: skip
    report = env.run([env.data / "new"], data_tests="scoped")
    assert report.exit_code == 0 and failing(report.data_tests) == set()
    c8 = "(SELECT customer_key FROM dim_customer WHERE customer_id = 'C8')"
    _execute(
        env,
        "UPDATE fact_bank_transaction SET direction = 'sideways' WHERE transaction_id = 'T3'",
        "UPDATE fact_bank_transaction SET customer_key = 12345 WHERE transaction_id = 'T5'",
        "UPDATE fact_bank_transaction SET transaction_date_key = 19000101 WHERE transaction_id = 'T5'",
        f"UPDATE dim_customer SET application_count = 7 WHERE customer_key = {c8}",  # C8: inferred by this run
        "UPDATE etl_file_ledger SET rows_in = rows_in + 1 WHERE file_id = "
        "(SELECT source_file_id FROM fact_bank_transaction WHERE transaction_id = 'T3')",
    )
    if env.settings.warehouse_url.startswith("duckdb"):  # PostgreSQL's primary key refuses a duplicate
        _execute(
            env,
            "INSERT INTO fact_bank_transaction SELECT * FROM fact_bank_transaction WHERE transaction_id = 'T4'",
        )

    scoped, whole = _both(env, report)

    expected = {
        "accepted_values_fact_bank_transaction_direction": 1,
        "range_fact_bank_transaction_transaction_amount_sign": 1,
        "relationships_fact_bank_transaction_customer_key_to_dim_customer": 1,
        "relationships_fact_bank_transaction_transaction_date_key_to_dim_date": 1,
        "customer_application_count_matches_facts": 1,
        "ledger_reconciliation": 1,
    }
    if env.settings.warehouse_url.startswith("duckdb"):
        expected["unique_fact_bank_transaction_transaction_id"] = 1
        expected["lineage_fact_bank_transaction_source_file_in_ledger"] = 1  # 4 rows, 3 loaded
    assert scoped == whole == expected


def test_failures_injected_into_an_application_run_are_found_by_both(backend_env: Env) -> None:
    env = backend_env
    _load_history(env)
    # A2 moves from C2 to C3 (C2 keeps its statement: demoted to inferred), A4 is new
    write(env.data / "new", "loan_applications", "a.csv", f"{APP_HEADER}\nA2,C3,2000,2023-01-11,650,Employed,40000\nA4,C4,900,2023-03-01,820,Self-Employed,90000\n")  # fmt: skip
    report = env.run([env.data / "new"], data_tests="scoped")
    assert report.exit_code == 0 and failing(report.data_tests) == set()
    _execute(
        env,
        "UPDATE fact_loan_application SET credit_score = 900, credit_band_key = 99 WHERE application_id = 'A4'",
        "UPDATE fact_loan_application SET employment_status = 'Retired' WHERE application_id = 'A2'",
        "UPDATE dim_customer_history SET is_current = FALSE WHERE customer_id = 'C4'",
        "UPDATE dim_customer SET application_count = 3 WHERE customer_id = 'C2'",  # demoted by this run
        "UPDATE fact_bank_transaction SET customer_key = (SELECT customer_key FROM dim_customer WHERE customer_id = 'C1') "
        "WHERE transaction_id = 'T2'",  # C2, inferred now, is left without a fact (a warning)
    )

    scoped, whole = _both(env, report)

    assert (
        scoped
        == whole
        == {
            "range_fact_loan_application_credit_score": 1,
            "relationships_fact_loan_application_credit_band_key_to_dim_credit_band": 1,
            "accepted_values_fact_loan_application_employment_status": 1,
            "one_current_version_per_customer": 1,
            "customer_application_count_matches_facts": 1,
            "inferred_customers_have_facts": 1,
        }
    )


def test_damage_outside_the_runs_rows_is_the_whole_suites_to_find(env: Env) -> None:
    _load_history(env)
    write(
        env.data / "new",
        "bank_statements",
        "s2.csv",
        f"{STMT_HEADER}\nT3,C1,2023-03-01,-5.00,POS SHOP,85.00\n",
    )
    report = env.run([env.data / "new"], data_tests="scoped")
    _execute(
        env, "UPDATE fact_loan_application SET credit_score = 999 WHERE application_id = 'A1'"
    )  # an old row

    scoped, whole = _both(env, report)

    assert scoped == {} and whole == {"range_fact_loan_application_credit_score": 1}


def test_a_scoped_run_keeps_the_names_of_the_whole_suite(env: Env) -> None:
    _load_history(env)
    write(
        env.data / "new",
        "bank_statements",
        "s2.csv",
        f"{STMT_HEADER}\nT3,C1,2023-03-01,-5.00,POS SHOP,85.00\n",
    )
    report = env.run([env.data / "new"], data_tests="scoped")

    assert [r.name for r in report.data_tests] == [t.name for t in data_tests()]
    stored = env.query("SELECT COUNT(*) FROM etl_data_test_result WHERE run_id = ?", [report.run_id])
    assert stored == [(len(data_tests()),)]
    # the run's scoped queries name its file and its start, the whole suite's none of it
    file_id = report.files[0].file_id
    assert file_id and all(file_id not in t.sql for t in data_tests())
    assert sum(file_id in t.sql for t in data_tests(_scope(report))) > 10


# ---- which runs run the whole suite ------------------------------------------------------------------------


def test_the_first_run_of_a_day_runs_the_whole_suite_then_runs_are_scoped(env: Env) -> None:
    _load_history(env)  # a fresh warehouse: nothing tested today, so this first run tested everything
    now = datetime.now()
    with open_warehouse(env.settings) as wh:
        assert choose_scope("daily", wh, ["f"], since=now, now=now) == RunScope(("f",), now)
        assert choose_scope("full", wh, ["f"], since=now, now=now) is None
        assert choose_scope("scoped", wh, ["f"], since=now, now=now) == RunScope(("f",), now)
        tomorrow = now + timedelta(days=1)
        assert (
            choose_scope("daily", wh, ["f", "f"], since=tomorrow, now=tomorrow) is None
        )  # none yet that day
        assert choose_scope("scoped", wh, ["f", "f"], since=tomorrow, now=tomorrow) == RunScope(
            ("f",), tomorrow
        )


def test_a_run_that_loaded_half_the_warehouse_or_more_runs_the_whole_suite(env: Env) -> None:
    """The whole suite checks everything the scoped one does, and costs less when the run is most of it."""
    _load_history(env)  # two files of two rows each: 4 rows loaded, by the ledger
    now = datetime.now()
    with open_warehouse(env.settings) as wh:
        assert choose_scope("scoped", wh, ["f"], since=now, now=now, loaded_rows=1) == RunScope(("f",), now)
        assert choose_scope("scoped", wh, ["f"], since=now, now=now, loaded_rows=2) is None
        assert choose_scope("daily", wh, ["f"], since=now, now=now, loaded_rows=3) is None
        assert choose_scope("scoped", wh, ["f"], since=now, now=now) == RunScope(
            ("f",), now
        )  # nothing loaded


def test_a_file_id_is_quoted_as_sql_text(env: Env) -> None:
    _load_history(env)
    scope = RunScope(("x' OR '1' = '1",), datetime(2024, 1, 1))
    with open_warehouse(env.settings) as wh:
        results = run_data_tests(wh, "quoted", datetime.now(), scope=scope)
    assert failing(results) == set()
    assert scope.rows("fact_repayment") == "source_file_id IN ('x'' OR ''1'' = ''1')"
