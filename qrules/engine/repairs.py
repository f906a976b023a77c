"""Repairs (第十四条、第十五条): the deduction repaired must count and still count on the repair's
date, once per subject; the operator's eligibility conditions, the limit per period and the ratio
by the deduction's ordinal come from the ruleset.

Pipeline position: a step of :class:`qrules.engine.decide.Decider` (a mixin).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .entries import Entry, exact, failing, new_entry, pct, value_of


class RepairSteps:
    """The repair step of a :class:`~qrules.engine.decide.Decider`."""

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
                    ordinal=e.ordinal, reason=f"第{e.ordinal}次扣分，经营者周期内第{len(prior) + 1}次修复，按{pct(ratio)}修复",
                    via=e.via, via_product=e.via_product, repair_event=eid))
            self.repairs_by_operator.setdefault(operator, []).append(
                (day, (eligible[0].code, "repair") + self.window_key(eligible[0])[2:]))
            self.out.counted_events.add(eid)
