from __future__ import annotations

import pytest

from etl.errors import FileRejected, WarehouseError, redact_urls


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://postgres:s3cr3t@127.0.0.1:5432/db", "postgresql://postgres:***@127.0.0.1:5432/db"),
        (
            "bad url 'redshift://admin:p%40ss:w@host/db?x=1' here",
            "bad url 'redshift://admin:***@host/db?x=1' here",
        ),
        ("duckdb:///warehouse.duckdb", "duckdb:///warehouse.duckdb"),
        ("https://hooks.example/services/T0/B0/X", "https://hooks.example/services/T0/B0/X"),
    ],
)
def test_passwords_in_urls_are_redacted(text: str, shown: str) -> None:
    assert redact_urls(text) == shown


def test_errors_say_whether_a_retry_can_help_and_name_the_file() -> None:
    assert not FileRejected("empty file (0 bytes)", path="data/x.csv").retryable
    assert str(FileRejected("empty file (0 bytes)", path="data/x.csv")) == "data/x.csv: empty file (0 bytes)"
    assert WarehouseError("lost connection", retryable=True).retryable
