"""Rewards (第十六条至第十八条): a rule's conditions over the reward, the subject (its spot-check record
when a rule reads it), the operator and what is in the window; then the cap on the points granted
in the window.

Pipeline position: a step of :class:`qrules.engine.decide.Decider` (a mixin).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..errors import did_you_mean_en
from ..language.runtime import EvaluationError
from .entries import CLEAN_FIELDS, ROLES, ZERO, SubjectView, exact, failing, new_entry, reads_record_fields, value_of


class RewardSteps:
    """The reward steps of a :class:`~qrules.engine.decide.Decider`."""

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
        return self.c.memo(("reads_clean", rule), lambda: any(reads_record_fields(e.node, "subject", CLEAN_FIELDS)
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
        role = ROLES.get(rule.subject)
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
