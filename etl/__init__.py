"""Credit-risk ETL: CSV contracts -> Parquet lake -> star-schema warehouse."""

__version__ = "0.1.0"
