"""The `etl` command line: one module per command, the consoles and one-line errors in `console`.

Each command parses its flags, builds `Settings`, calls one library function and presents the result; no
library module imports this package. Commands import what they use when they run, so `etl --help` loads
neither pyarrow nor DuckDB. Exit codes are part of the interface: 0 every file loaded or skipped, 1 a file
rejected or failed, 2 usage or configuration error, 3 a data test of severity error failed, 130 Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from rich.markup import escape

from etl import interrupt
from etl.cli.bench import bench_command
from etl.cli.console import err, shown
from etl.cli.dashboard import dashboard_command
from etl.cli.docs import docs_command
from etl.cli.extract import extract_command
from etl.cli.generate import generate_command
from etl.cli.insights import insights_command
from etl.cli.quality import quality_command
from etl.cli.quarantine import quarantine_app
from etl.cli.quicksight import quicksight_command
from etl.cli.run import run_command
from etl.cli.smoke import smoke_command
from etl.cli.soak import soak_command

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Credit-risk ETL: CSV files -> Parquet lake -> star-schema warehouse.",
)
app.command("run")(run_command)
app.command("extract")(extract_command)
app.command("generate")(generate_command)
app.command("quality")(quality_command)
app.command("bench")(bench_command)
app.command("dashboard")(dashboard_command)
app.command("insights")(insights_command)
app.command("docs")(docs_command)
app.command("quicksight")(quicksight_command)
app.command("smoke")(smoke_command)
app.command("soak")(soak_command)
app.add_typer(quarantine_app, name="quarantine")


def _command_path(args: list[str]) -> str:
    """`etl quarantine list` for the arguments `quarantine list --rule`: the (sub)commands named first."""
    path: list[str] = ["etl"]
    command: Any = typer.main.get_command(app)
    for word in args:
        command = getattr(command, "commands", {}).get(word)
        if command is None:
            break
        path.append(word)
    return " ".join(path)


def _usage_error(exc: typer.TyperException) -> int:
    """Print one of Click's errors (Typer raises them as TyperException subclasses) as one line; its code.

    A usage error (it carries the command's context) names the command's --help. A command group called
    alone raises a "no args is help" error whose text is the help itself, printed already.
    """
    code = int(getattr(exc, "exit_code", 1))
    message: str = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    if type(exc).__name__ == "NoArgsIsHelpError":
        if message:
            exc.show()  # type: ignore[attr-defined]
        return code
    line = f"[bold red]error:[/] {escape(shown(message))}"
    if hasattr(exc, "ctx"):
        ctx = exc.ctx
        line += escape(f" (see `{ctx.command_path if ctx else _command_path(sys.argv[1:])} --help`)")
    err.print(line, highlight=False, soft_wrap=True)
    return code


def main() -> None:
    interrupt.install()
    try:
        code = app(prog_name="etl", standalone_mode=False)  # usage errors come here: one line, no boxed panel
    except typer.Abort:  # Ctrl-C where Click itself was waiting
        pass
    except typer.TyperException as exc:
        sys.exit(_usage_error(exc))
    except KeyboardInterrupt:
        pass
    except SystemExit:
        if not interrupt.requested():  # typer exits 130 on Ctrl-C without a word
            raise
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if not interrupt.requested():
            lines = str(exc).strip().splitlines()
            first = shown(lines[0] if lines else "")
            err.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(first)}", highlight=False)
            sys.exit(1)
    else:
        if not interrupt.requested():
            sys.exit(code if isinstance(code, int) else 0)
    err.print("interrupted")
    # Every transaction has been rolled back by now. Leaving at once skips the interpreter's teardown, where
    # DuckDB's bindings print pages of "leaked" warnings when Ctrl-C stopped a statement half way.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


if __name__ == "__main__":
    main()
