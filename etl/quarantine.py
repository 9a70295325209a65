"""`etl quarantine list|replay`: see the rows the contracts refused, and run them again after a fix.

`list` reads `<lake>/quarantine/<source>/*.parquet` and counts rows by file and rule (`--rows` prints them,
`--csv FILE` exports them with spreadsheet-formula escaping).

`replay` rebuilds one CSV per source from the quarantined rows' original text (the contract's columns in
contract order, plus `original_file_id`, `original_line` and `contract_version` for people; the contracts
ignore extra columns), keeps it in the lake at `<lake>/replays/<source>/<sha256>.csv`, and runs it through
the normal `Pipeline`. So the usual guarantees hold: rows that now pass are loaded (upserted by natural
key), rows that still fail are quarantined again under the replay file's id, and the same replay twice is
`skipped_duplicate` (content hash). `contract_version` is a hash of the source's contract, so a replay after
a rule change is new content and runs, while a replay with nothing changed is a no-op.

Lineage: a replayed fact row's `source_file_id` is the replay file's id and `source_row` its line in the
rebuilt CSV; that CSV's `original_file_id` / `original_line` lead back to the raw file's line.

Not replayed (reported with a reason):
- `malformed_row`: the fields of a line with the wrong number of fields cannot be told apart.
- `duplicate_key`: a later line of the same file with the same key was loaded; replaying the earlier
  occurrence would overwrite it with older values.
- `invalid_text`: a value with a NUL byte never becomes valid (and would make the rebuilt CSV binary).
- rows whose key has since been loaded by an ordinary file (a corrected upload): the warehouse already has
  a newer version.
- rows quarantined by an earlier replay: they are copies of rows still in their original file's quarantine.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import typer

from etl.contracts import CONTRACTS, SOURCES, SourceContract, SourceName, source_from_folder
from etl.errors import ConfigError, EtlError

REPLAY_DIR = "replays"
NOT_REPLAYABLE = {
    "malformed_row": "the line has the wrong number of fields; fix the raw file and load it again",
    "duplicate_key": "a later line with the same key was loaded; replaying this one would overwrite it",
    "invalid_text": "the value holds a NUL byte, which no rule change makes text; fix the raw file and load it again",
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
KEY_BATCH = 500  # bound parameters per IN list
SUMMARY_COLUMNS = ("source", "file_id", "source_uri", "rule", "rows")

quarantine_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Quarantined rows: list them by file and rule, replay them after the rule or the data was fixed.",
)


# ---- reading the quarantine ---------------------------------------------------------------------------------


def read_quarantine(
    lake: str,
    source: SourceName,
    *,
    rule: str | None = None,
    file_id: str | None = None,
) -> pa.Table:
    """Every quarantined row of `source` in a local lake, filtered, in (file_id, source_row) order."""
    if lake.startswith("s3://"):
        raise ConfigError(
            "reading the quarantine of an s3:// lake is not supported yet: copy it locally "
            f"(aws s3 sync {lake.rstrip('/')}/quarantine ./lake/quarantine) and pass --lake ./lake"
        )
    folder = Path(lake) / "quarantine" / source
    parts = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    tables = [pq.read_table(p) for p in parts]
    if not tables:
        return pa.table({})
    table = pa.concat_tables(tables, promote_options="permissive")
    if rule is not None:
        table = table.filter(pc.equal(table.column("rule"), rule))
    if file_id is not None:
        table = table.filter(pc.starts_with(table.column("file_id"), file_id))
    if not table.num_rows:
        return table
    return table.sort_by([("file_id", "ascending"), ("source_row", "ascending")])


def summarise(source: str, table: pa.Table) -> list[dict[str, Any]]:
    """Row counts by file and rule."""
    if not table.num_rows:
        return []
    grouped = table.group_by(["file_id", "source_uri", "rule"]).aggregate([("source_row", "count")])
    rows = [
        {"source": source, "file_id": g["file_id"], "source_uri": g["source_uri"], "rule": g["rule"]}
        | {"rows": g["source_row_count"]}
        for g in grouped.to_pylist()
    ]
    return sorted(rows, key=lambda r: (r["source_uri"], r["file_id"], r["rule"]))


def escape_formula(value: object) -> str:
    """Text a spreadsheet shows as text: a leading =, +, -, @, tab or CR gets a ' prefix (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    if _PLAIN_NUMBER.match(text):  # -5.00 is an amount, not a formula: leave numbers as numbers
        return text
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def export_csv(tables: dict[SourceName, pa.Table], out: Any) -> int:
    """Quarantined rows of every source as one CSV, every cell formula-escaped; returns the rows written."""
    columns = ["source", "file_id", "source_uri", "source_row", "rule", "column", "reason"]
    for source, table in tables.items():
        names = [*CONTRACTS[source].names, "raw_line"] if table.num_rows else []
        columns.extend(n for n in names if n not in columns)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    written = 0
    for source, table in tables.items():
        for row in table.to_pylist():
            row["source"] = source
            writer.writerow([escape_formula(row.get(c)) for c in columns])
            written += 1
    return written


# ---- replay ---------------------------------------------------------------------------------------------------


@dataclass
class ReplayPlan:
    """What a replay of one source will send through the pipeline, and what it leaves out and why."""

    source: SourceName
    content: bytes = b""
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def file_id(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def name(self) -> str:
        return f"quarantine-replay-{self.source}-{self.file_id[:12]}.csv"

    def skip(self, reason: str, n: int) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n


def contract_version(contract: SourceContract) -> str:
    """Changes whenever the contract's columns or rules change, so a replay after a fix is new content."""
    return hashlib.sha256(repr(contract).encode()).hexdigest()[:16]


def plan_replay(
    rows: pa.Table, contract: SourceContract, *, loaded_keys: Iterable[str] = (), replay_prefix: str = ""
) -> ReplayPlan:
    """Pure: choose the replayable rows and render them as the CSV the pipeline will read."""
    plan = ReplayPlan(contract.name)
    if not rows.num_rows:
        return plan
    keep: list[dict[str, Any]] = []
    loaded = set(loaded_keys)
    for row in rows.to_pylist():
        if replay_prefix and str(row.get("source_uri") or "").startswith(replay_prefix):
            plan.skip("quarantined by an earlier replay (the original row is replayed instead)", 1)
        elif row["rule"] in NOT_REPLAYABLE:
            plan.skip(f"{row['rule']}: {NOT_REPLAYABLE[row['rule']]}", 1)
        elif row.get(contract.key) in loaded:
            plan.skip(
                f"{contract.key} loaded since by an ordinary file: the warehouse has a newer version", 1
            )
        else:
            keep.append(row)
    if not keep:
        return plan
    version = contract_version(contract)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*contract.names, "original_file_id", "original_line", "contract_version"])
    for row in keep:
        values = ["" if row.get(c) is None else row[c] for c in contract.names]
        writer.writerow([*values, row["file_id"], row["source_row"], version])
    plan.content, plan.rows = buffer.getvalue().encode("utf-8"), len(keep)
    return plan


def replay(
    settings: Any,
    sources: Sequence[SourceName],
    *,
    rule: str | None = None,
    file_id: str | None = None,
) -> tuple[list[ReplayPlan], Any]:
    """Replay the selected quarantined rows of each source through the normal Pipeline; (plans, RunReport)."""
    from etl.load.lake import open_lake
    from etl.load.warehouse import open_warehouse
    from etl.pipeline import Pipeline, SourceFile

    replay_root = Path(settings.lake) / REPLAY_DIR
    plans: list[ReplayPlan] = []
    files: list[SourceFile] = []
    with open_warehouse(settings, must_exist=True) as warehouse:  # its quarantine came from a load
        pipeline = Pipeline(settings, open_lake(settings), warehouse)
        pipeline.prepare()
        for source in sources:
            contract = CONTRACTS[source]
            rows = read_quarantine(settings.lake, source, rule=rule, file_id=file_id)
            candidates = [] if not rows.num_rows else rows.column(contract.key).to_pylist()
            loaded = _keys_loaded_by_ordinary_files(warehouse, contract, candidates)
            plan = plan_replay(rows, contract, loaded_keys=loaded, replay_prefix=str(replay_root))
            plans.append(plan)
            if plan.rows:
                path = replay_root / source / f"{plan.file_id}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(plan.content)  # kept: the lineage from a replayed row to its original line
                files.append(SourceFile(str(path), plan.name, source, _opener(plan.content)))
        report = pipeline.run(files)
    return plans, report


def _opener(content: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(content)


def _keys_loaded_by_ordinary_files(warehouse: Any, contract: SourceContract, keys: list[Any]) -> set[str]:
    """Keys among `keys` present in the fact table from a file that is not a quarantine replay."""
    wanted = sorted({k for k in keys if k})
    found: set[str] = set()
    p = warehouse.sql.param
    for start in range(0, len(wanted), KEY_BATCH):
        batch = wanted[start : start + KEY_BATCH]
        # identifiers from the contract; every value a bound parameter
        statement = (
            f"SELECT f.{contract.key} FROM {contract.fact_table} f "
            f"WHERE f.{contract.key} IN ({', '.join([p] * len(batch))}) AND NOT EXISTS ("
            f"SELECT 1 FROM etl_file_ledger l WHERE l.file_id = f.source_file_id AND l.file_name LIKE {p})"
        )
        found.update(str(r[0]) for r in warehouse.query(statement, [*batch, "quarantine-replay-%"]))
    return found


# ---- commands -----------------------------------------------------------------------------------------------


def _rule(rule: str | None) -> str | None:
    from etl.normalize.validate import RULES

    if rule is not None and rule not in RULES:  # a typo would otherwise list or replay nothing, silently
        raise ConfigError(f"unknown rule {rule!r}: use one of {', '.join(RULES)}")
    return rule


def _sources(source: str | None) -> list[SourceName]:
    if source is None:
        return list(SOURCES)
    name = source_from_folder(source)
    if name is None:
        raise ConfigError(f"unknown source {source!r}: use loan_applications, bank_statements or repayments")
    return [name]


LakeOption = Annotated[str | None, typer.Option(help="Lake folder [env ETL_LAKE]")]
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
) -> None:
    """Quarantined rows by file and rule."""
    from etl.cli import build_settings, fail, fail_with, out

    settings = build_settings(lake=lake)
    _require_lake(settings.lake)
    try:
        rule = _rule(rule)
        tables = {s: read_quarantine(settings.lake, s, rule=rule, file_id=file_id) for s in _sources(source)}
    except EtlError as exc:
        raise fail_with(exc) from None
    except (OSError, pa.ArrowException) as exc:
        raise fail(f"cannot read the quarantine: {exc}", 1) from None
    summary = [g for s, t in tables.items() for g in summarise(s, t)]
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            written = export_csv(tables, handle)
        print(f"{written} rows written to {csv_path}", file=sys.stderr)
    if as_json:
        answer: dict[str, Any] = {"groups": summary, "total": sum(g["rows"] for g in summary)}
        if rows:
            answer["rows"] = [{"source": s, **r} for s, t in tables.items() for r in t.to_pylist()]
        out.print_json(json.dumps(answer, default=str))
        return
    _print_summary(summary, out)
    if rows:
        _print_rows(tables, out)


def _require_lake(lake: str) -> None:
    """A local lake that does not exist is a usage error: a typo in --lake must not read as "nothing"."""
    from etl.cli import fail

    if not lake.startswith("s3://") and not Path(lake).is_dir():
        raise fail(f"no lake at {lake}: load files with `etl run` first, or pass --lake", 2)


@quarantine_app.command("replay")
def replay_command(
    lake: LakeOption = None,
    warehouse: Annotated[str | None, typer.Option(help="Warehouse URL [env ETL_WAREHOUSE_URL]")] = None,
    source: SourceOption = None,
    rule: RuleOption = None,
    file_id: FileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
) -> None:
    """Run quarantined rows through the pipeline again, after the rule or the data was fixed."""
    from etl.cli import build_settings, fail_with, out

    settings = build_settings(lake=lake, warehouse_url=warehouse)
    _require_lake(settings.lake)
    try:
        plans, report = replay(settings, _sources(source), rule=_rule(rule), file_id=file_id)
    except EtlError as exc:
        raise fail_with(exc) from None
    answer = {
        "plans": [
            {
                "source": p.source,
                "rows": p.rows,
                "file_id": p.file_id if p.rows else None,
                "skipped": p.skipped,
            }
            for p in plans
        ],
        "run": report.as_dict(),
    }
    if as_json:
        out.print_json(json.dumps(answer, default=str))
    else:
        for p in plans:
            out.print(f"{p.source}: {p.rows} rows to replay", highlight=False)
            for reason, n in p.skipped.items():
                out.print(f"  not replayed ({n}): {reason}", highlight=False, markup=False)
        for f in report.files:
            if f.status == "skipped_duplicate":
                line = f"{f.path}: skipped_duplicate, the same rows were replayed before: nothing changed"
            else:
                line = f"{f.path}: {f.status}, {f.rows_loaded} loaded, {f.rows_quarantined} quarantined again"
            out.print(
                line + (f" ({f.error})" if f.error else ""), highlight=False, markup=False, soft_wrap=True
            )
    raise typer.Exit(report.exit_code)


def _print_summary(summary: list[dict[str, Any]], console: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(*SUMMARY_COLUMNS, title="quarantined rows", title_justify="left")
    for g in summary:
        table.add_row(*(Text(str(g[c])) for c in SUMMARY_COLUMNS))
    console.print(table)
    console.print(f"total: {sum(g['rows'] for g in summary)} rows", highlight=False)


def _print_rows(tables: dict[SourceName, pa.Table], console: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    for source, rows in tables.items():
        if not rows.num_rows:
            continue
        names = ["file_id", "source_row", "rule", "column", "reason", *CONTRACTS[source].names, "raw_line"]
        table = Table(*names, title=source, title_justify="left")
        for row in rows.to_pylist():
            value = {**row, "file_id": str(row["file_id"])[:12]}
            table.add_row(*(Text("" if value.get(c) is None else str(value[c])) for c in names))
        console.print(table)
