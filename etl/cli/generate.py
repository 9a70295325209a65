"""`etl generate`: realistic synthetic applications, statements and repayments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl.cli.console import fail, say


def generate_command(
    customers: Annotated[int, typer.Option(min=1, help="Number of customers")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes)")] = 42,
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("synthetic"),
    dirty: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of rows made dirty")] = 0.0,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of activity, from 2023-01-01")] = 12,
    layout: Annotated[
        str | None,
        typer.Option(
            help="Write the files in another layout, with the profile that reads them: "
            "challenge (the original challenge's folders and Title_Case headers) or nigerian-bank "
            "(a bank's statement export: Debits/Credits, 05-Jan-2024, \u20a6 amounts, plain-English remarks)"
        ),
    ] = None,
) -> None:
    """Write realistic synthetic loan applications, bank statements and repayments."""
    from etl.tools.generate import generate_dataset
    from etl.tools.generate.layouts import LAYOUTS

    if layout is not None and layout not in LAYOUTS:
        raise fail(f"unknown layout {layout!r}: use {' or '.join(LAYOUTS)}", 2)
    try:
        paths = generate_dataset(
            out_dir, customers=customers, seed=seed, dirty_rate=dirty, months=months, layout=layout
        )
    except OSError as exc:  # --out names a file, a read-only place, a full disk
        raise fail(f"cannot write to {out_dir}: {exc.strerror or exc}", 2) from None
    for name, path in paths.items():
        say(f"{name}: {path}")
