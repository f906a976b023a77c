"""Corrections (第二十四条、第二十五条) for the columnar backend: the events as corrected.

Pipeline position: one step of :mod:`qrules.columnar`, between refusing the events dated after
the as-of date and deciding the others. It does over whole tables what
``engine.decide.Decider.apply_corrections`` does record by record (the reference):

- corrections are applied in (date, id) order, each to the event its ``of`` names as earlier
  corrections left it: a correction of an unknown event or of a correction, of an event already
  revoked, or dated before the event (as amended so far) is refused, QR612;
- ``revoke`` removes the event from what is decided (QR620 lists it, naming the correction);
- ``amend`` replaces the fields its ``changes`` set (a null cell leaves the field as it was; a
  changed ``line`` replaces the whole line), in order, so the last amendment of a field wins.

Only the date check depends on earlier corrections of the same event (an amended date, a
revocation), so they are decided in rounds: round ``k`` decides every event's ``k``-th correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Corrected", "correct", "CHANGES"]

#: ``changes_*`` column -> the event column it amends (``line`` is handled as one field).
CHANGES = {"changes_item": "item", "changes_intentional": "intentional", "changes_major_impact": "major_impact",
           "changes_date": "date", "changes_subjects": "subjects"}
_LINE = {"changes_line_model": "line_model", "changes_line_standard": "line_standard"}


@dataclass
class Corrected:
    """What :func:`correct` returns."""

    events: Any        # the live events as corrected: revoked ones removed, amendments applied (corrections kept)
    rejections: Any    # refusals in the backend's rejection columns (QR612, QR620)
    counted: Any       # ids of the corrections that applied (Series)
    revoked: Any       # ``of`` -> ``by``: each revoked event and the correction that revoked it
    amended: dict      # event id -> its subjects as amended (the subjects its refusals concern)


def correct(live: Any, cite: str | None) -> Corrected:
    """Apply the corrections among ``live`` (the events dated on or before the as-of date) to it;
    ``cite`` is the ruleset's article for corrections. ``live`` may be a LazyFrame: then the events
    come back as a LazyFrame too, so the kinds read later are corrected column by column as they are
    read, never as a second copy of the whole table (the largest memory cost of a large run)."""
    import polars as pl

    lazy = isinstance(live, pl.LazyFrame)
    frame = live.lazy()

    rej: list[Any] = []
    text = pl.lit(cite, dtype=pl.Utf8)

    def reject(frame: Any, code: str, reason: Any) -> None:
        if frame.height:
            rej.append(frame.select(event=pl.col("id"), kind=pl.col("kind"), subject=pl.lit(None, dtype=pl.Utf8),
                                    code=pl.lit(code), reason=reason, cite=text))

    fields = ["id", "kind", "date", "of", "action", *CHANGES, *_LINE]
    corr = frame.filter(pl.col("kind") == "correction").select(fields).sort("date", "id").collect()
    # joins over every event cost more than a membership test: narrow to the events corrected first
    heads = frame.filter(pl.col("id").is_in(corr["of"].implode())).select(
        pl.col("id").alias("of"), pl.col("kind").alias("t_kind"), pl.col("date").alias("t_date")).collect()
    corr = corr.join(heads, on="of", how="left")
    reject(corr.filter(pl.col("t_kind").is_null()), "QR612", pl.format("correction of an unknown event '{}'",
                                                                        pl.col("of")))
    reject(corr.filter(pl.col("t_kind") == "correction"), "QR612", pl.format("correction of a correction '{}'",
                                                                              pl.col("of")))
    corr = corr.filter(pl.col("t_kind").is_not_null() & (pl.col("t_kind") != "correction")).with_columns(
        rank=pl.int_range(pl.len()).over("of"),  # sorted by (date, id): the k-th correction of its event
        target=pl.col("of").rank("dense").cast(pl.Int64) - 1)
    status, by, seen = _decide(corr)
    corr = corr.with_columns(status=pl.Series(status), by=corr["id"].gather(np.maximum(by, 0)),
                             seen=pl.Series(seen, dtype=pl.Int32).cast(pl.Date))
    reject(corr.filter(pl.col("status") == 1), "QR612", pl.format("'{}' was already revoked by {}", pl.col("of"),
                                                                  pl.col("by")))
    reject(corr.filter(pl.col("status") == 2), "QR612",
           pl.format("correction dated {}, before the event it corrects ({})（更正早于被更正的事件）",
                     pl.col("date"), pl.col("seen")))
    done = corr.filter(pl.col("status") == 0)
    revoked = done.filter(pl.col("action") == "revoke").select("of", by=pl.col("id"))
    amends = done.filter(pl.col("action") == "amend").sort("of", "rank")
    # The amended fields of each event: the last amendment that set each one (line: both parts at once).
    line_set = pl.any_horizontal([pl.col(c).is_not_null() for c in _LINE])
    folded = amends.group_by("of").agg(
        *[pl.col(c).drop_nulls().last().alias(f"new_{col}") for c, col in CHANGES.items()],
        *[pl.col(c).filter(line_set).last().alias(f"new_{col}") for c, col in _LINE.items()],
        new_line=line_set.any())
    events = frame
    if folded.height:  # the amended columns only, in the events' order (the left join keeps it)
        news = [f"new_{col}" for col in [*CHANGES.values(), *_LINE.values()]] + ["new_line"]
        # the rows of amended subjects are not known (qrules.columnar.Tables.subject_rows): nulls, one per subject
        rows = [pl.when(pl.col("new_subjects").is_null()).then(pl.col("subjects_rows")).otherwise(
            pl.col("new_subjects").list.eval(pl.element().replace_strict([], [], default=None, return_dtype=pl.Int64)))
            .alias("subjects_rows")] if "subjects_rows" in frame.collect_schema().names() else []
        events = frame.join(folded.lazy(), left_on="id", right_on="of", how="left", maintain_order="left").with_columns(
            *rows, *[pl.coalesce(f"new_{col}", col).alias(col) for col in CHANGES.values()],
            *[pl.when(pl.col("new_line").fill_null(False)).then(pl.col(f"new_{col}")).otherwise(pl.col(col))
              .alias(col) for col in _LINE.values()]).drop(news)
    revoked_ids = revoked["of"].implode()
    if revoked.height:
        events = events.filter(~pl.col("id").is_in(revoked_ids))
    gone = frame.filter(pl.col("id").is_in(revoked_ids)).select("id", "kind").collect().join(
        revoked, left_on="id", right_on="of").select("id", "kind", reason=pl.format("revoked by correction {}",
                                                                                  pl.col("by")))
    reject(gone, "QR620", pl.col("reason"))
    amended = folded.filter(pl.col("new_subjects").is_not_null()).join(revoked, on="of", how="anti")
    return Corrected(events=events if lazy else events.collect(), rejections=pl.concat(rej) if rej else None, counted=done["id"],
                     revoked=revoked, amended=dict(zip(amended["of"].to_list(), amended["new_subjects"].to_list())))


def _decide(corr: Any) -> tuple[Any, Any, Any]:
    """Each correction's fate, in rounds (round ``k``: every event's ``k``-th correction, with numpy
    over all events at once): 0 applies, 1 its event was already revoked, 2 it is dated before its
    event as amended so far. Also the row of the revoking correction (1) and that date in days (2)."""
    import polars as pl

    n = corr.height
    target, rank = corr["target"].to_numpy(), corr["rank"].to_numpy()
    day = corr["date"].cast(pl.Int32).to_numpy()
    moved = corr["changes_date"].cast(pl.Int32)
    has_move = (moved.is_not_null() & (corr["action"] == "amend")).to_numpy()
    moved = moved.fill_null(0).to_numpy()
    revoke = (corr["action"] == "revoke").to_numpy()
    events = int(target.max()) + 1 if n else 0
    current = np.zeros(events, dtype=np.int32)           # each event's date as amended so far
    current[target] = corr["t_date"].cast(pl.Int32).to_numpy()
    revoked_by = np.full(events, -1, dtype=np.int64)
    status = np.zeros(n, dtype=np.int8)
    by = np.full(n, -1, dtype=np.int64)
    seen = current[target].copy()
    order = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[order], np.arange(int(rank.max()) + 2 if n else 1))
    for k in range(len(bounds) - 1):
        rows = order[bounds[k]:bounds[k + 1]]
        t = target[rows]
        gone = revoked_by[t] >= 0
        seen[rows] = current[t]
        early = ~gone & (day[rows] < current[t])
        status[rows[gone]], by[rows[gone]] = 1, revoked_by[t[gone]]
        status[rows[early]] = 2
        ok = rows[~gone & ~early]
        revoked_by[target[ok[revoke[ok]]]] = ok[revoke[ok]]
        move = ok[has_move[ok]]
        current[target[move]] = moved[move]
    return status, by, seen
