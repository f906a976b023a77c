"""What phase 1 decides and the small helpers every decision step reads: a subject as the engine
sees it, an entry (one decided line of an account), the decisions of a run, and the exact
arithmetic and rule calls the steps share.

Pipeline position: made by :mod:`qrules.engine.decide` and its steps, read by
:mod:`qrules.engine.score` and the results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any

from ..language.runtime import plain
from .results import Rejection


ZERO = Decimal(0)


ONE = Decimal(1)


@dataclass
class SubjectView:
    """What the engine needs of a subject, whatever the input format."""

    id: str
    kind: str                      # product | operator
    name: str | None
    roles: frozenset[str]
    producer: str | None           # products: the producing operator
    brand: str | None
    region: str | None
    category: str | None
    nice_class: int | None = None
    excluded: tuple[str, str, str | None] | None = None  # (code, reason, cite) when out of scope/jurisdiction


@dataclass(slots=True)
class Entry:
    """A deduction, repair or reward as it applies to one subject."""

    subject: str
    event: str
    kind: str                      # deduction | repair | reward
    code: str
    title: str
    date: dt.date
    points: Decimal
    cite: str | None
    status: str = "counted"        # counted | deduplicated | superseded | capped
    reason: str | None = None
    via: str | None = None
    via_product: str | None = None
    of: "Entry | None" = None
    ordinal: int | None = None
    requested: Decimal | None = None
    intentional: bool = False
    major_impact: bool = False
    line_key: tuple | None = None
    repair_event: str | None = None
    facts: dict | None = None      # rewards: the record their rules saw (the cap is re-applied on a producer's line)
    line_subject: dict | None = None  # rewards: the producer's ``subject`` record for the cap on its line
    version: str | None = None     # the ruleset version that decided this entry (brief §4a)

    @property
    def counted(self) -> bool:
        return self.status in ("counted", "capped") and (self.kind != "reward" or self.points > 0)

    @property
    def order(self) -> tuple[dt.date, str]:
        return (self.date, self.event)


def new_entry(subject: str, event: str, kind: str, code: str, title: str, date: dt.date, points: Decimal,
              cite: str | None, status: str = "counted", reason: str | None = None, via: str | None = None,
              via_product: str | None = None, of: Entry | None = None, ordinal: int | None = None,
              requested: Decimal | None = None, intentional: bool = False, major_impact: bool = False,
              line_key: tuple | None = None, repair_event: str | None = None, facts: dict | None = None,
              line_subject: dict | None = None, version: str | None = None) -> Entry:
    """``Entry(...)`` by keyword at a third of the cost: a class called with keywords passes them
    through a dict to its ``__init__``; a function takes them directly and calls it by position."""
    return Entry(subject, event, kind, code, title, date, points, cite, status, reason, via, via_product, of, ordinal,
                 requested, intentional, major_impact, line_key, repair_event, facts, line_subject, version)


@dataclass
class Decisions:
    """Output of phase 1."""

    entries: dict[str, list[Entry]] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    counted_events: set[str] = field(default_factory=set)
    fact_events: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    current: str | None = None     # the version deciding now (brief §4a); set by Decider.use
    out_of_force: list = field(default_factory=list)  # versions.OutOfForce: events decided with none in force

    def add(self, entry: Entry) -> None:
        if entry.version is None:
            entry.version = self.current
        self.entries.setdefault(entry.subject, []).append(entry)


class _Plain:
    """A record of the ruleset with its fields as plain attributes (see :func:`plain_records`)."""

    def __init__(self, fields: dict[str, Any]):
        self.__dict__.update(fields)


def plain_records(compiled) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ruleset's items and reward rules as plain objects, made once per ruleset: the engine
    reads their fields for every event, and a read on a pydantic model goes through its
    ``__getattr__`` hook, which turns off CPython's attribute specialisation."""
    hit = compiled._window_cache.get(("plain records",))  # the memo, read without a call
    if hit is None:
        m = compiled.model
        hit = compiled.memo(("plain records",), lambda: (
            {code: _Plain(item.__dict__) for code, item in m.items.items()},
            {code: _Plain(rule.__dict__) for code, rule in m.rewards.rules.items()}))
    return hit


def record_field(record: Any, name: str, default: Any = None) -> Any:
    """A field of a history record, or ``default`` when that kind of record has no such field.

    Reads the model's ``__dict__``: ``getattr`` on a pydantic model for a field it lacks takes a
    slow path, and the engine asks such questions for every event.
    """
    fields = getattr(record, "__dict__", None)
    return fields.get(name, default) if fields is not None else default


#: The typed collections of the subject's counted entries an expression may read (``Decider.collections``).
COLLECTIONS = frozenset({"deductions", "repairs", "rewards"})


#: The fields of a ``subject`` record that come from its spot-check record (``Decider.clean_record``).
CLEAN_FIELDS = frozenset({"clean_years", "failures", "passes"})


def reads_record_fields(node, name: str, fields: frozenset[str]) -> bool:
    """Whether an expression reads one of ``fields`` of the record ``name``, or uses the record
    other than through a field (passed whole: then every field counts as read)."""
    from ..language import ast

    through_field = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Field) and isinstance(n.obj, ast.Name) and n.obj.name == name:
            if n.name in fields:
                return True
            through_field.add(id(n.obj))
    return any(isinstance(n, ast.Name) and n.name == name and id(n) not in through_field for n in ast.walk(node))


#: The role an item or a reward rule for ``producer`` or ``seller`` asks of an operator.
ROLES = {"producer": "producer", "seller": "seller"}


#: ``Entry.order`` and the order of a subject's entries, as C key functions (the same tuples).
#: Events in (date, id) order and their ids: ids are strings (``history.models.Id``).
EVENT_ORDER = attrgetter("date", "id")


EVENT_ID = attrgetter("id")


BY_DATE_AND_EVENT = attrgetter("date", "event")


ENTRY_ORDER = attrgetter("date", "event", "kind")


def failing(conditions, env: dict) -> list[tuple[str, str | None]]:
    """(reason, cite) of each condition that does not hold in ``env`` (第十四条、第十六条、第十七条).

    Calls the compiled functions themselves; should one fail, the conditions are evaluated
    again through :class:`~qrules.language.CompiledExpr`, which raises the error with its place
    in the ruleset (the conditions are pure: evaluating them again changes nothing)."""
    try:
        return [(c.reason, c.cite) for c in conditions if not c.expr.fn(env)]
    except Exception:  # noqa: BLE001 - re-raised, located, by the second pass
        return [(c.reason, c.cite) for c in conditions if not c.expr(env)]


def value_of(expr, env: dict) -> Any:
    """``expr(env)`` through the compiled function itself; should it fail, evaluated again through
    :class:`~qrules.language.CompiledExpr`, which raises the error with its place in the ruleset."""
    try:
        return expr.fn(env)
    except Exception:  # noqa: BLE001 - re-raised, located, by the second evaluation
        return expr(env)


def exact(value: Decimal) -> Decimal:
    """The same number without trailing zeros (1.50 -> 1.5, 9.0 -> 9), never in exponent form.

    Memoised by value (a fourth of the three decimal operations' cost; scores and points recur):
    equal numbers have one exact form, except zero (0 and -0 are equal keys), never memoised."""
    hit = _EXACT.get(value)
    if hit is None:
        normal = value.normalize()
        hit = normal.quantize(ONE) if normal == normal.to_integral_value() else normal
        if value:
            if len(_EXACT) > 100_000:
                _EXACT.clear()
            _EXACT[value] = hit
    return hit


_EXACT: dict[Decimal, Decimal] = {}


def param_text(value: Any) -> str:
    """A parameter as explanations write it (``180日``), from the ruleset's value."""
    return value.zh() if hasattr(value, "zh") else str(value)


def pct(ratio: Decimal) -> str:
    return f"{plain(ratio * 100)}%"
