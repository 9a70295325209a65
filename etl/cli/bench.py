"""`etl bench`: the full pipeline timed beside DuckDB's own typed load."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from etl.cli.console import fail, note, print_json, say
from etl.cli.options import JsonOption
from etl.errors import EtlError

if TYPE_CHECKING:
    from etl.tools.bench import BenchResult


def bench_command(
    rows: Annotated[int, typer.Option(min=1, help="Bank-statement rows to generate and load")] = 1_000_000,
    keep: Annotated[
        bool, typer.Option(help="Keep the generated data, lake and warehouse (in ./etl-bench-<rows>)")
    ] = False,
    as_json: JsonOption = False,
    repeat: Annotated[
        int, typer.Option(min=1, help="Run pipeline and reference alternately N times; keep the best of each")
    ] = 1,
    soak: Annotated[
        bool, typer.Option("--soak", help="Run the long soak instead (200 mixed files; same as `etl soak`)")
    ] = False,
) -> None:
    """Time the full pipeline on N generated rows beside DuckDB's own typed CSV load; report peak RSS."""
    if soak:
        from etl.cli.soak import soak_command

        soak_command(as_json=as_json)
        return
    from etl.tools.bench import run_bench

    workdir = Path(f"etl-bench-{rows}") if keep else None
    try:
        result = run_bench(
            rows,
            keep=keep,
            workdir=workdir,
            echo=None if as_json else note,
            repeat=repeat,
        )
    except EtlError as exc:
        raise fail(str(exc), 1) from None
    if as_json:
        print_json(result.as_dict())
        return
    for line in format_result(result):
        say(line)


def format_result(result: BenchResult) -> list[str]:
    """The bench result as the lines `etl bench` prints."""
    lines = [
        f"bank statements: {result.rows:,} rows, {result.file_bytes / (1 << 20):.1f} MiB, "
        f"{result.customers:,} customers; loaded {result.rows_loaded:,}, quarantined {result.rows_quarantined:,}",
        "stage seconds (read, validate, model and the Parquet writes overlap on four threads):",
    ]
    lines += [f"  {name:<11}{seconds:8.2f}" for name, seconds in result.stages.items()]
    lines += [
        f"pipeline     {result.pipeline_seconds:8.2f} s   {result.rows_per_second:,.0f} rows/s, "
        f"{result.cpu_seconds:.2f} s of CPU",
        f"reference    {result.reference_seconds:8.2f} s   DuckDB typed COPY of the same CSV",
        f"ratio        {result.ratio:8.2f} x",
        f"peak RSS     {result.peak_rss_mb:8.1f} MiB (pipeline process)",
    ]
    if result.repeat > 1:
        lines.append(
            f"best of {result.repeat} alternating runs; each run (pipeline / reference seconds, RSS):"
        )
        lines += [
            f"  {r['pipeline_seconds']:6.2f} / {r['reference_seconds']:.2f}   {r['peak_rss_mb']:.0f} MiB"
            for r in result.runs
        ]
    if result.workdir:
        lines.append(f"kept in {result.workdir}")
    return lines
