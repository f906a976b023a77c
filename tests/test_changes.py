"""The rule changes a province actually makes, written as child rulesets (tests/data/changes/):
each checks, evaluates a small history to hand-computed results (the case file), shows in
``qrules diff`` in domain words, and explains itself with the ruleset's own numbers and articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import GUANGDONG, ROOT, ded, operator, product
from qrules.cli import main

CHANGES = ROOT / "tests" / "data" / "changes"
FILES = sorted(CHANGES.glob("*.yaml"))


@pytest.fixture(autouse=True)
def _allow_rulesets(monkeypatch):
    """The changes extend ../../../rulesets/guangdong-2021.yaml: allowed as with --allow-path rulesets."""
    from qrules import loader

    monkeypatch.setattr(loader, "ALLOWED_PATHS", [GUANGDONG.parent])


def load_change(name: str):
    from qrules.versioned import load

    return load(CHANGES / f"{name}.yaml")


def test_there_are_eight_changes_and_each_checks(capsys):
    assert len(FILES) == 8
    assert main(["--allow-path", str(GUANGDONG.parent), "check", *map(str, FILES)]) == 0


def test_each_change_evaluates_to_its_hand_computed_results():
    from qrules.casetest import run_paths

    outcomes, coverage = run_paths([str(CHANGES / "cases")])
    assert [(o.name, o.status) for o in outcomes if o.status != "pass"] == []
    assert len(outcomes) == 9 and len(coverage) == 8


def test_each_change_is_covered_by_qrules_test():
    """Every rule a change file writes itself (its items, rewards, and each branch of its
    expressions) is exercised by the cases: coverage counts what was evaluated."""
    from qrules.casetest import run_paths

    _, coverage = run_paths([str(CHANGES / "cases")])
    own = {Path(c.file).name: (len(c.own), c.own_uncovered()) for c in coverage.values()}
    assert {name: missing for name, (_, missing) in own.items() if missing} == {}
    assert own["repair-third-quarter.yaml"][0] == 4  # both arms of each of its two conditions
    assert own["cable-item.yaml"][0] == 3  # the new item, its condition holding and failing


@pytest.mark.parametrize("name, words", [
    ("repair-first-in-window", "本次修复在经营者周期内的次序"),
    ("seller-window-24", "记录的事项编号"),
    ("cable-item", "仅当 `subject.category == \"电线电缆\"` 时适用"),
    ("clean-24-reward", "周期内的监督抽查"),
    ("reward-cap-by-kind", "经营者的角色"),
    ("dedup-200-lock-2", "锁定期限: 3 years → 2 years"),
    ("renumbered-successor", "A类 条款: 第二十六条第一款 → 第二十五条第一款"),
    ("repair-third-quarter", "修复比例值"),
])
def test_each_change_shows_in_diff_in_domain_words(capsys, name, words):
    main(["--allow-path", str(GUANGDONG.parent), "diff", str(GUANGDONG), str(CHANGES / f"{name}.yaml")])
    assert words in capsys.readouterr().out


def test_art9_art26_dedup_200_days_and_lock_2_years_are_explained_from_the_ruleset(run):
    from qrules.engine.explain import explain_subject

    c = load_change("dedup-200-lock-2")
    events = [ded("e1", "11.1", "2023-01-10", ["p1"]), ded("e2", "11.1", "2023-07-20", ["p1"]),
              ded("e3", "11.9", "2023-01-10", ["p2"])]
    r = run([operator("op1", 1), product("p1", "op1"), product("p2", "op1", brand="乙牌")], events, "2024-03-01",
            ruleset=c)
    p1, p2 = explain_subject(r, r.subject("p1"), c), explain_subject(r, r.subject("p2"), c)
    assert "200日内只记一次" in p1 and "180" not in p1
    assert "自 2023-07-01 起2年" in p2 and "3年" not in p2


def test_renumbered_successor_cites_its_own_articles_in_evaluate_explain_and_render(run):
    from qrules.engine.explain import explain_subject
    from qrules.render import render_markdown

    c = load_change("renumbered-successor")
    r = run([operator("op1", 1), product("p1", "op1")], [ded("e1", "11.4", "2026-07-01", ["p1"])], "2026-12-01",
            ruleset=c)
    p1 = r.subject("p1")
    assert p1.measures.cite == "第二十六条第（五）项"  # official O until the next adjustment
    text = explain_subject(r, p1, c) + explain_subject(r, r.subject("op1"), c)
    assert "第二十五条第二款" in text and "第二十六条第二款" not in text and "第二十七条" not in text
    doc = render_markdown(c)
    body, concordance = doc.split("## 条款对照 re-cited articles")
    assert "### 第二十五条" in body and "第二十六条第一款" not in body and "第二十七条" not in body
    assert "| `classes.A` | 第二十六条第一款 | 第二十五条第一款 |" in concordance


def test_renumbered_successor_unscored_subject_cites_the_new_class_article(run):
    from qrules.engine.explain import explain_subject

    c = load_change("renumbered-successor")
    r = run([operator("op1", 1)], [], "2026-12-01", ruleset=c)
    assert "O类（第二十五条第一款）" in explain_subject(r, r.subject("op1"), c)


def test_change_cases_run_through_the_batch_path_with_the_same_results(tmp_path):
    """The batch backend (chunks, worker processes) gives what the engine gives, for a new scope."""
    import datetime as dt

    from qrules.batch import evaluate_all
    from qrules.engine import evaluate
    from qrules.history import load_history_data

    c = load_change("repair-first-in-window")
    data = {"subjects": [operator("op1", 1), product("p1", "op1")],
            "events": [{"id": "f1", "kind": "filing", "subject": "op1", "date": "2022-12-01"},
                       ded("e1", "11.4", "2023-01-10", ["p1"]), ded("e2", "11.8", "2023-03-01", ["p1"]),
                       {"id": "r1", "kind": "repair", "of": "e2", "date": "2023-05-10", "rectified": True},
                       {"id": "r2", "kind": "repair", "of": "e1", "date": "2023-06-10", "rectified": True}]}
    loaded = load_history_data(data)
    as_of = dt.date(2024, 3, 1)
    direct = {s.id: s.score for s in evaluate(c, loaded.history, as_of).subjects}
    rows = evaluate_all(c, loaded, as_of, workers=1)[0]
    batch = {str(getattr(s, "id", None) or s["id"]): (getattr(s, "score", None) if not isinstance(s, dict)
                                                       else s["score"]) for s in rows}
    assert direct["p1"] == 10.5 and {k: str(v) for k, v in batch.items()} == {k: str(v) for k, v in direct.items()}


# -- bad input in the new scopes: located errors with did-you-mean (Chinese first) ----------------------------------------
@pytest.mark.parametrize("body, expected", [
    ('items:\n  "+11.10": {subject: product, title: x, points: -1, when: \'subject.categroy == "a"\', cite: 第十一条}\n',
     ("QR202", "item_subject has no field 'categroy'", "是否应为 'category'？（did you mean 'category'?）")),
    ('items:\n  "+11.10": {subject: product, title: x, points: -1, when: "subject.category", cite: 第十一条}\n',
     ("QR203", "expected bool, got string",
      "这里需要条件（true/false），实际是文字，条件写成比较，如 score >= 12（the place needs a bool）")),
    ('window:\n  counts: "as_of - window < entry.date <= as_of and entry.itme != \\"\\""\n',
     ("QR202", "entry has no field 'itme'", "是否应为 'item'？（did you mean 'item'?）")),
    ('rewards:\n  rules:\n    "16": {when: "count(c for c in spot_check if c.failed) == 0"}\n',
     ("QR201", "unknown name 'spot_check'", "是否应为 'spot_checks'？（did you mean 'spot_checks'?）")),
    ('rewards:\n  rules:\n    "16": {when: "spot_checks > 2"}\n',
     ("QR203", "cannot compare list[spot_check] with number",
      "比较两边应为同一类型，这里是spot_check 记录列表和数字（compare like with like）")),
    ('repair:\n  ratio: {value: "100% if repair.ordinl == 1 else 50%"}\n',
     ("QR202", "repair has no field 'ordinl'", "是否应为 'ordinal'？（did you mean 'ordinal'?）")),
    ('repair:\n  ratio: {value: "100% if prior_repair == 0 else 50%"}\n',
     ("QR201", "unknown name 'prior_repair'", "是否应为 'prior_repairs'？（did you mean 'prior_repairs'?）")),
    ('items:\n  "12.3": {when: \'"seller" in subject.roles\'}\n',  # a field the parent's item does not set
     ("QR302", "'when' does not exist in guangdong-2021 under items.12.3; an override must name an existing key",
      "上级 guangdong-2021 未设置此键，新增请写 '+when'（'when' is a field here that guangdong-2021 does not set: "
      "write '+when' to add it）")),
    ('items:\n  "+11.10": {subject: product, title: x, titel: y, points: -1, cite: 第十一条}\n',
     ("QR301", "unknown key 'titel' in items.11.10", "是否应为 'title'？（did you mean 'title'?）")),
])
def test_bad_input_in_new_scopes_is_located_with_a_hint(child, body, expected):
    from qrules.errors import QrulesError

    with pytest.raises(QrulesError) as exc:
        child(body)
    (d,) = [x for x in exc.value.diagnostics if x.severity == "error"]
    assert (d.code, d.message, d.hint) == expected and d.span.line > 4 and d.span.col > 1



@pytest.mark.parametrize("name", [f.stem for f in FILES])
def test_the_columnar_backend_gives_the_engine_results_or_falls_back(name):
    """The batch path for tables: a new scope the columnar backend cannot take is a Fallback
    (the engine then runs), never a crash or a different result."""
    import datetime as dt

    pytest.importorskip("polars")
    from qrules.batch import evaluate_all
    from qrules.columnar import ColumnarBackend, Fallback
    from qrules.history import load_history_data

    data = {"subjects": [operator("op1", 1, roles=("seller",))],
            "events": [{"id": "f1", "kind": "filing", "subject": "op1", "date": "2022-12-01"},
                       ded("e1", "12.3", "2023-01-10", ["op1"]), ded("e2", "12.7", "2023-03-01", ["op1"]),
                       {"id": "r1", "kind": "repair", "of": "e2", "date": "2023-05-10", "rectified": True},
                       {"id": "r2", "kind": "repair", "of": "e1", "date": "2023-06-10", "rectified": True}]}
    c, as_of = load_change(name), dt.date(2025, 3, 1)
    engine = evaluate_all(c, load_history_data(data), as_of, workers=1, rows=True)[0]
    try:
        columnar = ColumnarBackend(c).chunk(load_history_data(data), as_of).subjects
    except Fallback as exc:
        assert exc.reasons
        return
    assert columnar == engine


def test_render_shows_each_new_slot():
    from qrules.render import render_markdown

    assert '（仅当 `subject.category == "电线电缆"` 时适用）' in render_markdown(load_change("cable-item"))
    assert "entry.item in seller_items" in render_markdown(load_change("seller-window-24"))
    assert "spot_checks" in render_markdown(load_change("clean-24-reward"))
    assert "repair.ordinal" in render_markdown(load_change("repair-first-in-window"))
    assert "subject.roles" in render_markdown(load_change("reward-cap-by-kind"))


def test_renumbered_successor_check_hints_cite_its_class_article(tmp_path, monkeypatch):
    """A gap in the successor's classes is reported with its own class article, not 第二十六条."""
    from qrules.errors import QrulesError
    from qrules.versioned import load

    kid = tmp_path / "gap.yaml"
    kid.write_text(f"qrules: 1\nruleset: gap\nextends: {CHANGES / 'renumbered-successor.yaml'}\nversion: t\n"
                   'classes:\n  B: {when: "8 < score < 12"}\n', encoding="utf-8")
    from qrules import loader

    monkeypatch.setattr(loader, "ALLOWED_PATHS", [GUANGDONG.parent, CHANGES])
    with pytest.raises(QrulesError) as exc:
        load(kid)
    (d,) = [x for x in exc.value.diagnostics if x.code == "QR401"]
    assert "（第二十五条第一款）" in d.hint and "第二十六条" not in d.hint


def test_art26_a_child_that_moves_one_threshold_is_told_at_its_own_line(child):
    """第二十六条第一款: a successor moving B's upper bound to 11 leaves [11, 12) without a class; the
    gap is reported at the child's B (the line it wrote), not at the parent's A."""
    from qrules.errors import QrulesError

    with pytest.raises(QrulesError) as exc:
        child('classes:\n  B: {when: "6 < score < 11"}\n')
    (d,) = [x for x in exc.value.diagnostics if x.code == "QR401"]
    assert d.span.file.endswith("whatif.yaml") and (d.span.line, d.span.col) == (6, 13)
    assert "[11, 12)" in d.message and "check A and B" in d.hint


def test_art11_art12_removing_an_item_the_inherited_links_name_says_to_override_the_links(child):
    """第十一条第（九）项 removed (``"-11.9": null``) while 第十二条第（一）项's inherited link still names it:
    the hint says the links are inherited and must be overridden too (not "did you mean '12.9'")."""
    from qrules.errors import QrulesError

    with pytest.raises(QrulesError) as exc:
        child('items:\n  "-11.9": null\n')
    (d,) = [x for x in exc.value.diagnostics if x.code == "QR403"]
    assert d.message == "unknown item '11.9'" and d.span.file.endswith("guangdong-2021.yaml")
    assert "links.producer_of_product is inherited from" in d.hint and "whatif.yaml has no item '11.9'" in d.hint
    assert "12.9" not in d.hint


def test_art9_2_a_seller_linked_to_a_deduplicated_failure_is_not_scored(child):
    """Brief §3, Art 9(2) with links, under a changed link rule (第十二条第（一）项 reaching a named seller
    from 11.1 as well): e2 fails the same product line 51 days after e1, so it scores no subject — not
    p1, not the producer's 12.2 (intentional), and not the seller's 12.1 either. s1: 12 − 3 (e1) = 9,
    with both backends (it was 12 − 3 − 6 = 3)."""
    import datetime as dt

    from qrules import evaluate
    from qrules.columnar import ColumnarBackend, Tables
    from qrules.history import load_history_data

    c = child('links:\n  named_seller:\n    - {items: ["11.1", "11.2", "11.3", "11.5", "11.6", "11.7"], item: "12.1",'
              ' cite: 第十二条第（一）项}\n')
    line = {"model": "A", "standard": "GB 1"}
    data = {"subjects": [operator("op1", 1), operator("s1", 2, roles=("seller",)), product("p1", "op1")],
            "events": [ded("e1", "11.1", "2024-01-10", ["p1", "s1"], line=line),
                       ded("e2", "11.1", "2024-03-01", ["p1", "s1"], line=line, intentional=True)]}
    as_of = dt.date(2024, 12, 31)
    r = evaluate(c, load_history_data(data), as_of)
    assert {s.id: str(s.score) for s in r.subjects} == {"op1": "9", "s1": "9", "p1": "9"}
    (e2,) = [e for e in r.subject("s1").entries if e.event == "e2"]
    assert e2.status == "deduplicated"
    pytest.importorskip("polars")
    rows = ColumnarBackend(c).evaluate(Tables.from_history(load_history_data(data)), as_of)["rows"]
    assert dict(rows.select("id", "score").rows()) == {"op1": "9", "s1": "9", "p1": "9"}


def test_art26_art27_a_childs_new_class_without_measures_is_told_at_its_own_line(child):
    """A child adding class E (第二十六条) without its measures (第二十七条): located at the child's E,
    not in the parent's measures section it cannot edit."""
    from qrules.errors import QrulesError

    with pytest.raises(QrulesError) as exc:
        child('classes:\n  D: {when: "-12 <= score <= 0"}\n  "+E": {when: "score < -12", label: E类, cite: 第二十六条}\n')
    (d,) = [x for x in exc.value.diagnostics if x.code == "QR403"]
    assert d.message == "class 'E' has no measures" and d.span.file.endswith("whatif.yaml") and d.span.line == 7
    assert d.hint == "补充 measures.E（第二十七条）（add measures.E）"


@pytest.mark.parametrize("b_threshold, gap", [("11", "[11, 12)"), ("12", None)])
def test_art26_thresholds_written_as_parameters_are_proven(child, b_threshold, gap):
    """第二十六条第一款: check proves the classes cover every score once, also when a province writes
    the thresholds as parameters (``score >= a_threshold``): the parameters cut the score line too.
    B below 11 and A from 12 leave [11, 12) without a class (check said ok)."""
    from qrules.errors import QrulesError

    body = ("parameters:\n  +a_threshold: {value: \"12\", cite: 第二十六条}\n"
            f"  +b_threshold: {{value: \"{b_threshold}\", cite: 第二十六条}}\n"
            'classes:\n  A: {when: "score >= a_threshold"}\n  B: {when: "6 < score < b_threshold"}\n')
    if gap is None:
        assert not [d for d in child(body).diagnostics if d.code in ("QR401", "QR407")]
        return
    with pytest.raises(QrulesError) as exc:
        child(body)
    (d,) = [x for x in exc.value.diagnostics if x.code == "QR401"]
    assert d.message == f"class thresholds leave a gap: scores in {gap} match no class"


def test_art26_art34_thresholds_joined_with_and_or_not_are_proven(child):
    """第二十六条第一款 (第三十四条's wording) written with ``and``/``not``: still comparisons of score with
    numbers, so the partition is proven (no QR407 warning), and a gap so written is found."""
    from qrules.errors import QrulesError

    ok = child('classes:\n  B: {when: "score > 6 and score < 12"}\n  D: {when: "not (score > 0)"}\n')
    assert not [d for d in ok.diagnostics if d.code in ("QR401", "QR407")]
    with pytest.raises(QrulesError) as exc:
        child('classes:\n  B: {when: "score > 6 and score < 11"}\n', name="gap")
    (d,) = [x for x in exc.value.diagnostics if x.code == "QR401"]
    assert "[11, 12)" in d.message
    assert not [x for x in exc.value.diagnostics if x.code == "QR407"]
