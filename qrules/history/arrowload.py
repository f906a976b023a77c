"""Columnar loading: CSV/Parquet tables validated as whole columns, the same answer as the per-record loader.

Pipeline position: files -> :mod:`~qrules.history.arrowread` (tables as read) ->
:mod:`~qrules.history.arrowcheck` (per-record checks as expressions) -> **arrowload** (the rows
those checks are not sure of go through :class:`~qrules.history.load.RecordLoader` one by one;
then the checks across records — duplicate ids, the same subject twice, producers, references,
``of`` circles — as joins) -> :class:`ColumnarHistory`: :class:`qrules.columnar.Tables` for the
columnar backend, a :class:`~qrules.history.load.LoadedHistory`'s fields for everything else.

Why it gives exactly today's diagnostics: a row that passes every vectorised check is a row the
models accept unchanged and about which the per-record stage says nothing, so only the other
rows need it, and they get it in file order from the loader itself. The checks across records
find the records concerned with joins, then report through the loader's own message methods
in the order its loops visit them. ``tests/test_arrowload.py`` compares both loaders on seeded
corpora and on bad tables for every check.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, Span
from .load import LoadProblems, RecordLoader, RejectedRecord

__all__ = ["ColumnarHistory", "load_tables"]

#: Columns copied together when the refused rows are filtered out (parallel copies, a bounded peak).
_COPY_GROUP = 8


class ColumnarHistory(LoadProblems):
    """What :func:`load_tables` found: ``tables`` for the columnar backend; ``diagnostics``,
    ``invalid_subjects`` and ``rejected_events`` as a LoadedHistory has them; ``history`` (the
    pydantic records, built on first use, for the per-subject engine)."""

    def __init__(self, tables: Any, diagnostics: list[Diagnostic], invalid: dict[str, str],
                 rejected: list[RejectedRecord], spans: Any = None, history: Any = None):
        self.tables = tables
        self.diagnostics = diagnostics
        self.invalid_subjects = invalid
        self.rejected_events = rejected
        self._spans = spans  # (subjects file, their lines, events file, their lines): each record's span
        if history is not None:
            self.__dict__["history"] = history

    @property
    def subject_count(self) -> int:
        return self.tables.subjects.height

    @cached_property
    def history(self) -> Any:
        from .arrowmodels import history_of

        return history_of(self.tables, *self._spans)

    def loaded(self) -> Any:
        """A plain :class:`~qrules.history.load.LoadedHistory` (builds the records)."""
        from .load import LoadedHistory

        return LoadedHistory(self.history, list(self.diagnostics), dict(self.invalid_subjects),
                             list(self.rejected_events))


def load_tables(source: str | Path, events: str | Path | None = None) -> ColumnarHistory:
    """Load CSV/Parquet tables (as :func:`qrules.tables.load_columnar` names them) column-wise."""
    from .load import gc_paused

    with gc_paused():
        return _load(source, events)


def _load(source: str | Path, events: str | Path | None) -> ColumnarHistory:
    from ..columnar import Tables
    from ..errors import register_source
    from ..tables import EVENT_INPUT_COLUMNS, SUBJECT_COLUMNS, find_tables, load_columnar
    from .arrowjsonl import is_jsonl
    from .arrowread import Delegate, read_table

    if events is None and is_jsonl(source):
        return _load_jsonl(Path(source))
    subjects_file, events_file, fmt = find_tables(source, events)
    try:
        raws = {what: read_table(file, allowed, what, fmt) if file is not None else None
                for what, file, allowed in (("subjects", subjects_file, SUBJECT_COLUMNS),
                                            ("events", events_file, EVENT_INPUT_COLUMNS))}
    except Delegate:  # a file only the per-record loader reports exactly
        loaded = load_columnar(source, events)
        return ColumnarHistory(Tables.from_history(loaded), loaded.diagnostics, loaded.invalid_subjects,
                               loaded.rejected_events, history=loaded.history)
    if fmt == "parquet":
        for raw in raws.values():
            if raw is not None:
                register_source(raw.file, "")  # binary: messages give row and column, no source line
    return _Run(RecordLoader(str(subjects_file or events_file)), raws).result()


def _load_jsonl(path: Path) -> ColumnarHistory:
    """A JSON Lines history: its two tables as :mod:`~qrules.history.arrowjsonl` reads them."""
    from ..columnar import Tables
    from .arrowjsonl import read_jsonl
    from .arrowread import Delegate
    from .load import load_history

    try:
        raws = read_jsonl(path)
    except Delegate:  # a file only the per-record loader reports exactly
        loaded = load_history(path, format="jsonl")
        return ColumnarHistory(Tables.from_history(loaded), loaded.diagnostics, loaded.invalid_subjects,
                               loaded.rejected_events, history=loaded.history)
    return _Run(RecordLoader(str(path)), raws).result()


class _Run:
    """One load: the per-record stage for the rows the checks are unsure of, then the checks
    across records. ``S`` and ``E`` keep every row (row ``i`` is the file's data row ``i``);
    ``live[what]`` says which are still valid, and only the valid rows are copied out at the end."""

    def __init__(self, loader: RecordLoader, raws: dict[str, Any]):
        import polars as pl

        from ..columnar import Tables
        from .arrowcheck import check_events, check_subjects

        self.pl = pl
        self.loader = loader
        self.raws = raws
        self.files = {what: raw.file for what, raw in raws.items() if raw is not None}
        self.live: dict[str, Any] = {}
        self.ids: dict[str, Any] = {}
        checks = {what: check(raw.frame) for what, check in (("subjects", check_subjects), ("events", check_events))
                  if (raw := raws[what]) is not None and raw.frame.height}
        typed = dict(zip(checks, pl.collect_all(list(checks.values()))))  # both tables at once
        self.S = self._stage("subjects", typed.get("subjects"), Tables.subject_schema())
        self.E = self._stage("events", typed.get("events"), Tables.event_schema())
        if any(getattr(raw, "jsonl", False) for raw in raws.values() if raw is not None):
            # one file, its subjects and events interleaved: what the per-record stage said, in line order
            # (stable: a line's own messages keep their order)
            loader.diags.items.sort(key=lambda d: d.span.line if d.span is not None else 0)

    # -- one record at a time, for the rows the checks are not sure of -----------------------------

    def _stage(self, what: str, typed: Any, schema: dict) -> Any:
        """Every row's typed columns by name (with ``__pos`` and ``__line``); ``live[what]``: the
        valid rows; ``ids[what]``: (``__pos``, ``__id``, ``__line``) of every row that has an id.

        Columns, not a frame: they are chunked differently (the file's row groups, computed
        columns), and any operation on a frame of them all copies every one to realign it; so
        only the few columns a step needs are put together (:meth:`valid`)."""
        import numpy as np

        pl = self.pl
        raw = self.raws[what]
        self.ids[what] = pl.DataFrame(schema={"__pos": pl.Int64, "__id": pl.Utf8, "__line": pl.Int64})
        if typed is None:
            self.live[what] = np.zeros(0, dtype=bool)
            return {name: pl.Series(name, [], dtype=t) for name, t in {**schema, "__pos": pl.Int64,
                                                                          "__line": pl.Int64}.items()}
        cols = {s.name: s for s in typed.get_columns()}
        del typed
        ok = cols.pop("__ok")
        live = ok.to_numpy().copy()
        unsure = pl.DataFrame([cols["__pos"], cols["__line"], cols.pop("__err")]).filter(~ok)
        slow_rows, slow_ids = self._per_record(raw, unsure)
        raw.frame = None  # the typed columns are all that is needed from here on
        ids = pl.DataFrame([cols["__pos"], cols["id"].alias("__id"), cols["__line"]]).filter(ok)
        if slow_ids:
            ids = pl.concat([ids, pl.DataFrame(slow_ids, schema={"__pos": pl.Int64, "__id": pl.Utf8, "__line": pl.Int64},
                                               orient="row")]).sort("__pos")
        self.ids[what] = ids
        if slow_rows is not None:  # rows the models accepted after all take their place (rare)
            done = slow_rows["__pos"]
            names = [*schema, "__pos", "__line"]
            whole = pl.DataFrame([cols[n] for n in names])
            whole = pl.concat([whole.filter(~pl.col("__pos").is_in(done.implode())), slow_rows.select(names)]) \
                .sort("__pos")
            cols = {s.name: s for s in whole.get_columns()}
            live[done.to_numpy()] = True
        self.live[what] = live
        return cols

    def _per_record(self, raw: Any, unsure: Any) -> tuple[Any, list]:
        """Feed the unsure rows to the loader in file order; (their valid rows as a frame, their ids)."""
        from ..tables import row_locator, row_to_record
        from .arrowread import python_values

        loader = self.loader
        if unsure.height == 0:
            return None, []
        if getattr(raw, "jsonl", False):
            return self._per_line(raw, unsure)
        positions = raw.positions
        poss, lines, errs = unsure["__pos"].to_list(), unsure["__line"].to_list(), unsure["__err"].to_list()
        values = python_values(raw, [p for p, e in zip(poss, errs) if e is None])
        values.reverse()
        kept: list[tuple[int, int, Any]] = []  # (pos, line, model) accepted after all
        ids: list[tuple[int, str, int]] = []
        is_subject = raw.what == "subjects"
        records = loader.subjects if is_subject else loader.events
        for pos, line, err in zip(poss, lines, errs):
            span = Span(raw.file, line, 1)
            if err is not None:
                loader._report("QR507", err, span)
                if not is_subject:
                    loader.n_events = pos
                    loader.reject_unplaced(None, span, err, "QR507")
                continue
            record = row_to_record(values.pop())
            rid = record.get("id")
            if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).strip():
                ids.append((pos, str(rid), line))
            before = len(records)
            if is_subject:
                loader.add_subject(record, span, row_locator(raw.file, line, positions), pos + 1)
            else:
                loader.n_events = pos
                loader.add_event(record, span, row_locator(raw.file, line, positions))
            if len(records) > before:
                kept.append((pos, line, records[-1][0]))
        return self._kept(raw, kept), ids

    def _kept(self, raw: Any, kept: list[tuple[int, int, Any]]) -> Any:
        """The records the models accepted after all, (pos, line, model) each, as table rows."""
        from types import SimpleNamespace

        from ..columnar import Tables

        if not kept:
            return None
        pl, is_subject = self.pl, raw.what == "subjects"
        models = [m for _, _, m in kept]
        made = Tables.from_history(SimpleNamespace(subjects=models if is_subject else [],
                                                   events=[] if is_subject else models))
        frame = made.subjects if is_subject else made.events
        return frame.with_columns(pl.Series("__pos", [p for p, _, _ in kept], dtype=pl.Int64),
                                  pl.Series("__line", [ln for _, ln, _ in kept], dtype=pl.Int64))

    def _per_line(self, raw: Any, unsure: Any) -> tuple[Any, list]:
        """JSON Lines: each unsure line read again by the per-record loader's own
        :func:`~qrules.history.load.jsonl_line`, so that it says exactly what it says of that line."""
        from .load import jsonl_decoder, jsonl_line

        loader = self.loader
        is_subject = raw.what == "subjects"
        records = loader.subjects if is_subject else loader.events
        flag, decode = jsonl_decoder()
        kept: list[tuple[int, int, Any]] = []
        ids: list[tuple[int, str, int]] = []
        lines = unsure["__line"].to_list()
        texts = raw.lines.texts(lines)
        for pos, line in zip(unsure["__pos"].to_list(), lines):
            if not is_subject:
                loader.n_events = pos
            before = len(records)
            what, record = jsonl_line(loader, raw.file, texts[line], line, flag, decode)
            if what in ("subject", "event"):  # as add_subject / add_event take its id
                rid = record.get("id")
                if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).strip():
                    ids.append((pos, str(rid), line))
                if len(records) > before:
                    kept.append((pos, line, records[-1][0]))
        return self._kept(raw, kept), ids

    # -- across records ----------------------------------------------------------------------------

    def valid(self, what: str, *columns: str) -> Any:
        """Some columns of the rows of ``what`` still valid, in file order."""
        cols = self.S if what == "subjects" else self.E
        return self.pl.DataFrame([cols[c] for c in ("__pos", "__line", *columns)]).filter(self.pl.Series(self.live[what]))

    def drop(self, what: str, positions: Any) -> None:
        import numpy as np

        self.live[what][np.asarray(positions, dtype=np.int64)] = False

    def span(self, what: str, line: int, column: str | None = None, index: int | None = None) -> Span:
        """Where a record's field is: ``file:row:column`` of a table's column, or for JSON Lines
        the place in its line of the field (the list item ``index``), as the per-record loader's."""
        raw = self.raws[what]
        if getattr(raw, "jsonl", False):
            if not column:
                return Span(raw.file, line, 1)
            from ..tables import COLUMN_PATHS

            path = COLUMN_PATHS.get(column, (column,)) + ((index,) if index is not None else ())
            return raw.locate(line)(path, False)
        col = raw.positions.get(column, 1) if column else 1
        return Span(raw.file, line, col)

    def result(self) -> ColumnarHistory:
        from ..columnar import Tables

        pl = self.pl
        self.duplicates()
        self.same_subjects()
        self.producers()
        self.references()
        loader = self.loader
        inv = pl.DataFrame({"sid": list(loader.invalid), "inv_reason": list(loader.invalid.values())},
                           schema={"sid": pl.Utf8, "inv_reason": pl.Utf8})
        S = self._compact("subjects", Tables.subject_schema())
        E = self._compact("events", Tables.event_schema())
        tables = Tables(S.drop("__line"), E.drop("__line"), inv)
        spans = (self.files.get("subjects"), S["__line"], self.files.get("events"), E["__line"])
        return ColumnarHistory(tables, list(loader.diags.items), dict(loader.invalid), list(loader.rejected), spans)

    def _compact(self, what: str, schema: dict) -> Any:
        """The valid rows in schema order, each column copied once into one chunk (the columnar
        backend then never realigns them); columns are copied :data:`_COPY_GROUP` at a time (polars
        filters a frame's columns in parallel) and dropped as soon as they are copied."""
        pl = self.pl
        columns = self.S if what == "subjects" else self.E
        if what == "subjects":
            self.S = None
        else:
            self.E = None
        keep = pl.Series(self.live[what])
        every = bool(keep.all())  # nothing refused: no filter (it would copy every column once more)
        names = [*schema, "__line"]
        out = []
        for i in range(0, len(names), _COPY_GROUP):  # a few columns at a time: copied in parallel, then freed
            part = pl.DataFrame([columns.pop(name) for name in names[i:i + _COPY_GROUP]])
            out += (part if every else part.filter(keep)).rechunk().get_columns()
        return pl.DataFrame(out)

    def _seen(self, what: str) -> dict[str, list[Span | None]]:
        """Ids held by more than one row -> their rows' spans, in order of first appearance."""
        pl = self.pl
        ids = self.ids[what]
        # distinct 64-bit hashes are distinct ids (three times cheaper than counting the strings); only
        # when two hashes agree — a duplicate or a collision — are the ids themselves compared
        if ids["__id"].hash().n_unique() == ids.height or ids["__id"].n_unique() == ids.height:
            return {}
        out: dict[str, list[Span | None]] = {}
        for rid, line in ids.filter(pl.col("__id").is_duplicated()).select("__id", "__line").iter_rows():
            out.setdefault(rid, []).append(self.span(what, line))
        return out

    def duplicates(self) -> None:
        """RecordLoader._duplicates: the ids are iterated as that method's set holds them."""
        pl, loader = self.pl, self.loader
        seen = self._seen("subjects")
        dup_subjects = {i for i in seen}
        for sid in dup_subjects:
            loader.dup_subject(sid, seen[sid])
        if dup_subjects:
            self.drop("subjects", self.valid("subjects", "id").filter(pl.col("id").is_in(list(dup_subjects)))["__pos"])
        seen = self._seen("events")
        dup_events = {i for i in seen}
        for eid in dup_events:
            loader.dup_event(eid, seen[eid])
        if dup_events:
            hits = self.valid("events", "id", "kind").filter(pl.col("id").is_in(list(dup_events)))
            for _, line, eid, kind in hits.iter_rows():
                loader.dup_event_rejected(eid, kind, self.span("events", line), seen[eid])
            self.drop("events", hits["__pos"])

    def same_subjects(self) -> None:
        """RecordLoader._same_subjects: every operator after the first with a credit code, every
        product after the first with a brand and Nice class."""
        pl, loader = self.pl, self.loader
        S = self.valid("subjects", "id", "kind", "uscc", "brand", "nice_class")
        ops = S.filter(pl.col("kind") == "operator")
        ops = ops.filter(pl.col("uscc").is_duplicated())
        prs = S.filter(pl.col("kind") == "product")
        prs = prs.filter(pl.struct("brand", "nice_class").is_duplicated())
        if ops.height + prs.height == 0:
            return
        ops = ops.with_columns(first=pl.col("id").first().over("uscc")).filter(pl.col("id") != pl.col("first"))
        prs = prs.with_columns(first=pl.col("id").first().over(["brand", "nice_class"])).filter(pl.col("id") != pl.col("first"))
        hits = pl.concat([ops, prs]).sort("__pos")
        for _, line, sid, kind, uscc, brand, nice, first in hits.iter_rows():
            if kind == "operator":
                loader.same_operator(sid, uscc, first, self.span("subjects", line, "uscc"))
            else:
                loader.same_product(sid, brand, nice, first, self.span("subjects", line, "brand"))
        self.drop("subjects", hits["__pos"])

    def producers(self) -> None:
        """RecordLoader._producers: a product's producer must be a valid operator (with the producer role)."""
        pl, loader = self.pl, self.loader
        S = self.valid("subjects", "id", "kind", "producer", "roles")
        targets = S.select(pl.col("id").alias("producer"), pl.col("kind").alias("t_kind"), pl.col("roles").alias("t_roles"))
        j = S.select("__pos", "__line", "id", "producer").filter(pl.col("producer").is_not_null()) \
            .join(targets, on="producer", how="left", maintain_order="left")
        bad = pl.col("t_kind").is_null() | (pl.col("t_kind") != "operator") | \
            ~pl.col("t_roles").list.contains("producer")
        hits = j.filter(bad.fill_null(True))
        if hits.height == 0:
            return
        operators: list[str] | None = None

        def ops() -> list[str]:
            nonlocal operators
            if operators is None:
                operators = S.filter(pl.col("kind") == "operator")["id"].to_list()
            return operators

        refused = []
        for pos, line, sid, producer, t_kind, roles in hits.iter_rows():
            where = self.span("subjects", line, "producer")
            if t_kind is None:
                loader.producer_missing(sid, producer, where, ops)
            elif t_kind != "operator":
                loader.producer_is_product(sid, producer, where)
            else:
                loader.producer_role(sid, producer, roles, where)
                continue
            refused.append(pos)
        self.drop("subjects", refused)

    def references(self) -> None:
        from .arrowrefs import check_references

        check_references(self)
