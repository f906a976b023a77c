"""The columnar backend against the per-subject engine (the reference), subject by subject.

Seeded corpora exercise what the columnar backend takes: operators with and without roles,
out-of-scope and out-of-jurisdiction subjects, refused records, unknown items, subjects and
rules, intentional acts, repairs (eligible or not, before their deduction, over the limit,
of unknown or non-deduction events, naming subjects), filings and concealment, rewards
(eligible or not, over the cap), events after the as-of date, procedure events; under
guangdong-2021 (half-year adjustments and the D lock) and the benchmark's simplified rules.
Everything else must make the backend say what it cannot take (never a silent result).
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("polars")

from qrules.batch import evaluate_all  # noqa: E402
from qrules.columnar import ColumnarBackend, Fallback, Tables  # noqa: E402
from qrules.history import load_history_data, uscc_check_character  # noqa: E402
from qrules.versioned import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2025, 12, 31)


def _uscc(i: int) -> str:
    first17 = f"9144051200{i:07d}"
    return first17 + uscc_check_character(first17)


def operator_corpus(n: int, seed: int, items: list[str], rules: list[str]) -> dict:
    """n operators and their events, with a share of every kind of refusal the engine makes."""
    r = random.Random(seed)
    start = dt.date(2020, 1, 1)
    subjects = []
    for i in range(n):
        s = {"id": f"op{i}", "kind": "operator", "uscc": _uscc(i),
             "roles": r.choice([["producer"], ["seller"], ["producer", "seller"], []]),
             "region": r.choice(["440512", "440512", "440100", "350100"]) if r.random() < 0.3 else "440512"}
        if r.random() < 0.03:
            s["category"] = "化妆品"
        if r.random() < 0.02:
            s["uscc"] = "91440512000000000X"  # a wrong check character: the record is refused
        subjects.append(s)
    events: list[dict] = []
    deductions: list[dict] = []

    def day() -> dt.date:
        return start + dt.timedelta(r.randrange(2400))

    def someone(i: int) -> str:
        return f"op{i}" if r.random() > 0.02 else f"op{i}x"

    for i in range(n):
        for _ in range(r.randrange(7)):
            k = len(events)
            x = r.random()
            if x < 0.45:
                ev = {"id": f"e{k}", "kind": "deduction", "date": day().isoformat(),
                      "item": r.choice(items) if r.random() > 0.02 else "12.99",
                      "subjects": [someone(i)] + ([f"op{r.randrange(n)}"] if r.random() < 0.1 else []),
                      "intentional": r.random() < 0.15}
                deductions.append(ev)
            elif x < 0.65 and deductions:
                target = r.choice(deductions[-5:]) if r.random() > 0.05 else {"id": "nothing", "date": "2020-01-01"}
                d = dt.date.fromisoformat(target["date"]) + dt.timedelta(r.randrange(-30, 400))
                ev = {"id": f"e{k}", "kind": "repair", "of": target["id"] if r.random() > 0.03 else f"e{k - 1}",
                      "date": d.isoformat(), "rectified": r.random() < 0.85}
                if r.random() < 0.1 and "subjects" in target:
                    ev["subjects"] = target["subjects"][:1] + ([f"op{r.randrange(n)}"] if r.random() < 0.3 else [])
            elif x < 0.75:
                ev = {"id": f"e{k}", "kind": "filing", "subject": someone(i), "date": day().isoformat(),
                      "concealed": r.random() < 0.1}
            elif x < 0.95:
                d = day()
                ev = {"id": f"e{k}", "kind": "reward", "rule": r.choice(rules) if r.random() > 0.02 else "99",
                      "subject": someone(i), "date": d.isoformat(), "reported": r.random() < 0.7,
                      "recalled_before_defect": r.random() < 0.5}
                if r.random() < 0.6:
                    ev["notice_date"] = (d - dt.timedelta(r.randrange(40))).isoformat()
                    ev["action_date"] = (d - dt.timedelta(r.randrange(10))).isoformat()
            else:
                ev = {"id": f"e{k}", "kind": "notice_sent", "of": f"e{max(k - 1, 0)}", "date": day().isoformat()}
            events.append(ev)
    return {"subjects": subjects, "events": events}


def compare(ruleset: str, data: dict, as_of: dt.date = AS_OF, edit=None) -> int:
    """Both backends on ``data``: identical rows, rejections and counts. Returns the subject count.
    ``edit`` changes the loaded history first (to reach what the loader refuses, e.g. a subject named twice)."""
    compiled = load(ROOT / ruleset) if isinstance(ruleset, str) else ruleset  # or a compiled family (§4a)
    loaded = load_history_data(data)
    if edit is not None:
        edit(loaded.history)
    subjects, rejected, excluded, summary = evaluate_all(compiled, loaded, as_of, workers=1, rows=True)
    chunk = ColumnarBackend(compiled).chunk(loaded, as_of)
    engine_rows = {r["id"]: r for r in subjects}
    columnar_rows = {r["id"]: r for r in chunk.subjects}
    assert columnar_rows.keys() == engine_rows.keys()
    for sid, row in engine_rows.items():
        assert columnar_rows[sid] == row, sid

    def key(r):
        return (r.event, r.kind, r.subject or "", r.code, r.reason, r.cite or "", tuple(r.subjects))
    assert sorted(map(key, chunk.rejected)) == sorted(map(key, rejected))
    assert sorted((x.id, x.reason, x.cite) for x in chunk.excluded) == sorted((x.id, x.reason, x.cite)
                                                                               for x in excluded)
    assert (chunk.events, chunk.events_counted, chunk.events_rejected) == (
        summary.events, summary.events_counted, summary.events_rejected)
    assert chunk.rejected_by_code == dict(summary.rejected_by_code)
    assert chunk.by_official_class == dict(summary.by_official_class)
    return len(engine_rows)


GD_ITEMS = ["12.1", "12.3", "12.4", "12.5", "12.6", "12.7", "12.8", "12.9", "12.10"]


@pytest.mark.parametrize("seed", range(6))
def test_columnar_equals_engine_guangdong_operators(seed):
    """Art 7-8, 11-15, 17-18, 26: every score, class, official class, lock and rejection agrees."""
    data = operator_corpus(300, seed, GD_ITEMS, ["17.2", "17.3"])
    assert compare("rulesets/guangdong-2021.yaml", data) > 250


@pytest.mark.parametrize("as_of", [dt.date(2023, 6, 30), dt.date(2024, 1, 1), dt.date(2026, 6, 30)])
def test_columnar_equals_engine_at_other_dates(as_of):
    """The window, adjustments and lock at other as-of dates (including after the ruleset expired)."""
    data = operator_corpus(200, 11, GD_ITEMS, ["17.2", "17.3"])
    compare("rulesets/guangdong-2021.yaml", data, as_of)


def test_columnar_equals_engine_art15_repair_naming_its_subjects():
    """第十五条 (brief §3: a repair per operator): d1 names op1 and op2 (第十二条第（三）项, −3 each);
    r1 repairs it for op1 only (its ``subjects``; both filed on 粤品通, 第十四条第（三）项): op1
    12 − 3 + 3 = 12 (the first deduction, repaired in full), op2 12 − 3 = 9; r2 names op3, which d1
    has no entry for (refused, QR607). Both backends, every row and refusal."""
    ops = [{"id": f"op{i}", "kind": "operator", "uscc": _uscc(i), "roles": ["producer"], "region": "440512"}
           for i in (1, 2, 3)]
    data = {"subjects": ops, "events": [
        {"id": "f1", "kind": "filing", "subject": "op1", "date": "2025-01-05"},
        {"id": "f2", "kind": "filing", "subject": "op2", "date": "2025-01-05"},
        {"id": "d1", "kind": "deduction", "item": "12.3", "date": "2025-03-01", "subjects": ["op1", "op2"]},
        {"id": "r1", "kind": "repair", "of": "d1", "date": "2025-05-01", "rectified": True, "subjects": ["op1"]},
        {"id": "r2", "kind": "repair", "of": "d1", "date": "2025-06-01", "rectified": True, "subjects": ["op3"]}]}
    assert compare("rulesets/guangdong-2021.yaml", data) == 3
    rows = {r["id"]: r for r in ColumnarBackend(load(ROOT / "rulesets/guangdong-2021.yaml")).chunk(
        load_history_data(data), AS_OF).subjects}
    assert (rows["op1"]["score"], rows["op2"]["score"], rows["op3"]["score"]) == ("12", "9", None)


def test_art7_art14_refusals_carry_their_article_in_both_backends():
    """QR613 cites the window (第七条: only entries dated up to the as-of date count); a repair failing
    several conditions (QR608) cites each failing condition's article once (第十四条第（一）、（二）项),
    as a single failing condition does; both backends alike."""
    ops = [{"id": "op1", "kind": "operator", "uscc": _uscc(1), "roles": ["producer"], "region": "440512"}]
    data = {"subjects": ops, "events": [
        {"id": "d1", "kind": "deduction", "item": "12.3", "date": "2025-03-01", "subjects": ["op1"], "intentional": True},
        {"id": "f1", "kind": "filing", "subject": "op1", "date": "2025-01-05"},
        {"id": "r1", "kind": "repair", "of": "d1", "date": "2025-05-01", "rectified": False},
        {"id": "late", "kind": "deduction", "item": "12.3", "date": "2026-02-01", "subjects": ["op1"]}]}
    compare("rulesets/guangdong-2021.yaml", data)
    chunk = ColumnarBackend(load(ROOT / "rulesets/guangdong-2021.yaml")).chunk(load_history_data(data), AS_OF)
    assert sorted((r.event, r.code, r.cite) for r in chunk.rejected) == [
        ("late", "QR613", "第七条"), ("r1", "QR608", "第十四条第（一）项、第十四条第（二）项")]


@pytest.mark.parametrize("seed", range(3))
def test_columnar_equals_engine_simplified(seed):
    """The benchmark workload (bench/simplified.yaml): window sum, 100% repairs, reward cap 2."""
    data = operator_corpus(300, 100 + seed, ["D1", "D3", "D6"], ["R"])
    compare("bench/simplified.yaml", data)


def test_columnar_lock_and_classes_are_exercised():
    """The corpora reach every class and the D lock (so the comparisons above can fail)."""
    compiled = load(ROOT / "rulesets" / "guangdong-2021.yaml")
    loaded = load_history_data(operator_corpus(300, 0, GD_ITEMS, ["17.2", "17.3"]))
    rows = ColumnarBackend(compiled).chunk(loaded, AS_OF).subjects
    assert {r["official_class"] for r in rows} >= {"A", "B", "C", "D", "O"}
    assert any(r["lock_class"] == "D" for r in rows)
    assert any(r["score"] and "." in r["score"] for r in rows)  # a half repair (第十五条第（一）项)


def synth_corpus(n: int, seed: int) -> dict:
    """``qrules synth``'s corpus (5% bad records, corrections included), with every other reward
    granted again 100 and 300 days later (a product's also to its producer, 50 days later), so
    that the cap (第十八条) and the shared cap on a producer's line (第十条) are reached."""
    from qrules.synth import history_data

    data = history_data(n, seed, 0.05)
    events = list(data["events"])
    rewards = [e for e in events if e["kind"] == "reward"]
    producer = {x["id"]: x.get("producer") for x in data["subjects"] if x["kind"] == "product"}
    for e in rewards[::2]:
        for days in (100, 300):
            events.append({**e, "id": f"{e['id']}+{days}", "date": e["date"] + dt.timedelta(days)})
        if e["rule"] == "16" and producer.get(e["subject"]):  # the producer's own reward on the same line
            events.append({"id": f"{e['id']}+p", "kind": "reward", "rule": "17.2", "subject": producer[e["subject"]],
                           "date": e["date"] + dt.timedelta(50), "recalled_before_defect": True, "reported": True})
    return {"subjects": data["subjects"], "events": events}


@pytest.mark.parametrize("seed", range(3))
def test_columnar_equals_engine_synth_guangdong(seed):
    """Art 2, 9-18, 26 over `qrules synth`: products and their producers' lines (第十条), links to
    producers and named sellers (第十二条), spot checks and the 180-day dedup per product line
    (第九条第二款), clean-record rewards (第十六条、第十七条第（一）项), repairs of product entries
    counted against the producer (第十五条), the reward cap on a line (第十八条)."""
    assert compare("rulesets/guangdong-2021.yaml", synth_corpus(2000, seed)) > 1500


@pytest.mark.parametrize("seed", range(2))
def test_columnar_equals_engine_synth_haojiang(seed):
    """The district plan (its jurisdiction and authorities over the provincial rules) on the same corpora."""
    assert compare("rulesets/haojiang-2023.yaml", synth_corpus(5000, 10 + seed)) > 400


@pytest.mark.parametrize("as_of", [dt.date(2023, 6, 30), dt.date(2024, 7, 1)])
def test_columnar_equals_engine_synth_other_dates(as_of):
    """Products, lines and dedup at other as-of dates (events after it are refused, QR613)."""
    compare("rulesets/guangdong-2021.yaml", synth_corpus(1500, 7), as_of)


def test_synth_corpus_exercises_products_links_and_dedup():
    """The comparisons above can fail: the corpus reaches what they check (per the engine)."""
    from collections import Counter

    from qrules.engine import evaluate

    compiled = load(ROOT / "rulesets" / "guangdong-2021.yaml")
    loaded = load_history_data(synth_corpus(2000, 0))
    result = evaluate(compiled, loaded.history, AS_OF, invalid_subjects=loaded.invalid_subjects)
    seen = Counter((e.kind, e.status) for s in result.subjects for e in s.entries)
    assert seen[("deduction", "deduplicated")] > 0 and seen[("reward", "capped")] > 0
    capped = Counter(e.reason[:2] for s in result.subjects for e in s.entries if e.status == "capped")
    assert capped["生产"] > 0  # the shared cap on a producer's line (第十条、第十八条)
    assert seen[("deduction", "superseded")] > 0  # 第九条 within a producer's line
    assert sum(1 for s in result.subjects if s.determined_by) > 100
    vias = Counter(e.code for s in result.subjects for e in s.entries if e.via)
    assert vias["12.1"] > 0 and vias["12.2"] > 0  # both links of 第十二条
    rewards = Counter(e.code for s in result.subjects for e in s.entries if e.kind == "reward" and e.counted_points)
    assert rewards["16"] > 0 and rewards["17.1"] > 0


def _art(date: str, days: int) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days)).isoformat()


def _line_history(failures: list[int], **extra) -> dict:
    """One producer, one product; spot-check failures (11.1) of the same line ``failures`` days after 2023-01-02."""
    subjects = [{"id": "op", "kind": "operator", "uscc": _uscc(1), "roles": ["producer"], "region": "440512"},
                {"id": "p", "kind": "product", "brand": "牌", "nice_class": 28, "producer": "op"}]
    events = [{"id": f"f{i}", "kind": "deduction", "item": "11.1", "date": _art("2023-01-02", day), "subjects": ["p"],
               "line": {"model": "M", "standard": "GB 1"}, **extra} for i, day in enumerate(failures)]
    return {"subjects": subjects, "events": events}


def test_art9_2_dedup_from_the_last_counted_failure_columnar():
    """第九条第二款: failures at day 0, 100, 190, 250, 400 of one line: 0 counts; 100 is within 180
    days of 0; 190 counts (measured from 0, the last counted); 250 is within 180 of 190; 400
    counts. Three of 3 points: 12 - 9 = 3 for the product and its producer (no 12.2: not intentional)."""
    data = _line_history([0, 100, 190, 250, 400])
    compare("rulesets/guangdong-2021.yaml", data)
    compiled = load(ROOT / "rulesets" / "guangdong-2021.yaml")
    rows = {r["id"]: r for r in ColumnarBackend(compiled).chunk(load_history_data(data), AS_OF).subjects}
    assert rows["p"]["score"] == "3" and rows["p"]["deductions"] == 3
    assert rows["op"]["score"] == "3" and rows["op"]["determined_by"] == "p"


def test_art9_2_dedup_also_drops_the_producers_link_columnar():
    """Brief §3, Art 9(2) with links: intentional failures at day 0 and 30: the second scores
    neither the product (11.1, -6) nor the producer (12.2, -6). Product 12 - 6 = 6; producer's
    line: the event's heaviest once, -6: 6."""
    data = _line_history([0, 30], intentional=True)
    compare("rulesets/guangdong-2021.yaml", data)
    compiled = load(ROOT / "rulesets" / "guangdong-2021.yaml")
    rows = {r["id"]: r for r in ColumnarBackend(compiled).chunk(load_history_data(data), AS_OF).subjects}
    assert (rows["p"]["score"], rows["op"]["score"]) == ("6", "6")


def test_art10_producer_is_its_lowest_product_line_columnar():
    """第十条 (brief §3): a producer with products p1 (11.2, -6; linked 12.1 -3 enters p1's term
    only) and p2 (11.5, -1; linked 12.1 -3), and its own 12.3 (-3, every term): p1's term
    12 - 6 - 3 = 3 (12.1 from p1's event is lighter than 11.2: once, the heaviest), p2's term
    12 - 3 - 3 = 6. The producer's score is 3, determined by p1."""
    subjects = [{"id": "op", "kind": "operator", "uscc": _uscc(1), "roles": ["producer"], "region": "440512"},
                {"id": "p1", "kind": "product", "brand": "甲", "nice_class": 28, "producer": "op"},
                {"id": "p2", "kind": "product", "brand": "乙", "nice_class": 28, "producer": "op"}]
    events = [{"id": "a", "kind": "deduction", "item": "11.2", "date": "2024-03-01", "subjects": ["p1"]},
              {"id": "b", "kind": "deduction", "item": "11.5", "date": "2024-04-01", "subjects": ["p2"]},
              {"id": "c", "kind": "deduction", "item": "12.3", "date": "2024-05-01", "subjects": ["op"]}]
    data = {"subjects": subjects, "events": events}
    compare("rulesets/guangdong-2021.yaml", data)
    compiled = load(ROOT / "rulesets" / "guangdong-2021.yaml")
    rows = {r["id"]: r for r in ColumnarBackend(compiled).chunk(load_history_data(data), AS_OF).subjects}
    assert (rows["p1"]["score"], rows["p2"]["score"]) == ("6", "11")
    assert (rows["op"]["score"], rows["op"]["determined_by"]) == ("3", "p1")


def test_art12_named_seller_and_a_subject_named_twice_columnar():
    """第十二条第（一）项: a seller named on a product's 11.3 event gets 12.1 (-3); an operator
    without the seller role is refused (QR606). Named twice (tables the loader did not check),
    each is still scored once (第九条第一款) and refused once per mention."""
    subjects = [{"id": "op", "kind": "operator", "uscc": _uscc(1), "roles": ["producer"], "region": "440512"},
                {"id": "s", "kind": "operator", "uscc": _uscc(2), "roles": ["seller"], "region": "440512"},
                {"id": "x", "kind": "operator", "uscc": _uscc(3), "roles": [], "region": "440512"},
                {"id": "p", "kind": "product", "brand": "甲", "nice_class": 28, "producer": "op"}]
    events = [{"id": "a", "kind": "deduction", "item": "11.3", "date": "2024-03-01", "subjects": ["p", "s", "x"]}]
    data = {"subjects": subjects, "events": events}
    compare("rulesets/guangdong-2021.yaml", data)
    compiled = load(ROOT / "rulesets" / "guangdong-2021.yaml")
    chunk = ColumnarBackend(compiled).chunk(load_history_data(data), AS_OF)
    rows = {r["id"]: r for r in chunk.subjects}
    assert (rows["s"]["score"], rows["s"]["deductions"], rows["x"]["scored"]) == ("9", 1, False)
    assert (rows["p"]["score"], rows["op"]["score"]) == ("6", "6")  # 11.3 -6; the producer's 12.1 -3 is lighter
    assert [(r.code, r.subject) for r in chunk.rejected] == [("QR606", "x")]

    def twice(history):
        history.events[0].subjects[:] = ["p", "s", "s", "x", "x", "p"]
    compare("rulesets/guangdong-2021.yaml", data, edit=twice)
    loaded = load_history_data(data)
    twice(loaded.history)
    chunk = ColumnarBackend(compiled).chunk(loaded, AS_OF)
    assert {r["id"]: r["score"] for r in chunk.subjects} == {"op": "6", "s": "9", "x": None, "p": "6"}
    assert [(r.code, r.subject) for r in chunk.rejected] == [("QR606", "x"), ("QR606", "x")]


CHANGES = sorted((ROOT / "tests" / "data" / "changes").glob("*.yaml"))
#: What the columnar backend still refuses in a change fixture, by file: the reason it gives.
NOT_TAKEN = {"seller-window-24.yaml": "window.counts (第七条): a date plus a computed duration"}


@pytest.mark.parametrize("path", CHANGES, ids=lambda p: p.stem)
def test_columnar_equals_engine_on_every_change(path):
    """Each change a province makes (tests/data/changes/) over a synth corpus with a reward of
    every rule the change defines: both backends agree, or the columnar one names what it cannot take."""
    compiled = load(path)
    data = synth_corpus(1200, 21)
    products = [x["id"] for x in data["subjects"] if x["kind"] == "product"]
    for i, code in enumerate(sorted(set(compiled.model.rewards.rules) - {"16", "17.1", "17.2", "17.3"})):
        data["events"] += [{"id": f"extra{i}-{k}", "kind": "reward", "rule": code, "subject": p,
                            "date": dt.date(2024, 1, 1) + dt.timedelta(k)} for k, p in enumerate(products[::7])]
    base = load(ROOT / "rulesets" / "guangdong-2021.yaml").model.items
    for i, code in enumerate(sorted(set(compiled.model.items) - set(base))):  # a new item, on products and others
        data["events"] += [{"id": f"item{i}-{k}", "kind": "deduction", "item": code, "subjects": [x["id"]],
                            "date": dt.date(2024, 2, 1) + dt.timedelta(k)} for k, x in enumerate(data["subjects"][::5])]
    if path.name in NOT_TAKEN:
        with pytest.raises(Fallback) as info:
            ColumnarBackend(compiled).evaluate(Tables.from_history(load_history_data(data)), AS_OF)
        assert any(r.startswith(NOT_TAKEN[path.name]) for r in info.value.reasons), info.value.reasons
        return
    assert compare(str(path.relative_to(ROOT)), data) > 1000


@pytest.mark.parametrize("ruleset", ["rulesets/guangdong-2021.yaml", "rulesets/haojiang-2023.yaml"])
def test_art5_recorded_by_warns_as_the_engine(ruleset):
    """第五条、第十九条第二款: a deduction recorded by another level than the one the ruleset
    assigns (spot-check items: province; others: city; Haojiang lets its district bureau and
    offices enter the city's) warns, in the engine's words and order, and refuses nothing."""
    import random

    from qrules.engine import evaluate

    data = synth_corpus(1500, 3)
    r = random.Random(3)
    for e in data["events"]:
        if e["kind"] == "deduction" and r.random() < 0.5:
            e["recorded_by"] = r.choice(["province", "city", "county", "district", "office", "街道"])
    compare(ruleset, data)
    compiled = load(ROOT / ruleset)
    loaded = load_history_data(data)
    engine = evaluate(compiled, loaded.history, AS_OF, invalid_subjects=loaded.invalid_subjects).warnings
    chunk = ColumnarBackend(compiled).chunk(loaded, AS_OF)
    assert chunk.warnings == engine and len(engine) > 30  # haojiang: also the notes for events before 2023-12-18 (§4a)
    assert any("仅提示" in w for w in engine) and any("is not an authority level" in w for w in engine)


def test_columnar_says_what_it_cannot_take(tmp_path):
    """A reward rule over the rewards already granted (decided in the same rounds as the rewards
    themselves): the backend names it and refuses to guess."""
    (tmp_path / "r.yaml").write_text(f"""qrules: 1
ruleset: first-reward-only
extends: {ROOT / "rulesets" / "guangdong-2021.yaml"}
version: test
title: 只奖励一次
rewards:
  rules:
    "+16.9": {{subject: product, title: 首次奖励, points: 1, when: "count(r for r in rewards) == 0", reason: 已有奖励,
              cite: 第十六条}}
""", encoding="utf-8")
    compiled = load(tmp_path / "r.yaml")
    data = synth_corpus(200, 1)
    data["events"].append({"id": "r1", "kind": "reward", "rule": "16.9", "subject": "p1", "date": "2025-01-01"})
    backend = ColumnarBackend(compiled)
    with pytest.raises(Fallback) as info:
        backend.evaluate(Tables.from_history(load_history_data(data)), AS_OF)
    assert info.value.reasons == ["rewards.rules.16.9.when: an aggregation over 'rewards' in "
                                  "'count(r for r in rewards) == 0'"]


def test_columnar_refuses_an_unknown_ruleset_field(monkeypatch):
    """A scoring field the backend was not written for (a scope added later) makes it fall back,
    naming the field; procedure and documentation sections do not."""
    import qrules.columnar as columnar

    compiled = load(ROOT / "bench" / "simplified.yaml")
    assert ColumnarBackend(compiled).problems == []
    monkeypatch.setattr(columnar.backend, "KNOWN_FIELDS", columnar.backend.KNOWN_FIELDS - {"window.counts", "measures.*.mode"})
    problems = ColumnarBackend(compiled).problems
    assert problems == ["ruleset field 'window.counts' is new to the columnar backend"]


def _write_tables(data: dict, folder: Path) -> None:
    """``data`` as subjects.csv / events.csv (the batch column layout)."""
    import csv

    from qrules.batch import EVENT_COLUMNS, SUBJECT_COLUMNS, record_to_row

    folder.mkdir()
    for name, columns, records in (("subjects", SUBJECT_COLUMNS, data["subjects"]),
                                   ("events", EVENT_COLUMNS, data["events"])):
        with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, columns)
            w.writeheader()
            w.writerows(record_to_row(r, columns) for r in records)


def test_batch_uses_the_columnar_backend_for_tables(tmp_path, capsys):
    """`qrules batch` on CSV tables: columnar by default, the same rows as `--backend engine`."""
    from qrules.cli import main

    _write_tables(operator_corpus(150, 5, GD_ITEMS, ["17.2", "17.3"]), tmp_path / "t")
    gd = str(ROOT / "rulesets" / "guangdong-2021.yaml")
    common = [gd, str(tmp_path / "t"), "--as-of", "2025-12-31", "--no-progress", "-j", "1"]
    assert main(["batch", *common, "-o", str(tmp_path / "c.jsonl"), "--summary-json", str(tmp_path / "c.json")]) == 1
    err = capsys.readouterr().err
    assert "columnar backend cannot" not in err
    assert main(["batch", *common, "--backend", "engine", "-o", str(tmp_path / "e.jsonl"),
                 "--summary-json", str(tmp_path / "e.json")]) == 1
    lines = lambda p: sorted((tmp_path / p).read_text(encoding="utf-8").splitlines())  # noqa: E731
    assert lines("c.jsonl") == lines("e.jsonl") and len(lines("c.jsonl")) > 100
    import json

    c, e = (json.loads((tmp_path / p).read_text(encoding="utf-8")) for p in ("c.json", "e.json"))
    for key in ("subjects", "by_official_class", "events_counted", "events_rejected", "rejected_by_code",
                "invalid_records_by_code"):
        assert c[key] == e[key], key
    assert c["chunks"] == 1


def test_batch_falls_back_with_a_notice(tmp_path, capsys):
    """A window per item (the seller-window-24 change): the command says what the columnar backend
    cannot take, then evaluates with the engine — the same output as `--backend engine`."""
    from qrules.cli import main

    assert main(["synth", "-n", "120", "--seed", "2", "--out", str(tmp_path / "s"), "--format", "csv"]) == 0
    change = str(ROOT / "tests" / "data" / "changes" / "seller-window-24.yaml")
    common = [change, str(tmp_path / "s"), "--as-of", "2025-12-31", "--no-progress", "-j", "1"]
    main(["--allow-path", str(ROOT / "rulesets"), "batch", *common, "-o", str(tmp_path / "a.jsonl")])
    err = capsys.readouterr().err
    assert "notice: the columnar backend cannot take" in err and "window.counts" in err
    main(["--allow-path", str(ROOT / "rulesets"), "batch", *common, "--backend", "engine", "-o",
          str(tmp_path / "b.jsonl")])
    assert "columnar backend cannot" not in capsys.readouterr().err
    assert (tmp_path / "a.jsonl").read_text(encoding="utf-8") == (tmp_path / "b.jsonl").read_text(encoding="utf-8")


def test_polars_compiler_agrees_with_the_closure_compiler():
    """The second compiler (checked AST -> polars) and the first (-> closures) give the same values
    for the rules the backend uses: classes (Art 26), the cap (Art 18), the repair ratio (Art 15),
    the window (Art 7), on a grid of inputs."""
    from decimal import Decimal

    import polars as pl

    from qrules.columnar.polarsexpr import PolarsCompiler

    from qrules.ruleset import SCOPES

    compiled = load(ROOT / "rulesets" / "guangdong-2021.yaml")
    pc = PolarsCompiler(compiled, 2)
    scores = [Decimal(x) / 2 for x in range(-30, 40)]
    frame = pl.DataFrame({"s": [int(x * 100) for x in scores]})
    for name in compiled.class_order:
        expr = compiled.class_exprs[name]
        got = frame.select(pc.compile(expr, SCOPES["classes.when"],
                                      {("score",): pl.col("s")})).to_series().to_list()
        assert got == [bool(expr({"score": x})) for x in scores], name

    cap = compiled.exprs["rewards.cap.counted"]
    grid = [(p, g) for p in (0, 1, 2) for g in (Decimal(0), Decimal("0.5"), Decimal(1), Decimal(2), Decimal(3))]
    f = pl.DataFrame({"p": [p * 100 for p, _ in grid], "g": [int(g * 100) for _, g in grid]})
    got = f.select(pc.compile(cap, SCOPES["rewards.cap.counted"], {("reward", "points"): pl.col("p"),
                                                                    ("granted",): pl.col("g")})).to_series().to_list()
    assert got == [int(Decimal(cap({"reward": {"points": Decimal(p)}, "granted": g})) * 100) for p, g in grid]
    ratio = compiled.exprs["repair.ratio.value"]
    f = pl.DataFrame({"o": [100, 200, 300]})
    got = f.select(pc.compile(ratio, SCOPES["repair.ratio.value"], {("deduction", "ordinal"): pl.col("o")}))
    assert got.to_series().to_list() == [100, 50, 50]
    window = compiled.exprs["window.counts"]
    at = dt.date(2024, 2, 29)
    days = [dt.date(2021, 2, 27) + dt.timedelta(d) for d in range(5)] + [at, at + dt.timedelta(1)]
    f = pl.DataFrame({"d": days, "a": [at] * len(days)})
    got = f.select(pc.compile(window, SCOPES["window.counts"], {("entry", "date"): pl.col("d"),
                                                               ("as_of",): pl.col("a")})).to_series().to_list()
    assert got == [bool(window({"as_of": at, "entry": {"date": d}})) for d in days]
    assert got[:3] == [False, False, True]  # 36 months before 2024-02-29 is 2021-02-28, excluded


def test_polars_compiler_refuses_what_it_cannot_represent():
    """Exact decimals only: a number with more decimal places than the scale is refused, by name."""
    from decimal import Decimal

    from qrules.columnar.polarsexpr import Unsupported, ruleset_scale, to_scaled

    assert to_scaled(Decimal("-1.25"), 2) == -125
    with pytest.raises(Unsupported, match="more than 2 decimal places"):
        to_scaled(Decimal("0.125"), 2)
    assert ruleset_scale([Decimal("0.125"), Decimal(3)]) == 3
    with pytest.raises(Unsupported):
        ruleset_scale([Decimal("1e-9")])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-10**15, max_value=10**15), max_size=60), st.integers(min_value=0, max_value=3))
def test_dense_codes_are_the_sorted_distinct_values_and_each_values_index(values, spread):
    """The backend numbers distinct totals and cap inputs without sorting when their span is short
    (a table over it), searching otherwise: both give numpy.unique's answer."""
    import numpy as np

    import qrules.columnar as columnar

    arr = np.array([v // (10 ** (12 - 4 * spread)) if spread < 3 else v for v in values], dtype=np.int64)
    distinct, codes = columnar.common.dense_codes(arr)
    want, inverse = np.unique(arr, return_inverse=True)
    assert distinct.tolist() == want.tolist()
    assert codes.tolist() == inverse.ravel().tolist()


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=0, max_value=6))
def test_scores_are_written_as_the_engine_writes_them(value, scale):
    """A score held as a scaled integer is written as the engine writes the exact decimal
    (``language.runtime.plain``): ``-250`` at scale 2 is ``-2.5``, ``1200`` is ``12``."""
    from decimal import Decimal

    from qrules.language.runtime import plain
    from qrules.columnar.polarsexpr import scaled_text

    assert scaled_text(value, scale) == plain(Decimal(value).scaleb(-scale))
    assert scaled_text(-250, 2) == "-2.5" and scaled_text(1200, 2) == "12"


def test_art17_3_due_date_beyond_the_calendar_falls_back_to_the_engine():
    """第十七条第（三）项 counts 15 days from the notice with the official calendar (brief §3); for a year the
    calendar lacks (2028) the engine refuses the reward as 'could not be evaluated'. The columnar backend must
    not turn that into a plain 'not eligible': it says why it cannot take the history, and the engine decides."""
    data = {"subjects": [{"id": "s1", "kind": "operator", "uscc": _uscc(1), "roles": ["seller"], "region": "440512"}],
            "events": [{"id": "f1", "kind": "filing", "subject": "s1", "date": "2027-11-01"},
                       {"id": "w1", "kind": "reward", "rule": "17.3", "subject": "s1", "date": "2028-03-20",
                        "reported": True, "notice_date": "2028-03-01", "action_date": "2028-03-10"}]}
    compiled = load(ROOT / "rulesets/guangdong-2021.yaml")
    loaded = load_history_data(data)
    as_of = dt.date(2028, 6, 30)
    engine = evaluate_all(compiled, loaded, as_of, workers=1, rows=True)[1]
    assert [(r.event, r.code) for r in engine if r.event == "w1"] and "2028" in engine[0].reason
    with pytest.raises(Fallback) as caught:
        ColumnarBackend(compiled).chunk(loaded, as_of)
    assert "calendar" in caught.value.reasons[0] and "2028" in caught.value.reasons[0]


def test_columnar_large_corpus_reads_kinds_from_the_whole_table(monkeypatch):
    """Above `SPLIT_ROWS` events the run reads each kind lazily from the whole table (memory) instead
    of splitting it first (speed on small corpora): the same results either way (Art 9-18, 26)."""
    import qrules.columnar as columnar

    monkeypatch.setattr(columnar.common, "SPLIT_ROWS", 0)
    assert compare("rulesets/guangdong-2021.yaml", operator_corpus(300, 11, GD_ITEMS, ["17.2", "17.3"])) > 250


def test_columnar_equals_engine_over_more_than_sixty_score_dates():
    """第七条、第二十六条: with the as-of date at the end of 2055 and the first records in 2021, more than 60
    half-year score dates, more than one 64-bit date mask holds: the sums are made in blocks of
    dates and still agree."""
    data = synth_corpus(500, 9)
    assert min(e["date"] for e in data["events"]) < dt.date(2022, 1, 1)
    assert compare("rulesets/guangdong-2021.yaml", data, dt.date(2055, 12, 31)) > 350


def test_columnar_equals_engine_when_scores_do_not_stay(tmp_path):
    """第八条 read as `stays_scored: false` (a subject is scored only while an entry counts): a
    producer's line then enters its minimum only at dates its product has sums (第十条); both
    backends agree subject by subject."""
    (tmp_path / "r.yaml").write_text(f"""qrules: 1
ruleset: not-staying
extends: {ROOT / "rulesets" / "guangdong-2021.yaml"}
version: test
title: 记录移出统计周期后不再评分
parameters:
  stays_scored: {{value: "false"}}
""", encoding="utf-8")
    assert compare(load(tmp_path / "r.yaml"), synth_corpus(1500, 5)) > 1000


def test_steps_side_by_side_keep_the_order_of_steps(monkeypatch):
    """The filings and spot checks run beside the deductions, the rewards beside the repairs (two
    threads): the refusals, counts and warnings come out exactly as if the steps ran one after the
    other in the listed order — compared, row order included, with a run made that way."""
    from qrules import columnar

    compiled = load(ROOT / "rulesets/guangdong-2021.yaml")
    loaded = load_history_data(synth_corpus(1500, 3))
    tables = Tables.from_history(loaded)
    threaded = ColumnarBackend(compiled).evaluate(tables, AS_OF)

    def now_or_later(self, step, first):
        """One after the other, on the run itself: a step listed first runs now, the other when joined."""
        return (step, step(self)) if first else (step, None)

    def joined(self, side):
        step, value = side
        return value if value is not None else step(self)

    monkeypatch.setattr(columnar.run.Run, "beside", now_or_later)
    monkeypatch.setattr(columnar.run.Run, "joined", joined)
    plain = ColumnarBackend(compiled).evaluate(tables, AS_OF)
    assert threaded["rejections"].height > 50
    assert set(threaded["rejections"]["kind"]) >= {"deduction", "repair", "reward", "filing", "spot_check"}
    assert threaded["rejections"].equals(plain["rejections"])
    assert threaded["rows"].equals(plain["rows"])
    assert threaded["warnings"] == plain["warnings"]
    assert {k: v for k, v in threaded.items() if isinstance(v, (int, dict))} == \
        {k: v for k, v in plain.items() if isinstance(v, (int, dict))}


def test_polars_compiler_compiles_from_two_threads():
    """Steps run side by side compile rules at the same time; the compiler keeps a compile's state
    (the tree's types, the columns) on itself, so compiles take turns: two threads compiling the
    window rule (第七条) and the class rules (第二十六条) get what one thread gets."""
    import sys
    import threading

    import polars as pl

    from qrules.columnar.polarsexpr import compile_many

    compiled = load(ROOT / "rulesets" / "guangdong-2021.yaml")
    b = ColumnarBackend(compiled)
    jobs = [(compiled.exprs["window.counts"], "window.counts",
             {("as_of",): pl.col("at"), ("entry", "date"): pl.col("d")})]
    jobs += [(compiled.class_exprs[name], "classes.when", {("score",): pl.col("s")}) for name in compiled.class_order]
    want = [str(compile_many(b.pc, e, b.scopes[k], cols)[0]) for e, k, cols in jobs]
    got: list = []

    def work(offset: int) -> None:
        for i in range(400):
            j = (i + offset) % len(jobs)
            e, k, cols = jobs[j]
            got.append(str(compile_many(b.pc, e, b.scopes[k], cols)[0]) == want[j])
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    assert len(got) == 800 and all(got)


def test_tables_name_each_events_subjects_by_their_rows_once():
    """Tables.subject_rows: an event's ``subject`` and each of its ``subjects`` as the row of that
    subject (null for an unknown name, an absent list absent; none for a kind the backend does not
    score), and a repair's ``of`` as the row of the event it names, worked out once: the evaluations
    then gather by row instead of hashing ids."""
    pl = pytest.importorskip("polars")
    subjects = pl.DataFrame({"id": ["a", "b", "c"]})
    events = pl.DataFrame({"id": ["e1", "e2", "e3", "e4", "e5", "r1", "r2"],
                           "kind": ["reward", "deduction", "deduction", "filing", "notice_sent", "repair", "repair"],
                           "subject": ["b", None, None, "x", "a", None, None],
                           "subjects": [None, ["c", "a"], ["x", "b"], None, [], None, None],
                           "of": [None, None, None, None, None, "e3", "zz"]})
    t = Tables(subjects, events, None)
    t.subject_rows()
    assert t.events["subject_row"].to_list() == [1, None, None, None, None, None, None]  # x unknown; a notice is not read
    assert t.events["subjects_rows"].to_list() == [None, [2, 0], [None, 1], None, None, None, None]
    # 第十五条: the event a repair names, as its row (zz: no such event)
    assert t.events["of_row"].to_list() == [None, None, None, None, None, 2, None]
    before = t.events
    t.subject_rows()
    assert t.events is before


def test_rewards_decided_beside_the_deductions_only_when_no_reward_rule_reads_them():
    """第十六条至第十八条 read a subject's spot-check record (clean years, failures) in guangdong-2021:
    spot-check deductions count there, so its rewards wait for the deductions. The simplified
    workload's reward rule reads none: its rewards are decided beside them."""
    import qrules.columnar as columnar

    def alone(path: str) -> bool:
        backend = ColumnarBackend(load(ROOT / path))
        return columnar.run.Run(backend, None, dt.date(2025, 12, 31)).rewards_alone()
    assert alone("bench/simplified.yaml") is True
    assert alone("rulesets/guangdong-2021.yaml") is False


def test_decision_days_are_the_distinct_dates_sorted_even_far_apart():
    """Brief §4a: the dates decisions are made on, each once, in order (nulls left out), also when they
    lie millennia apart (then sorted instead of marked in a table over their span)."""
    import polars as pl

    from qrules.columnar.common import distinct_days as _distinct_days

    near = pl.Series([dt.date(2024, 1, 3), dt.date(2024, 1, 1), None, dt.date(2024, 1, 3)], dtype=pl.Date)
    far = pl.Series([dt.date(1, 1, 1), dt.date(9999, 12, 31)], dtype=pl.Date)
    assert _distinct_days(pl, [near]).to_list() == [dt.date(2024, 1, 1), dt.date(2024, 1, 3)]
    assert _distinct_days(pl, [near, far]).to_list() == [dt.date(1, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 1, 3),
                                                         dt.date(9999, 12, 31)]
    assert _distinct_days(pl, [near.head(0)]).to_list() == []


def test_art18_cap_values_kept_by_a_backend_give_what_a_fresh_backend_gives():
    """第十八条: a backend keeps each value of the cap rule it evaluated (``cap_memo``: the rule reads
    the columns named in the key and ``granted`` alone) for its later runs. Evaluating several
    histories in turn with one backend gives what a fresh backend gives on each; and the values kept
    are the rule's: with 2 points capped per window (bench/simplified.yaml), a 1-point reward counts
    1 when nothing was granted before it, 1 when 1 was, 0 when 2 were."""
    from decimal import Decimal

    from qrules.columnar.polarsexpr import to_scaled

    for ruleset, items, rules in (("rulesets/guangdong-2021.yaml", GD_ITEMS, ["17.2", "17.3"]),
                                  ("bench/simplified.yaml", ["D1", "D3", "D6"], ["R"])):
        compiled = load(ROOT / ruleset)
        shared = ColumnarBackend(compiled)
        for seed in range(3):
            loaded = load_history_data(operator_corpus(150, 40 + seed, items, rules))
            got, want = shared.chunk(loaded, AS_OF), ColumnarBackend(compiled).chunk(loaded, AS_OF)
            assert got.subjects == want.subjects
            assert (got.events_counted, got.rejected_by_code) == (want.events_counted, want.rejected_by_code)
        assert shared.cap_memo
    one = to_scaled(Decimal(1), shared.scale)
    kept = {granted: counted for (names, values, granted), counted in shared.cap_memo.items()
            if values == (one,)}
    assert kept == {0: one, one: one, 2 * one: 0}


def test_tables_evaluated_again_give_what_fresh_tables_give():
    """What the tables keep for their later evaluations (the subjects' scope checks and the events'
    item and reward-rule rows per ruleset, the subjects each deduction names, the rewards' order by
    subject, the days decisions are made on, the latest date: ``Tables.memo``) never changes a
    result: the same tables evaluated under three rulesets and at
    several as-of dates, some before events of the history (第七条 window, 第二条 scope, brief §4a),
    give what fresh tables give each time; and a memo is forgotten when the tables' frames are
    replaced."""
    data = operator_corpus(200, 23, GD_ITEMS, ["17.2", "17.3"])
    loaded = load_history_data(data)
    shared = Tables.from_history(loaded)
    backends = {r: ColumnarBackend(load(ROOT / r)) for r in ("rulesets/guangdong-2021.yaml", "rulesets/haojiang-2023.yaml",
                                                              "bench/simplified.yaml")}  # other items and rules
    for as_of in (dt.date(2025, 12, 31), dt.date(2023, 3, 1), dt.date(2024, 6, 30), dt.date(2025, 12, 31)):
        for backend in backends.values():
            got = backend.evaluate(shared, as_of)
            want = backend.evaluate(Tables.from_history(loaded), as_of)
            assert got["rows"].equals(want["rows"]), (backend.m.ruleset, as_of)
            assert got["rejections"].sort(got["rejections"].columns).equals(
                want["rejections"].sort(want["rejections"].columns))
    import gc

    assert gc.isenabled()  # paused during each run only, as the engine pauses it
    assert shared.memo("x", lambda: 1) == 1 and shared.memo("x", lambda: 2) == 1
    shared.events = shared.events.head(10)
    assert shared.memo("x", lambda: 2) == 2


def test_cell_values_become_keys_whatever_their_type():
    """The reward cap's kept values (``cap_memo``) are keyed by the cells the rule reads: a list
    (roles) and a struct become tuples, equal cells equal keys."""
    from qrules.columnar.common import hashable as _hashable

    assert _hashable(["producer", "seller"]) == ("producer", "seller")
    assert _hashable({"b": [1], "a": None}) == (("a", None), ("b", (1,)))
    assert hash(_hashable([{"x": [1, 2]}])) == hash(_hashable([{"x": [1, 2]}]))
    assert _hashable(7) == 7 and _hashable(None) is None
