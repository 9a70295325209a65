"""Model: the star schema's table specifications (`schema`), deterministic surrogate keys (`keys`), the
builders of fact and dimension rows (`facts`, one per source; `dimensions`), the foreign keys
(`relationships`), the `mart_*` views (`marts`) and the exact SQL arithmetic and dialect differences they
need (`exact`, `dialect`), and how the lake's Parquet is written (`parquet`)."""
