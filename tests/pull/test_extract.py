"""`etl extract` against a real PostgreSQL source: full and incremental extraction, loaded by the normal
pipeline into a real warehouse (DuckDB; PostgreSQL in one test), with the marks kept by the ledger."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from etl.pull.run import loaded_names
from etl.settings import Settings
from tests.helpers import by_path
from tests.pull.conftest import Lender, profile_text

pytestmark = pytest.mark.postgres

ROWS = """INSERT INTO txns VALUES
 ('T1', 'C1', '2024-03-01 10:00+00', 1500.25, 'SALARY MARCH', 1500.25, '2024-03-01 10:00+00'),
 ('T2', 'C1', '2024-03-02 11:00+00', -200.10, 'POS SHOPRITE', 1300.15, '2024-03-02 11:00+00'),
 ('T3', 'C2', '2024-03-03 12:00+00', 99999999999999.99, 'TRANSFER IN', 99999999999999.99, '2024-03-03 12:00+00')"""


def test_incremental_new_and_updated_rows_update_the_warehouse_and_advance_the_mark(lender: Lender) -> None:
    lender.sql(ROWS)
    first = lender.extract()
    assert first.path is not None and first.rows == 3 and first.low is None
    assert first.path.name == "start--20240303T120000.000000Z.csv"
    assert by_path(lender.load())[first.path.name].status == "loaded"
    assert lender.amounts()["T3"] == Decimal("99999999999999.99")
    assert lender.total() == Decimal("100000000001300.14")

    # a new row and a corrected one; bank statements' own conflict policy is "quarantine", but a later
    # increment is how an update arrives: the extraction's layout makes it "update"
    lender.sql(
        "INSERT INTO txns VALUES ('T4','C2','2024-03-04 09:00+00',-50.05,'AIRTIME',1,'2024-03-04 09:00+00')"
    )
    lender.sql("UPDATE txns SET amount = -250.10, updated_at = '2024-03-05 08:00+00' WHERE txn_ref = 'T2'")
    second = lender.extract()
    assert second.previous is not None and second.previous.shown() == "2024-03-03T12:00:00Z"
    assert second.rows == 3  # T3 (at the mark, read again: >=), T4, T2
    assert second.path is not None and second.path.name.startswith("20240303T120000.000000Z--20240305T080000")
    loaded = by_path(lender.load())[second.path.name]
    assert (loaded.status, loaded.rows_inserted, loaded.rows_updated, loaded.rows_unchanged) == (
        "loaded",
        1,
        1,
        1,
    )
    assert loaded.rows_quarantined == 0
    assert lender.amounts() == {
        "T1": Decimal("1500.25"),
        "T2": Decimal("-250.10"),
        "T3": Decimal("99999999999999.99"),
        "T4": Decimal("-50.05"),
    }
    assert lender.total() == Decimal("100000000001200.09")
    # nothing new: the rows at the mark are read again into the same file name, which loads as a duplicate
    third = lender.extract()
    assert third.path is not None and third.rows == 1 and third.previous == second.high


def test_a_crash_between_extract_and_load_leaves_the_mark_and_the_next_run_extracts_again(
    lender: Lender,
) -> None:
    lender.sql(ROWS)
    lender.extract()
    lender.load()
    mark = lender.extract().previous
    # extracted, never loaded (the process died before `etl run`): the warehouse's mark has not moved
    lender.sql(
        "INSERT INTO txns VALUES ('T5','C3','2024-03-06 09:00+00',10.00,'RENT',10,'2024-03-06 09:00+00')"
    )
    pending = lender.extract()
    assert pending.path is not None and pending.previous == mark
    assert loaded_names(lender.env.settings, "bank_statements/core") == [
        "bank_statements/core/start--20240303T120000.000000Z.csv"
    ]
    lender.sql(
        "INSERT INTO txns VALUES ('T6','C3','2024-03-07 09:00+00',20.00,'RENT',30,'2024-03-07 09:00+00')"
    )
    again = lender.extract()
    assert again.previous == mark and again.low == mark  # read from the same mark again
    assert again.rows == 3 and pending.path.name in again.removed and not pending.path.exists()
    report = by_path(lender.load())
    assert report[again.path.name if again.path else ""].rows_inserted == 2
    assert sorted(lender.amounts()) == ["T1", "T2", "T3", "T5", "T6"]
    assert lender.extract().previous == again.high


def test_a_late_row_inside_the_look_back_is_loaded_and_one_before_it_is_not(lender: Lender) -> None:
    lender.use(profile_text(extra='lookback = "2 hours"'))
    lender.sql(ROWS)
    lender.extract()
    lender.load()
    # committed late: its cursor is older than the mark (2024-03-03 12:00) but within the two hours
    lender.sql("INSERT INTO txns VALUES ('L1','C2','2024-03-03 10:30+00',5.00,'ATM',5,'2024-03-03 10:30+00')")
    lender.sql("INSERT INTO txns VALUES ('L2','C2','2024-03-03 09:00+00',7.00,'ATM',7,'2024-03-03 09:00+00')")
    late = lender.extract()
    assert late.low is not None and late.low.shown() == "2024-03-03T10:00:00Z"
    assert late.rows == 2  # L1 and T3 (read again: it settles as unchanged)
    loaded = by_path(lender.load())[late.path.name if late.path else ""]
    assert (loaded.rows_inserted, loaded.rows_unchanged) == (1, 1)
    assert "L1" in lender.amounts() and "L2" not in lender.amounts()  # README: older than the look-back


def test_full_mode_replaces_its_file_and_removes_a_row_deleted_in_the_source(lender: Lender) -> None:
    lender.use(profile_text(mode="full"))
    lender.sql(ROWS)
    first = lender.extract()
    assert first.path is not None and first.path.name == "full.csv" and first.rows == 3
    lender.load()
    lender.sql("DELETE FROM txns WHERE txn_ref = 'T2'")
    second = lender.extract()
    assert second.path == first.path and second.rows == 2
    loaded = by_path(lender.load())["full.csv"]
    assert (loaded.rows_removed, loaded.rows_unchanged) == (1, 2)
    assert sorted(lender.amounts()) == ["T1", "T3"]
    assert lender.total() == Decimal("100000000001500.24")


def test_full_refresh_reads_every_row_again_from_the_start(lender: Lender) -> None:
    lender.sql(ROWS)
    lender.extract()
    lender.load()
    lender.sql("UPDATE txns SET amount = 1.00 WHERE txn_ref = 'T1'")  # changed without touching the cursor
    assert lender.extract().rows == 1  # only the row at the mark: T1's change is invisible to the cursor
    refresh = lender.extract(full_refresh=True)
    assert refresh.low is None and refresh.rows == 3
    assert refresh.path is not None and refresh.path.name == "start--20240303T120000.000000Z.csv"
    lender.load()
    assert lender.amounts()["T1"] == Decimal("1.00")


def test_types_map_exactly_numeric_timestamps_with_and_without_zone_and_text(
    lender: Lender, postgres_server: object, source_url: str
) -> None:
    # the wall time in Lagos decides the day: 23:30 UTC on 1 March is 00:30 on 2 March there
    lender.use(profile_text(mode="full", extra='timezone = "Africa/Lagos"'))
    lender.sql(
        "INSERT INTO txns VALUES "
        "('U1','C1','2024-03-01 23:30+00',0.10,'Zoë ₦ 日本 🙂',0.10,NULL),"
        "('U2','C1','2024-03-01 12:00+00',0.20,'naïve café',0.30,NULL),"
        "('U3','C1','2024-03-01 12:00+00',12345678901234.56,'x',12345678901234.86,NULL)"
    )
    done = lender.extract()
    assert done.path is not None
    text = done.path.read_text(encoding="utf-8")
    assert '"0.10"' in text and "2024-03-02 00:30:00.000000+0100" in text and "Zoë ₦ 日本 🙂" in text
    lender.load()
    rows = dict(
        lender.env.query(
            "SELECT transaction_id, CAST(transaction_date_key AS VARCHAR) || '|' || narration "
            "FROM fact_bank_transaction"
        )
    )
    assert rows == {"U1": "20240302|Zoë ₦ 日本 🙂", "U2": "20240301|naïve café", "U3": "20240301|x"}
    assert lender.total() == Decimal("12345678901234.86")
    assert lender.env.scalar("SELECT SUM(balance) FROM fact_bank_transaction") == Decimal("12345678901235.26")


def test_a_latin1_database_and_a_timestamp_without_zone_cursor(
    postgres_server: object, tmp_path: Path
) -> None:
    import uuid

    import psycopg

    from tests.helpers import make_env
    from tests.plugins.postgres import PostgresServer

    assert isinstance(postgres_server, PostgresServer)
    name = f"latin1_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'"
        )
    try:
        lender = Lender(postgres_server.dsn(name), make_env(tmp_path), tmp_path / "p.toml")
        lender.sql(
            "CREATE TABLE txns (txn_ref text, account text, posted_at timestamp, amount numeric(18,2), "
            "remarks text, balance numeric, updated_at timestamp)"
        )
        lender.sql(
            "INSERT INTO txns VALUES ('E1','C1','2024-03-01 23:30',-12.34,'Café Zoë','7.5','2024-03-01 23:30:00.5')"
        )
        lender.use(profile_text())
        done = lender.extract()
        assert done.path is not None and done.path.name == "start--20240301T233000.500000.csv"
        lender.load()
        assert lender.env.query(
            "SELECT narration, transaction_date_key, transaction_amount, balance FROM fact_bank_transaction"
        ) == [("Café Zoë", 20240301, Decimal("-12.34"), Decimal("7.50"))]
    finally:
        postgres_server.drop_database(name)


def test_incremental_into_a_postgresql_warehouse(lender: Lender, postgres_url: str) -> None:
    lender.env.settings = Settings(
        lake=str(lender.env.root / "lake"), warehouse_url=postgres_url, profile=str(lender.profile)
    )
    lender.sql(ROWS)
    lender.extract()
    lender.load()
    lender.sql("UPDATE txns SET amount = -0.01, updated_at = '2024-03-09 00:00+00' WHERE txn_ref = 'T1'")
    second = lender.extract()
    assert second.previous is not None and second.previous.shown() == "2024-03-03T12:00:00Z"
    lender.load()
    assert lender.amounts()["T1"] == Decimal("-0.01")
    assert lender.total() == Decimal("99999999999799.88")
    assert lender.extract().previous == second.high
