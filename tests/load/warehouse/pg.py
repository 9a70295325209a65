"""The PostgreSQL variant of the pipeline test environment: the same Env, a real server's database."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from etl.settings import Settings
from tests.helpers import Env


class PgEnv(Env):
    """Tests write DuckDB-style `?` placeholders; psycopg wants `%s`."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return super().query(sql.replace("?", "%s"), params)


def make_pg_env(tmp: Path, postgres_url: str) -> PgEnv:
    return PgEnv(tmp, Settings(lake=str(tmp / "lake"), warehouse_url=postgres_url))
