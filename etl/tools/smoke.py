"""`etl smoke`: after a deploy, prove that data round-trips through the deployed pipeline exactly.

It uploads a generated loan_applications file to the raw bucket (`incoming/loan_applications/`) and, through
the Redshift Data API, checks three things and prints a one-screen verdict:

1. ledger: the file's `etl_file_ledger` row says `loaded`, with 3 rows in, 2 loaded, 1 quarantined;
2. values: the 2 rows in fact_loan_application equal, column by column, what the pipeline's own code builds
   from the same bytes: 128-byte multibyte ids, cents, dates, NULLs, the surrogate and date keys, the ratio;
   and `loaded_at`, the timestamp COPY read from Parquet, lies between the ledger's started_at and
   finished_at (a misread timestamp lands centuries away);
3. marts: every `mart_*` view answers `SELECT * ... LIMIT 1`.

The file is new on every run (its ids embed a run id), so an earlier load can never pass the check; its
rows stay as ordinary, traceable data, recognisable by the `SMOKE-` prefix of their ids.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from etl.contracts import LOAN_APPLICATIONS
from etl.errors import ConfigError, EtlError
from etl.model import schema
from etl.model.marts import MARTS
from etl.tools.redshift_data import DataApi, DataApiError, DataApiTimeout, Result

if TYPE_CHECKING:  # boto3 costs ~0.4 s to import: only the smoke command needs it
    import boto3

SOURCE = LOAN_APPLICATIONS
FACT = schema.FACT_LOAN_APPLICATION
ID_BYTES = 128
# 15 + 2 x 56 + 1 = 128 bytes: the longest id the contract takes, and no character of it is ASCII but the ends
SMOKE_CUSTOMER_ID = "SMOKE-CUSTOMER-" + "ß" * 56 + "x"
HEADER = (
    "application_id,customer_id,loan_amount,loan_application_date,credit_score,employment_status,"
    "annual_income,loan_term_months,interest_rate,loan_purpose,state,application_status,decision_date"
)
ROWS_IN, ROWS_LOADED, ROWS_QUARANTINED = 3, 2, 1
LEDGER_QUERY = (
    "SELECT status, rows_in, rows_loaded, rows_quarantined, started_at, finished_at, error "
    "FROM {schema}.etl_file_ledger WHERE file_id = :file_id"
)
FACT_QUERY = (
    "SELECT {columns} FROM {schema}.fact_loan_application WHERE source_file_id = :file_id ORDER BY source_row"
)
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
    uri: str
    file_id: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def lines(self) -> list[str]:
        """The verdict on one screen: the file, a line per check, the outcome."""
        marks = {True: "ok  ", False: "FAIL", None: "skip"}
        failed = sum(c.ok is not True for c in self.checks)
        outcome = "OK" if self.ok else f"FAILED ({failed} of {len(self.checks)} checks)"
        return [
            f"etl smoke: {self.uri} (file_id {self.file_id[:12]})",
            *(f"  {marks[c.ok]}  {c.name:<7} {c.detail}" for c in self.checks),
            f"verdict: {outcome}",
        ]


# ---- the file ---------------------------------------------------------------------------------------------


def padded_id(prefix: str, filler: str = "é") -> str:
    """`prefix` followed by `filler` up to exactly ID_BYTES bytes of UTF-8 (an "x" evens out the last byte)."""
    room = ID_BYTES - len(prefix.encode())
    size = len(filler.encode())
    return prefix + filler * (room // size) + "x" * (room % size)


def build_smoke_csv(run_id: str, today: date) -> bytes:
    """Three loan applications unique to `run_id`: one with every optional column, multibyte text and
    cents; one at the lower edges with the optional columns empty; one with a credit score of 851, which
    the contract quarantines."""
    day = today.isoformat()
    rows = [
        f"{padded_id(f'SMOKE-{run_id}-1-')},{SMOKE_CUSTOMER_ID},1234567.89,{day},812,Self-Employed,98765.43,"
        f"36,12.3456,rénovation ☀,Lagos,approved,{day}",
        f"SMOKE-{run_id}-2,{SMOKE_CUSTOMER_ID},0.01,{day},300,Unemployed,0.00,,,,,,",
        f"SMOKE-{run_id}-3,{SMOKE_CUSTOMER_ID},500.00,{day},851,Employed,1000.00,,,,,,",
    ]
    return (HEADER + "\n" + "\n".join(rows) + "\n").encode()


def expected_rows(body: bytes) -> tuple[list[dict[str, Any]], int]:
    """The fact rows the pipeline builds from `body` (the same extract, validation and model code as the
    Lambda), as Python values without `loaded_at`, and how many rows it quarantines."""
    from etl.extract.discover import discover
    from etl.extract.identity import identify
    from etl.extract.rows import read_rows
    from etl.model.facts import FactContext, build_fact
    from etl.normalize.validate import validate

    with tempfile.TemporaryDirectory(prefix="etl-smoke-") as tmp:
        path = Path(tmp) / SOURCE.name / "smoke.csv"
        path.parent.mkdir()
        path.write_bytes(body)
        [item] = discover([path])
        ident = identify(item)
        context = FactContext(ident.file_id, datetime(2000, 1, 1))
        facts: list[pa.Table] = []
        quarantined = 0
        for text, malformed, _ in read_rows(
            item, ident, SOURCE, block_size=1 << 20, progress=lambda *_: None
        ):
            checked = validate(text, SOURCE)
            facts.append(build_fact(SOURCE, checked.valid, context))
            quarantined += checked.quarantine.num_rows + len(malformed)
    rows = pa.concat_tables(facts).drop_columns(["loaded_at"]).to_pylist()
    return rows, quarantined


def smoke_object_key(file_id: str, now: datetime) -> str:
    return f"incoming/{SOURCE.name}/smoke-{file_id[:12]}-{now.strftime('%Y%m%dT%H%M%SZ')}.csv"


# ---- the checks -------------------------------------------------------------------------------------------


def check_ledger(row: list[Any] | None, waited: float, last: str) -> Check:
    if row is None:
        if last.startswith("the ledger query failed"):
            return Check("ledger", False, last)
        return Check("ledger", False, f"no loaded row after {waited:.0f} s (last seen: {last})")
    status, rows_in, loaded, quarantined, _, _, error = row
    counts = f"{rows_in} rows in, {loaded} loaded, {quarantined} quarantined"
    if status != "loaded":
        return Check("ledger", False, f"{status}: {error or 'no error recorded'}")
    if (rows_in, loaded, quarantined) != (ROWS_IN, ROWS_LOADED, ROWS_QUARANTINED):
        return Check(
            "ledger", False, f"loaded, but {counts} (expected {ROWS_IN}, {ROWS_LOADED}, {ROWS_QUARANTINED})"
        )
    return Check("ledger", True, f"loaded after {waited:.0f} s: {counts}")


def check_values(expected: Sequence[dict[str, Any]], got: Result, ledger: list[Any]) -> Check:
    """Every column of every loaded row against what was sent; loaded_at inside the ledger's window."""
    if len(got.rows) != len(expected):
        return Check(
            "values", False, f"{len(got.rows)} rows of this file in {FACT.name}, expected {len(expected)}"
        )
    types = {c.name: c.arrow for c in FACT.columns}
    wrong: list[str] = []
    for number, (want, row) in enumerate(zip(expected, got.rows, strict=True), start=1):
        values = dict(zip(got.columns, row, strict=True))
        for name, value in want.items():
            actual = _typed(values.get(name), types[name])
            if actual != value:
                wrong.append(f"row {number} {name}: sent {_short(value)}, read {_short(actual)}")
        loaded_at = _typed(values.get("loaded_at"), schema.TS)
        started, finished = _typed(ledger[4], schema.TS), _typed(ledger[5], schema.TS)
        within = all(isinstance(t, datetime) for t in (loaded_at, started, finished))
        if not within or not started <= loaded_at <= finished:
            wrong.append(
                f"row {number} loaded_at: read {loaded_at}, outside the load ({started} .. {finished})"
            )
    if wrong:
        more = f" (+{len(wrong) - 2} more)" if len(wrong) > 2 else ""
        return Check("values", False, "; ".join(wrong[:2]) + more)
    columns = len(expected[0]) + 1
    return Check(
        "values",
        True,
        f"{len(expected)} rows x {columns} columns as sent (128-byte ids, cents, dates, NULLs, keys; "
        f"loaded_at {values['loaded_at']} within the load)",
    )


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


def run_smoke(
    *,
    bucket: str,
    workgroup: str,
    database: str,
    secret_arn: str | None,
    schema_name: str = "public",
    timeout_seconds: float = 600,
    poll_seconds: float = 10,
    check_seconds: float = 120,
    session: boto3.session.Session | None = None,
    run_id: str | None = None,
    today: date | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Verdict:
    """Upload the smoke file, wait up to `timeout_seconds` for its ledger row, then run the checks (each
    statement may take `check_seconds`). Raises SmokeError or boto3's errors when the file cannot be sent."""
    if not _SCHEMA.match(schema_name):
        raise ConfigError(f"--schema {schema_name!r} is not a lower-case name (letters, digits, _)")
    if session is None:
        import boto3

        session = boto3.session.Session()
    run_id = run_id or uuid.uuid4().hex[:12]
    body = build_smoke_csv(run_id, today or datetime.now(UTC).date())
    expected, quarantined = expected_rows(body)
    if (len(expected), quarantined) != (ROWS_LOADED, ROWS_QUARANTINED):  # the contract changed under the file
        raise SmokeError(f"the smoke file builds {len(expected)} rows and quarantines {quarantined} locally")
    file_id = hashlib.sha256(body).hexdigest()
    key = smoke_object_key(file_id, datetime.now(UTC))
    verdict = Verdict(f"s3://{bucket}/{key}", file_id)
    started = time.monotonic()
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")

    api = DataApi(
        session.client("redshift-data"),
        workgroup=workgroup,
        database=database,
        secret_arn=secret_arn,
        poll_seconds=poll_seconds,
        sleep=sleep,
    )
    ledger, last = _wait_for_ledger(api, schema_name, file_id, started + timeout_seconds, poll_seconds, sleep)
    verdict.checks.append(check_ledger(ledger, time.monotonic() - started, last))
    if ledger is not None and verdict.checks[-1].ok:
        columns = ", ".join(FACT.column_names)
        sql = FACT_QUERY.format(columns=columns, schema=schema_name)
        try:
            rows = api.run(
                sql, {"file_id": file_id}, deadline=time.monotonic() + check_seconds, name="etl-smoke-rows"
            )
            verdict.checks.append(check_values(expected, rows, ledger))
        except DataApiError as exc:
            verdict.checks.append(Check("values", False, exc.message))
    else:
        verdict.checks.append(Check("values", None, "not read: the file did not load"))
    answers: list[tuple[str, str | None]] = []
    for mart in MARTS:
        sql = MART_QUERY.format(schema=schema_name, mart=mart.name)
        try:
            api.run(sql, deadline=time.monotonic() + check_seconds, name="etl-smoke-mart")
            answers.append((mart.name, None))
        except DataApiError as exc:
            answers.append((mart.name, exc.message.removeprefix("etl-smoke-mart ")))
    verdict.checks.append(check_marts(answers))
    return verdict


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


def smoke(
    *,
    bucket: str,
    workgroup: str,
    database: str,
    secret_arn: str | None,
    schema_name: str,
    timeout_seconds: float,
    region: str | None,
) -> Verdict:
    """`run_smoke` with a session for `region` (the environment's when None)."""
    import boto3

    return run_smoke(
        bucket=bucket,
        workgroup=workgroup,
        database=database,
        secret_arn=secret_arn,
        schema_name=schema_name,
        timeout_seconds=timeout_seconds,
        session=boto3.session.Session(region_name=region),
    )


def describe_failure(exc: BaseException) -> str:
    """One line for a smoke test that could not run: our own errors as they are, others with their type."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, EtlError) else f"{type(exc).__name__}: {text}"
