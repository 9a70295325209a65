"""Narration categorisation: the packaged rules on realistic Nigerian bank narrations, and rules-file checks."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from etl.contracts import CATEGORIES
from etl.normalize.categories import (
    CategoryRule,
    categorise,
    category_table,
    load_category_rules,
)

CASES: list[tuple[str, str]] = [
    # salary
    ("NIP TRF SALARY MAR 2023 FRM DANGOTE CEMENT PLC", "salary"),
    ("SALARY PAYMENT FOR APRIL 2023", "salary"),
    ("SAL/MAY/2023/ACCESS BANK PLC", "salary"),
    ("PAYROLL CREDIT - LAGOS STATE GOVT", "salary"),
    ("TRF FRM ZENITH FOODS LTD MONTHLY PAY", "salary"),
    ("WAGES WK 23 FRM CONSTRUCTION CO", "salary"),
    ("NIP TRF SALARY FRM MTN NIGERIA COMMUNICATIONS", "salary"),
    # transfer
    ("NIP TRF TO ADEBAYO OLUWASEUN", "transfer"),
    ("NIP/GTB/CHUKWUEMEKA OKAFOR/UPKEEP", "transfer"),
    ("TRF FRM NGOZI EZE", "transfer"),
    ("MOBILE TRF TO AISHA BELLO", "transfer"),
    ("USSD TRF TO 0123456789 IBRAHIM MUSA", "transfer"),
    ("FT 2023040512345 FUNMILAYO OGUNLEYE", "transfer"),
    ("NIBSS INSTANT PAYMENT OUTWARD", "transfer"),
    ("FAIRMONEY LOAN DISBURSEMENT", "transfer"),
    ("INWARD TRANSFER FROM KUDA MFB", "transfer"),
    # pos
    ("POS PURCHASE SHOPRITE IKEJA CITY MALL LA NG", "pos"),
    ("POS/WEB PMT JUMIA ONLINE", "pos"),
    ("WEB PAYMENT KONGA.COM", "pos"),
    ("POS PURCHASE CHICKEN REPUBLIC, SURULERE", "pos"),
    # fuel
    ("POS PURCHASE TOTAL FILLING STATION LEKKI", "fuel"),
    ("POS/WEB PMT MOBIL OIL AJAH", "fuel"),
    ("CONOIL ALLEN AVENUE", "fuel"),
    ("POS PURCHASE OANDO STATION IKOYI", "fuel"),
    ("NNPC MEGA STATION KUBWA", "fuel"),
    ("ARDOVA PLC PH", "fuel"),
    ("PETROL - MRS IBADAN", "fuel"),
    # utilities
    ("IKEDC PREPAID METER 04123456789", "utilities"),
    ("EKEDC TOKEN PURCHASE", "utilities"),
    ("AEDC POSTPAID BILL", "utilities"),
    ("PHED ELECTRICITY PAYMENT", "utilities"),
    ("DSTV SUBSCRIPTION COMPACT", "utilities"),
    ("POS/WEB PMT GOTV MAX", "utilities"),
    ("STARTIMES NOVA", "utilities"),
    ("LAWMA BILL PAYMENT", "utilities"),
    ("LAGOS WATER BOARD", "utilities"),
    ("PREPAID METER RECHARGE", "utilities"),
    # airtime
    ("MTN AIRTIME VTU 08031234567", "airtime"),
    ("AIRTEL DATA BUNDLE 2GB", "airtime"),
    ("GLO RECHARGE 0805", "airtime"),
    ("9MOBILE AIRTIME", "airtime"),
    ("USSD AIRTIME PURCHASE", "airtime"),
    ("VTU TOPUP 0813", "airtime"),
    # atm
    ("ATM WDL GTB ATM IKEJA", "atm"),
    ("ATM WITHDRAWAL ZENITH VI", "atm"),
    ("CASH WDL AGENT", "atm"),
    ("POS CASH WDL MONIEPOINT AGENT", "atm"),
    # betting
    ("TRF TO BET9JA", "betting"),
    ("NIP TRF TO SPORTYBET NIGERIA", "betting"),
    ("POS/WEB PMT NAIRABET", "betting"),
    ("1XBET DEPOSIT", "betting"),
    ("BETKING WALLET FUNDING", "betting"),
    ("MERRYBET", "betting"),
    ("BETWAY WINNINGS", "betting"),
    ("ONLINE BETTING DEPOSIT", "betting"),
    # loan repayment
    ("CARBON LOAN REPAYMENT", "loan_repayment"),
    ("FAIRMONEY REPAYMENT", "loan_repayment"),
    ("PALMCREDIT DEBIT", "loan_repayment"),
    ("BRANCH INTL LOAN REPAY", "loan_repayment"),
    ("RENMONEY INSTALMENT", "loan_repayment"),
    ("DIRECT DEBIT LOAN 00123", "loan_repayment"),
    ("NIP TRF LOAN REPAYMENT TO LAPO MFB", "loan_repayment"),
    # rent
    ("NIP TRF TO LANDLORD MR ADEYEMI", "rent"),
    ("HOUSE RENT 2023/2024", "rent"),
    ("RENT PAYMENT - FLAT 3", "rent"),
    # other
    ("SMS ALERT CHARGES", "other"),
    ("STAMP DUTY", "other"),
    ("CASH DEPOSIT IKEJA BRANCH", "other"),
    ("ACCOUNT MAINTENANCE FEE", "other"),
    ("INTEREST CREDIT", "other"),
    ("café Ọ̀yọ́ ìdárayá", "other"),
    # word boundaries: no false hits inside longer words
    ("CURRENT ACCOUNT FEE", "other"),
    ("GLOBAL ACCESSORIES DEPOSIT", "other"),
    ("PURPOSE CODE 12", "other"),
]


@pytest.fixture(scope="module")
def rules() -> list[CategoryRule]:
    return load_category_rules()


def _one(narration: str | None, rules: list[CategoryRule]) -> str:
    result = categorise(pa.array([narration], pa.string()), rules).to_pylist()
    assert len(result) == 1
    return str(result[0])


@pytest.mark.parametrize(("narration", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_realistic_narrations(narration: str, expected: str, rules: list[CategoryRule]) -> None:
    assert _one(narration, rules) == expected


def test_whole_table_at_once_matches_row_by_row(rules: list[CategoryRule]) -> None:
    narrations = pa.array([n for n, _ in CASES], pa.string())
    assert categorise(narrations, rules).to_pylist() == [e for _, e in CASES]


def test_every_category_has_a_case() -> None:
    assert {e for _, e in CASES} == set(CATEGORIES)


@pytest.mark.parametrize(
    ("narration", "expected"),
    [
        ("POS PURCHASE TOTAL FILLING STATION", "fuel"),  # fuel beats pos
        ("TRF TO BET9JA", "betting"),  # betting beats transfer
        ("NIP TRF LOAN REPAYMENT", "loan_repayment"),  # loan beats transfer
        ("NIP TRF SALARY JUNE", "salary"),  # salary beats transfer
        ("SALARY ADVANCE REPAYMENT", "loan_repayment"),  # repayment beats salary
        ("POS/WEB PMT SPORTYBET", "betting"),  # betting beats pos
        ("PREPAID METER RECHARGE", "utilities"),  # utilities beat airtime
        ("MOBILE TRF TO LANDLORD", "rent"),  # rent beats transfer
        ("CARBON LOAN DISBURSEMENT", "transfer"),  # a disbursement is not a repayment
    ],
)
def test_priority_conflicts(narration: str, expected: str, rules: list[CategoryRule]) -> None:
    assert _one(narration, rules) == expected


def test_case_insensitive(rules: list[CategoryRule]) -> None:
    narrations = ["nip trf salary mar 2023", "Pos Purchase Total Filling Station", "tRf To BeT9jA", "atm wdl"]
    got = categorise(pa.array(narrations), rules).to_pylist()
    assert got == ["salary", "fuel", "betting", "atm"]


def test_nulls_and_empty_are_other(rules: list[CategoryRule]) -> None:
    got = categorise(pa.array([None, "", "   ", "ATM WDL", None], pa.string()), rules)
    assert got.type == pa.string()
    assert got.null_count == 0
    assert got.to_pylist() == ["other", "other", "other", "atm", "other"]


def test_all_null_and_empty_inputs(rules: list[CategoryRule]) -> None:
    assert categorise(pa.array([None, None]), rules).to_pylist() == ["other", "other"]
    assert categorise(pa.array([], pa.string()), rules).to_pylist() == []


def test_chunked_large_and_dictionary_inputs(rules: list[CategoryRule]) -> None:
    chunked = pa.chunked_array([["ATM WDL", None], ["DSTV", "TRF TO BETKING"]])
    expected = ["atm", "other", "utilities", "betting"]
    assert categorise(chunked, rules).to_pylist() == expected
    assert categorise(chunked.cast(pa.large_string()), rules).to_pylist() == expected
    assert categorise(chunked.combine_chunks().dictionary_encode(), rules).to_pylist() == expected


def test_large_input_with_repeats_and_unique_values_agree(rules: list[CategoryRule]) -> None:
    # exercises both the encode-first path (repeats) and the direct path (mostly distinct values)
    base = [n for n, _ in CASES]
    repeated = pa.array(base * 300)
    unique = pa.array([f"{n} REF{i:06d}" for i, n in enumerate(base * 300)])
    expected = [e for _, e in CASES] * 300
    assert categorise(repeated, rules).to_pylist() == expected
    assert categorise(unique, rules).to_pylist() == expected


def test_rules_order_in_the_sequence_does_not_matter(rules: list[CategoryRule]) -> None:
    narrations = pa.array([n for n, _ in CASES])
    assert categorise(narrations, list(reversed(rules))).to_pylist() == [e for _, e in CASES]


def test_no_rules_means_everything_is_other() -> None:
    assert categorise(pa.array(["ATM WDL", None]), []).to_pylist() == ["other", "other"]


def test_packaged_rules_are_valid_and_sorted(rules: list[CategoryRule]) -> None:
    priorities = [r.priority for r in rules]
    assert priorities == sorted(priorities)
    assert len(set(priorities)) == len(priorities)
    assert {r.category for r in rules} == set(CATEGORIES)
    assert all(r.description for r in rules)


def test_categories_display_order() -> None:
    assert len(CATEGORIES) == 11
    assert CATEGORIES[-1] == "other"
    assert CATEGORIES[0] == "salary"


def test_category_table(rules: list[CategoryRule]) -> None:
    table = category_table(rules)
    assert table.column_names == ["category", "category_description", "display_order"]
    assert table.schema.field("category").type == pa.string()
    assert table.schema.field("category_description").type == pa.string()
    assert table.schema.field("display_order").type == pa.int16()
    assert table.column("category").to_pylist() == list(CATEGORIES)
    assert table.column("display_order").to_pylist() == list(range(1, 12))
    assert all(table.column("category_description").to_pylist())


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.csv"
    path.write_text("priority,category,pattern,description\n" + body, encoding="utf-8")
    return path


def test_custom_rules_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "2,atm,ATM,cash\n1,betting,BET,bets\n9,other,,fallback\n")
    rules = load_category_rules(path)
    assert [r.priority for r in rules] == [1, 2, 9]
    assert categorise(pa.array(["ATM BET", "atm", "x"]), rules).to_pylist() == ["betting", "atm", "other"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("1,atm,ATM,cash\n2,gambling,BET,bets\n", "line 3: unknown category 'gambling'"),
        ("1,atm,ATM,cash\n2,betting,(?<=X)BET,lookbehind\n", "line 3: invalid RE2 pattern"),
        ("1,atm,ATM,cash\n2,betting,(BET,unbalanced\n", "line 3: invalid RE2 pattern"),
        ("1,atm,ATM,cash\n2,betting,(a)\\1,backreference\n", "line 3: invalid RE2 pattern"),
        ("5,atm,ATM,cash\n5,betting,BET,bets\n", "line 3: duplicate priority 5 (also on line 2)"),
        ("x,atm,ATM,cash\n", "line 2: priority 'x' is not an integer"),
        ("1,atm,,cash\n", "line 2: empty pattern is only allowed for 'other'"),
        ("1,atm,ATM\n", "line 2: expected 4 fields, got 3"),
    ],
)
def test_bad_rules_file_gives_one_line_value_error(tmp_path: Path, body: str, fragment: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ValueError) as info:
        load_category_rules(path)
    message = str(info.value)
    assert fragment in message
    assert message.startswith("rules.csv line ")
    assert "\n" not in message


def test_bad_header(tmp_path: Path) -> None:
    path = tmp_path / "rules.csv"
    path.write_text("prio,cat,regex,desc\n1,atm,ATM,cash\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^rules.csv: header must be priority,category,pattern,description"):
        load_category_rules(path)
