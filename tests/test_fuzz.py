"""Fuzz (issue 10): the expression parser and history records, derandomised.

Hypothesis runs a short, seeded pass in every ``make test`` (``QRULES_FUZZ_EXAMPLES``, default
150 per property) and a long one with ``make fuzz``. The properties: whatever the text or
the record, qrules answers with diagnostics or refused records, never an unexpected
exception, and the rest of a history is still evaluated.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ded, operator, product
from qrules.errors import Diagnostics, QrulesError, SourceMap
from qrules.language import compile_expression
from qrules.language.runtime import EvaluationError, WorkdayCalendar
from qrules.language.types import DATE, DURATION, NUMBER

EXAMPLES = int(os.environ.get("QRULES_FUZZ_EXAMPLES", "150"))
FUZZ = settings(derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

# -- the expression language -------------------------------------------------------------------------

TOKENS = ["score", "as_of", "window", "entry", ".", "date", "x", "分数", "and", "or", "not", "in", "if", "else",
          "for", "true", "false", "+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "(", ")", "[", "]", ",",
          "0", "1", "12", "-3", "1.5", "50%", "100%", "99999999999999999999999999999",
          "1" * 40, "0.0000000000000000000000000001", "2023-03-01", "0001-01-01", "9999-12-31", "2023-02-30",
          "36 months", "180 days", "5 workdays", "3 years", "999999999 days", "2 weeks", '"text"', "'s'", '"',
          "min", "max", "sum", "count", "any", "all", "abs", "round", "\x1b", "\t", "\n", "#", "@", "$", "…"]
SCOPE = {"score": NUMBER, "as_of": DATE, "window": DURATION}
ENV = {"score": Decimal("7.5"), "as_of": dt.date(2025, 12, 31), "window": None}


class _Calendar(WorkdayCalendar):
    def add_workdays(self, d: dt.date, n: int) -> dt.date:
        return d + dt.timedelta(days=n)


expressions = st.one_of(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join),
                        st.text(max_size=60))


@FUZZ
@given(expressions)
def test_fuzz_expressions_give_diagnostics_never_exceptions(text):
    from qrules.language.runtime import Duration

    diags = Diagnostics()
    compiled = compile_expression(text, SourceMap.at("<fuzz>", 1, 1), SCOPE, diags, calendar=_Calendar())
    assert (compiled is None) == diags.has_errors
    assert all(d.span is None or d.span.line >= 1 for d in diags.items)
    if compiled is not None:
        try:
            compiled(dict(ENV, window=Duration(36, "months")))
        except EvaluationError:
            pass  # a rule failing on a value is reported at its place (QR690)


# -- history records ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**40, max_value=10**40)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3) | st.text(max_size=12)
    | st.sampled_from(["2023-03-01", "0003-03-01", "9999-12-31", "2023-02-30", "11.4", "p1", "op1", "e1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)

SUBJECTS = [operator("op1", 1), product("p1", "op1"), product("p2", "op1", nice_class=27)]
EVENTS = [ded("e1", "11.4", "2023-03-01", ["p1"]),
          {"id": "r1", "kind": "repair", "of": "e1", "date": "2023-05-01", "rectified": True},
          {"id": "f1", "kind": "filing", "subject": "op1", "date": "2023-04-01"},
          {"id": "s1", "kind": "spot_check", "subject": "p2", "date": "2023-06-01", "result": "fail"},
          {"id": "c1", "kind": "correction", "of": "e1", "action": "revoke", "date": "2023-07-01"}]


@st.composite
def mutated_histories(draw):
    records = [dict(r) for r in SUBJECTS + EVENTS]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        rec = draw(st.sampled_from(records))
        field = draw(st.sampled_from(sorted(rec) + ["extra", "of", "subjects", "date", "id", "kind"]))
        if draw(st.booleans()) and field in rec:
            del rec[field]
        else:
            rec[field] = draw(json_values)
    return {"subjects": records[:len(SUBJECTS)], "events": records[len(SUBJECTS):]}


@FUZZ
@given(mutated_histories())
def test_fuzz_history_records_are_loaded_or_refused_never_crash(gd, data):
    from qrules import evaluate
    from qrules.history import load_history_data

    loaded = load_history_data(data)
    # Every event record is kept or listed as refused (brief §6), none is lost silently.
    assert len(loaded.history.events) + len(loaded.rejected_events) == len(data["events"])
    try:
        result = evaluate(gd, loaded, dt.date(2025, 12, 31))
    except QrulesError as exc:  # only a refused as-of date may stop evaluation
        raise AssertionError(exc) from None
    assert result.summary.events == len(loaded.history.events)
