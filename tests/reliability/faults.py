"""Shared helpers of the fault-injection tests: deterministic CSVs whose exact totals are known in advance."""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from pathlib import Path

from tests.helpers import STMT_HEADER

ROOT = Path(__file__).resolve().parents[2]


def statements(prefix: str, n: int, *, customers: int = 5) -> str:
    """`n` debits `prefix1..prefixN`: amount -i.01, customers C0..C<customers-1>, days of January 2023."""
    lines = [
        f"{prefix}{i},C{i % customers},2023-01-{1 + i % 28:02d},-{i}.01,POS PURCHASE {i},{10_000 - i}.00"
        for i in range(1, n + 1)
    ]
    return STMT_HEADER + "\n" + "\n".join(lines) + "\n"


def statements_total(n: int) -> Decimal:
    """SUM(transaction_amount) of `statements(_, n)`."""
    return -sum((Decimal(i) + Decimal("0.01") for i in range(1, n + 1)), Decimal(0))


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child `python` running the project's code: no ETL_* settings of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


PYTHON = sys.executable
