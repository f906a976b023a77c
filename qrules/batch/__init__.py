"""Jurisdiction-scale evaluation: columnar histories, a chunked multi-process backend, ``qrules batch``.

Pipeline position: ``history`` (records validated one by one, then across records) ->
**batch** (partition the corpus into independent chunks) -> ``engine.evaluate`` on each
chunk in worker processes -> results streamed out chunk by chunk.

Why chunks give exactly the engine's answer: the engine's decisions for a subject depend
only on the subjects and events *connected* to it — its producer or products (第十条、
第十二条), the other subjects an event names, the events an event refers to through
``of`` (repairs, corrections, procedure steps) and the subjects those name. The
partition puts every connected component (union-find over those links) in one chunk, so
``engine.evaluate`` on a chunk sees everything it would see on the whole corpus.
``tests/test_batch.py`` checks this differentially over generated corpora.

Columnar input (CSV or Parquet, one table of subjects and one of events) is validated column by
column (:mod:`qrules.history.arrowload`: the same checks and messages as the per-record loader,
which still sees every row those checks are unsure of), so rejected records are reported the
same way; the columnar backend takes its tables as they are, and its result rows and
rejections are written from polars frames. Column layout: ``docs/batch.md``.

This module is imported by every ``qrules`` command (``cli._extensions``), so it imports
nothing heavy at module level.
"""

from __future__ import annotations

from ..tables import (EVENT_COLUMNS, OUTPUT_COLUMNS, SUBJECT_COLUMNS, ChunkResult, is_columnar, load_any, load_columnar,
                      output_row, record_to_row, row_to_record)
from .command import cmd_batch, cmd_synth, load_input, register
from .partition import Chunk, partition
from .summary import BatchSummary
from .workers import WorkerLost, evaluate_all, evaluate_batch, max_workers
from .writer import Progress, Writer

__all__ = [
    "SUBJECT_COLUMNS", "EVENT_COLUMNS", "record_to_row", "row_to_record", "load_columnar", "load_any", "is_columnar",
    "partition", "Chunk", "evaluate_batch", "evaluate_all", "max_workers", "WorkerLost", "ChunkResult", "BatchSummary",
    "OUTPUT_COLUMNS", "output_row", "Progress", "Writer", "cmd_batch", "cmd_synth", "load_input", "register",
]
