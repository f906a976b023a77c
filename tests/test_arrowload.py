"""The columnar loader (qrules.history.arrowload) against the per-record loader (the reference).

For every table — seeded synthetic corpora with bad records, the bad-input corpus written as
tables, and hand-made tables that break each check — both loaders must give the same
diagnostics (code, message, hint, ``file:row:col``, severity, in the same order), the same
rejected records, the same refused subjects (in the same order), the same
:class:`qrules.columnar.Tables` (polars ``frame.equals``) and the same history records.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

pytest.importorskip("polars")
pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qrules.columnar import Tables  # noqa: E402
from qrules.history import uscc_check_character  # noqa: E402
from qrules.history.arrowload import load_tables  # noqa: E402
from qrules.synth import write_corpus  # noqa: E402
from qrules.tables import EVENT_COLUMNS, SUBJECT_COLUMNS, load_columnar, record_to_row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _key(d) -> tuple:
    return d.code, d.message, d.hint, str(d.span), d.severity


def assert_same(path: Path, reference=load_columnar) -> None:
    """Both loaders agree on everything they report and keep (``reference``: the per-record
    loader for that input; ``tests/test_arrowjsonl.py`` gives ``load_history``)."""
    old = reference(path)
    new = load_tables(path)
    assert [_key(d) for d in new.diagnostics] == [_key(d) for d in old.diagnostics]
    assert new.rejected_events == old.rejected_events
    assert list(new.invalid_subjects.items()) == list(old.invalid_subjects.items())
    want = Tables.from_history(old)
    assert new.tables.subjects.equals(want.subjects)
    assert new.tables.events.equals(want.events)
    assert new.tables.invalid.equals(want.invalid)
    assert new.history == old.history
    assert [s.span for s in new.history.subjects] == [s.span for s in old.history.subjects]
    assert [e.span for e in new.history.events] == [e.span for e in old.history.events]


def _uscc(n: int, first: str = "91") -> str:
    body = f"{first}440512{n:09d}"
    return body + uscc_check_character(body)


def write_tables(folder: Path, subjects: list, events: list, fmt: str) -> Path:
    """Rows (dicts of cells, or raw CSV lines as str) as subjects/events tables."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows, columns in (("subjects", subjects, SUBJECT_COLUMNS), ("events", events, EVENT_COLUMNS)):
        if fmt == "csv":
            with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(columns)
                for row in rows:
                    if isinstance(row, str):
                        fh.write(row)
                    else:
                        w.writerow([row.get(c, "") for c in columns])
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table({c: pa.array([r.get(c) for r in rows], type=_arrow_type(c, rows)) for c in columns})
            pq.write_table(table, folder / f"{name}.parquet")
    return folder


def _arrow_type(column: str, rows: list):
    import pyarrow as pa

    values = [r.get(column) for r in rows if r.get(column) is not None]
    if values and all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if values and all(isinstance(v, dt.date) for v in values):
        return pa.date32()
    if values and all(isinstance(v, list) for v in values):
        return pa.list_(pa.string())
    if values and all(isinstance(v, str) for v in values) or not values:
        return pa.string()
    return None


# ---- seeded synthetic corpora ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("seed", [1, 7, 23])
def test_synthetic_corpora_load_the_same(tmp_path: Path, fmt: str, seed: int) -> None:
    write_corpus(tmp_path / "c", 400, seed=seed, fmt=fmt, bad_rate=0.2)
    assert_same(tmp_path / "c")


# ---- the bad-input corpus, written as tables -------------------------------------------------


@pytest.mark.parametrize("name", ["corrections-cycle.json", "duplicate-ids-mixed-kinds.json", "self-reference.json",
                                  "date-year-3.json", "control-characters.json"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_bad_input_corpus_as_tables(tmp_path: Path, name: str, fmt: str) -> None:
    data = json.loads((ROOT / "tests/data/bad/histories" / name).read_text(encoding="utf-8"))
    subjects = [record_to_row(r, SUBJECT_COLUMNS) for r in data.get("subjects", []) if isinstance(r, dict)]
    events = [record_to_row(r, EVENT_COLUMNS) for r in data.get("events", []) if isinstance(r, dict)]
    if fmt == "parquet":  # text cells only: the models decide what they mean
        subjects = [{k: (v if v != "" else None) for k, v in r.items()} for r in subjects]
        events = [{k: (v if v != "" else None) for k, v in r.items()} for r in events]
    assert_same(write_tables(tmp_path / "t", subjects, events, fmt))


# ---- one table per check ---------------------------------------------------------------------

OP = {"id": "o1", "kind": "operator", "uscc": _uscc(1), "roles": "producer", "region": "440512"}
OP2 = {"id": "o2", "kind": "operator", "uscc": _uscc(2), "roles": "seller"}
PR = {"id": "p1", "kind": "product", "brand": "牌", "nice_class": "28", "producer": "o1"}
DED = {"id": "d1", "kind": "deduction", "date": "2024-03-01", "item": "11.1", "subjects": "o1"}

SUBJECT_CASES = {
    "unknown kind": {"kind": "operater"},
    "event kind": {"kind": "deduction"},
    "no kind": {"kind": ""},
    "no id": {"id": ""},
    "blank id": {"id": "  "},
    "id with a file separator": {"id": "\x1c"},
    "wrong check character": {"uscc": _uscc(3)[:-1] + ("0" if _uscc(3)[-1] != "0" else "1")},
    "lower-case code": {"uscc": _uscc(4).lower()},
    "code with spaces": {"uscc": " " + _uscc(5)[:6] + "-" + _uscc(5)[6:] + " "},
    "code with O": {"uscc": "91440512O00000000X"},
    "short code": {"uscc": "914405"},
    "letters in the division": {"uscc": "9144A512000000000X"},
    "unknown authority": {"uscc": _uscc(6, first="B1")},
    "letter authority": {"uscc": _uscc(7, first="N2")},
    "bad region": {"region": "44051"},
    "full-width region": {"region": "４４０５１２"},
    "bad role": {"roles": "maker"},
    "empty roles": {"roles": ";"},
    "roles twice": {"roles": "producer; producer"},
    "operator with a brand": {"brand": "牌"},
    "no uscc": {"uscc": ""},
}
PRODUCT_CASES = {
    "Nice 40": {"nice_class": "40"},
    "Nice 0": {"nice_class": "0"},
    "Nice 99": {"nice_class": "99"},
    "Nice with spaces": {"nice_class": " 7 "},
    "Nice text": {"nice_class": "seven"},
    "blank brand": {"brand": " "},
    "no producer": {"producer": ""},
    "product with a code": {"uscc": _uscc(7)},
    "product with roles": {"roles": "seller"},
    "unknown producer": {"producer": "o9"},
    "producer is a product": {"producer": "p0"},
    "producer without the role": {"producer": "o2"},
    "producer refused": {"producer": "o3"},
}
EVENT_CASES = {
    "unknown kind": {"kind": "deductoin"},
    "subject kind": {"kind": "operator"},
    "no date": {"date": ""},
    "no such day": {"date": "2023-02-30"},
    "before 1900": {"date": "1899-12-31"},
    "after 2199": {"date": "2200-01-01"},
    "spaced date": {"date": " 2023-01-01 "},
    "slashed date": {"date": "2023/01/01"},
    "short date": {"date": "2023-1-1"},
    "TRUE": {"intentional": "TRUE"},
    "spaced false": {"intentional": " false "},
    "yes": {"intentional": "yes"},
    "no item": {"item": ""},
    "no subjects": {"subjects": ";"},
    "subject twice": {"subjects": "o1;o1"},
    "unknown subject": {"subjects": "o1;o8"},
    "refused subject": {"subjects": "o3"},
    "field of another kind": {"rule": "16"},
    "line": {"line_model": "X-1", "line_standard": "GB 1"},
    "blank line model": {"line_model": " "},
    "file separator in subjects": {"subjects": "o1;\x1co2"},
}
OTHER_EVENTS = [
    {"id": "r1", "kind": "repair", "date": "2024-04-01", "of": "d1", "rectified": "true", "subjects": ";"},
    {"id": "r2", "kind": "repair", "date": "2024-04-01", "of": "w1"},
    {"id": "r3", "kind": "repair", "date": "2024-04-01", "of": "r3"},
    {"id": "r4", "kind": "repair", "date": "2024-04-01", "of": "zz"},
    {"id": "w1", "kind": "reward", "date": "2024-04-01", "rule": "16", "subject": "o1", "notice_date": "2024-01-01"},
    {"id": "w2", "kind": "reward", "date": "2024-04-01", "rule": "", "subject": "o1"},
    {"id": "s1", "kind": "spot_check", "date": "2024-04-01", "subject": "o1", "result": "fail"},
    {"id": "s2", "kind": "spot_check", "date": "2024-04-01", "subject": "p1", "result": "maybe"},
    {"id": "s3", "kind": "spot_check", "date": "2024-04-01", "subject": "p1", "result": "pass", "line_model": "M"},
    {"id": "f1", "kind": "filing", "date": "2024-04-01", "subject": "p1"},
    {"id": "f2", "kind": "filing", "date": "2024-04-01", "subject": "o1", "concealed": "False"},
    {"id": "c1", "kind": "correction", "date": "2024-05-01", "of": "d1", "action": "amend", "changes_item": "11.2"},
    {"id": "c2", "kind": "correction", "date": "2024-05-01", "of": "d1", "action": "amend"},
    {"id": "c3", "kind": "correction", "date": "2024-05-01", "of": "d1", "action": "revoke", "changes_item": "1"},
    {"id": "c4", "kind": "correction", "date": "2024-01-01", "of": "d1", "action": "revoke"},
    {"id": "c5", "kind": "correction", "date": "2024-05-01", "of": "w1", "action": "amend",
     "changes_item": "1", "changes_subjects": "o1;o9"},
    {"id": "c6", "kind": "correction", "date": "2024-05-01", "of": "c7", "action": "revoke"},
    {"id": "c7", "kind": "correction", "date": "2024-05-01", "of": "c6", "action": "revoke"},
    {"id": "c8", "kind": "correction", "date": "2024-05-01", "of": "c6", "action": "revoke"},
    {"id": "c9", "kind": "correction", "date": "2024-05-01", "of": "d1", "action": "amend", "changes_subjects": ";"},
    {"id": "c10", "kind": "correction", "date": "2024-05-01", "of": "d1", "action": "amend",
     "changes_intentional": "true", "changes_line_model": "M2", "changes_date": "2024-02-01"},
    {"id": "n1", "kind": "notice_sent", "date": "2024-03-02", "of": "d1"},
    {"id": "n2", "kind": "objection_accepted", "date": "2024-03-02", "of": "d1"},
    {"id": "n3", "kind": "objection_filed", "date": "2024-03-02", "of": "n1"},
    {"id": "n4", "kind": "repair_applied", "date": "2024-03-02", "of": "dup"},
    {"id": "dup", "kind": "deduction", "date": "2024-03-01", "item": "11.1", "subjects": "o1"},
    {"id": "dup", "kind": "deduction", "date": "2024-03-01", "item": "11.1", "subjects": "o1"},
    {"id": "bad1", "kind": "deduction", "date": "2024-13-01", "item": "11.1", "subjects": "o1"},
    {"id": "n5", "kind": "notice_sent", "date": "2024-03-02", "of": "bad1"},
    {"id": "", "kind": "filing", "date": "2024-03-02", "subject": "o1"},
]


def _cases() -> tuple[list, list]:
    subjects = [OP, OP2, {"id": "o3", "kind": "operator", "uscc": "bad"}, dict(PR, id="p0", brand="零")]
    subjects += [{**OP, "id": f"so{i}", "uscc": _uscc(100 + i), **change} for i, change in enumerate(SUBJECT_CASES.values())]
    subjects += [{**PR, "id": f"sp{i}", "brand": f"牌{i}", **change} for i, change in enumerate(PRODUCT_CASES.values())]
    subjects += [PR, dict(PR, id="p2"), dict(OP2, id="o4"), dict(OP2, id="o2b"), dict(OP, id="o1")]
    events = [DED] + [{**DED, "id": f"e{i}", **change} for i, change in enumerate(EVENT_CASES.values())]
    return subjects, events + OTHER_EVENTS


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_check_reports_as_the_record_loader(tmp_path: Path, fmt: str) -> None:
    subjects, events = _cases()
    assert_same(write_tables(tmp_path / "t", subjects, events, fmt))


def test_csv_rows_that_are_not_records(tmp_path: Path) -> None:
    """Quotes, a line break in a cell, a row with too many cells, blank lines: the csv module's rules."""
    subjects, events = _cases()
    events = events[:5] + ['x1,deduction,2024-03-01,11.1,o1' + "," * 30 + 'extra\r\n', '\r\n', '   \r\n',
                           'q1,filing,2024-03-01,,,o1,,,,,,,,,,,,,,,,"multi\nline",,,,,,,,,\r\n', 'short,filing\r\n'] + events[5:]
    assert_same(write_tables(tmp_path / "t", subjects, events, "csv"))


def test_parquet_types_the_models_decide(tmp_path: Path) -> None:
    """Ids as numbers, dates as text or beyond year 9999, booleans and lists as Parquet types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "t"
    write_tables(folder, [OP, dict(OP2, id="o2")], [], "parquet")
    events = pa.table({
        "id": pa.array([1, 2, 3, 4, 5], type=pa.int64()),
        "kind": ["deduction", "deduction", "filing", "deduction", "deduction"],
        "date": pa.array([dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(1850, 1, 1), None,
                          dt.date(2024, 1, 3)], type=pa.date32()),
        "item": ["11.1", "11.1", None, "11.1", "11.1"],
        "subjects": pa.array([["o1"], ["o1", "o2"], None, ["o1"], []], type=pa.list_(pa.string())),
        "subject": [None, None, "o2", None, None],
        "intentional": pa.array([True, None, None, False, None], type=pa.bool_()),
    })
    pq.write_table(events, folder / "events.parquet")
    assert_same(folder)
    far = pa.table({"id": ["x"], "kind": ["filing"], "subject": ["o1"],
                    "date": pa.array([3_000_000], type=pa.int32()).cast(pa.date32())})
    pq.write_table(far, folder / "events.parquet")
    assert_same(folder)


# ---- any mix of good and bad cells ------------------------------------------------------------

_CELLS = {
    "id": ["e1", "e2", "e3", "", " ", "o1"],
    "kind": ["deduction", "repair", "reward", "filing", "correction", "notice_sent", "spot_check", "bogus"],
    "date": ["2024-01-01", "2024-06-30", "2023-02-29", "", "1800-01-01", " 2024-02-02"],
    "item": ["11.1", "", " "],
    "subjects": ["o1", "o1;p1", "o1;o1", ";", "", "o9"],
    "subject": ["o1", "p1", "", "o9", "o3"],
    "of": ["e1", "e2", "e3", "", "x"],
    "intentional": ["", "true", "False", "nope"],
    "rule": ["", "16", "17.1"],
    "result": ["", "pass", "fail", "meh"],
    "action": ["", "revoke", "amend"],
    "changes_item": ["", "11.2"],
    "changes_subjects": ["", "o1", ";"],
}
_ROW = st.fixed_dictionaries({c: st.sampled_from(v) for c, v in _CELLS.items()})


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(_ROW, max_size=12), fmt=st.sampled_from(["csv", "parquet"]))
def test_any_event_table_loads_the_same(tmp_path_factory: pytest.TempPathFactory, rows: list, fmt: str) -> None:
    folder = tmp_path_factory.mktemp("h")
    subjects = [OP, OP2, {"id": "o3", "kind": "operator", "uscc": "bad"}, PR]
    if fmt == "parquet":
        rows = [{k: (v if v != "" else None) for k, v in r.items()} for r in rows]
    assert_same(write_tables(folder, subjects, rows, fmt))


# ---- qrules batch: results written from the columnar backend's frames ------------------------


def _corpus(name: str) -> dict:
    """Operators only, or a synthetic corpus with products (without corrections: the columnar
    backend must take it)."""
    if name == "operators":
        from test_columnar import GD_ITEMS, operator_corpus

        return operator_corpus(300, 5, GD_ITEMS, ["17.2", "17.3"])
    from qrules.synth import history_data

    data = history_data(300, seed=4, bad_rate=0.1)
    data["events"] = [e for e in data["events"] if e["kind"] != "correction"]
    return data


@pytest.mark.parametrize("corpus", ["operators", "synthetic"])
@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_batch_writes_the_frames_as_the_row_writer(tmp_path: Path, fmt: str, corpus: str) -> None:
    """`qrules batch` on tables the columnar backend takes: the result file and the rejections
    CSV are those the row-by-row path writes from the same results."""
    from qrules.batch import Writer as _Writer
    from qrules.cli import main
    from qrules.columnar import ColumnarBackend
    from qrules.output import CsvWriter
    from qrules.versioned import load

    data = _corpus(corpus)
    data["subjects"][4]["name"] = "=cmd|' /C calc'!A0"  # a formula, kept as text in CSV output
    data["subjects"][5]["name"] = '-2+3, "quoted"'
    subjects = [record_to_row(r, SUBJECT_COLUMNS) for r in data["subjects"]]
    events = [record_to_row(r, EVENT_COLUMNS) for r in data["events"]]
    corpus = write_tables(tmp_path / "in", subjects, events, "csv")
    out, rej = tmp_path / f"out.{fmt}", tmp_path / "rej.csv"
    code = main(["batch", "guangdong-2021", str(corpus), "--as-of", "2025-12-31", "-o", str(out),
                 "--rejections", str(rej), "--no-progress"])
    assert code == 1  # the corpus holds refused records

    loaded = load_columnar(corpus)
    chunk = ColumnarBackend(load("guangdong-2021")).chunk(loaded, dt.date(2025, 12, 31))
    expected = _Writer(str(tmp_path / f"want.{fmt}"))
    expected.write(chunk.subjects)
    expected.close()
    expected.commit()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(out).equals(pq.read_table(tmp_path / f"want.{fmt}"))
    else:
        assert out.read_bytes() == (tmp_path / f"want.{fmt}").read_bytes()
    with open(tmp_path / "want-rej.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = CsvWriter(fh)
        w.writerow(["event", "kind", "subject", "code", "reason", "cite", "stage"])
        for r in loaded.rejected_events:
            w.writerow([r.id, r.kind or "", "", r.code, r.reason, "", "input"])
        w.writerows([r.event, r.kind, r.subject or "", r.code, r.reason, r.cite or "", "engine"] for r in chunk.rejected)
    assert rej.read_bytes() == (tmp_path / "want-rej.csv").read_bytes()
    assert b"QR603" in rej.read_bytes() and b",engine\r\n" in rej.read_bytes()
    if fmt == "csv":
        assert b"'=cmd" in out.read_bytes() and b'"\'-2+3, ""quoted"""' in out.read_bytes()


@given(st.lists(st.tuples(st.one_of(st.none(), st.text()), st.one_of(st.none(), st.booleans()),
                          st.one_of(st.none(), st.integers(-10**6, 10**6))), min_size=1, max_size=20))
def test_csv_text_is_what_csv_writer_writes(rows: list) -> None:
    """Any text (formulas, quotes, line breaks), booleans, numbers and nulls: the same bytes."""
    import io

    import polars as pl

    from qrules.output import CsvWriter, csv_text

    frame = pl.DataFrame(rows, schema={"a": pl.Utf8, "b": pl.Boolean, "c": pl.Int64}, orient="row")
    buf = io.StringIO()
    CsvWriter(buf).writerows([("true" if v is True else "false" if v is False else v) for v in r] for r in rows)
    assert csv_text(frame) == buf.getvalue()


@given(st.lists(st.tuples(st.one_of(st.none(), st.text()), st.one_of(st.none(), st.booleans()),
                          st.one_of(st.none(), st.integers(-10**18, 10**18))), min_size=1, max_size=20))
def test_jsonl_text_is_what_json_dumps_writes(rows: list) -> None:
    """Any text (quotes, backslashes, control characters, Chinese, beyond the BMP), booleans,
    integers and nulls: the same text as ``json.dumps(row, ensure_ascii=False)`` per row."""
    import json

    import polars as pl

    from qrules.output import jsonl_text

    frame = pl.DataFrame(rows, schema={"a": pl.Utf8, "b": pl.Boolean, "c": pl.Int64}, orient="row")
    expected = "".join(json.dumps({"a": a, "b": b, "c": c}, ensure_ascii=False) + "\n" for a, b, c in rows)
    assert jsonl_text(frame) == expected


def test_jsonl_text_writes_categories_as_text_and_leaves_floats_to_json_dumps(tmp_path: Path) -> None:
    """A categorical column is text; a float is not written by polars as ``json.dumps`` writes it
    (``1e+20``), so a frame holding one is written through the rows' dicts, with the same bytes."""
    import json

    import polars as pl

    from qrules.batch import Writer as _Writer
    from qrules.output import jsonl_text

    cats = pl.DataFrame({"c": ["甲", None, 'a"b']}, schema={"c": pl.Categorical})
    assert jsonl_text(cats) == '{"c": "甲"}\n{"c": null}\n{"c": "a\\"b"}\n'
    assert jsonl_text(pl.DataFrame({"x": [1e20, 0.5, None]})) is None
    from qrules.tables import OUTPUT_COLUMNS

    floats = pl.DataFrame({c: [1e20, 0.5, None] if c == "checks_per_year" else ["x", None, "y"]
                           for c in OUTPUT_COLUMNS})
    w = _Writer(str(tmp_path / "f.jsonl"))
    w.write(floats)
    w.close()
    w.commit()
    want = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in floats.to_dicts())
    assert (tmp_path / "f.jsonl").read_text(encoding="utf-8") == want and '"checks_per_year": 1e+20' in want
    assert w.count == 3


def test_batch_jsonl_of_a_result_frame_is_the_row_paths_bytes(tmp_path: Path) -> None:
    """The columnar backend's frame of OUTPUT_COLUMNS written as JSON Lines column by column: byte
    for byte what the row path writes from the same rows' dicts (key order, ``": "`` and ``", "``,
    null, true/false, integers, Chinese as it is, quotes and backslashes escaped)."""
    import polars as pl

    from qrules.batch import Writer as _Writer
    from qrules.tables import OUTPUT_COLUMNS

    ints = {"checks_per_year", "entries_counted", "deductions"}
    schema = {c: pl.Boolean if c == "scored" else pl.Int64 if c in ints else pl.Utf8 for c in OUTPUT_COLUMNS}
    base = {c: None for c in OUTPUT_COLUMNS}
    rows = [
        {**base, "id": "p1", "kind": "product", "name": '甲牌"积木"\\二号', "scored": True, "score": "-1.5",
         "live_class": "D", "official_class": "D", "lock_class": "D", "lock_since": "2024-07-01",
         "lock_until": "2027-07-01", "determined_by": "score", "supervision": "重点监管", "notice": "约谈",
         "checks_per_year": 4, "entries_counted": 2, "deductions": 2, "flags": "locked;repaired"},
        {**base, "id": "op1", "kind": "operator", "scored": False, "entries_counted": 0, "deductions": 0,
         "flags": ""},  # name, classes, lock, measures: null
        {**base, "id": "s\t1", "kind": "seller", "name": "乙\n商行\t(tab)", "scored": None, "score": "12",
         "entries_counted": -3, "deductions": 10**12, "flags": "a\x01b"},
    ]
    frame = pl.DataFrame(rows, schema=schema)
    by_rows, by_frame = _Writer(str(tmp_path / "rows.jsonl")), _Writer(str(tmp_path / "frame.jsonl"))
    by_rows.write(frame.to_dicts())
    by_frame.write(frame)
    for w in (by_rows, by_frame):
        w.close()
        w.commit()
    want = (tmp_path / "rows.jsonl").read_bytes()
    assert (tmp_path / "frame.jsonl").read_bytes() == want
    assert by_frame.count == by_rows.count == 3
    lines = want.decode("utf-8").splitlines()
    assert lines[0].startswith('{"id": "p1", "kind": "product", "name": "甲牌\\"积木\\"\\\\二号", "scored": true, ')
    assert lines[1].endswith('"checks_per_year": null, "entries_counted": 0, "deductions": 0, "flags": ""}')
    assert '"name": "乙\\n商行\\t(tab)", "scored": null' in lines[2] and '"flags": "a\\u0001b"}' in lines[2]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("missing", ["subjects", "events"])
def test_one_table_alone(tmp_path: Path, fmt: str, missing: str) -> None:
    """A corpus without events (or without subjects): the other table alone, as the record loader reads it."""
    subjects, events = _cases()
    folder = write_tables(tmp_path / "t", subjects, events, fmt)
    (folder / f"{missing}.{fmt}").unlink()
    assert_same(folder)
    assert_same(folder / f"{'events' if missing == 'subjects' else 'subjects'}.{fmt}")


_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@given(st.lists(st.one_of(st.text(_ALPHABET, min_size=17, max_size=17).map(lambda b: b + uscc_check_character(b)),
                          st.text(_ALPHABET + "IOSZ- a", max_size=20)), max_size=30))
def test_vectorised_uscc_check_agrees_with_check_uscc(codes: list[str]) -> None:
    """GB 32100: the byte-matrix check character accepts a code exactly when check_uscc does
    (for codes already compact: the others go to the models)."""
    import polars as pl

    from qrules.history.arrowcheck import uscc_valid
    from qrules.history.models import check_uscc

    got = uscc_valid(pl.Series(codes, dtype=pl.Utf8)).to_list()
    want = [check_uscc(c)[1] is None and check_uscc(c)[0] == c for c in codes]
    assert got == want


@pytest.mark.parametrize("case", ["not utf-8", "unknown column", "no kind column", "not parquet", "no tables"])
def test_a_file_that_cannot_be_read_is_refused_as_before(tmp_path: Path, case: str) -> None:
    """Whole-file problems (QR001/QR507) are the per-record loader's own words."""
    from qrules.errors import QrulesError

    folder = tmp_path / "t"
    folder.mkdir()
    if case == "not utf-8":
        (folder / "subjects.csv").write_bytes("id,kind,name\no1,operator,caf\xe9\n".encode("latin-1"))
    elif case == "unknown column":
        (folder / "subjects.csv").write_text("id,kind,nmae\no1,operator,x\n", encoding="utf-8")
    elif case == "no kind column":
        (folder / "events.csv").write_text("id,date\ne1,2024-01-01\n", encoding="utf-8")
    elif case == "not parquet":
        (folder / "subjects.parquet").write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(QrulesError) as old:
        load_columnar(folder)
    with pytest.raises(QrulesError) as new:
        load_tables(folder)
    assert [_key(d) for d in new.value.diagnostics] == [_key(d) for d in old.value.diagnostics]
