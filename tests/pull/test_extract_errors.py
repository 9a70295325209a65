"""Bad input to `etl extract`: one line naming the extraction and the problem, the right exit code, no file
written and no mark advanced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.errors import ConfigError, SourceDatabaseError, exit_code_of
from etl.profiles import ProfileError, parse_profile
from etl.pull.run import source_url
from tests.cli.test_cli import etl
from tests.pull.conftest import MAPPING, Lender, profile_text, refused
from tests.pull.test_extract import ROWS

pytestmark = pytest.mark.postgres


def test_an_unreachable_source_is_exit_1_and_retryable(lender: Lender) -> None:
    lender.url = "postgresql://postgres@127.0.0.1:1/nowhere"
    refused(lender, SourceDatabaseError, "cannot connect", "Connection refused")


def test_a_missing_table_a_missing_column_and_an_unmappable_type_are_configuration(lender: Lender) -> None:
    lender.use(profile_text(table="no_such_table"))
    error = refused(lender, ConfigError, "the query failed", 'relation "no_such_table" does not exist')
    assert error and exit_code_of(ConfigError(error)) == 2
    lender.use(profile_text().replace("txn_ref = ", "txn_reference = "))
    refused(lender, ConfigError, "columns.'txn_reference' is not a column of the result")
    lender.use(profile_text().replace('cursor = "updated_at"', 'cursor = "changed_at"'))
    refused(lender, ConfigError, "cursor 'changed_at' is not a column of the result")
    lender.sql("ALTER TABLE txns ADD COLUMN scan bytea")
    refused(lender, ConfigError, "column 'scan' is of type bytea", "cast it in a query")


def test_money_in_a_float_column_is_refused(lender: Lender) -> None:
    lender.sql("ALTER TABLE txns ALTER COLUMN amount TYPE float8")
    refused(lender, ConfigError, "'amount' -> transaction_amount is a floating-point number")


def test_a_cursor_with_nulls_writes_nothing(lender: Lender) -> None:
    lender.sql(ROWS)
    lender.sql("INSERT INTO txns VALUES ('N1','C1','2024-03-01 10:00+00',1,'X',1,NULL)")
    refused(lender, SourceDatabaseError, "1 row(s) have no value in cursor updated_at")


def test_a_cursor_going_backwards_is_refused_and_the_mark_stays(lender: Lender) -> None:
    lender.sql(ROWS)
    lender.extract()
    lender.load()
    for path in (lender.env.data / "bank_statements" / "core").iterdir():
        path.unlink()
    lender.sql("UPDATE txns SET updated_at = '2020-01-01 00:00+00' WHERE txn_ref = 'T3'")  # a restored backup
    lender.sql("UPDATE txns SET updated_at = '2024-03-03 12:00+00' WHERE txn_ref = 'T2'")
    lender.sql("DELETE FROM txns WHERE txn_ref = 'T2'")
    lender.sql("INSERT INTO txns VALUES ('B1','C1','2024-03-03 11:00+00',1,'X',1,'2024-03-03 11:00+00')")
    lender.use(profile_text(extra='lookback = "2 hours"'))
    refused(lender, SourceDatabaseError, "cursor updated_at went backwards", "--full-refresh")


def test_a_wrong_lookback_for_the_cursor_is_configuration(lender: Lender) -> None:
    lender.sql(ROWS)
    lender.extract()
    lender.load()
    lender.use(profile_text(extra="lookback = 10"))  # a count, but the cursor is a timestamp
    with pytest.raises(ConfigError, match="lookback 10 is a count, but the cursor is a timestamptz"):
        lender.extract()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            'url_env = "postgresql://u:pw@h/db"',
            "extract[0].url_env: give the NAME of the environment variable",
        ),
        ('table = "a; drop table x"', "extract[0].table: table 'a; drop table x': a name like loans"),
        ('mode = "incremental"', "extract[0]: mode incremental needs a cursor column"),
        ('source = "loans"', "extract[0].source: unknown source 'loans'"),
        ('timezone = "Mars/Olympus"', "extract[0].timezone: unknown time zone 'Mars/Olympus'"),
        ('columns = { a = "amount" }', "extract[0]: columns.'a': bank_statements has no column 'amount'"),
        ('lookback = "soon"', "extract[0]: cursor and lookback belong to mode incremental"),
    ],
)
def test_a_wrong_extract_entry_names_the_profile_the_key_and_the_problem(body: str, problem: str) -> None:
    fields = {
        "name": '"core"',
        "source": '"bank_statements"',
        "url_env": '"LENDER_DB_URL"',
        "table": '"txns"',
    }
    key = body.split(" =", 1)[0]
    lines = [f"{k} = {v}" for k, v in fields.items() if k != key] + [body]
    with pytest.raises(ProfileError) as caught:
        parse_profile("[[extract]]\n" + "\n".join(lines) + "\n", "p.toml")
    assert str(caught.value) == f"profile p.toml: {problem}" or str(caught.value).startswith(
        f"profile p.toml: {problem}"
    ), str(caught.value)


def test_an_unset_url_variable_is_configuration() -> None:
    profile = parse_profile(profile_text(), "p.toml")
    with pytest.raises(ConfigError, match="environment variable LENDER_DB_URL \\(url_env\\) is not set"):
        source_url(profile.extract[0], {})
    assert MAPPING in profile_text()


def test_the_command_extracts_then_etl_run_loads_and_errors_exit_2(lender: Lender, tmp_path: Path) -> None:
    lender.sql(ROWS)
    env = {"LENDER_DB_URL": lender.url}
    args = ["--profile", "profile.toml", "--warehouse", "duckdb:///w.duckdb"]
    done = etl("extract", "--json", *args, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["extracted"]
    assert (result["rows"], result["to"]) == (3, "2024-03-03T12:00:00Z")
    ran = etl("run", "data", "--lake", "lake", *args, "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert [f["rows_loaded"] for f in json.loads(ran.stdout)["files"]] == [3]
    again = etl("extract", *args, cwd=tmp_path, env=env)
    assert again.returncode == 0 and "core: 1 rows" in again.stdout and "2024-03-03T12:00:00Z" in again.stdout

    (tmp_path / "profile.toml").write_text(profile_text(table="gone"), encoding="utf-8")
    bad = etl("extract", *args, cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert 'error: extraction core: the query failed: relation "gone" does not exist\n' in bad.stderr
    unset = etl("extract", *args, cwd=tmp_path)
    assert unset.returncode == 2 and "LENDER_DB_URL (url_env) is not set" in unset.stderr
    leaked = etl(
        "extract", *args, cwd=tmp_path, env={"LENDER_DB_URL": "postgresql://u:s3cretpw@127.0.0.1:1/x"}
    )
    assert leaked.returncode == 1 and "s3cretpw" not in leaked.stderr + leaked.stdout
