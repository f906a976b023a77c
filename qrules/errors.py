"""Diagnostics shared by every stage of the pipeline.

Every problem qrules finds (a YAML syntax error, an unknown name in an expression, a
schema violation, a bad history record) becomes one :class:`Diagnostic` with a
:class:`Span` in the user's file, rendered one way::

    rulesets/haojiang-2023.yaml:42:17: error[QR012]: unknown name 'scroe'
       42 |   B: 6 < scroe < 12
          |          ^^^^^ did you mean 'score'?

Stages collect diagnostics into a list and keep going, so that a file's problems are
reported all at once; :class:`QrulesError` carries them when a stage cannot go on.
Lines and columns are 1-based, as editors show them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal, Sequence

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file (1-based line and column; end is exclusive).

    Data given as Python objects has no lines: its spans have ``line == 0`` and name the
    record by ``path`` instead (``events[3].date``).
    """

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        if not self.line:
            return f"{self.file}:{self.path}" if self.path else self.file
        return f"{self.file}:{self.line}:{self.col}"

    @classmethod
    def at_path(cls, file: str, path: tuple) -> "Span":
        """A span naming a value by its path in data (``("events", 3, "date")`` -> ``events[3].date``)."""
        return cls(file, 0, 0, path=dotted(path))


def dotted(path: tuple) -> str:
    """``("events", 3, "date")`` -> ``events[3].date``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Maps positions inside an embedded text (an expression in a YAML scalar) to the file.

    ``starts[i]`` is the (line, col) in the file where line ``i`` of the embedded text
    begins. For a plain scalar that is the scalar's mark; for a quoted one, one column
    further; for a ``|`` block, the next line at the block's indent.
    """

    file: str
    starts: tuple[tuple[int, int], ...]

    @classmethod
    def at(cls, file: str, line: int, col: int) -> "SourceMap":
        """A single-line text starting at ``file:line:col``."""
        return cls(file, ((line, col),))

    def span(self, text_line: int, text_col: int, end_line: int | None = None,
             end_col: int | None = None) -> Span:
        """Span of text positions (1-based line and column within the embedded text)."""
        line, col = self._map(text_line, text_col)
        if end_line is None or end_col is None:
            return Span(self.file, line, col)
        eline, ecol = self._map(end_line, end_col)
        return Span(self.file, line, col, eline, ecol)

    def _map(self, text_line: int, text_col: int) -> tuple[int, int]:
        index = min(max(text_line, 1), len(self.starts)) - 1
        line, col = self.starts[index]
        return line, col + text_col - 1


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, at one place, with what to do about it."""

    code: str
    message: str
    span: Span | None = None
    severity: Severity = "error"
    hint: str | None = None

    def to_dict(self) -> dict:
        from .messages import hint_zh, title_zh

        out: dict = {"code": self.code, "severity": self.severity, "message": self.message}
        if title_zh(self.code):
            out["title_zh"] = title_zh(self.code)
        if self.span is not None:
            out["file"] = self.span.file
            if self.span.line:
                out.update(line=self.span.line, col=self.span.col)
            if self.span.path:
                out["path"] = self.span.path
        hint = self.hint or hint_zh(self.code)
        if hint:
            out["hint"] = hint
        return out


def drop_echoes(diags: Sequence[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics without the errors that only repeat a QR006 at the same place: a date that
    does not exist is reported once by the YAML stage, not again by the schema as "not a date"."""
    invalid = {(d.span.file, d.span.line, d.span.col) for d in diags if d.code == "QR006" and d.span}
    if not invalid:
        return list(diags)
    return [d for d in diags if d.code == "QR006" or d.span is None or d.severity != "error"
            or (d.span.file, d.span.line, d.span.col) not in invalid]


class QrulesError(Exception):
    """Base of every error qrules raises for bad input: catch this one.

    Raised when a stage cannot continue; carries every diagnostic collected so far, each with
    its code, message, location and hint. ``str(exc)`` is one ``file:line:col: error[CODE]:
    message`` line per diagnostic.

    Attributes:
        diagnostics: every problem found (errors and warnings), in file order.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = drop_echoes(diagnostics)
        super().__init__("\n".join(render(d, source=False).splitlines()[0] for d in self.diagnostics))

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics of severity ``error``."""
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def span(self) -> Span | None:
        """Where the first error is (file, line, column), if it has a place."""
        first = (self.errors or self.diagnostics or [None])[0]
        return first.span if first is not None else None

    @property
    def code(self) -> str | None:
        """The first error's code (``QR201``...)."""
        first = (self.errors or self.diagnostics or [None])[0]
        return first.code if first is not None else None


class RulesetError(QrulesError):
    """A ruleset (or a parent it ``extends``) cannot be loaded: YAML, format, or check errors."""


class HistoryError(QrulesError):
    """A history cannot be read at all (unreadable file, not YAML/JSON, not a mapping of records).
    Problems with single records do not raise: they are in :attr:`LoadedHistory.diagnostics`."""


class RuleFailure(QrulesError):
    """A rule of the ruleset failed at run time on the values it met (QR690, e.g. a division by
    zero); the diagnostic's span is the expression's place in the ruleset."""


@dataclass
class Diagnostics:
    """A collector: stages append to it and check :attr:`has_errors` at the end."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, code: str, message: str, span: Span | None = None, *,
            severity: Severity = "error", hint: str | None = None) -> Diagnostic:
        diag = Diagnostic(code, message, span, severity, hint)
        self.items.append(diag)
        return diag

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise QrulesError(self.items)


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt ``name``, or None ("did you mean ...?")."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A ready-made hint for an unknown name, Chinese first for policy staff:
    ``是否应为 'score'？（did you mean 'score'?）``."""
    best = suggest(name, candidates)
    return f"是否应为 '{best}'？（did you mean '{best}'?）" if best else None


def did_you_mean_en(name: str, candidates: Iterable[str]) -> str | None:
    """The hint in English alone, for a text that already says it in its own words around it
    (an engine's rejection reason: ``unknown item '12.99' (did you mean '12.9'?)``)."""
    best = suggest(name, candidates)
    return f"did you mean '{best}'?" if best else None



_source_cache: dict[str, list[str]] = {}


def source_lines(file: str) -> list[str] | None:
    if file not in _source_cache:
        try:
            path = Path(file)
            if not path.is_file() or path.stat().st_size > 20_000_000:
                return None
            _source_cache[file] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
    return _source_cache[file]


def register_source(file: str, text: str) -> None:
    """Make in-memory text (a git revision, stdin) available to :func:`render`."""
    _source_cache[file] = text.splitlines()


def _display_width(text: str) -> int:
    """Terminal width of text: CJK characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# C0 and C1 controls (terminal escapes, newlines, NUL...) and the bidirectional overrides that
# reorder what a terminal shows: data (an id, a name) must never steer the terminal or break a line.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with control characters shown escaped (``\\x1b``, ``\\n``, ``\\u202e``); with
    ``newlines``, line breaks are kept (for multi-line output built by qrules itself)."""
    def esc(m: re.Match) -> str:
        ch = m.group()
        if newlines and ch == "\n":
            return ch
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch) or (
            f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
    return _CONTROLS.sub(esc, text) if _CONTROLS.search(text) else text


_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


def chinese_first(diag: Diagnostic) -> str:
    """The message with its code's Chinese title in front, unless it already starts in Chinese."""
    from .messages import title_zh

    title = title_zh(diag.code)
    if not title or _CJK.match(diag.message) or diag.message.startswith(title):
        return diag.message
    return f"{title}：{diag.message}"


def _csv_cell(line: str, index: int) -> tuple[int, int]:
    """(character column, width) of the ``index``-th cell (1-based) of a CSV line, quotes respected."""
    starts, quoted = [0], False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            starts.append(i + 1)
    if index > len(starts):
        return 1, 1
    start = starts[index - 1]
    end = starts[index] - 1 if index < len(starts) else len(line)
    return start + 1, max(end - start, 1)


def render(diag: Diagnostic, *, source: bool = True) -> str:
    """Render a diagnostic as ``file:line:col: severity[CODE]: 中文标题：message`` plus a caret line
    (control characters in the message or the quoted line are shown escaped)."""
    from .messages import hint_zh

    where = f"{printable(str(diag.span))}: " if diag.span else ""
    head = f"{where}{diag.severity}[{diag.code}]: {printable(chinese_first(diag))}"
    hint = diag.hint or hint_zh(diag.code)  # every message says what to do
    hint = printable(hint) if hint else None
    if not (source and diag.span):
        return head + (f"\n    = {hint}" if hint else "")
    lines = source_lines(diag.span.file)
    if not lines or not (1 <= diag.span.line <= len(lines)):
        return head + (f"\n    = {hint}" if hint else "")
    text = lines[diag.span.line - 1]
    if len(text) > 200:
        text = text[:200] + "…"
    gutter = f"{diag.span.line:>5} | "
    col = max(diag.span.col, 1)
    width = 1
    if diag.span.end_line == diag.span.line and diag.span.end_col and diag.span.end_col > col:
        width = diag.span.end_col - col
    if diag.span.file.lower().endswith(".csv"):  # a CSV span's column is the cell's index, not a character
        col, width = _csv_cell(text, col)
    pad = _display_width(printable(text[: col - 1]))
    caret_width = max(_display_width(printable(text[col - 1: col - 1 + width])), 1)
    caret = " " * pad + "^" * caret_width
    tail = f" {hint}" if hint else ""
    return f"{head}\n{gutter}{printable(text)}\n{' ' * 5} | {caret}{tail}"
