"""The SQL dialects the warehouses speak, and what differs between them that the model's SQL needs."""

from __future__ import annotations

from typing import Literal

Dialect = Literal["duckdb", "postgres", "redshift"]


def bytewise(column: str, dialect: Dialect) -> str:
    """`column` compared byte by byte, as DuckDB and Redshift (its default, case-sensitive collation) compare
    text; PostgreSQL uses the database's collation (en-US ICU puts `a2` before `B1`), so a tie broken by an id
    would differ between backends."""
    return f'{column} COLLATE "C"' if dialect == "postgres" else column
