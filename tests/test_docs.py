"""The pages run: every command of the guides, in order, in a temporary copy.

The guides (docs/guide/tutorial.md, docs/guide/getting-started.md, ...) are scripts that policy
staff follow by hand. This test follows them the same way, so that a page cannot drift from the
program:

- a ```bash block whose lines start with ``qrules``, ``.venv/bin/qrules`` or ``cp`` is run
  from the root of a temporary copy of ``rulesets/`` and ``examples/``; each command must
  exit with the code the page states (``# 退出码 N`` or ``# exit code N`` in the line's comment,
  else 0);
- a ```text block that directly follows such a bash block is its (abbreviated) output: every
  line of it, except ``…`` lines, must occur in what the commands printed; ``…`` inside or at
  the end of a line stands for text left out (the parts must occur in that order in one line);
- ``<!-- test: replace PATH -->`` followed by two ```yaml blocks (before, after) is an edit
  the reader makes: the "before" text must occur exactly once in PATH and is replaced;
- ``<!-- test: write PATH -->`` followed by a ```yaml block writes that file;
- ``<!-- test: file-contains PATH -->`` followed by a fenced block: every line of the block
  occurs in PATH (a file an earlier command wrote).

Hidden steps, for output a page shows without the command (an error message, say):

- ``<!-- test: edit PATH 'OLD' 'NEW' -->``: OLD occurs exactly once in PATH and becomes NEW (``\\n``: a
  line break);
- ``<!-- test: run COMMAND -->``: run it as a bash line; a ```text block right after is its output
  (a line ``$ command`` in it is the command shown, not output);
- ``<!-- test: reset -->``: ``rulesets/`` and ``examples/`` as in the repository again.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "guide" / "tutorial.md"

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*test:\s*(replace|write|file-contains|edit|run|reset)\b\s*(.*?)\s*-->\s*$")
_EXIT = re.compile(r"#.*?(?:退出码|exit code)\s*(\d+)")
_ELLIPSIS = ("…", "...")


@dataclass
class Block:
    kind: str          # "fence" or "marker"
    lang: str          # fence language, or marker action
    body: str          # fence text, or marker path
    line: int          # 1-based line of the opening fence / marker
    follows_fence: bool = False   # only blank lines since the previous fence closed


def parse(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    blank_since_fence = False
    while i < len(lines):
        line = lines[i]
        m = _FENCE.match(line)
        if m:
            start = i
            i += 1
            body = []
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            blocks.append(Block("fence", m.group(1), "\n".join(body) + "\n", start + 1, blank_since_fence))
            blank_since_fence = True
            i += 1
            continue
        m = _MARKER.match(line)
        if m:
            blocks.append(Block("marker", m.group(1), m.group(2), i + 1))
        if line.strip():
            blank_since_fence = False
        i += 1
    return blocks


def _qrules_argv() -> list[str]:
    script = Path(sys.executable).parent / "qrules"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from qrules.cli import main; sys.exit(main(sys.argv[1:]))"]


def _command_lines(body: str) -> list[str]:
    return [ln.strip() for ln in body.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _runnable(body: str) -> bool:
    cmds = _command_lines(body)
    return bool(cmds) and all(
        c.split()[0] in ("qrules", ".venv/bin/qrules", "cp") for c in cmds)


def run_command(line: str, cwd: Path) -> tuple[int, int, str]:
    """Run one tutorial line; return (expected exit code, actual exit code, output)."""
    m = _EXIT.search(line)
    expected = int(m.group(1)) if m else 0
    words = shlex.split(line, comments=True)
    assert not any(w in (">", ">>", "|", "&&", ";") for w in words), f"no shell syntax in the tutorial: {line}"
    if words[0] == "cp":
        assert len(words) == 3, line
        shutil.copyfile(cwd / words[1], cwd / words[2])
        return expected, 0, ""
    proc = subprocess.run(_qrules_argv() + words[1:], cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    return expected, proc.returncode, proc.stdout + proc.stderr


def _check_lines(shown: str, actual: str, where: str) -> None:
    actual_lines = [ln.strip() for ln in actual.splitlines()]
    for want in shown.splitlines():
        want = want.strip()
        if not want or want in _ELLIPSIS or want.startswith("$ "):   # "$ command": the command shown
            continue
        parts = [p.strip() for p in re.split(r"…|\.\.\.", want) if p.strip()]
        ok = any(_in_order(parts, ln) for ln in actual_lines)
        assert ok, f"{where}: the page shows\n  {want}\nbut the program printed:\n{actual}"


def _in_order(parts: list[str], line: str) -> bool:
    at = 0
    for part in parts:
        found = line.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return True


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("rulesets", "examples"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def test_parse_finds_the_steps():
    blocks = parse(TUTORIAL.read_text(encoding="utf-8"))
    runnable = [b for b in blocks if b.kind == "fence" and b.lang == "bash" and _runnable(b.body)]
    markers = [b for b in blocks if b.kind == "marker"]
    assert len(runnable) >= 8 and len(markers) >= 5


def _reset(workdir: Path) -> None:
    for name in ("rulesets", "examples"):
        shutil.rmtree(workdir / name)
        shutil.copytree(ROOT / name, workdir / name)


def run_page(page: Path, workdir: Path) -> int:
    """Follow one page step by step in ``workdir``; return how many commands ran."""
    blocks = parse(page.read_text(encoding="utf-8"))
    last_output: str | None = None
    commands = 0
    i = 0
    while i < len(blocks):
        b = blocks[i]
        where = f"{page.relative_to(ROOT)}:{b.line}"
        if b.kind == "marker" and b.lang in ("edit", "run", "reset"):
            last_output = None
            if b.lang == "reset":
                _reset(workdir)
            elif b.lang == "edit":
                path, old, new = (w.replace("\\n", "\n") for w in shlex.split(b.body))   # \n: a line break
                text = (workdir / path).read_text(encoding="utf-8")
                assert text.count(old) == 1, f"{where}: '{old}' must occur once in {path}"
                (workdir / path).write_text(text.replace(old, new), encoding="utf-8")
            else:
                expected, actual, last_output = run_command(b.body, workdir)
                assert actual == expected, f"{where}: `{b.body}` exited {actual}, the page says {expected}\n{last_output}"
                commands += 1
                nxt = blocks[i + 1] if i + 1 < len(blocks) else None
                if nxt is not None and nxt.kind == "fence" and nxt.lang == "text":   # what it prints
                    _check_lines(nxt.body, last_output, where)
                    i += 2
                    continue
            i += 1
            continue
        if b.kind == "marker":
            target = workdir / b.body
            if b.lang == "replace":
                before, after = blocks[i + 1], blocks[i + 2]
                assert before.kind == after.kind == "fence", f"{where}: replace needs two code blocks"
                text = target.read_text(encoding="utf-8")
                old = before.body.rstrip("\n")
                assert text.count(old) == 1, f"{where}: the text to replace must occur once in {b.body}:\n{old}"
                target.write_text(text.replace(old, after.body.rstrip("\n")), encoding="utf-8")
                i += 3
            elif b.lang == "write":
                block = blocks[i + 1]
                assert block.kind == "fence", f"{where}: write needs a code block"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.body, encoding="utf-8")
                i += 2
            else:  # file-contains
                block = blocks[i + 1]
                assert block.kind == "fence", f"{where}: file-contains needs a code block"
                assert target.exists(), f"{where}: {b.body} was not written by an earlier command"
                _check_lines(block.body, target.read_text(encoding="utf-8"), where)
                i += 2
            last_output = None
            continue
        if b.lang == "bash" and _runnable(b.body):
            output = []
            for line in _command_lines(b.body):
                expected, actual, out = run_command(line, workdir)
                assert actual == expected, (
                    f"{where}: `{line}` exited {actual}, the page says {expected}\n{out}")
                output.append(out)
                commands += 1
            last_output = "".join(output)
        elif b.lang == "text" and b.follows_fence and last_output is not None:
            _check_lines(b.body, last_output, where)
            last_output = None
        else:
            last_output = None
        i += 1
    return commands


#: page -> the fewest commands it must run (a page whose examples vanish fails too)
PAGES = {
    TUTORIAL: 8,
    ROOT / "docs" / "guide" / "getting-started.md": 6,
    ROOT / "docs" / "guide" / "writing-rules.md": 3,
    ROOT / "docs" / "casetest.md": 9,
    ROOT / "docs" / "review.md": 3,
    ROOT / "docs" / "guide" / "versions.md": 2,
}


@pytest.mark.parametrize("page", list(PAGES), ids=lambda p: p.name)
def test_page_runs_as_written(page: Path, workdir: Path):
    assert run_page(page, workdir) >= PAGES[page]


EDITOR = ROOT / "docs" / "guide" / "editor.md"


@pytest.mark.parametrize("argv", [["schema", "ruleset"], ["schema", "ruleset", "--child"]])
def test_editor_page_schema_commands(argv, capsys):
    """docs/guide/editor.md: the commands it shows print JSON Schema; the modelines name their files."""
    import json

    from qrules.cli import main

    page = EDITOR.read_text(encoding="utf-8")
    shown = " ".join(argv)
    target = "ruleset-child.schema.json" if "--child" in argv else "ruleset.schema.json"
    assert f".venv/bin/qrules {shown} > rulesets/{target}" in page
    assert f"# yaml-language-server: $schema=./{target}" in page
    assert main(argv) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object" and "items" in schema["properties"]


# -- README.md ------------------------------------------------------------------------------------
README = ROOT / "README.md"


def readme_python() -> str:
    """The README's Python API example, runnable: its ``[...]`` placeholders become empty lists."""
    (block,) = [b.body for b in parse(README.read_text(encoding="utf-8")) if b.kind == "fence" and b.lang == "python"]
    return block.replace("[...]", "[]")


def test_readme_python_example_runs_and_dumps_the_cli_json(workdir: Path):
    """README "Python API": the example prints each subject, and ``result.model_dump_json()`` is the
    JSON of ``evaluate --format json`` (which adds the history's refused records and input problems)."""
    import json

    script = readme_python() + textwrap.dedent("""
        import json as _json
        print("DUMP " + result.model_dump_json())
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=workdir, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "hh 14 A A 一般监管" in proc.stdout and "ht 12 A D 特别监管" in proc.stdout
    dumped = json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("DUMP "))[5:])
    cli = subprocess.run(_qrules_argv() + ["evaluate", "rulesets/haojiang-2023.yaml", "examples/haojiang-history.yaml",
                                           "--as-of", "2025-12-31", "--format", "json"],
                         cwd=workdir, capture_output=True, text=True, encoding="utf-8", timeout=120)
    printed = json.loads(cli.stdout)
    assert set(printed) - set(dumped) == {"invalid_records", "input_diagnostics"}
    assert {k: printed[k] for k in dumped} == dumped   # a D lock says "class", as the schema does


def _readme_commands() -> list[str]:
    """The command lines of README's "What you can do" that need no value filled in."""
    text = README.read_text(encoding="utf-8")
    blocks = [b.body for b in parse(text) if b.kind == "fence" and b.lang == "bash"]
    lines = [re.sub(r"\s*\[[^]]*\]", "", ln.split("  #")[0]).strip()   # options in [...] left out
             for body in blocks for ln in body.splitlines()]
    commands = []
    for ln in lines:
        if ln.startswith(".venv/bin/qrules ") and not re.search(
                r"\.\.\.|\b(RULESET|HISTORY|SUBJECT|OLD|NEW|DATE|DIR)\b|\bserve\b", ln):
            alternatives = re.search(r"\S*\|\S*", ln)   # schema ruleset|history|result: each of them
            commands += ([ln.replace(alternatives.group(), a) for a in alternatives.group().split("|")]
                         if alternatives else [ln])
    return commands


def test_readme_commands_run_with_the_exit_codes_it_states(workdir: Path):
    """README: exit 0 ok; 1 errors in the input — for the commands that evaluate, records of the
    history were refused, reported, and the rest still printed. No command may exit 2 or crash."""
    commands = _readme_commands()
    assert len(commands) >= 10, commands
    shutil.copytree(ROOT / "tests" / "data" / "changes", workdir / "tests" / "data" / "changes")
    shutil.copytree(ROOT / "tests" / "fixtures", workdir / "tests" / "fixtures")
    for line in commands:
        words = [w for word in shlex.split(line)   # a shell would expand rulesets/*.yaml
                 for w in (sorted(str(p.relative_to(workdir)) for p in workdir.glob(word)) if "*" in word else [word])]
        proc = subprocess.run(_qrules_argv() + words[1:], cwd=workdir, capture_output=True, text=True,
                              encoding="utf-8", timeout=300)
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out and "internal error" not in out, f"{line}\n{out}"
        if proc.returncode == 1:
            assert "input problem(s) in examples/haojiang-history.yaml" in proc.stderr, f"{line}\n{out}"
            assert proc.stdout.strip(), f"{line}: the rest is still printed"
        else:
            assert proc.returncode == 0, f"{line} exited {proc.returncode}\n{out}"


def test_casetest_page_lists_every_case_file_of_rulesets_tests():
    """docs/casetest.md's table of the project's case files is the folder's content, no more, no less."""
    page = (ROOT / "docs" / "casetest.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([\w.-]+\.yaml)` \|", page, re.M))
    assert listed == {p.name for p in (ROOT / "rulesets" / "tests").glob("*.yaml")}


# -- the Python examples of the reference pages ---------------------------------------------------
def _deadlines_history(workdir: Path) -> None:
    """history.yaml: the history of tests/test_deadlines.py, whose clocks docs/deadlines.md shows."""
    import json

    from test_deadlines import EVENTS, SUBJECTS

    (workdir / "history.yaml").write_text(json.dumps({"subjects": SUBJECTS, "events": EVENTS}, ensure_ascii=False),
                                          encoding="utf-8")


def _synth(fmt: str, out: str):
    def make(workdir: Path) -> None:
        proc = subprocess.run(_qrules_argv() + ["synth", "-n", "60", "--seed", "3", "--format", fmt, "-o", out],
                              cwd=workdir, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    return make


#: page -> (what its example needs that the repository does not hold, a name the example must define)
PYTHON_PAGES = {
    "batch.md": (_synth("csv", "corpus"), "summary"),
    "deadlines.md": (_deadlines_history, "clocks"),
    "history.md": (_synth("jsonl", "history.jsonl"), "loaded"),
    "plan.md": (lambda workdir: None, "plan"),
}


@pytest.mark.parametrize("name", list(PYTHON_PAGES))
def test_python_example_of_the_page_runs(name: str, workdir: Path):
    """Each ```python block of the page runs as written, in a fresh interpreter, from the project root."""
    import ast

    page = ROOT / "docs" / name
    blocks = [b for b in parse(page.read_text(encoding="utf-8")) if b.kind == "fence" and b.lang == "python"]
    assert blocks, name
    setup, defined = PYTHON_PAGES[name]
    setup(workdir)
    for block in blocks:
        script = block.body + f"\nprint('DEFINED', {defined!r} in dir())\n"
        if name == "deadlines.md":
            script += "print('SUMMARY', summarize(clocks))\n"
        proc = subprocess.run([sys.executable, "-c", script], cwd=workdir, capture_output=True, text=True,
                              encoding="utf-8", timeout=300)
        assert proc.returncode == 0, f"{page.relative_to(ROOT)}:{block.line}\n{proc.stderr}"
        assert "DEFINED True" in proc.stdout
        if name == "deadlines.md":   # the summary its comment shows
            shown = re.search(r"summarize\(clocks\)\s*#\s*(\{.*\})", block.body).group(1)
            printed = next(ln for ln in proc.stdout.splitlines() if ln.startswith("SUMMARY "))[8:]
            assert ast.literal_eval(printed) == ast.literal_eval(shown)


def test_history_page_examples_load_without_a_problem(tmp_path: Path):
    """docs/history.md: its first YAML history and the same in JSON Lines load, every record valid."""
    import qrules

    blocks = [b for b in parse((ROOT / "docs" / "history.md").read_text(encoding="utf-8")) if b.kind == "fence"]
    yaml_block = next(b for b in blocks if b.lang == "yaml")
    jsonl_block = next(b for b in blocks if b.lang == "json")
    (tmp_path / "h.yaml").write_text(yaml_block.body, encoding="utf-8")
    (tmp_path / "h.jsonl").write_text(jsonl_block.body, encoding="utf-8")
    for name, subjects, events in (("h.yaml", 2, 4), ("h.jsonl", 2, 1)):
        loaded = qrules.load_history(tmp_path / name)
        assert loaded.diagnostics == [] and (len(loaded.history.subjects), len(loaded.history.events)) == (subjects, events)
