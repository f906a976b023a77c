"""Result models: what an evaluation returns, in Python and as JSON.

These pydantic models are the stable output contract: the CLI's ``--format json`` is
``EvaluationResult.model_dump_json()``. Scores are exact decimals, serialised as strings
("10.5") so that no JSON reader turns them into binary floats.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..schema import Measure as Measures  # the measures of a class, as the ruleset states them (第二十七条)

EntryStatus = Literal["counted", "outside_window", "lapsed", "deduplicated", "superseded", "capped"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    @classmethod
    def build(cls, **values):
        """Construct from values the engine computed itself, every field given, without validation.

        The engine builds tens of thousands of these per run; pydantic's ``model_construct``
        spends most of its time on defaults and aliases that never apply here.
        """
        obj = _new(cls)
        _set_dict(obj, values)
        every = _EVERY.get(cls)
        if every is None:
            every = _EVERY[cls] = (len(cls.model_fields), set(cls.model_fields))
        # Every field given (the usual case): one set per class, shared; pydantic never changes
        # it in place on a frozen model (``model_copy`` copies it first).
        _set_fields_set(obj, every[1] if len(values) == every[0] else set(values))
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj


# The slots of every pydantic model, set through their descriptors: what ``object.__setattr__``
# ends up doing after a lookup through the model class's hierarchy, at a third of the cost.
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_EVERY: dict[type, tuple[int, set[str]]] = {}  # model class -> (how many fields, their names)


class EntryResult(_Out):
    """One line of a subject's account: a deduction, repair or reward and whether it counts."""

    event: str
    kind: Literal["deduction", "repair", "reward"]
    code: str                       # item code (11.1) or reward rule (16)
    title: str
    date: dt.date
    points: Decimal                 # the value decided for this entry (negative for deductions)
    counted_points: Decimal         # what it contributes at the as-of date (0 when not counted)
    status: EntryStatus
    reason: str | None = None
    cite: str | None = None
    via: str | None = None          # how the entry reached this subject (a 第十二条 link)
    of: str | None = None           # repairs: the deduction event repaired
    ordinal: int | None = None      # deductions: 1st, 2nd... counted deduction in its window (第十五条)
    requested: Decimal | None = None  # rewards: points before the cap (第十八条)
    version: str | None = None      # the ruleset version that decided this entry (brief §4a)


class Adjustment(_Out):
    """A half-year classification (第二十六条第二款)."""

    date: dt.date
    score_date: dt.date
    score: Decimal | None
    computed_class: str
    official_class: str
    locked: bool
    version: str | None = None      # the ruleset version in force on the adjustment date (brief §4a)


class Lock(_Out):
    """An active class lock (第二十六条第二款: D for 3 years)."""

    # "class" in JSON however it is dumped: model_dump_json() is the same JSON as --format json
    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True, defer_build=True)

    class_: str = Field(alias="class")
    since: dt.date
    until: dt.date


class OutlookStep(_Out):
    """A coming change with no new events: an entry leaves the window, a repair lapses, the lock ends,
    or an adjustment; with the score and classes that follow (brief §4a outlook (a))."""

    date: dt.date
    what: Literal["leaves_window", "repair_lapses", "lock_ends", "adjustment"]
    event: str | None = None
    score: Decimal | None = None
    live_class: str | None = None
    official_class: str | None = None   # adjustments
    text: str


class OutlookAction(_Out):
    """Something that could bring points now, tried as a what-if event by the engine (outlook (b))."""

    kind: Literal["repair", "reward"]
    ref: str                            # the deduction event to repair, or the reward rule
    points: Decimal                     # what it would add now (0 when not possible)
    possible: bool
    text: str


class SubjectOutlook(_Out):
    steps: list[OutlookStep] = []
    next_class: str | None = None       # the next better class, if any
    points_needed: Decimal | None = None  # the fewest points that reach it (outlook.needed)
    actions: list[OutlookAction] = []


class SubjectResult(_Out):
    id: str
    kind: Literal["product", "operator"]
    name: str | None = None
    roles: list[str] = []
    scored: bool
    score: Decimal | None
    start: Decimal
    live_class: str
    official_class: str
    lock: Lock | None = None
    measures: Measures
    flags: dict[str, bool] = {}
    determined_by: str | None = None  # producers: the product whose line gives the minimum (第十条)
    entries: list[EntryResult] = []
    adjustments: list[Adjustment] = []
    outlook: SubjectOutlook | None = None  # with outlook=True / explain (brief §4a)


class Rejection(_Out):
    """An input event (or its part for one subject) that does not count, and why."""

    event: str
    kind: str
    subject: str | None = None      # the subject this part of the event was refused for (None: the whole event)
    subjects: list[str] = []        # every subject the event concerns (for explanations)
    code: str
    reason: str
    cite: str | None = None


class ExcludedSubject(_Out):
    id: str
    reason: str
    cite: str | None = None
    code: str | None = None  # QR604 out of scope (第二条), QR605 outside the jurisdiction


class Summary(_Out):
    subjects: int
    by_official_class: dict[str, int]
    by_live_class: dict[str, int]
    events: int
    events_counted: int
    events_rejected: int
    rejected_by_code: dict[str, int]


class VersionNote(_Out):
    """Dates on which no ruleset version was in force, and the version that decided them anyway (§4a)."""

    what: Literal["as_of", "events", "adjustments"]
    version: str
    first: dt.date
    last: dt.date
    count: int
    message: str


class EvaluationResult(_Out):
    ruleset: str
    version: str
    as_of: dt.date
    as_known_at: dt.date | None = None    # only records entered by then were used (brief §4a)
    version_at_as_of: str | None = None   # the version that decides the live class (brief §4a)
    in_force: bool = True                 # whether every date decided had a version in force
    out_of_force: list[VersionNote] = []  # otherwise: which dates, under which version, said in words
    warnings: list[str] = []
    subjects: list[SubjectResult]
    rejected: list[Rejection] = []
    excluded_subjects: list[ExcludedSubject] = []
    summary: Summary

    def subject(self, subject_id: str) -> SubjectResult:
        for s in self.subjects:
            if s.id == subject_id:
                return s
        raise KeyError(subject_id)


# Builders with every field given in order, for the models the engine makes per subject and per
# call: the dict is written out here, not gathered from keywords, and the shared field set read
# once (issue 14, item 4). ``tests/test_engine_paths.py`` checks they equal validated models.
_ENTRY_FIELDS = set(EntryResult.model_fields)
_ADJUSTMENT_FIELDS = set(Adjustment.model_fields)
_SUBJECT_FIELDS = set(SubjectResult.model_fields)
_SUMMARY_FIELDS = set(Summary.model_fields)
_RESULT_FIELDS = set(EvaluationResult.model_fields)


def _made(cls: type, values: dict, fields: set):
    """A ``cls`` holding ``values`` (every field, in order), built as ``_Out.build`` does."""
    obj = _new(cls)
    _set_dict(obj, values)
    _set_fields_set(obj, fields)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def entry_result(event, kind, code, title, date, points, counted_points, status, reason, cite, via, of, ordinal,
                 requested, version) -> EntryResult:
    """:class:`EntryResult` from the engine's own values, every field given: ``_made`` written out,
    as this and :func:`adjustment` are called several times per subject."""
    obj = _new(EntryResult)
    _set_dict(obj, {"event": event, "kind": kind, "code": code, "title": title, "date": date, "points": points,
                    "counted_points": counted_points, "status": status, "reason": reason, "cite": cite, "via": via,
                    "of": of, "ordinal": ordinal, "requested": requested, "version": version})
    _set_fields_set(obj, _ENTRY_FIELDS)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def adjustment(date, score_date, score, computed_class, official_class, locked, version) -> Adjustment:
    """:class:`Adjustment` from the engine's own values, every field given (``_made`` written out)."""
    obj = _new(Adjustment)
    _set_dict(obj, {"date": date, "score_date": score_date, "score": score, "computed_class": computed_class,
                    "official_class": official_class, "locked": locked, "version": version})
    _set_fields_set(obj, _ADJUSTMENT_FIELDS)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def subject_result(id, kind, name, roles, scored, score, start, live_class, official_class, lock, measures, flags,
                   determined_by, entries, adjustments, outlook) -> SubjectResult:
    """:class:`SubjectResult` from the engine's own values, every field given (see ``_Out.build``)."""
    return _made(SubjectResult, {"id": id, "kind": kind, "name": name, "roles": roles, "scored": scored, "score": score,
                                 "start": start, "live_class": live_class, "official_class": official_class,
                                 "lock": lock, "measures": measures, "flags": flags, "determined_by": determined_by,
                                 "entries": entries, "adjustments": adjustments, "outlook": outlook},
                 _SUBJECT_FIELDS)


def summary(subjects, by_official_class, by_live_class, events, events_counted, events_rejected,
            rejected_by_code) -> Summary:
    """:class:`Summary` from the engine's own values, every field given (see ``_Out.build``)."""
    return _made(Summary, {"subjects": subjects, "by_official_class": by_official_class,
                           "by_live_class": by_live_class, "events": events, "events_counted": events_counted,
                           "events_rejected": events_rejected, "rejected_by_code": rejected_by_code}, _SUMMARY_FIELDS)


def evaluation_result(ruleset, version, as_of, as_known_at, version_at_as_of, in_force, out_of_force, warnings,
                      subjects, rejected, excluded_subjects, summary) -> EvaluationResult:
    """:class:`EvaluationResult` from the engine's own values, every field given (see ``_Out.build``)."""
    return _made(EvaluationResult, {"ruleset": ruleset, "version": version, "as_of": as_of, "as_known_at": as_known_at,
                                    "version_at_as_of": version_at_as_of, "in_force": in_force,
                                    "out_of_force": out_of_force, "warnings": warnings, "subjects": subjects,
                                    "rejected": rejected, "excluded_subjects": excluded_subjects, "summary": summary},
                 _RESULT_FIELDS)
