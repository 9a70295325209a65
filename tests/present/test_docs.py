"""The committed data dictionary and ER diagram are what `etl docs` generates now, and README's data model and
guarantees sections agree with docs/."""

from __future__ import annotations

import re
from pathlib import Path

from etl.load.warehouse.duckdb import DuckDBWarehouse
from etl.model import schema
from etl.model.mart_docs import DEFINITIONS, RISK_COLUMNS
from etl.model.marts import MARTS
from etl.model.risk_marts import RISK_MARTS
from etl.present.docs import (
    MART_COLUMN_DESCRIPTIONS,
    data_dictionary,
    describe_mart_column,
    er_diagram,
    mart_columns,
    write_docs,
)
from etl.quality import data_tests

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_committed_docs_are_up_to_date() -> None:
    assert (DOCS / "data-dictionary.md").read_text(encoding="utf-8") == data_dictionary(), "run `etl docs`"
    assert (DOCS / "er-diagram.md").read_text(encoding="utf-8") == er_diagram(), "run `etl docs`"


def test_every_table_and_column_is_documented(tmp_path: Path) -> None:
    text = data_dictionary()
    for table in schema.ALL_TABLES:
        assert f"### {table.name} (" in text
        for column in table.columns:
            assert f"| {column.name} | {column.sql_type} |" in text
    assert "| credit_score | yes | int; 300-850 |" in text
    assert "| employment_status | yes | enum; one of Employed, Self-Employed, Unemployed |" in text
    diagram = er_diagram()
    assert "dim_customer ||--o{ fact_loan_application : customer_key" in diagram
    assert [p.name for p in write_docs(tmp_path)] == ["data-dictionary.md", "er-diagram.md"]


def _diagram_edges() -> set[tuple[str, str, str]]:
    """(child table, child column, parent table) of every relationship line of the generated diagram."""
    edges = set()
    for line in er_diagram().splitlines():
        match = re.fullmatch(r"    (\w+) \|\|--o\{ (\w+) : (\w+)", line)
        if match:
            parent, child, column = match.groups()
            edges.add((child, column, parent))
    return edges


def test_the_er_diagram_has_an_edge_for_every_key_the_data_tests_enforce_and_no_other() -> None:
    edges = _diagram_edges()
    by_name = {
        f"relationships_{child}_{column}_to_{parent}": (child, column, parent)
        for child, column, parent in edges
    }
    by_name |= {
        f"lineage_{child}_source_file_in_ledger": (child, column, parent)
        for child, column, parent in edges
        if (column, parent) == ("source_file_id", "etl_file_ledger")
    }
    # every foreign key a data test checks (relationships_*, and the lineage reconciliation of source_file_id)
    enforced = {t.name for t in data_tests() if t.name.startswith(("relationships_", "lineage_"))}
    assert enforced, "no relationship tests found"
    assert enforced <= set(by_name), f"data tests without an edge: {sorted(enforced - set(by_name))}"
    assert {edge for name, edge in by_name.items() if name in enforced} == edges, (
        "edges no data test enforces"
    )
    for test in data_tests():
        if test.name in enforced:
            child, column, _ = by_name[test.name]
            assert test.table == child and column in test.sql


def test_every_foreign_key_column_of_the_diagram_is_marked_fk() -> None:
    diagram = er_diagram()
    for child, column, _ in _diagram_edges():
        block = diagram.split(f"    {child} {{\n", 1)[1].split("    }", 1)[0]
        assert re.search(rf" {column} (PK, )?FK$", block, re.MULTILINE), (child, column)


def _readme_section(title: str) -> str:
    text = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_data_model_names_every_table_and_links_the_generated_diagram() -> None:
    section = _readme_section("Data model")
    assert "```mermaid" not in section, "the diagram is generated into docs/er-diagram.md: link it"
    assert "(docs/er-diagram.md)" in section and "(docs/data-dictionary.md)" in section
    named = set(re.findall(r"\b((?:dim|fact|etl)_[a-z_]+)\b", section))
    for kind, tables in (("facts", schema.FACTS), ("dimensions", schema.DIMENSIONS), ("ETL", schema.META)):
        row = re.search(rf"^\| {kind} \| (.*) \|$", section, re.MULTILINE)
        assert row, kind
        assert re.findall(r"`(\w+)`", row.group(1)) == [t.name for t in tables]
    assert named <= set(schema.TABLES), f"not tables: {sorted(named - set(schema.TABLES))}"


def _bold_items(text: str, pattern: str) -> list[str]:
    return re.findall(pattern, text, re.MULTILINE)


def test_the_readme_guarantees_summarise_docs_guarantees_promise_by_promise() -> None:
    """docs/guarantees.md is the one full text; README names each of its promises and limits, in order."""
    full = (DOCS / "guarantees.md").read_text(encoding="utf-8")
    table, limits = full.split("\n### What is not promised\n", 1)
    promises = _bold_items(table, r"^\| \*\*(.+?)\*\* \|")
    not_promised = _bold_items(limits, r"^- \*\*(.+?)\*\*")
    assert len(promises) >= 10 and len(not_promised) >= 6
    section = _readme_section("Guarantees")
    assert "(docs/guarantees.md)" in section
    assert "| promise |" not in section, "the full table is docs/guarantees.md"
    summary, readme_limits = section.split("\nNot promised", 1)
    assert _bold_items(summary, r"^- \*\*(.+?)\*\*") == promises
    assert _bold_items(readme_limits, r"^- \*\*(.+?)\*\*") == not_promised


def test_every_mart_column_is_documented_with_the_type_the_warehouse_gives_it() -> None:
    warehouse = DuckDBWarehouse(":memory:", memory_limit="256MB")
    try:
        warehouse.ensure_schema([])
        columns = warehouse.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_name LIKE 'mart_%' ORDER BY table_name, ordinal_position"
        )
    finally:
        warehouse.close()
    text = data_dictionary()
    assert {table for table, _, _ in columns} == {m.name for m in MARTS}
    for mart in MARTS:
        section = text.split(f"\n### {mart.name} (view)\n", 1)[1].split("\n### ", 1)[0]
        rows = re.findall(r"^\| (\w+) \| ([^|]+) \|", section, re.MULTILINE)
        assert rows[1:] == [(c, t) for table, c, t in columns if table == mart.name], mart.name


def test_every_mart_column_description_names_a_mart_column() -> None:
    described = {name for columns in mart_columns().values() for name, _ in columns}
    assert set(MART_COLUMN_DESCRIPTIONS) <= described, sorted(set(MART_COLUMN_DESCRIPTIONS) - described)


def test_every_credit_risk_mart_column_has_its_definition() -> None:
    columns = mart_columns()
    for mart in RISK_MARTS:
        names = [name for name, _ in columns[mart.name]]
        assert set(RISK_COLUMNS[mart.name]) <= set(names), (
            mart.name,
            set(RISK_COLUMNS[mart.name]) - set(names),
        )
        undescribed = [name for name in names if not describe_mart_column(mart.name, name)]
        assert not undescribed, (mart.name, undescribed)
    text = data_dictionary()
    assert "## Definitions" in text
    for term, _ in DEFINITIONS:
        assert f"- **{term}**: " in text
    # which figures are exact and which is not
    assert "PSI is the one DOUBLE PRECISION figure of the marts" in text
    loan_month = text.split("\n### mart_loan_month (view)\n", 1)[1].split("\n### ", 1)[0]
    assert (
        "| days_past_due | INTEGER | Days since the due date of the oldest instalment past due" in loan_month
    )
    assert "| psi | DOUBLE | Population stability index" in text
