"""As known at a date, at scale (brief §4a, two clocks): the input cut to the records entered by then.

Pipeline position: loaded input -> **knownat** -> ``batch`` (either backend) and ``deadlines``.
The engine cuts a history the same way (:func:`qrules.engine.known_at`: an event is kept when
its ``recorded`` date, default its own ``date``, is on or before the day); here the cut is made
once, before the corpus is partitioned into chunks or handed to the columnar backend, so neither
backend needs to know of it. Each cut also says how many events it left out, so that a summary
can say so: records entered later are not in the history, but they do not vanish silently.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["known_history", "known_loaded", "known_tables", "left_out_line", "left_out_of"]


def left_out_line(n: int, day: dt.date, what: str = "", grouped: bool = False) -> str:
    """The line every command prints under its counts: ``n`` events entered after ``day``, left out
    (not lost). ``what`` comes before "event" ("more valid "); ``grouped``: thousands separated."""
    count = f"{n:,}" if grouped else str(n)
    return (f"{count} {what}{'event' if n == 1 else 'events'} recorded after {day}: left out"
            f"（{count} 个事件在 {day} 之后才录入，未计入）")


def known_history(history: Any, day: dt.date) -> tuple[Any, int]:
    """``history`` as known on ``day`` (:func:`qrules.engine.known_at`) and how many events it left out."""
    from .engine import known_at

    known = known_at(history, day)
    return known, len(history.events) - len(known.events)


def left_out_of(history: Any, day: dt.date, subjects: Any = None) -> int:
    """How many events of ``history`` were entered after ``day`` among those that concern
    ``subjects`` (None: every subject). An event concerns them when it is connected to them in the
    whole history, as :func:`qrules.engine.connected_part` finds it: had it been entered by ``day``,
    it would have been evaluated with them. (``len(history.events)`` minus the events evaluated
    is right only for every subject: a few subjects' evaluation counts only their part.)"""
    if subjects is None:
        return known_history(history, day)[1]
    from .engine import connected_part

    _, events = connected_part(history, subjects)
    return known_history(history.model_copy(update={"events": events}), day)[1]


class _Known:
    """What the engine backend of ``qrules batch`` reads of a loaded history: the history as known
    on a day, and the subjects the loader refused (a refusal does not depend on the day)."""

    __slots__ = ("history", "invalid_subjects")

    def __init__(self, history: Any, invalid_subjects: dict[str, str]):
        self.history = history
        self.invalid_subjects = invalid_subjects


def known_loaded(loaded: Any, day: dt.date) -> tuple[Any, int]:
    """A loaded history (``LoadedHistory`` or the columnar loader's) as known on ``day``, with the
    subjects its loader refused, and how many events it left out (``qrules deadlines``;
    :func:`qrules.batch.evaluate_batch` cuts with its own ``as_known_at``)."""
    history, left_out = known_history(getattr(loaded, "history", loaded), day)
    return _Known(history, dict(getattr(loaded, "invalid_subjects", {}) or {})), left_out


def known_tables(tables: Any, day: dt.date) -> tuple[Any, int]:
    """:class:`qrules.columnar.Tables` as known on ``day``: the events whose ``coalesce(recorded,
    date)`` is on or before it (the engine's rule, as a column expression), and how many were left out.

    Only the columns of the tables' contract are kept: rows an evaluation already found and added
    (``Tables.subject_rows``: a repair's ``of_row`` is a row of the uncut events) would name the
    wrong rows once events are cut, so the new tables find them again."""
    import polars as pl

    from .columnar import Tables

    events = tables.events.filter(pl.coalesce("recorded", "date") <= day)
    left_out = tables.events.height - events.height
    if not left_out:
        return tables, 0
    schema = Tables.event_schema()
    events = events.select([c for c in events.columns if c in schema])
    return Tables(tables.subjects, events, tables.invalid), left_out
