"""Rules over time (brief §4a): families, versions, the registry and which version decides what.

The successor in tests/data/versions/{keep,redecide}/guangdong-2026.yaml is fictional: from
2026-06-05 item 11.1 is -5 (intentional -8), the window is 24 months and A starts at 11 points.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

import qrules
from qrules.cli import main
from qrules.errors import QrulesError
from qrules.versioned import load_rulesets

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


@pytest.mark.parametrize("successor", [
    "qrules: 1\nruleset: guangdong-2026\nextends: guangdong-2021\nversion: '2026'\n"
    "in_force: {from: 2026-06-05, until: 2031-06-04}\nclasses:\n  B: {when: \"6 < scroe < 12\"}\n",
    "qrules: 1\nruleset: guangdong-2026\nitems: [1, 2\n",                      # not even readable YAML
])
def test_s4a_folder_with_errors_does_not_claim_no_overlap(tmp_path, capsys, successor):
    (tmp_path / "guangdong-2021.yaml").write_text((RULESETS / "guangdong-2021.yaml").read_text(encoding="utf-8"),
                                                  encoding="utf-8")
    (tmp_path / "guangdong-2026.yaml").write_text(successor, encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "no overlap" not in out and "family guangdong: " in out
    assert "no version after 2026-06-04" not in err  # guangdong-2026 may be its successor
    assert "— not proven: " in out and "guangdong-2026" in out.split("not proven: ")[1]
    assert main(["check", str(tmp_path), "--format", "json"]) == 1
    folder = json.loads(capsys.readouterr().out)[-1]
    assert folder["ok"] is False and folder["unproven"] == ["guangdong"]


def test_s4a_successor_in_a_second_folder_joins_the_family(capsys):
    assert main(["check", str(RULESETS), str(DATA / "keep"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)[-1]
    assert [v["version"] for v in report["families"]["guangdong"]] == ["guangdong-2021", "guangdong-2026"]
    assert report["ok"] is True


def test_s4a_overlapping_versions_fail_located(capsys):
    assert main(["check", str(RULESETS), str(DATA / "overlap")]) == 1
    err = capsys.readouterr().err
    assert (f"{DATA / 'overlap' / 'guangdong-2025.yaml'}:8:3: error[QR902]: 同一系列的两个版本有效期重叠：versions guangdong-2021 "
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


@pytest.mark.parametrize("until", ["-until: null", "until: null"])
def test_art36_s4a_successor_that_drops_the_inherited_until_is_open_ended(tmp_path, until):
    """第三十六条 ends guangdong-2021 on 2026-06-04; a successor extending it writes its own end:
    removing the inherited one (``-until: null``, or ``until: null``) leaves it open, in the
    family's timeline as in the compiled version, so later dates are in force."""
    (tmp_path / "guangdong-2026.yaml").write_text(
        "qrules: 1\nruleset: guangdong-2026\nextends: guangdong-2021\nversion: '2026'\ntitle: t\n"
        f"in_force: {{from: 2026-06-05, {until}}}\n", encoding="utf-8")
    reg = load_rulesets(RULESETS, tmp_path)
    assert reg.versions["guangdong-2026"].period == "2026-06-05..(open)"
    assert [d.code for d in reg.check() if d.code in ("QR902", "QR903", "QR908")] == []
    ruleset = qrules.load_ruleset("guangdong", rulesets=[RULESETS, tmp_path])
    history = qrules.load_history(EXAMPLE)
    assert qrules.evaluate(ruleset, history, dt.date(2027, 3, 31)).in_force is True


def test_art36_s4a_successor_inheriting_the_until_it_starts_after_is_located_in_its_own_file(tmp_path, capsys):
    """A successor that writes only ``from`` inherits guangdong-2021's ``until`` (2026-06-04):
    the error is reported at the successor's ``from``, saying where the end comes from."""
    kid = tmp_path / "guangdong-2026.yaml"
    kid.write_text("qrules: 1\nruleset: guangdong-2026\nextends: guangdong-2021\nversion: '2026'\ntitle: t\n"
                   "in_force: {from: 2026-06-05}\n", encoding="utf-8")
    assert main(["--allow-path", str(RULESETS), "check", str(RULESETS), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{kid}:6:" in err and "error[QR404]" in err and "guangdong-2021" in err and "until: null" in err
    assert "Traceback" not in err


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


# -- which version decides what: the successor fixture, hand-computed ---------------------------
HISTORY = DATA / "history-2025-2027.yaml"
# Hand computation (brief §4a; 第七条 window, 第十条 producer minimum, 第九条 heaviest once,
# 第十一条第（一）、（六）项 and 第十二条第（一）项 points, 第二十六条 classes and adjustments):
#   guangdong-2021: 11.1 = -3, 11.6 = -1 (producer 12.1 = -3), window 36 months, A >= 12, B 6 < s < 12
#   guangdong-2026 (fixture, from 2026-06-05): 11.1 = -5, window 24 months, A >= 11, B 6 < s < 11
#   e0 11.1 p2 2024-02-01; e4 11.6 p3 2025-06-01; e1 11.1 p1 2025-06-10; e5 11.6 p1 2025-08-01;
#   e2 11.1 p2 2026-09-01.
# As of 2026-03-31 (guangdong-2021; window 2023-03-31 < d): p1 12-3-1 = 8 B; p2 12-3 = 9 B;
#   op1 = min(p1 line 12-3-3 = 6, p2 line 9) = 6 C; p3 12-1 = 11 B (A needs 12); op2 12-3 = 9 B.
# As of 2027-03-31 (guangdong-2026; window 2025-03-31 < d): e0 has left the window.
#   keep: e1 stays -3: p1 8 B; p2 12-5 = 7 B; op1 min(6, 7) = 6 C; p3 11 A (A from 11); op2 9 B.
#     2026-07-01 adjustment (guangdong-2026, score of 2026-06-30, window 2024-06-30 < d): p2 12 A.
#   redecide: e1 (in the 24-month window on 2026-06-05) re-decided -5: p1 12-5-1 = 6 C;
#     op1 min(12-5-3 = 4, 7) = 4 C; 2026-01-01 stays as decided then (p1 8 B).
EXPECTED = {
    ("keep", "2026-03-31"): {"p1": ("8", "B", "B"), "p2": ("9", "B", "B"), "op1": ("6", "C", "C"),
                             "p3": ("11", "B", "B"), "op2": ("9", "B", "B")},
    ("keep", "2027-03-31"): {"p1": ("8", "B", "B"), "p2": ("7", "B", "B"), "op1": ("6", "C", "C"),
                             "p3": ("11", "A", "A"), "op2": ("9", "B", "B")},
    ("redecide", "2027-03-31"): {"p1": ("6", "C", "C"), "p2": ("7", "B", "B"), "op1": ("4", "C", "C"),
                                 "p3": ("11", "A", "A"), "op2": ("9", "B", "B")},
}
EXPECTED[("redecide", "2026-03-31")] = EXPECTED[("keep", "2026-03-31")]   # the successor is not yet in force


def _evaluate(transition: str, as_of: str):
    ruleset = qrules.load_ruleset("haojiang", rulesets=[RULESETS, DATA / transition])
    return qrules.evaluate(ruleset, qrules.load_history(HISTORY), dt.date.fromisoformat(as_of))


@pytest.mark.parametrize("transition,as_of", sorted(EXPECTED))
def test_s4a_art7_art11_art26_haojiang_under_the_successor(transition, as_of):
    result = _evaluate(transition, as_of)
    got = {s.id: (str(s.score), s.live_class, s.official_class) for s in result.subjects}
    assert got == EXPECTED[(transition, as_of)]
    assert result.in_force and result.out_of_force == []
    assert result.version_at_as_of == ("haojiang-2023/guangdong-2021" if as_of < "2026-06-05"
                                       else "haojiang-2023/guangdong-2026")


def test_s4a_each_entry_names_the_version_that_decided_it_keep():
    p2 = _evaluate("keep", "2027-03-31").subject("p2")
    assert [(e.event, e.points, e.version) for e in p2.entries] == [
        ("e0", -3, "haojiang-2023/guangdong-2021"), ("e2", -5, "haojiang-2023/guangdong-2026")]
    assert p2.entries[0].status == "outside_window"          # 24 months under the successor (第七条)
    assert [(str(a.date), a.official_class, a.version) for a in p2.adjustments[-3:]] == [
        ("2026-01-01", "B", "haojiang-2023/guangdong-2021"), ("2026-07-01", "A", "haojiang-2023/guangdong-2026"),
        ("2027-01-01", "B", "haojiang-2023/guangdong-2026")]
    p1 = _evaluate("keep", "2027-03-31").subject("p1")
    assert [(e.event, e.points, e.version) for e in p1.entries][0] == ("e1", -3, "haojiang-2023/guangdong-2021")


def test_s4a_redecide_rescores_entries_in_the_window_and_keeps_past_adjustments():
    p1 = _evaluate("redecide", "2027-03-31").subject("p1")
    assert [(e.event, e.points, e.version) for e in p1.entries] == [
        ("e1", -5, "haojiang-2023/guangdong-2026"), ("e5", -1, "haojiang-2023/guangdong-2026")]
    assert [(str(a.date), str(a.score), a.official_class) for a in p1.adjustments] == [
        ("2025-07-01", "9", "B"), ("2026-01-01", "8", "B"), ("2026-07-01", "6", "C"), ("2027-01-01", "6", "C")]
    p2 = _evaluate("redecide", "2027-03-31").subject("p2")   # e0 left the successor's window: not re-decided
    assert (p2.entries[0].event, p2.entries[0].points, p2.entries[0].version) == (
        "e0", -3, "haojiang-2023/guangdong-2021")


def test_s4a_no_version_in_force_goes_on_under_the_last_and_says_so(capsys):
    ruleset = qrules.load_ruleset("haojiang", rulesets=[RULESETS])
    result = qrules.evaluate(ruleset, qrules.load_history(HISTORY), dt.date(2027, 3, 31))
    assert not result.in_force and result.version_at_as_of == "haojiang-2023/guangdong-2021"
    assert {(n.what, n.first, n.last) for n in result.out_of_force} == {
        ("as_of", dt.date(2027, 3, 31), dt.date(2027, 3, 31)),
        ("events", dt.date(2026, 9, 1), dt.date(2026, 9, 1)),
        ("adjustments", dt.date(2026, 7, 1), dt.date(2027, 1, 1))}
    assert any("expired on 2026-06-04" in w for w in result.warnings)
    p2 = result.subject("p2")                # e2 under guangdong-2021's -3; e0 left the 36 months (2024-03-31 < d)
    assert p2.score == 12 - 3 and p2.adjustments[-1].version == "haojiang-2023/guangdong-2021"
    args = ["haojiang", str(HISTORY), "--as-of", "2027-03-31"]
    assert main(["evaluate", *args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["out_of_force"][0]["what"] == "as_of"
    assert main(["evaluate", *args, "--format", "csv"]) == 0
    assert "2026-06-04" in capsys.readouterr().err
    assert main(["explain", *args[:2], "p2", *args[2:]]) == 0
    assert "⚠ 2027-03-31 无有效规则" in capsys.readouterr().out
    assert main(["evaluate", *args, "--require-in-force"]) == 1
    err = capsys.readouterr().err
    assert "error[QR907]" in err and "Traceback" not in err


def test_s4a_explain_names_the_version_of_each_line(capsys):
    assert main(["explain", "haojiang", str(HISTORY), "p1", "--as-of", "2027-03-31", "--rulesets", str(RULESETS),
                 "--rulesets", str(DATA / "redecide")]) == 0
    out = capsys.readouterr().out
    assert "−5 监督抽查不合格 e1 2025-06-10" in out and "〔haojiang-2023/guangdong-2026〕" in out
    assert "当日施行版本 haojiang-2023/guangdong-2026" in out


# -- as known at ------------------------------------------------------------------------------------
KNOWN = DATA / "known-at.yaml"
# 第十一条第（六）项 e1 -1 and 第十一条第（九）项 e2 -12 (recorded 2024-03-05): 12 - 1 - 12 = -1 on 2024-06-30,
# so the 2024-07-01 adjustment sets D (第二十六条), locked three years. The correction c1 (dated 2024-10-15,
# entered 2024-10-16) revokes e2 as an error (第二十五条): e2 never existed, the 2024-07-01 class is
# recomputed from 12 - 1 = 11 → B (brief §3, Art 25).


def _known(as_known_at: str | None, as_of: str = "2024-12-31"):
    ruleset = qrules.load_ruleset(RULESETS / "guangdong-2021.yaml")
    return qrules.evaluate(ruleset, qrules.load_history(KNOWN), dt.date.fromisoformat(as_of),
                           as_known_at=dt.date.fromisoformat(as_known_at) if as_known_at else None)


def test_art25_s4a_as_known_before_the_correction_d():
    p1 = _known("2024-10-15").subject("p1")
    assert (p1.score, p1.official_class, p1.lock.until) == (-1, "D", dt.date(2027, 7, 1))


def test_art25_s4a_as_known_after_the_correction_not_d():
    for known in ("2024-10-16", None):
        p1 = _known(known).subject("p1")
        assert (p1.score, p1.live_class, p1.official_class, p1.lock) == (11, "B", "B", None)


def test_s4a_as_known_at_uses_the_recorded_date_not_the_event_date():
    p1 = _known("2024-03-04", as_of="2024-03-31").subject("p1")   # e2 happened 03-01, entered 03-05
    assert p1.score == 11 and [e.event for e in p1.entries] == ["e1"]
    assert _known("2024-03-05", as_of="2024-03-31").subject("p1").score == -1


def test_s4a_as_known_at_cli_shows_both_dates_and_refuses_a_later_one(capsys):
    args = ["evaluate", str(RULESETS / "guangdong-2021.yaml"), str(KNOWN), "--as-of", "2024-12-31"]
    assert main([*args, "--as-known-at", "2024-10-01"]) == 0
    out = capsys.readouterr().out
    assert "as of 2024-12-31, as known at 2024-10-01" in out
    assert main([*args, "--as-known-at", "2024-10-01", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["as_of"], data["as_known_at"]) == ("2024-12-31", "2024-10-01")
    assert main([*args, "--as-known-at", "2025-01-01"]) == 1
    assert "error[QR615]" in capsys.readouterr().err


def test_s4a_recorded_before_the_event_date_is_a_located_error(tmp_path, capsys):
    bad = tmp_path / "h.yaml"
    bad.write_text(KNOWN.read_text(encoding="utf-8").replace("recorded: 2024-03-05", "recorded: 2024-02-20"),
                   encoding="utf-8")
    assert main(["evaluate", str(RULESETS / "guangdong-2021.yaml"), str(bad), "--as-of", "2024-12-31"]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:7:73:" in err and "error[QR513]" in err and "recorded on 2024-02-20, before its date 2024-03-01" in err


# -- the outlook (brief §4a) ----------------------------------------------------------------------------
OUTLOOK = DATA / "outlook.yaml"


def _outlook(sid: str):
    from qrules.engine.outlook import outlook

    ruleset = qrules.load_ruleset(RULESETS / "guangdong-2021.yaml")
    loaded = qrules.load_history(OUTLOOK)
    result = qrules.evaluate(ruleset, loaded, dt.date(2025, 12, 31))
    return outlook(ruleset, loaded.history, result, sid, dt.date(2025, 12, 31))


def steps(o):
    return [(str(s.date), s.what, str(s.score), s.live_class, s.official_class) for s in o.steps]


def test_art26_art7_outlook_d_subject_whose_lock_ends():
    """pd: 11.9 (-12) on 2023-03-01 → 0 → D on 2023-07-01, locked 3 years to 2026-07-01 (第二十六条第二款).
    With no new events: 2026-01-01 still D (locked); the deduction leaves the 36 months on 2026-03-01
    (第七条: as_of − 36 months < d), score 12; the lock ends 2026-07-01 and that adjustment gives A."""
    o = _outlook("pd")
    assert steps(o) == [
        ("2026-01-01", "adjustment", "0", "D", "D"),
        ("2026-03-01", "leaves_window", "12", "A", None),
        ("2026-07-01", "lock_ends", "12", "A", None),
        ("2026-07-01", "adjustment", "12", "A", "A"),
        ("2027-01-01", "adjustment", "12", "A", "A")]
    assert (o.next_class, o.points_needed) == ("C", Decimal("0.5"))       # 0 < score <= 6
    repair = next(a for a in o.actions if a.kind == "repair")
    assert not repair.possible and "第十四条" in repair.text              # major impact: never repairable


@pytest.mark.parametrize("classes, score, expected", [
    ('A: {when: "score >= 11.75"}\n  B: {when: "6 < score < 11.75"}', "10.5", ("A", "1.25")),  # an included bound: exactly
    ('B: {when: "6.2 < score < 12"}\n  C: {when: "0 < score <= 6.2"}', "5", ("B", "1.5")),      # excluded: 0.5 steps past it
    (None, "-50", ("C", "50.5")),                                                            # past the old 48-point horizon
])
def test_art26_outlook_points_needed_follow_a_changed_threshold(tmp_path, classes, score, expected):
    """第二十六条第一款 as a successor may set it: the points to the next better class are found from the
    ruleset's own bounds (A from 11.75: 1.25 points from 10.5, not 1.5), however far below they are."""
    from qrules.engine.outlook import needed
    from qrules.versioned import load

    kid = tmp_path / "kid.yaml"
    kid.write_text("qrules: 1\nruleset: kid\nextends: guangdong-2021\nversion: t\n"
                   + (f"classes:\n  {classes}\n" if classes else ""), encoding="utf-8")
    (tmp_path / "guangdong-2021.yaml").write_text((RULESETS / "guangdong-2021.yaml").read_text(encoding="utf-8"),
                                                  encoding="utf-8")
    compiled = load(kid)
    live = compiled.classify(Decimal(score))
    assert needed(compiled, Decimal(score), live) == (expected[0], Decimal(expected[1]))


def test_art15_outlook_b_subject_one_repair_away_from_a():
    """pb: 11.6 (-1) on 2025-05-01 → 11, B. Its producer filed (粤品通) on 2025-01-10, so a repair now is
    eligible (第十四条), its first deduction in 36 months → 100% (第十五条第（一）项): +1 → 12, A."""
    o = _outlook("pb")
    assert (o.next_class, o.points_needed) == ("A", 1)
    repair = next(a for a in o.actions if a.kind == "repair")
    assert (repair.ref, repair.possible, repair.points) == ("b1", True, 1)
    assert "100%" in repair.text and "第十五条第（一）项" in repair.text
    assert ("2028-05-01", "leaves_window", "12", "A", None) in steps(o)


def test_art7_outlook_deduction_leaves_the_window_next_month():
    """pw: 11.5 (-1) on 2023-01-15 → 11, B; it leaves the window on 2026-01-15 (第七条), the
    2026-01-01 adjustment is still B (score of 2025-12-31), the 2026-07-01 one A; then nothing changes."""
    assert steps(_outlook("pw")) == [
        ("2026-01-01", "adjustment", "11", "B", "B"),
        ("2026-01-15", "leaves_window", "12", "A", None),
        ("2026-07-01", "adjustment", "12", "A", "A"),
        ("2027-01-01", "adjustment", "12", "A", "A")]


def test_s4a_outlook_in_explain_and_json(capsys):
    args = [str(RULESETS / "guangdong-2021.yaml"), str(OUTLOOK)]
    assert main(["explain", *args, "pb", "--as-of", "2025-12-31"]) == 0
    out = capsys.readouterr().out
    assert "展望（不再发生新事项时）" in out and "升至 A类 至少还需 1 分" in out and "✓ 申请修复 b1：可加 1 分" in out
    assert main(["evaluate", *args, "--as-of", "2025-12-31", "--format", "json", "--outlook"]) == 0
    data = json.loads(capsys.readouterr().out)
    pw = next(s for s in data["subjects"] if s["id"] == "pw")
    assert pw["outlook"]["steps"][1]["date"] == "2026-01-15" and pw["outlook"]["points_needed"] == "1"


def test_art18_outlook_reward_over_the_cap_is_not_offered(tmp_path):
    """opc, a producer that filed, below A after three 12.3 deductions: its two 17.2 rewards (+1 each,
    第十七条第（二）项) already reach the 2-point cap of the window (第十八条); a third one now would count 0,
    so the outlook lists it as not possible and says why (the cap), instead of offering it."""
    from qrules.engine.outlook import outlook

    history = tmp_path / "capped.yaml"
    history.write_text(
        "subjects:\n"
        "  - {id: opc, kind: operator, uscc: 91440512MAAY4CL122, roles: [producer], region: '440512'}\n"
        "events:\n"
        "  - {id: f1, kind: filing, subject: opc, date: 2024-01-10}\n"
        "  - {id: d1, kind: deduction, item: '12.3', date: 2024-02-01, subjects: [opc]}\n"
        "  - {id: w1, kind: reward, rule: '17.2', subject: opc, date: 2024-03-01, reported: true, recalled_before_defect: true}\n"
        "  - {id: w2, kind: reward, rule: '17.2', subject: opc, date: 2024-04-01, reported: true, recalled_before_defect: true}\n"
        "  - {id: d2, kind: deduction, item: '12.3', date: 2024-05-01, subjects: [opc]}\n"
        "  - {id: d3, kind: deduction, item: '12.3', date: 2024-06-01, subjects: [opc]}\n",
        encoding="utf-8")
    ruleset = qrules.load_ruleset(RULESETS / "guangdong-2021.yaml")
    loaded = qrules.load_history(history)
    as_of = dt.date(2025, 12, 31)
    result = qrules.evaluate(ruleset, loaded, as_of)
    o = outlook(ruleset, loaded.history, result, "opc", as_of)
    reward = next(a for a in o.actions if a.kind == "reward" and a.ref == "17.2")
    assert (reward.possible, reward.points) == (False, 0)
    assert "奖励分上限" in reward.text and "第十八条" in reward.text


def test_s4a_art36_hand_over_day_cases(capsys):
    """tests/data/versions/cases: the day 2026-06-04/05 (第三十六条) at which the fictional successor takes
    over, hand-computed in the case file: events, the live class and the window under the version of their date."""
    code = main(["test", str(DATA / "cases"), "--rulesets", str(RULESETS), "--rulesets", str(DATA / "keep")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.rstrip().splitlines()[-1] == "8 passed, 0 failed"
