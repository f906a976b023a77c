"""The array helpers of the columnar results step (qrules/columnar/accounts.py), on hand-made arrays.

The differential tests (tests/test_columnar.py) compare whole corpora with the engine; these pin
each helper's own contract with expectations worked out by hand.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qrules.columnar.accounts import MASK_DATES, NO_DAY, date_sums, lowest_lines, mask_type, masks_for, official_classes


def ten_day_window(anchors: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """A window rule ``as_of - 10 < entry.date <= as_of`` over days, as the caller evaluates it."""
    return (anchors[:, None] > dates[None, :] - 10) & (anchors[:, None] <= dates[None, :])


def test_art7_masks_mark_the_dates_an_entry_counts_at():
    """第七条: an entry counts at a date on or after it while its anchor is inside the window."""
    dates = np.array([100, 105, 115], dtype=np.int64)
    days = np.array([95, 100, 104, 120], dtype=np.int64)
    # day 95: counts at 100 (95 > 90) only; 100: at 100 and 105; 104: at 105 only (105 > 104, 104 > 95)
    # and not at 115 (104 is not > 105); 120: after every date
    got = masks_for(days, days, dates, ten_day_window)
    assert got.tolist() == [0b001, 0b011, 0b010, 0]


def test_art7_masks_read_the_anchor_not_the_date():
    """A repair counts from its own date but in the window of its deduction (its anchor)."""
    dates = np.array([100, 112], dtype=np.int64)
    got = masks_for(np.array([105]), np.array([95]), dates, ten_day_window)
    assert got.tolist() == [0]  # its anchor 95 is outside both windows
    got = masks_for(np.array([105]), np.array([104]), dates, ten_day_window)
    assert got.tolist() == [0b10]  # dated 105: not yet at 100; anchor 104 inside the window of 112


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(-15, 15)), min_size=1, max_size=30),
       st.sets(st.integers(0, 400), min_size=1, max_size=MASK_DATES), st.booleans())
@settings(max_examples=120, deadline=None)
def test_art7_masks_equal_a_plain_reading_for_any_number_of_dates(entries, dates, far):
    """第七条: bit ``k`` of an entry's mask is set exactly when the entry is dated on or before
    ``dates[k]`` and its anchor is inside the window there, whatever the masks' width (8 to 64 bits,
    :func:`mask_type`) and whether the days lie close together (read from tables of days) or
    centuries apart (searched)."""
    shift = 100_000 if far else 0  # one entry far from the others: the searched paths
    days = np.array([d for d, _ in entries], dtype=np.int64)
    anchors = np.array([d + a for d, a in entries], dtype=np.int64)
    days[0] += shift
    anchors[0] += shift
    at = np.array(sorted(dates), dtype=np.int64)
    got = masks_for(days, anchors, at, ten_day_window)
    assert got.dtype == mask_type(len(at))
    want = [sum(1 << k for k, d in enumerate(at.tolist()) if day <= d and d - 10 < anchor <= d)
            for day, anchor in zip(days.tolist(), anchors.tolist())]
    assert [int(m) for m in got] == want


def test_art8_sums_stay_exact_integers_with_the_widest_masks():
    """Scores are exact: with more than 32 dates (64-bit masks) the sums are still made in int64 —
    2**62 + 1 survives, where any float64 step (numpy's int64 × uint64) would round it to 2**62."""
    got = date_sums(np.array([0, 0]), 1, np.array([1, 1], dtype=np.uint64), np.array([2**62, 1]),
                    np.array([True, True]), 40, 0)
    assert got.total.dtype == np.int64 and int(got.total[0, 0]) == 2**62 + 1


def test_mask_width_follows_the_number_of_dates():
    assert [mask_type(k) for k in (1, 8, 9, 16, 17, 32, 33, 60)] == [np.uint8, np.uint8, np.uint16, np.uint16,
                                                                     np.uint32, np.uint32, np.uint64, np.uint64]


def test_art8_sums_per_group_and_date_and_counts_at_the_as_of_date():
    """Totals and entries in the window per (group, date); the three counts at one date only."""
    group = np.array([0, 0, 1, 1, 1])
    mask = np.array([0b11, 0b10, 0b01, 0b11, 0b11])
    points = np.array([-30, -10, 5, 0, -60])
    ded = np.array([True, True, False, True, True])
    s = date_sums(group, 3, mask, points, ded, 2, 1)
    assert s.total.tolist() == [[-30, -40], [-55, -60], [0, 0]]
    assert s.count.tolist() == [[1, 2], [3, 2], [0, 0]]
    # at date 1: group 0 has both deductions; group 1 the zero-point deduction and the -60 one
    assert s.live_deductions.tolist() == [2, 2, 0]
    assert s.entries_counted.tolist() == [2, 1, 0]
    assert s.deductions.tolist() == [2, 1, 0]
    lean = date_sums(group, 3, mask, points, ded, 2, 1, counts=False)  # the counts only when asked for
    assert lean.count is None and lean.total.tolist() == s.total.tolist()


masks = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2**7 - 1), st.integers(-60, 30)), max_size=40)


@given(masks)
@settings(max_examples=80, deadline=None)
def test_art8_sums_per_group_and_date_equal_plain_sums(rows):
    """第七条、第八条: each group's sum and count of entries at each date (the entries weighted by
    whether they count there) equal a plain sum over the entries whose mask has the date's bit."""
    group = np.array([g for g, _, _ in rows], dtype=np.int64)
    mask = np.array([m for _, m, _ in rows], dtype=np.int64)
    points = np.array([p for _, _, p in rows], dtype=np.int64)
    got = date_sums(group, 5, mask, points, points < 0, 7, 3)
    want = [[sum(p for g, m, p in rows if g == grp and m >> k & 1) for k in range(7)] for grp in range(5)]
    count = [[sum(1 for g, m, _ in rows if g == grp and m >> k & 1) for k in range(7)] for grp in range(5)]
    assert got.total.tolist() == want and got.count.tolist() == count
    assert got.live_deductions.tolist() == [sum(1 for g, m, p in rows if g == grp and m >> 3 & 1 and p < 0)
                                            for grp in range(5)]


def test_art10_lowest_line_ties_go_to_the_smallest_product_id():
    """第十条: per producer and date the lowest held line; a tie to the first row (the smallest
    product id, the rows being sorted by it); a producer holding no line gets -1."""
    total = np.array([[-20, 0], [-20, -5], [-30, 0], [0, 0], [-10, -10]])
    held = np.array([[True, True], [True, True], [False, True], [False, False], [True, False]])
    starts = np.array([0, 3])  # producer 0: lines 0-2; producer 1: lines 3-4
    got = lowest_lines(total, held, starts)
    # producer 0 at date 0: line 2 (-30) is not held, lines 0 and 1 tie at -20 -> line 0;
    # at date 1: line 1 (-5) is the lowest. Producer 1: line 4 at date 0, nothing held at date 1.
    assert got.tolist() == [[0, 1], [4, -1]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(-5, 5), st.booleans()), min_size=1, max_size=12))
def test_art10_lowest_line_matches_a_plain_minimum(rows):
    """Property: for one date, the row chosen is the plain minimum of (total, row) over held lines."""
    rows.sort(key=lambda r: r[0])
    producers = np.array([r[0] for r in rows])
    total = np.array([[r[1]] for r in rows])
    held = np.array([[r[2]] for r in rows])
    starts = np.flatnonzero(np.r_[True, producers[1:] != producers[:-1]])
    got = lowest_lines(total, held, starts)[:, 0].tolist()
    ends = list(starts[1:]) + [len(rows)]
    want = []
    for a, b in zip(starts, ends):
        held_rows = [(rows[i][1], i) for i in range(a, b) if rows[i][2]]
        want.append(min(held_rows)[1] if held_rows else -1)
    assert got == want


def test_art26_lock_holds_the_class_until_it_ends():
    """第二十六条第二款: a subject falling into D is held in D until the lock ends, whatever its score
    says meanwhile; a subject is adjusted only on dates after its first record."""
    A, B, D, O = 0, 1, 3, 4
    computed = [np.array([D, B, A]), np.array([A, D, A]), np.array([A, A, B])]
    days = [10, 20, 30]
    first = np.array([5, 5, 25])  # the third subject's first record comes after the first two dates
    ends = [25, 35, 45]  # each lock lasts 15 days from its date
    official, since, until = official_classes(computed, first, days, O, D, ends)
    # subject 0: D at 10 (locked to 25), A at 20 still D, A at 30 -> A; its lock is remembered
    # subject 1: B at 10, D at 20 (locked to 35), A at 30 still D
    # subject 2: not adjusted at 10 and 20 (first record on day 25), B at 30
    assert official.tolist() == [A, D, B]
    assert since.tolist() == [10, 20, -1] and until.tolist() == [25, 35, -1]


def test_art26_no_lock_follows_the_last_class():
    A, C, O = 0, 2, 4
    official, since, until = official_classes([np.array([C, A]), np.array([A, C])], np.array([0, NO_DAY]),
                                              [10, 20], O, None, [None, None])
    assert official.tolist() == [A, O]  # the second subject has no record: never adjusted
    assert since.tolist() == [-1, -1] and until.tolist() == [-1, -1]
