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
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.contracts import CONTRACTS, SOURCES, SourceContract, SourceName, source_from_folder, source_list
from etl.errors import ConfigError
from etl.extract.discover import SourceFile
from etl.load.warehouse.base import Warehouse
from etl.normalize.validate import RULES
from etl.pipeline import RunReport, open_pipeline
from etl.settings import Settings

REPLAY_DIR = "replays"
NOT_REPLAYABLE = {
    "malformed_row": "the line has the wrong number of fields; fix the raw file and load it again",
    "duplicate_key": "a later line with the same key was loaded; replaying this one would overwrite it",
    "invalid_text": "the value holds a NUL byte, which no rule change makes text; fix the raw file and load it again",
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
KEY_BATCH = 500  # bound parameters per IN list


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
    settings: Settings,
    sources: Sequence[SourceName],
    *,
    rule: str | None = None,
    file_id: str | None = None,
) -> tuple[list[ReplayPlan], RunReport]:
    """Replay the selected quarantined rows of each source through the normal Pipeline; (plans, RunReport)."""
    replay_root = Path(settings.lake) / REPLAY_DIR
    plans: list[ReplayPlan] = []
    files: list[SourceFile] = []
    with open_pipeline(settings, must_exist=True) as pipeline:  # its quarantine came from a load
        warehouse = pipeline.warehouse
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


def _keys_loaded_by_ordinary_files(
    warehouse: Warehouse, contract: SourceContract, keys: list[Any]
) -> set[str]:
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


def check_rule(rule: str | None) -> str | None:
    """`rule` when it names a quarantine rule (or is None); a ConfigError otherwise."""
    if rule is not None and rule not in RULES:  # a typo would otherwise list or replay nothing, silently
        raise ConfigError(f"unknown rule {rule!r}: use one of {', '.join(RULES)}")
    return rule


def sources_named(source: str | None) -> list[SourceName]:
    """Every source, or the one `source` names (a folder alias works); a ConfigError for an unknown one."""
    if source is None:
        return list(SOURCES)
    name = source_from_folder(source)
    if name is None:
        raise ConfigError(f"unknown source {source!r}: use {source_list()}")
    return [name]


def read_quarantines(
    lake: str, source: str | None, *, rule: str | None = None, file_id: str | None = None
) -> dict[SourceName, pa.Table]:
    """The quarantined rows of every source (or the one named), filtered by rule and file."""
    rule = check_rule(rule)
    return {s: read_quarantine(lake, s, rule=rule, file_id=file_id) for s in sources_named(source)}


def row_columns(source: SourceName) -> list[str]:
    """The columns of a quarantined row after its rule and reason: the contract's, then the raw line."""
    return [*CONTRACTS[source].names, "raw_line"]
