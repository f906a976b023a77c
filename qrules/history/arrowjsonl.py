"""Reading a JSON Lines history into the columnar loader's two tables (subjects, events).

Pipeline position: a ``.jsonl`` file -> **arrowjsonl** (each line decoded once and checked, the
sure lines read by polars into typed columns) -> :mod:`~qrules.history.arrowcheck` and :mod:`~qrules.history.arrowload`, as
for CSV and Parquet tables. Why: the per-record loader builds a pydantic model per line and
checks references one by one, most of the time ``qrules batch`` spends on a large JSON Lines
history; here only the lines the checks are unsure of go through it.

Why the answers are the same: each line is decoded by the per-record loader's own decoder
(:func:`~qrules.history.load.jsonl_decoder`). A line is put into the columns only when its
values are exactly what a Parquet table's cells would give the models — a JSON object with
``record``, known fields, strings that are not empty, booleans, whole numbers, lists of
strings, ``line`` / ``changes`` objects of known fields, no key written twice, no null.
Whether a key is written twice is told by counting the line's colons against its keys; a line
with a colon in a value is decoded again with the duplicate-key check. The lines so vouched for
are read by polars as typed columns (their values cannot differ from Python's). Any other line
is marked (``__err``) and read again, at the end, by :func:`~qrules.history.load.jsonl_line`,
which reports it with today's message; a file the reader cannot take at all (not UTF-8, too
large) raises :class:`Delegate` and is loaded by the per-record loader whole. The file is read
a block at a time, so it is never held in memory whole, nor as Python records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from ..tables import BOOL_COLUMNS, EVENT_INPUT_COLUMNS, LIST_COLUMNS, SUBJECT_COLUMNS
from .arrowread import Delegate, RawTable
from .kinds import SUBJECT_KINDS
from .models import MAX_JSONL_LINE

__all__ = ["JsonlTable", "read_jsonl", "is_jsonl"]

#: Lines decoded between two readings of the sure ones by polars (a block of each table).
_BLOCK = 200_000
#: The marker of a line the checks leave to the per-record loader (see the module docstring).
_UNSURE = "jsonl: read by the per-record loader"


def is_jsonl(path: str | Path) -> bool:
    """Whether ``path`` names a JSON Lines history (by its extension, as the per-record loader)."""
    return Path(path).suffix.lower() in (".jsonl", ".ndjson")


class JsonlTable(RawTable):
    """One of the two tables of a JSON Lines file. ``__line`` is the line in the file; the
    text of a line is read again on demand (:meth:`locate`) for the few records a check
    reports, by its place in the file, rather than holding the file in memory."""

    jsonl = True

    def __init__(self, file: str, what: str, header: list[str], frame: Any, lines: "_Lines"):
        super().__init__(file, what, header, frame, parquet=True)
        self.lines = lines

    def locate(self, line: int) -> Any:
        from .load import jsonl_locator

        return jsonl_locator(self.file, self.lines.text(line), line)


class _Lines:
    """The file's lines as the per-record loader's text reader gives them (after a BOM, universal
    newlines), read a block at a time (:meth:`read`), and where each one is in the file, to read
    a few of them again (:meth:`texts`). Never the whole file in memory at once."""

    def __init__(self, path: Path):
        self.path = path
        self.starts: Any = None  # byte offset of line n at [n - 1]
        self.lengths: Any = None  # its length without the line break

    def read(self) -> Iterator[bytes]:
        import re

        import numpy as np

        from ..safeio import MAX_STREAM_BYTES, FileRefused, open_binary

        starts: list[Any] = []
        lengths: list[Any] = []
        breaks = re.compile(rb"\r\n|\r|\n")
        try:
            fh = open_binary(self.path, MAX_STREAM_BYTES)
        except (FileRefused, OSError):
            raise Delegate() from None
        with fh:
            offset, rest = 0, b""
            first = True
            while True:
                try:
                    block = fh.read(_READ)
                except (FileRefused, OSError):
                    raise Delegate() from None
                data = rest + block
                if first:  # a BOM is skipped, once three bytes are there to tell
                    if len(data) < 3 and block:
                        rest = data
                        continue
                    first = False
                    if data.startswith(b"\xef\xbb\xbf"):
                        data, offset = data[3:], 3
                if not data:
                    break
                cut = data.rfind(b"\n") + 1 if block else len(data)  # whole lines; at the end, the rest
                if cut == 0:  # no line break yet: read on
                    rest = data
                    continue
                body, rest = data[:cut], data[cut:]
                if b"\r" in body:  # line breaks of every kind, as the text reader's universal newlines
                    ends = [m.span() for m in breaks.finditer(body)]
                    begins = [0] + [e for _, e in ends]
                    lines = [body[b:e] for b, (e, _) in zip(begins, ends)]
                    if begins[-1] < len(body):  # the file's last line, without a break
                        lines.append(body[begins[-1]:])
                    line_starts = np.array(begins[:len(lines)], dtype=np.int64)
                else:
                    lines = body.split(b"\n")
                    if body.endswith(b"\n"):
                        lines.pop()
                    line_starts = None
                lens = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
                if line_starts is None:
                    line_starts = np.zeros(len(lines), dtype=np.int64)
                    np.cumsum(lens[:-1] + 1, out=line_starts[1:])
                starts.append(line_starts + offset)
                lengths.append(lens)
                offset += len(body)
                yield from lines
                if not block:
                    break
        self.starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
        self.lengths = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)

    def text(self, line: int) -> str:
        return self.texts([line])[line]

    def texts(self, lines: list[int]) -> dict[int, str]:
        """The text of each of ``lines`` (numbers from 1), the file opened once."""
        from ..safeio import open_seekable

        out: dict[int, str] = {}
        with open_seekable(self.path) as fh:
            for line in sorted(lines):
                fh.seek(int(self.starts[line - 1]))
                out[line] = fh.read(int(self.lengths[line - 1])).decode("utf-8")
        return out


#: Bytes read at a time: the lines of a block are held as Python objects only while it is read.
_READ = 1 << 25


def read_jsonl(file: Path) -> dict[str, JsonlTable]:
    """The subjects and events tables of a JSON Lines file; :class:`Delegate` if only the
    per-record loader can read it (not UTF-8, too large, unreadable) or it holds no record
    (that loader words the error)."""
    from ..yamlsource import utf16_file
    from .load import jsonl_decoder, jsonl_scanner, lone_surrogate, surrogate_subject

    if utf16_file(file):  # decodes as UTF-8 without a BOM: the per-record loader says what it is
        raise Delegate()
    where = _Lines(file)
    sub, ev = _Gather(SUBJECT_COLUMNS), _Gather(EVENT_INPUT_COLUMNS)
    flag, decode_flagged = jsonl_decoder()
    scan = jsonl_scanner()
    records = 0
    for lineno, chunk in enumerate(where.read(), 1):
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError:
            raise Delegate() from None  # the per-record loader refuses the file, in its words
        stripped = line.strip()
        if not stripped:
            continue
        records += 1
        if len(line) > MAX_JSONL_LINE:
            ev.unsure(lineno)
            continue
        try:
            raw, end = scan(stripped, 0)  # ``decode`` without its checks around: the end is checked here
        except (StopIteration, ValueError, RecursionError):
            ev.unsure(lineno)
            continue
        if end != len(stripped) or not isinstance(raw, dict):
            ev.unsure(lineno)
            continue
        if "\\u" in stripped and lone_surrogate(stripped, raw) is not None:  # refused by the record loader
            (sub if surrogate_subject(raw) else ev).unsure(lineno)
            continue
        record = raw.get("record")
        if record == "subject":
            table = sub
        elif record == "event":
            table = ev
        else:  # refused for its ``record``: a subject by its kind and id, else an event record
            rid = raw.get("id")
            (sub if raw.get("kind") in SUBJECT_KINDS and isinstance(rid, (str, int)) else ev).unsure(lineno)
            continue
        keys = table.keys(raw)
        if keys and line.count(":") != keys:  # a colon in a value, or a key written twice: look closer
            flag.seen = False
            again = decode_flagged(stripped)
            keys = 0 if flag.seen else table.keys(again)
        if keys:
            table.sure(chunk, lineno)
        else:
            table.unsure(lineno)
        if sub.size + ev.size >= _BLOCK:
            sub.flush()
            ev.flush()
    if not records:
        raise Delegate()
    name = str(file)
    return {"subjects": JsonlTable(name, "subjects", SUBJECT_COLUMNS, sub.frame(), where),
            "events": JsonlTable(name, "events", EVENT_INPUT_COLUMNS, ev.frame(), where)}


class _Gather:
    """One table's lines: the sure ones as their JSON text (read by polars a block at a time),
    the unsure ones as numbers only (their rows are empty, marked ``__err``)."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        self.types = _types(columns)
        self.texts: list[bytes] = []
        self.lines: list[int] = []
        self.unsure_lines: list[int] = []
        self.blocks: list[Any] = []
        self.size = 0

    def keys(self, raw: dict) -> int:
        """How many keys the record writes (its nested objects' included) when every value is what
        a table cell of its column gives the models unchanged; else 0 (see the module docstring)."""
        types = self.types
        n = len(raw)
        for key, value in raw.items():
            want = type(value)
            if types.get(key) is not want:  # a field of no column (None), or a value of another type
                return 0
            if want is str:
                if not value:
                    return 0
            elif want is list:
                for v in value:
                    if type(v) is not str or not v:
                        return 0
            elif want is int:
                if not -_INT64 < value < _INT64:
                    return 0
            elif want is dict:
                inner = _nested_keys(key, value)
                if not inner:
                    return 0
                n += inner
        return n

    def sure(self, text: bytes, lineno: int) -> None:
        self.texts.append(text)
        self.lines.append(lineno)
        self.size += 1

    def unsure(self, lineno: int) -> None:
        self.unsure_lines.append(lineno)
        self.size += 1

    def flush(self) -> None:
        if not self.size:
            return
        import io

        import polars as pl

        schema = _json_schema(self.columns)
        parts = []
        if self.texts:
            block = pl.read_ndjson(io.BytesIO(b"\n".join(self.texts)), schema=schema)
            parts.append(_flatten(block, self.columns).with_columns(pl.Series("__line", self.lines, dtype=pl.Int64),
                                                                    pl.lit(None, dtype=pl.Utf8).alias("__err")))
        if self.unsure_lines:
            n = len(self.unsure_lines)
            parts.append(pl.DataFrame([pl.Series(c, [None] * n, dtype=_raw_dtype(c)) for c in self.columns]
                                      + [pl.Series("__line", self.unsure_lines, dtype=pl.Int64),
                                         pl.Series("__err", [_UNSURE] * n, dtype=pl.Utf8)]))
        self.texts, self.lines, self.unsure_lines, self.size = [], [], [], 0
        # in file order within the block (blocks follow each other), one chunk per column, no spare capacity
        block = parts[0] if len(parts) == 1 else pl.concat(parts).sort("__line")
        self.blocks.append(block.rechunk().shrink_to_fit())

    def frame(self) -> Any:
        """The table: its blocks one after the other (each column chunked alike: a block a chunk)."""
        import polars as pl

        self.flush()
        if not self.blocks:
            return pl.DataFrame([pl.Series(c, [], dtype=_raw_dtype(c)) for c in self.columns]
                                + [pl.Series("__line", [], dtype=pl.Int64), pl.Series("__err", [], dtype=pl.Utf8)])
        blocks, self.blocks = self.blocks, []
        return blocks[0] if len(blocks) == 1 else pl.concat(blocks, rechunk=False)


_INT64 = 1 << 63


def _types(columns: list[str]) -> dict[str, type]:
    """Field -> the Python type a record's value must have to be read by polars as a cell
    (``record`` itself: text; ``line`` and ``changes``: objects, checked by :func:`_nested_keys`)."""
    out: dict[str, type] = {"record": str}
    for c in columns:
        if c.startswith(("line_", "changes_")):
            out[c.split("_", 1)[0]] = dict
        elif c in LIST_COLUMNS:
            out[c] = list
        elif c in BOOL_COLUMNS:
            out[c] = bool
        elif c == "nice_class":
            out[c] = int
        else:
            out[c] = str
    return out


def _nested_keys(key: str, value: Any) -> int:
    """How many keys a ``line`` or ``changes`` object writes (a ``changes.line`` included), when
    all are fields of it with cell values; else 0."""
    if type(value) is not dict or not value:
        return 0
    n = len(value)
    if key == "line":
        return n if all(k in ("model", "standard") and type(v) is str and v for k, v in value.items()) else 0
    for k, v in value.items():  # ``changes``
        if k == "line":
            inner = _nested_keys("line", v)
            if not inner:
                return 0
            n += inner
        elif k in ("intentional", "major_impact"):
            if type(v) is not bool:
                return 0
        elif k == "subjects":
            if type(v) is not list or not all(type(x) is str and x for x in v):
                return 0
        elif k not in ("item", "date") or type(v) is not str or not v:
            return 0
    return n


def _json_schema(columns: list[str]) -> dict[str, Any]:
    """The schema polars reads a table's sure lines with: the fields as written (``line``,
    ``changes`` as objects), each of the type :func:`_types` made sure of."""
    import polars as pl

    line = pl.Struct({"model": pl.Utf8, "standard": pl.Utf8})
    schema: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for c in columns:
        if c.startswith("line_"):
            schema["line"] = line
        elif c.startswith("changes_line_"):
            changes["line"] = line
        elif c.startswith("changes_"):
            changes[c.removeprefix("changes_")] = _raw_dtype(c)
        else:
            schema[c] = _raw_dtype(c)
    if changes:
        schema["changes"] = pl.Struct(changes)
    return schema


def _flatten(block: Any, columns: list[str]) -> Any:
    """The table's columns from the fields read: ``line.model`` -> ``line_model`` and so on."""
    import polars as pl

    out = []
    for c in columns:
        if c.startswith("changes_line_"):
            out.append(pl.col("changes").struct.field("line").struct.field(c.removeprefix("changes_line_")).alias(c))
        elif c.startswith("line_"):
            out.append(pl.col("line").struct.field(c.removeprefix("line_")).alias(c))
        elif c.startswith("changes_"):
            out.append(pl.col("changes").struct.field(c.removeprefix("changes_")).alias(c))
        else:
            out.append(pl.col(c))
    return block.select(out)


def _raw_dtype(column: str) -> Any:
    """The column as read: text for dates (the checks parse them, as a CSV's), else its type."""
    import polars as pl

    if column in LIST_COLUMNS:
        return pl.List(pl.Utf8)
    if column in BOOL_COLUMNS:
        return pl.Boolean
    if column == "nice_class":
        return pl.Int64
    return pl.Utf8
