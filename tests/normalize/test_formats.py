"""A layout's formats become the contract's: dates, separators, currency, debit/credit, kept columns."""

from __future__ import annotations

import json

import pyarrow as pa

from etl.contracts import BANK_STATEMENTS, LOAN_APPLICATIONS
from etl.normalize.formats import CREDIT, DEBIT, KEPT, prepare
from etl.profiles import parse_profile


def layout(toml: str):  # type: ignore[no-untyped-def]
    [found] = parse_profile("[[layout]]\n" + toml, "p.toml").layouts
    return found


def chunk(**columns: list[str | None]) -> pa.Table:
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def reasons(prepared, n: int) -> list[tuple[str, str, str] | None]:  # type: ignore[no-untyped-def]
    """The first refusal of each row: (rule, column, reason)."""
    found: list[tuple[str, str, str] | None] = [None] * n
    for refusal in prepared.refusals:
        text = refusal.reason()
        values = text.to_pylist() if isinstance(text, pa.Array) else [text.as_py()] * n
        for i, (hit, why) in enumerate(zip(refusal.mask.to_pylist(), values, strict=True)):
            if hit and found[i] is None:
                found[i] = (refusal.rule, refusal.column, why)
    return found


def test_dates_in_the_declared_format_become_iso_and_others_are_refused_quoting_the_format() -> None:
    dates = ["05-Jan-2024", "5-JAN-2024", "30-Feb-2024", "2024-01-05", None, " 07-Mar-2023 "]
    prepared = prepare(
        chunk(transaction_date=dates),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ndate_format='%d-%b-%Y'"),
        ",",
    )
    assert prepared.text["transaction_date"].to_pylist() == [
        "2024-01-05",
        "2024-01-05",
        None,
        None,
        None,
        "2023-03-07",
    ]
    assert reasons(prepared, 6) == [
        None,
        None,
        (
            "invalid_date",
            "transaction_date",
            "transaction_date '30-Feb-2024' does not match the date format %d-%b-%Y",
        ),
        (
            "invalid_date",
            "transaction_date",
            "transaction_date '2024-01-05' does not match the date format %d-%b-%Y",
        ),
        None,
        None,
    ]


def test_day_first_dates_are_never_guessed() -> None:
    prepared = prepare(
        chunk(loan_application_date=["12/01/2024", "13/01/2024", "01/13/2024"]),
        LOAN_APPLICATIONS,
        layout("source='loan_applications'\ndate_format='%d/%m/%Y'"),
        ",",
    )
    assert prepared.text["loan_application_date"].to_pylist() == ["2024-01-12", "2024-01-13", None]
    assert reasons(prepared, 3)[2] == (
        "invalid_date",
        "loan_application_date",
        "loan_application_date '01/13/2024' does not match the date format %d/%m/%Y",
    )


def test_currency_symbols_and_separators_become_plain_numbers() -> None:
    amounts = ["\u20a61,200.00", "NGN 3,500.5", "-\u20a6 7,732.50", "N200", "1,20,0.00", "12.5"]
    prepared = prepare(
        chunk(balance=amounts),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ncurrency=['\u20a6','NGN','N']"),
        ",",
    )
    assert prepared.text["balance"].to_pylist() == ["1200.00", "3500.5", "-7732.50", "200", None, "12.5"]
    rule, column, why = reasons(prepared, 6)[4] or ("", "", "")
    assert (rule, column) == ("invalid_number", "balance")
    assert why == (
        "balance '1,20,0.00' is not a number written as this layout writes them (decimal '.', thousands ',', "
        "currency NGN, \u20a6, N)"
    )


def test_decimal_commas_are_read_as_the_layout_says() -> None:
    prepared = prepare(
        chunk(balance=["-7732,50", "1.500,25", "1,5", "1.5"]),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ndecimal=','\nthousands='.'"),
        ";",
    )
    assert prepared.text["balance"].to_pylist() == ["-7732.50", "1500.25", "1.5", None]
    assert [r[0] if r else None for r in reasons(prepared, 4)] == [None, None, None, "invalid_number"]


def test_without_a_profile_a_comma_in_a_semicolon_file_is_refused_not_read_as_thousands() -> None:
    prepared = prepare(chunk(balance=["1,500", "1500.00"]), BANK_STATEMENTS, None, ";")
    assert prepared.text == {}
    assert reasons(prepared, 2) == [
        (
            "invalid_number",
            "balance",
            "balance '1,500' has a comma, which a ';'-separated file may use as its decimal point: declare "
            "decimal and thousands in a profile",
        ),
        None,
    ]
    assert prepare(chunk(balance=["1,500"]), BANK_STATEMENTS, None, ",").refusals == []


def test_debit_and_credit_columns_become_one_signed_amount() -> None:
    prepared = prepare(
        chunk(
            **{DEBIT: ["1,200.00", "", "0.00", "5.00", None], CREDIT: ["", "3,000.00", "250.00", "6.00", "0"]}
        ),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ndebit='Debit'\ncredit='Credit'"),
        ",",
    )
    assert prepared.text["transaction_amount"].to_pylist() == ["-1200.00", "3000.00", "250.00", "6.00", None]
    found = reasons(prepared, 5)
    assert found[3] == (
        "invalid_number",
        "transaction_amount",
        "Debit '5.00' and Credit '6.00' both hold an amount: a row is a debit or a credit",
    )
    assert found[4] == ("required", "transaction_amount", "Debit and Credit are both empty or zero")


def test_kept_columns_become_one_json_object_per_row() -> None:
    prepared = prepare(
        chunk(**{f"{KEPT}branch": ["Ikeja", None], f"{KEPT}memo": ['say "hi"\n\\ \x01', " x "]}),
        BANK_STATEMENTS,
        layout("source='bank_statements'\nkeep=['Branch', 'Memo']"),
        ",",
    )
    assert prepared.attributes is not None
    assert [json.loads(v) for v in prepared.attributes.to_pylist()] == [
        {"branch": "Ikeja", "memo": 'say "hi"\n\\ \x01'},
        {"branch": None, "memo": "x"},
    ]


VALUES = [
    "05-Jan-2024", "5-jan-2024", "30-Feb-2024", "29-Feb-2024", "29-Feb-2023", "05-JAN-2024", " 05-Jan-2024 ",
    "05-January-2024", "05-Jan-2024x", "", "x", None, "31/12/2024", "1/2/2024", "2024-02-30", "2024-2-3",
    "02/30/2024", "12/31/2024", "13/01/2024", "00-Jan-2024", "05 Jan 2024", "05.01.2024", "5.1.2024",
    "2024/01/05 10:30", "2024/01/05 25:30", "January 5, 2024", "Jan 5, 2024", "20240105", "2024-01-05T10:00",
    "31-Apr-2024", "31/04/2024", "2024-04-31", "5 Jan 2024 08:00 PM", "5 Jan 2024 13:00 PM",
]  # fmt: skip
FORMATS = [
    "%d-%b-%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d %b %Y", "%d.%m.%Y", "%B %d, %Y", "%b %d, %Y",
    "%d/%m/%y", "%Y%m%d", "%Y-%m-%dT00", "%d-%B-%Y",
]  # fmt: skip


def _printed_back(values: list[str | None], fmt: str) -> list[str | None]:
    """The first check this product used: a date is taken when strftime prints it back as it was written."""
    import pyarrow.compute as pc

    from etl.normalize.formats import _comparable, _trimmed

    text = _trimmed(pa.array(values, pa.string()))
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    same = pc.equal(_comparable(pc.strftime(parsed, format=fmt)), _comparable(text))
    ok = pc.and_(pc.is_valid(parsed), pc.fill_null(same, False))
    iso = pc.if_else(ok, pc.strftime(parsed, format="%Y-%m-%d"), pa.scalar(None, pa.string()))
    return iso.to_pylist()  # type: ignore[no-any-return]


def test_the_date_check_takes_what_printing_back_took_in_every_format() -> None:
    # the pattern check (every field in place, the day of the month the day written) replaced printing each
    # date back (3x slower); both take and refuse the same values, in formats with names, literals and no separators
    for fmt in FORMATS:
        prepared = prepare(
            chunk(transaction_date=VALUES),
            BANK_STATEMENTS,
            layout(f"source='bank_statements'\ndate_format='{fmt}'"),
            ",",
        )
        assert prepared.text["transaction_date"].to_pylist() == _printed_back(VALUES, fmt), fmt


def test_a_two_digit_year_is_refused_where_the_format_says_four() -> None:
    # printing back took "05-Jan-24" as 5 January of the year 24 (strftime writes 0024, leading zeros were
    # ignored): a silently wrong date two thousand years off
    prepared = prepare(
        chunk(transaction_date=["05-Jan-24", "05-Jan-2024"]),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ndate_format='%d-%b-%Y'"),
        ",",
    )
    assert _printed_back(["05-Jan-24"], "%d-%b-%Y") == ["0024-01-05"]
    assert prepared.text["transaction_date"].to_pylist() == [None, "2024-01-05"]
    assert reasons(prepared, 2)[0] == (
        "invalid_date",
        "transaction_date",
        "transaction_date '05-Jan-24' does not match the date format %d-%b-%Y",
    )


def test_a_format_with_another_directive_is_checked_by_printing_back() -> None:
    from etl.normalize.formats import _format_pattern

    assert _format_pattern("%d-%b-%Y") is not None
    assert _format_pattern("%j/%Y") is None  # day of the year: not in the pattern's directives
    prepared = prepare(
        chunk(transaction_date=["032/2024", "366/2023"]),
        BANK_STATEMENTS,
        layout("source='bank_statements'\ndate_format='%j/%Y'"),
        ",",
    )
    assert prepared.text["transaction_date"].to_pylist() == ["2024-02-01", None]


def test_kept_columns_escape_only_what_json_needs() -> None:
    from etl.normalize.formats import _json_string

    text = pa.array(
        ["Ikeja", 'say "hi"', "a\\b", "line\nbreak", "bell\x07", "tab\there", None, "\x7f"], pa.string()
    )
    escaped = _json_string(text).to_pylist()
    assert escaped == [
        '"Ikeja"', '"say \\"hi\\""', '"a\\\\b"', '"line\\nbreak"', '"bell\\u0007"', '"tab\\there"', "null",
        '"\\u007f"',
    ]  # fmt: skip
    assert [json.loads(value) for value in escaped] == [*text.to_pylist()[:6], None, "\x7f"]
    plain = pa.array(["Ikeja", "Garki"], pa.string())
    assert _json_string(plain).to_pylist() == ['"Ikeja"', '"Garki"']
