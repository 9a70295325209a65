"""Dirty rows on purpose: empty, unparseable, impossible, out-of-range, unknown and duplicate values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.contracts import (
    BANK_STATEMENTS,
    LOAN_APPLICATIONS,
    REPAYMENTS,
)
from etl.tools.generate.common import Ints

DIRTY_KINDS = ("empty", "unparseable", "bad_date", "out_of_range", "unknown_enum", "overflow", "duplicate")


UNPARSEABLE = "12,3x"


BAD_DATES = ("2023-02-30", "31/12/2023")


OVERFLOW = "12345678901234567890.00"


@dataclass(frozen=True)
class _DirtySpec:
    key: str
    empty: tuple[str, ...]
    numbers: tuple[str, ...]
    dates: tuple[str, ...]
    out_of_range: tuple[tuple[str, str], ...]
    enums: tuple[tuple[str, str], ...]
    money: tuple[str, ...]

    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in DIRTY_KINDS if k != "unknown_enum" or self.enums)


DIRTY: dict[str, _DirtySpec] = {
    LOAN_APPLICATIONS.name: _DirtySpec(
        key=LOAN_APPLICATIONS.key,
        empty=(
            "customer_id",
            "loan_amount",
            "loan_application_date",
            "credit_score",
            "employment_status",
            "annual_income",
        ),
        numbers=("loan_amount", "credit_score", "annual_income"),
        dates=("loan_application_date",),
        out_of_range=(
            ("credit_score", "900"),
            ("loan_amount", "-5.00"),
            ("annual_income", "-1.00"),
            ("fraud_score", "100.01"),
        ),
        enums=(("employment_status", "Retired"),),
        money=("loan_amount", "annual_income"),
    ),
    BANK_STATEMENTS.name: _DirtySpec(
        key=BANK_STATEMENTS.key,
        empty=("customer_id", "transaction_date", "transaction_amount", "balance"),
        numbers=("transaction_amount", "balance"),
        dates=("transaction_date",),
        out_of_range=(("transaction_amount", "0.00"),),
        enums=(),
        money=("transaction_amount", "balance"),
    ),
    REPAYMENTS.name: _DirtySpec(
        key=REPAYMENTS.key,
        empty=("application_id", "due_date", "amount_due"),
        numbers=("amount_due",),
        dates=("due_date",),
        out_of_range=(("amount_due", "-5.00"),),
        enums=(),
        money=("amount_due",),
    ),
}


def make_dirty(
    rng: np.random.Generator, columns: dict[str, pa.Array], spec: _DirtySpec, rate: float
) -> dict[str, pa.Array]:
    """Spoil round(rate x rows) distinct rows, one problem each, the kinds dealt out evenly.

    A duplicate takes the id of a random earlier row and keeps its own values, so it sits later in the file.
    """
    n = len(columns[spec.key])
    count = round(rate * n)
    if count == 0:
        return columns
    kinds = spec.kinds()
    rows = np.sort(rng.choice(n, size=count, replace=False))
    dealt = rng.permutation(np.resize(np.arange(len(kinds)), count))
    duplicate = kinds.index("duplicate")
    if rows[0] == 0 and dealt[0] == duplicate:
        dealt[0] = kinds.index("empty")  # the first row has no earlier row to copy
    edits: dict[str, list[tuple[Ints, list[str | None]]]] = {}

    def edit(column: str, at: Ints, values: list[str | None]) -> None:
        edits.setdefault(column, []).append((at, values))

    for index, kind in enumerate(kinds):
        at = rows[dealt == index]
        j = np.arange(len(at))
        if kind == "duplicate":
            # copy from an earlier row that keeps its own id, so every copy really is a duplicate
            keeps = np.setdiff1d(np.arange(n), at)
            source = keeps[np.floor(rng.random(len(at)) * np.searchsorted(keeps, at)).astype(np.int64)]
            edit(spec.key, at, columns[spec.key].take(pa.array(source)).to_pylist())
            continue
        for choice in range(_choices(spec, kind)):
            picked = at[j % _choices(spec, kind) == choice]
            column, values = _dirty_values(spec, kind, choice, len(picked))
            edit(column, picked, values)
    out = dict(columns)
    for column, parts in edits.items():
        at = np.concatenate([p[0] for p in parts])
        values = [v for p in parts for v in p[1]]
        order = np.argsort(at)
        mask = np.zeros(n, dtype=np.bool_)
        mask[at] = True
        replacement = pa.array([values[i] for i in order], pa.string())
        out[column] = pc.replace_with_mask(columns[column], pa.array(mask), replacement)
    return out


def _choices(spec: _DirtySpec, kind: str) -> int:
    return {
        "empty": len(spec.empty),
        "unparseable": len(spec.numbers),
        "bad_date": len(spec.dates) * len(BAD_DATES),
        "out_of_range": len(spec.out_of_range),
        "unknown_enum": len(spec.enums),
        "overflow": len(spec.money),
    }[kind]


def _dirty_values(spec: _DirtySpec, kind: str, choice: int, count: int) -> tuple[str, list[str | None]]:
    if kind == "empty":
        return spec.empty[choice], [None] * count
    if kind == "unparseable":
        return spec.numbers[choice], [UNPARSEABLE] * count
    if kind == "bad_date":
        which, value = divmod(choice, len(BAD_DATES))
        return spec.dates[which], [BAD_DATES[value]] * count
    if kind == "out_of_range":
        name, text = spec.out_of_range[choice]
        return name, [text] * count
    if kind == "unknown_enum":
        name, text = spec.enums[choice]
        return name, [text] * count
    return spec.money[choice], [OVERFLOW] * count
