"""The commands say the same things the same way (points the eighth review left open): the error
count after a list of diagnostics, every output problem at once, DATE for every date option."""

from __future__ import annotations

import argparse
import json

import pytest

from conftest import GUANGDONG, ROOT, operator, product
from qrules.cli import build_parser, main
from qrules.console import date_arg

HISTORY = ROOT / "examples" / "haojiang-history.yaml"


@pytest.fixture
def broken(tmp_path):
    """The provincial ruleset with 'classes:' misspelt: an unknown key (QR306) and a missing one (QR301)."""
    text = GUANGDONG.read_text(encoding="utf-8")
    assert text.count("\nclasses:") == 1
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace("\nclasses:", "\nclases:"), encoding="utf-8")
    return path


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"subjects": [operator("op1", 1), product("p1", "op1")], "events": []}),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["check", "render", "show", "evaluate", "explain", "batch", "deadlines", "plan",
                                     "impact"])
def test_a_command_stopped_by_a_broken_ruleset_ends_with_the_error_count_as_check_does(command, broken, history,
                                                                                        capsys):
    argv = {"check": [str(broken)], "render": [str(broken)], "show": [str(broken)],
            "evaluate": [str(broken), str(history)], "explain": [str(broken), str(history), "p1"],
            "batch": [str(broken), str(history)], "deadlines": [str(broken), str(history)],
            "plan": [str(broken), str(history)], "impact": [str(broken), str(GUANGDONG), str(history)]}[command]
    assert main([command, *argv]) == 1
    err = capsys.readouterr().err
    assert "error[QR306]" in err and "error[QR301]" in err
    assert err.rstrip().splitlines()[-1] == f"{broken}: 2 error(s)（2 处错误）"


def test_a_history_that_cannot_be_read_ends_with_its_error_count(tmp_path, capsys):
    bad = tmp_path / "h.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["evaluate", str(GUANGDONG), str(bad)]) == 1
    last = capsys.readouterr().err.rstrip().splitlines()[-1]
    assert last == f"{bad}: 1 error(s)（1 处错误）"


def test_an_error_with_no_place_is_counted_without_a_file(history, capsys):
    assert main(["explain", str(GUANGDONG), str(history), "nobody"]) == 1
    err = capsys.readouterr().err
    assert "error[QR956]" in err and err.rstrip().splitlines()[-1] == "1 error(s)（1 处错误）"


def test_json_output_carries_the_errors_and_prints_no_count(broken, capsys):
    assert main(["show", str(broken), "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is False and "error(s)" not in captured.err


def test_test_command_counts_the_errors_of_a_case_that_cannot_run(broken, tmp_path, capsys):
    cases = tmp_path / "c.yaml"
    cases.write_text(f"ruleset: {broken.name}\ncases:\n  - name: one\n    as_of: 2024-01-01\n"
                     "    history: {subjects: [], events: []}\n    expect: {}\n", encoding="utf-8")
    assert main(["test", str(cases)]) == 1
    out = capsys.readouterr().out
    # QR803 (the case's ruleset cannot be used) and the ruleset's own two below it
    assert f"{cases}::one: 3 error(s)（3 处错误）" in out.splitlines()


def test_unwritable_and_misnamed_outputs_are_reported_together(tmp_path, capsys):
    missing = tmp_path / "missing"
    # the table format written to a .csv name (QR008) in a folder that does not exist (QR007)
    assert main(["evaluate", str(GUANGDONG), str(HISTORY), "-o", str(missing / "r.csv")]) == 1
    err = capsys.readouterr().err
    assert "error[QR007]" in err and "error[QR008]" in err
    assert err.rstrip().splitlines()[-1] == "2 error(s)（2 处错误）"


def test_every_output_of_batch_is_judged_before_it_stops(tmp_path, capsys):
    missing = tmp_path / "missing"
    assert main(["batch", str(GUANGDONG), str(HISTORY), "-o", str(missing / "r.xlsx"),
                 "--rejections", str(missing / "rej.csv"), "--summary-json", str(tmp_path / "s.txt")]) == 1
    err = capsys.readouterr().err
    assert err.count("error[QR007]") == 2 and err.count("error[QR008]") == 2   # .xlsx and the summary's .txt
    assert not missing.exists() and not (tmp_path / "s.txt").exists()


def _date_options():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.type is date_arg:
                yield name, command, action


def test_every_date_option_shows_DATE_in_help_in_chinese_and_english():
    found = list(_date_options())
    assert {(n, a.option_strings[0]) for n, _, a in found} >= {
        ("evaluate", "--as-of"), ("evaluate", "--as-known-at"), ("explain", "--as-of"), ("show", "--at"),
        ("impact", "--as-of"), ("deadlines", "--as-of"), ("plan", "--as-of"), ("batch", "--as-of"),
        ("batch", "--as-known-at"), ("serve", "--as-of")}
    for name, command, action in found:
        zh, en = action.help.rsplit("；", 1)   # localized help: Chinese；English
        assert action.metavar == "DATE" and "DATE" in zh and "DATE" in en, (name, action.option_strings)
        assert f"{action.option_strings[0]} DATE" in command.format_help(), name
    for name, command, _ in found:
        assert "AS_OF" not in command.format_help() and "AS_KNOWN_AT" not in command.format_help(), name


def test_serve_output_help_says_it_is_the_start_up_report():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices["serve"]._actions if a.dest == "output")
    zh, en = action.help.rsplit("；", 1)
    assert "启动信息" in zh and "start-up report" in en and "standard error" in en
    assert "instead of standard output" not in action.help
