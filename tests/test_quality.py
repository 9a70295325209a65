"""Data tests find what is wrong, with exact counts, whether they run alone or batched per table."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from etl.load.warehouse import open_warehouse
from etl.quality import batched_queries, data_tests, run_data_tests
from tests.helpers import APP_HEADER, STMT_HEADER, Env, make_env, write
from tests.load.warehouse.pg import make_pg_env

AT = datetime(2024, 5, 1, 12, 0, 0)


@pytest.fixture(params=["duckdb", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    if request.param == "postgres":
        return make_pg_env(tmp_path, str(request.getfixturevalue("postgres_url")))
    return make_env(tmp_path)


def _load(env: Env) -> None:
    write(
        env.data,
        "loan_applications",
        "apps.csv",
        f"{APP_HEADER}\n"
        "A1,C1,1000,2023-01-10,700,Employed,50000\n"
        "A2,C2,2000,2023-02-10,650,Employed,40000\n"
        "A3,C3,3000,2023-03-10,600,Unemployed,0\n",
    )
    write(
        env.data,
        "bank_statements",
        "s.csv",
        f"{STMT_HEADER}\n"
        + "".join(f"T{i},C{i % 3 + 1},2023-04-0{i},{i}00.50,POS PURCHASE,{i}000\n" for i in range(1, 6)),
    )
    report = env.run()
    assert report.exit_code == 0


def _corrupt(env: Env, *, duplicate: bool) -> None:
    with open_warehouse(env.settings) as wh, wh.transaction():
        wh.execute("UPDATE fact_bank_transaction SET direction = 'sideways' WHERE transaction_id = 'T1'")
        wh.execute(
            "UPDATE fact_bank_transaction SET customer_key = 12345 WHERE transaction_id IN ('T2', 'T3', 'T4')"
        )
        wh.execute("UPDATE fact_loan_application SET credit_score = 900 WHERE application_id = 'A1'")
        wh.execute("UPDATE fact_loan_application SET loan_amount = -5 WHERE application_id IN ('A2', 'A3')")
        # a score above 100 (the rows without one, NULL, pass)
        wh.execute("UPDATE fact_loan_application SET fraud_score = 100.5 WHERE application_id = 'A3'")
        if duplicate:  # PostgreSQL's primary key refuses this one
            wh.execute(
                "INSERT INTO fact_bank_transaction SELECT * FROM fact_bank_transaction WHERE transaction_id = 'T5'"
            )


def test_every_broken_rule_is_counted_exactly(env: Env) -> None:
    _load(env)
    duplicate = env.settings.warehouse_url.startswith("duckdb")
    _corrupt(env, duplicate=duplicate)
    with open_warehouse(env.settings) as wh:
        results = run_data_tests(wh, "check", AT)
    failing = {r.name: r.failures for r in results if r.status == "fail"}
    expected = {
        "accepted_values_fact_bank_transaction_direction": 1,
        "range_fact_bank_transaction_transaction_amount_sign": 1,
        "relationships_fact_bank_transaction_customer_key_to_dim_customer": 3,
        "range_fact_loan_application_credit_score": 1,
        "range_fact_loan_application_loan_amount": 2,
        "range_fact_loan_application_fraud_score": 1,
    }
    if duplicate:
        expected["unique_fact_bank_transaction_transaction_id"] = 1
        expected["lineage_fact_bank_transaction_source_file_in_ledger"] = 1  # 6 rows, 5 loaded
    assert failing == expected
    assert {r.name for r in results} == {t.name for t in data_tests()}
    stored = env.query(
        "SELECT test_name, status, failures FROM etl_data_test_result WHERE run_id = ? AND status = 'fail'",
        ["check"],
    )
    assert {name: failures for name, status, failures in stored} == expected
    assert env.scalar("SELECT COUNT(*) FROM etl_data_test_result WHERE run_id = ?", ["check"]) == len(results)


def test_row_level_tests_share_one_query_per_table() -> None:
    tests = data_tests()
    queries = batched_queries(tests)
    for sql, batch in queries:
        if any(t.condition is not None for t in batch):
            assert all(t.condition is not None for t in batch)
            assert len({t.table for t in batch}) == 1  # never across tables
            assert sql.count("SUM(CASE WHEN") == len(batch)
        else:
            assert batch == [next(t for t in tests if t.sql == sql)]
    tables = {t.table for t in tests if t.condition is not None}
    assert sum(1 for _, batch in queries if batch[0].condition is not None) == len(tables)
    assert len(queries) < len(tests) // 2  # the point of batching
    assert sorted(t.name for _, batch in queries for t in batch) == sorted(t.name for t in tests)


@pytest.mark.parametrize("doc", ["README.md", "docs/aws-runtime.md"])
def test_the_documented_run_report_counts_the_real_suite(doc: str) -> None:
    text = (Path(__file__).parent.parent / doc).read_text(encoding="utf-8")
    assert f'"data_tests": {{"passed": {len(data_tests())}, "not_passed": []}}' in text


def test_the_readme_table_names_every_kind_of_data_test() -> None:
    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("## Data tests", 1)[1].split("\n## ", 1)[0]
    kinds = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")} - {"kind"}
    assert kinds == {t.test_type for t in data_tests()}
