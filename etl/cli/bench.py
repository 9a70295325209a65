"""`etl bench`: the pipeline timed beside DuckDB's typed load and the job's physical floor; a small file
into large warehouses (`--incremental`); what every process pays before it works (`--startup`); what a
profile costs (`--layout`); `etl extract` of a large table (`--extract`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from etl.cli.console import fail, note, print_json, say
from etl.cli.options import JsonOption
from etl.errors import EtlError

if TYPE_CHECKING:
    from etl.tools.bench import BenchResult, IncrementalResult
    from etl.tools.bench.extract import ExtractBenchResult
    from etl.tools.bench.layout import LayoutBenchResult
    from etl.tools.bench.startup import StartupResult


def bench_command(
    rows: Annotated[int, typer.Option(min=1, help="Bank-statement rows to generate and load")] = 1_000_000,
    keep: Annotated[
        bool,
        typer.Option(
            help="Keep the generated data, lake and warehouse (in ./etl-bench-<rows>; "
            "--incremental: the base warehouses, in ./etl-bench-incremental, reused next time)"
        ),
    ] = False,
    as_json: JsonOption = False,
    repeat: Annotated[
        int,
        typer.Option(min=1, help="Run pipeline and references alternately N times; keep the best of each"),
    ] = 1,
    whole_process: Annotated[
        bool,
        typer.Option(
            "--whole-process", help="Time `etl run` and the references as whole processes, start-up included"
        ),
    ] = False,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental", help="A small file into warehouses of --sizes transactions, per stage and whole"
        ),
    ] = False,
    sizes: Annotated[
        str, typer.Option(help="--incremental: the base warehouses' transactions, comma-separated")
    ] = "0,1000000,10000000",
    file_rows: Annotated[int, typer.Option(min=1, help="--incremental: rows of the file loaded")] = 10_000,
    startup: Annotated[
        bool,
        typer.Option(
            "--startup",
            help="Time `etl --help`, an empty and a tiny `etl run` and `import etl.handler` as processes "
            "(best of --repeat)",
        ),
    ] = False,
    layout: Annotated[
        str | None,
        typer.Option(
            help="What a profile costs: about --rows transactions loaded as the contracts lay them out and "
            "as this bank layout's export read through its profile (every format rule), side by side "
            "(layouts: those of `etl generate --layout`)",
        ),
    ] = None,
    extract: Annotated[
        str | None,
        typer.Option(
            metavar="VAR",
            help="Time `etl extract` of a scratch table of --rows and then 10x --rows rows (peak RSS at each) "
            "in the PostgreSQL database whose URL is in environment variable VAR",
        ),
    ] = None,
    soak: Annotated[
        bool, typer.Option("--soak", help="Run the long soak instead (200 mixed files; same as `etl soak`)")
    ] = False,
) -> None:
    """Time the pipeline on N generated rows beside DuckDB's typed CSV load and the job's physical floor
    (the CSV read once into a typed table and a Parquet file); report peak RSS."""
    if soak:
        from etl.cli.soak import soak_command

        soak_command(as_json=as_json)
        return
    echo = None if as_json else note
    try:
        if startup:
            from etl.tools.bench.startup import run_startup

            began = run_startup(repeat=repeat, echo=echo)
            lines, data = format_startup(began), began.as_dict()
        elif extract is not None:
            from etl.tools.bench.extract import run_extract_bench

            pulled = run_extract_bench(rows, extract, repeat=repeat, echo=echo)
            lines, data = format_extract(pulled), pulled.as_dict()
        elif layout is not None:
            from etl.tools.bench.layout import run_layout_bench

            measured = run_layout_bench(rows, layout, repeat=repeat, echo=echo)
            lines, data = format_layout(measured), measured.as_dict()
        elif incremental:
            from etl.tools.bench import run_incremental

            bases = _sizes(sizes)
            where = Path("etl-bench-incremental") if keep else None
            done = run_incremental(
                bases, file_rows=file_rows, keep=keep, workdir=where, repeat=repeat, echo=echo
            )
            lines = format_incremental(done)
            data = done.as_dict()
        else:
            from etl.tools.bench import run_bench

            workdir = Path(f"etl-bench-{rows}") if keep else None
            result = run_bench(
                rows, keep=keep, workdir=workdir, echo=echo, repeat=repeat, whole_process=whole_process
            )
            lines, data = format_result(result), result.as_dict()
    except EtlError as exc:
        raise fail(str(exc), 1) from None
    if as_json:
        print_json(data)
        return
    for line in lines:
        say(line)


def format_extract(result: ExtractBenchResult) -> list[str]:
    """`etl bench --extract` as the lines it prints."""
    lines = [f"etl extract (full mode) of a PostgreSQL table, whole processes, best of {result.repeat}:"]
    for size in result.sizes:
        lines.append(
            f"  {size['rows']:>12,} rows {size['seconds']:8.2f} s  {size['rows_per_second']:>10,} rows/s"
            f"  {size['csv_bytes'] / (1 << 20):8.1f} MiB CSV  peak RSS {size['peak_rss_mb']:6.1f} MiB"
        )
    lines.append(f"peak RSS for 10x the rows: {result.rss_growth:+.1%}")
    return lines


def format_layout(result: LayoutBenchResult) -> list[str]:
    """`etl bench --layout` as the lines it prints."""
    return [
        f"bank statements: {result.rows:,} rows ({result.customers:,} customers), loaded two ways, "
        f"best of {result.repeat}",
        f"contract layout          {result.plain_seconds:8.2f} s   {result.rows / result.plain_seconds:,.0f} rows/s, "
        f"{result.plain_bytes / (1 << 20):.1f} MiB",
        f"{result.layout + ' + profile':<24} {result.profile_seconds:8.2f} s   "
        f"{result.rows / result.profile_seconds:,.0f} rows/s, {result.profile_bytes / (1 << 20):.1f} MiB",
        f"the profile costs {result.slowdown:+.1%}",
    ]


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise fail(f"--sizes takes whole numbers separated by commas, got {text!r}", 2) from None
    if not sizes or min(sizes) < 0:
        raise fail(f"--sizes takes whole numbers >= 0, got {text!r}", 2)
    return sizes


def format_result(result: BenchResult) -> list[str]:
    """The bench result as the lines `etl bench` prints."""
    whole = result.mode == "whole-process"
    lines = [
        f"bank statements: {result.rows:,} rows, {result.file_bytes / (1 << 20):.1f} MiB, "
        f"{result.customers:,} customers; loaded {result.rows_loaded:,}, quarantined {result.rows_quarantined:,}",
    ]
    if whole:
        lines.append("whole processes, start-up included (`etl run` and each reference as a process):")
    else:
        lines.append("stage seconds (read, validate, model and the Parquet writes overlap on four threads):")
        lines += [f"  {name:<11}{seconds:8.2f}" for name, seconds in result.stages.items()]
    lines += [
        f"pipeline     {result.pipeline_seconds:8.2f} s   {result.rows_per_second:,.0f} rows/s, "
        f"{result.cpu_seconds:.2f} s of CPU",
        f"reference    {result.reference_seconds:8.2f} s   DuckDB typed COPY of the same CSV"
        + _rss(result.reference_peak_rss_bytes),
        f"floor        {result.floor_seconds:8.2f} s   the CSV read once into a typed DuckDB table and a "
        "Parquet file" + _rss(result.floor_peak_rss_bytes),
        f"ratio        {result.ratio:8.2f} x  to the typed COPY, {result.floor_ratio:.2f} x to the floor",
        f"peak RSS     {result.peak_rss_mb:8.1f} MiB (pipeline process)",
    ]
    if result.repeat > 1:
        lines.append(
            f"best of {result.repeat} alternating runs; each run (pipeline / reference / floor seconds, RSS):"
        )
        lines += [
            f"  {r['pipeline_seconds']:6.2f} / {r['reference_seconds']:.2f} / {r['floor_seconds']:.2f}"
            f"   {r['peak_rss_mb']:.0f} MiB"
            for r in result.runs
        ]
    if result.workdir:
        lines.append(f"kept in {result.workdir}")
    return lines


def _rss(peak: int | None) -> str:
    return f", {peak / (1 << 20):.0f} MiB" if peak else ""


def format_incremental(result: IncrementalResult) -> list[str]:
    """The incremental bench as the lines `etl bench --incremental` prints."""
    lines = [
        f"a {result.file_rows:,}-row bank-statement file of new transactions into warehouses of N transactions "
        f"(ETL_DATA_TESTS=scoped; best of {result.repeat})",
        f"{'N':>12} {'in-process':>11} {'x':>6} {'etl run':>9} {'x':>6} {'tests':>7} {'whole suite':>12}"
        f" {'RSS':>8}  stages (read/validate/model/lake/warehouse)",
    ]
    for r in result.sizes:
        stages = "/".join(f"{r.stages[s]:.2f}" for s in ("read", "validate", "model", "lake", "warehouse"))
        lines.append(
            f"{r.base_rows:>12,} {r.in_process_seconds:>9.2f} s {r.in_process_ratio:>5.2f}x"
            f" {r.whole_process_seconds:>7.2f} s {r.whole_process_ratio:>5.2f}x {r.stages['data_tests']:>5.2f} s"
            f" {r.whole_suite_seconds:>10.2f} s {r.peak_rss_bytes / (1 << 20):>4.0f} MiB  {stages}"
        )
    if result.workdir:
        lines.append(f"base warehouses kept in {result.workdir}")
    return lines


def format_startup(result: StartupResult) -> list[str]:
    """The start-up bench as the lines `etl bench --startup` prints."""
    lines = [f"whole processes, best of {result.repeat} alternating rounds:"]
    for name, m in result.commands.items():
        target = result.targets.get(name)
        verdict = (
            f"   target {target:.2f} s: {'met' if m['seconds'] <= target else 'NOT met'}" if target else ""
        )
        lines.append(
            f"  {name:<47}{m['seconds']:6.2f} s  CPU {m['cpu_seconds']:5.2f} s  {m['peak_rss_mb']:6.1f} MiB{verdict}"
        )
    return lines
