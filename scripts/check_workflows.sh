#!/usr/bin/env bash
# Lints the GitHub workflows with actionlint (which runs shellcheck on `run:` blocks when shellcheck is
# installed) and the Dockerfile with hadolint. Any finding fails. Both linters come from the dev
# dependencies as wheels that ship the binaries; shellcheck is Debian's package.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

if ! command -v shellcheck >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing shellcheck"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; }; then
      echo "warning: could not install shellcheck; actionlint runs without it" >&2
    fi
  else
    echo "warning: shellcheck not found; actionlint runs without it" >&2
  fi
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if ((${#workflows[@]} == 0)); then
  echo "no workflows under .github/workflows" >&2
  exit 1
fi

status=0
"$BIN/actionlint" "${workflows[@]}" || status=1
"$BIN/hadolint" Dockerfile || status=1
if command -v shellcheck >/dev/null; then
  shellcheck scripts/check_workflows.sh || status=1
fi
if ((status == 0)); then
  echo "workflow checks: ${#workflows[@]} workflows and the Dockerfile are clean"
fi
exit "$status"
