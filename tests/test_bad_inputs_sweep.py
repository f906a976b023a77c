"""The bad-input sweep: what the corpus in tests/data/bad did not reach.

Each test is one defect found by running bad rulesets, histories, case files and options through
every command that reads them: a wrong exit code, a missing place, a message in a library's English,
a problem reported twice, an error that ``--format json`` printed as text.
"""

from __future__ import annotations

import json

import pytest

from conftest import GUANGDONG, ded, operator, product
from qrules.cli import main

CJK = "\u4e00-\u9fff"


@pytest.fixture
def one_bad_record(tmp_path):
    """A history whose second deduction has a date that does not exist (line 4 of the file)."""
    path = tmp_path / "h.json"
    subjects = [operator("op1", 1), product("p1", "op1")]
    events = [ded("e1", "11.4", "2023-03-01", ["p1"]), ded("e2", "11.4", "2023-02-30", ["p1"])]
    path.write_text(json.dumps({"subjects": subjects, "events": events}), encoding="utf-8")
    return path


# -- exit 1 whenever history records were refused, whatever the command ------------------------------

@pytest.mark.parametrize("argv", [
    ["explain", "RS", "H", "p1", "--as-of", "2025-12-31"],
    ["deadlines", "RS", "H", "--as-of", "2025-12-31"],
    ["deadlines", "RS", "H", "--as-of", "2025-12-31", "--format", "csv"],
    ["plan", "RS", "H", "--year", "2025"],
    ["plan", "RS", "H", "--year", "2025", "--format", "csv"],
    ["evaluate", "RS", "H", "--as-of", "2025-12-31", "--format", "csv"],
])
def test_refused_records_exit_1_and_are_reported_by_every_command(argv, one_bad_record, capsys):
    argv = [str(GUANGDONG) if a == "RS" else str(one_bad_record) if a == "H" else a for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"{one_bad_record}:" in err and "error[QR501]" in err and "e2" in err
    assert "1 input problem(s)" in err


def test_plan_year_outside_the_calendar_is_a_usage_error(one_bad_record, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plan", str(GUANGDONG), str(one_bad_record), "--year", "99999"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "1900-2199" in err and "internal error" not in err


# -- --format json: an error that stops the command is JSON too ---------------------------------------

def _broken_ruleset(tmp_path):
    kid = tmp_path / "kid.yaml"
    kid.write_text(f"qrules: 1\nruleset: kid\nextends: {GUANGDONG.as_posix()}\nversion: '1'\n"
                   "items:\n  \"11.4\": {points: abc}\n  \"11.5\": {points: [1]}\n", encoding="utf-8")
    return kid


@pytest.mark.parametrize("command", [["evaluate", "--as-of", "2025-12-31"], ["deadlines", "--as-of", "2025-12-31"],
                                     ["plan", "--year", "2025"], ["explain", "p1", "--as-of", "2025-12-31"]])
def test_json_format_prints_a_stopping_error_as_json(command, tmp_path, one_bad_record, capsys):
    name, *rest = command
    argv = [name, str(_broken_ruleset(tmp_path)), str(one_bad_record)] + rest + ["--format", "json"]
    assert main(argv) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert [(d["code"], d["line"]) for d in data["diagnostics"]] == [("QR301", 6), ("QR301", 7)]


def test_explain_unknown_subject_is_a_coded_diagnostic_in_json(one_bad_record, capsys):
    assert main(["explain", str(GUANGDONG), str(one_bad_record), "p", "--as-of", "2025-12-31",
                 "--format", "json"]) == 1
    (diag,) = json.loads(capsys.readouterr().out)["diagnostics"]
    assert diag["code"] == "QR956" and diag["hint"] == "是否应为 'p1'？（did you mean 'p1'?）"


def test_unwritable_output_is_a_coded_diagnostic(tmp_path, capsys, one_bad_record):
    assert main(["evaluate", str(GUANGDONG), str(one_bad_record), "--format", "json",
                 "-o", str(tmp_path / "missing" / "out.json")]) == 1
    (diag,) = json.loads(capsys.readouterr().out)["diagnostics"]
    assert diag["code"] == "QR007" and "does not exist" in diag["message"] and diag["hint"]


# -- places: a control character, a file that is not UTF-8 -------------------------------------------

def test_yaml_control_character_is_located_and_said_once_in_chinese(tmp_path, capsys):
    path = tmp_path / "kid.yaml"
    path.write_text("qrules: 1\nruleset: kid\nversion: '1'\ntitle: 标题\nnote: a\x00b\n", encoding="utf-8")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5:8: error[QR002]: 文件中有不允许的控制字符 U+0000" in err
    assert "YAML 语法错误：YAML 语法错误" not in err and "删除这个字符" in err


@pytest.mark.parametrize("name, argv", [
    ("h.yaml", ["evaluate", "RS", "P"]), ("h.json", ["evaluate", "RS", "P"]), ("h.jsonl", ["evaluate", "RS", "P"]),
    ("events.csv", ["batch", "RS", "P", "-j", "1"]), ("r.yaml", ["check", "P"])])
def test_a_gbk_file_is_refused_at_the_line_of_its_first_gbk_byte(name, argv, tmp_path, capsys):
    path = tmp_path / name
    lines = {"h.yaml": "subjects: []\nevents:\n  - {id: e1, note: 测试}\n",
             "h.json": '{"subjects": [],\n "events": [\n  {"id": "e1", "note": "测试"}]}\n',
             "h.jsonl": '{"record": "subject", "id": "a"}\n{"record": "subject", "id": "b"}\n{"note": "测试"}\n',
             "events.csv": "id,kind,date,note\ne1,filing,2023-03-01,x\ne2,filing,2023-03-01,测试\n",
             "r.yaml": "qrules: 1\nruleset: r\ntitle: 测试\n"}[name]
    path.write_bytes(lines.encode("gbk"))
    assert main([str(GUANGDONG) if a == "RS" else str(path) if a == "P" else a for a in argv]) == 1
    err = capsys.readouterr().err
    assert f"{path}:3:" in err and "error[QR001]" in err and "UTF-8" in err and "另存为 UTF-8" in err


# -- messages: no library English, no title twice, one message per problem ----------------------------

def test_library_errors_outside_input_should_are_translated(tmp_path, capsys):
    assert main(["check", str(_broken_ruleset(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert "Decimal input should" not in err and "items.11.5.points: 应为数字，实际为 [1]" in err
    case = tmp_path / "case.yaml"
    case.write_text(f"ruleset: {GUANGDONG.as_posix()}\nas_of: 2024-03-01\ncases: []\n", encoding="utf-8")
    assert main(["test", str(case)]) == 1
    err = "".join(capsys.readouterr())
    assert "List should have" not in err and "cases: 不能为空" in err


def test_a_yaml_problem_in_chinese_is_not_titled_twice(tmp_path, capsys):
    path = tmp_path / "r.yaml"
    path.write_text("foo: [\n", encoding="utf-8")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "YAML 语法错误：YAML 语法错误" not in err and "这里缺少取值" in err


@pytest.mark.parametrize("text, code", [
    ("in_force: {from: 2026-02-30}\n", "QR301"),
])
def test_a_date_that_does_not_exist_is_one_message_in_a_ruleset(tmp_path, capsys, text, code):
    kid = tmp_path / "kid.yaml"
    kid.write_text(f"qrules: 1\nruleset: kid\nextends: {GUANGDONG.as_posix()}\nversion: '1'\n{text}", encoding="utf-8")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert err.count("error[") == 1 and "error[QR006]: 日期不存在：'2026-02-30'" in err and code not in err


def test_a_date_that_does_not_exist_is_one_message_in_a_case_file(tmp_path, capsys):
    case = tmp_path / "case.yaml"
    case.write_text(f"ruleset: {GUANGDONG.as_posix()}\nas_of: 2024-02-30\ncases:\n  - name: x\n"
                    "    history: {subjects: [], events: [{id: e1, kind: filing, subject: op1, date: 2023-02-30}]}\n"
                    "    expect: {}\n", encoding="utf-8")
    assert main(["test", str(case)]) == 1
    err = "".join(capsys.readouterr())
    assert err.count("error[QR006]") == 2 and "QR802" not in err and "QR501" not in err


# -- every message says what to do ------------------------------------------------------------------

def test_every_diagnostic_code_says_what_to_do_in_chinese():
    """Engine decisions (QR6xx: a rejected event with its reason and article) and the HTTP layer
    (QR951-QR961) aside, every code has a hint for the diagnostics that carry none of their own."""
    import re

    from qrules.messages import hint_zh
    from test_messages import all_codes

    missing = sorted(c for c in all_codes() if not re.match(r"QR(6(?!15|90)|9[56])", c)
                     and not re.search(f"[{CJK}]", hint_zh(c) or ""))
    assert not missing, f"add what to do for {missing} to qrules/messages.py ZH_HINTS"


def test_a_diagnostic_without_a_hint_of_its_own_shows_its_codes_hint(one_bad_record, capsys):
    from qrules.errors import Diagnostic, Span, render

    text = render(Diagnostic("QR502", "op3: wrong check character", Span("<x>", 3, 1)))
    assert "= 核对营业执照上的 18 位统一社会信用代码" in text
    assert Diagnostic("QR502", "x", hint="own").to_dict()["hint"] == "own"
    assert main(["evaluate", str(GUANGDONG), str(one_bad_record), "--format", "json"]) == 1
    (diag,) = json.loads(capsys.readouterr().out)["input_diagnostics"]
    assert diag["code"] == "QR501" and "docs/history.md" in diag["hint"]


# -- history messages: grammar, booleans, the CSV caret -------------------------------------------------

def test_record_messages_say_an_operator_and_true(tmp_path, capsys):
    path = tmp_path / "h.json"
    events = [{"id": "s1", "kind": "spot_check", "subject": "op1", "date": "2023-03-01", "result": "fail"},
              {"id": True, "kind": "filing", "subject": "op1", "date": "2023-03-01"},
              {"id": "f2", "kind": "filing", "subject": None, "date": "2023-03-01"}]
    path.write_text(json.dumps({"subjects": [operator("op1", 1), product("p1", "op1")], "events": events}),
                    encoding="utf-8")
    assert main(["evaluate", str(GUANGDONG), str(path)]) == 1
    err = capsys.readouterr().err
    assert "'op1' is an operator" in err and "not true" in err and "not null" in err and "NoneType" not in err


def test_the_caret_of_a_csv_problem_is_under_its_cell(tmp_path, capsys):
    (tmp_path / "subjects.csv").write_text(f"id,kind,uscc,roles\nop1,operator,{operator('op1', 1)['uscc']},producer\n",
                                           encoding="utf-8")
    (tmp_path / "events.csv").write_text("id,kind,date,subject\nfiling-1,Filing,2023-03-01,op1\n", encoding="utf-8")
    assert main(["batch", str(GUANGDONG), str(tmp_path), "-j", "1"]) == 1
    lines = capsys.readouterr().err.splitlines()
    at = next(i for i, line in enumerate(lines) if "error[QR506]" in line)
    assert lines[at].startswith(f"{tmp_path / 'events.csv'}:2:2:")  # the column stays the cell's index
    source, caret = lines[at + 1], lines[at + 2]
    assert caret.index("^") == source.index("Filing") and caret.count("^") == len("Filing")


# -- files: tags, an empty extends, NaN, empty files ------------------------------------------------------

def test_a_yaml_tag_is_refused_at_its_place(tmp_path, capsys):
    kid = tmp_path / "kid.yaml"
    kid.write_text(f"qrules: 1\nruleset: kid\nextends: {GUANGDONG.as_posix()}\nversion: '1'\n"
                   "title: !!python/object:os.system x\n", encoding="utf-8")
    assert main(["check", str(kid)]) == 1
    assert f"{kid}:5:8: error[QR002]: 不允许使用 YAML 标签 '!!python/object:os.system'" in capsys.readouterr().err


def test_an_empty_extends_is_one_message_at_its_line(tmp_path, capsys):
    kid = tmp_path / "kid.yaml"
    kid.write_text("qrules: 1\nruleset: kid\nextends:\nversion: '1'\n", encoding="utf-8")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert err.count("error[") == 1 and f"{kid}:3:9: error[QR303]" in err and "names no parent" in err


def test_nan_in_json_is_located_and_json_problems_are_in_chinese(tmp_path, capsys):
    path = tmp_path / "h.json"
    path.write_text('{"subjects": [],\n "events": [{"id": "f1", "concealed": NaN}]}\n', encoding="utf-8")
    assert main(["evaluate", str(GUANGDONG), str(path)]) == 1
    assert f"{path}:2:39: error[QR507]: 数字应为有限的数" in capsys.readouterr().err
    path.write_text('{"subjects": []\n "events": []}\n', encoding="utf-8")
    assert main(["evaluate", str(GUANGDONG), str(path)]) == 1
    assert f"{path}:2:2: error[QR507]: 缺少逗号 ','" in capsys.readouterr().err


@pytest.mark.parametrize("name, text", [("h.json", ""), ("h.json", "null\n"), ("h.jsonl", "\n\n"), ("h.yaml", "# none\n"),
                                        ("events.csv", "")])
def test_an_empty_history_file_is_an_error(name, text, tmp_path, capsys):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    command = "batch" if name.endswith(".csv") else "evaluate"
    assert main([command, str(GUANGDONG), str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:1:1: error[QR507]" in err and ("为空" in err) and "Traceback" not in err


# -- a record that writes a field twice is refused, not counted with one of the values --------------------

@pytest.mark.parametrize("name", ["h.yaml", "h.json", "h.jsonl"])
def test_a_record_with_a_field_written_twice_is_refused(name, tmp_path, capsys):
    """YAML kept the first date, JSON the last: the deduction counted either way while the
    command said the record was refused. Now it is refused, listed with the key's code."""
    subjects = [operator("op1", 1), product("p1", "op1")]
    record = '{"id": "e1", "kind": "deduction", "item": "11.4", "date": "2023-03-01", "date": "2025-03-01", ' \
             '"subjects": ["p1"]}'
    path = tmp_path / name
    if name == "h.jsonl":
        lines = [json.dumps(dict(s, record="subject")) for s in subjects] + ['{"record": "event", ' + record[1:]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:  # JSON is YAML too: the same text, read by the YAML reader for .yaml
        path.write_text('{"subjects": ' + json.dumps(subjects) + ', "events": [\n' + record + "]}\n", encoding="utf-8")
    assert main(["evaluate", str(GUANGDONG), str(path), "--as-of", "2025-12-31", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["events"] == 0 and [r["event"] for r in data["invalid_records"]] == ["e1"]
    code = "QR004" if name == "h.yaml" else "QR507"
    assert [d["code"] for d in data["input_diagnostics"]] == [code]
    assert data["invalid_records"][0]["code"] == code and "written twice" in data["invalid_records"][0]["reason"]


# -- CSV tables as spreadsheets export them ----------------------------------------------------------------

def _tables(folder, events: str, subjects: str | None = None, encoding: str = "utf-8"):
    folder.mkdir(exist_ok=True)
    uscc = operator("op1", 1)["uscc"]
    (folder / "subjects.csv").write_text(subjects or f"id,kind,uscc,roles\nop1,operator,{uscc},producer\n",
                                         encoding="utf-8")
    (folder / "events.csv").write_text(events, encoding=encoding)
    return folder


@pytest.mark.parametrize("backend", ["engine", "columnar"])
def test_csv_a_row_with_too_many_cells_says_to_quote_the_cell(backend, tmp_path, capsys):
    folder = _tables(tmp_path / "t", "id,kind,date,subject,note\nf1,filing,2023-03-01,op1,a,b\n"
                                     "f2,filing,2023-03-02,op1,ok\n")
    assert main(["batch", str(GUANGDONG), str(folder), "-j", "1", "--backend", backend]) == 1
    out = "".join(capsys.readouterr())
    assert f"{folder / 'events.csv'}:2:1: error[QR507]" in out and "加英文双引号" in out
    assert "events: 1 valid" in out and "1 invalid records" in out  # f1 listed as refused, f2 counted


def test_csv_separated_by_semicolons_is_said_so(tmp_path, capsys):
    folder = _tables(tmp_path / "t", "id;kind;date;subject\nf1;filing;2023-03-01;op1\n")
    assert main(["batch", str(GUANGDONG), str(folder), "-j", "1"]) == 1
    assert "this file uses ';'" in capsys.readouterr().err


def test_csv_with_a_byte_order_mark_written_twice_reads(tmp_path, capsys):
    folder = _tables(tmp_path / "t", "\ufeff\ufeffid,kind,date,subject\nf1,filing,2023-03-01,op1\n")
    for backend in ("engine", "columnar"):
        assert main(["batch", str(GUANGDONG), str(folder), "-j", "1", "--backend", backend]) == 0
        assert "events: 1 valid" in capsys.readouterr().out


def test_a_case_expecting_a_class_the_ruleset_lacks_is_an_error_not_a_failure(tmp_path, capsys):
    case = tmp_path / "case.yaml"
    case.write_text(f"ruleset: {GUANGDONG.as_posix()}\nas_of: 2024-03-01\ncases:\n  - name: x\n"
                    f"    history: {{subjects: [{json.dumps(operator('op1', 1))}], events: []}}\n"
                    "    expect:\n      op1: {class: Q, official: O}\n", encoding="utf-8")
    assert main(["test", str(case)]) == 1
    out = "".join(capsys.readouterr())
    assert f"{case}:7:20: error[QR802]" in out and "'Q' is not a class of the ruleset (A, B, C, D, O)" in out
    assert "official" not in out.split("error[QR802]")[1].split("\n")[0]  # O is a class: one message


def test_diff_with_a_broken_ruleset_and_json_format_prints_json(tmp_path, capsys):
    assert main(["diff", str(GUANGDONG), str(_broken_ruleset(tmp_path)), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and {d["code"] for d in data["diagnostics"]} == {"QR301"}


@pytest.mark.parametrize("argv", [["check", "MISSING.yaml"], ["evaluate", "RS", "MISSING.jsonl"],
                                  ["evaluate", "RS", "MISSING.json"]])
def test_a_missing_file_is_named_as_the_place_of_its_error(argv, tmp_path, capsys):
    missing = tmp_path / "missing"
    argv = [str(GUANGDONG) if a == "RS" else str(missing) + a[7:] if a.startswith("MISSING") else a for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{missing}.") and ": error[QR001]:" in err.splitlines()[0] and "检查路径" in err


def test_a_ruleset_and_a_history_given_the_wrong_way_round_are_said_so_once(capsys):
    from conftest import ROOT

    history = ROOT / "examples" / "haojiang-history.yaml"
    assert main(["check", str(history)]) == 1
    err = capsys.readouterr().err
    assert err.count("error[") == 1 and "is a history (subjects, events), not a ruleset" in err
    assert main(["evaluate", str(history), str(GUANGDONG)]) == 1
    err = capsys.readouterr().err
    assert err.count("error[") == 1 and "error[QR307]" in err
    assert main(["evaluate", str(GUANGDONG), str(GUANGDONG)]) == 1
    err = capsys.readouterr().err
    assert err.count("error[") == 1 and f"{GUANGDONG}:6:10: error[QR507]" in err and "not a history" in err


def test_jsonl_format_prints_a_stopping_error_as_one_json_line(tmp_path, one_bad_record, capsys):
    assert main(["evaluate", str(_broken_ruleset(tmp_path)), str(one_bad_record), "--format", "jsonl"]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["ok"] is False


@pytest.mark.parametrize("backend", ["engine", "columnar"])
def test_a_credit_code_excel_turned_into_a_number_says_so(backend, tmp_path, capsys):
    folder = _tables(tmp_path / "t", "id,kind,date,subject\nf1,filing,2023-03-01,op1\n",
                     subjects="id,kind,uscc,roles\nop1,operator,9.14405E+17,producer\n")
    assert main(["batch", str(GUANGDONG), str(folder), "-j", "1", "--backend", backend]) == 1
    err = capsys.readouterr().err
    assert f"{folder / 'subjects.csv'}:2:3: error[QR502]" in err and "设为“文本”格式" in err


def test_an_output_that_fails_while_writing_is_a_coded_diagnostic(tmp_path, capsys):
    existing = tmp_path / "a-file"
    existing.write_text("x", encoding="utf-8")
    assert main(["synth", "--subjects", "3", "-o", str(existing), "--format", "csv"]) == 1
    err = capsys.readouterr().err
    assert "error[QR007]" in err and str(existing) in err and "检查输出路径" in err


def test_a_ruleset_with_a_format_error_still_has_its_expressions_checked(tmp_path, capsys):
    """All problems of a file in one run: a wrong value no longer hides a misspelt name elsewhere."""
    kid = tmp_path / "kid.yaml"
    kid.write_text(f"qrules: 1\nruleset: kid\nextends: {GUANGDONG.as_posix()}\nversion: '1'\n"
                   "items:\n  \"11.4\": {points: abc}\nclasses:\n  A: {when: scroe >= 12}\n", encoding="utf-8")
    assert main(["check", str(kid)]) == 1
    err = capsys.readouterr().err
    assert [line.split(": ")[1] for line in err.splitlines() if "error[" in line] == ["error[QR301]", "error[QR201]"]
    assert f"{kid}:8:13: error[QR201]: 未知名称：unknown name 'scroe'" in err
