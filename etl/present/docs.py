"""`etl docs`: the data dictionary and the ER diagram, generated from the schema, contracts and marts."""

from __future__ import annotations

from pathlib import Path

from etl.contracts import BANK_STATEMENTS, LOAN_APPLICATIONS, REPAYMENTS, Column, SourceContract
from etl.model import schema
from etl.model.mart_docs import DEFINITIONS, RISK_COLUMNS
from etl.model.marts import MARTS
from etl.model.relationships import LINEAGE, RELATIONSHIPS
from etl.model.schema import TableSpec

CONTRACTS: tuple[SourceContract, ...] = (LOAN_APPLICATIONS, BANK_STATEMENTS, REPAYMENTS)

TABLE_DESCRIPTIONS = {
    "dim_date": "One calendar day; `date_key` = yyyymmdd.",
    "dim_customer": "One customer, current attributes (type 1); `customer_key` -1 is the (unknown) member; "
    "customers seen only in statements or repayments are inferred (`is_inferred`).",
    "dim_customer_history": "Type 2 history of employment_status / annual_income / state per customer.",
    "dim_credit_band": "Credit bands: Poor 300-579, Fair 580-669, Good 670-739, Very Good 740-799, "
    "Exceptional 800-850.",
    "dim_transaction_category": "Narration categories from the rules in etl/rules/narration_categories.csv.",
    "fact_loan_application": "One loan application.",
    "fact_bank_transaction": "One bank-statement transaction (credit > 0, debit < 0).",
    "fact_repayment": "One repayment instalment with its status (paid, late, partial, missed).",
    "etl_file_ledger": "One processed file; `file_id` is the SHA-256 of its content.",
    "etl_data_test_result": "One data-test result of one run.",
    "etl_schema_version": "The digest of the schema setup last applied (tables, seeds, mart views); a load whose setup has the same digest skips it.",
}

# The facts' shape, and the interface change that made it (issue 21), ahead of the tables.
FACTS_HOLD_KEYS = (
    "The facts hold keys, measures and degenerate dimensions (their own ids, amounts, direction, status, "
    "narration, channel, merchant), never a copy of a dimension's attribute; the application's and the "
    "instalment's own dates stay beside their date keys, as the marts compute with them (days late, days "
    "past due, the customer's history). **Interface "
    "change (issue 21):** `fact_bank_transaction` no longer has `customer_id`, `category` or "
    "`transaction_date`, nor `fact_loan_application` and `fact_repayment` `customer_id` (a Kimball fact; "
    "the copies cost about 0.1 s per 1M rows and made every Parquet file larger). Read them through the "
    "dimensions; an existing warehouse drops the columns at its next load.",
    "",
    "```sql",
    "SELECT t.transaction_id, c.customer_id, d.date AS transaction_date, g.category, t.transaction_amount",
    "FROM fact_bank_transaction t",
    "JOIN dim_customer c ON c.customer_key = t.customer_key",
    "JOIN dim_date d ON d.date_key = t.transaction_date_key",
    "JOIN dim_transaction_category g ON g.category_key = t.category_key;",
    "```",
)

COLUMN_DESCRIPTIONS = {
    "source_file_id": "Ledger `file_id` of the file the row came from",
    "source_row": "Physical line of the row in its file",
    "loaded_at": "When the row was loaded",
    "customer_key": "Surrogate key of the customer (deterministic hash of customer_id)",
    "application_key": "Surrogate key of the application (deterministic hash of application_id)",
    "credit_band_key": "Surrogate key of the credit band",
    "category_key": "Surrogate key of the transaction category",
    "loan_to_income": "loan_amount / annual_income, exact, rounded half away from zero to 4 places; "
    "null when annual_income is 0 or the ratio reaches 10^13",
    "interest_rate": "Annual interest rate in percent",
    "direction": "credit or debit",
    "status": "Outcome (see the table description)",
    "days_late": "Days between due_date and paid_date",
    "is_inferred": "Customer known only from statements or repayments",
    "is_current": "The current version of the customer",
    "year_month": "yyyy-mm",
    "rows_in": "Records in the file (blank lines not counted)",
    "rows_loaded": "Records loaded into the fact table (0 when the file did not load)",
    "rows_quarantined": "Records written to the quarantine",
    "rows_blank": "Lines with no values (empty, or only whitespace and delimiters): neither loaded nor quarantined",
    "attributes": "The extra columns a profile keeps (`keep`), as one JSON object of text values per row "
    '(`{"branch": "Ikeja"}`); NULL when the file kept none. JSON in DuckDB, JSONB in PostgreSQL, SUPER in '
    "Redshift, text in the Parquet lake",
}

# Mart columns whose meaning is the same in every mart that has them (the definitions of etl/model/marts.py).
MART_COLUMN_DESCRIPTIONS = {
    "year_month": COLUMN_DESCRIPTIONS["year_month"],
    "month_start": "First day of year_month",
    "customer_key": COLUMN_DESCRIPTIONS["customer_key"],
    "is_inferred": COLUMN_DESCRIPTIONS["is_inferred"],
    "direction": COLUMN_DESCRIPTIONS["direction"],
    "approval_rate": "approved / (approved + rejected): pending applications are not decided yet",
    "loans": "Applications with at least one repayment instalment",
    "defaulted_loans": "Loans with an instalment paid more than 90 days late or not paid in full more than 90 days "
    "after its due date, as of the latest payment date in the warehouse (see Default)",
    "default_rate": "defaulted_loans / loans",
    "is_defaulted": "1 when the loan has an instalment paid more than 90 days late or not paid in full more than "
    "90 days after its due date, as of the latest payment date in the warehouse (see Default)",
    "missed_instalments": "Instalments with nothing paid that were due by the latest payment date in the warehouse",
    "max_days_late": "Most days an instalment was paid after its due date (negative when every one was paid early; "
    "unpaid instalments count as 0)",
    "expected_interest": "loan_amount x interest_rate% x loan_term_months / 12 (simple interest) of the row's "
    "approved applications that carry both a rate and a term",
    "active_months": "Months with at least one bank-statement transaction",
    "avg_monthly_inflow": "total_inflow / active_months",
    "avg_monthly_outflow": "total_outflow / active_months",
    "salary_regularity": "Months with a salary credit / active months",
    "betting_share": "Betting debits / all debits",
    "days_overdrawn": "Distinct days on which a transaction left the balance below zero",
    "inflow_to_loan": "Average monthly inflow / loan amount of the customer's latest application",
    "quarantine_rate": "rows_quarantined / rows_in",
    "fraud_score": "Fraud screening score of the application, 0-100 (NULL when it has none)",
    "fraud_band": "Fraud score band of the application (see Fraud score band)",
}

HEADER = (
    "<!-- generated by `etl docs` from etl/model/schema.py, etl/model/relationships.py, etl/contracts.py "
    "and etl/model/marts.py; do not edit -->"
)


def _contract_column_for(table: str, column: str) -> Column | None:
    for contract in CONTRACTS:
        if contract.fact_table == table and column in contract.names:
            return contract.column(column)
    return None


def _describe(table: TableSpec, column: str) -> str:
    found = _contract_column_for(table.name, column)
    if found is not None and found.description:
        return found.description
    return COLUMN_DESCRIPTIONS.get(column, "")


def _rules(column: Column) -> str:
    rules: list[str] = [column.kind]
    if column.allowed:
        rules.append("one of " + ", ".join(sorted(set(column.allowed.values()))))
    if column.minimum is not None or column.maximum is not None or column.nonzero:
        rules.append(column.range_text())
    return "; ".join(rules)


def data_dictionary() -> str:
    out = [HEADER, "", "# Data dictionary", ""]
    out += ["## Warehouse tables", "", *FACTS_HOLD_KEYS, ""]
    for table in schema.ALL_TABLES:
        key = ", ".join(table.key)
        out += [f"### {table.name} ({table.kind})", "", TABLE_DESCRIPTIONS.get(table.name, ""), ""]
        out += [f"Key: `{key}`.", "", "| column | type | nullable | description |", "|---|---|---|---|"]
        for c in table.columns:
            nullable = "yes" if c.nullable else "no"
            out.append(f"| {c.name} | {c.sql_type} | {nullable} | {_describe(table, c.name)} |")
        out.append("")
    out += ["## Source contracts", ""]
    for contract in CONTRACTS:
        out += [f"### {contract.name} -> {contract.fact_table}", "", f"Natural key: `{contract.key}`.", ""]
        out += ["| column | required | rules | description |", "|---|---|---|---|"]
        for col in contract.columns:
            required = "yes" if col.required else "no"
            out.append(f"| {col.name} | {required} | {_rules(col)} | {col.description} |")
        out.append("")
    out += [
        "## Definitions",
        "",
        "What the marts' credit-risk figures rest on (`etl/model/mart_sql.py`).",
        "",
    ]
    out += [f"- **{term}**: {text}" for term, text in DEFINITIONS]
    out += [""]
    out += ["## Marts (views)", "", "| view | grain | description |", "|---|---|---|"]
    out += [f"| {m.name} | {m.grain} | {m.description} |" for m in MARTS]
    out += [
        "",
        "Column types are the ones DuckDB gives the views (read from `information_schema.columns`); "
        "PostgreSQL and Redshift may name or size some differently.",
        "",
    ]
    columns = mart_columns()
    for mart in MARTS:
        out += [f"### {mart.name} (view)", "", mart.description, "", f"Grain: {mart.grain}.", ""]
        out += ["| column | type | description |", "|---|---|---|"]
        for name, sql_type in columns[mart.name]:
            out.append(f"| {name} | {sql_type} | {describe_mart_column(mart.name, name)} |")
        out.append("")
    return "\n".join(out)


def describe_mart_column(mart: str, column: str) -> str:
    """The column's meaning in this mart, else the meaning it has in every mart."""
    return RISK_COLUMNS.get(mart, {}).get(column) or MART_COLUMN_DESCRIPTIONS.get(column, "")


def mart_columns() -> dict[str, list[tuple[str, str]]]:
    """Each mart view's (column, type) in order, as a scratch in-memory DuckDB warehouse creates them."""
    from etl.load.warehouse.duckdb import DuckDBWarehouse  # only here: the CLI imports this module at start

    warehouse = DuckDBWarehouse(":memory:", memory_limit="256MB")
    try:
        warehouse.ensure_schema([])
        rows = warehouse.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_name LIKE 'mart\\_%' ESCAPE '\\' ORDER BY table_name, ordinal_position"
        )
    finally:
        warehouse.close()
    columns: dict[str, list[tuple[str, str]]] = {mart.name: [] for mart in MARTS}
    for table, column, sql_type in rows:
        columns[str(table)].append((str(column), str(sql_type)))
    return columns


def _mermaid_type(sql_type: str) -> str:
    return sql_type.split("(")[0].lower().replace(" ", "_")


def er_diagram() -> str:
    """Every foreign key the data tests check (etl.model.relationships), and every table with its columns."""
    edges = (*RELATIONSHIPS, *LINEAGE)
    foreign = {(fk.child, fk.column) for fk in edges}
    lines = [HEADER, "", "# Entity-relationship diagram", "", "```mermaid", "erDiagram"]
    for fk in edges:
        lines.append(f"    {fk.parent} ||--o{{ {fk.child} : {fk.column}")
    for table in schema.ALL_TABLES:
        lines.append(f"    {table.name} {{")
        for c in table.columns:
            flags = [
                f for f, on in (("PK", c.name in table.key), ("FK", (table.name, c.name) in foreign)) if on
            ]
            lines.append(
                f"        {_mermaid_type(c.sql_type)} {c.name}{' ' if flags else ''}{', '.join(flags)}"
            )
        lines.append("    }")
    lines += ["```", ""]
    return "\n".join(lines)


def write_docs(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("data-dictionary.md", data_dictionary()), ("er-diagram.md", er_diagram())):
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
