"""Tests of qrules.workdays: the Chinese working-day calendar behind procedural deadlines.

Expected dates are worked out by hand from the State Council General Office notices
(as encoded in chinesecalendar 1.11.0, chinese_calendar/constants.py), never by asking
the code under test:

2025 (国办发明电〔2024〕12号, 关于2025年部分节假日安排的通知):
  Spring Festival: off Tue 2025-01-28 .. Tue 2025-02-04 (8 days);
                   work Sun 2025-01-26 and Sat 2025-02-08.
  National Day + Mid-Autumn: off Wed 2025-10-01 .. Wed 2025-10-08 (8 days);
                   work Sun 2025-09-28 and Sat 2025-10-11.
2026 (国务院办公厅关于2026年部分节假日安排的通知, Nov 2025; constants.py lines for 2026):
  Spring Festival: off Sun 2026-02-15 .. Mon 2026-02-23 (9 days);
                   work Sat 2026-02-14 and Sat 2026-02-28.
  Mid-Autumn:      off Fri 2026-09-25 .. Sun 2026-09-27.
  National Day:    off Thu 2026-10-01 .. Wed 2026-10-07 (7 days);
                   work Sun 2026-09-20 and Sat 2026-10-10.

Counting rule (docs/workdays.md): the trigger day is not counted; "N working days"
ends on the N-th working day after it; a period of N calendar days ending on a day off
runs to the next working day (民法典第二百零一条、第二百零三条).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from qrules.errors import QrulesError, Span, render
from qrules.workdays import CalendarError, WorkdayCalendar, YearSchedule, default_calendar, library_years

D = date


@pytest.fixture(scope="module")
def cal() -> WorkdayCalendar:
    return default_calendar()


# An illustrative 2027 schedule (the example of docs/workdays.md; NOT the official one).
# 2027-01-01 is a Friday, 2027-02-05 a Friday, 2027-02-14 a Sunday.
EXAMPLE_2027 = {
    "holidays": ["2027-01-01..2027-01-03", "2027-02-05..2027-02-11"],
    "workdays": ["2027-02-14"],
}


# --- the published schedules, day by day ------------------------------------------


def test_weekdays_of_the_hand_checked_dates():
    # Guards the hand reasoning below: the weekday of every anchor date (Mon=0 .. Sun=6).
    assert D(2025, 1, 26).weekday() == 6 and D(2025, 2, 8).weekday() == 5
    assert D(2025, 9, 28).weekday() == 6 and D(2025, 10, 11).weekday() == 5
    assert D(2026, 2, 14).weekday() == 5 and D(2026, 2, 28).weekday() == 5
    assert D(2026, 9, 20).weekday() == 6 and D(2026, 10, 10).weekday() == 5
    assert D(2026, 10, 1).weekday() == 3 and D(2027, 1, 1).weekday() == 4
    assert D(2027, 2, 14).weekday() == 6


def test_2025_spring_festival_days(cal):
    for k in range(8):  # 2025-01-28 .. 2025-02-04 off
        assert not cal.is_workday(D(2025, 1, 28) + timedelta(days=k))
    assert cal.is_workday(D(2025, 1, 26))  # Sunday, adjusted working day
    assert cal.is_workday(D(2025, 2, 8))  # Saturday, adjusted working day
    assert not cal.is_workday(D(2025, 2, 9))  # an ordinary Sunday
    assert cal.is_workday(D(2025, 2, 5))  # back to work Wednesday
    assert cal.is_holiday(D(2025, 1, 29))


def test_2026_national_day_days(cal):
    for k in range(7):  # 2026-10-01 .. 2026-10-07 off
        assert not cal.is_workday(D(2026, 10, 1) + timedelta(days=k))
    for day in (25, 26, 27):  # Mid-Autumn 2026-09-25 .. 27 off
        assert not cal.is_workday(D(2026, 9, day))
    assert cal.is_workday(D(2026, 9, 20)) and cal.is_workday(D(2026, 10, 10))


def test_holiday_name(cal):
    assert cal.holiday_name(D(2025, 1, 29)) == "Spring Festival"
    assert cal.holiday_name(D(2025, 2, 8)) is None  # an adjusted working day
    assert cal.holiday_name(D(2025, 3, 8)) is None  # a plain Saturday


# --- add_workdays ------------------------------------------------------------------


def test_5_workdays_across_2025_spring_festival(cal):
    # Art 21 (verify a repair within 5 working days), trigger Fri 2025-01-24:
    # Sat 25 off; Sun 26 adjusted (1); Mon 27 (2); 28 Jan..4 Feb off; Wed 5 (3), Thu 6 (4), Fri 7 (5).
    assert cal.add_workdays(D(2025, 1, 24), 5) == D(2025, 2, 7)
    # Trigger Mon 2025-01-27: Feb 5 (1), 6 (2), 7 (3), Sat 8 adjusted (4), Mon 10 (5).
    assert cal.add_workdays(D(2025, 1, 27), 5) == D(2025, 2, 10)


def test_5_workdays_across_2026_spring_festival(cal):
    # Art 24 (accept an objection within 5 working days), trigger Thu 2026-02-12:
    # Fri 13 (1); Sat 14 adjusted (2); 15..23 off; Tue 24 (3), Wed 25 (4), Thu 26 (5).
    assert cal.add_workdays(D(2026, 2, 12), 5) == D(2026, 2, 26)
    # Trigger on the last day off, Mon 2026-02-23: Feb 24..27 (1-4), Sat 28 adjusted (5).
    assert cal.add_workdays(D(2026, 2, 23), 5) == D(2026, 2, 28)


def test_3_and_20_workdays_across_2025_national_day(cal):
    # Art 23 (notify within 3 working days), trigger Tue 2025-09-30:
    # Oct 1..8 off; Thu 9 (1), Fri 10 (2), Sat 11 adjusted (3).
    assert cal.add_workdays(D(2025, 9, 30), 3) == D(2025, 10, 11)
    # Art 24 (answer within 20 working days), trigger Fri 2025-09-26:
    # Sat 27 off; Sun 28 adjusted (1); Mon 29 (2); Tue 30 (3); Oct 1..8 off; Thu 9 (4), Fri 10 (5),
    # Sat 11 adjusted (6); Sun 12 off; Oct 13-17 (7-11); Oct 20-24 (12-16); Mon 27..Thu 30 (17-20).
    assert cal.add_workdays(D(2025, 9, 26), 20) == D(2025, 10, 30)


def test_3_and_20_workdays_across_2026_national_day(cal):
    # Art 25 (correct an error within 3 working days), trigger Wed 2026-09-30:
    # Oct 1..7 off; Thu 8 (1), Fri 9 (2), Sat 10 adjusted (3).
    assert cal.add_workdays(D(2026, 9, 30), 3) == D(2026, 10, 10)
    # Art 24 (answer within 20 working days), trigger Fri 2026-09-18:
    # Sat 19 off; Sun 20 adjusted (1); Mon 21..Thu 24 (2-5); Sep 25..27 Mid-Autumn off;
    # Mon 28..Wed 30 (6-8); Oct 1..7 off; Thu 8 (9), Fri 9 (10), Sat 10 adjusted (11);
    # Sun 11 off; Oct 12-16 (12-16); Mon 19..Thu 22 (17-20).
    assert cal.add_workdays(D(2026, 9, 18), 20) == D(2026, 10, 22)


def test_adjusted_working_saturday_is_counted(cal):
    # Wed 2025-02-05 + 3: Thu 6 (1), Fri 7 (2), Sat 8 is an adjusted working day (3).
    assert cal.add_workdays(D(2025, 2, 5), 3) == D(2025, 2, 8)
    # The same count a week later skips the ordinary weekend: Wed 12 + 3 = Mon 17.
    assert cal.add_workdays(D(2025, 2, 12), 3) == D(2025, 2, 17)


def test_trigger_day_not_counted(cal):
    # Trigger on a working day, Wed 2025-02-05: the first working day is the next one.
    assert cal.add_workdays(D(2025, 2, 5), 1) == D(2025, 2, 6)
    # Trigger on a day off (2025-01-29): the first working day is Wed 2025-02-05.
    assert cal.add_workdays(D(2025, 1, 29), 1) == D(2025, 2, 5)
    # Trigger on an adjusted working Saturday (2025-02-08): next is Mon 2025-02-10.
    assert cal.add_workdays(D(2025, 2, 8), 1) == D(2025, 2, 10)


def test_n_zero_returns_the_day(cal):
    assert cal.add_workdays(D(2025, 2, 5), 0) == D(2025, 2, 5)
    assert cal.add_workdays(D(2025, 1, 29), 0) == D(2025, 1, 29)  # even a day off
    assert cal.add_days(D(2025, 10, 1), 0) == D(2025, 10, 1)


def test_negative_workdays_count_backwards(cal):
    # Thu 2025-02-06 - 2: Wed 5 (1), then back over 4 Feb..28 Jan to Mon 27 Jan (2).
    assert cal.add_workdays(D(2025, 2, 6), -2) == D(2025, 1, 27)
    # Back from Wed 2025-02-05 over Feb 4..Jan 28 (off): Mon 27 Jan (1), Sun 26 Jan adjusted
    # working day (2), Sat 25 off, Fri 24 Jan (3).
    assert cal.add_workdays(D(2025, 2, 5), -3) == D(2025, 1, 24)


# --- add_days: Art 24's 15 days ----------------------------------------------------


def test_15_days_ending_on_a_holiday_roll_to_next_working_day(cal):
    # Art 24: the operator may object within 15 days. Tue 2025-09-16 + 15 = Wed 2025-10-01
    # (National Day), off through Oct 8, so the period ends Thu 2025-10-09.
    assert cal.add_days(D(2025, 9, 16), 15) == D(2025, 10, 9)
    # Thu 2026-02-05 + 15 = Fri 2026-02-20 (Spring Festival, off through Mon 23) -> Tue 24.
    assert cal.add_days(D(2026, 2, 5), 15) == D(2026, 2, 24)
    # Ends on an ordinary Saturday: Fri 2025-03-07 + 15 = Sat 22 Mar -> Mon 24 Mar.
    assert cal.add_days(D(2025, 3, 7), 15) == D(2025, 3, 24)


def test_15_days_ending_on_adjusted_working_day_do_not_roll(cal):
    # Sat 2025-09-13 + 15 = Sun 2025-09-28, an adjusted working day: the period ends there.
    assert cal.add_days(D(2025, 9, 13), 15) == D(2025, 9, 28)
    # Ends on a working day: Mon 2025-03-03 + 15 = Tue 2025-03-18.
    assert cal.add_days(D(2025, 3, 3), 15) == D(2025, 3, 18)


def test_due_date_dispatch(cal):
    assert cal.due_date(D(2025, 9, 16), 15, "days") == D(2025, 10, 9)
    assert cal.due_date(D(2025, 9, 30), 3, "workdays") == D(2025, 10, 11)
    with pytest.raises(ValueError, match="unknown unit"):
        cal.due_date(D(2025, 9, 30), 3, "weeks")  # type: ignore[arg-type]


def test_workdays_between(cal):
    # (2025-09-30, 2025-10-11]: Oct 9, 10 and the adjusted Sat 11.
    assert cal.workdays_between(D(2025, 9, 30), D(2025, 10, 11)) == 3
    # (2025-09-30, 2025-10-08] is all holiday.
    assert cal.workdays_between(D(2025, 9, 30), D(2025, 10, 8)) == 0
    assert cal.workdays_between(D(2025, 10, 11), D(2025, 9, 30)) == -3
    assert cal.workdays_between(D(2025, 5, 6), D(2025, 5, 6)) == 0
    # Across a year boundary: (Wed 2025-12-31, Fri 2026-01-09]: Jan 1-3 off, Sun 4 adjusted,
    # Mon 5 .. Fri 9 -> 1 + 5 = 6.
    assert cal.workdays_between(D(2025, 12, 31), D(2026, 1, 9)) == 6


# --- years the library lacks --------------------------------------------------------


def test_supported_years():
    # chinesecalendar 1.11.0 covers 2004..2026 (probed, not hard-coded in qrules).
    years = library_years()
    assert years == tuple(range(years[0], years[-1] + 1))
    assert years[0] == 2004 and 2025 in years and 2026 in years
    assert default_calendar().supported_years() == years
    with_2027 = WorkdayCalendar({2027: YearSchedule.from_data(EXAMPLE_2027, year=2027)})
    assert with_2027.supported_years() == tuple(sorted(set(years) | {2027}))


def test_missing_year_raises_clear_calendar_error(cal):
    if 2027 in library_years():  # pragma: no cover - a newer chinesecalendar
        pytest.skip("the installed chinesecalendar already has 2027")
    with pytest.raises(CalendarError) as info:
        cal.is_workday(D(2027, 3, 1))
    err = info.value
    assert isinstance(err, QrulesError) and err.year == 2027
    [diag] = err.diagnostics
    assert diag.code == "QR702"
    assert "2027" in diag.message and "calendar:" in diag.message and "2027年" in diag.message
    assert "2004-2026" in (diag.hint or "")
    text = render(diag)
    assert text.startswith("error[QR702]: 日期所在年份没有工作日历：no official working-day calendar for 2027")
    assert "Traceback" not in text
    # A count running into the missing year fails the same way rather than guessing:
    # Wed 2026-12-30 + 5 needs 2027-01-01 onwards.
    with pytest.raises(CalendarError, match="2027"):
        cal.add_workdays(D(2026, 12, 30), 5)
    with pytest.raises(CalendarError, match="2003"):
        cal.is_workday(D(2003, 12, 31))


def test_missing_year_passes_once_extra_years_adds_it():
    schedule = YearSchedule.from_data(EXAMPLE_2027)
    cal = WorkdayCalendar(extra_years={2027: schedule})
    # Wed 2026-12-30 + 5: Thu 31 Dec (1, library); Jan 1..3 off (example); Mon 4..Thu 7 (2-5).
    assert cal.add_workdays(D(2026, 12, 30), 5) == D(2027, 1, 7)
    # The example's Spring Festival: Thu 2027-02-04 + 3: Feb 5..11 off, Fri 12 (1),
    # Sat 13 off, Sun 14 adjusted working day (2), Mon 15 (3).
    assert cal.add_workdays(D(2027, 2, 4), 3) == D(2027, 2, 15)
    assert not cal.is_workday(D(2027, 2, 13)) and cal.is_workday(D(2027, 2, 14))
    # The default calendar is unaffected.
    if 2027 not in library_years():
        with pytest.raises(CalendarError):
            default_calendar().is_workday(D(2027, 1, 4))


def test_from_config_reads_a_ruleset_section():
    section = {"2027": EXAMPLE_2027}  # year keys may be strings
    cal = WorkdayCalendar.from_config(section, file="rulesets/x.yaml")
    assert cal.add_workdays(D(2026, 12, 30), 5) == D(2027, 1, 7)
    # YAML loads unquoted dates as date objects; those are accepted too.
    cal = WorkdayCalendar.from_config({2027: {"holidays": [D(2027, 1, 1)], "workdays": None}})
    assert not cal.is_workday(D(2027, 1, 1)) and cal.is_workday(D(2027, 1, 4))
    assert WorkdayCalendar.from_config(None).supported_years() == library_years()


def test_extra_year_overrides_library_year():
    # Same rule as the library: with the library's own 2025 schedule as an extra year,
    # every day of 2025 answers the same.
    lib = default_calendar()
    same = WorkdayCalendar({2025: YearSchedule.from_library(2025)})
    assert same.overridden_years() == (2025,)
    day = D(2025, 1, 1)
    while day.year == 2025:
        assert same.is_workday(day) == lib.is_workday(day), day
        day += timedelta(days=1)
    # A ruleset that states a different 2025 wins for 2025 (and only 2025).
    odd = WorkdayCalendar({2025: YearSchedule(frozenset({D(2025, 3, 3)}), frozenset())})
    assert not odd.is_workday(D(2025, 3, 3))
    assert odd.is_workday(D(2025, 1, 28))  # the library's Spring Festival is not used
    assert not odd.is_workday(D(2026, 2, 16))  # 2026 still from the library


# --- bad extra-year data (QR701) ----------------------------------------------------


def _codes(exc: QrulesError) -> set[str]:
    return {d.code for d in exc.diagnostics}


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"holidays": ["2027-02-30"]}, "bad date '2027-02-30'"),
        ({"holidays": ["2027/01/01"]}, "bad date"),
        ({"holidays": ["2027-02-11..2027-02-05"]}, "ends before it starts"),
        ({"holidays": ["2027-02-05...2027-02-11"]}, "bad date range"),
        ({"holidays": ["2027-01-01"], "workdays": ["2027-02-15"]}, "is a Monday"),
        ({"holidays": ["2026-12-31"]}, "2026-12-31 is not in 2027"),
        ({"holidays": ["2027-01-01"], "workday": ["2027-02-14"]}, "unknown key 'workday'"),
        ({"workdays": ["2027-02-14"]}, "missing `holidays:`"),
        ({"holidays": "2027-01-01"}, "expected a list"),
        ({"holidays": [20270101]}, "expected a date"),
        ({"holidays": ["2027-02-14"], "workdays": ["2027-02-14"]}, "both as a holiday and as a workday"),
        ({"holidays": []}, "no holidays listed"),
        (["2027-01-01"], "expected a mapping"),
    ],
)
def test_bad_extra_year_data(data, needle):
    with pytest.raises(QrulesError) as info:
        YearSchedule.from_data(data, year=2027)
    assert _codes(info.value) == {"QR701"}
    assert any(needle in d.message for d in info.value.diagnostics), info.value.diagnostics


def test_bad_data_reports_every_problem_with_spans():
    span = Span("rulesets/x.yaml", 7, 9)
    spans = {(2027, "workdays", 1): span}
    with pytest.raises(QrulesError) as info:
        WorkdayCalendar.from_config(
            {2027: {"holidays": ["2027-13-01"], "workdays": ["2027-02-14", "2027-02-15"]},
             "next": {"holidays": ["2028-01-01"]}},
            file="rulesets/x.yaml", spans=spans)
    diags = info.value.diagnostics
    assert _codes(info.value) == {"QR701"} and len(diags) == 3
    monday = [d for d in diags if "is a Monday" in d.message]
    assert monday and monday[0].span == span
    assert any("'next' is not a year" in d.message for d in diags)
    # Without a span the file is named in the message.
    assert any(d.message.startswith("rulesets/x.yaml: calendar 2027.holidays[0]") for d in diags)


def test_year_inferred_when_not_given():
    with pytest.raises(QrulesError, match="2028-01-01 is not in 2027"):
        YearSchedule.from_data({"holidays": ["2027-01-01", "2028-01-01"]})


def test_directly_built_schedule_is_checked():
    with pytest.raises(QrulesError) as info:
        WorkdayCalendar({2027: YearSchedule(frozenset({D(2028, 1, 1)}), frozenset({D(2027, 2, 15)}))})
    assert _codes(info.value) == {"QR701"} and len(info.value.diagnostics) == 2


# --- properties ---------------------------------------------------------------------

FIRST, LAST = library_years()[0], library_years()[-1]
# Starting dates leave room for 100 working days (about 5 months) either way.
starts = st.dates(min_value=D(FIRST, 7, 1), max_value=D(LAST, 6, 30))
counts = st.integers(min_value=0, max_value=50)


@settings(max_examples=300, deadline=None)
@given(d=starts, n=st.integers(min_value=1, max_value=100))
def test_property_result_is_a_later_working_day(d, n):
    cal = default_calendar()
    end = cal.add_workdays(d, n)
    assert end > d
    assert cal.is_workday(end)
    assert cal.workdays_between(d, end) == n


@settings(max_examples=300, deadline=None)
@given(d=starts, a=counts, b=counts)
def test_property_additive(d, a, b):
    cal = default_calendar()
    assert cal.add_workdays(d, a + b) == cal.add_workdays(cal.add_workdays(d, a), b)


@settings(max_examples=200, deadline=None)
@given(d=starts, n=st.integers(min_value=1, max_value=100))
def test_property_backwards_inverts_forwards_on_working_days(d, n):
    cal = default_calendar()
    if cal.is_workday(d):
        assert cal.add_workdays(cal.add_workdays(d, n), -n) == d


@settings(max_examples=200, deadline=None)
@given(d=starts, n=st.integers(min_value=1, max_value=60))
def test_property_add_days_ends_on_first_working_day_from_nominal_end(d, n):
    cal = default_calendar()
    end = cal.add_days(d, n)
    nominal = d + timedelta(days=n)
    assert end >= nominal and cal.is_workday(end)
    assert cal.workdays_between(nominal - timedelta(days=1), end) == 1
