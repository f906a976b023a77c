"""Scores, classes and rows for the columnar backend: each subject's account at the half-year
score dates and the as-of date (第七条、第八条、第十条), its class (第二十六条第一款), the adjustments
and the D lock (第二十六条第二款), measures and flags (第二十七条), and the result rows.

Pipeline position: the last steps of :class:`qrules.columnar.run.Run` (a mixin).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import numpy as np

from .accounts import MASK_DATES, NO_DAY, DateSums, date_sums, lowest_lines, masks_for, official_classes
from .common import MEMORY, dense_codes, distinct_ints, tally_events
from .keys import first_per_key
from .polarsexpr import scaled_text, to_scaled


class ResultSteps:
    """The result steps of a :class:`~qrules.columnar.run.Run`: accounts at every score date, classes, adjustments, rows."""

    # -- scores, classes, adjustments, rows ----------------------------------------------------

    def classify(self, score: Any) -> Any:
        """第二十六条第一款: the first class whose rule holds, as one expression over a scaled score."""
        pl, b = self.pl, self.b
        out = pl.lit("O")
        for name in reversed(self.c.class_order):
            test = b.expr(self.c.class_exprs[name], "classes.when", {("score",): score})
            out = pl.when(test).then(pl.lit(name)).otherwise(out)
        return out

    def window_counts(self, anchors: np.ndarray, dates: np.ndarray) -> np.ndarray:
        """The window rule (第七条) at each of ``dates`` for each anchor (days since 1970): a
        (anchors × dates) boolean array. A rule counting one interval of days around each date is
        its bounds at each date (:func:`qrules.columnar.window.window_bounds`, kept by the backend);
        another is evaluated once over the pairs."""
        from .window import is_interval, window_bounds

        pl = self.pl
        if is_interval(self.c.exprs["window.counts"].node):
            bounds = window_bounds(pl, self.b.win("p_date", "date"), dates, self.b.window_memo)
            if bounds is not None:
                return (anchors[:, None] >= bounds[0][None, :]) & (anchors[:, None] <= bounds[1][None, :])
        grid = pl.DataFrame({"anchor": np.repeat(anchors, len(dates)), "at": np.tile(dates, len(anchors))},
                            schema={"anchor": pl.Int64, "at": pl.Int64}).with_columns(
            pl.col("anchor", "at").cast(pl.Int32).cast(pl.Date))
        ok = grid.select(self.b.win("anchor", "at").fill_null(False)).to_series().to_numpy()
        return ok.reshape(len(anchors), len(dates))

    def date_sums(self, group: np.ndarray, n: int, frame: Any, days: np.ndarray, k_now: int,
                  counts: bool) -> DateSums:
        """:func:`qrules.columnar.accounts.date_sums` of ``frame``'s entries (date, anchor, kind,
        points) in ``n`` groups at ``days``, in blocks of :data:`MASK_DATES` dates."""
        e_day, anchor = _days(frame["date"]), _days(frame["anchor"])
        points = frame["points"].to_numpy().astype(np.int64)
        ded = (frame["kind"] == "deduction").to_numpy()
        blocks = []
        for lo in range(0, len(days), MASK_DATES):
            block = days[lo:lo + MASK_DATES]
            mask = masks_for(e_day, anchor, block, self.window_counts)
            now = k_now - lo if lo <= k_now < lo + len(block) else 0
            blocks.append((lo <= k_now < lo + len(block),
                           date_sums(group, n, mask, points, ded, len(block), now, counts)))
        if len(blocks) == 1:
            return blocks[0][1]
        at_now = next(s for here, s in blocks if here)
        return DateSums(total=np.hstack([s.total for _, s in blocks]),
                        count=np.hstack([s.count for _, s in blocks]) if counts else None,
                        live_deductions=at_now.live_deductions, entries_counted=at_now.entries_counted,
                        deductions=at_now.deductions)

    def line_entries(self, entries: Any, line_rewards: Any) -> Any:
        """第十条 within a producer's line (brief §3, Art 10): the product's entries and the producer's
        own-behaviour entries and those linked from this product's events; one deduction per event,
        the heaviest (the product's on a tie, 第九条); a repair with the deduction it repaired; the
        rewards as the line's cap left them. Each row names its line by ``li`` (:meth:`lines`)."""
        pl = self.pl
        lines = self.lines()
        mine = entries.lazy().join(lines.lazy().select("product", "producer", "li", pos=pl.col("product_pos")),
                                   on="pos").with_columns(src=pl.lit(0))
        # an entry linked from a product the operator does not produce (it sold it, 第十二条第（一）项) is its
        # own behaviour: in every term; one linked from another of its own products stays in that one's.
        # (The producers of the few products entries are linked from, in one left join and one filter: a
        # join over every subject, or the rows split and put together again, held 0.1-0.2 GB more at 1M.)
        linked = entries["via_product"].drop_nulls().unique()
        owners = self.S.lazy().filter(pl.col("id").is_in(linked.implode())).select(
            via_product=pl.col("id"), vp_producer=pl.col("producer"))
        theirs = entries.lazy().join(lines.lazy().select("product", "li", pos=pl.col("producer_pos")), on="pos").join(
            owners, on="via_product", how="left").filter(
            pl.col("via_product").is_null() | (pl.col("via_product") == pl.col("product"))
            | pl.col("vp_producer").ne_missing(pl.col("subject"))).drop("vp_producer").with_columns(
            producer=pl.col("subject"), src=pl.lit(1))
        both = pl.concat([mine, theirs], how="diagonal_relaxed").collect(engine=MEMORY)  # both joins at once
        # (line, event, src) is unique: the heaviest first, then keep the first row per (line, event)
        ded = first_per_key(pl, both.filter(pl.col("kind") == "deduction"), ["li", "event"], ["points", "src"])
        rep = both.filter(pl.col("kind") == "repair")
        kept = ded.filter(pl.col("event").is_in(rep["of_event"].unique().implode()))  # the few repaired ones
        rep = rep.join(kept.select("li", of_event=pl.col("event"), of_subject=pl.col("subject")),
                       on=["li", "of_event", "of_subject"], how="semi")
        rew = both.filter(pl.col("kind") == "reward").join(line_rewards, on=["product", "event", "subject"],
                                                           how="left").with_columns(
            points=pl.col("line_points").fill_null(pl.col("points"))).drop("line_points")
        return pl.concat([x.select("li", "date", "anchor", "kind", "points") for x in (ded, rep, rew)])

    def accounts(self, entries: Any, line_rewards: Any, dates: list[dt.date], pos: np.ndarray,
                 first_own: np.ndarray) -> SimpleNamespace:
        """Each subject's account at each of ``dates`` (sorted, the as-of date among them) as arrays
        over its row in the subjects (:mod:`qrules.columnar.accounts`): ``total`` and ``scored``
        (subjects × dates) — its own entries in the window, or for a producer holding a product
        line its lowest line (第十条); scored by its own record (第八条: from its first entry, or
        while it has entries in the window when ``stays_scored`` is false) or through a line.
        ``pos``: the row of each entry's subject; ``first_own``: each subject's first own record (days);
        ``determined_by``: the line deciding it at the as-of date (-1: none); the counts at the
        as-of date."""
        stays = bool(self.c.params.get("stays_scored", True))
        n = self.S.height
        days = np.array([_day(d) for d in dates], dtype=np.int64)
        k_now = dates.index(self.as_of)
        lines = self.lines()

        def line_sums(run: Any) -> DateSums:  # the lines' sums, made beside the subjects' own
            line = run.line_entries(entries, line_rewards)
            return run.date_sums(line["li"].to_numpy().astype(np.int64), lines.height, line, days, k_now, counts=False)
        side = self.beside(line_sums, first=False) if lines.height else None
        own = self.date_sums(pos, n, entries, days, k_now, counts=not stays)
        sums = self.joined(side) if side is not None else None
        scored = first_own[:, None] <= days[None, :] if stays else own.count > 0
        out = SimpleNamespace(total=own.total, scored=scored, determined_by=np.full(n, -1, dtype=np.int64),
                              live_deductions=own.live_deductions, entries_counted=own.entries_counted,
                              deductions=own.deductions, k_now=k_now)
        if sums is None:
            return out
        product, producer = lines["product_pos"].to_numpy(), lines["producer_pos"].to_numpy()
        # a line is held from its product's first record (第八条), or while the product has entries in
        # the window when a subject does not stay scored
        held = first_own[product][:, None] <= days[None, :] if stays else own.count[product] > 0
        starts = np.flatnonzero(np.r_[True, producer[1:] != producer[:-1]])
        best = lowest_lines(sums.total, held, starts)
        p_idx, k_idx = np.nonzero(best >= 0)
        at = producer[starts][p_idx]
        out.total[at, k_idx] = sums.total[best[p_idx, k_idx], k_idx]
        out.scored[at, k_idx] = True
        now = best[:, k_now]
        has = now >= 0
        at, line_now = producer[starts][has], now[has]
        out.determined_by[at] = line_now
        for name in ("live_deductions", "entries_counted", "deductions"):
            getattr(out, name)[at] = getattr(sums, name)[line_now]
        return out

    def class_codes(self, score: np.ndarray, start: int, names: list[str]) -> np.ndarray:
        """The class (第二十六条第一款) of each account total (scaled, before the start score), as
        an index into ``names``: the ruleset's class rules evaluated once per distinct total (the
        backend's ``class_memo`` keeps them for its later runs)."""
        pl = self.pl
        values, at = dense_codes(score.ravel().astype(np.int64))  # the totals present (a few dozen)
        memo = self.b.class_memo
        todo = [v for v in values.tolist() if v not in memo]
        if todo:  # the class rules over column "s", compiled once per ruleset, for the totals not seen yet
            rule = self.b.__dict__.get("_classify_s")
            if rule is None:
                rule = self.b.__dict__.setdefault("_classify_s", self.classify(pl.col("s")))
            got = pl.DataFrame({"s": np.array(todo, dtype=np.int64) + start}).select(rule).to_series().to_list()
            memo.update(zip(todo, got))
        code = {name: i for i, name in enumerate(names)}
        return np.array([code[memo[v]] for v in values.tolist()], dtype=np.int64)[at].reshape(score.shape)

    def results(self, entries: Any, line_rewards: Any) -> dict:
        pl, b, c = self.pl, self.b, self.c
        start = to_scaled(Decimal(c.params["start_score"]), b.scale)
        S = self.S
        in_scope = not (S.height - S["exc_code"].null_count())  # no subject excluded: no filter (a query)
        subj = pl.DataFrame([S["id"].alias("subject"), S["kind"], S["name"], S["pos"]]) if in_scope else \
            S.filter(pl.col("exc_code").is_null()).select("id", "kind", "name", "pos").rename({"id": "subject"})
        # every step has refused and counted what it does: the events are tallied beside the accounts
        refusals, counted = list(self.rej), list(self.counted)
        tally = self.beside(lambda run: tally_events(pl, refusals, counted, self.t.events.height), first=False)
        at = subj["pos"].to_numpy()
        pos = entries["pos"].to_numpy().astype(np.int64)  # each entry's subject as its row in the subjects
        first_own = np.full(S.height, NO_DAY, dtype=np.int64)  # each subject's first own record
        np.minimum.at(first_own, pos, _days(entries["date"]))
        first = first_own.copy()  # a producer's first record: its lines' too (第十条)
        lines = self.lines()
        if lines.height:
            np.minimum.at(first, lines["producer_pos"].to_numpy(), first_own[lines["product_pos"].to_numpy()])
        dates: list = []
        if c.adjustment_dates:
            # 第二十六条第二款: adjustments from the first record
            earliest = int(first[at].min()) if at.size else NO_DAY
            dates = self.adjustment_dates(None if earliest == NO_DAY else _date(earliest))
        score_days = sorted({self.as_of} | {sd for _, sd in dates})
        acc = self.accounts(entries, line_rewards, score_days, pos, first_own)
        names = list(dict.fromkeys([*c.class_order, "O"]))
        o_code = names.index("O")
        k_now = acc.k_now
        scored = acc.scored[at, k_now]
        live = np.where(scored, self.class_codes(acc.total[at, k_now], start, names), o_code)
        official, locks = self.official(acc, at, first, dates, score_days, start, names)
        if not c.params.get("new_subject_waits", True):  # a subject scored since the last adjustment: its live class
            official = np.where((official == o_code) & scored, live, official)
        # the output columns as Series, without a query (planning one over every column cost more than
        # its work on a small corpus); the classes by index
        classes = pl.Series(names, dtype=pl.Utf8)
        official_class = classes[official].alias("official_class")  # (indexing: ``gather`` is a query)
        counts = {name: pl.Series(name, getattr(acc, name)[at], dtype=pl.Int64)
                  for name in ("live_deductions", "entries_counted", "deductions")}
        flags = []
        for name, expr in c.flag_whens.items():
            got = b.expr(expr, "information_use.when", b._flag_columns())
            flags.append(pl.when(got[0] if isinstance(got, tuple) else got).then(pl.lit(name)))
        if flags:  # 第二十九条至第三十二条 (information use): the flags' rules over the columns they read
            score_int = pl.Series("score_int", acc.total[at, k_now] + start).set(pl.Series(~scored), None)
            flag_column = pl.DataFrame([official_class, subj["kind"], counts["live_deductions"],
                                        pl.Series("scored", scored), score_int]).select(
                flags=pl.concat_str(flags, separator=";", ignore_nulls=True).fill_null("")).to_series()
        else:
            flag_column = pl.Series("flags", [""], dtype=pl.Utf8).new_from_index(0, at.size)
        lines = self.lines()["product"]  # the line deciding it (-1: none, the null after the lines)
        determined_by = lines.extend_constant(None, 1)[np.where(acc.determined_by[at] < 0, len(lines), acc.determined_by[at])]
        lock_class, lock_since, lock_until = locks
        # the flat output columns of :func:`qrules.batch.output_row`, in the subjects' input order
        rows = pl.DataFrame([
            subj["subject"].alias("id"), subj["kind"], subj["name"], pl.Series("scored", scored),
            self.score_texts(acc.total[at, k_now] + start, scored), classes[live].alias("live_class"),
            official_class, lock_class, lock_since.cast(pl.Utf8), lock_until.cast(pl.Utf8),
            determined_by.alias("determined_by"), *self.measures(official, names), counts["entries_counted"],
            counts["deductions"], flag_column.alias("flags")])
        rej, n_counted, n_rejected = self.joined(tally)
        excluded = S[["id", "exc_reason", "exc_cite", "exc_code"]]
        excluded = excluded.head(0) if in_scope else excluded.filter(pl.col("exc_code").is_not_null())

        def by(codes: np.ndarray) -> dict[str, int]:  # subjects per class
            return dict(sorted((names[k], int(n)) for k, n in enumerate(np.bincount(codes, minlength=len(names))) if n))
        return {"rows": rows, "rejections": rej, "excluded": excluded, "warnings": self.warnings,
                "notes": self.version_notes([t for t, _ in dates]),
                "events": self.t.events.height,
                "events_counted": n_counted, "events_rejected": n_rejected,
                "rejected_by_code": dict(sorted((k, int(v)) for k, v in rej["code"].value_counts().iter_rows())),
                "by_official_class": by(official), "by_live_class": by(live)}

    def official(self, acc: SimpleNamespace, at: np.ndarray, first: np.ndarray, dates: list, score_days: list[dt.date], start: int,
                 names: list[str]) -> tuple[np.ndarray, list]:
        """第二十六条第二款: the official class and the lock of each subject (rows ``at``) from its
        class at each half-year score date, in date order (:func:`qrules.columnar.accounts.official_classes`):
        (the official classes as indexes into ``names``, the lock's columns)."""
        pl, c, m = self.pl, self.c, self.m
        o_code = names.index("O")
        if not dates:  # no adjustment yet: the official class is O for every subject, nothing locked
            return np.full(at.size, o_code, dtype=np.int64), [
                pl.Series("lock_class", [None], dtype=pl.Utf8).new_from_index(0, at.size),
                *(pl.Series(name, [None], dtype=pl.Date).new_from_index(0, at.size) for name in ("lock_since", "lock_until"))]
        lock = m.adjustment.lock
        lock_class = lock.class_ if lock else None
        # no lock without a class to lock in and a length to hold it
        lock_code = names.index(lock_class) if lock_class in names and c.lock_duration is not None else None
        computed, lock_ends = [], []
        for t, sd in dates:
            k = score_days.index(sd)
            scored = acc.scored[at, k]
            computed.append(np.where(scored, self.class_codes(acc.total[at, k], start, names), o_code))
            lock_ends.append(_day(pl.select(self.b.pc.shift(pl.lit(t), c.lock_duration, 1)).item())
                             if lock_code is not None else None)
        official, since, until = official_classes(computed, first[at], [_day(t) for t, _ in dates], o_code,
                                                  lock_code, lock_ends)
        active = (official == lock_code) & (until > _day(self.as_of)) if lock_code is not None \
            else np.zeros(at.size, dtype=bool)

        def day_column(values: np.ndarray, name: str) -> Any:
            return pl.Series(name, np.where(active, values, 0), dtype=pl.Int32).cast(pl.Date).set(
                pl.Series(~active), None)
        return official, [pl.Series("lock_class", [lock_class, None], dtype=pl.Utf8)[(~active).astype(np.int64)],
                          day_column(since, "lock_since"), day_column(until, "lock_until")]

    def version_notes(self, adjustment_dates: list[dt.date]) -> list:
        """Brief §4a, as the engine says it: the as-of date, events (deductions, repairs, rewards)
        and adjustments dated when the version was not in force; ``--require-in-force`` refuses them."""
        from ..engine import refuse_out_of_force, require_in_force, timeline_of, version_notes

        tl = self.b.tl or timeline_of(self.c)
        days = self.event_days.to_numpy().astype("datetime64[D]")
        covered = np.zeros(len(days), dtype=bool)
        for p in tl.pieces:  # the days some version covers need no note: only the others are looked at
            covered |= (days >= np.datetime64(p.start)) & ((days <= np.datetime64(p.until)) if p.until else True)
        decided = [n for n in map(tl.out_of_force, days[~covered].tolist()) if n is not None]
        notes = version_notes(tl, self.as_of, decided,
                              [SimpleNamespace(adjustments=[SimpleNamespace(date=t) for t in adjustment_dates])])
        if notes and require_in_force.get():
            refuse_out_of_force(notes)
        return notes

    def adjustment_dates(self, earliest: dt.date | None) -> list[tuple[dt.date, dt.date]]:
        """(adjustment date, score date) from the earliest first record to the as-of date."""
        c = self.c
        dates = []
        if earliest is not None and c.adjustment_dates:
            for year in range(earliest.year, self.as_of.year + 1):
                for month, day in c.adjustment_dates:
                    t = dt.date(year, month, day)
                    if earliest < t <= self.as_of:
                        dates.append((t, c.score_date(t)))
        return dates

    def score_texts(self, totals: np.ndarray, scored: np.ndarray) -> Any:
        """The score column: each subject's total (scaled) as text, null where ``scored`` is false;
        each distinct score written once (a few dozen over a corpus) and picked by its index."""
        pl = self.pl
        scores = distinct_ints(totals[scored])
        texts = pl.Series("score", [scaled_text(x, self.b.scale) for x in scores.tolist()] + [None], dtype=pl.Utf8)
        return texts[np.where(scored, np.searchsorted(scores, totals), scores.size)]  # the last text: null

    def measures(self, official: np.ndarray, names: list[str]) -> list[Any]:
        """第二十七条: the measures columns of each subject's official class (an index into ``names``);
        each class's measures made once per backend."""
        from ..engine import class_measures

        pl, b = self.pl, self.b
        made = b.__dict__.get(("_measures", tuple(names)))
        if made is None:
            ms = [class_measures(self.c, k) for k in names]
            made = b.__dict__.setdefault(("_measures", tuple(names)), [
                pl.Series("supervision", [x.mode for x in ms], dtype=pl.Utf8),
                pl.Series("notice", [x.notice for x in ms], dtype=pl.Utf8),
                pl.Series("checks_per_year", [x.checks_per_year for x in ms], dtype=pl.Int64)])
        return [m[official] for m in made]


_EPOCH = dt.date(1970, 1, 1)


def _day(date: dt.date) -> int:
    """A date as days since 1970 (what the arrays of :mod:`qrules.columnar.accounts` hold)."""
    return (date - _EPOCH).days


def _date(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


def _days(column: Any) -> np.ndarray:
    """A date column (without nulls) as days since 1970: numpy's dates viewed as integers for a
    short column (polars' cast to the physical type costs some 70 µs a call, a few times a run),
    that cast for a long one (numpy's conversion of the dates grows faster)."""
    if len(column) < 100_000:
        return column.to_numpy().view(np.int64)  # datetime64[D]: days since 1970, as int64
    return column.to_physical().to_numpy().astype(np.int64)
