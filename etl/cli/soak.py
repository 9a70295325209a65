"""`etl soak`: many files of mixed sizes back to back through one pipeline."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from etl.cli.console import fail_with, shown
from etl.cli.options import JsonOption
from etl.errors import EtlError


def soak_command(
    files: Annotated[int, typer.Option(min=1, help="Files to load back to back")] = 200,
    max_rows: Annotated[int, typer.Option(min=0, help="Rows of the largest file")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files)")] = 7,
    max_rss_growth_mb: Annotated[
        float, typer.Option(help="Fail when RSS grows more than this after the warm-up files")
    ] = 64.0,
    as_json: JsonOption = False,
    keep: Annotated[
        Path | None, typer.Option(help="Work in this folder and keep it (default: a temporary one)")
    ] = None,
) -> None:
    """Soak test: many files of mixed sizes through one pipeline; exact totals, flat memory and descriptors."""
    import json

    from etl.tools.soak import check, run_soak

    root = keep or Path(tempfile.mkdtemp(prefix="etl-soak-"))
    try:
        result = run_soak(root, files=files, max_rows=max_rows, seed=seed)
    except EtlError as exc:
        raise fail_with(exc) from None
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    problems = check(result, max_rss_growth_bytes=int(max_rss_growth_mb * (1 << 20)))
    if as_json:
        typer.echo(json.dumps({**result.as_dict(), "problems": problems}))
    else:
        typer.echo(
            f"{result.files} files in {result.seconds:.1f} s: {result.statuses}; "
            f"{result.rows_loaded} rows loaded (expected {result.expected_rows}), "
            f"{result.rows_quarantined} quarantined (expected {result.expected_quarantined}); "
            f"RSS growth after warm-up {result.rss_growth_bytes / (1 << 20):.1f} MiB; "
            f"descriptors {result.fds_before} -> {result.fds[-1] if result.fds else result.fds_before}"
        )
        for problem in problems:
            typer.echo(shown(f"problem: {problem}"), err=True)
    raise typer.Exit(1 if problems else 0)
