"""Output of a batch run: flat rows written to CSV, JSON Lines or Parquet chunk by chunk (the
file replaced only when complete), and the progress bar on standard error.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ..safeio import AtomicFile
from ..tables import OUTPUT_COLUMNS, need_pyarrow


class Writer:
    """Writes flat rows to CSV, JSON Lines or Parquet, chunk by chunk."""

    def __init__(self, path: str, fmt: str | None = None):
        self.path = path
        self.fmt = fmt or format_of(path)
        self.count = 0
        if self.fmt == "parquet":
            pq = need_pyarrow("write Parquet output")
            import pyarrow as pa

            self.pa = pa
            self.schema = pa.schema([
                ("id", pa.string()), ("kind", pa.string()), ("name", pa.string()), ("scored", pa.bool_()),
                ("score", pa.string()), ("live_class", pa.string()), ("official_class", pa.string()),
                ("lock_class", pa.string()), ("lock_since", pa.string()), ("lock_until", pa.string()),
                ("determined_by", pa.string()), ("supervision", pa.string()), ("notice", pa.string()),
                ("checks_per_year", pa.int32()), ("entries_counted", pa.int32()), ("deductions", pa.int32()),
                ("flags", pa.string())])
            self.atomic = AtomicFile(path)  # renamed into place by commit(), when complete
            # dictionary pages only for the columns of few distinct values (classes, measures, scores):
            # tried on ids and names they are given up after a page, a fifth of the writing time at 1M rows
            few = [c for c in self.schema.names if c not in ("id", "name", "determined_by")]
            self.writer = pq.ParquetWriter(self.atomic.tmp, self.schema, compression="zstd", use_dictionary=few)
        else:
            from ..output import open_output

            if path == "-":
                self.atomic = None
                self.output = open_output(path, csv=self.fmt == "csv")  # "-": standard output
                self.handle = self.output.__enter__()
            else:
                self.atomic = AtomicFile(path)
                self.handle = open(self.atomic.tmp, "w", encoding="utf-8-sig" if self.fmt == "csv" else "utf-8",
                                   newline="")
            if self.fmt == "csv":
                from ..output import CsvWriter

                self.csv = CsvWriter(self.handle)
                self.csv.writerow(OUTPUT_COLUMNS)

    def write(self, rows: Any) -> None:
        """Rows as dicts, or a polars frame of :data:`OUTPUT_COLUMNS` (the columnar backend's)."""
        if hasattr(rows, "to_arrow"):
            return self.write_frame(rows)
        if not rows:
            return
        self.count += len(rows)
        if self.fmt == "parquet":
            cols = {c: [r[c] for r in rows] for c in OUTPUT_COLUMNS}
            self.writer.write_table(self.pa.Table.from_pydict(cols, schema=self.schema))
        elif self.fmt == "csv":
            self.csv.writerows([("true" if v is True else "false" if v is False else v)
                                for v in (r[c] for c in OUTPUT_COLUMNS)] for r in rows)
        else:
            dumps = json.dumps
            self.handle.write("".join(dumps(r, ensure_ascii=False) + "\n" for r in rows))

    def write_frame(self, frame: Any) -> None:
        """A frame written column-wise: Parquet as Arrow, CSV as :func:`qrules.output.csv_text`, JSON
        Lines as :func:`qrules.output.jsonl_text` (the same bytes as the rows' dicts)."""
        if frame.height == 0:
            return
        frame = frame.select(OUTPUT_COLUMNS)
        if self.fmt == "parquet":
            self.count += frame.height
            self.writer.write_table(frame.to_arrow().cast(self.schema))
        elif self.fmt == "csv":
            from ..output import csv_text

            self.count += frame.height
            self.handle.write(csv_text(frame))
        else:
            from ..output import jsonl_text

            text = jsonl_text(frame)
            if text is None:  # a column type jsonl_text does not write as json.dumps does
                return self.write(frame.to_dicts())
            self.count += frame.height
            self.handle.write(text)

    def close(self) -> None:
        """Finish writing (the file is complete but not yet in place: see :meth:`commit`)."""
        if self.fmt == "parquet":
            self.writer.close()
        elif self.atomic is None:
            self.output.__exit__(None, None, None)
        else:
            self.handle.close()

    def commit(self) -> None:
        if self.atomic is not None:
            self.atomic.commit()

    def discard(self) -> None:
        """Interrupted or failed: drop the new content, keep the previous file."""
        try:
            self.close()
        except Exception:  # noqa: BLE001 - a half-written temporary file is removed anyway
            pass
        if self.atomic is not None:
            self.atomic.discard()


def format_of(path: str) -> str:
    """The format an output path's extension names (:mod:`qrules.outfile`'s table; none: JSON Lines)."""
    from ..outfile import BATCH_FORMATS, named

    return named(BATCH_FORMATS).get(Path(path).suffix.lower(), "jsonl")


class Progress:
    """A one-line progress bar on stderr (redrawn at most ten times a second)."""

    def __init__(self, total: int, enabled: bool, label: str = "subjects", stream: Any = None):
        self.total = max(total, 1)
        self.enabled = enabled
        self.label = label
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < 0.1 and self.done < self.total:
            return
        self.last = now
        frac = min(self.done / self.total, 1.0)
        bar = "#" * int(frac * 30)
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        self.stream.write(f"\r[{bar:<30}] {frac:6.1%} {self.done:,}/{self.total:,} {self.label} "
                          f"{rate:,.0f}/s eta {eta:,.0f} s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
