"""The record kinds of a history, in a module light enough for `qrules check` to import.

``history`` (the pydantic models) and ``deadlines`` (which checks that a ruleset's clocks
name real event kinds) both read these.
"""

SUBJECT_KINDS = ("operator", "product")
PROCEDURE_KINDS = ("notice_sent", "objection_filed", "objection_accepted", "objection_refused",
                   "objection_answered", "repair_applied", "error_reported")
EVENT_KINDS = ("deduction", "repair", "reward", "spot_check", "filing", "correction") + PROCEDURE_KINDS
