"""Property tests of the engine over generated histories (hypothesis)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import operator, product
from qrules import evaluate
from qrules.history import load_history_data

SUBJECTS = [operator("op1", 1), operator("op2", 2, roles=("producer", "seller")),
            operator("sel", 3, roles=("seller",)),
            product("p1", "op1"), product("p2", "op1", brand="乙牌"), product("p3", "op2", brand="丙牌", nice_class=9)]
ITEMS = ["11.1", "11.2", "11.3", "11.5", "11.7", "11.9", "12.1", "12.3", "12.4", "12.7", "12.10"]
START = dt.date(2021, 7, 1)

days = st.integers(min_value=0, max_value=1600)


@st.composite
def histories(draw):
    events = []
    n = draw(st.integers(min_value=0, max_value=14))
    for i in range(n):
        kind = draw(st.sampled_from(["deduction", "deduction", "deduction", "repair", "reward", "spot_check", "filing"]))
        date = (START + dt.timedelta(days=draw(days))).isoformat()
        if kind == "deduction":
            subj = draw(st.lists(st.sampled_from(["p1", "p2", "p3", "op1", "op2", "sel"]), min_size=1, max_size=2,
                                 unique=True))
            events.append({"id": f"e{i}", "kind": "deduction", "item": draw(st.sampled_from(ITEMS)), "date": date,
                           "subjects": subj, "intentional": draw(st.booleans()),
                           "line": {"model": draw(st.sampled_from(["M1", "M2"])), "standard": "GB 1"}})
        elif kind == "repair":
            targets = [e["id"] for e in events if e["kind"] == "deduction"]
            if not targets:
                continue
            events.append({"id": f"e{i}", "kind": "repair", "of": draw(st.sampled_from(targets)), "date": date,
                           "rectified": draw(st.booleans())})
        elif kind == "reward":
            rule, subject = draw(st.sampled_from([("16", "p1"), ("16", "p3"), ("17.2", "op1"), ("17.3", "sel")]))
            events.append({"id": f"e{i}", "kind": "reward", "rule": rule, "subject": subject, "date": date,
                           "reported": True, "recalled_before_defect": True, "notice_date": date, "action_date": date})
        elif kind == "spot_check":
            events.append({"id": f"e{i}", "kind": "spot_check", "subject": draw(st.sampled_from(["p1", "p3"])),
                           "date": date, "result": draw(st.sampled_from(["pass", "pass", "fail"]))})
        else:
            events.append({"id": f"e{i}", "kind": "filing", "subject": draw(st.sampled_from(["op1", "op2", "sel"])),
                           "date": date})
    as_of = START + dt.timedelta(days=draw(st.integers(min_value=0, max_value=1800)))
    return events, as_of


def _eval(gd, events, as_of):
    loaded = load_history_data({"subjects": SUBJECTS, "events": events})
    return evaluate(gd, loaded, as_of)


def _fingerprint(result):
    return ({s.id: (s.score, s.live_class, s.official_class, s.lock and s.lock.until,
                    sorted((e.event, e.kind, e.code, e.status, e.counted_points) for e in s.entries))
             for s in result.subjects},
            Counter((r.event, r.subject, r.code) for r in result.rejected))


settings.register_profile("qrules", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("qrules")


@given(histories(), st.randoms(use_true_random=False))
@settings(max_examples=60)
def test_result_does_not_depend_on_event_order(gd, case, rnd):
    events, as_of = case
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert _fingerprint(_eval(gd, events, as_of)) == _fingerprint(_eval(gd, shuffled, as_of))


@given(histories())
@settings(max_examples=60)
def test_no_event_counts_twice_for_a_subject(gd, case):
    result = _eval(gd, *case)
    for s in result.subjects:
        counted = Counter((e.event, e.kind) for e in s.entries if e.counted_points != 0)
        assert all(v == 1 for v in counted.values()), (s.id, counted)
        if s.scored:
            assert s.score == s.start + sum((e.counted_points for e in s.entries), Decimal(0))


@given(histories())
@settings(max_examples=60)
def test_rewards_never_exceed_the_cap(gd, case):
    events, as_of = case
    result = _eval(gd, events, as_of)
    cap = gd.params["reward_cap"]
    for s in result.subjects:
        own = [e for e in s.entries if e.kind == "reward" and e.counted_points > 0]
        assert sum((e.counted_points for e in own), Decimal(0)) <= cap


@given(histories())
@settings(max_examples=60)
def test_class_matches_thresholds_or_lock(gd, case):
    result = _eval(gd, *case)
    for s in result.subjects:
        if not s.scored:
            assert s.live_class == "O"
            continue
        score = s.score
        expected = "A" if score >= 12 else "B" if score > 6 else "C" if score > 0 else "D"
        assert s.live_class == expected
        for adj in s.adjustments:
            if adj.locked:
                assert adj.official_class == "D"
            else:
                assert adj.official_class == adj.computed_class


@given(histories())
@settings(max_examples=40)
def test_one_subject_alone_equals_the_whole_history(gd, case):
    events, as_of = case
    loaded = load_history_data({"subjects": SUBJECTS, "events": events})
    whole = evaluate(gd, loaded, as_of)
    for s in whole.subjects:
        alone = evaluate(gd, loaded, as_of, subjects=[s.id]).subject(s.id)
        assert alone == s, s.id
