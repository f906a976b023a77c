"""The references of events, checked with joins: RecordLoader._references for whole tables.

Every name an event holds (``subjects``, ``subject``, ``changes_subjects``, ``of``) is joined
with the valid subjects or events; only the rows that find nothing, or a record of the wrong
kind, or a correction dated before what it corrects, or a record entered (``recorded``) before
its date, come back to Python, where they are
reported through the loader's message methods in the order its loop visits them (event by
event, field by field). ``of`` circles are found by :func:`qrules.history.load.of_cycles` over
the corrections alone.
"""

from __future__ import annotations

from typing import Any

from ..errors import Span
from .kinds import EVENT_KINDS, PROCEDURE_KINDS
from .load import RejectedRecord, of_cycles
from .models import EVENT_MODELS

__all__ = ["check_references"]

_NON_PROCEDURE = [k for k in EVENT_KINDS if k not in PROCEDURE_KINDS]
#: What an event's ``of`` may name, by its kind (None: anything).
_WANT: dict[str, list[str] | None] = {
    "repair": ["deduction"], "correction": None, "repair_applied": ["deduction"],
    **{k: ["objection_filed"] for k in ("objection_accepted", "objection_refused", "objection_answered")},
    **{k: _NON_PROCEDURE for k in ("notice_sent", "objection_filed", "error_reported")},
}
#: Fields a correction's ``changes`` sets, by the columns that write them.
_CHANGES = {"item": ["changes_item"], "intentional": ["changes_intentional"], "major_impact": ["changes_major_impact"],
            "date": ["changes_date"], "subjects": ["changes_subjects"],
            "line": ["changes_line_model", "changes_line_standard"]}


#: (event kind, list column) -> the ``seq`` of its first item: where a named subject is in its list.
_LIST_BASE = {("deduction", "subjects"): 0, ("repair", "subjects"): 1, ("correction", "changes_subjects"): 3}


def _subject_refs(pl: Any, E: Any) -> Any:
    """(pos, seq, column, id, kind, value, want) for every subject an event names."""
    cols = ["__pos", "__line", "id", "kind"]
    parts = []
    for (kind, column), base in _LIST_BASE.items():
        part = E.filter((pl.col("kind") == kind) & pl.col(column).is_not_null()).select(
            *cols, pl.col(column).alias("value"), pl.int_ranges(pl.col(column).list.len()).alias("i"))
        parts.append(part.explode("value", "i").filter(pl.col("value").is_not_null()).select(
            *cols, (pl.col("i") + base).cast(pl.Int64).alias("seq"), pl.lit(column).alias("column"), "value"))
    for kind, want in (("reward", None), ("spot_check", "product"), ("filing", "operator")):
        parts.append(E.filter(pl.col("kind") == kind).select(
            *cols, pl.lit(0, dtype=pl.Int64).alias("seq"), pl.lit("subject").alias("column"),
            pl.col("subject").alias("value")).with_columns(pl.lit(want, dtype=pl.Utf8).alias("want")))
    for i in range(3):
        parts[i] = parts[i].with_columns(pl.lit(None, dtype=pl.Utf8).alias("want"))
    return pl.concat(parts)


def check_references(run: Any) -> None:
    """Report the events' reference problems (in RecordLoader's order) and drop those events."""
    pl, loader = run.pl, run.loader
    S = run.valid("subjects", "id", "kind")
    E = run.valid("events", "id", "kind", "date", "recorded", "subjects", "subject", "of",
                  *[c for cs in _CHANGES.values() for c in cs])
    if E.height == 0:
        return
    invalid = loader.invalid
    kinds_of: dict[str, set] = {}
    for r in loader.rejected:
        kinds_of.setdefault(r.id, set()).add(r.kind)
    rejected_kinds = {rid: next(iter(ks)) if len(ks) == 1 else None for rid, ks in kinds_of.items()}
    todo: list[tuple] = []  # (pos, seq, line, eid, kind, check, details...)

    lazy = E.lazy()
    refs = _subject_refs(pl, lazy).join(S.lazy().select(pl.col("id").alias("value"), pl.col("kind").alias("t_kind")),
                                        on="value", how="left")
    refused = pl.Series(list(invalid), dtype=pl.Utf8)  # a name of a refused subject is kept: the engine rejects it
    refs = refs.filter((pl.col("t_kind").is_null() & ~pl.col("value").is_in(refused.implode()))
                       | (pl.col("want").is_not_null() & (pl.col("t_kind") != pl.col("want"))))
    heads = lazy.select(pl.col("id").alias("of"), pl.col("kind").alias("t_kind"), pl.col("date").alias("t_date"))
    ofs = lazy.filter(pl.col("kind").is_in(list(_WANT))).select("__pos", "__line", "id", "kind", "of", "date",
                                                                *[c for cs in _CHANGES.values() for c in cs])
    ofs = ofs.join(heads, on="of", how="left")
    wrong = pl.any_horizontal([(pl.col("kind") == k) & ~pl.col("t_kind").is_in(want)
                               for k, want in _WANT.items() if want is not None])
    # a change to a field the corrected record's kind does not have
    unknown = pl.any_horizontal([pl.any_horizontal([pl.col(c).is_not_null() for c in cs])
                                 & ~pl.col("t_kind").is_in([k for k, m in EVENT_MODELS.items() if f in m.model_fields])
                                 for f, cs in _CHANGES.items()])
    odd = (pl.col("of") == pl.col("id")) | pl.col("t_kind").is_null() \
        | wrong.fill_null(False) \
        | ((pl.col("kind") == "correction") & (pl.col("date") < pl.col("t_date")).fill_null(False)) \
        | ((pl.col("kind") == "correction") & unknown & pl.col("t_kind").is_not_null())
    early = lazy.filter((pl.col("recorded") < pl.col("date")).fill_null(False))  # brief §4a, QR513
    refs, ofs, early = pl.collect_all([refs, ofs.filter(odd), early.select("__pos", "__line", "id", "kind", "recorded",
                                                                            "date")])  # the joins at once
    for pos, line, eid, kind, recorded, date in early.iter_rows():  # the loader's first check of an event
        todo.append((pos, -1, line, eid, kind, "recorded", "recorded", None, recorded, date))
    for pos, line, eid, kind, seq, column, value, want, t_kind in refs.select(
            "__pos", "__line", "id", "kind", "seq", "column", "value", "want", "t_kind").iter_rows():
        todo.append((pos, seq, line, eid, kind, "subject", column, value, want, t_kind))

    for row in ofs.iter_rows(named=True):
        pos, line, eid, kind, value, t_kind = row["__pos"], row["__line"], row["id"], row["kind"], row["of"], row["t_kind"]
        want = _WANT[kind]
        if value == eid:
            todo.append((pos, 0, line, eid, kind, "self", "of", value, want, None))
        elif t_kind is None and value not in rejected_kinds:
            todo.append((pos, 0, line, eid, kind, "no_event", "of", value, want, None))
        else:
            found = t_kind if t_kind is not None else rejected_kinds.get(value)
            if want is not None and found is not None and found not in want:
                todo.append((pos, 0, line, eid, kind, "wrong_event", "of", value, want, found))
        if kind == "correction" and t_kind is not None:
            if row["date"] < row["t_date"]:
                todo.append((pos, 1, line, eid, kind, "early", "date", value, row["date"], row["t_date"]))
            changed = sorted(f for f, cs in _CHANGES.items() if any(row[c] is not None for c in cs))
            unknown = [f for f in changed if f not in EVENT_MODELS[t_kind].model_fields]
            if changed and unknown:
                todo.append((pos, 2, line, eid, kind, "no_field", None, value, t_kind, unknown))

    bad: dict[str, tuple[str, str]] = {}
    if todo:
        subject_ids: list[str] | None = None
        event_ids: list[str] | None = None
        todo.sort(key=lambda t: (t[0], t[1]))
        for pos, seq, line, eid, kind, check, column, value, a, b in todo:
            base = _LIST_BASE.get((kind, column))
            where = run.span("events", line, column, seq - base if base is not None else None)
            if check == "subject":
                if b is None:
                    if subject_ids is None:
                        subject_ids = S["id"].to_list()
                    code = loader.no_subject(eid, value, where, subject_ids)
                else:
                    code = loader.wrong_subject(eid, kind, a, value, b, where)
            elif check == "self":
                code = loader.self_reference(eid, where)
            elif check == "no_event":
                if event_ids is None:
                    event_ids = E["id"].to_list()
                code = loader.no_event(eid, value, where, event_ids)
            elif check == "wrong_event":
                code = loader.wrong_event(eid, kind, a, value, b, where)
            elif check == "early":
                code = loader.correction_early(eid, a, value, b, where)
            elif check == "recorded":
                code = loader.recorded_early(eid, a, b, where)
            else:
                code = loader.no_field_to_amend(eid, a, b, run.span("events", line, "changes"))
            if eid not in bad:
                bad[eid] = (code, loader.BAD_REFERENCE.get(code, "refers to a record of the wrong kind"))
    corrections = E.lazy().filter(pl.col("kind") == "correction").select("id", "of", "__line").collect()
    chains = dict(zip(corrections["id"].to_list(), corrections["of"].to_list()))
    cycles = of_cycles(chains)
    if cycles:
        lines = dict(zip(corrections["id"].to_list(), corrections["__line"].to_list()))
        for start, cycle in cycles.items():
            if len(set(cycle)) == 1 and start in bad:  # of: itself, said already (self_reference)
                continue
            loader.of_cycle(start, cycle, run.span("events", lines[start]))
            bad[start] = ("QR509", "'of' goes round in a circle")
    if not bad:
        return
    messages = loader.reference_messages()
    hits = E.select("__pos", "id", "kind", "__line").filter(pl.col("id").is_in(list(bad)))
    for _, eid, kind, line in hits.iter_rows():
        code, short = bad[eid]
        loader.rejected.append(RejectedRecord(eid, kind, Span(run.raws["events"].file, line, 1),
                                              messages.get(eid, short), code))
    run.drop("events", hits["__pos"])
