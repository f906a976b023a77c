"""Reading a subjects or events table (CSV, Parquet) whole into a polars frame, for the columnar loader.

Why not row by row: turning a million rows into dicts is most of the time the per-record loader
spends. Here Parquet is read as it is stored and CSV as text (every column a string, cast later
by :mod:`qrules.history.arrowcheck`), so a bad cell is found per row instead of failing the file.

The frame keeps, per row, its ``__line`` (CSV line or Parquet row number, as
:func:`qrules.tables.load_columnar` reports them) and ``__err`` (a row that is not a record at
all: a CSV line with too many cells, a broken quote...). Whatever this module is not sure to read
exactly as the per-record loader does, it does not guess: a CSV with quotes, NUL bytes or bare
carriage returns is read with Python's ``csv`` module (``tables.csv_rows``, the loader's own
reader), and a file it cannot read at all raises :class:`Delegate` so that the caller hands the
whole load to :func:`qrules.tables.load_columnar`, which reports it as it always has.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RawTable", "Delegate", "read_table", "python_values"]


class Delegate(Exception):
    """This file must be loaded by the per-record loader (it reports the problem exactly)."""


@dataclass
class RawTable:
    """One table as read: ``frame`` holds the header's columns as stored (CSV: text) plus
    ``__line`` and ``__err``; ``parquet`` says its values are typed (see :func:`python_values`)."""

    file: str
    what: str
    header: list[str]
    frame: Any
    parquet: bool = False

    @property
    def positions(self) -> dict[str, int]:
        return {col: i + 1 for i, col in enumerate(self.header)}


def read_table(file: Path, allowed: list[str], what: str, fmt: str) -> RawTable:
    return _parquet(file, allowed, what) if fmt == "parquet" else _csv(file, allowed, what)


def _with_lines(frame: Any, first: int) -> Any:
    """Rows numbered from ``first`` (one line or Parquet row each), none of them broken.

    The two columns are cut into the same chunks as the table's (a Parquet file's row groups):
    columns chunked differently make every expression over the frame realign them, and
    rechunking the table instead would hold it twice in memory."""
    import polars as pl

    lengths = frame.to_series(0).chunk_lengths() if frame.width else [frame.height]
    if any(s.chunk_lengths() != lengths for s in frame.get_columns()):
        frame, lengths = frame.rechunk(), [frame.height]
    starts = [first + sum(lengths[:i]) for i in range(len(lengths))]
    line = pl.concat([pl.int_range(s, s + n, dtype=pl.Int64, eager=True) for s, n in zip(starts, lengths)],
                     rechunk=False)
    err = pl.concat([pl.repeat(None, n, dtype=pl.Utf8, eager=True) for n in lengths], rechunk=False)
    return frame.with_columns(line.alias("__line"), err.alias("__err"))


def _parquet(file: Path, allowed: list[str], what: str) -> RawTable:
    import polars as pl

    from ..safeio import FileRefused, open_seekable
    from ..tables import check_header, need_pyarrow

    pq = need_pyarrow("read Parquet histories")
    try:
        with open_seekable(file) as fh:  # a regular file only
            header = list(pq.ParquetFile(fh).schema_arrow.names)
    except (FileRefused, Exception):  # noqa: BLE001 - the per-record loader words each case
        raise Delegate() from None
    check_header(str(file), header, allowed, what)
    try:  # straight into polars: going through a pyarrow table costs a copy of every string
        frame = pl.read_parquet(file)
    except (TypeError, AttributeError, NameError):  # a mistake here, not in the file
        raise
    except Exception:  # noqa: BLE001 - unreadable pages, types polars cannot hold
        raise Delegate() from None
    return RawTable(str(file), what, header, _with_lines(frame, 1), parquet=True)


def _csv(file: Path, allowed: list[str], what: str) -> RawTable:
    import polars as pl

    from ..safeio import MAX_STREAM_BYTES, FileRefused, read_bytes
    from ..tables import check_header

    try:
        data = read_bytes(file, MAX_STREAM_BYTES)
    except FileRefused:
        raise Delegate() from None
    data = data.removeprefix(b"\xef\xbb\xbf")
    end = data.find(b"\n")
    try:
        first = data[: end if end >= 0 else len(data)].decode("utf-8")
    except UnicodeDecodeError:
        raise Delegate() from None
    if "\r" in first.rstrip("\r") or '"' in first or "\x00" in first:
        return _csv_python(file, allowed, what)
    header = [h.strip().lstrip("\ufeff") for h in next(csv.reader([first.rstrip("\r")]), [])]  # as csv_rows
    if not header:  # an empty file: csv_rows says so, in its words
        return _csv_python(file, allowed, what)
    check_header(str(file), header, allowed, what)
    body = data[end + 1:] if end >= 0 else b""
    # Python's csv module is the reference: only a file where every line is one plain row is read here.
    if b'"' in body or b"\x00" in body or body.count(b"\r") != body.count(b"\r\n"):
        return _csv_python(file, allowed, what)
    import pyarrow as pa
    from pyarrow import csv as pacsv

    odd: list = []

    def invalid(row: Any) -> str:
        odd.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False, ignore_empty_lines=False,
                                             invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError):  # not UTF-8, a row it cannot split
        return _csv_python(file, allowed, what)
    if odd:  # a blank line, a row with fewer or more cells: the csv module's rules apply
        return _csv_python(file, allowed, what)
    frame = pl.from_arrow(table, rechunk=True)
    return RawTable(str(file), what, header, _with_lines(frame, 2))


def _csv_python(file: Path, allowed: list[str], what: str) -> RawTable:
    """A CSV with quotes or irregular rows: the per-record loader's own reader, gathered into columns."""
    import polars as pl

    from ..errors import QrulesError
    from ..tables import csv_rows

    header: list[str] = []
    lines: list[int] = []
    errors: list[str | None] = []
    rows: list[Any] = []
    try:
        for line, header, row in csv_rows(file, allowed, what):
            lines.append(line)
            errors.append(row if isinstance(row, str) else None)
            rows.append(None if isinstance(row, str) else row)
    except QrulesError:
        raise Delegate() from None  # raised midway (not UTF-8): reported by the per-record loader
    columns = {c: [r.get(c) if r is not None else None for r in rows] for c in header}
    frame = pl.DataFrame(columns, schema={c: pl.Utf8 for c in header})
    frame = frame.with_columns(pl.Series("__line", lines, dtype=pl.Int64), pl.Series("__err", errors, dtype=pl.Utf8))
    return RawTable(str(file), what, header, frame)


def python_values(raw: RawTable, rows: list[int]) -> list[dict[str, Any]]:
    """The cells of some rows as the per-record loader sees them (``tables._parquet_rows`` /
    ``csv_rows``): Python values, a date beyond year 9999 as the loader's text."""
    sub = raw.frame[rows].select(raw.header)
    if not raw.parquet:
        return sub.to_dicts()
    from ..tables import arrow_pylist

    taken = sub.to_arrow()
    columns = {name: arrow_pylist(taken.column(i)) for i, name in enumerate(taken.schema.names)}
    return [{name: values[i] for name, values in columns.items()} for i in range(len(rows))]
