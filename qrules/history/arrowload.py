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
from .load import RecordLoader, RejectedRecord, of_cycles

__all__ = ["ColumnarHistory", "load_tables"]


class ColumnarHistory:
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

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def rejected(self, id: str) -> RejectedRecord | None:
        return next((r for r in self.rejected_events if r.id == id), None)

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
    from ..tables import EVENT_COLUMNS, SUBJECT_COLUMNS, find_tables, load_columnar
    from .arrowread import Delegate, read_table

    subjects_file, events_file, fmt = find_tables(source, events)
    try:
        raws = {what: read_table(file, allowed, what, fmt) if file is not None else None
                for what, file, allowed in (("subjects", subjects_file, SUBJECT_COLUMNS),
                                            ("events", events_file, EVENT_COLUMNS))}
    except Delegate:  # a file only the per-record loader reports exactly
        loaded = load_columnar(source, events)
        return ColumnarHistory(Tables.from_history(loaded), loaded.diagnostics, loaded.invalid_subjects,
                               loaded.rejected_events, history=loaded.history)
    if fmt == "parquet":
        for raw in raws.values():
            if raw is not None:
                register_source(raw.file, "")  # binary: messages give row and column, no source line
    return _Run(RecordLoader(str(subjects_file or events_file)), raws).result()


class _Run:
    """One load: the per-record stage for the rows the checks are unsure of, then the checks across records."""

    def __init__(self, loader: RecordLoader, raws: dict[str, Any]):
        import polars as pl

        from ..columnar import Tables
        from .arrowcheck import check_events, check_subjects

        self.pl = pl
        self.loader = loader
        self.raws = raws
        self.files = {what: raw.file for what, raw in raws.items() if raw is not None}
        self.S = self._stage(raws["subjects"], check_subjects, Tables.subject_schema())
        self.E = self._stage(raws["events"], check_events, Tables.event_schema())

    # -- one record at a time, for the rows the checks are not sure of -----------------------------

    def _stage(self, raw: Any, check: Any, schema: dict) -> Any:
        """Valid rows, typed, in file order (with ``__pos`` and ``__line``); ``self.<what>_ids`` every row's id."""
        pl = self.pl
        what = raw.what if raw is not None else None
        if raw is None or raw.frame.height == 0:
            empty = pl.DataFrame(schema={**schema, "__pos": pl.Int64, "__line": pl.Int64})
            setattr(self, f"{what or 'none'}_ids", pl.DataFrame(schema={"__pos": pl.Int64, "__id": pl.Utf8,
                                                                          "__line": pl.Int64}))
            return empty
        typed = check(raw.frame)
        fast = typed.filter(pl.col("__ok")).select(*schema, "__pos", "__line")
        unsure = typed.filter(~pl.col("__ok")).select("__pos", "__line", "__err")
        slow_rows, slow_ids = self._per_record(raw, unsure)
        ids = [fast.select("__pos", pl.col("id").alias("__id"), "__line")]
        if slow_ids:
            ids.append(pl.DataFrame(slow_ids, schema={"__pos": pl.Int64, "__id": pl.Utf8, "__line": pl.Int64},
                                    orient="row"))
        setattr(self, f"{what}_ids", pl.concat(ids).sort("__pos").filter(pl.col("__id").is_not_null()))
        if slow_rows is not None:
            fast = pl.concat([fast, slow_rows.select(fast.columns)]).sort("__pos")
        return fast

    def _per_record(self, raw: Any, unsure: Any) -> tuple[Any, list]:
        """Feed the unsure rows to the loader in file order; (their valid rows as a frame, their ids)."""
        from ..columnar import Tables
        from ..tables import row_locator, row_to_record
        from .arrowread import python_values

        loader, pl = self.loader, self.pl
        if unsure.height == 0:
            return None, []
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
        if not kept:
            return None, ids
        from types import SimpleNamespace

        models = [m for _, _, m in kept]
        made = Tables.from_history(SimpleNamespace(subjects=models if is_subject else [],
                                                   events=[] if is_subject else models))
        frame = made.subjects if is_subject else made.events
        frame = frame.with_columns(pl.Series("__pos", [p for p, _, _ in kept], dtype=pl.Int64),
                                   pl.Series("__line", [ln for _, ln, _ in kept], dtype=pl.Int64))
        return frame, ids

    # -- across records ----------------------------------------------------------------------------

    def span(self, what: str, line: int, column: str | None = None) -> Span:
        raw = self.raws[what]
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
        tables = Tables(self.S.drop("__pos", "__line"), self.E.drop("__pos", "__line"), inv)
        spans = (self.files.get("subjects"), self.S["__line"], self.files.get("events"), self.E["__line"])
        return ColumnarHistory(tables, list(loader.diags.items), dict(loader.invalid), list(loader.rejected), spans)

    def _seen(self, ids: Any, what: str) -> dict[str, list[Span | None]]:
        """Ids held by more than one row -> their rows' spans, in order of first appearance."""
        pl = self.pl
        dup = ids.filter(pl.len().over("__id") > 1)
        if dup.height == 0:
            return {}
        out: dict[str, list[Span | None]] = {}
        for rid, line in dup.select("__id", "__line").iter_rows():
            out.setdefault(rid, []).append(self.span(what, line))
        return out

    def duplicates(self) -> None:
        """RecordLoader._duplicates: the ids are iterated as that method's set holds them."""
        pl, loader = self.pl, self.loader
        seen = self._seen(self.subjects_ids, "subjects")
        dup_subjects = {i for i in seen}
        for sid in dup_subjects:
            loader.dup_subject(sid, seen[sid])
        if dup_subjects:
            self.S = self.S.filter(~pl.col("id").is_in(list(dup_subjects)))
        seen = self._seen(self.events_ids, "events")
        dup_events = {i for i in seen}
        for eid in dup_events:
            loader.dup_event(eid, seen[eid])
        if dup_events:
            hit = self.E["id"].is_in(list(dup_events))
            for eid, kind, line in self.E.filter(hit).select("id", "kind", "__line").iter_rows():
                loader.dup_event_rejected(eid, kind, self.span("events", line), seen[eid])
            self.E = self.E.filter(~hit)

    def same_subjects(self) -> None:
        """RecordLoader._same_subjects: every operator after the first with a credit code, every
        product after the first with a brand and Nice class."""
        pl, loader = self.pl, self.loader
        S = self.S
        op, pr = pl.col("kind") == "operator", pl.col("kind") == "product"
        first_op = pl.col("id").first().over("uscc")
        first_pr = pl.col("id").first().over(["brand", "nice_class"])
        ops = S.filter(op).with_columns(first=first_op).filter(pl.col("id") != pl.col("first"))
        prs = S.filter(pr).with_columns(first=first_pr).filter(pl.col("id") != pl.col("first"))
        hits = pl.concat([ops.select("__pos", "__line", "id", "kind", "uscc", "brand", "nice_class", "first"),
                          prs.select("__pos", "__line", "id", "kind", "uscc", "brand", "nice_class", "first")])
        if hits.height == 0:
            return
        for _, line, sid, kind, uscc, brand, nice, first in hits.sort("__pos").iter_rows():
            if kind == "operator":
                loader.same_operator(sid, uscc, first, self.span("subjects", line, "uscc"))
            else:
                loader.same_product(sid, brand, nice, first, self.span("subjects", line, "brand"))
        self.S = S.filter(~pl.col("__pos").is_in(hits["__pos"].implode()))

    def producers(self) -> None:
        """RecordLoader._producers: a product's producer must be a valid operator (with the producer role)."""
        pl, loader = self.pl, self.loader
        S = self.S
        targets = S.select(pl.col("id").alias("producer"), pl.col("kind").alias("t_kind"), pl.col("roles").alias("t_roles"))
        j = S.filter(pl.col("kind") == "product").select("__pos", "__line", "id", "producer") \
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
        if refused:
            self.S = S.filter(~pl.col("__pos").is_in(refused))

    def references(self) -> None:
        from .arrowrefs import check_references

        self.E = check_references(self)
