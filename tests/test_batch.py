"""Batch evaluation (qrules.batch), columnar histories and the synthetic corpus generator.

The central property: evaluating a corpus chunk by chunk (in this process or in worker
processes) gives exactly what ``engine.evaluate`` gives on the whole corpus — subject
results (score, classes, lock, entries, adjustments, flags) and rejections, as multisets.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qrules.batch import EVENT_COLUMNS, SUBJECT_COLUMNS, Progress, evaluate_all, load_any, load_columnar, partition, record_to_row, row_to_record
from qrules.cli import main
from qrules.engine import evaluate
from qrules.errors import QrulesError
from qrules.history import load_history, load_history_data, uscc_check_character
from qrules.versioned import load
from qrules.synth import DEFAULT_AS_OF, generate, history_data, write_corpus

ROOT = Path(__file__).resolve().parents[1]
GD = ROOT / "rulesets" / "guangdong-2021.yaml"
HJ = ROOT / "rulesets" / "haojiang-2023.yaml"
GOOD = ROOT / "tests" / "data" / "history" / "good.yaml"


@pytest.fixture(scope="module")
def gd():
    return load(GD)


@pytest.fixture(scope="module")
def hj():
    return load(HJ)


def _same(compiled, loaded, as_of, **kw):
    """Assert batch == whole-corpus evaluation, as multisets of JSON dumps."""
    whole = evaluate(compiled, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects)
    subjects, rejected, excluded, summary = evaluate_all(compiled, loaded, as_of, **kw)
    dump = lambda xs: Counter(x.model_dump_json() for x in xs)  # noqa: E731
    assert dump(subjects) == dump(whole.subjects)
    assert dump(rejected) == dump(whole.rejected)
    assert dump(excluded) == dump(whole.excluded_subjects)
    sm = whole.summary
    assert (summary.subjects, summary.events, summary.events_counted, summary.events_rejected) == \
        (sm.subjects, sm.events, sm.events_counted, sm.events_rejected)
    assert dict(summary.by_official_class) == {k: v for k, v in sm.by_official_class.items() if v}
    assert dict(summary.rejected_by_code) == sm.rejected_by_code
    return whole


# ---- differential: generated corpora -------------------------------------------------------

AS_OF = st.sampled_from([dt.date(2022, 6, 30), dt.date(2024, 1, 1), DEFAULT_AS_OF, dt.date(2026, 3, 1)])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n=st.integers(1, 150), chunk=st.integers(1, 40), as_of=AS_OF,
       bad=st.sampled_from([0.0, 0.05, 0.3]))
def test_batch_equals_engine_on_synthetic_corpora(gd, seed, n, chunk, as_of, bad):
    loaded = load_history_data(history_data(n, seed, bad_rate=bad))
    _same(gd, loaded, as_of, workers=1, chunk_size=chunk)


SUBJECT_IDS = ["o1", "o2", "o3", "p1", "p2", "p3", "p4", "x9"]  # x9 never exists
ITEMS = ["11.1", "11.2", "11.7", "11.9", "12.1", "12.3", "12.7", "12.6", "13.0"]
DATES = [dt.date(2022, 3, 1), dt.date(2022, 9, 1), dt.date(2023, 2, 1), dt.date(2023, 2, 20), dt.date(2024, 5, 5),
         dt.date(2025, 1, 1)]


def _op(i: int, roles: list[str], region: str) -> dict:
    first17 = f"914405{region[-2:]}MA5X{i:04d}0"
    return {"id": f"o{i}", "kind": "operator", "uscc": first17 + uscc_check_character(first17), "roles": roles,
            "region": region}


@st.composite
def tangled_histories(draw):
    """Small histories where events name subjects of different producers, refer to each
    other through ``of``, and point at refused or unknown subjects: the partition's hard cases."""
    roles = st.sampled_from([["producer"], ["seller"], ["producer", "seller"], []])
    region = st.sampled_from(["440512", "440106", "110105"])
    subjects = [_op(i, draw(roles), draw(region)) for i in (1, 2, 3)]
    for i in range(1, 5):
        p = {"id": f"p{i}", "kind": "product", "brand": f"b{i}", "nice_class": draw(st.sampled_from([9, 28, 40])),
             "producer": draw(st.sampled_from(["o1", "o2", "o3", "o4"]))}
        if draw(st.booleans()):
            p["category"] = draw(st.sampled_from(["玩具", "食品"]))
        subjects.append(p)
    events: list[dict] = []
    for k in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(["deduction", "deduction", "deduction", "repair", "reward", "spot_check",
                                     "filing", "correction", "notice_sent"]))
        ev: dict = {"id": f"e{k}", "kind": kind, "date": draw(st.sampled_from(DATES))}
        earlier = [e["id"] for e in events] or ["e99"]
        if kind == "deduction":
            ev["item"] = draw(st.sampled_from(ITEMS))
            ev["subjects"] = draw(st.lists(st.sampled_from(SUBJECT_IDS), min_size=1, max_size=3, unique=True))
            ev["intentional"] = draw(st.booleans())
            if draw(st.booleans()):
                ev["line"] = {"model": "M", "standard": "GB 1"}
        elif kind == "repair":
            ev.update(of=draw(st.sampled_from(earlier)), rectified=draw(st.booleans()))
        elif kind == "reward":
            ev.update(rule=draw(st.sampled_from(["16", "17.1", "17.3", "99"])), subject=draw(st.sampled_from(SUBJECT_IDS)))
        elif kind == "spot_check":
            ev.update(subject=draw(st.sampled_from(SUBJECT_IDS)), result=draw(st.sampled_from(["pass", "fail"])))
        elif kind == "filing":
            ev["subject"] = draw(st.sampled_from(SUBJECT_IDS))
        elif kind == "correction":
            ev["of"] = draw(st.sampled_from(earlier))
            if draw(st.booleans()):
                ev["action"] = "revoke"
            else:
                ev.update(action="amend", changes={"subjects": draw(st.lists(st.sampled_from(SUBJECT_IDS), min_size=1,
                                                                             max_size=2, unique=True))})
        else:
            ev["of"] = draw(st.sampled_from(earlier))
        events.append(ev)
    return {"subjects": subjects, "events": events}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tangled_histories(), chunk=st.integers(1, 4), as_of=AS_OF)
def test_batch_equals_engine_on_tangled_histories(gd, data, chunk, as_of):
    _same(gd, load_history_data(data), as_of, workers=1, chunk_size=chunk)


def test_batch_in_worker_processes_equals_engine(hj):
    loaded = load_history_data(history_data(400, seed=7, bad_rate=0.05))
    for as_of in (dt.date(2024, 1, 1), DEFAULT_AS_OF):
        _same(hj, loaded, as_of, workers=2, chunk_size=25)
        _same(hj, loaded, as_of, workers=2, chunk_size=25, ordered=True)


def test_rows_mode_gives_flat_rows(gd):
    loaded = load_history_data(history_data(60, seed=2))
    rows, _, _, summary = evaluate_all(gd, loaded, DEFAULT_AS_OF, workers=1, chunk_size=10, rows=True)
    whole = evaluate(gd, loaded.history, DEFAULT_AS_OF, invalid_subjects=loaded.invalid_subjects)
    by_id = {s.id: s for s in whole.subjects}
    assert len(rows) == len(by_id) == summary.subjects
    for r in rows:
        s = by_id[r["id"]]
        assert r["official_class"] == s.official_class and r["live_class"] == s.live_class
        assert r["score"] == (None if s.score is None else f"{s.score.normalize():f}")


# ---- partition ---------------------------------------------------------------------------------

def test_partition_keeps_connected_subjects_together():
    data = {"subjects": [_op(1, ["producer"], "440512"), _op(2, ["seller"], "440512"), _op(3, ["producer"], "440512"),
                         {"id": "p1", "kind": "product", "brand": "b", "nice_class": 9, "producer": "o1"},
                         {"id": "p3", "kind": "product", "brand": "c", "nice_class": 9, "producer": "o3"}],
            "events": [{"id": "d1", "kind": "deduction", "item": "11.7", "date": "2023-01-01", "subjects": ["p1", "o2"]},
                       {"id": "r1", "kind": "repair", "of": "d1", "date": "2023-02-01", "rectified": True},
                       {"id": "f3", "kind": "filing", "subject": "o3", "date": "2023-01-01"}]}
    history = load_history_data(data).history
    chunks = partition(history, chunk_size=1)
    ids = [({history.subjects[i].id for i in c.subjects}, {history.events[i].id for i in c.events}) for c in chunks]
    assert ({"o1", "o2", "p1"}, {"d1", "r1"}) in ids  # 第十二条: producer, product and the named seller
    assert ({"o3", "p3"}, {"f3"}) in ids


# ---- columnar input ------------------------------------------------------------------------------

def _write_csv(records: list[dict], columns: list[str], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, columns)
        w.writeheader()
        for r in records:
            w.writerow(record_to_row(r, columns))


def _yaml_to_csv(tmp_path: Path, src: Path = GOOD) -> Path:
    from qrules.errors import Diagnostics
    from qrules.yamlsource import load_text

    data = load_text(src.read_text(encoding="utf-8"), str(src), Diagnostics()).data  # keeps 12.10 as text
    out = tmp_path / "tables"
    out.mkdir()
    _write_csv(data["subjects"], SUBJECT_COLUMNS, out / "subjects.csv")
    _write_csv(data["events"], EVENT_COLUMNS, out / "events.csv")
    return out


def test_csv_tables_load_like_yaml(tmp_path):
    out = _yaml_to_csv(tmp_path)
    a, b = load_history(GOOD), load_columnar(out)
    assert b.history == a.history
    assert b.invalid_subjects == a.invalid_subjects
    assert [(r.id, r.code) for r in b.rejected_events] == [(r.id, r.code) for r in a.rejected_events]
    assert load_columnar(out / "events.csv").history == a.history  # the sibling table is found by name
    assert load_any(out).history == a.history


def test_row_to_record_nests_and_splits():
    rec = row_to_record({"id": "e1", "kind": "deduction", "subjects": "p1; op1", "line_model": "X-1",
                         "intentional": "TRUE", "major_impact": "", "changes_line_standard": "GB 1", "note": None})
    assert rec == {"id": "e1", "kind": "deduction", "subjects": ["p1", "op1"], "line": {"model": "X-1"},
                   "intentional": True, "changes": {"line": {"standard": "GB 1"}}}


def test_csv_bad_records_are_reported_at_row_and_column(tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    op = _op(1, ["producer"], "440512")
    bad_op = dict(_op(2, ["seller"], "440512"), uscc="91440512MA5X00020X")
    (d / "subjects.csv").write_text(
        "id,kind,uscc,roles,region,brand,nice_class,producer\n"
        f"o1,operator,{op['uscc']},producer,440512,,,\n"
        f"o2,operator,{bad_op['uscc']},seller,440512,,,\n"
        "p1,product,,,,某牌,40,o1\n", encoding="utf-8")
    (d / "events.csv").write_text(
        "id,kind,date,item,subjects,intentional\n"
        "e1,deduction,2023-01-01,11.7,o1,yes\n"
        "e2,deduction,2023-13-01,11.7,o1,false\n"
        "e3,deduction,2023-01-01,11.7,o2,false\n"
        "e4,deduction,2023-01-01,11.7,o1,false,extra\n", encoding="utf-8")
    loaded = load_columnar(d)
    assert set(loaded.invalid_subjects) == {"o2", "p1"}
    codes = {d.code for d in loaded.diagnostics}
    assert {"QR502", "QR503", "QR501", "QR507"} <= codes
    rej = {r.id: r for r in loaded.rejected_events}
    assert rej["e1"].code == "QR501" and "true or false" in rej["e1"].reason
    assert (rej["e1"].span.line, ) == (2,)
    e1_diag = next(x for x in loaded.diagnostics if x.message.startswith("e1:"))
    assert (e1_diag.span.line, e1_diag.span.col) == (2, 6)  # the 'intentional' column
    assert rej["e2"].code == "QR501" and "does not exist" in rej["e2"].reason
    assert "#4" in rej or "e4" in rej  # too many cells: refused, never dropped
    assert [e.id for e in loaded.history.events] == ["e3"]  # kept; the engine rejects it (QR603)


def test_csv_unknown_column_is_a_file_error(tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    (d / "subjects.csv").write_text("id,kind,usc\n", encoding="utf-8")
    with pytest.raises(QrulesError) as err:
        load_columnar(d)
    diag = err.value.diagnostics[0]
    assert diag.code == "QR507" and "usc" in diag.message and "uscc" in (diag.hint or "")


def test_columnar_directory_without_tables(tmp_path):
    with pytest.raises(QrulesError):
        load_columnar(tmp_path)


def test_parquet_and_csv_and_jsonl_corpora_load_the_same(tmp_path):
    pytest.importorskip("pyarrow")
    for fmt in ("jsonl", "csv", "parquet"):
        write_corpus(tmp_path / fmt, 300, seed=11, fmt=fmt, bad_rate=0.05)
    a = load_history(tmp_path / "jsonl" / "history.jsonl")
    for fmt in ("csv", "parquet"):
        b = load_any(tmp_path / fmt)
        assert b.history == a.history, fmt
        assert b.invalid_subjects == a.invalid_subjects
        assert Counter(r.code for r in b.rejected_events) == Counter(r.code for r in a.rejected_events)
        assert Counter(d.code for d in b.diagnostics) == Counter(d.code for d in a.diagnostics)


def test_missing_pyarrow_gives_a_clear_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "subjects.parquet").write_bytes(b"")
    with pytest.raises(QrulesError) as err:
        load_columnar(tmp_path)
    assert err.value.diagnostics[0].code == "QR001" and "qrules[parquet]" in (err.value.diagnostics[0].hint or "")


# ---- synthetic corpora ------------------------------------------------------------------------------

def test_synth_is_seeded_and_exact_in_size():
    a = list(generate(500, seed=5))
    assert a == list(generate(500, seed=5))
    assert a != list(generate(500, seed=6))
    assert sum(1 for k, _ in a if k == "subject") == 500


def test_synth_mix_reaches_every_kind_and_class(gd):
    data = history_data(3000, seed=1)
    kinds = Counter(e["kind"] for e in data["events"])
    assert set(kinds) >= {"deduction", "repair", "reward", "spot_check", "filing", "correction", "notice_sent",
                          "objection_filed", "objection_accepted", "objection_refused", "objection_answered",
                          "repair_applied", "error_reported"}
    assert 2.0 < len(data["events"]) / len(data["subjects"]) < 4.5
    loaded = load_history_data(data)
    codes = Counter(d.code for d in loaded.diagnostics)
    assert codes["QR502"] and codes["QR503"]
    result = evaluate(gd, loaded.history, DEFAULT_AS_OF, invalid_subjects=loaded.invalid_subjects)
    assert set(result.summary.by_official_class) >= {"A", "B", "C", "D", "O"}
    assert any(s.lock for s in result.subjects)
    assert {"QR601", "QR604", "QR605", "QR613"} <= set(result.summary.rejected_by_code)
    roles = Counter(tuple(s.get("roles", ())) for s in data["subjects"] if s["kind"] == "operator")
    assert roles[("seller",)] and roles[("producer",)] and roles[("producer", "seller")]


# ---- CLI ---------------------------------------------------------------------------------------------

def test_cli_synth_and_batch(tmp_path, capsys, gd):
    pytest.importorskip("pyarrow")
    assert main(["synth", "--subjects", "400", "--seed", "3", "--out", str(tmp_path / "c"), "--format", "csv"]) == 0
    out = tmp_path / "r.csv"
    summary = tmp_path / "s.json"
    rej = tmp_path / "rej.csv"
    code = main(["batch", str(GD), str(tmp_path / "c"), "--as-of", "2025-12-31", "--workers", "2", "--chunk-size",
                 "50", "-o", str(out), "--summary-json", str(summary), "--rejections", str(rej), "--no-progress"])
    text = capsys.readouterr().out
    assert code == 1  # synth plants bad records (~1%): reported, the rest evaluated, exit 1
    assert "subjects evaluated" in text and "rejections by reason code" in text
    loaded = load_columnar(tmp_path / "c")
    whole = evaluate(gd, loaded.history, dt.date(2025, 12, 31), invalid_subjects=loaded.invalid_subjects)
    data = json.loads(summary.read_text(encoding="utf-8"))
    assert data["subjects"] == whole.summary.subjects
    assert data["by_official_class"] == whole.summary.by_official_class
    assert data["rejected_by_code"] == whole.summary.rejected_by_code
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert Counter(r["official_class"] for r in rows) == Counter(s.official_class for s in whole.subjects)
    rej_rows = list(csv.DictReader(rej.open(encoding="utf-8")))
    assert len(rej_rows) == len(whole.rejected) + len(loaded.rejected_events)
    pq_out = tmp_path / "r.parquet"
    assert main(["batch", str(GD), str(tmp_path / "c"), "--as-of", "2025-12-31", "-j", "1", "-o", str(pq_out)]) == 1  # planted bad records
    import pyarrow.parquet as pq

    assert pq.read_table(str(pq_out)).num_rows == whole.summary.subjects


def test_cli_batch_jsonl_history_and_output(tmp_path, capsys):
    assert main(["synth", "-n", "100", "--out", str(tmp_path / "h.jsonl")]) == 0
    out = tmp_path / "r.jsonl"
    assert main(["batch", str(HJ), str(tmp_path / "h.jsonl"), "--as-of", "2025-06-30", "-j", "1", "-o", str(out)]) == 1  # planted bad records
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert lines and {"id", "score", "official_class", "lock_until"} <= set(lines[0])


def test_cli_batch_unreadable_history(tmp_path, capsys):
    assert main(["batch", str(GD), str(tmp_path / "missing.csv"), "--no-progress"]) == 1
    assert "QR507" in capsys.readouterr().err


def test_progress_bar_draws_when_enabled():
    buf = io.StringIO()
    bar = Progress(10, True, stream=buf)
    bar.update(10)
    bar.close()
    assert "100.0%" in buf.getvalue() and "10/10" in buf.getvalue()
    quiet = io.StringIO()
    Progress(10, False, stream=quiet).update(5)
    assert quiet.getvalue() == ""


def test_s4a_art19_chunked_notes_and_warnings_are_those_of_the_whole_corpus():
    """The engine in chunks says what one evaluation of the whole corpus says: haojiang (in force
    from 2023-12-18, brief §4a) notes every date before it once, counted over all chunks, and every
    chunk's recorded-by warning (第十九条第二款) is kept (the summary kept the first chunk's alone)."""
    from conftest import ded, operator, product

    subjects, events = [], []
    for i in range(6):
        subjects += [operator(f"op{i}", i + 1), product(f"p{i}", f"op{i}", brand=f"牌{i}")]
        events += [ded(f"a{i}", "11.6", f"2023-0{i + 1}-10", [f"p{i}"]),
                   ded(f"b{i}", "11.1", f"2024-0{i + 1}-10", [f"p{i}"], recorded_by="city")]
    loaded = load_history_data({"subjects": subjects, "events": events})
    compiled, as_of = load(ROOT / "rulesets" / "haojiang-2023.yaml"), dt.date(2025, 12, 31)
    whole = evaluate(compiled, loaded.history, as_of).warnings
    summary = evaluate_all(compiled, loaded, as_of, workers=1, chunk_size=1)[3]
    assert summary.chunks == 6 and summary.warnings == whole
    assert "2023-01-10 至 2023-06-10 共 6 个日期的记分事项无有效规则版本" in whole[0]
    assert sum(w.startswith("b") and "recorded by city" in w for w in whole) == 6
