"""YAML with positions: the first stage for rulesets, histories and test cases.

PyYAML composes a node tree with marks; we build plain Python values from it ourselves so
that (1) nothing but plain data is ever constructed (safe loading, no Python tags),
(2) every value's position is kept in a side index keyed by its path, for errors at
``file:line:col`` and for provenance, and (3) numbers become exact ``Decimal``/``int``,
never binary floats. Aliases are refused (a "billion laughs" file cannot expand), as are
duplicate keys, over-large files and over-deep nesting.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from .errors import Diagnostic, Diagnostics, QrulesError, SourceMap, Span, register_source
from .messages import fullwidth_colons, yaml_message

Path_ = tuple[Any, ...]

MAX_FILE_BYTES = 20_000_000
MAX_DEPTH = 100
MAX_NODES = 2_000_000

CODES = {
    "QR001": "the file cannot be read (missing, not UTF-8, or too large)",
    "QR002": "YAML syntax error",
    "QR003": "YAML anchors and aliases are not allowed",
    "QR004": "duplicate key in a mapping",
    "QR005": "nesting too deep or file too large to load safely",
    "QR006": "invalid scalar (a date that does not exist, a number too large)",
    "QR007": "an output file cannot be written (its folder is missing, it is a directory, no permission)",
}


@dataclass(frozen=True, slots=True)
class Pos:
    """Where a value sits: its key (for mapping entries), its value, and a map of its text."""

    value: Span
    key: Span | None = None
    smap: SourceMap | None = None
    raw: str | None = None


@dataclass
class Document:
    """A loaded YAML document: plain data plus the position of every node by path."""

    file: str
    data: Any
    positions: dict[Path_, Pos]

    def span(self, path: Path_, *, key: bool = False) -> Span:
        """The best span for ``path``: the node itself, else its nearest ancestor."""
        path = tuple(path)
        while True:
            pos = self.positions.get(path)
            if pos is not None:
                return (pos.key or pos.value) if key else pos.value
            if not path:
                return Span(self.file, 1, 1)
            path = path[:-1]


class _Composer(yaml.SafeLoader):
    """Pure-Python fallback: a SafeLoader whose composer refuses aliases as it meets them."""

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(None, None, "anchors and aliases (*name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)


_INT = re.compile(r"^[-+]?[0-9_]+$")

#: The tags plain data has (what the core schema resolves untagged values to); any other tag is refused.
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in
                        ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge", "value"))


def _scalar_map(file: str, node: yaml.ScalarNode, lines: list[str]) -> SourceMap:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    style = node.style
    if style in ("'", '"'):
        return SourceMap.at(file, line, col + 1)
    if style in ("|", ">"):
        starts = []
        first = node.start_mark.line + 1  # 0-based index of first content line
        last = node.end_mark.line
        indent = None
        for idx in range(first, min(last + 1, len(lines))):
            text = lines[idx]
            if text.strip() and indent is None:
                indent = len(text) - len(text.lstrip(" "))
        indent = indent or 0
        for idx in range(first, max(last, first + 1)):
            starts.append((idx + 1, indent + 1))
        return SourceMap(file, tuple(starts) or ((line, col),))
    return SourceMap.at(file, line, col)


# libyaml's composer (C) is about 8x faster; it keeps an alias as a second reference to the
# anchored node (never expanded), which the builder then refuses.
_LOADER = getattr(yaml, "CSafeLoader", None) or _Composer


def _span(file: str, node: yaml.Node) -> Span:
    s, e = node.start_mark, node.end_mark
    return Span(file, s.line + 1, s.column + 1, e.line + 1, e.column + 1)


class _Builder:
    def __init__(self, file: str, text: str, diags: Diagnostics):
        self.file = file
        self.lines = text.splitlines()
        self.diags = diags
        self.positions: dict[Path_, Pos] = {}
        self.count = 0
        self.seen: set[int] = set()

    def build(self, node: yaml.Node, path: Path_, key: Span | None = None, depth: int = 0) -> Any:
        self.count += 1
        if id(node) in self.seen:
            raise QrulesError(Diagnostic("QR003", "YAML anchors and aliases are not allowed: this anchored "
                                         "value is used again through an alias (*name)", _span(self.file, node),
                                         hint="把取值完整写出，不要引用锚点（write the value out in full instead of referring to an anchor）"))
        self.seen.add(id(node))
        if node.tag not in _PLAIN_TAGS:
            self.diags.add("QR002", f"不允许使用 YAML 标签 '{node.tag.replace('tag:yaml.org,2002:', '!!')}'"
                           f"（YAML tags are not allowed）", _span(self.file, node),
                           hint="删除标签，或给这个值加上引号（remove the tag, or quote the value）")
        if depth > MAX_DEPTH or self.count > MAX_NODES:
            raise QrulesError(Diagnostic("QR005", f"the document is nested deeper than {MAX_DEPTH} levels "
                                         f"or has more than {MAX_NODES} values; split it or use JSON Lines",
                                         _span(self.file, node)))
        if isinstance(node, yaml.ScalarNode):
            if not node.style and "：" in node.value:
                self._fullwidth_key(node)
            smap = _scalar_map(self.file, node, self.lines)
            self.positions[path] = Pos(_span(self.file, node), key, smap, node.value)
            return self.scalar(node)
        self.positions[path] = Pos(_span(self.file, node), key)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,), None, depth + 1) for i, child in enumerate(node.value)]
        out: dict[str, Any] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                self.diags.add("QR002", "a mapping key must be a plain name or string", _span(self.file, knode))
                continue
            name = knode.value
            kspan = _span(self.file, knode)
            if name == "<<":
                self.diags.add("QR003", "merge keys (<<) are not allowed（不允许使用合并键 <<）", kspan,
                               hint="把字段完整写出；规则集用 extends 继承上级规则集（write the fields out; a ruleset "
                                    "inherits with 'extends'）")
                continue
            if name in out:
                self.diags.add("QR004", f"duplicate key '{name}'", kspan,
                               hint=f"第 {self.positions[path + (name,)].value.line} 行已有此键，只保留一个"
                                    f"（first defined at line {self.positions[path + (name,)].value.line}; keep one）")
                continue
            out[name] = self.build(vnode, path + (name,), kspan, depth + 1)
        return out

    def _fullwidth_key(self, node: yaml.ScalarNode) -> None:
        """A plain value that starts its own line as ``key：value`` is a mapping entry written
        with a full-width colon (YAML read it as text): report it with the 全角 hint."""
        line = self.lines[node.start_mark.line] if node.start_mark.line < len(self.lines) else ""
        if line[: node.start_mark.column].strip():
            return  # the value follows a key on the same line: '：' inside a text is fine
        for lineno, col, key in fullwidth_colons([line]):
            at = node.start_mark.line + 1
            self.diags.add("QR002", f"全角冒号 '：' 不能分隔键和值（'{key}：' uses a full-width colon; "
                           f"YAML needs ': '）", Span(self.file, at, col, at, col + 1),
                           hint="把全角冒号 '：' 改为半角冒号加空格 ': '")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag, value = node.tag, node.value
        if node.style:  # quoted or block (libyaml gives plain scalars style "", PyYAML None)
            return value  # quoted or block: always a string
        try:
            if tag.endswith(":null"):
                return None
            if tag.endswith(":bool"):
                return value.lower() in ("true", "yes", "on")
            if tag.endswith(":int"):
                digits = value.replace("_", "")
                if _INT.match(digits) and len(digits.lstrip("+-")) <= 30:
                    return int(digits)
                if _INT.match(digits):
                    raise ValueError(f"number '{value}' is too large (more than 30 digits)")
                return value  # 0x.., 0o.., sexagesimal: keep the text
            if tag.endswith(":float"):
                if value.lower().lstrip("+-") in (".inf", ".nan"):
                    raise ValueError(f"'{value}' is not a finite number")
                number = Decimal(value.replace("_", ""))
                if abs(number.adjusted()) > 30:
                    raise ValueError(f"number '{value}' is out of range")
                return number
            if tag.endswith(":timestamp"):
                match = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", value)
                if match:
                    try:
                        return _dt.date(int(match[1]), int(match[2]), int(match[3]))
                    except ValueError as exc:
                        self.diags.add("QR006", f"日期不存在：'{value}'（the date {value} does not exist: {exc}）",
                                       _span(self.file, node), hint="核对年、月、日（如 2 月没有 30 日，月份为 1–12）"
                                                                   "（check the year, month and day）")
                        return value
                return value
        except (ValueError, InvalidOperation) as exc:
            self.diags.add("QR006", f"invalid value '{value}': {exc}", _span(self.file, node),
                           hint="数字请直接写出，不超过 30 位（write numbers plainly, at most 30 digits）")
            return value
        return value


def _fullwidth(file: str, text: str, diags: Diagnostics, error_line: int) -> list[int]:
    """Report each ``key：value`` written with a full-width colon (a Chinese input method's
    '：') in the lines just before a YAML error, on its own; returns their line numbers."""
    lines = text.splitlines()
    first = max(error_line - 3, 1)
    found = [(first + n - 1, col, key) for n, col, key in fullwidth_colons(lines[first - 1: error_line])]
    for line, col, key in found:
        diags.add("QR002", f"全角冒号 '：' 不能分隔键和值（'{key}：' uses a full-width colon; YAML needs ': '）",
                  Span(file, line, col, line, col + 1), hint="把全角冒号 '：' 改为半角冒号加空格 ': '")
    return [line for line, _, _ in found]


def _offset_span(file: str, text: str, offset: int, *, in_bytes: bool = False) -> Span:
    """The line and column of a character offset in ``text`` (a UTF-8 byte offset with ``in_bytes``:
    libyaml counts bytes)."""
    if in_bytes:
        offset = len(text.encode("utf-8")[:offset].decode("utf-8", "ignore"))
    line = text.count("\n", 0, offset) + 1
    return Span(file, line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def byte_span(file: str, data: bytes, offset: int) -> Span:
    """The line and column (in characters) of byte ``offset`` of a file that is UTF-8 up to there."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return Span(file, data.count(b"\n", 0, offset) + 1, col)


#: What to do with a file that is not UTF-8 (Excel and Windows editors often save GBK).
NOT_UTF8_HINT = ("将文件另存为 UTF-8 编码（Excel：另存为“CSV UTF-8（逗号分隔）”；记事本：编码选 UTF-8）"
                 "（save the file as UTF-8; it is probably GBK/GB18030）")


#: What to do with a UTF-16 file (Windows Notepad's "Unicode", some exports).
UTF16_HINT = ("用记事本“另存为”，编码选 UTF-8；Excel 选“CSV UTF-8（逗号分隔）”"
              "（save the file as UTF-8: it is UTF-16, which Notepad calls 'Unicode'）")


def is_utf16(head: bytes) -> bool:
    """Whether the first bytes of a file are UTF-16: its byte-order mark, or (without one) a NUL in
    every other byte, as text written mostly in ASCII (keys, numbers, dates) gives in UTF-16."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    head = head[:512]
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    return any(a.count(0) * 2 >= len(a) and b.count(0) * 20 < len(b) for a, b in ((even, odd), (odd, even)))


def utf16(file: str, what: str = "text") -> Diagnostic:
    """QR001 for a UTF-16 file, said as such (it is not GBK, whose hint would mislead)."""
    return Diagnostic("QR001", f"文件是 UTF-16 编码（记事本的“Unicode”），不是 UTF-8：'{file}' is UTF-16 {what}, "
                      "not UTF-8", Span(file, 1, 1), hint=UTF16_HINT)


def utf16_file(path: str | Path, what: str = "text") -> Diagnostic | None:
    """:func:`utf16` if the file at ``path`` starts as UTF-16, else None (unreadable: None too)."""
    from .safeio import FileRefused, open_binary

    try:
        with open_binary(path, 512) as fh:
            head = fh.read(512)
    except (OSError, FileRefused):
        return None
    return utf16(str(path), what) if is_utf16(head) else None


def not_utf8(file: str, exc: UnicodeDecodeError, what: str = "text") -> Diagnostic:
    """QR001 at the line and column of the first byte that is not UTF-8 (``exc`` from decoding the
    whole content: its ``object`` is the bytes after any BOM)."""
    data = bytes(exc.object)
    if is_utf16(data[:512]):
        return utf16(file, what)
    bad = data[exc.start: exc.start + 4]
    return Diagnostic("QR001", f"文件不是 UTF-8 编码：'{file}' is not UTF-8 {what} (byte {exc.start}: "
                      f"{bad.hex(' ')})", byte_span(file, data, exc.start), hint=NOT_UTF8_HINT)


def not_utf8_file(path: str | Path, what: str = "text") -> Diagnostic:
    """:func:`not_utf8` for a file read as a stream: finds the first bad byte, a block at a time."""
    import codecs

    utf16 = utf16_file(path, what)  # read the head once
    if utf16 is not None:
        return utf16

    from .safeio import MAX_STREAM_BYTES, open_binary

    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    line, tail = 1, b""  # tail: the bytes of the current line so far
    try:
        with open_binary(path, MAX_STREAM_BYTES) as fh:
            while block := fh.read(1 << 20):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    start = exc.start - len(exc.object) + len(block)  # the bad byte's place in block
                    head = block[:max(start, 0)]
                    line += head.count(b"\n")
                    tail = (tail + head)[(tail + head).rfind(b"\n") + 1:]
                    col = len(tail.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")) + 1
                    return Diagnostic("QR001", f"文件不是 UTF-8 编码：'{path}' is not UTF-8 {what} "
                                      f"(line {line})", Span(str(path), line, col), hint=NOT_UTF8_HINT)
                line += block.count(b"\n")
                tail = (tail + block)[(tail + block).rfind(b"\n") + 1:][-4096:]
    except OSError:
        pass
    return Diagnostic("QR001", f"文件不是 UTF-8 编码：'{path}' is not UTF-8 {what}", Span(str(path), 1, 1),
                      hint=NOT_UTF8_HINT)


def load_text(text: str, file: str, diags: Diagnostics) -> Document | None:
    """Parse one YAML document; problems go into ``diags``; returns None if unreadable."""
    register_source(file, text)
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1) if mark else None
        problem = exc.problem or "syntax error"
        if "nesting depth" in problem:
            # libyaml (PyYAML >= 6.0.3) stops over-deep documents itself; same refusal as ours.
            diags.add("QR005", f"the document is nested too deeply to load (limit {MAX_DEPTH})", span)
            return None
        code = "QR003" if "alias" in problem else "QR002"
        if span is not None and _fullwidth(file, text, diags, span.line):
            return None  # a full-width colon just above is the cause: reported on its own
        lines = text.splitlines()
        char = (lines[mark.line][mark.column: mark.column + 1]
                if mark and mark.line < len(lines) else "")
        message, hint = yaml_message(problem, exc.context, char)
        diags.add(code, message, span, hint=hint)
        return None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, only an offset
        span = _offset_span(file, text, exc.position, in_bytes=_LOADER is not _Composer)
        char = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
        diags.add("QR002", f"文件中有不允许的控制字符 U+{char:04X}（YAML: {exc.reason}）", span,
                  hint="删除这个字符，或将文件另存为 UTF-8 文本（delete the character or save the file as plain UTF-8 text）")
        return None
    except yaml.YAMLError as exc:
        diags.add("QR002", f"YAML 语法错误（YAML: {exc}）", Span(file, 1, 1), hint="检查这一行的缩进、冒号和引号")
        return None
    except RecursionError:
        diags.add("QR005", f"the document is nested too deeply to load (limit {MAX_DEPTH})", Span(file, 1, 1))
        return None
    if root is None:
        return Document(file, None, {})
    builder = _Builder(file, text, diags)
    try:
        data = builder.build(root, ())
    except QrulesError as exc:
        diags.extend(exc.diagnostics)
        return None
    except RecursionError:
        diags.add("QR005", f"the document is nested too deeply to load (limit {MAX_DEPTH})", Span(file, 1, 1))
        return None
    return Document(file, data, builder.positions)


def read_text(path: str | Path, diags: Diagnostics, *, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """Read a UTF-8 file (a leading BOM is skipped): regular files only, the size capped
    while reading (:mod:`qrules.safeio`), so a device or a FIFO is refused, not read."""
    from .safeio import FileRefused, read_bytes

    file = str(path)
    try:
        data = read_bytes(path, max_bytes)
    except FileRefused as exc:
        if exc.too_large:
            diags.add("QR001", str(exc), Span(file, 1, 1),
                      hint="拆分文件，或大量数据改用 JSON Lines 或 CSV（split it, or give large histories as JSON Lines or CSV）")
        else:
            diags.add("QR001", str(exc), Span(file, 0, 0),  # the file is the place: 'file: error[QR001]'
                      hint="检查路径是否正确，并给出普通文件（name a regular file; check the path）")
        return None
    if is_utf16(data[:512]):  # without a BOM, UTF-16 decodes as UTF-8 with a NUL in every other character
        diags.items.append(utf16(file))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        diags.items.append(not_utf8(file, exc))
    return None


def load_file(path: str | Path, diags: Diagnostics, *, max_bytes: int = MAX_FILE_BYTES) -> Document | None:
    """Read and parse a YAML file (see :func:`load_text`)."""
    text = read_text(path, diags, max_bytes=max_bytes)
    if text is None:
        return None
    return load_text(text, str(path), diags)
