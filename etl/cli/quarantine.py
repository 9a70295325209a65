"""`etl quarantine list|replay`: see the rows the contracts refused, and run them again after a fix."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from etl.cli.console import build_settings, cell, fail, fail_with, note, out, print_json, say
from etl.cli.options import WarehouseOption
from etl.errors import EtlError

if TYPE_CHECKING:
    import pyarrow as pa

    from etl.contracts import SourceName

SUMMARY_COLUMNS = ("source", "file_id", "source_uri", "rule", "quarantine_state", "rows")

quarantine_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Quarantined rows: list them by file and rule, replay them after the rule or the data was fixed.",
)

LakeOption = Annotated[str | None, typer.Option(help="Lake folder (env ETL_LAKE)")]
SourceOption = Annotated[str | None, typer.Option(help="Only this source")]
RuleOption = Annotated[str | None, typer.Option(help="Only rows quarantined under this rule")]
FileOption = Annotated[
    str | None, typer.Option("--file-id", help="Only this file (a prefix of its id works)")
]


@quarantine_app.command("list")
def list_command(
    lake: LakeOption = None,
    source: SourceOption = None,
    rule: RuleOption = None,
    file_id: FileOption = None,
    rows: Annotated[bool, typer.Option("--rows", help="Print the rows, not only the counts")] = False,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Export the rows to this CSV (formula-escaped)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
    warehouse: Annotated[
        str | None, typer.Option(help="Warehouse that tells each row's state (env ETL_WAREHOUSE_URL)")
    ] = None,
    state: Annotated[
        str | None, typer.Option(help="Only rows in this state: open, resolved, superseded, not loaded")
    ] = None,
) -> None:
    """Quarantined rows by file, rule and state (open until a later load holds the row's key)."""
    import pyarrow as pa

    from etl.quarantine import export_csv, quarantine_states, read_quarantines, summarise

    settings = build_settings(lake=lake, warehouse_url=warehouse)
    _require_lake(settings.lake)
    try:
        states = quarantine_states(settings)
        tables = read_quarantines(
            settings.lake, source, rule=rule, file_id=file_id, states=states, state=state
        )
    except EtlError as exc:
        raise fail_with(exc) from None
    except (OSError, pa.ArrowException) as exc:
        raise fail(f"cannot read the quarantine: {exc}", 1) from None
    summary = [g for s, t in tables.items() for g in summarise(s, t)]
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            written = export_csv(tables, handle)
        note(f"{written} rows written to {csv_path}")
    if as_json:
        answer: dict[str, Any] = {"groups": summary, "total": sum(g["rows"] for g in summary)}
        if rows:
            answer["rows"] = [{"source": s, **r} for s, t in tables.items() for r in t.to_pylist()]
        print_json(answer)
        return
    _print_summary(summary)
    if rows:
        _print_rows(tables)


@quarantine_app.command("replay")
def replay_command(
    lake: LakeOption = None,
    warehouse: WarehouseOption = None,
    source: SourceOption = None,
    rule: RuleOption = None,
    file_id: FileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
) -> None:
    """Run quarantined rows through the pipeline again, after the rule or the data was fixed."""
    from etl.quarantine import check_rule, replay, sources_named

    settings = build_settings(lake=lake, warehouse_url=warehouse)
    _require_lake(settings.lake)
    try:
        plans, report = replay(settings, sources_named(source), rule=check_rule(rule), file_id=file_id)
    except EtlError as exc:
        raise fail_with(exc) from None
    answer = {
        "plans": [
            {
                "source": p.source,
                "rows": p.rows,
                "files": [
                    {"file_id": f.file_id, "replay_of": f.original.file_id, "rows": f.rows} for f in p.files
                ],
                "skipped": p.skipped,
            }
            for p in plans
        ],
        "run": report.as_dict(),
    }
    if as_json:
        print_json(answer)
    else:
        for p in plans:
            say(f"{p.source}: {p.rows} rows to replay")
            for reason, n in p.skipped.items():
                say(f"  not replayed ({n}): {reason}")
        for f in report.files:
            if f.status == "skipped_duplicate":
                line = f"{f.path}: skipped_duplicate, the same rows were replayed before: nothing changed"
            else:
                line = f"{f.path}: {f.status}, {f.rows_loaded} loaded, {f.rows_quarantined} quarantined again"
            say(line + (f" ({f.error})" if f.error else ""))
    raise typer.Exit(report.exit_code)


def _require_lake(lake: str) -> None:
    """A local lake that does not exist is a usage error: a typo in --lake must not read as "nothing"."""
    if not lake.startswith("s3://") and not Path(lake).is_dir():
        raise fail(f"no lake at {lake}: load files with `etl run` first, or pass --lake", 2)


def _print_summary(summary: list[dict[str, Any]]) -> None:
    table = Table(*SUMMARY_COLUMNS, title="quarantined rows", title_justify="left")
    for g in summary:
        table.add_row(*(cell(g[c]) for c in SUMMARY_COLUMNS))
    out.print(table)
    say(f"total: {sum(g['rows'] for g in summary)} rows")


def _print_rows(tables: dict[SourceName, pa.Table]) -> None:
    from etl.quarantine import row_columns

    for source, rows in tables.items():
        if not rows.num_rows:
            continue
        names = [
            "file_id",
            "source_row",
            "rule",
            "quarantine_state",
            "column",
            "reason",
            *row_columns(source),
        ]
        table = Table(*names, title=source, title_justify="left")
        for row in rows.to_pylist():
            value = {**row, "file_id": str(row["file_id"])[:12]}
            table.add_row(*(cell(value.get(c)) for c in names))
        out.print(table)
