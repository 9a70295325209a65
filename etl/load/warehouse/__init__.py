"""Warehouse backends behind one interface; the URL scheme picks the backend."""

from __future__ import annotations

from etl.errors import ConfigError
from etl.load.warehouse.base import Warehouse
from etl.settings import Settings


def open_warehouse(settings: Settings, *, must_exist: bool = False) -> Warehouse:
    """The backend the URL names. `must_exist`: for commands that only read, an embedded warehouse that
    was never loaded is a configuration error rather than an empty file created on the spot."""
    url = settings.warehouse_url
    scheme = url.split(":", 1)[0].lower().split("+", 1)[0]  # postgresql+psycopg: the driver it names is ours
    if scheme == "duckdb":
        from etl.load.warehouse.duckdb import DuckDBWarehouse, path_of

        if must_exist and not _exists(path_of(url)):
            raise ConfigError(f"no warehouse at {url}: load one first with `etl run`")
        return DuckDBWarehouse.from_url(url, memory_limit=settings.duckdb_memory_limit)
    if scheme in {"postgresql", "postgres"}:
        try:
            from etl.load.warehouse.postgres import PostgresWarehouse  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:  # pragma: no cover - depends on the installed backends
            raise ConfigError(f"PostgreSQL backend unavailable: {exc}") from None
        return PostgresWarehouse.from_url(url)  # type: ignore[no-any-return,unused-ignore]
    if scheme == "redshift":
        try:
            from etl.load.warehouse.redshift import RedshiftWarehouse  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:  # pragma: no cover
            raise ConfigError(f"Redshift backend unavailable: {exc}") from None
        return RedshiftWarehouse.from_url(url, settings=settings)  # type: ignore[no-any-return,unused-ignore]
    raise ConfigError(f"unsupported warehouse URL scheme {scheme!r}")


__all__ = ["Warehouse", "open_warehouse"]


def _exists(path: str) -> bool:
    from pathlib import Path

    return path == ":memory:" or Path(path).exists()
