"""Statements through the Redshift Data API, for checks run from outside the VPC (`etl smoke`).

The Data API is asynchronous: ExecuteStatement, then DescribeStatement until the statement is FINISHED,
FAILED or ABORTED, then GetStatementResult page by page. Values are always bound parameters (`:name` in
the SQL), never formatted into it. A value comes back as the field its type maps to: VARCHAR, DECIMAL, DATE
and TIMESTAMP as text, integers as longValue, booleans as booleanValue, NULL as isNull.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from etl.errors import EtlError

_DONE = {"FINISHED", "FAILED", "ABORTED"}


class DataApiError(EtlError):
    """A statement failed or was aborted; the message is Redshift's."""


class DataApiTimeout(DataApiError):
    """A statement had not finished at the deadline."""

    retryable = True


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[list[Any]]


def field_value(field: Mapping[str, Any]) -> Any:
    """The Python value of one Data API field (text stays text: DECIMAL, DATE and TIMESTAMP included)."""
    if field.get("isNull"):
        return None
    for kind in ("stringValue", "longValue", "doubleValue", "booleanValue", "blobValue"):
        if kind in field:
            return field[kind]
    return None


class DataApi:
    """Runs statements in one workgroup and database, as the secret's user or the caller's IAM identity."""

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

    def run(self, sql: str, params: Mapping[str, str] | None = None, *, deadline: float, name: str) -> Result:
        """Run `sql` with `params` bound; its result (no columns for a statement without a result set).

        Raises DataApiError when Redshift failed or aborted it, DataApiTimeout when it was still running at
        `deadline` (time.monotonic())."""
        request: dict[str, Any] = {**self._target, "Sql": sql, "StatementName": name}
        if params:
            request["Parameters"] = [{"name": key, "value": value} for key, value in params.items()]
        statement_id = self._client.execute_statement(**request)["Id"]
        statement = self._wait(statement_id, deadline, name)
        if statement["Status"] != "FINISHED":
            error = " ".join(str(statement.get("Error") or "no error message").split())
            raise DataApiError(f"{name} {statement['Status'].lower()}: {error}")
        if not statement.get("HasResultSet"):
            return Result([], [])
        columns: list[str] = []
        rows: list[list[Any]] = []
        token: str | None = None
        while True:
            page = self._client.get_statement_result(
                Id=statement_id, **({"NextToken": token} if token else {})
            )
            columns = columns or [
                str(c.get("name") or c.get("label")) for c in page.get("ColumnMetadata", [])
            ]
            rows += [[field_value(f) for f in record] for record in page.get("Records", [])]
            token = page.get("NextToken")
            if not token:
                return Result(columns, rows)

    def _wait(self, statement_id: str, deadline: float, name: str) -> dict[str, Any]:
        while True:
            statement: dict[str, Any] = self._client.describe_statement(Id=statement_id)
            if statement["Status"] in _DONE:
                return statement
            if time.monotonic() >= deadline:
                raise DataApiTimeout(f"{name} ({statement_id}) still {statement['Status']} at the deadline")
            self._sleep(min(self._poll_seconds, 1.0, max(deadline - time.monotonic(), 0.0)))
