"""The window search (qrules.columnar.window) and the hashed keys (qrules.columnar.keys) of the
columnar backend, against the plain definitions.

第七条's window counts an entry at an as-of date when the ruleset's rule says so; the columnar
backend finds a row's earlier rows inside its window by binary search when the rule is one run of
dates ending on the as-of date, and must say when it is not (then rows are paired as before).
Joins, groups and first rows over 64-bit hashes of ids must give exactly what the keys give, also
when hashes collide (forced here).
"""

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from qrules.columnar.window import LAST_ASKED, earliest_in_window, pairs_in_window, window_bounds, window_runs

# "as_of - 36 months < entry.date <= as_of" as the backend compiles it, over p_date (entry) and date (as-of)
WINDOW = (pl.col("p_date") > pl.col("date").dt.offset_by("-36mo")) & (pl.col("p_date") <= pl.col("date"))


def brute(groups, dates, inside):
    """For each row (sorted by group, date): the earlier rows of its group inside its window."""
    return [[j for j in range(i) if groups[j] == groups[i] and inside(dates[j], dates[i])] for i in range(len(dates))]


def months_36(p, d):
    y, m = divmod(d.month - 1 - 36, 12)
    lo = d.replace(year=d.year + y, month=m + 1, day=min(d.day, 28)) if d.day > 28 else \
        d.replace(year=d.year + y, month=m + 1)
    return lo < p <= d


rows = st.lists(st.tuples(st.integers(0, 3), st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31))), max_size=40)


@given(rows)
@settings(max_examples=60, deadline=None)
def test_art7_earlier_rows_in_window_equal_pairing_every_row(data):
    """Each row's earlier rows inside a 36-month window: binary search = checking every pair."""
    data = sorted(data)
    groups = np.array([g for g, _ in data], dtype=np.int64)
    dates = [d for _, d in data]
    runs = window_runs(pl, WINDOW, pl.Series(dates, dtype=pl.Date))
    assert runs is not None
    first = earliest_in_window(groups, np.array(dates, dtype="datetime64[D]"), runs)
    inner, outer = pairs_in_window(first)
    got = [sorted(outer[inner == i].tolist()) for i in range(len(dates))]
    want = brute(groups, dates, lambda p, d: pl.select(
        pl.lit(p).alias("p_date"), pl.lit(d).alias("date")).select(WINDOW).item())
    assert got == want


def test_art7_window_on_example_dates():
    """Hand-computed: entries on 2021-01-01, 2022-06-30 and 2024-01-02 of one subject; at 2024-01-02
    the 36-month window starts after 2021-01-02, so 2021-01-01 is out and 2022-06-30 in."""
    dates = [dt.date(2021, 1, 1), dt.date(2022, 6, 30), dt.date(2024, 1, 2)]
    runs = window_runs(pl, WINDOW, pl.Series(dates, dtype=pl.Date))
    first = earliest_in_window(np.zeros(3, dtype=np.int64), np.array(dates, dtype="datetime64[D]"), runs)
    assert first.tolist() == [0, 0, 1]


def test_window_not_one_run_is_refused():
    """A rule leaving a gap (not counting entries exactly six months old) is not one run of dates: at
    2024-05-01 it counts 2023-08-01 and 2024-02-01 but not 2023-11-01 between them."""
    gap = WINDOW & (pl.col("p_date") != pl.col("date").dt.offset_by("-6mo"))
    dates = [dt.date(2023, 8, 1), dt.date(2023, 11, 1), dt.date(2024, 2, 1), dt.date(2024, 5, 1)]
    assert window_runs(pl, gap, pl.Series(dates, dtype=pl.Date)) is None


def test_window_excluding_its_own_day_is_refused():
    """A rule that does not count the as-of date itself is not a run ending on it: no runs."""
    strict = (pl.col("p_date") > pl.col("date").dt.offset_by("-36mo")) & (pl.col("p_date") < pl.col("date"))
    assert window_runs(pl, strict, pl.Series([dt.date(2024, 1, 1), dt.date(2024, 2, 1)], dtype=pl.Date)) is None


def test_art7_window_with_a_gap_both_backends_agree(tmp_path):
    """A province's window that skips entries exactly 12 months old (not one run of dates): the
    columnar backend pairs rows instead of searching, and agrees with the engine subject by subject
    on ordinals (第十五条), repairs in the period and the reward cap (第十八条)."""
    from pathlib import Path

    from test_columnar import compare, synth_corpus

    from qrules.versioned import load

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "gap.yaml").write_text(f"""qrules: 1
ruleset: gap-window
extends: {root / "rulesets" / "guangdong-2021.yaml"}
version: test
title: 统计周期跳过满一年的记录
window:
  counts: "as_of - window < entry.date <= as_of and entry.date != as_of - 12 months"
""", encoding="utf-8")
    compiled = load(tmp_path / "gap.yaml")
    assert compare(compiled, synth_corpus(1500, 3)) > 1000


def _rule(text: str):
    from qrules.errors import Diagnostics, SourceMap
    from qrules.language import parser

    return parser.parse(text, SourceMap.at("window.yaml", 1, 1), Diagnostics())


def test_art7_window_rules_that_count_one_interval_of_dates():
    """Comparisons of entry.date itself joined by `and` count one interval at every as-of date; a
    gap (!=), an `or`, or entry.date inside arithmetic may not, so those are tested pair by pair."""
    from qrules.columnar.window import is_interval

    assert is_interval(_rule("as_of - window < entry.date <= as_of"))
    assert is_interval(_rule("as_of - window < entry.date and as_of >= entry.date"))
    assert not is_interval(_rule("as_of - window < entry.date <= as_of and entry.date != as_of - 12 months"))
    assert not is_interval(_rule("entry.date <= as_of - window or entry.date == as_of"))
    assert not is_interval(_rule("entry.date + window > as_of"))
    assert not is_interval(_rule("true"))


@given(st.lists(st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31)), max_size=40))
@settings(max_examples=60, deadline=None)
def test_art7_interval_search_equals_testing_every_pair(dates):
    """For a rule that counts one interval, each date's run found by bisection = the one found by
    testing every pair of dates (and both refuse a rule that does not count its own day)."""
    series = pl.Series(dates, dtype=pl.Date)
    fast, slow = window_runs(pl, WINDOW, series, interval=True), window_runs(pl, WINDOW, series)
    assert fast[0].tolist() == slow[0].tolist() and fast[1].tolist() == slow[1].tolist()
    ready = window_runs(pl, WINDOW, pl.Series(sorted(set(dates)), dtype=pl.Date), interval=True)  # as a run asks
    assert ready[0].tolist() == slow[0].tolist() and ready[1].tolist() == slow[1].tolist()
    strict = (pl.col("p_date") > pl.col("date").dt.offset_by("-36mo")) & (pl.col("p_date") < pl.col("date"))
    assert (window_runs(pl, strict, series, interval=True) is None) == (window_runs(pl, strict, series) is None)


def test_art7_interval_search_on_example_dates():
    """Hand-computed: at 2024-01-02 a 36-month window starts after 2021-01-02, so of 2021-01-01,
    2022-06-30 and 2024-01-02 the run starts at 2022-06-30 (index 1); at 2022-06-30 at 2021-01-01."""
    dates = [dt.date(2021, 1, 1), dt.date(2022, 6, 30), dt.date(2024, 1, 2)]
    _, lo = window_runs(pl, WINDOW, pl.Series(dates, dtype=pl.Date), interval=True)
    assert lo.tolist() == [0, 0, 1]


def _day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def test_art7_window_bounds_are_the_first_and_last_calendar_days_counted_and_kept_for_later_runs():
    """Hand-computed: at 2024-03-31 "as_of - 36 months < entry.date <= as_of" first counts 2021-04-01
    (2021-03-31 itself is not after as_of - 36 months) and last counts 2024-03-31; at 2021-01-01 it
    counts 2018-01-02 to 2021-01-01. The bounds are the rule's alone: a second call with the same memo
    evaluates nothing (a rule that would fail if evaluated gives the same answer)."""
    memo: dict = {}
    days = np.array([_day(dt.date(2021, 1, 1)), _day(dt.date(2024, 3, 31))], dtype=np.int64)
    starts, ends = window_bounds(pl, WINDOW, days, memo)
    assert starts.tolist() == [_day(dt.date(2018, 1, 2)), _day(dt.date(2021, 4, 1))]
    assert ends.tolist() == days.tolist()
    failing = pl.col("no such column") > 0
    again = window_bounds(pl, failing, days, memo)
    assert again[0].tolist() == starts.tolist() and again[1].tolist() == ends.tolist()


def test_art7_window_bounds_of_a_window_reaching_past_its_day_and_of_one_without_end():
    """A window counting ten days after the as-of date ends there (2024-01-12 for 2024-01-02); one
    with no lower bound starts on the first day a history can hold (0001-01-01)."""
    ahead = (pl.col("p_date") > pl.col("date").dt.offset_by("-36mo")) & (pl.col("p_date") <= pl.col("date").dt.offset_by("10d"))
    day = np.array([_day(dt.date(2024, 1, 2))])
    assert window_bounds(pl, ahead, day, {})[1].tolist() == [_day(dt.date(2024, 1, 12))]
    assert window_bounds(pl, pl.col("p_date") <= pl.col("date"), day, {})[0].tolist() == [_day(dt.date(1, 1, 1))]


def test_art7_window_bounds_of_a_rule_not_counting_its_own_day_are_none():
    """A window that does not count the as-of date itself is not a run ending there: no bounds, and
    the caller pairs rows instead (window_runs gives None, with or without a memo)."""
    strict = (pl.col("p_date") > pl.col("date").dt.offset_by("-36mo")) & (pl.col("p_date") < pl.col("date"))
    memo: dict = {}
    assert window_bounds(pl, strict, np.array([_day(dt.date(2024, 1, 2))]), memo) is None
    assert {k: v for k, v in memo.items() if k != LAST_ASKED} == {_day(dt.date(2024, 1, 2)): None}
    assert list(memo[LAST_ASKED].values()) == [None]  # the last days asked, kept with their answer
    assert window_runs(pl, strict, pl.Series([dt.date(2024, 1, 2)], dtype=pl.Date), interval=True, memo=memo) is None


def test_art9_heaviest_per_product_and_event_is_exact_even_if_hashes_collide():
    """第九条第一款 on a product line: one deduction per (product, event), the heaviest (the most
    negative points), the product's own (src 0) on a tie. Hand-built rows; then the same with every
    key given one hash (a forced collision): the keys themselves decide, same answer."""
    from qrules.columnar.keys import first_per_key

    rows = pl.DataFrame({"product": ["p1", "p1", "p1", "p2", "p2", "p1"],
                         "event": ["e1", "e1", "e2", "e1", "e1", "e3"],
                         "points": [-10, -30, -10, -20, -20, -5],
                         "src": [0, 1, 0, 1, 0, 1]})
    want = {("p1", "e1"): (-30, 1), ("p1", "e2"): (-10, 0), ("p2", "e1"): (-20, 0), ("p1", "e3"): (-5, 1)}
    for key_hash in (None, pl.lit(7, dtype=pl.UInt64)):
        got = first_per_key(pl, rows, ["product", "event"], ["points", "src"], key_hash)
        assert {(r["product"], r["event"]): (r["points"], r["src"]) for r in got.iter_rows(named=True)} == want
        assert got.columns == rows.columns


def test_art2_subject_lookup_finds_rows_exactly_or_says_it_cannot():
    """Each name an event holds is looked up in the subjects (第二条: known, in scope): the hashed
    lookup gives each name's row — null for an unknown or absent name, order kept; a hash that
    matches another id's counts for nothing (the ids are compared); and when two subject ids share a
    hash (forced) it says so (None), and the caller joins on the ids themselves."""
    from qrules.columnar.keys import hash_rows

    table = pl.Series(["op1", "op2", "p1"])
    names = pl.Series(["p1", "nobody", "op1", None, "p1"])
    assert hash_rows(pl, names, table, {}).to_list() == [2, None, 0, None, 2]
    assert hash_rows(pl, names, table, {}, np.zeros(3, dtype=np.uint64)) is None
    forged = pl.Series(["zzz", "op2", "p1"]).hash().to_numpy()  # "zzz" hashes to op1's row
    assert hash_rows(pl, pl.Series(["zzz", "op2"]), table, {}, forged).to_list() == [None, 1]
