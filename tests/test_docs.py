"""The tutorial runs: every command of docs/guide/tutorial.md, in order, in a temporary copy.

The tutorial (docs/guide/tutorial.md) is a script that policy staff follow by hand. This test
follows it the same way, so that the page cannot drift from the program:

- a ```bash block whose lines start with ``qrules``, ``.venv/bin/qrules`` or ``cp`` is run
  from the root of a temporary copy of ``rulesets/`` and ``examples/``; each command must
  exit with the code the tutorial states (``# 退出码 N`` at the end of the line, else 0);
- a ```text block that directly follows such a bash block is its (abbreviated) output: every
  line of it, except ``…`` lines, must occur in what the commands printed; a line ending in
  ``…`` is a prefix;
- ``<!-- test: replace PATH -->`` followed by two ```yaml blocks (before, after) is an edit
  the reader makes: the "before" text must occur exactly once in PATH and is replaced;
- ``<!-- test: write PATH -->`` followed by a ```yaml block writes that file;
- ``<!-- test: file-contains PATH -->`` followed by a fenced block: every line of the block
  occurs in PATH (a file an earlier command wrote).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "guide" / "tutorial.md"

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*test:\s*(replace|write|file-contains)\s+(\S+)\s*-->\s*$")
_EXIT = re.compile(r"#\s*(?:退出码|exit code)\s*(\d+)\s*$")
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
        if not want or want in _ELLIPSIS:
            continue
        if want.endswith(_ELLIPSIS):
            prefix = want.rstrip("….").rstrip()
            ok = any(prefix in ln for ln in actual_lines)
        else:
            ok = any(want in ln for ln in actual_lines)
        assert ok, f"{where}: the tutorial shows\n  {want}\nbut the program printed:\n{actual}"


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


def test_tutorial_runs_as_written(workdir: Path):
    blocks = parse(TUTORIAL.read_text(encoding="utf-8"))
    last_output: str | None = None
    commands = 0
    i = 0
    while i < len(blocks):
        b = blocks[i]
        where = f"{TUTORIAL.name}:{b.line}"
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
                    f"{where}: `{line}` exited {actual}, the tutorial says {expected}\n{out}")
                output.append(out)
                commands += 1
            last_output = "".join(output)
        elif b.lang == "text" and b.follows_fence and last_output is not None:
            _check_lines(b.body, last_output, where)
            last_output = None
        else:
            last_output = None
        i += 1
    assert commands >= 8


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
