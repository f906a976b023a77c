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
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any

from ..errors import did_you_mean_en
from ..history.kinds import subjects_concerned
from ..language.runtime import EvaluationError, plain
from .results import Rejection

ZERO = Decimal(0)
ONE = Decimal(1)

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


@dataclass
class SubjectView:
    """What the engine needs of a subject, whatever the input format."""

    id: str
    kind: str                      # product | operator
    name: str | None
    roles: frozenset[str]
    producer: str | None           # products: the producing operator
    brand: str | None
    region: str | None
    category: str | None
    nice_class: int | None = None
    excluded: tuple[str, str, str | None] | None = None  # (code, reason, cite) when out of scope/jurisdiction


@dataclass(slots=True)
class Entry:
    """A deduction, repair or reward as it applies to one subject."""

    subject: str
    event: str
    kind: str                      # deduction | repair | reward
    code: str
    title: str
    date: dt.date
    points: Decimal
    cite: str | None
    status: str = "counted"        # counted | deduplicated | superseded | capped
    reason: str | None = None
    via: str | None = None
    via_product: str | None = None
    of: "Entry | None" = None
    ordinal: int | None = None
    requested: Decimal | None = None
    intentional: bool = False
    major_impact: bool = False
    line_key: tuple | None = None
    repair_event: str | None = None
    facts: dict | None = None      # rewards: the record their rules saw (the cap is re-applied on a producer's line)
    line_subject: dict | None = None  # rewards: the producer's ``subject`` record for the cap on its line
    version: str | None = None     # the ruleset version that decided this entry (brief §4a)

    @property
    def counted(self) -> bool:
        return self.status in ("counted", "capped") and (self.kind != "reward" or self.points > 0)

    @property
    def order(self) -> tuple[dt.date, str]:
        return (self.date, self.event)


def new_entry(subject: str, event: str, kind: str, code: str, title: str, date: dt.date, points: Decimal,
              cite: str | None, status: str = "counted", reason: str | None = None, via: str | None = None,
              via_product: str | None = None, of: Entry | None = None, ordinal: int | None = None,
              requested: Decimal | None = None, intentional: bool = False, major_impact: bool = False,
              line_key: tuple | None = None, repair_event: str | None = None, facts: dict | None = None,
              line_subject: dict | None = None, version: str | None = None) -> Entry:
    """``Entry(...)`` by keyword at a third of the cost: a class called with keywords passes them
    through a dict to its ``__init__``; a function takes them directly and calls it by position."""
    return Entry(subject, event, kind, code, title, date, points, cite, status, reason, via, via_product, of, ordinal,
                 requested, intentional, major_impact, line_key, repair_event, facts, line_subject, version)


@dataclass
class Decisions:
    """Output of phase 1."""

    entries: dict[str, list[Entry]] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    counted_events: set[str] = field(default_factory=set)
    fact_events: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    current: str | None = None     # the version deciding now (brief §4a); set by Decider.use
    out_of_force: list = field(default_factory=list)  # versions.OutOfForce: events decided with none in force

    def add(self, entry: Entry) -> None:
        if entry.version is None:
            entry.version = self.current
        self.entries.setdefault(entry.subject, []).append(entry)


class _Plain:
    """A record of the ruleset with its fields as plain attributes (see :func:`plain_records`)."""

    def __init__(self, fields: dict[str, Any]):
        self.__dict__.update(fields)


def plain_records(compiled) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ruleset's items and reward rules as plain objects, made once per ruleset: the engine
    reads their fields for every event, and a read on a pydantic model goes through its
    ``__getattr__`` hook, which turns off CPython's attribute specialisation."""
    hit = compiled._window_cache.get(("plain records",))  # the memo, read without a call
    if hit is None:
        m = compiled.model
        hit = compiled.memo(("plain records",), lambda: (
            {code: _Plain(item.__dict__) for code, item in m.items.items()},
            {code: _Plain(rule.__dict__) for code, rule in m.rewards.rules.items()}))
    return hit


def record_field(record: Any, name: str, default: Any = None) -> Any:
    """A field of a history record, or ``default`` when that kind of record has no such field.

    Reads the model's ``__dict__``: ``getattr`` on a pydantic model for a field it lacks takes a
    slow path, and the engine asks such questions for every event.
    """
    fields = getattr(record, "__dict__", None)
    return fields.get(name, default) if fields is not None else default


class Decider:
    """Walks a history in date order and decides every entry (see module docstring)."""

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
        ordered = sorted(events, key=_EVENT_ORDER)
        self.events.update(zip(map(_EVENT_ID, ordered), ordered))  # by id, the last of equal ids winning
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
                entries.sort(key=_ENTRY_ORDER)
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

    # -- deductions ------------------------------------------------------------------------
    def deduction(self, ev: Any) -> None:
        code = ev.item  # read once: attributes of a history record are read through pydantic's hook
        item = self.items.get(code)
        if item is None:
            hint = did_you_mean_en(ev.item, self.m.items)
            self.reject(ev, "QR601", f"unknown item '{ev.item}'" + (f" ({hint})" if hint else ""),
                        self.cite("items"))
            return
        targets: dict[str, list[tuple[str, str | None, str | None, str | None]]] = {}
        named_products = set()
        out_of_scope = []  # named products excluded by 第二条: their operators are not scored through them
        subjects, invalid, whens = self.subjects, self.invalid, self.c.item_whens
        named = ev.subjects
        for sid in named:
            s = subjects.get(sid)
            if s is None or sid in invalid or s.excluded is not None:  # ``check_subject``'s refusals
                self.check_subject(ev, sid)
                if s is not None and s.kind == "product" and s.excluded is not None and s.excluded[0] == "QR604":
                    out_of_scope.append(s)
                continue
            if s.kind == "product":
                named_products.add(s.id)
                if item.subject != "product":
                    self.reject(ev, "QR606", f"item {ev.item} ({item.title}) is recorded against an operator, "
                                f"not the product '{s.id}': name the operator", item.cite, subject=s.id)
                    continue
                if not self.item_applies(ev.item, ev, s, reject=True):
                    continue
                targets.setdefault(s.id, []).append((ev.item, None, item.cite, None))
                self.link_producer(ev, s, targets)
        for sid in named:
            s = subjects.get(sid)
            if s is None or s.kind != "operator" or s.excluded is not None or sid in invalid:
                continue
            if item.subject == "product":
                if out_of_scope and not named_products:  # brief §3, Art 2: 「…及其经营者」
                    code, reason, cite = out_of_scope[0].excluded
                    self.reject(ev, code, f"产品 {out_of_scope[0].id} 不适用本规范，其经营者亦不因该事项记分"
                                f"（the product is out of scope, so is '{s.id}' through it）: {reason}", cite,
                                subject=s.id)
                    continue
                linked = self.link_seller(ev, s, targets, named_products)
                produces_named = any(self.subjects[p].producer == s.id for p in named_products)
                if not linked and not produces_named:
                    self.reject(ev, "QR606", f"product item {ev.item} reaches an operator only through the links "
                                f"({self.cite('links')}); it does not apply to '{s.id}' (roles: "
                                f"{', '.join(sorted(s.roles)) or 'none'})", self.cite("links"), subject=s.id)
                continue
            role = _ROLES.get(item.subject)
            if role and role not in s.roles:
                self.reject(ev, "QR606", f"item {ev.item} applies to {role}s; '{s.id}' has roles "
                            f"[{', '.join(sorted(s.roles))}]", item.cite, subject=s.id)
                continue
            if code in whens and not self.item_applies(code, ev, s, reject=True):  # no ``when``: applies
                continue
            targets.setdefault(s.id, []).append((code, None, item.cite, None))
        if not targets:
            return
        eid = str(ev.id)
        self.out.counted_events.add(eid)
        if record_field(ev, "recorded_by"):  # ``check_recorded_by`` has nothing to say otherwise
            self.check_recorded_by(ev, item)
        entries = []
        for sid, candidates in targets.items():
            made = [self.make_deduction(ev, sid, value, via, cite, via_product)
                    for value, via, cite, via_product in candidates]
            if len(made) > 1:
                made.sort(key=lambda e: (e.points, e.code))
            heaviest = made[0]  # 第九条: the heaviest value, once
            for other in made[1:]:
                other.status = "superseded"
                other.reason = (f"同一事项亦对应第{heaviest.code}项（{heaviest.points}分），取最高扣分只记一次"
                                f"（same event, heavier value {heaviest.code} applies once）")
                other.cite = self.m.dedup.heaviest.cite
            for e in made:
                self.out.add(e)
                entries.append(e)
        self.deduction_entries[eid] = entries

    def check_recorded_by(self, ev: Any, item) -> None:
        """第五条、第十九条第二款: who records what. A mismatch warns; it never rejects."""
        level = record_field(ev, "recorded_by")
        if not level:
            return
        auth = self.m.authorities
        expected = auth.records.get("spot_check" if item.spot_check else "other")
        if level not in auth.levels:
            self.out.warnings.append(f"{ev.id}: recorded_by '{level}' is not an authority level of "
                                     f"{self.m.ruleset} ({', '.join(auth.levels)})")
        elif expected and level != expected and level not in auth.entered_by.get(expected, ()):
            # 组织实施 is not 录入: the units a ruleset lets enter what a level organises do not warn.
            what = "spot-check items" if item.spot_check else "other items"
            self.out.warnings.append(f"{ev.id}: recorded by {level}, but {self.cite('records')} assigns {what} "
                                     f"to {expected}（录入部门与规定不一致，仅提示）")

    def link_producer(self, ev: Any, product: SubjectView, targets: dict) -> None:
        """第十二条第（一）、（二）项: a product's item also scores its producer."""
        producer = product.producer
        if not producer or producer in self.invalid:
            return
        p = self.subjects.get(producer)
        if p is None or p.excluded is not None:
            return
        for i, link in enumerate(self.m.links.producer_of_product):
            if (ev.item in link.items and self.link_applies(("producer_of_product", i), ev)
                    and self.item_applies(link.item, ev, p)):
                targets.setdefault(producer, []).append(
                    (link.item, f"产品 {product.id} 的第{ev.item}项事项（生产者）", link.cite, product.id))

    def link_seller(self, ev: Any, seller: SubjectView, targets: dict, named_products: set[str]) -> bool:
        if "seller" not in seller.roles:
            return False
        linked = False
        for i, link in enumerate(self.m.links.named_seller):
            if (ev.item in link.items and self.link_applies(("named_seller", i), ev)
                    and self.item_applies(link.item, ev, seller)):
                product = next((p for p in ev.subjects if p in named_products), None)
                targets.setdefault(seller.id, []).append(
                    (link.item, f"第{ev.item}项事项（销售者）", link.cite, product))
                linked = True
        return linked

    def link_applies(self, key: tuple[str, int], ev: Any) -> bool:
        expr = self.c.link_whens.get(key)
        if expr is None:
            return True
        return bool(self.c.memo(("link", key) + self.event_key(ev), lambda: expr({"event": self.event_record(ev)})))

    def item_applies(self, code: str, ev: Any, s: SubjectView, reject: bool = False) -> bool:
        """An item's ``when`` (its subject, the event, the spot checks in the window): an item that
        does not apply to a subject it names is refused, QR606; a link to it is simply not made."""
        expr = self.c.item_whens.get(code)
        if expr is None:
            return True
        reads = self.c.reads(expr)
        env = {"subject": {"kind": s.kind, "category": s.category or "", "roles": sorted(s.roles),
                           "brand": s.brand or "", "nice_class": Decimal(s.nice_class or 0), "region": s.region or ""},
               "event": self.event_record(ev), "as_of": ev.date}
        if "spot_checks" in reads:
            env["spot_checks"] = self.spot_check_records(s.id, ev.date)
        if expr(env):
            return True
        if reject:
            item = self.m.items[code]
            self.reject(ev, "QR606", f"item {code} ({item.title}) does not apply to '{s.id}': its condition "
                        f"{item.when} is not met（不适用该事项）", item.cite, subject=s.id)
        return False

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

    def line_key(self, ev: Any, sid: str, via_product: str | None) -> tuple:
        """第九条第二款 "同一产品": same producer, standard, brand and model (the ruleset picks the fields)."""
        subject = self.subjects[sid]
        product = self.subjects.get(via_product or (sid if subject.kind == "product" else ""))
        line = record_field(ev, "line")
        fields = {"producer": product.producer if product else sid,
                  "brand": product.brand if product else None,
                  "nice_class": product.nice_class if product else None,
                  "standard": record_field(line, "standard"),
                  "model": record_field(line, "model")}
        return tuple(fields[f] for f in self.m.dedup.spot_check.same_line)

    def make_deduction(self, ev: Any, sid: str, code: str, via: str | None, cite: str | None,
                       via_product: str | None) -> Entry:
        items = self.items
        item = items[code]
        fields = ev.__dict__  # read once, as ``record_field`` does: not through pydantic's attribute hook
        date, named_item = fields["date"], fields["item"]
        intentional, major_impact = bool(fields["intentional"]), bool(fields["major_impact"])
        memo_key = ("points", code, date, named_item, intentional, major_impact)  # ("points", code) + event_key
        points = self.c._window_cache.get(memo_key)  # the memo, read without a call
        if points is None:
            env = lambda: {"item": {"points": item.points, "code": code,  # noqa: E731
                                    "intentional_points": item.intentional if item.intentional is not None
                                    else item.points},
                           "event": self.event_record(ev)}
            points = self.c.memo(memo_key, lambda: Decimal(self.points_expr(env())))
        key = None
        if item.spot_check or items[named_item].spot_check:  # a link from a failure shares its line (brief §3, 9(2))
            key = self.line_key(ev, sid, via_product)
            self.line_keys = True  # 第九条第二款 has failures to deduplicate
        reason = None
        if intentional and item.intentional is not None and item.intentional != item.points:
            reason = "主观故意，从重扣分" + (f"（{self.cite('intentional')}）" if self.cite("intentional") else "")
        major = major_impact or item.major_impact or items[named_item].major_impact
        return new_entry(subject=sid, event=str(fields["id"]), kind="deduction", code=code, title=item.title, date=date,
                         points=points, cite=cite, via=via, via_product=via_product, intentional=intentional,
                         major_impact=major, line_key=key, reason=reason)

    def decide_spot_check_dedup(self, use=None) -> None:
        """第九条第二款: failures of the same product line count once within the dedup period.

        Decided per line and event, across subjects (brief §3, Art 9(2) with links): a failure
        deduplicated for its line scores no subject, neither the product nor the producer's
        linked 12(2) entry, which shares the product's line key.
        """
        if not self.line_keys:  # no spot-check failure decided: nothing to deduplicate
            return
        by_event: dict[tuple, list[Entry]] = {}
        for entries in self.out.entries.values():
            for e in entries:
                if e.kind == "deduction" and e.line_key is not None and e.status == "counted":
                    by_event.setdefault((e.line_key, e.date, e.event), []).append(e)
        last: dict[tuple, tuple[dt.date, str]] = {}
        use = use or self.use  # ``run``'s: nothing to do when one version is in force on every date
        for (key, date, event), group in sorted(by_event.items(), key=lambda kv: (kv[0][1], kv[0][2])):
            use(date)
            prev = last.get(key)
            if prev is not None and self.dedup_when({"failure": {"date": date}, "last": {"date": prev[0]}}):
                for e in group:
                    e.status = "deduplicated"
                    e.reason = (f"同一产品在 {prev[0]}（{prev[1]}）已因监督抽查不合格记分，"
                                f"{param_text(self.c.params.get('spot_check_dedup'))}内只记一次")
                    e.cite = self.m.dedup.spot_check.cite
                continue
            last[key] = (date, event)

    def decide_ordinals(self, use=None) -> None:
        """第十五条第（一）项: a deduction's ordinal among counted deductions in its own window."""
        use = use or self.use
        for entries in self.out.entries.values():
            counted = sorted([e for e in entries if e.kind == "deduction" and e.status == "counted"], key=_ORDER)
            for i, e in enumerate(counted):
                use(e.date)
                if not i:
                    e.ordinal = 1
                    continue
                # ``in_window_entry`` for each earlier one, its memo read in place
                at, c = e.date, self.c
                cache, by_entry = c._window_cache, c.window_by_entry
                ordinal = 1
                for prev in counted[:i]:
                    if prev.date > at:
                        continue
                    key = self.window_key(prev) if by_entry else ()
                    hit = cache.get((prev.date, at, key))
                    if hit is None:
                        hit = c.in_window(prev.date, at, key)
                    if hit:
                        ordinal += 1
                e.ordinal = ordinal

    # -- repairs ---------------------------------------------------------------------------
    def repair(self, ev: Any) -> None:
        of, eid, day = str(ev.of), str(ev.id), ev.date  # read once: through pydantic's attribute hook
        target = self.events.get(of)
        if target is None or target.kind != "deduction":
            what = f"'{ev.of}' is not a deduction" if target is not None else f"unknown deduction '{ev.of}'"
            if of in self.revoked:
                what = f"deduction '{ev.of}' was revoked by {self.revoked[of]}"
            self.reject(ev, "QR607", f"repair of {what}", self.cite("repairs"))
            return
        if of in self.revoked:
            self.reject(ev, "QR607", f"deduction '{ev.of}' was revoked by {self.revoked[of]}",
                        self.cite("corrections"))
            return
        if target.date > day:
            self.reject(ev, "QR607", f"repair dated {day}, before its deduction ({target.date})",
                        self.cite("repair_date"))
            return
        entries = [e for e in self.deduction_entries.get(of, ()) if e.status != "superseded"]
        fields = ev.__dict__  # read once, as ``record_field`` does: not through pydantic's attribute hook
        wanted = list(fields.get("subjects") or [])
        if wanted:
            missing = [w for w in wanted if w not in {e.subject for e in entries}]
            for sid in missing:
                self.reject(ev, "QR607", f"deduction '{ev.of}' has no entry for subject '{sid}'", self.cite("repairs"),
                            subject=sid)
            entries = [e for e in entries if e.subject in wanted]
        if not entries:
            if not wanted:
                self.reject(ev, "QR607", f"deduction '{ev.of}' did not count for any subject",
                            self.cite("repairs"))
            return
        counted = []
        for e in entries:
            # Brief §3, Art 15: a deduction is repaired at most once per subject, and only while it
            # counts on the repair's date; a refused repair takes no slot of 第十五条第（二）项.
            if e.status != "counted":
                self.reject(ev, "QR607", f"deduction '{ev.of}' did not count for '{e.subject}' ({e.status}): "
                            "nothing to repair", e.cite, subject=e.subject)
            elif not self.in_window_entry(e, day):
                self.reject(ev, "QR607", f"deduction '{ev.of}' ({e.date}) is outside the window ending on the "
                            f"repair's date {day}: it no longer counts, nothing to repair（扣分已超出统计周期）",
                            self.m.window.cite, subject=e.subject)
            elif (e.subject, e.event) in self.repaired:
                self.reject(ev, "QR607", f"deduction '{ev.of}' was already repaired for '{e.subject}' by "
                            f"{self.repaired[(e.subject, e.event)]}: a deduction is repaired once（同一扣分只修复一次）",
                            self.m.repair.ratio.cite, subject=e.subject)
            else:
                counted.append(e)
        if not counted:
            return
        # Each entry's operator applies (第十四条) and has its repairs limited (第十五条第（二）项): the
        # subject itself, or a product's producer. One repair event counts once per operator.
        rectified = bool(fields.get("rectified", False))
        by_operator: dict[str, list[Entry]] = {}
        for e in counted:
            subject = self.subjects[e.subject]
            by_operator.setdefault(subject.id if subject.kind == "operator" else (subject.producer or ""), []).append(e)
        ratio_expr = self.c.exprs["repair.ratio.value"]
        for operator, group in by_operator.items():
            facts = self.operator_facts(operator, day)
            # 第十五条: the operator's repairs already counted in the window ending on this one's date;
            # this repair's ordinal among them is one more (both in the ratio and limit scopes).
            earlier = self.repairs_by_operator.get(operator)
            prior = [d for d, key in earlier if self.c.in_window(d, day, key)] if earlier else []
            this = {"date": day, "rectified": rectified, "ordinal": Decimal(len(prior) + 1)}
            eligible, envs = [], {}
            for e in group:
                ded = {"date": e.date, "item": e.code, "points": e.points, "intentional": e.intentional,
                       "major_impact": e.major_impact, "ordinal": Decimal(e.ordinal or 1)}
                env = envs[e.subject] = {"deduction": ded, "repair": this, "operator": facts,
                                         "prior_repairs": Decimal(len(prior))}
                failed = failing(self.c.repair_conditions, env)
                if not failed:
                    eligible.append(e)
                    continue
                if len(failed) == 1:
                    reason, cite = failed[0]
                else:
                    reason = "；".join(f"{r}（{c}）" if c else r for r, c in failed)
                    cite = "、".join(dict.fromkeys(c for _, c in failed if c))  # each failing condition's article
                cite = cite or self.cite("repairs")
                self.reject(ev, "QR608", f"not eligible for repair（不予修复）: {reason}", cite, subject=e.subject)
            if not eligible:
                continue
            if not value_of(self.c.exprs["repair.limit.allowed_when"], envs[eligible[0].subject]):
                lim = self.m.repair.limit
                for e in eligible:
                    self.reject(ev, "QR609", f"{lim.reason}: operator '{operator}' already has {len(prior)} "
                                f"repairs in the period ending {day}", lim.cite, subject=e.subject)
                continue
            for e in eligible:
                self.repaired[(e.subject, e.event)] = eid
                ratio = Decimal(value_of(ratio_expr, envs[e.subject]))
                self.out.add(new_entry(
                    subject=e.subject, event=eid, kind="repair", code=e.code, title=f"修复 {e.event}（{e.title}）",
                    date=day, points=exact(ratio * abs(e.points)), cite=self.m.repair.ratio.cite, of=e,
                    ordinal=e.ordinal, reason=f"第{e.ordinal}次扣分，经营者周期内第{len(prior) + 1}次修复，按{_pct(ratio)}修复",
                    via=e.via, via_product=e.via_product, repair_event=eid))
            self.repairs_by_operator.setdefault(operator, []).append(
                (day, (eligible[0].code, "repair") + self.window_key(eligible[0])[2:]))
            self.out.counted_events.add(eid)

    # -- rewards ---------------------------------------------------------------------------
    def clean_record(self, sid: str, at: dt.date) -> dict[str, Decimal]:
        """Spot-check history for 第十六条/第十七条第（一）项 as of ``at``, inside the window.

        clean_years: whole years from the first passing check after the last failure to ``at``.
        """
        from ..language.runtime import add_months

        # Failures recorded as deductions count too: the subject's own and, for a producer, its products'.
        checks = self.spot_checks_in_window(sid, at)
        failures = [d for d, ok in checks if not ok]
        last_fail = failures[-1] if failures else None
        run = [d for d, ok in checks if ok and (last_fail is None or d > last_fail)]
        years = 0
        if run:
            while add_months(run[0], 12 * (years + 1)) <= at:
                years += 1
        return {"clean_years": Decimal(years), "failures": Decimal(len(failures)),
                "passes": Decimal(sum(1 for _, ok in checks if ok))}

    def subject_record(self, s: SubjectView, at: dt.date, clean: bool = True) -> dict[str, Any]:
        """The ``subject`` a reward rule and the cap see: who it is and, unless no rule that sees it
        reads it (``clean``), its spot-check record at ``at``."""
        record = {"kind": s.kind, "category": s.category or "", "roles": sorted(s.roles), "brand": s.brand or "",
                  "nice_class": Decimal(s.nice_class or 0), "region": s.region or ""}
        if clean:
            record.update(self.clean_record(s.id, at))
        return record

    def reads_clean_record(self, rule: str) -> bool:
        """Whether reward ``rule``'s conditions or the cap read the ``subject``'s spot-check record
        (``clean_years``, ``failures``, ``passes``, or the record as a whole); memoised."""
        hit = self.c._window_cache.get(("reads_clean", rule))  # the memo below, read without a call
        if hit is not None:
            return hit
        exprs = (self.c.reward_whens[rule], self.c.exprs["rewards.cap.counted"])
        return self.c.memo(("reads_clean", rule), lambda: any(_reads_record_fields(e.node, "subject", CLEAN_FIELDS)
                                                              for e in exprs))

    def reward(self, ev: Any) -> None:
        rule_id, day = str(ev.rule), ev.date  # read once: through pydantic's attribute hook
        rule = self.rules.get(rule_id)
        if rule is None:
            hint = did_you_mean_en(str(ev.rule), self.m.rewards.rules)
            self.reject(ev, "QR610", f"unknown reward rule '{ev.rule}'" + (f" ({hint})" if hint else ""),
                        self.cite("rewards"))
            return
        s = self.check_subject(ev, ev.subject)
        if s is None:
            return
        role = _ROLES.get(rule.subject)
        if (rule.subject == "product") != (s.kind == "product") or (role and role not in s.roles):
            self.reject(ev, "QR611", f"reward rule {ev.rule} applies to a {rule.subject}; '{s.id}' is a "
                        f"{s.kind}" + (f" with roles [{', '.join(sorted(s.roles))}]" if s.kind == "operator" else ""),
                        rule.cite, subject=s.id)
            return
        operator = s.id if s.kind == "operator" else s.producer
        fields = getattr(ev, "__dict__", None) or {}  # as record_field reads them
        notice = fields.get("notice_date")
        action = fields.get("action_date")
        reward_rec = {"date": day, "rule": rule_id, "points": rule.points,
                      "reported": bool(fields.get("reported", False)),
                      "recalled_before_defect": bool(fields.get("recalled_before_defect", False)),
                      "has_notice": notice is not None and action is not None,
                      "notice_date": notice or day, "action_date": action or day}
        clean = self.reads_clean_record(rule_id)
        subject = self.subject_record(s, day, clean)
        expr = self.c.reward_whens[rule_id]
        env = {"reward": reward_rec, "subject": subject, "operator": self.operator_facts(operator, day),
               "as_of": day, **self.collections(s.id, day, self.c.reads(expr))}
        try:
            # 第十六条、第十七条: every failing condition is named with its article, as for repairs (第十四条).
            failed = failing(self.c.reward_conditions.get(rule_id, ()), env)
        except EvaluationError as exc:
            self.reject(ev, "QR611", f"reward rule {ev.rule} could not be evaluated: {exc.message}", rule.cite,
                        subject=s.id)
            return
        if failed:
            if len(failed) == 1:
                reason, cite = failed[0][0], failed[0][1] or rule.cite
            else:
                reason, cite = "；".join(f"{r}（{c}）" if c else r for r, c in failed), rule.cite
            self.reject(ev, "QR611", f"not eligible: {reason}", cite, subject=s.id)
            return
        granted = sum([e.points for e in self.out.entries.get(s.id, ())
                       if e.kind == "reward" and self.in_window_entry(e, day)], ZERO)
        counted = Decimal(value_of(self.c.exprs["rewards.cap.counted"], {"reward": reward_rec, "granted": granted,
                                                                           "subject": subject}))
        counted = exact(max(min(counted, rule.points), ZERO))
        eid = str(ev.id)
        entry = new_entry(subject=s.id, event=eid, kind="reward", code=rule_id, title=rule.title,
                          date=day, points=counted, cite=rule.cite, requested=rule.points, facts=reward_rec)
        producer = self.subjects.get(s.producer or "") if s.kind == "product" else s
        if producer is not None:  # 第十条、第十八条: the cap on a producer's line is the producer's
            entry.line_subject = subject if producer is s else self.subject_record(producer, day, clean)
        if counted < rule.points:
            entry.status = "capped"
            entry.reason = (f"奖励分上限：周期内已得 {granted} 分，"
                            f"本次 {rule.points} 分中计 {counted} 分，{rule.points - counted} 分超出上限")
            entry.cite = self.m.rewards.cap.cite
        self.out.add(entry)
        self.out.counted_events.add(eid)


#: The typed collections of the subject's counted entries an expression may read (``Decider.collections``).
COLLECTIONS = frozenset({"deductions", "repairs", "rewards"})

#: The fields of a ``subject`` record that come from its spot-check record (``Decider.clean_record``).
CLEAN_FIELDS = frozenset({"clean_years", "failures", "passes"})


def _reads_record_fields(node, name: str, fields: frozenset[str]) -> bool:
    """Whether an expression reads one of ``fields`` of the record ``name``, or uses the record
    other than through a field (passed whole: then every field counts as read)."""
    from ..language import ast

    through_field = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Field) and isinstance(n.obj, ast.Name) and n.obj.name == name:
            if n.name in fields:
                return True
            through_field.add(id(n.obj))
    return any(isinstance(n, ast.Name) and n.name == name and id(n) not in through_field for n in ast.walk(node))


#: The role an item or a reward rule for ``producer`` or ``seller`` asks of an operator.
_ROLES = {"producer": "producer", "seller": "seller"}

#: ``Entry.order`` and the order of a subject's entries, as C key functions (the same tuples).
#: Events in (date, id) order and their ids: ids are strings (``history.models.Id``).
_EVENT_ORDER = attrgetter("date", "id")
_EVENT_ID = attrgetter("id")
_ORDER = attrgetter("date", "event")
_ENTRY_ORDER = attrgetter("date", "event", "kind")


def _nothing(day: dt.date) -> None:
    """``Decider.use`` where one version is in force on every date decided."""


def failing(conditions, env: dict) -> list[tuple[str, str | None]]:
    """(reason, cite) of each condition that does not hold in ``env`` (第十四条、第十六条、第十七条).

    Calls the compiled functions themselves; should one fail, the conditions are evaluated
    again through :class:`~qrules.language.CompiledExpr`, which raises the error with its place
    in the ruleset (the conditions are pure: evaluating them again changes nothing)."""
    try:
        return [(c.reason, c.cite) for c in conditions if not c.expr.fn(env)]
    except Exception:  # noqa: BLE001 - re-raised, located, by the second pass
        return [(c.reason, c.cite) for c in conditions if not c.expr(env)]


def value_of(expr, env: dict) -> Any:
    """``expr(env)`` through the compiled function itself; should it fail, evaluated again through
    :class:`~qrules.language.CompiledExpr`, which raises the error with its place in the ruleset."""
    try:
        return expr.fn(env)
    except Exception:  # noqa: BLE001 - re-raised, located, by the second evaluation
        return expr(env)


def exact(value: Decimal) -> Decimal:
    """The same number without trailing zeros (1.50 -> 1.5, 9.0 -> 9), never in exponent form.

    Memoised by value (a fourth of the three decimal operations' cost; scores and points recur):
    equal numbers have one exact form, except zero (0 and -0 are equal keys), never memoised."""
    hit = _EXACT.get(value)
    if hit is None:
        normal = value.normalize()
        hit = normal.quantize(ONE) if normal == normal.to_integral_value() else normal
        if value:
            if len(_EXACT) > 100_000:
                _EXACT.clear()
            _EXACT[value] = hit
    return hit


_EXACT: dict[Decimal, Decimal] = {}


def param_text(value: Any) -> str:
    """A parameter as explanations write it (``180日``), from the ruleset's value."""
    return value.zh() if hasattr(value, "zh") else str(value)


def _pct(ratio: Decimal) -> str:
    return f"{plain(ratio * 100)}%"
