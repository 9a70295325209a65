"""`python -m etl.cli`: the `etl` command."""

from etl.cli import main

main()
