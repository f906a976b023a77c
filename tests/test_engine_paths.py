"""The engine's fast paths give exactly what the plain definitions give (issue 14, item 4).

The single-subject path scores a subject at its half-year adjustments without listing the
entries (``Scorer.score_at``) and reads the window rule's memo directly. Each is checked here
against the plain definition it replaces, on seeded synthetic corpora (``qrules.synth``) under
both rulesets and a variant whose window depends on the item (第七条 per group of items):
same scores, in the same decimal representation, same adjustments and locks (第二十六条第二款).
The adjustments of a subject scored on its own entries under one version run one loop over
the dates (``Scorer._own_adjustments``): checked against the plain loop by the adjustment tests
below, also where the score does not stay (第八条 read the other way).
The pieces underneath are checked the same way: min/max of numbers without the generic
dispatch (the cap of 第十八条), memoised due dates, the spot-check record built only for the
reward rules that read it, conditions evaluated through their compiled functions (their
errors located as before), result models built without validation and sharing one field set.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import GUANGDONG, HAOJIANG, ROOT
from qrules import load_ruleset
from qrules.engine import decide_timeline, subject_views, timeline_of
from qrules.engine.entries import exact
from qrules.engine.results import Adjustment, EntryResult, Lock
from qrules.errors import Diagnostics, SourceMap
from qrules.engine.score import Scorer
from qrules.history import load_history_data
from qrules.language import compile_expression
from qrules.language.runtime import agg_max, agg_min, shift
from qrules.language.types import NUMBER
from qrules.synth import history_data
from qrules.workdays import WorkdayCalendar

RULESETS = {"guangdong": GUANGDONG, "haojiang": HAOJIANG,
            "seller-window-24": ROOT / "tests" / "data" / "changes" / "seller-window-24.yaml"}
AS_OF = dt.date(2025, 12, 31)


@pytest.fixture(scope="module", params=sorted(RULESETS))
def compiled(request):
    return load_ruleset(str(RULESETS[request.param]))


def _decided(compiled, seed: int, as_of: dt.date = AS_OF, size: int = 100):
    data = history_data(size, seed=seed, bad_rate=0.05)
    for s in data["subjects"]:  # all inside the ruleset's jurisdiction (haojiang is one district)
        if s.get("region"):
            s["region"] = compiled.model.jurisdiction.division
    loaded = load_history_data(data)
    tl = timeline_of(compiled)
    views = subject_views(tl.at(as_of).compiled, loaded.history.subjects)
    decisions, scorer_at = decide_timeline(tl, views, dict(loaded.invalid_subjects), as_of, list(loaded.history.events))
    return views, decisions, scorer_at


def _plain_score(scorer: Scorer, sid: str, at: dt.date) -> tuple[bool, Decimal | None]:
    """第七条、第八条: the start score plus every counted entry whose window holds ``at``."""
    s = scorer.subjects[sid]
    if s.kind == "operator" and scorer.lowest_product and scorer.products_of.get(sid):
        acc = scorer.account(sid, at)
        return acc.scored, acc.score
    if not scorer.has_record(sid, at):
        return False, None
    live = [e for e in scorer.d.entries.get(sid, []) if e.counted and e.date <= at
            and scorer.c.in_window(scorer.anchor(e), at, scorer.window_key(e))]
    return True, exact(scorer.start + sum((e.points for e in live), Decimal(0)))


def _plain_adjustments(scorer: Scorer, sid: str, as_of: dt.date, at):
    """第二十六条第二款 as first written: every 1 Jan / 1 Jul after the first record, the class of the
    score the day before under the version in force then (``at``), D locked for the lock's duration."""
    first = scorer.first_record(sid)
    if first is None:
        return [], None
    lock_class = lock_since = lock_until = None
    out = []
    for year in range(first.year, as_of.year + 1):
        for month, day in scorer.all_adjustment_dates:
            t = dt.date(year, month, day)
            if t <= first or t > as_of:
                continue
            sc = at(t)
            if (month, day) not in sc.c.adjustment_dates:
                continue
            lock = sc.c.model.adjustment.lock
            sd = sc.c.score_date(t)
            acc = sc.account(sid, sd)
            computed = sc.classify(acc.score) if acc.scored else "O"
            locked = lock_until is not None and t < lock_until
            official = lock_class if locked else computed
            if not locked and lock is not None and computed == lock.class_:
                lock_class, lock_since, lock_until = lock.class_, t, shift(t, sc.c.lock_duration, 1, sc.c.calendar)
            out.append(Adjustment.build(date=t, score_date=sd, score=acc.score, computed_class=computed,
                                        official_class=official, locked=locked, version=sc.label))
    active = None
    if lock_until is not None and out and out[-1].official_class == lock_class and as_of < lock_until:
        active = (lock_class, lock_since, lock_until)
    return out, active


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_art7_art8_score_at_equals_the_plain_sum(compiled, seed):
    views, decisions, scorer_at = _decided(compiled, seed)
    days = [dt.date(2021, 6, 30), dt.date(2022, 12, 31), dt.date(2023, 6, 30), dt.date(2024, 3, 1),
            dt.date(2024, 12, 31), dt.date(2025, 6, 30), AS_OF]
    checked = 0
    for sid, view in views.items():
        if view.excluded is not None:
            continue
        # each entry's own date and the ends of its window (第七条), and the days beside them
        edges = {d + dt.timedelta(days=k) for e in decisions.entries.get(sid, [])
                 for d in (e.date, e.date.replace(year=e.date.year + 2, day=min(e.date.day, 28)),
                           e.date.replace(year=e.date.year + 3, day=min(e.date.day, 28)))
                 for k in (-1, 0, 1)}
        for day in days + sorted(edges):
            fast, plain = Scorer(compiled, views, decisions), Scorer(compiled, views, decisions)
            got, want = fast.score_at(sid, day), _plain_score(plain, sid, day)
            assert (got[0], str(got[1])) == (want[0], str(want[1])), (sid, day)
            assert fast.live_entries(sid, day) == [e for e in decisions.entries.get(sid, []) if e.counted and e.date <= day
                                                   and plain.c.in_window(plain.anchor(e), day, plain.window_key(e))]
            assert [fast.in_window(e, day) for e in decisions.entries.get(sid, [])] == [
                e.date <= day and plain.c.in_window(plain.anchor(e), day, plain.window_key(e))
                for e in decisions.entries.get(sid, [])]
            checked += got[0]
    assert checked > 50  # the corpus scores many subjects on these dates


@settings(max_examples=12)
@given(seed=st.integers(min_value=6, max_value=100_000),
       as_of=st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2026, 12, 31)))
def test_art7_art26_any_corpus_any_day_scores_and_adjustments_equal_the_plain_ones(seed, as_of):
    gd = _guangdong()
    views, decisions, scorer_at = _decided(gd, seed, as_of, size=40)
    _, _, plain_at = _decided(gd, seed, as_of, size=40)
    for sid, view in views.items():
        if view.excluded is not None:
            continue
        got, want = scorer_at(as_of).score_at(sid, as_of), _plain_score(plain_at(as_of), sid, as_of)
        assert (got[0], str(got[1])) == (want[0], str(want[1])), sid
        adj, plain = scorer_at(as_of).adjustments(sid, as_of, scorer_at), _plain_adjustments(plain_at(as_of), sid,
                                                                                             as_of, plain_at)
        assert [a.model_dump() for a in adj[0]] == [a.model_dump() for a in plain[0]] and adj[1] == plain[1], sid


_GD: list = []


def _guangdong():
    if not _GD:
        _GD.append(load_ruleset(str(GUANGDONG)))
    return _GD[0]


@pytest.mark.parametrize("seed", [4, 5])
def test_art26_adjustments_equal_the_plain_loop(compiled, seed):
    got = _adjustments_both_ways(compiled, seed, AS_OF)
    assert sum(lock is not None for _, lock in got) > 0  # the corpus has D subjects under a lock


def _adjustments_both_ways(compiled, seed, as_of):
    """Each scored subject's (adjustments, lock) by the fast loop, asserted equal to the plain loop's."""
    views, _, scorer_at = _decided(compiled, seed, as_of)
    _, _, plain_at = _decided(compiled, seed, as_of)  # scorers of their own: nothing memoised is shared
    out = []
    for sid, view in views.items():
        if view.excluded is not None:
            continue
        got = scorer_at(as_of).adjustments(sid, as_of, scorer_at)
        want = _plain_adjustments(plain_at(as_of), sid, as_of, plain_at)
        assert [a.model_dump() for a in got[0]] == [a.model_dump() for a in want[0]], sid
        assert [str(a.score) for a in got[0]] == [str(a.score) for a in want[0]] and got[1] == want[1]
        out.append(got)
    return out


def test_art8_art26_adjustments_equal_the_plain_loop_when_the_score_does_not_stay(tmp_path):
    """第八条 read the other way (``stays_scored: false``): a subject whose entries have all left the
    window is unscored (O) again at the next adjustment. The adjustments' loop over the subject's
    own entries against the plain one, on that branch too."""
    path = tmp_path / "no-stay.yaml"
    path.write_text(f"qrules: 1\nruleset: change-no-stay\nextends: {GUANGDONG.as_posix()}\nversion: test\n"
                    "title: 变更示例：记录移出统计周期后不保留得分\nparameters:\n"
                    "  stays_scored: {value: \"false\", note: 记录全部移出统计周期后回到O类}\n", encoding="utf-8")
    no_stay = load_ruleset(str(path))
    as_of = dt.date(2027, 12, 31)  # late enough for the first entries of the corpus to have left the window
    unscored_again = 0
    for adjustments, _ in _adjustments_both_ways(no_stay, 6, as_of):
        scores = [a.score for a in adjustments]
        unscored_again += any(x is not None and y is None for x, y in zip(scores, scores[1:]))
    assert unscored_again > 0  # the branch is taken: scored, then O again


# -- the pieces under the fast path -------------------------------------------------------------

def _n(v):
    return Decimal(v) if type(v) is int else v


@pytest.mark.parametrize("text,env,generic", [
    # equal values: the first one, as written (agg_min/agg_max keep the first of equals)
    ("min(a, b)", {"a": Decimal("1.0"), "b": Decimal("1")}, lambda e: agg_min([e["a"], e["b"]])),
    ("max(a, b)", {"a": Decimal("2"), "b": Decimal("2.00")}, lambda e: agg_max([e["a"], e["b"]])),
    ("min(a, b, 0)", {"a": Decimal("-0.5"), "b": Decimal("3")}, lambda e: agg_min([e["a"], e["b"], Decimal(0)])),
    ("max(b, a, a)", {"a": Decimal("0.50"), "b": Decimal("0.5")}, lambda e: agg_max([e["b"], e["a"], e["a"]])),
    # 第十八条's cap formula
    ("min(a, max(b - 2, 0))", {"a": Decimal("1"), "b": Decimal("2")},
     lambda e: agg_min([e["a"], agg_max([e["b"] - 2, Decimal(0)])])),
    ("max(a, b)", {"a": 3, "b": Decimal("3.0")}, lambda e: agg_max([_n(e["a"]), e["b"]])),  # an int from the env
])
def test_art18_min_max_of_numbers_pick_what_the_generic_rule_picks(text, env, generic):
    expr = compile_expression(text, SourceMap.at("t.yaml", 1, 1), {"a": NUMBER, "b": NUMBER}, Diagnostics())
    got, want = expr(env), generic(env)
    assert (str(got), type(got)) == (str(want), type(want))


def test_art24_due_dates_are_memoised_without_changing_them():
    cal = WorkdayCalendar()
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(0, 366, 7)]
    first = [(cal.due_date(d, 15, "days"), cal.due_date(d, 5, "workdays")) for d in days]
    again = [(cal.due_date(d, 15, "days"), cal.due_date(d, 5, "workdays")) for d in days]
    assert first == again == [(cal.add_days(d, 15), cal.add_workdays(d, 5)) for d in days]
    assert cal.due_date(dt.date(2024, 9, 30), 1, "days") == dt.date(2024, 10, 8)  # 国庆: the next working day


def _plain_exact(value: Decimal) -> Decimal:
    value = value.normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def test_art8_scores_memoised_by_value_keep_the_exact_form_of_each_value():
    """``exact`` memoised by value: equal numbers written differently (12.0, 12.00, 1.2E+1) get the
    one form the plain definition gives, asked in any order; zero is never memoised (0 and -0)."""
    values = [Decimal(v) for v in ("12.0", "1.2E+1", "12", "10.50", "10.5", "-3.0", "-3", "0", "-0", "0.00",
                                   "-0.0", "1E+1", "0.001", "7.25")]
    for order in (values, values[::-1], values + values):
        assert [(str(exact(v)), exact(v).as_tuple()) for v in order] == \
            [(str(_plain_exact(v)), _plain_exact(v).as_tuple()) for v in order]
    assert str(exact(Decimal("-0.0"))) == "-0" and str(exact(Decimal("0.00"))) == "0"


def test_art16_art17_reward_subject_record_only_when_a_rule_reads_it():
    from qrules.engine.entries import CLEAN_FIELDS, reads_record_fields as _reads_record_fields

    gd = load_ruleset(str(GUANGDONG))
    reads = {rule: _reads_record_fields(gd.reward_whens[rule].node, "subject", CLEAN_FIELDS)
             for rule in gd.reward_whens}
    assert reads["16"] and reads["17.1"]      # 第十六条、第十七条第（一）项: clean years of spot checks
    assert not reads["17.3"]                  # 第十七条第（三）项: the notice and the filing only
    cap = gd.exprs["rewards.cap.counted"]
    assert not _reads_record_fields(cap.node, "subject", CLEAN_FIELDS)


def test_results_built_without_validation_equal_validated_ones():
    values = {"event": "d1", "kind": "deduction", "code": "12.3", "title": "t", "date": dt.date(2024, 1, 2),
              "points": Decimal("-3"), "counted_points": Decimal("-3"), "status": "counted", "reason": None,
              "cite": "第十二条第（三）项", "via": None, "of": None, "ordinal": 1, "requested": None, "version": "v"}
    built, checked = EntryResult.build(**values), EntryResult(**values)
    assert built == checked and built.model_dump_json() == checked.model_dump_json()
    lock = Lock.build(class_="D", since=dt.date(2024, 1, 1), until=dt.date(2027, 1, 1))
    assert lock == Lock(**{"class": "D", "since": dt.date(2024, 1, 1), "until": dt.date(2027, 1, 1)})


def test_art14_art17_conditions_through_their_functions_fail_as_the_compiled_expressions_do():
    """第十四条、第十七条: the conditions are evaluated through their compiled functions
    (``failing``, ``value_of``); one that cannot be evaluated raises the error the compiled
    expression raises, with its place in the ruleset, and the others' reasons are unchanged."""
    from qrules.engine.entries import failing, value_of
    from qrules.language.runtime import EvaluationError
    from qrules.ruleset import CompiledCondition

    def compiled_expr(text):
        return compile_expression(text, SourceMap.at("t.yaml", 3, 9), {"a": NUMBER, "b": NUMBER}, Diagnostics())

    holds, fails, breaks = (CompiledCondition(compiled_expr(t), f"reason {t}", "第十四条")
                            for t in ("a > 0", "b > 0", "a / b > 0"))
    env = {"a": Decimal(1), "b": Decimal(0)}
    assert failing([holds, fails], env) == [("reason b > 0", "第十四条")]
    assert value_of(fails.expr, env) is False and value_of(holds.expr, env) is True
    with pytest.raises(EvaluationError) as direct:
        breaks.expr(env)
    for call in (lambda: failing([holds, breaks], env), lambda: value_of(breaks.expr, env)):
        with pytest.raises(EvaluationError) as got:
            call()
        assert (got.value.message, got.value.span) == (direct.value.message, direct.value.span)
        assert got.value.span is not None


def test_results_built_with_every_field_share_one_field_set_that_nothing_changes():
    """Result models built with every field share their class's field set: what pydantic reports
    and dumps is that of a validated model, and a copy with changes does not touch the others."""
    values = {"date": dt.date(2024, 1, 1), "score_date": dt.date(2023, 12, 31), "score": Decimal("10.5"),
              "computed_class": "B", "official_class": "B", "locked": False, "version": "v"}
    a, b, checked = Adjustment.build(**values), Adjustment.build(**values), Adjustment(**values)
    assert a.model_fields_set == checked.model_fields_set == set(values)
    assert a.model_dump(exclude_unset=True) == checked.model_dump(exclude_unset=True) == checked.model_dump()
    changed = a.model_copy(update={"score": Decimal(9)})
    assert changed.score == Decimal(9) and a.score == b.score == Decimal("10.5")
    assert a.model_fields_set == b.model_fields_set == set(values)
    with pytest.raises(Exception):
        a.score = Decimal(1)  # frozen: nothing adds to the shared set in place
    assert b.model_fields_set == set(values)
    partial = EntryResult.build(event="d1", kind="deduction", code="12.3", title="t", date=dt.date(2024, 1, 2),
                                points=Decimal(-3), counted_points=Decimal(-3), status="counted")
    assert partial.model_fields_set == {"event", "kind", "code", "title", "date", "points", "counted_points", "status"}


def test_results_built_by_position_equal_validated_ones():
    """The positional builders of the two models made most per subject (``entry_result``,
    ``adjustment``) give what validation gives: same values, same dump, every field set."""
    from qrules.engine.results import adjustment, entry_result

    entry = {"event": "r1", "kind": "repair", "code": "12.3", "title": "修复 d1", "date": dt.date(2024, 1, 2),
             "points": Decimal("1.5"), "counted_points": Decimal("1.5"), "status": "counted", "reason": "第2次扣分",
             "cite": "第十五条", "via": None, "of": "d1", "ordinal": 2, "requested": None, "version": "v"}
    built, checked = entry_result(*entry.values()), EntryResult(**entry)
    assert built == checked and built.model_dump_json() == checked.model_dump_json()
    assert built.model_fields_set == checked.model_fields_set == set(entry)
    adj = {"date": dt.date(2024, 7, 1), "score_date": dt.date(2024, 6, 30), "score": None,
           "computed_class": "O", "official_class": "D", "locked": True, "version": None}
    built, checked = adjustment(*adj.values()), Adjustment(**adj)
    assert built == checked and built.model_dump_json() == checked.model_dump_json()
    assert built.model_fields_set == checked.model_fields_set == set(adj)
    with pytest.raises(Exception):
        built.locked = False  # frozen like every result model


def test_subject_summary_and_evaluation_results_built_by_position_equal_validated_ones():
    """The positional builders of the models made once per subject and per call
    (``subject_result``, ``summary``, ``evaluation_result``) give what validation gives."""
    from qrules.engine.results import (EvaluationResult, Measures, SubjectResult, Summary, evaluation_result,
                                       subject_result, summary)

    adj = Adjustment(date=dt.date(2024, 7, 1), score_date=dt.date(2024, 6, 30), score=Decimal("10.5"),
                     computed_class="B", official_class="B", locked=False, version="v")
    lock = Lock(**{"class": "D", "since": dt.date(2024, 1, 1), "until": dt.date(2027, 1, 1)})
    subject = {"id": "op1", "kind": "operator", "name": "某公司", "roles": ["seller"], "scored": True,
               "score": Decimal("10.5"), "start": Decimal(12), "live_class": "B", "official_class": "D", "lock": lock,
               "measures": Measures(mode="特别监管"), "flags": {"红名单": False}, "determined_by": None,
               "entries": [], "adjustments": [adj], "outlook": None}
    totals = {"subjects": 1, "by_official_class": {"D": 1}, "by_live_class": {"B": 1}, "events": 5,
              "events_counted": 4, "events_rejected": 1, "rejected_by_code": {"QR611": 1}}
    for build, model, values in ((subject_result, SubjectResult, subject), (summary, Summary, totals)):
        built, checked = build(*values.values()), model(**values)
        assert built == checked and built.model_dump_json() == checked.model_dump_json()
        assert built.model_fields_set == checked.model_fields_set == set(values)
    result = {"ruleset": "guangdong-2021", "version": "2021", "as_of": AS_OF, "as_known_at": None,
              "version_at_as_of": "guangdong-2021", "in_force": True, "out_of_force": [], "warnings": ["w"],
              "subjects": [SubjectResult(**subject)], "rejected": [], "excluded_subjects": [],
              "summary": Summary(**totals)}
    built, checked = evaluation_result(*result.values()), EvaluationResult(**result)
    assert built == checked and built.model_dump_json() == checked.model_dump_json()
    assert built.model_fields_set == checked.model_fields_set == set(result)


@pytest.mark.parametrize("seed", [1, 7])
def test_art7_each_subjects_entries_are_in_date_order_for_the_window_loops_that_stop_early(compiled, seed):
    """第七条: ``Scorer.live_entries``, ``score_at`` and the adjustments stop at the first entry dated
    after the day they score, which is exact only while ``Decider.run`` leaves every subject's
    entries in (date, event, kind) order: checked on corpora with repairs, rewards and links."""
    _, decisions, _ = _decided(compiled, seed)
    lists = [entries for entries in decisions.entries.values() if len(entries) > 1]
    assert len(lists) > 20
    for entries in lists:
        keys = [(e.date, e.event, e.kind) for e in entries]
        assert keys == sorted(keys)


@pytest.mark.parametrize("seed", [2, 8])
def test_art7_an_own_accounts_lines_read_the_window_from_its_live_entries(compiled, seed):
    """第七条: for a subject scored on its own entries (no producer's line, 第十条) the account's lines
    take "in the window" from the account's live entries instead of asking the window rule again:
    every line equals the one the window rule gives (outside_window, lapsed, counted)."""
    from qrules.engine import _entry_result

    views, decisions, scorer_at = _decided(compiled, seed)
    scorer, seen = scorer_at(AS_OF), set()
    for sid, view in views.items():
        if view.excluded is not None:
            continue
        acc = scorer.account(sid, AS_OF)
        if acc.determined_by is not None:
            continue
        used = {(e.subject, e.event, e.kind): e for e in acc.entries}
        for e in decisions.entries.get(sid, []):
            fast, asked = _entry_result(e, scorer, AS_OF, used, None, True), _entry_result(e, scorer, AS_OF, used)
            assert fast == asked, (sid, e.event)
            seen.add(fast.status)
    assert {"counted", "outside_window"} <= seen  # both answers of the window occur


def test_entries_made_by_new_entry_equal_entries_made_by_keyword():
    """``new_entry`` passes its keywords to ``Entry`` by position (a third of the cost): its
    parameters are Entry's fields in order with the same defaults, so both make the same entry."""
    import inspect
    from dataclasses import MISSING, fields

    from qrules.engine.entries import Entry, new_entry

    params = inspect.signature(new_entry).parameters
    assert list(params) == [f.name for f in fields(Entry)]
    assert [p.default for p in params.values()] == [
        inspect.Parameter.empty if f.default is MISSING else f.default for f in fields(Entry)]
    d = Entry("op1", "d1", "deduction", "12.3", "t", dt.date(2024, 1, 2), Decimal(-3), "第十二条")
    values = {f.name: f"v{i}" for i, f in enumerate(fields(Entry))} | {"of": d, "points": Decimal("1.5")}
    assert new_entry(**values) == Entry(**values)
    assert new_entry("op1", "d1", "deduction", "12.3", "t", dt.date(2024, 1, 2), Decimal(-3), "第十二条") == d


def test_subject_views_by_position_carry_every_field():
    """``subject_views`` builds each view by position: every field lands where its name says."""
    data = {"subjects": [{"id": "op1", "kind": "operator", "uscc": "91440512MA5AAAAA1W", "roles": ["producer"],
                          "region": "440512", "name": "某公司"},
                         {"id": "p1", "kind": "product", "brand": "甲牌", "nice_class": 28, "producer": "op1",
                          "category": "玩具", "name": "玩具车"}], "events": []}
    views = subject_views(_guangdong(), load_history_data(data).history.subjects)
    op, p = views["op1"], views["p1"]
    assert (op.id, op.kind, op.name, op.roles, op.producer, op.region) == (
        "op1", "operator", "某公司", frozenset({"producer"}), None, "440512")
    assert (p.id, p.kind, p.name, p.producer, p.brand, p.region, p.category, p.nice_class) == (
        "p1", "product", "玩具车", "op1", "甲牌", "440512", "玩具", 28)


def test_rejections_built_without_validation_equal_validated_ones():
    """第十四条 QR608 and every other refusal: the engine builds its rejections without validation;
    on a corpus with bad records each equals the validated model and dumps the same JSON."""
    from qrules.engine.results import Rejection

    _, decisions, _ = _decided(_guangdong(), 3)
    assert len({r.code for r in decisions.rejections}) > 3
    for r in decisions.rejections:
        checked = Rejection(**r.model_dump())
        assert r == checked and r.model_dump_json() == checked.model_dump_json()
        assert r.model_fields_set == checked.model_fields_set


@pytest.mark.parametrize("seed", [3, 9])
def test_art26_each_subjects_adjustments_are_in_date_order(compiled, seed):
    """第二十六条第二款: ``version_notes`` reads only each subject's first and last adjustment for the
    range of dates decided, exact while every subject's adjustments come in date order."""
    views, _, scorer_at = _decided(compiled, seed)
    scorer, many = scorer_at(AS_OF), 0
    for sid, view in views.items():
        if view.excluded is None:
            days = [a.date for a in scorer.adjustments(sid, AS_OF, scorer_at)[0]]
            assert days == sorted(days) and len(set(days)) == len(days)
            many += len(days) > 2
    assert many > 10


@pytest.mark.parametrize("seed", [1, 5])
def test_art10_a_producers_terms_made_once_per_evaluation_equal_terms_made_afresh(compiled, seed):
    """第十条: a producer's score is its lowest product term; one scorer (one evaluation) makes each
    term once for the entries it is made of and reuses it at later dates. Every producer's account
    at every adjustment date equals the one a fresh scorer makes (no term reused): same score in
    the same decimal form, same deciding product, same entries."""
    views, decisions, scorer_at = _decided(compiled, seed)
    shared = Scorer(compiled, views, decisions)
    producers = [sid for sid, v in views.items() if v.excluded is None and shared.products_of.get(sid)]
    assert len(producers) > 5
    days = [dt.date(y, m, d) for y in range(2021, 2026) for m, d in ((6, 30), (12, 31))] + [AS_OF]
    made = 0
    for sid in producers:
        for day in days:
            got, fresh = shared.account(sid, day), Scorer(compiled, views, decisions).account(sid, day)
            assert (got.scored, str(got.score), got.determined_by) == (fresh.scored, str(fresh.score),
                                                                        fresh.determined_by), (sid, day)
            assert got.entries == fresh.entries, (sid, day)
            made += got.determined_by is not None
    terms_asked = sum(len([p for p in shared.products_of[sid] if shared.has_record(p, day)])
                      for sid in producers for day in days)
    assert made > 20 and len(shared._terms) < terms_asked  # terms were reused


def test_items_and_reward_rules_as_plain_records_carry_every_field_once_per_ruleset(compiled):
    """The decider reads the ruleset's items (第十一条、第十二条) and reward rules (第十六条、第十七条)
    as plain records made once per ruleset: each carries every field of its model, unchanged."""
    from qrules.engine.entries import plain_records

    items, rules = plain_records(compiled)
    m = compiled.model
    assert set(items) == set(m.items) and set(rules) == set(m.rewards.rules)
    for plain, models in ((items, m.items), (rules, m.rewards.rules)):
        for code, model in models.items():
            assert {name: getattr(plain[code], name) for name in type(model).model_fields} == dict(model)
    assert plain_records(compiled) is plain_records(compiled)
