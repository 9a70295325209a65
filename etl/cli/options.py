"""Flags several commands share, spelled once."""

from __future__ import annotations

from typing import Annotated

import typer

WarehouseOption = Annotated[str | None, typer.Option(help="Warehouse URL (env ETL_WAREHOUSE_URL)")]
LakeOption = Annotated[str | None, typer.Option(help="Lake folder or s3://bucket/prefix (env ETL_LAKE)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object")]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        help="Profile (TOML; env ETL_PROFILE) saying how your files differ from the contracts: headers, date and number "
        "formats, debit/credit columns, narration rules, kept columns; a file or s3://bucket/key",
    ),
]
ExtractProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="Profile (TOML; env ETL_PROFILE) whose \\[\\[extract]] entries say which tables or queries to read, "
        "from which database (the NAME of a variable or a Secrets Manager secret holding the URL), full or "
        "incremental, and how their columns map to the contracts; a file or s3://bucket/key",
    ),
]
