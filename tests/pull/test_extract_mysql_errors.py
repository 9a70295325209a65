"""Bad input to `etl extract` from a MariaDB source: one line naming the extraction and the problem, the
right kind of error (and exit code), no file written and no mark moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.errors import ConfigError, SourceDatabaseError, exit_code_of
from tests.cli.test_cli import etl
from tests.plugins.mariadb import MariaDBServer
from tests.pull.conftest import MySQLLender, profile_text, refused
from tests.pull.test_extract_mysql import ROWS

pytestmark = pytest.mark.mariadb


def test_an_unreachable_server_is_retryable(my_lender: MySQLLender) -> None:
    my_lender.url = "mysql://etl:pw@127.0.0.1:1/nowhere"
    message = refused(my_lender, SourceDatabaseError, "cannot connect", "Can't connect to MySQL server")
    assert exit_code_of(SourceDatabaseError(message)) == 1


def test_a_wrong_password_and_a_missing_database_are_configuration(
    my_lender: MySQLLender, mariadb_server: MariaDBServer
) -> None:
    database = my_lender.url.rsplit("/", 1)[1]
    my_lender.url = mariadb_server.url(database, password="not-the-password")
    error = refused(my_lender, ConfigError, "cannot connect", "Access denied for user 'etl'")
    assert "not-the-password" not in error and exit_code_of(ConfigError(error)) == 2
    my_lender.url = mariadb_server.url("no_such_db")
    refused(my_lender, ConfigError, "cannot connect", "Unknown database 'no_such_db'")


def test_a_missing_table_column_or_cursor_is_configuration(my_lender: MySQLLender) -> None:
    my_lender.use(profile_text(table="no_such_table"))
    refused(my_lender, ConfigError, "the query failed", "Table '", "no_such_table' doesn't exist")
    my_lender.use(profile_text().replace("txn_ref = ", "txn_reference = "))
    refused(my_lender, ConfigError, "columns.'txn_reference' is not a column of the result")
    my_lender.use(profile_text().replace('cursor = "updated_at"', 'cursor = "changed_at"'))
    refused(my_lender, ConfigError, "cursor 'changed_at' is not a column of the result")
    my_lender.use(
        profile_text(extra='query = "SELECT txn_ref, nope FROM txns"').replace('table = "txns"\n', "")
    )
    refused(my_lender, ConfigError, "the query failed", "Unknown column 'nope'")


def test_a_type_with_no_exact_form_is_refused_with_a_cast_to_write(my_lender: MySQLLender) -> None:
    my_lender.sql("ALTER TABLE txns ADD COLUMN scan blob")
    refused(my_lender, ConfigError, "column 'scan' is of type BLOB", "CAST(x AS CHAR)")
    my_lender.sql("ALTER TABLE txns DROP COLUMN scan, ADD COLUMN branch point")
    refused(my_lender, ConfigError, "column 'branch' is of type GEOMETRY", "CAST(branch AS CHAR)")
    my_lender.sql("ALTER TABLE txns DROP COLUMN branch, ADD COLUMN opens time")
    refused(my_lender, ConfigError, "column 'opens' is of type TIME")


def test_money_in_a_float_column_is_refused(my_lender: MySQLLender) -> None:
    my_lender.sql("ALTER TABLE txns MODIFY amount double NOT NULL")
    refused(
        my_lender,
        ConfigError,
        "'amount' -> transaction_amount is a floating-point number",
        "CAST(x AS DECIMAL(18,2))",
    )


def test_a_null_cursor_writes_nothing(my_lender: MySQLLender) -> None:
    my_lender.sql(ROWS)
    my_lender.sql("INSERT INTO txns VALUES ('N1','C1','2024-03-01 10:00',1,'X',1,NULL)")
    refused(my_lender, SourceDatabaseError, "1 row(s) have no value in cursor updated_at")


def test_a_cursor_going_backwards_is_refused_and_the_mark_stays(my_lender: MySQLLender) -> None:
    my_lender.sql(ROWS)
    my_lender.extract()
    my_lender.load()
    for path in (my_lender.env.data / "bank_statements" / "core").iterdir():
        path.unlink()
    my_lender.sql("UPDATE txns SET updated_at = '2020-01-01 00:00' WHERE txn_ref = 'T3'")  # a restored backup
    my_lender.sql("DELETE FROM txns WHERE txn_ref = 'T2'")
    my_lender.sql("INSERT INTO txns VALUES ('B1','C1','2024-03-03 11:00',1,'X',1,'2024-03-03 11:00')")
    my_lender.use(profile_text(extra='lookback = "2 hours"'))
    refused(my_lender, SourceDatabaseError, "cursor updated_at went backwards", "--full-refresh")


def test_the_command_with_a_mysql_url(my_lender: MySQLLender, tmp_path: Path) -> None:
    my_lender.sql(ROWS)
    env = {"LENDER_DB_URL": my_lender.url}
    args = ["--profile", "profile.toml", "--warehouse", "duckdb:///w.duckdb"]
    done = etl("extract", "--json", *args, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["extracted"]
    assert (result["rows"], result["to"]) == (3, "2024-03-03T12:00:00Z")
    ran = etl("run", "data", "--lake", "lake", *args, "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert [f["rows_loaded"] for f in json.loads(ran.stdout)["files"]] == [3]

    (tmp_path / "profile.toml").write_text(profile_text(table="gone"), encoding="utf-8")
    bad = etl("extract", *args, cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("error: extraction core: the query failed: Table '"), bad.stderr
    leaked = etl("extract", *args, cwd=tmp_path, env={"LENDER_DB_URL": "mysql://u:s3cretpw@127.0.0.1:1/x"})
    assert leaked.returncode == 1 and "s3cretpw" not in leaked.stderr + leaked.stdout
    assert "Traceback" not in leaked.stderr and len(leaked.stderr.strip().splitlines()) == 1, leaked.stderr
