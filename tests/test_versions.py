"""Rules over time (brief §4a): families, versions, the registry and which version decides what.

The successor in tests/data/versions/{keep,redecide}/guangdong-2026.yaml is fictional: from
2026-06-05 item 11.1 is -5 (intentional -8), the window is 24 months and A starts at 11 points.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import qrules
from qrules.cli import main
from qrules.errors import QrulesError
from qrules.registry import load_rulesets

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
DATA = ROOT / "tests" / "data" / "versions"
EXAMPLE = ROOT / "examples" / "haojiang-history.yaml"


def codes(exc: QrulesError) -> list[str]:
    return [d.code for d in exc.diagnostics if d.severity == "error"]


# -- families and the registry ----------------------------------------------------------------
def test_s4a_check_folder_proves_the_versions_do_not_overlap(capsys):
    assert main(["check", str(RULESETS)]) == 0
    out = capsys.readouterr().out
    assert "family guangdong: guangdong-2021 2021-06-05..2026-06-04 — no overlap" in out
    assert "family haojiang: haojiang-2023 2023-12-18..(open) (follows guangdong) — no overlap" in out


def test_s4a_successor_in_a_second_folder_joins_the_family(capsys):
    assert main(["check", str(RULESETS), str(DATA / "keep"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)[-1]
    assert [v["version"] for v in report["families"]["guangdong"]] == ["guangdong-2021", "guangdong-2026"]
    assert report["ok"] is True


def test_s4a_overlapping_versions_fail_located(capsys):
    assert main(["check", str(RULESETS), str(DATA / "overlap")]) == 1
    err = capsys.readouterr().err
    assert (f"{DATA / 'overlap' / 'guangdong-2025.yaml'}:8:3: error[QR902]: versions guangdong-2021 "
            "(2021-06-05..2026-06-04) and guangdong-2025 (2025-01-01..2029-12-31) of family 'guangdong' are "
            "both in force from 2025-01-01 to 2026-06-04") in err


def test_s4a_gap_between_versions_is_a_warning_naming_the_dates(tmp_path):
    (tmp_path / "guangdong-2027.yaml").write_text(
        "qrules: 1\nruleset: guangdong-2027\nextends: guangdong-2021\nversion: '2027'\ntitle: t\n"
        "in_force: {from: 2027-01-01, until: 2031-12-31}\n", encoding="utf-8")
    reg = load_rulesets(RULESETS, tmp_path)
    gaps = [d for d in reg.check() if d.code == "QR903"]
    assert len(gaps) == 1 and gaps[0].severity == "warning"
    assert "from 2026-06-05 to 2026-12-31" in gaps[0].message
    assert gaps[0].span.file.endswith("guangdong-2027.yaml")


def test_s4a_version_extending_its_own_family_is_refused():
    with pytest.raises(QrulesError) as exc:
        load_rulesets(RULESETS, DATA / "selfref").load("guangdong")
    assert "QR905" in codes(exc.value)
    bad = next(d for d in exc.value.diagnostics if d.code == "QR905")
    assert (bad.span.line, bad.span.col) == (5, 10)


def test_s4a_family_reference_resolving_to_nothing_is_refused():
    with pytest.raises(QrulesError) as exc:
        load_rulesets(RULESETS, DATA / "early").load("shantou")
    bad = next(d for d in exc.value.diagnostics if d.code == "QR904")
    assert "from 2019-01-01 to 2021-06-04 'extends: guangdong' resolves to nothing" in bad.message
    assert bad.span.file.endswith("shantou-2019.yaml") and bad.span.line == 5


def test_s4a_two_versions_with_the_same_name_are_refused():
    reg = load_rulesets(RULESETS, DATA / "dup")
    dup = [d for d in reg.check() if d.code == "QR901"]
    assert dup and dup[0].span.file.endswith("guangdong-copy.yaml") and dup[0].span.line == 3
    with pytest.raises(QrulesError):
        reg.load("guangdong")


def test_s4a_unknown_name_lists_the_known_ones():
    with pytest.raises(QrulesError) as exc:
        load_rulesets(RULESETS).load("haojang")
    d = exc.value.diagnostics[0]
    assert d.code == "QR906" and "did you mean 'haojiang'" in d.hint


def test_s4a_haojiang_follows_the_family_one_piece_per_provincial_version():
    tl = load_rulesets(RULESETS, DATA / "keep").load("haojiang").timeline
    assert [(p.label, p.start, p.until) for p in tl.pieces] == [
        ("haojiang-2023/guangdong-2021", dt.date(2023, 12, 18), dt.date(2026, 6, 4)),
        ("haojiang-2023/guangdong-2026", dt.date(2026, 6, 5), dt.date(2031, 6, 4)),
    ]
    after = tl.at(dt.date(2027, 3, 31)).compiled
    assert after.model.items["11.1"].points == -5 and after.params["window"].amount == 24
    assert after.model.jurisdiction.division == "440512"   # haojiang's own values still apply


def test_s4a_family_name_evaluates_like_the_file(capsys):
    assert main(["evaluate", "haojiang", str(EXAMPLE), "--as-of", "2025-12-31", "--format", "json"]) == 1
    by_name = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(RULESETS / "haojiang-2023.yaml"), str(EXAMPLE), "--as-of", "2025-12-31",
                 "--format", "json"]) == 1
    by_file = json.loads(capsys.readouterr().out)
    assert by_name["subjects"] == by_file["subjects"] and by_name["rejected"] == by_file["rejected"]
    assert len(by_name["subjects"]) > 30


def test_s4a_show_resolved_at_a_date_shows_the_version_in_force(capsys):
    assert main(["show", "haojiang", "--resolved", "--at", "2027-03-31", "--rulesets", str(RULESETS),
                 "--rulesets", str(DATA / "keep")]) == 0
    out = capsys.readouterr().out
    assert 'items.11.1.points = -5    # ' in out and "guangdong-2026.yaml" in out
    assert main(["show", "haojiang", "--resolved", "--at", "2025-03-31"]) == 0
    assert 'items.11.1.points = -3    # ' in capsys.readouterr().out


def test_s4a_python_api_loads_a_folder():
    reg = qrules.load_rulesets(RULESETS)
    assert sorted(reg.families) == ["guangdong", "haojiang"]
    compiled = qrules.load_ruleset("haojiang", rulesets=[RULESETS])
    assert compiled.timeline.family == "haojiang"
