"""qrules diff and impact: a ruleset change named in domain words, and whom it affects.

The central case (issue 4, "Done when"): a copy of guangdong-2021 with a changed class
threshold (第二十六条), a changed window (第七条) and a new item 12.11 (第十二条). ``diff``
must name exactly those three changes, the threshold as the score range that changes
class; ``impact`` must list exactly the subjects whose class changes, which the test
checks by evaluating both rulesets itself.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from qrules.cli import main
from qrules.engine import evaluate
from qrules.history import load_history, load_history_text
from qrules.review import class_ranges, diff, impact
from qrules.versioned import load

ROOT = Path(__file__).resolve().parents[1]
GUANGDONG = ROOT / "rulesets" / "guangdong-2021.yaml"
HAOJIANG = ROOT / "rulesets" / "haojiang-2023.yaml"
EXAMPLE_HISTORY = ROOT / "examples" / "haojiang-history.yaml"
AS_OF = dt.date(2025, 12, 31)

NEW_ITEM = ('  "12.11": {subject: operator, title: 新增测试事项, points: -2, intentional: -4, '
            'cite: 第十二条第（十一）项, provisional: true}\n')


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def changed_copy(text: str, *, threshold=True, window=True, item=True) -> str:
    if threshold:
        text = _edit(text, 'B: {when: "6 < score < 12"', 'B: {when: "8 < score < 12"')
        text = _edit(text, 'C: {when: "0 < score <= 6"', 'C: {when: "0 < score <= 8"')
    if window:
        text = _edit(text, 'window: {value: "36 months"', 'window: {value: "24 months"')
    if item:
        last = next(line for line in text.splitlines(keepends=True) if line.startswith('  "12.10":'))
        text = _edit(text, last, last + NEW_ITEM)
    return text


@pytest.fixture(scope="module")
def old():
    return load(GUANGDONG)


@pytest.fixture()
def new_path(tmp_path) -> Path:
    path = tmp_path / "guangdong-next.yaml"
    path.write_text(changed_copy(GUANGDONG.read_text(encoding="utf-8")), encoding="utf-8")
    return path


# A small history, as of 2025-12-31 (last adjustment 2025-07-01, scored as of 2025-06-30):
#   p1  11.1 + 11.5 = -4 -> 8: B under (6, 12), C under (0, 8]            -> B → C
#   p2  11.2 -6 on 2022-09-01: at 2025-06-30 inside 36 months, outside 24 -> C → A (live A both)
#   p3  11.1 -3 on 2023-06-01: outside 24 months at both dates              -> B → A, score 9 → 12
#   op2 item 12.11 (unknown to the old ruleset) -2 -> 10                    -> O → B
#   op3 12.7 -1 -> 11: B under both                                        -> unchanged
#   op1 producer of p1 and p2: its worst product line scores 6 either way  -> unchanged
HISTORY = """
subjects:
  - {id: op1, kind: operator, uscc: 91440512MA5XXXX01U, roles: [producer], region: "440512", name: 甲玩具厂}
  - {id: op2, kind: operator, uscc: 91440512MA5XXXX02Y, roles: [seller], region: "440512"}
  - {id: op3, kind: operator, uscc: 91440512MA5XXXX032, roles: [seller], region: "440512"}
  - {id: p1, kind: product, brand: 甲牌, nice_class: 28, producer: op1, category: 玩具}
  - {id: p2, kind: product, brand: 乙牌, nice_class: 9, producer: op1, category: 电器}
  - {id: p3, kind: product, brand: 丙牌, nice_class: 20, producer: op1, category: 家具}
events:
  - {id: e1, kind: deduction, item: "11.1", date: 2024-03-01, subjects: [p1], line: {model: X-1, standard: GB 6675.1}}
  - {id: e2, kind: deduction, item: "11.5", date: 2024-04-01, subjects: [p1]}
  - {id: e3, kind: deduction, item: "11.2", date: 2022-09-01, subjects: [p2]}
  - {id: e4, kind: deduction, item: "12.11", date: 2024-05-01, subjects: [op2]}
  - {id: e5, kind: deduction, item: "12.7", date: 2024-02-01, subjects: [op3]}
  - {id: e6, kind: deduction, item: "11.1", date: 2023-06-01, subjects: [p3], line: {model: Y-2, standard: QB/T 1}}
"""


@pytest.fixture()
def history_path(tmp_path) -> Path:
    path = tmp_path / "history.yaml"
    path.write_text(HISTORY, encoding="utf-8")
    return path


def _class_changes_by_evaluating(old_c, new_c, loaded, as_of):
    a = evaluate(old_c, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects)
    b = evaluate(new_c, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects)
    ca = {s.id: s for s in a.subjects}
    cb = {s.id: s for s in b.subjects}
    official = {i for i in ca.keys() | cb.keys()
                if (ca[i].official_class if i in ca else None) != (cb[i].official_class if i in cb else None)}
    live = {i for i in ca.keys() | cb.keys()
            if (ca[i].live_class if i in ca else None) != (cb[i].live_class if i in cb else None)}
    return official, live, ca, cb


# -- diff -------------------------------------------------------------------------------------------
def test_diff_names_exactly_the_three_changes(old, new_path):
    changes = diff(old, load(new_path))
    assert sorted((c.kind, c.path) for c in changes) == [
        ("class_range", "classes"), ("item_added", "items.12.11"), ("parameter_changed", "parameters.window.value")]
    by_kind = {c.kind: c for c in changes}
    rng = by_kind["class_range"]
    assert (rng.range, rng.old, rng.new, rng.cite) == ("(6, 8]", "B", "C", "第二十六条第一款")
    assert "scores in (6, 8] move from B to C" in rng.text
    window = by_kind["parameter_changed"]
    assert (window.old, window.new, window.cite) == ("36 months", "24 months", "第七条")
    assert window.text == "统计周期（window）: 36 months → 24 months（第七条）"
    item = by_kind["item_added"]
    assert item.new["points"] == Decimal(-2) and item.new["intentional"] == Decimal(-4)
    assert item.cite == "第十二条第（十一）项" and "12.11" in item.text


def test_art26_each_change_alone_is_one_change(old, tmp_path):
    text = GUANGDONG.read_text(encoding="utf-8")
    for flags, kind in (((True, False, False), "class_range"), ((False, True, False), "parameter_changed"),
                        ((False, False, True), "item_added")):
        path = tmp_path / f"{kind}.yaml"
        path.write_text(changed_copy(text, threshold=flags[0], window=flags[1], item=flags[2]), encoding="utf-8")
        assert [c.kind for c in diff(old, load(path))] == [kind]


def test_identical_rulesets_have_no_changes(old):
    assert diff(old, load(GUANGDONG)) == []


@pytest.mark.parametrize("b, c, expected", [
    # 第三十四条: moving a shared boundary from '<' to '<=' moves exactly one score
    ("6 <= score < 12", "0 < score < 6", [("exactly 6", "C", "B")]),
    ("8 < score < 12", "0 < score <= 8", [("(6, 8]", "B", "C")]),
    ("4.5 < score < 12", "0 < score <= 4.5", [("(4.5, 6]", "C", "B")]),
    ("6 < score < 12", "0 < score <= 6", []),
])
def test_art26_threshold_changes_are_score_ranges(old, tmp_path, b, c, expected):
    text = GUANGDONG.read_text(encoding="utf-8")
    text = _edit(text, 'B: {when: "6 < score < 12"', f'B: {{when: "{b}"')
    text = _edit(text, 'C: {when: "0 < score <= 6"', f'C: {{when: "{c}"')
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    new = load(path)
    moved = [(r.text, r.old, r.new) for r in class_ranges(old, new)[0] if r.old != r.new]
    assert moved == expected
    assert [(c.range, c.old, c.new) for c in diff(old, new) if c.kind == "class_range"] == expected


def test_rewritten_condition_with_same_scores_is_not_a_range(old, tmp_path):
    text = _edit(GUANGDONG.read_text(encoding="utf-8"), 'A: {when: "score >= 12"', 'A: {when: "12 <= score"')
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    changes = diff(old, load(path))
    assert [(c.kind, c.path) for c in changes] == [("class_rewritten", "classes.A.when")]


def test_diff_reports_revalued_items_measures_and_validity(old, tmp_path):
    text = GUANGDONG.read_text(encoding="utf-8")
    text = _edit(text, "title: 监督抽查不合格, points: -3, intentional: -6", "title: 监督抽查不合格, points: -4, intentional: -6")
    text = _edit(text, "    checks_per_year: 2\n", "    checks_per_year: 3\n")
    text = _edit(text, "until: 2026-06-04", "until: 2027-06-04")
    text = _edit(text, "  notify_industry: {when: \"scored\", cite: 第三十二条, note: 可向行业协会、电子商务平台等通报}\n", "")
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    changes = {c.path: c for c in diff(old, load(path))}
    assert set(changes) == {"items.11.1.points", "measures.C.checks_per_year", "in_force.until",
                            "information_use.notify_industry"}
    assert changes["items.11.1.points"].kind == "item_changed"
    assert changes["items.11.1.points"].text == "失信事项 11.1「监督抽查不合格」分值: -3 → -4（第十一条第（一）项）"
    assert changes["measures.C.checks_per_year"].cite == "第二十七条第（三）项"
    assert changes["in_force.until"].kind == "validity_changed"
    assert changes["information_use.notify_industry"].kind == "flag_removed"


def test_diff_of_district_plan_against_province_names_its_overrides(old):
    changes = diff(old, load(HAOJIANG))
    paths = {c.path for c in changes}
    assert {"jurisdiction.division", "in_force.from", "authorities.levels.district",
            "authorities.levels.office"} <= paths
    assert not any(c.path.startswith(("items", "classes", "parameters", "measures")) for c in changes)


# -- impact ---------------------------------------------------------------------------------------
def test_impact_lists_exactly_the_subjects_whose_class_changes(old, new_path, history_path):
    new = load(new_path)
    loaded = load_history(history_path)
    official, live, ca, cb = _class_changes_by_evaluating(old, new, loaded, AS_OF)
    assert official == {"p1", "p2", "p3", "op2"}  # the stories of the history above
    imp = impact(old, new, loaded, AS_OF)
    assert {s.id for s in imp.class_changes} == official
    assert {s.id for s in imp.live_changes} == live
    for s in imp.subjects:
        assert s.old_official == (ca[s.id].official_class if s.id in ca else "—")
        assert s.new_official == (cb[s.id].official_class if s.id in cb else "—")
    by_id = {s.id: s for s in imp.subjects}
    assert (by_id["p1"].old_official, by_id["p1"].new_official) == ("B", "C")
    assert any("(6, 8]" in r for r in by_id["p1"].reasons)
    assert (by_id["p2"].old_official, by_id["p2"].new_official) == ("C", "A")
    assert any("e3" in r and "超出统计周期" in r for r in by_id["p2"].reasons)
    assert (by_id["op2"].old_official, by_id["op2"].new_official) == ("O", "B")
    assert any("e4" in r and "QR601" in r for r in by_id["op2"].reasons)
    assert imp.matrix()[("B", "C")] == 1 and imp.matrix()[("C", "A")] == 1 and imp.matrix()[("O", "B")] == 1
    assert by_id["p2"].delta == 0 and by_id["p3"].delta == Decimal(3) and by_id["op2"].delta is None
    assert (by_id["p3"].old_live, by_id["p3"].new_live) == ("B", "A")
    assert any("e6" in r and "超出统计周期" in r for r in by_id["p3"].reasons)
    stats = imp.delta_stats()
    assert stats["changed"] == 1 and stats["max"] == Decimal(3)


@pytest.mark.skipif(not EXAMPLE_HISTORY.exists(), reason="examples/haojiang-history.yaml not written yet")
def test_impact_on_example_history_of_a_haojiang_revision(tmp_path):
    """The district plan as OLD; a child of it with the same three changes as NEW."""
    child = tmp_path / "haojiang-next.yaml"
    child.write_text(f"""
qrules: 1
ruleset: haojiang-next
extends: {HAOJIANG.as_posix()}
version: "2026.0"
title: 濠江区方案修订稿（测试）
parameters:
  window: {{value: "24 months"}}
items:
{NEW_ITEM.replace('"12.11"', '"+12.11"')}
classes:
  B: {{when: "8 < score < 12"}}
  C: {{when: "0 < score <= 8"}}
""", encoding="utf-8")
    old_c, new_c = load(HAOJIANG), load(child)
    changes = diff(old_c, new_c)
    assert sorted(c.kind for c in changes if c.kind != "metadata_changed") == [
        "class_range", "item_added", "parameter_changed"]
    loaded = load_history(EXAMPLE_HISTORY)
    official, live, _, _ = _class_changes_by_evaluating(old_c, new_c, loaded, AS_OF)
    imp = impact(old_c, new_c, loaded, AS_OF)
    assert {s.id for s in imp.class_changes} == official
    assert {s.id for s in imp.live_changes} == live
    assert official  # the 24-month window moves somebody


def test_impact_of_identical_rulesets_is_empty(old, history_path):
    imp = impact(old, load(GUANGDONG), load_history(history_path), AS_OF)
    assert imp.class_changes == [] and imp.live_changes == [] and imp.score_changes == []


# -- command line ---------------------------------------------------------------------------------
def test_cli_diff_text(capsys, new_path):
    assert main(["diff", str(GUANGDONG), str(new_path)]) == 0
    out = capsys.readouterr().out
    assert "scores in (6, 8] move from B to C" in out
    assert "统计周期（window）: 36 months → 24 months（第七条）" in out
    assert "12.11" in out and "3 changes" in out


def test_cli_diff_markdown(capsys, new_path):
    assert main(["diff", str(GUANGDONG), str(new_path), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### ")
    assert "#### 信用分类（classes）" in out and "- 信用分类界限: 得分在 (6, 8] 内的由 B类 改为 C类" in out


def test_cli_diff_json(capsys, new_path):
    assert main(["diff", str(GUANGDONG), str(new_path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["changed"] is True
    assert sorted(c["kind"] for c in data["changes"]) == ["class_range", "item_added", "parameter_changed"]
    item = next(c for c in data["changes"] if c["kind"] == "item_added")
    assert item["new"]["points"] == "-2" and item["old"] is None
    assert all(set(c) >= {"kind", "path", "old", "new", "cite", "text"} for c in data["changes"])


def test_cli_diff_exit_codes(capsys, new_path, tmp_path):
    assert main(["diff", str(GUANGDONG), str(new_path), "--exit-code"]) == 1
    assert main(["diff", str(GUANGDONG), str(GUANGDONG), "--exit-code"]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(_edit(GUANGDONG.read_text(encoding="utf-8"), 'A: {when: "score >= 12"', 'A: {when: "scroe >= 12"'),
                   encoding="utf-8")
    assert main(["diff", str(GUANGDONG), str(bad), "--exit-code"]) == 2
    assert main(["diff", str(GUANGDONG), str(bad)]) == 1
    assert "scroe" in capsys.readouterr().err


def test_cli_diff_output_file(capsys, new_path, tmp_path):
    out = tmp_path / "diff.md"
    assert main(["diff", str(GUANGDONG), str(new_path), "--format", "markdown", "-o", str(out)]) == 0
    assert "(6, 8]" in out.read_text(encoding="utf-8") and capsys.readouterr().out == ""


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_cli_impact_formats(capsys, new_path, history_path, fmt):
    assert main(["impact", str(GUANGDONG), str(new_path), str(history_path), "--as-of", "2025-12-31",
                 "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        data = json.loads(out)
        assert {s["id"] for s in data["class_changes"]} == {"p1", "p2", "p3", "op2"}
        assert {"old": "B", "new": "C", "count": 1} in data["official_matrix"]
        assert data["score_deltas"]["stats"]["changed"] == 1
        assert data["as_of"] == "2025-12-31"
    elif fmt == "markdown":
        assert "| old \\ new |" in out and "| p1 | product | B → C |" in out
    else:
        assert "4 change official class" in out and "B → C: 1" in out
        assert "  p1  B → C" in out


def test_cli_impact_missing_history_is_an_input_error(capsys, new_path, tmp_path):
    assert main(["impact", str(GUANGDONG), str(new_path), str(tmp_path / "nope.yaml"), "--as-of", "2025-12-31"]) == 1


# -- REV:path (git) -------------------------------------------------------------------------------
def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=qrules-test", "-c", "user.email=test@example.invalid",
                    "-c", "commit.gpgsign=false", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_diff_reads_rulesets_at_git_revisions(tmp_path, monkeypatch, capsys):
    rules = tmp_path / "rulesets"
    rules.mkdir()
    text = GUANGDONG.read_text(encoding="utf-8")
    (rules / "guangdong-2021.yaml").write_text(text, encoding="utf-8")
    (rules / "haojiang-2023.yaml").write_text(HAOJIANG.read_text(encoding="utf-8"), encoding="utf-8")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "v1")
    (rules / "guangdong-2021.yaml").write_text(changed_copy(text), encoding="utf-8")
    _git(tmp_path, "commit", "-q", "-am", "v2")
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "HEAD~1:rulesets/guangdong-2021.yaml", "HEAD:rulesets/guangdong-2021.yaml",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(c["kind"] for c in data["changes"]) == ["class_range", "item_added", "parameter_changed"]
    # the child at the old revision inherits its parent at the same revision
    assert main(["diff", "HEAD~1:rulesets/haojiang-2023.yaml", "rulesets/haojiang-2023.yaml", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(c["kind"] for c in data["changes"]) == ["class_range", "item_added", "parameter_changed"]
    assert main(["diff", "HEAD~5:rulesets/guangdong-2021.yaml", "rulesets/guangdong-2021.yaml"]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_impact_accepts_history_text(old, new_path):
    loaded = load_history_text(HISTORY, "inline.yaml")
    assert {s.id for s in impact(old, load(new_path), loaded, AS_OF).class_changes} == {"p1", "p2", "p3", "op2"}
