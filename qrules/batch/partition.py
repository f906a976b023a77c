"""Partition a corpus into chunks of whole connected components (see :mod:`qrules.batch`):
a subject's result depends only on the records connected to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..history.kinds import components


@dataclass
class Chunk:
    """Indices into ``history.subjects`` and ``history.events`` of whole connected components."""

    subjects: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)


def partition(history: Any, chunk_size: int = 500) -> list[Chunk]:
    """Group subjects and events into chunks of whole connected components.

    The components are :func:`qrules.history.kinds.components` (product -> producer, event -> every
    subject it names, event -> the event in its ``of``), the same ``evaluate(subjects=...)``
    uses. They are packed in order of first appearance into chunks of about ``chunk_size``
    subjects; a component larger than that is one chunk of its own.
    """
    found = components(history)
    comps = [Chunk(subjects=list(s), events=list(e)) for s, e in zip(found.subjects, found.events)]
    chunks: list[Chunk] = []
    cur = Chunk()
    for comp in comps:
        if cur.subjects and len(cur.subjects) + len(comp.subjects) > chunk_size:
            chunks.append(cur)
            cur = Chunk()
        cur.subjects.extend(comp.subjects)
        cur.events.extend(comp.events)
    if cur.subjects or cur.events:
        chunks.append(cur)
    for c in chunks:  # the engine sees records in input order, as on the whole corpus
        c.subjects.sort()
        c.events.sort()
    return chunks
