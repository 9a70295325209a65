"""End to end on the embedded default: real CSV files -> real Parquet lake -> real DuckDB warehouse file."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import pyarrow.parquet as pq
import pytest

from etl.extract.discover import SourceFile
from etl.extract.identity import Identity
from etl.pipeline import Progress
from tests.helpers import APP_HEADER, REPAY_HEADER, STMT_HEADER, Env, by_path, make_env, write


def test_real_sample_loads_every_row_with_exact_sums(env: Env, indicina_sample: Path) -> None:
    folder = env.data / "loan_application"  # the original challenge's folder name
    folder.mkdir(parents=True)
    (folder / "loan_data.csv").write_bytes(indicina_sample.read_bytes())
    with indicina_sample.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    report = env.run()
    [result] = report.files
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == (
        "loaded",
        1000,
        1000,
        0,
    )
    assert report.exit_code == 0
    assert env.scalar("SELECT COUNT(*) FROM fact_loan_application") == 1000
    assert env.scalar("SELECT SUM(loan_amount) FROM fact_loan_application") == sum(
        Decimal(r["Loan_Amount"]) for r in rows
    )
    assert env.scalar("SELECT SUM(annual_income) FROM fact_loan_application") == sum(
        Decimal(r["Annual_Income"]) for r in rows
    )
    assert env.scalar("SELECT COUNT(*) FROM dim_customer WHERE customer_key <> -1") == len(
        {r["Customer_ID"] for r in rows}
    )
    poor = sum(1 for r in rows if 300 <= int(r["Credit_Score"]) <= 579)
    assert (
        env.scalar(
            "SELECT COUNT(*) FROM fact_loan_application f JOIN dim_credit_band b USING (credit_band_key) "
            "WHERE b.credit_band = 'Poor'"
        )
        == poor
    )
    first = rows[0]
    assert env.query(
        "SELECT c.customer_id, f.loan_amount, f.employment_status, f.source_row, f.application_date_key "
        "FROM fact_loan_application f JOIN dim_customer c USING (customer_key) WHERE f.application_id = ?",
        [first["Application_ID"]],
    ) == [
        (
            first["Customer_ID"],
            Decimal(first["Loan_Amount"]),
            first["Employment_Status"],
            2,
            int(first["Loan_Application_Date"].replace("-", "")),
        )
    ]
    assert all(t.status == "pass" for t in report.data_tests)
    stored = env.scalar("SELECT COUNT(*) FROM etl_data_test_result WHERE run_id = ?", [report.run_id])
    assert stored == len(report.data_tests) > 50


def test_replay_and_renamed_copy_are_skipped_and_change_nothing(env: Env) -> None:
    text = (
        APP_HEADER + "\nA1,C1,100.10,2023-01-01,700,Employed,1000\nA2,C2,200.20,2023-01-02,650,Unemployed,0\n"
    )
    write(env.data, "loan_applications", "a.csv", text)
    first = env.run()
    assert first.files[0].status == "loaded"
    write(env.data, "loan_applications", "copy-under-another-name.csv", text)
    second = env.run()
    assert {f.status for f in second.files} == {"skipped_duplicate"}
    assert second.exit_code == 0
    assert env.scalar("SELECT COUNT(*) FROM fact_loan_application") == 2
    assert env.scalar("SELECT COUNT(*) FROM etl_file_ledger") == 1
    assert env.scalar("SELECT SUM(loan_amount) FROM fact_loan_application") == Decimal("300.30")


def test_dirty_rows_are_quarantined_in_the_lake_with_line_rule_reason_and_original_text(env: Env) -> None:
    text = (
        APP_HEADER + "\n"
        "A1,C1,100.00,2023-01-01,700,Employed,1000\n"
        "A2,C2,12,3x,2023-01-01,700,Employed,1000\n"  # extra field -> malformed row
        "A3,C3,100.00,2023-02-30,700,Employed,1000\n"
        "A4,C4,100.00,2023-01-01,900,Employed,1000\n"
        "A5,C5,100.00,2023-01-01,700,Retired,1000\n"
        "A6,C6,12345678901234567890.00,2023-01-01,700,Employed,1000\n"
        "A7,,100.00,2023-01-01,700,Employed,1000\n"
    )
    write(env.data, "loan_applications", "dirty.csv", text)
    report = env.run(max_quarantine_rate=1.0)  # the quarantine itself, not the file's budget
    [result] = report.files
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (7, 1, 6)
    assert report.exit_code == 0  # quarantined rows do not fail a run
    assert (
        result.quarantine_uri == f"{env.settings.lake}/quarantine/loan_applications/{result.file_id}.parquet"
    )
    quarantined = pq.read_table(result.quarantine_uri).sort_by("source_row").to_pylist()
    assert [(q["source_row"], q["rule"]) for q in quarantined] == [
        (3, "malformed_row"),
        (4, "invalid_date"),
        (5, "out_of_range"),
        (6, "invalid_enum"),
        (7, "decimal_overflow"),
        (8, "required"),
    ]
    assert quarantined[0]["raw_line"] == "A2,C2,12,3x,2023-01-01,700,Employed,1000"
    assert quarantined[0]["reason"] == "expected 7 fields, found 8"
    assert quarantined[2]["credit_score"] == "900"
    assert (
        quarantined[3]["reason"]
        == "employment_status 'Retired' is not one of Employed, Self-Employed, Unemployed"
    )
    assert {q["file_id"] for q in quarantined} == {result.file_id}
    ledger = env.query("SELECT rows_in, rows_loaded, rows_quarantined, status FROM etl_file_ledger")
    assert ledger == [(7, 1, 6, "loaded")]


def test_duplicate_keys_keep_the_last_occurrence_even_across_chunks(env: Env) -> None:
    lines = [
        f"T{i},C1,2023-01-{1 + i % 28:02d},-{i}.00,POS PURCHASE SHOPRITE,{1000 - i}.00" for i in range(1, 400)
    ]
    lines.append("T5,C1,2023-01-30,-999.99,POS PURCHASE CORRECTED,1.00")  # later occurrence wins
    write(env.data, "bank_statements", "s.csv", STMT_HEADER + "\n" + "\n".join(lines) + "\n")
    report = env.run(chunk_bytes=1 << 16)  # several chunks
    [result] = report.files
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (400, 399, 1)
    assert env.query(
        "SELECT transaction_amount, narration, source_row FROM fact_bank_transaction "
        "WHERE transaction_id = 'T5'"
    ) == [(Decimal("-999.99"), "POS PURCHASE CORRECTED", 401)]
    [dup] = pq.read_table(result.quarantine_uri).to_pylist()
    assert (dup["source_row"], dup["rule"], dup["column"]) == (6, "duplicate_key", "transaction_id")
    assert (
        dup["reason"]
        == "duplicate transaction_id 'T5': line 401 holds a later occurrence, which supersedes this one"
    )
    assert dup["transaction_amount"] == "-5.00"


def test_corrected_file_upserts_and_builds_type2_history(env: Env) -> None:
    write(
        env.data,
        "loan_applications",
        "day1.csv",
        APP_HEADER + ",state\nA1,C1,100.00,2023-01-01,700,Employed,1000,Lagos\n",
    )
    env.run()
    write(
        env.data,
        "loan_applications",
        "day2.csv",
        APP_HEADER + ",state\nA1,C1,150.00,2023-01-01,700,Employed,1000,Lagos\n"
        "A2,C1,90.00,2023-03-01,720,Self-Employed,2000,Oyo\n",
    )
    report = env.run()
    assert [f.status for f in report.files] == ["skipped_duplicate", "loaded"]
    assert env.query("SELECT application_id, loan_amount FROM fact_loan_application ORDER BY 1") == [
        ("A1", Decimal("150.00")),
        ("A2", Decimal("90.00")),
    ]
    assert env.query(
        "SELECT employment_status, annual_income, state, is_inferred, application_count "
        "FROM dim_customer WHERE customer_id = 'C1'"
    ) == [("Self-Employed", Decimal("2000.00"), "Oyo", False, 2)]
    history = env.query(
        "SELECT version, employment_status, state, CAST(valid_from AS VARCHAR), "
        "CAST(valid_to AS VARCHAR), is_current FROM dim_customer_history ORDER BY version"
    )
    assert history == [
        (1, "Employed", "Lagos", "2023-01-01", "2023-03-01", False),
        (2, "Self-Employed", "Oyo", "2023-03-01", None, True),
    ]
    # replaying the first day's file (already loaded) does not roll anything back
    assert env.run([env.data / "loan_applications" / "day1.csv"]).files[0].status == "skipped_duplicate"
    assert env.scalar("SELECT loan_amount FROM fact_loan_application WHERE application_id = 'A1'") == Decimal(
        "150.00"
    )


def test_customers_without_applications_become_inferred_members(env: Env) -> None:
    write(
        env.data,
        "bank_statements",
        "s.csv",
        STMT_HEADER + "\nT1,C9,2023-01-05,250000.00,SALARY PAYMENT ACME LTD,250000.00\n"
        "T2,C9,2023-01-06,-5000.00,BET9JA STAKE,245000.00\n",
    )
    env.run()
    assert env.query("SELECT customer_id, is_inferred FROM dim_customer WHERE customer_id = 'C9'") == [
        ("C9", True)
    ]
    assert env.query(
        "SELECT t.transaction_id, g.category, t.direction FROM fact_bank_transaction t "
        "JOIN dim_transaction_category g USING (category_key) ORDER BY 1"
    ) == [
        ("T1", "salary", "credit"),
        ("T2", "betting", "debit"),
    ]
    write(
        env.data,
        "loan_applications",
        "a.csv",
        APP_HEADER + "\nA9,C9,100.00,2023-02-01,640,Employed,3000000\n",
    )
    report = env.run()
    assert report.exit_code == 0
    assert env.query("SELECT is_inferred, employment_status FROM dim_customer WHERE customer_id = 'C9'") == [
        (False, "Employed")
    ]
    assert env.scalar("SELECT COUNT(*) FROM dim_customer WHERE customer_id = 'C9'") == 1


def test_repayments_find_their_customer_through_the_application(env: Env) -> None:
    write(
        env.data,
        "repayments",
        "r.csv",
        REPAY_HEADER + "\nR1,A1,2023-02-01,100.00,2023-02-05,100.00\n"
        "R2,A1,2023-03-01,100.00,,\nR3,A1,2023-04-01,100.00,2023-04-01,40.00\n",
    )
    env.run()  # before the application exists: the unknown member holds the rows
    assert env.scalar("SELECT COUNT(*) FROM fact_repayment WHERE customer_key = -1") == 3
    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,300.00,2023-01-01,700,Employed,1000\n"
    )
    report = env.run()
    assert report.exit_code == 0
    assert env.query(
        "SELECT r.repayment_id, c.customer_id, r.status, r.days_late FROM fact_repayment r "
        "JOIN dim_customer c USING (customer_key) ORDER BY 1"
    ) == [("R1", "C1", "late", 4), ("R2", "C1", "missed", None), ("R3", "C1", "partial", 0)]


def test_bad_files_are_rejected_while_the_others_load(env: Env) -> None:
    write(
        env.data,
        "loan_applications",
        "good.csv",
        APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n",
    )
    write(env.data, "loan_applications", "empty.csv", b"")
    write(env.data, "loan_applications", "header_only.csv", APP_HEADER + "\r\n")
    write(
        env.data,
        "bank_statements",
        "no_amount.csv",
        "transaction_id,customer_id,transaction_date\nT1,C1,2023-01-01\n",
    )
    write(
        env.data,
        "bank_statements",
        "latin1.csv",
        STMT_HEADER + "\nT1,C1,2023-01-01,-5.00,Café,1.00\n",
        encoding="latin-1",
    )
    write(env.data, "misc", "what.csv", "a,b\n1,2\n")
    report = env.run()
    results = by_path(report)
    assert report.exit_code == 1
    assert results["good.csv"].status == "loaded"
    assert (results["header_only.csv"].status, results["header_only.csv"].rows_in) == ("loaded", 0)
    assert (results["empty.csv"].status, results["empty.csv"].error) == ("rejected", "empty file (0 bytes)")
    assert results["no_amount.csv"].error == (
        "missing required column(s) for bank_statements: transaction_amount, narration, balance "
        "(found: transaction_id, customer_id, transaction_date)"
    )
    assert results["latin1.csv"].error is not None and results["latin1.csv"].error.startswith(
        "not UTF-8 text"
    )
    assert (
        results["what.csv"].error is not None
        and "cannot tell the source from folder 'misc'" in results["what.csv"].error
    )
    assert env.scalar("SELECT COUNT(*) FROM fact_loan_application") == 1
    assert env.query(
        "SELECT file_name, status FROM etl_file_ledger WHERE status = 'rejected' ORDER BY 1"
    ) == [
        ("empty.csv", "rejected"),
        ("latin1.csv", "rejected"),
        ("no_amount.csv", "rejected"),
        ("what.csv", "rejected"),
    ]


def test_quoted_fields_with_commas_quotes_newlines_and_non_ascii_are_stored_exactly(env: Env) -> None:
    narration = 'POS PURCHASE, "MAMA CASS" Ọ̀yọ́\nCAFÉ'
    quoted = '"' + narration.replace('"', '""') + '"'
    write(
        env.data,
        "customer_bank_statement",
        "s.csv",
        "\ufeff" + STMT_HEADER.upper() + f"\r\nT1,C1,2023-01-01,-1500.75,{quoted},10.25\r\n"
        'T2,C1,2023-01-02,-1.00,"=HYPERLINK(""http://x"")",9.25\r\n',
    )
    report = env.run()
    assert report.files[0].source == "bank_statements"
    assert env.query(
        "SELECT transaction_id, narration, source_row, transaction_amount FROM fact_bank_transaction "
        "ORDER BY 1"
    ) == [("T1", narration, 2, Decimal("-1500.75")), ("T2", '=HYPERLINK("http://x")', 4, Decimal("-1.00"))]


def test_lake_object_names_are_deterministic_so_retries_overwrite(env: Env) -> None:
    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
    )
    first = env.run().files[0]
    objects = sorted(p.relative_to(env.settings.lake) for p in Path(env.settings.lake).rglob("*.parquet"))
    assert objects == [Path(f"curated/fact_loan_application/{first.file_id}.parquet")]
    (env.root / "warehouse.duckdb").unlink()  # lose the warehouse: the replay reloads, the lake does not grow
    again = env.run().files[0]
    assert again.status == "loaded"
    assert (
        sorted(p.relative_to(env.settings.lake) for p in Path(env.settings.lake).rglob("*.parquet"))
        == objects
    )
    assert pq.read_table(first.lake_uri).column("application_id").to_pylist() == ["A1"]


def test_small_chunks_give_the_same_warehouse_as_one_chunk(env: Env, tmp_path: Path) -> None:
    lines = "\n".join(
        f"T{i},C{i % 7},2023-01-{1 + i % 28:02d},{(-1) ** i * (i + 0.5):.2f},NIP TRF {i},{i}.00"
        for i in range(1, 3000)
    )
    write(env.data, "bank_statements", "s.csv", STMT_HEADER + "\n" + lines + "\n")
    big = env.run().files[0]
    other = Env(
        tmp_path / "other",
        env.settings.model_copy(
            update={
                "lake": str(tmp_path / "other" / "lake"),
                "warehouse_url": f"duckdb:///{tmp_path / 'other' / 'w.duckdb'}",
                "chunk_bytes": 1 << 16,
            }
        ),
    )
    small = other.run([env.data]).files[0]
    assert (big.rows_loaded, small.rows_loaded) == (2999, 2999)
    sql = "SELECT SUM(transaction_amount), SUM(source_row), COUNT(DISTINCT customer_key) FROM fact_bank_transaction"
    assert env.query(sql) == other.query(sql)


def test_sql_and_formula_payloads_are_stored_as_text_and_never_executed(env: Env) -> None:
    payloads = [
        "'; DROP TABLE fact_bank_transaction; --",
        "x'); DELETE FROM etl_file_ledger; --",
        '=HYPERLINK("http://evil.example","click")',
        "+SUM(A1:A9)",
        "@cmd|' /C calc'!A0",
    ]
    lines = [
        f'"{p.replace(chr(34), chr(34) * 2)}",C1,2023-01-0{i + 1},-1.00,"{p.replace(chr(34), chr(34) * 2)}",5.00'
        for i, p in enumerate(payloads)
    ]
    write(
        env.data,
        "bank_statements",
        "it's; DROP TABLE dim_date; --.csv",
        STMT_HEADER + "\n" + "\n".join(lines) + "\n",
    )
    report = env.run()
    assert report.files[0].status == "loaded" and report.exit_code == 0
    assert env.query("SELECT transaction_id, narration FROM fact_bank_transaction ORDER BY source_row") == [
        (p, p) for p in payloads
    ]
    assert env.query("SELECT file_name FROM etl_file_ledger") == [("it's; DROP TABLE dim_date; --.csv",)]
    # the table the file name "drops" is still there, holding the conformed calendar of the file's days
    # (2023-01-01 .. 2023-01-05): the whole year 2023 and the next
    assert env.query("SELECT MIN(date), MAX(date), COUNT(*) FROM dim_date") == [
        (date(2023, 1, 1), date(2024, 12, 31), 365 + 366)
    ]


def test_an_unexpected_defect_fails_only_its_file(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import etl.pipeline

    real = etl.pipeline.validate

    def broken_for_statements(chunk, contract, prepared=None):  # type: ignore[no-untyped-def]
        if contract.name == "bank_statements":
            raise RuntimeError("boom\nsecond line")
        return real(chunk, contract, prepared)

    monkeypatch.setattr(etl.pipeline, "validate", broken_for_statements)
    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
    )
    write(env.data, "bank_statements", "s.csv", STMT_HEADER + "\nT1,C1,2023-01-05,-5.00,POS,1.00\n")
    report = env.run()
    results = by_path(report)
    assert report.exit_code == 1
    assert results["a.csv"].status == "loaded"
    assert (results["s.csv"].status, results["s.csv"].error) == (
        "failed",
        "internal error (RuntimeError): boom",
    )
    assert env.scalar("SELECT COUNT(*) FROM fact_bank_transaction") == 0
    assert env.query("SELECT file_name, status FROM etl_file_ledger ORDER BY 1") == [
        ("a.csv", "loaded"),
        ("s.csv", "failed"),
    ]


def test_a_full_scratch_disk_is_a_retryable_failure_not_a_rejection(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyarrow.parquet, "ParquetWriter", no_space)
    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
    )
    [result] = env.run().files
    assert (result.status, result.retryable, result.error) == (
        "failed",
        True,
        "local I/O error: No space left on device",
    )


def test_an_unreadable_source_is_rejected(env: Env) -> None:
    from etl.extract.discover import SourceFile
    from etl.load.lake import LocalLake
    from etl.load.warehouse import open_warehouse
    from etl.pipeline import Pipeline

    def denied() -> BinaryIO:
        raise PermissionError(13, "Permission denied")

    item = SourceFile("data/loan_applications/locked.csv", "locked.csv", "loan_applications", denied)
    with open_warehouse(env.settings) as wh:
        pipeline = Pipeline(env.settings, LocalLake(env.settings.lake), wh)
        pipeline.prepare()
        result = pipeline.process(item)
    assert (result.status, result.error, result.retryable) == (
        "rejected",
        "unreadable: Permission denied",
        False,
    )


def test_repayment_status_without_an_amount_paid_column(env: Env) -> None:
    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,300.00,2023-01-01,700,Employed,1000\n"
    )
    write(
        env.data,
        "repayments",
        "r.csv",
        "repayment_id,application_id,due_date,amount_due,paid_date\n"
        "R1,A1,2023-02-01,100.00,2023-02-01\nR2,A1,2023-03-01,100.00,2023-03-11\nR3,A1,2023-04-01,100.00,\n",
    )
    assert env.run().exit_code == 0
    assert env.query(
        "SELECT repayment_id, status, days_late, amount_paid FROM fact_repayment ORDER BY 1"
    ) == [("R1", "paid", 0, None), ("R2", "late", 10, None), ("R3", "missed", None, None)]


def test_a_corrected_file_that_moves_an_application_refreshes_both_customers(env: Env) -> None:
    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
    )
    write(env.data, "repayments", "r.csv", REPAY_HEADER + "\nR1,A1,2023-02-01,100.00,2023-02-01,100.00\n")
    env.run()
    write(
        env.data,
        "loan_applications",
        "a-fixed.csv",
        APP_HEADER + "\nA1,C2,100.00,2023-01-01,640,Unemployed,0\n",
    )
    report = env.run()
    assert report.exit_code == 0, [(t.name, t.failures) for t in report.data_tests if t.status == "fail"]
    assert env.query(
        "SELECT customer_id, is_inferred, employment_status, application_count FROM dim_customer "
        "WHERE customer_key <> -1 ORDER BY 1"
    ) == [("C2", False, "Unemployed", 1)]  # C1 has no application, history or fact left: it goes
    assert env.query("SELECT customer_id, version, is_current FROM dim_customer_history") == [("C2", 1, True)]
    assert env.query(_REPAYMENT_CUSTOMERS) == [("R1", "C2")]


# A repayment's customer, read through dim_customer (the fact keeps the key only).
_REPAYMENT_CUSTOMERS = "SELECT r.repayment_id, c.customer_id FROM fact_repayment r JOIN dim_customer c USING (customer_key) ORDER BY 1"


def test_a_repayment_belongs_to_its_applications_customer(env: Env) -> None:
    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
    )
    write(
        env.data,
        "repayments",
        "r.csv",
        "repayment_id,application_id,customer_id,due_date,amount_due\n"
        "R1,A1,C-OTHER,2023-02-01,100.00\nR2,A9,C9,2023-02-01,100.00\n",
    )
    assert env.run().exit_code == 0
    assert env.query(_REPAYMENT_CUSTOMERS) == [
        ("R1", "C1"),
        ("R2", "C9"),
    ]
    assert env.scalar("SELECT COUNT(*) FROM dim_customer WHERE customer_id = 'C-OTHER'") == 0


def test_files_in_subfolders_take_the_source_of_the_nearest_source_folder(env: Env) -> None:
    write(
        env.data / "Loan_Applications",
        "2024",
        "06.csv",
        APP_HEADER + "\nA1,C1,1.00,2023-01-01,700,Employed,1\n",
    )
    [result] = env.run().files
    assert (result.source, result.status) == ("loan_applications", "loaded")


def test_when_the_last_copy_of_a_key_is_invalid_the_stale_earlier_copy_does_not_load(env: Env) -> None:
    write(
        env.data,
        "loan_applications",
        "a.csv",
        APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
        "A2,C2,50.00,2023-01-01,700,Employed,1000\n A1 ,C1,250.00,2023-01-01,70O,Employed,1000\n",
    )
    [result] = env.run(max_quarantine_rate=1.0).files
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (3, 1, 2)
    assert env.query("SELECT application_id FROM fact_loan_application") == [("A2",)]
    rules = sorted((q["source_row"], q["rule"]) for q in pq.read_table(result.quarantine_uri).to_pylist())
    assert rules == [(2, "duplicate_key"), (4, "invalid_integer")]
    [reason] = [q["reason"] for q in pq.read_table(result.quarantine_uri).to_pylist() if q["source_row"] == 2]
    assert reason == (
        "duplicate application_id 'A1': line 4 holds a later occurrence, which supersedes this one; "
        "line 4 is quarantined itself, so no row of this key loads"
    )


@pytest.mark.parametrize("padding", ["\ufeff", "\u00a0", "\u3000", "\t"])
def test_an_invalid_last_copy_is_matched_to_its_key_however_it_is_padded(env: Env, padding: str) -> None:
    # validation trims a valid key of Unicode spaces and a BOM; the quarantined copy must be keyed the same
    write(
        env.data,
        "loan_applications",
        "a.csv",
        APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
        f"{padding}A1{padding},C1,250.00,2023-01-01,70O,Employed,1000\n",
    )
    [result] = env.run(max_quarantine_rate=1.0).files
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2, 0, 2)
    rules = sorted((q["source_row"], q["rule"]) for q in pq.read_table(result.quarantine_uri).to_pylist())
    assert rules == [(2, "duplicate_key"), (3, "invalid_integer")]


def test_the_trimmed_characters_are_what_validation_trims() -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from etl.normalize.text import BOM_CHAR, FORMAT_CHARS, TRIMMED_CHARS
    from etl.normalize.validate import _trim

    every = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    padded = pa.array(["x" + c for c in every])
    trimmed = _trim(padded).to_pylist()
    assert "".join(c for c, t in zip(every, trimmed, strict=True) if t == "x") == "".join(
        sorted(TRIMMED_CHARS)
    )
    # TRIMMED_CHARS is Arrow's own whitespace set, and the format characters (the BOM among them), which
    # that set leaves
    whitespace = pc.utf8_trim_whitespace(padded).to_pylist()
    arrow_set = "".join(c for c, t in zip(every, whitespace, strict=True) if t == "x")
    assert "".join(sorted(TRIMMED_CHARS)) == "".join(sorted(arrow_set + FORMAT_CHARS))
    assert pc.utf8_trim_whitespace(pa.array([BOM_CHAR])).to_pylist() == [BOM_CHAR]  # why it is added


def test_the_duplicate_check_gives_the_same_answer_in_hash_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big files check their keys one hash partition at a time (bounded memory): same rows win and lose."""
    import etl.normalize.duplicates
    from tests.helpers import make_env

    lines = []
    for i in range(300):
        key = f"T{i % 70}"  # 70 keys, most repeated several times
        amount = "oops" if i % 37 == 0 else f"-{i}.00"  # some last copies are invalid
        lines.append(f"{key},C1,2023-01-{1 + i % 28:02d},{amount},POS,{i}.00")
    text = STMT_HEADER + "\n" + "\n".join(lines) + "\n"

    def outcome(root: Path) -> tuple[object, ...]:
        env = make_env(root)
        write(env.data, "bank_statements", "s.csv", text)
        [result] = env.run(chunk_bytes=1 << 16, max_quarantine_rate=1.0).files
        quarantined = sorted(
            (q["source_row"], q["rule"], q["reason"])
            for q in pq.read_table(result.quarantine_uri).to_pylist()
        )
        facts = env.query(
            "SELECT transaction_id, source_row FROM fact_bank_transaction ORDER BY transaction_id"
        )
        return result.rows_loaded, result.rows_quarantined, quarantined, facts

    whole = outcome(tmp_path / "whole")
    monkeypatch.setattr(etl.normalize.duplicates, "DUPLICATE_CHECK_ROWS", 7)  # 300 rows: 43 partitions
    partitioned = outcome(tmp_path / "partitioned")
    assert partitioned == whole
    loaded, quarantined, rows, facts = whole
    assert loaded + quarantined == 300 and len(facts) == loaded
    assert sum(rule == "duplicate_key" for _, rule, _ in rows) > 150  # the case is really exercised


def test_files_hashed_ahead_keep_their_outcomes_and_order(env: Env) -> None:
    """Each file's hash is taken while the file before it loads: an unreadable one among them is still
    rejected with its own reason, and the others load in order around it."""
    from etl.extract.discover import SourceFile, discover
    from etl.load.lake import LocalLake
    from etl.load.warehouse import open_warehouse
    from etl.pipeline import Pipeline

    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,300.00,2023-01-01,700,Employed,1000\n"
    )
    write(env.data, "bank_statements", "s1.csv", STMT_HEADER + "\nT1,C1,2023-01-02,-5.00,POS,1.00\n")
    write(env.data, "bank_statements", "s2.csv", STMT_HEADER + "\nT2,C1,2023-01-03,7.50,SALARY,8.50\n")

    def denied() -> BinaryIO:
        raise PermissionError(13, "Permission denied")

    found = discover([env.data])
    locked = SourceFile("data/bank_statements/locked.csv", "locked.csv", "bank_statements", denied)
    items = [found[0], locked, *found[1:], found[1]]  # the last one repeats content already loaded
    with open_warehouse(env.settings) as wh:
        report = Pipeline(env.settings, LocalLake(env.settings.lake), wh).run(items)
    outcome = [(Path(f.path).name, f.status, f.error) for f in report.files]
    assert outcome == [
        ("a.csv", "loaded", None),
        ("locked.csv", "rejected", "unreadable: Permission denied"),
        ("s1.csv", "loaded", None),
        ("s2.csv", "loaded", None),
        ("s1.csv", "skipped_duplicate", None),
    ]
    assert env.query("SELECT transaction_id, transaction_amount FROM fact_bank_transaction ORDER BY 1") == [
        ("T1", Decimal("-5.00")),
        ("T2", Decimal("7.50")),
    ]


def test_a_defect_while_modelling_fails_the_file_and_leaves_nothing(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Modelling runs on its own thread: its exception still fails only this file, with nothing loaded."""
    import etl.model.facts

    real = etl.model.facts.build_fact_bank_transaction
    calls: list[int] = []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("model exploded")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setitem(etl.model.facts.BUILDERS, "fact_bank_transaction", flaky)
    rows = "\n".join(
        f"T{i},C1,2023-01-02,{'oops' if i % 10 == 0 else '-5.00'},POS {'x' * 40},1.00" for i in range(8000)
    )  # eight chunks, a tenth of the rows invalid
    write(env.data, "bank_statements", "s.csv", STMT_HEADER + "\n" + rows + "\n")
    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,300.00,2023-01-01,700,Employed,1000\n"
    )
    report = env.run(chunk_bytes=1 << 16)
    results = by_path(report)
    assert results["a.csv"].status == "loaded"
    assert (results["s.csv"].status, results["s.csv"].error) == (
        "failed",
        "internal error (RuntimeError): model exploded",
    )
    assert len(calls) == 3  # the chunks after the failure were never modelled
    # a file that is not loaded counts no rows: none of them is in the warehouse or the lake, so a row the
    # failed attempt had quarantined must not show in the ledger (or the dashboards' quarantine counts)
    failed = results["s.csv"]
    assert (failed.rows_in, failed.rows_loaded, failed.rows_quarantined, failed.rows_blank) == (0, 0, 0, 0)
    assert env.query(
        "SELECT rows_in, rows_loaded, rows_quarantined FROM etl_file_ledger WHERE status = 'failed'"
    ) == [(0, 0, 0)]
    assert env.scalar("SELECT COUNT(*) FROM fact_bank_transaction") == 0
    assert not list((env.root / "lake" / "curated" / "fact_bank_transaction").glob("*.parquet"))


def test_curated_parquet_keeps_statistics_for_numbers_and_dates_only(env: Env) -> None:
    write(env.data, "bank_statements", "s.csv", STMT_HEADER + "\nT1,C1,2023-01-02,-5.00,POS,1.00\n")
    [result] = env.run().files
    meta = pq.ParquetFile(result.lake_uri or "").metadata.row_group(0)
    stats = {meta.column(i).path_in_schema: meta.column(i).is_stats_set for i in range(meta.num_columns)}
    assert {c for c, has in stats.items() if has} == {
        "customer_key",
        "transaction_date_key",
        "category_key",
        "transaction_amount",
        "balance",
        "source_row",
        "loaded_at",
    }
    column = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    assert column["transaction_date_key"].statistics.min == 20230102


def _run_with_progress(env: Env, progress: Progress) -> list[tuple[str, str, bool, str | None]]:
    report = env.run(progress=progress)
    return [(Path(f.path).name, f.status, f.retryable, f.error) for f in report.files]


@pytest.mark.parametrize("same_size", [False, True], ids=["grown", "replaced-same-size"])
def test_a_file_changed_after_it_was_hashed_fails_retryably_and_loads_whole_next_time(
    env: Env, same_size: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next file is hashed while the one before it loads; if it changes before its turn (still being
    copied, or replaced), loading it would record its new rows under the old content's hash."""
    import hashlib
    import os
    import threading

    import etl.pipeline

    write(
        env.data, "loan_applications", "a.csv", APP_HEADER + "\nA1,C1,300.00,2023-01-01,700,Employed,1000\n"
    )
    statements_text = STMT_HEADER + "\nT1,C1,2023-01-02,-5.00,POS,1.00\n"
    statements = write(env.data, "bank_statements", "s.csv", statements_text)
    new_text = STMT_HEADER + (
        "\nT9,C1,2023-01-02,-7.00,POS,1.00\n"
        if same_size
        else "\nT1,C1,2023-01-02,-5.00,POS,1.00\nT2,C1,2023-01-03,9.00,SALARY,10.00\n"
    )

    hashed = threading.Event()
    real_identify = etl.pipeline.identify

    def identify(item: SourceFile) -> Identity:
        try:
            return real_identify(item)
        finally:
            if item.name == "s.csv":
                hashed.set()

    monkeypatch.setattr(etl.pipeline, "identify", identify)

    def rewrite(event: str, n: int) -> None:
        if event == "start:a.csv":  # s.csv is hashed while a.csv loads: change it once that is done
            assert hashed.wait(10)
            staged = statements.with_name(".s.csv.new")
            staged.write_text(new_text)
            os.replace(staged, statements)

    first = _run_with_progress(env, rewrite)
    assert first[0] == ("a.csv", "loaded", False, None)
    name, status, retryable, error = first[1]
    assert (name, status, retryable) == ("s.csv", "failed", True)
    assert error is not None and error.startswith("changed while it was being loaded")
    assert env.scalar("SELECT COUNT(*) FROM fact_bank_transaction") == 0
    assert not list((env.root / "lake" / "curated" / "fact_bank_transaction").glob("*.parquet"))

    second = _run_with_progress(env, lambda event, n: None)
    assert second == [("a.csv", "skipped_duplicate", False, None), ("s.csv", "loaded", False, None)]
    new_id = hashlib.sha256(new_text.encode()).hexdigest()
    old_id = hashlib.sha256(statements_text.encode()).hexdigest()
    ledger = env.query(
        "SELECT file_id, status FROM etl_file_ledger WHERE file_name = 's.csv' ORDER BY status"
    )
    assert ledger == [(old_id, "failed"), (new_id, "loaded")]  # the failed attempt, under the hash it took
    expected = ["T9"] if same_size else ["T1", "T2"]
    assert [
        r[0] for r in env.query("SELECT transaction_id FROM fact_bank_transaction ORDER BY 1")
    ] == expected
    assert env.scalar("SELECT COUNT(DISTINCT source_file_id) FROM fact_bank_transaction") == 1


def test_a_source_that_reads_other_bytes_than_it_hashed_fails_retryably(env: Env) -> None:
    """Sources without a version stamp (an unpinned stream) are still checked: the parse must read as many
    bytes as were hashed."""
    import io

    from etl.extract.discover import SourceFile
    from etl.load.lake import LocalLake
    from etl.load.warehouse import open_warehouse
    from etl.pipeline import Pipeline

    versions = [
        (STMT_HEADER + "\nT1,C1,2023-01-02,-5.00,POS,1.00\n").encode(),
        (STMT_HEADER + "\nT1,C1,2023-01-02,-5.00,POS,1.00\nT2,C1,2023-01-03,9.00,POS,10.00\n").encode(),
    ]
    opened: list[int] = []

    def open_next() -> BinaryIO:
        opened.append(1)
        return io.BytesIO(versions[min(len(opened), 2) - 1])

    item = SourceFile("memory://s.csv", "s.csv", "bank_statements", open_next)
    with open_warehouse(env.settings) as wh:
        pipeline = Pipeline(env.settings, LocalLake(env.settings.lake), wh)
        pipeline.prepare()
        result = pipeline.process(item)
    assert (result.status, result.retryable) == ("failed", True)
    assert result.error == (
        f"changed while it was being loaded ({len(versions[0])} bytes hashed, {len(versions[1])} read; "
        "still being written?); load it again later"
    )
    assert env.scalar("SELECT COUNT(*) FROM fact_bank_transaction") == 0


def test_a_file_that_fails_in_the_warehouse_reports_no_row_loaded(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.errors import WarehouseError
    from etl.load.warehouse.duckdb import DuckDBWarehouse

    def unavailable(self: DuckDBWarehouse, load: object) -> bool:
        raise WarehouseError("loading into fact_bank_transaction failed: disk I/O error")

    monkeypatch.setattr(DuckDBWarehouse, "load_file", unavailable)
    write(
        env.data,
        "bank_statements",
        "s.csv",
        STMT_HEADER + "\nT1,C1,2023-01-05,-5.00,POS,1.00\nT2,C1,x,1,P,1\n",
    )
    [result] = env.run().files
    # nothing of it reached the warehouse, so it counts no rows: rows_in = rows_loaded + rows_quarantined
    # holds for every file, and no dashboard counts the attempt's quarantined row (the retry will)
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == ("failed", 0, 0, 0)
    assert env.query(
        "SELECT status, rows_in, rows_loaded, rows_quarantined, lake_uri, quarantine_uri FROM etl_file_ledger"
    ) == [("failed", 0, 0, 0, None, None)]
    assert (result.lake_uri, result.quarantine_uri) == (None, None)


def test_ctrl_c_during_a_warehouse_statement_stops_the_run(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB turns Ctrl-C into its own InterruptException, and the statement after it fails with another
    error: neither may pass for a failed file while the run carries on with the next one."""
    import duckdb

    from etl.load.warehouse.duckdb import DuckDBWarehouse

    real = DuckDBWarehouse.upsert

    def interrupted(self: DuckDBWarehouse, spec: object, staging: str) -> None:
        if staging == "stg_fact_bank_transaction":
            try:
                raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
            finally:
                self.execute("SELECT 1")  # as upsert's RESET does: fails in the aborted transaction
        real(self, spec, staging)  # type: ignore[arg-type]

    monkeypatch.setattr(DuckDBWarehouse, "upsert", interrupted)
    write(env.data, "bank_statements", "s.csv", STMT_HEADER + "\nT1,C1,2023-01-05,-5.00,POS,1.00\n")
    write(env.data, "repayments", "r.csv", REPAY_HEADER + "\nR1,A1,2023-02-01,10.00,,\n")
    with pytest.raises(KeyboardInterrupt):
        env.run()
    assert env.scalar("SELECT COUNT(*) FROM fact_bank_transaction") == 0
    assert env.scalar("SELECT COUNT(*) FROM fact_repayment") == 0  # the run stopped: the next file never ran
    assert env.scalar("SELECT COUNT(*) FROM etl_file_ledger") == 0  # the next run loads the file


def test_ctrl_c_that_a_client_swallowed_still_stops_the_run(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB may consume the KeyboardInterrupt and raise only `Query interrupted`: the SIGINT flag decides."""
    from etl import interrupt
    from etl.load.warehouse.duckdb import DuckDBWarehouse

    def swallowed(self: DuckDBWarehouse, spec: object, staging: str) -> None:
        with pytest.raises(KeyboardInterrupt):
            interrupt.on_sigint(2, None)  # what SIGINT does under the command line's handler
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(DuckDBWarehouse, "upsert", swallowed)
    write(env.data, "bank_statements", "s.csv", STMT_HEADER + "\nT1,C1,2023-01-05,-5.00,POS,1.00\n")
    write(env.data, "repayments", "r.csv", REPAY_HEADER + "\nR1,A1,2023-02-01,10.00,,\n")
    try:
        with pytest.raises(KeyboardInterrupt):
            env.run()
    finally:
        interrupt.reset()
    assert env.scalar("SELECT COUNT(*) FROM etl_file_ledger") == 0


def test_content_loaded_as_one_source_is_rejected_as_another_not_skipped(env: Env) -> None:
    """Skipping would read as "already loaded as bank statements"; the ledger knows it is applications."""
    text = APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
    path = write(env.root / "in", "x", "a.csv", text)
    assert [f.status for f in env.run([path], "loan_applications").files] == ["loaded"]
    assert [f.status for f in env.run([path], "loan_applications").files] == ["skipped_duplicate"]
    [again] = env.run([path], "bank_statements").files
    assert (again.status, again.error) == (
        "rejected",
        "the same content was already loaded as loan_applications: it cannot also be bank_statements",
    )
    assert env.query("SELECT source, status FROM etl_file_ledger") == [("loan_applications", "loaded")]


def test_repayments_loaded_before_their_application_leave_the_same_customers_as_after(env: Env) -> None:
    """The repayment file names another customer (C-OTHER): until the application comes it is an inferred
    member; once the repayments follow the application's customer it has nothing left and goes."""
    apps = APP_HEADER + "\nA1,C1,100.00,2023-01-01,700,Employed,1000\n"
    repayments = (
        "repayment_id,application_id,customer_id,due_date,amount_due\n"
        "R1,A1,C-OTHER,2023-02-01,100.00\nR2,A1,C-OTHER,2023-03-01,100.00\n"
    )
    statements = STMT_HEADER + "\nT1,C-SHARED,2023-01-05,-5.00,POS,1.00\n"
    r = write(env.root / "in", "repayments", "r.csv", repayments)
    s = write(env.root / "in", "bank_statements", "s.csv", statements)
    a = write(env.root / "in", "loan_applications", "a.csv", apps)
    assert env.run([r]).exit_code == 0 and env.run([s]).exit_code == 0
    assert env.scalar("SELECT COUNT(*) FROM dim_customer WHERE customer_id = 'C-OTHER'") == 1
    assert env.run([a]).exit_code == 0

    customers = "SELECT customer_id, is_inferred FROM dim_customer ORDER BY 1"
    assert env.query(customers) == [("(unknown)", True), ("C-SHARED", True), ("C1", False)]
    assert env.query(_REPAYMENT_CUSTOMERS) == [
        ("R1", "C1"),
        ("R2", "C1"),
    ]
    natural = make_env(env.root / "natural")
    assert natural.run([a, s, r]).exit_code == 0
    assert natural.query(customers) == env.query(customers)
    warnings = "SELECT status FROM etl_data_test_result WHERE test_name = 'inferred_customers_have_facts'"
    assert {row[0] for row in env.query(warnings)} == {"pass"}


def test_a_uri_and_name_longer_than_the_ledger_columns_are_shortened_not_a_failed_load(env: Env) -> None:
    # An S3 key may be 1,024 bytes: with s3://<bucket>/ the URI does not fit the ledger's VARCHAR(1024), and
    # Redshift counts bytes, so 171 CJK characters already overflow file_name's VARCHAR(512). The ledger
    # INSERT failed on every redelivery and the error blamed the fact table.
    import io

    from etl.extract.discover import SourceFile
    from etl.load.lake import LocalLake
    from etl.load.warehouse import open_warehouse
    from etl.pipeline import Pipeline

    name = "月次明細" * 50 + ".csv"  # 600 bytes of UTF-8
    uri = "s3://raw-bucket/incoming/bank_statements/" + "d" * 500 + "/" + name
    body = (STMT_HEADER + "\nT1,C1,2023-01-02,-5.00,POS,1.00\n").encode()
    item = SourceFile(uri, name, "bank_statements", lambda: io.BytesIO(body))
    with open_warehouse(env.settings) as wh:
        pipeline = Pipeline(env.settings, LocalLake(env.settings.lake), wh)
        pipeline.prepare()
        result = pipeline.process(item)
    assert (result.status, result.rows_loaded) == ("loaded", 1)
    [(stored_uri, stored_name)] = env.query("SELECT uri, file_name FROM etl_file_ledger")
    assert len(stored_uri.encode()) <= 1024 and len(stored_name.encode()) <= 512
    assert stored_uri.startswith("s3://raw-bucket/incoming/bank_statements/ddd") and "…" in stored_uri
    assert stored_uri.endswith("月次明細.csv") and stored_name.endswith("明細.csv")
