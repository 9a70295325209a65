"""Helpers shared by the pipeline tests: write CSVs into source folders and run the real pipeline on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.extract.discover import discover
from etl.load.warehouse import open_warehouse
from etl.pipeline import Progress, RunReport, run_files
from etl.settings import Settings

APP_HEADER = "application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,annual_income"
STMT_HEADER = "transaction_id,customer_id,transaction_date,transaction_amount,narration,balance"
REPAY_HEADER = "repayment_id,application_id,due_date,amount_due,paid_date,amount_paid"

# The transactions with what the fact keeps as keys read through their dimensions (issue 21: the fact holds no
# customer_id, category or transaction_date), under the fact's own name: `SELECT category FROM {TRANSACTIONS}`.
TRANSACTIONS = (
    "(SELECT t.*, c.customer_id, d.date AS transaction_date, g.category FROM fact_bank_transaction t "
    "JOIN dim_customer c ON c.customer_key = t.customer_key "
    "JOIN dim_date d ON d.date_key = t.transaction_date_key "
    "JOIN dim_transaction_category g ON g.category_key = t.category_key) AS fact_bank_transaction"
)


def write(folder: Path, source: str, name: str, text: str | bytes, *, encoding: str = "utf-8") -> Path:
    path = folder / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


@dataclass
class Env:
    root: Path
    settings: Settings

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(
        self,
        paths: Sequence[Path] | None = None,
        source: str | None = None,
        *,
        progress: Progress | None = None,
        **settings: Any,
    ) -> RunReport:
        effective = self.settings.model_copy(update=settings) if settings else self.settings
        return run_files(effective, discover(list(paths or [self.data]), source), progress=progress)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with open_warehouse(self.settings) as wh:
            return wh.query(sql, params)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.query(sql, params)[0][0]


def make_env(tmp: Path) -> Env:
    settings = Settings(lake=str(tmp / "lake"), warehouse_url=f"duckdb:///{tmp / 'warehouse.duckdb'}")
    return Env(tmp, settings)


def by_path(report: RunReport) -> dict[str, Any]:
    return {Path(f.path).name: f for f in report.files}
