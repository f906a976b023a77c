"""Accounts over arrays: every subject's sums at every decision date, a producer's lowest line, the adjustments.

Pipeline position: a helper of :mod:`qrules.columnar`. Its results step needs, for each subject
and each decision date (the half-year score dates of 第二十六条 and the as-of date), the sum of the
entries counted in the window (第七条), whether the subject holds a record (第八条), and for a
producer the lowest of its product lines (第十条). Held as long tables (subject, date) those were
joined and pivoted on string ids, the largest cost of a large run. Here a subject is its row
position in the subjects table and a line its row in the lines table, so an account is a cell of
a (subjects × dates) array: sums are one :func:`numpy.add.at` over (row, date) pairs, the lowest
line one :func:`numpy.minimum.reduceat` per date, the adjustments one pass per date over all
subjects. The rules themselves (the window, the classes, the lock's length) stay ruleset
expressions: the caller evaluates them and passes their values in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DateSums", "date_sums", "lowest_lines", "official_classes", "masks_for", "mask_type", "MASK_DATES", "NO_DAY"]

#: Dates one mask holds, at most 64 bits (a longer list of dates is summed in blocks of this many).
MASK_DATES = 60

#: "No date" in the arrays of days since 1970 (later than every real date: a minimum ignores it).
NO_DAY = np.iinfo(np.int64).max


@dataclass
class DateSums:
    """Sums of the entries counted at each date, per group (a subject or a line).

    ``total`` and ``count`` are (groups × dates): the points and the number of entries inside the
    window (``count`` only when asked for). ``live_deductions``, ``entries_counted`` and ``deductions`` are per group at one date
    (the as-of date: what the output rows show)."""

    total: np.ndarray
    count: np.ndarray | None
    live_deductions: np.ndarray
    entries_counted: np.ndarray
    deductions: np.ndarray


def mask_type(k_all: int) -> type:
    """The narrowest unsigned integer that holds a bit per date for ``k_all`` dates: the masks and
    the weights read from them are arrays over every entry, and narrow arrays are cheaper to make."""
    return next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if k_all <= np.iinfo(t).bits)


def _offsets(days: np.ndarray, lo: int) -> np.ndarray:
    """``days - lo`` for days within 65,536 of ``lo``, as 16-bit numbers (no 64-bit array on the way)."""
    return np.subtract(days, lo, out=np.empty(len(days), dtype=np.uint16), casting="unsafe")


def masks_for(entry_days: np.ndarray, anchor_days: np.ndarray, dates: np.ndarray, counts: Any) -> np.ndarray:
    """Each entry's bit mask over ``dates`` (at most :data:`MASK_DATES`, days since 1970, sorted), of
    :func:`mask_type`: bit ``k`` when the entry is dated on or before ``dates[k]`` and
    ``counts(anchors, dates)`` — the window rule, given anchor days and the dates, returning a
    (anchors × dates) boolean array — holds for its anchor at ``dates[k]``. The rule is evaluated once
    per day between the first and the last anchor (once per distinct anchor when they span more than
    179 years); which dates follow an entry's own is likewise read from a table of days."""
    k_all = len(dates)
    kind = mask_type(k_all)
    full = kind((1 << k_all) - 1)
    bits = (np.uint64(1) << np.arange(k_all, dtype=np.uint64)).astype(kind)
    lo, hi = (int(anchor_days.min()), int(anchor_days.max())) if anchor_days.size else (0, -1)
    if hi - lo < 1 << 16:  # every day between the first and last anchor (cheaper than sorting them)
        uniq, at = np.arange(lo, hi + 1, dtype=np.int64), _offsets(anchor_days, lo)
    else:
        uniq, at = np.unique(anchor_days, return_inverse=True)
    inside = counts(uniq, dates)
    amask = (inside.astype(kind) * bits[None, :]).sum(axis=1, dtype=kind) if k_all else np.zeros(len(uniq), kind)
    mask = amask[at.ravel()]

    def after(days: np.ndarray) -> np.ndarray:  # the dates on or after each of ``days``, as bits
        first = np.searchsorted(dates, days, side="left").astype(np.uint64)
        return (np.uint64(full) ^ ((np.uint64(1) << first) - np.uint64(1))).astype(kind)
    lo, hi = (int(entry_days.min()), int(entry_days.max())) if entry_days.size else (0, -1)
    if hi - lo < 1 << 16:
        mask &= after(np.arange(lo, hi + 1, dtype=np.int64))[_offsets(entry_days, lo)]
    else:
        mask &= after(entry_days)
    return mask


def date_sums(group: np.ndarray, n: int, mask: np.ndarray, points: np.ndarray, is_deduction: np.ndarray,
              k_all: int, k_now: int, counts: bool = True) -> DateSums:
    """:class:`DateSums` for ``n`` groups over ``k_all`` dates (at most :data:`MASK_DATES`) from the
    entries' group numbers, date masks (:func:`masks_for`), points (scaled integers) and kinds;
    ``counts``: whether ``count`` is wanted (``None`` otherwise). One integer sum per date."""
    # every sum over all entries, each weighted by 0 or 1 where it does not or does count (picking the
    # entries out first, a boolean index per date, costs more than adding zeros); in int64, exact:
    # ``numpy.add.at`` over integers is as fast here as ``bincount``, which would weigh in float64
    total = np.zeros((k_all, n), dtype=np.int64)
    count = np.zeros((k_all, n), dtype=np.int64) if counts else None
    one = mask.dtype.type(1)

    def inside(k: int) -> np.ndarray:  # 1 where an entry counts at date k, else 0 (the masks' width)
        return (mask >> mask.dtype.type(k)) & one

    def tally(which: np.ndarray) -> np.ndarray:  # the entries of each group where ``which`` holds
        out = np.zeros(n, dtype=np.int64)
        np.add.at(out, group, which.astype(np.int64))  # int64 both sides: numpy's fast path
        return out
    for k in range(k_all):
        # in int64 whatever the masks' width (int64 times uint64 would be float64 in numpy)
        np.add.at(total[k], group, np.multiply(points, inside(k), dtype=np.int64, casting="unsafe"))
        if count is not None:
            count[k] = tally(inside(k))
    now = inside(k_now) != 0
    ded_now = now & is_deduction
    scoring = points != 0
    return DateSums(total=total.T, count=None if count is None else count.T, live_deductions=tally(ded_now),
                    entries_counted=tally(now & scoring), deductions=tally(ded_now & scoring))


def lowest_lines(total: np.ndarray, held: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """第十条: for each producer and date, the row of its lowest held line, -1 when it holds none.

    ``total`` and ``held`` are (lines × dates) with the lines sorted by producer and then by
    product id; ``starts`` is the first line of each producer. A tie goes to the product with the
    smallest id: the key orders by (total, row), its minimum taken per producer in one reduction."""
    n = total.shape[0]
    if n == 0:
        return np.full((0, total.shape[1]), -1, dtype=np.int64)
    big = np.iinfo(np.int64).max
    key = np.where(held, total * (n + 1) + np.arange(n, dtype=np.int64)[:, None], big)
    low = np.minimum.reduceat(key, starts, axis=0)
    return np.where(low != big, low % (n + 1), -1)


def official_classes(computed: list[np.ndarray], first: np.ndarray, adjusted: list[int], o_code: int,
                     lock_code: int | None, lock_ends: list[int | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """第二十六条第二款: the official class after each adjustment in date order, with the lock.

    ``computed[k]``: each subject's class code from its score at adjustment ``k`` (dated
    ``adjusted[k]``, days since 1970); ``first``: the day of its first record (:data:`NO_DAY`
    when none); a subject is adjusted on the dates after its first record. A subject reaching the
    lock class while not locked is held in it until ``lock_ends[k]`` (``None``: no lock). Returns
    (official class codes, lock start days, lock end days; :data:`NO_DAY`-free: -1 for none)."""
    n = first.shape[0]
    official = np.full(n, o_code, dtype=np.int64)
    since = np.full(n, -1, dtype=np.int64)
    until = np.full(n, -1, dtype=np.int64)
    for comp, day, end in zip(computed, adjusted, lock_ends):
        applies = first < day
        locked = until > day
        now = np.where(locked, lock_code if lock_code is not None else o_code, comp)
        official = np.where(applies, now, official)
        if lock_code is not None and end is not None:
            starts = applies & ~locked & (comp == lock_code)
            since = np.where(starts, day, since)
            until = np.where(starts, end, until)
    return official, since, until
