"""Normalise: validate and cast each chunk against its source's contract (`validate`), categorise
narrations by rules kept as data (`categories`), shape the rows the contracts refuse for the quarantine
(`rejects`) and apply the in-file duplicate-key rule (`duplicates`). Pure functions of Arrow tables, but
the duplicate check, which runs out of core in DuckDB over the file's staged Parquet."""
