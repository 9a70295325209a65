"""Extraction from a lender's own database (`etl extract`): a table or a query, read in Arrow batches, into
CSV files under `<out>/<source>/<name>/` that `etl run` loads like any other, so contracts, quarantine,
lineage and exactly-once are the same path.

It sits above `load` (it reads the high-water marks from the warehouse's file ledger) and below `pipeline`
(which an invocation that extracts and then loads may drive); it never writes to the warehouse itself.
"""
