"""Data tests run in the warehouse after every load: unique, not_null, relationships, accepted_values,
ranges and ledger reconciliation. Each query counts failing rows; results are stored with the run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from etl.contracts import APPLICATION_STATUSES, EMPLOYMENT_STATUSES
from etl.load.warehouse import Warehouse, open_warehouse
from etl.model import schema
from etl.model.relationships import LINEAGE, RELATIONSHIPS, Relationship, Severity
from etl.settings import Settings


@dataclass(frozen=True)
class DataTest:
    name: str
    test_type: str
    table: str
    sql: str  # returns one row: the number of failing rows
    severity: Severity = "error"
    condition: str | None = None  # a row-level test: true for a failing row of `table` (`sql` counts them)


@dataclass(frozen=True)
class DataTestResult:
    name: str
    test_type: str
    table: str
    severity: Severity
    status: Literal["pass", "fail"]
    failures: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.test_type,
            "table": self.table,
            "severity": self.severity,
            "status": self.status,
            "failures": self.failures,
        }


def _unique(table: str, cols: tuple[str, ...]) -> DataTest:
    key = ", ".join(cols)
    return DataTest(
        f"unique_{table}_{'_'.join(cols)}",
        "unique",
        table,
        f"SELECT COUNT(*) FROM (SELECT {key} FROM {table} GROUP BY {key} HAVING COUNT(*) > 1) d",
    )


def _row_test(name: str, test_type: str, table: str, condition: str) -> DataTest:
    return DataTest(
        name, test_type, table, f"SELECT COUNT(*) FROM {table} WHERE {condition}", condition=condition
    )


def _not_null(table: str, col: str) -> DataTest:
    return _row_test(f"not_null_{table}_{col}", "not_null", table, f"{col} IS NULL")


def _relationship(fk: Relationship) -> DataTest:
    return DataTest(
        f"relationships_{fk.child}_{fk.column}_to_{fk.parent}",
        "relationships",
        fk.child,
        f"SELECT COUNT(*) FROM {fk.child} c WHERE c.{fk.column} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {fk.parent} p WHERE p.{fk.parent_column} = c.{fk.column})",
        fk.severity,
    )


def _accepted(table: str, col: str, values: tuple[str, ...]) -> DataTest:
    listed = ", ".join(f"'{v}'" for v in values)
    return _row_test(
        f"accepted_values_{table}_{col}",
        "accepted_values",
        table,
        f"{col} IS NOT NULL AND {col} NOT IN ({listed})",
    )


def _range(table: str, name: str, condition: str) -> DataTest:
    return _row_test(f"range_{table}_{name}", "range", table, f"NOT ({condition})")


def _lineage(fk: Relationship) -> DataTest:
    """Every fact row comes from a loaded file, and no file owns more rows than it loaded."""
    assert (fk.column, fk.parent, fk.parent_column) == ("source_file_id", "etl_file_ledger", "file_id")
    return DataTest(
        f"lineage_{fk.child}_source_file_in_ledger",
        "reconciliation",
        fk.child,
        f"SELECT COUNT(*) FROM (SELECT source_file_id, COUNT(*) AS n FROM {fk.child} GROUP BY source_file_id) f "
        "LEFT JOIN etl_file_ledger l ON l.file_id = f.source_file_id "
        "WHERE l.file_id IS NULL OR l.status <> 'loaded' OR f.n > l.rows_loaded",
    )


def data_tests() -> list[DataTest]:
    tests: list[DataTest] = []
    for spec in schema.ALL_TABLES:
        if spec.name == "etl_data_test_result":
            continue
        tests.append(_unique(spec.name, spec.key))
        tests.extend(_not_null(spec.name, c.name) for c in spec.columns if not c.nullable)
    tests.extend(_relationship(fk) for fk in RELATIONSHIPS)
    tests += [
        _accepted("fact_loan_application", "employment_status", EMPLOYMENT_STATUSES),
        _accepted("fact_loan_application", "application_status", APPLICATION_STATUSES),
        _accepted("fact_bank_transaction", "direction", ("credit", "debit")),
        _accepted("fact_repayment", "status", ("paid", "late", "partial", "missed")),
        _accepted("etl_file_ledger", "status", ("loaded", "rejected", "failed")),
        _range("fact_loan_application", "credit_score", "credit_score BETWEEN 300 AND 850"),
        _range("fact_loan_application", "loan_amount", "loan_amount > 0"),
        _range("fact_loan_application", "annual_income", "annual_income >= 0"),
        _range(
            "fact_loan_application", "fraud_score", "fraud_score IS NULL OR fraud_score BETWEEN 0 AND 100"
        ),
        _range(
            "fact_bank_transaction",
            "transaction_amount_sign",
            "(direction = 'credit' AND transaction_amount > 0) OR (direction = 'debit' AND transaction_amount < 0)",
        ),
        _range("fact_repayment", "amount_due", "amount_due > 0"),
        DataTest(
            "one_current_version_per_customer",
            "range",
            "dim_customer_history",
            "SELECT COUNT(*) FROM (SELECT customer_key FROM dim_customer_history "
            "GROUP BY customer_key HAVING SUM(CASE WHEN is_current THEN 1 ELSE 0 END) <> 1) x",
        ),
        DataTest(
            "customer_application_count_matches_facts",
            "reconciliation",
            "dim_customer",
            "SELECT COUNT(*) FROM dim_customer d LEFT JOIN (SELECT customer_key, COUNT(*) AS n "
            "FROM fact_loan_application GROUP BY customer_key) f ON f.customer_key = d.customer_key "
            "WHERE d.application_count <> COALESCE(f.n, 0)",
        ),
        *[_lineage(fk) for fk in LINEAGE],
        DataTest(
            "ledger_reconciliation",
            "reconciliation",
            "etl_file_ledger",
            "SELECT COUNT(*) FROM etl_file_ledger WHERE status = 'loaded' "
            "AND rows_in <> rows_loaded + rows_quarantined",
        ),
        DataTest(
            "inferred_customers_have_facts",
            "relationships",
            "dim_customer",
            "SELECT COUNT(*) FROM dim_customer d WHERE d.is_inferred AND d.customer_key <> -1 "
            "AND NOT EXISTS (SELECT 1 FROM fact_bank_transaction f WHERE f.customer_key = d.customer_key) "
            "AND NOT EXISTS (SELECT 1 FROM fact_repayment r WHERE r.customer_key = d.customer_key)",
            "warn",
        ),
    ]
    return tests


def batched_queries(tests: list[DataTest]) -> list[tuple[str, list[DataTest]]]:
    """One query per table for its row-level tests (a single scan counts every condition), one per other test.

    Each query returns one row: the failure count of each of its tests, in order.
    """
    by_table: dict[str, list[DataTest]] = {}
    queries: list[tuple[str, list[DataTest]]] = []
    for test in tests:
        if test.condition is None:
            queries.append((test.sql, [test]))
        else:
            by_table.setdefault(test.table, []).append(test)
    for table, row_tests in by_table.items():
        counts = ", ".join(f"COALESCE(SUM(CASE WHEN {t.condition} THEN 1 ELSE 0 END), 0)" for t in row_tests)
        queries.append((f"SELECT {counts} FROM {table}", row_tests))
    return queries


def run_data_tests(warehouse: Warehouse, run_id: str, checked_at: datetime) -> list[DataTestResult]:
    tests = data_tests()
    failures: dict[str, int] = {}
    for sql, batch in batched_queries(tests):
        row = warehouse.query(sql)[0]
        failures.update((test.name, int(count)) for test, count in zip(batch, row, strict=True))
    results = [
        DataTestResult(
            t.name, t.test_type, t.table, t.severity, "fail" if failures[t.name] else "pass", failures[t.name]
        )
        for t in tests
    ]
    warehouse.record_test_results(
        [
            (run_id, r.name, r.test_type, r.table, r.severity, r.status, r.failures, checked_at)
            for r in results
        ]
    )
    return results


def check_warehouse(settings: Settings) -> list[DataTestResult]:
    """Run the whole suite against the warehouse of `settings` (it must exist) and record it: `etl quality`."""
    with open_warehouse(settings, must_exist=True) as warehouse:
        checked_at = datetime.now(UTC).replace(tzinfo=None)
        return run_data_tests(warehouse, f"quality-{uuid.uuid4().hex[:8]}", checked_at)
