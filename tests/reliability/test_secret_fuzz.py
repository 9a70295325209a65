"""The warehouse password never appears anywhere, whatever it holds and however its URL is typed.

Passwords come from the whole printable range (ASCII punctuation, spaces, `%`, `@`, `/`, quotes, backslashes,
letters of any script); URLs are well-formed (percent-encoded) or typed the way people type them (raw
characters, one slash or none after the scheme, the driver suffix, a `password=` parameter). Each URL goes
through the CLI (`etl run`, `etl quality`, `etl quarantine replay`) and the Lambda handler (an SQS batch
and a direct S3 event), and every output, log line, log record, exception, stack trace and report is
searched for the password in every way a message may write it, and for every piece of it a parser may cut
out and quote on its own. No server is needed: 127.0.0.1:1 refuses at once.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import traceback
import types
from collections.abc import Iterator
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from typer.testing import CliRunner

from etl.aws.log import logger as powertools_logger
from etl.cli import app as cli_app
from etl.handler import RunFailed, lambda_handler
from tests.helpers import write
from tests.reliability.faults import statements

HOST = "127.0.0.1:1"  # nothing listens on port 1: every connection is refused at once
ROLE = "arn:aws:iam::123456789012:role/copy"
SPECIAL = "%@:/?#&=;,'\"\\ +[]!$*()~`^|<>{}"
# the printable range: letters, marks, digits, punctuation and symbols of any script, spaces
PRINTABLE = st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Zs"])
PASSWORDS = st.text(st.one_of(st.sampled_from(SPECIAL), PRINTABLE), min_size=8, max_size=24).filter(
    lambda p: len(set(p)) >= 4 and p.strip() == p  # not "00000000"; spaces inside, not around
)
URL_FORMS = {
    "encoded": lambda p: f"postgresql://postgres:{quote(p, safe='')}@{HOST}/db",
    "raw": lambda p: f"postgresql://postgres:{p}@{HOST}/db",
    "one slash": lambda p: f"postgresql:/postgres:{p}@{HOST}/db",
    "no slash": lambda p: f"postgresql:postgres:{p}@{HOST}/db",
    "postgres": lambda p: f"postgres://postgres:{p}@{HOST}/db",
    "driver suffix": lambda p: f"postgresql+psycopg://postgres:{quote(p, safe='')}@{HOST}/db",
    "parameter": lambda p: f"postgresql://postgres@{HOST}/db?password={quote(p, safe='')}",
    "redshift": lambda p: (
        f"redshift://admin:{quote(p, safe='')}@{HOST}/dev?iam_role={ROLE}&staging=s3://b/p/"
    ),
    "redshift raw": lambda p: f"redshift://admin:{p}@{HOST}/dev?iam_role={ROLE}&staging=s3://b/p/",
    "redshift one slash": lambda p: f"redshift:/admin:{p}@{HOST}/dev",
}
CUTS = re.compile(r"[\s@:/?#&=;,%'\"\\\[\]]+")
CONTEXT = types.SimpleNamespace(
    function_name="credit-risk-etl",
    function_version="$LATEST",
    memory_limit_in_mb=2048,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:credit-risk-etl",
    aws_request_id="request-1",
    log_group_name="/aws/lambda/credit-risk-etl",
    log_stream_name="test",
    get_remaining_time_in_millis=lambda: 900_000,
)
EVENTS = Path(__file__).parents[1] / "fixtures" / "events"


def forms(password: str) -> set[str]:
    """How a message may write the password: as is, percent-encoded, escaped by repr or JSON; and the
    pieces of at least six characters between the characters URL parsers cut at (libpq, for one, ends the
    user part at the first `@` and quotes the rest as a host name)."""
    written = {
        password,
        quote(password, safe=""),
        quote(password),
        repr(password)[1:-1],
        json.dumps(password)[1:-1],
        json.dumps(password, ensure_ascii=False)[1:-1],
    }
    pieces = {p for p in CUTS.split(password) if len(p) >= 6}
    return {f for f in written | pieces if f}


def assert_hidden(password: str, texts: dict[str, str], anyway: str = "") -> None:
    """No form of `password` in any of `texts`; `anyway` is what the same commands print with
    another password (hypothesis also draws strings the code holds, such as "batchItemFailures": such a
    "password" is printed whatever the password is, and proves nothing)."""
    for where, text in texts.items():
        for form in forms(password) - {p for p in forms(password) if p in anyway}:
            assert form not in text, f"{form!r} of {password!r} in {where}: {text[:2000]}"


_printed: dict[str, str] = {}


def printed_anyway(workspace: Path, form: str) -> str:
    """Everything the commands print for a URL of this form with an ordinary password."""
    if form not in _printed:
        texts = {
            **cli_outputs(workspace, URL_FORMS[form]("Zq9-Zq9-Zq9")),
            **lambda_outputs(URL_FORMS[form]("Zq9-Zq9-Zq9")),
        }
        _printed[form] = "\n".join(texts.values())
    return _printed[form]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets")
    write(root / "data", "bank_statements", "s.csv", statements("T", 2))
    (root / "lake").mkdir()
    return root


def cli_outputs(workspace: Path, url: str) -> dict[str, str]:
    runner = CliRunner()
    lake = str(workspace / "lake")
    texts: dict[str, str] = {}
    for args in (
        ["run", str(workspace / "data"), "--lake", lake, "--warehouse", url, "--json"],
        ["quality", "--warehouse", url],
        ["quarantine", "replay", "--lake", lake, "--warehouse", url],
    ):
        result = runner.invoke(cli_app, args)
        assert result.exit_code in {1, 2}, (args[0], result.output)
        assert isinstance(result.exception, SystemExit), repr(result.exception)  # one line, no traceback
        assert result.stderr.startswith("error: "), result.stderr
        texts[f"etl {args[0]}"] = result.output + result.stderr
    return texts


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """The warehouse retries a refused connection after 0.4 s and 0.8 s: here it retries at once."""
    with mock.patch("etl.load.warehouse.base.time.sleep"):
        yield


@contextlib.contextmanager
def lambda_logs() -> Iterator[tuple[io.StringIO, list[logging.LogRecord]]]:
    """What the Lambda's log handlers print (Powertools' JSON lines, and the runtime's root handler), and the
    log records themselves as every handler receives them."""
    printed = io.StringIO()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            printed.write(logging.Formatter("%(message)s").format(record) + "\n")
            records.append(record)

    ours = logging.getLogger(powertools_logger.name)
    streams = [(h, h.setStream(printed)) for h in ours.handlers if isinstance(h, logging.StreamHandler)]
    runtime = logging.StreamHandler(printed)  # what the Lambda runtime puts on the root logger
    kept = Keep()
    logging.getLogger().addHandler(runtime)
    ours.addHandler(kept)
    logging.getLogger().addHandler(kept)
    try:
        yield printed, records
    finally:
        for handler, stream in streams:
            if stream is not None:
                handler.setStream(stream)
        ours.removeHandler(kept)
        logging.getLogger().removeHandler(kept)
        logging.getLogger().removeHandler(runtime)


def lambda_outputs(url: str) -> dict[str, str]:
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ETL_WAREHOUSE_URL": url,
        "ETL_LAKE": "s3://credit-risk-lake/lake",
        "ETL_LOG_LEVEL": "DEBUG",
    }
    sqs_event = json.loads((EVENTS / "sqs_s3_notifications.json").read_text())
    s3_event = json.loads((EVENTS / "s3_notification_direct.json").read_text())
    texts: dict[str, str] = {}
    with (
        mock.patch.dict(os.environ, environment),
        mock_aws(),
        lambda_logs() as (printed, records),
        contextlib.redirect_stdout(io.StringIO()) as stdout,
        contextlib.redirect_stderr(io.StringIO()) as stderr,
    ):
        response = lambda_handler(sqs_event, CONTEXT)
        assert response["batchItemFailures"], response  # the files are delivered again
        # reported (its words may be hidden too: a password piece such as "fail" is hidden wherever it stands)
        assert response["report"]["error"]
        with pytest.raises(RunFailed) as failed:
            lambda_handler(s3_event, CONTEXT)
    assert '"exception"' in printed.getvalue()  # the stack trace is logged, without the password
    texts["response"] = json.dumps(response, default=str)
    texts["raised"] = "".join(traceback.format_exception(failed.value))
    texts["log lines"] = printed.getvalue()
    texts["log records"] = "\n".join(json.dumps(r.__dict__, default=str) for r in records)
    texts["stdout"], texts["stderr"] = stdout.getvalue(), stderr.getvalue()
    return texts


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(password=PASSWORDS, form=st.sampled_from(sorted(URL_FORMS)))
def test_no_password_appears_in_any_output_log_line_or_report(
    workspace: Path, password: str, form: str
) -> None:
    anyway = printed_anyway(workspace, form)
    assume(password not in anyway)
    url = URL_FORMS[form](password)
    assert_hidden(password, {**cli_outputs(workspace, url), **lambda_outputs(url)}, anyway)


@pytest.mark.parametrize("form", sorted(URL_FORMS))
def test_each_url_form_hides_a_password_that_needs_quoting(workspace: Path, form: str) -> None:
    """What the fuzz test may or may not draw: every URL form with a password that holds the characters
    URL parsers treat specially, quotes, a backslash and letters outside ASCII."""
    password = "pässwörd%zz P@ss/w0rd?#'q\"uote\\d & more"
    url = URL_FORMS[form](password)
    assert_hidden(password, {**cli_outputs(workspace, url), **lambda_outputs(url)})
