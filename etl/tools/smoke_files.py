"""The files `etl smoke` sends through the deployed pipeline, and the rows each must leave in the warehouse.

One file per source, new on every run (their ids embed a run id), each with three rows: one with every
optional column, 128-byte ids of multibyte characters, multibyte text and cents; one at the lower edges
with the optional columns empty; one that the contract quarantines. The repayments belong to the
applications of the same run, so the warehouse resolves their customer from those applications.

What each file must leave is what the pipeline's own code (extract, validation, model: the code the Lambda
runs) builds from the same bytes, except where the warehouse adds to it: a repayment's customer comes from
its application there, and `loaded_at` is the time of the load (the check bounds it by the ledger row).
Beside the fact's columns, what the fact keeps as keys is read through its dimensions (`THROUGH_DIMENSIONS`:
the customer's id, the category's name, the transaction's date), so those values are checked too.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from etl.contracts import BANK_STATEMENTS, CATEGORIES, LOAN_APPLICATIONS, REPAYMENTS, SourceContract
from etl.model import schema
from etl.model.keys import surrogate_key_of

ID_BYTES = 128
# 15 + 2 x 56 + 1 = 128 bytes: the longest id the contract takes, multibyte between its ends
SMOKE_CUSTOMER_ID = "SMOKE-CUSTOMER-" + "ß" * 56 + "x"


@dataclass(frozen=True)
class DimensionColumn:
    """A value the fact keeps as a key, read through its dimension: `dimension.column` where `dimension.key`
    equals the fact's `fact_key`, named `name` in the rows read."""

    name: str
    arrow: pa.DataType
    dimension: str
    column: str
    fact_key: str
    key: str


_CUSTOMER_ID = DimensionColumn(
    "customer_id", schema.S, "dim_customer", "customer_id", "customer_key", "customer_key"
)
THROUGH_DIMENSIONS: dict[str, tuple[DimensionColumn, ...]] = {
    "fact_loan_application": (_CUSTOMER_ID,),
    "fact_bank_transaction": (
        _CUSTOMER_ID,
        DimensionColumn(
            "category", schema.S, "dim_transaction_category", "category", "category_key", "category_key"
        ),
        DimensionColumn("transaction_date", schema.D, "dim_date", "date", "transaction_date_key", "date_key"),
    ),
    "fact_repayment": (_CUSTOMER_ID,),
}


def smoke_columns(spec: schema.TableSpec) -> dict[str, pa.DataType]:
    """The columns the check reads for a fact table, with their types: the fact's, then those it reads
    through the dimensions."""
    return {c.name: c.arrow for c in spec.columns} | {d.name: d.arrow for d in THROUGH_DIMENSIONS[spec.name]}


@dataclass(frozen=True)
class SmokeFile:
    contract: SourceContract
    body: bytes
    rows_in: int = 3
    rows_loaded: int = 2
    rows_quarantined: int = 1

    @property
    def file_id(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def padded_id(prefix: str, filler: str = "é") -> str:
    """`prefix` followed by `filler` up to exactly ID_BYTES bytes of UTF-8 (an "x" evens out the last byte)."""
    room = ID_BYTES - len(prefix.encode())
    size = len(filler.encode())
    return prefix + filler * (room // size) + "x" * (room % size)


def application_ids(run_id: str) -> tuple[str, str, str]:
    return padded_id(f"SMOKE-{run_id}-A1-"), f"SMOKE-{run_id}-A2", f"SMOKE-{run_id}-A3"


def build_smoke_files(run_id: str, today: date) -> tuple[SmokeFile, SmokeFile, SmokeFile]:
    """Applications, bank statements and repayments for `run_id`, in load order."""
    day = today.isoformat()
    apps = application_ids(run_id)
    customer = SMOKE_CUSTOMER_ID
    applications = [
        "application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,"
        "annual_income,loan_term_months,interest_rate,loan_purpose,state,application_status,decision_date",
        f"{apps[0]},{customer},1234567.89,{day},812,Self-Employed,98765.43,36,12.3456,rénovation ☀,Lagos,approved,{day}",
        f"{apps[1]},{customer},0.01,{day},300,Unemployed,0.00,,,,,,",
        f"{apps[2]},{customer},500.00,{day},851,Employed,1000.00,,,,,,",  # credit score past 850: quarantined
    ]
    statements = [
        "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance,channel",
        f"{padded_id(f'SMOKE-{run_id}-T1-', 'ü')},{customer},{day},250000.00,SALARY PAYMENT ACME LTD février ✓,"
        "250000.00,Mobile",
        f"SMOKE-{run_id}-T2,{customer},{day},-0.01,POS PURCHASE SHOPRITE,249999.99,",
        f"SMOKE-{run_id}-T3,{customer},{day},0.00,POS PURCHASE,249999.99,",  # a zero amount: quarantined
    ]
    repayments = [
        "repayment_id,application_id,due_date,amount_due,customer_id,paid_date,amount_paid",
        f"{padded_id(f'SMOKE-{run_id}-R1-', 'ø')},{apps[0]},{day},1234.56,,{day},1234.56",
        f"SMOKE-{run_id}-R2,{apps[1]},{day},0.01,,,",
        f"SMOKE-{run_id}-R3,{apps[1]},{day},0.00,,,",  # nothing due: quarantined
    ]
    return (
        SmokeFile(LOAN_APPLICATIONS, _csv(applications)),
        SmokeFile(BANK_STATEMENTS, _csv(statements)),
        SmokeFile(REPAYMENTS, _csv(repayments)),
    )


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def expected_rows(file: SmokeFile, *, mask_narration: bool = False) -> tuple[list[dict[str, Any]], int]:
    """The fact rows `file` must leave, without `loaded_at`, as Python values; and how many rows the
    pipeline quarantines from it."""
    from etl.extract.discover import discover
    from etl.extract.identity import identify
    from etl.extract.layout import sniff_layout
    from etl.extract.rows import read_rows
    from etl.model.facts import FactContext, build_fact
    from etl.normalize.categories import load_category_rules
    from etl.normalize.validate import validate

    contract = file.contract
    with tempfile.TemporaryDirectory(prefix="etl-smoke-") as tmp:
        path = Path(tmp) / contract.name / "smoke.csv"
        path.parent.mkdir()
        path.write_bytes(file.body)
        [item] = discover([path])
        ident = identify(item)
        context = FactContext(ident.file_id, datetime(2000, 1, 1), load_category_rules(), mask_narration)
        facts: list[pa.Table] = []
        named: list[pa.Table] = []  # the values read through the dimensions, from the same rows
        quarantined = 0
        sniffed = sniff_layout(ident.head, ident.size, contract)  # no profile: the contract's own layout
        for text, malformed, _ in read_rows(
            item, ident, sniffed, block_size=1 << 20, progress=lambda *_: None
        ):
            checked = validate(text, contract)
            facts.append(build_fact(contract, checked.valid, context))
            named.append(_through_dimensions(contract.fact_table, checked.valid))
            quarantined += checked.quarantine.num_rows + len(malformed)
    built = pa.concat_tables(facts).drop_columns(["loaded_at"]).to_pylist()
    rows = [f | d for f, d in zip(built, pa.concat_tables(named).to_pylist(), strict=True)]
    if "category_key" in schema.TABLES[contract.fact_table].column_names:  # as the narration rules name it
        name = {surrogate_key_of(c): c for c in CATEGORIES}
        rows = [{**row, "category": name[row["category_key"]]} for row in rows]
    if (
        contract.customers == "infers_via_application"
    ):  # the warehouse gives them their application's customer
        rows = [
            {**row, "customer_key": surrogate_key_of(SMOKE_CUSTOMER_ID), "customer_id": SMOKE_CUSTOMER_ID}
            for row in rows
        ]
    return rows, quarantined


def _through_dimensions(table: str, valid: pa.Table) -> pa.Table:
    """The values `table`'s rows read through their dimensions as the file gave them (the category aside:
    the narration rules name it, from the key the fact builder chose)."""
    names = [d.name for d in THROUGH_DIMENSIONS[table] if d.name != "category"]
    return valid.select(names)
