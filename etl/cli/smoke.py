"""`etl smoke`: after a deploy, generated files through the deployed pipeline, checked value by value."""

from __future__ import annotations

from typing import Annotated

import typer

from etl.cli.console import say, shown


def smoke_command(
    bucket: Annotated[str, typer.Option("--bucket", help="Raw bucket the pipeline watches.")],
    workgroup: Annotated[str, typer.Option("--workgroup", help="Redshift Serverless workgroup.")],
    database: Annotated[str, typer.Option("--database", help="Redshift database holding the warehouse.")],
    secret_arn: Annotated[
        str | None,
        typer.Option("--secret-arn", help="Secrets Manager ARN for the Data API (default: IAM identity)."),
    ] = None,
    schema: Annotated[
        str, typer.Option("--schema", help="Schema of the warehouse (the URL's schema=; default public).")
    ] = "public",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the ledger rows.")] = 600,
    mask_narration: Annotated[
        bool,
        typer.Option("--mask-narration", help="The pipeline masks narrations (ETL_MASK_NARRATION=true)."),
    ] = False,
    region: Annotated[str | None, typer.Option("--region", help="AWS region (default: environment).")] = None,
) -> None:
    """Upload a generated file per source to the deployed pipeline, wait for their ledger rows, compare
    every loaded value, query every mart, and print the verdict (exit 0 when every check passed, else 1)."""
    from etl.tools.smoke import Target, describe_failure, smoke

    try:
        verdict = smoke(
            Target(bucket, workgroup, database, secret_arn, schema),
            timeout_seconds=timeout,
            mask_narration=mask_narration,
            region=region,
        )
    except Exception as exc:  # a smoke test that cannot run reports one line, never a traceback
        typer.echo(shown(f"smoke failed: {describe_failure(exc)}"), err=True)
        raise typer.Exit(code=1) from None
    for line in verdict.lines():
        say(line)
    if not verdict.ok:
        raise typer.Exit(code=1)
