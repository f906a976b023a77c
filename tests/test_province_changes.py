"""Rule changes a province might make in a successor (brief §4a), each written as a fictional
``guangdong-2026`` in tests/fixtures/province-changes/NN-name/, with hand-derived cases beside it.
Also what a case file can now check for such a change: the version that decided an entry, and
each half-year adjustment (第二十六条第二款) with the version in force on its date."""

from __future__ import annotations

import textwrap
from pathlib import Path

from qrules.cli import main

ROOT = Path(__file__).resolve().parents[1]
RULESETS = ROOT / "rulesets"
CHANGES = ROOT / "tests" / "fixtures" / "province-changes"


def _run_case(tmp_path: Path, capsys, expect: str) -> tuple[int, str]:
    """One case over change 01 (11.4 −3 → −6 from 2026-06-05): e1 2026-03-01 (guangdong-2021),
    e2 2026-08-01 (guangdong-2026)."""
    case = tmp_path / "cases" / "c.yaml"
    case.parent.mkdir()
    case.write_text(textwrap.dedent("""\
        ruleset: guangdong
        as_of: 2027-01-01
        cases:
          - name: 第二十六条第二款 §4a
            history:
              subjects:
                - {id: op1, kind: operator, uscc: 91440512MA5AAAAA1W, roles: [producer], region: "440512"}
                - {id: p1, kind: product, brand: 甲牌, nice_class: 28, producer: op1}
              events:
                - {id: e1, kind: deduction, item: "11.4", date: 2026-03-01, subjects: [p1]}
                - {id: e2, kind: deduction, item: "11.4", date: 2026-08-01, subjects: [p1]}
            expect:
        """) + textwrap.indent(textwrap.dedent(expect), " " * 6), encoding="utf-8")
    code = main(["test", str(case), "--rulesets", str(RULESETS), "--rulesets", str(CHANGES / "01-item-points")])
    return code, capsys.readouterr().out


def test_s4a_art26_case_checks_each_adjustment_and_its_version(tmp_path, capsys):
    # 2026-07-01 (guangdong-2026) from 2026-06-30: 12 − 3 (e1, decided under 2021) = 9 → B;
    # 2027-01-01 from 2026-12-31: 9 − 6 (e2 under 2026) = 3 → C
    code, out = _run_case(tmp_path, capsys, """\
        p1:
          adjustments:
            2026-07-01: {score: 9, class: B, official: B, locked: false, version: guangdong-2026}
            2027-01-01: {score: 3, class: C, official: C, version: guangdong-2026}
          entries: {e1: {points: -3, version: guangdong-2021}, e2: {points: -6, version: guangdong-2026}}
        """)
    assert code == 0, out


def test_s4a_art26_case_reports_a_wrong_adjustment_version_and_a_missing_adjustment(tmp_path, capsys):
    code, out = _run_case(tmp_path, capsys, """\
        p1:
          adjustments:
            2026-07-01: {version: guangdong-2021, class: C}
            2026-01-01: {official: O}
          entries: {e1: {version: guangdong-2026}}
        """)
    assert code == 1
    assert "p1.adjustments.2026-07-01.version: expected guangdong-2021, got guangdong-2026" in out
    assert "p1.adjustments.2026-07-01.class: expected C, got B" in out
    assert "p1.adjustments.2026-01-01: expected an adjustment, got no adjustment (2026-07-01, 2027-01-01)" in out
    assert "p1.entries.e1: expected version guangdong-2026, got status counted, version guangdong-2021" in out


def test_s4a_case_adjustment_class_must_be_a_class_of_the_ruleset(tmp_path, capsys):
    code, out = _run_case(tmp_path, capsys, "p1: {adjustments: {2026-07-01: {official: Q}}}\n")
    assert code == 1
    assert "QR802" in out and "p1.adjustments.2026-07-01.official: 'Q' is not a class" in out


FOLDERS = sorted(p for p in CHANGES.iterdir() if (p / "guangdong-2026.yaml").is_file())


def test_each_change_is_one_successor_with_its_cases():
    assert len(FOLDERS) >= 8
    for folder in FOLDERS:
        assert sorted(f.name for f in folder.glob("*.yaml")) == ["guangdong-2026.yaml"], folder
        assert list((folder / "cases").glob("*.yaml")), folder


def test_each_change_checks_clean_with_the_provincial_norms(capsys):
    """`qrules check rulesets FOLDER`: each version checks, and the family guangdong covers time
    without overlap (guangdong-2021 until 2026-06-04, the successor from 2026-06-05)."""
    for folder in FOLDERS:
        code = main(["check", str(RULESETS), str(folder)])
        out = capsys.readouterr()
        assert code == 0, out.out + out.err
        assert "family guangdong: guangdong-2021 2021-06-05..2026-06-04; guangdong-2026 2026-06-05..2031-06-04 " \
               "— no overlap" in out.out, folder
        assert "error" not in out.err, folder


def test_each_change_gives_its_hand_derived_results(capsys):
    """The cases of every change (their expectations derived by hand from the articles and brief §4a,
    the arithmetic beside each): run by `qrules test FOLDER/cases --rulesets rulesets`."""
    failed = {}
    for folder in FOLDERS:
        code = main(["test", str(folder / "cases"), "--rulesets", str(RULESETS)])
        out = capsys.readouterr().out
        if code != 0:
            failed[folder.name] = out
        assert "passed, 0 failed" in out.rstrip().splitlines()[-1], folder
    assert failed == {}
