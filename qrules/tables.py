"""A corpus as two flat tables (subjects, events) in CSV or Parquet: the column layout, a record
as a row and back, and reading the tables through the same validation as YAML/JSON histories.

Pipeline position: files -> **tables** (rows -> record dicts) -> ``historyload`` (records
validated one by one, then across records) -> ``batch`` / ``columnar``. ``synth`` writes
the same layout; ``batch`` and ``columnar`` write results as :data:`OUTPUT_COLUMNS` rows,
one :class:`ChunkResult` per chunk. Column layout: ``docs/batch.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Sequence

from .language.runtime import plain

__all__ = ["SUBJECT_COLUMNS", "EVENT_COLUMNS", "EVENT_INPUT_COLUMNS", "LIST_COLUMNS", "BOOL_COLUMNS", "COLUMN_PATHS", "TABLE_NAMES",
           "record_to_row", "row_to_record", "load_columnar", "load_any", "is_columnar", "need_pyarrow",
           "OUTPUT_COLUMNS", "output_row", "ChunkResult"]

# --------------------------------------------------------------------------------------
# Column layout
# --------------------------------------------------------------------------------------

#: Columns of the subjects table, in writing order. Every column is optional except ``id``
#: and ``kind``; an empty cell (or null) means the field is absent.
SUBJECT_COLUMNS = ["id", "kind", "uscc", "name", "roles", "region", "category", "brand", "nice_class",
                   "producer", "note"]
#: Columns of the events table. Nested fields are flattened with ``_``: ``line.model`` ->
#: ``line_model``, ``changes.line.standard`` -> ``changes_line_standard``.
EVENT_COLUMNS = ["id", "kind", "date", "item", "subjects", "subject", "of", "intentional", "major_impact",
                 "line_model", "line_standard", "rule", "reported", "recalled_before_defect", "notice_date",
                 "action_date", "result", "rectified", "applied", "concealed", "action", "reason",
                 "changes_item", "changes_intentional", "changes_major_impact", "changes_date",
                 "changes_subjects", "changes_line_model", "changes_line_standard", "recorded_by", "note"]
#: Event columns a table may hold that ``synth`` does not write: ``recorded``, the day the record
#: was entered (brief §4a; default its ``date``), which ``--as-known-at`` reads.
EVENT_EXTRA_COLUMNS = ["recorded"]
#: Every column an events table may hold (the order of :meth:`qrules.columnar.Tables.event_schema`).
EVENT_INPUT_COLUMNS = EVENT_COLUMNS + EVENT_EXTRA_COLUMNS
#: List fields: one cell, items separated by ``;`` in CSV (a list column in Parquet).
LIST_COLUMNS = frozenset({"roles", "subjects", "changes_subjects"})
#: Boolean fields: ``true``/``false`` in CSV (any case); anything else is refused by validation.
BOOL_COLUMNS = frozenset({"intentional", "major_impact", "reported", "recalled_before_defect", "rectified",
                          "concealed", "changes_intentional", "changes_major_impact"})
#: column -> field path in the record
COLUMN_PATHS: dict[str, tuple[str, ...]] = {
    **{c: (c,) for c in SUBJECT_COLUMNS + EVENT_INPUT_COLUMNS},
    "line_model": ("line", "model"), "line_standard": ("line", "standard"),
    "changes_item": ("changes", "item"), "changes_intentional": ("changes", "intentional"),
    "changes_major_impact": ("changes", "major_impact"), "changes_date": ("changes", "date"),
    "changes_subjects": ("changes", "subjects"), "changes_line_model": ("changes", "line", "model"),
    "changes_line_standard": ("changes", "line", "standard"),
}
_COLUMN_OF_PATH = {v: k for k, v in COLUMN_PATHS.items()}
TABLE_NAMES = ("subjects", "events")


def row_to_record(row: dict[str, Any]) -> dict[str, Any]:
    """One table row (column -> cell) as the record dict a YAML/JSON history would hold.

    Empty cells and nulls are absent fields; ``;``-separated text in list columns becomes a
    list; ``true``/``false`` in boolean columns become booleans (other text is kept, so
    validation reports it as it would in YAML).
    """
    rec: dict[str, Any] = {}
    for col, value in row.items():
        if value is None or value == "":
            continue
        if col in LIST_COLUMNS and isinstance(value, str):
            value = [part.strip() for part in value.split(";") if part.strip()]
        elif col in BOOL_COLUMNS and isinstance(value, str):
            low = value.strip().lower()
            value = True if low == "true" else False if low == "false" else value
        elif hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy arrays from Parquet
            value = value.tolist()
        path = COLUMN_PATHS.get(col, (col,))
        target = rec
        for part in path[:-1]:
            nxt = target.setdefault(part, {})
            if not isinstance(nxt, dict):  # a flat column and a nested one collide: keep the flat value
                break
            target = nxt
        else:
            target[path[-1]] = value
    return rec


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    return value


def record_to_row(record: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """The inverse of :func:`row_to_record` for writing a CSV row (values as text)."""
    row: dict[str, Any] = {}
    for col in columns:
        value: Any = record
        for part in COLUMN_PATHS.get(col, (col,)):
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        row[col] = _cell(value)
    return row


def _column_for(loc: tuple) -> str | None:
    parts = tuple(p for p in loc if isinstance(p, str))
    while parts:
        if parts in _COLUMN_OF_PATH:
            return _COLUMN_OF_PATH[parts]
        parts = parts[:-1]
    return None


# --------------------------------------------------------------------------------------
# Columnar loading
# --------------------------------------------------------------------------------------


def _find_tables(path: Path) -> tuple[Path | None, Path | None, str]:
    """(subjects table, events table, format) for a directory or one of the two files."""
    if path.is_dir():
        for fmt in ("parquet", "csv"):
            s, e = path / f"subjects.{fmt}", path / f"events.{fmt}"
            if s.exists() or e.exists():
                return (s if s.exists() else None), (e if e.exists() else None), fmt
        return None, None, "csv"
    fmt = path.suffix.lower().lstrip(".")
    stem = path.stem
    base = stem[:-len("subjects")] if stem.endswith("subjects") else stem[:-len("events")] \
        if stem.endswith("events") else None
    if base is None:
        return (path, None, fmt)
    s, e = path.with_name(f"{base}subjects.{fmt}"), path.with_name(f"{base}events.{fmt}")
    return (s if s.exists() else None), (e if e.exists() else None), fmt


def _table_error(file: str, message: str, hint: str | None = None):
    from .errors import Diagnostic, QrulesError, Span

    return QrulesError(Diagnostic("QR507", message, Span(file, 1, 1), hint=hint))


def check_header(file: str, header: list[str], allowed: list[str], what: str) -> None:
    from .errors import did_you_mean

    if "id" not in header or "kind" not in header:
        sep = next((s for s in (";", "\t", "|") if len(header) == 1 and s in header[0]), None)
        hint = (f"表格各列应以英文逗号分隔，这个文件用的是 {sep!r}；Excel 另存为“CSV UTF-8（逗号分隔）”"
                f"（columns are separated by commas; this file uses {sep!r}）" if sep
                else f"表格的列（columns）：{', '.join(allowed)}")
        raise _table_error(file, f"the {what} table needs 'id' and 'kind' columns (found: {', '.join(header)})", hint)
    for name in header:
        if name not in allowed:
            other = SUBJECT_COLUMNS if what == "events" else EVENT_INPUT_COLUMNS
            hint = did_you_mean(name, allowed) or (f"'{name}' 是另一张表的列（a column of the other table）"
                                                   if name in other else f"表格的列（columns）：{', '.join(allowed)}")
            raise _table_error(file, f"unknown column '{name}' in the {what} table", hint)
    dup = [n for n, k in Counter(header).items() if k > 1]
    if dup:
        raise _table_error(file, f"column '{dup[0]}' appears twice in the {what} table")


def csv_rows(file: Path, allowed: list[str], what: str) -> Iterator[tuple[int, list[str], dict[str, Any] | str]]:
    """(line, header, row dict or a problem message) per data row of a CSV table."""
    from .errors import QrulesError
    from .safeio import FileRefused, open_text
    from .yamlsource import not_utf8_file, utf16_file

    if utf16_file(file, "CSV"):  # Excel's "Unicode text": said as such, not as a table without its columns
        raise QrulesError(utf16_file(file, "CSV"))
    try:
        handle = open_text(file, newline="")  # regular files only, size capped, a BOM skipped
    except FileRefused as exc:
        raise _table_error(str(file), str(exc)) from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]  # a BOM written twice
        except UnicodeDecodeError:
            raise QrulesError(not_utf8_file(file, "CSV")) from None
        except csv.Error as exc:
            raise _table_error(str(file), f"'{file}' is not a CSV table: {exc}") from None
        if not header:
            raise _table_error(str(file), f"the {what} table is empty: not even a header row"
                               "（表格文件为空，连表头也没有）", "重新导出，第一行为列名（id,kind,...）"
                               "（export the table again with its header row）")
        check_header(str(file), header, allowed, what)
        n = len(header)
        line = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise QrulesError(not_utf8_file(file, "CSV")) from None
            except csv.Error as exc:
                line = reader.line_num
                yield line, header, f"line {line}: not a valid CSV row ({exc})（不是有效的 CSV 行：检查引号是否成对）"
                continue
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) > n and any(c.strip() for c in cells[n:]):
                yield line, header, (f"line {line}: {len(cells)} cells but the header has {n} columns（单元格多于表头的"
                                     f"列数：值中有逗号时给该单元格加英文双引号，如 \"a,b\"）")
                continue
            yield line, header, dict(zip(header, cells))


def _parquet_rows(file: Path, allowed: list[str], what: str) -> Iterator[tuple[int, list[str], dict[str, Any] | str]]:
    pq = need_pyarrow("read Parquet histories")
    from .safeio import FileRefused, open_seekable

    try:
        pf = pq.ParquetFile(open_seekable(file))  # a regular file only
    except FileRefused as exc:
        raise _table_error(str(file), str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for unreadable files
        raise _table_error(str(file), f"无法读取 Parquet 文件（文件损坏或不是 Parquet 格式）：cannot read Parquet "
                           f"file '{file}': {exc}", "重新导出该表格（export the table again）") from None
    header = list(pf.schema_arrow.names)
    check_header(str(file), header, allowed, what)
    row = 0
    for batch in pf.iter_batches(batch_size=65536):
        columns = {name: arrow_pylist(batch.column(i)) for i, name in enumerate(batch.schema.names)}
        for i in range(batch.num_rows):
            row += 1
            yield row, header, {name: values[i] for name, values in columns.items()}


def arrow_pylist(column: Any) -> list:
    """A Parquet column as Python values; a date beyond Python's calendar (year 10000 and on)
    becomes text that validation refuses for that record alone, instead of failing the file."""
    try:
        return column.to_pylist()
    except (OverflowError, ValueError):
        import pyarrow as pa

        days = column.cast(pa.int32()).to_pylist()  # date32: days since 1970-01-01
        epoch = dt.date(1970, 1, 1)
        out = []
        for n in days:
            try:
                out.append(None if n is None else epoch + dt.timedelta(days=n))
            except OverflowError:
                out.append(f"day {n} from 1970-01-01 (beyond year 9999)")
        return out


def need_pyarrow(what: str):
    try:
        import pyarrow.parquet as pq  # noqa: F401
    except ModuleNotFoundError:
        from .errors import Diagnostic, QrulesError

        raise QrulesError(Diagnostic("QR001", f"pyarrow is needed to {what}",
                                     hint="安装 pip install 'qrules[parquet]'（或 pip install pyarrow），或改用 CSV / JSON Lines"
                                          "（install pyarrow, or use CSV / JSON Lines）")) from None
    return pq


def find_tables(source: str | Path, events: str | Path | None = None) -> tuple[Path | None, Path | None, str]:
    """(subjects table, events table, format) named by ``source`` (and ``events``); QR507 if none."""
    path = Path(source)
    if events is not None:
        return path, Path(events), path.suffix.lower().lstrip(".")
    if not path.exists():
        raise _table_error(str(path), f"cannot read '{path}': no such file or directory")
    subjects_file, events_file, fmt = _find_tables(path)
    if subjects_file is None and events_file is None:
        raise _table_error(str(path), f"no subjects.csv / events.csv (or .parquet) in '{path}'",
                           "表格的列见 docs/batch.md（see docs/batch.md for the column layout）")
    return subjects_file, events_file, fmt


def row_locator(name: str, line: int, positions: dict[str, int]) -> Any:
    """The ``locate`` of one table row: a field path -> ``file:row:column`` of its column."""
    from .errors import Span

    def locate(loc: tuple, key: bool = False) -> Span:
        col = _column_for(tuple(loc))
        return Span(name, line, positions.get(col, 1) if col else 1)

    return locate


def load_columnar(source: str | Path, events: str | Path | None = None) -> Any:
    """Load a history from CSV or Parquet tables: a directory holding ``subjects.csv`` and
    ``events.csv`` (or ``.parquet``), one of those two files (its sibling is found by name),
    or the two paths given explicitly.

    Returns a :class:`qrules.history.LoadedHistory`, validated exactly as a YAML/JSON history
    is; spans point at ``file:row:column`` (row = CSV line, or Parquet row number; column =
    1-based column index of the field).
    """
    from .errors import Span
    from .history.load import RecordLoader

    subjects_file, events_file, fmt = find_tables(source, events)
    reader = _parquet_rows if fmt == "parquet" else csv_rows
    loader = RecordLoader(str(subjects_file or events_file))
    for what, file, allowed in (("subjects", subjects_file, SUBJECT_COLUMNS), ("events", events_file, EVENT_INPUT_COLUMNS)):
        if file is None:
            continue
        name = str(file)
        if fmt == "parquet":
            from .errors import register_source

            register_source(name, "")  # binary: messages give row and column, no source line
        index = 0
        for line, header, row in reader(file, allowed, what):
            index += 1
            span = Span(name, line, 1)
            if isinstance(row, str):
                loader._report("QR507", row, span)
                if what == "events":
                    loader.reject_unplaced(None, span, row, "QR507")
                continue
            locate = row_locator(name, line, {col: i + 1 for i, col in enumerate(header)})
            record = row_to_record(row)
            if what == "subjects":
                loader.add_subject(record, span, locate, index)
            else:
                loader.add_event(record, span, locate)
    return loader.finish()


def is_columnar(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() or p.suffix.lower() in (".csv", ".parquet")


def load_any(path: str | Path) -> Any:
    """Any history: CSV/Parquet tables (directory, ``.csv`` or ``.parquet``) or YAML/JSON/JSONL."""
    if is_columnar(path):
        return load_columnar(path)
    from .history.load import load_history

    return load_history(path)


# --------------------------------------------------------------------------------------
# Result rows
# --------------------------------------------------------------------------------------

OUTPUT_COLUMNS = ["id", "kind", "name", "scored", "score", "live_class", "official_class", "lock_class",
                  "lock_since", "lock_until", "determined_by", "supervision", "notice", "checks_per_year",
                  "entries_counted", "deductions", "flags"]


def output_row(s: Any) -> dict[str, Any]:
    """A :class:`~qrules.engine.results.SubjectResult` as one flat row (scores as exact text)."""
    counted = [e for e in s.entries if e.status in ("counted", "capped") and e.counted_points != 0]
    return {
        "id": s.id, "kind": s.kind, "name": s.name, "scored": s.scored,
        "score": plain(s.score) if s.score is not None else None,
        "live_class": s.live_class, "official_class": s.official_class,
        "lock_class": s.lock.class_ if s.lock else None,
        "lock_since": s.lock.since.isoformat() if s.lock else None,
        "lock_until": s.lock.until.isoformat() if s.lock else None,
        "determined_by": s.determined_by, "supervision": s.measures.mode, "notice": s.measures.notice,
        "checks_per_year": s.measures.checks_per_year, "entries_counted": len(counted),
        "deductions": sum(1 for e in counted if e.kind == "deduction"),
        "flags": ";".join(k for k, v in s.flags.items() if v),
    }


@dataclass
class ChunkResult:
    """What one chunk produced: subject results (objects or flat rows), rejections,
    excluded subjects, and the counts the summary adds up."""

    index: int
    subjects: list[Any]
    rejected: list[Any]
    excluded: list[Any]
    events: int
    events_counted: int
    events_rejected: int
    rejected_by_code: dict[str, int]
    by_official_class: dict[str, int]
    by_live_class: dict[str, int]
    warnings: list[str]
    seconds: float = 0.0  # time the worker spent on this chunk (engine and row building)
    not_yet_recorded: int = 0  # events left out before evaluation: entered after --as-known-at (brief §4a)
    #: (event dates, adjustment dates) with no version in force (§4a): the notes are made once from every
    #: chunk's (BatchSummary.finish); ``warnings`` then holds the chunk's other warnings
    version_days: tuple = ((), ())
