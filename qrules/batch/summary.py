"""What a batch run says at the end: subjects per class, events counted and refused by code,
the warnings and version notes of one evaluation of the whole corpus.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..tables import ChunkResult


@dataclass
class BatchSummary:
    """Totals over all chunks (and the loader's refused records)."""

    subjects: int = 0
    by_official_class: Counter = field(default_factory=Counter)
    by_live_class: Counter = field(default_factory=Counter)
    events: int = 0
    events_counted: int = 0
    events_rejected: int = 0
    rejected_by_code: Counter = field(default_factory=Counter)
    excluded_by_code: Counter = field(default_factory=Counter)
    invalid_records_by_code: Counter = field(default_factory=Counter)
    invalid_subjects: int = 0
    events_not_yet_recorded: int = 0  # valid events entered after --as-known-at, left out (brief §4a)
    chunks: int = 0
    worker_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: dates with no version in force in any chunk (events, adjustments): made into notes by :meth:`finish`
    version_days: tuple = field(default_factory=lambda: (set(), set()))
    _said: set = field(default_factory=set, repr=False, compare=False)  # the warnings already in ``warnings``

    def add(self, r: ChunkResult) -> None:
        self.subjects += len(r.subjects)
        self.by_official_class.update(r.by_official_class)
        self.by_live_class.update(r.by_live_class)
        self.events += r.events
        self.events_counted += r.events_counted
        self.events_rejected += r.events_rejected
        self.rejected_by_code.update(r.rejected_by_code)
        self.events_not_yet_recorded += r.not_yet_recorded
        for x in r.excluded:
            self.excluded_by_code[excluded_code(x)] += 1
        self.chunks += 1
        self.worker_seconds += r.seconds
        for w in r.warnings:  # every chunk's, once (kept in a set: a large run has thousands of chunks)
            if w not in self._said:
                self._said.add(w)
                self.warnings.append(w)
        for seen, days in zip(self.version_days, r.version_days):
            seen.update(days)

    def finish(self, compiled: Any, as_of: dt.date) -> None:
        """The notes on dates with no version in force (brief §4a), said once for the whole corpus
        from every chunk's dates, before the other warnings (as the engine orders them)."""
        from types import SimpleNamespace

        from ..engine import timeline_of, version_notes

        tl = timeline_of(compiled)
        events, adjustments = (sorted(d) for d in self.version_days)
        notes = version_notes(tl, as_of, [n for n in map(tl.out_of_force, events) if n is not None],
                              [SimpleNamespace(adjustments=[SimpleNamespace(date=d) for d in adjustments])])
        self.warnings[:0] = [n.message for n in notes if n.message not in self.warnings]

    def to_dict(self) -> dict[str, Any]:
        return {"subjects": self.subjects, "by_official_class": dict(sorted(self.by_official_class.items())),
                "by_live_class": dict(sorted(self.by_live_class.items())), "events": self.events,
                "events_counted": self.events_counted, "events_rejected": self.events_rejected,
                "rejected_by_code": dict(sorted(self.rejected_by_code.items())),
                "excluded_subjects_by_code": dict(sorted(self.excluded_by_code.items())),
                "invalid_records_by_code": dict(sorted(self.invalid_records_by_code.items())),
                "invalid_subjects": self.invalid_subjects, "events_not_yet_recorded": self.events_not_yet_recorded,
                "chunks": self.chunks,
                "worker_seconds": round(self.worker_seconds, 3), "warnings": self.warnings}


def excluded_code(x: Any) -> str:
    return x.code or "other"
