"""Redaction by what the settings know: the forms of a password the settings hide, and the log filter."""

from __future__ import annotations

import io
import json
import logging

import pytest

from etl.errors import RedactingFilter, Redactor, hide_secrets, redact, url_secrets
from etl.settings import Settings


@pytest.mark.parametrize(
    ("url", "message", "shown"),
    [
        # libpq quotes the password alone when it holds a raw % or a space
        ("postgresql://u:ab%zzs3cret@h/db", 'invalid percent-encoded token: "ab%zzs3cret"', 'token: "***"'),
        ("postgresql://u:a bs3cret@h/db", 'spaces found in "a bs3cret"', 'spaces found in "***"'),
        # libpq ends the user part at the first @ and takes the rest of the password for the host
        (
            "postgresql://u:p@ss3cret@h:1/db",
            "failed to resolve host 'ss3cret@h'",
            "failed to resolve host '***@h'",
        ),
        # a scheme typed with one slash is no URL: the backend quotes it whole
        (
            "postgresql:/u:s3cret@h/db",
            "URL 'postgresql:/u:s3cret@h/db' is not",
            "URL 'postgresql:/u:***@h/db' is not",
        ),
        (
            "redshift:/admin:s3cret@h/db",
            "URL 'redshift:/admin:s3cret@h/db'",
            "URL 'redshift:/admin:***@h/db'",
        ),
        # percent-decoded, as the driver uses it, and as repr and JSON escape it
        ("postgresql://u:s3%27cr%22et@h/db", "password 's3\\'cr\"et' refused", "password '***' refused"),
        ("postgresql://u:s3%27cr%22et@h/db", '{"e": "s3\'cr\\"et"}', '{"e": "***"}'),
        ("postgresql://u:p%C3%A4ssw0rd@h/db", "pässw0rd and p\\u00e4ssw0rd", "*** and ***"),
        # a password given as a parameter
        ("postgresql://u@h/db?password=s3cret", "password=s3cret", "password=***"),
    ],
)
def test_the_password_of_the_settings_is_hidden_however_a_message_writes_it(
    url: str, message: str, shown: str
) -> None:
    redacted = Redactor(url_secrets(url))(message)
    assert shown in redacted and "s3cret" not in redacted, redacted


def test_a_url_without_a_password_or_a_duckdb_path_hides_nothing() -> None:
    assert url_secrets("postgresql://postgres@127.0.0.1:5432/risk") == {}
    assert url_secrets("duckdb:///data/a:b@c.duckdb") == {}


def test_pieces_of_a_password_shorter_than_four_characters_are_not_hidden_on_their_own() -> None:
    """Hiding every "p" of a message would garble it: the password is hidden whole and in pieces of four
    characters or more."""
    hidden = Redactor(url_secrets("postgresql://u:p@ssw0rd@h/db"))
    assert hidden("host 'ssw0rd@h', user u, pid 7") == "host '***@h', user u, pid 7"


def test_the_settings_hide_their_warehouse_password_and_their_webhook() -> None:
    settings = Settings(
        warehouse_url="postgresql://u:s3cret@h/db",
        slack_webhook_url="https://hooks.slack.com/services/T0/B0/TOKEN",  # type: ignore[arg-type]
    )
    hide_secrets(settings.secrets())
    try:
        assert redact("postgresql://u:s3cret@h/db and s3cret") == "postgresql://u:***@h/db and ***"
        assert redact("POST /services/T0/B0/TOKEN failed") == "POST *** failed"
    finally:
        hide_secrets({})


def test_the_log_filter_hides_the_secret_in_the_message_the_stack_trace_and_the_extra_fields() -> None:
    hide_secrets(url_secrets("postgresql://u:s3cret@h/db"))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test_redaction")
    log.addHandler(handler)
    try:
        try:
            raise ValueError("cannot use s3cret")
        except ValueError:
            log.error("failed with %s", "s3cret", exc_info=True, extra={"report": {"error": ["s3cret"]}})
    finally:
        log.removeHandler(handler)
        hide_secrets({})
    text = stream.getvalue()
    assert "failed with ***" in text and "ValueError: cannot use ***" in text and "Traceback" in text
    assert "s3cret" not in text


def test_a_key_value_conninfo_or_a_url_without_a_scheme_is_refused_without_quoting_it() -> None:
    for value in ("host=db password=s3cret", "u:s3cret@db/risk"):
        with pytest.raises(ValueError) as caught:
            Settings(warehouse_url=value)
        assert "s3cret" not in json.dumps(caught.value.errors()[0]["msg"])


def test_a_structured_log_message_stays_structured_and_is_redacted() -> None:
    hide_secrets(url_secrets("postgresql://u:s3cret@h/db"))
    record = logging.makeLogRecord({"msg": {"error": "s3cret refused", "rows": 3}, "args": ()})
    try:
        assert RedactingFilter().filter(record)
    finally:
        hide_secrets({})
    assert record.msg == {"error": "*** refused", "rows": 3}
