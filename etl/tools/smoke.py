"""`etl smoke`: after a deploy, prove that data round-trips through the deployed pipeline exactly.

It uploads one generated file per source to the raw bucket (`incoming/<source>/`; applications first, the
others once they loaded, so repayments find their applications; `etl.tools.smoke_files`) and, through
the Redshift Data API, checks four things and prints a one-screen verdict:

1. ledger: each file's `etl_file_ledger` row says `loaded`, with 3 rows in, 2 loaded, 1 quarantined;
2. values: every row of each file in its fact table equals, column by column, what the pipeline's own code
   builds from the same bytes: 128-byte multibyte ids, cents, negative amounts, dates, NULLs, the
   surrogate and date keys, the ratio, the category, the repayment's customer the warehouse resolved (the
   customer's id, the category and the transaction's date read through their dimensions); and
   `loaded_at`, the timestamp COPY read from Parquet, lies between the ledger's started_at and finished_at
   (a misread timestamp lands centuries away);
3. tests: the data tests ran after each load (their results are in etl_data_test_result under the run
   that loaded the file) and none of severity error failed;
4. marts: every `mart_*` view answers `SELECT * ... LIMIT 1`.

The files are new on every run (their ids embed a run id), so an earlier load can never pass the check;
their rows stay as ordinary, traceable data, recognisable by the `SMOKE-` prefix of their ids.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from etl.errors import ConfigError, EtlError
from etl.model import schema
from etl.model.marts import MARTS
from etl.tools.redshift_data import DataApi, DataApiError, DataApiTimeout, Result
from etl.tools.smoke_files import (
    THROUGH_DIMENSIONS,
    SmokeFile,
    build_smoke_files,
    expected_rows,
    smoke_columns,
)

if TYPE_CHECKING:  # boto3 costs ~0.4 s to import: only the smoke command needs it
    import boto3

LEDGER_QUERY = (
    "SELECT status, rows_in, rows_loaded, rows_quarantined, started_at, finished_at, error, run_id "
    "FROM {schema}.etl_file_ledger WHERE file_id = :file_id"
)
TESTS_QUERY = "SELECT test_name, severity, status FROM {schema}.etl_data_test_result WHERE run_id = :run_id"
MART_QUERY = "SELECT * FROM {schema}.{mart} LIMIT 1"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,126}$")


class SmokeError(EtlError):
    """The smoke test could not run (a bad option, the upload failed); the message says why in one line."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: not run, because an earlier check failed
    detail: str


@dataclass
class Verdict:
    uris: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        """The verdict on one screen: the files, a line per check, the outcome."""
        marks = {True: "ok  ", False: "FAIL", None: "skip"}
        failed = sum(c.ok is not True for c in self.checks)
        outcome = "OK" if self.ok else f"FAILED ({failed} of {len(self.checks)} checks)"
        return [
            f"etl smoke: {len(self.uris)} file(s) uploaded",
            *(f"  {uri}" for uri in self.uris),
            *(f"  {marks[c.ok]}  {c.name:<7} {c.detail}" for c in self.checks),
            f"verdict: {outcome}",
        ]


def smoke_object_key(file: SmokeFile, now: datetime) -> str:
    return f"incoming/{file.contract.name}/smoke-{file.file_id[:12]}-{now.strftime('%Y%m%dT%H%M%SZ')}.csv"


# ---- the checks -------------------------------------------------------------------------------------------


def check_ledger(
    files: Sequence[SmokeFile], found: dict[str, tuple[list[Any] | None, str]], waited: float
) -> Check:
    """Each file's ledger row: loaded, with the counts the file was built with."""
    for file in files:
        row, last = found.get(file.file_id, (None, "not uploaded"))
        name = file.contract.name
        if row is None:
            if last.startswith("the ledger query failed") or last == "not uploaded":
                return Check("ledger", False, f"{name}: {last}")
            return Check("ledger", False, f"{name}: no loaded row after {waited:.0f} s (last seen: {last})")
        status, rows_in, loaded, quarantined, _, _, error, _ = row
        if status != "loaded":
            return Check("ledger", False, f"{name}: {status}: {error or 'no error recorded'}")
        if (rows_in, loaded, quarantined) != (file.rows_in, file.rows_loaded, file.rows_quarantined):
            return Check(
                "ledger",
                False,
                f"{name}: loaded, but {rows_in} rows in, {loaded} loaded, {quarantined} quarantined "
                f"(expected {file.rows_in}, {file.rows_loaded}, {file.rows_quarantined})",
            )
    totals = [sum(getattr(f, a) for f in files) for a in ("rows_in", "rows_loaded", "rows_quarantined")]
    return Check(
        "ledger",
        True,
        f"{len(files)} files loaded after {waited:.0f} s: {totals[0]} rows in, {totals[1]} loaded, "
        f"{totals[2]} quarantined",
    )


def fact_query(spec: schema.TableSpec, schema_name: str) -> str:
    """The rows of one file in `spec`'s table, with what the fact keeps as keys read through its dimensions
    (LEFT JOIN: a member the dimension lacks shows as a NULL that differs, not as a missing row)."""
    dims = THROUGH_DIMENSIONS[spec.name]
    columns = [f"f.{c}" for c in spec.column_names] + [
        f"d{i}.{d.column} AS {d.name}" for i, d in enumerate(dims)
    ]
    joins = "".join(
        f" LEFT JOIN {schema_name}.{d.dimension} d{i} ON d{i}.{d.key} = f.{d.fact_key}"
        for i, d in enumerate(dims)
    )
    return (
        f"SELECT {', '.join(columns)} FROM {schema_name}.{spec.name} f{joins} "
        "WHERE f.source_file_id = :file_id ORDER BY f.source_row"
    )


def compare_rows(
    spec: schema.TableSpec, expected: Sequence[dict[str, Any]], got: Result, ledger: list[Any]
) -> list[str]:
    """What differs between the rows sent and the rows read from `spec`'s table, one text per difference;
    loaded_at must lie within the load the ledger row records."""
    if len(got.rows) != len(expected):
        return [f"{spec.name}: {len(got.rows)} rows of the file, expected {len(expected)}"]
    types = smoke_columns(spec)
    started, finished = _typed(ledger[4], schema.TS), _typed(ledger[5], schema.TS)
    wrong: list[str] = []
    for number, (want, row) in enumerate(zip(expected, got.rows, strict=True), start=1):
        values = dict(zip(got.columns, row, strict=True))
        for name, value in want.items():
            actual = _typed(values.get(name), types[name])
            if actual != value:
                wrong.append(f"{spec.name} row {number} {name}: sent {_short(value)}, read {_short(actual)}")
        loaded_at = _typed(values.get("loaded_at"), schema.TS)
        within = all(isinstance(t, datetime) for t in (loaded_at, started, finished))
        if not within or not started <= loaded_at <= finished:
            wrong.append(
                f"{spec.name} row {number} loaded_at: read {loaded_at}, outside the load ({started} .. {finished})"
            )
    return wrong


def check_values(compared: Sequence[tuple[schema.TableSpec, int, list[str]]]) -> Check:
    """The differences of every file (its table, its row count, what differed)."""
    wrong = [w for _, _, found in compared for w in found]
    if wrong:
        more = f" (+{len(wrong) - 2} more)" if len(wrong) > 2 else ""
        return Check("values", False, "; ".join(wrong[:2]) + more)
    rows = sum(n for _, n, _ in compared)
    cells = sum(n * len(smoke_columns(spec)) for spec, n, _ in compared)
    return Check(
        "values",
        True,
        f"{rows} rows, {cells} values in {len(compared)} fact tables as sent (128-byte ids, cents, dates, "
        "NULLs, keys, categories; loaded_at within each load)",
    )


def check_tests(results: dict[str, list[list[Any]]]) -> Check:
    """The data-test results of each run that loaded a smoke file: (test_name, severity, status) rows."""
    missing = [run for run, rows in results.items() if not rows]
    if missing:
        return Check(
            "tests", False, f"no data-test results for run {missing[0]}: see its run summary (run error)"
        )
    rows = [r for found in results.values() for r in found]
    failed = [name for name, severity, status in rows if status == "fail" and severity == "error"]
    warned = sum(status == "fail" and severity != "error" for _, severity, status in rows)
    counts = f"{len(rows) - len(failed) - warned} passed, {warned} warned, {len(failed)} failed"
    if failed:
        return Check("tests", False, f"{counts}: {', '.join(sorted(failed)[:3])}")
    return Check("tests", True, f"the data tests ran after the loads ({len(results)} run(s)): {counts}")


def check_marts(answers: Sequence[tuple[str, str | None]]) -> Check:
    failed = [(name, error) for name, error in answers if error is not None]
    if failed:
        name, error = failed[0]
        more = f" (and {', '.join(n for n, _ in failed[1:])})" if len(failed) > 1 else ""
        return Check(
            "marts", False, f"{len(answers) - len(failed)} of {len(answers)} answered; {name}: {error}{more}"
        )
    return Check("marts", True, f"all {len(answers)} mart_* views answered")


def _typed(value: Any, arrow: pa.DataType) -> Any:
    """A Data API value as the Python value pyarrow gives for `arrow` (text becomes Decimal, date, datetime)."""
    if value is None or not isinstance(value, str):
        return value
    if pa.types.is_decimal(arrow):
        return Decimal(value)
    if pa.types.is_date(arrow):
        return date.fromisoformat(value)
    if pa.types.is_timestamp(arrow):
        try:
            return datetime.fromisoformat(value)
        except ValueError:  # e.g. a year past 9999: show what was read
            return value
    return value


def _short(value: Any) -> str:
    """A value for the verdict line; a long text as its start, its end and its length in bytes (a cut
    multibyte id differs only at the end)."""
    if isinstance(value, str) and len(value) > 24:
        return f"{value[:12]!r}...{value[-6:]!r} ({len(value.encode())} bytes)"
    return repr(value)


# ---- the run ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the pipeline is: its raw bucket, and the warehouse as the Data API reaches it."""

    bucket: str
    workgroup: str
    database: str
    secret_arn: str | None = None
    schema_name: str = "public"


def run_smoke(
    target: Target,
    *,
    session: boto3.session.Session,
    timeout_seconds: float = 600,
    poll_seconds: float = 10,
    check_seconds: float = 120,
    mask_narration: bool = False,
    run_id: str | None = None,
    today: date | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Verdict:
    """Upload the smoke files, wait up to `timeout_seconds` for their ledger rows, then run the checks
    (each statement may take `check_seconds`). Raises SmokeError, ConfigError or boto3's errors when the
    files cannot be sent."""
    if not _SCHEMA.match(target.schema_name):
        raise ConfigError(f"--schema {target.schema_name!r} is not a lower-case name (letters, digits, _)")
    files = build_smoke_files(run_id or uuid.uuid4().hex[:12], today or datetime.now(UTC).date())
    expected = [expected_rows(f, mask_narration=mask_narration) for f in files]
    for file, (rows, quarantined) in zip(files, expected, strict=True):
        if (len(rows), quarantined) != (file.rows_loaded, file.rows_quarantined):  # the contract changed
            raise SmokeError(
                f"the {file.contract.name} smoke file builds {len(rows)} rows and quarantines {quarantined}"
            )
    s3 = session.client("s3")
    api = DataApi(
        session.client("redshift-data"),
        workgroup=target.workgroup,
        database=target.database,
        secret_arn=target.secret_arn,
        poll_seconds=poll_seconds,
        sleep=sleep,
    )
    verdict = Verdict()
    started = time.monotonic()
    deadline = started + timeout_seconds
    found: dict[str, tuple[list[Any] | None, str]] = {}
    # applications first: the repayments' customers are resolved from their applications in the warehouse
    for batch in (files[:1], files[1:]):
        for file in batch:
            key = smoke_object_key(file, datetime.now(UTC))
            s3.put_object(Bucket=target.bucket, Key=key, Body=file.body, ContentType="text/csv")
            verdict.uris.append(f"s3://{target.bucket}/{key}")
        for file in batch:
            found[file.file_id] = _wait_for_ledger(
                api, target.schema_name, file.file_id, deadline, poll_seconds, sleep
            )
        if any(found[f.file_id][0] is None or found[f.file_id][1] != "loaded" for f in batch):
            break
    verdict.checks.append(check_ledger(files, found, time.monotonic() - started))
    if verdict.checks[-1].ok:
        verdict.checks.append(_check_values(api, target.schema_name, files, expected, found, check_seconds))
        runs = sorted({str(row[7]) for row, _ in found.values() if row is not None})
        verdict.checks.append(_check_tests(api, target.schema_name, runs, check_seconds, poll_seconds, sleep))
    else:
        verdict.checks.append(Check("values", None, "not read: a file did not load"))
        verdict.checks.append(Check("tests", None, "not read: a file did not load"))
    verdict.checks.append(_check_marts(api, target.schema_name, check_seconds))
    return verdict


def _check_values(
    api: DataApi,
    schema_name: str,
    files: Sequence[SmokeFile],
    expected: Sequence[tuple[list[dict[str, Any]], int]],
    found: dict[str, tuple[list[Any] | None, str]],
    check_seconds: float,
) -> Check:
    compared = []
    for file, (rows, _) in zip(files, expected, strict=True):
        spec = schema.TABLES[file.contract.fact_table]
        sql = fact_query(spec, schema_name)
        try:
            got = api.run(
                sql,
                {"file_id": file.file_id},
                deadline=time.monotonic() + check_seconds,
                name="etl-smoke-rows",
            )
        except DataApiError as exc:
            return Check("values", False, f"{spec.name}: {exc.message}")
        ledger = found[file.file_id][0]
        assert ledger is not None  # the ledger check passed
        compared.append((spec, len(rows), compare_rows(spec, rows, got, ledger)))
    return check_values(compared)


def _check_tests(
    api: DataApi,
    schema_name: str,
    runs: Sequence[str],
    check_seconds: float,
    poll_seconds: float,
    sleep: Callable[[float], None],
) -> Check:
    """Each run's data-test results, polled for: a run writes them after its files' ledger rows."""
    results: dict[str, list[list[Any]]] = {}
    sql = TESTS_QUERY.format(schema=schema_name)
    for run in runs:
        deadline = time.monotonic() + check_seconds
        while True:
            try:
                rows = api.run(sql, {"run_id": run}, deadline=deadline, name="etl-smoke-tests").rows
            except DataApiError as exc:
                return Check("tests", False, exc.message)
            if rows or time.monotonic() >= deadline:
                results[run] = rows
                break
            sleep(min(poll_seconds, max(deadline - time.monotonic(), 0.0)))
    return check_tests(results)


def _check_marts(api: DataApi, schema_name: str, check_seconds: float) -> Check:
    answers: list[tuple[str, str | None]] = []
    for mart in MARTS:
        sql = MART_QUERY.format(schema=schema_name, mart=mart.name)
        try:
            api.run(sql, deadline=time.monotonic() + check_seconds, name="etl-smoke-mart")
            answers.append((mart.name, None))
        except DataApiError as exc:
            answers.append((mart.name, exc.message.removeprefix("etl-smoke-mart ")))
    return check_marts(answers)


def _wait_for_ledger(
    api: DataApi,
    schema_name: str,
    file_id: str,
    deadline: float,
    poll_seconds: float,
    sleep: Callable[[float], None],
) -> tuple[list[Any] | None, str]:
    """The file's ledger row once it is final (loaded or rejected), or None; and what was seen last (a
    status, or why the query failed). A `failed` row is not final: the pipeline delivers the file again."""
    last = "no ledger row"
    sql = LEDGER_QUERY.format(schema=schema_name)
    while True:
        try:
            rows = api.run(sql, {"file_id": file_id}, deadline=deadline, name="etl-smoke-ledger").rows
        except DataApiTimeout:
            return None, last
        except DataApiError as exc:
            if "does not exist" not in exc.message:  # before the first load the ledger table may not exist
                return None, f"the ledger query failed: {exc.message}"
            rows = []
        if rows:
            last = str(rows[0][0])
            if last in {"loaded", "rejected"}:
                return rows[0], last
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, last
        sleep(min(poll_seconds, remaining))


def smoke(target: Target, *, timeout_seconds: float, mask_narration: bool, region: str | None) -> Verdict:
    """`run_smoke` with a session for `region` (the environment's when None)."""
    import boto3

    return run_smoke(
        target,
        session=boto3.session.Session(region_name=region),
        timeout_seconds=timeout_seconds,
        mask_narration=mask_narration,
    )


def describe_failure(exc: BaseException) -> str:
    """One line for a smoke test that could not run: our own errors as they are, others with their type."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, EtlError) else f"{type(exc).__name__}: {text}"
