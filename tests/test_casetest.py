"""``qrules test``: YAML test cases written by policy staff, and the coverage report."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from qrules.casetest import collect, run_paths
from qrules.cli import main

ROOT = Path(__file__).resolve().parents[1]
GD = ROOT / "rulesets" / "guangdong-2021.yaml"
HJ = ROOT / "rulesets" / "haojiang-2023.yaml"

SUBJECTS = """\
      subjects:
        - {id: op1, kind: operator, uscc: 91440512MA5AAAAA1W, roles: [producer], region: "440512"}
        - {id: p1, kind: product, brand: 甲牌, nice_class: 28, producer: op1}
"""


def write_case(tmp_path: Path, body: str, name: str = "cases.yaml", ruleset: Path = GD) -> Path:
    path = tmp_path / name
    path.write_text(f"ruleset: {ruleset}\nas_of: 2024-03-01\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["test", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


ONE_DEDUCTION = """\
cases:
  - name: 第十一条第（四）项 未经许可
    history:
{subjects}      events:
        - {{id: e1, kind: deduction, item: "11.4", date: 2023-03-01, subjects: [p1]}}
    expect:
      p1: {{score: {score}, class: {cls}, official: {cls}}}
"""


def test_passing_case_file_exits_0_with_pass_line_and_summary(tmp_path, capsys):
    path = write_case(tmp_path, ONE_DEDUCTION.format(subjects=SUBJECTS, score=9, cls="B"))
    code, out = run(capsys, str(path))
    assert code == 0
    assert f"PASS  {path}::第十一条第（四）项 未经许可" in out
    assert out.rstrip().splitlines()[-1] == "1 passed, 0 failed"


def test_failing_case_shows_expected_actual_and_explanation(tmp_path, capsys):
    path = write_case(tmp_path, ONE_DEDUCTION.format(subjects=SUBJECTS, score=12, cls="A"))
    code, out = run(capsys, str(path))
    assert code == 1
    assert "FAIL " in out
    assert "p1.score: expected 12, got 9" in out
    assert "p1.class: expected A, got B" in out
    assert "p1.official: expected A, got B" in out
    # the explanation of the subject, point by point with the article
    assert "起始分 12" in out and "e1" in out and "第十一条第（四）项" in out
    assert out.rstrip().splitlines()[-1] == "0 passed, 1 failed"


def test_broken_case_file_reports_positions(tmp_path, capsys):
    path = write_case(tmp_path, "cases:\n"
                      "  - name: typo\n    history:\n" + SUBJECTS + "      events: []\n"
                      "    expect:\n      p1: {scroe: 12}\n"
                      "  - name: unknown subject\n    history:\n" + SUBJECTS + "      events: []\n"
                      "    expect:\n      p9: {score: 12}\n")
    code, out = run(capsys, str(path))
    assert code == 1
    text = path.read_text(encoding="utf-8").splitlines()
    typo_line = next(i for i, line in enumerate(text, 1) if "scroe" in line)
    col = text[typo_line - 1].index("scroe") + 1
    assert f"{path}:{typo_line}:{col}: error[QR802]: 测试用例格式不符：unknown key 'scroe'" in out
    assert "did you mean 'score'?" in out
    p9_line = next(i for i, line in enumerate(text, 1) if "p9:" in line)
    assert f"{path}:{p9_line}:7: error[QR805]: 预期结果引用的对象或事件不在用例历史中：no subject 'p9'" in out
    assert "ERROR " in out and out.rstrip().splitlines()[-1] == "0 passed, 2 failed"


def test_yaml_syntax_error_is_reported_at_its_position(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("ruleset: x.yaml\ncases:\n  - name: [unclosed\n", encoding="utf-8")
    code, out = run(capsys, str(path))
    assert code == 1
    assert f"{path}:" in out and "error[QR002]" in out


def test_parameter_override_what_if_changes_the_result(tmp_path):
    """第七条: with a 24-month window a deduction of 2022-03-01 has left the window at 2024-03-01."""
    history = SUBJECTS + '      events:\n        - {id: e1, kind: deduction, item: "11.4", date: 2022-03-01, subjects: [p1]}\n'
    path = write_case(tmp_path, "cases:\n"
                      "  - name: 三十六个月\n    history:\n" + history +
                      "    expect: {p1: {score: 9}}\n"
                      "  - name: 二十四个月\n    parameters: {window: \"24 months\"}\n    history:\n" + history +
                      "    expect: {p1: {score: 12}}\n")
    outcomes, coverage = run_paths([str(path)])
    assert [o.status for o in outcomes] == ["pass", "pass"]
    # the override did not touch the file
    assert "36 months" in GD.read_text(encoding="utf-8")


def test_parameter_override_with_unknown_name_points_at_the_case(tmp_path, capsys):
    path = write_case(tmp_path, ONE_DEDUCTION.format(subjects=SUBJECTS, score=9, cls="B").replace(
        "    history:", "    parameters: {windwo: 24 months}\n    history:", 1))
    code, out = run(capsys, str(path))
    assert code == 1
    assert f"{path}:5:18: error[QR804]: 参数覆盖指定了不存在的参数或取值无效：parameter 'windwo' does not exist" in out
    assert "did you mean 'window'?" in out


def ruleset_errors(text: str, ruleset: Path) -> list[str]:
    """The ``file:line:col: error[QRnnn]`` heads of the diagnostics printed about ``ruleset``."""
    return re.findall(rf"^({re.escape(str(ruleset))}:\d+:\d+: error\[QR\d+\])", text, flags=re.M)


def test_a_broken_ruleset_reports_every_problem_at_once_as_check_does(tmp_path, capsys):
    """A schema error (window.counts not a text) does not hide an expression error elsewhere (B's
    'scroe'): ``qrules test`` says both, at the same places as ``qrules check`` (the partial check)."""
    bad = tmp_path / "two.yaml"
    bad.write_text(GD.read_text(encoding="utf-8")
                   .replace('counts: "as_of - window < entry.date <= as_of"', "counts: [1]")
                   .replace('B: {when: "6 < score < 12"', 'B: {when: "6 < scroe < 12"'), encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    checked = ruleset_errors(capsys.readouterr().err, bad)
    assert [c[-6:-1] for c in checked] == ["QR301", "QR201"]
    path = write_case(tmp_path, ONE_DEDUCTION.format(subjects=SUBJECTS, score=9, cls="B"), ruleset=bad)
    code, out = run(capsys, str(path))
    assert code == 1 and "Traceback" not in out
    assert ruleset_errors(out, bad) == checked


def test_json_output(tmp_path, capsys):
    path = write_case(tmp_path, ONE_DEDUCTION.format(subjects=SUBJECTS, score=12, cls="B"))
    code, out = run(capsys, str(path), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["summary"] == {"passed": 0, "failed": 1, "full_coverage": False}
    case = data["cases"][0]
    assert case["status"] == "fail"
    assert {"field": "p1.score", "expected": "12", "actual": "9"} in case["failures"]
    assert "起始分" in case["explanation"]
    cov = data["coverage"][0]
    assert cov["ruleset"] == "guangdong-2021" and cov["complete"] is False
    assert cov["items"]["uncovered"] == [c for c in cov["items"]["uncovered"] if c != "11.4"]
    assert "11.4" not in cov["items"]["uncovered"] and cov["items"]["total"] == 19


def test_coverage_is_derived_from_results_not_case_text(tmp_path):
    """第十四条第（三）项: the refused repair covers that condition; no repair counted, so no ratio."""
    path = write_case(tmp_path, "cases:\n  - name: repair refused, no filing\n    history:\n" + SUBJECTS +
                      "      events:\n"
                      '        - {id: e1, kind: deduction, item: "11.4", date: 2023-03-01, subjects: [p1]}\n'
                      "        - {id: r1, kind: repair, of: e1, date: 2023-05-01, rectified: true}\n"
                      "    rejected: {r1: QR608}\n"
                      "    expect:\n      p1: {score: 9}\n")
    outcomes, coverage = run_paths([str(path)])
    assert outcomes[0].status == "pass", outcomes[0]
    cov = next(iter(coverage.values()))
    uncovered = cov.uncovered()["branches"]
    # Keyed on what was evaluated: condition 3 (filing) failed; condition 2 (rectified) only held.
    assert not any("repair.conditions[3].when does not hold" in u for u in uncovered)
    assert any("repair.conditions[2].when does not hold" in u for u in uncovered)
    assert not any("repair.conditions[2].when holds" in u for u in uncovered)
    # No repair counted, so neither arm of the ratio ran.
    assert sum("repair.ratio.value" in u for u in uncovered) == 2
    assert "11.4" not in cov.uncovered()["items"]


def test_coverage_counts_each_arm_of_a_conditional_ratio(tmp_path):
    """第十五条第（一）项: a first-deduction repair runs the 100% arm only; the 50% arm stays uncovered."""
    path = write_case(tmp_path, "cases:\n  - name: first repair\n    history:\n" + SUBJECTS +
                      "      events:\n"
                      "        - {id: f1, kind: filing, subject: op1, date: 2023-01-01}\n"
                      '        - {id: e1, kind: deduction, item: "11.4", date: 2023-03-01, subjects: [p1]}\n'
                      "        - {id: r1, kind: repair, of: e1, date: 2023-05-01, rectified: true}\n"
                      "    expect:\n      p1: {score: 12}\n")
    outcomes, coverage = run_paths([str(path)])
    assert outcomes[0].status == "pass", outcomes[0]
    ratio = [u for u in next(iter(coverage.values())).uncovered()["branches"] if "repair.ratio.value" in u]
    assert len(ratio) == 1 and ratio[0].startswith("repair.ratio.value else arm")


def test_shared_history_file_and_several_rulesets(tmp_path, capsys):
    (tmp_path / "history.yaml").write_text("subjects:\n" + SUBJECTS.split("\n", 1)[1] +
                                           'events:\n  - {id: e1, kind: deduction, item: "11.6", '
                                           "date: 2023-03-01, subjects: [p1]}\n", encoding="utf-8")
    path = tmp_path / "both.yaml"
    path.write_text(f"ruleset: [{GD}, {HJ}]\nas_of: 2024-03-01\nhistory: history.yaml\n"
                    "cases:\n  - name: 11.6\n    expect: {p1: {score: 11, class: B}}\n", encoding="utf-8")
    code, out = run(capsys, str(tmp_path))       # the directory: history.yaml is skipped, not run
    assert code == 0, out
    assert "[guangdong-2021]" in out and "[haojiang-2023]" in out
    assert out.rstrip().splitlines()[-1] == "2 passed, 0 failed"


def test_require_full_coverage_fails_on_a_partial_suite(tmp_path, capsys):
    path = write_case(tmp_path, ONE_DEDUCTION.format(subjects=SUBJECTS, score=9, cls="B"))
    code, out = run(capsys, str(path), "--require-full-coverage")
    assert code == 1
    assert "not exercised" in out
    assert out.rstrip().splitlines()[-1] == "1 passed, 0 failed"


def test_missing_path_is_a_usage_error(tmp_path, capsys):
    code, out = run(capsys, str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "no such file" in out


def test_rulesets_tests_pass_with_full_coverage(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out = run(capsys, "rulesets/tests", "--require-full-coverage")
    assert code == 0, out
    assert "FAIL" not in out and "ERROR" not in out
    assert "rulesets/guangdong-2021.yaml (guangdong-2021): complete" in out
    assert "rulesets/haojiang-2023.yaml (haojiang-2023): complete" in out


def test_every_case_file_is_collected():
    files, missing = collect([str(ROOT / "rulesets" / "tests")])
    names = {Path(f).name for f in files}
    assert not missing
    for expected in ("gd-window.yaml", "gd-composition.yaml", "gd-dedup.yaml", "gd-items.yaml", "gd-repair.yaml",
                     "gd-rewards.yaml", "gd-classes.yaml", "gd-measures.yaml", "gd-scope.yaml",
                     "gd-corrections.yaml", "hj-jurisdiction.yaml", "hj-inherit.yaml"):
        assert expected in names


@pytest.mark.parametrize("field, value, message", [
    ("scored", "false", "p1.scored: expected false, got true"),
    ("lock_until", "2026-07-01", "p1.lock_until: expected 2026-07-01, got null"),
    ("measures", "{mode: 一般监管}", "p1.measures.mode: expected 一般监管, got 跟踪监管"),
    ("rejected", "[e1]", "p1.rejected: expected [e1], got []"),
    ("entries", "{e1: outside_window}", "p1.entries.e1: expected status outside_window, got status counted"),
])
def test_failure_messages_per_field(tmp_path, capsys, field, value, message):
    body = ONE_DEDUCTION.format(subjects=SUBJECTS, score=9, cls="B").replace(
        "official: B}", f"official: B, {field}: {value}}}")
    path = write_case(tmp_path, body)
    code, out = run(capsys, str(path))
    assert code == 1
    assert message in out


# -- a case naming a version or family (brief §4a) -------------------------------------------
VERSIONS = ROOT / "tests" / "data" / "versions"


def _family_case(tmp_path: Path, ruleset: str, as_of: str, expect: str) -> Path:
    f = tmp_path / "cases" / "family.yaml"
    f.parent.mkdir(exist_ok=True)
    f.write_text(textwrap.dedent(f"""\
        ruleset: {ruleset}
        as_of: {as_of}
        history: {VERSIONS / 'history-2025-2027.yaml'}
        cases:
          - name: 第七条 第十一条 successor in force
            expect: {expect}
        """), encoding="utf-8")
    return f


def test_s4a_case_naming_a_family_decides_each_event_under_its_version(tmp_path, capsys):
    # tests/test_versions.py EXPECTED[keep, 2027-03-31]: p2 = 12 - 5 (e2 under guangdong-2026) = 7 B;
    # p3 11 is A only under the successor (A from 11 points).
    case = _family_case(tmp_path, "haojiang", "2027-03-31",
                        "{p2: {score: 7, class: B}, p3: {score: 11, class: A}, op1: {score: 6, class: C}}")
    rc = main(["test", str(case), "--rulesets", str(ROOT / "rulesets"), "--rulesets", str(VERSIONS / "keep")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "1 passed, 0 failed" in out


def test_s4a_case_naming_a_family_before_the_switch_uses_the_first_version(tmp_path, capsys):
    case = _family_case(tmp_path, "haojiang", "2026-03-31", "{p3: {score: 11, class: B}}")
    assert main(["test", str(case), "--rulesets", str(ROOT / "rulesets"), "--rulesets", str(VERSIONS / "keep")]) == 0


def test_s4a_case_naming_a_family_reports_coverage_per_version_file(tmp_path, capsys):
    case = _family_case(tmp_path, "guangdong", "2027-03-31", "{p2: {score: 7, class: B}}")
    main(["test", str(case), "--format", "json", "--rulesets", str(ROOT / "rulesets"),
          "--rulesets", str(VERSIONS / "keep")])
    report = json.loads(capsys.readouterr().out)
    files = sorted(Path(c["file"]).name for c in report["coverage"])
    assert files == ["guangdong-2021.yaml", "guangdong-2026.yaml"]
    by_file = {Path(c["file"]).name: c for c in report["coverage"]}
    # e2 (11.1, 2026-09-01) was decided under the successor, e0 (11.1, 2024) under guangdong-2021
    assert "11.1" not in by_file["guangdong-2026.yaml"]["items"]["uncovered"]
    assert "11.1" not in by_file["guangdong-2021.yaml"]["items"]["uncovered"]
    assert "11.6" in by_file["guangdong-2026.yaml"]["items"]["uncovered"]  # e4, e5 are 2025: the old version's


def test_s4a_case_naming_an_unknown_ruleset_lists_the_known_names(tmp_path, capsys):
    case = _family_case(tmp_path, "guangdongg", "2026-03-31", "{p3: {score: 11}}")
    assert main(["test", str(case), "--rulesets", str(ROOT / "rulesets")]) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    assert "error[QR803]" in text and "ruleset 'guangdongg' is not a file, nor a version or family" in text
    assert "family.yaml:1:10" in text  # at the ruleset: value
    assert "Traceback" not in text


KNOWN_AT = """\
cases:
  - name: 第二十五条 §4a 更正录入前所知的结果
    as_known_at: {known}
    history:
{subjects}      events:
        - {{id: e1, kind: deduction, item: "11.9", date: 2023-03-01, recorded: 2023-03-02, subjects: [p1]}}
        - {{id: c1, kind: correction, of: e1, action: revoke, date: 2023-09-01, recorded: 2023-09-04}}
    expect:
      p1: {expect}
"""


@pytest.mark.parametrize("known,expect", [
    # 2023-09-03: the revocation is not yet entered: 12 − 12 = 0 → D on 2023-07-01, locked to 2026-07-01
    ("2023-09-03", "{score: 0, class: D, official: D, lock_until: 2026-07-01}"),
    # 2023-09-04: entered; the revoked record never existed (第二十五条, brief §3) → unscored, O, no lock
    ("2023-09-04", "{scored: false, class: O, official: O, lock_until: null}"),
])
def test_s4a_art25_case_as_known_at_uses_the_records_entered_by_then(tmp_path, capsys, known, expect):
    path = write_case(tmp_path, KNOWN_AT.format(subjects=SUBJECTS, known=known, expect=expect))
    code, out = run(capsys, str(path))
    assert code == 0, out


def test_s4a_case_as_known_at_after_as_of_is_a_located_case_error(tmp_path, capsys):
    path = write_case(tmp_path, KNOWN_AT.format(subjects=SUBJECTS, known="2024-03-02", expect="{scored: false}"))
    code, out = run(capsys, str(path))
    assert code == 1
    assert "error[QR802]" in out and "as_known_at" in out and f"{path}:5:" in out
