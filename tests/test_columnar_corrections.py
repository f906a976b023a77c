"""Corrections (第二十四条、第二十五条) in the columnar backend, against the per-subject engine.

Seeded corpora add corrections of every kind to the operator corpora of ``test_columnar``:
revokes and amends of deductions, repairs, rewards, filings and procedure events; amends of
item, date (earlier, later, past the as-of date), subjects, intentional, major impact and line;
several corrections of one event (the second revoke, an amend after a revoke, a correction dated
before the event as an earlier amend moved it); corrections of corrections; corrections dated after
the as-of date. Both backends must give the same rows, rejections, excluded subjects and counts.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("polars")

from test_columnar import GD_ITEMS, compare, operator_corpus  # noqa: E402

from qrules.columnar import ColumnarBackend, Tables  # noqa: E402
from qrules.history import load_history_data  # noqa: E402
from qrules.versioned import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2025, 12, 31)
GD = "rulesets/guangdong-2021.yaml"


def with_corrections(data: dict, seed: int, items: list[str], share: float = 0.3) -> dict:
    """``data`` with corrections of a ``share`` of its events (some events corrected several times)."""
    r = random.Random(seed)
    events = list(data["events"])
    by_id = {e["id"]: e for e in events}
    ids = [x["id"] for x in data["subjects"]]
    added: list[dict] = []

    def shifted(day: str, lo: int, hi: int) -> str:
        return (dt.date.fromisoformat(day) + dt.timedelta(r.randrange(lo, hi))).isoformat()

    for k in range(int(len(events) * share)):
        x = r.random()
        if x < 0.04 and added:
            target = r.choice(added)           # a correction of a correction: refused (QR612)
        elif x < 0.25 and added:
            target = by_id.get(added[-1]["of"], events[0])  # an event corrected again
        else:
            target = r.choice(events)
        c = {"id": f"c{k}", "kind": "correction", "of": target["id"],
             "date": shifted(str(target["date"]), 0, 1 if r.random() < 0.1 else 400)}
        if target["kind"] == "correction" or r.random() < 0.35:
            c["action"] = "revoke"
        else:
            changes: dict = {}
            if target["kind"] == "deduction":
                y = r.random()
                if y < 0.25:
                    changes["item"] = r.choice(items)
                elif y < 0.4:
                    changes["intentional"] = not target.get("intentional", False)
                elif y < 0.5:
                    changes["major_impact"] = r.random() < 0.7
                elif y < 0.65:
                    changes["subjects"] = [r.choice(ids)] + ([r.choice(ids) + "x"] if r.random() < 0.05 else [])
                elif y < 0.75:
                    changes["line"] = r.choice([{"model": "M-1"}, {"standard": "GB 1"}, {"model": "M", "standard": "S"}])
            elif target["kind"] == "repair" and r.random() < 0.4:
                changes["subjects"] = [r.choice(ids)]
            if not changes or r.random() < 0.3:  # earlier, later, or past the as-of date
                changes["date"] = shifted(str(target["date"]), -300, 900)
            c["action"], c["changes"] = "amend", changes
        added.append(c)
    data["events"] = events + added
    return data


def corpus(seed: int, n: int = 300) -> dict:
    return with_corrections(operator_corpus(n, seed, GD_ITEMS, ["17.2", "17.3"]), seed, GD_ITEMS)


def synth(n: int, seed: int) -> dict:
    """``qrules synth``'s corpus with its own corrections (revokes, amends of the item) and more of
    every kind; the rewards granted again, as in ``test_columnar`` (the cap on a producer's line)."""
    from qrules.synth import history_data
    from test_columnar import synth_corpus

    data = synth_corpus(n, seed)
    data["events"] += [e for e in history_data(n, seed, 0.05)["events"] if e["kind"] == "correction"]
    items = list(load(ROOT / GD).model.items)
    return with_corrections(data, seed, items, share=0.15)


def reasons(data: dict, as_of: dt.date = AS_OF) -> Counter:
    """What the engine said about the corrections and their targets in ``data`` (to show the corpus reaches it)."""
    import qrules

    result = qrules.evaluate(load(ROOT / GD), load_history_data(data).history, as_of)
    out: Counter = Counter()
    for r in result.rejected:
        if r.code in ("QR612", "QR620") or "revoked" in r.reason:
            out[(r.code, r.kind, re.split(r"['\d]", r.reason)[0])] += 1
    return out


@pytest.mark.parametrize("seed", range(5))
def test_art25_columnar_equals_engine_with_corrections(seed):
    """Art 24-25: revoked and amended events, refused corrections; every row and rejection agrees."""
    assert compare(GD, corpus(seed)) > 250


@pytest.mark.parametrize("as_of", [dt.date(2022, 12, 31), dt.date(2024, 7, 1), dt.date(2026, 6, 30)])
def test_art25_columnar_equals_engine_with_corrections_at_other_dates(as_of):
    """Corrections dated after the as-of date do not apply (QR613); amends that move an event past it."""
    compare(GD, corpus(21, 200), as_of)


def test_art25_columnar_equals_engine_with_corrections_on_a_large_corpus(monkeypatch):
    """Above `SPLIT_ROWS` events the tables' subject rows are not worked out (the run looks subjects up
    by id); corrections on such a corpus still agree row by row (Art 24-25)."""
    import qrules.columnar as columnar

    monkeypatch.setattr(columnar.common, "SPLIT_ROWS", 0)
    assert compare(GD, corpus(3)) > 250


def test_art25_columnar_equals_engine_simplified_with_corrections():
    data = with_corrections(operator_corpus(300, 7, ["D1", "D3", "D6"], ["R"]), 7, ["D1", "D3", "D6"])
    compare("bench/simplified.yaml", data)


@pytest.mark.parametrize("seed", range(3))
def test_art25_columnar_equals_engine_synth_with_corrections(seed):
    """Art 24-25 with products: corrections of product deductions, their producers' links (第十二条),
    spot checks and the 180-day dedup (第九条第二款: a changed line), clean-record rewards."""
    assert compare(GD, synth(1500, seed)) > 1000


def test_art25_columnar_equals_engine_synth_haojiang_with_corrections():
    compare("rulesets/haojiang-2023.yaml", synth(3000, 5))


@pytest.mark.parametrize("as_of", [dt.date(2023, 6, 30), dt.date(2024, 7, 1)])
def test_art25_columnar_equals_engine_synth_with_corrections_at_other_dates(as_of):
    compare(GD, synth(1200, 8), as_of)


def test_art25_corpus_reaches_every_correction_rule():
    """The corpora above exercise each refusal and each kind of corrected event (so they can fail)."""
    got = reasons(corpus(0)) + reasons(corpus(1)) + reasons(synth(1500, 0))
    kinds = {k for (code, k, _) in got if code == "QR620"}
    assert kinds >= {"deduction", "repair", "reward", "filing", "notice_sent", "spot_check"}
    texts = {(code, text) for (code, _, text) in got}
    assert ("QR612", "correction of a correction ") in texts
    assert ("QR612", "") in texts                                  # '…' was already revoked by …
    assert ("QR612", "correction dated ") in texts                 # before the event as an amend moved it
    assert ("QR607", "deduction ") in texts                        # repair of a revoked deduction


def _run(data: dict, as_of: dt.date = AS_OF) -> dict:
    compiled = load(ROOT / GD)
    return ColumnarBackend(compiled).evaluate(Tables.from_history(load_history_data(data)), as_of)


def _ops(n: int) -> list[dict]:
    return [{"id": f"op{i}", "kind": "operator", "uscc": operator_corpus(n, 0, GD_ITEMS, [])["subjects"][i]["uscc"],
             "roles": ["producer", "seller"], "region": "440512"} for i in range(n)]


def test_art25_revoked_deduction_sets_no_d_and_no_lock():
    """Art 25, Art 26: a D set only by a revoked deduction does not lock. Two intentional deductions of
    -6 (第十三条) take op0 to 0 (D) before the adjustment of 2024-07-01; the second is revoked on
    2024-09-01, so every adjustment is recomputed from 6 (C) and nothing locks; its repair is refused
    (QR607) and the revoked deduction listed (QR620)."""
    events = [{"id": "d1", "kind": "deduction", "item": "12.1", "date": "2024-03-01", "subjects": ["op0"],
               "intentional": True},
              {"id": "d2", "kind": "deduction", "item": "12.3", "date": "2024-04-01", "subjects": ["op0"],
               "intentional": True},
              {"id": "r1", "kind": "repair", "of": "d2", "date": "2024-05-01", "rectified": True},
              {"id": "c1", "kind": "correction", "of": "d2", "action": "revoke", "date": "2024-09-01"}]
    out = _run({"subjects": _ops(1), "events": events})
    row = out["rows"].row(0, named=True)
    assert (row["score"], row["live_class"], row["official_class"], row["lock_class"]) == ("6", "C", "C", None)
    rej = {(r["event"], r["code"]): r["reason"] for r in out["rejections"].iter_rows(named=True)}
    assert rej == {("d2", "QR620"): "revoked by correction c1", ("r1", "QR607"): "deduction 'd2' was revoked by c1"}
    before = _run({"subjects": _ops(1), "events": events[:3]})["rows"].row(0, named=True)
    assert (before["score"], before["official_class"], before["lock_class"]) == ("0", "D", "D")


def test_art25_amend_moves_item_date_and_subject():
    """An amend changes what is decided: 12.3 (-3) amended to 12.10 (-2) on another operator, a month later;
    a second correction dated before the event as amended is refused (QR612)."""
    events = [{"id": "d1", "kind": "deduction", "item": "12.3", "date": "2024-03-01", "subjects": ["op0"]},
              {"id": "c1", "kind": "correction", "of": "d1", "action": "amend", "date": "2024-03-05",
               "changes": {"item": "12.10", "subjects": ["op1"], "date": "2024-04-01"}},
              {"id": "c2", "kind": "correction", "of": "d1", "action": "revoke", "date": "2024-03-20"}]
    out = _run({"subjects": _ops(2), "events": events})
    rows = {r["id"]: r for r in out["rows"].iter_rows(named=True)}
    assert load(ROOT / GD).model.items["12.10"].points == Decimal(-2)
    assert rows["op0"]["scored"] is False
    assert rows["op1"]["score"] == "10"  # 12 - 2 (第十二条第（十）项), not 12 - 3 on op0
    [(code, reason)] = [(r["code"], r["reason"]) for r in out["rejections"].iter_rows(named=True)]
    assert code == "QR612" and reason.startswith("correction dated 2024-03-20, before the event it corrects "
                                                 "(2024-04-01)")
    assert out["events_counted"] == 2 and out["events_rejected"] == 1


def test_art25_amended_line_replaces_the_whole_line():
    """An amend of ``line`` replaces it as one field (第九条第二款 reads both parts): the model changed,
    the standard not restated is gone — as the engine's copy of the record; a later amend that sets
    no line keeps it; null cells leave fields as they were."""
    import polars as pl

    from qrules.columnar.corrections import correct

    data = {"subjects": _ops(1),
            "events": [{"id": "d1", "kind": "deduction", "item": "12.3", "date": "2024-03-01", "subjects": ["op0"],
                        "line": {"model": "X", "standard": "S"}, "intentional": True},
                       {"id": "c1", "kind": "correction", "of": "d1", "action": "amend", "date": "2024-03-05",
                        "changes": {"line": {"model": "M-1"}}},
                       {"id": "c2", "kind": "correction", "of": "d1", "action": "amend", "date": "2024-03-06",
                        "changes": {"major_impact": True}}]}
    events = Tables.from_history(load_history_data(data)).events
    fixed = correct(events, "第二十五条")
    row = fixed.events.filter(pl.col("id") == "d1").row(0, named=True)
    assert (row["line_model"], row["line_standard"], row["intentional"], row["major_impact"]) == ("M-1", None, True,
                                                                                                  True)
    assert sorted(fixed.counted.to_list()) == ["c1", "c2"] and fixed.rejections is None


def test_batch_takes_corrections_columnar(tmp_path, capsys):
    """`qrules batch` on a synthetic corpus with corrections, as CSV: columnar (no notice), the same
    output and summary as `--backend engine`."""
    import json

    from qrules.cli import main

    assert main(["synth", "-n", "300", "--seed", "4", "--out", str(tmp_path / "s"), "--format", "csv"]) == 0
    assert "correction" in (tmp_path / "s" / "events.csv").read_text(encoding="utf-8")
    common = [str(ROOT / GD), str(tmp_path / "s"), "--as-of", "2025-12-31", "--no-progress", "-j", "1"]
    main(["batch", *common, "-o", str(tmp_path / "c.jsonl"), "--summary-json", str(tmp_path / "c.json")])
    assert "columnar backend cannot" not in capsys.readouterr().err
    main(["batch", *common, "--backend", "engine", "-o", str(tmp_path / "e.jsonl"),
          "--summary-json", str(tmp_path / "e.json")])
    lines = lambda p: sorted((tmp_path / p).read_text(encoding="utf-8").splitlines())  # noqa: E731
    assert lines("c.jsonl") == lines("e.jsonl")
    c, e = (json.loads((tmp_path / p).read_text(encoding="utf-8")) for p in ("c.json", "e.json"))
    for key in ("subjects", "by_official_class", "events_counted", "events_rejected", "rejected_by_code"):
        assert c[key] == e[key], key
    assert c["rejected_by_code"].get("QR620")
