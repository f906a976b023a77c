"""The inspection plan (第二十七条): the measures of each class as work a district can schedule.

Pipeline position: a side branch of evaluation, like ``deadlines``. The engine gives every
subject its official classes (第二十六条第二款); this module turns the ruleset's
``measures.*.checks_per_year`` into the inspections each subject needs in a year, counts
those the history records, and says what is still owed.

How a class change during the year counts (our reading, docs/plan.md): the official class
holds between adjustment dates (1 Jan, 1 Jul in the ruleset), so the year is cut at them;
each part requires ``checks_per_year × months in force / 12`` and the year's requirement is
their sum rounded up. A subject C all year needs 2, D all year 4, C then D needs
2 × 6/12 + 4 × 6/12 = 3, B for one half-year needs 1 (0.5 rounded up).

Recorded inspections are the history's spot checks (``spot_check`` events and deductions of
spot-check items) in that year; an operator's are those of its products (a producer is
inspected through what it makes). 第二十七条第（一）项's "two or more consecutive checks
without a problem → the random coefficient may be lowered" is a flag on subjects whose
class has random checks (A), with the number of checks read from the ruleset parameter
``random_lowered_after``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .versions import in_force_on

__all__ = ["Period", "PlanRow", "ClassTotal", "Plan", "compute_plan", "register"]

READING = ("class changes during the year: the year is cut at the adjustment dates; each part requires "
           "checks_per_year × months in force / 12, the sum rounded up（年内分类调整：按调整日分段，"
           "每段应检次数 = 每年次数 × 在该类月数 / 12，全年合计向上取整）")


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Period(_Out):
    """A part of the year with one official class."""

    start: dt.date
    end: dt.date = Field(description="last day of the part")
    official_class: str
    months: int
    checks_per_year: int | None = Field(description="from the ruleset's measures (None: no fixed number)")
    random_checks: bool = False


class PlanRow(_Out):
    """One subject's inspections for the year."""

    subject: str
    kind: str
    name: str | None = None
    periods: list[Period]
    required: int = Field(description="inspections its official classes require this year (第二十七条)")
    recorded: int = Field(description="spot checks recorded in the history this year")
    owed: int = Field(description="required − recorded, never below 0")
    inspections: list[dt.date] = Field(default_factory=list)
    consecutive_clean: int = Field(description="checks without a problem since the last failure, up to the as-of date")
    may_lower_random: bool = Field(description="第二十七条第（一）项: random checks and enough consecutive clean checks")
    cite: str | None = None


class ClassTotal(_Out):
    """Totals for the subjects whose class at the end of the year is ``official_class``."""

    official_class: str
    subjects: int
    required: int
    recorded: int
    owed: int
    may_lower_random: int


class Plan(_Out):
    ruleset: str
    version: str
    year: int
    as_of: dt.date
    reading: str = READING
    warnings: list[str] = Field(default_factory=list)
    subjects: list[PlanRow]
    totals: list[ClassTotal]


def _months(a: dt.date, b: dt.date) -> int:
    """Whole months from ``a`` to ``b`` (adjustment dates fall on the 1st of a month)."""
    return (b.year * 12 + b.month) - (a.year * 12 + a.month)


def _boundaries(compiled, year: int) -> list[dt.date]:
    """The year cut at the adjustment dates of every version it may meet (§4a: a successor may
    adjust on other dates; a cut where no adjustment happened leaves the class as it was)."""
    dates = {dt.date(year, 1, 1), dt.date(year + 1, 1, 1)}
    for c in _versions(compiled):
        dates |= {dt.date(year, m, d) for m, d in c.adjustment_dates}
    return sorted(dates)


def _versions(compiled) -> list:
    timeline = getattr(compiled, "timeline", None)
    return [p.compiled for p in timeline.pieces] if timeline is not None else [compiled]


def _model_on(compiled, day: dt.date):
    """The ruleset in force on ``day`` (brief §4a), whose measures a part of the year starting then requires."""
    return in_force_on(compiled, day).model


def _class_on(adjustments, day: dt.date) -> str:
    official = "O"
    for a in adjustments:
        if a.date <= day:
            official = a.official_class
    return official


def _checks(history, revoked: set[str], spot_items: set[str]) -> dict[str, list[tuple[dt.date, bool]]]:
    """Per product: (date, passed) of its spot checks, failures recorded as deductions included."""
    out: dict[str, dict[dt.date, bool]] = {}
    for ev in history.events:
        if str(ev.id) in revoked:
            continue
        if ev.kind == "spot_check":
            seen = out.setdefault(str(ev.subject), {})
            seen[ev.date] = seen.get(ev.date, True) and ev.result == "pass"
        elif ev.kind == "deduction" and ev.item in spot_items:
            for sid in ev.subjects:
                out.setdefault(str(sid), {})[ev.date] = False
    return {sid: sorted(days.items()) for sid, days in out.items()}


def compute_plan(compiled, history, year: int, as_of: dt.date | None = None) -> Plan:
    """The inspection plan of ``year`` (第二十七条), from the history known as of ``as_of``.

    Args:
        compiled: a :class:`~qrules.ruleset.CompiledRuleset`.
        history: a :class:`~qrules.history.load.LoadedHistory` or a :class:`~qrules.history.History`.
        year: the calendar year to plan.
        as_of: evaluate the history as of this date (default: 31 December of ``year``).
    """
    from .engine import evaluate, validity_warnings

    as_of = as_of or dt.date(year, 12, 31)
    invalid = getattr(history, "invalid_subjects", {}) or {}
    history = getattr(history, "history", history)
    result = evaluate(compiled, history, as_of, invalid_subjects=invalid)
    m = compiled.model
    revoked = {r.event for r in result.rejected if r.code == "QR620"}
    checks = _checks(history, revoked, {code for code, item in m.items.items() if item.spot_check})
    products: dict[str, list[str]] = {}
    for s in history.subjects:
        if s.kind == "product" and getattr(s, "producer", None):
            products.setdefault(str(s.producer), []).append(str(s.id))
    after = compiled.params.get("random_lowered_after")
    bounds = _boundaries(compiled, year)
    rows = []
    for s in result.subjects:
        periods = []
        for start, nxt in zip(bounds, bounds[1:]):
            cls = _class_on(s.adjustments, start)
            measure = _model_on(compiled, start).measures.get(cls)
            periods.append(Period(start=start, end=nxt - dt.timedelta(days=1), official_class=cls,
                                  months=_months(start, nxt),
                                  checks_per_year=measure.checks_per_year if measure else None,
                                  random_checks=bool(measure and measure.random_checks)))
        due = sum((Fraction(p.checks_per_year * p.months, 12) for p in periods if p.checks_per_year), Fraction(0))
        owners = [s.id] if s.kind == "product" else products.get(s.id, [])
        history_checks = sorted(c for o in owners for c in checks.get(o, []) if c[0] <= as_of)
        this_year = [d for d, _ in history_checks if d.year == year]
        clean = 0
        for _, passed in history_checks:
            clean = clean + 1 if passed else 0
        last = periods[-1] if periods else None
        lower = bool(last and last.random_checks and after is not None and clean >= int(after))
        required = math.ceil(due)
        rows.append(PlanRow(subject=s.id, kind=s.kind, name=s.name, periods=periods, required=required,
                            recorded=len(this_year), owed=max(required - len(this_year), 0), inspections=this_year,
                            consecutive_clean=clean, may_lower_random=lower,
                            cite=m.measures[last.official_class].cite if last and last.official_class in m.measures
                            else None))
    rows.sort(key=lambda r: (-r.owed, r.subject))
    totals: dict[str, list[PlanRow]] = {}
    for r in rows:
        totals.setdefault(r.periods[-1].official_class if r.periods else "O", []).append(r)
    order = list(m.classes) + sorted(set(totals) - set(m.classes))
    return Plan(ruleset=m.ruleset, version=m.version, year=year, as_of=as_of,
                warnings=validity_warnings(compiled, as_of), subjects=rows,
                totals=[ClassTotal(official_class=c, subjects=len(totals[c]), required=sum(r.required for r in totals[c]),
                                   recorded=sum(r.recorded for r in totals[c]), owed=sum(r.owed for r in totals[c]),
                                   may_lower_random=sum(r.may_lower_random for r in totals[c]))
                        for c in order if c in totals])


# -- output ---------------------------------------------------------------------------------------

FIELDS = ["subject", "kind", "name", "classes", "required", "recorded", "owed", "inspections",
          "consecutive_clean", "may_lower_random", "cite"]


def _classes(r: PlanRow) -> str:
    """'C' all year, or 'C 01-01, D 07-01' when the class changes."""
    if len({p.official_class for p in r.periods}) == 1:
        return r.periods[0].official_class
    return ", ".join(f"{p.official_class} {p.start:%m-%d}" for p in r.periods)


def _row(r: PlanRow) -> list[Any]:
    return [r.subject, r.kind, r.name or "", _classes(r), r.required, r.recorded, r.owed,
            " | ".join(d.isoformat() for d in r.inspections), r.consecutive_clean,
            "yes" if r.may_lower_random else "", r.cite or ""]


def print_table(plan: Plan, out) -> None:
    from .console import table

    print(f"{plan.ruleset} {plan.version} — inspection plan {plan.year}, as of {plan.as_of}"
          f"（{plan.year} 年监督抽查、检查计划，第二十七条）", file=out)
    rows = [[r.subject, r.kind, _classes(r), r.required, r.recorded, r.owed, r.consecutive_clean,
             "yes" if r.may_lower_random else ""] for r in plan.subjects]
    print(table(rows, ["subject", "kind", "class", "required", "recorded", "owed", "clean", "lower random"]),
          file=out)
    print("\nTotals by class at the end of the year（按年末分类合计）:", file=out)
    print(table([[t.official_class, t.subjects, t.required, t.recorded, t.owed, t.may_lower_random]
                 for t in plan.totals], ["class", "subjects", "required", "recorded", "owed", "lower random"]),
          file=out)
    print(f"\n{plan.reading}", file=out)


def cmd_plan(args) -> int:
    from .console import print_diagnostics, refused_records
    from .history.load import load_history
    from .output import json_default
    from .versioned import load

    compiled = load(args.ruleset)
    loaded = load_history(args.history)
    year = args.year or (args.as_of or dt.date.today()).year
    plan = compute_plan(compiled, loaded, year, args.as_of)
    out = sys.stdout
    if args.format != "json":
        for w in plan.warnings:
            print(f"warning: {w}", file=sys.stderr)
    if args.format == "json":
        data = plan.model_dump(mode="json")
        data["input_diagnostics"] = [d.to_dict() for d in loaded.diagnostics]
        print(json.dumps(data, ensure_ascii=False, indent=2, default=json_default), file=out)
    elif args.format == "csv":
        from .output import CsvWriter

        if loaded.diagnostics:  # on standard error, beside the rows
            print_diagnostics(loaded.diagnostics)
        writer = CsvWriter(out)
        writer.writerow(FIELDS)
        writer.writerows(_row(r) for r in plan.subjects)
    else:
        if loaded.diagnostics:
            print_diagnostics(loaded.diagnostics)
        print_table(plan, out)
    return refused_records(loaded, args.history)  # the rest was planned; refused records make it exit 1


def _year(text: str) -> int:
    """An argparse ``type=`` for --year: a year of the dates qrules evaluates (1900-2199)."""
    try:
        year = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a year (write e.g. 2025)") from None
    if not 1900 <= year <= 2199:
        raise argparse.ArgumentTypeError(f"year {year} is outside the dates qrules evaluates (1900-2199)")
    return year


def register(subparsers) -> None:
    """Add ``qrules plan RULESET HISTORY [--year Y] [--as-of DATE] [--format table|json|csv] [-o FILE]``."""
    from .console import add_output, date_arg as _date

    p = subparsers.add_parser(
        "plan", help="inspection plan (Art 27): inspections required, recorded and owed per subject and year",
        description="For each subject and year: the inspections its official classes require (the ruleset's "
                    "measures.*.checks_per_year; a class change during the year counts per part), the spot "
                    "checks the history records that year, what is still owed, and Art 27(1)'s flag for "
                    "lowering the random coefficient. Totals per class. Docs: docs/plan.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ruleset", metavar="RULESET")
    p.add_argument("history", metavar="HISTORY", help="YAML, JSON or JSON Lines history")
    p.add_argument("--year", type=_year, default=None, help="the calendar year to plan (default: the as-of year)")
    p.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                   help="evaluate the history as of DATE, as YYYY-MM-DD (default: 31 December of the year)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    add_output(p)
    p.set_defaults(func=cmd_plan)
