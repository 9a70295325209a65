"""The foreign keys in etl.model.relationships give the data tests their names, severities and SQL: the names
are recorded in etl_data_test_result and shown on dashboards, so they are pinned here."""

from __future__ import annotations

from etl.quality import data_tests


def test_the_key_tests_keep_their_names_order_severities_and_sql() -> None:
    tests = {t.name: t for t in data_tests()}
    keys = [
        (t.name, t.test_type, t.severity)
        for t in data_tests()
        if t.name.startswith(("relationships_", "lineage_"))
    ]
    assert keys == [
        ("relationships_fact_loan_application_customer_key_to_dim_customer", "relationships", "error"),
        ("relationships_fact_bank_transaction_customer_key_to_dim_customer", "relationships", "error"),
        ("relationships_fact_repayment_customer_key_to_dim_customer", "relationships", "error"),
        ("relationships_fact_loan_application_application_date_key_to_dim_date", "relationships", "error"),
        ("relationships_fact_loan_application_decision_date_key_to_dim_date", "relationships", "error"),
        ("relationships_fact_loan_application_credit_band_key_to_dim_credit_band", "relationships", "error"),
        ("relationships_fact_bank_transaction_transaction_date_key_to_dim_date", "relationships", "error"),
        (
            "relationships_fact_bank_transaction_category_key_to_dim_transaction_category",
            "relationships",
            "error",
        ),
        ("relationships_fact_repayment_due_date_key_to_dim_date", "relationships", "error"),
        ("relationships_fact_repayment_paid_date_key_to_dim_date", "relationships", "error"),
        ("relationships_fact_repayment_application_key_to_fact_loan_application", "relationships", "warn"),
        ("relationships_dim_customer_history_customer_key_to_dim_customer", "relationships", "error"),
        ("lineage_fact_loan_application_source_file_in_ledger", "reconciliation", "error"),
        ("lineage_fact_bank_transaction_source_file_in_ledger", "reconciliation", "error"),
        ("lineage_fact_repayment_source_file_in_ledger", "reconciliation", "error"),
    ]
    assert tests["relationships_fact_repayment_paid_date_key_to_dim_date"].sql == (
        "SELECT COUNT(*) FROM fact_repayment c WHERE c.paid_date_key IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM dim_date p WHERE p.date_key = c.paid_date_key)"
    )
    assert tests["lineage_fact_repayment_source_file_in_ledger"].sql == (
        "SELECT COUNT(*) FROM (SELECT source_file_id, COUNT(*) AS n FROM fact_repayment GROUP BY source_file_id) f "
        "LEFT JOIN etl_file_ledger l ON l.file_id = f.source_file_id "
        "WHERE l.file_id IS NULL OR l.status <> 'loaded' OR f.n > l.rows_loaded"
    )
