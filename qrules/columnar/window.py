"""Earlier rows inside the window (第七条) found by binary search, not by pairing every row with every other.

Pipeline position: a helper of :mod:`qrules.columnar`. Several decisions read "the earlier rows of
the same subject inside the window ending on this row's date": a deduction's ordinal (第十五条第（一）项),
the repairs already made in the period (第十五条第（二）项), the rewards already granted (第十八条).
Joining a subject's rows with each other grows with the square of its rows (a producer collects
every product's linked deductions) and was the largest memory peak of a large run.

The window is a ruleset rule over (``entry.date``, ``as_of``), not a fixed length. It is evaluated
once over the pairs of distinct dates of the frame. When, at every date, the dates it lets count
are one run of consecutive dates ending on that date (every rule of the form
``as_of - X < entry.date <= as_of``), a row's earlier rows inside its window are one contiguous run
of its subject's rows sorted by date, found with :func:`numpy.searchsorted`. When the rule is not of
that shape, :func:`window_runs` says so (``None``) and the caller pairs the rows as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["window_runs", "window_bounds", "LAST_ASKED", "earliest_in_window", "pairs_in_window", "is_interval"]

#: Up to this many dates, their distinct days are found with numpy (a polars query costs more).
_NUMPY_ROWS = 100_000

#: Date pairs evaluated at once when checking the rule's shape (bounds memory on long histories).
_BLOCK_PAIRS = 2_000_000


#: Comparisons whose entry dates, at one as-of date, are an interval (a half-line or a point).
_CONVEX = ("<", "<=", ">", ">=", "==")


def is_interval(node: Any) -> bool:
    """Whether a window rule (its checked tree) counts, at every as-of date, one interval of entry
    dates: comparisons (``< <= > >= ==``) of ``entry.date`` itself with terms that do not read the
    entry, joined by ``and`` — an intersection of half-lines, e.g. ``as_of - window < entry.date <=
    as_of``. Then :func:`window_runs` searches each date's run instead of testing every pair of dates."""
    from ..language import ast

    def entry_date(n: Any) -> bool:
        return isinstance(n, ast.Field) and n.name == "date" and isinstance(n.obj, ast.Name) and n.obj.name == "entry"

    def reads_entry(n: Any) -> bool:
        return any(isinstance(x, ast.Name) and x.name == "entry" for x in ast.walk(n))

    if isinstance(node, ast.Binary) and node.op == "and":
        return is_interval(node.left) and is_interval(node.right)
    if not isinstance(node, ast.Compare):
        return False
    for left, op, right in zip(node.operands, node.ops, node.operands[1:]):
        if not reads_entry(left) and not reads_entry(right):
            continue  # the same for every entry at one as-of date: all of them or none
        other = right if entry_date(left) else left
        if op not in _CONVEX or not (entry_date(left) or entry_date(right)) or reads_entry(other):
            return False
    return True


def window_runs(pl: Any, win: Any, dates: Any, interval: bool = False,
                memo: dict | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(the distinct ``dates`` sorted, as ``datetime64[D]``; for each, the index of the earliest
    distinct date the window rule ``win`` — a polars expression over columns ``p_date`` (the
    entry) and ``date`` (the as-of date) — counts there), or ``None`` when at some date the dates
    counted are not one run ending on that date. ``interval``: the rule is known to count one
    interval of dates (:func:`is_interval`); then each date's first counted calendar day is found
    by bisection (:func:`window_bounds`, kept in ``memo`` across runs of one ruleset when given)."""
    if interval and dates.len() <= _NUMPY_ROWS:  # a few dates (the distinct ones of a run): numpy, no query
        distinct = (dates.drop_nulls() if dates.null_count() else dates).to_numpy().astype("datetime64[D]")
        if len(distinct) > 1 and not (distinct[1:] > distinct[:-1]).all():  # not already distinct and sorted
            distinct = np.unique(distinct)
        days = None
    else:
        days = dates.unique().sort().drop_nulls()
        distinct = days.to_numpy().astype("datetime64[D]")
    m = len(distinct)
    if m == 0:
        return np.zeros(0, dtype="datetime64[D]"), np.zeros(0, dtype=np.int64)
    if interval:
        bounds = window_bounds(pl, win, distinct.view(np.int64), {} if memo is None else memo)
        if bounds is None:
            return None
        return distinct, np.searchsorted(distinct.view(np.int64), bounds[0], side="left")
    lo = np.empty(m, dtype=np.int64)
    grid = pl.DataFrame({"p_date": days, "a": np.arange(m, dtype=np.int64)})
    step = max(1, _BLOCK_PAIRS // m)
    for start in range(0, m, step):
        at = pl.DataFrame({"date": days.slice(start, step), "b": np.arange(start, min(m, start + step), dtype=np.int64)})
        got = grid.join(at, how="cross").filter((pl.col("a") <= pl.col("b")) & win).group_by("b").agg(
            lo=pl.col("a").min(), hi=pl.col("a").max(), n=pl.len())
        if got.height != at.height:  # a date whose own day does not count
            return None
        ok = (got["hi"] == got["b"]) & (got["n"] == got["b"] - got["lo"] + 1)
        if not ok.all():
            return None
        lo[got["b"].to_numpy()] = got["lo"].to_numpy()
    return distinct, lo


#: The earliest and the last day a window bound is looked for (0001-01-01 and 9999-12-31, in days
#: since 1970-01-01): an interval rule still counting there counts every date a history can hold.
_FIRST_DAY, _LAST_DAY = -719_162, 2_932_896


def window_bounds(pl: Any, win: Any, days: np.ndarray, memo: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """For each of ``days`` (days since 1970-01-01) under an interval window rule (:func:`is_interval`):
    the first and the last calendar day it counts there, or ``None`` when some day's own day does
    not count.

    The rule counts one interval holding the day itself, so before the day it is false up to the
    start and true after it, and after the day true up to the end: two bisections over the
    calendar, all days at once, about twenty evaluations of the rule each. The bounds depend on the
    rule and the day only, never on the data: ``memo`` (day -> (start, end), ``None`` for a day
    not counting itself) keeps them for later runs; the arrays of the last days asked are kept too
    (each run asks for the same few lists of days: its decision dates, its score dates)."""
    asked = days.tobytes()
    recent = memo.setdefault(LAST_ASKED, {})
    known = recent.get(asked, recent)  # (a run's two threads may ask at once: one lookup, no test-then-read)
    if known is not recent:
        return known
    todo = np.array([d for d in days.tolist() if d not in memo], dtype=np.int64)
    if len(todo):
        def counts(entry: np.ndarray) -> np.ndarray:
            frame = pl.DataFrame({"p_date": pl.Series(entry, dtype=pl.Int32).cast(pl.Date),
                                  "date": pl.Series(todo, dtype=pl.Int32).cast(pl.Date)})
            return frame.select(win.fill_null(False)).to_series().to_numpy()
        own = counts(todo)
        lo, hi = np.full(len(todo), _FIRST_DAY, dtype=np.int64), todo.copy()  # the start: first day counted
        while (left := own & (lo < hi)).any():
            mid = (lo + hi) // 2
            inside = counts(np.where(left, mid, todo))
            hi = np.where(left & inside, mid, hi)
            lo = np.where(left & ~inside, mid + 1, lo)
        start = lo
        lo, hi = todo.copy(), np.full(len(todo), _LAST_DAY, dtype=np.int64)  # the end: last day counted
        while (left := own & (lo < hi)).any():
            mid = (lo + hi + 1) // 2
            inside = counts(np.where(left, mid, todo))
            lo = np.where(left & inside, mid, lo)
            hi = np.where(left & ~inside, mid - 1, hi)
        memo.update(zip(todo.tolist(), [(int(a), int(z)) if ok else None
                                        for a, z, ok in zip(start.tolist(), lo.tolist(), own.tolist())]))
    bounds = [memo[d] for d in days.tolist()]
    got = None if any(x is None for x in bounds) else (
        np.array([a for a, _ in bounds], dtype=np.int64), np.array([z for _, z in bounds], dtype=np.int64))
    if len(recent) >= _RECENT:
        recent.clear()
    recent[asked] = got
    return got


#: Lists of days whose bounds :func:`window_bounds` keeps as arrays (then it starts again).
_RECENT = 8

#: The key under which :func:`window_bounds` keeps the last lists of days asked and their bounds (not a day).
LAST_ASKED = "last asked"


def earliest_in_window(groups: np.ndarray, dates: np.ndarray,
                       runs: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
    """For rows sorted by (group, date, then any tie-break): the index of the first row of the same
    group whose date the window ending on this row's date counts. Rows from there up to (not
    including) the row itself are its earlier rows inside the window. ``None`` when a row's date is
    not one of the runs' days (the caller makes runs of its own dates)."""
    days, lo = runs
    m = len(days)
    dates = dates.astype("datetime64[D]")
    at = _positions(days, dates)
    if m == 0 or not (days[np.minimum(at, m - 1)] == dates).all():
        return None if len(dates) else np.zeros(0, dtype=np.int64)
    key = groups.astype(np.int64) * m + at
    return np.searchsorted(key, groups.astype(np.int64) * m + lo[at], side="left")


def _positions(days: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Each of ``dates``' index in the sorted distinct ``days``: read from a table over the days'
    span when every date is one of them (a binary search per row costs more than the table), else
    searched."""
    k, d = days.view(np.int64), dates.view(np.int64)
    if len(k) and len(d) and k[0] <= d.min() and d.max() <= k[-1] and k[-1] - k[0] < 1_000_000:
        table = np.zeros(k[-1] - k[0] + 1, dtype=np.int64)
        table[k - k[0]] = np.arange(len(k), dtype=np.int64)
        at = table[d - k[0]]
        if (k[at] == d).all():
            return at
    return np.searchsorted(days, dates)


def pairs_in_window(first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, earlier row) for every row and each of its earlier rows in ``[first[row], row)``."""
    n = len(first)
    counts = np.arange(n, dtype=np.int64) - first
    total = int(counts.sum())
    inner = np.repeat(np.arange(n, dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return inner, np.repeat(first, counts) + offsets
