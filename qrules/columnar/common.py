"""What the columnar backend's modules share: the fallback, the polars engine a query is collected
with, limits, the columns of a refusal, and small array helpers.
"""

from __future__ import annotations

from typing import Any

import numpy as np


#: The engine a lazy query is collected with: the in-memory one, as eager operations use (polars'
#: default for a lazy query, streaming, costs several milliseconds more to start a query over frames this size).
MEMORY = "in-memory"


#: Above this many events, the run reads each kind from the whole table with only its columns
#: instead of splitting the table by kind first (a copy of every column: memory, not speed, decides).
SPLIT_ROWS = 500_000


#: The most values of the reward cap a backend keeps (``ColumnarBackend.cap_memo``) before starting afresh.
CAP_MEMO = 100_000


REJ = ("event", "kind", "subject", "code", "reason", "cite")


class Fallback(Exception):
    """The columnar backend cannot take this ruleset or history; ``reasons`` says what."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def always_true(expr: Any) -> bool:
    """Whether a rule is the literal ``true`` (then nothing it could read changes its value)."""
    from ..language import ast

    return isinstance(expr.node, ast.Literal) and expr.node.value is True


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values of an integer array, sorted; each value's index among them): read from a
    table over the values' span when it is short, else searched."""
    distinct = distinct_ints(values)
    if distinct.size and int(distinct[-1]) - int(distinct[0]) < 1 << 20:
        table = np.zeros(int(distinct[-1]) - int(distinct[0]) + 1, dtype=np.int64)
        table[distinct - distinct[0]] = np.arange(distinct.size)
        return distinct, table[values - distinct[0]]
    return distinct, np.searchsorted(distinct, values)


def distinct_ints(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, sorted: marked in a table over their span when it is
    short (scores: a few dozen values), cheaper than sorting them."""
    if values.size == 0:
        return values.astype(np.int64)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo >= 1 << 20:
        return np.unique(values)
    seen = np.zeros(hi - lo + 1, dtype=bool)
    seen[values - lo] = True
    return np.flatnonzero(seen).astype(np.int64) + lo


def hashable(value: Any) -> Any:
    """A cell's value as a key: a list as a tuple, a struct as its sorted (field, value) pairs."""
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, hashable(v)) for k, v in value.items()))
    return value


def distinct_days(pl: Any, columns: list) -> Any:
    """The distinct dates of some date columns, sorted: marked in a table over their span (a few
    thousand days), cheaper than hashing every date."""
    days = np.concatenate([(c.drop_nulls() if c.null_count() else c).to_physical().to_numpy() for c in columns]) \
        if columns else np.zeros(0, np.int32)  # a date's physical value is its day number (no cast: no query)
    return pl.Series("date", distinct_ints(days.astype(np.int64)), dtype=pl.Int32).cast(pl.Date)


def tally_events(pl: Any, rej: list, counted: list, n_events: int) -> tuple[Any, int, int]:
    """(the refusals as one frame, the events counted, the events refused and not counted — an
    event refused for one subject and counted for another is counted). When every count and refusal
    names its events' rows (``erow``), the rows are marked in an array; otherwise one hash over the
    counted ids, the refused ones looked up."""
    frame = pl.concat([f.drop("erow", strict=False) for f in rej]) if rej else pl.DataFrame(schema={k: pl.Utf8 for k in REJ})
    if counted and all(rows is not None and not rows.null_count() for _, rows in counted) \
            and all("erow" in f.columns and not f["erow"].null_count() for f in rej):
        seen = np.zeros(n_events, dtype=bool)
        seen[np.concatenate([rows.to_numpy() for _, rows in counted])] = True
        refused = np.zeros(n_events, dtype=bool)
        if rej:
            refused[np.concatenate([f["erow"].to_numpy() for f in rej])] = True
        return frame, int(seen.sum()), int((refused & ~seen).sum())
    ids = pl.concat([s.cast(pl.Utf8) for s, _ in counted]) if counted else pl.Series([], dtype=pl.Utf8)
    refused = frame["event"].unique()
    return frame, ids.n_unique(), refused.len() - ids.filter(ids.is_in(refused.implode())).n_unique()
