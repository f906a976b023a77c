"""JSON-ready values for every command's ``--format json``: exact decimals as strings
("10.5", never a binary float), dates in ISO form."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Iterable

from .language.runtime import plain


def json_ready(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps`` accepts, keeping decimals exact."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_ready(v) for v in value]
    return value


def json_default(value: Any) -> Any:
    """``default=`` hook for ``json.dumps`` (decimals and dates; anything else is an error)."""
    if isinstance(value, (Decimal, dt.date)):
        return json_ready(value)
    raise TypeError(type(value).__name__)


# -- where output goes ---------------------------------------------------------------------------
#: Look-alikes for symbols a GBK (Chinese Windows) console cannot show; anything else unencodable
#: becomes "?" rather than crashing the command with UnicodeEncodeError.
GBK_FALLBACK = {"✗": "×", "✓": "√", "−": "-", "↔": "<->", "–": "-", "…": "...", "\u00a0": " "}


def _fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start:exc.end]
    out = []
    for ch in text:
        sub = GBK_FALLBACK.get(ch, "?")
        try:
            sub.encode(exc.encoding)
        except (UnicodeEncodeError, LookupError):
            sub = "?"
        out.append(sub)
    return "".join(out), exc.end


def safe_streams() -> None:
    """Never crash on an unencodable character: on a console or redirected output that is not
    UTF-8 (GBK on Chinese Windows), print look-alikes or "?" instead."""
    import codecs
    import sys

    codecs.register_error("qrules-fallback", _fallback)
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding not in ("utf8", "utf8sig") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="qrules-fallback")
            except (ValueError, OSError):  # a closed or detached stream: nothing to protect
                pass


class Status:
    """``with Status("loading", enabled):`` — a status line on stderr with the elapsed time,
    redrawn every half second from a background thread and cleared at the end, so a long load
    or ``synth`` never leaves a blank screen. ``enabled=None``: only when stderr is a terminal."""

    def __init__(self, label: str, enabled: bool | None = None, stream: Any = None):
        import sys

        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = _isatty(self.stream) if enabled is None else enabled
        self._stop: Any = None
        self._thread: Any = None

    def __enter__(self) -> "Status":
        if self.enabled:
            import threading
            import time

            self._stop = threading.Event()
            start = time.monotonic()

            def tick() -> None:
                while True:
                    self._draw(f"{self.label} … {time.monotonic() - start:.0f} s")
                    if self._stop.wait(0.5):
                        return

            self._thread = threading.Thread(target=tick, name="qrules-status", daemon=True)
            self._thread.start()
        return self

    def _draw(self, text: str) -> None:
        try:
            self.stream.write("\r" + text + "\x1b[K")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def __exit__(self, *exc: Any) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._draw("")
            try:
                self.stream.write("\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _is_regular_file(stream: Any) -> bool:
    import os
    import stat

    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def _at_start(stream: Any) -> bool:
    try:
        return stream.tell() == 0
    except (OSError, ValueError):
        return False


class open_output:
    """``with open_output(path, csv=...) as out:`` — standard output for None or ``-``, else the
    file. CSV gets a UTF-8 byte-order mark (Excel then reads Chinese text correctly) in a file,
    and on standard output redirected to a file (``> results.csv``), but not in a pipe.

    A file is written to a temporary file beside it and renamed into place when the block
    ends without an exception: an interrupted command leaves the previous content untouched.
    """

    def __init__(self, path: str | None, *, csv: bool = False):
        self.path = None if path in (None, "-") else path
        self.csv = csv
        self.handle: Any = None
        self._atomic: Any = None

    def __enter__(self) -> Any:
        import sys

        if self.path is None:
            if self.csv and _is_regular_file(sys.stdout) and _at_start(sys.stdout):
                sys.stdout.write("\ufeff")
            return sys.stdout
        from .safeio import atomic_open

        self._atomic = atomic_open(self.path, "w", encoding="utf-8-sig" if self.csv else "utf-8", newline="")
        self.handle = self._atomic.__enter__()
        return self.handle

    def __exit__(self, *exc: Any) -> None:
        if self._atomic is not None:
            self._atomic.__exit__(*exc)


# -- CSV cells that a spreadsheet cannot run ------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def csv_cell(value: Any) -> Any:
    """``value`` safe for a spreadsheet: text starting with ``= + - @``, a tab or a carriage
    return gets a leading ``'`` (so ``=cmd|' /C calc'!A0`` stays text, "CSV injection");
    plain numbers such as ``-3`` or ``-1.5`` stay numbers (docs/security.md)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


class CsvWriter:
    """``csv.writer`` for every CSV that qrules writes: each cell goes through :func:`csv_cell`."""

    def __init__(self, handle: Any, **options: Any):
        import csv

        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([csv_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(frame: Any) -> str:
    """The rows of a polars frame as :class:`CsvWriter` writes them (``csv.writer``'s minimal
    quoting, ``\\r\\n`` line ends, the :func:`csv_cell` guard; ``true``/``false``, empty for
    null), built column by column: a million result rows need no Python loop."""
    import polars as pl

    if frame.height == 0:
        return ""
    cells = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Boolean:
            text = pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
        elif dtype == pl.Utf8:
            risky = col.str.contains(r"^[=+\-@\t\r]") & ~col.str.contains(r"^[+-]?[0-9]+(\.[0-9]+)?\n?$")
            text = pl.when(risky).then(pl.lit("'") + col).otherwise(col)
            text = pl.when(text.str.contains('[,"\r\n]')).then(pl.lit('"') + text.str.replace_all('"', '""', literal=True)
                                                               + pl.lit('"')).otherwise(text)
        else:
            text = col.cast(pl.Utf8)
        cells.append(text.fill_null(""))
    lines = frame.select(pl.concat_str(cells, separator=",").alias("line"))["line"]
    return "\r\n".join(lines.to_list()) + "\r\n"


def jsonl_text(frame: Any) -> str | None:
    """The rows of a polars frame as ``json.dumps(row, ensure_ascii=False)`` writes each one's dict,
    a line each (keys in column order, ``": "`` and ``", "`` between them, text other than ASCII
    as it is), built column by column: a million result rows need no dict. polars' own
    ``write_ndjson`` writes no spaces, so it cannot give the same bytes.

    Text is quoted as it is, except the rare cells holding a quote, a backslash or a control
    character: those are escaped by the string encoder ``json.dumps`` itself uses. None when a
    column is of a type other than text, boolean or integer (a float or a date would be written
    otherwise than ``json.dumps`` writes it): the caller then writes dicts."""
    import polars as pl
    from json.encoder import encode_basestring  # json.dumps' quoting with ensure_ascii=False

    if frame.height == 0:
        return ""
    cells = []
    for i, (name, dtype) in enumerate(frame.schema.items()):
        col = frame[name]
        if dtype == pl.Boolean:
            text = pl.select(pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))).to_series()
        elif dtype.is_integer():
            text = col.cast(pl.String)
        elif dtype in (pl.String, pl.Categorical, pl.Null) or isinstance(dtype, pl.Enum):
            col = col.cast(pl.String)
            text = '"' + col + '"'
            odd = col.str.contains(r'["\\\x00-\x1f]').fill_null(False)
            if odd.any():
                rows = odd.arg_true()
                text = text.scatter(rows, [encode_basestring(v) for v in col.gather(rows).to_list()])
        else:
            return None
        key = ("{" if i == 0 else ", ") + encode_basestring(name) + ": "
        cells.append(pl.lit(key) + text.fill_null("null"))
    lines = pl.select(pl.concat_str(cells).alias("line"))["line"]
    return lines.str.join("}\n").item() + "}\n"
