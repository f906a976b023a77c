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

import datetime as dt
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator, Iterator

from .history.kinds import components
from .safeio import AtomicFile
from .tables import EVENT_COLUMNS, SUBJECT_COLUMNS, is_columnar, load_any, load_columnar, need_pyarrow, record_to_row, row_to_record
from .tables import OUTPUT_COLUMNS, ChunkResult, output_row  # noqa: F401 (re-exported)

__all__ = [
    "SUBJECT_COLUMNS", "EVENT_COLUMNS", "record_to_row", "row_to_record", "load_columnar", "load_any",
    "partition", "evaluate_batch", "ChunkResult", "BatchSummary", "OUTPUT_COLUMNS", "output_row", "register",
]

# --------------------------------------------------------------------------------------
# Partition
# --------------------------------------------------------------------------------------


@dataclass
class Chunk:
    """Indices into ``history.subjects`` and ``history.events`` of whole connected components."""

    subjects: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)


def partition(history: Any, chunk_size: int = 500) -> list[Chunk]:
    """Group subjects and events into chunks of whole connected components.

    The components are :func:`qrules.history.kinds.components` (product -> producer, event -> every
    subject it names, event -> the event in its ``of``), the same ``evaluate(subjects=...)``
    uses. They are packed in order of first appearance into chunks of about ``chunk_size``
    subjects; a component larger than that is one chunk of its own.
    """
    found = components(history)
    comps = [Chunk(subjects=list(s), events=list(e)) for s, e in zip(found.subjects, found.events)]
    chunks: list[Chunk] = []
    cur = Chunk()
    for comp in comps:
        if cur.subjects and len(cur.subjects) + len(comp.subjects) > chunk_size:
            chunks.append(cur)
            cur = Chunk()
        cur.subjects.extend(comp.subjects)
        cur.events.extend(comp.events)
    if cur.subjects or cur.events:
        chunks.append(cur)
    for c in chunks:  # the engine sees records in input order, as on the whole corpus
        c.subjects.sort()
        c.events.sort()
    return chunks


# --------------------------------------------------------------------------------------
# Evaluation in worker processes
# --------------------------------------------------------------------------------------

#: Flat output columns (CSV, Parquet, JSON Lines) of one subject.
@dataclass
class BatchSummary:
    """Totals over all chunks (and the loader's refused records)."""

    subjects: int = 0
    by_official_class: Counter = field(default_factory=Counter)
    by_live_class: Counter = field(default_factory=Counter)
    events: int = 0
    events_counted: int = 0
    events_rejected: int = 0
    rejected_by_code: Counter = field(default_factory=Counter)
    excluded_by_code: Counter = field(default_factory=Counter)
    invalid_records_by_code: Counter = field(default_factory=Counter)
    invalid_subjects: int = 0
    events_not_yet_recorded: int = 0  # valid events entered after --as-known-at, left out (brief §4a)
    chunks: int = 0
    worker_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: dates with no version in force in any chunk (events, adjustments): made into notes by :meth:`finish`
    version_days: tuple = field(default_factory=lambda: (set(), set()))
    _said: set = field(default_factory=set, repr=False, compare=False)  # the warnings already in ``warnings``

    def add(self, r: ChunkResult) -> None:
        self.subjects += len(r.subjects)
        self.by_official_class.update(r.by_official_class)
        self.by_live_class.update(r.by_live_class)
        self.events += r.events
        self.events_counted += r.events_counted
        self.events_rejected += r.events_rejected
        self.rejected_by_code.update(r.rejected_by_code)
        self.events_not_yet_recorded += r.not_yet_recorded
        for x in r.excluded:
            self.excluded_by_code[_excluded_code(x)] += 1
        self.chunks += 1
        self.worker_seconds += r.seconds
        for w in r.warnings:  # every chunk's, once (kept in a set: a large run has thousands of chunks)
            if w not in self._said:
                self._said.add(w)
                self.warnings.append(w)
        for seen, days in zip(self.version_days, r.version_days):
            seen.update(days)

    def finish(self, compiled: Any, as_of: dt.date) -> None:
        """The notes on dates with no version in force (brief §4a), said once for the whole corpus
        from every chunk's dates, before the other warnings (as the engine orders them)."""
        from types import SimpleNamespace

        from .engine import timeline_of, version_notes

        tl = timeline_of(compiled)
        events, adjustments = (sorted(d) for d in self.version_days)
        notes = version_notes(tl, as_of, [n for n in map(tl.out_of_force, events) if n is not None],
                              [SimpleNamespace(adjustments=[SimpleNamespace(date=d) for d in adjustments])])
        self.warnings[:0] = [n.message for n in notes if n.message not in self.warnings]

    def to_dict(self) -> dict[str, Any]:
        return {"subjects": self.subjects, "by_official_class": dict(sorted(self.by_official_class.items())),
                "by_live_class": dict(sorted(self.by_live_class.items())), "events": self.events,
                "events_counted": self.events_counted, "events_rejected": self.events_rejected,
                "rejected_by_code": dict(sorted(self.rejected_by_code.items())),
                "excluded_subjects_by_code": dict(sorted(self.excluded_by_code.items())),
                "invalid_records_by_code": dict(sorted(self.invalid_records_by_code.items())),
                "invalid_subjects": self.invalid_subjects, "events_not_yet_recorded": self.events_not_yet_recorded,
                "chunks": self.chunks,
                "worker_seconds": round(self.worker_seconds, 3), "warnings": self.warnings}


def _excluded_code(x: Any) -> str:
    return x.code or "other"


class _Corpus:
    """The engine's view of a chunk: just the two lists ``engine.evaluate`` reads."""

    __slots__ = ("subjects", "events")

    def __init__(self, subjects: list, events: list):
        self.subjects = subjects
        self.events = events


# Worker state: set in the parent before forking (inherited), or by _init_worker (spawn).
_STATE: dict[str, Any] = {}


class WorkerLost(RuntimeError):
    """A worker process died (killed, out of memory) during a batch run: the results are
    incomplete, so the run stops. ``chunks`` are the indices of the chunks it was evaluating."""

    def __init__(self, chunks: list[int], detail: str, first_ids: dict[int, str]):
        self.chunks = chunks
        self.detail = detail
        self.first_ids = first_ids
        named = ", ".join(f"chunk {i} (first subject {first_ids.get(i, '?')})" for i in chunks) or "no chunk"
        super().__init__(f"a worker process died ({detail}); lost: {named}")


def _watch_parent(parent: int) -> None:
    """A worker whose parent died (SIGKILL) exits instead of lingering as an orphan."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(ruleset_path: str | None, as_of: dt.date, invalid: dict[str, str], rows: bool,
                 started: Any = None, parent: int | None = None) -> None:
    if parent is not None:  # a worker process: Ctrl-C is the parent's to handle, quietly
        import signal
        import threading

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if started is not None:
        _STATE["started"] = started
    if ruleset_path is not None and "compiled" not in _STATE:
        from .versioned import load

        _STATE["compiled"] = load(ruleset_path)
    _STATE.update(as_of=as_of, invalid=invalid, rows=rows)


def _worker_task(task: tuple[int, Any]) -> ChunkResult:
    """In a worker: note which chunk this process took (so a lost chunk can be named), run it."""
    _STATE["started"][task[0]] = os.getpid()
    return _run_chunk(task)


def _run_chunk(task: tuple[int, Any]) -> ChunkResult:
    from .engine import evaluate, note_days

    index, payload = task
    t0 = time.perf_counter()
    if isinstance(payload, tuple):  # (subjects, events) pickled to a spawned worker
        subjects, events = payload
    else:  # forked worker: indices into the inherited history
        chunk = _STATE["chunks"][payload]
        history = _STATE["history"]
        subjects = [history.subjects[i] for i in chunk.subjects]
        events = [history.events[i] for i in chunk.events]
    result = evaluate(_STATE["compiled"], _Corpus(subjects, events), _STATE["as_of"],
                      invalid_subjects=_STATE["invalid"])
    sm = result.summary
    out = [output_row(s) for s in result.subjects] if _STATE["rows"] else result.subjects
    return ChunkResult(index=index, subjects=out, rejected=result.rejected, excluded=result.excluded_subjects,
                       events=sm.events, events_counted=sm.events_counted, events_rejected=sm.events_rejected,
                       rejected_by_code=sm.rejected_by_code, by_official_class=sm.by_official_class,
                       by_live_class=sm.by_live_class, warnings=result.warnings[len(result.out_of_force):],
                       seconds=time.perf_counter() - t0, version_days=note_days(result.out_of_force))


def evaluate_batch(compiled: Any, loaded: Any, as_of: dt.date | None = None, *, workers: int = 2,
                   chunk_size: int = 500, ruleset_path: str | Path | None = None, rows: bool = False,
                   ordered: bool = False, as_known_at: dt.date | None = None) -> Iterator[ChunkResult]:
    """Evaluate a whole corpus chunk by chunk; yields a :class:`ChunkResult` per chunk.

    Args:
        compiled: the compiled ruleset (used in this process and inherited by forked workers).
        loaded: a :class:`~qrules.history.LoadedHistory` (or a ``History``; then no subject is refused).
        as_of: evaluation date (default: today).
        workers: worker processes; 0 or 1 evaluates in this process.
        chunk_size: subjects per chunk (whole components; a larger component is one chunk).
        ruleset_path: where spawned workers (no ``fork`` on this platform) load the ruleset from,
            once per worker.
        rows: yield flat :func:`output_row` dicts instead of ``SubjectResult`` objects (cheaper
            to send between processes; what ``qrules batch`` writes).
        ordered: yield chunks in partition order (default: as they finish).
        as_known_at: use only the events entered (``recorded``, default their date) by this date,
            corrections included, as ``engine.evaluate(..., as_known_at=)`` does (brief §4a). The
            history is cut once, before it is partitioned; the number of events left out is the
            ``not_yet_recorded`` of the first chunk yielded (0 on the others), so that
            :meth:`BatchSummary.add` counts it once. A date after ``as_of`` raises the engine's
            ``QrulesError`` (QR615) at the call, before any work.

    The union of all chunks' subjects and rejections equals ``engine.evaluate`` on the
    whole history (as multisets; the order differs). Memory: the history is held once (forked
    workers share it copy-on-write); results are yielded per chunk and not kept.
    """
    as_of = as_of or dt.date.today()
    history = getattr(loaded, "history", loaded)
    left_out = 0
    if as_known_at is not None:  # refused here, not when the first chunk is asked for
        from .engine import check_known_at
        from .knownat import known_history

        check_known_at(as_known_at, as_of)
        history, left_out = known_history(history, as_known_at)
    invalid = dict(getattr(loaded, "invalid_subjects", {}) or {})
    chunks = _chunks(compiled, history, invalid, as_of, workers, chunk_size, ruleset_path, rows, ordered)
    return _counting_left_out(chunks, left_out) if left_out else chunks


def _counting_left_out(chunks: Generator[ChunkResult, None, None], left_out: int) -> Iterator[ChunkResult]:
    """The chunks, the first carrying the events the cut left out (an empty one when no chunk is
    left, so that the count is never lost)."""
    try:
        for r in chunks:
            if left_out:
                r.not_yet_recorded, left_out = left_out, 0
            yield r
    finally:  # stopped early: the worker processes stop with it, not when it is collected
        chunks.close()
    if left_out:
        yield ChunkResult(index=0, subjects=[], rejected=[], excluded=[], events=0, events_counted=0,
                          events_rejected=0, rejected_by_code={}, by_official_class={}, by_live_class={},
                          warnings=[], not_yet_recorded=left_out)


def _chunks(compiled: Any, history: Any, invalid: dict[str, str], as_of: dt.date, workers: int, chunk_size: int,
            ruleset_path: str | Path | None, rows: bool, ordered: bool) -> Generator[ChunkResult, None, None]:
    """:func:`evaluate_batch` once its input is settled: partition, then evaluate in this process
    or in worker processes."""
    import multiprocessing as mp

    if workers > 1:  # at least four chunks per worker, so that both cores stay busy to the end
        chunk_size = max(1, min(chunk_size, -(-len(history.subjects) // (workers * 4))))
    chunks = partition(history, chunk_size)
    if workers <= 1 or len(chunks) <= 1:
        _STATE.clear()
        _STATE.update(compiled=compiled, history=history, chunks=chunks)
        _init_worker(None, as_of, invalid, rows)
        try:
            for i in range(len(chunks)):
                yield _run_chunk((i, i))
        finally:
            _STATE.clear()
        return
    try:
        ctx = mp.get_context("fork")
        forked = True
    except ValueError:  # pragma: no cover - platforms without fork
        ctx = mp.get_context("spawn")
        forked = False
    if not forked and ruleset_path is None:  # pragma: no cover
        raise ValueError("evaluate_batch needs ruleset_path when worker processes cannot be forked")
    workers = min(workers, len(chunks), max_workers())
    started = ctx.Array("q", len(chunks), lock=False)  # chunk -> pid of the worker that took it
    _STATE.clear()
    if forked:
        _STATE.update(compiled=compiled, history=history, chunks=chunks)
        tasks: list = [(i, i) for i in range(len(chunks))]
        init_args = (None, as_of, invalid, rows, started, os.getpid())
    else:  # pragma: no cover
        tasks = [(i, ([history.subjects[j] for j in c.subjects], [history.events[j] for j in c.events]))
                 for i, c in enumerate(chunks)]
        init_args = (str(ruleset_path), as_of, invalid, rows, started, os.getpid())
    import gc
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # Forked workers share the parent's heap copy-on-write. Without freezing, the cyclic
    # garbage collector in each worker walks (and so copies) every inherited object.
    gc.collect()
    gc.freeze()
    # concurrent.futures (unlike multiprocessing.Pool) notices a worker that dies outright
    # (SIGKILL, the out-of-memory killer) and fails the pending chunks instead of waiting forever.
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=init_args)
    processes: dict = {}
    futures: list = []
    try:
        try:
            for t in tasks:
                futures.append(pool.submit(_worker_task, t))
                if len(processes) < workers:  # workers start on demand: know each one while it lives
                    processes.update(getattr(pool, "_processes", None) or {})
            for fut in (futures if ordered else as_completed(futures)):
                yield fut.result()
        except BrokenProcessPool:
            processes.update(getattr(pool, "_processes", None) or {})
            raise _lost(futures, started, processes, chunks, history) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes.values():  # interrupted or failed: stop the chunks still running
            if proc.is_alive():
                proc.terminate()
        for proc in processes.values():
            proc.join(timeout=5)
        gc.unfreeze()
        _STATE.clear()


def max_workers() -> int:
    """At most four worker processes per CPU: ``-j 100000`` must not fork a hundred thousand."""
    return 4 * (os.cpu_count() or 1)


def _lost(futures: list, started: Any, processes: dict, chunks: list, history: Any) -> WorkerLost:
    """Which chunks a dead worker took with it, and how it died."""
    import signal

    dead = {}
    deadline = time.monotonic() + 2
    for pid, proc in processes.items():
        proc.join(timeout=5)  # the executor is stopping the others; wait so exit codes are known
        code = proc.exitcode
        # the executor's thread may be reaping this very process (then it looks alive to us for a
        # moment): its exit code appears a moment later
        while code is None and time.monotonic() < deadline:
            time.sleep(0.01)
            code = proc.exitcode
        if code not in (None, 0):
            try:
                dead[pid] = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            except ValueError:
                dead[pid] = f"exit status {code}"
    # Once one worker dies, the executor stops the others with SIGTERM: those are not the cause.
    cause = {pid: how for pid, how in dead.items() if how != "killed by SIGTERM"} or dead
    unfinished = [i for i, f in enumerate(futures) if not f.done() or f.exception() is not None]
    # a chunk whose process the executor has already reaped (not among those known) died with it
    gone = {i for i in unfinished if started[i] and started[i] not in processes}
    lost = [i for i in unfinished if started[i] in cause or i in gone] or [i for i in unfinished if started[i]]
    detail = "; ".join(f"pid {pid} {how}" for pid, how in sorted(cause.items())) or "it ended unexpectedly"
    first = {i: str(history.subjects[chunks[i].subjects[0]].id) for i in lost if chunks[i].subjects}
    return WorkerLost(lost, detail, first)


def evaluate_all(compiled: Any, loaded: Any, as_of: dt.date | None = None, *, as_known_at: dt.date | None = None,
                 **kw: Any) -> tuple[list, list, list, BatchSummary]:
    """Convenience for tests and small corpora: (subjects, rejected, excluded, summary), all in memory.
    ``as_known_at`` and the other keywords as :func:`evaluate_batch`."""
    subjects: list = []
    rejected: list = []
    excluded: list = []
    summary = BatchSummary()
    for r in evaluate_batch(compiled, loaded, as_of, as_known_at=as_known_at, **kw):
        subjects += r.subjects
        rejected += r.rejected
        excluded += r.excluded
        summary.add(r)
    summary.finish(compiled, as_of or dt.date.today())
    return subjects, rejected, excluded, summary


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


class _Writer:
    """Writes flat rows to CSV, JSON Lines or Parquet, chunk by chunk."""

    def __init__(self, path: str, fmt: str | None = None):
        self.path = path
        self.fmt = fmt or _format_of(path)
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
            from .output import open_output

            if path == "-":
                self.atomic = None
                self.output = open_output(path, csv=self.fmt == "csv")  # "-": standard output
                self.handle = self.output.__enter__()
            else:
                self.atomic = AtomicFile(path)
                self.handle = open(self.atomic.tmp, "w", encoding="utf-8-sig" if self.fmt == "csv" else "utf-8",
                                   newline="")
            if self.fmt == "csv":
                from .output import CsvWriter

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
            from .output import csv_text

            self.count += frame.height
            self.handle.write(csv_text(frame))
        else:
            from .output import jsonl_text

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


def _format_of(path: str) -> str:
    """The format an output path's extension names (:mod:`qrules.outfile`'s table; none: JSON Lines)."""
    from .outfile import BATCH_FORMATS, named

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


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def cmd_batch(args: Any) -> int:
    from .console import EXIT_ERRORS, EXIT_OK, fail, print_diagnostics, table
    from .errors import QrulesError
    from .versioned import load

    from .outfile import batch_outputs
    from .output import Status

    refused = batch_outputs(args, getattr(args, "via", "batch"))  # QR008, before anything is read or written
    if refused:
        return fail(refused)
    t0 = time.perf_counter()
    progress_on = args.progress if args.progress is not None else sys.stderr.isatty()
    known = getattr(args, "as_known_at", None)  # brief §4a: only the records entered by then
    try:
        if known is not None:  # QR615 as `qrules evaluate` says it, before minutes of loading
            from .engine import check_known_at

            check_known_at(known, args.as_of)
        with Status(f"加载 loading {args.history}", progress_on):
            compiled = load(args.ruleset)
            loaded = load_input(args.history)
    except QrulesError as exc:
        return fail(exc.diagnostics)
    t_load = time.perf_counter() - t0
    diags = loaded.diagnostics
    if diags:
        shown = diags[: args.max_diagnostics]
        print_diagnostics(shown)
        if len(diags) > len(shown):
            print(f"... and {len(diags) - len(shown)} more input diagnostics (--max-diagnostics)", file=sys.stderr)
    progress_on = args.progress if args.progress is not None else sys.stderr.isatty()
    n_subjects = loaded.subject_count if hasattr(loaded, "subject_count") else len(loaded.history.subjects)
    bar = Progress(n_subjects, progress_on)
    summary = BatchSummary()
    summary.invalid_records_by_code.update(r.code for r in loaded.rejected_events)
    summary.invalid_subjects = len(loaded.invalid_subjects)
    # Every output goes to a temporary file beside it and is renamed into place only when the
    # whole run is complete: an interrupted or failed run leaves the previous files untouched.
    writer = _Writer(args.output, args.format) if args.output else None
    rej_atomic = AtomicFile(args.rejections) if args.rejections else None
    rej_file = open(rej_atomic.tmp, "w", encoding="utf-8-sig", newline="") if rej_atomic else None
    rej_csv = None
    if rej_file is not None:
        from .output import CsvWriter

        rej_csv = CsvWriter(rej_file)
        rej_csv.writerow(["event", "kind", "subject", "code", "reason", "cite", "stage"])
        for r in loaded.rejected_events:
            rej_csv.writerow([r.id, r.kind or "", "", r.code, r.reason, "", "input"])
    t1 = time.perf_counter()
    complete = False
    try:
        chunks = _columnar_chunks(args, compiled, loaded)  # None: the per-subject engine in worker processes
        backend_used = "engine" if chunks is None else "columnar"
        if chunks is None:
            chunks = evaluate_batch(compiled, loaded, args.as_of, workers=args.workers, chunk_size=args.chunk_size,
                                    ruleset_path=args.ruleset, rows=True, as_known_at=known)
        for chunk in chunks:
            summary.add(chunk)
            if writer is not None:
                writer.write(chunk.subjects)
            if rej_csv is not None and hasattr(chunk.rejected, "to_arrow"):  # the columnar backend's frame
                import polars as pl

                from .output import csv_text

                rej_file.write(csv_text(chunk.rejected.select(
                    "event", "kind", pl.col("subject").fill_null(""), "code", "reason", pl.col("cite").fill_null(""),
                    pl.lit("engine").alias("stage"))))
            elif rej_csv is not None:
                rej_csv.writerows([r.event, r.kind, r.subject or "", r.code, r.reason, r.cite or "", "engine"]
                                  for r in chunk.rejected)
            bar.update(len(chunk.subjects) + len(chunk.excluded))
        if writer is not None:
            writer.close()
        if rej_file is not None:
            rej_file.close()
        complete = True
    except WorkerLost as exc:
        print(f"qrules: error: {exc}; the run was stopped and no output was written (previous files "
              f"kept)（工作进程意外终止，结果不完整，未写入任何输出）", file=sys.stderr)
        return EXIT_ERRORS
    finally:
        bar.close()
        if not complete:
            if writer is not None:
                writer.discard()
            if rej_file is not None:
                rej_file.close()
            if rej_atomic is not None:
                rej_atomic.discard()
    t_eval = time.perf_counter() - t1
    from .engine import validity_warnings

    summary.finish(compiled, args.as_of or dt.date.today())  # §4a: the notes once, for the whole corpus
    # 第三十六条: the expiry warning whatever the chunks said (an empty history has none)
    summary.warnings[:0] = [w for w in validity_warnings(compiled, args.as_of or dt.date.today())
                            if w not in summary.warnings]
    for w in summary.warnings:
        print(f"warning: {w}", file=sys.stderr)
    data = summary.to_dict()
    data["backend"] = backend_used
    from .engine import timeline_of

    data.update(ruleset=compiled.model.ruleset, version=compiled.model.version,
                version_at_as_of=timeline_of(compiled).at(args.as_of or dt.date.today()).label,  # brief §4a
                as_of=(args.as_of or dt.date.today()).isoformat(), as_known_at=known.isoformat() if known else None,
                workers=args.workers,
                seconds_load=round(t_load, 3), seconds_evaluate=round(t_eval, 3))
    summary_atomic = AtomicFile(args.summary_json) if args.summary_json else None
    outputs = [x for x in (writer, rej_atomic, summary_atomic) if x is not None]
    try:
        if summary_atomic is not None:
            with open(summary_atomic.tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=2)
        for out in outputs:  # all complete: put them in place together
            out.commit()
    except BaseException:
        for out in outputs:  # no-op for those already in place
            out.discard()
        raise
    m = compiled.model
    print(f"{m.ruleset} {m.version} — as of {data['as_of']}"
          + (f", as known at {known}（截至 {known} 已录入的记录）" if known else "")
          + f": {summary.subjects:,} subjects evaluated in "
          f"{t_eval:.2f} s ("
          + ("columnar backend, one process" if backend_used == "columnar"
             else f"{summary.chunks} chunks, {args.workers} workers")
          + f"; loading took {t_load:.2f} s)")
    classes = sorted(set(summary.by_official_class) | set(summary.by_live_class))
    print(table([[c, f"{summary.by_official_class.get(c, 0):,}", f"{summary.by_live_class.get(c, 0):,}"]
                 for c in classes], ["class", "official", "live"]))
    print(f"\nevents: {summary.events:,} valid, {summary.events_counted:,} counted or used as facts, "
          f"{summary.events_rejected:,} rejected by the rules; {len(loaded.rejected_events):,} invalid records")
    if known is not None:  # left out, not lost: said with the other counts (brief §4a)
        from .knownat import left_out_line

        print(left_out_line(summary.events_not_yet_recorded, known, "more valid ", grouped=True))
    rows = [[code, "input", f"{n:,}"] for code, n in sorted(summary.invalid_records_by_code.items())]
    rows += [[code, "rules", f"{n:,}"] for code, n in sorted(summary.rejected_by_code.items())]
    rows += [[code, "subject excluded", f"{n:,}"] for code, n in sorted(summary.excluded_by_code.items())]
    if summary.invalid_subjects:
        rows.append(["-", "subject refused", f"{summary.invalid_subjects:,}"])
    if rows:
        print("\nrejections by reason code:")
        print(table(rows, ["code", "stage", "count"]))
    if writer is not None:
        print(f"\nwrote {writer.count:,} rows to {args.output} ({writer.fmt})")
    # As `qrules evaluate`: refused input records make the run exit 1 (the rest was still evaluated).
    return EXIT_ERRORS if loaded.has_errors else EXIT_OK


def _columnar_chunks(args: Any, compiled: Any, loaded: Any) -> list | None:
    """The columnar backend's result when it is chosen (``--backend``; by default for CSV/Parquet
    and JSON Lines input) and can take this ruleset and history; otherwise None, with a notice saying why."""
    backend = getattr(args, "backend", None) or ("columnar" if _reads_columnar(args.history) else "engine")
    if backend != "columnar":
        return None
    try:
        from .columnar import ColumnarBackend, Fallback
    except ModuleNotFoundError as exc:  # polars is an optional speed-up
        print(f"notice: the columnar backend needs {exc.name}; evaluating with the per-subject engine",
              file=sys.stderr)
        return None
    try:
        return [_columnar_result(ColumnarBackend(compiled), loaded, args.as_of or dt.date.today(),
                                 getattr(args, "as_known_at", None))]
    except Fallback as exc:
        print("notice: the columnar backend cannot take this ruleset and history; evaluating with the "
              "per-subject engine（列式后端不支持以下规则或记录，改用逐对象引擎）:", file=sys.stderr)
        for reason in exc.reasons:
            print(f"  - {reason}", file=sys.stderr)
        return None


def _columnar_result(backend: Any, loaded: Any, as_of: dt.date, known: dt.date | None = None) -> ChunkResult:
    """The whole corpus as one :class:`ChunkResult` whose ``subjects`` and ``rejected`` are the
    backend's polars frames (written column-wise; no row becomes a dict or a model). Tables come
    from the columnar loader when it loaded the input, else from the history's records; with
    ``known`` (``--as-known-at``), only their events recorded by then (:mod:`qrules.knownat`)."""
    from .columnar import Tables, excluded

    t0 = time.perf_counter()
    tables = getattr(loaded, "tables", None) or Tables.from_history(loaded)
    left_out = 0
    if known is not None:
        from .knownat import known_tables

        tables, left_out = known_tables(tables, known)
    out = backend.evaluate(tables, as_of)
    return ChunkResult(index=0, subjects=out["rows"], rejected=out["rejections"], excluded=excluded(out["excluded"]),
                       events=out["events"], events_counted=out["events_counted"],
                       events_rejected=out["events_rejected"], rejected_by_code=out["rejected_by_code"],
                       by_official_class=out["by_official_class"], by_live_class=out["by_live_class"],
                       warnings=[n.message for n in out["notes"]] + out["warnings"],  # the engine's words (§4a, 第十九条)
                       seconds=time.perf_counter() - t0,
                       not_yet_recorded=left_out)


def _reads_columnar(path: str | Path) -> bool:
    """Whether ``batch`` loads ``path`` column-wise and evaluates it columnar by default: CSV/Parquet
    tables, and JSON Lines (:mod:`qrules.history.arrowjsonl`)."""
    from .history.arrowjsonl import is_jsonl

    return is_columnar(path) or is_jsonl(path)


def load_input(path: str | Path) -> Any:
    """A history for ``qrules batch``: CSV/Parquet tables and JSON Lines through the columnar loader
    (when polars and pyarrow are installed; same diagnostics, much faster), anything else as
    :func:`load_any`."""
    if _reads_columnar(path):
        try:
            import polars  # noqa: F401
            import pyarrow  # noqa: F401
        except ModuleNotFoundError:
            return load_any(path)
        from .history.arrowload import load_tables

        return load_tables(path)
    return load_any(path)


def cmd_synth(args: Any) -> int:
    from .synth import write_corpus

    from .output import Status

    t0 = time.perf_counter()
    with Status(f"生成合成数据 writing {args.subjects:,} subjects", args.progress):
        stats = write_corpus(args.out, args.subjects, seed=args.seed, fmt=args.format)
    print(f"wrote {stats['subjects']:,} subjects and {stats['events']:,} events to {stats['path']} "
          f"({args.format}, seed {args.seed}) in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr if args.out == "-" else sys.stdout)  # '-': the corpus itself is on stdout
    return 0


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must not be negative")
    return value


def register(subparsers: Any) -> None:
    """Add ``qrules batch`` and ``qrules synth``."""
    import argparse

    from .console import date_arg as _date

    b = subparsers.add_parser("batch", help="evaluate a whole corpus in worker processes (CSV/Parquet/JSONL)",
                              description="Evaluate every subject of a large history in chunks on several "
                                          "cores; write flat results and print a summary. See docs/batch.md.")
    b.add_argument("ruleset", metavar="RULESET")
    b.add_argument("history", metavar="HISTORY",
                   help="a directory with subjects/events .csv or .parquet, one of those files, or YAML/JSON/JSONL")
    b.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                   help="evaluation date DATE, as YYYY-MM-DD (default: today)")
    b.add_argument("--as-known-at", type=_date, default=None, metavar="DATE",
                   help="use only events entered (recorded, default their date) by DATE, corrections included "
                        "(not after --as-of); the summary counts those left out")
    b.add_argument("--workers", "-j", type=_positive, default=os.cpu_count() or 2,
                   help="worker processes (default: the number of CPUs; 0 or 1: in this process)")
    b.add_argument("--chunk-size", type=_positive, default=500, help="subjects per chunk (default 500)")
    b.add_argument("--output", "-o", metavar="FILE",
                   help="write one row per subject to FILE (.parquet, .csv or .jsonl)")
    b.add_argument("--format", choices=["parquet", "csv", "jsonl"], default=None,
                   help="output format (default: from the --output extension)")
    b.add_argument("--rejections", metavar="FILE", help="write every rejected event to this CSV file")
    b.add_argument("--summary-json", metavar="FILE", help="write the summary as JSON")
    b.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    b.add_argument("--max-diagnostics", type=_positive, default=20,
                   help="input diagnostics to print (default 20)")
    b.add_argument("--backend", choices=["engine", "columnar"], default=None,
                   help="columnar: all subjects at once with polars (default for CSV/Parquet and JSON Lines input; falls back "
                        "to the engine with a notice naming what it cannot take); engine: per subject in "
                        "worker processes (see docs/batch.md)")
    b.set_defaults(func=cmd_batch)

    s = subparsers.add_parser("synth", help="write a seeded synthetic corpus (for tests and benchmarks)",
                              description="Generate a realistic synthetic history: operators with several "
                                          "products, sellers, every event kind and class, some bad records.")
    s.add_argument("--subjects", "-n", type=_positive, default=1000, help="number of subjects (default 1000)")
    s.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    s.add_argument("--output", "-o", "--out", dest="out", metavar="PATH", required=True,
                   help="output directory (csv, parquet) or file (jsonl; '-': standard output)")
    s.add_argument("--format", choices=["jsonl", "csv", "parquet"], default="jsonl")
    s.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="status line on stderr while writing (default: when stderr is a terminal)")
    s.set_defaults(func=cmd_synth)
