"""Profiles end to end: every layout rule loads exact values into DuckDB and a real PostgreSQL, a value that
breaks its declared format is quarantined with a reason quoting the value and the format, and each file's
report and ledger say which layout read it and which columns it had beyond or short of the contract."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.helpers import STMT_HEADER, TRANSACTIONS, Env, by_path, make_env, write
from tests.load.warehouse.pg import make_pg_env

GTBANK = """
[[layout]]
source = "bank_statements"
folder = "gtbank"
columns = { "Reference" = "transaction_id", "Account No" = "customer_id", "Trans. Date" = "transaction_date", "Remarks" = "narration", "Balance" = "balance" }
date_format = "%d-%b-%Y"
currency = ["\u20a6", "NGN"]
debit = "Debits"
credit = "Credits"
keep = ["Originating Branch"]
[[layout.narration_rules]]
category = "salary"
pattern = "monthly income"
[[layout.narration_rules]]
category = "fuel"
pattern = "gas station"

[[layout]]
source = "bank_statements"
folder = "eurobank"
columns = { "Buchung" = "transaction_id", "Kunde" = "customer_id", "Datum" = "transaction_date", "Betrag" = "transaction_amount", "Text" = "narration", "Saldo" = "balance" }
date_format = "%d.%m.%Y"
decimal = ","
thousands = "."
"""
GT_HEADER = "Reference,Account No,Trans. Date,Remarks,Debits,Credits,Balance,Originating Branch"


@pytest.fixture(params=["duckdb", "postgres"])
def penv(request: pytest.FixtureRequest, tmp_path: Path) -> Env:
    env = (
        make_pg_env(tmp_path, str(request.getfixturevalue("postgres_url")))
        if request.param == "postgres"
        else make_env(tmp_path)
    )
    profile = tmp_path / "banks.toml"
    profile.write_text(GTBANK, encoding="utf-8")
    env.settings = env.settings.model_copy(update={"profile": str(profile), "max_quarantine_rate": 1.0})
    return env


def facts(env: Env) -> list[tuple[Any, ...]]:
    return env.query(
        "SELECT transaction_id, customer_id, transaction_date, transaction_amount, direction, balance, "
        f"category FROM {TRANSACTIONS} ORDER BY transaction_id"
    )


def test_a_bank_export_loads_with_its_layout_exactly(penv: Env) -> None:
    write(
        penv.data,
        "bank_statements",
        "gtbank/june.csv",
        f"{GT_HEADER}\n"
        'G1,C1,05-Jan-2024,Monthly Income,,"\u20a6250,000.00","\u20a6250,000.00",Ikeja\n'
        'G2,C1,6-jan-2024,GAS STATION LEKKI,"\u20a61,200.50",,"\u20a6248,799.50",Ikeja\n'
        "G3,C1,07-Jan-2024,POS PURCHASE SHOPRITE,NGN 99.99,0.00,248699.51,\n"
        'G4,C1,31-Jan-2024,NIP TRF TO ADA,"1,000,000.00",,"-\u20a6751,300.49",Wuse II\n',
    )
    [result] = penv.run().files
    assert (result.status, result.rows_in, result.rows_loaded) == ("loaded", 4, 4)
    assert facts(penv) == [
        ("G1", "C1", _d("2024-01-05"), Decimal("250000.00"), "credit", Decimal("250000.00"), "salary"),
        ("G2", "C1", _d("2024-01-06"), Decimal("-1200.50"), "debit", Decimal("248799.50"), "fuel"),
        ("G3", "C1", _d("2024-01-07"), Decimal("-99.99"), "debit", Decimal("248699.51"), "pos"),
        ("G4", "C1", _d("2024-01-31"), Decimal("-1000000.00"), "debit", Decimal("-751300.49"), "transfer"),
    ]
    assert penv.scalar("SELECT SUM(transaction_amount) FROM fact_bank_transaction") == Decimal("-751300.49")
    assert penv.query("SELECT layout, extra_columns, missing_columns FROM etl_file_ledger") == [
        (f"{penv.settings.profile}: bank_statements/gtbank", None, "channel, merchant")
    ]
    # the optional columns the export lacks
    assert (result.extra_columns, result.missing_columns) == ([], ["channel", "merchant"])


def test_two_banks_side_by_side_and_a_plain_file_each_read_by_its_own_layout(penv: Env) -> None:
    write(penv.data, "bank_statements", "gtbank/a.csv", f"{GT_HEADER}\nG1,C1,05-Jan-2024,x,,10.00,10.00,\n")
    write(
        penv.data,
        "bank_statements",
        "eurobank/b.csv",
        "Buchung;Kunde;Datum;Betrag;Text;Saldo;Filiale\n"
        "E1;C2;05.01.2024;-7732,50;Miete Januar;1.234.567,89;Berlin\n"
        "E2;C2;06.01.2024;1.500,00;Gehalt SALARY;1.236.067,89;Berlin\n",
    )
    write(penv.data, "bank_statements", "plain.csv", f"{STMT_HEADER}\nP1,C3,2024-01-05,-5.00,POS,1.00\n")
    results = by_path(penv.run())
    assert {name: r.status for name, r in results.items()} == dict.fromkeys(
        ("a.csv", "b.csv", "plain.csv"), "loaded"
    )
    assert [(r[0], r[3], r[5]) for r in facts(penv)] == [
        ("E1", Decimal("-7732.50"), Decimal("1234567.89")),
        ("E2", Decimal("1500.00"), Decimal("1236067.89")),
        ("G1", Decimal("10.00"), Decimal("10.00")),
        ("P1", Decimal("-5.00"), Decimal("1.00")),
    ]
    assert results["b.csv"].extra_columns == ["filiale"]  # not kept by its layout: listed, not loaded
    assert results["b.csv"].layout is not None and results["b.csv"].layout.endswith(
        "bank_statements/eurobank"
    )
    assert results["plain.csv"].layout is None


def test_values_that_break_the_declared_formats_are_quarantined_with_the_value_and_the_format(
    penv: Env,
) -> None:
    write(
        penv.data,
        "bank_statements",
        "gtbank/bad.csv",
        f"{GT_HEADER}\n"
        "G1,C1,05-Jan-2024,ok,,10.00,10.00,\n"
        "G2,C1,30-Feb-2024,no such day,,10.00,20.00,\n"
        "G3,C1,2024-01-05,iso is not this layout's,,10.00,30.00,\n"
        'G4,C1,05-Jan-2024,"decimal comma","1.200,00",,30.00,\n'
        "G5,C1,05-Jan-2024,both sides,5.00,5.00,30.00,\n"
        "G6,C1,05-Jan-2024,neither side,,0.00,30.00,\n",
    )
    [result] = penv.run().files
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 5)
    quarantined = pq.read_table(result.quarantine_uri).sort_by("source_row")
    assert [(row["transaction_id"], row["rule"], row["reason"]) for row in quarantined.to_pylist()] == [
        (
            "G2",
            "invalid_date",
            "transaction_date '30-Feb-2024' does not match the date format %d-%b-%Y",
        ),
        ("G3", "invalid_date", "transaction_date '2024-01-05' does not match the date format %d-%b-%Y"),
        (
            "G4",
            "invalid_number",
            "transaction_amount '-1.200,00' is not a number written as this layout writes them "
            "(decimal '.', thousands ',', currency NGN, \u20a6)",
        ),
        (
            "G5",
            "invalid_number",
            "Debits '5.00' and Credits '5.00' both hold an amount: a row is a debit or a credit",
        ),
        ("G6", "required", "Debits and Credits are both empty or zero"),
    ]
    # the quarantine keeps the file's own text (the signed amount as the layout built it)
    assert quarantined.column("transaction_date").to_pylist()[:2] == ["30-Feb-2024", "2024-01-05"]
    assert penv.scalar("SELECT SUM(transaction_amount) FROM fact_bank_transaction") == Decimal("10.00")


def test_a_semicolon_file_without_a_profile_never_reads_a_decimal_comma_as_thousands(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    write(
        env.data,
        "bank_statements",
        "excel.csv",
        "transaction_id;customer_id;transaction_date;transaction_amount;narration;balance\n"
        "T1;C1;2024-01-05;1,500;POS;10.00\n"
        "T2;C1;2024-01-06;-2.50;POS;7.50\n",
    )
    [result] = env.run(max_quarantine_rate=1.0).files
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    [row] = pq.read_table(result.quarantine_uri).to_pylist()
    assert (row["transaction_id"], row["rule"]) == ("T1", "invalid_number")
    assert "comma" in row["reason"] and "profile" in row["reason"]
    assert env.scalar("SELECT SUM(transaction_amount) FROM fact_bank_transaction") == Decimal("-2.50")


def test_narration_rules_can_replace_the_built_in_ones(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[[layout]]\nsource = "bank_statements"\nnarration_rules_mode = "replace"\n'
        '[[layout.narration_rules]]\ncategory = "rent"\npattern = "house"\n',
        encoding="utf-8",
    )
    write(
        env.data,
        "bank_statements",
        "s.csv",
        f"{STMT_HEADER}\nT1,C1,2024-01-05,-5.00,HOUSE RENT SALARY,1.00\nT2,C1,2024-01-06,-5.00,SALARY,1.00\n",
    )
    env.run(profile=str(profile))
    assert env.query(f"SELECT transaction_id, category FROM {TRANSACTIONS} ORDER BY 1") == [
        ("T1", "rent"),  # the user's rule, not the built-in salary rule
        ("T2", "other"),  # the built-in rules are off
    ]


def test_a_layouts_budget_and_conflict_policy_apply_to_its_files_only(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[[layout]]\nsource = "bank_statements"\nfolder = "strict"\nmax_quarantine_rate = 0.0\n'
        'conflict_policy = "reject"\n',
        encoding="utf-8",
    )
    one_bad = f"{STMT_HEADER}\nT1,C1,2024-01-05,-5.00,POS,1.00\nT2,C1,2024-01-06,0.00,POS,1.00\n"
    write(env.data, "bank_statements", "strict/s.csv", one_bad)
    write(env.data, "bank_statements", "other/s.csv", one_bad.replace("T1", "T3").replace("T2", "T4"))
    results = {r.path.split("/")[-2]: r for r in env.run(profile=str(profile)).files}
    assert results["strict"].status == "rejected"
    assert results["strict"].error is not None and "budget of 0% for layout" in results["strict"].error
    assert (results["other"].status, results["other"].rows_loaded) == ("loaded", 1)
    # T3 is held by other/s.csv; strict's reject policy refuses a file that reuses it
    write(env.data, "bank_statements", "strict/t.csv", f"{STMT_HEADER}\nT3,C1,2024-01-05,-6.00,POS,1.00\n")
    [again] = [r for r in env.run(profile=str(profile)).files if r.path.endswith("t.csv")]
    assert again.status == "rejected"
    assert again.error is not None and "conflict policy of layout" in again.error
    assert env.scalar("SELECT SUM(transaction_amount) FROM fact_bank_transaction") == Decimal("-5.00")


def test_a_column_named_like_a_lineage_column_is_ignored_with_a_note(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    write(
        env.data,
        "bank_statements",
        "s.csv",
        f"source_row,{STMT_HEADER},loaded_at,branch\n99,T1,C1,2024-01-05,-5.00,POS,1.00,yesterday,Ikeja\n",
    )
    [result] = env.run().files
    assert (result.status, result.rows_loaded) == ("loaded", 1)
    assert result.extra_columns == ["source_row", "loaded_at", "branch"]
    assert result.notes == [
        "column source_row has the name of a lineage column the load adds itself: ignored",
        "column loaded_at has the name of a lineage column the load adds itself: ignored",
    ]
    assert env.query(
        "SELECT source_row, extra_columns FROM fact_bank_transaction f JOIN etl_file_ledger l "
        "ON l.file_id = f.source_file_id"
    ) == [(2, "source_row, loaded_at, branch")]


def _d(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)
