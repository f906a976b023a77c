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
from ..errors import Diagnostics, SourceMap, Span, did_you_mean, suggest
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

# How a terminal is named in "expected ..." hints, in English and in Chinese.
_TERMINAL_NAMES = {
    "NAME": "a name", "NUMBER": "a number", "PERCENT": "a percentage", "DATE": "a date",
    "STRING": "a string", "UNIT": "a duration unit", "$END": "the end of the expression",
}
_TERMINAL_NAMES_ZH = {
    "NAME": "名称", "NUMBER": "数字", "PERCENT": "百分数", "DATE": "日期", "STRING": "字符串",
    "UNIT": "期限单位", "$END": "表达式结尾",
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
                  smap.span(1, 1), hint="把表达式拆成几个参数或规则（split the expression into parameters or rules）")
        return None
    if not _check_nesting(text, smap, diags):
        return None
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        _syntax_error(exc, text, smap, diags)
        return None
    except LarkError as exc:  # pragma: no cover - Lark's other errors are grammar bugs
        diags.add("QR101", f"syntax error: {exc}", smap.span(1, 1), hint=_CHECK_HERE)
        return None
    if isinstance(tree, Tree):
        deep = _too_deep(tree)
        if deep is not None:
            diags.add("QR104", f"expression is too complex (more than {MAX_TREE_DEPTH} nested operations)",
                      _meta_span(deep.meta, smap),
                      hint="把表达式拆成几个参数或规则，减少连续的运算（split it into parameters or rules）")
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
              smap.span(line, col, line, col + 1),
              hint=f"括号嵌套不超过 {MAX_NESTING} 层：去掉多余的括号，或拆成几个参数（use fewer nested brackets）")
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
        diags.add("QR101", "syntax error", smap.span(exc.line, exc.column), hint=_CHECK_HERE)


_CHECK_HERE = "检查这一处的运算符、括号和引号（check the operators, brackets and quotes here）"
_HALF_WIDTH = "切换到英文输入法，用半角符号"

#: A character that is not part of the language -> (message, what to do in Chinese with the English gist).
_CHAR_ADVICE = {
    "=": ("'=' is not a comparison, use '=='", "判断相等写两个等号 '=='，如 score == 12（use '=='）"),
    "!": ("'!' is not an operator, use 'not' (or '!=' for 'not equal')",
          "“不是”写 not，“不等于”写 '!='（use 'not', or '!=' for not equal）"),
    "&": ("'&' is not an operator, use 'and'", "“并且”写 and（use 'and'）"),
    "|": ("'|' is not an operator, use 'or'", "“或者”写 or（use 'or'）"),
    "%": ("'%' must follow a number, as in 50% (there is no remainder operator)",
          "百分数写在数字后面，如 50%（write a percentage as 50%）"),
    "\"": ("unterminated string", "在字符串末尾补上同样的引号（close the string with the same quote）"),
    "'": ("unterminated string", "在字符串末尾补上同样的引号（close the string with the same quote）"),
    "{": ("'{' is not part of the language; lists are written [a, b]", "列表用方括号，如 [\"11.1\", \"11.2\"]（use [a, b]）"),
    "}": ("'}' is not part of the language; lists are written [a, b]", "列表用方括号，如 [\"11.1\", \"11.2\"]（use [a, b]）"),
    # Characters a Chinese input method produces (全角/数学符号) in place of ASCII operators.
    "≥": ("'≥' is not an operator, use '>='（以上：>=）", "“以上”（含本数）写 '>='（use '>='）"),
    "≤": ("'≤' is not an operator, use '<='（以下：<=）", "“以下”（含本数）写 '<='（use '<='）"),
    "＞": ("full-width '＞' is not an operator, use '>'（高于：>）", f"“高于”（不含本数）写 '>'，{_HALF_WIDTH}（use '>'）"),
    "＜": ("full-width '＜' is not an operator, use '<'（不满：<）", f"“不满”（不含本数）写 '<'，{_HALF_WIDTH}（use '<'）"),
    "＝": ("full-width '＝' is not an operator, use '=='", f"判断相等写 '=='，{_HALF_WIDTH}（use '=='）"),
    "≠": ("'≠' is not an operator, use '!='", "“不等于”写 '!='（use '!='）"),
    "（": ("full-width '（' is not a bracket, use '('", f"括号写 '('，{_HALF_WIDTH}（use '('）"),
    "）": ("full-width '）' is not a bracket, use ')'", f"括号写 ')'，{_HALF_WIDTH}（use ')'）"),
    "，": ("full-width '，' is not a separator, use ','", f"逗号写 ','，{_HALF_WIDTH}（use ','）"),
    "＋": ("full-width '＋' is not an operator, use '+'", f"加号写 '+'，{_HALF_WIDTH}（use '+'）"),
    "－": ("full-width '－' is not an operator, use '-'", f"减号写 '-'，{_HALF_WIDTH}（use '-'）"),
}


def _bad_character(exc: UnexpectedCharacters, text: str, smap: SourceMap, diags: Diagnostics) -> None:
    ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
    span = smap.span(exc.line, exc.column, exc.line, exc.column + 1)
    if ch == "=" and text[exc.pos_in_stream:exc.pos_in_stream + 2] == "=>":
        message, hint = "'=>' is not an operator, use '>='", "“大于或等于”写 '>='（use '>='）"
    elif ch == "=" and text[exc.pos_in_stream:exc.pos_in_stream + 2] == "=<":
        message, hint = "'=<' is not an operator, use '<='", "“小于或等于”写 '<='（use '<='）"
    elif ch in _CHAR_ADVICE:
        message, hint = _CHAR_ADVICE[ch]
    else:
        message = f"unexpected character {ch!r}"
        hint = f"删去这个字符；运算符和括号{_HALF_WIDTH}（remove it; operators are ASCII）"
    diags.add("QR101", message, span, hint=hint)


def _bad_token(exc: UnexpectedToken, text: str, smap: SourceMap, diags: Diagnostics) -> None:
    tok = exc.token
    expected = set(exc.expected)
    operand_expected = "NAME" in expected or "NUMBER" in expected
    if tok.type == "$END":
        open_, _, _ = _brackets(text)
        if not text.strip():
            diags.add("QR101", "empty expression", smap.span(1, 1), hint="写出表达式，如 score >= 12（write an expression）")
        elif open_:
            line, col = _position(text, open_[-1])
            closer = ")" if text[open_[-1]] == "(" else "]"
            diags.add("QR101", f"unclosed '{text[open_[-1]]}'", smap.span(line, col, line, col + 1),
                      hint=f"补上缺少的 '{closer}'（add the missing '{closer}'）")
        elif operand_expected:
            diags.add("QR101", "missing operand at the end of the expression", _end_span(text, smap),
                      hint="在末尾补上数值或名称，或删去最后的运算符（complete it, or remove the last operator）")
        elif "ELSE" in expected:
            diags.add("QR101", "'if' without 'else'", _end_span(text, smap),
                      hint="写成：取值 if 条件 else 另一取值（write: value if condition else other_value）")
        else:
            diags.add("QR101", "unexpected end of expression", _end_span(text, smap), hint=_CHECK_HERE)
        return
    span = _token_span(tok, smap)
    value = str(tok.value)
    if tok.type in ("RPAR", "RSQB"):
        _, unmatched, _ = _brackets(text)
        if unmatched is not None and unmatched == tok.start_pos:
            diags.add("QR101", f"unmatched '{value}'", span,
                      hint=f"删去多余的 '{value}'，或在前面补上对应的左括号（remove it, or add the opening bracket）")
            return
    if operand_expected:
        if tok.type == "UNIT":
            diags.add("QR101", f"'{value}' is a reserved word and cannot be used as a name", span,
                      hint=f"'{value}' 是期限单位，只能写在数字后，如 3 {value}（a duration unit, as in 3 {value}）")
            return
        if value in _OPERATORS or tok.type in ("RPAR", "RSQB", "COMMA"):
            diags.add("QR101", f"missing operand before '{value}'", span,
                      hint=f"在 '{value}' 前补上数值或名称（put a value before '{value}'）")
            return
    else:
        prev = _previous_token(text, tok.start_pos)
        if expected == {"IN"}:
            diags.add("QR101", f"expected 'in' after 'not', got '{value}'", span,
                      hint="“不属于”写成 x not in [a, b]；“不是”把 not 写在条件前（write 'x not in [a, b]'）")
            return
        if tok.type == "NAME" and prev is not None and prev.type == "NUMBER" and prev.end_pos == tok.start_pos \
                and re.fullmatch(r"[eE][+-]?\d*", value):
            diags.add("QR101", "exponent notation is not allowed; write the number in full",
                      smap.span(prev.line, prev.column, tok.end_line, tok.end_column),
                      hint="把数字完整写出，如 100000，不写 1e5（write the number in full）")
            return
        if tok.type == "NAME" and prev is not None and prev.type == "NUMBER":
            best = suggest(value.lower(), UNITS)
            if best is not None:
                diags.add("QR106", f"unknown duration unit '{value}'", span, hint=did_you_mean(value, [best]))
            else:
                diags.add("QR101", f"missing operator between '{prev.value}' and '{value}'", span,
                          hint="期限写作数字加单位，如 36 months（单位：days、weeks、months、years、workdays）；"
                               "否则两者之间缺少运算符（durations are written like 36 months）")
            return
        if tok.type in _OPERANDS or tok.type == "UNIT":
            prev_text = f"'{prev.value}'" if prev is not None else "the previous operand"
            diags.add("QR101", f"missing operator between {prev_text} and '{value}'", span,
                      hint="在两者之间补上运算符，如 +、-、>=、and、or（add an operator between them）")
            return
    names = sorted({_TERMINAL_NAMES.get(t, None) or _literal(t) for t in expected})
    listed = ", ".join(n for n in names if n)
    listed_zh = "、".join(sorted({_TERMINAL_NAMES_ZH.get(t, None) or _literal(t) for t in expected}))
    diags.add("QR101", f"unexpected {_describe(tok)}", span,
              hint=f"此处应为 {listed_zh}（expected {listed}）" if listed and len(names) <= 8 else _CHECK_HERE)


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
                           _token_span(tok, self.smap),
                           hint=f"数字不超过 {MAX_DIGITS} 位，检查是否多写了数字（write the number with fewer digits）")
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
                reason, zh = f"there is no month {month}", f"没有 {month} 月"
            elif year < 1:
                reason, zh = "there is no year 0", "没有 0 年"
            else:
                last = (date(year + (month == 12), month % 12 + 1, 1) - date(year, month, 1)).days
                reason, zh = f"{year}-{month:02d} has {last} days", f"{year} 年 {month} 月只有 {last} 天"
            self.diags.add("QR102", f"invalid date '{text}': {reason}", self._span(meta),
                           hint=f"{zh}：日期写作 YYYY-MM-DD，且须真实存在（write a date that exists）")
            value = date(2000, 1, 1)
        return ast.Literal(value, DATE, self._span(meta))

    def duration(self, meta, children):
        number, unit = children
        amount = self._decimal(number)
        if amount != amount.to_integral_value():
            self.diags.add("QR107", f"a duration must be a whole number of {unit.value.rstrip('s')}s, "
                                    f"got {number.value}", self._span(meta),
                           hint="期限数量写整数，如 18 months，或改用更小的单位，如 days（write a whole number, or a smaller unit）")
            amount = Decimal(0)
        count, name = int(amount), unit.value if unit.value.endswith("s") else unit.value + "s"
        if name == "weeks":
            count, name = count * 7, "days"
        limit = MAX_DURATION[name]
        if abs(count) > limit:
            self.diags.add("QR108", f"duration {number.value} {unit.value} is longer than {MAX_DURATION_YEARS} years "
                                    f"(at most {limit:,} {name})", self._span(meta),
                           hint=f"期限不超过 {MAX_DURATION_YEARS} 年，否则日期计算会超出日历范围"
                                "（date arithmetic with it would leave the calendar）")
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
