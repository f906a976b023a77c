"""Review a ruleset change: ``qrules diff OLD NEW`` (:mod:`.diff`) and ``qrules impact OLD NEW
HISTORY`` (:mod:`.impact`); :mod:`.commands` holds the command line. This package is the facade."""

from __future__ import annotations

from .commands import cmd_diff, cmd_impact, register
from .diff import SECTION_LABEL, Change, ClassRange, cite_at, class_at, class_ranges, diff, format_diff, ruleset_label
from .impact import Impact, SubjectImpact, format_impact, impact

__all__ = ["Change", "ClassRange", "Impact", "SubjectImpact", "SECTION_LABEL", "class_at", "class_ranges", "cite_at",
           "diff", "impact", "format_diff", "format_impact", "ruleset_label", "register", "cmd_diff", "cmd_impact"]
