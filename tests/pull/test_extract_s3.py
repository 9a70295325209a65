"""`etl extract` on AWS's side, on moto: files into an S3 prefix (the raw bucket's incoming/), whole or not at
all, pending increments replaced there; the source's URL from Secrets Manager (the URL, or RDS's JSON)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from moto import mock_aws

from etl.errors import ConfigError
from etl.profiles import parse_profile
from etl.pull.run import extract, source_url
from etl.pull.secret import secret_url
from tests.pull.conftest import Lender, profile_text
from tests.pull.test_extract import ROWS

pytestmark = pytest.mark.postgres

RAW = "lender-raw"
REGION = "us-east-1"
PREFIX = "incoming/bank_statements/core/"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[boto3.Session]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the upload is staged: checked empty after
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=RAW)
        yield session


def _keys(session: boto3.Session) -> list[str]:
    answer = session.client("s3").list_objects_v2(Bucket=RAW)
    return sorted(o["Key"] for o in answer.get("Contents", []))


def _body(session: boto3.Session, key: str) -> bytes:
    body: bytes = session.client("s3").get_object(Bucket=RAW, Key=key)["Body"].read()
    return body


def test_an_extraction_to_s3_uploads_one_whole_object_with_the_local_files_content(
    lender: Lender, aws: boto3.Session, tmp_path: Path
) -> None:
    lender.sql(ROWS)
    done = extract(lender.entry, lender.url, f"s3://{RAW}/incoming", [], session=aws)
    key = PREFIX + "start--20240303T120000.000000Z.csv"
    assert (done.rows, done.uri, str(done.path)) == (3, f"s3://{RAW}/{key}", key)
    assert done.as_dict()["path"] == f"s3://{RAW}/{key}"
    assert _keys(aws) == [key]  # nothing else: no partial object, no marker
    local = extract(lender.entry, lender.url, tmp_path / "local", [])
    assert local.path is not None
    assert _body(aws, key) == local.path.read_bytes()
    lines = _body(aws, key).decode().splitlines()
    assert lines[0] == (
        '"transaction_id","customer_id","transaction_date","transaction_amount","narration","balance",'
        '"updated_at"'
    )
    assert lines[3] == (
        '"T3","C2","2024-03-03 12:00:00.000000+0000","99999999999999.99","TRANSFER IN","99999999999999.99",'
        '"2024-03-03 12:00:00.000000+0000"'
    )
    assert list((tmp_path / "tmp").iterdir()) == []  # the staged file is gone


def test_a_pending_increment_on_s3_is_replaced_by_a_wider_one_and_a_loaded_one_is_kept(
    lender: Lender, aws: boto3.Session
) -> None:
    lender.sql(ROWS)
    out = f"s3://{RAW}/incoming/"
    first = extract(lender.entry, lender.url, out, [], session=aws)
    assert first.path is not None
    # never loaded (no notification processed yet): the next extraction covers it and replaces it
    lender.sql(
        "INSERT INTO txns VALUES ('T4','C2','2024-03-04 09:00+00',-50.05,'AIRTIME',1,'2024-03-04 09:00+00')"
    )
    second = extract(lender.entry, lender.url, out, [], session=aws)
    assert second.path is not None and second.rows == 4
    assert second.removed == (first.path.name,)
    assert _keys(aws) == [PREFIX + "start--20240304T090000.000000Z.csv"]
    # a loaded increment stays, even when the new one covers it
    loaded = [f"bank_statements/core/{second.path.name}"]
    lender.sql("UPDATE txns SET updated_at = '2024-03-05 08:00+00' WHERE txn_ref = 'T1'")
    third = extract(lender.entry, lender.url, out, loaded, session=aws)
    assert third.removed == () and third.previous is not None
    assert _keys(aws) == [
        PREFIX + "20240304T090000.000000Z--20240305T080000.000000Z.csv",
        PREFIX + "start--20240304T090000.000000Z.csv",
    ]


def _rds_json(url: str, password: str) -> str:
    parts = urlsplit(url)
    return json.dumps(
        {
            "engine": "postgres",
            "host": parts.hostname,
            "port": parts.port,
            "username": parts.username,
            "password": password,
            "dbname": parts.path.lstrip("/"),
        }
    )


@pytest.mark.parametrize("form", ["url", "rds_json"])
def test_the_url_comes_from_secrets_manager_as_a_url_or_as_rds_json(
    lender: Lender, aws: boto3.Session, form: str
) -> None:
    value = lender.url if form == "url" else _rds_json(lender.url, "p@ss:w/rd %x")
    arn = aws.client("secretsmanager").create_secret(Name="lender/core", SecretString=value)["ARN"]
    lender.use(profile_text().replace('url_env = "LENDER_DB_URL"', f'url_secret = "{arn}"'))
    url = source_url(lender.entry, {}, session=aws)
    if form == "url":
        assert url == lender.url
    else:
        host = urlsplit(lender.url)
        assert (
            url
            == f"postgresql://{host.username}:p%40ss%3Aw%2Frd%20%25x@{host.netloc.split('@')[1]}{host.path}"
        )
    lender.sql(ROWS)
    done = extract(lender.entry, url, f"s3://{RAW}/incoming", [], session=aws)
    assert done.rows == 3 and _keys(aws) == [PREFIX + "start--20240303T120000.000000Z.csv"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not a url", "holds neither a URL (scheme://...) nor JSON with host and password"),
        ('{"engine": "postgres", "host": "db"}', "lacks username, password (RDS's JSON"),
        ('{"engine": "oracle", "host": "db", "username": "u", "password": "Secret99"}', "engine 'oracle'"),
        (
            '{"engine": "postgres", "host": "db", "username": "u", "password": "Secret99", "port": "x"}',
            "port",
        ),
        ("{not json Secret99", "is not valid JSON"),
    ],
)
def test_a_secret_of_neither_form_is_one_line_that_never_quotes_it(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        secret_url(value, "extraction core: secret s (url_secret)")
    assert problem in str(caught.value) and "Secret99" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_secret_is_configuration_and_names_the_secret_only(aws: boto3.Session) -> None:
    profile = parse_profile(
        profile_text().replace('url_env = "LENDER_DB_URL"', 'url_secret = "lender/missing"'), "p.toml"
    )
    with pytest.raises(ConfigError) as caught:
        source_url(profile.extract[0], {}, session=aws)
    assert str(caught.value) == "extraction core: secret lender/missing (url_secret) does not exist"


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ('url_env = "A"\nurl_secret = "b"', "give exactly one of url_env and url_secret"),
        ("", "give exactly one of url_env and url_secret"),
        ('url_secret = "postgresql://u:pw@h/db"', "extract[0].url_secret: give the ARN or the NAME"),
    ],
)
def test_an_entry_names_exactly_one_of_url_env_and_url_secret(keys: str, problem: str) -> None:
    from etl.profiles import ProfileError

    text = profile_text().replace('url_env = "LENDER_DB_URL"\n', keys + "\n")
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "p.toml")
    assert problem in str(caught.value) and "pw@" not in str(caught.value)


def test_the_command_writes_to_s3_and_never_prints_a_secrets_password(
    lender: Lender, aws: boto3.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from etl.cli import app

    lender.sql(ROWS)
    monkeypatch.chdir(tmp_path)
    secrets = aws.client("secretsmanager")
    secrets.create_secret(Name="lender/core", SecretString=_rds_json(lender.url, "Cli-s3cret-77"))
    lender.use(profile_text().replace('url_env = "LENDER_DB_URL"', 'url_secret = "lender/core"'))
    args = ["extract", "--profile", str(lender.profile), "--warehouse", "duckdb:///w.duckdb"]

    done = CliRunner().invoke(app, [*args, "--out", f"s3://{RAW}/incoming", "--json"])

    assert done.exit_code == 0, done.output
    [result] = json.loads(done.stdout)["extracted"]
    assert result["path"] == f"s3://{RAW}/{PREFIX}start--20240303T120000.000000Z.csv"
    assert _keys(aws) == [PREFIX + "start--20240303T120000.000000Z.csv"]
    assert not (tmp_path / "data").exists()  # nothing local
    # ETL_EXTRACT_OUT is the default of --out
    monkeypatch.setenv("ETL_EXTRACT_OUT", f"s3://{RAW}/elsewhere")
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert f"-> s3://{RAW}/elsewhere/bank_statements/core/start--" in again.stdout
    # the same secret, the source unreachable: one line, exit 1, its password nowhere
    down = json.loads(_rds_json(lender.url, "Cli-s3cret-77")) | {"host": "127.0.0.1", "port": 1}
    secrets.put_secret_value(SecretId="lender/core", SecretString=json.dumps(down))
    failed = CliRunner().invoke(app, [*args, "--json"])
    assert failed.exit_code == 1
    everything = failed.stdout + failed.stderr
    assert "error: extraction core: cannot connect" in everything and "Traceback" not in everything
    for piece in ("Cli-s3cret-77", "s3cret", "Cli-s3"):
        assert piece not in everything, piece


def test_a_secret_holding_another_databases_url_names_the_secret_not_a_variable(
    aws: boto3.Session, tmp_path: Path
) -> None:
    aws.client("secretsmanager").create_secret(Name="lender/mssql", SecretString="mssql://u:Secret99@db/core")
    profile = parse_profile(
        profile_text().replace('url_env = "LENDER_DB_URL"', 'url_secret = "lender/mssql"'), "p.toml"
    )
    entry = profile.extract[0]
    url = source_url(entry, {}, session=aws)
    with pytest.raises(ConfigError) as caught:
        extract(entry, url, tmp_path / "out", [], session=aws)
    assert str(caught.value) == (
        "extraction core: secret lender/mssql is not a postgresql:// or mysql:// URL "
        "(PostgreSQL, MySQL and MariaDB are the source databases supported)"
    )
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []


def test_a_secret_holding_an_unusable_mysql_url_names_the_secret_not_a_variable(
    aws: boto3.Session, tmp_path: Path
) -> None:
    aws.client("secretsmanager").create_secret(
        Name="lender/my", SecretString="mysql://u:Secret99@db:port/core"
    )
    profile = parse_profile(
        profile_text().replace('url_env = "LENDER_DB_URL"', 'url_secret = "lender/my"'), "p.toml"
    )
    entry = profile.extract[0]
    with pytest.raises(ConfigError) as caught:
        extract(entry, source_url(entry, {}, session=aws), tmp_path / "out", [], session=aws)
    assert str(caught.value).startswith("extraction core: secret lender/my is not a usable URL: ")
    assert "Secret99" not in str(caught.value)
