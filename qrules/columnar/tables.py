"""A validated history as two polars tables (subjects, events) and the refusals made from them.

Pipeline position: the columnar loaders (:mod:`qrules.history.arrowload`) or
:meth:`Tables.from_history` -> **Tables** -> :class:`qrules.columnar.backend.ColumnarBackend`.
"""

from __future__ import annotations

from typing import Any

from .common import REJ


class Tables:
    """A validated history as two polars tables (and the loader's refused subjects).

    The contract every producer of tables keeps (``from_history`` here, the columnar loader):
    ``subjects`` has every column of :data:`qrules.tables.SUBJECT_COLUMNS` and ``events`` every
    column of :data:`qrules.tables.EVENT_COLUMNS` plus ``recorded``, typed by
    :meth:`subject_schema` / :meth:`event_schema`, one row per valid record in history order;
    ``invalid`` is ``sid`` -> ``inv_reason`` for the refused subjects."""

    DATE_COLUMNS = frozenset({"date", "notice_date", "action_date", "applied", "changes_date", "recorded"})

    def __init__(self, subjects: Any, events: Any, invalid: Any):
        self.subjects, self.events, self.invalid = subjects, events, invalid

    def memo(self, key: Any, make: Any) -> Any:
        """``make()``, worked out once per tables: what depends on the tables (and the ruleset named
        in ``key``) alone, never on the as-of date, for the evaluations over them (several as-of
        dates, two versions of a ruleset). Forgotten when ``subjects`` or ``events`` is replaced."""
        of = self.__dict__.get("_memo_of")
        if of is None or of[0] is not self.subjects or of[1] is not self.events:  # new tables, or new frames
            self._memo_of, self._memo = (self.subjects, self.events), {}
        memo = self._memo
        hit = memo.get(key, memo)
        if hit is memo:
            hit = memo[key] = make()
        return hit

    @staticmethod
    def _dtype(column: str) -> Any:
        import polars as pl

        from ..tables import BOOL_COLUMNS, LIST_COLUMNS

        if column in LIST_COLUMNS:
            return pl.List(pl.Utf8)
        if column in BOOL_COLUMNS:
            return pl.Boolean
        if column in Tables.DATE_COLUMNS:
            return pl.Date
        if column == "nice_class":
            return pl.Int64
        return pl.Utf8

    @classmethod
    def subject_schema(cls) -> dict[str, Any]:
        from ..tables import SUBJECT_COLUMNS

        return {c: cls._dtype(c) for c in SUBJECT_COLUMNS}

    @classmethod
    def event_schema(cls) -> dict[str, Any]:
        from ..tables import EVENT_COLUMNS

        return {c: cls._dtype(c) for c in [*EVENT_COLUMNS, "recorded"]}

    @classmethod
    def from_history(cls, loaded: Any) -> "Tables":
        """Tables from a :class:`~qrules.history.LoadedHistory` (or a ``History``)."""
        import polars as pl

        from ..tables import COLUMN_PATHS

        history = getattr(loaded, "history", loaded)
        invalid = dict(getattr(loaded, "invalid_subjects", {}) or {})

        def columns(records: list, schema: dict) -> dict[str, list]:
            dicts = [r.__dict__ for r in records]
            out: dict[str, list] = {}
            for col in schema:
                path = COLUMN_PATHS.get(col, (col,))
                if len(path) == 1:
                    out[col] = [d.get(col) for d in dicts]
                    continue
                values = []
                for d in dicts:
                    v: Any = d.get(path[0])
                    for part in path[1:]:
                        v = getattr(v, part, None) if v is not None else None
                    values.append(v)
                out[col] = values
            for col in schema:  # list columns: [] for an absent operator's roles, as the models hold
                if col == "roles":
                    out[col] = [v or [] for v in out[col]]
            return out

        sschema, eschema = cls.subject_schema(), cls.event_schema()
        subjects = _frame(columns(list(history.subjects), sschema), sschema)
        events = _frame(columns(list(history.events), eschema), eschema)
        inv = pl.DataFrame({"sid": list(invalid), "inv_reason": list(invalid.values())},
                           schema={"sid": pl.Utf8, "inv_reason": pl.Utf8})
        return cls(subjects, events, inv)

    #: The kinds whose subjects' rows :meth:`subject_rows` finds: those the backend scores or reads.
    ROWS_OF = ("deduction", "reward", "spot_check", "filing")

    def subject_rows(self) -> None:
        """Add to ``events`` the rows in ``subjects`` of the subjects each event names: ``subject_row``
        (its ``subject``) and ``subjects_rows`` (a deduction's ``subjects``, a list), null for a name no valid
        subject has. Worked out once per tables: the evaluations over them (several as-of dates, two
        versions of a ruleset) then gather a subject's columns by its row, never hashing an id again.
        Only for the kinds of :data:`ROWS_OF` (null on the others); a null is looked up by id. Done by
        a run over tables of up to ``common.SPLIT_ROWS`` events: a large corpus is evaluated once, and
        finding the rows costs as much as looking the subjects up (measured at 1M subjects, here and
        in the column-wise loader's reference joins).

        A repair's ``of`` is found the same way, as ``of_row``: the row in ``events`` of the event it
        names (null when no event has that id); and each event's own row is ``erow`` (what the tally
        of events counted and refused marks, instead of hashing their ids)."""
        import polars as pl

        if "subject_row" in self.events.columns:
            return
        ids, rows = self.subjects["id"], pl.int_range(self.subjects.height, eager=True)
        if ids.n_unique() < len(ids):  # ids not unique: no row to name
            ids, rows = ids.head(0), rows.head(0)

        def row(name: Any) -> Any:
            return name.replace_strict(ids, rows, default=None, return_dtype=pl.Int64)
        read = pl.col("kind").is_in(list(self.ROWS_OF))
        one = pl.when(read).then(row(pl.col("subject"))).alias("subject_row")
        many = pl.when(pl.col("kind") == "deduction").then(pl.col("subjects").list.eval(row(pl.element()))) \
            .alias("subjects_rows")  # the one kind of ROWS_OF that names several subjects
        events = self.events["id"]
        if events.n_unique() < len(events):  # ids not unique (refused by the loaders): no row to name
            events = events.head(0)
        of = pl.when(pl.col("kind") == "repair").then(pl.col("of").replace_strict(
            events, pl.int_range(len(events), eager=True), default=None, return_dtype=pl.Int64)).alias("of_row")
        self.events = self.events.with_columns(one, many, of, erow=pl.int_range(pl.len(), dtype=pl.Int64))
        self.__dict__.pop("_split", None)  # split again, with the rows

    def heads(self) -> Any:
        """Every event's id as ``of``, its kind and date (what a repair's ``of`` is looked up in), built once."""
        import polars as pl

        if "_heads" not in self.__dict__:
            self._heads = self.events.select(pl.col("id").alias("of"), pl.col("kind").alias("t_kind"),
                                             pl.col("date").alias("t_date"))
        return self._heads

    def kind(self, kind: str | tuple[str, ...]) -> Any:
        """The events of one kind (or several), split once: filtering the whole table is the costly part."""
        split = self.__dict__.setdefault("_split", {})
        if not split:
            for (k,), part in self.events.partition_by("kind", as_dict=True).items():
                split[k] = part
        if isinstance(kind, tuple):
            import polars as pl

            parts = [split[k] for k in kind if k in split]
            return pl.concat(parts) if parts else self.events.head(0)
        return split.get(kind, self.events.head(0))


def _frame(columns: dict[str, list], schema: dict) -> Any:
    """A polars frame from Python lists; through Arrow when pyarrow is installed (list columns
    are much faster to build there)."""
    import polars as pl

    try:
        import pyarrow as pa
    except ModuleNotFoundError:
        return pl.DataFrame(columns, schema=schema)
    types = {pl.Utf8: pa.string(), pl.Date: pa.date32(), pl.Boolean: pa.bool_(), pl.List(pl.Utf8): pa.list_(pa.string()),
             pl.Int64: pa.int64()}
    table = pa.table({k: pa.array(v, type=types[schema[k]]) for k, v in columns.items()})
    return pl.from_arrow(table)


def rejections(t: Tables, frame: Any, amended: dict | None = None) -> list[Any]:
    """Rejection models for the refused rows, with the subjects each event concerns (as the engine lists them:
    an event's subjects as ``amended`` by a correction, the original ones of the event its ``of`` names).

    The subjects are joined for the refused events only: the names an event gives, else those of
    the event its ``of`` reaches (at most five steps, a round each), and each named product's producer.
    """
    import polars as pl

    from ..engine.results import Rejection

    ev = t.events.select("id", "subjects", "subject", "of")
    listed = pl.List(pl.Utf8)
    names = pl.concat_list([pl.col("subjects").fill_null(pl.lit([], dtype=listed)), pl.col("subject")]) \
        .list.drop_nulls().alias("names")
    cur = frame.select(pl.col("event").unique().alias("id")).join(ev, on="id", how="left")
    if amended:  # 第二十五条: an amended event names the subjects the correction gave it
        fixed = pl.DataFrame({"id": list(amended), "__am": list(amended.values())}, schema={"id": pl.Utf8, "__am": listed})
        cur = cur.join(fixed, on="id", how="left").with_columns(
            subjects=pl.when(pl.col("id").is_in(list(amended))).then(pl.col("__am")).otherwise(pl.col("subjects")))
    cur = cur.select(origin=pl.col("id"), of=pl.col("of"), names=names)
    for _ in range(5):
        follow = (pl.col("names").list.len() == 0) & pl.col("of").is_not_null()
        step = cur.filter(follow)
        if step.height == 0:
            break
        step = step.select("origin", id=pl.col("of")).join(ev.with_columns(__hit=pl.lit(True)), on="id", how="left")
        step = step.select("origin", of=pl.when(pl.col("__hit")).then(pl.col("of")), names=names)
        cur = pl.concat([cur.filter(~follow), step])
    made = t.subjects.filter((pl.col("kind") == "product") & pl.col("producer").is_not_null()).select(
        names=pl.col("id"), producer=pl.col("producer"))
    named = cur.select("origin", "names").explode("names").filter(pl.col("names").is_not_null())
    up = named.join(made, on="names").select("origin", names=pl.col("producer"))  # each named product's producer too
    every = pl.concat([named, up]).unique().sort("origin", "names").group_by("origin", maintain_order=True).agg(
        pl.col("names").alias("__subjects"))
    rows = frame.join(every, left_on="event", right_on="origin", how="left", maintain_order="left")
    build = Rejection.build  # values computed here, as the engine's: no validation pass
    return [build(event=r[0], kind=r[1], subject=r[2], subjects=r[6] or [], code=r[3], reason=r[4], cite=r[5])
            for r in rows.select(*REJ, "__subjects").iter_rows()]


def excluded(frame: Any) -> list[Any]:
    from ..engine.results import ExcludedSubject

    return [ExcludedSubject.build(id=r[0], reason=r[1], cite=r[2], code=r[3]) for r in frame.iter_rows()]
