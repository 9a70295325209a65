"""`etl quicksight`: create or update the QuickSight dashboard from the dashboard spec."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl.cli.console import build_settings, fail, print_json, say
from etl.errors import EtlError, first_line
from etl.present.quicksight import DEFAULT_DASHBOARD_ID


def quicksight_command(
    account_id: Annotated[str, typer.Option(help="AWS account id that owns QuickSight")],
    dataset_arns: Annotated[
        Path,
        typer.Option(help="JSON file: mart name -> dataset ARN (terraform output quicksight_data_set_arns)"),
    ],
    dashboard_id: Annotated[str, typer.Option(help="Dashboard id")] = DEFAULT_DASHBOARD_ID,
    principal: Annotated[
        str | None, typer.Option(help="QuickSight user/group ARN granted the dashboard")
    ] = None,
    region: Annotated[str | None, typer.Option(help="AWS region (default: from the environment)")] = None,
    spec_path: Annotated[
        Path | None, typer.Option("--spec", help="Dashboard spec (default: the packaged spec.json)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and print the request; call nothing")
    ] = False,
) -> None:
    """Create or update the QuickSight dashboard from the dashboard spec."""
    import json

    from etl.present.quicksight import build_create_request, check_request, deploy_dashboard
    from etl.present.spec import load_spec

    settings = build_settings()  # ETL_CURRENCY and ETL_SCORE_BASELINE shape the dashboard
    try:
        arns = json.loads(dataset_arns.read_text(encoding="utf-8"))
        request = build_create_request(
            load_spec(spec_path),
            account_id=account_id,
            dataset_arns=arns,
            dashboard_id=dashboard_id,
            principal_arn=principal,
            currency=settings.currency,
            score_baseline=settings.score_baseline,
        )
        if dry_run:
            check_request("CreateDashboard", request)
            print_json(request)
            return
        result = deploy_dashboard(request, region=region)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read {dataset_arns}: {exc}", 2) from None
    except EtlError as exc:
        raise fail(str(exc), 1) from None
    except Exception as exc:
        raise fail(f"QuickSight deploy failed: {first_line(exc)}", 1) from None
    say(f"dashboard {result['action']}: {result['arn']}")
