"""Ruleset files: loading, inheritance, static checks, golden errors, hostile input."""

from __future__ import annotations


from pathlib import Path

import pytest

from conftest import GUANGDONG, HAOJIANG
from qrules.cli import main
from qrules.errors import QrulesError, render
from qrules.versioned import load

GD_TEXT = GUANGDONG.read_text(encoding="utf-8")


def problems(path) -> list[str]:
    """Rendered first lines of every diagnostic for ``path`` (empty when it checks)."""
    try:
        load(path)
    except QrulesError as exc:
        return [render(d, source=False).splitlines()[0] for d in exc.diagnostics if d.severity == "error"]
    return []


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def variant(tmp_path: Path, old: str, new: str, name: str = "variant.yaml") -> Path:
    assert old in GD_TEXT, old
    return write(tmp_path, name, GD_TEXT.replace(old, new, 1))


# -- the two rulesets ---------------------------------------------------------------------------------
def test_both_rulesets_check_clean_and_report_provisional_count(capsys):
    assert main(["check", str(GUANGDONG), str(HAOJIANG)]) == 0
    out = capsys.readouterr().out
    assert out.count("23 provisional values") == 2


def test_haojiang_inherits_and_overrides_with_provenance():
    c = load(HAOJIANG)
    r = c.resolved
    assert c.model.jurisdiction.division == "440512"
    assert c.model.in_force.until.isoformat() == "2026-06-04"           # inherited
    assert r.span(("in_force", "until")).file.endswith("guangdong-2021.yaml")
    assert r.span(("in_force", "from")).file.endswith("haojiang-2023.yaml")
    assert r.span(("items", "11.1", "points")).file.endswith("guangdong-2021.yaml")
    assert "district" in c.model.authorities.levels and "province" in c.model.authorities.levels


def test_show_resolved_names_origin_of_each_value(capsys):
    assert main(["show", str(HAOJIANG), "--resolved"]) == 0
    out = capsys.readouterr().out
    assert "in_force.until = \"2026-06-04\"" in out and "guangdong-2021.yaml:15  (inherited)" in out
    assert "jurisdiction.division = \"440512\"    # " in out and "haojiang-2023.yaml:20" in out


# -- inheritance ----------------------------------------------------------------------------------------
def child_text(body: str) -> str:
    return f"qrules: 1\nruleset: kid\nextends: {GUANGDONG}\nversion: '1'\n{body}"


def test_inheritance_override_replaces_value(tmp_path):
    c = load(write(tmp_path, "kid.yaml", child_text('parameters:\n  window: {value: "24 months"}\n')))
    assert str(c.params["window"]) == "24 months"
    # Mappings merge key by key: the value is the child's, the citation still the parent's.
    assert c.model.parameters["window"].cite == "第七条"
    assert c.resolved.span(("parameters", "window", "value")).file.endswith("kid.yaml")
    assert c.resolved.span(("parameters", "window", "cite")).file.endswith("guangdong-2021.yaml")


def test_inheritance_removal_is_explicit(tmp_path):
    c = load(write(tmp_path, "kid.yaml", child_text('items:\n  "-12.10": null\n')))
    assert "12.10" not in c.model.items and "12.9" in c.model.items


def test_inheritance_add_needs_plus(tmp_path):
    body = 'items:\n  "+13.1": {subject: operator, title: 新事项, points: -1, cite: 第十二条}\n'
    c = load(write(tmp_path, "kid.yaml", child_text(body)))
    assert "13.1" in c.model.items


def test_inheritance_typo_override_is_error_with_suggestion(tmp_path):
    path = write(tmp_path, "kid.yaml", child_text('parameters:\n  windw: {value: "24 months"}\n'))
    assert problems(path) == [
        f"{path}:6:3: error[QR302]: 子规则集覆盖了上级规则集中不存在的键：'windw' does not exist in guangdong-2021 under parameters; "
        "an override must name an existing key"]
    with pytest.raises(QrulesError) as exc:
        load(path)
    assert "did you mean 'window'?" in exc.value.diagnostics[0].hint


def test_inheritance_cycle_is_error(tmp_path):
    write(tmp_path, "a.yaml", "qrules: 1\nruleset: a\nextends: b\nversion: '1'\n")
    write(tmp_path, "b.yaml", "qrules: 1\nruleset: b\nextends: a\nversion: '1'\n")
    out = problems(tmp_path / "a.yaml")
    assert len(out) == 1 and "error[QR304]" in out[0] and "a.yaml -> b.yaml -> a.yaml" in out[0]


def test_inheritance_missing_parent_is_error(tmp_path):
    path = write(tmp_path, "kid.yaml", "qrules: 1\nruleset: kid\nextends: guangdong-2099\nversion: '1'\n")
    assert problems(path) == [f"{path}:3:10: error[QR303]: 找不到 extends 指定的上级规则集：parent ruleset 'guangdong-2099' not found "
                              f"(looked for {tmp_path}/guangdong-2099.yaml)"]


def test_removing_a_key_the_parent_lacks_is_error(tmp_path):
    path = write(tmp_path, "kid.yaml", child_text('items:\n  "-99.9": null\n'))
    assert [p.split(": error")[1] for p in problems(path)] == [
        "[QR305]: '+键' 新增的键上级已有，或 '-键' 删除的键上级没有：'-99.9' removes '99.9', but guangdong-2021 has no such key"]


def test_plus_outside_the_quotes_is_refused_with_a_hint(tmp_path):
    path = write(tmp_path, "kid.yaml", child_text('items:\n  +"11.10": {subject: product, title: 新事项, points: -1, '
                                                  'cite: 第十一条}\n'))
    with pytest.raises(QrulesError) as exc:
        load(path)
    (d,) = exc.value.diagnostics
    assert (d.code, d.span.line, d.span.col, d.hint) == ("QR308", 6, 3, '把 + 写在引号内："+11.10":（put the sign inside the quotes）')


# -- static checks: partition proof (第二十六条) ----------------------------------------------------------
@pytest.mark.parametrize("old, new, expected", [
    ('B: {when: "6 < score < 12"', 'B: {when: "6.5 < score < 12"',
     ["class thresholds leave a gap: scores in (6, 6.5] match no class"]),
    ('A: {when: "score >= 12"', 'A: {when: "score > 12"',
     ["class thresholds leave a gap: a score of 12 matches no class"]),
    ('C: {when: "0 < score <= 6"', 'C: {when: "0 <= score <= 6"',
     ["class thresholds overlap: a score of 0 matches C and D"]),
    ('B: {when: "6 < score < 12"', 'B: {when: "5 < score < 12"',
     ["class thresholds overlap: scores in (5, 6] match B and C"]),
    ('D: {when: "score <= 0"', 'D: {when: "score <= -3"',
     ["class thresholds leave a gap: scores in (-3, 0] match no class"]),
])
def test_partition_proof_reports_exact_gap_or_overlap(tmp_path, old, new, expected):
    path = variant(tmp_path, old, new)
    got = [p.split(": error[QR401]: 信用分类界限在分数轴上有空缺或重叠：")[1] for p in problems(path)]
    assert got == expected


def test_partition_error_points_at_classes(tmp_path):
    path = variant(tmp_path, 'B: {when: "6 < score < 12"', 'B: {when: "7 < score < 12"')
    with pytest.raises(QrulesError) as exc:
        load(path)
    d = exc.value.diagnostics[0]
    # The gap (6, 7] lies between C and B: the caret goes to B's condition, the hint names both.
    b_line = next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if t.startswith("  B: "))
    assert d.code == "QR401" and d.span.line == b_line and "check B and C" in d.hint and "检查 B、C 类" in d.hint


# -- static checks: citations, references, validity, types -------------------------------------------
def test_item_without_citation_is_error(tmp_path):
    path = variant(tmp_path, ", cite: 第十一条第（七）项", "")
    assert [p.split(": ", 1)[1] for p in problems(path)] == ["error[QR402]: 规则缺少条款引用：item '11.7' has no citation"]


def test_link_to_unknown_item_is_error_with_suggestion(tmp_path):
    path = variant(tmp_path, 'item: "12.2", when', 'item: "12.20", when')
    with pytest.raises(QrulesError) as exc:
        load(path)
    d = exc.value.diagnostics[0]
    assert (d.code, d.message, d.hint) == ("QR403", "unknown item '12.20'", "是否应为 '12.2'？（did you mean '12.2'?）")


def test_in_force_until_before_from_is_error(tmp_path):
    path = variant(tmp_path, "until: 2026-06-04", "until: 2020-06-04")
    assert [p.split(": ", 1)[1] for p in problems(path)] == [
        "error[QR404]: 有效期日期前后矛盾：in_force.until (2020-06-04) is before in_force.from (2021-06-05)"]


def test_parameter_of_wrong_type_is_error(tmp_path):
    path = variant(tmp_path, 'window: {value: "36 months"', 'window: {value: "36"')
    out = problems(path)
    assert len(out) == 1 and "error[QR405]: 参数取值类型不对：parameter 'window' must be a duration, got number ('36')" in out[0]


def test_unknown_name_in_expression_located_in_yaml(tmp_path):
    path = variant(tmp_path, 'B: {when: "6 < score < 12"', 'B: {when: "6 < scroe < 12"')
    with pytest.raises(QrulesError) as exc:
        load(path)
    d = next(x for x in exc.value.diagnostics if x.code == "QR201")
    line_no = next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "scroe" in t)
    col = path.read_text(encoding="utf-8").splitlines()[line_no - 1].index("scroe") + 1
    assert (d.span.line, d.span.col) == (line_no, col)
    assert d.hint == "是否应为 'score'？（did you mean 'score'?）"


def test_expression_in_block_scalar_located_in_yaml(tmp_path):
    text = GD_TEXT.replace('    - when: "repair.rectified"\n', '    - when: |\n        repair.rectifed\n')
    path = write(tmp_path, "block.yaml", text)
    with pytest.raises(QrulesError) as exc:
        load(path)
    d = next(x for x in exc.value.diagnostics if x.code == "QR202")
    line_no = next(i for i, t in enumerate(text.splitlines(), 1) if "repair.rectifed" in t)
    assert (d.span.line, d.span.col) == (line_no, 16)   # the field name after 'repair.'


def test_all_problems_of_a_file_reported_at_once(tmp_path):
    text = (GD_TEXT.replace('B: {when: "6 < score < 12"', 'B: {when: "6 < scroe < 12"')
            .replace('"repair.rectified"', '"repair.rectifed"')
            .replace("reward_cap: {value: \"2\"", "reward_cap: {value: \"2 days\""))
    codes = sorted(d.code for d in _diags(write(tmp_path, "many.yaml", text)))
    assert codes == ["QR201", "QR202", "QR405"]


def test_art26_impossible_adjustment_date_has_its_own_code(tmp_path):
    # 第二十六条第二款: the half-year adjustment dates are days of the year; 07-32 is not one.
    path = variant(tmp_path, 'dates: ["01-01", "07-01"]', 'dates: ["01-01", "07-32"]')
    (d,) = _diags(path)
    line = next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "07-32" in t)
    assert (d.code, d.span.line) == ("QR408", line) and "'07-32' is not a day of the year" in d.message
    assert f"{path}:{line}:" in render(d, source=False) and "error[QR408]: 调整日期不是一年中存在的日期" in render(d)


def test_misspelt_transition_does_not_hide_the_other_errors_of_the_file(tmp_path, capsys):
    # §4a successor: a key the merge refuses (QR302) no longer stops the check of the rest.
    kid = write(tmp_path, "kid.yaml", child_text('transtion: redecide\nclasses:\n  B: {when: "6 < scroe < 12"}\n'))
    diags = _diags(kid)
    assert [d.code for d in diags] == ["QR302", "QR201"]
    assert diags[0].hint == "是否应为 'transition'？（did you mean 'transition'?）" and (diags[1].span.line, diags[1].span.col) == (7, 18)
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert "2 error(s)" in err and "Traceback" not in err


def test_schema_error_does_not_hide_expression_errors_elsewhere(tmp_path):
    text = (GD_TEXT.replace('counts: "as_of - window < entry.date <= as_of"', "counts: [1]")
            .replace('B: {when: "6 < score < 12"', 'B: {when: "6 < scroe < 12"'))
    assert [d.code for d in _diags(write(tmp_path, "two.yaml", text))] == ["QR301", "QR201"]


@pytest.mark.parametrize("old, new", [
    ('window: {value: "36 months"', 'window: {value: ["36 months"]'),       # window.counts reads it
    ('"11.1": {subject: product, title: 监督抽查不合格, points: -3',           # links.producer_of_product name it
     '"11.1": {subject: product, title: 监督抽查不合格, points: abc'),
    ("parameters:\n", "parameters: []\nparamters:\n"),                       # a whole section refused
])
def test_refused_value_gives_no_follow_on_errors(tmp_path, old, new):
    codes = [d.code for d in _diags(variant(tmp_path, old, new))]
    assert codes in (["QR301"], ["QR306", "QR301"]), codes


def test_schema_error_does_not_hide_unknown_references_elsewhere(tmp_path):
    text = (GD_TEXT.replace("points: -3, intentional: -6, spot_check: true", "points: abc, intentional: -6, "
                            "spot_check: true", 1)
            .replace('item: "12.2", when', 'item: "12.20", when'))
    diags = _diags(write(tmp_path, "refs.yaml", text))
    assert [(d.code, d.message) for d in diags] == [
        ("QR301", "items.11.1.points: 应为数字，实际为 'abc'（must be a number, not 'abc'）"),
        ("QR403", "unknown item '12.20'")]


def test_reference_to_a_key_the_merge_refused_is_not_reported_again(tmp_path):
    body = ('items:\n  "12.99": {subject: operator, title: 新事项, points: -1, cite: 第十二条}\n'
            'links:\n  named_seller:\n    - {items: ["12.99"], item: "12.1", cite: 第十二条第（一）项}\n')
    diags = _diags(write(tmp_path, "kid.yaml", child_text(body)))
    assert [d.code for d in diags] == ["QR302"] and "'+12.99'" in diags[0].hint


def _diags(path):
    try:
        load(path)
    except QrulesError as exc:
        return [d for d in exc.diagnostics if d.severity == "error"]
    return []


# -- hostile input: clean errors, quickly, never a traceback --------------------------------------------
def _check_fails_cleanly(path, capsys, code):
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"error[{code}]" in err and "Traceback" not in err
    return err


def test_malformed_yaml(tmp_path, capsys):
    err = _check_fails_cleanly(write(tmp_path, "bad.yaml", "ruleset: x\nitems: [1, 2\n"), capsys, "QR002")
    assert "bad.yaml:3:1" in err


def test_billion_laughs_refused(tmp_path, capsys):
    lol = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    lol += "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    _check_fails_cleanly(write(tmp_path, "lol.yaml", lol), capsys, "QR003")


@pytest.mark.parametrize("depth, code", [(10000, "QR103"), (1000, "QR104")])
def test_deeply_nested_expression_refused(tmp_path, capsys, depth, code):
    deep = "(" * depth + "score" + ")" * depth
    path = variant(tmp_path, 'A: {when: "score >= 12"', f'A: {{when: "{deep} >= 12"')
    _check_fails_cleanly(path, capsys, code)


def test_deeply_nested_yaml_refused(tmp_path, capsys):
    _check_fails_cleanly(write(tmp_path, "deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n"), capsys, "QR005")


def test_huge_file_refused_before_reading(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(100 * 1024 * 1024)
    err = _check_fails_cleanly(path, capsys, "QR001")
    assert "100 MB" in err or "105 MB" in err


def test_huge_number_refused(tmp_path, capsys):
    path = variant(tmp_path, 'start_score: {value: "12"', 'start_score: {value: "1e999999"')
    _check_fails_cleanly(path, capsys, "QR101")


def test_impossible_date_refused(tmp_path, capsys):
    err = _check_fails_cleanly(variant(tmp_path, "from: 2021-06-05", "from: 2023-02-30"), capsys, "QR006")
    assert "2023-02-30" in err


def test_unknown_key_refused_with_suggestion(tmp_path, capsys):
    err = _check_fails_cleanly(variant(tmp_path, "  excluded_categories:", "  excluded_categorys:"), capsys, "QR301")
    assert "did you mean 'excluded_categories'?" in err


def test_type_error_refused(tmp_path, capsys):
    err = _check_fails_cleanly(variant(tmp_path, 'A: {when: "score >= 12"', 'A: {when: "score + 12"'),
                               capsys, "QR203")
    assert "expected bool, got number" in err


def test_missing_file_is_error_not_traceback(capsys):
    assert main(["check", "no/such/file.yaml"]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2


def test_check_json_format(capsys):
    import json

    assert main(["check", str(HAOJIANG), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report[0]["ok"] and report[0]["provisional"] == 23 and report[0]["extends"][0].endswith("guangdong-2021.yaml")


# -- remaining loader and audit codes, golden -------------------------------------------------------------
def test_duplicate_key_refused(tmp_path):
    path = write(tmp_path, "dup.yaml", GD_TEXT.replace("qrules: 1\n", "qrules: 1\nqrules: 1\n", 1))
    assert [p.split(": ", 1)[1] for p in problems(path)] == ["error[QR004]: 同一映射中键重复：duplicate key 'qrules'"]


def test_unknown_top_level_key_refused_with_suggestion(tmp_path):
    path = write(tmp_path, "top.yaml", GD_TEXT + "\nparamters: {}\n")
    with pytest.raises(QrulesError) as exc:
        load(path)
    d = exc.value.diagnostics[0]
    assert (d.code, d.message, d.hint) == ("QR306", "unknown top-level key 'paramters'", "是否应为 'parameters'？（did you mean 'parameters'?）")


def test_not_a_mapping_refused(tmp_path):
    path = write(tmp_path, "list.yaml", "- a\n- b\n")
    assert [p.split(": ", 1)[1] for p in problems(path)] == [
        f"error[QR307]: 文件不是规则集：'{path}' is not a ruleset: expected a mapping of keys such as 'ruleset:', 'items:'"]


def test_provisional_count_is_an_info_diagnostic():
    infos = [d for d in load(GUANGDONG).diagnostics if d.code == "QR406"]
    assert len(infos) == 1 and infos[0].severity == "info"
    assert infos[0].message == "23 provisional values (the score table of 第十九条 is not yet official)"


def test_unprovable_partition_warns(tmp_path):
    path = variant(tmp_path, 'A: {when: "score >= 12"', 'A: {when: "score * 2 >= 24"')
    warnings = [d for d in load(path).diagnostics if d.code == "QR407"]
    assert len(warnings) == 1 and warnings[0].severity == "warning"


def test_official_score_table_is_a_data_edit(tmp_path):
    text = GD_TEXT.replace(", provisional: true}", "}").replace("      provisional: true\n", "")
    compiled = load(write(tmp_path, "official.yaml", text))
    assert compiled.provisional_count() == 0
    assert not [d for d in compiled.diagnostics if d.code == "QR406"]
