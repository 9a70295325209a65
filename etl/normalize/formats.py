"""A layout's formats turned into the contract's, before validation: vectorised, in Arrow, chunk by chunk.

Dates in the layout's explicit format become ISO text; numbers lose their currency symbols and the
layout's thousands separator, and take `.` as their decimal point; separate debit and credit columns
become one signed amount; kept extra columns become one JSON object of text. A value that does not match
its declared format is refused here, with a reason that quotes the value and the format, before the
contract's own rules run. The raw text stays what the quarantine keeps.

Without a profile one rule still applies: in a `;`-separated file a comma in a number is ambiguous (the
locales that separate fields with `;` write `1,5` for one and a half), so such a value is refused rather
than read as a thousands separator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from etl.contracts import ATTRIBUTES_MAX_BYTES, Column, SourceContract
from etl.extract.layout import CREDIT, DEBIT, KEPT
from etl.profiles import Layout, signed_amount_column

NUMERIC_KINDS = {"money", "rate", "int"}
_PLAIN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
_CONTROL = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\x7f"]
_CONTROL_CLASS = "[" + "".join(f"\\x{ord(ch):02x}" for ch in _CONTROL) + "]"  # RE2: any of them
_NEEDS_ESCAPE = r'[\\"\x00-\x1f\x7f]'


@dataclass(frozen=True)
class Refusal:
    """Rows a layout refuses before the contract's rules: a mask, the rule and column, and the reasons."""

    mask: pa.Array
    rule: str
    column: str
    reason: Callable[[], pa.Array | pa.Scalar]


@dataclass(frozen=True)
class Prepared:
    """What validation reads instead of the raw text, and what the layout refused."""

    text: dict[str, pa.Array] = field(
        default_factory=dict
    )  # contract column -> text in the contract's format
    refusals: list[Refusal] = field(default_factory=list)
    attributes: pa.Array | None = None  # JSON object of the kept columns, one per row
    # the text a quarantined row keeps for a contract column the file does not have as such (the signed
    # amount a layout builds from its debit and credit columns)
    originals: dict[str, pa.Array] = field(default_factory=dict)


def prepare(chunk: pa.Table, contract: SourceContract, layout: Layout | None, delimiter: str) -> Prepared:
    """The chunk's text in the contract's formats (only the columns the layout changes)."""
    text: dict[str, pa.Array] = {}
    originals: dict[str, pa.Array] = {}
    refusals: list[Refusal] = []
    amount = signed_amount_column(contract)
    if layout is not None and layout.debit and amount is not None and DEBIT in chunk.column_names:
        value, refused = _signed_amount(_column(chunk, DEBIT), _column(chunk, CREDIT), amount, layout)
        text[amount] = originals[amount] = value
        refusals.extend(refused)
    for col in contract.columns:
        if col.name not in chunk.column_names and col.name not in text:
            continue
        raw = text.get(col.name, _column(chunk, col.name) if col.name in chunk.column_names else None)
        if raw is None:
            continue
        if col.kind == "date" and layout is not None and (fmt := layout.format_of(col.name)):
            text[col.name], refused = _dates(raw, col, fmt)
            refusals.extend(refused)
        elif col.kind in NUMERIC_KINDS and layout is not None:
            text[col.name], refused = _numbers(raw, col, layout)
            refusals.extend(refused)
        elif col.kind in NUMERIC_KINDS and delimiter == ";" and _any(pc.match_substring(raw, ",")):
            refusals.append(_ambiguous_comma(raw, col))
    kept = [name for name in chunk.column_names if name.startswith(KEPT)]
    attributes = _json_object(chunk, kept) if kept else None
    if attributes is not None:
        refusals.extend(_too_long_attributes(attributes))
    return Prepared(text, refusals, attributes, originals)


def _column(chunk: pa.Table, name: str) -> pa.Array:
    return chunk.column(name).combine_chunks()


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(pc.fill_null(mask, False)).as_py())


def _trimmed(raw: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(raw)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _quoted(col: Column, raw: pa.Array, message: str) -> Callable[[], pa.Array]:
    def reason() -> pa.Array:
        shown = pc.utf8_slice_codeunits(pc.fill_null(raw, ""), 0, 60)
        return pc.binary_join_element_wise(f"{col.name} '", shown, f"' {message}", "")

    return reason


# ---- dates ------------------------------------------------------------------------------------------------


def _dates(raw: pa.Array, col: Column, fmt: str) -> tuple[pa.Array, list[Refusal]]:
    """ISO text of the dates written in `fmt`; a value that is not one (30/02, 5/13 in %d/%m) is refused.

    strptime rolls an impossible day over (30 February becomes 1 March), so a date is taken only when it
    is written as `fmt` says, every field in place (case and leading zeros aside: `5-jan-2024` is
    `05-Jan-2024`), and its day of the month is the day written. A format with a directive the pattern
    does not know (%j, the day of the year: profiles allow %d %m %b %B %Y %y %j) is checked by printing the
    date back instead (about 3x slower).
    """
    text = _trimmed(raw)
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    pattern = _format_pattern(fmt)
    if pattern is None:
        back = pc.strftime(parsed, format=fmt)
        same = pc.equal(_comparable(back), _comparable(text))
    else:
        same = pc.match_substring_regex(text, pattern)
        if "%d" in fmt:
            written = pc.cast(pc.struct_field(pc.extract_regex(text, pattern), "day"), pa.int64(), safe=False)
            same = pc.and_(same, pc.equal(written, pc.day(parsed)))
    ok = pc.and_(pc.is_valid(parsed), pc.fill_null(same, False))
    iso = pc.if_else(ok, parsed.cast(pa.date32()).cast(pa.string()), pa.scalar(None, pa.string()))
    bad = pc.and_(pc.is_valid(text), pc.invert(ok))
    refused = [
        Refusal(bad, "invalid_date", col.name, _quoted(col, raw, f"does not match the date format {fmt}"))
    ]
    return iso, refused if _any(bad) else []


_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DIRECTIVES = {
    "d": r"(?P<day>\d{1,2})",
    "m": r"\d{1,2}",
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "b": "(?:" + "|".join(m[:3] for m in _MONTHS.split("|")) + ")",
    "B": f"(?:{_MONTHS})",
    "%": "%",
}


def _format_pattern(fmt: str) -> str | None:
    """A regular expression (RE2) a value written in strptime format `fmt` matches whole; the day of the month
    captured as `day`. None for a directive not in `_DIRECTIVES` (or %d twice)."""
    parts, i = ["(?i)^"], 0
    while i < len(fmt):
        if fmt[i] != "%":
            parts.append(re.escape(fmt[i]))
            i += 1
            continue
        directive = fmt[i + 1 : i + 2]
        if directive not in _DIRECTIVES:
            return None
        parts.append(_DIRECTIVES[directive])
        i += 2
    pattern = "".join(parts) + "$"
    return None if pattern.count("?P<day>") > 1 else pattern


def _comparable(text: pa.Array) -> pa.Array:
    """Lower case, and no leading zero before a digit: how two spellings of one date compare."""
    return pc.replace_substring_regex(pc.utf8_lower(text), r"(^|[^0-9])0+([0-9])", r"\1\2")


# ---- numbers ----------------------------------------------------------------------------------------------


def _numbers(raw: pa.Array, col: Column, layout: Layout) -> tuple[pa.Array, list[Refusal]]:
    """Plain text of numbers written with the layout's currency symbols and separators."""
    text = _without_currency(raw, layout)
    decimal, thousands = re.escape(layout.decimal), re.escape(layout.thousands)
    if layout.thousands != "none":
        grouped = rf"^[+-]?\d{{1,3}}({thousands}\d{{3}})+({decimal}\d+)?$"
        is_grouped = pc.fill_null(pc.match_substring_regex(text, grouped), False)
        text = pc.if_else(is_grouped, pc.replace_substring(text, layout.thousands, ""), text)
    if layout.decimal != ".":
        if _any(
            pc.match_substring(text, ".")
        ):  # a '.' where ',' is the decimal point: no number of this layout
            text = pc.if_else(pc.match_substring(text, "."), pa.scalar("?", pa.string()), text)
        text = pc.replace_substring(text, layout.decimal, ".")
    bad = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(pc.match_substring_regex(text, _PLAIN), False)))
    message = f"is not a number written as this layout writes them (decimal {layout.decimal!r}, thousands "
    message += (
        f"{layout.thousands!r}"
        + (f", currency {', '.join(layout.currency)}" if layout.currency else "")
        + ")"
    )
    refused = [Refusal(bad, "invalid_number", col.name, _quoted(col, raw, message))]
    return pc.if_else(bad, pa.scalar(None, pa.string()), text), refused if _any(bad) else []


def _without_currency(raw: pa.Array, layout: Layout) -> pa.Array:
    text = _trimmed(raw)
    for symbol in layout.currency:  # the longest first: "NGN" before "N"
        text = pc.replace_substring(text, symbol, "")
    return _trimmed(pc.replace_substring_regex(text, r"^([+-])\s+", r"\1"))  # "- 5" once "₦" is gone


def _ambiguous_comma(raw: pa.Array, col: Column) -> Refusal:
    mask = pc.fill_null(pc.match_substring(raw, ","), False)
    message = (
        "has a comma, which a ';'-separated file may use as its decimal point: declare decimal and thousands "
        "in a profile"
    )
    return Refusal(mask, "invalid_number", col.name, _quoted(col, raw, message))


def _signed_amount(
    debit: pa.Array, credit: pa.Array, amount: str, layout: Layout
) -> tuple[pa.Array, list[Refusal]]:
    """One signed amount from a debit column (minus its value) and a credit column; exactly one may hold
    a value other than zero."""
    owed, paid = _without_currency(debit, layout), _without_currency(credit, layout)
    zero = r"^[-+]?[0.,' ]*$"  # "0", "0.00", "₦0.00", "-": nothing moved on that side
    owes = pc.and_(pc.is_valid(owed), pc.invert(pc.fill_null(pc.match_substring_regex(owed, zero), False)))
    pays = pc.and_(pc.is_valid(paid), pc.invert(pc.fill_null(pc.match_substring_regex(paid, zero), False)))
    both = pc.and_(owes, pays)
    neither = pc.and_(pc.invert(owes), pc.invert(pays))
    minus = pc.binary_join_element_wise("-", pc.utf8_ltrim(owed, characters="-+ "), "")
    value = pc.if_else(pays, paid, pc.if_else(owes, minus, pa.scalar(None, pa.string())))
    both_reason = pc.binary_join_element_wise(
        f"{layout.debit} '",
        pc.fill_null(owed, ""),
        f"' and {layout.credit} '",
        pc.fill_null(paid, ""),
        "' both hold an amount: a row is a debit or a credit",
        "",
    )
    refusals = []
    if _any(both):
        refusals.append(Refusal(both, "invalid_number", amount, lambda: both_reason))
    if _any(neither):
        message = f"{layout.debit} and {layout.credit} are both empty or zero"
        refusals.append(Refusal(neither, "required", amount, lambda: pa.scalar(message)))
    return value, refusals


# ---- kept columns -----------------------------------------------------------------------------------------


def _json_object(chunk: pa.Table, kept: list[str]) -> pa.Array:
    """`{"<column>": "<text>" | null, ...}` per row, every value escaped as JSON text."""
    parts: list[pa.Array | str] = []
    for i, name in enumerate(kept):
        key = name.removeprefix(KEPT)
        value = _json_string(_trimmed(_column(chunk, name)))
        parts += [("{" if i == 0 else ",") + _json_key(key) + ":", value]
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def _too_long_attributes(attributes: pa.Array) -> list[Refusal]:
    """A row whose kept columns make a JSON object longer than a fact's attributes hold (Redshift stages it as
    a VARCHAR of at most that many bytes: one such row would fail the whole file's COPY on every retry)."""
    too_long = pc.greater(pc.binary_length(attributes), ATTRIBUTES_MAX_BYTES)
    if not _any(too_long):
        return []
    message = f"the kept columns are longer than {ATTRIBUTES_MAX_BYTES} bytes as JSON"
    return [Refusal(too_long, "out_of_range", "attributes", lambda: pa.scalar(message))]


def _json_key(key: str) -> str:
    import json

    return json.dumps(key)


def _json_string(text: pa.Array) -> pa.Array:
    escaped = text
    # one scan says whether anything needs escaping at all (a branch name rarely does), instead of a pass
    # per character that might: 0.95 -> 0.1 s per 200k rows
    if _any(pc.match_substring_regex(text, _NEEDS_ESCAPE)):
        escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
        for ch, code in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            escaped = pc.replace_substring(escaped, ch, code)
        if _any(pc.match_substring_regex(escaped, _CONTROL_CLASS)):
            for ch in _CONTROL:
                escaped = pc.replace_substring(escaped, ch, f"\\u{ord(ch):04x}")
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    return pc.if_else(pc.is_valid(text), quoted, pa.scalar("null", pa.string()))
