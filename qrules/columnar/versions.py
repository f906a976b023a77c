"""Versions over time (brief §4a) for the columnar backend: which version's backend evaluates.

Pipeline position: :meth:`qrules.columnar.ColumnarBackend.evaluate` asks :func:`route` before
evaluating a ruleset family with several versions. The engine (the reference,
``engine.decide_timeline``) decides each deduction, repair and reward under the version in force
on its own date (or a ``redecide`` successor), each half-year adjustment under the version in
force on the adjustment date and the live class under the version in force on the as-of date.

When one version is in force on all of those dates, that version decides everything: its own
backend gives the engine's results exactly (the family's timeline still words the notes on
dates with no version in force). The version in force changes monotonically with the date, so
the earliest and latest decision dates and the as-of date settle it: adjustments fall between
a subject's first record and the as-of date, and a ``redecide`` successor starts after one of
them. A corpus whose decisions straddle a change of version is not taken yet: the backend falls
back, naming the dates and versions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["route"]

#: The event kinds decided on their own date (``Decider.use``); corrections may move them (``changes_date``).
DECIDED = ("deduction", "repair", "reward")


def route(timeline: Any, tables: Any, as_of: dt.date) -> tuple[Any, str | None]:
    """(the piece of ``timeline`` that decides every date of ``tables`` evaluated as of ``as_of``,
    None), or (None, why not) naming the versions when there are several."""
    import polars as pl

    live = tables.events.lazy().filter(pl.col("date") <= as_of)
    span = pl.concat([
        live.filter(pl.col("kind").is_in(DECIDED)).select(day=pl.col("date")),
        live.filter(pl.col("kind") == "correction").select(day=pl.col("changes_date")),  # an amended date
    ]).select(lo=pl.col("day").min(), hi=pl.col("day").max()).collect().row(0)
    face = timeline.at(as_of)
    days = [d for d in span if d is not None]
    used = sorted({timeline.at(d).label for d in days} | {face.label},
                  key=lambda label: timeline.by_label(label).start)
    if len(used) == 1:
        return face, None
    lo, hi = min(days + [as_of]), max(days + [as_of])
    spans = [p for p in timeline.pieces if timeline.at(lo).start <= p.start <= timeline.at(hi).start]
    where = ", ".join(f"{p.label} {p.start}..{p.until or ''}" for p in spans)
    return None, (f"events, adjustments and the as-of date from {lo} to {hi} fall under {len(spans)} versions "
                    f"({where}); deciding each under its own (§4a) across a change of version is new to the "
                    f"columnar backend")
