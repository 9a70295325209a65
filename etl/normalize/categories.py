"""Bank-statement narration categories, with the rules kept as data in `etl/rules/narration_categories.csv`.

Each rule is a case-insensitive RE2 pattern (what pyarrow.compute runs: no lookarounds, no backreferences)
matched anywhere in the narration. When several rules match, the lowest priority number wins; a narration
no rule matches (or a null or empty one) is `other`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from etl.contracts import CATEGORIES

FALLBACK = "other"

CATEGORY_DESCRIPTIONS: dict[str, str] = {
    "salary": "Salary and payroll credits",
    "transfer": "Transfers in and out (NIP/NIBSS, mobile, USSD, FT)",
    "pos": "Card purchases at POS terminals and online",
    "fuel": "Fuel and filling stations",
    "utilities": "Electricity, pay-TV, water and waste bills",
    "airtime": "Airtime and data bundles",
    "atm": "ATM and cash withdrawals",
    "betting": "Sports betting and gaming",
    "loan_repayment": "Repayments to banks and digital lenders",
    "rent": "Rent to landlords and agents",
    "other": "Fees, levies, deposits and anything no rule matches",
}

RULES_HEADER = ("priority", "category", "pattern", "description")


@dataclass(frozen=True)
class CategoryRule:
    priority: int
    category: str
    pattern: str
    description: str


def load_category_rules(path: Path | None = None) -> list[CategoryRule]:
    """Read and validate a rules file (default: the packaged one), sorted by priority.

    Raises ValueError with a one-line message naming the file and row of the first problem.
    """
    if path is None:
        name = "narration_categories.csv"
        text = resources.files("etl").joinpath("rules", name).read_text(encoding="utf-8")
    else:
        name = path.name
        text = path.read_text(encoding="utf-8-sig")
    return parse_category_rules(text, source=name)


def parse_category_rules(text: str, *, source: str = "rules") -> list[CategoryRule]:
    """Parse the CSV text of a rules file; see `load_category_rules`."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != RULES_HEADER:
        raise ValueError(f"{source}: header must be {','.join(RULES_HEADER)}, got {_one_line(header)}")
    rules: list[CategoryRule] = []
    seen: dict[int, int] = {}
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        rule = _parse_rule(row, where=f"{source} line {line}")
        if rule.priority in seen:
            raise ValueError(
                f"{source} line {line}: duplicate priority {rule.priority} (also on line {seen[rule.priority]})"
            )
        seen[rule.priority] = line
        rules.append(rule)
    return sorted(rules, key=lambda r: r.priority)


def _parse_rule(row: list[str], *, where: str) -> CategoryRule:
    if len(row) != len(RULES_HEADER):
        raise ValueError(f"{where}: expected {len(RULES_HEADER)} fields, got {len(row)}")
    priority_text, category, pattern, description = (cell.strip() for cell in row)
    try:
        priority = int(priority_text)
    except ValueError:
        raise ValueError(f"{where}: priority {priority_text!r} is not an integer") from None
    if category not in CATEGORIES:
        raise ValueError(f"{where}: unknown category {category!r} (expected one of {', '.join(CATEGORIES)})")
    if not pattern and category != FALLBACK:
        raise ValueError(f"{where}: empty pattern is only allowed for {FALLBACK!r}")
    if pattern:
        try:
            pc.match_substring_regex(pa.array(["probe"]), pattern, ignore_case=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"{where}: invalid RE2 pattern {pattern!r}: {_one_line(exc)}") from None
    return CategoryRule(priority, category, pattern, description)


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def _category_patterns(rules: Sequence[CategoryRule]) -> list[tuple[str, str]]:
    """Merge runs of same-category rules (in priority order) into one alternation each.

    Merging only adjacent rules keeps the priority semantics and cuts the regex passes to about one per
    category.
    """
    merged: list[tuple[str, list[str]]] = []
    for rule in sorted(rules, key=lambda r: r.priority):
        if not rule.pattern:
            continue
        if merged and merged[-1][0] == rule.category:
            merged[-1][1].append(rule.pattern)
        else:
            merged.append((rule.category, [rule.pattern]))
    return [(cat, "|".join(f"(?:{p})" for p in pats)) for cat, pats in merged]


def categorise(narration: pa.Array | pa.ChunkedArray, rules: Sequence[CategoryRule]) -> pa.Array:
    """Category name for every narration, as a string array of the same length (vectorised, no row loop)."""
    return pc.take(_NAMES, category_codes(narration, rules))


def category_codes(narration: pa.Array | pa.ChunkedArray, rules: Sequence[CategoryRule]) -> pa.Array:
    """Position in CATEGORIES of every narration's category (int8, never null).

    Repetitive input (generated data, dictionary-encoded columns) is matched once per distinct value.
    Codes let a caller derive the name and the dimension key per category instead of per row.
    """
    if isinstance(narration, pa.ChunkedArray):
        narration = narration.combine_chunks()
    if pa.types.is_dictionary(narration.type):
        per_value = _categorise_values(narration.dictionary, rules)
        return pc.fill_null(per_value.take(narration.indices), _FALLBACK_CODE)
    if not (pa.types.is_string(narration.type) or pa.types.is_large_string(narration.type)):
        narration = narration.cast(pa.string())
    if _mostly_repeated(narration):
        encoded = pc.dictionary_encode(narration)
        per_value = _categorise_values(encoded.dictionary, rules)
        return pc.fill_null(per_value.take(encoded.indices), _FALLBACK_CODE)
    return _categorise_values(narration, rules)


_NAMES = pa.array(CATEGORIES, pa.string())
_FALLBACK_CODE = pa.scalar(CATEGORIES.index(FALLBACK), pa.int8())


_SAMPLE = 8192


def _mostly_repeated(values: pa.Array) -> bool:
    """Whether encoding first pays off: it costs about half a second per million distinct strings."""
    if len(values) <= _SAMPLE:
        return True
    step = len(values) // _SAMPLE
    sample = values.take(pa.array(range(0, step * _SAMPLE, step), pa.int64()))
    return int(pc.count_distinct(sample, mode="all").as_py()) * 2 <= _SAMPLE


def _categorise_values(values: pa.Array, rules: Sequence[CategoryRule]) -> pa.Array:
    patterns = _category_patterns(rules)
    if not patterns or len(values) == 0:
        return pa.repeat(_FALLBACK_CODE, len(values))

    def matches(pattern: str) -> pa.Array:
        # a null narration gives a null condition, which case_when treats as false: it ends as `other`
        return pc.match_substring_regex(values, pattern, ignore_case=True)

    # Each pass costs ~85 ns per row whatever the pattern; pyarrow releases the GIL, so passes run in
    # parallel.
    if len(values) >= 100_000:
        with ThreadPoolExecutor(max_workers=min(len(patterns), os.cpu_count() or 1)) as pool:
            conditions = list(pool.map(matches, (pattern for _, pattern in patterns)))
    else:
        conditions = [matches(pattern) for _, pattern in patterns]
    names = [f"r{i}" for i in range(len(conditions))]
    # case_when takes the first true condition, which is the rule with the lowest priority number.
    choices = [pa.scalar(CATEGORIES.index(cat), pa.int8()) for cat, _ in patterns] + [_FALLBACK_CODE]
    return pc.case_when(pc.make_struct(*conditions, field_names=names), *choices)


def category_table(rules: Sequence[CategoryRule]) -> pa.Table:
    """Rows for `dim_transaction_category`: every category, even one without rules, so every fact joins."""
    unknown = sorted({r.category for r in rules} - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categories in rules: {', '.join(unknown)}")
    return pa.table(
        {
            "category": pa.array(CATEGORIES, pa.string()),
            "category_description": pa.array([CATEGORY_DESCRIPTIONS[c] for c in CATEGORIES], pa.string()),
            "display_order": pa.array(range(1, len(CATEGORIES) + 1), pa.int16()),
        }
    )


def with_layout_rules(
    builtin: Sequence[CategoryRule], rules: Sequence[tuple[str, str]], *, replace: bool = False
) -> list[CategoryRule]:
    """A layout's narration rules (category, pattern), in its order, before the built-in ones (or alone):
    the first rule that matches wins, so a user's rule overrides a built-in one for what both match."""
    first = min((r.priority for r in builtin), default=0)
    own = [
        CategoryRule(first - len(rules) + i, category, pattern, "profile rule")
        for i, (category, pattern) in enumerate(rules)
    ]
    return own if replace else [*own, *builtin]
