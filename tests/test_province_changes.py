"""Rule changes a province might make in a successor (brief §4a), each written as a fictional
``guangdong-2026`` in tests/fixtures/province-changes/NN-name/, with hand-derived cases beside it.
Also what a case file can now check for such a change: the version that decided an entry, and
each half-year adjustment (第二十六条第二款) with the version in force on its date."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

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
    assert len(FOLDERS) >= 12
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


def _diff(capsys, folder: str, *extra: str) -> str:
    code = main(["diff", str(RULESETS / "guangdong-2021.yaml"), str(CHANGES / folder / "guangdong-2026.yaml"),
                 "--rulesets", str(RULESETS), *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_art17_3_diff_of_a_removed_reward_rule_names_its_title(capsys):
    """A successor that deletes 第十七条第（三）项: the diff names the rule as the item removal does
    (it printed 「」: the title was looked up in the new ruleset, where the rule no longer is)."""
    out = _diff(capsys, "12-reward-removed")
    assert "删除 奖励规则 17.3「销售者在通告或通知后15日内主动停售处置并填报自查处置信息」（原为 销售者，奖 1 分" in out


def _impact(capsys, folder: str, history: str, as_of: str, *extra: str) -> tuple[int, str]:
    """OLD: the provincial norms alone (evaluated past 2026-06-04 with a notice); NEW: the family
    guangdong with the successor of FOLDER."""
    hist = CHANGES / folder / "cases" / history
    code = main(["impact", str(RULESETS / "guangdong-2021.yaml"), "guangdong", str(hist), "--as-of", as_of,
                 "--rulesets", str(RULESETS), "--rulesets", str(CHANGES / folder), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_art11_impact_when_the_only_score_changes_are_subjects_scored_under_one_version(fmt, capsys):
    """A new item (第十一条第（十）项 in the successor): under the old norms its events are refused, so
    p1 and op1 are scored under the new version only, and no subject has a score on both sides.
    impact stopped with an internal error (KeyError 'min') instead of saying so."""
    code, out = _impact(capsys, "03-item-added", "history.yaml", "2026-12-31", "--format", fmt)
    assert "internal error" not in out
    assert code == 0  # the engine refuses e1 (QR601) and e3 (QR606): results, not input errors
    assert "2 scored under one ruleset only（仅按一方规则集获得质量信用分）" in out
    if fmt == "text":
        assert "live class only: op1 O → B, p1 O → B" in out


# Which subjects change class under each successor (`qrules impact`, OLD the norms alone, NEW the
# family), as of 2026-12-31, derived by hand from each case file's history and the arithmetic in it:
# under guangdong-2021 alone every event and adjustment is decided with the 2021 values.
IMPACT = {
    "01-item-points": ["live class only: op1 B → C, p2 B → C"],               # p2 9 → 6 (11.4 −3 → −6)
    "02-item-removed": ["live class only: p2 B → O"],                          # e2 (11.7) refused: p2 unscored
    "03-item-added": ["live class only: op1 O → B, p1 O → B"],                 # 11.10 unknown to 2021
    "04-window-24": ["live class only: op1 B → A, op2 B → A, p1 B → A, p2 B → A",  # p2 7.5 → 12 (+4.5)
                     "min 3, max 4.5"],
    "05-dedup-90": ["score deltas: 2 of 2 change; min -3, max -3"],            # f1 counts, f2 counts: 6 → 3, C both
    "06-class-thresholds": ["official class: C → B: 2", "  op1  C → B  score 6 → 6",
                            "  p1  C → B  score 6 → 6"],
    "07-half-point-class": ["official class: B → A: 1", "  p1  B → A  score 11.5 → 11.5"],
    "08-repair-ratio": ["live class only: op2 A → B, p2 A → B"],               # p2 12 → 11.4 (r3 80%)
    "09-repair-limit": ["score deltas: 2 of 2 change; min -1.5, max -1.5"],    # r1 +1.5 (2021) refused
    "10-reward-cap": ["live class only: op1 B → A, p1 B → A"],                 # w3 counts: 11 → 12
    "11-reward-condition": ["live class only: p2 A → O"],                      # w3 refused: 2 years only
    "12-reward-removed": ["score deltas: 1 of 1 change; min -1, max -1"],     # w2 (17.3) refused: 14 → 13
    "13-quarterly-adjustment": ["official class: O → C: 2", "  op1  O → C", "  p1  O → C"],  # set 2026-10-01
    "14-lock-2-years": ["0 change official class, 0 change live class, 0 change score"],    # D both until 2028
    "15-measures": ["inspections owed per year（每年应抽查或检查次数，第二十七条）: 2 → 4 (+2)"],  # B: 1 → 2 a year
    "16-redecide": ["official class: B → C: 4", "  p3  B → C  score 12 → 12",  # e0 redecided −6 for 2026-07-01
                    "live class only: p2 B → C"],
}


@pytest.mark.parametrize("folder", sorted(IMPACT))
def test_s4a_impact_names_the_subjects_each_change_moves(folder, capsys):
    code, out = _impact(capsys, folder, "history.yaml", "2026-12-31")
    assert code == 0, out
    assert "guangdong-2021 2021.1 → guangdong-2026 2026.1" in out
    for line in IMPACT[folder]:
        assert line in out, (folder, out)


def _synth_jsonl(tmp_path: Path, capsys, days: int, drop: str = "") -> Path:
    """`qrules synth` (300 subjects, seed 7: events 2021-07 .. 2026-04) with every date moved by
    ``days``; records containing ``drop`` left out."""
    import datetime as dt
    import json

    raw = tmp_path / "synth.jsonl"
    assert main(["synth", "-n", "300", "--seed", "7", "-o", str(raw), "--format", "jsonl", "--no-progress"]) == 0
    capsys.readouterr()
    out = tmp_path / f"corpus{days}.jsonl"
    lines = []
    for line in raw.read_text(encoding="utf-8").splitlines():
        if drop and drop in line:
            continue
        r = json.loads(line)
        for k in ("date", "notice_date", "action_date", "recorded"):
            if r.get(k):
                r[k] = (dt.date.fromisoformat(r[k]) + dt.timedelta(days)).isoformat()
        if isinstance(r.get("changes"), dict) and r["changes"].get("date"):
            r["changes"]["date"] = (dt.date.fromisoformat(r["changes"]["date"]) + dt.timedelta(days)).isoformat()
        lines.append(json.dumps(r, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _batch_both(tmp_path: Path, capsys, folder: str, corpus: Path, as_of: str) -> tuple[str, str]:
    """`qrules batch guangdong` with --backend engine and with the default: same rows, same rejections
    (their order aside); returns the two summaries."""
    summaries = []
    for backend in ("engine", None):
        name = backend or "default"
        argv = ["batch", "guangdong", str(corpus), "--as-of", as_of, "--rulesets", str(RULESETS),
                "--rulesets", str(CHANGES / folder), "-j", "1", "-o", str(tmp_path / f"{name}.csv"),
                "--rejections", str(tmp_path / f"{name}-rej.csv"), "--no-progress"]
        code = main(argv + (["--backend", backend] if backend else []))
        captured = capsys.readouterr()
        assert code == 1, captured.err  # synth plants bad records (reported; the rest evaluated)
        summaries.append(captured.out + captured.err)
    assert (tmp_path / "engine.csv").read_text(encoding="utf-8") == (tmp_path / "default.csv").read_text(encoding="utf-8")
    rej = [sorted((tmp_path / f"{n}-rej.csv").read_text(encoding="utf-8").splitlines()) for n in ("engine", "default")]
    assert rej[0] == rej[1] and len(rej[0]) > 50
    return summaries[0], summaries[1]


FALLBACK = "the columnar backend cannot take this ruleset and history"


@pytest.mark.parametrize("folder", [f.name for f in FOLDERS])
def test_s4a_batch_backends_agree_under_each_successor(folder, tmp_path, capsys):
    """The synth corpus moved 1,800 days (events 2026-06-05 .. 2031-03): the successor alone decides
    everything, so the default (columnar) backend evaluates it itself and must give the engine's rows.
    17.3 left out: the working-day calendar has no year after 2026 (docs/batch.md)."""
    corpus = _synth_jsonl(tmp_path, capsys, 1800, drop='"17.3"')
    engine, default = _batch_both(tmp_path, capsys, folder, corpus, "2031-03-31")
    assert FALLBACK not in engine
    # change 11 widens the window for spot checks with a computed duration: the columnar backend says
    # it cannot take that and hands over to the engine (documented); every other change it takes
    assert (FALLBACK in default) == (folder == "11-reward-condition"), default


@pytest.mark.parametrize("folder", ["01-item-points", "13-quarterly-adjustment", "16-redecide"])
def test_s4a_batch_backends_agree_across_the_change_of_version(folder, tmp_path, capsys):
    """The corpus moved one year (events 2022-07 .. 2027-04): both versions decide, the default backend
    falls back to the engine with a notice naming the two versions, and the rows are the engine's."""
    corpus = _synth_jsonl(tmp_path, capsys, 365)
    _, default = _batch_both(tmp_path, capsys, folder, corpus, "2027-01-01")
    assert FALLBACK in default and "fall under 2 versions" in default


def _check_json(*paths: str) -> list[dict]:
    import io
    import json
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        main(["check", *paths, "--format", "json"])
    report = json.loads(buf.getvalue())
    files = report["files"] if isinstance(report, dict) and "files" in report else report
    return [d for f in files for d in f.get("diagnostics", [])]


def test_art16_three_clean_years_within_a_36_month_window_is_warned(tmp_path):
    """第十六条 raised to three years while the window (第七条) stays 36 months: the first passing
    check the window still sees is at most 35 months and some days old, so `clean_years >= 3` never
    holds and the reward is dead without a word. check warns (QR409) at the condition."""
    folder = tmp_path / "three-years"
    folder.mkdir()
    text = (CHANGES / "11-reward-condition" / "guangdong-2026.yaml").read_text(encoding="utf-8")
    text = text.replace("  +spot_check_lookback:", "  +unused_lookback:").replace(
        "'as_of - (spot_check_lookback if entry.kind == \"spot_check\" else window) < entry.date <= as_of'",
        "'as_of - window < entry.date <= as_of'")
    (folder / "guangdong-2026.yaml").write_text(text, encoding="utf-8")
    found = [d for d in _check_json(str(RULESETS), str(folder)) if d["code"] == "QR409"]
    # once for the successor, once for haojiang-2023, which follows it from 2026-06-05: the same place
    assert len(found) == 2 and all(d["severity"] == "warning" for d in found), found
    assert "reward rule '16' asks for 3 clean years, but the window (第七条) sees a spot check for at most 2 " \
           "whole years" in found[0]["message"]
    line = text.splitlines().index('      when: "subject.clean_years >= 3"') + 1
    assert {(Path(d["file"]).resolve(), d["line"]) for d in found} == {((folder / "guangdong-2026.yaml").resolve(), line)}


def test_art16_clean_years_the_window_can_hold_are_not_warned():
    """The provincial norms (two years, 36 months) and change 11 (three years, spot checks seen for 48
    months): no QR409."""
    assert [d for d in _check_json(str(RULESETS), str(CHANGES / "11-reward-condition")) if d["code"] == "QR409"] == []



#: One operator and its product, the subjects of the histories written below; their events follow.
ONE_PRODUCT = ("subjects:\n"
               "  - {id: op1, kind: operator, uscc: 91440512MA5AAAAA1W, roles: [producer], region: \"440512\"}\n"
               "  - {id: p1, kind: product, brand: 甲牌, nice_class: 28, producer: op1}\n"
               "events:\n")


def _successor(folder, tail: str):
    """A folder with change 15's successor, its ``measures`` replaced by ``tail`` (a section of YAML)."""
    folder.mkdir()
    (folder / "guangdong-2026.yaml").write_text(
        (CHANGES / "15-measures" / "guangdong-2026.yaml").read_text(encoding="utf-8").split("measures:")[0] + tail,
        encoding="utf-8")
    return folder


def test_art27_plan_takes_each_part_of_the_year_from_the_version_in_force_then(tmp_path, capsys):
    """第二十七条第（四）项 lowered by a successor (D: 4 checks a year → 2, from 2026-06-05). The plan for
    2026 cuts the year at the adjustment dates; each part requires the minimum of the version in
    force when it starts (brief §4a: the provincial norms until 2026-06-04). The plan took the
    successor's 2 for the whole year, January to June included."""
    import json

    folder = _successor(tmp_path / "d-lowered",
                        "measures:\n  D: {checks_per_year: 2, actions: [发出红色监管警示, 每年实施2次以上监督抽查或检查]}\n")
    hist = tmp_path / "h.yaml"
    hist.write_text(ONE_PRODUCT + textwrap.dedent("""\
          - {id: e1, kind: deduction, item: "11.9", date: 2025-03-01, subjects: [p1]}
        """), encoding="utf-8")
    code = main(["plan", "guangdong", str(hist), "--year", "2026", "--rulesets", str(RULESETS),
                 "--rulesets", str(folder), "--format", "json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    p1 = next(s for s in plan["subjects"] if s["subject"] == "p1")
    # 12 − 12 = 0 → D from 2025-07-01 (locked to 2028-07-01). 2026-01-01..06-30: guangdong-2021, 4 a
    # year × 6/12 = 2; 2026-07-01..12-31: the successor, 2 × 6/12 = 1 → 3
    assert [(p["start"], p["official_class"], p["checks_per_year"]) for p in p1["periods"]] == [
        ("2026-01-01", "D", 4), ("2026-07-01", "D", 2)]
    assert p1["required"] == 3


def _clocks(capsys, folder: Path, history: Path, as_of: str) -> list[tuple]:
    import json

    code = main(["deadlines", "guangdong", str(history), "--as-of", as_of, "--rulesets", str(RULESETS),
                 "--rulesets", str(folder), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return [(c["deadline"], c["start_event"], c["within"], c["due"]) for c in json.loads(out)["clocks"]]


def test_art23_notify_clocks_follow_what_the_version_of_each_event_decided(capsys):
    """第二十三条 starts a clock for each deduction the rules score. e1 (11.7, 2026-03-01) was scored
    under guangdong-2021 and must be notified although the successor deleted 11.7; e1 of change 03
    (11.10, 2026-05-20) was refused under guangdong-2021 (QR601) and starts none although the
    successor knows 11.10. The deadlines decided every event under the as-of version."""
    removed = _clocks(capsys, CHANGES / "02-item-removed", CHANGES / "02-item-removed" / "cases" / "history.yaml",
                      "2026-12-31")
    # e1 2026-03-01 (Sunday): 3 working days → 2026-03-04; e2 refused (QR601): no clock
    assert removed == [("notify", "e1", "3 workdays", "2026-03-04")]
    added = _clocks(capsys, CHANGES / "03-item-added", CHANGES / "03-item-added" / "cases" / "history.yaml",
                    "2026-12-31")
    # e2 2026-08-01 (Saturday): 3 working days → 2026-08-05; e1 (QR601) and e3 (QR606): none
    assert added == [("notify", "e2", "3 workdays", "2026-08-05")]


def test_art23_a_clock_runs_for_the_period_of_the_version_in_force_on_its_start(tmp_path, capsys):
    """A successor giving the bureau 5 working days to notify (第二十三条, from 2026-06-05): a deduction
    of 2026-05-11 keeps the 3 working days of guangdong-2021, one of 2026-08-03 has 5."""
    folder = _successor(tmp_path / "notify-5", 'deadlines:\n  notify: {within: "5 workdays"}\n')
    hist = tmp_path / "h.yaml"
    hist.write_text(ONE_PRODUCT + textwrap.dedent("""\
          - {id: e1, kind: deduction, item: "11.4", date: 2026-05-11, subjects: [p1]}
          - {id: e2, kind: deduction, item: "11.4", date: 2026-08-03, subjects: [p1]}
        """), encoding="utf-8")
    # 2026-05-11 (Monday) + 3 working days: 12, 13, 14 May; 2026-08-03 (Monday) + 5: 4–7, 10 August
    assert _clocks(capsys, folder, hist, "2026-08-31") == [("notify", "e1", "3 workdays", "2026-05-14"),
                                                          ("notify", "e2", "5 workdays", "2026-08-10")]


def test_art26_a_shorter_d_lock_can_keep_d_longer_and_impact_shows_it(capsys):
    """第二十六条第二款 with the D lock cut from 3 years to 2 (change 14). p2 (11.9 on 2026-08-01) is D
    from 2027-01-01; under the successor its lock ends 2029-01-01 while e2 is still in the window, so
    it is locked again to 2031-01-01; under the 3 years of guangdong-2021 it ends 2030-01-01, after e2
    left (2029-08-01): A. As of 2030-01-01 impact names p2 and its producer op2 (A under the old
    rules, D under the new)."""
    code, out = _impact(capsys, "14-lock-2-years", "history.yaml", "2030-01-01")
    assert code == 0, out
    assert "official class: A → D: 2" in out
    assert "  op2  A → D  score 12 → 12" in out and "  p2  A → D  score 12 → 12" in out


def _explain(capsys, folder: str, subject: str, as_of: str) -> str:
    code = main(["explain", "guangdong", str(CHANGES / folder / "cases" / "history.yaml"), subject, "--as-of", as_of,
                 "--rulesets", str(RULESETS), "--rulesets", str(CHANGES / folder)])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_art26_quarterly_adjustments_are_not_called_half_yearly(capsys):
    """A successor adjusting every quarter (第二十六条第二款, change 13): explain and its outlook called
    each adjustment 半年调整 (half-yearly) whatever the ruleset's dates; they now say 季度调整, and the
    provincial norms' two dates a year keep 半年调整."""
    out = _explain(capsys, "13-quarterly-adjustment", "p1", "2026-12-31")
    # p1: 12 − 6 = 6, first scored 2026-08-01 → C at 2026-10-01 (from 2026-09-30)
    assert "正式分类 C类：2026-10-01 季度调整，按 2026-09-30 的得分 6（第二十六条第二款）〔guangdong-2026〕" in out
    assert "2027-01-01 季度调整：按 2026-12-31 得分 6 分，正式分类 C类" in out
    assert "半年调整" not in out
    before = _explain(capsys, "13-quarterly-adjustment", "p2", "2026-06-04")
    assert "正式分类 O类：尚无半年调整" in before  # guangdong-2021 in force: 01-01 and 07-01
    assert "2026-07-01 季度调整：按 2026-06-30 得分 9 分" in before  # the successor's, in the outlook


def test_s4a_explain_says_an_entry_was_decided_again_by_a_redecide_transition(capsys):
    """e0 (11.4, 2023-09-01) was decided −3 under guangdong-2021 and again −6 when the successor of
    change 16 (transition: redecide) started on 2026-06-05 with e0 inside its window: explain says
    so, not only which version decided it."""
    out = _explain(capsys, "16-redecide", "p3", "2026-06-30")
    line = next(ln for ln in out.splitlines() if " e0 2023-09-01 " in ln)
    assert line.startswith("  −6 未经生产许可或未经强制性产品认证 e0 2023-09-01 (第十一条第（四）项)")
    assert "2026-06-05 起施行的 guangdong-2026 按过渡规则 redecide 重新认定" in line and line.endswith("〔guangdong-2026〕")


def test_each_successor_s_own_rules_are_exercised_by_its_cases():
    """What each successor writes itself (its items, rewards, and both outcomes of each condition and
    arm it writes) is evaluated by its cases: coverage counts what ran, not the case text."""
    from qrules.casetest import run_paths
    from qrules.registry import rulesets_dirs

    missing = {}
    for folder in FOLDERS:
        token = rulesets_dirs.set((str(RULESETS),))
        try:
            _, coverage = run_paths([str(folder / "cases")])
        finally:
            rulesets_dirs.reset(token)
        own = [c for c in coverage.values() if Path(c.file).resolve() == (folder / "guangdong-2026.yaml").resolve()]
        assert len(own) == 1, folder
        if own[0].own_uncovered():
            missing[folder.name] = own[0].own_uncovered()
    assert missing == {}
