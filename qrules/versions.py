"""Rules over time (brief §4a): which compiled version decides what, on which date.

Pipeline position: ``registry`` (a rulesets folder: families, versions, periods) ->
**versions** (a :class:`Timeline` of compiled pieces) -> ``engine``. A piece is one
compiled ruleset for one period: a version on its own (``guangdong-2021``), or a version
that follows a family over the period of one of that family's versions
(``haojiang-2023/guangdong-2026``). The engine asks the timeline for the piece in force on
an event's date, an adjustment date or the as-of date; where none is in force it goes on
under the last one (the first, before any) and says so.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Piece", "Timeline", "OutOfForce", "require_in_force", "in_force_on"]

#: ``--require-in-force``: a date decided with no version in force is an error (QR907), not a notice.
#: Here, with the versions, rather than in the engine that reads it: the command line sets it for
#: every command, and ``qrules check`` should not import the engine to do so.
require_in_force: contextvars.ContextVar[bool] = contextvars.ContextVar("require_in_force", default=False)


@dataclass(frozen=True)
class Piece:
    """One compiled ruleset and the period in which it is in force (``until`` inclusive)."""

    label: str
    start: dt.date
    until: dt.date | None
    compiled: Any                  # qrules.ruleset.CompiledRuleset
    transition: str = "keep"       # the rule of the version whose start opens this piece (§4a)
    cite: str | None = None

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.until is None or day <= self.until)


@dataclass(frozen=True)
class OutOfForce:
    """A date on which no version was in force, and the piece that decided it anyway."""

    day: dt.date
    piece: Piece
    why: str                       # Chinese first, English gist


def in_force_on(compiled: Any, day: dt.date) -> Any:
    """The version of ``compiled``'s family that decides ``day`` (brief §4a: the one in force then, or
    the last before it); ``compiled`` itself when it was loaded alone, without a timeline."""
    tl = getattr(compiled, "timeline", None)
    return tl.at(day).compiled if tl is not None else compiled


@dataclass
class Timeline:
    """The pieces of a ruleset name (a file, a version or a family), in date order, no overlap."""

    name: str
    pieces: list[Piece]
    family: str | None = None
    _at: dict = field(default_factory=dict, repr=False)

    @classmethod
    def single(cls, compiled) -> "Timeline":
        """One version on its own: the period its ``in_force`` states."""
        m = compiled.model
        return cls(m.ruleset, [Piece(m.ruleset, m.in_force.from_, m.in_force.until, compiled,
                                     m.transition or "keep", m.in_force.cite)], m.family)

    def by_label(self, label: str) -> Piece:
        return next(p for p in self.pieces if p.label == label)

    def at(self, day: dt.date) -> Piece:
        """The piece in force on ``day``; else the last one before it; else the first."""
        hit = self._at.get(day)
        if hit is None:
            hit = self.pieces[0]
            for p in self.pieces:
                if p.start <= day:
                    hit = p
            self._at[day] = hit
        return hit

    def in_force(self, day: dt.date) -> bool:
        return self.at(day).covers(day)

    def out_of_force(self, day: dt.date) -> OutOfForce | None:
        """Why no version is in force on ``day`` (None when one is)."""
        p = self.at(day)
        if p.covers(day):
            return None
        cites = getattr(p.compiled, "cites", {}) or {}
        if day < p.start:
            cite = cites.get("in_force_from") or p.cite
            why = (f"{day} 无有效规则：{p.label} 自 {p.start} 起施行，尚未施行，按其评价"
                   + (f"（{cite}）" if cite else "")
                   + f"（no version in force on {day}: {p.label} is in force from {p.start}; used anyway）")
        else:
            cite = cites.get("in_force_until") or p.cite
            nxt = next((q for q in self.pieces if q.start > day), None)
            until = f"，下一版本 {nxt.label} 自 {nxt.start} 起施行" if nxt else ""
            why = (f"{day} 无有效规则：{p.label} 已于 {p.until} 失效{until}，继续按其评价"
                   + (f"（{cite}）" if cite else "")
                   + f"（no version in force on {day}: {p.label} expired on {p.until}; evaluation goes on under it）")
        return OutOfForce(day, p, why)

    def redecide_starts(self, as_of: dt.date) -> list[dt.date]:
        """Starts of pieces with ``transition: redecide`` in force by ``as_of``: each opens a new
        set of decisions for the entries still in the window (§4a)."""
        return [p.start for p in self.pieces if p.transition == "redecide" and p.start <= as_of]

    def decider(self, day: dt.date, cutoff: dt.date | None) -> Piece:
        """The piece that decides an event dated ``day``: the one in force on that day, unless a
        later piece starting by ``cutoff`` re-decides the entries still in its window (§4a)."""
        piece = self.at(day)
        if cutoff is None:
            return piece
        for q in self.pieces:
            if (q.transition == "redecide" and day < q.start <= cutoff and q.start > piece.start
                    and q.compiled.in_window(day, q.start)):
                piece = q
        return piece
