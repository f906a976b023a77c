"""The score of one subject over time, drawn as SVG on the server (no script, no CDN).

The line at a date ``d`` is the score ``qrules evaluate --as-of d`` gives (what was known
by then), computed at every date where it can change: an entry's own date, the day an entry
leaves the window, an adjustment date, and the as-of date. Behind it: the score ranges of
the classes (from the class conditions, as ``render`` computes them), the half-year
adjustments with the official class they set, entries leaving the window, and the D lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape
from typing import Any

from ..engine.outlook import adjustments_name

#: Band colours per class (A best … D worst); an unknown class gets grey.
COLOURS = {"A": "#d8f0d8", "B": "#e3eefb", "C": "#fdf0cf", "D": "#f9d6d5"}
MAX_YEARS = 40  # how far a window exit is searched for


@dataclass
class Point:
    date: dt.date
    score: Decimal | None
    live_class: str


@dataclass
class Timeline:
    """What the chart draws, computed by the engine (tested on its own)."""

    start: dt.date
    end: dt.date
    points: list[Point]
    bands: list[tuple[Decimal | None, Decimal | None, str]]   # (low, high, class), None = unbounded
    adjustments: list = field(default_factory=list)           # Adjustment results
    exits: list[tuple[dt.date, str, str]] = field(default_factory=list)  # (date, event, title)
    entries: list = field(default_factory=list)               # EntryResult that count or counted
    lock: tuple[str, dt.date, dt.date] | None = None
    cites: dict = field(default_factory=dict)                 # the ruleset's citations by role
    adjusting: str = "半年调整"                                 # what the adjustments are called (第二十六条第二款)


def cited(cites: dict, role: str, before: str = "") -> str:
    """'（第七条）' from the ruleset's citation for ``role`` ('' when it names none)."""
    cite = cites.get(role)
    if not cite:
        return f"（{before}）" if before else ""
    return f"（{before}，{cite}）" if before else f"（{cite}）"


def class_bands(compiled) -> list[tuple[Decimal | None, Decimal | None, str]]:
    """Score ranges per class, lowest first, split where ``render.class_score_ranges`` splits them."""
    from ..audit import literal_numbers, score_pieces

    points: set[Decimal] = set()
    for expr in compiled.class_exprs.values():
        points |= literal_numbers(expr.node)
    pieces = score_pieces(sorted(points))
    out: list[tuple[Decimal | None, Decimal | None, str]] = []
    for lo, _lc, hi, _hc, sample in pieces:
        cls = compiled.classify(sample)
        if out and out[-1][2] == cls:
            out[-1] = (out[-1][0], hi, cls)
        else:
            out.append((lo, hi, cls))
    return out


def leaves_window(compiled, anchor: dt.date, key: tuple = ()) -> dt.date | None:
    """The first day on which an entry anchored at ``anchor`` is outside the window (第七条),
    found with the ruleset's own window condition; ``key`` is the entry's (item, kind, subject
    kind, category) for rulesets whose window depends on the entry."""
    lo, hi = anchor, anchor + dt.timedelta(days=366 * MAX_YEARS)
    if compiled.in_window(anchor, hi, key):
        return None
    while (hi - lo).days > 1:  # in window at lo, out at hi
        mid = lo + dt.timedelta(days=(hi - lo).days // 2)
        if compiled.in_window(anchor, mid, key):
            lo = mid
        else:
            hi = mid
    return hi


def timeline(compiled, loaded, subject, as_of: dt.date) -> Timeline:
    """The data of the chart of ``subject`` (a SubjectResult as of ``as_of``).

    Window exits are found with the ruleset's window condition, then confirmed by the engine:
    the entry counts the day before and is outside the window on the day.
    """
    from ..engine import evaluate

    def at(day: dt.date):
        r = evaluate(compiled, loaded.history, day, invalid_subjects=loaded.invalid_subjects, subjects=[subject.id])
        return next((x for x in r.subjects if x.id == subject.id), None)

    def status(result, e) -> str | None:
        return next((x.status for x in (result.entries if result else [])
                     if (x.event, x.kind, x.code) == (e.event, e.kind, e.code)), None)

    categories = {str(x.id): (getattr(x, "category", None) or "") for x in loaded.history.subjects}
    owners = [(subject.kind, categories.get(subject.id, ""))]
    if subject.determined_by:  # a producer's line includes its product's entries (第十条)
        owners.append(("product", categories.get(subject.determined_by, "")))
    entries = [e for e in subject.entries if e.status not in ("deduplicated",)]
    results: dict[dt.date, Any] = {}
    exits: list[tuple[dt.date, str, str]] = []
    seen = set()
    for e in entries:
        if e.kind == "repair":
            continue  # a repair lapses with its deduction (第十五条第（三）项): that exit is drawn
        for kind, category in owners:
            day = leaves_window(compiled, e.date, (e.code, e.kind, kind, category))
            if day is None or day > as_of or (e.event, day) in seen:
                continue
            before = results.setdefault(day - dt.timedelta(days=1), at(day - dt.timedelta(days=1)))
            after = results.setdefault(day, at(day))
            if status(before, e) == "counted" and status(after, e) in ("outside_window", None):
                seen.add((e.event, day))
                exits.append((day, e.event, e.title))
    exits.sort()
    first = min([e.date for e in entries] + [a.date for a in subject.adjustments], default=as_of)
    start = min(first, as_of - dt.timedelta(days=365)) - dt.timedelta(days=30)
    dates = sorted({e.date for e in entries} | {d for d, _, _ in exits}
                   | {a.date for a in subject.adjustments} | {as_of, start})
    points = []
    for d in dates:
        if d > as_of:
            continue
        s = results[d] if d in results else at(d)
        points.append(Point(d, s.score if s else None, s.live_class if s else "O"))
    lock = (subject.lock.class_, subject.lock.since, subject.lock.until) if subject.lock else None
    return Timeline(start, as_of, points, class_bands(compiled), list(subject.adjustments), exits, entries, lock,
                    dict(compiled.cites), adjustments_name(compiled, [a.date for a in subject.adjustments]))


# -- drawing ------------------------------------------------------------------------------------------
W, H = 860, 340
L, R, T, B = 56, 24, 28, 58


def svg(tl: Timeline) -> str:
    """The chart as an inline ``<svg>`` element (Chinese labels, article names in the titles)."""
    scores = [p.score for p in tl.points if p.score is not None]
    finite = [x for lo, hi, _ in tl.bands for x in (lo, hi) if x is not None]
    top = max(scores + finite + [Decimal(0)]) + 2
    bottom = min(scores + finite + [Decimal(0)]) - 2
    days = max((tl.end - tl.start).days, 1)

    def x(d: dt.date) -> float:
        return L + (W - L - R) * max(0, min((d - tl.start).days, days)) / days

    def y(v: Decimal) -> float:
        v = max(bottom, min(top, v))
        return T + (H - T - B) * float((top - v) / (top - bottom))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" '
           f'class="score-chart" aria-label="得分走势图">',
           f"<title>得分走势（分类区间、{tl.adjusting}、移出统计周期、D类锁定）</title>"]
    for lo, hi, cls in tl.bands:  # class ranges (第二十六条第一款)
        y1, y2 = y(hi if hi is not None else top), y(lo if lo is not None else bottom)
        out.append(f'<rect x="{L}" y="{y1:.1f}" width="{W - L - R}" height="{max(y2 - y1, 0):.1f}" '
                   f'fill="{COLOURS.get(cls, "#eee")}"><title>{escape(cls)}类得分区间</title></rect>')
        out.append(f'<text x="{W - R - 4}" y="{(y1 + y2) / 2 + 5:.1f}" text-anchor="end" class="band">{escape(cls)}类</text>')
    if tl.lock:  # D lock (第二十六条第二款)
        cls, since, until = tl.lock
        out.append(f'<rect x="{x(since):.1f}" y="{T}" width="{x(min(until, tl.end)) - x(since):.1f}" '
                   f'height="{H - T - B}" fill="url(#hatch)" class="lock"><title>{escape(cls)}类锁定 {since} 至 '
                   f'{until}{cited(tl.cites, "lock")}</title></rect>')
        out.insert(2, '<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
                      'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="8" stroke="#c0392b" '
                      'stroke-width="2" stroke-opacity="0.25"/></pattern></defs>')
        out.append(f'<text x="{x(since) + 4:.1f}" y="{T + 14}" class="lock-label">{escape(cls)}类锁定至 {until}</text>')
    # axes: score ticks at the class boundaries, years on x
    for v in sorted(set(finite + [Decimal(0)])):
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
                   f'<text x="{L - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">{v.normalize():f}</text>')
    for year in range(tl.start.year + 1, tl.end.year + 1):
        d = dt.date(year, 1, 1)
        out.append(f'<line x1="{x(d):.1f}" x2="{x(d):.1f}" y1="{H - B}" y2="{H - B + 5}" class="axis"/>'
                   f'<text x="{x(d):.1f}" y="{H - B + 18}" text-anchor="middle" class="tick">{year}</text>')
    out.append(f'<line x1="{L}" x2="{W - R}" y1="{H - B}" y2="{H - B}" class="axis"/>')
    for a in tl.adjustments:  # half-year adjustments with the official class they set
        if a.date < tl.start:
            continue
        how = "锁定" if a.locked else f"按{a.score_date}得分{'-' if a.score is None else f'{a.score.normalize():f}'}"
        out.append(f'<g class="adjustment"><line x1="{x(a.date):.1f}" x2="{x(a.date):.1f}" y1="{T}" y2="{H - B}"/>'
                   f'<text x="{x(a.date):.1f}" y="{H - B + 34}" text-anchor="middle">{escape(a.official_class)}</text>'
                   f'<title>{a.date} {tl.adjusting}：正式分类 {escape(a.official_class)}类{cited(tl.cites, "adjustment", how)}</title></g>')
    for day, event, title in tl.exits:  # entries leaving the window (第七条)
        out.append(f'<g class="exit"><line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{T}" y2="{H - B}"/>'
                   f'<text x="{x(day) - 3:.1f}" y="{T + 28}" text-anchor="end">移出 {escape(event)}</text>'
                   f'<title>{day} {escape(event)}「{escape(title)}」移出统计周期{cited(tl.cites, "window")}</title></g>')
    path = []  # the score, a step line (it changes only at the dates computed)
    prev = None
    for p in tl.points:
        if p.score is None:
            prev = None
            continue
        if prev is None:
            path.append(f"M{x(p.date):.1f},{y(p.score):.1f}")
        else:
            path.append(f"H{x(p.date):.1f}V{y(p.score):.1f}")
        prev = p
    if path:
        out.append(f'<path d="{"".join(path)}" class="score"/>')
    for p in tl.points:
        if p.score is not None:
            out.append(f'<circle cx="{x(p.date):.1f}" cy="{y(p.score):.1f}" r="3" class="dot">'
                       f'<title>{p.date} 得分 {p.score.normalize():f}（实时分类 {escape(p.live_class)}类）</title></circle>')
    for e in tl.entries:  # what happened: deductions down, repairs and rewards up
        mark = "▼" if e.kind == "deduction" else "▲"
        cls = "ded" if e.kind == "deduction" else "plus"
        out.append(f'<text x="{x(e.date):.1f}" y="{T - 8}" text-anchor="middle" class="{cls}">{mark}'
                   f'<title>{e.date} {escape(e.event)}「{escape(e.title)}」{escape(e.cite or "")}</title></text>')
    out.append(f'<text x="{L}" y="{H - 8}" class="legend">— 得分（每日按当日已有记录计算）  ┆ {tl.adjusting}（下方为正式分类）'
               f'  ┆ 移出统计周期  ▼扣分 ▲修复/奖励  斜线：锁定期</text>')
    out.append("</svg>")
    return "".join(out)
