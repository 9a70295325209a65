"""`etl run`: load CSV files into the lake and the warehouse, then run the data tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from etl.cli.console import build_settings, cell, err, fail_with, note, out, print_json, say, shown
from etl.cli.options import LakeOption, ProfileOption, WarehouseOption
from etl.errors import EtlError, redact_all


def run_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="CSV files or folders (default: ./data)")] = None,
    source: Annotated[
        str | None, typer.Option(help="Source of every file (else from its folder name)")
    ] = None,
    lake: LakeOption = None,
    warehouse: WarehouseOption = None,
    profile: ProfileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as one JSON object")] = False,
) -> None:
    """Load CSV files into the lake and the warehouse, then run the data tests."""
    from etl.extract.discover import discover, not_loaded
    from etl.notify import notify_run
    from etl.pipeline import run_files

    settings = build_settings(lake=lake, warehouse_url=warehouse, profile=profile)
    inputs = paths or [Path("data")]
    try:
        files = discover(inputs, source)
        if not files:
            note(f"warning: no .csv file found in {', '.join(str(p) for p in inputs)}")
        if others := not_loaded(inputs):
            note(_not_loaded_note(others))
        with _progress(enabled=not as_json) as progress:
            report = run_files(settings, files, progress=progress)
    except EtlError as exc:
        raise fail_with(exc) from None
    notify_run(redact_all(report.as_dict()), settings)  # the summary is a report too: no secret in it
    if as_json:
        print_json(report.as_dict())
    else:
        print_report(report.as_dict())
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
            self.task = self.bar.add_task(escape(shown(event[6:])), total=n)
        elif event == "bytes" and self.task is not None:
            self.bar.advance(self.task, n)
        elif event == "done" and self.task is not None:
            self.bar.remove_task(self.task)
            self.task = None


def print_test_summary(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line: passed, failed (severity error) and warnings (severity warn); returns the failing tests."""
    failed = [t for t in tests if t["status"] == "fail"]
    errors = sum(1 for t in failed if t["severity"] == "error")
    out.print(
        f"data tests: {len(tests) - len(failed)} passed, {errors} failed, {len(failed) - errors} warnings"
    )
    return failed


def print_report(report: dict[str, Any]) -> None:
    table = Table(title=f"run {report['run_id']}", title_justify="left")
    counts = ("rows in", "loaded", "quarantined")
    for name in ("file", "source", "status", *counts, "changes", "error"):
        table.add_column(name, justify="right" if name in counts else "left", overflow="fold")
    style = {"loaded": "green", "skipped_duplicate": "cyan", "rejected": "red", "failed": "red"}
    names = [Path(f["path"]).name for f in report["files"]]
    for f, name in zip(report["files"], names, strict=True):
        table.add_row(
            cell(name if names.count(name) == 1 else f["path"]),  # files of the same name: their paths
            cell(f["source"] or "?"),
            f"[{style[f['status']]}]{f['status']}[/]",
            str(f["rows_in"]),
            str(f["rows_loaded"]),
            str(f["rows_quarantined"]),
            _changes(f),
            cell(f["error"]),
        )
    out.print(table)
    for f, name in zip(report["files"], names, strict=True):
        for line in column_notes(f):
            say(f"  {name}: {line}")
    failed = print_test_summary(report["data_tests"])
    for t in failed:
        out.print(
            f"  [{'red' if t['severity'] == 'error' else 'yellow'}]{t['severity']}[/] {escape(shown(t['name']))}: "
            f"{t['failures']} failing rows"
        )


CHANGES = (
    ("rows_inserted", "new"),
    ("rows_updated", "updated"),
    ("rows_unchanged", "unchanged"),
    ("rows_removed", "removed"),
    ("rows_conflicting", "conflicting"),
)


def _changes(f: dict[str, Any]) -> str:
    """What a loaded file did to its table, the counts that are not 0: `4 new, 1 unchanged, 2 conflicting`."""
    if f["status"] != "loaded":
        return ""
    return ", ".join(f"{f[key]} {word}" for key, word in CHANGES if f.get(key)) or "nothing"


def column_notes(f: dict[str, Any]) -> list[str]:
    """What a file's report says of its columns, one line each: the layout that read it, the columns not
    loaded, the optional ones it lacked, and what was ignored."""
    lines = [f"read with layout {f['layout']}"] if f.get("layout") else []
    if f.get("extra_columns"):
        lines.append(f"extra columns, not loaded: {', '.join(f['extra_columns'])}")
    if f.get("missing_columns"):
        lines.append(f"optional columns it does not have: {', '.join(f['missing_columns'])}")
    return lines + list(f.get("notes") or ())


def _not_loaded_note(others: list[Path]) -> str:
    shown = ", ".join(str(p) for p in others[:3]) + (
        f" and {len(others) - 3} more" if len(others) > 3 else ""
    )
    hint = "; decompress .gz files first" if any(p.suffix.lower() == ".gz" for p in others) else ""
    return f"note: {len(others)} file(s) not loaded, only .csv files are: {shown}{hint}"
