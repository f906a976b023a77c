"""``--format json`` prints one valid JSON document on standard output for every command that has it,
whether the command succeeds or stops on bad input (``{"ok": false, "diagnostics": [...]}``), so
a program reading it never has to parse text (README: "With --format json, an error that stops a
command is printed as JSON on standard output too"). ``jsonl``: one JSON object a line."""

from __future__ import annotations

import argparse
import json

import pytest

from conftest import GUANGDONG, HAOJIANG, ROOT
from qrules.cli import build_parser, main

HISTORY = str(ROOT / "examples" / "haojiang-history.yaml")
G, H = str(GUANGDONG), str(HAOJIANG)


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "bad.yaml").write_text("bad: [\n", encoding="utf-8")
    return str(folder / "bad.yaml")


#: command -> (arguments that work, arguments that stop it); BAD is the broken file
RUNS = {
    "check": ([G, H], ["BAD"]),
    "show": ([H, "--resolved"], ["BAD"]),
    "evaluate": ([H, HISTORY, "--as-of", "2025-12-31"], ["BAD", HISTORY]),
    "explain": ([H, HISTORY, "zp", "--as-of", "2025-12-31"], [H, HISTORY, "nobody"]),
    "schema": (["result"], ["result", "-o", "/nonexistent-folder/x.json"]),
    "test": ([str(ROOT / "rulesets" / "tests" / "gd-window.yaml")], ["BAD"]),
    "diff": ([G, H], ["BAD", H]),
    "impact": ([G, H, HISTORY, "--as-of", "2025-12-31"], [G, H, "BAD"]),
    "deadlines": ([H, HISTORY, "--as-of", "2025-12-31"], [H, "BAD"]),
    "plan": ([H, HISTORY, "--year", "2025"], [H, "BAD"]),
}


def test_every_command_with_json_output_is_listed_here():
    parser = build_parser(None)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    with_json = {name for name, p in sub.choices.items()
                 for a in p._actions if a.dest == "format" and "json" in (a.choices or ())}
    assert with_json - {"serve"} == set(RUNS)   # serve: its start-up report, tested in test_serve_api


@pytest.mark.parametrize("command", list(RUNS))
@pytest.mark.parametrize("which", ["ok", "stops"])
def test_format_json_is_one_json_document(command, which, bad, capsys):
    argv = [bad if a == "BAD" else a for a in RUNS[command][which == "stops"]]
    code = main([command, *argv, "--format", "json"])
    out = capsys.readouterr().out
    data = json.loads(out)   # nothing but JSON on standard output
    if which == "stops":
        # {"ok": false, "diagnostics": [...]}, or the command's own report (check: one entry a file)
        assert code == 1 and '"code": "QR' in json.dumps(data), out
        assert data["ok"] is False if isinstance(data, dict) and "ok" in data else True
    else:
        assert code in (0, 1)   # 1: the example history's refused records, reported in the JSON


@pytest.mark.parametrize("which", ["ok", "stops"])
def test_evaluate_format_jsonl_is_one_json_object_a_line(which, bad, capsys):
    argv = [bad if a == "BAD" else a for a in RUNS["evaluate"][which == "stops"]]
    main(["evaluate", *argv, "--format", "jsonl"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines and all(isinstance(x, dict) for x in lines)
