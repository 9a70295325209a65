"""Profiles are refused whole, in one line naming the file, the key and the problem; good ones parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.profiles import ProfileError, load_profile, parse_profile

GOOD = """
[[layout]]
source = "customer_bank_statement"   # an alias names the source too
folder = "gtbank"
columns = { "Txn Ref" = "transaction_id", "Account No" = "customer_id", "Value Date" = "transaction_date", "Remarks" = "narration", "Balance" = "balance" }
date_format = "%d-%b-%Y"
decimal = "."
thousands = ","
currency = ["N", "NGN", "\u20a6"]
debit = "Debit"
credit = "Credit"
keep = ["Branch"]
max_quarantine_rate = 0.2
conflict_policy = "reject"
narration_rules_mode = "extend"
[[layout.narration_rules]]
category = "salary"
pattern = "monthly income"

[[layout]]
source = "bank_statements"
"""


def test_a_good_profile_parses_and_picks_the_most_specific_layout() -> None:
    profile = parse_profile(GOOD, "banks.toml")
    gtbank = profile.layout_for("bank_statements", "bank_statements/gtbank/2024/june.csv")
    assert gtbank is not None and gtbank.folder == "gtbank"
    assert gtbank.renames()["txn_ref"] == "transaction_id"
    assert gtbank.currency == ["NGN", "N", "\u20a6"]  # the longest first: "NGN" is not read as "N" + "GN"
    assert gtbank.format_of("transaction_date") == "%d-%b-%Y"
    assert gtbank.kept() == ("branch",)
    other = profile.layout_for("bank_statements", "bank_statements/access/june.csv")
    assert other is not None and other.folder is None
    assert profile.layout_for("repayments", "repayments/june.csv") is None


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[[layout]]\nsource = 'payslips'",
            "layout[0].source: unknown source 'payslips': use loan_applications, bank_statements or repayments",
        ),
        ("[[layout]]\nsource = 'repayments'\ncolour = 'red'", "layout[0].colour: unknown key"),
        ("[layout_typo]\nx = 1", "layout_typo: unknown key"),
        (
            "[[layout]]\nsource = 'repayments'\ncolumns = { 'Due' = 'due_day' }",
            "layout[0]: columns.'Due': repayments has no column 'due_day' (its columns: repayment_id, application_id, due_date, amount_due, customer_id, paid_date, amount_paid)",
        ),
        (
            "[[layout]]\nsource = 'repayments'\ncolumns = { 'Due' = 'due_date', 'Due Date' = 'due_date' }",
            "layout[0]: columns: 'Due' and 'Due Date' both map to due_date",
        ),
        (
            "[[layout]]\nsource = 'repayments'\ndate_format = '%d/%m'",
            "layout[0].date_format: date format '%d/%m' must name a day, a month and a year (e.g. %d/%m/%Y)",
        ),
        (
            "[[layout]]\nsource = 'repayments'\ndate_format = '%d/%m/%Y %H:%M'",
            "layout[0].date_format: date format '%d/%m/%Y %H:%M': %H, %M not allowed (use %d %m %b %B %Y %y %j)",
        ),
        (
            "[[layout]]\nsource = 'repayments'\ndate_formats = { amount_due = '%d/%m/%Y' }",
            "layout[0]: date_formats.amount_due: not a date column of repayments (due_date, paid_date)",
        ),
        (
            "[[layout]]\nsource = 'bank_statements'\ndebit = 'Dr'",
            "layout[0]: debit and credit: give both headers, or neither",
        ),
        (
            "[[layout]]\nsource = 'repayments'\ndebit = 'Dr'\ncredit = 'Cr'",
            "layout[0]: debit/credit: repayments has no signed amount column to build",
        ),
        (
            "[[layout]]\nsource = 'bank_statements'\ndecimal = ','",
            "layout[0]: decimal and thousands: both ','",
        ),
        (
            "[[layout]]\nsource = 'bank_statements'\ndecimal = ';'",
            "layout[0].decimal: Input should be '.' or ','",
        ),
        (
            "[[layout]]\nsource = 'bank_statements'\n[[layout.narration_rules]]\ncategory = 'salary'\npattern = '(unclosed'",
            "layout[0].narration_rules[0].pattern: invalid RE2 pattern '(unclosed': Invalid regular expression: missing ): (unclosed",
        ),
        (
            "[[layout]]\nsource = 'bank_statements'\n[[layout.narration_rules]]\ncategory = 'crypto'\npattern = 'btc'",
            "layout[0].narration_rules[0].category: unknown category 'crypto': use one of salary, transfer, pos, fuel, utilities, airtime, atm, betting, loan_repayment, rent, other",
        ),
        (
            "[[layout]]\nsource = 'repayments'\nfolder = '../x'",
            "layout[0].folder: folder '../x' must be a path under the source's folder, like 'gtbank'",
        ),
        (
            "[[layout]]\nsource = 'repayments'\n[[layout]]\nsource = 'repayment'",
            "layout[0] and layout[1] are both for repayments",
        ),
        (
            "[[layout]]\nsource = 'repayments'\nmax_quarantine_rate = 2",
            "layout[0].max_quarantine_rate: Input should be less than or equal to 1",
        ),
        ("[[layout]\nsource = 1", "not valid TOML: "),
    ],
)
def test_a_wrong_profile_is_one_line_naming_the_file_the_key_and_the_problem(toml: str, message: str) -> None:
    with pytest.raises(ProfileError) as refused:
        parse_profile(toml, "banks.toml")
    assert str(refused.value).startswith(f"profile banks.toml: {message}")
    assert "\n" not in str(refused.value)


def test_a_missing_or_unreadable_profile_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"^profile .*nope\.toml: no such file$"):
        load_profile(str(tmp_path / "nope.toml"))
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ProfileError, match=r"^profile .*bin\.toml: cannot read it: "):
        load_profile(str(tmp_path / "bin.toml"))
    assert load_profile(None) is None
