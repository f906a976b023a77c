"""``qrules impact OLD NEW HISTORY``: the same history under two rulesets — who changes class, and why.

Pipeline position: two ``versioned.load`` results + a loaded history -> ``engine.evaluate``
twice -> **review.impact** -> an :class:`Impact` (class transition matrix, the subjects whose
class changes with the reason in domain words, score deltas, inspections owed per year).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from ..output import json_ready
from .diff import class_ranges, fmt_value, range_words, ruleset_label

__all__ = ["Impact", "SubjectImpact", "format_impact", "impact"]

# -- impact ---------------------------------------------------------------------------------------
@dataclass
class SubjectImpact:
    """How one subject fares under the old and the new ruleset."""

    id: str
    kind: str
    name: str | None
    old_official: str
    new_official: str
    old_live: str
    new_live: str
    old_score: Decimal | None
    new_score: Decimal | None
    reasons: list[str] = field(default_factory=list)
    entry_changes: list[dict] = field(default_factory=list)
    old_checks: int = 0  # inspections owed per year by the official class's measures (第二十七条)
    new_checks: int = 0

    @property
    def delta(self) -> Decimal | None:
        if self.old_score is None or self.new_score is None:
            return None
        return self.new_score - self.old_score

    @property
    def official_changed(self) -> bool:
        return self.old_official != self.new_official

    @property
    def live_changed(self) -> bool:
        return self.old_live != self.new_live

    @property
    def score_changed(self) -> bool:
        return self.old_score != self.new_score

    def to_dict(self) -> dict:
        d = asdict(self)
        d["delta"] = self.delta
        return json_ready(d)


EXCLUDED = "—"


@dataclass
class Impact:
    """The effect of a ruleset change on one history as of one date."""

    old: str
    new: str
    as_of: dt.date
    subjects: list[SubjectImpact]
    class_order: list[str]
    warnings: list[str] = field(default_factory=list)

    def matrix(self, which: str = "official") -> dict[tuple[str, str], int]:
        return dict(Counter((getattr(s, f"old_{which}"), getattr(s, f"new_{which}")) for s in self.subjects))

    @property
    def class_changes(self) -> list[SubjectImpact]:
        return [s for s in self.subjects if s.official_changed]

    @property
    def live_changes(self) -> list[SubjectImpact]:
        return [s for s in self.subjects if s.live_changed]

    @property
    def score_changes(self) -> list[SubjectImpact]:
        return [s for s in self.subjects if s.score_changed]

    def inspections(self) -> dict[str, int]:
        """Spot checks or inspections owed per year over all subjects, from each official
        class's measures (``checks_per_year``; a class without a minimum owes none)."""
        old = sum(s.old_checks for s in self.subjects)
        new = sum(s.new_checks for s in self.subjects)
        return {"old": old, "new": new, "delta": new - old}

    def delta_stats(self) -> dict[str, Any]:
        deltas = [s.delta for s in self.subjects if s.delta is not None]
        changed = [d for d in deltas if d != 0]
        stats: dict[str, Any] = {"compared": len(deltas), "changed": len(changed)}
        if deltas:
            stats.update(min=min(deltas), max=max(deltas), total=sum(deltas, Decimal(0)),
                         mean=(sum(deltas, Decimal(0)) / len(deltas)).quantize(Decimal("0.01")))
        return stats

    def to_dict(self) -> dict:
        def mat(which):
            return [{"old": o, "new": n, "count": c} for (o, n), c in sorted(self.matrix(which).items(),
                                                                           key=lambda kv: self._key(kv[0]))]
        return json_ready({
            "old": self.old, "new": self.new, "as_of": self.as_of, "warnings": self.warnings,
            "subjects": len(self.subjects), "inspections_per_year": self.inspections(),
            "official_matrix": mat("official"), "live_matrix": mat("live"),
            "class_changes": [s.to_dict() for s in self.class_changes],
            "live_class_changes": [s.to_dict() for s in self.live_changes],
            "score_deltas": {"stats": self.delta_stats(),
                             "subjects": [{"id": s.id, "old": s.old_score, "new": s.new_score, "delta": s.delta}
                                          for s in self.score_changes]},
        })

    def classes(self, which: str = "official") -> list[str]:
        seen = {c for pair in self.matrix(which) for c in pair}
        order = [c for c in self.class_order + ["O", EXCLUDED] if c in seen]
        return order + sorted(seen - set(order))

    def _key(self, pair):
        order = self.class_order + ["O", EXCLUDED]
        return tuple(order.index(c) if c in order else len(order) for c in pair)


_STATUS = {"counted": "计入", "outside_window": "超出统计周期", "lapsed": "修复已失效", "deduplicated": "去重不计",
           "superseded": "以较重分值计入他处", "capped": "超出奖励上限"}


def _entry_state(e) -> str:
    if e is None:
        return "未计入"
    if e.counted_points != 0 or e.status == "counted":
        return f"计 {fmt_value(e.counted_points)}"
    return _STATUS.get(e.status, e.status)


def _entries_diff(old_s, new_s, old_rej: dict, new_rej: dict, sid: str) -> list[dict]:
    def key(e):
        return (e.event, e.kind, e.code, e.of)
    a = {key(e): e for e in (old_s.entries if old_s else [])}
    b = {key(e): e for e in (new_s.entries if new_s else [])}
    out = []
    for k in list(a) + [k for k in b if k not in a]:
        ea, eb = a.get(k), b.get(k)
        if ea is not None and eb is not None and (ea.counted_points, ea.status, ea.points) == (
                eb.counted_points, eb.status, eb.points):
            continue
        before = _entry_state(ea) if ea is not None else _rejected(old_rej, k[0], sid)
        after = _entry_state(eb) if eb is not None else _rejected(new_rej, k[0], sid)
        if before == after and ea is not None and eb is not None and ea.points != eb.points:
            before, after = f"分值 {fmt_value(ea.points)}", f"分值 {fmt_value(eb.points)}"
        if before == after:
            continue
        e = eb or ea
        out.append({"event": e.event, "kind": e.kind, "code": e.code, "title": e.title, "date": e.date,
                    "old": before, "new": after,
                    "old_points": ea.counted_points if ea else Decimal(0),
                    "new_points": eb.counted_points if eb else Decimal(0)})
    return out


def _rejected(rejections: dict, event: str, sid: str) -> str:
    return rejections.get((event, sid)) or rejections.get((event, None)) or "未计入"


def _rejections(result) -> dict:
    out = {}
    for r in result.rejected:
        text = f"不予记分 [{r.code}] {r.reason}"
        out[(r.event, r.subject)] = text
        out.setdefault((r.event, None), text)
    return out


def _threshold_reason(old_c, new_c, score: Decimal | None, what: str) -> str | None:
    if score is None:
        return None
    a, b = old_c.classify(score), new_c.classify(score)
    if a == b:
        return None
    ranges, _ = class_ranges(old_c, new_c)
    rng = next((r.text for r in ranges if r.contains(score)), None)
    cite = (new_c.model.classes.get(b) or old_c.model.classes.get(a))
    cite = cite.cite if cite is not None else None
    where = f"，{range_words(rng)}" if rng else ""
    return (f"分类界限变化: {what} {fmt_value(score)}{where}，旧规则为 {a}类，新规则为 {b}类"
            + (f"（{cite}）" if cite else ""))


def impact(old, new, loaded, as_of: dt.date | None = None) -> Impact:
    """Evaluate ``old`` and ``new`` over the same history and compare subject by subject.

    Args:
        old: compiled ruleset before the change.
        new: compiled ruleset after the change.
        loaded: a :class:`qrules.history.LoadedHistory` (its invalid subjects are honoured).
        as_of: evaluation date (default: today).
    """
    from ..engine import evaluate

    as_of = as_of or dt.date.today()
    ra = evaluate(old, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects)
    rb = evaluate(new, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects)
    rej_a, rej_b = _rejections(ra), _rejections(rb)
    by_a = {s.id: s for s in ra.subjects}
    by_b = {s.id: s for s in rb.subjects}
    excl_a = {x.id: x for x in ra.excluded_subjects}
    excl_b = {x.id: x for x in rb.excluded_subjects}
    ids = list(by_a) + [i for i in by_b if i not in by_a]
    subjects = []
    for sid in ids:
        sa, sb = by_a.get(sid), by_b.get(sid)
        any_s = sb or sa
        si = SubjectImpact(
            id=sid, kind=any_s.kind, name=any_s.name,
            old_official=sa.official_class if sa else EXCLUDED, new_official=sb.official_class if sb else EXCLUDED,
            old_live=sa.live_class if sa else EXCLUDED, new_live=sb.live_class if sb else EXCLUDED,
            old_score=sa.score if sa else None, new_score=sb.score if sb else None,
            old_checks=_checks(sa), new_checks=_checks(sb))
        if sa is None or sb is None:
            x = excl_a.get(sid) if sa is None else excl_b.get(sid)
            side = "旧规则" if sa is None else "新规则"
            si.reasons.append(f"{side}不评价该对象: {x.reason if x else '不在结果中'}" + (f"（{x.cite}）" if x and x.cite else ""))
        if sa is not None and sb is not None:
            si.entry_changes = _entries_diff(sa, sb, rej_a, rej_b, sid)
            si.reasons += _subject_reasons(old, new, sa, sb, si)
        subjects.append(si)
    _adjustment_reasons(old, new, loaded, by_a, by_b, subjects)
    order = list(dict.fromkeys(old.class_order + new.class_order))
    return Impact(old=ruleset_label(old), new=ruleset_label(new), as_of=as_of, subjects=subjects, class_order=order,
                  warnings=list(dict.fromkeys(ra.warnings + rb.warnings)))


def _checks(s) -> int:
    return (s.measures.checks_per_year or 0) if s is not None else 0


def _adjustment_reasons(old, new, loaded, by_a: dict, by_b: dict, subjects: list[SubjectImpact]) -> None:
    """For official-class changes, the entries that differ on the day the adjustment scored."""
    from ..engine import evaluate

    wanted: dict[dt.date, list[SubjectImpact]] = {}
    for si in subjects:
        sa, sb = by_a.get(si.id), by_b.get(si.id)
        if not (si.official_changed and sa and sb and sa.adjustments and sb.adjustments):
            continue
        adj_a, adj_b = sa.adjustments[-1], sb.adjustments[-1]
        if adj_a.score_date == adj_b.score_date and adj_a.score != adj_b.score:
            wanted.setdefault(adj_b.score_date, []).append(si)
    for day, group in wanted.items():
        ids = [si.id for si in group]
        ra = evaluate(old, loaded.history, day, invalid_subjects=loaded.invalid_subjects, subjects=ids)
        rb = evaluate(new, loaded.history, day, invalid_subjects=loaded.invalid_subjects, subjects=ids)
        rej_a, rej_b = _rejections(ra), _rejections(rb)
        xa, xb = {s.id: s for s in ra.subjects}, {s.id: s for s in rb.subjects}
        for si in group:
            if si.id in xa and si.id in xb:
                at = next((i + 1 for i, r in enumerate(si.reasons) if r.startswith(f"调整日（{day}）得分")),
                          len(si.reasons))
                si.reasons[at:at] = [f"调整日（{day}）{ec['event']} {ec['code']}「{ec['title']}」: "
                                     f"{ec['old']} → {ec['new']}"
                                     for ec in _entries_diff(xa[si.id], xb[si.id], rej_a, rej_b, si.id)]


def _subject_reasons(old_c, new_c, sa, sb, si: SubjectImpact) -> list[str]:
    reasons: list[str] = []
    if not (si.official_changed or si.live_changed or si.score_changed):
        return reasons
    adj_a = sa.adjustments[-1] if sa.adjustments else None
    adj_b = sb.adjustments[-1] if sb.adjustments else None
    if si.official_changed:
        if (adj_a is None) != (adj_b is None) or (adj_a and adj_b and adj_a.date != adj_b.date):
            reasons.append(f"最近一次分类调整: {adj_a.date if adj_a else '无'} → {adj_b.date if adj_b else '无'}")
        if adj_a and adj_b:
            if adj_a.score != adj_b.score:
                reasons.append(f"调整日（{adj_b.score_date}）得分 {_score(adj_a.score)} → {_score(adj_b.score)}")
            if adj_a.locked != adj_b.locked:
                reasons.append(f"{sa.official_class if adj_a.locked else sb.official_class}类锁定: "
                               f"{'是' if adj_a.locked else '否'} → {'是' if adj_b.locked else '否'}")
            t = _threshold_reason(old_c, new_c, adj_b.score, f"调整日（{adj_b.score_date}）得分")
            if t:
                reasons.append(t)
    if si.score_changed:
        reasons.append(f"当前得分 {_score(si.old_score)} → {_score(si.new_score)}")
    if si.live_changed:
        t = _threshold_reason(old_c, new_c, si.new_score, "当前得分")
        if t and t not in reasons:
            reasons.append(t)
    for ec in si.entry_changes:
        reasons.append(f"{ec['event']} {ec['code']}「{ec['title']}」: {ec['old']} → {ec['new']}")
    return reasons


def _score(value: Decimal | None) -> str:
    return "未记分" if value is None else fmt_value(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_impact(imp: Impact, fmt: str, history_name: str = "") -> str:
    """Render an impact report as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        d = imp.to_dict()
        d["history"] = history_name
        return json.dumps(d, ensure_ascii=False, indent=2)
    stats = imp.delta_stats()
    head = (f"{len(imp.subjects)} subjects; {len(imp.class_changes)} change official class, "
            f"{len(imp.live_changes)} change live class, {len(imp.score_changes)} change score"
            f"（{len(imp.subjects)} 个记分对象，{len(imp.class_changes)} 个正式分类变化，"
            f"{len(imp.live_changes)} 个实时分类变化，{len(imp.score_changes)} 个得分变化）")
    if fmt == "markdown":
        out = [f"### 影响评估 Impact: {imp.old} → {imp.new}", "",
               f"历史数据 history: `{history_name}`; as of {imp.as_of}.", "", head + ".", "",
               _inspections_line(imp) + ".", ""]
        for w in imp.warnings:
            out += [f"> warning: {w}", ""]
        for which, title in (("official", "正式分类 Official class"), ("live", "实时分类 Live class")):
            classes = imp.classes(which)
            mat = imp.matrix(which)
            out += [f"#### {title}: old ↓ / new →", "",
                    "| old \\ new | " + " | ".join(classes) + " |",
                    "|---|" + "---:|" * len(classes)]
            for o in classes:
                out.append(f"| **{o}** | " + " | ".join(str(mat.get((o, n), "")) for n in classes) + " |")
            out.append("")
        out += ["#### 正式分类变化的对象 Subjects whose official class changes", ""]
        out += _md_subjects(imp.class_changes, "official")
        out += ["#### 实时分类变化的对象 Subjects whose live class changes", ""]
        out += _md_subjects(imp.live_changes, "live")
        out += ["#### 得分变化 Score deltas", ""]
        if imp.score_changes:
            out += [f"{stats['changed']} of {stats['compared']} subjects scored under both change score"
                    + (f"; delta min {fmt_value(stats['min'])}, max {fmt_value(stats['max'])}, "
                       f"mean {fmt_value(stats['mean'])}, total {fmt_value(stats['total'])}" if stats["compared"] else "")
                    + _one_side(imp) + ".", "",
                    "| subject | old | new | delta |", "|---|---:|---:|---:|"]
            out += [f"| {_cell(s.id)} | {_score(s.old_score)} | {_score(s.new_score)} | {_signed(s.delta)} |"
                    for s in imp.score_changes]
        else:
            out.append("无得分变化（no score changes）.")
        return "\n".join(out) + "\n"
    out = [f"qrules impact {imp.old} → {imp.new} on {history_name} as of {imp.as_of}", head, _inspections_line(imp)]
    moves = sorted(((o, n, c) for (o, n), c in imp.matrix("official").items() if o != n),
                   key=lambda t: imp._key((t[0], t[1])))
    if moves:
        out.append("official class: " + ", ".join(f"{o} → {n}: {c}" for o, n, c in moves))
    for s in imp.class_changes:
        name = f" {s.name}" if s.name else ""
        checks = (f"  checks/yr {s.old_checks} → {s.new_checks}" if s.old_checks != s.new_checks else "")
        out.append(f"  {s.id}{name}  {s.old_official} → {s.new_official}  score {_score(s.old_score)} → "
                   f"{_score(s.new_score)}{checks}")
        out += [f"      {r}" for r in s.reasons]
    live_only = [s for s in imp.live_changes if not s.official_changed]
    if live_only:
        out.append("live class only: " + ", ".join(f"{s.id}{' ' + s.name if s.name else ''} {s.old_live} → "
                                                    f"{s.new_live}" for s in live_only))
    if imp.score_changes:
        out.append(f"score deltas: {stats['changed']} of {stats['compared']} change"
                   + (f"; min {fmt_value(stats['min'])}, max {fmt_value(stats['max'])}, mean {fmt_value(stats['mean'])}"
                      if stats["compared"] else "") + _one_side(imp))
    return "\n".join(out) + "\n"


def _one_side(imp: Impact) -> str:
    """Subjects scored under one ruleset only (a new or removed item, say) have no delta: counted apart."""
    n = sum(1 for s in imp.score_changes if s.delta is None)
    return f"; {n} scored under one ruleset only（仅按一方规则集获得质量信用分）" if n else ""


def _inspections_line(imp: Impact) -> str:
    n = imp.inspections()
    sign = "+" if n["delta"] > 0 else ""
    return (f"inspections owed per year（每年应抽查或检查次数，第二十七条）: {n['old']} → {n['new']} "
            f"({sign}{n['delta']})")


def _signed(d: Decimal | None) -> str:
    if d is None:
        return "–"
    return ("+" if d > 0 else "") + fmt_value(d)


def _md_subjects(subjects: list[SubjectImpact], which: str) -> list[str]:
    if not subjects:
        return ["无（none）.", ""]
    out = ["| subject | kind | class | score | reasons |", "|---|---|---|---|---|"]
    for s in subjects:
        cls = f"{getattr(s, 'old_' + which)} → {getattr(s, 'new_' + which)}"
        out.append(f"| {_cell(s.id)}{(' ' + _cell(s.name)) if s.name else ''} | {s.kind} | {cls} | "
                   f"{_score(s.old_score)} → {_score(s.new_score)} | "
                   + "<br>".join(_cell(r) for r in s.reasons) + " |")
    return out + [""]
