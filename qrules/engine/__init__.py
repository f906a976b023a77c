"""Scoring engine: a compiled ruleset and a history in, an :class:`EvaluationResult` out.

Pipeline position: ``ruleset`` (compiled) + ``history`` (validated) -> **engine**:
``decide`` fixes every entry as of its own date, ``score`` sums the window at any date and
classifies, ``explain`` renders the account. Nothing about the rules is written here that
the ruleset could not change: windows, points, ratios, caps, thresholds, adjustment dates
and the lock all come from the compiled ruleset.
"""

from __future__ import annotations

import datetime as dt
import gc
from decimal import Decimal
from operator import attrgetter
from typing import Any, Iterable

from ..history.kinds import components
from ..history.models import check_as_of
from ..versions import require_in_force  # ``--require-in-force`` (QR907): set by the command line, read here
from .decide import Decider
from .entries import Entry, SubjectView, param_text, record_field
from .results import (EntryResult, EvaluationResult, ExcludedSubject, Lock, Measures, SubjectResult, VersionNote,
                      entry_result, evaluation_result, subject_result, summary)
from .score import Scorer

ZERO = Decimal(0)
_RESULT_ORDER = attrgetter("date", "event", "kind")  # the lines of an account, as a C key function
_USED_KEY = attrgetter("subject", "event", "kind")  # an account line's key in ``_subject_result``'s ``used``
_KIND = attrgetter("kind")

__all__ = ["evaluate", "subject_views", "validity_warnings", "require_in_force", "check_known_at", "known_at"]



def division_prefix(division: str) -> str:
    """Administrative division prefix: 440000 -> '44', 440500 -> '4405', 440512 -> '440512'."""
    code = division
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


def subject_views(compiled, subjects: Iterable[Any]) -> dict[str, SubjectView]:
    """Engine views of the history's subjects, with scope (第二条) and jurisdiction applied."""
    m = compiled.model
    scope = compiled._window_cache.get(("scope",))  # the memo, read without a call
    excluded_categories, prefix = scope or compiled.memo(("scope",), lambda: (frozenset(m.scope.excluded_categories),
                                                                              division_prefix(m.jurisdiction.division)))
    raw = {str(s.id): s for s in subjects}
    views: dict[str, SubjectView] = {}
    for sid, s in raw.items():
        kind = s.kind
        fields = getattr(s, "__dict__", None) or {}  # as record_field reads them, once per record
        producer = str(s.producer) if kind == "product" and fields.get("producer") else None
        region = fields.get("region")
        if region is None and producer and producer in raw:
            region = record_field(raw[producer], "region")
        # id, kind, name, roles, producer, brand, region, category, nice_class: by position, as a
        # class called with keywords passes them through a dict to its ``__init__``
        view = SubjectView(sid, kind, fields.get("name"), frozenset(fields.get("roles") or ()), producer,
                           fields.get("brand"), region, fields.get("category"), fields.get("nice_class"))
        if view.category in excluded_categories:
            view.excluded = ("QR604", f"{view.category}不适用本规范（out of scope: category '{view.category}'）",
                             m.scope.cite)
        elif region and not str(region).startswith(prefix):
            view.excluded = ("QR605", f"行政区划 {region} 不在{m.jurisdiction.name}（{m.jurisdiction.division}）"
                             f"辖区内（outside the jurisdiction）", m.jurisdiction.cite)
        views[sid] = view
    return views


def _entry_result(e: Entry, scorer: Scorer, as_of: dt.date, used: dict[tuple, Entry],
                  determined_by: str | None = None, own: bool = False) -> EntryResult:
    """One line of the account; ``own``: ``used`` is the subject's own live entries (no producer's
    line, 第十条), so a counted entry is in the window exactly when it is in ``used``."""
    status, reason, cite = e.status, e.reason, e.cite
    counted_points = ZERO
    kind = e.kind
    # ``e.counted`` written out: a counted or capped entry (a reward only with points left)
    if (status == "counted" or status == "capped") and (kind != "reward" or e.points > 0):
        taken = used.get((e.subject, e.event, kind))
        if (taken is None) if own else not scorer.in_window(e, as_of):
            status = "lapsed" if kind == "repair" else "outside_window"
            reason = ("所修复的扣分已超出统计周期，修复分不再统计" if kind == "repair"
                      else f"超出统计周期（最近{param_text(scorer.c.params.get('window'))}）")
            cite = (scorer.c.model.repair.lapses_with_deduction.cite if kind == "repair"
                    else scorer.c.cites.get("window"))
        elif taken is None:
            status = "superseded"
            reason = "同一事项在生产者的产品记录中以较重分值计入，只记一次"
            cite = scorer.c.model.dedup.once_per_event.cite
            if e.via_product is not None and e.via_product != determined_by:
                reason = (f"该记分来自产品 {e.via_product} 的事项，只计入生产者在该产品一项的得分"
                          f"（entry of product {e.via_product}'s event: counted in that product's term only）")
                cite = scorer.c.cites.get("producer")
        else:
            counted_points = taken.points
            if taken is not e:  # re-capped on a producer's line (第十条、第十八条)
                status, reason, cite = taken.status, taken.reason, taken.cite
    of = e.of
    return entry_result(e.event, kind, e.code, e.title, e.date, e.points, counted_points, status, reason, cite, e.via,
                        of.event if of is not None else None, e.ordinal, e.requested, e.version)


def evaluate(compiled, history, as_of: dt.date | None = None, *, invalid_subjects: dict[str, str] | None = None,
             subjects: Iterable[str] | None = None, as_known_at: dt.date | None = None) -> EvaluationResult:
    """Evaluate ``history`` under ``compiled`` as of ``as_of`` (default: today).

    Args:
        compiled: a :class:`qrules.ruleset.CompiledRuleset`.
        history: a :class:`qrules.history.History`.
        as_of: the evaluation date; only events dated on or before it are used.
        invalid_subjects: subject id -> reason, for subjects the loader refused (their events are rejected).
        subjects: evaluate only these subjects, over the part of the history connected to them
            (their results are the same as over the whole history; rejections and the summary
            then cover that part only).
        as_known_at: use only the records entered by this date (``recorded``, default their
            date), corrections included: what the system knew then (brief §4a). Not after ``as_of``.
    """
    check_as_of(as_of)  # window arithmetic must stay inside the calendar (docs/security.md)
    if as_known_at is not None:
        check_known_at(as_known_at, as_of)
        history = known_at(history, as_known_at)
    # The engine makes many small acyclic objects next to a large loaded history; the cyclic
    # collector's passes over all of them cost about as much as the evaluation itself.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(compiled, history, as_of, invalid_subjects, subjects, as_known_at)
    finally:
        if enabled:
            gc.enable()


def check_known_at(as_known_at: dt.date, as_of: dt.date | None) -> None:
    """QR615: what was known at a date after the as-of date is not a view of the past (brief §4a).
    Every command that takes ``--as-known-at`` refuses it the same way, before any work."""
    check_as_of(as_known_at)
    if as_known_at > (as_of or dt.date.today()):
        from ..errors import Diagnostic, QrulesError

        raise QrulesError(Diagnostic("QR615", f"as known at {as_known_at} is after the as-of date "
                                     f"{as_of or dt.date.today()}（“截至录入日”不得晚于评价日）", None,
                                     hint="--as-known-at 写不晚于 --as-of 的日期（as known at a date on or before --as-of）"))


def known_at(history, day: dt.date):
    """The history as known on ``day``: records entered (``recorded``, default their date) by then.
    The batch backends and ``deadlines`` cut their input with it too (:mod:`qrules.knownat`)."""
    events = [ev for ev in history.events if (record_field(ev, "recorded") or ev.date) <= day]
    if len(events) == len(history.events):
        return history
    known = history.model_copy(update={"events": events})
    known.model_post_init(None)  # its indexes by id cover only the known records
    known._links = None
    return known


def connected_part(history, wanted: Iterable[str]):
    """The subjects and events connected to ``wanted`` (product ↔ producer, event ↔ the subjects it
    names, event ↔ the event in its ``of``): all that can change those subjects' results.

    Evaluating only this part gives the same results for ``wanted`` as the whole history (the
    components are :func:`qrules.history.kinds.components`, the same the batch backend partitions by).
    """
    comp = components(history)
    chosen = sorted({comp.of_subject[str(x)] for x in wanted if str(x) in comp.of_subject})
    if len(chosen) == 1:  # one component: its indices are in input order already
        s_idx, e_idx = comp.subjects[chosen[0]], comp.events[chosen[0]]
    else:
        s_idx = sorted(i for k in chosen for i in comp.subjects[k])  # in input order, as on the whole history
        e_idx = sorted(i for k in chosen for i in comp.events[k])
    # the records at those indices, picked by C calls (``map``) rather than a comprehension's loop
    return list(map(history.subjects.__getitem__, s_idx)), list(map(history.events.__getitem__, e_idx))


def _evaluate(compiled, history, as_of, invalid_subjects, subjects, as_known_at=None) -> EvaluationResult:
    as_of = as_of or dt.date.today()
    if subjects is not None:  # only what can change the requested subjects' results
        all_subjects, events = connected_part(history, subjects)
    else:
        all_subjects, events = history.subjects, list(history.events)
    tl = timeline_of(compiled)
    face = tl.at(as_of)
    compiled = face.compiled  # the version in force on the as-of date: live class, measures (§4a)
    m = compiled.model
    views = subject_views(compiled, all_subjects)
    decisions, scorer_at = decide_timeline(tl, views, dict(invalid_subjects or {}), as_of, events)
    scorer = scorer_at(as_of)
    warnings = decisions.warnings
    wanted = set(subjects) if subjects is not None else None
    results = []
    for sid, view in views.items():
        if view.excluded is not None or (wanted is not None and sid not in wanted):
            continue
        results.append(_subject_result(compiled, scorer, view, as_of, scorer_at))
    excluded = [ExcludedSubject.build(id=v.id, reason=v.excluded[1], cite=v.excluded[2], code=v.excluded[0])
                for v in views.values() if v.excluded is not None]
    rejected_ids = {r.event for r in decisions.rejections}
    counted = decisions.counted_events | decisions.fact_events
    totals = summary(len(results), _tally([r.official_class for r in results]), _tally([r.live_class for r in results]),
                     len(events), len(counted), len(rejected_ids - counted),
                     _tally([r.code for r in decisions.rejections]))
    notes = version_notes(tl, as_of, decisions.out_of_force, results)
    if notes and require_in_force.get():
        _refuse_out_of_force(notes)
    return evaluation_result(m.ruleset, m.version, as_of, as_known_at, face.label, not notes, notes,
                             [n.message for n in notes] + warnings if notes else warnings, results,
                             decisions.rejections, excluded, totals)


def _tally(values: list[str]) -> dict[str, int]:
    """How many times each value occurs, by value (``Counter`` costs more on the few values here)."""
    if len(values) < 2:  # none or one subject or rejection: the single-subject path
        return dict.fromkeys(values, 1)
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items())) if len(out) > 1 else out


def timeline_of(compiled):
    """The versions by date of a compiled ruleset (one version on its own: a timeline of one)."""
    tl = getattr(compiled, "timeline", None)
    if tl is None:
        from ..versions import Timeline

        tl = compiled.timeline = Timeline.single(compiled)
    return tl


def decide_timeline(tl, views, invalid, as_of, events):
    """Phase 1 under the versions of ``tl`` (brief §4a), and a scorer for any date.

    Each ``transition: redecide`` that started by ``as_of`` opens a new set of decisions: the
    entries still in its window re-decided under it. A date is scored with the decisions of the
    last such start on or before it (past adjustments keep what was decided then), under the
    version in force on that date."""
    cutoffs = [None] + tl.redecide_starts(as_of)
    face = tl.at(as_of).compiled
    # by position: a class called with keywords passes them through a dict to its ``__init__``
    runs = [Decider(face, views, invalid, as_of, tl, cut).run(events) for cut in cutoffs]
    if len(tl.pieces) == 1:
        only = Scorer(face, views, runs[-1])
        only.label = tl.pieces[0].label
        return runs[-1], only.at
    dates = sorted({d for p in tl.pieces for d in p.compiled.adjustment_dates})
    cache: dict = {}

    def scorer_at(day: dt.date) -> Scorer:
        piece = tl.at(day)
        run = max(i for i, cut in enumerate(cutoffs) if cut is None or cut <= day)
        hit = cache.get((piece.label, run))
        if hit is None:
            hit = cache[(piece.label, run)] = Scorer(piece.compiled, views, runs[run])
            hit.label, hit.all_adjustment_dates = piece.label, dates
        return hit
    return runs[-1], scorer_at


def version_notes(tl, as_of: dt.date, decided: list, results: list) -> list:
    """Where no version was in force (brief §4a): the as-of date, events, adjustments; one note each."""
    if len(tl.pieces) == 1 and not decided:  # one version: dates out of force only outside its period
        piece = tl.pieces[0]
        # each subject's adjustments are in date order: its first and last are its extremes
        days = [d for r in results if r.adjustments for d in (r.adjustments[0].date, r.adjustments[-1].date)]
        if piece.covers(as_of) and (not days or piece.covers(min(days)) and piece.covers(max(days))):
            return []
    groups: dict[tuple[str, str, bool], list] = {}
    gone = tl.out_of_force(as_of)
    if gone is not None:
        groups[("as_of", gone.piece.label, False)] = [gone]
    for note in decided:
        groups.setdefault(("events", note.piece.label, note.day < note.piece.start), []).append(note)
    days = sorted({a.date for r in results for a in r.adjustments})
    if days and len(tl.pieces) == 1 and tl.pieces[0].covers(days[0]) and tl.pieces[0].covers(days[-1]):
        days = []  # one version in force over a period that holds them all
    for day in days:
        note = tl.out_of_force(day)
        if note is not None:
            groups.setdefault(("adjustments", note.piece.label, day < note.piece.start), []).append(note)
    out = []
    for (what, label, _), notes in groups.items():
        days = sorted({n.day for n in notes})
        if what == "as_of":
            message = notes[0].why
        else:
            piece = notes[0].piece
            zh, en = {"events": ("记分事项", "events"), "adjustments": ("分类调整", "adjustments")}[what]
            if days[-1] < piece.start:
                state, gist = f"该版本自 {piece.start} 起施行", f"in force from {piece.start}"
            else:
                state, gist = f"该版本已于 {piece.until} 失效", f"expired on {piece.until}"
            message = (f"{days[0]} 至 {days[-1]} 共 {len(days)} 个日期的{zh}无有效规则版本，按 {label} 认定（{state}）"
                       f"（{en} on {len(days)} date(s) from {days[0]} to {days[-1]} had no version in force; "
                       f"decided under {label}, {gist}）")
        note = VersionNote.build(what=what, version=label, first=days[0], last=days[-1], count=len(days),
                                 message=message)
        # not output (a private slot): lets a batch of chunks count the dates once (note_days)
        object.__setattr__(note, "__pydantic_private__", {"days": days})
        out.append(note)
    return out


def note_days(notes: list) -> tuple[list[dt.date], list[dt.date]]:
    """The dates of events and of adjustments that ``version_notes`` found with no version in force:
    what each chunk of a batch reports, so that the notes are said once for the whole corpus."""
    days: dict[str, list[dt.date]] = {"events": [], "adjustments": []}
    for n in notes:
        if n.what in days:
            days[n.what] += (n.__pydantic_private__ or {}).get("days", ())
    return days["events"], days["adjustments"]


def _refuse_out_of_force(notes) -> None:
    """``--require-in-force``: no result decided under a version that was not in force."""
    from ..errors import Diagnostic, QrulesError

    raise QrulesError([Diagnostic("QR907", f"no ruleset version in force（无有效规则版本）: {n.message}", None,
                                  hint="把这些日期施行的版本加入规则集目录，或去掉 --require-in-force 按最后一个版本评价"
                                       "（add the version in force on those dates to the rulesets folder, or "
                                       "drop --require-in-force to evaluate under the last one）") for n in notes])


#: Public for the columnar backend, which words its notes as the engine does.
refuse_out_of_force = _refuse_out_of_force


def validity_warnings(compiled, as_of: dt.date) -> list[str]:
    """第三十六条 and brief §4a: the warning every output gives when no version is in force on ``as_of``."""
    tl = getattr(compiled, "timeline", None)
    if tl is not None:
        note = tl.out_of_force(as_of)
        if note is not None and require_in_force.get():
            _refuse_out_of_force([VersionNote.build(what="as_of", version=note.piece.label, first=as_of,
                                                    last=as_of, count=1, message=note.why)])
        return [note.why] if note is not None else []
    m = compiled.model
    warnings = []
    if m.in_force.until is not None and as_of > m.in_force.until:
        warnings.append(f"ruleset {m.ruleset} expired on {m.in_force.until} ({compiled.cites.get('in_force_until') or ''}); "
                        f"results as of {as_of} apply rules no longer in force（规则已于{m.in_force.until}失效）")
    if as_of < m.in_force.from_:
        warnings.append(f"ruleset {m.ruleset} is in force from {m.in_force.from_}; as of {as_of} it was not yet "
                        "in force（规则尚未施行）")
    return warnings


def class_measures(compiled, cls: str) -> Measures:
    """The measures the ruleset states for a class (第二十七条), cached per ruleset."""
    cache = compiled._window_cache
    hit = cache.get(("measures", cls))
    if hit is None:
        measure = compiled.model.measures.get(cls)
        hit = cache[("measures", cls)] = measure if measure is not None else Measures(mode="-")
    return hit


def _subject_result(compiled, scorer: Scorer, view: SubjectView, as_of: dt.date, scorer_at=None) -> SubjectResult:
    acc = scorer.account(view.id, as_of)
    live = scorer.classify(acc.score) if acc.scored else "O"
    adjustments, lock = scorer.adjustments(view.id, as_of, scorer_at)
    official = adjustments[-1].official_class if adjustments else "O"
    if official == "O" and acc.scored and not compiled.params.get("new_subject_waits", True):
        official = live
    # (subject, event, kind) -> entry, the last of equal keys winning, built by C calls
    used = dict(zip(map(_USED_KEY, acc.entries), acc.entries))
    own = scorer.d.entries.get(view.id, [])
    entries = [_entry_result(e, scorer, as_of, used, acc.determined_by, acc.determined_by is None) for e in own]
    if acc.determined_by:
        entries += [_entry_result(e, scorer, as_of, used) for e in scorer.d.entries.get(acc.determined_by, [])]
        entries.sort(key=_RESULT_ORDER)
    measures = compiled._window_cache.get(("measures", official))  # class_measures' memo, read without a call
    if measures is None:
        measures = class_measures(compiled, official)
    deductions = list(map(_KIND, acc.entries)).count("deduction")
    score = acc.score if acc.score is not None else ZERO
    # ("flags",) + the env's values; the count as an int: it hashes and compares as its Decimal does
    key = ("flags", official, view.kind, deductions, acc.scored, score)
    flags = compiled._window_cache.get(key)  # the memo, read without a call
    if flags is None:
        env = {"class": official, "kind": view.kind, "deductions": Decimal(deductions), "scored": acc.scored,
               "score": score}
        flags = compiled.memo(key, lambda: {name: bool(expr(env)) for name, expr in compiled.flag_whens.items()})
    return subject_result(view.id, view.kind, view.name, sorted(view.roles), acc.scored, acc.score, scorer.start, live,
                          official, Lock.build(class_=lock[0], since=lock[1], until=lock[2]) if lock else None,
                          measures, flags, acc.determined_by, entries, adjustments, None)
