"""The outlook of a subject: what happens with no new events, and what could improve it now.

Pipeline position: ``engine`` (an evaluation) -> **outlook**. Nothing here restates the
rules: (a) dates and classes come from the engine's own scorer asked at future dates (the
window rule of each version finds when an entry leaves it, the adjustments are the
scorer's own, under the version in force then); (b) each possible action is tried as a
what-if event (a repair or a reward dated the as-of date) evaluated by the engine itself,
so eligibility, the repair ratio and limit, and the reward cap are the ruleset's.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ..versions import in_force_on
from .results import OutlookAction, OutlookStep, SubjectOutlook

HORIZON_YEARS = 6          # look no further: a 36-month window and a 3-year lock end well before
STEP = Decimal(1) / 2        # score granularity searched for the next better class (50% repairs of 1 point)


def adjustment_name(compiled) -> str:
    """What the ruleset's adjustments (第二十六条第二款) are called, from how many dates a year it has:
    半年调整 for the two of the provincial norms, 季度调整 for four (a successor may adjust quarterly)."""
    n = len(compiled.adjustment_dates) if compiled is not None else 2
    return {1: "年度调整", 2: "半年调整", 4: "季度调整"}.get(n, "分类调整")


def adjustments_name(compiled, days: list[dt.date]) -> str:
    """What adjustments made on ``days`` are called, each under the version in force on its day
    (brief §4a): their common :func:`adjustment_name`, or 分类调整 when the versions differ."""
    names = {adjustment_name(in_force_on(compiled, d)) for d in days}
    return names.pop() if len(names) == 1 else ("分类调整" if names else adjustment_name(compiled))


def _exit_date(compiled, anchor: dt.date, after: dt.date, limit: dt.date) -> dt.date | None:
    """The first day after ``after`` on which the window rule no longer counts ``anchor`` (binary search:
    the rule is monotone in the as-of date)."""
    if compiled.in_window(anchor, limit):
        return None
    lo, hi = after, limit          # in window at lo, out at hi
    while (hi - lo).days > 1:
        mid = lo + dt.timedelta(days=(hi - lo).days // 2)
        if compiled.in_window(anchor, mid):
            lo = mid
        else:
            hi = mid
    return hi


def _cite(compiled, role: str) -> str:
    cite = (getattr(compiled, "cites", {}) or {}).get(role)
    return f"（{cite}）" if cite else ""


def future(tl, scorer_at, sid: str, as_of: dt.date, lock) -> list[OutlookStep]:
    """(a) With no new events: entries leaving the window, repairs lapsing, the lock ending, and the
    live and official class at each coming adjustment, until nothing changes."""
    limit = dt.date(as_of.year + HORIZON_YEARS, as_of.month, min(as_of.day, 28))
    now = scorer_at(as_of)
    subject = now.subjects[sid]
    owners = [sid] + (now.products_of.get(sid, []) if subject.kind == "operator" else [])
    steps: list[OutlookStep] = []
    for owner in owners:
        for e in now.live_entries(owner, as_of):
            day = _exit_date(tl.at(as_of).compiled, now.anchor(e), as_of, limit)
            if day is None:
                continue
            c = tl.at(day).compiled
            later = _exit_date(c, now.anchor(e), as_of, limit) if c is not tl.at(as_of).compiled else day
            day = later or day
            lapses = e.kind == "repair"
            what = "repair_lapses" if lapses else "leaves_window"
            text = (f"修复 {e.event} 随所修复的扣分移出统计周期而失效" if lapses
                    else f"{e.event}（{e.title}，{e.points:+}分）移出统计周期") + _cite(c, "window")
            if owner != sid:
                text = f"产品 {owner}：" + text
            steps.append(OutlookStep(date=day, what=what, event=e.event, text=text))
    if lock is not None:
        c = tl.at(lock.until).compiled
        steps.append(OutlookStep(date=lock.until, what="lock_ends", event=None,
                                       text=f"{lock.class_}类锁定期届满，此后的调整按实际得分分类" + _cite(c, "lock")))
    last_change = max((s.date for s in steps), default=as_of)
    horizon = min(limit, dt.date(last_change.year + 1, last_change.month, min(last_change.day, 28)))
    adjustments, _ = now.adjustments(sid, horizon, scorer_at)
    previous = None
    for a in adjustments:
        if a.date <= as_of:
            previous = a.official_class
            continue
        live = scorer_at(a.date).account(sid, a.date)
        live_class = scorer_at(a.date).classify(live.score) if live.scored else "O"
        c = tl.at(a.date).compiled
        steps.append(OutlookStep(
            date=a.date, what="adjustment", event=None, score=a.score, live_class=live_class,
            official_class=a.official_class,
            text=(f"{adjustment_name(c)}：按 {a.score_date} 得分 {a.score} 分，正式分类 {a.official_class}类"
                  + ("（锁定）" if a.locked else "") + _cite(c, "adjustment"))))
        if a.date > last_change and a.official_class == previous:
            break
        previous = a.official_class
    for i, s in enumerate(steps):
        if s.what != "adjustment":
            acc = scorer_at(s.date).account(sid, s.date)
            steps[i] = s.model_copy(update={"score": acc.score, "live_class": scorer_at(s.date).classify(acc.score)
                                            if acc.scored else "O"})
    return sorted(steps, key=lambda s: (s.date, s.what == "adjustment"))


def needed(compiled, score: Decimal | None, live: str) -> tuple[str | None, Decimal | None]:
    """(b) The next better class and the fewest points that reach it: exactly to a bound the class
    conditions include (``score >= 11.75``), in steps of 0.5 past one they exclude (``6 < score``);
    the bounds are the ruleset's own numbers, so a successor's thresholds or start score need no 48-point horizon."""
    order = compiled.class_order
    if score is None or live not in order or order.index(live) == 0:
        return None, None
    better = set(order[:order.index(live)])
    candidates = {STEP * k for k in range(1, 97)}  # up to 48 points, for conditions that are not plain bounds
    for bound in _class_bounds(compiled):
        gap = bound - score
        if gap >= 0:
            candidates |= {gap, (gap // STEP + 1) * STEP} - {Decimal(0)}
    for points in sorted(candidates):
        if compiled.classify(score + points) in better:
            from .entries import exact

            return compiled.classify(score + points), exact(points)
    return None, None


def _class_bounds(compiled) -> set[Decimal]:
    """The numbers a score is compared with in the class conditions: written ones and parameters."""
    from ..audit import literal_numbers

    out = {v for v in compiled.params.values() if isinstance(v, Decimal)}
    for expr in compiled.class_exprs.values():
        out |= literal_numbers(expr.node)
    return out


def actions(compiled, history, as_of: dt.date, sid: str, result, invalid=None) -> list[OutlookAction]:
    """(b) What could bring points now: each repairable deduction and each reward rule tried as a
    what-if event dated ``as_of``, evaluated by the engine (eligibility, ratio, limit, cap)."""
    from ..history import Repair, Reward
    from . import evaluate

    subject = result.subject(sid)
    out: list[OutlookAction] = []
    tried = []
    repaired = {e.of for e in subject.entries if e.kind == "repair"}
    for e in subject.entries:
        if e.kind == "deduction" and e.status == "counted" and e.event not in repaired:
            tried.append(("repair", e.event, Repair.model_validate(
                {"id": f"outlook-repair-{e.event}", "kind": "repair", "of": e.event, "date": as_of,
                 "rectified": True})))
    kind = subject.kind
    for code, rule in compiled.model.rewards.rules.items():
        fits = (rule.subject == "product") == (kind == "product") and (
            rule.subject not in ("producer", "seller") or rule.subject in subject.roles)
        if fits:
            tried.append(("reward", code, Reward.model_validate(
                {"id": f"outlook-reward-{code}", "kind": "reward", "rule": code, "subject": sid, "date": as_of,
                 "reported": True, "recalled_before_defect": True})))
    for what, ref, event in tried:
        probe = history.model_copy(update={"events": list(history.events) + [event]})
        probe.model_post_init(None)
        probe._links = None
        got = evaluate(compiled, probe, as_of, subjects=[sid], invalid_subjects=invalid)
        mine = [x for x in got.subject(sid).entries if x.event == event.id]
        refused = [r for r in got.rejected if r.event == event.id and (r.subject in (None, sid))]
        if mine and mine[0].counted_points > 0:
            x = mine[0]
            gain = x.counted_points
            if what == "repair":
                text = f"申请修复 {ref}：可加 {gain} 分（{x.reason or ''}）" + (f"（{x.cite}）" if x.cite else "")
            else:
                text = (f"奖励 {ref}（{x.title}）：奖励分上限内可计 {gain} 分"
                        + (f"（{x.reason}）" if x.status == "capped" else "") + (f"（{x.cite}）" if x.cite else ""))
            out.append(OutlookAction(kind=what, ref=ref, points=gain, possible=True, text=text))
        else:
            if refused:
                reason, cite = refused[0].reason, refused[0].cite
            elif mine and mine[0].status == "capped":  # eligible, but the cap leaves nothing to add
                reason, cite = (mine[0].reason or "奖励分已达上限（the reward cap is reached）"), mine[0].cite
            else:
                reason, cite = "对本记分对象不计分（not counted for this subject）", None
            label = f"修复 {ref}" if what == "repair" else f"奖励 {ref}"
            out.append(OutlookAction(kind=what, ref=ref, points=Decimal(0), possible=False,
                                           text=f"{label} 目前不可行：{reason}" + (f"（{cite}）" if cite else "")))
    return out


def with_outlook(compiled, history, result, as_of: dt.date, invalid=None, subjects=None):
    """``result`` with an outlook on each subject (or on ``subjects``)."""
    wanted = set(subjects) if subjects is not None else None
    out = [s.model_copy(update={"outlook": outlook(compiled, history, result, s.id, as_of, invalid)})
           if wanted is None or s.id in wanted else s for s in result.subjects]
    return result.model_copy(update={"subjects": out})


def render(o: SubjectOutlook) -> list[str]:
    """The outlook as lines of Chinese text for ``explain``."""
    lines = ["  展望（不再发生新事项时）："]
    for st in o.steps:
        tail = f" → 得分 {st.score}，实时 {st.live_class}类" if st.what != "adjustment" and st.score is not None else ""
        lines.append(f"    {st.date} {st.text}{tail}")
    if not o.steps:
        lines.append("    无变化")
    if o.next_class:
        lines.append(f"  升至 {o.next_class}类 至少还需 {o.points_needed} 分；现在可做：")
        lines += [f"    {'✓' if a.possible else '✗'} {a.text}" for a in o.actions] or ["    （无）"]
    return lines


def outlook(compiled, history, result, sid: str, as_of: dt.date, invalid=None) -> SubjectOutlook:
    """The outlook of one evaluated subject (see module docstring)."""
    from . import decide_timeline, subject_views, timeline_of

    tl = timeline_of(compiled)
    face = tl.at(as_of).compiled
    views = subject_views(face, history.subjects)
    _, scorer_at = decide_timeline(tl, views, dict(invalid or {}), as_of, list(history.events))
    s = result.subject(sid)
    steps = future(tl, scorer_at, sid, as_of, s.lock) if s.scored else []
    target, points = needed(face, s.score, s.live_class)
    acts = actions(compiled, history, as_of, sid, result, invalid) if s.scored else []
    return SubjectOutlook(steps=steps, next_class=target, points_needed=points, actions=acts)
