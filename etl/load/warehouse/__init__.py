"""Warehouse backends behind one interface; the URL scheme picks the backend.

Nothing heavy is imported here: a backend (and pyarrow, and its driver) loads when `open_warehouse` opens
it, so `check_url` can vet a URL for a run that has nothing to load without half a second of imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from etl.errors import ConfigError

if TYPE_CHECKING:
    from etl.load.warehouse.base import Warehouse
    from etl.settings import Settings


def open_warehouse(settings: Settings, *, must_exist: bool = False) -> Warehouse:
    """The backend the URL names. `must_exist`: for commands that only read, an embedded warehouse that
    was never loaded is a configuration error rather than an empty file created on the spot."""
    url = settings.warehouse_url
    scheme = check_url(url)
    if scheme == "duckdb":
        from etl.load.warehouse.duckdb import DuckDBWarehouse

        if must_exist and not _exists(duckdb_path(url)):
            raise ConfigError(f"no warehouse at {url}: load one first with `etl run`")
        return DuckDBWarehouse.from_url(url, memory_limit=settings.duckdb_memory_limit)
    if scheme == "postgresql":
        try:
            from etl.load.warehouse.postgres import PostgresWarehouse  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:  # pragma: no cover - depends on the installed backends
            raise ConfigError(f"PostgreSQL backend unavailable: {exc}") from None
        return PostgresWarehouse.from_url(url)  # type: ignore[no-any-return,unused-ignore]
    try:
        from etl.load.warehouse.redshift import RedshiftWarehouse  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover
        raise ConfigError(f"Redshift backend unavailable: {exc}") from None
    return RedshiftWarehouse.from_url(url, settings=settings)  # type: ignore[no-any-return,unused-ignore]


def check_url(url: str) -> str:
    """The backend a warehouse URL names (duckdb, postgresql or redshift), or the ConfigError that
    `open_warehouse` would raise before connecting."""
    scheme = url.split(":", 1)[0].lower().split("+", 1)[0]  # postgresql+psycopg: the driver it names is ours
    if scheme == "duckdb":
        duckdb_path(url)
        return scheme
    if scheme in {"postgresql", "postgres"}:
        return "postgresql"
    if scheme == "redshift":
        return scheme
    raise ConfigError(f"unsupported warehouse URL scheme {scheme!r}")


def duckdb_path(url: str) -> str:
    """duckdb:///relative.duckdb, duckdb:////abs/path.duckdb, duckdb:///:memory:"""
    path = url.split(":", 1)[1].removeprefix("//")
    if "?" in path:  # it would be part of the file's name, and the options would do nothing
        raise ConfigError(f"DuckDB warehouse URL {url!r} takes no options: use duckdb:///warehouse.duckdb")
    return path[1:] if path.startswith("/") else path


def __getattr__(name: str) -> Any:
    """`from etl.load.warehouse import Warehouse` still works: the interface, imported when asked for."""
    if name == "Warehouse":
        from etl.load.warehouse.base import Warehouse

        return Warehouse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Warehouse", "check_url", "duckdb_path", "open_warehouse"]


def _exists(path: str) -> bool:
    from pathlib import Path

    return path == ":memory:" or Path(path).exists()
