"""History format: models, validation rules, positions, formats, schema."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from stdnum.cn import uscc as stdnum_uscc

from qrules.errors import QrulesError
from qrules.history import CODES, EVENT_KINDS, Correction, Deduction, History, LoadedHistory, OperatorSubject, ProcedureEvent, ProductSubject, Repair, check_uscc, history_json_schema, load_history, load_history_data, load_history_text, uscc_check_character

DATA = Path(__file__).parent / "data" / "history"


def code(first17: str) -> str:
    """A valid credit code: 17 characters plus the check character stdnum computes."""
    return first17 + stdnum_uscc.calc_check_digit(first17)


OP1 = code("91440512MA5XXXXXX")
OP2 = code("91440512MA5ABCDE1")


def yaml_history(subjects: str = "", events: str = "") -> LoadedHistory:
    text = "subjects:\n" + (subjects or f"  - {{id: op1, kind: operator, uscc: {OP1}, roles: [producer]}}\n")
    text += "events:\n" + events if events else ""
    return load_history_text(text, "h.yaml")


def codes(loaded: LoadedHistory, severity: str = "error") -> list[str]:
    return [d.code for d in loaded.diagnostics if d.severity == severity]


# ---- credit codes -----------------------------------------------------------------


def test_valid_credit_code_loads_and_is_normalised():
    assert stdnum_uscc.is_valid(OP1)
    loaded = yaml_history(f"  - {{id: op1, kind: operator, uscc: '{OP1.lower()[:9]} {OP1[9:]}'}}\n")
    assert codes(loaded) == []
    assert loaded.history.subject("op1").uscc == OP1


def test_wrong_check_character_says_which_is_expected():
    wrong = OP1[:17] + ("1" if OP1[17] != "1" else "2")
    loaded = yaml_history(f"  - {{id: op3, kind: operator, uscc: {wrong}}}\n")
    (diag,) = loaded.diagnostics
    assert diag.code == "QR502"
    assert f"expected '{OP1[17]}'" in diag.message and "校验位" in diag.message
    assert diag.message.startswith("op3: ")
    assert (diag.span.line, diag.span.col) == (2, 37)
    assert "op3" in loaded.invalid_subjects and loaded.history.subjects == []


@pytest.mark.parametrize("bad, words", [
    ("91440512MA5XXXX", "has 15 characters"),
    ("91440512MA5XXXXXIG", "'I' at position 17"),
    ("914405A2MA5XXXXXXG", "characters 3–8"),
])
def test_malformed_credit_codes(bad, words):
    _, problem = check_uscc(bad)
    assert problem and words in problem


def test_letter_first_credit_code_is_checked_by_gb32100_not_refused():
    # GB 32100: the registration-authority code may be a letter (A, N, Y); stdnum refuses these.
    letter = code("Y1440512MA5ABCDE1")
    assert not stdnum_uscc.is_valid(letter)
    loaded = yaml_history(f"  - {{id: op1, kind: operator, uscc: {letter}}}\n")
    assert loaded.diagnostics == [] and loaded.history.subject("op1").uscc == letter
    # ... but its check character is still checked, with stdnum's own helper
    wrong = letter[:17] + ("1" if letter[17] != "1" else "2")
    _, problem = check_uscc(wrong)
    assert problem and f"expected '{uscc_check_character(letter[:17])}'" in problem


def test_unknown_registration_authority_is_a_warning():
    odd = code("B1440512MA5ABCDE1")
    loaded = yaml_history(f"  - {{id: op1, kind: operator, uscc: {odd}}}\n")
    assert codes(loaded) == [] and codes(loaded, "warning") == ["QR511"]
    assert loaded.history.subject("op1") is not None


def test_two_operators_with_one_credit_code():
    loaded = yaml_history(f"  - {{id: op1, kind: operator, uscc: {OP1}}}\n"
                          f"  - {{id: op2, kind: operator, uscc: {OP1}}}\n")
    assert codes(loaded) == ["QR508"] and "op2" in loaded.invalid_subjects
    assert [s.id for s in loaded.history.subjects] == ["op1"]


# ---- Nice classes -----------------------------------------------------------------


@pytest.mark.parametrize("nice, ok, words", [
    (0, False, "does not exist"), (1, True, None), (34, True, None),
    (35, False, "service class"), (40, False, "Nice class 40 is a service class"), ("x", False, "whole number"),
])
def test_nice_class(nice, ok, words):
    loaded = yaml_history(f"  - {{id: op1, kind: operator, uscc: {OP1}, roles: [producer]}}\n"
                          f"  - {{id: p1, kind: product, brand: 某牌, nice_class: {nice}, producer: op1}}\n")
    if ok:
        assert loaded.diagnostics == [] and loaded.history.subject("p1").nice_class == nice
    else:
        (diag,) = loaded.diagnostics
        assert diag.code == "QR503" and words in diag.message
        assert "p1" in loaded.invalid_subjects


# ---- dates ------------------------------------------------------------------------


def test_non_existent_date_in_yaml_is_reported_once_and_rejects_the_event():
    loaded = yaml_history(events="  - {id: f1, kind: filing, subject: op1, date: 2023-02-30}\n")
    assert [d.code for d in loaded.diagnostics] == ["QR006"]
    assert [r.id for r in loaded.rejected_events] == ["f1"]


def test_non_existent_date_in_json():
    text = json.dumps({"subjects": [{"id": "op1", "kind": "operator", "uscc": OP1}],
                       "events": [{"id": "f1", "kind": "filing", "subject": "op1", "date": "2023-02-30"}]})
    loaded = load_history_text(text, "h.json")
    (diag,) = loaded.diagnostics
    assert diag.code == "QR501" and "2023-02-30 does not exist" in diag.message
    assert loaded.rejected_events[0].id == "f1"


def test_dates_must_be_dates():
    loaded = load_history_data({"subjects": [{"id": "op1", "kind": "operator", "uscc": OP1}],
                                "events": [{"id": "f1", "kind": "filing", "subject": "op1", "date": "1/3/2023"},
                                           {"id": "f2", "kind": "filing", "subject": "op1", "date": 1700000000}]})
    assert codes(loaded) == ["QR501", "QR501"]
    assert "YYYY-MM-DD" in loaded.diagnostics[0].message


# ---- ids, fields, kinds, references -------------------------------------------------


def test_duplicate_ids_refuse_every_record_with_the_id():
    loaded = yaml_history(f"  - {{id: op1, kind: operator, uscc: {OP1}}}\n"
                          f"  - {{id: op1, kind: operator, uscc: {OP2}}}\n",
                          "  - {id: e1, kind: filing, subject: op1, date: 2023-01-01}\n"
                          "  - {id: e1, kind: filing, subject: op1, date: 2023-01-02}\n")
    assert codes(loaded) == ["QR504", "QR504"]
    assert "op1" in loaded.invalid_subjects and loaded.history.subjects == []
    assert [r.code for r in loaded.rejected_events] == ["QR504", "QR504"]
    assert loaded.diagnostics[0].span.line == 3 and "first at line 2" in loaded.diagnostics[0].message


def test_int_ids_are_strings():
    loaded = load_history_data({"subjects": [{"id": 7, "kind": "operator", "uscc": OP1}],
                                "events": [{"id": 1, "kind": "filing", "subject": 7, "date": dt.date(2023, 1, 1)}]})
    assert loaded.diagnostics == []
    assert loaded.history.event("1").subject == "7" and loaded.history.subject("7").id == "7"


def test_unknown_field_with_suggestion_at_its_key():
    loaded = yaml_history(events="  - {id: e1, kind: deduction, item: '11.1', date: 2023-03-01, subjects: [op1],\n"
                                 "     intentinal: true}\n")
    (diag,) = loaded.diagnostics
    assert diag.code == "QR501" and "unknown field 'intentinal'" in diag.message
    assert diag.hint == "是否应为 'intentional'？（did you mean 'intentional'?）"
    assert (diag.span.line, diag.span.col) == (5, 6)


def test_unknown_nested_field():
    loaded = yaml_history(events="  - {id: e1, kind: spot_check, subject: p1, date: 2023-03-01, result: fail, "
                                 "line: {modle: X}}\n",
                          subjects=f"  - {{id: op1, kind: operator, uscc: {OP1}, roles: [producer]}}\n"
                                   f"  - {{id: p1, kind: product, brand: b, nice_class: 28, producer: op1}}\n")
    (diag,) = loaded.diagnostics
    assert "'modle' in 'line'" in diag.message and diag.hint == "是否应为 'model'？（did you mean 'model'?）"


def test_unknown_kind_with_suggestion():
    loaded = yaml_history(events="  - {id: e1, kind: dedution, date: 2023-03-01}\n")
    (diag,) = loaded.diagnostics
    assert diag.code == "QR506" and diag.hint == "是否应为 'deduction'？（did you mean 'deduction'?）"
    assert loaded.rejected_events[0].kind == "dedution"
    loaded = yaml_history(f"  - {{id: op1, kind: operater, uscc: {OP1}}}\n")
    assert loaded.diagnostics[0].hint == "是否应为 'operator'？（did you mean 'operator'?）" and "op1" in loaded.invalid_subjects


def test_unknown_producer_and_missing_role():
    loaded = yaml_history(f"  - {{id: op1, kind: operator, uscc: {OP1}, roles: [seller]}}\n"
                          f"  - {{id: p1, kind: product, brand: a, nice_class: 28, producer: op1}}\n"
                          f"  - {{id: p2, kind: product, brand: b, nice_class: 28, producer: op9}}\n")
    assert [(d.code, d.severity) for d in loaded.diagnostics] == [("QR505", "warning"), ("QR505", "error")]
    assert "op9" in loaded.diagnostics[1].message and "p2" in loaded.invalid_subjects
    assert loaded.history.subject("p1") is not None


def test_product_of_a_refused_producer_is_refused_with_the_reason():
    loaded = yaml_history(f"  - {{id: op1, kind: operator, uscc: {OP1[:17]}1}}\n"
                          f"  - {{id: p1, kind: product, brand: a, nice_class: 28, producer: op1}}\n")
    assert "op1" in loaded.invalid_subjects and "was refused" in loaded.invalid_subjects["p1"]


def test_events_naming_refused_subjects_are_kept_for_the_engine():
    loaded = yaml_history(f"  - {{id: op1, kind: operator, uscc: {OP1[:17]}1}}\n",
                          "  - {id: f1, kind: filing, subject: op1, date: 2023-01-01}\n")
    assert loaded.history.event("f1") is not None and "op1" in loaded.invalid_subjects


def test_references_to_missing_or_wrong_kind_records():
    loaded = yaml_history(events="  - {id: e1, kind: deduction, item: '11.1', date: 2023-03-01, subjects: [op2]}\n"
                                 "  - {id: s1, kind: spot_check, subject: op1, date: 2023-03-01, result: pass}\n"
                                 "  - {id: r1, kind: repair, of: e9, date: 2023-03-01}\n"
                                 "  - {id: o0, kind: objection_filed, of: s1, date: 2023-03-01}\n"
                                 "  - {id: o1, kind: objection_accepted, of: o0, date: 2023-03-01}\n"
                                 "  - {id: o2, kind: objection_accepted, of: s1, date: 2023-03-01}\n"
                                 "  - {id: c1, kind: correction, of: c2, action: revoke, date: 2023-03-01}\n"
                                 "  - {id: c2, kind: correction, of: c1, action: revoke, date: 2023-03-01}\n")
    assert codes(loaded) == ["QR509", "QR510", "QR509", "QR510", "QR509", "QR509"]
    assert loaded.diagnostics[0].hint == "是否应为 'op1'？（did you mean 'op1'?）"
    assert {r.id for r in loaded.rejected_events} == {"e1", "s1", "r1", "o2", "c1", "c2"}
    assert [e.id for e in loaded.history.events] == ["o0", "o1"]  # s1 is known (rejected): the engine decides


def test_correction_rules():
    loaded = yaml_history(events="  - {id: e1, kind: deduction, item: '11.1', date: 2023-03-01, subjects: [op1]}\n"
                                 "  - {id: c1, kind: correction, of: e1, action: amend, date: 2023-06-01}\n"
                                 "  - {id: c2, kind: correction, of: e1, action: revoke, date: 2023-06-01,"
                                 " changes: {item: '11.2'}}\n"
                                 "  - {id: c3, kind: correction, of: e1, action: amend, date: 2023-06-01,"
                                 " changes: {item: '11.7', intentional: false}}\n")
    assert codes(loaded) == ["QR501", "QR501"]
    c3 = loaded.history.event("c3")
    assert isinstance(c3, Correction) and c3.changes.model_dump(exclude_unset=True) == {
        "item": "11.7", "intentional": False}


# ---- formats, positions, all-at-once ------------------------------------------------


def test_yaml_json_and_jsonl_give_the_same_history():
    loaded = [load_history(DATA / name) for name in ("good.yaml", "good.json", "good.jsonl")]
    for one in loaded:
        assert one.diagnostics == [] and one.invalid_subjects == {} and one.rejected_events == []
    assert loaded[0].history == loaded[1].history == loaded[2].history
    assert loaded[0].history.model_dump() == loaded[2].history.model_dump()
    history = loaded[0].history
    e1 = history.event("e1")
    assert isinstance(e1, Deduction) and e1.line.standard == "GB 6675.1" and e1.subjects == ["p1", "op1"]
    assert history.event("e2").item == "12.10"  # an unquoted number keeps its text
    assert isinstance(history.event("r1"), Repair) and history.event("r1").applied == dt.date(2023, 5, 4)
    assert isinstance(history.event("o2"), ProcedureEvent)
    assert isinstance(history.subject("op1"), OperatorSubject)
    assert isinstance(history.subject("p1"), ProductSubject) and history.subject("p1").region is None
    assert history.subject("nope") is None
    # spans point at the record in each file
    assert str(loaded[0].history.event("e1").span) == f"{DATA / 'good.yaml'}:9:5"
    assert loaded[2].history.event("e1").span.line == 6


def test_positions_of_bad_fields_in_each_format():
    yaml_loaded = load_history(DATA / "bad.yaml")
    nice = next(d for d in yaml_loaded.diagnostics if d.code == "QR503")
    assert (nice.span.line, nice.span.col) == (6, 52)
    json_text = ('{"subjects": [\n'
                 f'  {{"id": "op1", "kind": "operator", "uscc": "{OP1}"}}],\n'
                 ' "events": [\n'
                 '  {"id": "f1", "kind": "filing", "subject": "op1",\n'
                 '   "date": "2023-01-01", "concealed": "no"}]}\n')
    (diag,) = load_history_text(json_text, "h.json").diagnostics
    assert (diag.span.line, diag.span.col) == (5, 39) and "true or false" in diag.message
    jsonl = (f'{{"record": "subject", "id": "op1", "kind": "operator", "uscc": "{OP1}"}}\n'
             '{"record": "event", "id": "f1", "kind": "filing", "subject": "op1", "date": "2023-01-01", "concealled": true}\n')
    (diag,) = load_history_text(jsonl, "h.jsonl").diagnostics
    assert (diag.span.line, diag.span.col) == (2, 91) and diag.hint == "是否应为 'concealed'？（did you mean 'concealed'?）"


def test_three_bad_records_three_diagnostics_and_the_good_ones_load():
    loaded = load_history(DATA / "three-bad.yaml")
    assert len(loaded.diagnostics) == 3
    assert [d.span.line for d in loaded.diagnostics] == [5, 8, 9]
    assert [s.id for s in loaded.history.subjects] == ["op1", "p1"]
    assert [e.id for e in loaded.history.events] == ["e1", "f1"]
    assert loaded.invalid_subjects.keys() == {"op2"}
    assert [r.id for r in loaded.rejected_events] == ["e2", "#3"]


def test_bad_fixture_reports_every_problem():
    loaded = load_history(DATA / "bad.yaml")
    assert sorted(set(codes(loaded))) == ["QR006", "QR501", "QR502", "QR503", "QR504", "QR505", "QR506", "QR509"]


def test_jsonl_problems():
    text = ('{"record": "evnt", "id": "x1", "kind": "filing"}\n'
            'not json\n'
            '\n'
            f'{{"record": "subject", "id": "op1", "kind": "operator", "uscc": "{OP1}", "uscc": "{OP2}"}}\n')
    loaded = load_history_text(text, "h.jsonl")
    assert codes(loaded) == ["QR507", "QR507", "QR507"]
    assert loaded.diagnostics[0].hint == "是否应为 'event'？（did you mean 'event'?）"
    assert [r.id for r in loaded.rejected_events] == ["x1", "#2"]
    # a repeated key: reported, and the record refused (either value could be meant)
    assert loaded.history.subject("op1") is None and "written twice" in loaded.invalid_subjects["op1"]


def test_json_format_problems():
    with pytest.raises(QrulesError) as err:
        load_history_text('{"subjects": [,]}', "h.json")
    assert err.value.diagnostics[0].code == "QR507"
    with pytest.raises(QrulesError):
        load_history_text("[1, 2]", "h.json")
    loaded = load_history_text('{"subject": [], "events": []}', "h.json")
    assert loaded.diagnostics[0].hint == "是否应为 'subjects'？（did you mean 'subjects'?）"
    with pytest.raises(QrulesError):
        load_history(DATA / "does-not-exist.yaml")
    with pytest.raises(QrulesError):
        load_history_text("subjects: [\n", "h.yaml")


def test_format_sniffing_without_an_extension():
    text = (DATA / "good.jsonl").read_text(encoding="utf-8")
    assert load_history_text(text).history == load_history(DATA / "good.yaml").history


def test_large_jsonl_loads_every_record(tmp_path):
    # Speed is measured in bench/, not asserted here.
    lines = [json.dumps({"record": "subject", "id": "op1", "kind": "operator", "uscc": OP1, "roles": ["producer"]})]
    lines += [json.dumps({"record": "event", "id": f"e{i}", "kind": "deduction", "item": "11.1",
                          "date": "2023-03-01", "subjects": ["op1"]}) for i in range(20_000)]
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    loaded = load_history(path)
    assert len(loaded.history.events) == 20_000 and loaded.diagnostics == []


# ---- models, schema -----------------------------------------------------------------


def test_models_are_frozen_and_strict():
    history = load_history(DATA / "good.yaml").history
    with pytest.raises(Exception):
        history.event("e1").item = "11.2"
    with pytest.raises(Exception):
        History(subjects=[], events=[Deduction(id="e1", kind="deduction", item="1", date=dt.date(2023, 1, 1),
                                               subjects=["p"]),
                                     Deduction(id="e1", kind="deduction", item="1", date=dt.date(2023, 1, 1),
                                               subjects=["p"])])
    defaults = Deduction(id="e", kind="deduction", item="11.1", date=dt.date(2023, 1, 1), subjects=["p"])
    assert (defaults.intentional, defaults.major_impact, defaults.line, defaults.span) == (False, False, None, None)
    assert "span" not in defaults.model_dump()


def test_json_schema_names_every_event_kind():
    schema = history_json_schema()
    text = json.dumps(schema, ensure_ascii=False)
    assert json.loads(text) == schema
    for kind in EVENT_KINDS + ("operator", "product"):
        assert f'"{kind}"' in text
    assert "span" not in text
    assert set(schema["properties"]) == {"subjects", "events"}


def test_codes_are_documented():
    assert all(c.startswith("QR5") for c in CODES)
    doc = (Path(__file__).parent.parent / "docs" / "history.md").read_text(encoding="utf-8")
    for c in CODES:
        assert c in doc
