"""`etl docs`: the data dictionary and the ER diagram, generated from the code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from etl.cli.console import fail, say


def docs_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into")] = Path("docs"),
) -> None:
    """Write the data dictionary and the ER diagram (mermaid) into docs/."""
    from etl.present.docs import write_docs

    try:
        paths = write_docs(out_dir)
    except OSError as exc:  # --out names a file or a read-only place: a usage error, as for `etl generate`
        raise fail(f"cannot write to {out_dir}: {exc.strerror or exc}", 2) from None
    for path in paths:
        say(f"written {path}")
