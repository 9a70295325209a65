"""A polars peer of `etl run` for one bank-statement CSV: what a competent polars user would write instead.

    python polars_pipeline.py STATEMENTS.csv OUT_DIR RULES.csv

It does what the product does to the rows of one file (README "Input contracts", etl/normalize/validate.py,
etl/normalize/duplicates.py, etl/normalize/categories.py, etl/model/facts.py, etl/model/keys.py):

- reads the CSV as text (every column a string), header names trimmed, lower-cased, spaces as underscores;
- trims each value (Unicode whitespace and format characters at both ends); empty after that is missing;
- validates every bank-statement rule, the first broken rule per row in contract column order, with the
  product's rule names and reasons: NUL bytes (`invalid_text`), `required`, ids holding an invisible
  character (`invalid_text`) or longer than 128 bytes (`out_of_range`), ISO dates with an optional time
  part, real calendar days, 1900-01-01..2100-12-31 (`invalid_date`, `out_of_range`), DECIMAL(18,2) with
  thousands separators (`invalid_number`, `decimal_overflow`, `decimal_scale`), an amount never 0
  (`out_of_range`), text lengths (narration 4096 bytes, channel and merchant 128);
- duplicate keys: the last occurrence of a transaction_id in the file wins, earlier valid ones are
  quarantined as `duplicate_key` (also when the last one is itself quarantined: then none loads);
- writes the quarantined rows (line, rule, column, reason, the original text of every column) to a zstd
  Parquet file;
- categorises narrations with the product's own rules file (priority order, first match wins, adjacent
  rules of one category merged into one alternation, case-insensitive, `\\b` an ASCII word boundary as in
  RE2), once per distinct narration;
- derives the surrogate keys as the product does: customer and category keys are the first 8 bytes of
  BLAKE2b(natural key) as a signed big-endian 64-bit integer, date keys yyyymmdd;
- writes the fact rows (the lean fact_bank_transaction's columns: keys, no copied attributes) to a zstd
  Parquet file and upserts them into a DuckDB table by transaction_id (the product's DuckDB upsert: delete
  the staged keys, insert the rows).

It leaves out what the product does beyond that: encoding and delimiter sniffing, UTF-16, multi-line
headers, `malformed_row` (a row with the wrong number of fields stops polars' reader), blank-line counting,
the per-file SHA-256 idempotence and file-version lineage, the file ledger, the quarantine budget, the
cross-file key-conflict policy, dim_customer / dim_date / dim_transaction_category, the marts, the data
tests, the run notification, the lake's partitioned layout and bounded memory (it holds the whole file).
"""

from __future__ import annotations

import csv
import hashlib
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

# etl/normalize/text.py: Unicode White_Space and the format characters (category Cf), trimmed at both ends.
FORMAT_CHARS = "".join(
    "".join(map(chr, range(first, last + 1)))
    for first, last in (
        (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891),
        (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064),
        (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
        (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
    )
)  # fmt: skip
TRIMMED_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
    + FORMAT_CHARS
)
INVISIBLE = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]"
GROUPED = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
DATE = r"^\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
DATE_MIN, DATE_MAX = "1900-01-01", "2100-12-31"
MAX_ID_BYTES, MAX_TEXT_BYTES, LABEL_BYTES = 128, 4096, 128
INT_DIGITS, SCALE = 16, 2  # DECIMAL(18,2)
MONEY = pl.Decimal(18, 2)
CATEGORIES = (
    "salary", "transfer", "pos", "fuel", "utilities", "airtime", "atm", "betting", "loan_repayment", "rent",
    "other",
)  # fmt: skip

# (column, kind, required, byte limit of a text): the bank_statements contract, in its column order
CONTRACT: tuple[tuple[str, str, bool, int], ...] = (
    ("transaction_id", "id", True, MAX_ID_BYTES),
    ("customer_id", "id", True, MAX_ID_BYTES),
    ("transaction_date", "date", True, 0),
    ("transaction_amount", "money", True, 0),
    ("narration", "text", True, MAX_TEXT_BYTES),
    ("balance", "money", True, 0),
    ("channel", "text", False, LABEL_BYTES),
    ("merchant", "text", False, LABEL_BYTES),
)
KEY = "transaction_id"
FACT_DDL = """CREATE TABLE IF NOT EXISTS fact_bank_transaction (
  transaction_id VARCHAR NOT NULL, customer_key BIGINT NOT NULL, transaction_date_key INTEGER NOT NULL,
  category_key BIGINT NOT NULL, transaction_amount DECIMAL(18,2) NOT NULL, direction VARCHAR NOT NULL,
  balance DECIMAL(18,2) NOT NULL, narration VARCHAR NOT NULL, channel VARCHAR, merchant VARCHAR,
  attributes JSON, source_file_id VARCHAR NOT NULL, source_row BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL)"""

Check = tuple[pl.Expr, str, str, pl.Expr]  # (row breaks it, rule, column, reason)


def surrogate_key_of(natural_key: str) -> int:
    """etl/model/keys.py: the first 8 bytes of BLAKE2b(key), big-endian, signed."""
    digest = hashlib.blake2b(natural_key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def trimmed(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars(TRIMMED_CHARS)


def quoted(column: str, text: pl.Expr, message: str) -> pl.Expr:
    return pl.concat_str([pl.lit(f"{column} '"), text.fill_null("").str.slice(0, 60), pl.lit(f"' {message}")])


def column_checks(name: str, kind: str, required: bool, limit: int) -> tuple[pl.Expr, list[Check]]:
    """The typed value of one column and its checks, in the product's order (validate._cast_column)."""
    raw = pl.col(name)
    t = pl.col(f"_t_{name}")  # trimmed, empty -> null
    checks: list[Check] = [
        (
            raw.str.contains("\x00", literal=True),
            "invalid_text",
            name,
            quoted(name, raw.str.replace_all("\x00", "\u2400", literal=True), "contains a NUL byte (shown as "
                   "\u2400), which is not text"),
        )
    ]  # fmt: skip
    if required:
        checks.append((t.is_null(), "required", name, pl.lit(f"{name} is empty")))
    if kind == "id":
        checks.append(
            (t.str.contains(INVISIBLE), "invalid_text", name, quoted(name, t, "holds an invisible character"))
        )
        checks.append(
            (
                t.str.len_bytes() > limit,
                "out_of_range",
                name,
                quoted(name, t, f"is longer than {limit} bytes"),
            )
        )
        return t, checks
    if kind == "text":
        checks.append(
            (t.str.len_bytes() > limit, "out_of_range", name, pl.lit(f"{name} is longer than {limit} bytes"))
        )
        return t, checks
    if kind == "date":
        shaped = t.str.contains(DATE)
        day = pl.when(shaped).then(t.str.slice(0, 10))
        value = day.str.to_date("%Y-%m-%d", strict=False)
        real = value.is_not_null()
        outside = (day < DATE_MIN) | (day > DATE_MAX)
        checks.append(
            (
                t.is_not_null() & ~real,
                "invalid_date",
                name,
                quoted(name, t, "is not a valid date (expected YYYY-MM-DD)"),
            )
        )
        checks.append(
            (real & outside, "out_of_range", name, quoted(name, t, f"is outside {DATE_MIN}..{DATE_MAX}"))
        )
        return value, checks
    # money: DECIMAL(18,2), thousands separators allowed, never more decimals than the scale
    plain = pl.when(t.str.contains(GROUPED)).then(t.str.replace_all(",", "", literal=True)).otherwise(t)
    is_number = plain.str.contains(NUMBER)
    unsigned = plain.str.strip_chars_start("+-")
    whole = unsigned.str.extract(r"^(\d*)", 1).str.strip_chars_start("0")
    frac = unsigned.str.extract(r"\.(\d*)$", 1).fill_null("")
    overflow = is_number & (whole.str.len_chars() > INT_DIGITS)
    too_fine = is_number & (frac.str.len_chars() > SCALE)
    ok = is_number & ~overflow & ~too_fine
    value = pl.when(ok).then(plain).cast(MONEY, strict=False)
    checks += [
        (t.is_not_null() & ~is_number, "invalid_number", name, quoted(name, t, "is not a number")),
        (overflow, "decimal_overflow", name, quoted(name, t, "does not fit DECIMAL(18,2)")),
        (too_fine, "decimal_scale", name, quoted(name, t, f"has more than {SCALE} decimal places")),
    ]
    if name == "transaction_amount":
        checks.append(
            (value == 0, "out_of_range", name, quoted(name, t, "is outside the allowed range (non-zero)"))
        )
    return value, checks


def load_rules(path: Path) -> list[tuple[str, str]]:
    """(category, pattern) per run of adjacent same-category rules in priority order (categories.py)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("priority", "").strip()]
    merged: list[tuple[str, list[str]]] = []
    for row in sorted(rows, key=lambda r: int(r["priority"])):
        category, pattern = row["category"].strip(), row["pattern"].strip()
        if not pattern:
            continue
        if merged and merged[-1][0] == category:
            merged[-1][1].append(pattern)
        else:
            merged.append((category, [pattern]))
    # RE2's \b is an ASCII word boundary; Rust's regex (polars) is Unicode unless told otherwise
    return [
        (cat, "(?i)" + "|".join(f"(?:{p})" for p in pats).replace(r"\b", r"(?-u:\b)")) for cat, pats in merged
    ]


def categorise(narrations: pl.Series, rules: list[tuple[str, str]]) -> pl.DataFrame:
    """Each distinct narration's category and category key (first matching rule wins, else `other`)."""
    distinct = narrations.unique().to_frame("narration")
    expr: pl.Expr | pl.When | pl.Then = pl
    for category, pattern in rules:
        expr = expr.when(pl.col("narration").str.contains(pattern)).then(pl.lit(category))  # type: ignore[union-attr]
    category = expr.otherwise(pl.lit("other")) if rules else pl.lit("other")  # type: ignore[union-attr]
    keys = {c: surrogate_key_of(c) for c in CATEGORIES}
    return distinct.with_columns(category.alias("category")).with_columns(
        pl.col("category").replace_strict(keys, return_dtype=pl.Int64).alias("category_key")
    )


def run(csv_path: Path, out: Path, rules_path: Path) -> dict[str, int | str]:
    out.mkdir(parents=True, exist_ok=True)
    file_id = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    loaded_at = datetime.now()
    frame = pl.read_csv(csv_path, infer_schema=False)
    frame = frame.rename({c: "_".join(c.strip().lower().split()) for c in frame.columns})
    names = [c[0] for c in CONTRACT]
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in names if c not in frame.columns)
    frame = (
        frame.select(names)
        .with_row_index("source_row", offset=2)
        .with_columns(pl.col("source_row").cast(pl.Int64))
    )
    typed: dict[str, pl.Expr] = {}
    checks: list[Check] = []
    for name, kind, required, limit in CONTRACT:
        typed[name], own = column_checks(name, kind, required, limit)
        checks += own
    marks = [f"_c{i}" for i in range(len(checks))]
    # Lazy, so polars shares the subexpressions (each money column's parse) and runs columns in parallel;
    # the masks over every row, the reasons (strings) only for the rows that fail.
    frame = (
        frame.lazy()
        .with_columns(pl.when(trimmed(c) != "").then(trimmed(c)).alias(f"_t_{c}") for c in names)
        .with_columns(
            *(check[0].fill_null(False).alias(mark) for check, mark in zip(checks, marks, strict=True)),
            *(v.alias(f"_v_{n}") for n, v in typed.items()),
        )
        .with_columns(pl.any_horizontal(marks).alias("_failed"))
        .collect()
    )

    def first(pick: int) -> pl.Expr:
        expr: pl.Expr | pl.When | pl.Then = pl
        for check, mark in zip(checks, marks, strict=True):
            chosen = check[pick] if pick == 3 else pl.lit(check[pick])
            expr = expr.when(pl.col(mark)).then(chosen)  # type: ignore[union-attr]
        return expr.otherwise(None)  # type: ignore[union-attr]

    bad = frame.filter(pl.col("_failed")).select(
        "source_row", first(1).alias("rule"), first(2).alias("column"), first(3).alias("reason"), *names
    )
    # duplicate keys: every occurrence with a key counts (valid or not); the last one's line wins
    key = pl.col(f"_t_{KEY}")
    repeated = frame.filter(key.is_not_null() & key.is_duplicated()).with_columns(
        pl.col("source_row").max().over(key).alias("_kept_row"),
        (~pl.col("_failed")).last().over(key).alias("_kept_valid"),
    )
    kept = pl.col("_kept_row").cast(pl.String)
    superseded = repeated.filter(~pl.col("_failed") & (pl.col("source_row") < pl.col("_kept_row"))).select(
        "source_row",
        pl.lit("duplicate_key").alias("rule"),
        pl.lit(KEY).alias("column"),
        pl.concat_str(
            pl.lit(f"duplicate {KEY} '"),
            key,
            pl.lit("': line "),
            kept,
            pl.lit(" holds a later occurrence, which supersedes this one"),
            pl.when(pl.col("_kept_valid"))
            .then(pl.lit(""))
            .otherwise(
                pl.concat_str(
                    pl.lit("; line "), kept, pl.lit(" is quarantined itself, so no row of this key loads")
                )
            ),
        ).alias("reason"),
        *names,
    )
    quarantine = pl.concat([bad, superseded]).sort("source_row")
    quarantine = quarantine.with_columns(pl.lit(None, pl.String).alias("raw_line"))
    quarantine.write_parquet(out / "quarantine.parquet", compression="zstd")

    valid = (
        frame.filter(~pl.col("_failed"))
        .join(superseded.select("source_row"), on="source_row", how="anti")
        .select("source_row", *(pl.col(f"_v_{n}").alias(n) for n in names))
    )
    customers = valid.get_column("customer_id").unique()
    customer_keys = pl.DataFrame(
        {"customer_id": customers, "customer_key": [surrogate_key_of(c) for c in customers]},
        schema={"customer_id": pl.String, "customer_key": pl.Int64},
    )
    categories = categorise(valid.get_column("narration"), load_rules(rules_path))
    date = pl.col("transaction_date")
    fact = (
        valid.join(customer_keys, on="customer_id", how="left")
        .join(categories, on="narration", how="left")
        .select(
            "transaction_id",
            "customer_key",
            (date.dt.year() * 10000 + date.dt.month().cast(pl.Int32) * 100 + date.dt.day().cast(pl.Int32))
            .cast(pl.Int32)
            .alias("transaction_date_key"),
            "category_key",
            "transaction_amount",
            pl.when(pl.col("transaction_amount") > 0).then(pl.lit("credit")).otherwise(pl.lit("debit")).alias("direction"),
            "balance",
            "narration",
            pl.col("channel").str.to_lowercase(),
            "merchant",
            pl.lit(None, pl.String).alias("attributes"),
            pl.lit(file_id).alias("source_file_id"),
            "source_row",
            pl.lit(loaded_at, pl.Datetime("us")).alias("loaded_at"),
        )
    )  # fmt: skip
    fact.write_parquet(out / "fact_bank_transaction.parquet", compression="zstd")

    arrow = fact.to_arrow()  # noqa: F841 (DuckDB reads it by name)
    con = duckdb.connect(str(out / "warehouse.duckdb"))
    try:
        con.execute(FACT_DDL)
        con.execute("BEGIN")
        con.execute("CREATE TEMPORARY TABLE staged AS SELECT * FROM arrow")
        con.execute(
            "DELETE FROM fact_bank_transaction WHERE transaction_id IN (SELECT transaction_id FROM staged)"
        )
        con.execute("INSERT INTO fact_bank_transaction SELECT * FROM staged")
        con.execute("COMMIT")
    finally:
        con.close()
    return {"rows_in": frame.height, "rows_loaded": fact.height, "rows_quarantined": quarantine.height}


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: polars_pipeline.py STATEMENTS.csv OUT_DIR RULES.csv")
    print(run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
