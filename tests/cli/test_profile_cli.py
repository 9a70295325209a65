"""The README's "Your own file layout" as a new user runs it, with real `etl` processes: a bank export made by
`etl generate --layout`, refused without its profile, loaded with it; a profile that is wrong refused in one
line with exit 2 and nothing loaded; and the fix loop: `quarantine list --csv` -> edit -> load."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb

from tests.cli.test_cli import etl
from tests.helpers import TRANSACTIONS, write

WAREHOUSE = ["--lake", "lake", "--warehouse", "duckdb:///w.duckdb"]


def _sum(path: Path, sql: str) -> object:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(sql).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def test_etl_run_help_names_the_profile_option(tmp_path: Path) -> None:
    done = etl("run", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "--profile" in done.stdout and "ETL_PROFILE" in done.stdout


def test_a_bank_export_is_refused_without_its_profile_and_loads_exactly_with_it(tmp_path: Path) -> None:
    made = etl(
        "generate",
        "--layout",
        "nigerian-bank",
        "--customers",
        "12",
        "--months",
        "3",
        "--out",
        "bank",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    assert "profile: bank/nigerian-bank.toml" in made.stdout
    export = tmp_path / "bank" / "bank_statements" / "gtbank" / "statement.csv"
    assert export.read_text(encoding="utf-8").splitlines()[0] == (
        "Reference,Account No,Trans. Date,Remarks,Debits,Credits,Balance,Channel,Originating Branch"
    )

    without = etl("run", "bank", "--json", *WAREHOUSE, cwd=tmp_path)
    assert without.returncode == 1
    statement = next(f for f in json.loads(without.stdout)["files"] if f["source"] == "bank_statements")
    assert statement["status"] == "rejected"
    assert statement["error"].startswith("missing required column(s) for bank_statements: transaction_id")

    with_it = etl("run", "bank", "--profile", "bank/nigerian-bank.toml", *WAREHOUSE, cwd=tmp_path)
    assert with_it.returncode == 0, with_it.stdout + with_it.stderr
    assert "statement.csv: read with layout bank/nigerian-bank.toml: bank_statements/gtbank" in with_it.stdout

    # the same seed in the contracts' layout: the same transactions, to the kobo, in the same categories
    plain = etl("generate", "--customers", "12", "--months", "3", "--out", "plain", cwd=tmp_path)
    assert plain.returncode == 0
    assert (
        etl(
            "run", "plain/bank_statements", "--lake", "l2", "--warehouse", "duckdb:///p.duckdb", cwd=tmp_path
        ).returncode
        == 0
    )
    query = (
        "SELECT COUNT(*), SUM(transaction_amount), SUM(balance), "
        "SUM(CASE WHEN category = 'salary' THEN transaction_amount END), "
        f"SUM(CASE WHEN category = 'other' THEN 1 ELSE 0 END) FROM {TRANSACTIONS}"
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    theirs = con.execute(query).fetchone()
    con.close()
    con = duckdb.connect(str(tmp_path / "p.duckdb"), read_only=True)
    ours = con.execute(query).fetchone()
    con.close()
    assert theirs == ours and theirs is not None and theirs[0] > 100 and theirs[3] > 0


def test_a_wrong_profile_is_refused_in_one_line_with_exit_2_and_nothing_loaded(tmp_path: Path) -> None:
    write(tmp_path / "in", "bank_statements", "s.csv", "transaction_id\nT1\n")
    (tmp_path / "p.toml").write_text(
        '[[layout]]\nsource = "bank_statements"\ncolumns = { "Ref" = "transaction_id", "Id" = "transaction_id" }\n',
        encoding="utf-8",
    )
    done = etl("run", "in", "--profile", "p.toml", *WAREHOUSE, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: profile p.toml: layout[0]: columns: 'Ref' and 'Id' both map to transaction_id"
    )
    assert not (tmp_path / "w.duckdb").exists() and not (tmp_path / "lake").exists()
    missing = etl("run", "in", *WAREHOUSE, cwd=tmp_path, env={"ETL_PROFILE": "nowhere.toml"})
    assert (missing.returncode, missing.stderr.strip()) == (2, "error: profile nowhere.toml: no such file")


def test_the_fix_loop_exports_the_quarantine_edits_it_and_loads_the_fixed_file(tmp_path: Path) -> None:
    profile = tmp_path / "bank.toml"
    profile.write_text(
        '[[layout]]\nsource = "bank_statements"\nfolder = "gtbank"\n'
        'columns = { "Reference" = "transaction_id", "Account No" = "customer_id", '
        '"Trans. Date" = "transaction_date", "Remarks" = "narration" }\n'
        'date_format = "%d-%b-%Y"\ncurrency = ["\u20a6"]\ndebit = "Debits"\ncredit = "Credits"\n',
        encoding="utf-8",
    )
    write(
        tmp_path / "in",
        "bank_statements",
        "gtbank/june.csv",
        "Reference,Account No,Trans. Date,Remarks,Debits,Credits,Balance\n"
        'G1,C1,05-Jan-2024,ok,"\u20a61,000.00",,"\u20a6500.00"\n'
        'G2,C1,32-Jan-2024,typo in the day,"\u20a6250.25",,"\u20a6249.75"\n'
        'G3,C1,07-Jan-2024,ok,,"\u20a6100.00","\u20a6349.75"\n',
    )
    first = etl("run", "in", "--profile", str(profile), *WAREHOUSE, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    w = tmp_path / "w.duckdb"
    assert _sum(w, "SELECT SUM(transaction_amount) FROM fact_bank_transaction") == Decimal("-900.00")

    exported = etl("quarantine", "list", "--csv", "fix.csv", "--lake", "lake", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "fix.csv").read_text(encoding="utf-8"))))
    assert [(r["transaction_id"], r["transaction_date"], r["transaction_amount"]) for r in rows] == [
        ("G2", "32-Jan-2024", "-250.25")  # the file's own date; the amount as its layout built it
    ]
    assert rows[0]["reason"] == "transaction_date '32-Jan-2024' does not match the date format %d-%b-%Y"

    # the analyst fixes the day and loads the edited export into the bank's folder
    fixed = (tmp_path / "fix.csv").read_text(encoding="utf-8").replace("32-Jan-2024", "02-Jan-2024")
    write(tmp_path / "fixes", "bank_statements", "gtbank/june-fix.csv", fixed)
    second = etl("run", "fixes", "--profile", str(profile), "--json", *WAREHOUSE, cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    [loaded] = json.loads(second.stdout)["files"]
    assert (loaded["status"], loaded["rows_loaded"], loaded["rows_quarantined"]) == ("loaded", 1, 0)
    assert "source_row" in loaded["extra_columns"] and loaded["notes"] == [
        "column source_row has the name of a lineage column the load adds itself: ignored"
    ]
    assert _sum(w, "SELECT SUM(transaction_amount) FROM fact_bank_transaction") == Decimal("-1150.25")
    assert _sum(w, f"SELECT transaction_date FROM {TRANSACTIONS} WHERE transaction_id = 'G2'") == (
        __import__("datetime").date(2024, 1, 2)
    )
    still = etl(
        "quarantine", "list", "--json", "--lake", "lake", "--warehouse", "duckdb:///w.duckdb", cwd=tmp_path
    )
    assert still.returncode == 0, still.stderr
    assert '"resolved"' in still.stdout
