"""The committed data dictionary and ER diagram are what `etl docs` generates now."""

from __future__ import annotations

from pathlib import Path

from etl.docs_gen import data_dictionary, er_diagram, write_docs
from etl.model import schema

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
