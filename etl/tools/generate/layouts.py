"""Generated files in other people's layouts, each with the profile that reads it (`etl generate --layout`).

- `challenge`: the original challenge's layout: `loan_application/loan_data.csv` with Title_Case headers
  (Application_ID, Customer_ID, Loan_Amount, ...), `customer_bank_statement/` and `repayments/` likewise.
- `nigerian-bank`: a Nigerian bank's statement export under `bank_statements/gtbank/`: `Reference`,
  `Account No`, `Trans. Date` as `05-Jan-2024`, `Remarks` in plain English as well as the bank's codes,
  separate `Debits` and `Credits` columns and a `Balance`, all as `₦1,200.00`, and the `Originating Branch`.
  Applications and repayments stay in the contracts' layout.

The profiles are package data (`layouts/<name>.toml`), written beside the files. Built column-wise in
Arrow, as the rest of the generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.contracts import CONTRACTS, SourceName
from etl.normalize.categories import categorise, load_category_rules

Columns = dict[str, pa.Array]
NAIRA = "\u20a6"


@dataclass(frozen=True)
class FileLayout:
    """How one source's generated file is written in a layout: its path and its columns."""

    path: str  # under the output folder
    write: Callable[[Columns, np.random.Generator], Columns] | None = None  # None: the contract's


def _title(columns: Columns, source: SourceName) -> Columns:
    """The challenge's Title_Case headers (`Loan_Application_Date`); `ID` stays upper case."""
    names = CONTRACTS[source].names
    return {_title_case(name): columns[name] for name in names if name in columns}


def _title_case(name: str) -> str:
    return "_".join("ID" if part == "id" else part.capitalize() for part in name.split("_"))


# ---- a Nigerian bank's export ------------------------------------------------------------------------

# Plain-English narrations the bank's own app writes, by the category the product's rules give the
# generated narration: a share of each category's rows is written this way, which the built-in rules
# read as `other` and the profile's narration rules categorise.
PLAIN_ENGLISH: dict[str, tuple[str, ...]] = {
    "salary": ("Monthly Income", "Salary Payment"),
    "fuel": ("Fuel Purchase", "Gas Station"),
    "utilities": ("Utility Bill Payment", "Water Bill"),
    "airtime": ("Data Subscription", "Airtime Top-up"),
}
PLAIN_SHARE = 0.5
BRANCHES = ("Ikeja", "Victoria Island", "Wuse II", "Garki", "Port Harcourt GRA", "Ring Road Ibadan")
BANK_HEADER = (
    "Reference",
    "Account No",
    "Trans. Date",
    "Remarks",
    "Debits",
    "Credits",
    "Balance",
    "Channel",
    "Originating Branch",
)


def _bank_export(columns: Columns, rng: np.random.Generator) -> Columns:
    """A statement export as the bank writes it (see the module docstring)."""
    amount = columns["transaction_amount"]
    negative = pc.fill_null(pc.starts_with(amount, "-"), False)
    shown = naira(pc.utf8_ltrim(amount, characters="-"))
    nothing = pa.scalar("", pa.string())
    n = len(amount)
    return {
        "Reference": columns["transaction_id"],
        "Account No": columns["customer_id"],
        "Trans. Date": _day_month_year(columns["transaction_date"]),
        "Remarks": _plain_english(columns["narration"], rng),
        "Debits": pc.if_else(negative, shown, nothing),
        "Credits": pc.if_else(negative, nothing, shown),
        "Balance": naira(columns["balance"]),
        "Channel": columns["channel"],
        "Originating Branch": pa.array(BRANCHES, pa.string()).take(
            pa.array(rng.integers(0, len(BRANCHES), n))
        ),
    }


def naira(amount: pa.Array) -> pa.Array:
    """`-1234567.50` as `-₦1,234,567.50`; a value that is not a plain number is left as it is."""
    plain = pc.fill_null(pc.match_substring_regex(amount, r"^-?\d+(\.\d+)?$"), False)
    grouped = amount
    for _ in range(6):  # one separator per pass, from the left: 18 digits need 5
        grouped = pc.replace_substring_regex(grouped, r"^(-?\d+)(\d{3})", r"\1,\2")
    signed = pc.replace_substring_regex(grouped, r"^(-?)", r"\1" + NAIRA)
    return pc.if_else(plain, signed, amount)


def _day_month_year(iso: pa.Array) -> pa.Array:
    """`2024-01-05` as `05-Jan-2024`; anything else as it is."""
    day = pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True)
    return pc.coalesce(pc.strftime(day, format="%d-%b-%Y"), iso)


def _plain_english(narration: pa.Array, rng: np.random.Generator) -> pa.Array:
    category = categorise(narration, load_category_rules())
    out = narration
    for name, choices in PLAIN_ENGLISH.items():
        pick = pa.array(choices, pa.string()).take(pa.array(rng.integers(0, len(choices), len(narration))))
        chosen = pa.array(rng.random(len(narration)) < PLAIN_SHARE)
        out = pc.if_else(pc.and_(pc.equal(category, name), chosen), pick, out)
    return out


LAYOUTS: dict[str, dict[SourceName, FileLayout]] = {
    "challenge": {
        "loan_applications": FileLayout(
            "loan_application/loan_data.csv", lambda c, _: _title(c, "loan_applications")
        ),
        "bank_statements": FileLayout(
            "customer_bank_statement/customer_bank_statement.csv",
            lambda c, _: _title(c, "bank_statements"),
        ),
        "repayments": FileLayout("repayments/repayments.csv", lambda c, _: _title(c, "repayments")),
    },
    "nigerian-bank": {
        "loan_applications": FileLayout("loan_applications/loan_applications.csv"),
        "bank_statements": FileLayout("bank_statements/gtbank/statement.csv", _bank_export),
        "repayments": FileLayout("repayments/repayments.csv"),
    },
}


def profile_text(layout: str) -> str:
    """The profile (TOML) that reads files generated in `layout`."""
    return resources.files("etl.tools.generate").joinpath("layouts", f"{layout}.toml").read_text("utf-8")


def write_profile(out_dir: Path, layout: str) -> Path:
    path = out_dir / f"{layout}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(profile_text(layout), encoding="utf-8")
    return path
