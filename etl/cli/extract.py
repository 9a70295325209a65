"""`etl extract`: pull the profile's `[[extract]]` tables or queries from a lender's database into CSV files
that `etl run` then loads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from etl.cli.console import build_settings, fail, fail_with, note, print_json, say
from etl.cli.options import ExtractProfileOption, JsonOption, WarehouseOption
from etl.errors import EtlError, exit_code_of, first_line, hide_secrets, url_secrets


def extract_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Extractions to run, by name (default: all of the profile's)")
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            help="Where the files go, as `etl run` reads them: <out>/<source>/<name>/; a folder, or "
            "s3://bucket/incoming to have the raw bucket load them (env ETL_EXTRACT_OUT; default: data)"
        ),
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh", help="Incremental extractions read every row again, ignoring the mark"
        ),
    ] = False,
    warehouse: WarehouseOption = None,
    profile: ExtractProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Extract tables or queries from your database (the profile's \\[\\[extract]] entries) into CSV files for `etl run`."""
    from etl.extract.s3 import read_object
    from etl.profiles import load_profile
    from etl.pull.run import extract, loaded_names, select_extractions, source_url

    settings = build_settings(warehouse_url=warehouse, profile=profile, extract_out=out)
    where = settings.extract_out
    try:
        loaded = load_profile(settings.profile, read_s3=read_object)
    except EtlError as exc:
        raise fail_with(exc) from None
    if loaded is None or not loaded.extract:
        where = f"profile {loaded.origin} has" if loaded else "no profile (--profile or ETL_PROFILE):"
        raise fail(f"{where} no [[extract]] entries: see README, 'Load from your database'", 2)
    try:
        entries = select_extractions(loaded, names or [])
        session = _session() if any(e.url_secret for e in entries) or where.startswith("s3://") else None
        urls = {e.name: source_url(e, os.environ, session=session) for e in entries}
    except EtlError as exc:
        raise fail_with(exc) from None
    for url in urls.values():
        hide_secrets(url_secrets(url))

    results, code = [], 0
    for entry in entries:
        try:
            done = extract(
                entry,
                urls[entry.name],
                where if where.startswith("s3://") else Path(where),
                loaded_names(settings, entry.folder),
                full_refresh=full_refresh,
                session=session,
            )
        except EtlError as exc:
            code = max(code, exit_code_of(exc))
            note(f"error: {exc}")
            continue
        except OSError as exc:
            code = max(code, 1)
            note(f"error: extraction {entry.name}: cannot write under {where}: {first_line(exc)}")
            continue
        results.append(done.as_dict())
        if not as_json:
            say(_line(done.as_dict()))
    if as_json:
        print_json({"extracted": results, "exit_code": code})
    elif results and code == 0 and where.startswith("s3://"):
        say("next: nothing to do; the bucket's notifications load the new files")
    elif results and code == 0:
        say(f"next: etl run {where}" + (f" --profile {loaded.origin}" if profile else ""))
    raise typer.Exit(code)


def _session() -> Any:
    import boto3

    return boto3.Session()


def _line(result: dict[str, object]) -> str:
    name, path, rows = result["name"], result["path"], result["rows"]
    if path is None:
        return f"{name}: nothing new since {result['previous_mark']}"
    span = ""
    if result["mode"] == "incremental":
        span = f", cursor {result['from'] or 'start'} .. {result['to']}"
    replaced = result["replaced_pending"]
    also = f" (replaces {len(replaced)} unloaded increment(s))" if replaced else ""  # type: ignore[arg-type]
    return f"{name}: {rows} rows -> {path}{span}{also}"
