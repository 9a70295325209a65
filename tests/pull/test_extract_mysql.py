"""`etl extract` against a real MariaDB source (the server the session starts): the same semantics as the
PostgreSQL source, loaded by the normal pipeline into DuckDB (PostgreSQL in one test)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from etl.pull.run import loaded_names
from etl.settings import Settings
from tests.helpers import by_path
from tests.plugins.mariadb import MariaDBServer
from tests.pull.conftest import MySQLLender, profile_text

pytestmark = pytest.mark.mariadb

ROWS = """INSERT INTO txns VALUES
 ('T1', 'C1', '2024-03-01 10:00', 1500.25, 'SALARY MARCH', 1500.25, '2024-03-01 10:00'),
 ('T2', 'C1', '2024-03-02 11:00', -200.10, 'POS SHOPRITE', 1300.15, '2024-03-02 11:00'),
 ('T3', 'C2', '2024-03-03 12:00', 99999999999999.99, 'TRANSFER IN', 99999999999999.99, '2024-03-03 12:00')"""


def test_incremental_new_and_updated_rows_reach_the_warehouse_exactly(my_lender: MySQLLender) -> None:
    my_lender.sql(ROWS)
    first = my_lender.extract()
    # the cursor is a TIMESTAMP: an instant, so the mark is in UTC (Z) as for PostgreSQL's timestamptz
    assert first.path is not None and first.path.name == "start--20240303T120000.000000Z.csv"
    assert first.rows == 3 and first.low is None
    assert by_path(my_lender.load())[first.path.name].status == "loaded"
    assert my_lender.total() == Decimal("100000000001300.14")

    my_lender.sql(
        "INSERT INTO txns VALUES ('T4','C2','2024-03-04 09:00',-50.05,'AIRTIME',1,'2024-03-04 09:00')"
    )
    my_lender.sql("UPDATE txns SET amount = -250.10, updated_at = '2024-03-05 08:00' WHERE txn_ref = 'T2'")
    second = my_lender.extract()
    assert second.previous is not None and second.previous.shown() == "2024-03-03T12:00:00Z"
    assert second.rows == 3  # T3 (at the mark: >=), T4, T2
    assert second.path is not None and second.path.name == (
        "20240303T120000.000000Z--20240305T080000.000000Z.csv"
    )
    loaded = by_path(my_lender.load())[second.path.name]
    assert (loaded.rows_inserted, loaded.rows_updated, loaded.rows_unchanged, loaded.rows_quarantined) == (
        1,
        1,
        1,
        0,
    )
    assert my_lender.amounts() == {
        "T1": Decimal("1500.25"),
        "T2": Decimal("-250.10"),
        "T3": Decimal("99999999999999.99"),
        "T4": Decimal("-50.05"),
    }
    assert my_lender.total() == Decimal("100000000001200.09")
    third = my_lender.extract()
    assert third.rows == 1 and third.previous == second.high


def test_a_crash_between_extract_and_load_leaves_the_mark(my_lender: MySQLLender) -> None:
    my_lender.sql(ROWS)
    my_lender.extract()
    my_lender.load()
    mark = my_lender.extract().previous
    my_lender.sql("INSERT INTO txns VALUES ('T5','C3','2024-03-06 09:00',10.00,'RENT',10,'2024-03-06 09:00')")
    pending = my_lender.extract()  # never loaded: the process dies before `etl run`
    assert pending.path is not None and pending.previous == mark
    assert loaded_names(my_lender.env.settings, "bank_statements/core") == [
        "bank_statements/core/start--20240303T120000.000000Z.csv"
    ]
    my_lender.sql("INSERT INTO txns VALUES ('T6','C3','2024-03-07 09:00',20.00,'RENT',30,'2024-03-07 09:00')")
    again = my_lender.extract()
    assert again.previous == mark and again.low == mark and again.rows == 3
    assert pending.path.name in again.removed and not pending.path.exists()
    assert by_path(my_lender.load())[again.path.name if again.path else ""].rows_inserted == 2
    assert sorted(my_lender.amounts()) == ["T1", "T2", "T3", "T5", "T6"]
    assert my_lender.extract().previous == again.high


def test_a_late_row_inside_the_look_back_is_loaded_and_one_before_it_is_not(my_lender: MySQLLender) -> None:
    my_lender.use(profile_text(extra='lookback = "2 hours"'))
    my_lender.sql(ROWS)
    my_lender.extract()
    my_lender.load()
    my_lender.sql("INSERT INTO txns VALUES ('L1','C2','2024-03-03 10:30',5.00,'ATM',5,'2024-03-03 10:30')")
    my_lender.sql("INSERT INTO txns VALUES ('L2','C2','2024-03-03 09:00',7.00,'ATM',7,'2024-03-03 09:00')")
    late = my_lender.extract()
    assert late.low is not None and late.low.shown() == "2024-03-03T10:00:00Z"
    assert late.rows == 2  # L1, and T3 read again
    loaded = by_path(my_lender.load())[late.path.name if late.path else ""]
    assert (loaded.rows_inserted, loaded.rows_unchanged) == (1, 1)
    assert "L1" in my_lender.amounts() and "L2" not in my_lender.amounts()


def test_full_mode_removes_a_row_deleted_in_the_source(my_lender: MySQLLender) -> None:
    my_lender.use(profile_text(mode="full"))
    my_lender.sql(ROWS)
    first = my_lender.extract()
    assert first.path is not None and first.path.name == "full.csv" and first.rows == 3
    my_lender.load()
    my_lender.sql("DELETE FROM txns WHERE txn_ref = 'T2'")
    second = my_lender.extract()
    assert second.path == first.path and second.rows == 2
    loaded = by_path(my_lender.load())["full.csv"]
    assert (loaded.rows_removed, loaded.rows_unchanged) == (1, 2)
    assert sorted(my_lender.amounts()) == ["T1", "T3"]
    assert my_lender.total() == Decimal("100000000001500.24")


def test_types_decimal_exact_timestamp_an_instant_datetime_as_stored_and_utf8mb4_text(
    my_lender: MySQLLender,
) -> None:
    # transaction_date is a TIMESTAMP here: 04:30 at +05:00 is 23:30 UTC on 1 March, 00:30 on 2 March in
    # Lagos, whose day it takes; the DATETIME column is written as stored, whatever the zone
    my_lender.sql(
        "CREATE TABLE typed (txn_ref varchar(8), account varchar(8), stamped timestamp(6) NULL, "
        "local_time datetime(6), amount decimal(18,2), remarks text CHARACTER SET utf8mb4, "
        "balance decimal(18,2), wide decimal(40,12)) CHARACTER SET latin1"
    )
    my_lender.sql(
        "INSERT INTO typed VALUES "
        "('U1','C1','2024-03-02 04:30','2024-03-01 23:30:00.5',0.10,'Zoë ₦ 日本 🙂',0.10,"
        " 1234567890123456789012345678.123456789012),"
        "('U2','C1','2024-03-01 17:00','2024-03-01 12:00',0.20,'naïve café',0.30,-0.000000000001),"
        "('U3','C1','2024-03-01 17:00','2024-03-01 12:00',12345678901234.56,'x',12345678901234.86,NULL)",
        zone="+05:00",
    )
    my_lender.use(
        profile_text(mode="full", table="typed", extra='timezone = "Africa/Lagos"').replace(
            "posted_at =", "stamped ="
        )
    )
    done = my_lender.extract()
    assert done.path is not None
    text = done.path.read_text(encoding="utf-8")
    assert '"2024-03-02 00:30:00.000000+0100"' in text  # the TIMESTAMP, in Lagos
    assert "2024-03-01 23:30:00.500000," in text  # the DATETIME, as stored
    assert '"1234567890123456789012345678.123456789012"' in text and '"-0.000000000001"' in text
    assert '"0.10"' in text and "Zoë ₦ 日本 🙂" in text
    my_lender.load()
    rows = dict(
        my_lender.env.query(
            "SELECT transaction_id, CAST(transaction_date_key AS VARCHAR) || '|' || narration "
            "FROM fact_bank_transaction"
        )
    )
    assert rows == {"U1": "20240302|Zoë ₦ 日本 🙂", "U2": "20240301|naïve café", "U3": "20240301|x"}
    assert my_lender.total() == Decimal("12345678901234.86")
    assert my_lender.env.scalar("SELECT SUM(balance) FROM fact_bank_transaction") == Decimal(
        "12345678901235.26"
    )


def test_a_latin1_table_reads_as_utf8_and_a_datetime_cursor_has_no_zone(my_lender: MySQLLender) -> None:
    my_lender.sql(
        "CREATE TABLE old_txns (txn_ref varchar(8), account varchar(8), posted_at datetime, "
        "amount decimal(18,2), remarks varchar(40), balance decimal(12,1), updated_at datetime(6)) "
        "CHARACTER SET latin1"
    )
    my_lender.sql(
        "INSERT INTO old_txns VALUES ('E1','C1','2024-03-01 23:30',-12.34,'Café Zoë',7.5,'2024-03-01 23:30:00.5')"
    )
    my_lender.use(profile_text(table="old_txns", extra='timezone = "Africa/Lagos"'))
    done = my_lender.extract()
    assert done.path is not None and done.path.name == "start--20240301T233000.500000.csv"
    assert "Café Zoë" in done.path.read_text(encoding="utf-8")
    my_lender.load()
    assert my_lender.env.query(
        "SELECT narration, transaction_date_key, transaction_amount, balance FROM fact_bank_transaction"
    ) == [("Café Zoë", 20240301, Decimal("-12.34"), Decimal("7.50"))]
    my_lender.sql("UPDATE old_txns SET amount = 1.10, updated_at = '2024-03-02 00:00' WHERE txn_ref = 'E1'")
    second = my_lender.extract()
    assert second.previous is not None and second.previous.shown() == "2024-03-01T23:30:00.500000"
    assert second.rows == 1 and second.path is not None
    assert second.path.name == "20240301T233000.500000--20240302T000000.000000.csv"


def test_incremental_into_a_postgresql_warehouse(my_lender: MySQLLender, postgres_url: str) -> None:
    my_lender.env.settings = Settings(
        lake=str(my_lender.env.root / "lake"), warehouse_url=postgres_url, profile=str(my_lender.profile)
    )
    my_lender.sql(ROWS)
    my_lender.extract()
    my_lender.load()
    my_lender.sql("UPDATE txns SET amount = -0.01, updated_at = '2024-03-09 00:00' WHERE txn_ref = 'T1'")
    second = my_lender.extract()
    assert second.previous is not None and second.previous.shown() == "2024-03-03T12:00:00Z"
    my_lender.load()
    assert my_lender.amounts()["T1"] == Decimal("-0.01")
    assert my_lender.total() == Decimal("99999999999799.88")
    assert my_lender.extract().previous == second.high


def test_rows_arrive_in_batches_of_the_configured_size(
    my_lender: MySQLLender, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.pull import mysql

    monkeypatch.setattr(mysql, "BATCH_ROWS", 2)
    my_lender.sql(ROWS)
    my_lender.sql(
        "INSERT INTO txns VALUES ('T4','C2','2024-03-04 09:00',-50.05,'AIRTIME',1,'2024-03-04 09:00')"
    )
    entry = my_lender.entry
    with mysql.read_batches(entry, my_lender.url, mysql.build_query(entry, None)) as (schema, batches):
        sizes = [batch.num_rows for batch in batches]
    assert [n for n in sizes if n] == [2, 2] and schema.field("updated_at").type.tz == "UTC"
    assert my_lender.extract().rows == 4  # and the file holds every batch


def test_a_password_with_url_characters_works_percent_encoded(
    my_lender: MySQLLender, mariadb_server: MariaDBServer
) -> None:
    # RDS generates such passwords; url_secret quotes them into the URL, and both readers must decode them
    from urllib.parse import quote

    password = "p@ss:w/rd%#?é"
    mariadb_server.execute(f"CREATE USER IF NOT EXISTS 'odd'@'%' IDENTIFIED BY '{password}'")
    mariadb_server.execute("GRANT SELECT ON *.* TO 'odd'@'%'")
    my_lender.sql(ROWS)
    database = my_lender.url.rsplit("/", 1)[1]
    my_lender.url = f"mysql://odd:{quote(password, safe='')}@127.0.0.1:{mariadb_server.port}/{database}"
    assert my_lender.extract().rows == 3
