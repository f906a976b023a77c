"""Deductions (第九条、第十一条至第十三条、第十五条第（一）项): the subjects an event scores — those it
names, a product's producer and a named seller (links) — with each item's ``when``, the
heaviest value once per event, the 180-day dedup of spot-check failures per product line and
each deduction's ordinal in its window.

Pipeline position: steps of :class:`qrules.engine.decide.Decider` (a mixin: the methods read the
decider's state through ``self``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..errors import did_you_mean_en
from .entries import BY_DATE_AND_EVENT, ROLES, Entry, SubjectView, new_entry, param_text, record_field


class DeductionSteps:
    """The deduction steps of a :class:`~qrules.engine.decide.Decider`."""

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
            role = ROLES.get(item.subject)
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
            counted = sorted([e for e in entries if e.kind == "deduction" and e.status == "counted"], key=BY_DATE_AND_EVENT)
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
