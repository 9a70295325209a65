"""`make demo` on the committed sample: loads with quarantine, and a second run changes nothing."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from etl.tools.generate import generate_dataset
from tests.helpers import Env

DATA = Path(__file__).resolve().parents[1] / "data"


def test_committed_sample_is_what_the_generator_makes(tmp_path: Path) -> None:
    made = generate_dataset(tmp_path, customers=300, seed=42, dirty_rate=0.02, months=24)
    for path in made.values():
        committed = DATA / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} is stale: regenerate it (see data/README.md)"
        )


def test_demo_loads_the_sample_and_a_second_run_changes_nothing(env: Env) -> None:
    shutil.copytree(DATA, env.data)
    first = env.run()
    assert first.exit_code == 0
    assert [f.status for f in first.files] == ["loaded", "loaded", "loaded"]
    # the committed sample (its dirty rows are the generator's, seed 42): exact counts per file
    assert [(f.rows_in, f.rows_loaded, f.rows_quarantined, f.rows_blank) for f in first.files] == [
        (361, 354, 7, 0),
        (23951, 23472, 479, 0),
        (4440, 4351, 89, 0),
    ]
    assert not [t for t in first.data_tests if t.status == "fail" and t.severity == "error"]
    tables = (
        "fact_loan_application",
        "fact_bank_transaction",
        "fact_repayment",
        "dim_customer",
        "dim_customer_history",
        "dim_date",
        "etl_file_ledger",
    )
    counts = {t: env.scalar(f"SELECT COUNT(*) FROM {t}") for t in tables}
    assert counts == {
        "fact_loan_application": 354,
        "fact_bank_transaction": 23472,
        "fact_repayment": 4351,
        "dim_customer": 301,  # 300 customers and the unknown member
        "dim_customer_history": 352,
        "dim_date": 2557,  # 2023-01-01 .. 2029-12-31: whole years to the last due date (2028) and the next
        "etl_file_ledger": 3,
    }
    second = env.run()
    assert [f.status for f in second.files] == ["skipped_duplicate"] * 3
    assert second.exit_code == 0
    assert {t: env.scalar(f"SELECT COUNT(*) FROM {t}") for t in tables} == counts


def test_make_demo_prints_no_note_about_the_samples_readme(tmp_path: Path) -> None:
    # the recipe of `make demo`, run as it is in a copy of the repository's data/ folder
    makefile = (DATA.parent / "Makefile").read_text(encoding="utf-8").splitlines()
    recipe = makefile[makefile.index("demo: $(STAMP)") + 1].strip()
    assert recipe.startswith("$(BIN)/etl run ")
    shutil.copytree(DATA, tmp_path / "data")
    args = shlex.split(recipe.removeprefix("$(BIN)/etl "))
    done = subprocess.run(
        [sys.executable, "-m", "etl.cli", *args], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # data/README.md is no input: no "not loaded" note
    assert "skipped_duplicate" not in done.stdout and done.stdout.count("loaded") >= 3
    # the sample has a lake and a warehouse of its own: a user's first `etl run` starts empty
    assert (tmp_path / "demo" / "warehouse.duckdb").is_file()
    assert (tmp_path / "demo" / "lake" / "curated").is_dir()
    assert not (tmp_path / "warehouse.duckdb").exists() and not (tmp_path / "lake").exists()
    mine = tmp_path / "my-files" / "loan_applications"
    mine.mkdir(parents=True)
    (mine / "apps.csv").write_text(
        "application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,"
        "annual_income\nAPP-000001,MINE-1,5.00,2024-01-01,700,Employed,100.00\n"
    )
    user = subprocess.run(
        [sys.executable, "-m", "etl.cli", "run", "my-files", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert user.returncode == 0, user.stderr
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT f.application_id, c.customer_id FROM fact_loan_application f JOIN dim_customer c USING (customer_key)"
        ).fetchall() == [
            ("APP-000001", "MINE-1")  # the user's row only: the sample's APP-000001 is in demo/ alone
        ]
