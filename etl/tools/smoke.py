"""Post-deploy smoke test: one generated CSV goes through the deployed pipeline end to end.

The deploy workflow runs `etl smoke` after `terraform apply`. It uploads a one-row loan_applications
file to the raw bucket under `incoming/loan_applications/` and polls the warehouse ledger through the
Redshift Data API until a row for the file's content hash says `loaded`. The file is generated per run
(its application_id embeds a run id), so its hash is new and an earlier load can never make the check
pass by accident. Smoke rows are recognisable by the `SMOKE-` prefix of their ids.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl.contracts import LOAN_APPLICATIONS
from etl.errors import EtlError

if TYPE_CHECKING:  # boto3 costs ~0.4 s to import: only the smoke command needs it
    import boto3

LEDGER_TABLE = "etl_file_ledger"
# file_id is bound as a parameter by the Data API, never formatted into the SQL text.
LEDGER_QUERY = "SELECT status, rows_loaded FROM etl_file_ledger WHERE file_id = :file_id"
SMOKE_CUSTOMER_ID = "SMOKE-CUSTOMER"
_STATEMENT_DONE = {"FINISHED", "FAILED", "ABORTED"}


class SmokeError(EtlError):
    """The smoke test failed; the message says why in one line."""


class SmokeTimeout(SmokeError):
    """No `loaded` ledger row appeared in time: the pipeline is slow, stuck or broken."""

    retryable = True


class SmokeRejected(SmokeError):
    """The pipeline processed the smoke file and rejected it."""


@dataclass(frozen=True)
class SmokeResult:
    bucket: str
    key: str
    file_id: str
    status: str
    rows_loaded: int
    elapsed_seconds: float
    polls: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def build_smoke_csv(run_id: str, today: date) -> bytes:
    """A one-row loan_applications file whose content (and so whose file_id) is unique to `run_id`."""
    header = (
        "application_id,customer_id,loan_amount,loan_application_date,credit_score,"
        "employment_status,annual_income,loan_purpose"
    )
    row = f"SMOKE-{run_id},{SMOKE_CUSTOMER_ID},1000.00,{today.isoformat()},700,Employed,50000.00,smoke_test"
    return f"{header}\n{row}\n".encode()


def smoke_object_key(source: str, file_id: str, now: datetime) -> str:
    return f"incoming/{source}/smoke-{file_id[:12]}-{now.strftime('%Y%m%dT%H%M%SZ')}.csv"


def _field_value(field: dict[str, Any]) -> Any:
    if field.get("isNull"):
        return None
    for kind in ("stringValue", "longValue", "doubleValue", "booleanValue"):
        if kind in field:
            return field[kind]
    return None


class LedgerQuery:
    """Runs the ledger lookup through the Redshift Data API (asynchronous: execute, describe, fetch)."""

    def __init__(
        self,
        client: Any,
        *,
        workgroup: str,
        database: str,
        secret_arn: str | None,
        poll_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._target: dict[str, str] = {"WorkgroupName": workgroup, "Database": database}
        if secret_arn:
            self._target["SecretArn"] = secret_arn
        self._poll_seconds = poll_seconds
        self._sleep = sleep

    def fetch(self, file_id: str, deadline: float) -> tuple[str, int] | None:
        """The ledger row for `file_id` as (status, rows_loaded), or None if there is none yet."""
        started = self._client.execute_statement(
            **self._target,
            Sql=LEDGER_QUERY,
            Parameters=[{"name": "file_id", "value": file_id}],
            StatementName="etl-smoke-ledger",
        )
        statement = self._wait(started["Id"], deadline)
        if statement["Status"] != "FINISHED":
            error = str(statement.get("Error", ""))
            # Before the first file is processed the ledger table may not exist yet: that is "no row".
            if "does not exist" in error:
                return None
            raise SmokeError(f"ledger query {statement['Status'].lower()}: {error or 'no error message'}")
        if not statement.get("HasResultSet"):
            return None
        records = self._client.get_statement_result(Id=started["Id"]).get("Records", [])
        if not records:
            return None
        status, rows_loaded = (_field_value(field) for field in records[0][:2])
        return str(status), int(rows_loaded or 0)

    def _wait(self, statement_id: str, deadline: float) -> dict[str, Any]:
        while True:
            statement: dict[str, Any] = self._client.describe_statement(Id=statement_id)
            if statement["Status"] in _STATEMENT_DONE:
                return statement
            if time.monotonic() >= deadline:
                raise SmokeTimeout(f"ledger query {statement_id} still {statement['Status']} at the deadline")
            self._sleep(min(self._poll_seconds, 1.0, max(deadline - time.monotonic(), 0.0)))


def run_smoke(
    *,
    bucket: str,
    workgroup: str,
    database: str,
    secret_arn: str | None,
    csv_path: Path,
    source: str = LOAN_APPLICATIONS.name,
    timeout_seconds: float = 600,
    poll_seconds: float = 10,
    session: boto3.session.Session | None = None,
) -> SmokeResult:
    """Upload `csv_path` to the raw bucket and wait until the warehouse ledger says it was loaded.

    Raises SmokeRejected if the pipeline rejected the file and SmokeTimeout if no `loaded` row
    appeared within `timeout_seconds`.
    """
    if session is None:
        import boto3

        session = boto3.session.Session()
    body = csv_path.read_bytes()
    file_id = hashlib.sha256(body).hexdigest()
    key = smoke_object_key(source, file_id, datetime.now(UTC))
    started = time.monotonic()
    deadline = started + timeout_seconds

    s3: Any = session.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")

    ledger = LedgerQuery(
        session.client("redshift-data"),
        workgroup=workgroup,
        database=database,
        secret_arn=secret_arn,
        poll_seconds=poll_seconds,
    )
    polls = 0
    last_status = "no ledger row"
    while True:
        polls += 1
        row = ledger.fetch(file_id, deadline)
        if row is not None:
            last_status, rows_loaded = row
            if last_status == "loaded":
                return SmokeResult(
                    bucket=bucket,
                    key=key,
                    file_id=file_id,
                    status=last_status,
                    rows_loaded=rows_loaded,
                    elapsed_seconds=time.monotonic() - started,
                    polls=polls,
                )
            if last_status == "rejected":
                raise SmokeRejected(
                    f"s3://{bucket}/{key} was rejected by the pipeline "
                    f"(see {LEDGER_TABLE} where file_id = '{file_id}')"
                )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SmokeTimeout(
                f"no loaded ledger row for s3://{bucket}/{key} after {timeout_seconds:g}s "
                f"({polls} polls, last seen: {last_status}); check the queue's DLQ and the function's logs"
            )
        time.sleep(min(poll_seconds, remaining))


def smoke(
    *,
    bucket: str,
    workgroup: str,
    database: str,
    secret_arn: str | None,
    timeout_seconds: float,
    region: str | None,
) -> SmokeResult:
    """Generate a smoke CSV for this run, upload it and wait for its ledger row (`run_smoke`)."""
    run_id = uuid.uuid4().hex[:12]
    with tempfile.TemporaryDirectory(prefix="etl-smoke-") as tmp:
        csv_path = Path(tmp) / f"smoke-{run_id}.csv"
        csv_path.write_bytes(build_smoke_csv(run_id, datetime.now(UTC).date()))
        return run_smoke(
            bucket=bucket,
            workgroup=workgroup,
            database=database,
            secret_arn=secret_arn,
            csv_path=csv_path,
            timeout_seconds=timeout_seconds,
            session=_session(region),
        )


def describe_failure(exc: BaseException) -> str:
    """One line for a failed smoke test: our own errors as they are, others with their type."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, SmokeError) else f"{type(exc).__name__}: {text}"


def _session(region: str | None) -> boto3.session.Session:
    import boto3

    return boto3.session.Session(region_name=region)
