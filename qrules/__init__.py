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
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562), so `qrules check` starts fast
    from .engine.results import EntryResult, EvaluationResult, Rejection, SubjectResult
    from .errors import Diagnostic, QrulesError
    from .history import History
    from .historyload import LoadedHistory, load_history, load_history_data
    from .ruleset import CompiledRuleset

__all__ = ["load_ruleset", "load_rulesets", "load_history", "load_history_data", "evaluate", "evaluate_data",
           "CompiledRuleset", "History", "LoadedHistory", "EvaluationResult", "SubjectResult", "EntryResult",
           "Rejection", "Diagnostic", "QrulesError"]
__version__ = "0.1.0"

_LAZY = {
    "EntryResult": "engine.results", "EvaluationResult": "engine.results", "Rejection": "engine.results",
    "SubjectResult": "engine.results", "Diagnostic": "errors", "QrulesError": "errors", "History": "history",
    "LoadedHistory": "historyload", "load_history": "historyload", "load_history_data": "historyload",
    "CompiledRuleset": "ruleset",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qrules' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def load_ruleset(source, *, rulesets: "list[str] | None" = None) -> "CompiledRuleset":
    """Load, check and compile a ruleset (its ``extends`` chain included); raise
    :class:`QrulesError` with every problem found.

    ``source`` is a file (one version), or a version or family name (``"haojiang"``) looked up in
    the ``rulesets`` folders (default ``rulesets/``). The result's ``.timeline`` says which version
    is in force on which date; :func:`evaluate` decides each event under its own (brief §4a)."""
    if rulesets is not None:
        from .registry import Registry

        return Registry.scan(tuple(str(d) for d in rulesets)).load(str(source))
    from .ruleset import load

    return load(source)


def load_rulesets(*dirs) -> "Any":
    """Read rulesets folders (default ``rulesets/``) as families of versions: a
    :class:`qrules.registry.Registry`; ``.load(name)`` compiles one, ``.check()`` proves the periods."""
    from .registry import load_rulesets as _load

    return _load(*dirs)


def evaluate(ruleset: "CompiledRuleset", history: "History | LoadedHistory", as_of: _dt.date | None = None,
             *, subjects: list[str] | None = None, as_known_at: _dt.date | None = None) -> "EvaluationResult":
    """Score and classify every subject of ``history`` as of ``as_of`` (default: today).

    ``history`` may be a :class:`LoadedHistory` (from :func:`load_history`), whose refused
    subjects are then reported as the reason their events are rejected. ``as_known_at``
    uses only the records entered by that date (their ``recorded`` date, default their date),
    corrections included: what the operator was told then (brief §4a).
    """
    from .engine import evaluate as _evaluate
    from .historyload import LoadedHistory

    if isinstance(history, LoadedHistory):
        return _evaluate(ruleset, history.history, as_of, invalid_subjects=history.invalid_subjects,
                         subjects=subjects, as_known_at=as_known_at)
    return _evaluate(ruleset, history, as_of, subjects=subjects, as_known_at=as_known_at)


def evaluate_data(ruleset: "CompiledRuleset", data: Mapping[str, Any], as_of: _dt.date | None = None) -> dict:
    """JSON in, JSON out: a history as a dict (the JSON file's shape) -> the result as a dict."""
    import json

    from .historyload import load_history_data

    loaded = load_history_data(dict(data))
    result = evaluate(ruleset, loaded, as_of)
    out = json.loads(result.model_dump_json(by_alias=True))
    out["input_diagnostics"] = [d.to_dict() for d in loaded.diagnostics]
    return out
