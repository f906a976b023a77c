"""The bad-input hunt (second sweep): defects found by running new malformed rulesets, histories,
case files and options through every command, each test failing before its fix.

What the sweep tried that was already right is listed in docs/security.md ("What the second sweep
tried that was already right").
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import GUANGDONG, ded, operator, product
from qrules.cli import main

CJK = "\u4e00-\u9fff"


def _child(tmp_path, body: str, name: str = "kid"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"qrules: 1\nruleset: {name}\nextends: {GUANGDONG.as_posix()}\nversion: '1'\n" + body,
                    encoding="utf-8")
    return path


def _history(tmp_path, subjects, events, name="h.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"subjects": subjects, "events": events}, ensure_ascii=False, indent=1),
                    encoding="utf-8")
    return path


# -- --format json: every stopping error is JSON --------------------------------------------------------

def test_a_rule_failing_during_evaluation_is_json_with_format_json(tmp_path, capsys):
    """QR690 (a rule that fails on the values it meets) went to standard error as text with
    --format json, leaving standard output empty."""
    kid = _child(tmp_path, "information_use:\n  publish_class: {when: \"1 / (score - score) > 0\"}\n")
    hist = _history(tmp_path, [operator("op1", 1), product("p1", "op1")],
                    [ded("e1", "11.4", "2023-03-01", ["p1"])])
    assert main(["evaluate", str(kid), str(hist), "--as-of", "2025-12-31", "--format", "json"]) == 1
    out = capsys.readouterr().out
    (diag,) = json.loads(out)["diagnostics"]
    assert diag["code"] == "QR690" and diag["line"] == 6


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_synth_says_its_errors_as_text_whatever_the_corpus_format(fmt, tmp_path, capsys):
    """synth's --format is the corpus it writes (JSON Lines by default), not the form of its
    messages: a refused output was printed as a JSON object on standard output."""
    taken = tmp_path / "taken.yaml"
    taken.write_text("x", encoding="utf-8")
    assert main(["synth", "-n", "2", "-o", str(taken), "--format", fmt]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "error[QR00" in err


# -- a ruleset: every problem at once ----------------------------------------------------------------------

def test_ruleset_references_are_checked_with_an_adjustment_date_that_does_not_exist(tmp_path, capsys):
    """An adjustment date that does not exist (QR408) stopped the checks of references: the lock's
    unknown class was reported only once the date was fixed."""
    kid = _child(tmp_path, "adjustment:\n  dates: [\"13-01\", \"07-01\"]\n  lock: {class: E}\n")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert f"{kid}:6:11: error[QR408]" in err and f"{kid}:7:17: error[QR403]" in err


def test_ruleset_deadline_checks_run_with_an_expression_error(tmp_path, capsys):
    """An expression error stopped the deadline checks (QR711) too."""
    kid = _child(tmp_path, "classes:\n  A: {when: \"scroe >= 12\"}\ndeadlines:\n  notify: {starts: dedction}\n")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert "error[QR201]" in err and f"{kid}:8:20: error[QR711]" in err


@pytest.mark.parametrize("body, line, col", [
    ("deadlines:\n  notify: {within: \"-3 workdays\"}\n", 6, 20),
    ("adjustment:\n  lock: {duration: \"-3 years\"}\n", 6, 20),
])
def test_art21_26_a_negative_period_is_refused_by_check(body, line, col, tmp_path, capsys):
    """A deadline of -3 working days (第二十三条) or a D lock of -3 years (第二十六条第二款) passed
    check; deadlines then printed due dates before their start."""
    kid = _child(tmp_path, body)
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert f"{kid}:{line}:{col}: error[QR405]" in err and "不能为负" in err


def test_round_with_places_out_of_range_is_refused_by_check(tmp_path, capsys):
    """round(x, 99999): the places are a constant, so check can say it (QR208); it passed check
    and stopped evaluate with QR690."""
    kid = _child(tmp_path, "information_use:\n  publish_class: {when: \"round(score, 99999) > 1\"}\n")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert f"{kid}:6:39: error[QR208]" in err


# -- case files ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["as_of", "as_known_at"])
def test_a_case_dated_outside_the_calendar_is_refused_at_its_date(key, tmp_path, capsys):
    """as_of: 9999-01-01 in a case file was reported as QR803 "the ruleset cannot be found or does
    not check" at the case's name, with a Python class name in the message."""
    case = tmp_path / "c.yaml"
    known = "as_known_at: 1800-01-01\n" if key == "as_known_at" else ""
    as_of = "9999-02-01" if key == "as_of" else "2024-03-01"
    case.write_text(f"ruleset: {GUANGDONG.as_posix()}\nas_of: {as_of}\n{known}cases:\n  - name: x\n"
                    "    history: {subjects: [], events: []}\n    expect: {}\n", encoding="utf-8")
    assert main(["test", str(case)]) == 1
    out = "".join(capsys.readouterr())
    line = 2 if key == "as_of" else 3
    assert f"{case}:{line}:" in out and "error[QR520]" in out
    assert "QR803" not in out and "QrulesError" not in out


# -- histories -------------------------------------------------------------------------------------------

def test_evaluate_counts_the_refused_records_with_the_events(tmp_path, capsys):
    """The table's summary said "1 events, 1 counted, 0 rejected" for a file of 3 events, 2 of
    them refused on loading: every input event is counted, rejected or refused."""
    hist = _history(tmp_path, [operator("op1", 1), product("p1", "op1")],
                    [ded("e1", "11.4", "2023-03-01", ["p1"]), ded("e2", "11.4", "2023-02-30", ["p1"]),
                     ded("e3", "11.4", "2023-03-01", ["nobody"])])
    assert main(["evaluate", str(GUANGDONG), str(hist), "--as-of", "2025-12-31"]) == 1
    out = capsys.readouterr().out
    assert "1 events, 1 counted, 0 rejected; 2 more refused as invalid records（另有 2 个事件记录无效，未载入）" in out


def test_an_event_naming_itself_in_of_is_reported_once(tmp_path, capsys):
    """A correction of itself was reported twice: "cannot refer to itself" and "'of' goes round in
    a circle: c1 → c1"."""
    hist = _history(tmp_path, [operator("op1", 1)],
                    [{"id": "c1", "kind": "correction", "of": "c1", "action": "revoke", "date": "2023-03-01"}])
    assert main(["evaluate", str(GUANGDONG), str(hist), "--as-of", "2025-12-31"]) == 1
    err = capsys.readouterr().err
    assert err.count("error[QR509]") == 1


@pytest.mark.parametrize("encoding, bom", [("utf-16", True), ("utf-16-le", False)])
def test_a_utf16_file_is_said_to_be_utf16_not_gbk(encoding, bom, tmp_path, capsys):
    """Windows Notepad's "Unicode" is UTF-16: the hint said the file was probably GBK."""
    path = tmp_path / "h.yaml"
    path.write_text("subjects: []\nevents: []\n", encoding=encoding)
    assert main(["evaluate", str(GUANGDONG), str(path)]) == 1
    err = capsys.readouterr().err
    assert "error[QR001]" in err and "UTF-16" in err and "GBK" not in err


def test_a_missing_field_message_says_an_operator(tmp_path, capsys):
    hist = _history(tmp_path, [{"id": "op1", "kind": "operator"}], [])
    assert main(["evaluate", str(GUANGDONG), str(hist)]) == 1
    err = capsys.readouterr().err
    assert "for an operator record" in err and "a operator" not in err


# -- hints: Chinese first ----------------------------------------------------------------------------------

def _english_first_hints() -> list[str]:
    """Every ``hint=`` written as text in qrules whose first words are English (a phrase of two
    English words before any Chinese), or that has no Chinese at all."""
    import ast
    import re
    from pathlib import Path

    cjk = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")
    english = re.compile(r"[A-Za-z]{2,}[ ,;:.]{1,2}[A-Za-z]{2,}")

    def texts(v) -> list[str]:  # the hint's text, a formatted value standing as "X"
        if isinstance(v, ast.Constant) and isinstance(v.value, str):
            return [v.value]
        if isinstance(v, ast.JoinedStr):
            return ["".join(p.value if isinstance(p, ast.Constant) else "X" for p in v.values)]
        if isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add):
            left, right = texts(v.left), texts(v.right)
            return [a + b for a in left for b in right] if left and right else left or right
        if isinstance(v, ast.BoolOp):
            return [t for x in v.values for t in texts(x)]
        if isinstance(v, ast.IfExp):
            return texts(v.body) + texts(v.orelse)
        return []

    def english_first(text: str) -> bool:
        en, zh = english.search(text), cjk.search(text)
        return bool(text.strip()) and (zh is None or (en is not None and en.start() < zh.start()))

    root = Path(__file__).resolve().parents[1] / "qrules"
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.keyword) and node.arg == "hint":
                found += [f"{path.relative_to(root)}:{node.value.lineno}: {t}" for t in texts(node.value)
                          if english_first(t)]
    return found


def test_every_hint_written_as_text_is_chinese_first():
    """Policy staff read the hint first: 70 hints (duplicate keys, citations, class gaps, extends,
    deadlines, case files, output files...) began in English, some with no Chinese at all."""
    assert _english_first_hints() == []


def test_hints_given_without_a_keyword_are_chinese_first(tmp_path, capsys):
    """The duplicate-id hint (QR504) and the producer-role warning's (QR505) were English first."""
    hist = _history(tmp_path, [operator("op1", 1, roles=("seller",)), product("p1", "op1"),
                               operator("op2", 2), operator("op2", 3)], [])
    assert main(["evaluate", str(GUANGDONG), str(hist)]) == 1
    err = capsys.readouterr().err
    hints = [m.group(1) for m in re.finditer(r"\^+ (.*)$", err, re.M)]
    assert len(hints) == 2 and all(re.match(f"[{CJK}]", h) for h in hints), hints


# -- more: case overrides, messages, Parquet, serve's options -------------------------------------------

def test_a_case_says_every_override_problem_at_once(tmp_path, capsys):
    """An override naming no parameter (QR804) stopped the checks of the others' values: 'abc' (no
    such name) was said only on the next run."""
    case = tmp_path / "c.yaml"
    case.write_text(f"ruleset: {GUANGDONG.as_posix()}\nas_of: 2024-03-01\n"
                    "parameters: {start_score: abc, windw: 3}\ncases:\n  - name: x\n"
                    "    history: {subjects: [], events: []}\n    expect: {}\n", encoding="utf-8")
    assert main(["test", str(case)]) == 1
    out = "".join(capsys.readouterr())
    assert f"{case}:3:32: error[QR804]" in out and f"{case}:3:27: error[QR201]" in out


def test_a_reference_of_the_wrong_kind_says_an_objection(tmp_path, capsys):
    hist = _history(tmp_path, [operator("op1", 1), product("p1", "op1")],
                    [ded("e1", "11.4", "2023-03-01", ["p1"]),
                     {"id": "o1", "kind": "objection_accepted", "of": "e1", "date": "2023-03-05"}])
    assert main(["evaluate", str(GUANGDONG), str(hist)]) == 1
    err = capsys.readouterr().err
    assert "o1: an objection_accepted must refer to objection_filed, but 'e1' is a deduction" in err


def test_a_parquet_file_that_is_not_parquet_is_said_in_chinese(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    (tmp_path / "subjects.parquet").write_bytes(b"id,kind\nop1,operator\n")
    assert main(["evaluate", str(GUANGDONG), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'subjects.parquet'}:1:1: error[QR507]" in err and "无法读取 Parquet 文件" in err
    assert "重新导出" in err


@pytest.mark.parametrize("option, value", [("--port", "-1"), ("--port", "99999"), ("--max-body", "-5"),
                                           ("--max-body", "0"), ("--time-limit", "0"), ("--time-limit", "nan")])
def test_serve_refuses_a_port_or_limit_that_cannot_work(option, value, capsys, monkeypatch):
    """--port -1 was an internal error (bind's OverflowError); --max-body -5, --time-limit 0 or nan
    started a server that refused every request."""
    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: pytest.fail("the server started"))
    with pytest.raises(SystemExit) as exc:
        main(["serve", option, value, "--port" if option != "--port" else "--host", "0" if option != "--port"
              else "127.0.0.1", "--rulesets", str(GUANGDONG.parent)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and f"argument {option}" in err and "internal error" not in err


def test_an_event_under_subjects_is_said_in_good_grammar_and_chinese(tmp_path, capsys):
    """"'deduction' is not an subject kind": the article, and where the record goes, in Chinese."""
    hist = _history(tmp_path, [operator("op1", 1), ded("e1", "11.4", "2023-03-01", ["op1"]), {"id": "x"}], [])
    assert main(["evaluate", str(GUANGDONG), str(hist)]) == 1
    err = capsys.readouterr().err
    assert "'deduction' is not a subject kind; put this record under 'events'（'deduction' 记录应写在 events 下）" in err
    assert "missing 'kind' (one of: operator, product)（缺少记录类型 kind）" in err


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_a_table_not_separated_by_commas_is_said_in_chinese_first(sep, tmp_path, capsys):
    (tmp_path / "subjects.csv").write_text(sep.join(["id", "kind", "uscc"]) + "\n", encoding="utf-8")
    assert main(["evaluate", str(GUANGDONG), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "error[QR507]" in err and "^ 表格各列应以英文逗号分隔" in err


def test_a_merge_key_in_a_history_is_not_told_to_use_extends(tmp_path, capsys):
    """'<<' in a history was answered "use 'extends' to inherit a ruleset"."""
    path = tmp_path / "h.yaml"
    path.write_text("base: &b {kind: operator}\nsubjects:\n  - <<: *b\n    id: op1\n", encoding="utf-8")
    assert main(["evaluate", str(GUANGDONG), str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3:5: error[QR003]" in err and "^^ 把字段完整写出" in err


@pytest.mark.parametrize("command", [["check", str(GUANGDONG)], ["evaluate", "guangdong", "h.json"]])
def test_a_rulesets_folder_that_does_not_exist_is_said(command, tmp_path, capsys):
    """--rulesets naming no folder (a typo) was ignored by check, and evaluate then said the ruleset
    was not found "in" it."""
    assert main([*command, "--rulesets", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "error[QR909]" in err and "--rulesets" in err and "文件夹不存在" in err
