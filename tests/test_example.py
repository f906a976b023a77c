"""The example Haojiang history (examples/haojiang-history.yaml), evaluated as of 2025-12-31.

Each expectation is worked out by hand from the provisional values of
rulesets/guangdong-2021.yaml (inherited unchanged by haojiang-2023), never by asking the
engine. The arithmetic is in the comments. Reminders:

* start 12 (第八条); window as of 2025-12-31: entries dated 2023-01-01 .. 2025-12-31
  (第七条: as_of − 36 months < d ≤ as_of, 2025-12-31 − 36 months = 2022-12-31).
* classes (第二十六条第一款, 第三十四条): A ≥ 12; B 6 < s < 12; C 0 < s ≤ 6; D ≤ 0; O unscored.
* last half-year adjustment 2025-07-01, from the score as of 2025-06-30 (window
  2022-07-01 .. 2025-06-30); a subject first scored after it stays O; D locks 3 years
  (第二十六条第二款).
* items: 11.1 −3 (intentional −6), 11.2 −6, 11.3 −6 (−12), 11.5/11.6/11.7 −1, 11.8 −3,
  11.9 −12, 12.1 −3 (−6), 12.2 −6, 12.4 −6 (−12), 12.5 −6, 12.6 −2, 12.7 −1, 12.8 −2,
  12.9 −2, 12.10 −2; rewards +1, cap 2 per 36 months (第十八条); repairs 100% for the
  first deduction, 50% later (第十五条第（一）项), at most 2 per operator (第十五条第（二）项).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import qrules
from qrules.cli import main

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "examples" / "haojiang-history.yaml"
HAOJIANG = ROOT / "rulesets" / "haojiang-2023.yaml"
AS_OF = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def loaded():
    return qrules.load_history(HISTORY)


@pytest.fixture(scope="module")
def ruleset():
    return qrules.load_ruleset(HAOJIANG)


@pytest.fixture(scope="module")
def result(ruleset, loaded):
    return qrules.evaluate(ruleset, loaded, AS_OF)


# (subject, score, live class, official class): the hand computation for each story.
EXPECTED = [
    # 1. 濠晖: product 12 + 1 (第十六条) = 13; producer line (第十条): product reward + 17.1 + 17.2
    #    share one cap of 2 (第十八条), so 12 + 2 = 14; the second 17.1 is over the cap -> 0.
    ("hh-28", "13", "A", "A"),
    ("hh", "14", "A", "A"),
    # 2. 凯达: product 12 + 1 = 13; producer 12 + 1 + 1 = 14.
    ("kd-28", "13", "A", "A"),
    ("kd", "14", "A", "A"),
    # 3. 利华: the 12.3 deduction (−3) is revoked (第二十五条); product reward: 12 + 1 = 13.
    ("lh-20", "13", "A", "A"),
    ("lh", "13", "A", "A"),
    # 4. 美之声: 17.2: 12 + 1 = 13; its product has no record.
    ("mzs", "13", "A", "A"),
    ("mzs-9", None, "O", "O"),
    # 5. 滨海: 17.3 (action 7 days after the notice): 12 + 1 = 13.
    ("bh", "13", "A", "A"),
    # 6. 港城 (producer and seller, one subject): 12 − 1 (12.7) + 1 (first repair 100%) + 1 (17.3) = 13.
    ("gc", "13", "A", "A"),
    ("gc-24", None, "O", "O"),
    # 7. 金凤凰: product 12 − 1 + 1 = 12; producer 12 − 3 (12.1) + 3 = 12: exactly 12 is A.
    ("jfh-24", "12", "A", "A"),
    ("jfh", "12", "A", "A"),
    # 8. 嘉乐: 12 − 3 (2023-05-11) + 3 (repair, 1st) [2023-11-06 is 179 days later: deduplicated]
    #    − 3 (2024-03-01, 295 days after the last counted failure) = 9; 11.1 not intentional,
    #    so no 12.2 for the producer: producer = its product = 9.
    ("jl-28", "9", "B", "B"),
    ("jl", "9", "B", "B"),
    # 9. 广澳: 12 − 1 + 1 (1st, 100%) − 2 + 1 (2nd, 50% of 2) − 2 (3rd repair refused) = 9.
    ("ga", "9", "B", "B"),
    # 10. 创艺: 11.4 amended to 11.5: product 12 − 1 = 11; producer 12.1: 12 − 3 = 9.
    ("cy-28", "11", "B", "B"),
    ("cy", "9", "B", "B"),
    # 11. 鸿图 + 河浦: product 12 − 1 = 11; producer and the named seller 12.1: 12 − 3 = 9.
    ("hgt-25", "11", "B", "B"),
    ("hgt", "9", "B", "B"),
    ("hp", "9", "B", "B"),
    # 12. 恒通: 11.8: product 12 − 3 = 9; producer 12.1: 12 − 3 = 9 (repair refused: concealed filing).
    ("het-9", "9", "B", "B"),
    ("het", "9", "B", "B"),
    # 13. 佳美: one 11.5 event, two products: each 12 − 1 = 11; producer 12.1 once: 12 − 3 = 9.
    ("jm-21", "11", "B", "B"),
    ("jm-20", "11", "B", "B"),
    ("jm", "9", "B", "B"),
    # 14. 永盛: 12.6: 12 − 2 = 10.
    ("ys", "10", "B", "B"),
    ("ys-16", None, "O", "O"),
    # 15. 乐星: failures 180 days apart both count: 12 − 3 − 3 = 6, exactly 6 is C.
    ("lx-28", "6", "C", "C"),
    ("lx", "6", "C", "C"),
    # 16. 盛达: intentional 11.1: 12 − 6 = 6; producer 12.2 −6, the heaviest once: 6.
    ("sd-11", "6", "C", "C"),
    ("sd", "6", "C", "C"),
    # 17. 安达: 12.5 with major impact: 12 − 6 = 6 (repair refused); its product has no record.
    ("ad", "6", "C", "C"),
    ("ad-11", None, "O", "O"),
    # 18. 顺发 + 达濠: intentional 11.3: product 12 − 12 = 0 (D, set 2025-01-01, locked to 2028-01-01);
    #     producer 12.1 intentional −6 vs product −12, heaviest: 0; seller 12.1 intentional: 12 − 6 = 6.
    ("sf-21", "0", "D", "D"),
    ("sf", "0", "D", "D"),
    ("dh", "6", "C", "C"),
    # 19. 金海湾: intentional 12.4: 12 − 12 = 0 (D, set 2025-07-01).
    ("jhw", "0", "D", "D"),
    # 20. 宏泰: 11.9 on 2022-10-15: 12 − 12 = 0 -> D on 2023-01-01, locked until 2026-01-01;
    #     on 2025-12-31 the deduction is out of the window: live 12 (A), official still D.
    ("ht-9", "12", "A", "D"),
    ("ht", "12", "A", "D"),
    # 21. 珠浦: 11.2 on 2022-08-15: 12 − 6 = 6; still inside the window on 2025-06-30 -> C on
    #     2025-07-01; out of it on 2025-12-31 -> live 12 (A).
    ("zp-20", "12", "A", "C"),
    ("zp", "12", "A", "C"),
    # 22. 海纳: first record 2025-11-10, after the 2025-07-01 adjustment: 12 − 2 = 10 live B, official O.
    ("hn", "10", "B", "O"),
    # 23. 华艺: first record 2025-09-15: product 12 − 1 = 11, producer 12.1: 12 − 3 = 9; both official O.
    ("hy-11", "11", "B", "O"),
    ("hy", "9", "B", "O"),
    # 24. no record at all (a filing or a passing spot check is not a scoring record, 第八条).
    ("ns", None, "O", "O"),
    ("ns-6", None, "O", "O"),
    ("dhz", None, "O", "O"),
    ("xq", None, "O", "O"),
    ("yc", None, "O", "O"),
]


def test_example_loads_with_exactly_the_planted_errors(loaded):
    # The two invalid subjects are reported at their position; nothing else is an error.
    errors = sorted((d.code, d.span.line if d.span else None) for d in loaded.errors)
    assert [code for code, _ in errors] == ["QR502", "QR503"]
    assert set(loaded.invalid_subjects) == {"wl", "hf-40"}
    assert not loaded.rejected_events


@pytest.mark.parametrize("sid, score, live, official", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_example_subject(result, sid, score, live, official):
    s = result.subject(sid)
    assert s.score == (Decimal(score) if score is not None else None)
    assert (s.live_class, s.official_class) == (live, official)


def test_example_every_class_is_present(result):
    # Counted by hand from EXPECTED plus the operators of the bad-record products (hf, yj: O).
    assert result.summary.by_official_class == {"A": 11, "B": 14, "C": 8, "D": 5, "O": 15}
    assert result.summary.subjects == 53


def test_art26_d_lock_keeps_d_while_live_score_recovered(result):
    # 宏泰: D set at the 2023-01-01 adjustment (score as of 2022-12-31 = 0), 3 years -> 2026-01-01.
    ht = result.subject("ht")
    assert ht.lock is not None and (ht.lock.since, ht.lock.until) == (dt.date(2023, 1, 1), dt.date(2026, 1, 1))
    assert [a.official_class for a in ht.adjustments][-1] == "D" and ht.adjustments[-1].locked
    # 顺发 product: D set 2025-01-01 (score as of 2024-12-31 = 0) -> locked to 2028-01-01.
    assert result.subject("sf-21").lock.until == dt.date(2028, 1, 1)
    # 金海湾: D set 2025-07-01 -> 2028-07-01.
    assert result.subject("jhw").lock.until == dt.date(2028, 7, 1)


def test_art26_d_lock_expires_at_next_adjustment(ruleset, loaded):
    # On 2026-01-01 the lock has run its 3 years; the score as of 2025-12-31 is 12 -> A.
    ht = qrules.evaluate(ruleset, loaded, dt.date(2026, 1, 2)).subject("ht")
    assert (ht.official_class, ht.lock) == ("A", None)


def entry(result, sid, event, kind=None):
    matches = [e for e in result.subject(sid).entries if e.event == event and (kind is None or e.kind == kind)]
    assert len(matches) == 1, matches
    return matches[0]


def test_art9_spot_check_179_days_deduplicated_then_counted_from_last_counted(result):
    # 2023-05-11 -> 2023-11-06 is 179 days: inside 180, deduplicated.
    assert entry(result, "jl-28", "jl-d2").status == "deduplicated"
    # 2023-05-11 -> 2024-03-01 is 295 days (117 after the deduplicated one): counts.
    assert entry(result, "jl-28", "jl-d3").counted_points == Decimal(-3)
    # 2024-03-15 -> 2024-09-11 is exactly 180 days: not "within 180 days", counts.
    assert entry(result, "lx-28", "lx-d2").counted_points == Decimal(-3)


def test_art15_first_repair_full_second_half_third_refused(result):
    assert entry(result, "ga", "ga-r1").counted_points == Decimal(1)      # 100% of 1
    assert entry(result, "ga", "ga-r2").counted_points == Decimal(1)      # 50% of 2
    assert {r.code for r in result.rejected if r.event == "ga-r3"} == {"QR609"}


def test_art18_reward_over_cap_is_listed_as_capped(result):
    capped = entry(result, "hh", "hh-rw4")
    # 17.1 (2024-07-10) + 17.2 (2025-03-18) = 2 granted within 36 months -> 1 requested, 0 counted.
    assert (capped.status, capped.requested, capped.counted_points) == ("capped", Decimal(1), Decimal(0))


def test_art13_art14_repairs_refused_with_the_failed_condition(result):
    def cites(event):
        return {(r.subject, r.code, r.cite) for r in result.rejected if r.event == event}

    assert cites("sd-r1") == {("sd-11", "QR608", "第十四条第（一）项"), ("sd", "QR608", "第十四条第（一）项")}  # intentional
    assert cites("ad-r1") == {("ad", "QR608", "第十四条")}                                    # major impact
    assert cites("ht-r1") == {("ht-9", "QR608", "第十四条"), ("ht", "QR608", "第十四条")}        # 11.9
    assert cites("hgt-r1") == {("hgt-25", "QR608", "第十四条第（二）项")}                        # not rectified
    assert cites("het-r1") == {("het-9", "QR608", "第十四条第（三）项"), ("het", "QR608", "第十四条第（三）项")}  # concealed


def test_art25_corrections_revoke_and_amend(result):
    codes = {(r.event, r.code) for r in result.rejected}
    assert ("lh-d1", "QR620") in codes     # revoked, still listed
    assert ("lh-r1", "QR607") in codes     # repair of the revoked deduction
    # amended 11.4 -> 11.5: the product's entry is −1 under 11.5
    amended = entry(result, "cy-28", "cy-d1")
    assert (amended.code, amended.counted_points) == ("11.5", Decimal(-1))


def test_bad_records_are_rejected_with_their_reason(result):
    codes = {(r.event, r.code) for r in result.rejected}
    assert {("wl-d1", "QR603"), ("hf-sc1", "QR603"),   # invalid credit code / Nice class 40
            ("yj-d1", "QR604"),                        # 化妆品: out of scope (第二条)
            ("cyq-d1", "QR605"), ("gz-d1", "QR605"),   # outside 440512
            ("kd-d1", "QR601"),                        # unknown item 11.10
            ("cy-d2", "QR613")} <= codes               # dated 2026-01-08, after the as-of date
    assert {x.id for x in result.excluded_subjects} == {"cyq", "gz", "gz-9", "yj-3"}


def test_rewards_refused_when_not_eligible(result):
    refused = {r.event: r.cite for r in result.rejected if r.code == "QR611"}
    assert refused == {"jl-rw1": "第十六条", "het-rw1": "第十七条第（一）项", "yc-rw1": "第十七条第（三）项"}


def test_every_event_kind_is_used(loaded):
    from qrules.history import EVENT_KINDS

    assert {e.kind for e in loaded.history.events} == set(EVENT_KINDS)


def test_result_does_not_depend_on_file_order(ruleset, loaded):
    # The 广澳 story is written in reverse date order; reversing the whole file changes nothing.
    data = loaded.history.model_dump(mode="json", exclude_unset=True)
    flipped = qrules.load_history_data({"subjects": data["subjects"], "events": data["events"][::-1]})
    again = qrules.evaluate(ruleset, flipped, AS_OF)
    first = qrules.evaluate(ruleset, loaded, AS_OF)
    assert [(s.id, s.score, s.official_class) for s in again.subjects] == \
        [(s.id, s.score, s.official_class) for s in first.subjects]


def test_objection_left_unanswered_is_overdue(ruleset, loaded):
    deadlines = pytest.importorskip("qrules.deadlines")
    if "answer_objection" not in ruleset.model.deadlines:
        pytest.skip("ruleset has no deadlines section")
    clocks = deadlines.compute_deadlines(ruleset, loaded.history, AS_OF)
    # 海纳: accepted Tue 2025-11-25; + 20 working days (no holidays in between) = Tue 2025-12-23.
    (hn,) = [c for c in clocks if c.deadline == "answer_objection" and c.start_event == "hn-o1-a"]
    assert (hn.due, hn.status) == (dt.date(2025, 12, 23), "overdue")
    # 乐星: accepted Tue 2024-09-24; 20 working days skip National Day (10-01..10-07 off) -> 10-25; answered 10-18.
    (lx,) = [c for c in clocks if c.deadline == "answer_objection" and c.start_event == "lx-o1-a"]
    assert (lx.due, lx.status) == (dt.date(2024, 10, 25), "met")
    # 鸿图: notice Wed 2023-08-16 + 15 days = Thu 08-31; objection on 09-20 is late.
    (hgt,) = [c for c in clocks if c.deadline == "object" and c.start_event == "hgt-n1"]
    assert (hgt.due, hgt.status) == (dt.date(2023, 8, 31), "late")


def test_make_demo_command_prints_the_table(capsys):
    code = main(["evaluate", str(HAOJIANG), str(HISTORY), "--as-of", "2025-12-31"])
    out = capsys.readouterr().out
    assert "宏泰" in out and "2026-01-01" in out
    # Input problems are planted on purpose: they are reported on stderr, the table is still
    # printed, and the exit status is 1 (`make demo` accepts 1 for this example).
    assert code == 1


def test_each_subject_alone_equals_the_whole_example(result):
    from qrules import evaluate, load_history, load_ruleset

    ruleset, loaded = load_ruleset(HAOJIANG), load_history(HISTORY)
    for s in result.subjects:
        assert evaluate(ruleset, loaded, result.as_of, subjects=[s.id]).subject(s.id) == s, s.id
