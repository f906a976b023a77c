"""The ``diff`` and ``impact`` commands: arguments, loading, output and exit codes."""

from __future__ import annotations

import sys

from ..errors import QrulesError
from .diff import diff, format_diff, relabel, ruleset_label
from .impact import format_impact, impact

__all__ = ["cmd_diff", "cmd_impact", "register"]


def _write(text: str, output: str | None) -> None:
    if output and output != "-":  # '-': standard output
        from ..safeio import atomic_open

        with atomic_open(output, "w", encoding="utf-8") as f:  # complete, or the old file kept
            f.write(text)
    else:
        sys.stdout.write(text)


def cmd_diff(args) -> int:
    from ..console import fail
    from ..versioned import load

    labels = {args.old: args.old_label or args.old, args.new: args.new_label or args.new}
    try:
        old, new = load(args.old), load(args.new)
    except QrulesError as exc:
        fail(relabel(exc.diagnostics, labels), args.format)  # JSON too with --format json
        return 2 if args.exit_code else 1
    changes = diff(old, new)
    _write(format_diff(changes, args.format, labels[args.old], labels[args.new], ruleset_label(old), ruleset_label(new)),
           args.output)
    return 1 if (args.exit_code and changes) else 0


def cmd_impact(args) -> int:
    from ..console import print_diagnostics, refused_records
    from ..history.load import load_history
    from ..versioned import load

    from ..output import Status

    with Status("加载规则集与历史数据 loading", args.progress):
        old, new = load(args.old), load(args.new)
        loaded = load_history(args.history)
    if loaded.diagnostics:  # on standard error; with --format json as JSON, as explain gives them
        print_diagnostics(loaded.diagnostics, "json" if args.format == "json" else "text")
    with Status("评价 evaluating", args.progress):
        imp = impact(old, new, loaded, args.as_of)
    for w in imp.warnings:
        print(f"warning: {w}", file=sys.stderr)
    _write(format_impact(imp, args.format, args.history), args.output)
    return refused_records(loaded, args.history)  # as `qrules evaluate`: the rest was compared, refused ones: 1


def register(subparsers) -> None:
    """Add ``diff`` and ``impact`` to the ``qrules`` command line."""
    import argparse

    from ..console import date_arg as _date

    d = subparsers.add_parser(
        "diff", help="semantic diff of two rulesets in domain words, with articles",
        description="Compare two resolved rulesets (a path, or REV:path read from git, e.g. "
                    "HEAD~1:rulesets/guangdong-2021.yaml). Class thresholds are reported as the score ranges "
                    "that change class. Exit 0 on success; with --exit-code, 1 when there are changes and 2 "
                    "when a ruleset has errors (like diff(1)).")
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    d.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    d.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes, 0 when none")
    d.add_argument("--old-label", metavar="NAME", help="name OLD by NAME in the output and in messages "
                   "(the git diff driver passes the repository path)")
    d.add_argument("--new-label", metavar="NAME", help="name NEW by NAME in the output and in messages")
    d.set_defaults(func=cmd_diff)

    i = subparsers.add_parser(
        "impact", help="evaluate two rulesets over one history: who changes class, and why",
        description="Evaluate OLD and NEW over the same history and report the class transition matrix, the "
                    "subjects that change class with the reason, and score deltas.")
    i.add_argument("old", metavar="OLD")
    i.add_argument("new", metavar="NEW")
    i.add_argument("history", metavar="HISTORY", help="YAML, JSON or JSON Lines history")
    i.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                   help="evaluation date DATE, as YYYY-MM-DD (default: today)")
    i.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    i.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    i.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="status line on stderr while loading and evaluating (default: when stderr is a terminal)")
    i.set_defaults(func=cmd_impact)
