"""The command line: evaluate, explain, schema, show; formats and exit codes (via main(argv))."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import GUANGDONG, HAOJIANG, ROOT, ded, operator, product
from qrules.cli import main

HISTORY = ROOT / "examples" / "haojiang-history.yaml"


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"subjects": [operator("op1", 1), product("p1", "op1")],
                                "events": [ded("e1", "11.1", "2023-03-01", ["p1"]),
                                           ded("e2", "11.99", "2023-03-02", ["p1"])]}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def test_evaluate_json_is_the_result_model(small, capsys):
    assert main(["evaluate", str(GUANGDONG), str(small), "--as-of", "2023-07-01", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    p1 = next(s for s in data["subjects"] if s["id"] == "p1")
    assert (p1["score"], p1["live_class"], p1["official_class"]) == ("9", "B", "B")   # 12 − 3
    assert [r["code"] for r in data["rejected"]] == ["QR601"]
    assert data["summary"]["events_rejected"] == 1 and data["as_of"] == "2023-07-01"


def test_evaluate_csv_has_one_row_per_subject(small, capsys):
    assert main(["evaluate", str(GUANGDONG), str(small), "--as-of", "2023-07-01", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["id"], r["score"], r["official"]) for r in rows] == [("op1", "9", "B"), ("p1", "9", "B")]


def test_evaluate_table_lists_rejected_with_reason_and_article(small, capsys):
    assert main(["evaluate", str(GUANGDONG), str(small), "--as-of", "2023-07-01"]) == 0
    out = capsys.readouterr().out
    assert "e2 [QR601] unknown item '11.99'" in out and "第十一条、第十二条" in out


def test_evaluate_writes_output_file(small, tmp_path):
    out = tmp_path / "r.jsonl"
    assert main(["evaluate", str(GUANGDONG), str(small), "--as-of", "2023-07-01", "--format", "jsonl",
                 "-o", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert {x["id"] for x in lines} == {"op1", "p1"}


def test_evaluate_after_expiry_warns(small, capsys):
    assert main(["evaluate", str(GUANGDONG), str(small), "--as-of", "2026-07-01"]) == 0
    assert "expired on 2026-06-04" in capsys.readouterr().err


def test_explain_traces_points_to_articles(capsys):
    # 1: the example history plants two refused records (reported, as evaluate reports them)
    assert main(["explain", str(HAOJIANG), str(HISTORY), "ga", "--as-of", "2025-12-31"]) == 1
    out = capsys.readouterr().out
    assert "起始分 12 (第八条)" in out and "第十五条第（一）项" in out and "QR609" not in out
    assert "一个记分周期内经营者最多予以两次修复" in out     # the refused third repair is listed


def test_explain_unknown_subject_suggests(capsys):
    assert main(["explain", str(HAOJIANG), str(HISTORY), "gaa", "--as-of", "2025-12-31"]) == 1
    assert "did you mean 'ga'?" in capsys.readouterr().err


@pytest.mark.parametrize("what, key", [("ruleset", "$defs"), ("history", "$defs"), ("result", "properties")])
def test_schema_commands_print_json_schema(capsys, what, key):
    assert main(["schema", what]) == 0
    assert key in json.loads(capsys.readouterr().out)


def test_show_json_gives_origin_of_values(capsys):
    assert main(["show", str(HAOJIANG), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    until = next(v for v in data["values"] if v["path"] == "in_force.until")
    assert until["file"].endswith("guangdong-2021.yaml") and until["value"] == "2026-06-04"


def test_missing_history_file_is_error_not_traceback(capsys):
    assert main(["evaluate", str(GUANGDONG), "no-such-history.yaml"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no-such-history.yaml" in err


def test_bad_date_option_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(GUANGDONG), str(HISTORY), "--as-of", "2025-02-30"])
    assert exc.value.code == 2 and "is not a date" in capsys.readouterr().err


def test_no_command_prints_help_and_exit_2(capsys):
    assert main([]) == 2
    assert "evaluate" in capsys.readouterr().out


def test_rule_failing_at_run_time_is_reported_at_its_place(tmp_path, small, capsys):
    text = GUANGDONG.read_text(encoding="utf-8").replace(
        'value: "100% if deduction.ordinal == 1 else 50%"', 'value: "100% / (deduction.ordinal - 1)"')
    ruleset = tmp_path / "div.yaml"
    ruleset.write_text(text, encoding="utf-8")
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"subjects": [operator("op1", 1), product("p1", "op1")], "events": [
        {"id": "f1", "kind": "filing", "subject": "op1", "date": "2023-01-01"},
        ded("e1", "11.7", "2023-03-01", ["p1"]),
        {"id": "r1", "kind": "repair", "of": "e1", "date": "2023-04-01", "rectified": True}]}), encoding="utf-8")
    assert main(["evaluate", str(ruleset), str(history), "--as-of", "2023-06-01"]) == 1
    err = capsys.readouterr().err
    assert "error[QR690]: 规则计算出错（如除以零），评价中止：a rule could not be evaluated: division by zero" in err and "Traceback" not in err
    assert f"{ruleset}:" in err


def test_evaluate_at_scale_hands_over_to_batch(small, tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert main(["evaluate", str(GUANGDONG), str(small), "--as-of", "2023-07-01", "-j", "1", "-o", str(out),
                 "--format", "csv"]) == 0
    printed = capsys.readouterr().out
    assert "2 subjects evaluated" in printed and "rejections by reason code" in printed
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert {(r["id"], r["score"]) for r in rows} == {("op1", "9"), ("p1", "9")}
