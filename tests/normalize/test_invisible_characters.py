"""Invisible characters (Unicode format characters, category Cf: U+200B zero-width space, U+2060 word joiner,
bidi marks, the BOM U+FEFF) never make a key of their own.

The rule, as for the BOM before: trimmed from both ends of every value, like whitespace; inside an id, a
control or format character quarantines the row as `invalid_text` (the original text is kept); inside free
text (a narration) it stays, where it joins emoji or orders right-to-left script. The duplicate check's
SQL trims the same characters as validation.
"""

from __future__ import annotations

import sys
import unicodedata
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from etl.normalize.text import FORMAT_CHARS, TRIMMED_CHARS
from tests.helpers import STMT_HEADER, Env, by_path, write

# Several files here are mostly quarantined on purpose; the budget (ETL_MAX_QUARANTINE_RATE) is not under test.

ZWSP, WJ, LRM, SHY = "\u200b", "\u2060", "\u200e", "\u00ad"


def test_the_format_characters_are_exactly_unicodes_category_cf() -> None:
    assert unicodedata.unidata_version == "15.0.0"  # the table below is Unicode 15.0's
    every = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"}
    assert set(FORMAT_CHARS) == every and len(FORMAT_CHARS) == 170
    assert set(FORMAT_CHARS) <= set(TRIMMED_CHARS)


def test_format_characters_at_either_end_are_trimmed_so_the_key_is_the_same_in_one_file(env: Env) -> None:
    write(
        env.data,
        "bank_statements",
        "s.csv",
        f"{STMT_HEADER}\n"
        "TXN-1,C1,2023-01-01,-10.00,POS ONE,100.00\n"
        f"TXN-1{ZWSP},C1,2023-01-02,-20.00,POS TWO,80.00\n"
        f"{WJ}TXN-1{LRM},{SHY}C1,2023-01-03,-30.00,POS THREE,50.00\n",
    )
    [result] = env.run(max_quarantine_rate=1.0).files
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == ("loaded", 3, 1, 2)
    assert env.query("SELECT transaction_id, transaction_amount FROM fact_bank_transaction") == [
        ("TXN-1", Decimal("-30.00"))  # the last occurrence wins; the money counts once
    ]
    assert env.scalar("SELECT COUNT(*) FROM dim_customer WHERE customer_id = 'C1'") == 1
    rows = pq.read_table(result.quarantine_uri).sort_by("source_row").to_pylist()
    assert [(r["source_row"], r["rule"], r["transaction_id"]) for r in rows] == [
        (2, "duplicate_key", "TXN-1"),
        (3, "duplicate_key", "TXN-1"),  # a duplicate keeps its values as cast: trimmed
    ]


def test_a_format_or_control_character_inside_an_id_is_quarantined_with_a_reason_that_shows_it(
    env: Env,
) -> None:
    write(
        env.data,
        "bank_statements",
        "s.csv",
        f"{STMT_HEADER}\n"
        f"TX{ZWSP}N-2,C1,2023-01-01,-10.00,POS,100.00\n"
        f"TXN-3,C{WJ}1,2023-01-01,-10.00,POS,100.00\n"
        "TXN-4,C\x1b1,2023-01-01,-10.00,POS,100.00\n"
        f"TXN-5,C1,2023-01-01,-10.00,caf\u00e9 \U0001f468\u200d\U0001f469 {LRM}shop{SHY},100.00\n",
    )
    [result] = env.run(max_quarantine_rate=1.0).files
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (4, 1, 3)
    rows = pq.read_table(result.quarantine_uri).sort_by("source_row").to_pylist()
    assert [(r["source_row"], r["rule"], r["column"], r["reason"]) for r in rows] == [
        (
            2,
            "invalid_text",
            "transaction_id",
            "transaction_id 'TX<U+200B>N-2' holds an invisible character (shown as <U+200B>), which no key may hold",
        ),
        (
            3,
            "invalid_text",
            "customer_id",
            "customer_id 'C<U+2060>1' holds an invisible character (shown as <U+2060>), which no key may hold",
        ),
        (
            4,
            "invalid_text",
            "customer_id",
            "customer_id 'C<U+001B>1' holds an invisible character (shown as <U+001B>), which no key may hold",
        ),
    ]
    assert [r["transaction_id"] for r in rows] == [f"TX{ZWSP}N-2", "TXN-3", "TXN-4"]  # the original is kept
    # in free text a format character inside is text (it joins the emoji); only the ends are trimmed
    assert env.query("SELECT narration FROM fact_bank_transaction") == [
        (f"caf\u00e9 \U0001f468\u200d\U0001f469 {LRM}shop",)
    ]


def test_the_duplicate_check_trims_quarantined_keys_as_validation_trims_valid_ones(env: Env) -> None:
    """A later copy of a key that is itself quarantined supersedes the earlier valid one: the check must see
    `TXN-9<U+200B>` (quarantined for its date, kept as written) as the same key as `TXN-9`."""
    write(
        env.data,
        "bank_statements",
        "s.csv",
        f"{STMT_HEADER}\nTXN-9,C1,2023-01-01,-10.00,POS,100.00\nTXN-9{ZWSP},C1,2023-02-30,-11.00,POS,89.00\n",
    )
    [result] = env.run(max_quarantine_rate=1.0).files
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2, 0, 2)
    assert env.scalar("SELECT COUNT(*) FROM fact_bank_transaction") == 0
    rules = pq.read_table(result.quarantine_uri).sort_by("source_row").column("rule").to_pylist()
    assert rules == ["duplicate_key", "invalid_date"]


@pytest.mark.parametrize("invisible", [ZWSP, WJ, "\ufeff", LRM, SHY, "\U000e0001"])
def test_across_files_an_invisible_character_at_the_end_does_not_make_a_new_transaction(
    env: Env, invisible: str
) -> None:
    write(env.data, "bank_statements", "a.csv", f"{STMT_HEADER}\nTXN-1,C1,2023-01-01,-10.00,POS,100.00\n")
    env.run(max_quarantine_rate=1.0)
    write(
        env.data,
        "bank_statements",
        "b.csv",
        f"{STMT_HEADER}\nTXN-1{invisible},C1,2023-01-01,-25.00,POS,75.00\n",
    )
    report = env.run(max_quarantine_rate=1.0)
    # the same key, held by a.csv: bank statements' conflict policy quarantines it as a key_conflict naming
    # the holder (a new key would have loaded as a second transaction)
    b = by_path(report)["b.csv"]
    assert (b.status, b.rows_loaded, b.rows_quarantined, b.rows_conflicting) == ("loaded", 0, 1, 1)
    [reason] = pq.read_table(b.quarantine_uri).column("reason").to_pylist()
    assert "'TXN-1'" in reason and "a.csv" in reason
    assert env.query("SELECT COUNT(*), SUM(transaction_amount) FROM fact_bank_transaction") == [
        (1, Decimal("-10.00"))  # never -35.00 over two keys
    ]
