"""Vectorised validation and casting of one chunk against its source contract.

Pure: a table of text columns in, typed valid rows and quarantined rows out. What a value's characters
may be (trimming, NUL bytes, invisible characters) is `etl.normalize.text`. Each bad row is quarantined
once, under the first rule it breaks (in contract column order), with a reason that quotes the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.contracts import Column, SourceContract
from etl.normalize.checks import Check, Of, first_failures, fixed, quote
from etl.normalize.dates import leading_days
from etl.normalize.formats import Prepared
from etl.normalize.text import BOM_CHAR as BOM_CHAR  # re-exported: the tests of the trim rule name it here
from etl.normalize.text import INVISIBLE, character_data, invisible_reason, nul_reason, unprintable_rows
from etl.normalize.text import TRIMMED_CHARS as TRIMMED_CHARS
from etl.normalize.text import has_nul as _has_nul
from etl.normalize.text import trim as _trim
from etl.normalize.text import trimmed_and_filled as _trimmed_and_filled

MONEY = pa.decimal128(18, 2)
RATE = pa.decimal128(9, 4)
MAX_ID_BYTES = 128
MAX_TEXT_BYTES = 4096
# Every rule a quarantined row can name: the validator's, then the reader's and the duplicate check's.
RULES: tuple[str, ...] = (
    "required",
    "invalid_number",
    "invalid_integer",
    "invalid_date",
    "invalid_enum",
    "decimal_overflow",
    "decimal_scale",
    "out_of_range",
    "date_order",
    "invalid_text",
    "malformed_row",
    "duplicate_key",
)
DATE_MIN, DATE_MAX = "1900-01-01", "2100-12-31"
_OUTSIDE = f"is outside {DATE_MIN}..{DATE_MAX}"

QUARANTINE_FIELDS = [
    pa.field("source_row", pa.int64()),
    pa.field("rule", pa.string()),
    pa.field("column", pa.string()),
    pa.field("reason", pa.string()),
]

_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
_GROUPED = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
_INTEGER = r"^[+-]?\d+$"
_DATE = r"^\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"


@dataclass(frozen=True)
class Validated:
    valid: pa.Table
    quarantine: pa.Table


def quarantine_schema(contract: SourceContract) -> pa.Schema:
    originals = [pa.field(c, pa.string()) for c in contract.names]
    return pa.schema([*QUARANTINE_FIELDS, *originals, pa.field("raw_line", pa.string())])


def validate(chunk: pa.Table, contract: SourceContract, prepared: Prepared | None = None) -> Validated:
    """Cast every contract column and split the chunk into valid rows and quarantined rows.

    `prepared` is the chunk's text in the contract's formats where a profile's layout differs (see
    `etl.normalize.formats`): its refusals come first, its text is what the contract's rules read, and the
    kept columns' JSON becomes the valid rows' `attributes`. A quarantined row keeps the file's own text.
    """
    n = chunk.num_rows
    typed: dict[str, pa.Array] = {}
    checks: list[Check] = [
        Check(r.mask, r.rule, r.column, r.reason) for r in (prepared.refusals if prepared else ())
    ]
    for col in contract.columns:
        if prepared is not None and col.name in prepared.text:
            raw = prepared.text[col.name]
        elif col.name in chunk.column_names:
            raw = chunk.column(col.name).combine_chunks()
        else:
            raw = pa.nulls(n, pa.string())
        value, col_checks = _cast_column(raw, col)
        typed[col.name] = value
        checks.extend(col_checks)
    checks.extend(_cross_checks(contract, typed))

    source_row = chunk.column("source_row")
    attributes = {"attributes": prepared.attributes} if prepared and prepared.attributes is not None else {}
    valid = pa.table({**typed, "source_row": source_row, **attributes})
    failures = first_failures(checks, n)
    if failures is None:  # a clean chunk: no filtering (a full copy of every column)
        return Validated(valid, quarantine_schema(contract).empty_table())
    failed, rows, rule, column, reason = failures
    valid = valid.filter(pa.array(~failed))
    derived = prepared.originals if prepared else {}
    originals = {
        c: (
            chunk.column(c)
            if c in chunk.column_names
            else derived[c]
            if c in derived
            else pa.nulls(n, pa.string())
        ).take(rows)
        for c in contract.names
    }
    bad = pa.table(
        {
            "source_row": source_row.take(rows),
            "rule": rule,
            "column": column,
            "reason": reason,
            **originals,
            "raw_line": pa.nulls(len(rows), pa.string()),
        },
        schema=quarantine_schema(contract),
    )
    return Validated(valid, bad)


def _cast_column(raw: pa.Array, col: Column) -> tuple[pa.Array, list[Check]]:
    if _trimmed_and_filled(raw):  # most columns of a real file: nothing to trim, nothing empty
        text = raw
    else:
        text = _trim(raw)
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    checks = _nul_checks(raw, col)
    if col.required:
        checks.append(Check(pc.is_null(text), "required", col.name, fixed(f"{col.name} is empty")))
    caster = _CASTERS[col.kind]
    value, kind_checks = caster(text, col)
    return value, checks + kind_checks


def _nul_checks(raw: pa.Array, col: Column) -> list[Check]:
    """A value holding a NUL byte: never text (a binary or corrupted file past the part sniffed for it),
    and what a warehouse would store silently. One scan of the column's bytes finds none, the usual case."""
    if not _has_nul(raw):
        return []
    mask = pc.match_substring(raw, "\x00")
    return [Check(mask, "invalid_text", col.name, Of(partial(nul_reason, col.name), raw))]


def _cast_id(text: pa.Array, col: Column) -> tuple[pa.Array, list[Check]]:
    checks = _invisible_checks(text, col)
    # bytes, as Redshift's VARCHAR(128) counts them: 100 x 'é' would fail the whole file's COPY there
    lengths = pc.binary_length(text)
    if (pc.max(lengths).as_py() or 0) <= MAX_ID_BYTES:
        return text, checks
    too_long = pc.greater(lengths, MAX_ID_BYTES)
    return text, [
        *checks,
        Check(too_long, "out_of_range", col.name, quote(col, text, f"is longer than {MAX_ID_BYTES} bytes")),
    ]


def _invisible_checks(text: pa.Array, col: Column) -> list[Check]:
    """An id holding an invisible character inside it (the ends are trimmed): quarantined as `invalid_text`,
    never made a key of its own. Only a value with a byte that is not printable ASCII can hold one: one
    look at the column's bytes finds those rows, and only they are searched."""
    odd = unprintable_rows(text)
    if not len(odd):
        return []
    hit = pc.fill_null(pc.match_substring_regex(text.take(pa.array(odd)), INVISIBLE), False).to_numpy(
        zero_copy_only=False
    )
    mask = np.zeros(len(text), dtype=bool)
    mask[odd[hit]] = True
    return [Check(pa.array(mask), "invalid_text", col.name, Of(partial(invisible_reason, col.name), text))]


def _cast_text(text: pa.Array, col: Column) -> tuple[pa.Array, list[Check]]:
    limit = col.max_bytes or MAX_TEXT_BYTES
    too_long = pc.greater(pc.binary_length(text), limit)
    reason = fixed(f"{col.name} is longer than {limit} bytes")
    return text, [Check(too_long, "out_of_range", col.name, reason)]


def _decimal_caster(dtype: pa.Decimal128Type) -> Callable[[pa.Array, Column], tuple[pa.Array, list[Check]]]:
    int_digits, scale = dtype.precision - dtype.scale, dtype.scale

    # Plain numbers that fit by construction (most of any real file) skip the full parse below.
    simple_re = rf"^[+-]?\d{{1,{int_digits}}}(\.\d{{1,{scale}}})?$"

    def parse(text: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
        """(value, is_number, overflow, too_fine) for any text: thousands separators, '.5', '12.', zeros."""
        grouped = pc.match_substring_regex(text, _GROUPED)
        plain = pc.if_else(grouped, pc.replace_substring(text, ",", ""), text)
        is_number = pc.match_substring_regex(plain, _NUMBER)
        unsigned = pc.utf8_ltrim(plain, characters="+-")
        parts = pc.split_pattern(unsigned, ".", max_splits=1)
        whole = pc.utf8_ltrim(pc.list_element(parts, 0), characters="0")
        frac_len = pc.utf8_length(
            pc.fill_null(
                pc.list_element(
                    pc.if_else(
                        pc.greater(pc.list_value_length(parts), 1),
                        parts,
                        pa.scalar(["", ""], pa.list_(pa.string())),
                    ),
                    1,
                ),
                "",
            )
        )
        overflow = pc.and_(is_number, pc.greater(pc.utf8_length(whole), int_digits))
        too_fine = pc.and_(is_number, pc.greater(frac_len, scale))
        ok = pc.and_(is_number, pc.invert(pc.or_(overflow, too_fine)))
        safe = pc.if_else(ok, plain, pa.scalar(None, pa.string()))
        value = pc.cast(
            pc.if_else(pc.ends_with(safe, "."), pc.binary_join_element_wise(safe, "0", ""), safe), dtype
        )
        return value, is_number, overflow, too_fine

    def cast(text: pa.Array, col: Column) -> tuple[pa.Array, list[Check]]:
        fast = _arrow_decimal(text, dtype)
        if fast is not None:
            return fast, _range_checks(fast, text, col)
        simple = pc.fill_null(pc.match_substring_regex(text, simple_re), False)
        odd = pc.and_(pc.is_valid(text), pc.invert(simple))
        value = pc.cast(pc.if_else(simple, text, pa.scalar(None, pa.string())), dtype)
        is_number, overflow, too_fine = (
            simple,
            pa.repeat(pa.scalar(False), len(text)),
            pa.repeat(pa.scalar(False), len(text)),
        )
        if pc.any(odd).as_py():
            parsed = parse(text.filter(odd))
            value = pc.replace_with_mask(value, odd, parsed[0])
            is_number, overflow, too_fine = (
                pc.replace_with_mask(m, odd, p)
                for m, p in zip((is_number, overflow, too_fine), parsed[1:], strict=True)
            )
        checks = [
            Check(
                pc.and_(pc.is_valid(text), pc.invert(is_number)),
                "invalid_number",
                col.name,
                quote(col, text, "is not a number"),
            ),
            Check(
                overflow,
                "decimal_overflow",
                col.name,
                quote(col, text, f"does not fit DECIMAL({dtype.precision},{scale})"),
            ),
            Check(
                too_fine,
                "decimal_scale",
                col.name,
                quote(col, text, f"has more than {scale} decimal places"),
            ),
        ]
        return value, checks + _range_checks(value, text, col)

    return cast


def _arrow_decimal(text: pa.Array, dtype: pa.Decimal128Type) -> pa.Array | None:
    """The column cast by Arrow when every value is a plain number that fits `dtype`, else None.

    Arrow refuses anything else (letters, separators, too many digits, lost decimals) with an error. It
    accepts two forms we refuse: exponents ('1e5', found by one search of the column's bytes) and more
    decimals than the scale when the extra ones are zeros ('1.230'). Without them, a successful cast is
    exactly our rule, at half the cost of the regex below.
    """
    data = character_data(text)
    if b"e" in data or b"E" in data:
        return None
    point = pc.find_substring(text, ".")
    decimals = pc.subtract(pc.subtract(pc.binary_length(text), point), 1)
    if pc.any(pc.and_(pc.greater_equal(point, 0), pc.greater(decimals, dtype.scale))).as_py():
        return None
    try:
        return pc.cast(text, dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _cast_int(text: pa.Array, col: Column) -> tuple[pa.Array, list[Check]]:
    is_int = pc.match_substring_regex(text, _INTEGER)
    short = pc.less_equal(pc.utf8_length(pc.utf8_ltrim(text, characters="+-0")), 9)
    ok = pc.and_(is_int, short)
    unsigned = pc.replace_substring_regex(text, r"^\+", "")  # Arrow's integer cast refuses a leading +
    value = pc.cast(pc.if_else(ok, unsigned, pa.scalar(None, pa.string())), pa.int32())
    checks = [
        Check(
            pc.and_(pc.is_valid(text), pc.invert(is_int)),
            "invalid_integer",
            col.name,
            quote(col, text, "is not a whole number"),
        ),
        Check(pc.and_(is_int, pc.invert(short)), "out_of_range", col.name, quote(col, text, "is too large")),
    ]
    return value, checks + _range_checks(value, text, col)


@cache
def _day_bounds() -> tuple[pa.Scalar, pa.Scalar]:
    """The first and last day a date may be, made on first use: a pa.scalar at import would import pandas
    (see `etl.pipeline.arrow_without_pandas`)."""
    first, last = (pa.scalar(date.fromisoformat(d), pa.date32()) for d in (DATE_MIN, DATE_MAX))
    return first, last


def _cast_date(text: pa.Array, col: Column) -> tuple[pa.Array, list[Check]]:
    lengths = pc.min_max(pc.binary_length(text))
    if lengths["min"].as_py() == lengths["max"].as_py() == 10:  # all YYYY-MM-DD, or not dates at all
        try:  # Arrow takes exactly YYYY-MM-DD with a real month and day, and refuses anything else
            value = pc.cast(text, pa.date32())
        except pa.ArrowInvalid:
            pass
        else:
            first, last = _day_bounds()
            early = pc.or_(pc.less(value, first), pc.greater(value, last))
            return value, [Check(early, "out_of_range", col.name, quote(col, text, _OUTSIDE))]
    # Arrow refused the chunk (a value that is not YYYY-MM-DD, an impossible day, or a time part): each
    # value's first ten characters are read as a day from the bytes, and only values longer than that
    # (a time part, or anything else after the day) are matched against the contract's whole shape.
    value, real, longer = leading_days(text)
    if longer.any():
        rows = np.flatnonzero(longer)
        shaped = pc.fill_null(pc.match_substring_regex(text.take(pa.array(rows)), _DATE), False)
        shaped = shaped.to_numpy(zero_copy_only=False)
        real[rows[~shaped]] = False
        value = pc.if_else(pa.array(real), value, pa.scalar(None, pa.date32()))
    first, last = _day_bounds()
    is_real = pa.array(real)
    checks = [
        Check(
            pc.and_(pc.is_valid(text), pc.invert(is_real)),
            "invalid_date",
            col.name,
            quote(col, text, "is not a valid date (expected YYYY-MM-DD)"),
        ),
        Check(
            pc.and_(is_real, pc.or_(pc.less(value, first), pc.greater(value, last))),
            "out_of_range",
            col.name,
            quote(col, text, _OUTSIDE),
        ),
    ]
    return value, checks


def _cast_enum(text: pa.Array, col: Column) -> tuple[pa.Array, list[Check]]:
    spelled = pc.utf8_lower(pc.replace_substring_regex(text, r"[\s\x{00A0}_\-]+", ""))
    keys = pa.array(list(col.allowed))
    index = pc.index_in(spelled, value_set=keys)
    value = pc.take(pa.array(list(col.allowed.values())), index)
    allowed = ", ".join(col.allowed.values())
    bad = pc.and_(pc.is_valid(text), pc.is_null(index))
    return value, [Check(bad, "invalid_enum", col.name, quote(col, text, f"is not one of {allowed}"))]


def _range_checks(value: pa.Array, text: pa.Array, col: Column) -> list[Check]:
    masks: list[pa.Array] = []
    if col.nonzero:
        masks.append(pc.equal(value, _scalar(Decimal(0), value.type)))
    if col.minimum is not None:
        low = _scalar(col.minimum, value.type)
        masks.append(pc.less_equal(value, low) if col.min_exclusive else pc.less(value, low))
    if col.maximum is not None:
        masks.append(pc.greater(value, _scalar(col.maximum, value.type)))
    if not masks:
        return []
    mask = masks[0]
    for extra in masks[1:]:
        mask = pc.or_(mask, extra)
    return [
        Check(
            mask,
            "out_of_range",
            col.name,
            quote(col, text, f"is outside the allowed range ({col.range_text()})"),
        )
    ]


def _scalar(number: Decimal, dtype: pa.DataType) -> pa.Scalar:
    if pa.types.is_decimal(dtype):
        return pa.scalar(number, type=dtype)
    return pa.scalar(int(number), type=dtype)


def _cross_checks(contract: SourceContract, typed: dict[str, pa.Array]) -> list[Check]:
    """The contract's cross-field rules, on the typed values (a missing date breaks none)."""
    return [
        Check(
            pc.less(typed[check.column], typed[check.reference]),
            check.rule,
            check.column,
            fixed(f"{check.column} is before {check.reference}"),
        )
        for check in contract.checks
    ]


_CASTERS: dict[str, Callable[[pa.Array, Column], tuple[pa.Array, list[Check]]]] = {
    "id": _cast_id,
    "text": _cast_text,
    "money": _decimal_caster(MONEY),
    "rate": _decimal_caster(RATE),
    "int": _cast_int,
    "date": _cast_date,
    "enum": _cast_enum,
}
