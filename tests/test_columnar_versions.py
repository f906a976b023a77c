"""Versions over time (brief §4a) in the columnar backend, against the per-subject engine.

The family is guangdong-2021 and the fictional successor of tests/data/versions/{keep,redecide}
(from 2026-06-05: item 11.1 -5, a 24-month window, A from 11 points). Where one version decides
every event, adjustment and the as-of date, the columnar backend evaluates with it and must give
the engine's rows, rejections, counts and notes; across the change of version it falls back,
naming the dates and versions.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

pytest.importorskip("polars")

from test_columnar import GD_ITEMS, compare, operator_corpus, synth_corpus  # noqa: E402

import qrules  # noqa: E402
from qrules.columnar import ColumnarBackend, Fallback, Tables  # noqa: E402
from qrules.history import load_history_data  # noqa: E402
from qrules.versioned import load, load_rulesets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "versions"
SWITCH = dt.date(2026, 6, 5)


def family(transition: str, name: str = "guangdong"):
    return load_rulesets(ROOT / "rulesets", DATA / transition).load(name)


def shifted(data: dict, days: int) -> dict:
    """``data`` with every date moved by ``days`` (a corpus of the same shape in another period)."""
    def move(value):
        return (dt.date.fromisoformat(str(value)) + dt.timedelta(days)).isoformat()

    events = []
    for e in data["events"]:
        e = {k: (move(v) if k in ("date", "notice_date", "action_date") else v) for k, v in e.items()}
        if "changes" in e and "date" in e["changes"]:
            e["changes"] = {**e["changes"], "date": move(e["changes"]["date"])}
        events.append(e)
    return {"subjects": data["subjects"], "events": events}


def notes_agree(compiled, data: dict, as_of: dt.date) -> list[str]:
    from qrules.engine import evaluate

    loaded = load_history_data(data)
    engine = evaluate(compiled, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects).warnings
    assert ColumnarBackend(compiled).chunk(loaded, as_of).warnings == engine
    return engine


@pytest.mark.parametrize("transition", ["keep", "redecide"])
@pytest.mark.parametrize("as_of", [dt.date(2025, 12, 31), dt.date(2026, 6, 4)])
def test_s4a_columnar_equals_engine_before_the_successor(transition, as_of):
    """Before 2026-06-05 guangdong-2021 decides everything, whatever the successor's transition."""
    data = operator_corpus(300, 3, GD_ITEMS, ["17.2", "17.3"])
    assert compare(family(transition), data, as_of) > 250
    compare(family(transition), synth_corpus(1200, 4), as_of)


@pytest.mark.parametrize("transition", ["keep", "redecide"])
def test_s4a_columnar_equals_engine_under_the_successor(transition):
    """A corpus wholly after the switch (every date moved forward 2,400 days, to 2026-07-29 and
    later): the successor decides everything — its 24-month window (第七条) and A from 11 (第二十六条)."""
    # 17.3 counts working days (第十七条第（三）项): the official calendar stops at 2026, so not after the move
    data = shifted(operator_corpus(300, 5, GD_ITEMS, ["17.2"]), 2400)
    as_of = dt.date(2031, 3, 31)
    assert compare(family(transition), data, as_of) > 250
    # the comparison can fail: the predecessor alone gives other rows on the same corpus
    loaded = load_history_data(data)
    successor = ColumnarBackend(family(transition)).evaluate(Tables.from_history(loaded), as_of)["rows"]
    alone = ColumnarBackend(load(ROOT / "rulesets" / "guangdong-2021.yaml")).evaluate(
        Tables.from_history(loaded), as_of)["rows"]
    assert successor["score"].to_list() != alone["score"].to_list()


def test_s4a_columnar_notes_for_dates_with_no_version_in_force():
    """haojiang follows guangdong from 2023-12-18: events before it are decided under its first
    version with the engine's note, word for word; so is an as-of date after the successor expired."""
    data = operator_corpus(200, 6, GD_ITEMS, ["17.2", "17.3"])
    assert any("无有效规则" in n for n in notes_agree(family("keep", "haojiang"), data, dt.date(2025, 12, 31)))
    late = shifted(operator_corpus(100, 7, GD_ITEMS, ["17.2"]), 2400)
    assert notes_agree(family("keep"), late, dt.date(2031, 12, 31))


@pytest.mark.parametrize("transition", ["keep", "redecide"])
def test_s4a_fixture_before_the_switch_is_hand_computed(transition):
    """tests/data/versions/history-2025-2027.yaml as of 2026-03-31 (test_versions' EXPECTED): p1 8 B,
    p2 9 B, op1 min(6, 9) = 6 C, p3 11 B (A needs 12 under guangdong-2021), op2 9 B."""
    history = qrules.load_history(DATA / "history-2025-2027.yaml")
    out = ColumnarBackend(family(transition, "haojiang")).evaluate(Tables.from_history(history), dt.date(2026, 3, 31))
    got = {r[0]: tuple(r[1:]) for r in out["rows"].select("id", "score", "live_class", "official_class").rows()}
    assert got == {"p1": ("8", "B", "B"), "p2": ("9", "B", "B"), "op1": ("6", "C", "C"), "p3": ("11", "B", "B"),
                   "op2": ("9", "B", "B")}


@pytest.mark.parametrize("transition", ["keep", "redecide"])
def test_s4a_across_the_switch_falls_back_naming_the_versions(transition):
    """As of 2027-03-31 the fixture's events fall under both versions: the backend names them."""
    history = qrules.load_history(DATA / "history-2025-2027.yaml")
    with pytest.raises(Fallback) as info:
        ColumnarBackend(family(transition, "haojiang")).evaluate(Tables.from_history(history), dt.date(2027, 3, 31))
    assert info.value.reasons == [
        "events, adjustments and the as-of date from 2024-02-01 to 2027-03-31 fall under 2 versions "
        "(haojiang-2023/guangdong-2021 2023-12-18..2026-06-04, haojiang-2023/guangdong-2026 2026-06-05..2031-06-04); "
        "deciding each under its own (§4a) across a change of version is new to the columnar backend"]


def test_s4a_an_amendment_past_the_switch_falls_back():
    """An amend that moves a deduction past the switch makes the successor decide it (the engine
    decides an event under the version in force on its date as corrected): not taken yet, named."""
    data = operator_corpus(50, 8, GD_ITEMS, ["17.2"])
    target = next(e for e in data["events"] if e["kind"] == "deduction" and e["date"] < "2025-06-01")
    data["events"].append({"id": "c1", "kind": "correction", "of": target["id"], "action": "amend",
                           "date": target["date"], "changes": {"date": "2026-07-01"}})
    with pytest.raises(Fallback, match="2026-07-01 fall under 2 versions"):
        ColumnarBackend(family("keep")).evaluate(Tables.from_history(load_history_data(data)), dt.date(2026, 3, 31))


def test_s4a_batch_on_a_family_columnar_then_falls_back(tmp_path, capsys):
    """`qrules batch haojiang` with the successor's folder: columnar as of 2026-03-31; as of
    2027-03-31 a notice naming the versions, then the engine — the same output as `--backend engine`."""
    from qrules.cli import main

    from test_columnar import _write_tables

    import yaml

    _write_tables(yaml.safe_load((DATA / "history-2025-2027.yaml").read_text(encoding="utf-8")), tmp_path / "t")
    common = ["batch", "haojiang", str(tmp_path / "t"), "--rulesets", str(ROOT / "rulesets"),
              "--rulesets", str(DATA / "keep"), "--no-progress", "-j", "1"]
    for as_of, falls_back in (("2026-03-31", False), ("2027-03-31", True)):
        main([*common, "--as-of", as_of, "-o", str(tmp_path / f"c{as_of}.jsonl")])
        err = capsys.readouterr().err
        assert ("fall under 2 versions" in err) is falls_back, err
        main([*common, "--as-of", as_of, "--backend", "engine", "-o", str(tmp_path / f"e{as_of}.jsonl")])
        capsys.readouterr()
        c, e = ((tmp_path / f"{x}{as_of}.jsonl").read_text(encoding="utf-8") for x in "ce")
        assert sorted(c.splitlines()) == sorted(e.splitlines()) and c


def test_s4a_art19_batch_columnar_prints_the_engines_notes_and_recorded_by_warnings(tmp_path, capsys):
    """haojiang is in force from 2023-12-18: a deduction dated before it gets the engine's note
    (brief §4a), and a spot-check deduction entered by the city the warning of 第十九条第二款 — from
    `qrules batch` with the columnar backend as with the engine (it printed only the expiry)."""
    import json

    from conftest import ded, operator, product
    from qrules.cli import main

    from test_columnar import _write_tables

    data = {"subjects": [operator("op1", 1), product("p1", "op1")],
            "events": [ded("e1", "11.6", "2023-06-01", ["p1"]),
                       ded("e2", "11.1", "2024-03-01", ["p1"], recorded_by="city")]}
    _write_tables(data, tmp_path / "t")
    got = {}
    for backend in ("columnar", "engine"):
        main(["batch", "haojiang", str(tmp_path / "t"), "--as-of", "2025-12-31", "--backend", backend, "-j", "1",
              "--no-progress", "-o", str(tmp_path / f"{backend}.csv"), "--summary-json", str(tmp_path / f"{backend}.json")])
        err = capsys.readouterr().err
        assert "cannot take" not in err
        got[backend] = json.loads((tmp_path / f"{backend}.json").read_text(encoding="utf-8"))["warnings"]
        assert all(w in err for w in got[backend])
    assert got["columnar"] == got["engine"]
    assert any("2023-06-01 至 2023-06-01 共 1 个日期的记分事项无有效规则版本" in w for w in got["engine"])
    assert any(w.startswith("e2: recorded by city") for w in got["engine"])
