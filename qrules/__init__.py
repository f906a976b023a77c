"""qrules: rules-as-code for product quality credit classification supervision (产品质量信用分类监管).

The public API is small: load a ruleset once, evaluate many histories with it::

    import datetime as dt
    import qrules

    ruleset = qrules.load_ruleset("rulesets/haojiang-2023.yaml")     # parse, check, compile
    history = qrules.load_history("examples/haojiang-history.yaml")  # validate records
    result = qrules.evaluate(ruleset, history, dt.date(2025, 12, 31))
    result.subject("p1").official_class
    result.model_dump_json()                                          # the CLI's --format json

Pipeline: yamlsource -> loader -> schema -> parser/check/compiler (expressions) -> ruleset
-> engine (decide, score, explain).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from .engine import evaluate as _evaluate
from .engine.results import EntryResult, EvaluationResult, Rejection, SubjectResult
from .errors import Diagnostic, QrulesError
from .history import History, LoadedHistory, load_history, load_history_data
from .ruleset import CompiledRuleset
from .ruleset import load as load_ruleset

__all__ = ["load_ruleset", "load_history", "load_history_data", "evaluate", "evaluate_data",
           "CompiledRuleset", "History", "LoadedHistory", "EvaluationResult", "SubjectResult", "EntryResult",
           "Rejection", "Diagnostic", "QrulesError"]
__version__ = "0.1.0"


def evaluate(ruleset: CompiledRuleset, history: History | LoadedHistory, as_of: _dt.date | None = None,
             *, subjects: list[str] | None = None) -> EvaluationResult:
    """Score and classify every subject of ``history`` as of ``as_of`` (default: today).

    ``history`` may be a :class:`LoadedHistory` (from :func:`load_history`), whose refused
    subjects are then reported as the reason their events are rejected.
    """
    if isinstance(history, LoadedHistory):
        return _evaluate(ruleset, history.history, as_of, invalid_subjects=history.invalid_subjects,
                         subjects=subjects)
    return _evaluate(ruleset, history, as_of, subjects=subjects)


def evaluate_data(ruleset: CompiledRuleset, data: Mapping[str, Any], as_of: _dt.date | None = None) -> dict:
    """JSON in, JSON out: a history as a dict (the JSON file's shape) -> the result as a dict."""
    import json

    loaded = load_history_data(dict(data))
    result = evaluate(ruleset, loaded, as_of)
    out = json.loads(result.model_dump_json(by_alias=True))
    out["input_diagnostics"] = [d.to_dict() for d in loaded.diagnostics]
    return out
