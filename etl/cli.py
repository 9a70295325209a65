"""The `etl` command line. Errors print one line, never a traceback; exit codes are part of the interface:
0 every file loaded or skipped, 1 a file rejected or failed, 2 usage or configuration error, 3 a data test
of severity error failed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # typer vendors Click

from etl import interrupt
from etl.errors import EtlError, exit_code_of, redact_urls
from etl.settings import Settings, invalid_setting

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Credit-risk ETL: CSV files -> Parquet lake -> star-schema warehouse.",
)
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(redact_urls(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def fail_with(exc: EtlError) -> typer.Exit:
    return fail(str(exc), exit_code_of(exc))


def build_settings(**flags: Any) -> Settings:
    """Flags win over ETL_* environment variables, which win over defaults."""
    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        raise fail(invalid_setting(exc), 2) from None


@app.command()
def run(
    paths: Annotated[list[Path] | None, typer.Argument(help="CSV files or folders (default: ./data)")] = None,
    source: Annotated[
        str | None, typer.Option(help="Source of every file (else from its folder name)")
    ] = None,
    lake: Annotated[str | None, typer.Option(help="Lake folder or s3://bucket/prefix [env ETL_LAKE]")] = None,
    warehouse: Annotated[str | None, typer.Option(help="Warehouse URL [env ETL_WAREHOUSE_URL]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as one JSON object")] = False,
) -> None:
    """Load CSV files into the lake and the warehouse, then run the data tests."""
    from etl.load.lake import open_lake
    from etl.load.warehouse import open_warehouse
    from etl.pipeline import Pipeline, discover, not_loaded

    settings = build_settings(lake=lake, warehouse_url=warehouse)
    inputs = paths or [Path("data")]
    try:
        files = discover(inputs, source)
        if not files:
            err.print(f"warning: no .csv file found in {', '.join(str(p) for p in inputs)}", markup=False)
        if others := not_loaded(inputs):
            err.print(_not_loaded_note(others), markup=False, highlight=False, soft_wrap=True)
        opened_lake = open_lake(settings)  # a bad lake is refused before a warehouse is created
        with open_warehouse(settings) as wh, _progress(enabled=not as_json) as progress:
            pipeline = Pipeline(settings, opened_lake, wh, progress=progress)
            report = pipeline.run(files)
    except EtlError as exc:
        raise fail_with(exc) from None
    if settings.sns_topic_arn or settings.slack_webhook_url:
        from etl.notify import publish_summary

        webhook = settings.slack_webhook_url.get_secret_value() if settings.slack_webhook_url else None
        publish_summary(report.as_dict(), topic_arn=settings.sns_topic_arn, slack_webhook_url=webhook)
    if as_json:
        out.print_json(json.dumps(report.as_dict(), default=str))
    else:
        _print_report(report.as_dict())
    raise typer.Exit(report.exit_code)


class _progress:
    """A byte progress bar per file on stderr when it is a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not (enabled and err.is_terminal),
        )
        self.task: Any = None

    def __enter__(self) -> _progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, event: str, n: int) -> None:
        if event.startswith("start:"):
            self.task = self.bar.add_task(event[6:], total=n)
        elif event == "bytes" and self.task is not None:
            self.bar.advance(self.task, n)
        elif event == "done" and self.task is not None:
            self.bar.remove_task(self.task)
            self.task = None


def _print_test_summary(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line: passed, failed (severity error) and warnings (severity warn); returns the failing tests."""
    failed = [t for t in tests if t["status"] == "fail"]
    errors = sum(1 for t in failed if t["severity"] == "error")
    out.print(
        f"data tests: {len(tests) - len(failed)} passed, {errors} failed, {len(failed) - errors} warnings"
    )
    return failed


def _print_report(report: dict[str, Any]) -> None:
    table = Table(title=f"run {report['run_id']}", title_justify="left")
    for name in ("file", "source", "status", "rows in", "loaded", "quarantined", "error"):
        table.add_column(
            name, justify="right" if name in {"rows in", "loaded", "quarantined"} else "left", overflow="fold"
        )
    style = {"loaded": "green", "skipped_duplicate": "cyan", "rejected": "red", "failed": "red"}
    names = [Path(f["path"]).name for f in report["files"]]
    for f, name in zip(report["files"], names, strict=True):
        table.add_row(
            escape(name if names.count(name) == 1 else f["path"]),  # files of the same name: their paths
            escape(f["source"] or "?"),
            f"[{style[f['status']]}]{f['status']}[/]",
            str(f["rows_in"]),
            str(f["rows_loaded"]),
            str(f["rows_quarantined"]),
            escape(f["error"] or ""),
        )
    out.print(table)
    failed = _print_test_summary(report["data_tests"])
    for t in failed:
        out.print(
            f"  [{'red' if t['severity'] == 'error' else 'yellow'}]{t['severity']}[/] {t['name']}: "
            f"{t['failures']} failing rows"
        )


@app.command()
def generate(
    customers: Annotated[int, typer.Option(min=1, help="Number of customers")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes)")] = 42,
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder")] = Path("synthetic"),
    dirty: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of rows made dirty")] = 0.0,
) -> None:
    """Write realistic synthetic loan applications, bank statements and repayments."""
    from etl.generate import generate_dataset

    try:
        paths = generate_dataset(out_dir, customers=customers, seed=seed, dirty_rate=dirty)
    except OSError as exc:  # --out names a file, a read-only place, a full disk
        raise fail(f"cannot write to {out_dir}: {exc.strerror or exc}", 2) from None
    for name, path in paths.items():
        out.print(f"{name}: {path}", markup=False, highlight=False)


@app.command()
def quality(
    warehouse: Annotated[str | None, typer.Option(help="Warehouse URL [env ETL_WAREHOUSE_URL]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as one JSON array")] = False,
) -> None:
    """Run the data tests against the warehouse and record them."""
    import uuid

    from etl.load.warehouse import open_warehouse
    from etl.pipeline import _now
    from etl.quality import run_data_tests

    settings = build_settings(warehouse_url=warehouse)
    try:
        with open_warehouse(settings, must_exist=True) as wh:
            results = run_data_tests(wh, f"quality-{uuid.uuid4().hex[:8]}", _now())
    except EtlError as exc:
        raise fail_with(exc) from None
    except Exception as exc:
        raise fail(f"cannot run data tests: {str(exc).splitlines()[0]}", 1) from None
    rows = [r.as_dict() for r in results]
    if as_json:
        out.print_json(json.dumps(rows))
    else:
        table = Table("test", "severity", "status", "failures")
        for r in rows:
            table.add_row(r["name"], r["severity"], r["status"], str(r["failures"]))
        out.print(table)
        _print_test_summary(rows)
    raise typer.Exit(3 if any(r["status"] == "fail" and r["severity"] == "error" for r in rows) else 0)


def _register_optional_commands() -> None:
    from etl.bench import bench_command
    from etl.dashboard_html import dashboard_command
    from etl.docs_gen import docs_command
    from etl.insights import insights_command
    from etl.quarantine import quarantine_app
    from etl.quicksight import quicksight_command
    from etl.smoke import smoke_command
    from etl.soak import soak_command

    app.command("bench")(bench_command)
    app.command("dashboard")(dashboard_command)
    app.command("insights")(insights_command)
    app.command("docs")(docs_command)
    app.command("quicksight")(quicksight_command)
    app.command("smoke")(smoke_command)
    app.command("soak")(soak_command)
    app.add_typer(quarantine_app, name="quarantine")


_register_optional_commands()


def _not_loaded_note(others: list[Path]) -> str:
    shown = ", ".join(str(p) for p in others[:3]) + (
        f" and {len(others) - 3} more" if len(others) > 3 else ""
    )
    hint = "; decompress .gz files first" if any(p.suffix.lower() == ".gz" for p in others) else ""
    return f"note: {len(others)} file(s) not loaded, only .csv files are: {shown}{hint}"


def _command_path(args: list[str]) -> str:
    """`etl quarantine list` for the arguments `quarantine list --rule`: the (sub)commands named first."""
    path: list[str] = ["etl"]
    command: Any = typer.main.get_command(app)
    for word in args:
        command = getattr(command, "commands", {}).get(word)
        if command is None:
            break
        path.append(word)
    return " ".join(path)


def main() -> None:
    interrupt.install()
    try:
        code = app(prog_name="etl", standalone_mode=False)  # usage errors come here: one line, no boxed panel
    except NoArgsIsHelpError as exc:  # `etl` alone: the help (Typer has printed it already)
        if exc.format_message():
            exc.show()
        sys.exit(exc.exit_code)
    except UsageError as exc:
        where = f" (see `{exc.ctx.command_path if exc.ctx else _command_path(sys.argv[1:])} --help`)"
        err.print(
            f"[bold red]error:[/] {escape(exc.format_message())}{escape(where)}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(exc.exit_code)
    except ClickException as exc:
        err.print(f"[bold red]error:[/] {escape(exc.format_message())}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:  # Ctrl-C where Click itself was waiting
        pass
    except KeyboardInterrupt:
        pass
    except SystemExit:
        if not interrupt.requested():  # typer exits 130 on Ctrl-C without a word
            raise
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if not interrupt.requested():
            lines = str(exc).strip().splitlines()
            first = redact_urls(lines[0] if lines else "")
            err.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(first)}", highlight=False)
            sys.exit(1)
    else:
        if not interrupt.requested():
            sys.exit(code if isinstance(code, int) else 0)
    err.print("interrupted")
    # Every transaction has been rolled back by now. Leaving at once skips the interpreter's teardown, where
    # DuckDB's bindings print pages of "leaked" warnings when Ctrl-C stopped a statement half way.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


if __name__ == "__main__":
    main()
