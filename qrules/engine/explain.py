"""Render a subject's result as a readable account, point by point with the article.

Example::

    p1 某牌（产品）  score 10.5  live B  official B
      起始分 12 (第八条)
      −3 监督抽查不合格 e1 2023-03-01 (第十一条第（一）项)
      +1.5 修复 e2 … r1 2023-05-10 (第十五条第（一）项) 第2次扣分，按50%修复
      = 10.5 → B类（第二十六条第一款）
"""

from __future__ import annotations

from decimal import Decimal

from ..language.runtime import plain
from ..versions import in_force_on
from .outlook import adjustment_name
from .results import EntryResult, EvaluationResult, SubjectResult

STATUS_ZH = {
    "counted": "计入", "outside_window": "超出统计周期", "lapsed": "随扣分失效", "deduplicated": "不重复记分",
    "superseded": "同一事项取最高分", "capped": "超出奖励上限",
}


def fmt_points(value: Decimal) -> str:
    """Signed exact decimal: −3, +1.5, 0."""
    text = plain(abs(value))
    if value > 0:
        return f"+{text}"
    if value < 0:
        return f"−{text}"
    return "0"


def fmt_score(value: Decimal | None) -> str:
    return "-" if value is None else plain(value)


def _on(compiled, day):
    """The version in force on ``day`` (brief §4a), or ``compiled`` itself when there is no day."""
    return in_force_on(compiled, day) if day is not None else compiled


def _redecided(compiled, e: EntryResult) -> str | None:
    """Why an entry was decided by a version that started after its date: a ``transition: redecide``
    successor decided it again (brief §4a)."""
    tl = getattr(compiled, "timeline", None)
    if tl is None or not e.version or len(tl.pieces) < 2:
        return None
    piece = next((p for p in tl.pieces if p.label == e.version), None)
    if piece is None or piece.transition != "redecide" or not e.date < piece.start:
        return None
    return f"{piece.start} 起施行的 {piece.label} 按过渡规则 redecide 重新认定（施行时仍在统计周期内）"


def _line(e: EntryResult, again: str | None = None) -> str:
    counts = e.status == "counted" or (e.status == "capped" and e.counted_points > 0)
    mark = "  " if counts else "  ✗ "
    value = fmt_points(e.counted_points if counts else e.points)
    kind = {"deduction": "", "repair": "", "reward": "奖励 "}[e.kind]
    text = f"{mark}{value} {kind}{e.title} {e.event} {e.date}"
    if e.cite:
        text += f" ({e.cite})"
    notes = []
    if e.via:
        notes.append(e.via)
    label = STATUS_ZH.get(e.status, e.status)
    if e.status != "counted":
        notes.append(label + "，不计入" if not counts else label)
    if e.reason and not e.reason.startswith(label):
        notes.append(e.reason)
    if again:
        notes.append(again)
    if notes:
        text += " — " + "；".join(notes)
    if e.version:
        text += f"〔{e.version}〕"  # the version that decided it (brief §4a)
    return text


def _cited(text: str, cite: str | None) -> str:
    return f"{text}（{cite}）" if cite else text


def explain_subject(result: EvaluationResult, s: SubjectResult, compiled=None) -> str:
    """The account of one subject as text (Chinese terms, article citations).

    Every article and every number the text adds to the result comes from ``compiled`` (the
    ruleset that produced ``result``); without it the lines carry no citation.
    """
    cites = compiled.cites if compiled is not None else {}
    lock_length = compiled.lock_duration.zh() if compiled is not None and compiled.lock_duration else None
    head = f"{s.id} {s.name or ''}（{'产品' if s.kind == 'product' else '经营者'}）".replace("  ", " ")
    lines = [head, f"  规则 {result.ruleset} {result.version}，截至 {result.as_of}"
             + (f"（当日施行版本 {result.version_at_as_of}）" if result.version_at_as_of else "")
             + (f"，按截至 {result.as_known_at} 已录入的记录" if result.as_known_at else "")]
    lines += [f"  ⚠ {n.message}" for n in result.out_of_force]
    if not s.scored:
        lines.append(_cited("  未获得质量信用分 → O类", cites.get("unscored")))
    else:
        lines.append(f"  起始分 {fmt_score(s.start)}" + (f" ({cites['start']})" if cites.get("start") else ""))
        if s.determined_by:
            lines.append(_cited(f"  生产者得分取其产品中的最低分：由产品 {s.determined_by} 决定", cites.get("producer")))
        for e in s.entries:
            lines.append(_line(e, _redecided(compiled, e)))
        lines.append(f"  = {fmt_score(s.score)} → 实时分类 {s.live_class}类")
    last = s.adjustments[-1] if s.adjustments else None
    if last:
        how = "锁定" if last.locked else f"按 {last.score_date} 的得分 {fmt_score(last.score)}"
        name = adjustment_name(_on(compiled, last.date))
        lines.append(_cited(f"  正式分类 {s.official_class}类：{last.date} {name}，{how}", cites.get("adjustment"))
                     + (f"〔{last.version}〕" if last.version else ""))
    else:
        lines.append(_cited(f"  正式分类 {s.official_class}类：尚无{adjustment_name(_on(compiled, result.as_of))}",
                            cites.get("adjustment")))
    if s.lock:
        since = f"自 {s.lock.since} 起{lock_length}" if lock_length else f"自 {s.lock.since} 起"
        lines.append(f"  {s.lock.class_}类锁定至 {s.lock.until}（{since}"
                     + (f"，{cites['lock']}）" if cites.get("lock") else "）"))
    m = s.measures
    detail = [m.mode]
    if m.notice:
        detail.append(m.notice)
    if m.checks_per_year:
        detail.append(f"每年至少{m.checks_per_year}次监督抽查或检查")
    if m.interview:
        detail.append(m.interview)
    lines.append(f"  监管措施：{'，'.join(detail)}" + (f"（{m.cite}）" if m.cite else ""))
    flags = [k for k, v in s.flags.items() if v]
    if flags:
        lines.append(f"  信息应用：{', '.join(flags)}")
    if s.outlook is not None:  # brief §4a: what comes with no new events, and what could be done now
        from .outlook import render

        lines += render(s.outlook)
    for r in result.rejected:
        if r.subject == s.id or (r.subject is None and s.id in r.subjects):
            lines.append(f"  ✗ 事项 {r.event}（{r.kind}）不予记分：{r.reason}" + (f"（{r.cite}）" if r.cite else ""))
    return "\n".join(lines)
