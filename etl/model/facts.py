"""Pure builders of fact rows from validated source rows (Arrow tables in, Arrow tables out), one per source.

Each builder takes the valid rows of a chunk and the file's `FactContext`; `build_fact` picks the builder of
the contract's fact table. Every fact row carries its lineage: the file's id and the row's line in it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc

from etl.contracts import CATEGORIES, SourceContract
from etl.model import schema
from etl.model.dimensions import credit_band_names, date_key
from etl.model.keys import surrogate_key_of, surrogate_keys
from etl.normalize.categories import CategoryRule, category_codes
from etl.normalize.rejects import mask_text

MAX_RATIO = 10**13  # DECIMAL(18,4) holds less than 10^14


@cache
def _category_keys() -> pa.Array:
    """The dimension key of every category, by code; made on first use (a pa.array at import imports pandas:
    see `etl.pipeline.arrow_without_pandas`)."""
    return pa.array([surrogate_key_of(c) for c in CATEGORIES], pa.int64())


@dataclass(frozen=True)
class FactContext:
    """What a builder needs besides the rows: the file, the load time, the narration rules and masking."""

    file_id: str
    loaded_at: datetime
    rules: Sequence[CategoryRule] = ()
    mask: bool = False


def _attributes(valid: pa.Table) -> pa.Array | pa.ChunkedArray:
    """The kept extra columns of each row as one JSON object of text (`attributes`, made by normalisation
    from a profile's `keep` list), or NULL for every row when the table has none."""
    if schema.ATTRIBUTES.name in valid.column_names:
        return valid.column(schema.ATTRIBUTES.name)
    return pa.nulls(valid.num_rows, pa.string())


def _lineage(n: int, ctx: FactContext, source_row: pa.ChunkedArray) -> dict[str, pa.Array]:
    return {
        "source_file_id": pa.repeat(pa.scalar(ctx.file_id, pa.string()), n),
        "source_row": source_row,
        "loaded_at": pa.repeat(pa.scalar(ctx.loaded_at, pa.timestamp("us")), n),
    }


def build_fact_loan_application(valid: pa.Table, ctx: FactContext) -> pa.Table:
    n = valid.num_rows
    income = valid.column("annual_income")
    # Exact: DECIMAL(18,2) / DECIMAL(18,2) is DECIMAL(37,19), truncated after 19 places, then rounded half
    # away from zero to 4 places, as the marts round (a float ratio made 0.50005 0.5000 and 1/32 0.0312).
    divisor = pc.if_else(pc.equal(income, 0), pa.scalar(None, income.type), income)
    ratio = pc.round(pc.divide(valid.column("loan_amount"), divisor), 4, round_mode="half_towards_infinity")
    ratio = pc.if_else(pc.greater_equal(ratio, MAX_RATIO), pa.scalar(None, ratio.type), ratio)
    band = credit_band_names(valid.column("credit_score"))
    columns = {
        "application_id": valid.column("application_id"),
        "application_key": surrogate_keys(valid.column("application_id")),
        "customer_key": surrogate_keys(valid.column("customer_id")),
        "application_date_key": date_key(valid.column("loan_application_date")),
        "credit_band_key": surrogate_keys(band),
        "loan_application_date": valid.column("loan_application_date"),
        "loan_amount": valid.column("loan_amount"),
        "credit_score": valid.column("credit_score"),
        "employment_status": valid.column("employment_status"),
        "annual_income": income,
        "loan_to_income": pc.cast(ratio, schema.RATIO),
        "loan_term_months": valid.column("loan_term_months"),
        "interest_rate": valid.column("interest_rate"),
        "loan_purpose": valid.column("loan_purpose"),
        "state": valid.column("state"),
        "application_status": valid.column("application_status"),
        "decision_date": valid.column("decision_date"),
        "decision_date_key": date_key(valid.column("decision_date")),
        "fraud_score": valid.column("fraud_score"),
        "attributes": _attributes(valid),
        **_lineage(n, ctx, valid.column("source_row")),
    }
    return pa.table(columns, schema=schema.FACT_LOAN_APPLICATION.arrow_schema)


def build_fact_bank_transaction(valid: pa.Table, ctx: FactContext) -> pa.Table:
    n = valid.num_rows
    amount = valid.column("transaction_amount")
    narration = valid.column("narration")
    codes = category_codes(narration, ctx.rules)
    if ctx.mask:
        narration = mask_text(narration)
    columns = {
        "transaction_id": valid.column("transaction_id"),
        "customer_key": surrogate_keys(valid.column("customer_id")),
        "transaction_date_key": date_key(valid.column("transaction_date")),
        "category_key": pc.take(_category_keys(), codes),
        "transaction_amount": amount,
        "direction": pc.if_else(pc.greater(amount, pa.scalar(0, schema.MONEY)), "credit", "debit"),
        "balance": valid.column("balance"),
        "narration": narration,
        "channel": pc.utf8_lower(valid.column("channel")),
        "merchant": valid.column("merchant"),
        "attributes": _attributes(valid),
        **_lineage(n, ctx, valid.column("source_row")),
    }
    return pa.table(columns, schema=schema.FACT_BANK_TRANSACTION.arrow_schema)


def build_fact_repayment(valid: pa.Table, ctx: FactContext) -> pa.Table:
    n = valid.num_rows
    due, paid = valid.column("due_date"), valid.column("paid_date")
    amount_due, amount_paid = valid.column("amount_due"), valid.column("amount_paid")
    days_late = pc.cast(pc.days_between(due, paid), pa.int32())
    zero = pa.scalar(0, schema.MONEY)
    # amount_paid is optional: a paid date without an amount means paid in full (the fact keeps the NULL);
    # an amount without a date is judged by the amount
    paid_amount = pc.coalesce(amount_paid, pc.if_else(pc.is_valid(paid), amount_due, zero))
    nothing = pc.less_equal(paid_amount, zero)
    partial = pc.less(paid_amount, amount_due)
    late = pc.greater(pc.fill_null(days_late, 0), 0)
    status = pc.if_else(nothing, "missed", pc.if_else(partial, "partial", pc.if_else(late, "late", "paid")))
    columns = {
        "repayment_id": valid.column("repayment_id"),
        "application_id": valid.column("application_id"),
        "application_key": surrogate_keys(valid.column("application_id")),
        "customer_key": surrogate_keys(valid.column("customer_id")),
        "due_date": due,
        "due_date_key": date_key(due),
        "paid_date": paid,
        "paid_date_key": date_key(paid),
        "amount_due": amount_due,
        "amount_paid": amount_paid,
        "days_late": pc.if_else(pc.is_null(paid), pa.scalar(None, pa.int32()), days_late),
        "status": status,
        "attributes": _attributes(valid),
        **_lineage(n, ctx, valid.column("source_row")),
    }
    return pa.table(columns, schema=schema.FACT_REPAYMENT.arrow_schema)


Builder = Callable[[pa.Table, FactContext], pa.Table]
# Each source's builder, by the fact table its contract names.
BUILDERS: dict[str, Builder] = {
    schema.FACT_LOAN_APPLICATION.name: build_fact_loan_application,
    schema.FACT_BANK_TRANSACTION.name: build_fact_bank_transaction,
    schema.FACT_REPAYMENT.name: build_fact_repayment,
}


def build_fact(contract: SourceContract, valid: pa.Table, ctx: FactContext) -> pa.Table:
    """The fact rows of one chunk of valid rows of `contract`'s source."""
    return BUILDERS[contract.fact_table](valid, ctx)


def file_customers(valid: pa.Table, fact: pa.Table) -> pa.Table:
    """The customers a chunk of valid rows names, once each, by key (`schema.FILE_CUSTOMERS`): the facts keep
    the key only, and the load makes a customer the warehouse does not know yet a member of dim_customer
    with its natural id. `fact` is the chunk's fact rows (their customer_key, not hashed again). A row
    without a customer_id (an optional column of repayments) names none."""
    ids = valid.column("customer_id")
    named = pa.table({"customer_key": fact.column("customer_key"), "customer_id": ids}).filter(
        pc.is_valid(ids)
    )
    return distinct_customers(named)


def distinct_customers(named: pa.Table) -> pa.Table:
    """Customer key and id pairs, once each, in the shape of `schema.FILE_CUSTOMERS` (a chunk's, or the
    chunks' of a whole file)."""
    distinct = named.group_by(["customer_key", "customer_id"], use_threads=False).aggregate([])
    return distinct.select(list(schema.FILE_CUSTOMERS.column_names)).cast(schema.FILE_CUSTOMERS.arrow_schema)


def date_bounds(fact: pa.Table, columns: Sequence[str]) -> list[date]:
    """The earliest and latest value of each date column (the calendar days the facts need)."""
    bounds: list[date] = []
    for col in columns:
        span = pc.min_max(fact.column(col))
        bounds.extend(v for v in (span["min"].as_py(), span["max"].as_py()) if v is not None)
    return bounds
