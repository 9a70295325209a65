"""`make demo-extract`: a throwaway lender database, extracted and loaded on two days, in one command."""

from __future__ import annotations

import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb

from etl.tools.generate import generate_dataset

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_extract_loads_two_days_from_a_seeded_database(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "PG"))}
    env["DEMO_EXTRACT_OUT"] = str(out)
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo_extract.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    day1, day2 = done.stdout.split("== day 2: ", 1)
    assert "loans: 50 rows ->" in day1 and "txns: 883 rows ->" in day1 and "instalments: 450 rows ->" in day1
    # day 2 reads the changed and new rows only (and the look-back's one), and sees the deleted loan
    assert "loans: 49 rows ->" in day2 and "txns: 4 rows ->" in day2 and "instalments: 2 rows ->" in day2
    assert "1 updated, 48 unchanged, 1 removed" in day2
    assert "2 new, 1 updated, 1 unchanged" in day2 and "1 new, 1 unchanged" in day2
    assert len(re.findall(r"data tests: \d+ passed, 0 failed, 0 warnings", day2)) == 1

    # the warehouse against the generator's own rows (the seed the script loaded into the source database)
    seed = generate_dataset(tmp_path / "seed", customers=40, seed=7, months=6)
    con = duckdb.connect()
    seeded = con.execute(
        "SELECT COUNT(*), SUM(CAST(transaction_amount AS DECIMAL(18,2))) FROM read_csv(?, all_varchar=true)",
        [str(seed["bank_statements"])],
    ).fetchone()
    # the loan the script approves and the one it deletes (a rejected loan with no instalments)
    picked = con.execute(
        "SELECT (SELECT MIN(application_id) FROM read_csv(?, all_varchar=true) WHERE application_status = 'pending'),"
        " (SELECT MIN(application_id) FROM read_csv(?, all_varchar=true) a WHERE application_status = 'rejected'"
        "  AND application_id NOT IN (SELECT application_id FROM read_csv(?, all_varchar=true)))",
        [str(seed["loan_applications"]), str(seed["loan_applications"]), str(seed["repayments"])],
    ).fetchone()
    con.close()
    assert seeded is not None and seeded[0] == 883
    assert picked is not None and None not in picked
    pending, deleted = picked
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        facts = con.execute(
            "SELECT (SELECT COUNT(*) FROM fact_loan_application), (SELECT COUNT(*) FROM fact_bank_transaction),"
            " (SELECT SUM(transaction_amount) FROM fact_bank_transaction), (SELECT COUNT(*) FROM fact_repayment),"
            " (SELECT COUNT(*) FROM fact_bank_transaction WHERE narration LIKE '% (REVERSAL NOTE)')"
        ).fetchone()
        assert facts == (49, 885, seeded[1] + Decimal("7500.00"), 451, 1)
        approved = con.execute(
            "SELECT application_status, decision_date - loan_application_date FROM fact_loan_application"
            " WHERE application_id = ?",
            [pending],
        ).fetchone()
        assert approved == ("approved", 7)
        assert con.execute(
            "SELECT COUNT(*) FROM fact_loan_application WHERE application_id = ?", [deleted]
        ).fetchone() == (0,)
    finally:
        con.close()
    assert (out / "lender.toml").is_file() and not (out / "seed").exists()
