#!/usr/bin/env bash
# `etl run` against the polars peer on one generated bank-statement file, whole processes, alternately.
#   benchmarks/peers/run.sh [--rows N] [--rounds R] [--spoiled S] [--workdir DIR]
# Makes the project's .venv (make venv) if needed and the peer's own .venv-peers from
# benchmarks/peers/requirements.txt (polars, and the DuckDB and pyarrow the project pins).
set -euo pipefail
cd "$(dirname "$0")/../.."
make --no-print-directory venv >/dev/null
if ! .venv-peers/bin/python -c 'import polars, duckdb, pyarrow' 2>/dev/null \
  || ! cmp -s benchmarks/peers/requirements.txt .venv-peers/.requirements; then
  rm -rf .venv-peers
  .venv/bin/uv venv --quiet --python .venv/bin/python .venv-peers
  .venv/bin/uv pip install --quiet --compile-bytecode --python .venv-peers/bin/python -r benchmarks/peers/requirements.txt
  cp benchmarks/peers/requirements.txt .venv-peers/.requirements
fi
exec .venv/bin/python benchmarks/peers/compare.py --peer-python .venv-peers/bin/python "$@"
