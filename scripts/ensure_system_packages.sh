#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing (CI runs as root on a fresh machine).
set -euo pipefail
need=()
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need+=(postgresql); fi
if ! command -v mariadbd >/dev/null && ! test -x /usr/sbin/mariadbd; then need+=(mariadb-server); fi  # tests/plugins/mariadb.py
if ! command -v chromium >/dev/null; then need+=(chromium); fi
if ! command -v jq >/dev/null; then need+=(jq); fi  # tests/infrastructure/test_deploy_guard.py
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2; exit 1; fi
  echo "installing system packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
