"""What every command prints and parses, in one place: exit codes, diagnostics, tables that
line up Chinese text, date options and ``-o/--output``.

The command modules (``batch``, ``review``, ``casetest``, ``deadlines``, ``plan``…) import this
module, never ``cli``: ``cli`` is only the parser and dispatcher, so nothing imports it back.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import unicodedata
from typing import Sequence

from .errors import Diagnostic, drop_echoes, printable, render

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def date_arg(text: str) -> dt.date:
    """An argparse ``type=`` for YYYY-MM-DD options; out-of-range dates are usage errors."""
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (write YYYY-MM-DD, e.g. 2025-12-31)") from None
    from .history import date_out_of_range

    problem = date_out_of_range(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def print_diagnostics(diags: Sequence[Diagnostic], fmt: str = "text", *, out=None) -> None:
    """Diagnostics as ``file:line:col: error[QRnnn]: message`` with the source line (or JSON)."""
    out = out or sys.stderr
    diags = drop_echoes(diags)
    if fmt == "json":
        print(json.dumps([d.to_dict() for d in diags], ensure_ascii=False, indent=2), file=out)
        return
    for d in diags:
        print(render(d), file=out)


def error_count(diags: Sequence[Diagnostic], source: str | None = None) -> str | None:
    """The line that ends a list of diagnostics, as ``check`` ends it: ``FILE: N error(s)（N 处错误）``.

    FILE is ``source`` or else the one file every error is in; errors from several files, or with no
    place, are counted without one. None when there is no error (warnings only)."""
    errors = [d for d in drop_echoes(diags) if d.severity == "error"]
    if not errors:
        return None
    files = {d.span.file if d.span else None for d in errors}
    where = source or (files.pop() if len(files) == 1 else None)
    return f"{where + ': ' if where else ''}{len(errors)} error(s)（{len(errors)} 处错误）"


def fail(diags: Sequence[Diagnostic], fmt: str | None = "text") -> int:
    """Report what stopped a command and return exit 1: with ``--format json`` as one JSON object
    on standard output (``{"ok": false, "diagnostics": [...]}``; ``jsonl``: the same on one line), so a
    program reading it can parse the error too; otherwise as text on standard error, ending with the
    number of errors as ``check`` ends (:func:`error_count`)."""
    if fmt in ("json", "jsonl"):
        try:
            print(json.dumps({"ok": False, "diagnostics": [d.to_dict() for d in drop_echoes(diags)]},
                             ensure_ascii=False, indent=2 if fmt == "json" else None), flush=True)
        except BrokenPipeError:  # the reader stopped reading (| head): nothing more to say
            pass
    else:
        print_diagnostics(diags)
        count = error_count(diags)
        if count:
            print(count, file=sys.stderr)
    return EXIT_ERRORS


def refused_records(loaded, source: str) -> int:
    """Exit 1 when the history had refused records (printed already; the rest was used), else 0:
    every command that reads a history says so the same way."""
    refused = loaded.errors
    if not refused:
        return EXIT_OK
    print(f"{len(refused)} input problem(s) in {source}: the records concerned were refused "
          f"（历史数据中有 {len(refused)} 处错误，相关记录未计入）", file=sys.stderr)
    return EXIT_ERRORS


def width(text: str) -> int:
    """Terminal columns of ``text``: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain-text table that lines up Chinese text (two columns per character); control
    characters in cells are shown escaped, so a name cannot break a row or steer the terminal."""
    rows = [[printable(str(c)) for c in r] for r in rows]
    header = [printable(str(h)) for h in header]
    cols = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c + " " * (cols[i] - width(c)) for i, c in enumerate(cells)).rstrip()

    out = [line(header), line(["-" * c for c in cols])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def add_output(parser: argparse.ArgumentParser, *, redirect: bool = True,
               help: str = "write to FILE instead of standard output ('-': standard output)") -> None:
    """``-o/--output FILE`` as on every command (``-``: standard output). With ``redirect``, what
    the command prints goes to FILE (CSV with a byte-order mark for Excel); ``help`` says what
    FILE receives where that is not the command's standard output."""
    parser.add_argument("--output", "-o", metavar="FILE", help=help)  # Chinese: clihelp
    if redirect:
        parser.set_defaults(redirect_output=True)
