"""String keys hashed once, exactly: joins, groups and first rows over 64-bit hashes of ids.

Pipeline position: helpers of :mod:`qrules.columnar`. Polars hashes every string of a key on
every join and group-by; subject, product and event ids are strings, and a large run spends most
of its time hashing them. These helpers hash a key column once into 64-bit numbers and work on
the numbers — and stay exact, never probable: after a match the keys themselves are compared, and
a collision (two keys, one hash) makes the helper use the keys instead. Each takes an optional
``key_hash`` so tests can force collisions (tests/test_columnar_window.py).
"""

from __future__ import annotations

from typing import Any


__all__ = ["hash_rows", "first_per_key"]


def hash_rows(pl: Any, keys: Any, table_keys: Any, memo: dict, key_hash: Any = None) -> Any:
    """The row of each of ``keys`` in ``table_keys`` (unique), null where it has none; ``None`` when
    two of ``table_keys`` share a hash (the caller joins on the keys).

    A join on strings hashes every string of both sides each time, and the subjects are looked up
    several times per run (deductions, rewards, filings, spot checks). Here the table's hashes are
    made once, in ``memo``; the keys are joined to them on the numbers, and a row found counts only
    if its key equals the one looked up (exact). ``key_hash``: the table's hashes to use instead
    (tests force collisions)."""
    if "index" not in memo:
        th = table_keys.hash() if key_hash is None else pl.Series(key_hash, dtype=pl.UInt64)
        memo["unique"] = th.n_unique() == len(table_keys)  # set before the index: a reader checks the index
        memo["index"] = pl.DataFrame({"__h": th, "__row": pl.int_range(len(table_keys), eager=True)})
    if not memo["unique"] or len(table_keys) == 0:
        return None
    rows = pl.DataFrame({"__h": keys.hash()}).join(memo["index"], on="__h", how="left", maintain_order="left")["__row"]
    found = table_keys.gather(rows).eq(keys).fill_null(False)
    return pl.select(pl.when(found).then(rows)).to_series() if found.sum() < len(keys) else rows


def first_per_key(pl: Any, frame: Any, keys: list[str], order: list[str], key_hash: Any = None) -> Any:
    """The first row of each ``keys`` group of ``frame`` in ``order`` (columns sorting as wanted),
    in no particular row order.

    Grouping by string keys hashes every string; here the keys are hashed once into one 64-bit
    number. A row whose hash no other row has is its key's only row and is kept as it is; only the
    rows sharing a hash are sorted by (hash, order), and the first of each run of equal hashes kept.
    Exact, not probable: rows with equal hashes are adjacent after the sort, so a collision (two
    keys, one hash) shows as neighbours with equal hash and different keys — then the rows are
    grouped by the keys themselves. ``key_hash``: another hash expression (tests force collisions)."""
    h = frame.with_columns(__h=pl.struct(keys).hash() if key_hash is None else key_hash)
    several = h["__h"].is_duplicated()
    if not several.any():  # every hash once: every key once
        return frame
    many = h.filter(several).sort("__h", *order)
    same = pl.col("__h") == pl.col("__h").shift(1)
    differ = pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys])
    if many.select((same & differ).any()).item():
        return frame.sort(*order).unique(keys, keep="first")
    return pl.concat([h.filter(~several), many.filter(~same.fill_null(False))]).drop("__h")
