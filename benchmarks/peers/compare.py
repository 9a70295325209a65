"""`etl run` against the polars peer (polars_pipeline.py) on one bank-statement file, as whole processes.

    .venv/bin/python benchmarks/peers/compare.py --rows 1000000 --rounds 7 --peer-python .venv-peers/bin/python

Generates the file as `etl bench` does (etl.tools.generate, seed 42, one customer per 200 rows), spoils a few
hundred rows on purpose (every rule the peer claims to apply, duplicates included, and values that must load:
thousands separators, a time part, trimmed ids), then runs alternately, `--rounds` times each, `etl run` into
a fresh lake and DuckDB warehouse and the peer into a fresh folder, each a process of its own (measured as
`etl bench` measures: forked from a bare interpreter, wall clock and ru_maxrss of the child).

Before timing, it checks that both loaded the same rows (count, exact SUM of amounts, keys, categories) and
quarantined the same lines under the same rules: a peer that does less must not pass.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

import duckdb

from etl.tools.bench.common import Measured, etl_command, measure_process
from etl.tools.generate.statements import generate_bank_statements_file

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RULES = REPO / "etl" / "rules" / "narration_categories.csv"
PEER = HERE / "polars_pipeline.py"
ROWS_PER_CUSTOMER = 200

# (column, value) written over one row each; None in column: a duplicate (see spoil)
SPOILS: tuple[tuple[str, str], ...] = (
    ("customer_id", ""),
    ("transaction_date", ""),
    ("transaction_amount", ""),
    ("narration", "   "),
    ("balance", ""),
    ("transaction_amount", "12,3x"),
    ("transaction_amount", "1e5"),
    ("transaction_amount", "1.234"),
    ("transaction_amount", "1.230"),
    ("transaction_amount", "12345678901234567890.00"),
    ("transaction_amount", "0.00"),
    ("transaction_amount", "-0"),
    ("balance", "1,2345.00"),
    ("transaction_date", "2023-02-30"),
    ("transaction_date", "31/12/2023"),
    ("transaction_date", "1899-12-31"),
    ("transaction_id", "TXN-\u200b{id}"),
    ("customer_id", "CUST\u2060-9"),
    ("channel", "x" * 129),
    ("transaction_id", "{id}" + "9" * 130),
    # these load
    ("transaction_amount", "1,234.50"),
    ("transaction_amount", "-12,345,678.05"),
    ("balance", ".5"),
    ("balance", "+12."),
    ("transaction_date", "2023-05-06T10:11:12"),
    ("transaction_id", "\ufeff{id}"),
    ("customer_id", " {customer}\u00a0"),
    ("narration", "pos purchase total filling station"),
)
DUPLICATE, DUPLICATE_BAD = "duplicate", "duplicate_bad"


def make_file(path: Path, rows: int, spoiled: int) -> dict[str, int]:
    """A generated statements file with `spoiled` rows spoiled, kinds dealt out in turn."""
    clean = path.with_suffix(".clean.csv")
    generate_bank_statements_file(clean, rows=rows, customers=max(1, rows // ROWS_PER_CUSTOMER), seed=42)
    kinds: list[tuple[str, str]] = [*SPOILS, (DUPLICATE, ""), (DUPLICATE_BAD, "")]
    step = max(2, rows // max(1, spoiled))
    dealt = {k: 0 for k, _ in kinds}
    recent: list[str] = []
    with clean.open(newline="") as src, path.open("w", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        at = {name: i for i, name in enumerate(header)}
        for n, row in enumerate(reader):
            if n % step == step - 1 and recent:
                column, value = kinds[(n // step) % len(kinds)]
                if column in (DUPLICATE, DUPLICATE_BAD):
                    row[at["transaction_id"]] = recent[0]  # an earlier row's id: that row is superseded
                    if column == DUPLICATE_BAD:
                        row[at["transaction_amount"]] = "abc"  # ...by a row that is quarantined itself
                else:
                    row[at[column]] = value.format(
                        id=row[at["transaction_id"]], customer=row[at["customer_id"]]
                    )
                dealt[column] = dealt.get(column, 0) + 1
                recent.clear()
            elif n % step == step // 2:
                recent.append(row[at["transaction_id"]])
            writer.writerow(row)
    clean.unlink()
    return dealt


def etl_run(data: Path, out: Path) -> Measured:
    shutil.rmtree(out, ignore_errors=True)
    command = [*etl_command(), "run", str(data), "--lake", str(out / "lake")]
    command += ["--warehouse", f"duckdb:///{(out / 'warehouse.duckdb').resolve()}"]
    return measure_process(command, log=out.parent / f"{out.name}.log")


def peer_run(python: str, peer: Path, csv_path: Path, out: Path) -> Measured:
    shutil.rmtree(out, ignore_errors=True)
    command = [python, str(peer), str(csv_path), str(out), str(RULES)]
    return measure_process(command, log=out.parent / f"{out.name}.log")


FACT_SUMMARY = (
    "SELECT COUNT(*), SUM(transaction_amount)::VARCHAR, SUM(balance)::VARCHAR, SUM(customer_key::HUGEINT)::VARCHAR, "
    "SUM(category_key::HUGEINT)::VARCHAR, SUM(transaction_date_key), COUNT(DISTINCT transaction_id), "
    "SUM(source_row), COUNT(channel), SUM(CASE direction WHEN 'credit' THEN 1 ELSE 0 END) FROM {table}"
)


def outcome(warehouse: Path, quarantine_glob: str) -> dict[str, Any]:
    """What a run left: its fact rows' summary, rows per category, and its quarantined (line, rule) pairs."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        table = "fact_bank_transaction"
        summary = con.execute(FACT_SUMMARY.format(table=table)).fetchone()
        per_category = dict(con.execute(f"SELECT category_key, COUNT(*) FROM {table} GROUP BY 1").fetchall())
        bad = con.execute(
            f"SELECT source_row, rule FROM read_parquet('{quarantine_glob}') ORDER BY source_row"
        ).fetchall()
    finally:
        con.close()
    return {"summary": summary, "categories": per_category, "quarantined": bad}


def check_same(product: dict[str, Any], peer: dict[str, Any]) -> list[str]:
    problems = []
    names = (
        "rows", "SUM(amount)", "SUM(balance)", "SUM(customer_key)", "SUM(category_key)", "SUM(date_key)",
        "distinct ids", "SUM(source_row)", "channels", "credits",
    )  # fmt: skip
    for name, a, b in zip(names, product["summary"], peer["summary"], strict=True):
        if a != b:
            problems.append(f"{name}: etl run {a}, peer {b}")
    if product["categories"] != peer["categories"]:
        problems.append(f"categories: etl run {product['categories']}, peer {peer['categories']}")
    if product["quarantined"] != peer["quarantined"]:
        only_product = sorted(set(product["quarantined"]) - set(peer["quarantined"]))[:5]
        only_peer = sorted(set(peer["quarantined"]) - set(product["quarantined"]))[:5]
        problems.append(
            f"quarantine: etl run {len(product['quarantined'])} rows, peer {len(peer['quarantined'])}; "
            f"only etl run {only_product}; only peer {only_peer}"
        )
    return problems


def figures(measured: list[Measured]) -> dict[str, float]:
    seconds = [m.seconds for m in measured]
    return {
        "best_s": round(min(seconds), 3),
        "median_s": round(statistics.median(seconds), 3),
        "peak_rss_mib_max": round(max(m.peak_rss_bytes for m in measured) / (1 << 20), 1),
        "peak_rss_mib_median": round(statistics.median(m.peak_rss_bytes for m in measured) / (1 << 20), 1),
        "cpu_s_median": round(statistics.median(m.cpu_seconds for m in measured), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--spoiled", type=int, default=600, help="rows spoiled on purpose")
    parser.add_argument("--peer-python", default=str(REPO / ".venv-peers" / "bin" / "python"))
    parser.add_argument(
        "--peer", type=Path, default=PEER, help="the peer script (default: polars_pipeline.py)"
    )
    parser.add_argument("--workdir", type=Path, default=REPO / "etl-bench-peers")
    args = parser.parse_args()

    work = args.workdir.resolve()
    shutil.rmtree(work, ignore_errors=True)
    csv_path = work / "data" / "bank_statements" / "statements.csv"
    csv_path.parent.mkdir(parents=True)
    print(f"generating {args.rows:,} rows ({args.spoiled} spoiled) in {work}", flush=True)
    dealt = make_file(csv_path, args.rows, args.spoiled)

    product_runs: list[Measured] = []
    peer_runs: list[Measured] = []
    loads = []
    for attempt in range(1, args.rounds + 1):
        first_product = attempt % 2 == 1  # alternate which goes first
        for which in ("product", "peer") if first_product else ("peer", "product"):
            if which == "product":
                product_runs.append(etl_run(work / "data", work / "product"))
            else:
                peer_runs.append(peer_run(args.peer_python, args.peer, csv_path, work / "peer"))
        loads.append(os.getloadavg()[0])
        print(
            f"round {attempt}/{args.rounds}: etl run {product_runs[-1].seconds:.2f} s "
            f"{product_runs[-1].peak_rss_bytes / (1 << 20):.0f} MiB, polars peer {peer_runs[-1].seconds:.2f} s "
            f"{peer_runs[-1].peak_rss_bytes / (1 << 20):.0f} MiB (load {loads[-1]:.1f})",
            flush=True,
        )
        if attempt == 1:
            product = outcome(
                work / "product" / "warehouse.duckdb",
                f"{work}/product/lake/quarantine/bank_statements/*.parquet",
            )
            peer = outcome(work / "peer" / "warehouse.duckdb", f"{work}/peer/quarantine.parquet")
            problems = check_same(product, peer)
            if problems:
                print("NOT THE SAME WORK:\n  " + "\n  ".join(problems), file=sys.stderr)
                return 1
            rules: dict[str, int] = {}
            for _, rule in product["quarantined"]:
                rules[rule] = rules.get(rule, 0) + 1
            print(
                f"same result: {product['summary'][0]:,} rows loaded, SUM(amount) {product['summary'][1]}, "
                f"{len(product['quarantined'])} quarantined {rules}",
                flush=True,
            )
    result = {
        "rows": args.rows,
        "spoiled": dealt,
        "rounds": args.rounds,
        "etl_run": figures(product_runs),
        "polars_peer": figures(peer_runs),
        "load_average_1m": {"min": min(loads), "max": max(loads)},
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    shutil.rmtree(work / "product", ignore_errors=True)
    shutil.rmtree(work / "peer", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
