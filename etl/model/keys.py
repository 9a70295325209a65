"""Deterministic surrogate keys: concurrent loads and replays agree without a sequence."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

UNKNOWN_CUSTOMER_KEY = -1


def surrogate_key_of(natural_key: str) -> int:
    """Signed 64-bit integer from the first 8 bytes of BLAKE2b(natural key); documented so other tools can match it."""
    digest = hashlib.blake2b(natural_key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def surrogate_keys(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Vectorised over distinct values: hashing runs once per customer, not once per row."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    uniques = pc.unique(values.drop_null()) if values.null_count else pc.unique(values)
    hashed = np.fromiter(
        (surrogate_key_of(v) for v in uniques.to_pylist()), dtype=np.int64, count=len(uniques)
    )
    return pc.take(pa.array(hashed, pa.int64()), pc.index_in(values, value_set=uniques))
