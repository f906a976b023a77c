"""JSON text the records cannot hold, and corrections that change nothing (found while reading
JSON Lines column-wise; each crashed or slipped through before)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qrules.cli import main
from qrules.errors import QrulesError
from qrules.history import uscc_check_character
from qrules.history.load import load_history

USCC = "91440512" + "000000001" + uscc_check_character("91440512000000001")
OPERATOR = {"id": "o1", "kind": "operator", "uscc": USCC, "roles": ["producer"]}
DEDUCTION = {"id": "d1", "kind": "deduction", "item": "12.3", "subjects": ["o1"], "date": "2024-03-01"}


def test_a_lone_surrogate_in_a_json_file_is_refused_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text('{"subjects": [{"id": "o1", "kind": "operator", "uscc": "' + USCC + '", "name": "a\\udc00"}]}',
                    encoding="utf-8")
    with pytest.raises(QrulesError) as exc:
        load_history(path)
    (d,) = exc.value.diagnostics
    assert d.code == "QR507" and "\\udc00" in d.message and "代理项" in d.message
    assert (d.span.line, d.span.col) == (1, path.read_text(encoding="utf-8").index("\\udc00") + 1)


def test_a_surrogate_pair_is_one_character(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"subjects": [dict(OPERATOR, name="😀")]}, ensure_ascii=True), encoding="utf-8")
    loaded = load_history(path)
    assert not loaded.diagnostics and loaded.history.subjects[0].name == "😀"


def test_a_lone_surrogate_in_a_json_lines_subject_refuses_it_and_its_events(tmp_path: Path, capsys) -> None:
    """Every command failed with "internal error" writing such a name; now the record is refused
    (QR507) and the subject's events are rejected with its reason, exit 1."""
    path = tmp_path / "h.jsonl"
    lines = ['{"record": "subject", "id": "o1", "kind": "operator", "uscc": "' + USCC + '", "name": "\\ud800"}',
             json.dumps({"record": "event", **DEDUCTION})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_history(path)
    assert [d.code for d in loaded.diagnostics] == ["QR507"]
    assert "o1" in loaded.invalid_subjects and "\\ud800" in loaded.invalid_subjects["o1"]
    code = main(["evaluate", "guangdong-2021", str(path), "--as-of", "2025-01-01", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1 and "internal error" not in err
    (rejected,) = json.loads(out)["rejected"]
    assert (rejected["event"], rejected["code"]) == ("d1", "QR603")


@pytest.mark.parametrize("changes", [{"item": None}, {"line": {}}, {"line": {"model": None}}])
def test_art25_an_amend_that_changes_nothing_is_refused(tmp_path: Path, changes: dict) -> None:
    """第二十四条、第二十五条: an amend names what it changes; null (or a line with neither part)
    changes nothing, so such ``changes`` are refused as empty ones are."""
    path = tmp_path / "h.json"
    correction = {"id": "c1", "kind": "correction", "of": "d1", "action": "amend", "date": "2024-04-01",
                  "changes": changes}
    path.write_text(json.dumps({"subjects": [OPERATOR], "events": [DEDUCTION, correction]}), encoding="utf-8")
    loaded = load_history(path)
    assert [(d.code, "must set at least one of" in d.message) for d in loaded.diagnostics] == [("QR501", True)]
    assert [r.id for r in loaded.rejected_events] == ["c1"]


def test_art9_a_line_with_neither_part_is_no_line(tmp_path: Path) -> None:
    """第九条第二款 reads the line's parts; ``line: {}`` holds none, as a table's empty cells."""
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"subjects": [OPERATOR], "events": [dict(DEDUCTION, line={})]}), encoding="utf-8")
    loaded = load_history(path)
    assert not loaded.diagnostics and loaded.history.events[0].line is None
