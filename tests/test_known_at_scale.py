"""As known at a date, at scale (brief §4a, two clocks): ``qrules batch --as-known-at`` with both
backends, ``evaluate --as-known-at`` at scale, ``deadlines --as-known-at``.

The reference is the engine on the YAML/JSON history (``qrules.engine.evaluate(...,
as_known_at=D)``: only the events whose ``recorded`` date, default their own date, is on or
before D). Batch cuts its input the same way before evaluating (qrules/knownat.py) and counts
the events it left out.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest

from qrules.batch import evaluate_all, evaluate_batch
from qrules.cli import main
from qrules.engine import evaluate
from qrules.history import load_history, load_history_data
from qrules.knownat import known_loaded, known_tables
from qrules.synth import DEFAULT_AS_OF, history_data
from qrules.tables import OUTPUT_COLUMNS, output_row
from qrules.versioned import load

ROOT = Path(__file__).resolve().parents[1]
GD = ROOT / "rulesets" / "guangdong-2021.yaml"
# Art 25 + §4a: e1 (11.6, -1) 2024-01-10; e2 (11.9, -12) dated 2024-03-01, entered 2024-03-05;
# c1 revokes e2 as an error, dated 2024-10-15, entered 2024-10-16 (tests/test_versions.py).
KNOWN = ROOT / "tests" / "data" / "versions" / "known-at.yaml"
AS_OF = "2024-12-31"


@pytest.fixture(scope="module")
def gd():
    return load(GD)


def _with_recorded(data: dict, seed: int) -> dict:
    """Every other event entered later than it happened (1 to 400 days), corrections among them:
    the two clocks of brief §4a apart."""
    r = random.Random(seed)
    for ev in data["events"]:
        day = ev.get("date")
        if isinstance(day, dt.date) and r.random() < 0.5:
            ev["recorded"] = day + dt.timedelta(days=r.randint(1, 400))
    return data


def _jsonable(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def _expected_rows(compiled, path: Path, as_of: str, known: str) -> tuple[dict, object]:
    """``evaluate --as-known-at`` on the YAML/JSON form, as batch's flat rows by subject id."""
    loaded = load_history(path)
    result = evaluate(compiled, loaded.history, dt.date.fromisoformat(as_of), invalid_subjects=loaded.invalid_subjects,
                      as_known_at=dt.date.fromisoformat(known))
    return {s.id: output_row(s) for s in result.subjects}, result


def _batch_rows(tmp_path: Path, history: Path, as_of: str, known: str, backend: str, capsys, *extra: str):
    out, summary = tmp_path / f"r-{backend}.jsonl", tmp_path / f"s-{backend}.json"
    code = main(["batch", str(GD), str(history), "--as-of", as_of, "--as-known-at", known, "--backend", backend,
                 "-o", str(out), "--summary-json", str(summary), "--no-progress", *extra])
    captured = capsys.readouterr()
    assert "cannot take" not in captured.err, captured.err  # the columnar backend itself, not the engine
    rows = {r["id"]: {c: r[c] for c in OUTPUT_COLUMNS}
            for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    return code, rows, json.loads(summary.read_text(encoding="utf-8")), captured.out


# -- differential: batch (both backends) == evaluate on the YAML/JSON form ------------------------------

@pytest.mark.parametrize("backend", ["engine", "columnar"])
@pytest.mark.parametrize("known", ["2024-03-04", "2024-03-05", "2024-10-15", "2024-10-16"])
def test_s4a_batch_as_known_at_equals_evaluate_on_the_correction_history(gd, tmp_path, capsys, backend, known):
    expected, result = _expected_rows(gd, KNOWN, AS_OF, known)
    code, rows, summary, _ = _batch_rows(tmp_path, KNOWN, AS_OF, known, backend, capsys, "-j", "1")
    assert code == 0 and rows == expected
    assert summary["events"] == result.summary.events and summary["as_known_at"] == known


@pytest.mark.parametrize("seed", [3, 11])
def test_s4a_batch_as_known_at_equals_evaluate_on_generated_histories(gd, tmp_path, capsys, seed):
    pytest.importorskip("polars")
    data = _with_recorded(history_data(150, seed, bad_rate=0.02), seed)
    path = tmp_path / "h.json"
    path.write_text(_jsonable(data), encoding="utf-8")
    as_of = DEFAULT_AS_OF.isoformat()
    valid = load_history(path).history.events
    for known in ("2023-06-30", "2025-03-31"):
        day = dt.date.fromisoformat(known)
        left_out = sum(1 for e in valid if (e.recorded or e.date) > day)
        assert 0 < left_out < len(valid)  # the cut does something, and not everything
        expected, result = _expected_rows(gd, path, as_of, known)
        for backend, workers in (("engine", "2"), ("columnar", "1")):
            _, rows, summary, text = _batch_rows(tmp_path, path, as_of, known, backend, capsys, "-j", workers)
            assert rows == expected, (backend, known)
            assert (summary["events"], summary["events_counted"], summary["events_rejected"]) == \
                (result.summary.events, result.summary.events_counted, result.summary.events_rejected)
            assert summary["events_not_yet_recorded"] == left_out
            assert summary["events"] + left_out == len(valid)
            assert f"{left_out} more valid {'event' if left_out == 1 else 'events'} recorded after {known}: left out" in text


def test_s4a_the_columnar_cut_and_the_engine_cut_keep_the_same_events(gd):
    """The polars filter (coalesce(recorded, date) <= D) against the engine's own ``known_at``."""
    pytest.importorskip("polars")
    from qrules.columnar import Tables

    loaded = load_history_data(_with_recorded(history_data(80, 5), 5))
    tables = Tables.from_history(loaded)
    for day in (dt.date(2022, 1, 1), dt.date(2024, 6, 30), dt.date(2030, 1, 1)):
        cut, left_tables = known_tables(tables, day)
        known, left_engine = known_loaded(loaded, day)
        assert cut.events["id"].to_list() == [e.id for e in known.history.events]
        assert left_tables == left_engine
    assert known_tables(tables, dt.date(2030, 1, 1)) == (tables, 0)  # nothing to cut: the same tables


def test_s4a_tables_already_evaluated_are_cut_as_fresh_ones(gd):
    """An evaluation adds the rows it found to the tables (a repair's event by its row); a cut of
    such tables must not keep rows that name the uncut events."""
    pytest.importorskip("polars")
    from qrules.columnar import ColumnarBackend, Tables

    loaded = load_history_data(_with_recorded(history_data(120, 9), 9))
    day, as_of = dt.date(2024, 6, 30), DEFAULT_AS_OF
    used = Tables.from_history(loaded)
    ColumnarBackend(gd).evaluate(used, as_of)  # adds subject_row, of_row... to used.events
    again = ColumnarBackend(gd).evaluate(known_tables(used, day)[0], as_of)
    fresh = ColumnarBackend(gd).evaluate(known_tables(Tables.from_history(loaded), day)[0], as_of)
    assert again["rows"].sort("id").equals(fresh["rows"].sort("id"))
    assert again["events_counted"] == fresh["events_counted"]


# -- hand-computed: Art 25 and Art 26 as known at a date ----------------------------------------------

@pytest.mark.parametrize("backend", ["engine", "columnar"])
def test_art11_s4a_a_deduction_recorded_after_the_date_does_not_count(gd, tmp_path, capsys, backend):
    """e2 (第十一条第（九）项, −12) happened 2024-03-01 but was entered 2024-03-05. As of 2024-03-31,
    known at 2024-03-04: only e1 (−1) counts, p1 has 12 − 1 = 11 (B, 第二十六条); left out: e2 and the
    correction c1 (entered 2024-10-16). Known at 2024-03-05: 12 − 1 − 12 = −1 (live D); left out: c1."""
    _, rows, summary, text = _batch_rows(tmp_path, KNOWN, "2024-03-31", "2024-03-04", backend, capsys)
    assert (rows["p1"]["score"], rows["p1"]["live_class"], rows["p1"]["deductions"]) == ("11", "B", 1)
    assert (summary["events"], summary["events_not_yet_recorded"]) == (1, 2)
    assert "2 more valid events recorded after 2024-03-04: left out（2 个事件在 2024-03-04 之后才录入，未计入）" in text
    assert "as of 2024-03-31, as known at 2024-03-04" in text
    _, rows, summary, _ = _batch_rows(tmp_path, KNOWN, "2024-03-31", "2024-03-05", backend, capsys)
    assert (rows["p1"]["score"], rows["p1"]["live_class"], rows["p1"]["deductions"]) == ("-1", "D", 2)
    assert (summary["events"], summary["events_not_yet_recorded"]) == (2, 1)


@pytest.mark.parametrize("backend", ["engine", "columnar"])
def test_art25_s4a_a_correction_recorded_after_the_date_leaves_the_d_and_its_lock(gd, tmp_path, capsys, backend):
    """c1 revokes e2 (第二十五条) on 2024-10-15 but is entered 2024-10-16. Known at 2024-10-15 the
    2024-07-01 adjustment still sees −1: D, locked until 2027-07-01 (three years); known at
    2024-10-16 it sees 12 − 1 = 11: B, no lock."""
    _, rows, summary, _ = _batch_rows(tmp_path, KNOWN, AS_OF, "2024-10-15", backend, capsys)
    assert (rows["p1"]["official_class"], rows["p1"]["lock_until"]) == ("D", "2027-07-01")
    assert summary["events_not_yet_recorded"] == 1
    _, rows, summary, _ = _batch_rows(tmp_path, KNOWN, AS_OF, "2024-10-16", backend, capsys)
    assert (rows["p1"]["official_class"], rows["p1"]["lock_until"], rows["p1"]["score"]) == ("B", None, "11")
    assert summary["events_not_yet_recorded"] == 0


def test_s4a_without_as_known_at_every_event_counts_and_none_is_left_out(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["batch", str(GD), str(KNOWN), "--as-of", "2024-03-31", "-j", "1", "--summary-json", str(out)]) == 0
    text = capsys.readouterr().out
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert (summary["as_known_at"], summary["events_not_yet_recorded"], summary["events"]) == (None, 0, 3)
    assert "as known at" not in text and "left out" not in text


# -- the Python API: evaluate_batch(as_known_at=) ------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_art11_s4a_evaluate_batch_leaves_out_a_deduction_recorded_after_the_date(gd, workers):
    """e2 (第十一条第（九）项, −12) dated 2024-03-01, entered 2024-03-05. As of 2024-03-31, known at
    2024-03-04: p1 has 12 − 1 = 11 (e1 only; B, 第二十六条); known at 2024-03-05: 12 − 1 − 12 = −1,
    exactly e2's 12 points less. Left out: e2 and c1, then c1 only, counted once in the summary."""
    loaded = load_history(KNOWN)
    as_of = dt.date(2024, 3, 31)
    scores = {}
    for day, left_out in (("2024-03-04", 2), ("2024-03-05", 1)):
        subjects, _, _, summary = evaluate_all(gd, loaded, as_of, as_known_at=dt.date.fromisoformat(day),
                                               workers=workers, chunk_size=1, rows=True)
        (p1,) = [r for r in subjects if r["id"] == "p1"]
        scores[day] = (p1["score"], p1["live_class"], p1["deductions"])
        assert (summary.events, summary.events_not_yet_recorded) == (3 - left_out, left_out)
        assert summary.chunks == 1  # op1 and p1 are one component: the count is not per chunk
    assert scores == {"2024-03-04": ("11", "B", 1), "2024-03-05": ("-1", "D", 2)}


def test_s4a_evaluate_batch_counts_the_left_out_events_once_over_many_chunks(gd):
    data = _with_recorded(history_data(120, 4), 4)
    loaded = load_history_data(data)
    day = dt.date(2024, 6, 30)
    left_out = sum(1 for e in loaded.history.events if (e.recorded or e.date) > day)
    assert left_out > 0
    chunks = list(evaluate_batch(gd, loaded, DEFAULT_AS_OF, workers=2, chunk_size=5, as_known_at=day))
    assert len(chunks) > 2
    assert [c.not_yet_recorded for c in chunks].count(left_out) == 1
    assert sum(c.not_yet_recorded for c in chunks) == left_out


@pytest.mark.parametrize("seed", [2, 13])
def test_s4a_evaluate_batch_as_known_at_equals_evaluate_per_subject(gd, seed):
    """Every subject's result, every rejection and the totals, as ``engine.evaluate(as_known_at=)``
    gives them on the whole history."""
    loaded = load_history_data(_with_recorded(history_data(120, seed, bad_rate=0.02), seed))
    for day in (dt.date(2023, 6, 30), dt.date(2025, 3, 31)):
        whole = evaluate(gd, loaded.history, DEFAULT_AS_OF, invalid_subjects=loaded.invalid_subjects, as_known_at=day)
        subjects, rejected, excluded, summary = evaluate_all(gd, loaded, DEFAULT_AS_OF, as_known_at=day, workers=2,
                                                             chunk_size=7)
        assert {s.id: s.model_dump_json() for s in subjects} == {s.id: s.model_dump_json() for s in whole.subjects}
        assert sorted(r.model_dump_json() for r in rejected) == sorted(r.model_dump_json() for r in whole.rejected)
        assert len(excluded) == len(whole.excluded_subjects)
        assert (summary.events, summary.events_counted, summary.events_rejected) == \
            (whole.summary.events, whole.summary.events_counted, whole.summary.events_rejected)
        assert summary.events + summary.events_not_yet_recorded == len(loaded.history.events)
        assert 0 < summary.events_not_yet_recorded < len(loaded.history.events)


def test_s4a_evaluate_batch_with_every_event_left_out_still_counts_them(gd):
    """No subject and every event entered later: no chunk is left to evaluate, the count is kept."""
    from qrules.history import History

    history = load_history(KNOWN).history
    events_only = History.model_validate({"subjects": [], "events": [e.model_dump() for e in history.events[:1]]})
    _, _, _, summary = evaluate_all(gd, events_only, dt.date(2024, 3, 31), as_known_at=dt.date(2024, 1, 9), workers=1)
    assert (summary.subjects, summary.events, summary.events_not_yet_recorded) == (0, 0, 1)


def test_s4a_evaluate_batch_refuses_a_known_at_date_after_as_of_at_the_call(gd):
    """QR615, the same ``QrulesError`` ``engine.evaluate`` raises, before any chunk is asked for."""
    from qrules.errors import QrulesError

    loaded = load_history(KNOWN)
    as_of, later = dt.date(2024, 12, 31), dt.date(2025, 1, 1)
    with pytest.raises(QrulesError) as batch_exc:
        evaluate_batch(gd, loaded, as_of, as_known_at=later, workers=1)
    with pytest.raises(QrulesError) as engine_exc:
        evaluate(gd, loaded.history, as_of, as_known_at=later)
    assert [d.code for d in batch_exc.value.diagnostics] == ["QR615"]
    assert str(batch_exc.value.diagnostics[0]) == str(engine_exc.value.diagnostics[0])


# -- evaluate at scale, QR615 ---------------------------------------------------------------------------

def test_s4a_evaluate_at_scale_hands_as_known_at_to_batch(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert main(["evaluate", str(GD), str(KNOWN), "--as-of", AS_OF, "--as-known-at", "2024-10-15", "-j", "2",
                 "-o", str(out), "--format", "jsonl"]) == 0
    text = capsys.readouterr().out
    rows = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert rows["p1"]["official_class"] == "D"  # the correction entered 2024-10-16 is not yet known
    assert "as known at 2024-10-15" in text and "1 more valid event recorded after 2024-10-15" in text


def test_s4a_evaluate_table_counts_the_events_left_out_as_batch_does(capsys):
    assert main(["evaluate", str(GD), str(KNOWN), "--as-of", AS_OF, "--as-known-at", "2024-10-15"]) == 0
    out = capsys.readouterr().out
    assert "2 events, 2 counted" in out
    assert "1 more event recorded after 2024-10-15: left out（1 个事件在 2024-10-15 之后才录入，未计入）" in out


def test_s4a_evaluate_json_counts_the_events_left_out(capsys):
    args = ["evaluate", str(GD), str(KNOWN), "--as-of", "2024-03-31", "--format", "json"]
    assert main([*args, "--as-known-at", "2024-03-04"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["summary"]["events"], data["events_not_yet_recorded"]) == (1, 2)  # e2 and c1 entered later
    assert main(args) == 0
    assert "events_not_yet_recorded" not in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("command", [["batch", "-j", "1"], ["evaluate", "-j", "2"], ["batch", "--backend", "columnar"]])
def test_s4a_as_known_at_after_the_as_of_date_is_refused_at_scale(tmp_path, capsys, command):
    out = tmp_path / "r.csv"
    code = main([command[0], str(GD), str(KNOWN), "--as-of", AS_OF, "--as-known-at", "2025-01-01", *command[1:],
                 "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "error[QR615]" in err and "“截至录入日”不得晚于评价日" in err and "Traceback" not in err
    assert not out.exists()


# -- deadlines ----------------------------------------------------------------------------------------

DEADLINE_SUBJECTS = [
    {"id": "op1", "kind": "operator", "uscc": "91440512MA5XXXXX1R", "roles": ["producer"], "region": "440512"},
    {"id": "p1", "kind": "product", "brand": "某牌", "nice_class": 28, "producer": "op1"},
]
# d1 deduction Fri 2025-01-24, entered Mon 01-27; notify (第二十三条, 3 working days): Sun 01-26
# (adjusted working day) 1, Mon 01-27 2, 01-28..02-04 Spring Festival off, Wed 02-05 3 -> due 02-05.
# The notice n1 is dated 02-05 (met) but entered Mon 02-10.
DEADLINE_EVENTS = [
    {"id": "d1", "kind": "deduction", "item": "11.7", "date": "2025-01-24", "recorded": "2025-01-27", "subjects": ["p1"]},
    {"id": "n1", "kind": "notice_sent", "of": "d1", "date": "2025-02-05", "recorded": "2025-02-10"},
]


@pytest.fixture
def deadline_history(tmp_path) -> Path:
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"subjects": DEADLINE_SUBJECTS, "events": DEADLINE_EVENTS}), encoding="utf-8")
    return path


def _notify(path: Path, as_of: str, known: str | None, capsys) -> tuple[dict | None, dict]:
    extra = ["--as-known-at", known] if known else []
    assert main(["deadlines", str(GD), str(path), "--as-of", as_of, *extra, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    notify = [c for c in data["clocks"] if c["deadline"] == "notify"]
    return (notify[0] if notify else None), data


def test_art23_s4a_a_notice_entered_late_leaves_the_notify_clock_overdue(deadline_history, capsys):
    # By event dates the notice was in time; as known at Fri 02-07 it was not yet entered: the clock
    # is overdue by the working days in (02-05, 02-07]: Thu 02-06 and Fri 02-07, +2.
    clock, data = _notify(deadline_history, "2025-02-07", None, capsys)
    assert (clock["status"], clock["stop_event"]) == ("met", "n1")
    clock, data = _notify(deadline_history, "2025-02-07", "2025-02-07", capsys)
    assert (clock["status"], clock["stop_event"], clock["days_late"]) == ("overdue", None, 2)
    assert (data["as_known_at"], data["events_not_yet_recorded"]) == ("2025-02-07", 1)
    clock, data = _notify(deadline_history, "2025-02-10", "2025-02-10", capsys)
    assert (clock["status"], clock["stop_event"], data["events_not_yet_recorded"]) == ("met", "n1", 0)


def test_art23_s4a_a_deduction_not_yet_entered_starts_no_clock(deadline_history, capsys):
    clock, data = _notify(deadline_history, "2025-01-26", "2025-01-26", capsys)
    assert clock is None and data["events_not_yet_recorded"] == 2
    clock, _ = _notify(deadline_history, "2025-01-26", None, capsys)
    assert clock is not None and clock["status"] == "open"


def test_s4a_deadlines_table_says_what_was_left_out_and_refuses_a_later_date(deadline_history, capsys):
    assert main(["deadlines", str(GD), str(deadline_history), "--as-of", "2025-02-07", "--as-known-at",
                 "2025-02-07"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("as known at 2025-02-07（只用截至 2025-02-07 已录入的记录）")
    assert lines[-1] == "1 event recorded after 2025-02-07: left out（1 个事件在 2025-02-07 之后才录入，未计入）"
    assert main(["deadlines", str(GD), str(deadline_history), "--as-of", "2025-02-07", "--as-known-at",
                 "2025-02-08"]) == 1
    assert "error[QR615]" in capsys.readouterr().err


# -- CSV/Parquet tables with a `recorded` column ------------------------------------------------------

def _write_tables(folder: Path, data: dict, fmt: str) -> Path:
    """A history's records as subjects/events tables, events with the ``recorded`` column
    (Parquet: dates as ``date32``, the rest as text)."""
    import csv

    from qrules.tables import EVENT_INPUT_COLUMNS, SUBJECT_COLUMNS, record_to_row

    folder.mkdir(parents=True, exist_ok=True)
    for name, columns in (("subjects", SUBJECT_COLUMNS), ("events", EVENT_INPUT_COLUMNS)):
        rows = [record_to_row(r, columns) for r in data[name]]
        if fmt == "csv":
            with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, columns)
                writer.writeheader()
                writer.writerows(rows)
        else:
            pa = pytest.importorskip("pyarrow")
            import pyarrow.parquet as pq

            def column(c: str):
                cells = [str(r[c]) if r[c] != "" else None for r in rows]
                if c in ("date", "recorded") and all(v is None or len(v) == 10 for v in cells):
                    return pa.array([dt.date.fromisoformat(v) if v else None for v in cells], type=pa.date32())
                return pa.array(cells, type=pa.string())
            pq.write_table(pa.table({c: column(c) for c in columns}), folder / f"{name}.parquet")
    return folder


def _known_data() -> dict:
    import yaml

    return yaml.safe_load(KNOWN.read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_s4a_both_table_loaders_read_recorded_and_refuse_it_before_the_date(tmp_path, fmt):
    """The column-wise loader and the per-record loader agree on a ``recorded`` column: a good
    date, one before the event's date (QR513, at the row and column of ``recorded``), one that is
    no date (the models' message), one with spaces around it."""
    pytest.importorskip("polars")
    from qrules.columnar import Tables
    from qrules.history.arrowload import load_tables
    from qrules.tables import EVENT_INPUT_COLUMNS, load_columnar

    data = _known_data()
    data["events"] += [
        {"id": "e3", "kind": "deduction", "item": "11.6", "date": dt.date(2024, 5, 2), "recorded": dt.date(2024, 5, 1),
         "subjects": ["p1"]},
        {"id": "e4", "kind": "deduction", "item": "11.6", "date": dt.date(2024, 5, 2), "recorded": "2024-13-01",
         "subjects": ["p1"]},
        {"id": "e5", "kind": "deduction", "item": "11.6", "date": dt.date(2024, 5, 2), "recorded": " 2024-05-06 ",
         "subjects": ["p1"]}][: 3 if fmt == "csv" else 1]  # Parquet: date32 cells, no text to get wrong
    folder = _write_tables(tmp_path / "t", data, fmt)
    old, new = load_columnar(folder), load_tables(folder)
    key = lambda d: (d.code, d.message, d.hint, str(d.span))  # noqa: E731
    assert [key(d) for d in new.diagnostics] == [key(d) for d in old.diagnostics]
    assert new.rejected_events == old.rejected_events
    assert new.tables.events.equals(Tables.from_history(old).events)
    assert new.history == old.history
    (early,) = [d for d in new.diagnostics if d.code == "QR513"]
    column = EVENT_INPUT_COLUMNS.index("recorded") + 1
    assert early.message.startswith("e3: recorded on 2024-05-01, before its date 2024-05-02（录入日期早于事件日期）")
    row = 5 if fmt == "csv" else 4  # e3 is the 4th record: CSV line 5 (after the header), Parquet row 4
    assert str(early.span).endswith(f"events.{fmt}:{row}:{column}")
    known = {str(e.id): e.recorded for e in new.history.events}
    assert known["e2"] == dt.date(2024, 3, 5) and "e3" not in known
    if fmt == "csv":
        assert "e4" not in known and known["e5"] == dt.date(2024, 5, 6)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("backend", ["engine", "columnar"])
def test_art25_s4a_batch_on_tables_with_recorded_equals_evaluate_on_yaml(gd, tmp_path, capsys, fmt, backend):
    folder = _write_tables(tmp_path / "t", _known_data(), fmt)
    for known in ("2024-03-04", "2024-10-15", "2024-10-16"):
        expected, result = _expected_rows(gd, KNOWN, AS_OF, known)
        code, rows, summary, _ = _batch_rows(tmp_path, folder, AS_OF, known, backend, capsys, "-j", "1")
        assert code == 0 and rows == expected, (fmt, backend, known)
        assert summary["events_not_yet_recorded"] == {"2024-03-04": 2, "2024-10-15": 1, "2024-10-16": 0}[known]
    assert rows["p1"]["official_class"] == "B"  # 2024-10-16: the correction is known (第二十五条)


def test_s4a_batch_on_a_generated_csv_corpus_with_recorded_equals_evaluate(gd, tmp_path, capsys):
    pytest.importorskip("polars")
    data = _with_recorded(history_data(150, 7, bad_rate=0.02), 7)
    path = tmp_path / "h.json"
    path.write_text(_jsonable(data), encoding="utf-8")
    folder = _write_tables(tmp_path / "t", data, "csv")
    as_of, known = DEFAULT_AS_OF.isoformat(), "2024-06-30"
    expected, result = _expected_rows(gd, path, as_of, known)
    for backend in ("engine", "columnar"):
        _, rows, summary, _ = _batch_rows(tmp_path, folder, as_of, known, backend, capsys, "-j", "1")
        assert rows == expected, backend
        assert summary["events"] == result.summary.events and summary["events_not_yet_recorded"] > 0


def test_art23_s4a_compute_deadlines_takes_as_known_at_and_refuses_a_later_one(gd):
    """The Python API of docs/deadlines.md: the same cut as the command, QR615 as a QrulesError."""
    from qrules.deadlines import compute_deadlines
    from qrules.errors import QrulesError

    loaded = load_history_data({"subjects": DEADLINE_SUBJECTS, "events": DEADLINE_EVENTS})
    (notify,) = [c for c in compute_deadlines(gd, loaded, dt.date(2025, 2, 7), as_known_at=dt.date(2025, 2, 7))
                 if c.deadline == "notify"]
    assert (notify.status, notify.due, notify.days_late) == ("overdue", dt.date(2025, 2, 5), 2)
    with pytest.raises(QrulesError) as exc:
        compute_deadlines(gd, loaded, dt.date(2025, 2, 7), as_known_at=dt.date(2025, 2, 8))
    assert exc.value.diagnostics[0].code == "QR615"
