"""The scoring engine, article by article, with hand-computed expectations (brief §3).

Provisional points used below (rulesets/guangdong-2021.yaml): 11.1 −3 (intentional −6),
11.2 −6/−12, 11.3 −6/−12, 11.7 −1/−2, 11.9 −12, 12.1 −3/−6, 12.2 −6, 12.7 −1/−2; rewards 1.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import ded, operator, product

D = Decimal
OPS = [operator("op1", 1), operator("sel", 2, roles=("seller",))]
P1 = product("p1", "op1")
P2 = product("p2", "op1", brand="另牌")
LINE = {"model": "X-1", "standard": "GB 6675.1"}


def entry(result, sid, event, kind="deduction"):
    return next(e for e in result.subject(sid).entries if e.event == event and e.kind == kind)


def codes(result):
    return {(r.event, r.subject): r.code for r in result.rejected}


# -- 第二条: scope ---------------------------------------------------------------------------------
def test_art2_out_of_scope_category_rejected_with_reason(run):
    food = product("f1", "op1", category="食品")
    r = run(OPS + [food], [ded("e1", "11.7", "2023-03-01", ["f1"])], "2024-01-01")
    rej = [x for x in r.rejected if x.event == "e1"]
    assert rej and rej[0].code == "QR604" and rej[0].cite == "第二条"
    assert "食品" in rej[0].reason
    assert "f1" not in {s.id for s in r.subjects}
    assert any(x.id == "f1" for x in r.excluded_subjects)


def test_haojiang_subject_outside_jurisdiction_rejected(run, hj, gd):
    out = operator("far", 9, region="440513")  # 潮南区, not 濠江区
    events = [ded("e1", "12.4", "2024-03-01", ["far"])]
    r = run([out], events, "2024-06-01", hj)
    assert codes(r)[("e1", "far")] == "QR605"
    assert "濠江区" in r.rejected[0].reason and r.rejected[0].cite == "一(一)"
    # The province covers 4405xx: the same event counts under guangdong-2021 (12 − 6 = 6).
    assert run([out], events, "2024-06-01", gd).subject("far").score == D(6)


# -- 第七条: the 36-month window ---------------------------------------------------------------------
def test_art7_entry_exactly_36_months_old_is_outside(run):
    events = [ded("e1", "11.7", "2021-03-01", ["p1"])]
    # as_of − 36 months = 2021-03-01, not < d: the entry is out; the subject stays scored (第八条).
    r = run(OPS + [P1], events, "2024-03-01")
    s = r.subject("p1")
    assert s.score == D(12) and s.scored
    assert entry(r, "p1", "e1").status == "outside_window"
    # One day earlier it is still inside: 12 − 1 = 11.
    assert run(OPS + [P1], events, "2024-02-29").subject("p1").score == D(11)


def test_art7_month_end_window_boundary(run):
    # 2024-05-31 − 36 months = 2021-05-31: an entry dated 2021-05-31 is out, 2021-06-01 in.
    events = [ded("e1", "11.7", "2021-05-31", ["p1"]), ded("e2", "11.7", "2021-06-01", ["p2"])]
    r = run(OPS + [P1, P2], events, "2024-05-31")
    assert r.subject("p1").score == D(12)
    assert r.subject("p2").score == D(11)


# -- 第八条: composition, start score ---------------------------------------------------------------
def test_art8_subject_without_record_is_unscored_class_O(run):
    r = run(OPS + [P1], [], "2024-01-01")
    s = r.subject("p1")
    assert not s.scored and s.score is None
    assert s.live_class == "O" and s.official_class == "O"
    assert s.measures.mode == "反应式监管"


def test_art8_start_score_given_at_first_record(run):
    r = run(OPS + [P1], [ded("e1", "11.7", "2023-03-01", ["p1"])], "2023-02-28")
    assert not r.subject("p1").scored  # the record is dated after the as-of date
    r = run(OPS + [P1], [ded("e1", "11.7", "2023-03-01", ["p1"])], "2023-03-01")
    assert r.subject("p1").score == D(11)  # 12 − 1


# -- 第九条: counted once, several subjects, heaviest, 180 days ---------------------------------------
def test_art9_event_counts_once_per_subject(run):
    # Naming the product and its producer: the producer is reached by the link and by name, once.
    r = run(OPS + [P1], [ded("e1", "11.3", "2023-03-01", ["p1", "op1"])], "2023-06-01")
    assert r.subject("p1").score == D(6)
    counted = [e for e in r.subject("op1").entries if e.event == "e1" and e.status == "counted"]
    assert len(counted) == 1 and r.subject("op1").score == D(6)


def test_art9_event_naming_several_subjects_scores_each(run):
    r = run(OPS + [P1, P2], [ded("e1", "11.7", "2023-03-01", ["p1", "p2"])], "2023-06-01")
    assert r.subject("p1").score == D(11) and r.subject("p2").score == D(11)


def test_art9_heaviest_value_once_for_producer(run):
    # 11.3 on p1 links 12.1 to the producer (第十二条第（一）项): −6 (product) vs −3 (12.1).
    r = run(OPS + [P1], [ded("e1", "11.3", "2023-03-01", ["p1"])], "2023-06-01")
    op = r.subject("op1")
    assert op.score == D(6)  # 12 − 6 once, not 12 − 6 − 3
    statuses = {(e.code, e.status) for e in op.entries if e.event == "e1"}
    assert ("11.3", "counted") in statuses and ("12.1", "superseded") in statuses


def test_art9_same_line_failures_179_days_apart_count_once(run):
    events = [ded("e1", "11.1", "2023-01-01", ["p1"], line=LINE),
              ded("e2", "11.1", "2023-06-29", ["p1"], line=LINE)]  # 179 days later
    r = run(OPS + [P1], events, "2023-12-01")
    assert r.subject("p1").score == D(9)  # 12 − 3, e2 deduplicated
    e2 = entry(r, "p1", "e2")
    assert e2.status == "deduplicated" and e2.cite == "第九条第二款"


def test_art9_same_line_failures_180_days_apart_count_twice(run):
    events = [ded("e1", "11.1", "2023-01-01", ["p1"], line=LINE),
              ded("e2", "11.1", "2023-06-30", ["p1"], line=LINE)]  # 180 days later
    assert run(OPS + [P1], events, "2023-12-01").subject("p1").score == D(6)  # 12 − 3 − 3


def test_art9_dedup_measured_from_last_counted_failure(run):
    # day 0 counts; day 100 deduplicated; day 200 is 200 days after the last *counted* one: counts.
    events = [ded("e1", "11.1", "2023-01-01", ["p1"], line=LINE),
              ded("e2", "11.1", "2023-04-11", ["p1"], line=LINE),
              ded("e3", "11.1", "2023-07-20", ["p1"], line=LINE)]
    r = run(OPS + [P1], events, "2023-12-01")
    assert [entry(r, "p1", e).status for e in ("e1", "e2", "e3")] == ["counted", "deduplicated", "counted"]
    assert r.subject("p1").score == D(6)


def test_art9_different_model_is_a_different_line(run):
    events = [ded("e1", "11.1", "2023-01-01", ["p1"], line=LINE),
              ded("e2", "11.1", "2023-02-01", ["p1"], line={"model": "X-2", "standard": "GB 6675.1"})]
    assert run(OPS + [P1], events, "2023-12-01").subject("p1").score == D(6)


# -- 第十条: product, seller and producer scores ------------------------------------------------------
def test_art10_producer_score_is_minimum_over_its_products(run):
    events = [ded("e1", "11.7", "2023-03-01", ["p1"]),      # p1: 12 − 1 = 11 (11.7 links 12.1 −3)
              ded("e2", "11.1", "2023-03-02", ["p2"])]      # p2: 12 − 3 = 9 (11.1, not intentional: no link)
    r = run(OPS + [P1, P2], events, "2023-06-01")
    assert r.subject("p1").score == D(11) and r.subject("p2").score == D(9)
    # op1 line p1: e1 heaviest of (−1, −3 via 12.1) = −3 → 9; line p2: −3 (e2) → 9; the 12.1 linked from
    # p1's event stays in p1's term (brief §3, Art 10). min(9, 9) = 9, the first product gives it.
    op = r.subject("op1")
    assert op.score == D(9) and op.determined_by == "p1"


def test_art10_linked_entry_only_in_its_products_term(run):
    # Issue 11 item 3: X = min(12 + v(11.1) + v(12.3), 12 + heaviest(v(11.8), v(12.1)) + v(12.3)).
    events = [ded("e1", "11.1", "2023-03-01", ["p1"], line=LINE),   # p1 −3, not intentional: no link
              ded("e2", "11.8", "2023-03-02", ["p2"]),              # p2 −3, links 12.1 −3 to op1
              ded("e3", "12.3", "2023-03-03", ["op1"])]             # op1 own −3
    r = run(OPS + [P1, P2], events, "2023-06-01")
    # Term p1: 12 − 3 − 3 = 6 (the 12.1 from e2 is not in it; before the fix: 12 − 3 − 3 − 3 = 3).
    # Term p2: 12 + heaviest(−3, −3) − 3 = 6.  X = min(6, 6) = 6.
    op = r.subject("op1")
    assert op.score == D(6)
    linked = entry(r, "op1", "e2")
    assert linked.code == "12.1"
    # As determined by p1, the 12.1 from p2's event is listed as not in this term, citing 第十条.
    if op.determined_by == "p1":
        assert linked.status == "superseded" and linked.cite == "第十条"


def test_art10_producer_without_scored_product_uses_own_entries(run):
    r = run(OPS + [P1], [ded("e1", "12.4", "2023-03-01", ["op1"])], "2023-06-01")
    assert r.subject("op1").score == D(6)   # 12 − 6 (拒检)
    assert not r.subject("p1").scored


def test_art10_seller_score_from_seller_behaviour(run):
    r = run(OPS + [P1], [ded("e1", "12.7", "2023-03-01", ["sel"])], "2023-06-01")
    assert r.subject("sel").score == D(11)


# -- 第十一、十二、十三条: items, links, intentional -----------------------------------------------------
def test_art12_seller_named_with_counterfeit_item_gets_12_1(run):
    r = run(OPS + [P1], [ded("e1", "11.3", "2023-03-01", ["p1", "sel"])], "2023-06-01")
    assert r.subject("sel").score == D(9)   # 12 − 3 (12.1)
    assert entry(r, "sel", "e1").code == "12.1"


def test_art12_seller_cannot_take_spot_check_item(run):
    r = run(OPS + [P1], [ded("e1", "11.1", "2023-03-01", ["p1", "sel"])], "2023-06-01")
    assert codes(r)[("e1", "sel")] == "QR606"
    assert r.subject("p1").score == D(9)


def test_art12_2_intentional_spot_check_failure_scores_producer(run):
    r = run(OPS + [P1], [ded("e1", "11.1", "2023-03-01", ["p1"], intentional=True, line=LINE)], "2023-06-01")
    assert r.subject("p1").score == D(6)    # 12 − 6 (intentional 11.1, 第十三条)
    ops = [e for e in r.subject("op1").entries if e.code == "12.2"]
    assert ops and ops[0].points == D(-6)
    assert r.subject("op1").score == D(6)   # heaviest once: −6


def test_art12_item_role_mismatch_rejected(run):
    r = run(OPS, [ded("e1", "12.7", "2023-03-01", ["op1"])], "2023-06-01")  # 12.7 is a seller item
    assert codes(r)[("e1", "op1")] == "QR606"


def test_art13_intentional_value_is_heavier(run):
    r = run(OPS + [P1], [ded("e1", "11.3", "2023-03-01", ["p1"], intentional=True)], "2023-06-01")
    assert r.subject("p1").score == D(0)    # 12 − 12
    assert r.subject("p1").live_class == "D"


def test_unknown_item_rejected_with_suggestion(run):
    r = run(OPS + [P1], [ded("e1", "11.10", "2023-03-01", ["p1"])], "2023-06-01")
    rej = [x for x in r.rejected if x.event == "e1"][0]
    assert rej.code == "QR601" and "11.1" in rej.reason


# -- 第十四、十五条: repairs ----------------------------------------------------------------------------
FILED = {"id": "f1", "kind": "filing", "subject": "op1", "date": "2023-01-10"}


def repair(id, of, date, **extra):
    return {"id": id, "kind": "repair", "of": of, "date": date, "rectified": True, **extra}


def test_art15_first_repair_is_full(run):
    events = [FILED, ded("e1", "11.1", "2023-03-01", ["p1"]), repair("r1", "e1", "2023-04-01")]
    r = run(OPS + [P1], events, "2023-06-01")
    assert r.subject("p1").score == D(12)   # 12 − 3 + 3
    assert entry(r, "p1", "r1", "repair").points == D(3)


def test_art15_second_repair_is_half(run):
    events = [FILED, ded("e1", "11.1", "2023-03-01", ["p1"]), ded("e2", "11.1", "2023-09-01", ["p2"], line=LINE),
              ded("e3", "11.1", "2023-10-01", ["p1"], line={"model": "Y"}), repair("r3", "e3", "2023-11-01")]
    r = run(OPS + [P1, P2], events, "2023-12-01")
    # e3 is p1's second counted deduction in its window: 50% of 3 = 1.5; p1 = 12 − 3 − 3 + 1.5.
    assert entry(r, "p1", "r3", "repair").points == D("1.5")
    assert r.subject("p1").score == D("7.5")
    assert r.subject("p1").live_class == "B"


def test_art15_third_repair_in_period_rejected(run):
    events = [FILED] + [ded(f"e{i}", "11.7", f"2023-0{i}-01", ["p1"]) for i in (2, 3, 4)]
    events += [repair("r2", "e2", "2023-05-01"), repair("r3", "e3", "2023-05-02"), repair("r4", "e4", "2023-05-03")]
    r = run(OPS + [P1], events, "2023-06-01")
    assert codes(r)[("r4", "p1")] == "QR609"
    rej = [x for x in r.rejected if x.event == "r4"][0]
    assert rej.cite == "第十五条第（二）项"
    # p1: 12 − 1 − 1 − 1 + 1 (first, 100%) + 0.5 (second deduction, 50%) = 10.5
    assert r.subject("p1").score == D("10.5")


@pytest.mark.parametrize("ded_extra, rep_extra, filings, condition", [
    ({"intentional": True}, {}, True, "第十四条第（一）项"),
    ({"major_impact": True}, {}, True, "第十四条"),
    ({}, {"rectified": False}, True, "第十四条第（二）项"),
    ({}, {}, False, "第十四条第（三）项"),
])
def test_art14_ineligible_repair_rejected_naming_condition(run, ded_extra, rep_extra, filings, condition):
    events = ([FILED] if filings else []) + [ded("e1", "11.7", "2023-03-01", ["p1"], **ded_extra),
                                             repair("r1", "e1", "2023-04-01", **rep_extra)]
    r = run(OPS + [P1], events, "2023-06-01")
    rej = [x for x in r.rejected if x.event == "r1"]
    assert rej and rej[0].code == "QR608" and rej[0].cite == condition


def test_art14_repair_failing_several_conditions_cites_each_article(run):
    # intentional (第十四条第（一）项) and not rectified (第十四条第（二）项), no filing (第十四条第（三）项):
    # the article field names the three, once each, in the ruleset's order, as the reason does.
    events = [ded("e1", "11.7", "2023-03-01", ["p1"], intentional=True), repair("r1", "e1", "2023-04-01", rectified=False)]
    r = run(OPS + [P1], events, "2023-06-01")
    (rej,) = [x for x in r.rejected if x.event == "r1" and x.subject == "p1"]
    assert rej.code == "QR608"
    assert rej.cite == "第十四条第（一）项、第十四条第（二）项、第十四条第（三）项"
    assert all(f"（{a}）" in rej.reason for a in rej.cite.split("、"))


def test_art14_concealed_filing_blocks_repair(run):
    events = [dict(FILED, concealed=True), ded("e1", "11.7", "2023-03-01", ["p1"]), repair("r1", "e1", "2023-04-01")]
    r = run(OPS + [P1], events, "2023-06-01")
    assert {x.cite for x in r.rejected if x.event == "r1"} == {"第十四条第（三）项"}


def test_art15_repair_lapses_with_its_deduction(run):
    events = [FILED, ded("e1", "11.1", "2023-03-01", ["p1"]), repair("r1", "e1", "2023-04-01")]
    r = run(OPS + [P1], events, "2026-03-02")   # e1 is more than 36 months old
    assert r.subject("p1").score == D(12)
    assert entry(r, "p1", "r1", "repair").status == "lapsed"


def test_repair_of_revoked_or_missing_deduction_rejected(run):
    events = [FILED, ded("e1", "11.7", "2023-03-01", ["p1"]),
              {"id": "c1", "kind": "correction", "of": "e1", "action": "revoke", "date": "2023-03-10"},
              repair("r1", "e1", "2023-04-01")]
    r = run(OPS + [P1], events, "2023-06-01")
    assert codes(r)[("r1", None)] == "QR607" and "revoked" in [x for x in r.rejected if x.event == "r1"][0].reason


def test_repair_of_missing_deduction_reported_by_loader():
    from qrules.history import load_history_data

    loaded = load_history_data({"subjects": OPS + [P1], "events": [repair("r2", "nope", "2023-04-01")]})
    assert [(x.id, x.code) for x in loaded.rejected_events] == [("r2", "QR509")]


# -- 第十六至十八条: rewards -----------------------------------------------------------------------------
def checks(sid, dates, result="pass"):
    return [{"id": f"s-{sid}-{d}", "kind": "spot_check", "subject": sid, "date": d, "result": result} for d in dates]


def test_art16_product_two_clean_years_rewarded(run):
    events = checks("p1", ["2021-07-01", "2022-07-01", "2023-07-01"]) + [
        ded("e0", "11.7", "2021-08-01", ["p2"]),
        {"id": "w1", "kind": "reward", "rule": "16", "subject": "p1", "date": "2023-07-05"}]
    r = run(OPS + [P1, P2], events, "2023-12-01")
    assert r.subject("p1").score == D(13)   # 12 + 1


def test_art16_reward_rejected_without_two_clean_years(run):
    events = checks("p1", ["2022-12-01"]) + [
        {"id": "w1", "kind": "reward", "rule": "16", "subject": "p1", "date": "2023-07-05"}]
    r = run(OPS + [P1], events, "2023-12-01")
    assert codes(r)[("w1", "p1")] == "QR611"


def test_art18_reward_cap_two_points_per_period(run):
    events = [FILED] + [{"id": f"w{i}", "kind": "reward", "rule": "17.2", "subject": "op1", "date": f"2023-0{i}-01",
                         "recalled_before_defect": True, "reported": True} for i in (2, 3, 4)]
    r = run(OPS, events, "2023-12-01")
    s = r.subject("op1")
    assert s.score == D(14)                 # 12 + 1 + 1, the third is over the cap
    w4 = entry(r, "op1", "w4", "reward")
    assert w4.status == "capped" and w4.counted_points == D(0) and w4.requested == D(1)
    assert w4.cite == "第十八条"


def test_art18_reward_counts_partly_under_the_cap(child, run):
    ruleset = child('rewards:\n  rules:\n    "17.2":\n      points: 1.5\n')
    events = [FILED] + [{"id": f"w{i}", "kind": "reward", "rule": "17.2", "subject": "op1", "date": f"2023-0{i}-01",
                         "recalled_before_defect": True, "reported": True} for i in (2, 3)]
    r = run(OPS, events, "2023-12-01", ruleset)
    # 1.5 + min(1.5, 2 − 1.5) = 2: the second counts 0.5 and 1 point is listed as over the cap.
    assert r.subject("op1").score == D(14)
    w3 = entry(r, "op1", "w3", "reward")
    assert w3.status == "capped" and w3.counted_points == D("0.5")


def test_art17_3_seller_action_within_15_days(run):
    base = {"kind": "reward", "rule": "17.3", "subject": "sel", "reported": True, "notice_date": "2023-03-01"}
    events = [{"id": "f2", "kind": "filing", "subject": "sel", "date": "2023-01-01"},
              dict(base, id="w1", date="2023-03-20", action_date="2023-03-16"),   # 15 days: in time
              dict(base, id="w2", date="2023-04-20", action_date="2023-03-17")]   # 16 days: late
    r = run(OPS, events, "2023-12-01")
    assert r.subject("sel").score == D(13)
    assert codes(r)[("w2", "sel")] == "QR611"


# -- 第二十四、二十五条: corrections ----------------------------------------------------------------------
def test_art25_revoked_deduction_is_kept_but_not_counted(run):
    events = [ded("e1", "11.3", "2023-03-01", ["p1"]),
              {"id": "c1", "kind": "correction", "of": "e1", "action": "revoke", "date": "2023-04-01"}]
    r = run(OPS + [P1], events, "2023-06-01")
    assert not r.subject("p1").scored
    assert codes(r)[("e1", None)] == "QR620"
    # Before the correction's date the deduction stands.
    assert run(OPS + [P1], events, "2023-03-15").subject("p1").score == D(6)


def test_art25_amended_deduction_uses_new_item(run):
    events = [ded("e1", "11.3", "2023-03-01", ["p1"]),
              {"id": "c1", "kind": "correction", "of": "e1", "action": "amend", "date": "2023-04-01",
               "changes": {"item": "11.7"}}]
    assert run(OPS + [P1], events, "2023-06-01").subject("p1").score == D(11)


# -- 第二十六条: classes, adjustments, lock -----------------------------------------------------------
@pytest.mark.parametrize("events, score, cls", [
    ([ded("e1", "12.7", "2023-03-01", ["sel"]), {"id": "x", "kind": "reward", "rule": "17.3", "subject": "sel",
      "date": "2023-03-05", "reported": True, "notice_date": "2023-03-01", "action_date": "2023-03-02"}], "12", "A"),
    ([ded("e1", "11.2", "2023-03-01", ["p1"])], "6", "C"),        # 12 − 6 = 6 → C (6以下)
    ([ded("e1", "11.3", "2023-03-01", ["p1"], intentional=True)], "0", "D"),  # 12 − 12 = 0 → D
    ([ded("e1", "11.1", "2023-03-01", ["p1"])], "9", "B"),
])
def test_art26_class_boundaries(run, events, score, cls):
    extra = [{"id": "f2", "kind": "filing", "subject": "sel", "date": "2023-01-01"}]
    r = run(OPS + [P1], extra + events, "2023-06-01")
    sid = "sel" if events[0]["subjects"] == ["sel"] else "p1"
    s = r.subject(sid)
    assert s.score == D(score) and s.live_class == cls


def test_art26_new_subject_stays_O_until_next_adjustment(run):
    events = [ded("e1", "11.1", "2023-03-01", ["p1"])]
    before = run(OPS + [P1], events, "2023-06-30").subject("p1")
    assert before.live_class == "B" and before.official_class == "O"
    after = run(OPS + [P1], events, "2023-07-01").subject("p1")
    assert after.official_class == "B"      # set on 07-01 from the score of 06-30 (9)


def test_art26_official_class_holds_between_adjustments(run):
    events = [ded("e1", "11.1", "2023-03-01", ["p1"]), ded("e2", "11.2", "2023-08-01", ["p1"])]
    s = run(OPS + [P1], events, "2023-12-31").subject("p1")
    assert s.score == D(3) and s.live_class == "C" and s.official_class == "B"


def test_art26_d_lock_holds_three_years_then_expires(run):
    events = [{"id": "f", "kind": "filing", "subject": "op1", "date": "2021-01-01"},
              ded("e1", "11.9", "2021-08-01", ["p1"])]      # 12 − 12 = 0 → D on 2022-01-01
    s = run(OPS + [P1], events, "2024-12-31").subject("p1")
    # e1 left the window on 2024-08-01: live 12 (A), but the lock set 2022-01-01 runs to 2025-01-01.
    assert s.live_class == "A" and s.official_class == "D"
    assert s.lock is not None and str(s.lock.until) == "2025-01-01"
    s = run(OPS + [P1], events, "2025-01-01").subject("p1")
    assert s.official_class == "A" and s.lock is None    # first adjustment on or after the lock end


def test_art26_d_again_starts_new_lock(run):
    events = [ded("e1", "11.9", "2021-08-01", ["p1"]), ded("e2", "11.9", "2024-10-01", ["p1"])]
    s = run(OPS + [P1], events, "2025-01-01").subject("p1")
    assert s.official_class == "D" and str(s.lock.since) == "2025-01-01" and str(s.lock.until) == "2028-01-01"


# -- 第二十七条、第二十九至三十二条: measures and flags ----------------------------------------------------
def test_art27_measures_follow_official_class(run):
    events = [ded("e1", "11.9", "2022-08-01", ["p1"])]
    s = run(OPS + [P1], events, "2023-01-01").subject("p1")
    assert s.official_class == "D"
    assert s.measures.mode == "特别监管" and s.measures.notice == "红色监管警示" and s.measures.checks_per_year == 4
    assert "法定代表人" in s.measures.interview


def test_art30_serious_circumstances_flag_for_D_operator(run):
    s = run(OPS + [P1], [ded("e1", "11.9", "2022-08-01", ["p1"])], "2023-01-01").subject("op1")
    assert s.official_class == "D" and s.flags["serious_circumstances"] and s.flags["publish_dishonesty"]
    assert not s.flags["publish_class"]


# -- 第三十六条: validity ---------------------------------------------------------------------------------
def test_art36_evaluating_past_validity_warns(run):
    assert any("expired" in w for w in run(OPS, [], "2026-06-05").warnings)
    assert not run(OPS, [], "2026-06-04").warnings


# -- Nothing hard-coded: the ruleset drives the results ------------------------------------------------------
def test_window_parameter_changes_results(run, child):
    events = [ded("e1", "11.7", "2021-06-01", ["p1"])]
    assert run(OPS + [P1], events, "2023-12-01").subject("p1").score == D(11)
    short = child('parameters:\n  window: {value: "24 months"}\n')
    assert run(OPS + [P1], events, "2023-12-01", short).subject("p1").score == D(12)


def test_reward_cap_parameter_changes_results(run, child):
    events = [FILED] + [{"id": f"w{i}", "kind": "reward", "rule": "17.2", "subject": "op1", "date": f"2023-0{i}-01",
                         "recalled_before_defect": True, "reported": True} for i in (2, 3, 4)]
    cap3 = child('parameters:\n  reward_cap: {value: "3"}\n')
    assert run(OPS, events, "2023-12-01", cap3).subject("op1").score == D(15)


def test_moved_threshold_changes_class(run, child):
    events = [ded("e1", "11.1", "2023-03-01", ["p1"])]          # score 9
    moved = child('classes:\n  B: {when: "9 < score < 12"}\n  C: {when: "0 < score <= 9"}\n')
    assert run(OPS + [P1], events, "2023-06-01").subject("p1").live_class == "B"
    assert run(OPS + [P1], events, "2023-06-01", moved).subject("p1").live_class == "C"


def test_event_after_as_of_listed_not_dropped(run):
    r = run(OPS + [P1], [ded("e1", "11.7", "2024-03-01", ["p1"])], "2024-01-01")
    assert codes(r)[("e1", None)] == "QR613"


def test_art7_event_after_as_of_cites_the_window_article(run):
    # 第七条: an entry counts when as_of − 36 months < date ≤ as_of; one dated later is refused citing it.
    r = run(OPS + [P1], [ded("e1", "11.7", "2024-03-01", ["p1"])], "2024-01-01")
    (rej,) = r.rejected
    assert (rej.code, rej.cite) == ("QR613", "第七条")


# -- 第五条、第十九条: who records what (a warning, never a rejection) ---------------------------------------
def test_art19_recorded_by_mismatch_warns_but_counts(run):
    events = [ded("e1", "11.1", "2023-03-01", ["p1"], recorded_by="city"),
              ded("e2", "11.7", "2023-03-02", ["p2"], recorded_by="city")]
    r = run(OPS + [P1, P2], events, "2023-06-01")
    assert r.subject("p1").score == D(9)            # still counted
    assert len(r.warnings) == 1 and r.warnings[0].startswith("e1: recorded by city")


def test_art17_1_producer_reward_refused_after_its_products_failure(run):
    # The producer's products passed checks for 2+ years, but a product failed (11.1) in between:
    # the clean run restarts after the failure, so 17.1 is not yet earned.
    events = [FILED] + checks("p1", ["2021-07-01", "2022-07-01", "2023-07-01"]) + [
        ded("e1", "11.1", "2022-12-01", ["p1"], line=LINE),
        {"id": "w1", "kind": "reward", "rule": "17.1", "subject": "op1", "date": "2023-07-05"}]
    r = run(OPS + [P1], events, "2023-12-01")
    assert codes(r)[("w1", "op1")] == "QR611"
    # Without the failure the same reward counts: 2021-07-01 → 2023-07-05 is two whole years.
    ok = run(OPS + [P1], [e for e in events if e["id"] != "e1"], "2023-12-01")
    assert not [x for x in ok.rejected if x.event == "w1"]


def test_results_built_without_validation_are_complete_models(run):
    # The engine builds result models directly (engine/results.py _Out.build): every field must be set.
    from qrules.engine.results import Adjustment, EntryResult, EvaluationResult, Lock, SubjectResult

    r = run(OPS + [P1], [ded("e1", "11.9", "2021-08-01", ["p1"])], "2024-12-31")
    s = r.subject("p1")
    assert set(s.__dict__) == set(SubjectResult.model_fields)
    assert set(s.entries[0].__dict__) == set(EntryResult.model_fields)
    assert set(s.adjustments[0].__dict__) == set(Adjustment.model_fields)
    assert set(s.lock.__dict__) == set(Lock.model_fields)
    again = EvaluationResult.model_validate_json(r.model_dump_json(by_alias=True))
    assert again.subject("p1") == s
