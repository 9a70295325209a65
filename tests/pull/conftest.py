"""A lender's source database in the tests' PostgreSQL or MariaDB server, and a profile extracting from it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from etl.profiles import Extraction, load_profile
from etl.pull.run import Extracted, extract, loaded_names
from tests.helpers import Env, make_env
from tests.plugins.debian import scratch_database
from tests.plugins.mariadb import MariaDBServer
from tests.plugins.postgres import PostgresServer

STATEMENTS = """
CREATE TABLE txns (
    txn_ref text PRIMARY KEY, account text NOT NULL, posted_at timestamptz NOT NULL,
    amount numeric(18,2) NOT NULL, remarks text NOT NULL, balance numeric(18,2) NOT NULL,
    updated_at timestamptz
)"""
MAPPING = (
    'columns = { txn_ref = "transaction_id", account = "customer_id", posted_at = "transaction_date", '
    'amount = "transaction_amount", remarks = "narration" }'
)


def profile_text(*, mode: str = "incremental", extra: str = "", table: str = "txns") -> str:
    cursor = 'cursor = "updated_at"\n' if mode == "incremental" else ""
    return (
        f'[[extract]]\nname = "core"\nsource = "bank_statements"\nurl_env = "LENDER_DB_URL"\n'
        f'table = "{table}"\nmode = "{mode}"\n{cursor}{extra}\n{MAPPING}\n'
    )


@dataclass
class Lender:
    """The source database, a warehouse and the profile that ties them, driven as a user would."""

    url: str
    env: Env
    profile: Path

    def sql(self, statement: str, params: Any = None) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(statement, params)

    def use(self, text: str) -> None:
        self.profile.write_text(text, encoding="utf-8")
        self.env.settings = self.env.settings.model_copy(update={"profile": str(self.profile)})

    @property
    def entry(self) -> Extraction:
        loaded = load_profile(str(self.profile))
        assert loaded is not None
        return loaded.extract[0]

    def extract(self, *, full_refresh: bool = False) -> Extracted:
        entry = self.entry
        names = loaded_names(self.env.settings, entry.folder)
        return extract(entry, self.url, self.env.data, names, full_refresh=full_refresh)

    def load(self) -> Any:
        return self.env.run()

    def amounts(self) -> dict[str, Decimal]:
        """The warehouse's transaction amounts by id."""
        rows = self.env.query("SELECT transaction_id, transaction_amount FROM fact_bank_transaction")
        return {str(k): Decimal(str(v)) for k, v in rows}

    def total(self) -> Decimal:
        return Decimal(str(self.env.scalar("SELECT SUM(transaction_amount) FROM fact_bank_transaction")))


def extracted_files(lender: Lender) -> list[str]:
    """The files the lender's extraction has written (bank_statements/core)."""
    folder = lender.env.data / "bank_statements" / "core"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def refused(lender: Lender, kind: type[Exception], *words: str) -> str:
    """Extract, expecting exactly `kind` as one line naming the extraction and holding `words`; nothing
    written (not even a partial file) and no mark moved. Returns the message."""
    files, marks = extracted_files(lender), loaded_names(lender.env.settings, lender.entry.folder)
    with pytest.raises(kind) as caught:
        lender.extract()
    message = str(caught.value)
    assert type(caught.value) is kind, message
    assert "\n" not in message and message.startswith("extraction core: "), message
    for word in words:
        assert word in message, message
    assert extracted_files(lender) == files
    assert loaded_names(lender.env.settings, lender.entry.folder) == marks
    return message


@pytest.fixture
def source_url(postgres_server: PostgresServer) -> Iterator[str]:
    with scratch_database(postgres_server, "lender") as url:
        yield url


@pytest.fixture
def lender(source_url: str, tmp_path: Path) -> Lender:
    found = Lender(source_url, make_env(tmp_path), tmp_path / "profile.toml")
    found.sql(STATEMENTS)
    found.use(profile_text())
    return found


# The same table in MariaDB: posted_at has no zone (DATETIME), the cursor is an instant (TIMESTAMP, kept in UTC)
MYSQL_STATEMENTS = """
CREATE TABLE txns (
    txn_ref varchar(20) PRIMARY KEY, account varchar(20) NOT NULL, posted_at datetime(6) NOT NULL,
    amount decimal(18,2) NOT NULL, remarks varchar(200) NOT NULL, balance decimal(18,2) NOT NULL,
    updated_at timestamp(6) NULL
) CHARACTER SET utf8mb4"""


@dataclass
class MySQLLender(Lender):
    """A lender whose system runs on MariaDB; statements run as root, the session's zone UTC unless given."""

    server: MariaDBServer | None = None

    def sql(self, statement: str, params: Any = None, *, zone: str = "+00:00") -> None:
        assert self.server is not None
        with self.server.connect(self.url.rsplit("/", 1)[1]) as conn, conn.cursor() as cursor:
            cursor.execute(f"SET time_zone = '{zone}'")
            cursor.execute(statement, params)


@pytest.fixture
def my_lender(mariadb_server: MariaDBServer, mariadb_url: str, tmp_path: Path) -> MySQLLender:
    found = MySQLLender(mariadb_url, make_env(tmp_path), tmp_path / "profile.toml", mariadb_server)
    found.sql(MYSQL_STATEMENTS)
    found.use(profile_text())
    return found
