"""Deterministic surrogate keys: concurrent loads and replays agree without a sequence."""

from __future__ import annotations

import functools
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
    """Vectorised over distinct values: hashing runs once per customer, not once per row (null stays null)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)  # one pass: the distinct values and each row's position
    uniques = encoded.dictionary.to_pylist()
    hashed = np.fromiter((_cached_key_of(v) for v in uniques), dtype=np.int64, count=len(uniques))
    return pc.take(pa.array(hashed, pa.int64()), encoded.indices)


# The same customers recur in every chunk of a file: each is hashed once per process.
_cached_key_of = functools.lru_cache(maxsize=1 << 16)(surrogate_key_of)
