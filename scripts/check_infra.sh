#!/usr/bin/env bash
# Offline checks of the Terraform in infrastructure/ (no AWS account, no registry downloads):
#   1. terraform fmt -check            (skipped with a notice when terraform is absent)
#   2. terraform validate + variable validation of envs/*.tfvars (only with a local provider mirror)
#   3. checkov, from its own venv      (it pins an old boto3), over every local module, zero failures
# The structural invariants checkov does not cover live in tests/infrastructure (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

# A TF_CLI_CONFIG_FILE naming a missing file only makes terraform print a warning.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi

INFRA_DIR=infrastructure
CHECKOV_VERSION=3.3.30
CHECKOV_VENV=.venv-checkov
PROVIDER_MIRROR=${TF_PROVIDER_MIRROR:-/opt/tf-plugins}

# --- 1. formatting -------------------------------------------------------------------------------
if command -v terraform >/dev/null 2>&1; then
  if ! terraform fmt -check -recursive -diff "$INFRA_DIR"; then
    echo "terraform fmt: files above need formatting (run: terraform fmt -recursive $INFRA_DIR)" >&2
    exit 1
  fi
  echo "terraform fmt: ok"
else
  echo "NOTICE: terraform not found on PATH; skipping 'terraform fmt -check' (checkov and the HCL tests still run)"
fi

# --- 2. validate against a local provider mirror, never the registry -----------------------------
if command -v terraform >/dev/null 2>&1 && [ -d "$PROVIDER_MIRROR/registry.terraform.io/hashicorp/aws" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cat >"$work/terraform.rc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$PROVIDER_MIRROR"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
EOF
  cp -r "$INFRA_DIR" "$work/infrastructure"
  rm -rf "$work/infrastructure/.terraform" "$work/infrastructure/bootstrap/.terraform"
  # The copy uses local state so that `terraform console` can evaluate the env files below.
  rm -f "$work/infrastructure/backend.tf"
  for dir in "$work/infrastructure" "$work/infrastructure/bootstrap"; do
    name=${dir#"$work/"}
    if ! TF_CLI_CONFIG_FILE="$work/terraform.rc" TF_IN_AUTOMATION=1 \
      terraform -chdir="$dir" init -backend=false -input=false -no-color >"$work/init.log" 2>&1; then
      cat "$work/init.log" >&2
      echo "terraform init (offline, provider mirror $PROVIDER_MIRROR) failed for $name" >&2
      exit 1
    fi
    TF_CLI_CONFIG_FILE="$work/terraform.rc" terraform -chdir="$dir" validate -no-color >"$work/validate.log" 2>&1 ||
      { cat "$work/validate.log" >&2; echo "terraform validate failed for $name" >&2; exit 1; }
    echo "terraform validate ($name): ok"
  done
  # Every validation block (cross-variable ones too) against the real env files, still offline.
  for tfvars in "$work"/infrastructure/envs/*.tfvars; do
    env_file=envs/$(basename "$tfvars")
    out=$(echo 'local.sqs_visibility_timeout_seconds' | TF_CLI_CONFIG_FILE="$work/terraform.rc" \
      terraform -chdir="$work/infrastructure" console -no-color -var-file="$env_file" 2>&1 || true)
    if grep -q '^Error:' <<<"$out"; then
      echo "$out" >&2
      echo "variable validation failed for $INFRA_DIR/$env_file" >&2
      exit 1
    fi
    echo "terraform variable validation ($env_file): ok (SQS visibility timeout $(tail -n1 <<<"$out") s)"
  done
  # ... and a validation that must refuse: a CPU/memory pair Fargate does not offer.
  out=$(echo 'var.fargate_memory_mb' | TF_CLI_CONFIG_FILE="$work/terraform.rc" \
    terraform -chdir="$work/infrastructure" console -no-color -var-file=envs/prod.tfvars \
    -var fargate_cpu=256 -var fargate_memory_mb=16384 2>&1 || true)
  if ! grep -q 'fargate_memory_mb is not a Fargate memory size for fargate_cpu' <<<"$out"; then
    echo "$out" >&2
    echo "variable validation accepted fargate_cpu=256 with fargate_memory_mb=16384" >&2
    exit 1
  fi
  echo "terraform variable validation: refuses a CPU/memory pair Fargate does not offer"
  # ... a profile key under incoming/ (it would be taken for an upload); an accepted one sets ETL_PROFILE.
  out=$(echo 'var.profile_key' | TF_CLI_CONFIG_FILE="$work/terraform.rc" \
    terraform -chdir="$work/infrastructure" console -no-color -var-file=envs/dev.tfvars \
    -var profile_key=incoming/profile.toml 2>&1 || true)
  if ! grep -q 'profile_key must be a .toml key outside incoming/' <<<"$out"; then
    echo "$out" >&2
    echo "variable validation accepted profile_key=incoming/profile.toml" >&2
    exit 1
  fi
  out=$(echo 'local.etl_environment.ETL_PROFILE' | TF_CLI_CONFIG_FILE="$work/terraform.rc" \
    terraform -chdir="$work/infrastructure" console -no-color -var-file=envs/dev.tfvars \
    -var profile_key=config/etl-profile.toml 2>&1 || true)
  if [ "$(tail -n1 <<<"$out")" != "(known after apply)" ]; then  # s3://<raw bucket, from the account>/...
    echo "$out" >&2
    echo "profile_key=config/etl-profile.toml did not set ETL_PROFILE" >&2
    exit 1
  fi
  echo "terraform variable validation: refuses a profile_key under incoming/, accepts config/etl-profile.toml"
  # ... scheduled extraction: a target that is neither lambda nor fargate is refused; a configured one is
  # accepted (with the source database's security group and secret) and makes the schedule module.
  out=$(echo 'var.extractions' | TF_CLI_CONFIG_FILE="$work/terraform.rc" \
    terraform -chdir="$work/infrastructure" console -no-color -var-file=envs/dev.tfvars \
    -var 'extractions=[{name="core",schedule_expression="rate(1 hour)",target="ec2"}]' 2>&1 || true)
  if ! grep -q 'extractions\[\*\].target must be lambda or fargate' <<<"$out"; then
    echo "$out" >&2
    echo "variable validation accepted an extraction with target ec2" >&2
    exit 1
  fi
  out=$(echo 'length(module.extract_schedule)' | TF_CLI_CONFIG_FILE="$work/terraform.rc" \
    terraform -chdir="$work/infrastructure" console -no-color -var-file=envs/dev.tfvars \
    -var 'extractions=[{name="core",schedule_expression="cron(0 2 * * ? *)",target="fargate",timezone="Africa/Lagos"}]' \
    -var source_database_security_group_id=sg-0123456789abcdef0 \
    -var source_database_secret_arn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:lender/core-AbCdEf 2>&1 || true)
  if [ "$(tail -n1 <<<"$out")" != "1" ]; then
    echo "$out" >&2
    echo "a configured extraction did not make the extract_schedule module" >&2
    exit 1
  fi
  echo "terraform variable validation: refuses an extraction target ec2, accepts a fargate extraction (schedule module made)"
else
  echo "NOTICE: no terraform or no AWS provider mirror at $PROVIDER_MIRROR; skipping offline 'terraform validate' (CI's ci.yml validates)"
fi

# --- 3. checkov in its own virtual environment ---------------------------------------------------
if [ ! -x "$CHECKOV_VENV/bin/checkov" ] || [ ! -f "$CHECKOV_VENV/.checkov-$CHECKOV_VERSION" ]; then
  PYTHON=""
  for candidate in /root/.pyenv/versions/3.12.1/bin/python3.12 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
  done
  [ -n "$PYTHON" ] || { echo "no Python 3 interpreter found for the checkov venv" >&2; exit 1; }
  echo "installing checkov==$CHECKOV_VERSION into $CHECKOV_VENV (once)"
  rm -rf "$CHECKOV_VENV"
  "$PYTHON" -m venv "$CHECKOV_VENV"
  if ! "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "checkov==$CHECKOV_VERSION" >"$CHECKOV_VENV/install.log" 2>&1; then
    cat "$CHECKOV_VENV/install.log" >&2
    echo "pip install checkov==$CHECKOV_VERSION failed" >&2
    exit 1
  fi
  touch "$CHECKOV_VENV/.checkov-$CHECKOV_VERSION"
fi

report=$(mktemp -d)
# --skip-download: no Prisma Cloud policies/metadata; --download-external-modules false: only the
# local ./modules (all of them are scanned through their module calls); no PyPI update check.
set +e
CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE "$CHECKOV_VENV/bin/checkov" \
  --directory "$INFRA_DIR" \
  --framework terraform \
  --skip-download \
  --download-external-modules false \
  --compact \
  --output cli --output json --output-file-path "$report" >"$report/stdout.txt" 2>"$report/stderr.txt"
status=$?
set -e

if [ ! -s "$report/results_json.json" ]; then
  cat "$report/stdout.txt" "$report/stderr.txt" >&2
  echo "checkov produced no report (exit $status)" >&2
  exit 1
fi

# Guard against a silent regression to scanning only the root module: module resources must be there.
"$CHECKOV_VENV/bin/python" - "$report/results_json.json" <<'EOF'
import json
import sys

data = json.load(open(sys.argv[1]))
reports = data if isinstance(data, list) else [data]
results = [r for report in reports for kind in ("passed_checks", "failed_checks", "skipped_checks")
           for r in report.get("results", {}).get(kind, [])]
modules = {r["resource"].split(".aws_")[0] for r in results if r["resource"].startswith("module.")}
skips = [r for r in results if r["check_result"]["result"] == "SKIPPED"]
missing_reason = [r for r in skips if not (r["check_result"].get("suppress_comment") or "").strip()]
for r in results:
    if r["check_result"]["result"] == "FAILED":
        print(f"FAILED {r['check_id']} {r['check_name']}\n  {r['resource']} ({r['file_path']}:{r['file_line_range'][0]})")
print(f"checkov: {len(modules)} module instances scanned: {', '.join(sorted(modules))}")
if len(modules) < 10:
    sys.exit("checkov scanned too few local modules: is --download-external-modules still evaluating ./modules?")
if missing_reason:
    sys.exit(f"checkov skips without a reason: {[(r['check_id'], r['resource']) for r in missing_reason]}")
EOF

summary=$(grep -m1 -E '^Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' "$report/results_cli.txt" || true)
rm -rf "$report"
echo "checkov (terraform, $INFRA_DIR): ${summary:-no summary line}"
if [ "$status" -ne 0 ]; then
  echo "checkov found failed checks (exit $status)" >&2
  exit 1
fi
