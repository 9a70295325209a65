"""What a value's characters may be: trimmed at both ends (Unicode whitespace and format characters), no NUL
byte anywhere, and in an id no invisible character at all.

Pure helpers of `etl.normalize.validate` over pyarrow string arrays; the checks themselves are built there.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NUL_SHOWN = "\u2400"  # ␀, how a NUL byte of a value is shown in its reason
BOM_CHAR = "\ufeff"  # a byte-order mark inside the data (see trim)
# Unicode's format characters (category Cf, Unicode 15.0; a test holds it to Python's unicodedata): invisible,
# such as the zero-width space U+200B, the word joiner U+2060, bidi marks and the BOM U+FEFF.
FORMAT_CHARS = "".join(
    "".join(map(chr, range(first, last + 1)))
    for first, last in (
        (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891),
        (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064),
        (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
        (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
    )
)  # fmt: skip
# What trim takes off both ends of a value: Unicode's White_Space (what pyarrow's utf8_trim_whitespace
# takes) and the format characters, the BOM among them. The duplicate check's SQL over quarantined keys
# trims the same.
TRIMMED_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
    + FORMAT_CHARS
)
# What no id may hold once trimmed: control characters, format characters, line and paragraph separators.
# Invisible, they would make `TXN-1` and `TXN<U+200B>-1` two keys that print the same.
INVISIBLE = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]"


def trim(raw: pa.Array) -> pa.Array:
    """Unicode whitespace off both ends, and format characters there too: files concatenated with `cat`
    leave the second one's byte-order mark (U+FEFF) at the start of a line, a copy from a web page or a chat
    leaves a zero-width space (U+200B) or a word joiner (U+2060), and Unicode counts none of them as
    whitespace, so `\ufeffT1` would be a key of its own beside `T1`. One pass over TRIMMED_CHARS."""
    return pc.utf8_trim(raw, characters=TRIMMED_CHARS)


def has_nul(raw: pa.Array) -> bool:
    if not pa.types.is_string(raw.type) or (layout := string_layout(raw)) is None:
        return False
    bounds, data = layout
    start, end = int(bounds[0]), int(bounds[-1])
    if end <= start:
        return False
    return int(np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start).min()) == 0


def trimmed_and_filled(raw: pa.Array) -> bool:
    """Whether trimming would change nothing and no value would become NULL: every value is non-empty and
    starts and ends with a printable ASCII character.

    A look at two bytes per value instead of a trimmed copy of the whole column and an empty test;
    anything else (a control character, a space or any non-ASCII byte at either end: Unicode spaces
    such as NBSP) takes the full trim.
    """
    if not pa.types.is_string(raw.type) or raw.null_count or (layout := string_layout(raw)) is None:
        return False
    bounds, data = layout
    starts, ends = bounds[:-1], bounds[1:]
    if bool((ends <= starts).any()):
        return False
    chars = np.frombuffer(data, dtype=np.uint8)
    first, last = chars[starts], chars[ends - 1]
    return not bool(((first <= 0x20) | (first >= 0x7F) | (last <= 0x20) | (last >= 0x7F)).any())


def unprintable_rows(text: pa.Array) -> np.ndarray:
    """The rows holding a byte that is not printable ASCII (or a space), found by one look at the column's
    bytes: only these can hold an invisible character."""
    if not pa.types.is_string(text.type) or (layout := string_layout(text)) is None:
        return np.empty(0, dtype=np.int64)
    bounds, data = layout
    start, end = int(bounds[0]), int(bounds[-1])
    if end <= start:
        return np.empty(0, dtype=np.int64)
    chars = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    at = np.flatnonzero((chars - np.uint8(0x20)) >= 0x5F) + start  # below 0x20 wraps round to >= 0xE0
    return np.unique(np.searchsorted(bounds, at, side="right") - 1)


def invisible_reason(column: str, text: pa.Array) -> pa.Array:
    """`<column> 'TXN<U+200B>-1' holds an invisible character (shown as <U+200B>)...`, for each value of
    `text` (the few that hold one)."""
    pattern = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029" + re.escape(FORMAT_CHARS) + "]")
    reasons: list[str | None] = []
    for value in text.to_pylist():
        if value is None:
            reasons.append(None)
            continue
        found = pattern.findall(value)
        shown = pattern.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", value)[:80]
        marks = ", ".join(dict.fromkeys(f"<U+{ord(c):04X}>" for c in found))
        reasons.append(
            f"{column} '{shown}' holds an invisible character (shown as {marks}), which no key may hold"
        )
    return pa.array(reasons, pa.string())


def character_data(text: pa.Array) -> bytes:
    """The bytes of every value of a string array, concatenated."""
    if text.null_count == len(text) or (layout := string_layout(text)) is None:
        return b""
    bounds, data = layout
    return memoryview(data)[int(bounds[0]) : int(bounds[-1])].tobytes()


def string_layout(text: pa.Array) -> tuple[np.ndarray, pa.Buffer] | None:
    """(offsets of this array's values, character data) of a non-empty string array, or None."""
    if len(text) == 0:
        return None
    offsets, data = text.buffers()[1], text.buffers()[2]
    if offsets is None or data is None:
        return None
    return np.frombuffer(offsets, dtype=np.int32, count=text.offset + len(text) + 1)[text.offset :], data


def nul_reason(column: str, raw: pa.Array) -> pa.Array:
    """`<column> '<value>' contains a NUL byte`, the NUL shown as the symbol for it (U+2400)."""
    shown = pc.utf8_slice_codeunits(pc.replace_substring(pc.fill_null(raw, ""), "\x00", NUL_SHOWN), 0, 60)
    return pc.binary_join_element_wise(
        f"{column} '", shown, f"' contains a NUL byte (shown as {NUL_SHOWN}), which is not text", ""
    )
