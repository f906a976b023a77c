"""Tests of qrules.deadlines: procedural clocks (第二十一条、第二十三条至第二十五条).

Every due date below is worked out by hand from the State Council General Office notices
(as encoded in chinesecalendar 1.11.0, chinese_calendar/constants.py), never by asking the
code under test; tests/test_workdays.py checks the calendar itself day by day.

2025 (国办发明电〔2024〕12号, 关于2025年部分节假日安排的通知):
  Spring Festival: off Tue 2025-01-28 .. Tue 2025-02-04; work Sun 2025-01-26, Sat 2025-02-08.
  National Day + Mid-Autumn: off Wed 2025-10-01 .. Wed 2025-10-08; work Sun 2025-09-28,
  Sat 2025-10-11.
2026 (国务院办公厅关于2026年部分节假日安排的通知): New Year off Thu 2026-01-01 .. Sat
  2026-01-03, work Sun 2026-01-04.
2027: not in chinesecalendar 1.11.0; tests add an illustrative schedule (NOT the official one).

Counting rule (docs/deadlines.md): the trigger day is not counted; N working days end on the
N-th working day after it; a period of N calendar days whose last day is a day off ends on
the next working day.

The shared history (``EVENTS``), three matters:

* d1 (deduction Fri 2025-01-24, product p1): notice n1 Wed 02-05; objection o1 Tue 02-18;
  accepted acc1 Thu 02-27 (late); repair application ra1 Mon 03-03, repair r1 Fri 03-07.
* d2 (deduction Mon 2025-08-25, product p2): notice n2 Tue 09-02 (late); objection o2 Fri
  09-19 (after the 15 days); accepted acc2 Fri 09-26 (on the due day), never answered;
  error reported err2 Tue 09-30, corrected c2 Mon 10-13 (late).
* d3 (deduction Mon 2025-01-13, product p2): notice n3 the same day; no objection.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest

from qrules.errors import QrulesError

from qrules.cli import main
from qrules.deadlines import STATUSES, Clock, check_deadlines, compute_deadlines, summarize
from qrules.history import load_history_data
from qrules.versioned import load

D = date
ROOT = Path(__file__).resolve().parents[1]
PROVINCE = ROOT / "rulesets" / "guangdong-2021.yaml"

SUBJECTS = [
    {"id": "op1", "kind": "operator", "uscc": "91440512MA5XXXXX1R", "roles": ["producer"], "region": "440512"},
    {"id": "p1", "kind": "product", "brand": "某牌", "nice_class": 28, "producer": "op1"},
    {"id": "p2", "kind": "product", "brand": "某牌", "nice_class": 9, "producer": "op1"},
]
EVENTS = [
    {"id": "d1", "kind": "deduction", "item": "11.7", "date": "2025-01-24", "subjects": ["p1"]},
    {"id": "n1", "kind": "notice_sent", "of": "d1", "date": "2025-02-05"},
    {"id": "o1", "kind": "objection_filed", "of": "d1", "date": "2025-02-18"},
    {"id": "acc1", "kind": "objection_accepted", "of": "o1", "date": "2025-02-27"},
    {"id": "ra1", "kind": "repair_applied", "of": "d1", "date": "2025-03-03"},
    {"id": "r1", "kind": "repair", "of": "d1", "date": "2025-03-07", "rectified": True},
    {"id": "d2", "kind": "deduction", "item": "11.7", "date": "2025-08-25", "subjects": ["p2"]},
    {"id": "n2", "kind": "notice_sent", "of": "d2", "date": "2025-09-02"},
    {"id": "o2", "kind": "objection_filed", "of": "d2", "date": "2025-09-19"},
    {"id": "acc2", "kind": "objection_accepted", "of": "o2", "date": "2025-09-26"},
    {"id": "err2", "kind": "error_reported", "of": "d2", "date": "2025-09-30"},
    {"id": "c2", "kind": "correction", "of": "d2", "action": "revoke", "date": "2025-10-13"},
    {"id": "d3", "kind": "deduction", "item": "11.6", "date": "2025-01-13", "subjects": ["p2"]},
    {"id": "n3", "kind": "notice_sent", "of": "d3", "date": "2025-01-13"},
]


@pytest.fixture(scope="module")
def province():
    return load(PROVINCE)


def history(*extra: dict, events: list[dict] | None = None):
    loaded = load_history_data({"subjects": SUBJECTS, "events": (EVENTS if events is None else events) + list(extra)})
    assert not loaded.has_errors, loaded.diagnostics
    return loaded.history


def clocks_by_start(clocks: list[Clock]) -> dict[tuple[str, str], Clock]:
    return {(c.deadline, c.start_event): c for c in clocks}


def clock(compiled, deadline: str, start: str, as_of: date, *extra: dict, events=None) -> Clock:
    return clocks_by_start(compute_deadlines(compiled, history(*extra, events=events), as_of))[(deadline, start)]


def test_weekdays_of_the_hand_checked_dates():
    # Guards the hand reasoning below (Mon=0 .. Sun=6).
    assert D(2025, 1, 24).weekday() == 4 and D(2025, 1, 26).weekday() == 6
    assert D(2025, 2, 5).weekday() == 2 and D(2025, 2, 18).weekday() == 1
    assert D(2025, 8, 25).weekday() == 0 and D(2025, 9, 19).weekday() == 4
    assert D(2025, 9, 26).weekday() == 4 and D(2025, 9, 30).weekday() == 1
    assert D(2025, 10, 11).weekday() == 5 and D(2025, 10, 30).weekday() == 3
    assert D(2025, 12, 29).weekday() == 0 and D(2026, 1, 4).weekday() == 6
    assert D(2026, 12, 30).weekday() == 2 and D(2027, 3, 1).weekday() == 0


# --- the ruleset ---------------------------------------------------------------------------


def test_ruleset_encodes_the_six_clocks_of_art21_and_art23_to_25(province):
    got = {name: (dl.starts, dl.stops, str(province.deadline_durations[name]), dl.party, dl.cite)
           for name, dl in province.model.deadlines.items()}
    assert got == {
        "verify_repair": ("repair_applied", ["repair"], "5 workdays", "bureau", "第二十一条"),
        # 第二十三条「实施质量信用记分后」: every scoring of 第八条 (deduction, repair, reward)
        "notify": (["deduction", "repair", "reward"], ["notice_sent"], "3 workdays", "bureau", "第二十三条"),
        "object": ("notice_sent", ["objection_filed"], "15 days", "operator", "第二十四条"),
        "accept_objection": ("objection_filed", ["objection_accepted", "objection_refused"], "5 workdays",
                             "bureau", "第二十四条"),
        "answer_objection": ("objection_accepted", ["objection_answered"], "20 workdays", "bureau", "第二十四条"),
        "correct_error": ("error_reported", ["correction"], "3 workdays", "bureau", "第二十五条"),
    }
    assert check_deadlines(province) == []


def test_district_ruleset_inherits_the_clocks():
    district = load(ROOT / "rulesets" / "haojiang-2023.yaml")
    assert list(district.model.deadlines) == list(load(PROVINCE).model.deadlines)
    assert check_deadlines(district) == []


# --- counting across the official holidays ------------------------------------------------


def test_art23_notify_across_2025_spring_festival(province):
    # Deduction Fri 2025-01-24: Sun 01-26 adjusted working day (1), Mon 01-27 (2), 01-28..02-04
    # off, Wed 02-05 (3). The notice on 02-05 is on the last day: met.
    c = clock(province, "notify", "d1", D(2025, 12, 31))
    assert (c.due, c.stop_event, c.stop_date, c.status) == (D(2025, 2, 5), "n1", D(2025, 2, 5), "met")
    assert (c.cite, c.party, c.within, c.about, c.subjects) == ("第二十三条", "bureau", "3 workdays", "d1", ["p1"])


def test_art24_answer_20_workdays_across_2025_national_day(province):
    # Accepted Fri 2025-09-26: Sun 09-28 adjusted (1), Mon 29 (2), Tue 30 (3), 10-01..10-08 off,
    # Thu 10-09 (4), Fri 10 (5), Sat 11 adjusted (6), Oct 13-17 (7-11), 20-24 (12-16),
    # 27-30 (17-20): due Thu 2025-10-30.
    c = clock(province, "answer_objection", "acc2", D(2025, 10, 20))
    # As of Mon 10-20, 8 working days are left: 10-21..10-24, 10-27..10-30.
    assert (c.due, c.status, c.days_left, c.stop_event) == (D(2025, 10, 30), "open", 8, None)
    # As of Mon 11-03 nobody answered: overdue by Fri 10-31 and Mon 11-03.
    c = clock(province, "answer_objection", "acc2", D(2025, 11, 3))
    assert (c.status, c.days_late) == ("overdue", 2)
    answered = {"id": "ans2", "kind": "objection_answered", "of": "o2", "date": "2025-10-30"}
    c = clock(province, "answer_objection", "acc2", D(2025, 11, 3), answered)
    assert (c.status, c.stop_event, c.days_late) == ("met", "ans2", None)


def test_art24_objection_period_ending_on_spring_festival_runs_to_next_working_day(province):
    # Notice Mon 2025-01-13 + 15 days = Tue 2025-01-28, the first day off of the Spring
    # Festival (01-28..02-04): the period ends on the next working day, Wed 2025-02-05.
    as_of_due = clock(province, "object", "n3", D(2025, 2, 5))
    assert (as_of_due.due, as_of_due.status, as_of_due.days_left) == (D(2025, 2, 5), "open", 0)
    # During the holiday one working day (02-05) is still left.
    assert clock(province, "object", "n3", D(2025, 1, 30)).days_left == 1
    # The day after: the operator's period has run out: expired, not overdue (not a bureau failure).
    after = clock(province, "object", "n3", D(2025, 2, 6))
    assert (after.status, after.days_late, after.party) == ("expired", 1, "operator")


def test_art24_objection_period_ending_on_national_day_objection_on_the_rolled_day_is_met(province):
    # Notice Tue 2025-09-16 + 15 days = Wed 2025-10-01 (off through 10-08): due Thu 2025-10-09.
    events = [
        {"id": "d9", "kind": "deduction", "item": "11.7", "date": "2025-09-15", "subjects": ["p1"]},
        {"id": "n9", "kind": "notice_sent", "of": "d9", "date": "2025-09-16"},
        {"id": "o9", "kind": "objection_filed", "of": "d9", "date": "2025-10-09"},
    ]
    c = clock(province, "object", "n9", D(2025, 12, 1), events=events)
    assert (c.due, c.stop_event, c.status) == (D(2025, 10, 9), "o9", "met")


def test_art25_correct_error_due_on_an_adjusted_saturday(province):
    # Reported Tue 2025-09-30: 10-01..10-08 off, Thu 10-09 (1), Fri 10 (2), Sat 10-11 adjusted (3).
    # Corrected Mon 10-13: one working day late.
    c = clock(province, "correct_error", "err2", D(2025, 12, 1))
    assert (c.due, c.stop_event, c.status, c.days_late) == (D(2025, 10, 11), "c2", "late", 1)
    assert c.about == "d2" and c.cite == "第二十五条"


def test_art23_notify_due_on_2026_adjusted_sunday(province):
    # Deduction Mon 2025-12-29: Tue 30 (1), Wed 31 (2), 2026-01-01..03 off, Sun 2026-01-04
    # adjusted working day (3). As of Tue 01-06 with no notice: overdue by Mon 5 and Tue 6.
    d = {"id": "d4", "kind": "deduction", "item": "11.7", "date": "2025-12-29", "subjects": ["p1"]}
    c = clock(province, "notify", "d4", D(2026, 1, 6), d)
    assert (c.due, c.status, c.days_late) == (D(2026, 1, 4), "overdue", 2)


# --- each status --------------------------------------------------------------------------

STATUS_CASES = [
    # (deadline, start, as_of, status, due, days_late, days_left)
    # Art 21: applied Mon 2025-03-03 -> 4,5,6,7,10: due Mon 03-10; repaired Fri 03-07.
    ("verify_repair", "ra1", D(2025, 12, 31), "met", D(2025, 3, 10), None, None),
    # Art 24 accept: filed Tue 2025-02-18 -> 19,20,21,24,25: due Tue 02-25; accepted Thu 02-27 (+26, 27).
    ("accept_objection", "o1", D(2025, 12, 31), "late", D(2025, 2, 25), 2, None),
    # Art 23: deduction Mon 2025-08-25 -> 26,27,28: due Thu 08-28; notice Tue 09-02 (+29, 1, 2).
    ("notify", "d2", D(2025, 12, 31), "late", D(2025, 8, 28), 3, None),
    # Art 24 accept: filed Fri 2025-09-19 -> 22,23,24,25,26: due Fri 09-26; accepted that day.
    ("accept_objection", "o2", D(2025, 12, 31), "met", D(2025, 9, 26), None, None),
    # Art 24 object: notice Tue 2025-09-02 + 15 = Wed 09-17 (a working day); filed Fri 09-19:
    # late by 18 and 19 (the bureau may then refuse it; the clock only reports the dates).
    ("object", "n2", D(2025, 12, 31), "late", D(2025, 9, 17), 2, None),
    # Art 24 answer: accepted Thu 2025-02-27 -> 20 working days (no holiday): due Thu 03-27;
    # as of Mon 03-24 it is open with 25, 26, 27 left; as of Fri 03-28 overdue by one day.
    ("answer_objection", "acc1", D(2025, 3, 24), "open", D(2025, 3, 27), None, 3),
    ("answer_objection", "acc1", D(2025, 3, 28), "overdue", D(2025, 3, 27), 1, None),
    # Art 24 object, the operator's period, due Wed 2025-02-05 (see the Spring Festival test):
    # as of Mon 02-10 expired by Thu 6, Fri 7, Sat 8 (adjusted working day) and Mon 10.
    ("object", "n3", D(2025, 2, 10), "expired", D(2025, 2, 5), 4, None),
]


@pytest.mark.parametrize("deadline, start, as_of, status, due, days_late, days_left", STATUS_CASES)
def test_each_status(province, deadline, start, as_of, status, due, days_late, days_left):
    c = clock(province, deadline, start, as_of)
    assert (c.status, c.due, c.days_late, c.days_left) == (status, due, days_late, days_left)


def test_every_status_is_reached():
    assert {case[3] for case in STATUS_CASES} == set(STATUSES) - {"unknown"}


def test_all_clocks_of_the_history_and_their_summary(province):
    clocks = compute_deadlines(province, history(), D(2025, 11, 3))
    assert [(c.deadline, c.start_event, c.status) for c in clocks] == [
        ("notify", "d3", "met"), ("object", "n3", "expired"),
        ("notify", "d1", "met"), ("object", "n1", "met"), ("accept_objection", "o1", "late"),
        ("answer_objection", "acc1", "overdue"), ("verify_repair", "ra1", "met"),
        ("notify", "d2", "late"), ("object", "n2", "late"), ("accept_objection", "o2", "met"),
        ("answer_objection", "acc2", "overdue"), ("correct_error", "err2", "late"),
    ]
    assert summarize(clocks) == {"met": 5, "late": 4, "open": 0, "overdue": 2, "expired": 1, "unknown": 0}


def test_events_after_as_of_do_not_count(province):
    # As of Tue 2025-02-04 the notice n1 (02-05) has not happened: notify d1 is open, 1 day left,
    # and no object clock has started.
    clocks = clocks_by_start(compute_deadlines(province, history(), D(2025, 2, 4)))
    c = clocks[("notify", "d1")]
    assert (c.status, c.stop_event, c.days_left) == ("open", None, 1)
    assert ("object", "n1") not in clocks
    assert ("notify", "d2") not in clocks  # d2 is dated after the as-of date


# --- linking ----------------------------------------------------------------------------


def test_refused_objection_stops_the_acceptance_clock(province):
    refused = {"id": "ref1", "kind": "objection_refused", "of": "o1", "date": "2025-02-20"}
    events = [e for e in EVENTS if e["id"] != "acc1"]
    c = clock(province, "accept_objection", "o1", D(2025, 12, 31), refused, events=events)
    assert (c.stop_event, c.stop_kind, c.status) == ("ref1", "objection_refused", "met")


def test_acceptance_of_another_objection_does_not_stop_the_clock(province):
    # acc2 accepts o2, not o1: o1's clock stays open without acc1.
    events = [e for e in EVENTS if e["id"] != "acc1"]
    c = clock(province, "accept_objection", "o1", D(2025, 2, 21), events=events)
    assert (c.status, c.stop_event) == ("open", None)


def test_second_repair_application_takes_the_next_repair(province):
    # Art 21: ra1 (03-03) is answered by r1 (03-07); a new application ra2 on Tue 2025-04-01
    # (4 Apr is Qingming, off: 2, 3, 7, 8, 9 -> due Wed 04-09) is answered by r2, not by r1.
    extra = [{"id": "ra2", "kind": "repair_applied", "of": "d1", "date": "2025-04-01"},
             {"id": "r2", "kind": "repair", "of": "d1", "date": "2025-04-03", "rectified": True}]
    clocks = clocks_by_start(compute_deadlines(province, history(*extra), D(2025, 12, 31)))
    assert clocks[("verify_repair", "ra1")].stop_event == "r1"
    second = clocks[("verify_repair", "ra2")]
    assert (second.stop_event, second.due, second.status) == ("r2", D(2025, 4, 9), "met")
    assert second.notes == []  # r1 was taken by ra1: skipped, not reported as early


def test_stop_dated_before_its_start_is_not_taken_and_is_noted(province):
    # A repair recorded before the application it should answer: the clock stays open, noted.
    events = [e for e in EVENTS if e["id"] != "r1"] + [
        {"id": "r0", "kind": "repair", "of": "d1", "date": "2025-02-28", "rectified": True}]
    c = clock(province, "verify_repair", "ra1", D(2025, 3, 5), events=events)
    assert (c.status, c.stop_event) == ("open", None)
    assert len(c.notes) == 1 and "r0" in c.notes[0]


# --- a year the calendar lacks -------------------------------------------------------------

EVENTS_2027 = [
    # Wed 2026-12-30 + 3 working days runs into 2027; Mon 2027-03-01 lies in 2027.
    {"id": "d5", "kind": "deduction", "item": "11.7", "date": "2026-12-30", "subjects": ["p1"]},
    {"id": "d6", "kind": "deduction", "item": "11.7", "date": "2027-03-01", "subjects": ["p2"]},
]

# Illustrative 2027 schedule (as in tests/test_workdays.py; NOT the official one).
CHILD_2027 = """\
qrules: 1
ruleset: guangdong-2021-cal2027
extends: {parent}
version: "2021.1-cal2027"
calendar:
  2027:
    holidays: ["2027-01-01..2027-01-03", "2027-02-05..2027-02-11"]
    workdays: ["2027-02-14"]
"""


def test_year_missing_from_the_calendar_gives_unknown_naming_the_year(province):
    clocks = clocks_by_start(compute_deadlines(province, history(events=EVENTS_2027), D(2027, 3, 10)))
    for start in ("d5", "d6"):
        c = clocks[("notify", start)]
        assert c.status == "unknown" and c.due is None
        assert "QR702" in c.message and "2027" in c.message
        assert "calendar:" in c.message  # says where to add it


def test_status_known_before_a_missing_year_even_without_a_due_date(province):
    # d5 Wed 2026-12-30, notified Thu 12-31: 1 working day after the start, fewer than 3, so the
    # notice is in time whatever the 2027 schedule says: met, due unknown, the gap noted.
    notice = {"id": "n5", "kind": "notice_sent", "of": "d5", "date": "2026-12-31"}
    clocks = clocks_by_start(compute_deadlines(province, history(notice, events=EVENTS_2027[:1]), D(2026, 12, 31)))
    c = clocks[("notify", "d5")]
    assert (c.status, c.due, c.stop_event, c.message) == ("met", None, "n5", None)
    assert "2027" in c.notes[0]
    # The objection period from 12-31 (15 days: at least to 2027-01-15) is open on 12-31.
    assert (clocks[("object", "n5")].status, clocks[("object", "n5")].due) == ("open", None)
    # Without the notice, as of 12-31 the notify clock is open (1 of 3 working days used).
    c = clock(province, "notify", "d5", D(2026, 12, 31), events=EVENTS_2027[:1])
    assert (c.status, c.due) == ("open", None)


def test_year_added_by_a_child_ruleset_makes_the_clocks_computable(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(CHILD_2027.format(parent=PROVINCE.as_posix()), encoding="utf-8")
    compiled = load(child)
    clocks = clocks_by_start(compute_deadlines(compiled, history(events=EVENTS_2027), D(2027, 3, 10)))
    # d5 Wed 2026-12-30: Thu 12-31 (1), 2027-01-01..03 off (illustrative), Mon 01-04 (2), Tue 01-05 (3).
    assert (clocks[("notify", "d5")].due, clocks[("notify", "d5")].status) == (D(2027, 1, 5), "overdue")
    # d6 Mon 2027-03-01: 2, 3, 4 -> due Thu 03-04; as of Wed 03-10 overdue by 5, 8, 9, 10.
    c = clocks[("notify", "d6")]
    assert (c.due, c.status, c.days_late) == (D(2027, 3, 4), "overdue", 4)


def test_cli_reports_a_missing_year_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "h2027.json"
    path.write_text(json.dumps({"subjects": SUBJECTS, "events": EVENTS_2027}), encoding="utf-8")
    assert main(["deadlines", str(PROVINCE), str(path), "--as-of", "2027-03-10"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "unknown" in out and "2027" in out and "QR702" in out


# --- checks of the ruleset's deadlines -----------------------------------------------------


def test_unknown_event_kind_and_unit_are_reported_at_their_line(tmp_path, capsys):
    child = tmp_path / "bad.yaml"
    child.write_text(f"""\
qrules: 1
ruleset: bad-deadlines
extends: {PROVINCE.as_posix()}
version: "1"
deadlines:
  notify:
    stops: [notice_send]
  object:
    within: "1 months"
""", encoding="utf-8")
    with pytest.raises(QrulesError) as exc:   # `qrules check` (load) reports them too
        load(child)
    diags = [d for d in exc.value.diagnostics if d.severity == "error"]
    assert [d.code for d in diags] == ["QR711", "QR712"]
    assert "notice_send" in diags[0].message and "notice_sent" in (diags[0].hint or "")
    assert diags[0].span.file.endswith("bad.yaml") and diags[0].span.line == 7
    hist = tmp_path / "h.json"
    hist.write_text(json.dumps({"subjects": SUBJECTS, "events": EVENTS}), encoding="utf-8")
    assert main(["deadlines", str(child), str(hist), "--as-of", "2025-11-03"]) == 1
    assert "QR711" in capsys.readouterr().err


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def history_file(tmp_path) -> Path:
    path = tmp_path / "h.yaml"
    path.write_text(json.dumps({"subjects": SUBJECTS, "events": EVENTS}, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_table(history_file, capsys):
    assert main(["deadlines", str(PROVINCE), str(history_file), "--as-of", "2025-11-03"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("guangdong-2021 2021.1 — deadlines as of 2025-11-03")
    row = next(line for line in lines if line.startswith("answer_objection") and "acc2" in line)
    assert "2025-10-30" in row and "overdue" in row and "+2" in row and "第二十四条" in row
    assert lines[-1] == ("12 clocks（12 个期限）: met 按期办结 5, late 逾期办结 4, open 期限未届满 0, "
                         "overdue 已超期未办结 2, expired 期间已届满 1, unknown 无法计算 0")


def test_cli_json(history_file, capsys):
    assert main(["deadlines", str(PROVINCE), str(history_file), "--as-of", "2025-11-03", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["ruleset"], data["as_of"]) == ("guangdong-2021", "2025-11-03")
    assert data["summary"] == {"met": 5, "late": 4, "open": 0, "overdue": 2, "expired": 1, "unknown": 0}
    notify = next(c for c in data["clocks"] if c["deadline"] == "notify" and c["start_event"] == "d1")
    assert notify["due"] == "2025-02-05" and notify["stop_event"] == "n1" and notify["status"] == "met"
    assert Clock.model_validate(notify).due == D(2025, 2, 5)


def test_cli_csv(history_file, capsys):
    assert main(["deadlines", str(PROVINCE), str(history_file), "--as-of", "2025-11-03", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 12
    late = next(r for r in rows if r["deadline"] == "correct_error")
    assert (late["start_event"], late["due"], late["stop_event"], late["status"], late["days_late"]) == \
        ("err2", "2025-10-11", "c2", "late", "1")
    assert late["cite"] == "第二十五条" and late["subjects"] == "p2"


def test_cli_bad_date_is_a_usage_error(history_file, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["deadlines", str(PROVINCE), str(history_file), "--as-of", "2025-13-01"])
    assert exc.value.code == 2


# --- 2024 holidays, worked out by hand from 国办发明电〔2023〕7号 (关于2024年部分节假日安排的通知) ---------
# Spring Festival off 02-10..02-17, work Sun 02-04 and Sun 02-18; Labour Day off 05-01..05-05, work
# Sun 04-28 and Sat 05-11; Mid-Autumn off 09-15..09-17, work Sat 09-14; National Day off 10-01..10-07,
# work Sun 09-29 and Sat 10-12. 2025 New Year: off Wed 2025-01-01 only, no adjusted day.
EVENTS_2024 = [
    {"id": "d1", "kind": "deduction", "item": "11.7", "date": "2024-09-12", "subjects": ["p1"]},
    {"id": "n1", "kind": "notice_sent", "of": "d1", "date": "2024-09-20"},
    {"id": "o1", "kind": "objection_filed", "of": "d1", "date": "2024-10-08"},
    {"id": "ra1", "kind": "repair_applied", "of": "d1", "date": "2024-04-26"},
    {"id": "r1", "kind": "repair", "of": "d1", "date": "2024-05-08", "rectified": True},
    {"id": "d2", "kind": "deduction", "item": "11.7", "date": "2024-01-10", "subjects": ["p2"]},
    {"id": "o2", "kind": "objection_filed", "of": "d2", "date": "2024-02-17"},
    {"id": "acc2", "kind": "objection_accepted", "of": "o2", "date": "2024-09-23"},
    {"id": "err2", "kind": "error_reported", "of": "d2", "date": "2024-12-31"},
    {"id": "c2", "kind": "correction", "of": "d2", "action": "revoke", "date": "2025-01-06"},
]


@pytest.mark.parametrize("deadline, start, due, status", [
    # 第二十一条: applied Fri 2024-04-26 -> Sun 04-28 (adjusted, 1), Mon 29 (2), Tue 30 (3), 05-01..05-05 off,
    # Mon 05-06 (4), Tue 05-07 (5): due 05-07; verified Wed 05-08, one working day late.
    ("verify_repair", "ra1", D(2024, 5, 7), "late"),
    # 第二十三条: deduction Thu 2024-09-12 -> Fri 13 (1), Sat 14 (adjusted, 2), 15..17 off, Wed 09-18 (3);
    # no notice before Fri 09-20: late.
    ("notify", "d1", D(2024, 9, 18), "late"),
    # 第二十四条 objection: notice Fri 2024-09-20 + 15 days = Sat 10-05, a day off (through 10-07):
    # the period runs to Tue 10-08; the objection that day is in time.
    ("object", "n1", D(2024, 10, 8), "met"),
    # 第二十四条 acceptance: filed Sat 2024-02-17 (a holiday) -> Sun 02-18 (adjusted, 1), 19, 20, 21, Thu 22 (5):
    # due Thu 02-22; accepted only in September: late.
    ("accept_objection", "o2", D(2024, 2, 22), "late"),
    # 第二十四条 answer: accepted Mon 2024-09-23 -> 24, 25, 26, 27 (1-4), Sun 29 (adjusted, 5), Mon 30 (6),
    # 10-01..10-07 off, 8, 9, 10, 11 (7-10), Sat 12 (adjusted, 11), 14-18 (12-16), 21-24 (17-20): due Thu 10-24.
    ("answer_objection", "acc2", D(2024, 10, 24), "overdue"),
    # 第二十五条: reported Tue 2024-12-31 -> 2025-01-01 off, Thu 01-02 (1), Fri 03 (2), Mon 06 (3): due 01-06,
    # corrected that day: met.
    ("correct_error", "err2", D(2025, 1, 6), "met"),
])
def test_art21_art23_to_25_clocks_across_the_2024_holidays(province, deadline, start, due, status):
    c = clock(province, deadline, start, D(2025, 3, 1), events=EVENTS_2024)
    assert (c.due, c.status) == (due, status)


def test_docs_reading_the_output_is_what_the_command_prints(history_file, capsys):
    """docs/deadlines.md "Reading the output" shows this history's table: every line it shows is printed."""
    page = (ROOT / "docs" / "deadlines.md").read_text(encoding="utf-8")
    shown = re.search(r"```\n(guangdong-2021 2021\.1 — deadlines as of 2025-11-03.*?)```", page, re.S).group(1)
    assert main(["deadlines", str(PROVINCE), str(history_file), "--as-of", "2025-11-03"]) == 0
    printed = capsys.readouterr().out.splitlines()
    for line in shown.splitlines():
        if line.strip() and line.strip() != "...":
            assert line.rstrip() in (p.rstrip() for p in printed), line


# --- 第二十三条: every scoring is notified (第八条: 记分 is deductions, repairs and rewards) ---------

ART23 = [
    {"id": "f5", "kind": "filing", "subject": "op1", "date": "2025-01-02"},
    {"id": "d5", "kind": "deduction", "item": "11.7", "date": "2025-01-13", "subjects": ["p1"]},
    {"id": "n5", "kind": "notice_sent", "of": "d5", "date": "2025-01-14"},
    {"id": "r5", "kind": "repair", "of": "d5", "date": "2025-03-07", "rectified": True},
    {"id": "n6", "kind": "notice_sent", "of": "r5", "date": "2025-03-12"},
    {"id": "w5", "kind": "reward", "rule": "17.2", "subject": "op1", "date": "2025-04-01",
     "recalled_before_defect": True, "reported": True},
]


def test_art23_notify_runs_after_a_repair_and_a_reward_too(province):
    # 第二十三条「实施质量信用记分后 3个工作日内」告知; 第八条: 质量信用记分 includes 修复分 and 奖励分,
    # and 第二十二条 calls a reward's recording 实施奖励记分.
    got = clocks_by_start(compute_deadlines(province, history(events=ART23), D(2025, 4, 30)))
    assert {start for name, start in got if name == "notify"} == {"d5", "r5", "w5"}
    # r5 Fri 2025-03-07: Mon 10, Tue 11, Wed 12 -> due 03-12; notice n6 (of the repair) that day
    repair = got[("notify", "r5")]
    assert (repair.due, repair.stop_event, repair.status) == (D(2025, 3, 12), "n6", "met")
    # p1's repair also repaired op1's linked 12.1: both are told through the producer
    assert repair.addressed_to == ["op1"]
    # w5 Tue 2025-04-01: Wed 02, Thu 03, (Qingming off Fri 04 .. Sun 06), Mon 07 -> due 04-07; no notice
    reward = got[("notify", "w5")]
    assert (reward.due, reward.stop_event, reward.status, reward.addressed_to) == (D(2025, 4, 7), None, "overdue",
                                                                                  ["op1"])
    # the deduction's own notice is still its own (n5), not taken by the repair of the same deduction
    assert got[("notify", "d5")].stop_event == "n5" and got[("object", "n6")].about == "r5"


def test_art23_a_refused_repair_or_reward_starts_no_notify_clock(province):
    refused = [{"id": "r6", "kind": "repair", "of": "d5", "date": "2025-03-07", "rectified": False},   # 第十四条第（二）项
               {"id": "w6", "kind": "reward", "rule": "17.2", "subject": "op1", "date": "2025-04-01",
                "recalled_before_defect": True, "reported": False}]                                 # 第十七条第（二）项
    events = [e for e in ART23 if e["id"] not in ("r5", "n6", "w5")] + refused
    got = clocks_by_start(compute_deadlines(province, history(events=events), D(2025, 4, 30)))
    assert {start for name, start in got if name == "notify"} == {"d5"}


def test_art23_a_start_kind_in_a_list_is_checked_at_its_line(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(f"qrules: 1\nruleset: child\nextends: {PROVINCE.as_posix()}\nversion: \"1\"\n"
                     "deadlines:\n  notify:\n    starts: [deduction, repiar]\n", encoding="utf-8")
    with pytest.raises(QrulesError) as exc:
        load(child)
    (d,) = [d for d in exc.value.diagnostics if d.severity == "error"]
    assert (d.code, d.span.line) == ("QR711", 7) and "'repiar'" in d.message and "repair" in (d.hint or "")
