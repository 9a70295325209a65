"""Shared by the mart tests: one warehouse per backend, loaded and with its marts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from etl.load.warehouse import open_warehouse
from etl.model.marts import ensure_marts
from etl.pipeline import RunReport
from etl.settings import Settings
from tests.helpers import Env
from tests.plugins.postgres import PostgresServer


class Marts:
    """Queries against a loaded warehouse (each opens and closes its own connection)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with open_warehouse(self.settings) as wh:
            return wh.query(sql)

    def by_key(self, mart: str, keys: Sequence[str], values: Sequence[str]) -> dict[Any, tuple[Any, ...]]:
        rows = self.query(f"SELECT {', '.join([*keys, *values])} FROM {mart}")
        n = len(keys)
        out = {(r[0] if n == 1 else tuple(r[:n])): tuple(r[n:]) for r in rows}
        assert len(out) == len(rows), f"{mart}: {keys} is not its grain"
        return out

    def rows(self, sql: str) -> dict[Any, tuple[Any, ...]]:
        """The rows of `sql` by their first column."""
        return {r[0]: tuple(r[1:]) for r in self.query(sql)}


@contextmanager
def loaded_warehouse(
    request: pytest.FixtureRequest, tmp: Path, name: str
) -> Iterator[tuple[Settings, RunReport]]:
    """Load `tmp / "data"` into a DuckDB file (request.param "duckdb") or a new database on the session's
    PostgreSQL server ("postgres"), create the marts, and drop that database afterwards."""
    database = None
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        database = f"{name}_{uuid.uuid4().hex[:12]}"
        url = server.create_database(database)
    else:
        url = f"duckdb:///{tmp / 'warehouse.duckdb'}"
    settings = Settings(lake=str(tmp / "lake"), warehouse_url=url)
    try:
        report = Env(tmp, settings).run()
        with open_warehouse(settings) as wh, wh.transaction():
            ensure_marts(wh)
        yield settings, report
    finally:
        if database is not None:
            server.drop_database(database)
