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

Errors: everything qrules raises for bad input is a :class:`QrulesError` (subclasses
:class:`RulesetError`, :class:`HistoryError`, :class:`RuleFailure`) carrying every
:class:`Diagnostic` with its code, message, ``file:line:col`` and hint. A wrong argument type
is a :class:`TypeError`.

Thread safety: a :class:`CompiledRuleset` is immutable once loaded (its internal memo tables
only ever store values that are the same whoever computes them), so one ruleset can be shared
by any number of threads evaluating different histories or dates at once; each call of
:func:`evaluate` builds its own state. Loading is not shared state either: load once, then
evaluate from as many threads as you like.
"""

from __future__ import annotations

import datetime as _dt
from os import PathLike
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562), so `qrules check` starts fast
    from .engine.results import EntryResult, EvaluationResult, Rejection, SubjectResult
    from .errors import Diagnostic, HistoryError, QrulesError, RuleFailure, RulesetError, Span
    from .history.models import History
    from .history.load import LoadedHistory
    from .ruleset import CompiledRuleset

__all__ = ["load_ruleset", "load_rulesets", "load_history", "load_history_data", "evaluate", "evaluate_data",
           "CompiledRuleset", "History", "LoadedHistory", "EvaluationResult", "SubjectResult", "EntryResult",
           "Rejection", "Diagnostic", "Span", "QrulesError", "RulesetError", "HistoryError", "RuleFailure"]
__version__ = "0.1.0"

_LAZY = {
    "EntryResult": "engine.results", "EvaluationResult": "engine.results", "Rejection": "engine.results",
    "SubjectResult": "engine.results", "Diagnostic": "errors", "Span": "errors", "QrulesError": "errors",
    "RulesetError": "errors", "HistoryError": "errors", "RuleFailure": "errors", "History": "history.models",
    "LoadedHistory": "history.load", "CompiledRuleset": "ruleset",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qrules' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def load_ruleset(source: "str | PathLike[str]", *, rulesets: "list[str] | None" = None) -> "CompiledRuleset":
    """Load, check and compile a ruleset (its ``extends`` chain included).

    ``source`` is a file (one version), or a version or family name (``"haojiang"``) looked up in
    the ``rulesets`` folders (default ``rulesets/``). The result's ``.timeline`` says which version
    is in force on which date; :func:`evaluate` decides each event under its own (brief §4a).

    Raises:
        RulesetError: with every problem found, each at its ``file:line:col``.
    """
    from .errors import QrulesError, RulesetError

    try:
        if rulesets is not None:
            from .versioned import load_rulesets as _rulesets

            return _rulesets(*rulesets).load(str(source))
        from .versioned import load

        return load(source)
    except RulesetError:
        raise
    except QrulesError as exc:
        raise RulesetError(exc.diagnostics) from None


def load_rulesets(*dirs: "str | PathLike[str]") -> "Any":
    """Read rulesets folders (default ``rulesets/``) as families of versions: a
    :class:`qrules.registry.Registry`; ``.load(name)`` compiles one, ``.check()`` proves the periods."""
    from .versioned import load_rulesets as _load

    return _load(*dirs)


def load_history(source: "str | PathLike[str]", *, format: str = "auto") -> "LoadedHistory":
    """Load a history file: YAML, JSON or JSON Lines (by extension, else by content); ``-`` reads
    standard input. Records that fail validation are refused one by one and listed in the
    result's ``diagnostics``; only a file that cannot be read at all raises.

    Raises:
        HistoryError: the file cannot be read or parsed at all.
    """
    from .errors import HistoryError, QrulesError
    from .history.load import load_history as _load

    try:
        return _load(source, format=format)  # type: ignore[arg-type]
    except QrulesError as exc:
        raise HistoryError(exc.diagnostics) from None


def load_history_data(data: Mapping[str, Any], file: str = "<data>") -> "LoadedHistory":
    """Load a history given as Python data (the JSON file's shape: ``subjects`` and ``events``
    lists). Problems name the record by its path (``events[3].date``).

    Raises:
        HistoryError: ``data`` is not a mapping of ``subjects`` and ``events``.
    """
    from .errors import HistoryError, QrulesError
    from .history.load import load_history_data as _load

    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a mapping with 'subjects' and 'events' lists, not {type(data).__name__}")
    try:
        return _load(dict(data), file)
    except QrulesError as exc:
        raise HistoryError(exc.diagnostics) from None


def as_date(value: "_dt.date | str | None", name: str = "as_of") -> "_dt.date | None":
    """A date argument: a :class:`datetime.date` (a ``datetime`` gives its date), an ISO string
    ``YYYY-MM-DD``, or None.

    Raises:
        TypeError: any other type.
        ValueError: a string that is not an ISO date.
    """
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{name}={value!r} is not a date: write YYYY-MM-DD, e.g. '2025-12-31'"
                             f"（日期应写作 YYYY-MM-DD）") from None
    raise TypeError(f"{name} must be a datetime.date or an ISO date string 'YYYY-MM-DD', "
                    f"not {type(value).__name__}（{name} 应为日期或 YYYY-MM-DD 字符串）")


def evaluate(ruleset: "CompiledRuleset", history: "History | LoadedHistory", as_of: "_dt.date | str | None" = None,
             *, subjects: "list[str] | None" = None, as_known_at: "_dt.date | str | None" = None
             ) -> "EvaluationResult":
    """Score and classify every subject of ``history`` as of ``as_of`` (default: today).

    Args:
        ruleset: from :func:`load_ruleset`.
        history: a :class:`LoadedHistory` (from :func:`load_history`), whose refused subjects
            are then reported as the reason their events are rejected, or a :class:`History`.
        as_of: a ``date`` or an ISO string ``"2025-12-31"``.
        subjects: evaluate only these subject ids (and what they are connected to).
        as_known_at: use only the records entered by that date (their ``recorded`` date, default
            their date), corrections included: what the operator was told then (brief §4a).

    Raises:
        TypeError: an argument of the wrong type (a path instead of a loaded ruleset, a dict
            instead of a history: use :func:`evaluate_data`).
        ValueError: ``as_of`` is a string that is not an ISO date.
        RuleFailure: a rule of the ruleset failed on the values it met (QR690).
    """
    from .engine import evaluate as _evaluate
    from .errors import Diagnostic, RuleFailure
    from .history.models import History
    from .history.load import LoadedHistory
    from .ruleset import CompiledRuleset
    from .language.runtime import EvaluationError

    if not isinstance(ruleset, CompiledRuleset):
        raise TypeError(f"ruleset must be a CompiledRuleset from qrules.load_ruleset(path), "
                        f"not {type(ruleset).__name__}")
    day, known = as_date(as_of), as_date(as_known_at, "as_known_at")
    try:
        if isinstance(history, LoadedHistory):
            return _evaluate(ruleset, history.history, day, invalid_subjects=history.invalid_subjects,
                             subjects=subjects, as_known_at=known)
        if isinstance(history, History):
            return _evaluate(ruleset, history, day, subjects=subjects, as_known_at=known)
    except EvaluationError as exc:
        raise RuleFailure(Diagnostic("QR690", f"a rule could not be evaluated: {exc.message}", exc.span,
                                     hint="检查此处的表达式遇到的取值（check the expression at this place for the values it met）")) from exc
    hint = "; for a dict use qrules.evaluate_data" if isinstance(history, Mapping) else ""
    raise TypeError(f"history must be a LoadedHistory (qrules.load_history) or a History, "
                    f"not {type(history).__name__}{hint}")


def evaluate_data(ruleset: "CompiledRuleset", data: Mapping[str, Any], as_of: "_dt.date | str | None" = None
                  ) -> dict[str, Any]:
    """JSON in, JSON out: a history as a dict (the JSON file's shape) -> the result as a dict.

    The result's ``input_diagnostics`` name each refused record by its path in ``data``
    (``{"code": "QR501", "path": "events[3].date", ...}``); the records concerned are left out
    and the rest is evaluated.
    """
    loaded = load_history_data(data)
    result = evaluate(ruleset, loaded, as_of)
    out = result.model_dump(mode="json", by_alias=True)  # the JSON file's values, without writing the text
    out["input_diagnostics"] = [d.to_dict() for d in loaded.diagnostics]
    return out
