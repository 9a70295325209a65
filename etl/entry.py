"""The `etl` console command: Ctrl-C is handled from the first line, before anything heavy is imported.

`etl.cli` imports typer, rich and pydantic, and its commands pyarrow and DuckDB; a Ctrl-C while they load
(the first second of a run) would otherwise print a traceback and end the process by the signal (-2).
Here only `etl.interrupt` is imported before the handler is installed, so an interrupt at any later moment
prints one line and exits 130, as one during a run does (`etl.cli.main`).
"""

from __future__ import annotations

import os
import sys

from etl import interrupt


def main() -> None:
    interrupt.install()
    try:
        from etl.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(130)  # a half-done import leaves nothing to tear down
    cli_main()


if __name__ == "__main__":
    main()
