"""Procedural deadlines (程序期限): which clocks run, when each is due, and whether it was met.

Pipeline position: a side branch of evaluation. ``ruleset`` compiles each ``deadlines:``
entry's ``within`` into a :class:`~qrules.language.runtime.Duration` and builds the
:class:`~qrules.workdays.WorkdayCalendar`; this module reads a history's events and,
as of a date, reports one :class:`Clock` per started procedure (Art 21, 23–25):

* a clock **starts** at an event of the deadline's ``starts`` kind;
* it is **stopped** by the earliest later event of one of its ``stops`` kinds that
  refers to the same matter (the linking rule below);
* it is **due** ``within`` after the start, counted by
  :meth:`WorkdayCalendar.due_date` (trigger day not counted; working days per the
  State Council schedules; a period in calendar days ending on a day off runs to the
  next working day).

Linking rule (the same for every deadline, so the ruleset only names event kinds): a
stop event ``T`` matches a start event ``S`` when ``T.of`` is ``S.id`` (``T`` is about
``S``: a notice about a deduction, an acceptance of an objection) or ``T.of`` is
``S.of`` (both are about the same event: a repair of the deduction a repair application
was about, a correction of the event an error report was about). ``T`` must be dated on
or after ``S``; each stop event stops at most one clock of a deadline, and clocks take
their stops in start-date order. Only events dated on or before the as-of date count.

A date in a year the calendar lacks (QR702) makes that one clock ``unknown`` with the
message, never an exception. Docs: docs/deadlines.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter, defaultdict
from typing import Any, Iterable, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from .audit import DEADLINE_UNITS as _UNITS, check_deadlines  # the static check runs with every ruleset
from .history.kinds import subjects_concerned
from .workdays import CalendarError

__all__ = ["Clock", "STATUSES", "CODES", "check_deadlines", "compute_deadlines", "summarize", "register"]

Status = Literal["met", "late", "open", "overdue", "expired", "unknown"]

#: Every status, in the order summaries list them, with its Chinese label.
STATUSES: dict[str, str] = {
    "met": "按期办结",
    "late": "逾期办结",
    "open": "期限未届满",
    "overdue": "已超期未办结",
    "expired": "期间已届满",
    "unknown": "无法计算",
}

CODES: dict[str, str] = {
    "QR711": "a deadline names an event kind that histories do not have, or no stop kind at all",
    "QR712": "a deadline's 'within' is not in days or workdays",
}



class Clock(BaseModel):
    """One procedural clock: a deadline started by one event, as of a date."""

    model_config = ConfigDict(frozen=True)

    deadline: str = Field(description="name of the deadline in the ruleset (e.g. notify)")
    title: str
    cite: str | None = None
    party: Literal["bureau", "operator"] = Field(description="who must act: the bureau or the operator")
    within: str = Field(description="the period, e.g. '3 workdays' or '15 days'")
    start_event: str = Field(description="id of the event that started the clock")
    start_kind: str
    start_date: dt.date
    about: str = Field(description="the event the procedure concerns: the start's 'of', else the start itself")
    subjects: list[str] = Field(default_factory=list, description="subjects of the deduction or event concerned")
    addressed_to: list[str] = Field(default_factory=list, description="whom the procedure is addressed to: the "
                                    "subjects the event counted for, a product's producer standing for it where "
                                    "the deadline says addressee: producer (第二十三条)")
    due: dt.date | None = Field(default=None, description="last day of the period (None if it cannot be computed)")
    stop_event: str | None = None
    stop_kind: str | None = None
    stop_date: dt.date | None = None
    status: Status
    days_late: int | None = Field(default=None, description="late: working days from due to the stop; "
                                  "overdue/expired: working days from due to the as-of date")
    days_left: int | None = Field(default=None, description="open: working days from the as-of date to due")
    message: str | None = Field(default=None, description="why the status is unknown")
    notes: list[str] = Field(default_factory=list)


# -- checks ---------------------------------------------------------------------------------------


# -- computing ------------------------------------------------------------------------------------


def _calendar_message(exc: CalendarError) -> str:
    d = exc.diagnostics[0]
    return f"[{d.code}] {d.message}" + (f" ({d.hint})" if d.hint else "")


def compute_deadlines(compiled, history, as_of: dt.date | None = None, *,
                      as_known_at: dt.date | None = None) -> list[Clock]:
    """Every clock the ruleset's ``deadlines:`` start in ``history``, as of ``as_of``.

    Args:
        compiled: a :class:`~qrules.ruleset.CompiledRuleset` (its ``deadlines``,
            ``deadline_durations`` and ``calendar`` are used).
        history: a :class:`~qrules.history.History`.
        as_of: only events dated on or before it count; open clocks are judged on it.
            Default: today.
        as_known_at: use only the records entered (``recorded``, default their date) by this
            date, as ``evaluate`` does (brief §4a): a stop entered later leaves its clock running.
            Not after ``as_of`` (QR615).

    Returns:
        Clocks sorted by start date, then deadline order in the ruleset, then start id.
        A calendar gap (QR702) gives that clock status ``unknown`` with the message.
    """
    as_of = as_of or dt.date.today()
    invalid = getattr(history, "invalid_subjects", {}) or {}
    history = getattr(history, "history", history)  # a LoadedHistory is accepted too
    if as_known_at is not None:
        from .engine import check_known_at, known_at

        check_known_at(as_known_at, as_of)
        history = known_at(history, as_known_at)
    refused, reached, producers = _engine_view(compiled, history, invalid, as_of)
    order = {e.id: i for i, e in enumerate(history.events)}
    events = [e for e in history.events if e.date <= as_of]
    by_id = {str(e.id): e for e in history.events}
    by_kind: dict[str, list] = defaultdict(list)
    for e in sorted(events, key=lambda e: (e.date, order[e.id])):
        by_kind[e.kind].append(e)

    clocks: list[tuple[tuple, Clock]] = []
    # brief §4a: a clock runs under the version in force on the day its start event happened
    from .engine import timeline_of

    tl = timeline_of(compiled)
    names = list(compiled.model.deadlines)
    names += [n for p in tl.pieces for n in p.compiled.model.deadlines if n not in names]
    claimed_by: dict[str, set[str]] = defaultdict(set)
    for piece, rank, name, dl in ((p, names.index(n), n, d) for p in tl.pieces
                                  for n, d in p.compiled.model.deadlines.items()):
        duration = piece.compiled.deadline_durations.get(name)
        # stop events by the id they refer to, in date order
        refers: dict[str, list] = defaultdict(list)
        for kind in dl.stops:
            for t in by_kind.get(kind, ()):
                if getattr(t, "of", None) is not None:
                    refers[str(t.of)].append(t)
        for key in refers:
            refers[key].sort(key=lambda t: (t.date, order[t.id]))
        claimed = claimed_by[name]
        # several start kinds (第二十三条: every scoring) share one date order, so the claims do too
        starts = sorted((s for kind in dl.start_kinds for s in by_kind.get(kind, ())),
                        key=lambda e: (e.date, order[e.id]))
        for s in starts:
            if tl.at(s.date) is not piece:
                continue  # another version's clock
            if str(s.id) in refused:
                continue  # refused by the rules (scope, jurisdiction, unknown item...): nothing to notify
            of = getattr(s, "of", None)
            keys = [str(s.id)] + ([str(of)] if of is not None and str(of) != str(s.id) else [])
            candidates = sorted({t.id: t for k in keys for t in refers.get(k, ())}.values(),
                                key=lambda t: (t.date, order[t.id]))
            notes: list[str] = []
            stop = None
            for t in candidates:
                if t.id == s.id or t.id in claimed:
                    continue
                if t.date < s.date:
                    notes.append(f"{t.kind} {t.id} ({t.date}) is dated before the start and was not "
                                 f"taken as its stop (早于起算事件，未作为办结)")
                    continue
                stop = t
                break
            if stop is not None:
                claimed.add(stop.id)
            subjects = subjects_concerned(s, by_id)
            about = str(of) if of is not None else str(s.id)
            targets = reached.get(str(s.id)) or reached.get(about) or subjects
            if dl.addressee == "producer":
                targets = [producers.get(t) or t for t in targets]
            clock = _judge(name, dl, duration, s, stop, as_of, piece.compiled.calendar, notes, about=about,
                           subjects=subjects,
                           addressed_to=sorted(set(targets)))
            clocks.append(((s.date, rank, str(s.id)), clock))
    return [c for _, c in sorted(clocks, key=lambda pair: pair[0])]


def _engine_view(compiled, history, invalid: dict[str, str], as_of: dt.date):
    """What the rules decided of each event (第二十三条): the events they refused outright (no
    clock starts for them), the subjects each deduction, repair or reward reached (an entry of
    it was made for them), and each product's producer."""
    from .engine import decide_timeline, subject_views, timeline_of
    from .language.runtime import EvaluationError

    views = subject_views(compiled, history.subjects)
    producers = {sid: v.producer for sid, v in views.items() if v.kind == "product" and v.producer}
    try:  # each event under the version in force on its date (brief §4a), as evaluate decides it
        decisions, _ = decide_timeline(timeline_of(compiled), views, dict(invalid), as_of, list(history.events))
    except EvaluationError:  # a rule failing at run time is reported by evaluate; judge clocks as recorded
        return set(), {}, producers
    reached: dict[str, list[str]] = {}
    scored: set[str] = set()
    deduplicated: set[str] = set()
    for sid, entries in decisions.entries.items():
        for e in entries:
            if sid not in reached.setdefault(e.event, []):
                reached[e.event].append(sid)
            if e.kind == "deduction":
                (deduplicated if e.status == "deduplicated" else scored).add(e.event)
    ok = decisions.counted_events | decisions.fact_events
    refused = {r.event for r in decisions.rejections if r.code not in ("QR613", "QR620")} - ok
    # 第九条第二款 with brief §3: a failure deduplicated for its line scores no subject, so 第二十三条
    # has nothing to notify (its clock runs from the scoring).
    return refused | (deduplicated - scored), reached, producers


def _judge(name, dl, duration, s, stop, as_of, cal, notes, *, about, subjects, addressed_to=()) -> Clock:
    base: dict[str, Any] = dict(
        deadline=name, title=dl.title, cite=dl.cite, party=dl.party,
        within=str(duration) if duration is not None else str(dl.within),
        start_event=str(s.id), start_kind=s.kind, start_date=s.date, about=about, subjects=subjects,
        addressed_to=list(addressed_to),
        stop_event=str(stop.id) if stop is not None else None,
        stop_kind=stop.kind if stop is not None else None,
        stop_date=stop.date if stop is not None else None,
        notes=notes,
    )
    if duration is None or duration.unit not in _UNITS:
        return Clock(**base, status="unknown",
                     message=f"'{base['within']}' is not a period in days or workdays (QR712)")
    try:
        due = cal.due_date(s.date, duration.amount, duration.unit)
    except CalendarError as exc:
        return _judge_without_due(base, duration, s, stop, as_of, cal, notes, exc)
    days_late = days_left = None
    if stop is not None:
        status = "met" if stop.date <= due else "late"
        measure = (due, stop.date) if status == "late" else None
    elif as_of <= due:
        status, measure = "open", None
    else:
        status = "overdue" if dl.party == "bureau" else "expired"
        measure = (due, as_of)
    try:
        if measure is not None:
            days_late = cal.workdays_between(*measure)
        elif status == "open":
            days_left = cal.workdays_between(as_of, due)
    except CalendarError as exc:
        notes.append(f"working days not counted: {_calendar_message(exc)}")
    return Clock(**base, due=due, status=status, days_late=days_late, days_left=days_left)


def _judge_without_due(base, duration, s, stop, as_of, cal, notes, exc: CalendarError) -> Clock:
    """The due date falls in (or past) a year the calendar lacks. The status is still known
    when the stop (or, with no stop, the as-of date) lies in known years and comes before
    the period could end: fewer than N working days after the start, or at most N days.
    Otherwise the clock is ``unknown``."""
    message = _calendar_message(exc)
    probe = stop.date if stop is not None else as_of
    try:
        if duration.unit == "workdays":
            # due_date failed, so the N-th working day is beyond the known years: any day in
            # known years with fewer than N working days since the start comes before it.
            inside = cal.workdays_between(s.date, probe) < duration.amount
        else:
            inside = (probe - s.date).days <= duration.amount  # due is at least start + N days
    except CalendarError:
        inside = False
    if not inside:
        return Clock(**base, status="unknown", message=message)
    notes.append(f"due date not computed: {message}")
    return Clock(**base, status="met" if stop is not None else "open")


def summarize(clocks: Iterable[Clock]) -> dict[str, int]:
    """Counts per status, every status present (zeros included), in :data:`STATUSES` order."""
    counts = Counter(c.status for c in clocks)
    return {status: counts.get(status, 0) for status in STATUSES}


# -- output ---------------------------------------------------------------------------------------

FIELDS = ["deadline", "title", "cite", "party", "within", "start_event", "start_kind", "start_date", "about",
          "subjects", "addressed_to", "due", "stop_event", "stop_kind", "stop_date", "status", "days_late", "days_left",
          "message", "notes"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " | ".join(map(str, value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _days(c: Clock) -> str:
    if c.status == "open" and c.days_left is not None:
        return f"{c.days_left} left"  # working days still available
    if c.status in ("late", "overdue", "expired") and c.days_late is not None:
        return f"+{c.days_late}"
    return ""


def summary_line(clocks: Sequence[Clock]) -> str:
    counts = summarize(clocks)
    parts = ", ".join(f"{s} {STATUSES[s]} {n}" for s, n in counts.items())
    return f"{len(clocks)} clocks（{len(clocks)} 个期限）: {parts}"


def _print_table(clocks: Sequence[Clock], compiled, as_of: dt.date, out, known: tuple | None = None) -> None:
    from .console import table

    m = compiled.model
    header = ["deadline", "cite", "party", "within", "start", "due", "stop", "status", "workdays", "subjects",
              "addressed to"]
    rows = []
    for c in clocks:
        rows.append([c.deadline, c.cite or "", c.party, c.within, f"{c.start_event} {c.start_date}",
                     c.due.isoformat() if c.due else "?",
                     f"{c.stop_event} {c.stop_date}" if c.stop_event else "", c.status, _days(c),
                     ", ".join(c.subjects), ", ".join(c.addressed_to)])
    print(f"{m.ruleset} {m.version} — deadlines as of {as_of}（程序期限，截至 {as_of}）"
          + (f", as known at {known[0]}（只用截至 {known[0]} 已录入的记录）" if known else ""), file=out)
    print(table(rows, header), file=out)
    remarks = [(c, c.message) for c in clocks if c.message] + [(c, n) for c in clocks for n in c.notes]
    if remarks:
        print("\nNotes（说明）:", file=out)
        for c, text in remarks:
            print(f"  {c.deadline} {c.start_event}: {text}", file=out)
    print("\n" + summary_line(clocks), file=out)
    if known:  # left out, not lost (brief §4a)
        from .knownat import left_out_line

        print(left_out_line(known[1], known[0]), file=out)


def cmd_deadlines(args) -> int:
    from .console import fail, print_diagnostics, refused_records
    from .output import json_default
    from .history.load import load_history
    from .versioned import load

    compiled = load(args.ruleset)
    problems = check_deadlines(compiled)
    if problems:
        return fail(problems, args.format)
    from .engine import validity_warnings

    as_of = args.as_of or dt.date.today()
    day = getattr(args, "as_known_at", None)
    if day is not None:
        from .engine import check_known_at

        check_known_at(day, as_of)  # QR615, before the history is read
    loaded = load_history(args.history)
    source, known = loaded, None
    if day is not None:
        from .knownat import known_loaded

        source, left_out = known_loaded(loaded, day)
        known = (day, left_out)
    clocks = compute_deadlines(compiled, source, as_of)
    warnings = validity_warnings(compiled, as_of)  # 第三十六条, as evaluate gives it
    out = sys.stdout
    if args.format != "json":
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
    if args.format == "json":
        m = compiled.model
        data = {
            "ruleset": m.ruleset, "version": m.version, "as_of": as_of, "as_known_at": day,
            "events_not_yet_recorded": known[1] if known else 0, "warnings": warnings,
            "summary": summarize(clocks),
            "clocks": [c.model_dump(mode="json") for c in clocks],
            "invalid_records": [{"event": r.id, "kind": r.kind, "code": r.code, "reason": r.reason}
                                for r in loaded.rejected_events],
            "input_diagnostics": [d.to_dict() for d in loaded.diagnostics],
        }
        print(json.dumps(data, ensure_ascii=False, indent=2, default=json_default), file=out)
    elif args.format == "csv":
        from .output import CsvWriter

        if loaded.diagnostics:  # on standard error, beside the rows
            print_diagnostics(loaded.diagnostics)
        writer = CsvWriter(out)
        writer.writerow(FIELDS)
        for c in clocks:
            row = c.model_dump()
            writer.writerow([_cell(row[f]) for f in FIELDS])
    else:
        if loaded.diagnostics:
            print_diagnostics(loaded.diagnostics)
        _print_table(clocks, compiled, as_of, out, known)
    return refused_records(loaded, args.history)  # the clocks of the rest are listed; refused records: exit 1


def register(subparsers) -> None:
    """Add ``qrules deadlines RULESET HISTORY [--as-of DATE] [--as-known-at DATE] [--format table|json|csv]``."""
    from .console import date_arg as _date

    p = subparsers.add_parser(
        "deadlines", help="procedural deadlines (Art 21, 23-25) on the Chinese working-day calendar",
        description="List every procedural clock a history starts (verify a repair, notify, object, accept "
                    "and answer an objection, correct an error), its due date on the official working-day "
                    "calendar, and whether it was met, is open, or ran out. Docs: docs/deadlines.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="statuses: " + ", ".join(f"{s} ({zh})" for s, zh in STATUSES.items()))
    p.add_argument("ruleset", metavar="RULESET")
    p.add_argument("history", metavar="HISTORY", help="YAML, JSON or JSON Lines history")
    p.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                   help="judge clocks on DATE, as YYYY-MM-DD; later events are ignored (default: today)")
    p.add_argument("--as-known-at", type=_date, default=None, metavar="DATE",
                   help="use only records entered (recorded) by DATE, corrections included (not after --as-of): "
                        "a stop entered later leaves its clock running")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    from .console import add_output

    add_output(p)
    p.set_defaults(func=cmd_deadlines)
