"""Load: the Parquet lake and the warehouse backends."""
