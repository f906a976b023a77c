"""Phase 1 of evaluation: decide every entry, once, as of its own date.

The brief's rule "decisions stand once taken": the ordinal of a deduction, whether a
failure falls within 180 days of the last counted one, whether a repair is eligible or
the third, how much of a reward fits under the cap — each is decided looking back from
the event's own date and never changes when later events arrive. So this phase walks the
events in date order and fixes, for every subject, a list of :class:`Entry` with their
values. Phase 2 (``score``) only asks which of them are inside the window at a date.

Every input event ends up counted, used as a fact (spot checks, filings), or rejected
with a reason and the article; nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..errors import did_you_mean_en
from ..history.kinds import subjects_concerned
from .deductions import DeductionSteps
from .entries import (COLLECTIONS, ENTRY_ORDER, EVENT_ID, EVENT_ORDER, Decisions, Entry, SubjectView, plain_records,
                      record_field)
from .repairs import RepairSteps
from .results import Rejection
from .rewards import RewardSteps

CODES = {
    "QR601": "unknown item code",
    "QR602": "the event names a subject that is not in the history",
    "QR603": "the event names a subject whose record was refused (e.g. invalid credit code)",
    "QR604": "the subject's category is out of scope",
    "QR605": "the subject is outside the ruleset's jurisdiction",
    "QR606": "the item does not apply to this kind of subject or role",
    "QR607": "a repair whose deduction is missing, revoked, later, did not count, no longer counts on the repair's "
             "date, or was already repaired",
    "QR608": "a repair that fails an eligibility condition",
    "QR609": "a repair over the per-period limit",
    "QR610": "unknown reward rule",
    "QR611": "a reward whose conditions are not met or whose subject does not fit",
    "QR612": "a correction of an unknown, already revoked, or correction event",
    "QR613": "an event dated after the as-of date (not yet effective)",
    "QR614": "a Yuepintong filing on a product (filings are made by operators)",
    "QR620": "an event revoked by a correction: kept in the history, not counted",
    "QR615": "an as-known-at date after the as-of date (brief §4a)",
    "QR690": "a rule of the ruleset failed on the values it met (e.g. a division by zero); the run stops",
}


class Decider(DeductionSteps, RepairSteps, RewardSteps):
    """Walks a history in date order and decides every entry (see module docstring). The steps of
    each kind of event are the mixins of :mod:`.deductions`, :mod:`.repairs` and :mod:`.rewards`;
    what they decide, and the helpers they share, are in :mod:`.entries`."""

    def __init__(self, compiled, subjects: dict[str, SubjectView], invalid: dict[str, str], as_of: dt.date,
                 timeline=None, cutoff: dt.date | None = None):
        self.c = compiled
        self.m = compiled.model
        self.timeline = timeline
        self.switches = timeline is not None and len(timeline.pieces) > 1
        self.cutoff = cutoff       # redecide transitions that started by this date apply (brief §4a)
        self.subjects = subjects
        self.invalid = invalid
        self.as_of = as_of
        # by position: a dataclass called with keywords passes them through a dict to its ``__init__``
        self.out = Decisions({}, [], set(), set(), [],
                             timeline.at(as_of).label if timeline is not None else compiled.model.ruleset, [])
        # One version: its period, for ``use`` to see without a call that it is in force on a day.
        self._period = ((timeline.pieces[0].start, timeline.pieces[0].until)
                        if timeline is not None and not self.switches else None)
        self.dedup_when = compiled.exprs["dedup.spot_check.deduplicated_when"]
        self.points_expr = compiled.exprs["intentional.points"]
        self.items, self.rules = plain_records(compiled)
        self.filings: dict[str, list[tuple[dt.date, bool]]] = {}
        self._filing_dates: dict[str, tuple[dt.date | None, dt.date | None]] = {}
        self.spot_checks: dict[str, list[tuple[dt.date, bool]]] = {}  # subject -> (date, passed)
        self.repairs_by_operator: dict[str, list[dt.date]] = {}
        self.repaired: dict[tuple[str, str], str] = {}  # (subject, deduction event) -> the repair that repaired it
        self.deduction_entries: dict[str, list[Entry]] = {}  # event id -> entries (all subjects)
        self.events: dict[str, Any] = {}
        self.revoked: dict[str, str] = {}
        self.line_keys = False  # whether an entry has a product line key (``decide_spot_check_dedup``)
        self.products_of: dict[str, list[str]] = {}
        for s in subjects.values():
            if s.kind == "product" and s.producer:
                self.products_of.setdefault(s.producer, []).append(s.id)

    # -- helpers ---------------------------------------------------------------------------
    def use(self, day: dt.date) -> None:
        """Decide what follows under the version for an event dated ``day`` (brief §4a): the one in
        force on that day, or a successor that re-decides it; none in force: the last, noted."""
        if self.timeline is None:
            return
        period = self._period
        if period is not None and period[0] <= day and (period[1] is None or day <= period[1]):
            return  # one version, in force on that day
        piece = self.timeline.decider(day, self.cutoff) if self.switches else self.timeline.pieces[0]
        if self.switches and piece.label != self.out.current:
            self.c, self.m = piece.compiled, piece.compiled.model
            self.dedup_when = self.c.exprs["dedup.spot_check.deduplicated_when"]
            self.points_expr = self.c.exprs["intentional.points"]
            self.items, self.rules = plain_records(self.c)
            self.out.current = piece.label
        if not piece.covers(day) and piece is self.timeline.at(day):
            self.out.out_of_force.append(self.timeline.out_of_force(day))

    def reject(self, event: Any, code: str, reason: str, cite: str | None = None, subject: str | None = None) -> None:
        # built without validation: every value is the engine's own, of the model's type
        self.out.rejections.append(Rejection.build(event=str(event.id), kind=event.kind, subject=subject,
                                                   subjects=self.related(event), code=code, reason=reason, cite=cite))

    def related(self, event: Any) -> list[str]:
        """Subjects an event concerns: those it names, their producers, or those of the event it refers to."""
        return subjects_concerned(event, self.events, self._producer_of)

    def _producer_of(self, sid: str) -> str | None:
        s = self.subjects.get(sid)
        return s.producer if s is not None else None

    def in_window(self, entry_date: dt.date, at: dt.date) -> bool:
        return self.c.in_window(entry_date, at)

    def cite(self, role: str) -> str | None:
        """The ruleset's article for ``role`` (``ruleset.citations``): no article is written in Python."""
        return self.c.cites.get(role)

    def check_subject(self, event: Any, sid: str) -> SubjectView | None:
        """The subject if events may be recorded on it; otherwise reject with the reason."""
        if sid in self.invalid:
            self.reject(event, "QR603", f"subject '{sid}' is invalid: {self.invalid[sid]}", self.cite("subjects"),
                        subject=sid)
            return None
        s = self.subjects.get(sid)
        if s is None:
            hint = did_you_mean_en(sid, self.subjects)
            self.reject(event, "QR602", f"unknown subject '{sid}'" + (f" ({hint})" if hint else ""), self.cite("subjects"),
                        subject=sid)
            return None
        if s.excluded is not None:
            code, reason, cite = s.excluded
            self.reject(event, code, reason, cite, subject=sid)
            return None
        return s

    def operator_facts(self, operator: str | None, at: dt.date) -> dict[str, Any]:
        """Art 14(3)/17: whether the operator filed on Yuepintong (粤品通) by ``at``, and concealed nothing."""
        key = operator or ""
        firsts = self._filing_dates.get(key)
        if firsts is None:  # filings were collected in date order before any repair or reward
            filings = self.filings.get(key, ())
            first_concealed = None
            for d, concealed in filings:
                if concealed:
                    first_concealed = d
                    break
            firsts = self._filing_dates[key] = (filings[0][0] if filings else None, first_concealed)
        first_filed, first_concealed = firsts
        s = self.subjects.get(operator or "")
        return {"filed": first_filed is not None and first_filed <= at,
                "concealed": first_concealed is not None and first_concealed <= at,
                "roles": sorted(s.roles) if s else []}

    # -- phase 1 ---------------------------------------------------------------------------
    def run(self, events: list[Any]) -> Decisions:
        ordered = sorted(events, key=EVENT_ORDER)
        self.events.update(zip(map(EVENT_ID, ordered), ordered))  # by id, the last of equal ids winning
        if not ordered or ordered[-1].date <= self.as_of:  # in date order: none after the as-of date
            live = ordered
        else:
            live = []
            for ev in ordered:
                if ev.date > self.as_of:
                    self.reject(ev, "QR613", f"dated {ev.date}, after the as-of date {self.as_of}; not yet effective",
                                self.cite("window"))  # 第七条: only entries dated up to the as-of date count
                    continue
                live.append(ev)
        live = self.apply_corrections(live)
        facts, deductions, later = [], [], []  # the three passes below, each in (date, id) order
        for ev in live:
            kind = ev.kind
            if kind == "deduction":
                deductions.append(ev)
            elif kind == "filing" or kind == "spot_check":
                facts.append(ev)
            elif kind != "correction":
                later.append(ev)
        for ev in facts:
            if ev.kind == "filing":
                self.fact_filing(ev)
            else:
                self.fact_spot_check(ev)
        period = self._period  # one version in force on every live event's date: nothing for ``use`` to do
        use = self.use if not (period is not None and live and period[0] <= live[0].date
                               and (period[1] is None or live[-1].date <= period[1])) else _nothing
        for ev in deductions:
            use(ev.date)
            self.deduction(ev)
        self.decide_spot_check_dedup(use)
        self.decide_ordinals(use)
        for ev in later:
            if ev.kind == "repair":
                use(ev.date)
                self.repair(ev)
            elif ev.kind == "reward":
                use(ev.date)
                self.reward(ev)
            else:
                self.out.fact_events.add(str(ev.id))  # procedure events: used by deadlines
        for entries in self.out.entries.values():
            if len(entries) > 1:
                entries.sort(key=ENTRY_ORDER)
        return self.out

    def apply_corrections(self, events: list[Any]) -> list[Any]:
        """Art 24-25: a correction revokes or amends an earlier event; both stay in the history."""
        for ev in events:
            if ev.kind == "correction":
                break
        else:
            return events  # nothing revoked or amended; already in (date, id) order
        by_id = {str(e.id): e for e in events}
        for ev in events:
            if ev.kind != "correction":
                continue
            target = by_id.get(str(ev.of))
            if target is None or target.kind == "correction":
                what = "a correction" if target is not None else "an unknown event"
                self.reject(ev, "QR612", f"correction of {what} '{ev.of}'", self.cite("corrections"))
                continue
            if str(target.id) in self.revoked:
                self.reject(ev, "QR612", f"'{ev.of}' was already revoked by {self.revoked[str(target.id)]}",
                            self.cite("corrections"))
                continue
            if ev.date < target.date:  # brief §3, Art 25 (the loader refuses it first, QR512)
                self.reject(ev, "QR612", f"correction dated {ev.date}, before the event it corrects ({target.date})"
                            "（更正早于被更正的事件）", self.cite("corrections"))
                continue
            self.out.counted_events.add(str(ev.id))
            if ev.action == "revoke":
                self.revoked[str(target.id)] = str(ev.id)
            else:
                changes = ev.changes.model_dump(exclude_unset=True) if ev.changes is not None else {}
                changes = {k: v for k, v in changes.items() if v is not None}  # null: leave unchanged
                if "line" in changes and target.kind in ("deduction", "spot_check"):
                    changes["line"] = ev.changes.line
                by_id[str(target.id)] = target.model_copy(update=changes)
        out = []
        for ev in events:
            eid = str(ev.id)
            if eid in self.revoked:
                self.reject(ev, "QR620", f"revoked by correction {self.revoked[eid]}", self.cite("corrections"))
                continue
            out.append(by_id[eid])
        return sorted(out, key=lambda e: (e.date, str(e.id)))

    def fact_filing(self, ev: Any) -> None:
        s = self.check_subject(ev, ev.subject)
        if s is None:
            return
        if s.kind != "operator":
            self.reject(ev, "QR614", f"a Yuepintong filing is made by an operator, not the product '{s.id}'",
                        self.cite("filing"), subject=s.id)
            return
        self.filings.setdefault(s.id, []).append((ev.date, bool(record_field(ev, "concealed", False))))
        self.out.fact_events.add(str(ev.id))

    def fact_spot_check(self, ev: Any) -> None:
        s = self.check_subject(ev, ev.subject)
        if s is None:
            return
        passed = ev.result == "pass"
        self.spot_checks.setdefault(s.id, []).append((ev.date, passed))
        if s.kind == "product" and s.producer:
            self.spot_checks.setdefault(s.producer, []).append((ev.date, passed))
        self.out.fact_events.add(str(ev.id))

    # -- what is in the window ending on an event's date, for the typed collections --------
    def window_key(self, e: Entry) -> tuple:
        """The entry as the window rule sees it: (item, kind, subject kind, category)."""
        s = self.subjects.get(e.subject)
        return (e.code, e.kind, s.kind if s else "", (s.category or "") if s else "")

    def in_window_entry(self, e: Entry, at: dt.date) -> bool:
        if e.date > at:
            return False
        c = self.c
        by_entry = c._window_cache.get("window_by_entry")  # the property's memo, read without a call
        if by_entry is None:
            by_entry = c.window_by_entry
        key = self.window_key(e) if by_entry else ()  # the usual window reads only the date
        hit = c._window_cache.get((e.date, at, key))  # CompiledRuleset.in_window's memo
        return c.in_window(e.date, at, key) if hit is None else hit

    def spot_checks_in_window(self, sid: str, at: dt.date) -> list[tuple[dt.date, bool]]:
        """(date, passed) of the spot checks of ``sid`` (a producer: and its products') in the window
        ending on ``at``: spot-check events, and failures recorded as spot-check deductions."""
        s = self.subjects.get(sid)
        key = ("", "spot_check", s.kind if s else "", (s.category or "") if s else "")
        checks = [(d, ok) for d, ok in self.spot_checks.get(sid, []) if d <= at and self.c.in_window(d, at, key)]
        for owner in [sid] + self.products_of.get(sid, []):
            for e in self.out.entries.get(owner, []):
                if (e.kind == "deduction" and e.line_key is not None and e.status != "superseded"
                        and self.in_window_entry(e, at)):
                    checks.append((e.date, False))
        return sorted(checks)

    def spot_check_records(self, sid: str, at: dt.date) -> list[dict[str, Any]]:
        return [{"date": d, "failed": not ok, "passed": ok} for d, ok in self.spot_checks_in_window(sid, at)]

    def collections(self, sid: str, at: dt.date, reads: frozenset[str]) -> dict[str, list]:
        """The typed collections an expression reads (``deductions``, ``repairs``, ``rewards``,
        ``spot_checks``): the subject's counted entries in the window ending on ``at``."""
        out: dict[str, list] = {}
        if "spot_checks" in reads:
            out["spot_checks"] = self.spot_check_records(sid, at)
        if reads.isdisjoint(COLLECTIONS):
            return out
        live = [e for e in self.out.entries.get(sid, []) if e.counted and self.in_window_entry(e, at)]
        if "deductions" in reads:
            out["deductions"] = [{"date": e.date, "item": e.code, "points": e.points, "intentional": e.intentional,
                                  "major_impact": e.major_impact, "ordinal": Decimal(e.ordinal or 1)}
                                 for e in live if e.kind == "deduction"]
        if "repairs" in reads:
            out["repairs"] = [{"date": e.date, "item": e.code, "points": e.points} for e in live if e.kind == "repair"]
        if "rewards" in reads:
            out["rewards"] = [{"date": e.date, "rule": e.code, "points": e.points} for e in live if e.kind == "reward"]
        return out

    @staticmethod
    def event_key(ev: Any) -> tuple:
        """Everything an expression can see of a deduction event (its ``event`` record), as a key."""
        return (ev.date, ev.item, bool(ev.intentional), bool(ev.major_impact))

    def event_record(self, ev: Any) -> dict[str, Any]:
        return {"date": ev.date, "item": ev.item, "intentional": bool(ev.intentional),
                "major_impact": bool(ev.major_impact)}


def _nothing(day: dt.date) -> None:
    """``Decider.use`` where one version is in force on every date decided."""
