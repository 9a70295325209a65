"""The foreign keys of the star schema: one list that the data tests check and the ER diagram draws."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from etl.model import schema

Severity = Literal["error", "warn"]


@dataclass(frozen=True)
class Relationship:
    child: str
    column: str
    parent: str
    parent_column: str
    severity: Severity = "error"


# Checked by the `relationships_<child>_<column>_to_<parent>` data tests, in this order.
RELATIONSHIPS: tuple[Relationship, ...] = (
    Relationship("fact_loan_application", "customer_key", "dim_customer", "customer_key"),
    Relationship("fact_bank_transaction", "customer_key", "dim_customer", "customer_key"),
    Relationship("fact_repayment", "customer_key", "dim_customer", "customer_key"),
    Relationship("fact_loan_application", "application_date_key", "dim_date", "date_key"),
    Relationship("fact_loan_application", "decision_date_key", "dim_date", "date_key"),
    Relationship("fact_loan_application", "credit_band_key", "dim_credit_band", "credit_band_key"),
    Relationship("fact_bank_transaction", "transaction_date_key", "dim_date", "date_key"),
    Relationship("fact_bank_transaction", "category_key", "dim_transaction_category", "category_key"),
    Relationship("fact_repayment", "due_date_key", "dim_date", "date_key"),
    Relationship("fact_repayment", "paid_date_key", "dim_date", "date_key"),
    # a warning: a repayment's application may not be loaded (not yet, or quarantined)
    Relationship("fact_repayment", "application_key", "fact_loan_application", "application_key", "warn"),
    Relationship("dim_customer_history", "customer_key", "dim_customer", "customer_key"),
)

# Every fact row's source file is in the ledger: checked by the `lineage_<fact>_source_file_in_ledger`
# reconciliation tests (which also require the file to be loaded and to own no more rows than it loaded).
LINEAGE: tuple[Relationship, ...] = tuple(
    Relationship(fact.name, "source_file_id", "etl_file_ledger", "file_id") for fact in schema.FACTS
)
