"""The Chinese working-day calendar (工作日历) behind every procedural deadline.

The Guangdong norms (2021) count most procedural periods in working days (工作日):
verify a repair within 5 (Art 21), notify within 3 of scoring (Art 23), accept an
objection within 5 and answer it within 20 (Art 24), correct an error within 3
(Art 25); the operator's 15-day objection period (Art 24) is in calendar days.

Which days are working days is fixed each year by the State Council General Office's
notice on public holidays (国务院办公厅关于××年部分节假日安排的通知), with its
adjusted working weekend days (调休上班). Those schedules come from the maintained
``chinesecalendar`` package (import ``chinese_calendar``); nothing here hard-codes a
holiday of a year the package covers. A ruleset may add a year the package does not
have yet (``calendar:`` section, see :meth:`WorkdayCalendar.from_config`); a date in a
year nobody covers raises :class:`CalendarError` (QR702) instead of being guessed.

Counting rule (计算规则), as in 民法典 第二百零一条/第二百零三条:

* the trigger day is not counted (开始的当日不计入); "within N working days of d"
  ends on the N-th working day after d (:meth:`WorkdayCalendar.add_workdays`);
* a period of N calendar days ends N days after d; if that last day is not a working
  day the period ends on the next working day (期间的最后一日是法定休假日的，以法定
  休假日结束的次日为期间的最后一日; :meth:`WorkdayCalendar.add_days`).

See docs/workdays.md.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Literal, Mapping

import chinese_calendar

from .errors import Diagnostic, QrulesError, Span, did_you_mean

__all__ = [
    "CalendarError",
    "WorkdayCalendar",
    "YearSchedule",
    "default_calendar",
    "library_years",
]

Unit = Literal["days", "workdays"]

#: Diagnostic code for a malformed ``calendar:`` entry.
BAD_ENTRY = "QR701"
#: Diagnostic code for a date in a year no calendar covers.
NO_CALENDAR = "QR702"

CODES = {
    BAD_ENTRY: "a `calendar:` year entry is malformed (bad date or range, a workday on a weekday, wrong year)",
    NO_CALENDAR: "a date falls in a year no working-day calendar covers (add the year under `calendar:`)",
}

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEYS = ("holidays", "workdays")


class CalendarError(QrulesError):
    """A date falls in a year for which no official working-day calendar is known (QR702)."""

    def __init__(self, year: int, span: Span | None = None, *, known: Iterable[int] = ()):
        self.year = year
        known = sorted(known)
        message = (
            f"no official working-day calendar for {year}: add it under `calendar:` in the "
            f"ruleset ({year}年的法定节假日安排尚未收录：请按国务院办公厅关于{year}年部分节假日"
            f"安排的通知，在规则集的 calendar: 下补充)"
        )
        hint = f"known years: {_year_ranges(known)}" if known else None
        super().__init__(Diagnostic(NO_CALENDAR, message, span, hint=hint))


def _year_ranges(years: list[int]) -> str:
    """``[2004, 2005, 2006, 2027]`` -> ``'2004-2006, 2027'``."""
    parts: list[str] = []
    start = prev = None
    for y in years:
        if prev is not None and y == prev + 1:
            prev = y
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = y
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(parts)


@functools.cache
def library_years() -> tuple[int, ...]:
    """The years the installed ``chinesecalendar`` package has schedules for (probed).

    chinesecalendar 1.11.0: 2004-2026. Probing (rather than a constant) keeps this right
    when the package is upgraded with a new year.
    """
    known = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    if not known:
        return ()
    years = []
    for year in range(min(known) - 1, max(known) + 2):
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
            chinese_calendar.is_workday(date(year, 12, 31))
        except NotImplementedError:
            continue
        years.append(year)
    return tuple(years)


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's official schedule, as a ruleset can state it.

    ``holidays``: every official day off of the notice (on weekdays and weekends alike);
    ``workdays``: the adjusted working weekend days (调休上班). A date of that year is a
    working day iff (Mon-Fri and not in ``holidays``) or in ``workdays``.
    """

    holidays: frozenset[date]
    workdays: frozenset[date] = frozenset()

    def is_workday(self, d: date) -> bool:
        return d in self.workdays or (d.weekday() < 5 and d not in self.holidays)

    @classmethod
    def from_library(cls, year: int) -> "YearSchedule":
        """The schedule chinesecalendar has for ``year`` (to compare or to start from)."""
        if year not in library_years():
            raise CalendarError(year, known=library_years())
        return cls(
            frozenset(d for d in chinese_calendar.holidays if d.year == year),
            frozenset(d for d in chinese_calendar.workdays if d.year == year),
        )

    @classmethod
    def from_data(cls, data: Mapping, file: str | None = None, spans: Mapping | None = None,
                  *, year: int | None = None) -> "YearSchedule":
        """Parse ``{"holidays": [...], "workdays": [...]}`` (one year of a ``calendar:`` section).

        Entries are ISO dates (``"2027-02-14"``, or a ``date`` as YAML loads unquoted
        ones) or inclusive ranges ``"2027-02-05..2027-02-11"``. ``year`` is the year the
        schedule is for (the key under ``calendar:``); without it, it is taken from the
        first date and every date must share it. ``spans`` maps a path inside ``data`` to
        its :class:`Span`: ``("holidays", 0)`` for an entry, ``("holidays",)`` for the
        list, ``()`` for the mapping; the most specific one known is used.

        Raises :class:`QrulesError` carrying every problem found (code QR701): not a
        mapping, unknown or missing key, a non-list, a bad date or range, a date outside
        the year, a "workday" that is not a Saturday or Sunday, a date both off and on.
        """
        diags: list[Diagnostic] = []
        label = f"calendar {year}" if year is not None else "calendar"

        def where(path: tuple) -> Span | None:
            if spans:
                for i in range(len(path), -1, -1):
                    span = spans.get(path[:i])
                    if span is not None:
                        return span
            return None

        def error(path: tuple, message: str, hint: str | None = None) -> None:
            loc = label + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
            if file and where(path) is None:
                loc = f"{file}: {loc}"
            diags.append(Diagnostic(BAD_ENTRY, f"{loc}: {message}", where(path), hint=hint))

        if not isinstance(data, Mapping):
            error((), f"expected a mapping with `holidays:` and `workdays:` lists, "
                      f"got {type(data).__name__}")
            raise QrulesError(diags)
        for key in data:
            if key not in _KEYS:
                error((key,) if isinstance(key, str) else (), f"unknown key {key!r} "
                      f"(expected `holidays` and `workdays`)", did_you_mean(str(key), _KEYS))
        if "holidays" not in data:
            error((), "missing `holidays:` (the days off of the State Council notice)")

        parsed: dict[str, dict[date, tuple]] = {"holidays": {}, "workdays": {}}
        for key in _KEYS:
            items = data.get(key, [])
            if items is None:
                items = []
            if isinstance(items, (str, date)) or not isinstance(items, (list, tuple)):
                error((key,), f"expected a list of dates or ranges, got {type(items).__name__}",
                      f'write e.g. {key}: ["2027-02-14"]' if isinstance(items, (str, date)) else None)
                continue
            for i, item in enumerate(items):
                days = _parse_entry(item, lambda m, h=None, p=(key, i): error(p, m, h))
                for d in days:
                    if year is None:
                        year = d.year
                        label = f"calendar {year}"
                    if d.year != year:
                        error((key, i), f"{d.isoformat()} is not in {year}")
                        continue
                    if key == "workdays" and d.weekday() < 5:
                        error((key, i), f"{d.isoformat()} is a {d.strftime('%A')}: `workdays` "
                                        f"lists only the adjusted working Saturdays and Sundays "
                                        f"(调休上班的周末)")
                        continue
                    parsed[key].setdefault(d, (key, i))
        for d in sorted(parsed["holidays"].keys() & parsed["workdays"].keys()):
            error(parsed["workdays"][d], f"{d.isoformat()} is listed both as a holiday and as a workday")
        if "holidays" in data and not parsed["holidays"] and not diags:
            error(("holidays",), "no holidays listed (every year has at least New Year's Day)")
        if diags:
            raise QrulesError(diags)
        return cls(frozenset(parsed["holidays"]), frozenset(parsed["workdays"]))


def _parse_date(text: str) -> date:
    if not _DATE_RE.match(text):
        raise ValueError
    return date.fromisoformat(text)


def _parse_entry(item: Any, error) -> list[date]:
    """One list entry -> its dates; reports a problem through ``error(message, hint)``."""
    if isinstance(item, datetime):
        error(f"{item!s} has a time of day; write a date such as 2027-02-14")
        return []
    if isinstance(item, date):
        return [item]
    if not isinstance(item, str):
        error(f"expected a date such as \"2027-02-14\" or a range \"2027-02-05..2027-02-11\", "
              f"got {item!r}")
        return []
    text = item.strip()
    if ".." in text:
        first, _, last = (part.strip() for part in text.partition(".."))
        try:
            start, end = _parse_date(first), _parse_date(last)
        except ValueError:
            error(f"bad date range {item!r}", "write YYYY-MM-DD..YYYY-MM-DD, both ends included")
            return []
        if end < start:
            error(f"range {item!r} ends before it starts")
            return []
        return [start + timedelta(days=k) for k in range((end - start).days + 1)]
    try:
        return [_parse_date(text)]
    except ValueError:
        error(f"bad date {item!r}", "write YYYY-MM-DD, e.g. 2027-02-14")
        return []


@functools.cache
def _year_start(year: int) -> int:
    return date(year, 1, 1).toordinal()


def _validate_schedule(year: int, schedule: YearSchedule) -> list[Diagnostic]:
    """Checks a :class:`YearSchedule` built directly (not through ``from_data``)."""
    diags = []
    for kind, days in (("holidays", schedule.holidays), ("workdays", schedule.workdays)):
        for d in sorted(days):
            if type(d) is not date:
                diags.append(Diagnostic(BAD_ENTRY, f"calendar {year}.{kind}: {d!r} is not a date"))
            elif d.year != year:
                diags.append(Diagnostic(BAD_ENTRY, f"calendar {year}.{kind}: {d.isoformat()} is not in {year}"))
            elif kind == "workdays" and d.weekday() < 5:
                diags.append(Diagnostic(BAD_ENTRY, f"calendar {year}.workdays: {d.isoformat()} is a "
                                                   f"{d.strftime('%A')}, not a weekend day"))
    return diags


class WorkdayCalendar:
    """Working days of mainland China: chinesecalendar's years plus a ruleset's ``extra_years``.

    ``extra_years`` maps a year to its :class:`YearSchedule`. A year given there is used
    instead of the library's for that year, even when the library covers it (so a
    ruleset can correct or pin a year); :meth:`overridden_years` lists such years.
    Lookups are cached per year (a table of 365/366 flags built on first use).
    """

    def __init__(self, extra_years: Mapping[int, YearSchedule] | None = None):
        extra = dict(extra_years or {})
        diags: list[Diagnostic] = []
        for year, schedule in extra.items():
            if not isinstance(year, int) or isinstance(year, bool):
                diags.append(Diagnostic(BAD_ENTRY, f"calendar: year {year!r} is not a year number"))
            elif not isinstance(schedule, YearSchedule):
                diags.append(Diagnostic(BAD_ENTRY, f"calendar {year}: expected a YearSchedule, "
                                                   f"got {type(schedule).__name__}"))
            else:
                diags.extend(_validate_schedule(year, schedule))
        if diags:
            raise QrulesError(diags)
        self._extra: dict[int, YearSchedule] = extra
        self._tables: dict[int, bytes] = {}
        self._due: dict[tuple, date] = {}

    @classmethod
    def from_config(cls, section: Mapping | None, file: str | None = None,
                    spans: Mapping | None = None) -> "WorkdayCalendar":
        """Build from a ruleset's ``calendar:`` section: ``{2027: {"holidays": [...], ...}}``.

        Year keys may be ints or digit strings. ``spans`` maps paths to spans as in
        :meth:`YearSchedule.from_data`, rooted at the section: ``(2027, "holidays", 0)``.
        All problems of all years are raised together (QR701).
        """
        if section is None:
            return cls()
        diags: list[Diagnostic] = []

        def span_at(path: tuple) -> Span | None:
            if spans:
                for i in range(len(path), -1, -1):
                    if (found := spans.get(path[:i])) is not None:
                        return found
            return None

        if not isinstance(section, Mapping):
            raise QrulesError(Diagnostic(BAD_ENTRY, "calendar: expected a mapping of years to "
                                                    f"schedules, got {type(section).__name__}",
                                         span_at(())))
        extra: dict[int, YearSchedule] = {}
        for key, data in section.items():
            year = key if isinstance(key, int) and not isinstance(key, bool) else None
            if isinstance(key, str) and key.strip().isdigit():
                year = int(key)
            if year is None or not 1900 <= year <= 2200:
                diags.append(Diagnostic(BAD_ENTRY, f"calendar: {key!r} is not a year",
                                        span_at((key,)), hint="写年份，如 `2027:`（write a year）"))
                continue
            sub = None
            if spans:
                sub = {p[1:]: s for p, s in spans.items() if isinstance(p, tuple) and p[:1] == (key,)}
                sub.setdefault((), span_at((key,)))
            try:
                extra[year] = YearSchedule.from_data(data, file, sub, year=year)
            except QrulesError as exc:
                diags.extend(exc.diagnostics)
        if diags:
            raise QrulesError(diags)
        return cls(extra)

    # -- which years ---------------------------------------------------------------

    def supported_years(self) -> tuple[int, ...]:
        """Every year this calendar can answer for: the library's plus ``extra_years``."""
        return tuple(sorted(set(library_years()) | set(self._extra)))

    def overridden_years(self) -> tuple[int, ...]:
        """Years the library covers but ``extra_years`` replaces."""
        return tuple(sorted(set(library_years()) & set(self._extra)))

    def covers(self, year: int) -> bool:
        return year in self._extra or year in library_years()

    # -- lookups ---------------------------------------------------------------------

    def _table(self, year: int) -> bytes:
        table = self._tables.get(year)
        if table is None:
            first = date(year, 1, 1)
            n = (date(year + 1, 1, 1) - first).days
            days = [first + timedelta(days=k) for k in range(n)]
            if year in self._extra:
                check = self._extra[year].is_workday
            elif year in library_years():
                check = chinese_calendar.is_workday
            else:
                raise CalendarError(year, known=self.supported_years())
            table = bytes(1 if check(d) else 0 for d in days)
            self._tables[year] = table
        return table

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day; :class:`CalendarError` (QR702) for an unknown year."""
        if isinstance(d, datetime):
            d = d.date()
        if not isinstance(d, date):
            raise TypeError(f"expected a date, got {type(d).__name__}")
        table = self._tables.get(d.year) or self._table(d.year)
        return table[d.toordinal() - _year_start(d.year)] == 1

    def is_holiday(self, d: date) -> bool:
        """Not a working day (weekend or official day off)."""
        return not self.is_workday(d)

    def holiday_name(self, d: date) -> str | None:
        """The festival an official day off belongs to ("Spring Festival"), from chinesecalendar.

        None for a working day, a plain weekend, or a year taken from ``extra_years``.
        """
        if d.year in self._extra or d.year not in library_years():
            return None
        on_holiday, name = chinese_calendar.get_holiday_detail(d)
        return name if on_holiday and name else None

    # -- counting --------------------------------------------------------------------

    def add_workdays(self, d: date, n: int) -> date:
        """The n-th working day after ``d`` (``d`` itself is not counted); n=0 gives ``d``.

        "Within 5 working days" of a trigger on ``d`` (Art 21, 23, 24, 25) ends on
        ``add_workdays(d, 5)``. ``d`` need not be a working day. Negative ``n`` counts
        backwards: the |n|-th working day before ``d``.
        """
        if isinstance(d, datetime):
            d = d.date()
        if n == 0:
            return d
        step = timedelta(days=1 if n > 0 else -1)
        left = abs(n)
        while left:
            d += step
            if self.is_workday(d):
                left -= 1
        return d

    def add_days(self, d: date, n: int) -> date:
        """End of a period of ``n`` calendar days from ``d`` (Art 24's 15 days).

        The period ends ``n`` days after ``d`` (``d`` not counted, 民法典第二百零一条); if
        that day is not a working day, on the next working day (第二百零三条). An adjusted
        working weekend day (调休上班) is a working day and ends the period. n=0 gives
        ``d`` unchanged; negative ``n`` is symmetric (rolls back to the previous working day).
        """
        if isinstance(d, datetime):
            d = d.date()
        if n == 0:
            return d
        end = d + timedelta(days=n)
        step = timedelta(days=1 if n > 0 else -1)
        while not self.is_workday(end):
            end += step
        return end

    def due_date(self, start: date, amount: int, unit: Unit) -> date:
        """``add_days`` for unit "days", ``add_workdays`` for unit "workdays"; memoised (a rule asks
        the same period of the same dates again and again, and the calendar does not change)."""
        key = (start, amount, unit)
        hit = self._due.get(key)
        if hit is None:
            if unit == "workdays":
                hit = self.add_workdays(start, amount)
            elif unit == "days":
                hit = self.add_days(start, amount)
            else:
                raise ValueError(f"unknown unit {unit!r}: expected 'days' or 'workdays'")
            if len(self._due) > 100_000:
                self._due.clear()
            self._due[key] = hit
        return hit

    def workdays_between(self, a: date, b: date) -> int:
        """Working days in (a, b]: how many working days ``b`` is after ``a``.

        Signed: for ``b < a`` it is minus the working days in (b, a]. For a working day
        ``b``, ``add_workdays(a, workdays_between(a, b)) == b``.
        """
        if isinstance(a, datetime):
            a = a.date()
        if isinstance(b, datetime):
            b = b.date()
        if b < a:
            return -self.workdays_between(b, a)
        if a == b:
            return 0
        count = 0
        start = a + timedelta(days=1)
        for year in range(start.year, b.year + 1):
            table = self._table(year)
            lo = start.toordinal() - _year_start(year) if year == start.year else 0
            hi = b.toordinal() - _year_start(year) + 1 if year == b.year else len(table)
            count += sum(table[lo:hi])
        return count

    def __repr__(self) -> str:
        extra = f", extra_years={sorted(self._extra)}" if self._extra else ""
        return f"WorkdayCalendar(years={_year_ranges(list(self.supported_years()))}{extra})"


@functools.cache
def default_calendar() -> WorkdayCalendar:
    """The shared calendar with the library's years only (cached)."""
    return WorkdayCalendar()
