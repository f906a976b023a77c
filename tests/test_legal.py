"""The readings settled after the first review (brief §3) and the bugs of issue 11, article by article.

Each expectation is computed by hand in the comments. Provisional points (rulesets/guangdong-2021.yaml):
11.1 −3 (intentional −6), 11.2 −6, 11.8 −3, 11.9 −12, 11.7 −1, 12.1 −3, 12.2 −6, 12.3 −3, 12.7 −1,
12.9 −2, 12.10 −2.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from conftest import GUANGDONG, ded, operator, product, uscc

D = Decimal
OPS = [operator("op1", 1), operator("sel", 2, roles=("seller",))]
P1 = product("p1", "op1")
P2 = product("p2", "op1", brand="另牌")
LINE = {"model": "X-1", "standard": "GB 6675.1"}


def repair(id, of, date, **extra):
    return {"id": id, "kind": "repair", "of": of, "date": date, "rectified": True, **extra}


def filing(id, subject, date):
    return {"id": id, "kind": "filing", "subject": subject, "date": date}


def codes(result):
    return {(r.event, r.subject): r.code for r in result.rejected}


def entry(result, sid, event, kind="deduction"):
    return next(e for e in result.subject(sid).entries if e.event == event and e.kind == kind)


# -- 第二条 「…及其经营者」 ------------------------------------------------------------------------------
def test_art2_named_seller_of_excluded_product_not_scored(run):
    cosmetic = product("c1", "op1", brand="美牌", nice_class=3, category="化妆品")
    r = run(OPS + [cosmetic], [ded("e1", "11.2", "2023-03-01", ["c1", "sel"])], "2023-06-01")
    # The product is out of scope (第二条), and so is its named seller through it: no 12.1 (−3) for sel.
    assert codes(r)[("e1", "c1")] == "QR604"
    assert codes(r)[("e1", "sel")] == "QR604"
    sel = r.subject("sel")
    assert not sel.scored and sel.entries == []
    assert not r.subject("op1").scored   # the producer is not linked either


def test_art2_seller_still_scored_through_an_in_scope_product_of_the_same_event(run):
    cosmetic = product("c1", "op1", brand="美牌", nice_class=3, category="化妆品")
    r = run(OPS + [cosmetic, P1], [ded("e1", "11.2", "2023-03-01", ["c1", "p1", "sel"])], "2023-06-01")
    # p1 is in scope: sel gets 12.1 (−3) through it → 9.
    assert r.subject("sel").score == D(9)


# -- 第九条第二款 with links --------------------------------------------------------------------------
def test_art9_deduplicated_failure_scores_no_linked_producer(run):
    events = [ded("e1", "11.1", "2023-01-01", ["p1"], line=LINE),                    # counts: p1 −3, no link
              ded("e2", "11.1", "2023-02-01", ["p1"], line=LINE, intentional=True)]  # 31 days later: same line
    r = run(OPS + [P1], events, "2023-06-01")
    # p1: e2 deduplicated → 12 − 3 = 9. op1: e2's 12.2 (−6) is deduplicated too → line p1 = 12 − 3 = 9
    # (before the fix the producer got 12 − 3 − 6 = 3).
    assert r.subject("p1").score == D(9)
    assert r.subject("op1").score == D(9)
    linked = entry(r, "op1", "e2")
    assert linked.code == "12.2" and linked.status == "deduplicated" and linked.cite == "第九条第二款"


def test_art9_repair_of_deduplicated_failure_rejected_for_every_subject(run):
    events = [filing("f1", "op1", "2022-12-01"),
              ded("e1", "11.1", "2023-01-01", ["p1"], line=LINE),
              ded("e2", "11.1", "2023-02-01", ["p1"], line=LINE, intentional=True),
              repair("r2", "e2", "2023-03-01")]
    r = run(OPS + [P1], events, "2023-06-01")
    assert codes(r)[("r2", "p1")] == "QR607" and codes(r)[("r2", "op1")] == "QR607"


# -- 第十条 ---------------------------------------------------------------------------------------------
def test_art10_producer_term_counts_only_its_products_links(run):
    # P1 intentional 11.1 (−6, links 12.2 −6: heaviest −6 once); P2 11.8 (−3, links 12.1 −3); X own 12.3 −3.
    events = [ded("e1", "11.1", "2023-03-01", ["p1"], line=LINE, intentional=True),
              ded("e2", "11.8", "2023-03-02", ["p2"]),
              ded("e3", "12.3", "2023-03-03", ["op1"])]
    r = run(OPS + [P1, P2], events, "2023-06-01")
    # Term p1 = 12 − 6 − 3 = 3 (the 12.1 from P2's event stays in P2's term; before the fix 12 − 6 − 3 − 3 = 0).
    # Term p2 = 12 − 3 − 3 = 6.  X = min(3, 6) = 3, determined by p1.
    op = r.subject("op1")
    assert op.score == D(3) and op.determined_by == "p1"
    assert op.live_class == "C"


def test_art10_art6_producer_that_also_sells_keeps_its_selling_in_every_term(run):
    """第六条: one organisation is one operator whatever its roles. ps produces q1 and sold op1's p1 with a
    forged certificate (e1 11.2 naming p1 and ps: 12.1 −3 on ps as the named seller, 第十二条第（一）项).
    That entry is ps's own behaviour, not a link from one of its products, so it enters every term of
    its minimum (第十条): term q1 = 12 − 3 (e1) − 3 (e2 11.6 on q1 links 12.1 −3) = 6, C. Before the
    fix it entered no term (it came from p1, which ps does not produce): 9, B. Both backends."""
    import pytest

    ps = operator("ps", 3, roles=("producer", "seller"))
    q1 = product("q1", "ps", brand="乙牌")
    events = [ded("e1", "11.2", "2024-01-10", ["p1", "ps"]), ded("e2", "11.6", "2024-02-10", ["q1"])]
    r = run(OPS + [ps, P1, q1], events, "2024-12-31")
    s = r.subject("ps")
    assert (s.score, s.live_class, s.determined_by) == (D(6), "C", "q1")
    assert entry(r, "ps", "e1").status == "counted"
    assert r.subject("op1").score == D(6)  # p1's 11.2 −6 and its 12.1 −3 on op1: heaviest −6 once
    pytest.importorskip("polars")
    from qrules.columnar import ColumnarBackend, Tables
    from qrules.history import load_history_data
    from qrules.versioned import load

    data = {"subjects": OPS + [ps, P1, q1], "events": events}
    rows = ColumnarBackend(load(GUANGDONG)).evaluate(Tables.from_history(load_history_data(data)),
                                                      dt.date(2024, 12, 31))["rows"]
    assert dict(rows.select("id", "score").rows())["ps"] == "6"


# -- 第十五条: one repair per deduction, only while it counts, per-operator limits --------------------
def test_art15_deduction_repaired_at_most_once(run):
    events = [filing("f2", "sel", "2021-12-01"),
              ded("e1", "12.10", "2022-01-05", ["sel"]),
              repair("r1", "e1", "2022-02-01"),
              repair("r2", "e1", "2022-03-01"),          # e1 already repaired: rejected, no slot
              ded("e2", "12.7", "2022-04-01", ["sel"]),
              repair("r3", "e2", "2022-05-01"),          # second slot of 第十五条第（二）项: granted
              ded("e3", "12.9", "2022-05-10", ["sel"]),
              repair("r4", "e3", "2022-05-20")]          # third repair in the window: QR609
    r = run(OPS, events, "2022-06-01")
    assert codes(r)[("r2", "sel")] == "QR607"
    assert "already repaired" in next(x.reason for x in r.rejected if x.event == "r2")
    assert ("r3", "sel") not in codes(r)
    assert codes(r)[("r4", "sel")] == "QR609"
    # 12 − 2 + 2 (r1, 1st deduction, 100%) − 1 + 0.5 (r3, 2nd deduction, 50%) − 2 = 9.5
    # (before the fix: r2 +2 more and r3 refused → 12 − 2 + 2 + 2 − 1 − 2 = 11).
    assert r.subject("sel").score == D("9.5")


def test_art15_repair_of_deduction_outside_window_rejected_without_slot(run):
    events = [filing("f2", "sel", "2019-12-01"),
              ded("e1", "12.7", "2020-01-10", ["sel"]),
              repair("r1", "e1", "2023-01-10"),          # 36 months later: e1 is out of the window that day
              ded("e2", "12.10", "2022-06-01", ["sel"]),
              ded("e3", "12.9", "2022-07-01", ["sel"]),
              repair("r2", "e2", "2023-02-01"),
              repair("r3", "e3", "2023-03-01")]          # would be the third with r1 counted: now the second
    r = run(OPS, events, "2023-06-01")
    assert codes(r)[("r1", "sel")] == "QR607"
    assert ("r2", "sel") not in codes(r) and ("r3", "sel") not in codes(r)
    # e2's window (2019-06-01, 2022-06-01] holds e1: 2nd deduction → 50% of 2 = 1; e3 3rd → 1.
    # As of 2023-06-01 e1 is out: 12 − 2 + 1 − 2 + 1 = 10.
    assert entry(r, "sel", "r2", "repair").points == D(1)
    assert r.subject("sel").score == D(10)


def test_art15_limit_judged_per_operator(run):
    events = [filing("f1", "op1", "2022-12-01"), filing("f2", "sel", "2022-12-01"),
              ded("d1", "12.7", "2023-01-01", ["sel"]), ded("d2", "12.7", "2023-01-02", ["sel"]),
              ded("e", "11.2", "2023-02-01", ["p1", "sel"]),
              repair("r1", "d1", "2023-03-01"), repair("r2", "d2", "2023-03-02"),
              repair("r3", "e", "2023-04-01")]
    r = run(OPS + [P1], events, "2023-06-01")
    # sel has used its two repairs: r3 is refused for sel only; op1 (p1's producer) has its own two.
    assert codes(r)[("r3", "sel")] == "QR609"
    assert ("r3", "p1") not in codes(r) and ("r3", "op1") not in codes(r)
    # p1: 12 − 6 + 6 = 12. sel: 12 − 1 + 1 − 1 + 0.5 − 3 = 8.5. op1: line p1 heaviest −6 repaired +6 → 12.
    assert r.subject("p1").score == D(12)
    assert r.subject("sel").score == D("8.5")
    assert r.subject("op1").score == D(12)


# -- 第二十五条: corrections ----------------------------------------------------------------------------
def test_art25_correction_dated_before_its_event_refused_at_its_line():
    from qrules.history.load import load_history_text

    text = """subjects:
  - {id: op1, kind: operator, uscc: %s, roles: [producer], region: "440512"}
  - {id: p1, kind: product, brand: 某牌, nice_class: 28, producer: op1}
events:
  - {id: e1, kind: deduction, item: "11.7", date: 2023-03-01, subjects: [p1]}
  - {id: c1, kind: correction, of: e1, action: revoke, date: 2023-02-01}
""" % uscc(1)
    loaded = load_history_text(text, "h.yaml")
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    assert [d.code for d in errors] == ["QR512"]
    assert (errors[0].span.line, errors[0].span.col) == (6, 62)   # at the correction's date
    assert [r.id for r in loaded.rejected_events] == ["c1"]


def test_art25_correction_dated_before_its_event_does_not_revoke(run, gd):
    events = [ded("e1", "11.7", "2023-03-01", ["p1"]),
              {"id": "c1", "kind": "correction", "of": "e1", "action": "revoke", "date": "2023-02-01"}]
    r = run(OPS + [P1], events, "2023-06-01", allow_invalid=True)
    assert r.subject("p1").score == D(11)   # 12 − 1: e1 stands


def test_art25_revoked_only_record_leaves_subject_unscored(run):
    events = [ded("e1", "11.7", "2023-03-01", ["p1"]),
              {"id": "c1", "kind": "correction", "of": "e1", "action": "revoke", "date": "2023-04-01"}]
    r = run(OPS + [P1], events, "2024-03-01")
    s = r.subject("p1")
    # A revoked record never existed for 第八条: no start score, class O, no adjustments.
    assert not s.scored and s.score is None and s.official_class == "O" and s.adjustments == []


def test_art25_d_set_only_by_revoked_deduction_does_not_lock(run):
    events = [ded("e0", "11.7", "2023-01-10", ["p1"]),
              ded("e1", "11.9", "2023-03-01", ["p1"]),
              {"id": "c1", "kind": "correction", "of": "e1", "action": "revoke", "date": "2023-09-01"}]
    # Before the correction: 2023-07-01 adjustment from 12 − 1 − 12 = −1 → D, locked for 3 years.
    before = run(OPS + [P1], events, "2023-08-01").subject("p1")
    assert before.official_class == "D" and before.lock is not None
    # After it: the 2023-07-01 adjustment is recomputed from 12 − 1 = 11 → B; no lock.
    after = run(OPS + [P1], events, "2024-03-01").subject("p1")
    assert [a.official_class for a in after.adjustments] == ["B", "B"]
    assert after.official_class == "B" and after.lock is None


# -- 第二十三条: notify the producer; no clock for a refused deduction ---------------------------------
def _clocks(gd, subjects, events, as_of):
    from qrules.deadlines import compute_deadlines
    from qrules.history import load_history_data

    from conftest import d

    return compute_deadlines(gd, load_history_data({"subjects": subjects, "events": events}), d(as_of))


def test_art23_notify_clock_of_product_deduction_addressed_to_producer(gd):
    clocks = _clocks(gd, OPS + [P1], [ded("e1", "11.7", "2024-03-01", ["p1", "sel"])], "2024-03-04")
    notify = [c for c in clocks if c.deadline == "notify"]
    # 「记分对象为产品的，应告知该产品的生产者」: p1 → op1; the named seller is told itself.
    assert [c.addressed_to for c in notify] == [["op1", "sel"]]
    assert notify[0].subjects == ["p1", "sel"]


def test_art23_deduction_refused_for_scope_or_jurisdiction_starts_no_clock(gd, hj):
    cosmetic = product("c1", "op1", brand="美牌", nice_class=3, category="化妆品")
    far = operator("far", 9, region="440513")   # outside 濠江区
    events = [ded("e1", "11.7", "2024-03-01", ["c1"]), ded("e2", "12.4", "2024-03-01", ["far"]),
              ded("e3", "12.4", "2024-03-01", ["op1"])]
    clocks = _clocks(hj, OPS + [cosmetic, far], events, "2024-06-01")
    # e1 (化妆品, 第二条) and e2 (outside the district) are refused: only e3 starts a notify clock (overdue).
    assert [(c.start_event, c.status) for c in clocks if c.deadline == "notify"] == [("e3", "overdue")]


def test_art23_art9_deduplicated_failure_starts_no_notify_clock(gd):
    # 第二十三条: the bureau notifies within 3 working days *after scoring*. A failure deduplicated under
    # 第九条第二款 scores no subject (brief §3), so there is nothing to notify: e2 (31 days after e1, same
    # line) starts no clock. e1 (Fri 2024-03-01 -> Mon 4, Tue 5, Wed 6) and e3 (another model, scored) do;
    # e3 Mon 2024-04-01 -> Tue 2, Wed 3, 04-04..04-06 off (清明), Sun 04-07 adjusted working day: due 04-07.
    events = [ded("e1", "11.1", "2024-03-01", ["p1"], line=LINE),
              {"id": "n1", "kind": "notice_sent", "of": "e1", "date": "2024-03-04"},
              ded("e2", "11.1", "2024-04-01", ["p1"], line=LINE),
              ded("e3", "11.1", "2024-04-01", ["p1"], line={"model": "Y-2", "standard": "GB 6675.1"})]
    clocks = _clocks(gd, OPS + [P1], events, "2024-06-01")
    assert [(c.start_event, c.due, c.status) for c in clocks if c.deadline == "notify"] == [
        ("e1", dt.date(2024, 3, 6), "met"), ("e3", dt.date(2024, 4, 7), "overdue")]


# -- 第三十六条: the expiry warning in every output -----------------------------------------------------
def test_art36_deadlines_warn_after_expiry(tmp_path, capsys):
    import json

    from qrules.cli import main

    path = tmp_path / "h.yaml"
    path.write_text(json.dumps({"subjects": OPS, "events": [ded("e1", "12.4", "2026-06-01", ["op1"])]}),
                    encoding="utf-8")
    gd_path = str(GUANGDONG)
    assert main(["deadlines", gd_path, str(path), "--as-of", "2026-06-10"]) == 0
    assert "expired on 2026-06-04" in capsys.readouterr().err
    assert main(["deadlines", gd_path, str(path), "--as-of", "2026-06-10", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any("expired on 2026-06-04" in w for w in data["warnings"])
    assert main(["deadlines", gd_path, str(path), "--as-of", "2026-06-03", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


def test_art36_batch_warns_after_expiry(tmp_path, capsys):
    import json

    from qrules.cli import main

    path = tmp_path / "h.yaml"
    path.write_text(json.dumps({"subjects": OPS, "events": []}), encoding="utf-8")
    summary = tmp_path / "s.json"
    assert main(["batch", str(GUANGDONG), str(path), "--as-of", "2026-06-10", "--no-progress",
                 "--summary-json", str(summary)]) == 0
    assert "expired on 2026-06-04" in capsys.readouterr().err
    assert any("expired on 2026-06-04" in w for w in json.loads(summary.read_text(encoding="utf-8"))["warnings"])


# -- 第五条、第十九条 with Haojiang 一(三): organising is not entering -------------------------------------
def test_art19_district_units_may_enter_what_the_city_organises(run, hj, gd):
    events = [ded("e1", "11.7", "2024-03-01", ["p1"], recorded_by="district"),
              ded("e2", "11.7", "2024-03-02", ["p2"], recorded_by="office"),
              ded("e3", "11.1", "2024-03-03", ["p1"], recorded_by="office", line=LINE)]
    r = run(OPS + [P1, P2], events, "2024-06-01", hj)
    # 11.7 is organised by the city (第十九条第二款); 一(三) lets the district bureau and its offices enter it.
    assert not [w for w in r.warnings if w.startswith(("e1:", "e2:"))]
    # A spot-check item is organised by the province: entered by an office, it still warns (never rejects).
    assert [w for w in r.warnings if w.startswith("e3:")] and r.subject("p1").score == D(8)   # 12 − 1 − 3
    # The province has no district levels: there 'district' is not an authority level and warns.
    assert [w for w in run(OPS + [P1, P2], events, "2024-06-01", gd).warnings if w.startswith("e1:")]


# -- 第十七条: refusals name the failed conditions; 17(3)'s 15 days follow the one period rule -----------
def _seller_reward(id, notice, action, date, **extra):
    return {"id": id, "kind": "reward", "rule": "17.3", "subject": "sel", "reported": True, "notice_date": notice,
            "action_date": action, "date": date, **extra}


def test_art17_refusal_names_each_failed_condition(run):
    events = [_seller_reward("w1", "2023-03-01", "2023-03-30", "2023-04-10", reported=False)]   # no filing either
    r = run(OPS, events, "2023-12-01")
    rej = next(x for x in r.rejected if x.event == "w1")
    assert rej.code == "QR611"
    # Three conditions fail, each named with its article; the filing one first, as listed in the ruleset.
    assert "粤品通”完成信息填报" in rej.reason and "（第十七条）" in rej.reason
    assert "15日内" in rej.reason and "填报自查处置信息" in rej.reason
    assert rej.reason.count("第十七条第（三）项") == 2


def test_art17_single_failed_condition_cites_its_own_article(run):
    events = [filing("f2", "sel", "2023-01-01"), _seller_reward("w1", "2023-03-01", "2023-03-30", "2023-04-10")]
    rej = next(x for x in run(OPS, events, "2023-12-01").rejected if x.event == "w1")
    assert rej.reason == "not eligible: 未在通告或书面通知后15日内主动停售并处置"
    assert rej.cite == "第十七条第（三）项"


def test_art17_3_period_ending_on_a_holiday_runs_to_next_working_day(run):
    # 2024-09-16 + 15 days = 2024-10-01, 国庆节; the holiday runs to 10-07, so the period ends Tue 2024-10-08.
    events = [filing("f2", "sel", "2024-01-01"),
              _seller_reward("w1", "2024-09-16", "2024-10-08", "2024-10-20"),
              dict(_seller_reward("w2", "2024-09-16", "2024-10-09", "2024-10-21"))]
    r = run(OPS, events, "2024-12-01")
    assert ("w1", "sel") not in codes(r) and codes(r)[("w2", "sel")] == "QR611"
    assert r.subject("sel").score == D(13)   # 12 + 1


def test_art24_and_art17_3_share_the_period_rule(gd):
    """The one period rule (brief §3): due() in the ruleset and the deadlines' '15 days' end on the same day."""
    from qrules.language.runtime import Duration, due_date

    start = dt.date(2024, 9, 16)
    assert due_date(start, Duration(15, "days"), gd.calendar) == gd.calendar.due_date(start, 15, "days") \
        == dt.date(2024, 10, 8)


def test_due_function_is_checked_at_compile_time():
    from qrules.errors import Diagnostics, SourceMap, render
    from qrules.language import compile_expression
    from qrules.language.types import DATE, NUMBER
    from qrules.workdays import WorkdayCalendar

    scope, smap = {"d": DATE, "n": NUMBER}, SourceMap.at("rules.yaml", 1, 1)

    def errs(text, calendar=WorkdayCalendar()):
        diags = Diagnostics()
        assert compile_expression(text, smap, scope, diags, calendar=calendar) is None
        return [render(x, source=False) for x in diags.items]

    assert "QR203" in errs("due(d, 3 months)")[0] and "days or workdays" in errs("due(d, 3 months)")[0]
    assert "QR203" in errs("due(n, 3 days)")[0]
    assert "QR206" in errs("due(d, 3 days)", calendar=None)[0]
    assert "QR205" in errs("due(d)")[0]
    diags = Diagnostics()
    f = compile_expression("due(d, 5 workdays) > d", smap, scope, diags, calendar=WorkdayCalendar())
    assert f is not None and f({"d": dt.date(2024, 9, 27), "n": 0}) is True
