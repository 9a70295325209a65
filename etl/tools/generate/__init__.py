"""Deterministic synthetic credit-risk data: loan applications, bank statements and repayments as CSV.

Everything is drawn from numpy Generators seeded from one integer and built column-wise, so the same
arguments always give byte-identical files. The risk story is planted on purpose so analyses find it:
approval rises with credit score and falls with loan-to-income; every approved loan carries its whole
schedule, and borrowers fall behind, cure, roll to 60 and 90 days and default far more often in the Poor band,
at high loan-to-income and low income, and in a worse vintage; the score separates good from bad less well
for later loans, and weaker scores apply later (PSI and KS move; see `repayments`); risky customers spend
more than they earn and go overdrawn; a minority bets heavily.

Files are written with a small CSV encoder on pyarrow.compute (UTF-8, header row, `\\n` endings, a field is
quoted only when it holds a comma, a double quote or a line break) because pyarrow's own writer quotes
every string.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from etl.contracts import BANK_STATEMENTS, LOAN_APPLICATIONS, REPAYMENTS, SourceName
from etl.tools.generate.applications import (
    APPLICATION_COLUMNS,
    application_columns,
    decide,
    pick_applications,
)
from etl.tools.generate.common import customer_ids, make_window, random_streams, write_csv
from etl.tools.generate.customers import make_customers
from etl.tools.generate.dirty import DIRTY, make_dirty
from etl.tools.generate.layouts import LAYOUTS, write_profile
from etl.tools.generate.repayments import REPAYMENT_COLUMNS, repayment_columns
from etl.tools.generate.statements import STATEMENT_COLUMNS, bank_statement_table


def generate_dataset(
    out_dir: Path,
    *,
    customers: int,
    seed: int = 42,
    dirty_rate: float = 0.0,
    start: date = date(2023, 1, 1),
    months: int = 12,
    layout: str | None = None,
) -> dict[str, Path]:
    """Write loan_applications, bank_statements and repayments CSVs under `out_dir/<source>/`.

    `dirty_rate` of the rows of each file get exactly one problem each (see DIRTY_KINDS); every other row
    is valid. `layout` (see `layouts.LAYOUTS`) writes them in another layout instead, with the profile that
    reads them as `out_dir/<layout>.toml` (returned as "profile"). Returns the path of each file by
    source name.
    """
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: use {', '.join(LAYOUTS)}")
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    if not 0.0 <= dirty_rate <= 1.0:
        raise ValueError(f"dirty_rate must be between 0 and 1, got {dirty_rate}")
    streams = random_streams(seed)
    window = make_window(start, months)
    people = make_customers(streams["customers"], customers)
    people_ids = customer_ids(customers)
    apps = decide(streams["applications"], pick_applications(streams["applications"], people, window), window)

    applications = application_columns(apps, people_ids, window)
    files: list[tuple[SourceName, tuple[str, ...], dict[str, pa.Array]]] = [  # (source, header, columns)
        (LOAN_APPLICATIONS.name, APPLICATION_COLUMNS, applications),
        (
            BANK_STATEMENTS.name,
            STATEMENT_COLUMNS,
            bank_statement_table(streams["statements"], people, apps, people_ids, window),
        ),
        (
            REPAYMENTS.name,
            REPAYMENT_COLUMNS,
            repayment_columns(
                streams["instalments"], apps, applications["application_id"], people_ids, window
            ),
        ),
    ]
    paths: dict[str, Path] = {}
    for source, header, table in files:
        columns = make_dirty(streams["dirty"], table, DIRTY[source], dirty_rate)
        where = out_dir / source / f"{source}.csv"
        if layout is not None:
            theirs = LAYOUTS[layout][source]
            where = out_dir / theirs.path
            if theirs.write is not None:
                columns = theirs.write({h: columns[h] for h in header}, streams["layout"])
                header = tuple(columns)
        paths[source] = write_csv(where, header, columns)
    if layout is not None:
        paths["profile"] = write_profile(out_dir, layout)
    return paths
