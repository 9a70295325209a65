"""File lineage and conflicts: nothing in the warehouse changes without a trace (issue 16's cases).

Every case runs on DuckDB and on a real PostgreSQL server and asserts the exact warehouse state afterwards:
rows, exact decimal sums, ledger counts, open and resolved quarantine rows.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from etl import contracts
from etl.quarantine import read_quarantine, replay
from tests.helpers import APP_HEADER, STMT_HEADER, Env, by_path, make_env, write
from tests.load.warehouse.pg import make_pg_env


@pytest.fixture(params=["duckdb", "postgres"])
def lenv(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    if request.param == "postgres":
        return make_pg_env(tmp_path, str(request.getfixturevalue("postgres_url")))
    return make_env(tmp_path)


def apps(*rows: str) -> str:
    return APP_HEADER + "\n" + "\n".join(rows) + "\n"


def statements(*rows: str) -> str:
    return STMT_HEADER + "\n" + "\n".join(rows) + "\n"


def app_row(i: int, amount: str = "", status: str = "Employed", customer: str = "") -> str:
    return f"A{i},{customer or f'C{i}'},{amount or f'{i}00.{i:02d}'},2023-01-{i:02d},700,{status},12000.00"


def ledger(env: Env) -> list[tuple[Any, ...]]:
    return env.query(
        "SELECT file_name, status, superseded_by IS NOT NULL, rows_inserted, rows_updated, rows_unchanged, "
        "rows_removed, rows_conflicting FROM etl_file_ledger ORDER BY finished_at, file_name"
    )


def quality(env: Env) -> list[tuple[Any, ...]]:
    return env.query(
        "SELECT source, status, files, current_files, rows_in, rows_loaded, rows_quarantined, "
        "rows_quarantine_open, rows_quarantine_resolved FROM mart_data_quality ORDER BY source, status"
    )


# ---- a new version of a file replaces its previous version exactly -------------------------------------------


def test_a_corrected_version_that_drops_rows_replaces_the_previous_version_exactly(lenv: Env) -> None:
    path = write(lenv.data, "loan_applications", "apps.csv", apps(*(app_row(i) for i in range(1, 11))))
    [first] = lenv.run().files
    assert (first.status, first.rows_loaded, first.rows_inserted) == ("loaded", 10, 10)
    assert lenv.scalar("SELECT SUM(loan_amount) FROM fact_loan_application") == Decimal("5500.55")

    # the corrected export: A9 and A10 withdrawn, A3's amount corrected, the rest unchanged
    path.write_text(apps(*(app_row(i, amount="333.33" if i == 3 else "") for i in range(1, 9))))
    [second] = lenv.run().files

    assert (second.status, second.rows_in, second.rows_loaded) == ("loaded", 8, 8)
    counts = (second.rows_inserted, second.rows_updated, second.rows_unchanged, second.rows_removed)
    assert counts == (0, 1, 7, 2)
    assert lenv.query("SELECT COUNT(*), SUM(loan_amount) FROM fact_loan_application") == [
        (8, Decimal("3633.66"))  # i00.0i for i = 1..8, with A3 at 333.33 instead of 300.03
    ]
    assert lenv.scalar("SELECT COUNT(DISTINCT source_file_id) FROM fact_loan_application") == 1
    # the withdrawn applications' customers had nothing else: they are gone, the others are current
    assert [
        r[0] for r in lenv.query("SELECT customer_id FROM dim_customer WHERE customer_key <> -1 ORDER BY 1")
    ] == [f"C{i}" for i in range(1, 9)]
    assert ledger(lenv) == [
        ("apps.csv", "loaded", True, 10, 0, 0, 0, 0),
        ("apps.csv", "loaded", False, 0, 1, 7, 2, 0),
    ]
    assert lenv.query("SELECT COUNT(*) FROM etl_file_ledger WHERE superseded_by = ?", (second.file_id,)) == [
        (1,)
    ]
    # a logical file counts once on the quality dashboard: its current version
    assert quality(lenv) == [("loan_applications", "loaded", 2, 1, 8, 8, 0, 0, 0)]

    # the first version's bytes again, under any name: skipped, nothing changes (a late redelivery)
    write(lenv.data, "loan_applications", "apps-copy.csv", apps(*(app_row(i) for i in range(1, 11))))
    assert by_path(lenv.run())["apps-copy.csv"].status == "skipped_duplicate"
    assert lenv.scalar("SELECT COUNT(*) FROM fact_loan_application") == 8


def test_a_new_statement_version_removes_the_transactions_it_no_longer_has(lenv: Env) -> None:
    path = write(
        lenv.data,
        "bank_statements",
        "june.csv",
        statements(
            "T1,C1,2023-06-01,-5.00,POS,95.00",
            "T2,C1,2023-06-02,-7.00,POS,88.00",
            "T3,C2,2023-06-03,9.00,SALARY,9.00",
        ),
    )
    lenv.run()
    path.write_text(statements("T1,C1,2023-06-01,-5.00,POS,95.00", "T2,C1,2023-06-02,-8.00,POS,87.00"))
    [again] = lenv.run().files
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged, again.rows_removed) == (0, 1, 1, 1)
    assert lenv.query("SELECT COUNT(*), SUM(transaction_amount) FROM fact_bank_transaction") == [
        (2, Decimal("-13.00"))
    ]
    # C2 was known only from T3: an inferred member nothing references any more goes
    assert [r[0] for r in lenv.query("SELECT customer_id FROM dim_customer WHERE customer_key <> -1")] == [
        "C1"
    ]


# ---- conflicts across files: the source's policy, always counted ----------------------------------------------


def test_a_statement_reusing_another_statements_ids_is_rejected_and_changes_nothing(lenv: Env) -> None:
    january = statements(*(f"T{i},C1,2023-01-{i:02d},-{i}.00,POS,{100 - i}.00" for i in range(1, 6)))
    february = statements(*(f"T{i},C1,2023-02-{i:02d},-{i}0.00,POS,{50 - i}.00" for i in range(1, 6)))
    write(lenv.data, "bank_statements", "jan.csv", january)
    assert lenv.run().exit_code == 0
    write(lenv.data, "bank_statements", "feb.csv", february)
    report = lenv.run()

    result = by_path(report)
    assert report.exit_code == 1
    assert result["jan.csv"].status == "skipped_duplicate"
    assert result["feb.csv"].status == "rejected"
    assert result["feb.csv"].error is not None
    assert result["feb.csv"].error.startswith(
        "5 of 5 rows (100.0%) were quarantined, above the budget of 50%"
    )
    assert lenv.query("SELECT COUNT(*), SUM(transaction_amount) FROM fact_bank_transaction") == [
        (5, Decimal("-15.00"))  # January's, untouched
    ]
    # the rejected file's quarantine is in the lake, each row naming the file that holds its key
    rows = read_quarantine(lenv.settings.lake, "bank_statements").to_pylist()
    assert [(r["rule"], r["source_row"]) for r in rows] == [("key_conflict", line) for line in range(2, 7)]
    assert rows[0]["reason"].startswith("transaction_id 'T1' is held by bank_statements/jan.csv (file ")
    assert rows[0]["reason"].endswith(
        "with other values; bank_statements's conflict policy is quarantine: this row is not loaded"
    )


def test_conflicting_rows_below_the_budget_are_quarantined_and_the_rest_loads(lenv: Env) -> None:
    write(
        lenv.data,
        "bank_statements",
        "jan.csv",
        statements(*(f"T{i},C1,2023-01-0{i},-{i}.00,POS,1.00" for i in range(1, 6))),
    )
    lenv.run()
    # T4 and T5 again with other values (conflicts), T3 again as it was (unchanged), T6..T9 new
    rows = [
        "T3,C1,2023-01-03,-3.00,POS,1.00",
        "T4,C1,2023-02-04,-40.00,POS,1.00",
        "T5,C1,2023-02-05,-50.00,POS,1.00",
    ]
    rows += [f"T{i},C1,2023-02-0{i},-{i}.00,POS,1.00" for i in range(6, 10)]
    write(lenv.data, "bank_statements", "feb.csv", statements(*rows))
    result = by_path(lenv.run())["feb.csv"]

    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == ("loaded", 7, 5, 2)
    assert (result.rows_inserted, result.rows_unchanged, result.rows_updated, result.rows_conflicting) == (
        4,
        1,
        0,
        2,
    )
    assert lenv.query("SELECT COUNT(*), SUM(transaction_amount) FROM fact_bank_transaction") == [
        (9, Decimal("-45.00"))  # T1..T9 at -i.00: January's T4 and T5 kept
    ]
    assert lenv.query(
        "SELECT rows_conflicting, rows_quarantined FROM etl_file_ledger WHERE file_name = 'feb.csv'"
    ) == [(2, 2)]
    assert lenv.query("SELECT rule, key_value, source_row FROM etl_quarantine ORDER BY source_row") == [
        ("key_conflict", "T4", 3),
        ("key_conflict", "T5", 4),
    ]


def test_an_application_changed_in_a_later_file_is_updated_and_counted(lenv: Env) -> None:
    header = APP_HEADER + ",application_status"
    write(
        lenv.data,
        "loan_applications",
        "jan.csv",
        header + "\nA1,C1,100.00,2023-01-02,700,Employed,1000.00,pending\n",
    )
    lenv.run()
    write(
        lenv.data,
        "loan_applications",
        "feb.csv",
        header + "\nA1,C1,100.00,2023-01-02,700,Employed,1000.00,approved\n",
    )
    result = by_path(lenv.run())["feb.csv"]
    assert (result.status, result.rows_updated, result.rows_conflicting) == ("loaded", 1, 1)
    assert lenv.query("SELECT application_status, source_file_id FROM fact_loan_application") == [
        ("approved", result.file_id)
    ]


def test_a_reject_policy_rejects_a_file_whose_keys_another_file_holds(
    lenv: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements_contract = dataclasses.replace(contracts.BANK_STATEMENTS, conflict_policy="reject")
    monkeypatch.setitem(contracts.CONTRACTS, "bank_statements", statements_contract)
    write(
        lenv.data,
        "bank_statements",
        "jan.csv",
        statements("T1,C1,2023-01-01,-5.00,POS,1.00", "T2,C1,2023-01-02,-6.00,POS,1.00"),
    )
    lenv.run()
    write(
        lenv.data,
        "bank_statements",
        "feb.csv",
        statements("T2,C1,2023-02-02,-60.00,POS,1.00", "T3,C1,2023-02-03,-7.00,POS,1.00"),
    )
    result = by_path(lenv.run())["feb.csv"]
    assert result.status == "rejected"
    assert result.error == (
        "1 row(s) have a transaction_id that another file holds with other values "
        f"(line 2: held by bank_statements/jan.csv (file {_file_id(lenv, 'jan.csv')[:12]})); "
        "bank_statements's conflict policy is reject"
    )
    assert lenv.scalar("SELECT SUM(transaction_amount) FROM fact_bank_transaction") == Decimal("-11.00")


# ---- a file that is mostly bad fails loudly -------------------------------------------------------------------


def test_a_file_whose_rows_are_all_quarantined_is_rejected_with_its_quarantine_kept(lenv: Env) -> None:
    rows = [f"A{i},C{i},100.00,0{i}/01/2023,700,Employed,1000.00" for i in range(1, 4)]  # DD/MM/YYYY
    write(lenv.data, "loan_applications", "ddmm.csv", apps(*rows))
    report = lenv.run()
    [result] = report.files
    assert report.exit_code == 1
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == (
        "rejected",
        0,
        0,
        0,
    )
    assert result.error == (
        "3 of 3 rows (100.0%) were quarantined, above the budget of 50% for a loan_applications file: nothing "
        f"of it is loaded; see why with `etl quarantine list --rows --file-id {result.file_id[:12]}`"
    )
    assert lenv.scalar("SELECT COUNT(*) FROM fact_loan_application") == 0
    assert lenv.query("SELECT status, rows_in, quarantine_uri FROM etl_file_ledger") == [
        ("rejected", 0, None)
    ]
    reasons = [r["reason"] for r in read_quarantine(lenv.settings.lake, "loan_applications").to_pylist()]
    assert reasons[0] == "loan_application_date '01/01/2023' is not a valid date (expected YYYY-MM-DD)"
    assert len(reasons) == 3


def test_a_file_at_its_budget_loads(lenv: Env) -> None:
    write(
        lenv.data,
        "loan_applications",
        "half.csv",
        apps(app_row(1), "A2,C2,oops,2023-01-02,700,Employed,1.00"),
    )
    [result] = lenv.run().files
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 1)


# ---- a quarantine with a lifecycle ------------------------------------------------------------------------------


def test_a_corrected_version_resolves_the_quarantine_and_rows_count_once(lenv: Env) -> None:
    bad = [app_row(i) for i in range(1, 4)] + ["A4,C4,-1.00,2023-01-04,700,Employed,1.00"]
    path = write(lenv.data, "loan_applications", "apps.csv", apps(*bad))
    lenv.run()
    assert lenv.query("SELECT key_value, state FROM mart_quarantine") == [("A4", "open")]
    assert quality(lenv) == [("loan_applications", "loaded", 1, 1, 4, 3, 1, 1, 0)]

    path.write_text(apps(*(app_row(i) for i in range(1, 5))))  # the fixed export, all 4 rows valid
    lenv.run()
    assert lenv.query("SELECT key_value, state FROM mart_quarantine") == [("A4", "superseded")]
    assert quality(lenv) == [("loan_applications", "loaded", 2, 1, 4, 4, 0, 0, 0)]


def test_a_later_file_loading_a_quarantined_key_resolves_it(lenv: Env) -> None:
    write(
        lenv.data,
        "loan_applications",
        "jan.csv",
        apps(app_row(1), "A2,C2,-1.00,2023-01-02,700,Employed,1.00"),
    )
    lenv.run()
    write(lenv.data, "loan_applications", "fix.csv", apps(app_row(2)))
    lenv.run()
    assert lenv.query("SELECT key_value, state FROM mart_quarantine") == [("A2", "resolved")]
    assert lenv.query(
        "SELECT SUM(rows_quarantine_open), SUM(rows_quarantine_resolved) FROM mart_data_quality"
    ) == [(0, 1)]


# ---- replay follows the load order ------------------------------------------------------------------------------


def _widen_employment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The product now accepts `Retired`: rows quarantined as invalid_enum pass on replay."""
    base = contracts.CONTRACTS["loan_applications"]
    allowed = {**base.column("employment_status").allowed, "retired": "Retired"}
    columns = tuple(
        dataclasses.replace(c, allowed=allowed) if c.name == "employment_status" else c for c in base.columns
    )
    monkeypatch.setitem(contracts.CONTRACTS, "loan_applications", dataclasses.replace(base, columns=columns))


def _file_id(env: Env, name: str) -> str:
    return str(env.scalar("SELECT file_id FROM etl_file_ledger WHERE file_name = ?", (name,)))


def test_replay_compares_keys_as_loading_does_and_never_overwrites_a_newer_row(
    lenv: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        lenv.data,
        "loan_applications",
        "jan.csv",
        apps(app_row(1), " A2 ,C2,222.00,2023-01-02,700,Retired,1.00"),
    )
    lenv.run()
    write(lenv.data, "loan_applications", "feb.csv", apps(app_row(2, amount="999.00")))
    lenv.run()  # February loads A2: January's quarantined " A2 " is an older version of it
    _widen_employment(monkeypatch)
    [plan], report = replay(lenv.settings, ["loan_applications"])
    assert plan.rows == 0
    assert plan.skipped == {
        "application_id loaded since by a later file: the warehouse has a newer version": 1
    }
    assert report.files == []
    assert lenv.query("SELECT loan_amount FROM fact_loan_application WHERE application_id = 'A2'") == [
        (Decimal("999.00"),)
    ]


def test_replay_loads_the_latest_quarantined_version_of_a_key(
    lenv: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        lenv.data,
        "loan_applications",
        "jan.csv",
        apps(app_row(1), "A2,C2,111.00,2023-01-02,700,Retired,1.00"),
    )
    lenv.run()
    write(
        lenv.data,
        "loan_applications",
        "feb.csv",
        apps(app_row(3), "A2,C2,222.00,2023-01-02,700,Retired,1.00"),
    )
    lenv.run()
    _widen_employment(monkeypatch)
    [plan], report = replay(lenv.settings, ["loan_applications"])
    assert (plan.rows, plan.skipped) == (
        1,
        {"a later file quarantined the same key: its row is the one replayed": 1},
    )
    [replayed] = report.files
    assert (replayed.status, replayed.rows_loaded) == ("loaded", 1)
    assert lenv.query(
        "SELECT loan_amount, employment_status FROM fact_loan_application WHERE application_id = 'A2'"
    ) == [(Decimal("222.00"), "Retired")]
    assert lenv.query("SELECT replay_of FROM etl_file_ledger WHERE file_id = ?", (replayed.file_id,)) == [
        (_file_id(lenv, "feb.csv"),)
    ]
    # both quarantined copies of A2 are resolved now (February's by its replay, January's by a later load)
    assert lenv.query("SELECT file_name, state FROM mart_quarantine ORDER BY file_name") == [
        ("feb.csv", "resolved"),
        ("jan.csv", "resolved"),
    ]


def test_replay_applies_a_correction_newer_than_what_the_warehouse_holds(
    lenv: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(lenv.data, "loan_applications", "jan.csv", apps(app_row(2, amount="100.00")))
    lenv.run()
    write(
        lenv.data,
        "loan_applications",
        "feb.csv",
        apps(app_row(1), "A2,C2,200.00,2023-01-02,700,Retired,1.00"),
    )
    lenv.run()
    assert lenv.query("SELECT key_value, state FROM mart_quarantine") == [("A2", "open")]
    _widen_employment(monkeypatch)
    [plan], report = replay(lenv.settings, ["loan_applications"])
    assert plan.rows == 1
    [replayed] = report.files
    assert (replayed.rows_updated, replayed.rows_conflicting) == (1, 1)
    assert lenv.query("SELECT loan_amount FROM fact_loan_application WHERE application_id = 'A2'") == [
        (Decimal("200.00"),)
    ]
    assert lenv.query("SELECT state FROM mart_quarantine") == [("resolved",)]


def test_an_upload_named_like_a_replay_is_an_ordinary_file(
    lenv: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "quarantine-replay-loan_applications-0123456789ab.csv"
    write(lenv.data, "loan_applications", name, apps(app_row(1), "A2,C2,200.00,2023-01-02,700,Retired,1.00"))
    lenv.run()
    assert lenv.query("SELECT replay_of, logical_name FROM etl_file_ledger") == [
        (None, f"loan_applications/{name}")
    ]
    _widen_employment(monkeypatch)
    [plan], report = replay(lenv.settings, ["loan_applications"])
    assert plan.rows == 1  # its quarantined row is replayable like any file's
    assert [f.status for f in report.files] == ["loaded"]


def test_a_value_with_a_bare_carriage_return_round_trips_through_replay(
    lenv: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = APP_HEADER + ",loan_purpose"
    write(
        lenv.data,
        "loan_applications",
        "apps.csv",
        header
        + "\n"
        + app_row(1)
        + ",car\n"
        + 'A2,C2,200.00,2023-01-02,700,Retired,1.00,"home\rimprovement\r\n2"\n',
    )
    lenv.run(max_quarantine_rate=1.0)
    _widen_employment(monkeypatch)
    [plan], report = replay(lenv.settings, ["loan_applications"])
    [made] = plan.files
    assert b'"home\rimprovement\r\n2"' in made.content
    assert [f.rows_loaded for f in report.files] == [1]
    assert lenv.query("SELECT loan_purpose FROM fact_loan_application WHERE application_id = 'A2'") == [
        ("home\rimprovement\r\n2",)
    ]
    # the replay's lake file keeps the CSV, and its fact rows point at it
    replayed = pq.read_table(report.files[0].lake_uri).to_pylist()
    assert [r["application_id"] for r in replayed] == ["A2"]
