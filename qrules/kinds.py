"""The record kinds of a history and how records link, in a module light enough for `qrules check`.

``history`` (the pydantic models) and ``deadlines`` (which checks that a ruleset's clocks
name real event kinds) both read these.
"""

from typing import Any, Callable, Mapping

SUBJECT_KINDS = ("operator", "product")
PROCEDURE_KINDS = ("notice_sent", "objection_filed", "objection_accepted", "objection_refused",
                   "objection_answered", "repair_applied", "error_reported")
EVENT_KINDS = ("deduction", "repair", "reward", "spot_check", "filing", "correction") + PROCEDURE_KINDS

#: Event kinds whose ``of`` names another event (a repair's deduction, a corrected event...).
HAS_OF = frozenset({"repair", "correction"} | set(PROCEDURE_KINDS))


def subjects_concerned(event: Any, events: Mapping[str, Any], producer_of: Callable[[str], Any] | None = None,
                       depth: int = 5) -> list[str]:
    """The subjects an event concerns: those it names (``subjects``, ``subject``), else those of
    the event its ``of`` chain reaches (a repair's deduction, a notice's event), at most ``depth``
    steps; with ``producer_of``, each named product's producer too. Sorted, without repeats.

    The one answer for rejections (engine), procedure clocks (deadlines) and test cases.
    """
    for _ in range(depth + 1):
        fields = getattr(event, "__dict__", None) or {}
        names = list(fields.get("subjects") or [])
        if fields.get("subject"):
            names.append(fields["subject"])
        of = fields.get("of")
        if names or of is None or str(of) not in events:
            break
        event = events[str(of)]
    out = {str(sid) for sid in names}
    if producer_of is not None:
        out |= {str(p) for p in map(producer_of, list(out)) if p}
    return sorted(out)


def event_links(ev) -> list[str]:
    """Subject ids an event names (every field that can name one).

    Reads only the fields its kind has: ``getattr`` on a pydantic model for a missing field is slow.
    """
    kind = ev.kind
    if kind == "deduction":
        return ev.subjects
    if kind in ("reward", "spot_check", "filing"):
        return [ev.subject]
    if kind == "repair":
        return ev.subjects or []
    if kind == "correction" and ev.changes is not None and ev.changes.subjects:
        return ev.changes.subjects
    return []
