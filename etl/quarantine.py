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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.contracts import CONTRACTS, SOURCES, SourceContract, SourceName, source_from_folder, source_list
from etl.errors import ConfigError
from etl.extract.discover import SourceFile
from etl.load.warehouse import Warehouse
from etl.normalize.validate import RULES, TRIMMED_CHARS
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
    """Row counts by file, rule and state."""
    if not table.num_rows:
        return []
    grouped = table.group_by(["file_id", "source_uri", "rule", STATE]).aggregate([("source_row", "count")])
    rows = [
        {"source": source, "file_id": g["file_id"], "source_uri": g["source_uri"], "rule": g["rule"]}
        | {STATE: g[STATE], "rows": g["source_row_count"]}
        for g in grouped.to_pylist()
    ]
    return sorted(rows, key=lambda r: (r["source_uri"], r["file_id"], r["rule"], r[STATE]))


States = dict[tuple[str, int], str]
STATES = ("open", "resolved", "superseded", "retried", "not loaded", "unknown")
RETRIED = -1  # States key (file_id, RETRIED): every row of that replay file was tried again (`retried`)
STATE = "quarantine_state"  # the column (`state` is a contract column: an application's state of residence)


def quarantine_states(settings: Settings) -> States | None:
    """Each quarantined row's state in the warehouse of `settings` (mart_quarantine): open, resolved or
    superseded, by (file_id, line); None when there is no such warehouse."""
    try:
        with open_pipeline(settings, must_exist=True) as pipeline:
            pipeline.prepare()  # a warehouse from before the quarantine had a state gets its table and view
            rows = pipeline.warehouse.query("SELECT file_id, source_row, state FROM mart_quarantine")
            replays = pipeline.warehouse.query(
                "SELECT file_id FROM etl_file_ledger WHERE replay_of IS NOT NULL AND status = 'loaded'"
            )
    except ConfigError:
        return None
    states = {(str(fid), int(line)): str(state) for fid, line, state in rows}
    states.update(((str(fid), RETRIED), "retried") for (fid,) in replays)
    return states


def with_states(table: pa.Table, states: States | None, only: str | None = None) -> pa.Table:
    """`table` with a `quarantine_state` column ("not loaded" for a row of a file this warehouse did not load,
    "unknown" without a warehouse), only the rows in state `only` when given."""
    if "file_id" not in table.column_names:  # nothing quarantined at all
        return table
    if states is None:
        state = ["unknown"] * table.num_rows
    else:
        keys = zip(table.column("file_id").to_pylist(), table.column("source_row").to_pylist(), strict=True)
        state = [
            states.get((str(fid), int(line))) or states.get((str(fid), RETRIED), "not loaded")
            for fid, line in keys
        ]
    table = table.append_column(STATE, pa.array(state, pa.string()))
    return table if only is None else table.filter(pc.equal(table.column(STATE), only))


def escape_formula(value: object) -> str:
    """Text a spreadsheet shows as text: a leading =, +, -, @, tab or CR gets a ' prefix (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    if _PLAIN_NUMBER.match(text):  # -5.00 is an amount, not a formula: leave numbers as numbers
        return text
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def export_csv(tables: dict[SourceName, pa.Table], out: Any) -> int:
    """Quarantined rows of every source as one CSV, every cell formula-escaped; returns the rows written."""
    columns = ["source", "file_id", "source_uri", "source_row", "rule", STATE, "column", "reason"]
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


@dataclass(frozen=True)
class LoadedFile:
    """A file of the warehouse's ledger, as the replay needs it."""

    file_id: str
    logical_name: str | None
    replay_of: str | None  # a replay: the file whose rows it loaded again
    superseded: bool  # a newer version of its logical file replaced it
    order: datetime  # when it was loaded (a replay: when its original was): later wins


@dataclass(frozen=True)
class Holder:
    """Where the warehouse holds a key now: the file that loaded it, and that file's place in load order."""

    file_id: str
    replay_of: str | None
    order: datetime


@dataclass
class ReplayFile:
    """The quarantined rows of one loaded file, rebuilt as the CSV a replay loads."""

    source: SourceName
    original: LoadedFile
    content: bytes
    rows: int

    @property
    def file_id(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def name(self) -> str:
        return f"quarantine-replay-{self.source}-{self.file_id[:12]}.csv"


@dataclass
class ReplayPlan:
    """What a replay of one source will send through the pipeline, and what it leaves out and why."""

    source: SourceName
    files: list[ReplayFile] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def skip(self, reason: str, n: int = 1) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n


def contract_version(contract: SourceContract) -> str:
    """Changes whenever the contract's columns or rules change, so a replay after a fix is new content."""
    return hashlib.sha256(repr(contract).encode()).hexdigest()[:16]


def plan_replay(
    rows: pa.Table,
    contract: SourceContract,
    *,
    files: Mapping[str, LoadedFile],
    holders: Mapping[str, Holder],
) -> ReplayPlan:
    """Pure: choose the replayable rows, in load order, and render them as one CSV per original file.

    `files` are the ledger's loaded files by id, `holders` where the warehouse holds each key now (keys as
    loading normalises them). A row is replayed when its file is a loaded, current, ordinary file, its rule
    can be replayed, no file loaded after its own holds its key, and no later file quarantined the same key
    (the latest quarantined version of a key wins). A key its own file's earlier replay holds stays in the
    CSV, so the same replay twice is the same content (a no-op) until the contract changes.
    """
    plan = ReplayPlan(contract.name)
    latest: dict[str, tuple[datetime, int, dict[str, Any], LoadedFile]] = {}
    chosen: list[tuple[dict[str, Any], LoadedFile]] = []
    for row in rows.to_pylist():
        loaded = files.get(str(row["file_id"]))
        if loaded is None:
            plan.skip("its file is not loaded in this warehouse (rejected, failed, or loaded into another)")
        elif loaded.replay_of is not None:
            plan.skip("quarantined again by a replay: its original file's row is the one replayed")
        elif loaded.superseded:
            plan.skip("its file was replaced by a newer version of the same file")
        elif row["rule"] in NOT_REPLAYABLE:
            plan.skip(f"{row['rule']}: {NOT_REPLAYABLE[row['rule']]}")
        elif (key := normalised_key(row.get(contract.key))) is None:
            chosen.append((row, loaded))  # no usable key: nothing to compare, it is tried as it is
        elif (
            (held := holders.get(key)) is not None
            and held.replay_of != loaded.file_id
            and (held.order >= loaded.order)
        ):
            plan.skip(f"{contract.key} loaded since by a later file: the warehouse has a newer version")
        elif key in latest and latest[key][:2] >= (loaded.order, row["source_row"]):
            plan.skip("a later file quarantined the same key: its row is the one replayed")
        else:
            if key in latest:
                plan.skip("a later file quarantined the same key: its row is the one replayed")
            latest[key] = (loaded.order, row["source_row"], row, loaded)
    chosen.extend((row, loaded) for _, _, row, loaded in latest.values())
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row, loaded in chosen:
        by_file.setdefault(loaded.file_id, []).append(row)
    version = contract_version(contract)
    for original_id, kept in sorted(by_file.items()):
        kept.sort(key=lambda r: int(r["source_row"]))
        buffer = io.StringIO()
        # every field quoted and CRLF line ends: a value's bare CR or LF stays inside its field
        writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
        writer.writerow([*contract.names, "original_file_id", "original_line", "contract_version"])
        for row in kept:
            values = ["" if row.get(c) is None else row[c] for c in contract.names]
            writer.writerow([*values, row["file_id"], row["source_row"], version])
        plan.files.append(
            ReplayFile(contract.name, files[original_id], buffer.getvalue().encode("utf-8"), len(kept))
        )
    return plan


def normalised_key(value: object) -> str | None:
    """A key as loading normalises it (trimmed as validation trims), None when nothing is left."""
    if value is None:
        return None
    trimmed = pc.utf8_trim(pa.array([str(value)], pa.string()), characters=TRIMMED_CHARS)[0].as_py()
    return trimmed or None


def replay(
    settings: Settings,
    sources: Sequence[SourceName],
    *,
    rule: str | None = None,
    file_id: str | None = None,
) -> tuple[list[ReplayPlan], RunReport]:
    """Replay the selected quarantined rows of each source through the normal Pipeline; (plans, RunReport).

    Each loaded file's replayable rows become one replay file, which the ledger records as a replay of it
    (`replay_of`): it loads in that file's place in load order and removes nothing.
    """
    replay_root = Path(settings.lake) / REPLAY_DIR
    plans: list[ReplayPlan] = []
    replays: list[SourceFile] = []
    with open_pipeline(settings, must_exist=True) as pipeline:  # its quarantine came from a load
        warehouse = pipeline.warehouse
        pipeline.prepare()
        for source in sources:
            contract = CONTRACTS[source]
            rows = read_quarantine(settings.lake, source, rule=rule, file_id=file_id)
            ids = sorted(set(rows.column("file_id").to_pylist())) if rows.num_rows else []
            files = _loaded_files(warehouse, ids)
            keys = [] if not rows.num_rows else rows.column(contract.key).to_pylist()
            holders = _holders(warehouse, contract, keys)
            plan = plan_replay(rows, contract, files=files, holders=holders)
            plans.append(plan)
            for made in plan.files:
                path = replay_root / source / f"{made.file_id}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(made.content)  # kept: the lineage from a replayed row to its original line
                replays.append(
                    SourceFile(
                        str(path),
                        made.name,
                        source,
                        _opener(made.content),
                        logical=made.original.logical_name,
                        replay_of=made.original.file_id,
                    )
                )
        report = pipeline.run(replays)
    return plans, report


def _opener(content: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(content)


def _loaded_files(warehouse: Warehouse, ids: Sequence[str]) -> dict[str, LoadedFile]:
    """The loaded files among `ids`, each with its place in load order (a replay's is its original's)."""
    found: dict[str, LoadedFile] = {}
    p = warehouse.sql.param
    for start in range(0, len(ids), KEY_BATCH):
        batch = list(ids[start : start + KEY_BATCH])
        statement = (
            "SELECT l.file_id, l.logical_name, l.replay_of, l.superseded_by, COALESCE(o.finished_at, l.finished_at) "
            "FROM etl_file_ledger l LEFT JOIN etl_file_ledger o ON o.file_id = l.replay_of "
            f"WHERE l.status = 'loaded' AND l.file_id IN ({', '.join([p] * len(batch))})"
        )
        for fid, logical, replay_of, superseded_by, order in warehouse.query(statement, batch):
            found[str(fid)] = LoadedFile(str(fid), logical, replay_of, superseded_by is not None, order)
    return found


def _holders(warehouse: Warehouse, contract: SourceContract, keys: Sequence[Any]) -> dict[str, Holder]:
    """Where the warehouse holds each of `keys` (normalised as loading does) now."""
    wanted = sorted({k for k in (normalised_key(v) for v in keys) if k is not None})
    found: dict[str, Holder] = {}
    p = warehouse.sql.param
    for start in range(0, len(wanted), KEY_BATCH):
        batch = wanted[start : start + KEY_BATCH]
        # identifiers from the contract; every value a bound parameter
        statement = (
            f"SELECT f.{contract.key}, l.file_id, l.replay_of, COALESCE(o.finished_at, l.finished_at) "
            f"FROM {contract.fact_table} f JOIN etl_file_ledger l ON l.file_id = f.source_file_id "
            "LEFT JOIN etl_file_ledger o ON o.file_id = l.replay_of "
            f"WHERE f.{contract.key} IN ({', '.join([p] * len(batch))})"
        )
        for key, fid, replay_of, order in warehouse.query(statement, batch):
            found[str(key)] = Holder(str(fid), replay_of, order)
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
    lake: str,
    source: str | None,
    *,
    rule: str | None = None,
    file_id: str | None = None,
    states: States | None = None,
    state: str | None = None,
) -> dict[SourceName, pa.Table]:
    """The quarantined rows of every source (or the one named), filtered by rule and file, with their
    state (`with_states`), only those in `state` when given."""
    rule = check_rule(rule)
    if state is not None and state not in STATES:
        raise ConfigError(f"unknown state {state!r}: use one of {', '.join(STATES)}")
    return {
        s: with_states(table, states, state)
        for s in sources_named(source)
        if (table := read_quarantine(lake, s, rule=rule, file_id=file_id)) is not None
    }


def row_columns(source: SourceName) -> list[str]:
    """The columns of a quarantined row after its rule and reason: the contract's, then the raw line."""
    return [*CONTRACTS[source].names, "raw_line"]
