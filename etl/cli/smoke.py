"""`etl smoke`: after a deploy, one generated CSV through the deployed pipeline end to end."""

from __future__ import annotations

from typing import Annotated

import typer

from etl.cli.console import say, shown


def smoke_command(
    bucket: Annotated[str, typer.Option("--bucket", help="Raw bucket the pipeline watches.")],
    workgroup: Annotated[str, typer.Option("--workgroup", help="Redshift Serverless workgroup.")],
    database: Annotated[str, typer.Option("--database", help="Redshift database holding the ledger.")],
    secret_arn: Annotated[
        str | None,
        typer.Option("--secret-arn", help="Secrets Manager ARN for the Data API (default: IAM identity)."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the ledger row.")] = 600,
    region: Annotated[str | None, typer.Option("--region", help="AWS region (default: environment).")] = None,
) -> None:
    """Upload a generated CSV to the deployed pipeline and wait for its ledger row (post-deploy check)."""
    from etl.tools.smoke import describe_failure, smoke

    try:
        result = smoke(
            bucket=bucket,
            workgroup=workgroup,
            database=database,
            secret_arn=secret_arn,
            timeout_seconds=timeout,
            region=region,
        )
    except Exception as exc:  # a smoke test reports one line, never a traceback
        typer.echo(shown(f"smoke failed: {describe_failure(exc)}"), err=True)
        raise typer.Exit(code=1) from None
    say(
        f"smoke ok: {result.uri} {result.status} ({result.rows_loaded} rows) "
        f"in {result.elapsed_seconds:.0f}s, file_id {result.file_id[:12]}"
    )
