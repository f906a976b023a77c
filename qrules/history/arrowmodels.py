"""The records of a :class:`qrules.columnar.Tables`, for the per-subject engine.

Why not validate them again: every row of the tables already passed the same checks as the
models (:mod:`qrules.history.arrowcheck`, or the models themselves), so the records are built
directly, the way the engine builds its results (``Rejection.build``): values set, nothing
re-checked. Only a run that falls back to the engine pays for this.
"""

from __future__ import annotations

from typing import Any

from ..errors import Span
from ..tables import COLUMN_PATHS
from .models import EVENT_MODELS, SUBJECT_MODELS, CorrectionChanges, History, LineInfo

__all__ = ["history_of"]


def _build(cls: type, values: dict[str, Any], given: set[str]) -> Any:
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", given)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def _defaults(cls: type) -> dict[str, Any]:
    out = {}
    for name, info in cls.model_fields.items():
        if not info.is_required():
            out[name] = info.get_default(call_default_factory=True)
    return out


def _nested(cls: type, parts: dict[str, Any]) -> Any:
    given = {k for k, v in parts.items() if v is not None}
    if not given:
        return None
    values = _defaults(cls)
    values.update({k: v for k, v in parts.items() if v is not None})
    return _build(cls, values, given)


def _records(frame: Any, models: dict[str, type], file: str | None, lines: Any) -> list[Any]:
    nested = {c: p for c, p in COLUMN_PATHS.items() if len(p) > 1 and c in frame.columns}
    flat = [c for c in frame.columns if c not in nested]
    fields = {k: [n for n in m.model_fields if n != "span"] for k, m in models.items()}
    defaults = {k: _defaults(m) for k, m in models.items()}
    out = []
    for row, line in zip(frame.iter_rows(named=True), lines):
        kind = row["kind"]
        cls = models[kind]
        names = fields[kind]
        values = dict(defaults[kind])
        given = set()
        for c in flat:
            v = row[c]
            if v is not None and c in names:
                values[c] = v
                given.add(c)
        if "line" in names:
            values["line"] = _nested(LineInfo, {"model": row.get("line_model"), "standard": row.get("line_standard")})
        if "changes" in names:
            line_changes = _nested(LineInfo, {"model": row.get("changes_line_model"),
                                              "standard": row.get("changes_line_standard")})
            values["changes"] = _nested(CorrectionChanges, {
                "item": row.get("changes_item"), "intentional": row.get("changes_intentional"),
                "major_impact": row.get("changes_major_impact"), "date": row.get("changes_date"),
                "subjects": row.get("changes_subjects"), "line": line_changes})
        given |= {n for n in ("line", "changes") if values.get(n) is not None}
        values["span"] = Span(file, line, 1) if file else None
        out.append(_build(cls, values, given))
    return out


def history_of(tables: Any, subjects_file: str | None, subject_lines: Any, events_file: str | None,
               event_lines: Any) -> History:
    """The :class:`History` whose records the tables hold, each with its ``file:row`` span."""
    subjects = _records(tables.subjects, SUBJECT_MODELS, subjects_file, subject_lines)
    events = _records(tables.events, EVENT_MODELS, events_file, event_lines)
    return History(subjects=subjects, events=events)
