"""Text -> AST: the first stage of ``parser -> check -> compiler``.

The grammar is ``grammar/qrules.lark`` (shipped as ``qrules.grammar``), parsed LALR with
positions; the Lark parser is built once. A :class:`lark.Transformer` turns the tree into
:mod:`qrules.language.ast` nodes whose spans are mapped through the :class:`~qrules.errors.SourceMap`
to the user's file. Syntax errors and limits become diagnostics (codes ``QR1xx``), never
exceptions: limits are checked on the raw text before Lark, and on the tree depth before
the (recursive) transformer runs.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from decimal import Decimal
from importlib.resources import files
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from . import ast
from ..errors import Diagnostics, SourceMap, Span, suggest
from .runtime import CTX, Duration
from .types import BOOL, DATE, DURATION, NUMBER, STRING

MAX_LENGTH = 10_000
MAX_NESTING = 64
MAX_TREE_DEPTH = 200
MAX_DIGITS = 30
#: The longest duration a ruleset may write: dates qrules evaluates (1900-2199) shifted by it
#: stay inside the calendar (years 1-9999).
MAX_DURATION_YEARS = 200
MAX_DURATION = {"days": 366 * MAX_DURATION_YEARS, "workdays": 366 * MAX_DURATION_YEARS,
                "months": 12 * MAX_DURATION_YEARS, "years": MAX_DURATION_YEARS}

CODES: dict[str, str] = {
    "QR101": "syntax error (unexpected token or character, missing operand, unclosed bracket...)",
    "QR102": "invalid date literal",
    "QR103": "expression too long",
    "QR104": "expression nested too deeply",
    "QR105": "number literal has too many digits",
    "QR106": "unknown duration unit",
    "QR107": "duration amount is not a whole number",
    "QR108": "duration too long (more than 200 years): date arithmetic with it would leave the calendar",
}

UNITS = ("day", "days", "week", "weeks", "month", "months", "year", "years", "workday", "workdays")
KEYWORDS = frozenset({"and", "or", "not", "in", "if", "else", "for", "true", "false", *UNITS})

# How a terminal is named in "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "a name", "NUMBER": "a number", "PERCENT": "a percentage", "DATE": "a date",
    "STRING": "a string", "UNIT": "a duration unit", "$END": "the end of the expression",
}
_OPERATORS = {"+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in", "if",
              "else", "for", ",", ")", "]", "."}
_OPERANDS = {"NAME", "NUMBER", "PERCENT", "DATE", "STRING", "TRUE", "FALSE", "LPAR", "LSQB"}


def _cache_folder() -> int | None:
    """An fd of the per-user cache folder, only if no other user can write in it.

    The cached tables are a pickle, and loading a pickle runs code: a file another user could
    plant must never be loaded. So the folder must be a real directory (not a symlink) owned
    by this user with no access for anyone else, and the file (checked in :func:`_lark`)
    owned by this user and writable by no one else. Elsewhere (no ``getuid``), no cache.
    """
    import os

    if not hasattr(os, "getuid") or not hasattr(os, "O_NOFOLLOW"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "qrules")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    st = os.fstat(fd)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        os.close(fd)
        return None
    return fd


def _load_cached(name: str, folder: int) -> Lark | None:
    import os
    import stat

    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None
        try:
            return Lark.load(fh)
        except Exception:  # noqa: BLE001 - a stale or damaged cache of our own: rebuild it
            return None


def _save_cached(parser: Lark, name: str, folder: int) -> None:
    import os

    tmp = f".{name}.{os.getpid()}.part"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder)
        with os.fdopen(fd, "wb") as fh:
            parser.save(fh)
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except OSError:
        try:
            os.unlink(tmp, dir_fd=folder)
        except OSError:
            pass


@functools.cache
def _lark() -> Lark:
    """The LALR parser, built once per process; its tables are cached across runs in a
    folder only this user can write (building them costs ~80-120 ms of every start-up)."""
    import hashlib
    import os

    import lark

    grammar = (files("qrules.grammar") / "qrules.lark").read_text(encoding="utf-8")
    options = dict(parser="lalr", lexer="basic", propagate_positions=True, maybe_placeholders=True)
    key = hashlib.sha256(f"{grammar}{sorted(options.items())}{lark.__version__}".encode("utf-8")).hexdigest()[:16]
    name = f"grammar-{key}.lark-tables"
    folder = _cache_folder()
    if folder is None:
        return Lark(grammar, **options)
    try:
        parser = _load_cached(name, folder)
        if parser is None:
            parser = Lark(grammar, **options)
            _save_cached(parser, name, folder)
        return parser
    finally:
        os.close(folder)


def parse(text: str, smap: SourceMap, diags: Diagnostics) -> ast.Expr | None:
    """Parse an expression; on error add a diagnostic to ``diags`` and return None.

    Args:
        text: the expression, as it appears in the YAML scalar.
        smap: where ``text`` sits in its file; every span goes through it.
        diags: collector for syntax and limit errors.
    """
    if len(text) > MAX_LENGTH:
        diags.add("QR103", f"expression is too long ({len(text):,} characters; the limit is {MAX_LENGTH:,})",
                  smap.span(1, 1))
        return None
    if not _check_nesting(text, smap, diags):
        return None
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        _syntax_error(exc, text, smap, diags)
        return None
    except LarkError as exc:  # pragma: no cover - Lark's other errors are grammar bugs
        diags.add("QR101", f"syntax error: {exc}", smap.span(1, 1))
        return None
    if isinstance(tree, Tree):
        deep = _too_deep(tree)
        if deep is not None:
            diags.add("QR104", f"expression is too complex (more than {MAX_TREE_DEPTH} nested operations)",
                      _meta_span(deep.meta, smap))
            return None
    before = len(diags.items)
    node = _ToAst(smap, diags).transform(tree)
    if len(diags.items) > before:
        return None
    return node


# --- limits ------------------------------------------------------------------------------

def _position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of ``text[index]``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _brackets(text: str) -> tuple[list[int], int | None, int | None]:
    """Scan brackets outside strings: (still-open indexes, first unmatched closer, too-deep opener)."""
    stack: list[int] = []
    quote = None
    escaped = False
    unmatched = too_deep = None
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote or ch == "\n":
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            stack.append(i)
            if len(stack) > MAX_NESTING and too_deep is None:
                too_deep = i
                break
        elif ch in ")]":
            if stack and text[stack[-1]] == "([" [")]".index(ch)]:
                stack.pop()
            elif unmatched is None:
                unmatched = i
    return stack, unmatched, too_deep


def _check_nesting(text: str, smap: SourceMap, diags: Diagnostics) -> bool:
    _, _, too_deep = _brackets(text)
    if too_deep is None:
        return True
    line, col = _position(text, too_deep)
    diags.add("QR104", f"expression is nested too deeply (more than {MAX_NESTING} brackets)",
              smap.span(line, col, line, col + 1))
    return False


def _too_deep(tree: Tree) -> Tree | None:
    """The first subtree below the depth limit, found without recursion."""
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            return node
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))
    return None


# --- syntax errors -----------------------------------------------------------------------

def _token_span(tok: Token, smap: SourceMap) -> Span:
    return smap.span(tok.line, tok.column, tok.end_line, tok.end_column)


def _end_span(text: str, smap: SourceMap) -> Span:
    stripped = text.rstrip()
    line, col = _position(text, len(stripped))
    return smap.span(line, col, line, col + 1)


def _previous_token(text: str, pos: int) -> Token | None:
    """The token before character index ``pos`` (to explain `1e5` and `3 fortnights`)."""
    prev = None
    try:
        for tok in _lark().lex(text[:pos]):
            prev = tok
    except LarkError:
        return None
    return prev


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "end of expression"
    return f"'{tok.value}'"


def _syntax_error(exc: UnexpectedInput, text: str, smap: SourceMap, diags: Diagnostics) -> None:
    if isinstance(exc, UnexpectedCharacters):
        _bad_character(exc, text, smap, diags)
    elif isinstance(exc, UnexpectedToken):
        _bad_token(exc, text, smap, diags)
    else:  # pragma: no cover - UnexpectedEOF is not raised by LALR
        diags.add("QR101", "syntax error", smap.span(exc.line, exc.column))


_CHAR_ADVICE = {
    "=": "'=' is not a comparison, use '=='",
    "!": "'!' is not an operator, use 'not' (or '!=' for 'not equal')",
    "&": "'&' is not an operator, use 'and'",
    "|": "'|' is not an operator, use 'or'",
    "%": "'%' must follow a number, as in 50% (there is no remainder operator)",
    "\"": "unterminated string",
    "'": "unterminated string",
    "{": "'{' is not part of the language; lists are written [a, b]",
    "}": "'}' is not part of the language; lists are written [a, b]",
    # Characters a Chinese input method produces (全角/数学符号) in place of ASCII operators.
    "≥": "'≥' is not an operator, use '>='（以上：>=）",
    "≤": "'≤' is not an operator, use '<='（以下：<=）",
    "＞": "full-width '＞' is not an operator, use '>'（高于：>）",
    "＜": "full-width '＜' is not an operator, use '<'（不满：<）",
    "＝": "full-width '＝' is not an operator, use '=='",
    "≠": "'≠' is not an operator, use '!='",
    "（": "full-width '（' is not a bracket, use '('",
    "）": "full-width '）' is not a bracket, use ')'",
    "，": "full-width '，' is not a separator, use ','",
    "＋": "full-width '＋' is not an operator, use '+'",
    "－": "full-width '－' is not an operator, use '-'",
}


def _bad_character(exc: UnexpectedCharacters, text: str, smap: SourceMap, diags: Diagnostics) -> None:
    ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
    span = smap.span(exc.line, exc.column, exc.line, exc.column + 1)
    if ch == "=" and text[exc.pos_in_stream:exc.pos_in_stream + 2] == "=>":
        message = "'=>' is not an operator, use '>='"
    elif ch == "=" and text[exc.pos_in_stream:exc.pos_in_stream + 2] == "=<":
        message = "'=<' is not an operator, use '<='"
    elif ch in _CHAR_ADVICE:
        message = _CHAR_ADVICE[ch]
    elif ch in "\"'":  # pragma: no cover - covered by the table
        message = "unterminated string"
    else:
        message = f"unexpected character {ch!r}"
    diags.add("QR101", message, span)


def _bad_token(exc: UnexpectedToken, text: str, smap: SourceMap, diags: Diagnostics) -> None:
    tok = exc.token
    expected = set(exc.expected)
    operand_expected = "NAME" in expected or "NUMBER" in expected
    if tok.type == "$END":
        open_, _, _ = _brackets(text)
        if not text.strip():
            diags.add("QR101", "empty expression", smap.span(1, 1))
        elif open_:
            line, col = _position(text, open_[-1])
            closer = ")" if text[open_[-1]] == "(" else "]"
            diags.add("QR101", f"unclosed '{text[open_[-1]]}'", smap.span(line, col, line, col + 1),
                      hint=f"add the missing '{closer}'")
        elif operand_expected:
            diags.add("QR101", "missing operand at the end of the expression", _end_span(text, smap))
        elif "ELSE" in expected:
            diags.add("QR101", "'if' without 'else'", _end_span(text, smap),
                      hint="write: value if condition else other_value")
        else:
            diags.add("QR101", "unexpected end of expression", _end_span(text, smap))
        return
    span = _token_span(tok, smap)
    value = str(tok.value)
    if tok.type in ("RPAR", "RSQB"):
        _, unmatched, _ = _brackets(text)
        if unmatched is not None and unmatched == tok.start_pos:
            diags.add("QR101", f"unmatched '{value}'", span)
            return
    if operand_expected:
        if tok.type == "UNIT":
            diags.add("QR101", f"'{value}' is a reserved word and cannot be used as a name", span)
            return
        if value in _OPERATORS or tok.type in ("RPAR", "RSQB", "COMMA"):
            diags.add("QR101", f"missing operand before '{value}'", span)
            return
    else:
        prev = _previous_token(text, tok.start_pos)
        if expected == {"IN"}:
            diags.add("QR101", f"expected 'in' after 'not', got '{value}'", span)
            return
        if tok.type == "NAME" and prev is not None and prev.type == "NUMBER" and prev.end_pos == tok.start_pos \
                and re.fullmatch(r"[eE][+-]?\d*", value):
            diags.add("QR101", "exponent notation is not allowed; write the number in full",
                      smap.span(prev.line, prev.column, tok.end_line, tok.end_column))
            return
        if tok.type == "NAME" and prev is not None and prev.type == "NUMBER":
            best = suggest(value.lower(), UNITS)
            if best is not None:
                diags.add("QR106", f"unknown duration unit '{value}'", span, hint=f"did you mean '{best}'?")
            else:
                diags.add("QR101", f"missing operator between '{prev.value}' and '{value}'", span,
                          hint="durations are written like 36 months (units: days, weeks, months, years, workdays)")
            return
        if tok.type in _OPERANDS or tok.type == "UNIT":
            prev_text = f"'{prev.value}'" if prev is not None else "the previous operand"
            diags.add("QR101", f"missing operator between {prev_text} and '{value}'", span)
            return
    names = sorted({_TERMINAL_NAMES.get(t, None) or _literal(t) for t in expected})
    listed = ", ".join(n for n in names if n)
    diags.add("QR101", f"unexpected {_describe(tok)}", span,
              hint=f"expected {listed}" if listed and len(names) <= 8 else None)


def _literal(terminal: str) -> str:
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except (KeyError, AttributeError):
        return terminal
    return f"'{pattern.value}'" if pattern.type == "str" else terminal


# --- tree -> AST ---------------------------------------------------------------------------

def _meta_span(meta: Any, smap: SourceMap) -> Span:
    if getattr(meta, "empty", True):
        return smap.span(1, 1)
    return smap.span(meta.line, meta.column, meta.end_line, meta.end_column)


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "\"": "\"", "'": "'"}


@v_args(meta=True)
class _ToAst(Transformer):
    """Lark tree -> :mod:`qrules.language.ast`; literal errors are collected, not raised."""

    def __init__(self, smap: SourceMap, diags: Diagnostics):
        super().__init__(visit_tokens=False)
        self.smap = smap
        self.diags = diags

    def _span(self, meta: Any) -> Span:
        return _meta_span(meta, self.smap)

    def _decimal(self, tok: Token) -> Decimal:
        digits = sum(ch.isdigit() for ch in tok.value)
        if digits > MAX_DIGITS:
            self.diags.add("QR105", f"number has {digits} digits; at most {MAX_DIGITS} are allowed",
                           _token_span(tok, self.smap))
            return Decimal(0)
        return Decimal(tok.value.rstrip("%"))

    def number(self, meta, children):
        return ast.Literal(self._decimal(children[0]), NUMBER, self._span(meta))

    def percent(self, meta, children):
        return ast.Literal(CTX.divide(self._decimal(children[0]), 100), NUMBER, self._span(meta))

    def string(self, meta, children):
        raw = children[0].value[1:-1]
        value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), raw)
        return ast.Literal(value, STRING, self._span(meta))

    def true(self, meta, children):
        return ast.Literal(True, BOOL, self._span(meta))

    def false(self, meta, children):
        return ast.Literal(False, BOOL, self._span(meta))

    def date(self, meta, children):
        text = children[0].value
        year, month, day = (int(part) for part in text.split("-"))
        try:
            value = date(year, month, day)
        except ValueError:
            if not 1 <= month <= 12:
                reason = f"there is no month {month}"
            elif year < 1:
                reason = "there is no year 0"
            else:
                last = (date(year + (month == 12), month % 12 + 1, 1) - date(year, month, 1)).days
                reason = f"{year}-{month:02d} has {last} days"
            self.diags.add("QR102", f"invalid date '{text}': {reason}", self._span(meta))
            value = date(2000, 1, 1)
        return ast.Literal(value, DATE, self._span(meta))

    def duration(self, meta, children):
        number, unit = children
        amount = self._decimal(number)
        if amount != amount.to_integral_value():
            self.diags.add("QR107", f"a duration must be a whole number of {unit.value.rstrip('s')}s, "
                                    f"got {number.value}", self._span(meta))
            amount = Decimal(0)
        count, name = int(amount), unit.value if unit.value.endswith("s") else unit.value + "s"
        if name == "weeks":
            count, name = count * 7, "days"
        limit = MAX_DURATION[name]
        if abs(count) > limit:
            self.diags.add("QR108", f"duration {number.value} {unit.value} is longer than {MAX_DURATION_YEARS} years "
                                    f"(at most {limit:,} {name})", self._span(meta),
                           hint="date arithmetic with it would leave the calendar")
            count = 0
        return ast.Literal(Duration(count, name), DURATION, self._span(meta))

    def list(self, meta, children):
        return ast.ListExpr(tuple(children), self._span(meta))

    def name(self, meta, children):
        return ast.Name(str(children[0].value), self._span(meta))

    def field(self, meta, children):
        obj, tok = children
        return ast.Field(obj, str(tok.value), _token_span(tok, self.smap), self._span(meta))

    def call(self, meta, children):
        tok, *args = children
        return ast.Call(str(tok.value), _token_span(tok, self.smap), tuple(args), self._span(meta))

    def generator(self, meta, children):
        func, elem, var, iterable, cond = children
        start = elem.span
        end = cond.span if cond is not None else iterable.span
        span = Span(start.file, start.line, start.col, end.end_line, end.end_col)
        comp = ast.Comprehension(elem, str(var.value), _token_span(var, self.smap), iterable, cond, span)
        return ast.Call(str(func.value), _token_span(func, self.smap), (comp,), self._span(meta))

    def neg(self, meta, children):
        return ast.Unary("-", children[0], self._span(meta))

    def not_(self, meta, children):
        return ast.Unary("not", children[0], self._span(meta))

    def _binary(op):  # noqa: N805 - a factory used in the class body
        def method(self, meta, children):
            return ast.Binary(op, children[0], children[1], self._span(meta))
        method.__name__ = op
        return method

    add = _binary("+")
    sub = _binary("-")
    mul = _binary("*")
    div = _binary("/")
    and_ = _binary("and")
    or_ = _binary("or")
    del _binary

    def if_expr(self, meta, children):
        then, cond, orelse = children
        return ast.IfElse(cond, then, orelse, self._span(meta))

    def comp_op(self, meta, children):
        return (" ".join(tok.value for tok in children), self._span(meta))

    def comparison(self, meta, children):
        operands = tuple(children[0::2])
        ops = tuple(op for op, _ in children[1::2])
        spans = tuple(span for _, span in children[1::2])
        return ast.Compare(operands, ops, spans, self._span(meta))


__all__ = ["CODES", "parse", "MAX_LENGTH", "MAX_NESTING", "MAX_TREE_DEPTH", "MAX_DIGITS", "KEYWORDS"]
