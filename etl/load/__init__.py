"""Load: a file's staged Parquet (`staging`), the lake it is published to (`lake`: local folder or S3 with
the Glue catalog), the warehouse backends behind one interface (`warehouse`: DuckDB, PostgreSQL, Redshift;
the SQL they share in `sql`) and the file ledger's rows (`ledger`)."""
