"""Evaluation of the chunks by the engine, in this process or in worker processes: a worker that
dies is detected and its chunk named; results come out chunk by chunk.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any, Generator, Iterator

from ..tables import ChunkResult, output_row
from .partition import partition
from .summary import BatchSummary


class Corpus:
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
        from ..versioned import load

        _STATE["compiled"] = load(ruleset_path)
    _STATE.update(as_of=as_of, invalid=invalid, rows=rows)


def _worker_task(task: tuple[int, Any]) -> ChunkResult:
    """In a worker: note which chunk this process took (so a lost chunk can be named), run it."""
    _STATE["started"][task[0]] = os.getpid()
    return _run_chunk(task)


def _run_chunk(task: tuple[int, Any]) -> ChunkResult:
    from ..engine import evaluate, note_days

    index, payload = task
    t0 = time.perf_counter()
    if isinstance(payload, tuple):  # (subjects, events) pickled to a spawned worker
        subjects, events = payload
    else:  # forked worker: indices into the inherited history
        chunk = _STATE["chunks"][payload]
        history = _STATE["history"]
        subjects = [history.subjects[i] for i in chunk.subjects]
        events = [history.events[i] for i in chunk.events]
    result = evaluate(_STATE["compiled"], Corpus(subjects, events), _STATE["as_of"],
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
        from ..engine import check_known_at
        from ..knownat import known_history

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
