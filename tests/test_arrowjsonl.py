"""JSON Lines through the columnar loader (qrules.history.arrowjsonl) against the per-record loader.

The per-record loader (``load_history``) is the reference. For every file — seeded synthetic
corpora with bad records, the bad-input corpus as JSON Lines, lines that break each check of a
record and across records, and random records — both must give the same diagnostics (code,
message, hint, ``file:line:col``, severity, in the same order), the same rejected records and
refused subjects, the same tables and the same history records with their spans.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("polars")
pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qrules.cli import main  # noqa: E402
from qrules.history.arrowload import load_tables  # noqa: E402
from qrules.history.load import load_history  # noqa: E402
from qrules.synth import write_corpus  # noqa: E402
from test_arrowload import _key, _uscc  # noqa: E402
from test_arrowload import assert_same as _assert_same  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def assert_same(path: Path) -> None:
    """Both loaders agree on everything they report and keep: the per-record loader of JSON
    Lines (``load_history``) and the columnar one."""
    _assert_same(path, reference=load_history)


def write_lines(path: Path, lines: list, newline: str = "\n", bom: bool = False) -> Path:
    """Records (dicts, written with json.dumps) or raw lines (str) as a JSON Lines file."""
    text = newline.join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (text + newline).encode("utf-8", "surrogatepass"))
    return path


OP = {"record": "subject", "id": "o1", "kind": "operator", "uscc": _uscc(1), "roles": ["producer"], "region": "440512"}
OP2 = {"record": "subject", "id": "o2", "kind": "operator", "uscc": _uscc(2), "roles": ["seller"]}
PR = {"record": "subject", "id": "p1", "kind": "product", "brand": "牌", "nice_class": 28, "producer": "o1"}
DED = {"record": "event", "id": "d1", "kind": "deduction", "date": "2024-03-01", "item": "11.1", "subjects": ["p1"],
       "line": {"model": "M-1", "standard": "GB 1"}}
REP = {"record": "event", "id": "r1", "kind": "repair", "date": "2024-05-01", "of": "d1", "rectified": True}
COR = {"record": "event", "id": "c1", "kind": "correction", "date": "2024-06-01", "of": "d1", "action": "amend",
       "changes": {"item": "11.2", "line": {"model": "M-2"}}}
BASE = [OP, OP2, PR, DED, REP, COR]


# ---- seeded synthetic corpora and the bad-input corpus ---------------------------------------


@pytest.mark.parametrize("seed", [1, 7, 23])
def test_synthetic_corpora_load_the_same(tmp_path: Path, seed: int) -> None:
    write_corpus(tmp_path / "c.jsonl", 400, seed=seed, fmt="jsonl", bad_rate=0.2)
    assert_same(tmp_path / "c.jsonl")


BAD = ROOT / "tests/data/bad/histories"


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.json")))
def test_bad_input_corpus_as_json_lines(tmp_path: Path, name: str) -> None:
    try:
        data = json.loads((BAD / name).read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        pytest.skip("not a JSON document: nothing to write as lines")
    if not isinstance(data, dict):
        pytest.skip("not a history mapping")
    lines = [{"record": "subject", **r} if isinstance(r, dict) else r for r in data.get("subjects") or []]
    lines += [{"record": "event", **r} if isinstance(r, dict) else r for r in data.get("events") or []]
    if not lines:
        pytest.skip("no records")
    assert_same(write_lines(tmp_path / "h.jsonl", [x if isinstance(x, dict) else json.dumps(x) for x in lines]))


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.jsonl")))
def test_bad_json_lines_files_are_refused_the_same(name: str) -> None:
    """A file the reader cannot take (not UTF-8, NaN, a BOM): the per-record loader's answer."""
    from qrules.errors import QrulesError

    try:
        old = load_history(BAD / name)
    except QrulesError as exc:
        with pytest.raises(QrulesError) as new:
            load_tables(BAD / name)
        assert [_key(d) for d in new.value.diagnostics] == [_key(d) for d in exc.diagnostics]
        return
    assert old is not None
    assert_same(BAD / name)


# ---- lines the reader leaves to the per-record loader ----------------------------------------

ODD_LINES = {
    "blank and spaces": ["", "   ", "\t"],
    "not JSON": ['{"record": "event", "id": "x1"'],
    "trailing text": ['{"record": "event", "id": "x1", "kind": "filing"} tail'],
    "not an object": ["[1, 2]", '"text"', "7"],
    "NaN": ['{"record": "subject", "id": "o5", "kind": "operator", "uscc": "x", "nice_class": NaN}'],
    "no record, a subject": ['{"id": "o6", "kind": "operator", "uscc": "' + _uscc(6) + '"}'],
    "no record, an event": ['{"id": "x2", "kind": "filing", "subject": "o1", "date": "2024-01-01"}'],
    "unknown record": ['{"record": "subjet", "id": "o7", "kind": "operator", "uscc": "' + _uscc(7) + '"}'],
    "a key twice": ['{"record": "event", "id": "f1", "kind": "filing", "subject": "o1", "date": "2024-01-01", '
                    '"date": "2024-02-01"}'],
    "a nested key twice": ['{"record": "event", "id": "d5", "kind": "deduction", "date": "2024-03-01", "item": "11.1", '
                           '"subjects": ["p1"], "line": {"model": "A", "model": "B"}}'],
    "a key twice, spaced": ['{"record": "event", "id": "f2", "kind": "filing", "subject": "o1", "date": "2024-01-01", '
                            '"date" : "2024-02-01"}'],
    "a colon in a value": ['{"record": "subject", "id": "o8", "kind": "operator", "uscc": "' + _uscc(8) + '", '
                           '"name": "甲: 乙", "note": "10:30"}'],
    "escapes": ['{"record": "subject", "id": "o9", "kind": "operator", "uscc": "' + _uscc(9) + '", '
                '"name": "\\u5408\\u6210 \\"q\\" \\\\"}'],
    "a lone surrogate": ['{"record": "subject", "id": "o10", "kind": "operator", "uscc": "' + _uscc(10) + '", '
                         '"name": "\\ud800"}'],
    "null": [{"record": "subject", "id": "o11", "kind": "operator", "uscc": _uscc(11), "region": None}],
    "empty text": [{"record": "subject", "id": "o12", "kind": "operator", "uscc": _uscc(12), "name": ""}],
    "empty list": [{"record": "event", "id": "d6", "kind": "deduction", "date": "2024-03-01", "item": "11.1",
                    "subjects": []}],
    "id as a number": [{"record": "event", "id": 17, "kind": "filing", "subject": "o1", "date": "2024-01-01"}],
    "boolean as text": [{**REP, "id": "r7", "rectified": "true"}],
    "Nice class as text": [{**PR, "id": "p7", "brand": "牌7", "nice_class": "28"}],
    "Nice class as a decimal": [{**PR, "id": "p8", "brand": "牌8", "nice_class": 28.0}],
    "Nice class huge": [{**PR, "id": "p9", "brand": "牌9", "nice_class": 10 ** 30}],
    "Nice class true": [{**PR, "id": "p10", "brand": "牌10", "nice_class": True}],
    "unknown field": [{**OP2, "id": "o13", "uscc": _uscc(13), "colour": "red"}],
    "flattened name as a field": [{**DED, "id": "d7", "line_model": "X"}],
    "empty line": [{**DED, "id": "d8", "line": {}}],
    "line of another shape": [{**DED, "id": "d9", "line": {"model": 5}}, {**DED, "id": "d10", "line": ["M"]}],
    "changes of another shape": [{**COR, "id": "c2", "changes": {"colour": "red"}},
                                 {**COR, "id": "c3", "changes": {}}, {**COR, "id": "c4", "changes": {"line": {}}},
                                 {**COR, "id": "c6", "changes": {"item": None}},
                                 {**COR, "id": "c7", "changes": {"line": {"model": None}}}],
    "revoke": [{"record": "event", "id": "c5", "kind": "correction", "date": "2024-06-02", "of": "r1",
                "action": "revoke"}],
    "span as a field": [{**OP2, "id": "o14", "uscc": _uscc(14), "span": "x"}],
    "a field of another kind": [{**REP, "id": "r8", "rule": "16"}],
    "subjects in a list twice": [{**DED, "id": "d11", "subjects": ["p1", "p1"]}],
}

CROSS_LINES = {
    "duplicate subject ids": [{**OP2, "uscc": _uscc(20)}],
    "duplicate event ids, mixed kinds": [{"record": "event", "id": "d1", "kind": "filing", "subject": "o1",
                                          "date": "2024-01-01"}],
    "same credit code": [{**OP2, "id": "o21"}],
    "same brand and class": [{**PR, "id": "p21"}],
    "producer missing": [{**PR, "id": "p22", "brand": "牌22", "producer": "o99"}],
    "producer a product": [{**PR, "id": "p23", "brand": "牌23", "producer": "p1"}],
    "producer without the role": [{**PR, "id": "p24", "brand": "牌24", "producer": "o2"}],
    "unknown subject, second in a list": [{**DED, "id": "d20", "subjects": ["p1", "o98"]}],
    "unknown subject of a repair's list": [{**REP, "id": "r20", "subjects": ["o1", "o97"]}],
    "unknown subject of a correction's list": [{**COR, "id": "c20", "changes": {"subjects": ["p1", "o96"]}}],
    "repair of an unknown event": [{**REP, "id": "r21", "of": "d99"}],
    "repair of a filing": [{"record": "event", "id": "f20", "kind": "filing", "subject": "o1", "date": "2024-01-02"},
                           {**REP, "id": "r22", "of": "f20"}],
    "self reference": [{**REP, "id": "r23", "of": "r23"}],
    "correction before its event": [{**COR, "id": "c21", "date": "2024-01-01"}],
    "amending a field the event lacks": [{**COR, "id": "c22", "of": "r1", "changes": {"item": "11.3"}}],
    "a null change beside a real one": [{"record": "event", "id": "f22", "kind": "filing", "subject": "o1",
                                         "date": "2024-01-02"},
                                        {**COR, "id": "c25", "of": "f22", "changes": {"date": "2024-01-03", "line": {},
                                                                                      "item": None}}],
    "a circle of corrections": [{"record": "event", "id": "c23", "kind": "correction", "date": "2024-07-01",
                                 "of": "c24", "action": "revoke"},
                                {"record": "event", "id": "c24", "kind": "correction", "date": "2024-07-01",
                                 "of": "c23", "action": "revoke"}],
    "recorded before its date": [{"record": "event", "id": "f21", "kind": "filing", "subject": "o1",
                                  "date": "2024-01-05", "recorded": "2024-01-01"}],
    "wrong subject kind": [{"record": "event", "id": "s20", "kind": "spot_check", "subject": "o1",
                            "date": "2024-01-05", "result": "pass"}],
}


@pytest.mark.parametrize("case", sorted(ODD_LINES))
def test_a_line_the_checks_are_unsure_of_reads_as_the_record_loader(tmp_path: Path, case: str) -> None:
    lines = BASE[:3] + ODD_LINES[case] + BASE[3:]
    assert_same(write_lines(tmp_path / "h.jsonl", lines))


@pytest.mark.parametrize("case", sorted(CROSS_LINES))
def test_checks_across_records_report_as_the_record_loader(tmp_path: Path, case: str) -> None:
    assert_same(write_lines(tmp_path / "h.jsonl", BASE + CROSS_LINES[case]))


def test_every_case_in_one_file(tmp_path: Path) -> None:
    """All of them together: the messages of subjects and events interleave in line order."""
    lines = list(BASE)
    for case in list(ODD_LINES.values()) + list(CROSS_LINES.values()):
        lines += case
    assert_same(write_lines(tmp_path / "h.jsonl", lines))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("block", [None, 1, 7, 64])
def test_newlines_a_bom_and_blocks_of_any_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str,
                                              bom: bool, block: int | None) -> None:
    """Windows and old Mac line breaks, a BOM, and the file read in blocks that cut lines, a
    ``\\r\\n`` and the BOM anywhere: the lines and their places are those of the text reader."""
    import qrules.history.arrowjsonl as arrowjsonl

    if block is not None:
        monkeypatch.setattr(arrowjsonl, "_READ", block)
    lines = BASE + CROSS_LINES["unknown subject, second in a list"] + ODD_LINES["not JSON"] + ["", "  "] + \
        CROSS_LINES["same credit code"]
    path = write_lines(tmp_path / "h.jsonl", lines, newline=newline, bom=bom)
    assert_same(path)
    path.write_bytes(path.read_bytes().rstrip(newline.encode()))  # no break after the last line
    assert_same(path)


def test_a_line_over_the_length_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import qrules.history.arrowjsonl as arrowjsonl
    import qrules.history.load as load

    monkeypatch.setattr(load, "MAX_JSONL_LINE", 150)
    monkeypatch.setattr(arrowjsonl, "MAX_JSONL_LINE", 150)
    long = {**OP2, "id": "o30", "uscc": _uscc(30), "name": "长" * 200}
    assert_same(write_lines(tmp_path / "h.jsonl", BASE + [long]))


def test_a_file_without_records_is_refused_as_before(tmp_path: Path) -> None:
    from qrules.errors import QrulesError

    path = write_lines(tmp_path / "h.jsonl", ["", "  "])
    with pytest.raises(QrulesError) as old:
        load_history(path)
    with pytest.raises(QrulesError) as new:
        load_tables(path)
    assert [_key(d) for d in new.value.diagnostics] == [_key(d) for d in old.value.diagnostics]


# ---- random records --------------------------------------------------------------------------

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.sampled_from(["", " ", "o1", "p1", "d1", "x:y"]),
                    st.lists(st.sampled_from(["o1", "p1", "o2", ""]), max_size=3),
                    st.just({"model": "M"}), st.just({}))
_FIELDS = ["id", "kind", "uscc", "roles", "region", "brand", "nice_class", "producer", "date", "item", "subjects",
           "subject", "of", "rectified", "intentional", "line", "changes", "action", "rule", "result", "name"]


@st.composite
def _records(draw) -> list:
    out = []
    for base in draw(st.lists(st.sampled_from(BASE), min_size=1, max_size=8)):
        rec = dict(base)
        for field in draw(st.lists(st.sampled_from(_FIELDS), max_size=3)):
            if draw(st.booleans()):
                rec.pop(field, None)
            else:
                rec[field] = draw(_VALUES)
        out.append(rec)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=_records())
def test_random_records_load_the_same(tmp_path_factory: pytest.TempPathFactory, records: list) -> None:
    path = tmp_path_factory.mktemp("jl") / "h.jsonl"
    assert_same(write_lines(path, BASE + records))


# ---- qrules batch ----------------------------------------------------------------------------


def test_batch_reads_json_lines_columnar_with_the_engines_results(tmp_path: Path, capsys) -> None:
    """A JSON Lines history goes to the columnar backend by default: the same rows and rejections
    as the per-subject engine (--backend engine), and the same exit code (refused records: 1)."""
    import polars as pl

    history = tmp_path / "c.jsonl"
    write_corpus(history, 300, seed=5, fmt="jsonl", bad_rate=0.1)
    runs = {}
    for backend in ("columnar", "engine"):
        out, rej = tmp_path / f"{backend}.parquet", tmp_path / f"{backend}.csv"
        args = ["batch", "guangdong-2021", str(history), "--as-of", "2025-12-31", "-o", str(out),
                "--rejections", str(rej), "--no-progress", "--workers", "1"]
        code = main(args + (["--backend", backend] if backend == "engine" else []))
        err = capsys.readouterr().err
        runs[backend] = (code, pl.read_parquet(out).sort("id"), rej.read_text(encoding="utf-8"), err)
    assert runs["columnar"][0] == runs["engine"][0] == 1
    assert runs["columnar"][1].equals(runs["engine"][1])
    assert sorted(runs["columnar"][2].splitlines()) == sorted(runs["engine"][2].splitlines())
    assert "notice" not in runs["columnar"][3]  # no fall back
