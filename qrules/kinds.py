"""The record kinds of a history, in a module light enough for `qrules check` to import.

``history`` (the pydantic models) and ``deadlines`` (which checks that a ruleset's clocks
name real event kinds) both read these.
"""

SUBJECT_KINDS = ("operator", "product")
PROCEDURE_KINDS = ("notice_sent", "objection_filed", "objection_accepted", "objection_refused",
                   "objection_answered", "repair_applied", "error_reported")
EVENT_KINDS = ("deduction", "repair", "reward", "spot_check", "filing", "correction") + PROCEDURE_KINDS

#: Event kinds whose ``of`` names another event (a repair's deduction, a corrected event...).
HAS_OF = frozenset({"repair", "correction"} | set(PROCEDURE_KINDS))


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
