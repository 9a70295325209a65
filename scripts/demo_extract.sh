#!/usr/bin/env bash
# `make demo-extract`: try `etl extract` in one command, with no database of your own.
#
# Starts a throwaway PostgreSQL server (initdb in a temporary folder, unix socket only, stopped and deleted
# at the end), seeds a small lender database from the generator (its own table and column names: loans,
# txns, instalments), then runs what a scheduler would run on two days:
#   day 1: etl extract (full loans, incremental txns by updated_at, incremental instalments by seq) + etl run
#   day 2: a pending loan approved, a rejected loan deleted, a transaction corrected, new rows added;
#          etl extract + etl run again: only the new and changed rows are read, the deletion is seen
# Everything it writes stays in demo/extract/ (profile, extracted files, lake, warehouse); each run starts
# that folder afresh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
etl="$root/.venv/bin/etl"
out=${DEMO_EXTRACT_OUT:-$root/demo/extract}  # the tests point it elsewhere
[[ -x $etl ]] || { echo "run 'make demo-extract' (it creates .venv first)" >&2; exit 2; }
bash "$root/scripts/ensure_system_packages.sh"

bindir=$(dirname "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
[[ -x $bindir/pg_ctl ]] || { echo "PostgreSQL's initdb/pg_ctl not found (Debian: apt-get install postgresql)" >&2; exit 2; }

# PostgreSQL refuses to run as root: then the server runs as the postgres (or nobody) user.
as=()
if [[ $(id -u) -eq 0 ]]; then
  user=$(id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody)
  as=(runuser -u "$user" --)
fi
server=$(mktemp -d /tmp/etl-demo-source-XXXXXX)
[[ ${#as[@]} -eq 0 ]] || chown "$user" "$server"
stop() {
  if [[ -f $server/data/postmaster.pid ]]; then
    (cd "$server" && "${as[@]}" "$bindir/pg_ctl" -D "$server/data" -m fast -w stop >/dev/null) || true
  fi
  rm -rf "$server"
}
trap stop EXIT
unset PGHOST PGPORT PGUSER PGDATABASE PGDATA PGPASSWORD

cd "$server"
"${as[@]}" "$bindir/initdb" -D "$server/data" -U lender --auth=trust --encoding=UTF8 --locale=C --no-sync >/dev/null
"${as[@]}" "$bindir/pg_ctl" -D "$server/data" -l "$server/server.log" -w -o "-c listen_addresses='' -c unix_socket_directories='$server' -c fsync=off" start >/dev/null
cd "$root"
url="postgresql:///lender?host=$server&user=lender"
py="$root/.venv/bin/python"
# SQL against the demo database (psql is not always installed beside the server): psycopg, the warehouse's
# own PostgreSQL driver. Lagos time, as the lender's clerks see it. `@file` lines are COPYed from that CSV.
read -r -d '' sql_py <<'PY' || true
import os, sys
import psycopg
server = os.environ["SERVER"]
with psycopg.connect(host=server, user="lender", dbname=sys.argv[1], autocommit=True,
                     options="-c TimeZone=Africa/Lagos") as conn:
    for statement in sys.stdin.read().split(";\n"):
        statement = statement.strip()
        if statement.startswith("@"):
            table, path = statement[1:].split(" ", 1)
            with open(path, "rb") as f, conn.cursor().copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                copy.write(f.read())
        elif statement:
            conn.execute(statement)
PY
sql() { SERVER=$server "$py" -c "$sql_py" "$@"; }
echo "CREATE DATABASE lender" | sql postgres

rm -rf "$out"
mkdir -p "$out"
"$etl" generate --customers 40 --months 6 --seed 7 --out "$out/seed" >/dev/null

echo "== a lender's database: loans, txns, instalments (seeded with $(($(wc -l <"$out/seed/loan_applications/loan_applications.csv") - 1)) loans)"
sql lender <<SQL
CREATE TABLE loans (
  loan_ref text PRIMARY KEY, client_no text NOT NULL, principal numeric(18,2) NOT NULL, applied_on date NOT NULL,
  bureau_score integer NOT NULL, employment text NOT NULL, yearly_income numeric(18,2) NOT NULL,
  tenor_months integer, rate numeric(6,2), purpose text, region text, status text, decided_on date,
  fraud numeric(7,4));
CREATE TABLE txns (
  ref text PRIMARY KEY, account text NOT NULL, posted_at timestamptz NOT NULL, amount numeric(18,2) NOT NULL,
  remarks text NOT NULL, balance numeric(18,2) NOT NULL, channel text, merchant text,
  updated_at timestamptz);
CREATE TABLE instalments (
  seq bigserial PRIMARY KEY, rpy_ref text NOT NULL UNIQUE, loan_ref text NOT NULL, client_no text,
  due_on date NOT NULL, due_amount numeric(18,2) NOT NULL, paid_on date, paid_amount numeric(18,2));
@loans $out/seed/loan_applications/loan_applications.csv;
@txns(ref,account,posted_at,amount,remarks,balance,channel,merchant) $out/seed/bank_statements/bank_statements.csv;
@instalments(rpy_ref,loan_ref,client_no,due_on,due_amount,paid_on,paid_amount) $out/seed/repayments/repayments.csv;
-- the history was written as it happened: each transaction last changed the evening it was posted
UPDATE txns SET updated_at = posted_at + interval '18 hours';
ALTER TABLE txns ALTER COLUMN updated_at SET NOT NULL, ALTER COLUMN updated_at SET DEFAULT now();
SQL
rm -rf "$out/seed"

cat >"$out/lender.toml" <<'TOML'
# How the demo lender's tables map to the contracts (README, "Load from your database").
[[extract]]
name = "loans"
source = "loan_applications"
url_env = "LENDER_DB_URL"   # the NAME of the variable holding the URL: a profile never holds it
table = "loans"
mode = "full"               # a deleted loan disappears from the warehouse too
columns = { loan_ref = "application_id", client_no = "customer_id", principal = "loan_amount", applied_on = "loan_application_date", bureau_score = "credit_score", employment = "employment_status", yearly_income = "annual_income", tenor_months = "loan_term_months", rate = "interest_rate", purpose = "loan_purpose", region = "state", status = "application_status", decided_on = "decision_date", fraud = "fraud_score" }

[[extract]]
name = "txns"
source = "bank_statements"
url_env = "LENDER_DB_URL"
query = "SELECT ref, account, posted_at, amount, remarks, balance, channel, merchant, updated_at FROM txns"
mode = "incremental"
cursor = "updated_at"
lookback = "1 hour"
timezone = "Africa/Lagos"   # posted_at is written as the day in Lagos
columns = { ref = "transaction_id", account = "customer_id", posted_at = "transaction_date", amount = "transaction_amount", remarks = "narration" }

[[extract]]
name = "instalments"
source = "repayments"
url_env = "LENDER_DB_URL"
table = "instalments"
mode = "incremental"
cursor = "seq"              # an increasing id: new rows only
columns = { rpy_ref = "repayment_id", loan_ref = "application_id", client_no = "customer_id", due_on = "due_date", due_amount = "amount_due", paid_on = "paid_date", paid_amount = "amount_paid" }
TOML

export LENDER_DB_URL=$url
load() {
  "$etl" extract --profile "$out/lender.toml" --out "$out/files" --warehouse "duckdb:///$out/warehouse.duckdb"
  "$etl" run "$out/files" --profile "$out/lender.toml" --lake "$out/lake" --warehouse "duckdb:///$out/warehouse.duckdb"
}

echo
echo "== day 1: etl extract, then etl run"
load

echo
echo "== day 2 in the lender's database: a pending loan approved, a rejected one deleted, a transaction corrected, two transactions and an instalment added"
sql lender <<'SQL'
UPDATE loans SET status = 'approved', decided_on = applied_on + 7
 WHERE loan_ref = (SELECT min(loan_ref) FROM loans WHERE status = 'pending');
DELETE FROM loans WHERE loan_ref = (SELECT min(loan_ref) FROM loans l WHERE status = 'rejected'
  AND NOT EXISTS (SELECT 1 FROM instalments i WHERE i.loan_ref = l.loan_ref));
UPDATE txns SET remarks = remarks || ' (REVERSAL NOTE)', updated_at = now()
 WHERE ref = (SELECT min(ref) FROM txns);
INSERT INTO txns (ref, account, posted_at, amount, remarks, balance, channel)
SELECT 'TXN-D2-' || n, account, '2023-07-01 09:30+01', amount, 'DEMO DAY 2 ' || n, balance, 'mobile'
  FROM (SELECT account, 2500.00 * n AS amount, 100000.00 AS balance, n
          FROM (SELECT min(account) AS account FROM txns) a, generate_series(1, 2) AS n) s;
INSERT INTO instalments (rpy_ref, loan_ref, client_no, due_on, due_amount)
SELECT 'RPY-D2-1', loan_ref, client_no, due_on + 30, due_amount FROM instalments ORDER BY seq DESC LIMIT 1;
SQL

echo
echo "== day 2: the same two commands (only new and changed rows are read; the deleted loan is removed)"
load

echo
echo "The demo's profile, files, lake and warehouse are in $out (the source database is gone: run again to repeat)."
echo "Look at it: .venv/bin/etl dashboard --lake $out/lake --warehouse duckdb:///$out/warehouse.duckdb --out $out/dashboard.html"
