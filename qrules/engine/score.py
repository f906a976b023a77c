"""Phase 2 of evaluation: scores at a date, classes, half-year adjustments, the D lock.

Entries were decided once in phase 1 (``decide``); here a score at date ``D`` is the start
score plus the entries inside the window ending at ``D`` (第七条、第八条、第十条), so the
score can be asked for any date cheaply — which the half-year adjustments need
(第二十六条第二款: the class set on 1 Jan / 1 Jul from the score of the day before).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from operator import attrgetter

from ..language.runtime import shift
from .entries import Decisions, Entry, SubjectView, exact
from .results import Adjustment, adjustment

ZERO = Decimal(0)
_MISSING = object()
_ENTRY_ORDER = attrgetter("date", "event", "kind")  # a subject's entries in order: the tuple, by a C key function


@dataclass
class Account:
    """A subject's score at a date, with the entries that produced it."""

    scored: bool
    score: Decimal | None
    entries: list[Entry]          # the entries summed (for producers: the determining line)
    determined_by: str | None = None


def _constants(compiled) -> tuple:
    """What every scorer of ``compiled`` reads from it, once per ruleset: the start score (第八条),
    whether the score stays, whether repairs lapse with their deduction (第十五条第（三）项), the
    producer rule (第十条), the lock and this version's own adjustment dates (第二十六条第二款), and
    whether the window rule reads more than the date (第七条)."""
    m = compiled.model
    return (Decimal(compiled.params["start_score"]), bool(compiled.params.get("stays_scored", True)),
            bool(m.repair.lapses_with_deduction.value),
            # 第十条 as the ruleset declares it: a producer's score is its lowest product term, or its own entries.
            m.composition.producer.rule == "lowest_product",
            m.adjustment.lock, frozenset(compiled.adjustment_dates), compiled.window_by_entry)


class Scorer:
    def __init__(self, compiled, subjects: dict[str, SubjectView], decisions: Decisions):
        self.c = compiled
        self.label = compiled.model.ruleset  # the version this scorer applies (brief §4a)
        self.all_adjustment_dates = compiled.adjustment_dates  # of every version, when there are several
        self.subjects = subjects
        self.d = decisions
        constants = compiled._window_cache.get(("scorer",))  # the memo, read without a call
        (self.start, self.stays, self.lapse, self.lowest_product, self.lock, self.adjusts_on,
         self._by_entry) = constants or compiled.memo(("scorer",), lambda: _constants(compiled))
        self._scored: dict[tuple[str, dt.date], bool] = {}
        self._accounts: dict[tuple[str, dt.date], Account] = {}
        self._line_rewards: dict[tuple[str, str], dict[int, Entry]] = {}
        # A producer's product terms (第十条) by the entries they are made of, within this scorer
        # (one evaluation): between two dates usually one product's entries change, not the others'.
        self._terms: dict[tuple, tuple[list[Entry], Decimal]] = {}
        self._first_own: dict[str, dt.date | None] = {}
        self._counted: dict[str, list[tuple[dt.date, dt.date, tuple, Entry]]] = {}
        # The window rule's memo (CompiledRuleset.in_window), read here without a call per entry;
        # its key leaves out the entry's fields when the rule reads only the date.
        self._window = compiled._window_cache
        self.products_of: dict[str, list[str]] = {}
        for s in subjects.values():
            if s.kind == "product" and s.producer and s.excluded is None:
                self.products_of.setdefault(s.producer, []).append(s.id)

    def at(self, day: dt.date) -> "Scorer":
        """The scorer for ``day`` where one version scores every date: this one."""
        return self

    def anchor(self, entry: Entry) -> dt.date:
        """The date the window rule looks at: a repair lapses with its deduction (第十五条第（三）项)."""
        return entry.of.date if (entry.kind == "repair" and self.lapse and entry.of is not None) else entry.date

    def window_key(self, entry: Entry) -> tuple:
        """(item, kind, subject kind, category) of the entry the window rule looks at (see ``anchor``)."""
        e = entry.of if (entry.kind == "repair" and self.lapse and entry.of is not None) else entry
        s = self.subjects.get(e.subject)
        return (e.code, e.kind, s.kind if s else "", (s.category or "") if s else "")

    def in_window(self, entry: Entry, at: dt.date) -> bool:
        if entry.date > at:
            return False
        of = entry.of  # ``anchor`` written out: a repair lapses with its deduction
        anchor = of.date if (of is not None and self.lapse and entry.kind == "repair") else entry.date
        key = self.window_key(entry) if self._by_entry else ()
        hit = self._window.get((anchor, at, key), _MISSING)
        return self.c.in_window(anchor, at, key) if hit is _MISSING else hit

    def counted(self, sid: str) -> list[tuple[dt.date, dt.date, tuple, Entry]]:
        """(date, anchor, window key, entry) of the subject's counted entries, in date order, once.

        ``Decider.run`` leaves every subject's entries in (date, event, kind) order, so the loops
        over this list stop at the first entry dated after the day they score."""
        counted = self._counted.get(sid)
        if counted is None:
            by_entry, lapse = self._by_entry, self.lapse
            # ``anchor`` written out: a repair lapses with its deduction (第十五条第（三）项)
            # ``e.counted`` written out, as in ``_entry_result``
            counted = self._counted[sid] = [
                (e.date, e.of.date if (lapse and e.kind == "repair" and e.of is not None) else e.date,
                 self.window_key(e) if by_entry else (), e)
                for e in self.d.entries.get(sid, ())
                if (e.status == "counted" or e.status == "capped") and (e.kind != "reward" or e.points > 0)]
        return counted

    def live_entries(self, sid: str, at: dt.date) -> list[Entry]:
        """The counted entries inside the window ending on ``at`` (第七条)."""
        window, rule = self._window, self.c.in_window
        out = []
        for date, anchor, key, e in self.counted(sid):
            if date > at:  # in date order (``Decider.run``): none of the rest is on or before ``at``
                break
            hit = window.get((anchor, at, key), _MISSING)
            if hit is _MISSING:
                hit = rule(anchor, at, key)
            if hit:
                out.append(e)
        return out

    def has_record(self, sid: str, at: dt.date) -> bool:
        """第八条: the start score is given at the first record; ``stays_scored`` keeps it afterwards."""
        key = (sid, at)
        hit = self._scored.get(key)
        if hit is None:
            hit = self._scored[key] = self._has_record(sid, at)
        return hit

    def _has_record(self, sid: str, at: dt.date) -> bool:
        if self.stays:
            first = self._first_own.get(sid, _MISSING)
            if first is _MISSING:  # the earliest of the counted entries' dates: the first, in date order
                counted = self.counted(sid)
                first = self._first_own[sid] = counted[0][0] if counted else None
            return first is not None and first <= at
        return any(e.counted and self.in_window(e, at) for e in self.d.entries.get(sid, ()))

    def account(self, sid: str, at: dt.date) -> Account:
        key = (sid, at)
        hit = self._accounts.get(key)
        if hit is None:
            hit = self._accounts[key] = self._account(sid, at)
        return hit

    def score_at(self, sid: str, at: dt.date) -> tuple[bool, Decimal | None]:
        """(scored, score) at ``at``, the same as :meth:`account` gives, without listing the entries:
        what a half-year adjustment needs (第二十六条第二款), asked at several dates per subject."""
        acc = self._accounts.get((sid, at))
        if acc is not None:
            return acc.scored, acc.score
        if self.lowest_product and self.products_of.get(sid) and self.subjects[sid].kind == "operator":
            acc = self.account(sid, at)
            return acc.scored, acc.score
        if not self.has_record(sid, at):
            return False, None
        # live_entries' loop written out again on purpose: a shared generator measured slower here
        window, rule = self._window, self.c.in_window
        total = ZERO
        for date, anchor, key, e in self.counted(sid):
            if date > at:  # in date order, as in ``live_entries``
                break
            hit = window.get((anchor, at, key), _MISSING)
            if hit is _MISSING:
                hit = rule(anchor, at, key)
            if hit:
                total += e.points  # in the order and the context of ``account``'s sum
        return True, exact(self.start + total)

    def _account(self, sid: str, at: dt.date) -> Account:
        s = self.subjects[sid]
        own = self.live_entries(sid, at)
        if s.kind == "operator" and self.lowest_product and sid in self.products_of:
            products = [p for p in self.products_of[sid] if self.has_record(p, at)]
            if products:
                best: Account | None = None
                produced = set(self.products_of[sid])
                for p in products:
                    live = self.live_entries(p, at)
                    # Brief §3, Art 10: an entry linked from a product's event stays in that product's term;
                    # one linked from a product it does not produce (it sold it: 第十二条第（一）项) is its own behaviour
                    mine = [e for e in own if e.via_product is None or e.via_product == p or e.via_product not in produced]
                    key = (sid, p, tuple(map(id, mine)), tuple(map(id, live)))  # the decisions' own objects
                    term = self._terms.get(key)
                    if term is None:
                        merged = self.capped(_union(live, mine), p, sid)
                        term = self._terms[key] = (merged, exact(self.start + sum([e.points for e in merged], ZERO)))
                    merged, score = term
                    # A tie goes to the product with the smallest id, whatever the input order.
                    if best is None or score < best.score or (score == best.score and p < best.determined_by):
                        best = Account(True, score, merged, p)
                return best
        if not self.has_record(sid, at):
            return Account(False, None, [])
        return Account(True, exact(self.start + sum([e.points for e in own], ZERO)), own)

    def capped(self, merged: list[Entry], product: str, operator: str) -> list[Entry]:
        """第十八条 within 第十条: a producer's line is one subject, so its rewards share one cap.

        Rewards of the product and of the producer are re-capped together in date order, each
        looking back over the window ending on its own date (decisions stand once taken).
        """
        key = (product, operator)
        decided = self._line_rewards.get(key)
        if decided is None:
            decided = self._line_rewards[key] = {}
            rewards = sorted((e for e in self.d.entries.get(product, []) + self.d.entries.get(operator, [])
                              if e.kind == "reward" and e.counted), key=lambda e: e.order)
            cap = self.c.exprs["rewards.cap.counted"]
            line_cite = self.c.cites.get("line_cap")
            for i, e in enumerate(rewards):
                granted = sum((decided[id(x)].points for x in rewards[:i]
                               if self.c.in_window(x.date, e.date, self.window_key(x))), ZERO)
                reward = dict(e.facts or {}, points=e.points)  # what the subject's own cap let through
                value = exact(max(min(Decimal(cap({"reward": reward, "granted": granted,
                                                   "subject": e.line_subject})), e.points), ZERO))
                if value == e.points:
                    decided[id(e)] = e
                else:
                    decided[id(e)] = replace(e, points=value, status="capped", cite=self.c.model.rewards.cap.cite,
                                             reason=f"生产者与产品 {product} 合计奖励分上限：周期内已得 {granted} 分，"
                                                    f"本次计 {value} 分" + (f"（{line_cite}）" if line_cite else ""))
        if not decided:
            return merged
        return [decided.get(id(e), e) if e.kind == "reward" else e for e in merged]

    def classify(self, score: Decimal | None) -> str:
        return self.c.classify(score)

    def first_record(self, sid: str) -> dt.date | None:
        dates = [e.date for e in self.d.entries.get(sid, []) if e.counted]
        if self.subjects[sid].kind == "operator" and self.lowest_product:
            for p in self.products_of.get(sid, []):
                dates += [e.date for e in self.d.entries.get(p, []) if e.counted]
        return min(dates) if dates else None

    def adjustments(self, sid: str, as_of: dt.date, at=None):
        """Half-year classifications up to ``as_of`` with the lock (第二十六条第二款).

        ``at(day)`` gives the scorer of the version in force on an adjustment date (brief §4a):
        that version's adjustment dates, score date, window, classes and lock decide it."""
        if at is None or at == self.at:  # this version for every date
            at = None if self.all_adjustment_dates is self.c.adjustment_dates else self.at
        own = not (self.lowest_product and self.products_of.get(sid) and self.subjects[sid].kind == "operator")
        if at is None and own:  # scored on its own entries: the first is that of its counted list
            counted = self.counted(sid)
            if not counted:
                return [], None
            first = counted[0][0]  # in date order (``counted``)
            return self._own_adjustments(sid, first, adjustment_days(self.all_adjustment_dates, first, as_of), as_of)
        first = self.first_record(sid)
        if first is None:
            return [], None
        build = Adjustment.build
        lock_class = lock_since = lock_until = None
        out = []
        days = adjustment_days(self.all_adjustment_dates, first, as_of)
        for t in days:
            if at is None:
                sc = self
            else:
                sc = at(t)
                if (t.month, t.day) not in sc.adjusts_on:
                    continue
            lock, sd = sc.lock, sc.c.score_date(t)
            scored, score = sc.score_at(sid, sd)
            computed = sc.c.classify(score) if scored else "O"
            locked = lock_until is not None and t < lock_until
            official = lock_class if locked else computed
            if not locked and lock is not None and computed == lock.class_:
                lock_class = lock.class_
                lock_since, lock_until = t, shift(t, sc.c.lock_duration, 1, sc.c.calendar)
            out.append(build(date=t, score_date=sd, score=score, computed_class=computed,
                             official_class=official, locked=locked, version=sc.label))
        active = None
        if lock_until is not None and out and out[-1].official_class == lock_class and as_of < lock_until:
            active = (lock_class, lock_since, lock_until)
        return out, active

    def _own_adjustments(self, sid: str, first: dt.date, days: list[dt.date], as_of: dt.date):
        """:meth:`adjustments` where one version decides every date and the subject is scored on its
        own entries (not a producer's lowest line, 第十条): each entry's adjustment dates first (see
        :meth:`_counts_at`), then one loop over the dates; a score equal to the last one keeps its
        class (第二十六条).

        The same results as the general loop, which ``tests/test_engine_paths.py`` checks."""
        c, cache = self.c, self._window
        classify, build = c.classify, adjustment
        start, stays, lock, label = self.start, self.stays, self.lock, self.label
        locking = lock.class_ if lock is not None else None  # the class that locks, read once
        dated = cache.get(("adjusting", first, as_of))  # (date, score date) pairs: date arithmetic, memoised
        if dated is None:
            dated = c.memo(("adjusting", first, as_of), lambda: [(t, c.score_date(t)) for t in days])
        if not dated:
            return [], None
        # The sum at each date, added entry by entry in the subject's order (as ``account`` sums):
        # None where no entry counts.
        totals: list[Decimal | None] = [None] * len(dated)
        first_day = dated[0][0]
        for date, anchor, key, e in self.counted(sid):
            at = cache.get(("counts at", date, anchor, key, first_day, as_of))
            if at is None:
                at = self._counts_at(date, anchor, key, dated, first_day, as_of)
            points = e.points
            for i in at:
                total = totals[i]
                totals[i] = (ZERO if total is None else total) + points
        lock_class = lock_since = lock_until = None
        last_total, last = _MISSING, (None, "O")
        out = []
        for (t, sd), total in zip(dated, totals):
            if total is None and stays and first <= sd:  # 第八条: own entries only, so ``first`` is the first own
                total = ZERO  # scored, no entry in the window: the start score
            if total is None:
                score, computed = None, "O"
            elif total == last_total and last[0] is not None:
                score, computed = last
            else:
                score = exact(start + total)
                computed = classify(score)
                last_total, last = total, (score, computed)
            locked = lock_until is not None and t < lock_until
            official = lock_class if locked else computed
            if not locked and lock is not None and computed == locking:
                lock_class = locking
                lock_since, lock_until = t, shift(t, c.lock_duration, 1, c.calendar)
            out.append(build(t, sd, score, computed, official, locked, label))
        active = None
        if lock_until is not None and out and out[-1].official_class == lock_class and as_of < lock_until:
            active = (lock_class, lock_since, lock_until)
        return out, active

    def _counts_at(self, date: dt.date, anchor: dt.date, key: tuple, dated: list, first_day: dt.date,
                   as_of: dt.date) -> tuple[int, ...]:
        """The positions in ``dated`` (a subject's adjustment dates from ``first_day`` to ``as_of``,
        with their score dates) at which an entry of ``date`` with ``anchor`` and window ``key`` is
        counted: dated on or before the score date and inside its window (第七条). Memoised per
        ruleset: a function of these dates alone, shared by every entry with the same ones."""
        rule, window = self.c.in_window, self._window
        at = []
        for i, (_, sd) in enumerate(dated):
            if date <= sd:
                hit = window.get((anchor, sd, key), _MISSING)
                if hit is _MISSING:
                    hit = rule(anchor, sd, key)
                if hit:
                    at.append(i)
        return self.c.memo(("counts at", date, anchor, key, first_day, as_of), lambda: tuple(at))


def adjustment_days(dates: list[tuple[int, int]], first: dt.date, as_of: dt.date) -> list[dt.date]:
    """The adjustment dates (month, day) after ``first`` and up to ``as_of``, in order; memoised."""
    key = (tuple(dates), first, as_of)
    hit = _DAYS.get(key)
    if hit is None:
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        hit = _DAYS[key] = [t for year in range(first.year, as_of.year + 1) for month, day in dates
                            if first < (t := dt.date(year, month, day)) <= as_of]
    return hit


_DAYS: dict[tuple, list[dt.date]] = {}


def _union(product_entries: list[Entry], operator_entries: list[Entry]) -> list[Entry]:
    """第九条第一款 within 第十条: one entry per event across a product and its producer, the heaviest."""
    chosen: dict[str, Entry] = {}
    both = product_entries + operator_entries
    for e in both:
        if e.kind != "deduction":
            continue
        if e.event not in chosen or e.points < chosen[e.event].points:
            chosen[e.event] = e
    out = list(chosen.values())
    repairs: dict[str, Entry] = {}
    for e in both:
        if e.kind == "deduction":
            continue
        if e.kind == "repair" and e.of is not None:
            key = f"{e.event}/{e.of.event}"
            pick = chosen.get(e.of.event)
            if pick is not None and e.of is pick:
                repairs[key] = e
            elif key not in repairs and (pick is None or pick.subject == e.subject):
                repairs[key] = e
            continue
        repairs[f"{e.event}/{e.subject}"] = e
    out.extend(repairs.values())
    return sorted(out, key=_ENTRY_ORDER)
