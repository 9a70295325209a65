"""The warehouse URL forms the settings accept: `postgresql+psycopg://` (SQLAlchemy's spelling of the driver the
PostgreSQL backend uses) loads like `postgresql://`; a form that is no URL is refused without being quoted."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from etl.cli import app
from tests.helpers import write
from tests.load.warehouse.pg import make_pg_env
from tests.reliability.faults import statements, statements_total


def test_a_postgresql_psycopg_url_is_accepted_and_loads_into_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    write(tmp_path / "data", "bank_statements", "s.csv", statements("T", 3))
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "data"), "--lake", str(tmp_path / "lake"), "--warehouse", url, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [f["status"] for f in json.loads(result.stdout)["files"]] == ["loaded"]
    assert make_pg_env(tmp_path, postgres_url).query(
        "SELECT COUNT(*), SUM(transaction_amount) FROM fact_bank_transaction"
    ) == [(3, statements_total(3))]


def test_a_scheme_the_backends_do_not_know_is_named_and_a_conninfo_is_not_quoted(tmp_path: Path) -> None:
    runner = CliRunner()
    mysql = runner.invoke(app, ["quality", "--warehouse", "mysql://u:pw@h/db"])
    assert (mysql.exit_code, mysql.stderr) == (
        2,
        "error: invalid setting warehouse_url: unsupported warehouse URL scheme 'mysql': use duckdb:///, "
        "postgresql:// or redshift://\n",
    )
    conninfo = runner.invoke(app, ["quality", "--warehouse", "host=db password=Secret99"])
    assert (conninfo.exit_code, conninfo.stderr) == (
        2,
        "error: invalid setting warehouse_url: unsupported warehouse URL form: use duckdb:///, "
        "postgresql:// or redshift://\n",
    )
