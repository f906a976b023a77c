"""CLI conventions (issue 9, item 5): '-' for standard input and output, -o/--output and --format
on every command, a status line while loading and in synth, impact's exit code, names and
inspections owed, and the git diff driver recipe of docs/review.md."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GUANGDONG, HAOJIANG, ROOT, ded, operator, product
from qrules.cli import build_parser, main
from qrules.output import Status

HISTORY = ROOT / "examples" / "haojiang-history.yaml"
QRULES = [sys.executable, "-m", "qrules.cli"]


def small_history() -> dict:
    return {"subjects": [operator("op1", 1, name="某某玩具厂"), product("p1", "op1")],
            "events": [ded("e1", "11.1", "2023-03-01", ["p1"])]}


# -- '-' ---------------------------------------------------------------------------------------------
def test_dash_reads_the_history_from_standard_input():
    proc = subprocess.run(QRULES + ["evaluate", str(GUANGDONG), "-", "--as-of", "2023-07-01", "--format", "json"],
                          input=json.dumps(small_history(), ensure_ascii=False).encode("utf-8"),
                          capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert {s["id"]: s["score"] for s in data["subjects"]} == {"op1": "9", "p1": "9"}  # 12 − 3


def test_dash_output_is_standard_output_not_a_file_named_dash(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    history = tmp_path / "h.json"
    history.write_text(json.dumps(small_history(), ensure_ascii=False), encoding="utf-8")
    for argv in (["evaluate", str(GUANGDONG), str(history), "--as-of", "2023-07-01", "-o", "-"],
                 ["render", str(GUANGDONG), "-o", "-"],
                 ["diff", str(GUANGDONG), str(GUANGDONG), "-o", "-"],
                 ["check", str(GUANGDONG), "-o", "-"],
                 ["synth", "-n", "5", "-o", "-"]):
        assert main(argv) == 0, argv
        assert capsys.readouterr().out, argv
        assert not (tmp_path / "-").exists(), argv


# -- -o and --format everywhere ---------------------------------------------------------------------
def test_every_command_takes_output_and_format():
    parser = build_parser(None)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        flags = {s for a in p._actions for s in a.option_strings}
        assert {"-o", "--output", "--format"} <= flags, name


@pytest.mark.parametrize("argv, check", [
    (["check", str(GUANGDONG), "--format", "json"], lambda t: json.loads(t)[0]["ok"] is True),
    (["show", str(GUANGDONG)], lambda t: "parameters.window.value" in t),
    (["explain", str(HAOJIANG), str(HISTORY), "hh", "--as-of", "2025-12-31"], lambda t: "hh" in t),
    (["schema", "history"], lambda t: json.loads(t)["type"] == "object"),
    (["test", str(ROOT / "rulesets" / "tests"), "--format", "json"], lambda t: "cases" in t or "passed" in t),
    (["deadlines", str(HAOJIANG), str(HISTORY), "--as-of", "2025-12-31", "--format", "json"],
     lambda t: "clocks" in json.loads(t)),
])
def test_output_option_writes_what_the_command_prints(argv, check, tmp_path, capsys):
    out = tmp_path / "out.txt"
    code = main(argv + ["-o", str(out)])
    assert code in (0, 1)
    assert capsys.readouterr().out == ""
    assert check(out.read_text(encoding="utf-8"))


# -- status line -------------------------------------------------------------------------------------
class FakeTTY:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return True


def test_status_line_is_drawn_and_cleared_on_a_terminal():
    tty = FakeTTY()
    with Status("加载 loading", stream=tty):
        pass
    assert "加载 loading … 0 s" in tty.text and tty.text.endswith("\r")


def test_status_line_is_silent_when_not_a_terminal():
    quiet = FakeTTY()
    quiet.isatty = lambda: False
    with Status("loading", stream=quiet):
        pass
    assert quiet.text == ""


def test_progress_flag_forces_the_status_line_while_loading_and_in_synth(tmp_path):
    proc = subprocess.run(QRULES + ["evaluate", str(HAOJIANG), str(HISTORY), "--as-of", "2025-12-31", "--progress"],
                          capture_output=True, cwd=ROOT, timeout=120)
    assert "加载规则集与历史数据 loading … " in proc.stderr.decode("utf-8")
    proc = subprocess.run(QRULES + ["synth", "-n", "50", "-o", str(tmp_path / "c.jsonl"), "--progress"],
                          capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and "生成合成数据 writing 50 subjects … " in proc.stderr.decode("utf-8")
    proc = subprocess.run(QRULES + ["synth", "-n", "50", "-o", str(tmp_path / "d.jsonl")],
                          capture_output=True, cwd=ROOT, timeout=120)
    assert "生成合成数据" not in proc.stderr.decode("utf-8")  # stderr is a pipe here: no status line


# -- impact ------------------------------------------------------------------------------------------
IMPACT_HISTORY = """
subjects:
  - {id: op1, kind: operator, uscc: 91440512MA5XXXX01U, roles: [producer], region: "440512", name: 甲玩具厂}
  - {id: p1, kind: product, brand: 甲牌, nice_class: 28, producer: op1, category: 玩具, name: 甲牌积木}
  - {id: bad, kind: operator, uscc: 123, roles: [seller]}
events:
  - {id: e1, kind: deduction, item: "11.1", date: 2024-03-01, subjects: [p1]}
  - {id: e2, kind: deduction, item: "11.5", date: 2024-04-01, subjects: [p1]}
  - {id: e3, kind: deduction, item: "11.1", date: 2024-13-01, subjects: [p1]}
"""


@pytest.fixture()
def stricter(tmp_path) -> Path:
    """guangdong-2021 with class B narrowed to (8, 12) and C widened to (0, 8]."""
    text = GUANGDONG.read_text(encoding="utf-8")
    text = text.replace('B: {when: "6 < score < 12"', 'B: {when: "8 < score < 12"')
    text = text.replace('C: {when: "0 < score <= 6"', 'C: {when: "0 < score <= 8"')
    path = tmp_path / "guangdong-next.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_art27_impact_names_subjects_counts_inspections_and_exits_1_on_input_errors(stricter, tmp_path, capsys):
    history = tmp_path / "h.yaml"
    history.write_text(IMPACT_HISTORY, encoding="utf-8")
    code = main(["impact", str(GUANGDONG), str(stricter), str(history), "--as-of", "2025-12-31"])
    captured = capsys.readouterr()
    assert code == 1  # the refused records (bad credit code, 2024-13-01) make it exit 1, as evaluate does
    assert "error[QR502]" in captured.err and "相关记录未计入" in captured.err
    # p1: 12 − 3 − 1 = 8 (e1 11.1 −3, e2 11.5 −1): B under (6, 12), C under (0, 8]: 1 → 2 checks a
    # year (第二十七条). op1, producer of p1, also takes the linked 12(1) entries: 6, C under both (2).
    assert "p1 甲牌积木  B → C  score 8 → 8  checks/yr 1 → 2" in captured.out and "op1" not in captured.out
    assert "inspections owed per year（每年应抽查或检查次数，第二十七条）: 3 → 4 (+1)" in captured.out


def test_impact_json_has_the_inspections_owed(stricter, tmp_path, capsys):
    history = tmp_path / "h.yaml"
    history.write_text(IMPACT_HISTORY, encoding="utf-8")
    main(["impact", str(GUANGDONG), str(stricter), str(history), "--as-of", "2025-12-31", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["inspections_per_year"] == {"old": 3, "new": 4, "delta": 1}


def test_impact_of_a_clean_history_exits_0(stricter, tmp_path, capsys):
    history = tmp_path / "h.json"
    history.write_text(json.dumps(small_history(), ensure_ascii=False), encoding="utf-8")
    assert main(["impact", str(GUANGDONG), str(stricter), str(history), "--as-of", "2023-07-01"]) == 0


# -- git diff driver -------------------------------------------------------------------------------------
def driver_script() -> str:
    text = (ROOT / "docs" / "review.md").read_text(encoding="utf-8")
    match = re.search(r"```sh\n(#!/bin/sh\n# qrules-git-diff.*?)```", text, re.S)
    assert match, "the driver script in docs/review.md"
    return match.group(1)


@pytest.fixture()
def repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "rulesets").mkdir(parents=True)
    shutil.copy(GUANGDONG, repo / "rulesets" / "guangdong-2021.yaml")
    shutil.copy(HAOJIANG, repo / "rulesets" / "haojiang-2023.yaml")
    (repo / ".gitattributes").write_text("rulesets/*.yaml diff=qrules\n", encoding="utf-8")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "qrules-git-diff"
    script.write_text(driver_script(), encoding="utf-8")
    script.chmod(0o755)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp_path), GIT_AUTHOR_NAME="t",
               GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org",
               PATH=f"{bindir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")

    def git(*args, **kw):
        return subprocess.run(["git", *args], cwd=repo, env={**env, **kw.pop("env", {})}, capture_output=True,
                              text=True, timeout=120, **kw)

    git("init", "-q")
    git("config", "diff.qrules.command", "qrules-git-diff")
    git("add", "-A")
    git("commit", "-qm", "start")
    return repo, git


def test_diff_driver_names_files_by_repository_path(repo):
    root, git = repo
    path = root / "rulesets" / "haojiang-2023.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nwindw: 1\n", encoding="utf-8")
    proc = git("diff")
    assert proc.returncode != 0  # the ruleset has an error: the driver fails loudly
    assert "b/rulesets/haojiang-2023.yaml:" in proc.stdout + proc.stderr
    assert re.search(r"/tmp\.\w+/", proc.stdout + proc.stderr) is None  # no mktemp path
    assert "qrules diff failed" in proc.stderr


def test_diff_driver_shows_a_semantic_diff(repo):
    root, git = repo
    path = root / "rulesets" / "guangdong-2021.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('window: {value: "36 months"',
                                                             'window: {value: "24 months"'), encoding="utf-8")
    proc = git("diff")
    assert proc.returncode == 0, proc.stderr
    assert "qrules diff a/rulesets/guangdong-2021.yaml" in proc.stdout
    assert "36 months → 24 months" in proc.stdout


def test_diff_driver_fails_loudly_when_qrules_is_missing(repo):
    root, git = repo
    path = root / "rulesets" / "guangdong-2021.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    proc = git("diff", env={"QRULES": "/nonexistent/qrules"})
    assert proc.returncode != 0
    assert "'/nonexistent/qrules' not found" in proc.stderr
