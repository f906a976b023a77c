"""The ``qrules batch`` and ``qrules synth`` commands: the input read column-wise when it can be,
the backend chosen (columnar, or the engine in workers), the rows and rejections written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..safeio import AtomicFile
from ..tables import ChunkResult, is_columnar, load_any
from .summary import BatchSummary
from .workers import WorkerLost, evaluate_batch
from .writer import Progress, Writer


def cmd_batch(args: Any) -> int:
    from ..console import EXIT_ERRORS, EXIT_OK, fail, print_diagnostics, table
    from ..errors import QrulesError
    from ..versioned import load

    from ..outfile import batch_outputs
    from ..output import Status

    refused = batch_outputs(args, getattr(args, "via", "batch"))  # QR008, before anything is read or written
    if refused:
        return fail(refused)
    t0 = time.perf_counter()
    progress_on = args.progress if args.progress is not None else sys.stderr.isatty()
    known = getattr(args, "as_known_at", None)  # brief §4a: only the records entered by then
    try:
        if known is not None:  # QR615 as `qrules evaluate` says it, before minutes of loading
            from ..engine import check_known_at

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
    writer = Writer(args.output, args.format) if args.output else None
    rej_atomic = AtomicFile(args.rejections) if args.rejections else None
    rej_file = open(rej_atomic.tmp, "w", encoding="utf-8-sig", newline="") if rej_atomic else None
    rej_csv = None
    if rej_file is not None:
        from ..output import CsvWriter

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

                from ..output import csv_text

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
    from ..engine import validity_warnings

    summary.finish(compiled, args.as_of or dt.date.today())  # §4a: the notes once, for the whole corpus
    # 第三十六条: the expiry warning whatever the chunks said (an empty history has none)
    summary.warnings[:0] = [w for w in validity_warnings(compiled, args.as_of or dt.date.today())
                            if w not in summary.warnings]
    for w in summary.warnings:
        print(f"warning: {w}", file=sys.stderr)
    data = summary.to_dict()
    data["backend"] = backend_used
    from ..engine import timeline_of

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
        from ..knownat import left_out_line

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
    backend = getattr(args, "backend", None) or ("columnar" if reads_columnar(args.history) else "engine")
    if backend != "columnar":
        return None
    try:
        from ..columnar import ColumnarBackend, Fallback
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
    from ..columnar import Tables, excluded

    t0 = time.perf_counter()
    tables = getattr(loaded, "tables", None) or Tables.from_history(loaded)
    left_out = 0
    if known is not None:
        from ..knownat import known_tables

        tables, left_out = known_tables(tables, known)
    out = backend.evaluate(tables, as_of)
    return ChunkResult(index=0, subjects=out["rows"], rejected=out["rejections"], excluded=excluded(out["excluded"]),
                       events=out["events"], events_counted=out["events_counted"],
                       events_rejected=out["events_rejected"], rejected_by_code=out["rejected_by_code"],
                       by_official_class=out["by_official_class"], by_live_class=out["by_live_class"],
                       warnings=[n.message for n in out["notes"]] + out["warnings"],  # the engine's words (§4a, 第十九条)
                       seconds=time.perf_counter() - t0,
                       not_yet_recorded=left_out)


def reads_columnar(path: str | Path) -> bool:
    """Whether ``batch`` loads ``path`` column-wise and evaluates it columnar by default: CSV/Parquet
    tables, and JSON Lines (:mod:`qrules.history.arrowjsonl`)."""
    from ..history.arrowjsonl import is_jsonl

    return is_columnar(path) or is_jsonl(path)


def load_input(path: str | Path) -> Any:
    """A history for ``qrules batch``: CSV/Parquet tables and JSON Lines through the columnar loader
    (when polars and pyarrow are installed; same diagnostics, much faster), anything else as
    :func:`load_any`."""
    if reads_columnar(path):
        try:
            import polars  # noqa: F401
            import pyarrow  # noqa: F401
        except ModuleNotFoundError:
            return load_any(path)
        from ..history.arrowload import load_tables

        return load_tables(path)
    return load_any(path)


def cmd_synth(args: Any) -> int:
    from ..synth import write_corpus

    from ..output import Status

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

    from ..console import date_arg as _date

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
