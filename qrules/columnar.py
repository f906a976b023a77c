"""The columnar backend: a whole corpus evaluated at once with polars, from the same rules.

Pipeline position: ``ruleset`` (compiled) + ``history`` (validated) -> **columnar** -> flat
result rows, as :mod:`qrules.batch` writes them. The per-subject engine (:mod:`qrules.engine`)
stays the reference and the source of explanations; this backend computes the same scores,
classes, official classes, locks and rejections for every subject at once:

- every ruleset expression it needs is compiled from the checked AST to a polars expression
  (:mod:`qrules.polarsexpr`), numbers as scaled integers at the ruleset's scale;
- deductions, repairs and rewards are rows; items, subjects, the links of 第十二条 and a
  producer's product lines (第十条) are joins, the heaviest value per event a sort;
- the decisions that depend on earlier decisions (the 180-day dedup per product line, the
  per-period repair limit, the reward cap on a subject and on a producer's line, the
  half-year adjustments and the D lock) are bounded iterations — round ``k`` decides every
  group's ``k``-th failure, repair, reward or adjustment at once.

Corrections are applied first (:mod:`qrules.columnar_corrections`); a family of versions is
evaluated by the version that decides every date (:mod:`qrules.columnar_versions`).

What it does not take, it says: :meth:`ColumnarBackend.unsupported` lists every rule or kind
of record of this ruleset and history it cannot evaluate (rules over the typed collections,
decisions across a change of version, rule fields it does not know...). The commands then fall
back to the per-subject engine and print that list — never silently.
``tests/test_columnar.py`` compares both backends subject by subject over seeded corpora.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import numpy as np

from .columnar_accounts import MASK_DATES, NO_DAY, DateSums, date_sums, lowest_lines, masks_for, official_classes
from .columnar_keys import first_per_key, hash_rows
from .polarsexpr import PolarsCompiler, Unsupported, compile_many, ruleset_scale, scaled_text, to_scaled
from .tables import ChunkResult

__all__ = ["ColumnarBackend", "Fallback"]

#: Ruleset fields this backend knows (``*``: any key of a mapping). A field outside this list
#: that a ruleset sets (a scope added later) makes the backend fall back and name it.
KNOWN_FIELDS = frozenset("""
adjustment.cite adjustment.dates adjustment.lock.class_ adjustment.lock.duration adjustment.score_as_of
authorities.cite authorities.levels.*.cite authorities.levels.*.name authorities.records.*
classes.*.cite classes.*.label classes.*.when composition.cite composition.producer composition.product
composition.seller deadlines.*.cite deadlines.*.party deadlines.*.starts deadlines.*.stops deadlines.*.title
deadlines.*.within dedup.heaviest.cite dedup.heaviest.note dedup.heaviest.value dedup.once_per_event.cite
dedup.once_per_event.note dedup.once_per_event.value dedup.spot_check.cite dedup.spot_check.deduplicated_when
dedup.spot_check.same_line document effective_dates.*.cite effective_dates.*.note effective_dates.*.value
extends in_force.cite in_force.from_ in_force.until information_use.*.cite information_use.*.note
information_use.*.when intentional.cite intentional.points issued issuer items.*.cite items.*.intentional
items.*.major_impact items.*.note items.*.points items.*.provisional items.*.spot_check items.*.subject
items.*.title items.*.when jurisdiction.cite jurisdiction.division jurisdiction.name links.named_seller.items
links.named_seller.item links.named_seller.when links.named_seller.cite links.producer_of_product.items
links.producer_of_product.item links.producer_of_product.when links.producer_of_product.cite
measures.*.actions measures.*.checks_per_year measures.*.cite measures.*.interview measures.*.mode
measures.*.mode_en measures.*.notice measures.*.random_checks notes out_of_scope out_of_scope.cite out_of_scope.note
out_of_scope.title parameters.*.cite
parameters.*.note parameters.*.provisional parameters.*.value qrules repair.conditions.when
repair.conditions.reason repair.conditions.cite repair.lapses_with_deduction.cite
repair.lapses_with_deduction.note repair.lapses_with_deduction.value repair.limit.allowed_when
repair.limit.cite repair.limit.reason repair.ratio.cite repair.ratio.value rewards.cap.cite rewards.cap.counted
rewards.rules.*.cite rewards.rules.*.points rewards.rules.*.provisional rewards.rules.*.reason
rewards.rules.*.subject rewards.rules.*.title rewards.rules.*.when rewards.rules.*.conditions.when
rewards.rules.*.conditions.reason rewards.rules.*.conditions.cite ruleset scope.cite scope.excluded_categories
title version window.cite window.counts calendar.*.holidays calendar.*.workdays citations.corrections
citations.filing citations.items citations.repairs citations.rewards citations.subjects composition.producer.cite
composition.producer.rule composition.producer.note composition.product.cite composition.product.note
composition.product.rule composition.seller.cite composition.seller.note composition.seller.rule dedup.heaviest.rule
family transition
""".split())

#: The engine a lazy query is collected with: the in-memory one, as eager operations use (polars'
#: default for a lazy query, streaming, costs several milliseconds more to start a query over frames this size).
MEMORY = "in-memory"

#: Sections that never change a score, class or refusal (procedures, documentation, measures
#: read as they are): a field added there needs nothing from the backend.
NEUTRAL_SECTIONS = ("deadlines", "out_of_scope", "notes", "effective_dates", "measures", "citations", "authorities")

#: Event kinds that are facts for procedures only (counted as facts, never scored).
#: Above this many events, the run reads each kind from the whole table with only its columns
#: instead of splitting the table by kind first (a copy of every column: memory, not speed, decides).
_SPLIT_ROWS = 500_000

#: The most values of the reward cap a backend keeps (``ColumnarBackend.cap_memo``) before starting afresh.
_CAP_MEMO = 100_000

_PROCEDURE = ("notice_sent", "objection_filed", "objection_accepted", "objection_refused", "objection_answered",
              "repair_applied", "error_reported")


class Fallback(Exception):
    """The columnar backend cannot take this ruleset or history; ``reasons`` says what."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _set_fields(obj: Any, prefix: tuple = ()) -> set[str]:
    """Dotted paths of the fields a ruleset model sets (mapping keys as ``*``, list items flattened)."""
    from pydantic import BaseModel

    out: set[str] = set()
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            out |= _set_fields(getattr(obj, name), prefix + (name,))
    elif isinstance(obj, dict):
        for value in obj.values():
            out |= _set_fields(value, prefix + ("*",))
    elif isinstance(obj, (list, tuple)) and obj and isinstance(obj[0], BaseModel):
        for value in obj:
            out |= _set_fields(value, prefix)
    elif obj not in (None, False, [], {}, ()):
        out.add(".".join(prefix))
    return out


class ColumnarBackend:
    """A compiled ruleset made ready for columnar evaluation (compile once, evaluate many)."""

    def __init__(self, compiled: Any, timeline: Any = None):
        """``timeline``: the family's, when this backend evaluates one of its versions (its notes)."""
        import polars as pl

        from .ruleset import SCOPES

        self.pl = pl
        self.c = compiled
        m = self.m = compiled.model
        self.problems: list[str] = [f"ruleset field '{p}' is new to the columnar backend"
                                    for p in sorted(_set_fields(m) - KNOWN_FIELDS)
                                    if p.split(".")[0] not in NEUTRAL_SECTIONS]
        pieces = getattr(getattr(compiled, "timeline", None), "pieces", ())
        self.tl = timeline
        # several versions over time (§4a): evaluated by the one that decides every date (columnar_versions)
        self.family = compiled.timeline if len(pieces) > 1 and timeline is None else None
        self.versions: dict[str, ColumnarBackend] = {}
        #: The window's first and last counted day at each date (columnar_window.window_bounds): the
        #: rule's alone, so kept for every run of this backend.
        self.window_memo: dict = {}
        #: The class (第二十六条第一款) of each account total seen (scaled, before the start score):
        #: the class rules read the score alone, so kept for every run of this backend.
        self.class_memo: dict[int, str] = {}
        #: 第十八条's cap at each (columns it reads, their values, points granted) seen: the cap rule
        #: reads those alone, so kept for every run of this backend (bounded: :data:`_CAP_MEMO`).
        self.cap_memo: dict[tuple, int] = {}
        numbers = [i.points for i in m.items.values()] + [i.intentional for i in m.items.values() if i.intentional]
        numbers += [r.points for r in m.rewards.rules.values()]
        numbers += [v for v in compiled.params.values() if isinstance(v, Decimal)]
        try:
            self.scale = ruleset_scale(numbers)
        except Unsupported as exc:
            self.problems.append(str(exc))
            self.scale = 6
        self.unit = 10 ** self.scale
        self.pc = PolarsCompiler(compiled, self.scale)
        self.scopes = SCOPES
        self.reward_problems: dict[str, str] = {}
        self.due_rules = _rules_calling(compiled, "due")  # their dates need the working-day calendar
        exprs = compiled.exprs
        self._need = {  # rule -> (compiled expression, scope key, path for messages)
            "window": (exprs.get("window.counts"), "window.counts", "window.counts (第七条)"),
            "points": (exprs.get("intentional.points"), "intentional.points", "intentional.points"),
            "ratio": (exprs.get("repair.ratio.value"), "repair.ratio.value", "repair.ratio.value"),
            "limit": (exprs.get("repair.limit.allowed_when"), "repair.limit.allowed_when",
                      "repair.limit.allowed_when"),
            "cap": (exprs.get("rewards.cap.counted"), "rewards.cap.counted", "rewards.cap.counted"),
        }
        # Compile everything once against placeholder columns, to find what cannot be taken.
        for key, (expr, scope, path) in self._need.items():
            self._try(lambda e=expr, s=scope: self.expr(e, s, self._probe_columns(s)), path)
        for i, cond in enumerate(compiled.repair_conditions):
            self._try(lambda e=cond.expr: self.expr(e, "repair.conditions.when",
                                                     self._probe_columns("repair.conditions.when")),
                      f"repair.conditions[{i}]")
        for name in compiled.class_order:
            self._try(lambda n=name: self.expr(compiled.class_exprs[n], "classes.when", {("score",): pl.col("s")}),
                      f"classes.{name}")
        for code, expr in compiled.item_whens.items():
            self._try(lambda e=expr: self.expr(e, "items.when", self.item_columns("s_", "roles", "date")),
                      f"items.{code}.when")
        for name, expr in compiled.flag_whens.items():
            self._try(lambda e=expr: self.expr(e, "information_use.when", self._flag_columns()),
                      f"information_use.{name}")
        for code, expr in compiled.reward_whens.items():
            try:
                probe = self._probe_columns("rewards.rules.when")
                for node, name, comp in self.aggregations(expr):
                    fields = {(comp.var, f): pl.col(f"{comp.var}.{f}") for f in self.COLLECTIONS[name]}
                    for part in (comp.cond, comp.elem if node.func != "count" else None):
                        if part is not None:
                            self.pc.node(expr, part, self.scopes["rewards.rules.when"], {**probe, **fields})
                    probe[("__agg", id(node))] = pl.col("__agg")
                self.expr(expr, "rewards.rules.when", probe)
            except Unsupported as exc:
                self.reward_problems[code] = f"rewards.rules.{code}.when: {exc}"
        if m.adjustment.lock is not None and compiled.lock_duration is not None \
                and compiled.lock_duration.unit == "workdays":
            self.problems.append("adjustment.lock.duration in working days")

    # -- compiling ---------------------------------------------------------------------------

    #: Collections a reward rule may aggregate over, and their fields (the engine's records).
    COLLECTIONS = {"spot_checks": ("date", "failed", "passed"),
                   "deductions": ("date", "item", "points", "intentional", "major_impact", "ordinal")}

    def aggregations(self, expr: Any) -> list[tuple[Any, str, Any]]:
        """(node, collection, comprehension) of each aggregation over a collection in ``expr``;
        :class:`Unsupported` for one over another collection (``repairs``, ``rewards``: decided in
        the same rounds as the rewards themselves)."""
        from .language import ast
        from .polarsexpr import AGGREGATIONS

        out = []
        for node in ast.walk(expr.node):
            if isinstance(node, ast.Call) and node.func in AGGREGATIONS and len(node.args) == 1 \
                    and isinstance(node.args[0], ast.Comprehension):
                comp = node.args[0]
                name = getattr(comp.iterable, "name", None)
                if not isinstance(comp.iterable, ast.Name) or name not in self.COLLECTIONS:
                    raise Unsupported(f"an aggregation over '{name or '?'}' in '{expr.text}'")
                out.append((node, name, comp))
        return out

    def _try(self, fn: Any, path: str) -> None:
        try:
            fn()
        except Unsupported as exc:
            self.problems.append(f"{path}: {exc}")

    def expr(self, expr: Any, scope_key: str, columns: dict) -> Any:
        """A rule as a polars expression; a product's remainder at the scale makes it Unsupported
        at run time (checked by :meth:`value`)."""
        value, inexact = compile_many(self.pc, expr, self.scopes[scope_key], columns)
        return value if inexact is None else (value, inexact)

    def item_columns(self, prefix: str, roles: str, date: str) -> dict:
        """An item's condition sees the subject as recorded (``s_kind``... columns under ``prefix``),
        the event, and its date as ``as_of`` (scope ``items.when``)."""
        pl = self.pl
        c = lambda name: pl.col(prefix + name)  # noqa: E731
        return {("subject", "kind"): c("kind"), ("subject", "category"): c("category").fill_null(""),
                ("subject", "roles"): pl.col(roles), ("subject", "brand"): c("brand").fill_null(""),
                ("subject", "nice_class"): c("nice_class").fill_null(0) * self.unit,
                ("subject", "region"): c("region").fill_null(""), ("as_of",): pl.col(date),
                ("event", "date"): pl.col(date), ("event", "item"): pl.col("item"),
                ("event", "intentional"): pl.col("intentional"), ("event", "major_impact"): pl.col("major_impact")}

    def item_applies(self, code: Any, prefix: str, roles: str) -> Any:
        """Whether the item ``code`` (an expression) applies: its ``when`` over the subject under
        ``prefix`` (true for an item without one)."""
        pl = self.pl
        out = pl.lit(True)
        for item, expr in self.c.item_whens.items():
            got = self.expr(expr, "items.when", self.item_columns(prefix, roles, "date"))
            out = pl.when(code == item).then(got[0] if isinstance(got, tuple) else got).otherwise(out)
        return out

    def _probe_columns(self, scope_key: str) -> dict:
        pl = self.pl
        cols: dict = {}
        for name, typ in self.scopes[scope_key].items():
            fields = getattr(typ, "fields", None)
            if fields:
                for f, ftyp in dict(fields).items():
                    if not hasattr(ftyp, "elem") or (name, f) == ("subject", "roles"):
                        cols[(name, f)] = pl.col(f"{name}.{f}")
            else:
                cols[(name,)] = pl.col(name)
        return cols

    def _flag_columns(self) -> dict:
        pl = self.pl
        return {("class",): pl.col("official_class"), ("kind",): pl.col("kind"),
                ("deductions",): pl.col("live_deductions") * self.unit, ("scored",): pl.col("scored"),
                ("score",): pl.col("score_int").fill_null(0)}

    def value(self, frame: Any, expr: Any, scope_key: str, columns: dict, what: str) -> Any:
        """Evaluate a rule over ``frame``: a Series (refusing rows a product made inexact)."""
        return self.value_of(frame, self.expr(expr, scope_key, columns), what)

    def value_of(self, frame: Any, compiled: Any, what: str) -> Any:
        """:meth:`value` of a rule already compiled by :meth:`expr` (a loop compiles it once)."""
        if isinstance(compiled, tuple):
            value, inexact = compiled
            out = frame.with_columns(value.alias("__v"), inexact.alias("__x"))
            if out["__x"].any():
                raise Fallback([f"{what}: a result needs more than {self.scale} decimal places"])
            return out["__v"]
        return frame.with_columns(compiled.alias("__v"))["__v"]  # a constant broadcast to every row

    def win(self, entry: str, at: str) -> Any:
        """The window rule (第七条) with ``entry.date`` and ``as_of`` taken from two date columns
        (compiled once per pair of column names)."""
        pl = self.pl
        wins = self.__dict__.setdefault("_wins", {})
        if (entry, at) not in wins:
            got = self.expr(self.c.exprs["window.counts"], "window.counts",
                            {("as_of",): pl.col(at), ("entry", "date"): pl.col(entry)})
            wins[entry, at] = got[0] if isinstance(got, tuple) else got
        return wins[entry, at]

    # -- what cannot be taken ----------------------------------------------------------------

    def unsupported(self, t: "Tables") -> list[str]:
        """Every rule or kind of record of this ruleset and history the backend cannot take."""
        m = self.m
        reasons = list(self.problems)
        subj = t.subjects
        if not m.repair.lapses_with_deduction.value and subj.height and (subj["kind"] == "product").any():
            reasons.append("repairs that outlive their deduction (repair.lapses_with_deduction false) on a "
                           "producer's product lines (第十条)")
        pl = self.pl
        if "_split" in t.__dict__:  # the events already split by kind: the rewards' own table
            rules = t.memo("reward rules named", lambda: t.kind("reward")["rule"].unique().to_list())
        else:
            rules = t.events.lazy().filter(pl.col("kind") == "reward").select(pl.col("rule").unique()).collect(
                engine=MEMORY)["rule"].to_list()
        reasons += [self.reward_problems[r] for r in sorted(x for x in rules if x in self.reward_problems)]
        return reasons

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, tables: "Tables", as_of: dt.date) -> dict:
        """Evaluate a whole history given as :class:`Tables`. Returns ``rows`` (a DataFrame of
        the flat output columns, as :func:`qrules.batch.output_row`), ``rejections`` (a
        DataFrame), ``warnings`` (recorded-by mismatches, as the engine words them) and the summary counts. Raises :class:`Fallback` with the reasons when the
        backend cannot take this ruleset and history."""
        if self.family is not None:
            from .columnar_versions import route

            piece, why = route(self.family, tables, as_of)
            if piece is None:
                raise Fallback([why])
            if piece.label not in self.versions:
                self.versions[piece.label] = ColumnarBackend(piece.compiled, self.family)
            return self.versions[piece.label].evaluate(tables, as_of)
        reasons = self.unsupported(tables)
        if reasons:
            raise Fallback(reasons)
        gap = self.calendar_gap(tables, as_of)
        if gap:
            raise Fallback([gap])
        from .history.load import gc_paused

        try:
            # as the engine: the cyclic collector's passes over a caller's large history (its records,
            # its results) would land inside the run, unrelated to its own few Python objects
            with gc_paused():
                return _Run(self, tables, as_of).run()
        except Unsupported as exc:  # a rule reading a name of a newer scope (repair.ordinal...)
            raise Fallback([str(exc)]) from None

    def calendar_gap(self, tables: "Tables", as_of: dt.date) -> str | None:
        """A reward rule counting days with ``due()`` from a date in a year the official calendar
        lacks: the engine refuses such a record as "could not be evaluated" (in its own words, and
        only when the earlier conditions hold), so the whole history goes to the engine."""
        pl, cal, rules = self.pl, self.c.calendar, self.due_rules
        if not rules or cal is None:
            return None
        dates = [c for c in ("date", "notice_date", "action_date") if c in tables.events.columns]
        live = tables.events.lazy().filter((pl.col("kind") == "reward") & (pl.col("date") <= as_of)
                                           & pl.col("rule").is_in(rules))
        ahead = pl.duration(days=30)  # a period counted from late December runs into January
        years = live.select(pl.concat_list([e for c in dates for e in (pl.col(c).dt.year(), (pl.col(c) + ahead).dt.year())])
                            .alias("y")).explode("y").drop_nulls().unique().collect(engine=MEMORY)["y"].to_list()
        missing = sorted(y for y in years if not cal.covers(y))
        if not missing:
            return None
        return (f"reward rule {', '.join(rules)} counts days with due() (working-day calendar) from dates in {min(years)}–{max(years)}, "
                f"and the calendar has no year {missing[0]}: the engine decides those records (it refuses them as "
                "'could not be evaluated' when their other conditions hold)")

    def chunk(self, loaded: Any, as_of: dt.date) -> Any:
        """A loaded history as one :class:`qrules.tables.ChunkResult` (what ``qrules batch`` adds up)."""
        import time

        t0 = time.perf_counter()
        tables = Tables.from_history(loaded)
        out = self.evaluate(tables, as_of)
        warnings = [n.message for n in out["notes"]] + out["warnings"]  # the engine's own words
        return ChunkResult(index=0, subjects=out["rows"].to_dicts(),
                           rejected=rejections(tables, out["rejections"], out.get("amended")),
                           excluded=excluded(out["excluded"]), events=out["events"],
                           events_counted=out["events_counted"], events_rejected=out["events_rejected"],
                           rejected_by_code=out["rejected_by_code"], by_official_class=out["by_official_class"],
                           by_live_class=out["by_live_class"], warnings=warnings,
                           seconds=time.perf_counter() - t0)


def _always(expr: Any) -> bool:
    """Whether a rule is the literal ``true`` (then nothing it could read changes its value)."""
    from .language import ast

    return isinstance(expr.node, ast.Literal) and expr.node.value is True


def _rules_calling(compiled: Any, func: str) -> list[str]:
    """The reward rules whose ``when`` or conditions call ``func`` (read from the checked trees)."""
    from .language import ast

    def calls(expr: Any) -> bool:
        return any(isinstance(n, ast.Call) and n.func == func for n in ast.walk(expr.node))

    out = []
    for code in compiled.model.rewards.rules:
        exprs = [compiled.reward_whens.get(code)] + [c.expr for c in compiled.reward_conditions.get(code, [])]
        if any(e is not None and calls(e) for e in exprs):
            out.append(code)
    return out


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

        from .tables import BOOL_COLUMNS, LIST_COLUMNS

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
        from .tables import SUBJECT_COLUMNS

        return {c: cls._dtype(c) for c in SUBJECT_COLUMNS}

    @classmethod
    def event_schema(cls) -> dict[str, Any]:
        from .tables import EVENT_COLUMNS

        return {c: cls._dtype(c) for c in [*EVENT_COLUMNS, "recorded"]}

    @classmethod
    def from_history(cls, loaded: Any) -> "Tables":
        """Tables from a :class:`~qrules.history.LoadedHistory` (or a ``History``)."""
        import polars as pl

        from .tables import COLUMN_PATHS

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
        a run over tables of up to ``_SPLIT_ROWS`` events: a large corpus is evaluated once, and
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


_REJ = ("event", "kind", "subject", "code", "reason", "cite")


def rejections(t: Tables, frame: Any, amended: dict | None = None) -> list[Any]:
    """Rejection models for the refused rows, with the subjects each event concerns (as the engine lists them:
    an event's subjects as ``amended`` by a correction, the original ones of the event its ``of`` names).

    The subjects are joined for the refused events only: the names an event gives, else those of
    the event its ``of`` reaches (at most five steps, a round each), and each named product's producer.
    """
    import polars as pl

    from .engine.results import Rejection

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
            for r in rows.select(*_REJ, "__subjects").iter_rows()]


def excluded(frame: Any) -> list[Any]:
    from .engine.results import ExcludedSubject

    return [ExcludedSubject.build(id=r[0], reason=r[1], cite=r[2], code=r[3]) for r in frame.iter_rows()]


class _Run:
    """One evaluation over the tables; refused rows are collected as frames of :data:`_REJ` columns."""

    def __init__(self, b: ColumnarBackend, t: Tables, as_of: dt.date):
        self.b, self.pl, self.c, self.m, self.t = b, b.pl, b.c, b.m, t
        self.as_of = as_of
        self.rej: list[Any] = []
        self.warnings: list[str] = []  # the engine's warnings (第五条、第十九条第二款 recorded_by)
        self.counted: list[Any] = []  # (ids, rows or None) of the events counted or used as facts (count())

    def reject(self, frame: Any, code: str, reason: Any, cite: Any = None, subject: Any = None) -> None:
        pl = self.pl
        if frame.height == 0:
            return
        lit = lambda v: v if isinstance(v, pl.Expr) else pl.lit(v, dtype=pl.Utf8)  # noqa: E731
        self.rej.append(frame.select(pl.col("id").alias("event"), pl.col("kind"), lit(subject).alias("subject"),
                                     pl.lit(code).alias("code"), lit(reason).alias("reason"), lit(cite).alias("cite"),
                                     *(["erow"] if "erow" in frame.columns else [])))

    def count(self, frame: Any) -> None:
        """The events of ``frame`` are counted (or used as facts): their ids, and their rows when the
        tables found them (``erow``: the tally then marks rows instead of hashing ids)."""
        self.counted.append((frame["id"], frame["erow"] if "erow" in frame.columns else None))

    def reject_rows(self, frame: Any, code: str, make: Any, key: str, subject: str | None = None) -> None:
        """Refusals whose message needs a Python computation (a did-you-mean hint): ``make`` is called
        once per distinct value of ``key`` (an unknown code), not once per row."""
        pl = self.pl
        if frame.height == 0:
            return
        values = frame[key].unique().to_list()
        made = [make(v) for v in values]
        texts = pl.DataFrame({key: values, "reason": [r for r, _ in made], "cite": [c for _, c in made]},
                             schema={key: frame.schema[key], "reason": pl.Utf8, "cite": pl.Utf8})
        er = ["erow"] if "erow" in frame.columns else []
        rows = frame.select("id", "kind", key, *([subject] if subject and subject != key else []), *er).join(
            texts, on=key, how="left", maintain_order="left", nulls_equal=True)
        self.rej.append(rows.select(pl.col("id").alias("event"), "kind",
                                    (pl.col(subject) if subject else pl.lit(None)).cast(pl.Utf8).alias("subject"),
                                    pl.lit(code, dtype=pl.Utf8).alias("code"), "reason", "cite", *er))

    # -- subjects ------------------------------------------------------------------------------

    def subjects(self) -> Any:
        """Subjects with the scope (第二条) and jurisdiction checks as the engine's subject views make
        them: a product without a region takes its producer's. ``producer_pos``: a product's producer's row."""
        from .engine import division_prefix

        pl, m = self.pl, self.m
        prefix = division_prefix(m.jurisdiction.division)
        s = self.t.subjects
        products = (s["kind"] == "product").any()
        own = s.lazy().select(pl.col("id").alias("producer"), pl.col("region").alias("__pregion"),
                              producer_pos=pl.int_range(pl.len(), dtype=pl.Int64)).unique("producer", keep="first")
        s = s.lazy().with_columns(producer=pl.when(pl.col("kind") == "product").then(pl.col("producer")))
        if products:
            s = s.join(own, on="producer", how="left", maintain_order="left").with_columns(
                region=pl.coalesce("region", "__pregion")).drop("__pregion")
        else:
            s = s.with_columns(producer_pos=pl.lit(None, dtype=pl.Int64))
        out_of_scope = pl.col("category").is_in(list(m.scope.excluded_categories)).fill_null(False)
        outside = pl.col("region").is_not_null() & ~pl.col("region").str.starts_with(prefix)
        return s.with_columns(
            pos=pl.int_range(pl.len()),
            exc_code=pl.when(out_of_scope).then(pl.lit("QR604")).when(outside).then(pl.lit("QR605")),
            exc_reason=pl.when(out_of_scope).then(pl.format("{}不适用本规范（out of scope: category '{}'）",
                                                            pl.col("category"), pl.col("category")))
            .when(outside).then(pl.format(f"行政区划 {{}} 不在{m.jurisdiction.name}（{m.jurisdiction.division}）"
                                          "辖区内（outside the jurisdiction）", pl.col("region"))),
            exc_cite=pl.when(out_of_scope).then(pl.lit(m.scope.cite, dtype=pl.Utf8))
            .when(outside).then(pl.lit(m.jurisdiction.cite, dtype=pl.Utf8))).collect(engine=MEMORY)

    #: The columns :meth:`check_subjects` reads to refuse a row, dropped from the rows it keeps.
    _REFUSING = ("known", "exc_code", "exc_reason", "exc_cite")

    #: What an event row learns of the subject it names (``check_subjects``), as ``s_*`` columns.
    _SUBJECT_FIELDS = ("kind", "producer", "brand", "nice_class", "category", "region")

    def rows_of(self, ids: Any) -> Any:
        """The rows in the subjects of ``ids`` (null for an id no subject has), by 64-bit hashes of
        the subjects' ids made once per run (:func:`qrules.columnar_keys.hash_rows`)."""
        pl = self.pl
        rows = hash_rows(pl, ids, self._known["sid"], self.__dict__.setdefault("_known_at", {}))
        if rows is None:  # two subject ids share a hash: joined on the ids themselves
            rows = pl.DataFrame({"sid": ids}).join(self._known.select("sid", __row=pl.int_range(pl.len())), on="sid",
                                                  how="left", maintain_order="left")["__row"]
        return rows

    def known(self) -> None:
        """What :meth:`check_subjects` gathers of each subject, by its row: made once per run, before
        steps run side by side. The columns no subject fills (no product: no producer, brand...) are
        not gathered but made null (:meth:`nulls`): a gather per column was most of that step."""
        pl = self.pl
        if "_known" in self.__dict__:
            return

        def make() -> tuple[Any, dict, Any]:
            known = self.S.select(pl.col("id").alias("sid"), "roles", "exc_code", "exc_reason", "exc_cite",
                                  *[pl.col(f).alias(f"s_{f}") for f in self._SUBJECT_FIELDS], s_pos=pl.col("pos"),
                                  s_producer_pos=pl.col("producer_pos"), known=pl.lit(True))
            null = {c: pl.Series(c, [None], dtype=known.schema[c]) for c in known.columns[1:]
                    if known.height and known[c].null_count() == known.height}  # one null each, repeated by nulls()
            known = known.drop(list(null))
            return known, null, known.drop("sid", *[c for c in self._REFUSING if c in known.columns])
        # from the subjects' checks alone: kept with them, once per tables, when they are (``run``)
        got = self.t.memo(("known", self.b), make) if self.t.events.height <= _SPLIT_ROWS else make()
        self._known, self._known_null, self._kept = got

    def nulls(self, n: int, refusing: bool = False) -> list[Any]:
        """The subject columns no subject fills (:meth:`known`), ``n`` nulls each (made without a query):
        those rows keep, or (``refusing``) those the refusals read."""
        return [one.new_from_index(0, n) for c, one in self._known_null.items() if (c in self._REFUSING) == refusing]

    def named(self, frame: Any) -> Any:
        """Event rows naming one ``subject``, as :meth:`check_subjects` reads them (``sid``, ``s_row``)."""
        if isinstance(frame, self.pl.LazyFrame):
            frame = frame.collect(engine=MEMORY)
        # columns renamed and added without a query (each costs more than its work on a small corpus)
        return self.pl.DataFrame([c.alias("s_row") if c.name == "subject_row" else c for c in frame.get_columns()]
                                 + [frame["subject"].alias("sid")])

    def check_subjects(self, pairs: Any) -> Any:
        """``pairs`` (event rows with a ``sid``) that may be scored; the others refused with the
        engine's reasons (QR603 refused record, QR602 unknown, QR604/QR605 excluded). The rows kept
        gain the subject's ``roles``, ``s_kind``, ``s_producer``, ``s_brand``... and ``s_pos`` (its row in the subjects)."""
        pl = self.pl
        self.known()
        j = pairs.collect(engine=MEMORY) if isinstance(pairs, pl.LazyFrame) else pairs
        rows = j["s_row"] if "s_row" in j.columns else None  # the rows the tables found (Tables.subject_rows)
        if rows is None:
            rows = self.rows_of(j["sid"])
        elif rows.null_count():  # a name the tables did not find (unknown, refused, or amended by a correction)
            at = rows.is_null().arg_true()
            if self.t.invalid.height:  # a refused record's name is no valid subject's: not looked up (below:
                # refused, QR603); looking a few names up in a large corpus means hashing all its ids once
                at = at.filter(~j["sid"].gather(at).is_in(self.t.invalid["sid"].implode()))
            if len(at):
                rows = rows.scatter(at, self.rows_of(j["sid"].gather(at)))
        own = [c for c in j.get_columns() if c.name != "s_row"]
        if not rows.null_count() and "exc_code" in self._known_null:
            # every name found and no subject excluded (第二条): nothing to refuse, the columns as they are
            # (a polars query costs more than its work on a small corpus: one gather here)
            return pl.DataFrame(own + self._kept[rows].get_columns() + self.nulls(len(rows)))
        # which rows are refused, read from the subjects' scope code alone; then each side gathers its
        # own columns (gathering every row's columns and filtering after held both copies at once)
        exc = self._known["exc_code"].gather(rows) if "exc_code" not in self._known_null else None
        keep = rows.is_not_null() if exc is None else rows.is_not_null() & exc.is_null()
        kept = rows.filter(keep)
        if len(kept) == len(rows):  # nothing refused: the event rows as they are
            return pl.DataFrame(own + self._kept[rows].get_columns() + self.nulls(len(rows)))
        self.refuse_subjects([c.filter(~keep) for c in own], rows.filter(~keep))
        return pl.DataFrame([c.filter(keep) for c in own] + self._kept[kept].get_columns() + self.nulls(len(kept)))

    def refuse_subjects(self, own: list[Any], rows: Any) -> None:
        """:meth:`check_subjects`'s refusals, in its order: QR603 (a refused record's name), QR602
        (an unknown name), QR604/QR605 (a subject out of scope or of the jurisdiction); ``own``: the
        refused event rows' columns, ``rows``: their subjects' rows (null: not found)."""
        from .errors import did_you_mean_en

        pl = self.pl
        j = pl.DataFrame(own + self._known.drop("sid").gather(rows).get_columns() + self.nulls(len(rows))
                         + self.nulls(len(rows), refusing=True))
        refused = self.t.invalid
        inv = pl.Series("inv_reason", [None], dtype=pl.Utf8).new_from_index(0, j.height)
        if refused.height and j["known"].null_count():  # only a name found nowhere can be a refused record
            at = j["known"].is_null().arg_true()
            found = j.select(pl.col("sid").gather(at)).join(refused, on="sid", how="left", maintain_order="left")
            inv = inv.scatter(at, found["inv_reason"])
        j = j.with_columns(inv)
        inv = pl.col("inv_reason").is_not_null()
        self.reject(j.filter(inv), "QR603", pl.format("subject '{}' is invalid: {}", pl.col("sid"), pl.col("inv_reason")),
                    self.c.cites.get("subjects"), pl.col("sid"))
        unknown = ~inv & pl.col("known").is_null()
        ids: list[str] = []

        def unknown_reason(sid: str) -> tuple[str, str]:
            if not ids:
                ids.extend(self.S["id"].to_list())
            hint = did_you_mean_en(sid, ids)
            return f"unknown subject '{sid}'" + (f" ({hint})" if hint else ""), self.c.cites.get("subjects")
        self.reject_rows(j.filter(unknown), "QR602", unknown_reason, "sid", subject="sid")
        exc = ~inv & ~unknown & pl.col("exc_code").is_not_null()
        for code in ("QR604", "QR605"):
            self.reject(j.filter(exc & (pl.col("exc_code") == code)), code, pl.col("exc_reason"), pl.col("exc_cite"),
                        pl.col("sid"))

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> dict:
        pl = self.pl
        t = self.t
        # the subjects beside reading the events; on a small corpus one after the other (each is a few
        # short polars queries: side by side they wait for each other's share of polars' threads)
        side = None
        if t.events.height <= _SPLIT_ROWS:  # the subjects' checks read the ruleset and the subjects alone
            self.S = t.memo(("subjects", self.b), self.subjects)
        else:
            side = self.beside(lambda run: run.subjects(), first=True)
        late = pl.col("date") > self.as_of
        last = t.memo("last date", lambda: t.events["date"].max()) if t.events.height else None
        any_late = last is not None and last > self.as_of
        if any_late:
            self.reject(t.events.select("id", "kind", "date", *(["erow"] if "erow" in t.events.columns else []))
                        .filter(late), "QR613",
                        pl.format(f"dated {{}}, after the as-of date {self.as_of}; not yet effective", pl.col("date")),
                        self.c.cites.get("window"))  # 第七条, as the engine cites it
        self.revoked, self.amended = None, {}
        split_kinds = t.__dict__.get("_split")  # the kinds the tables were split into, when they were
        corrected = "correction" in split_kinds if split_kinds else (t.events["kind"] == "correction").any()
        if t.events.height <= _SPLIT_ROWS:  # tables evaluated more than once (versions, as-of dates): rows once
            t.subject_rows()
        split = not (corrected or (t.events.height > _SPLIT_ROWS and "_split" not in t.__dict__))
        if not split:
            # lazy: each kind is read below with its own columns only, never a (corrected) copy of the
            # whole table — on a large corpus that copy was a quarter of the memory peak
            events = self.corrections(t.events.lazy().filter(~late)) if corrected else t.events.lazy().filter(~late)

            def part(kind: str | tuple) -> Any:
                which = pl.col("kind").is_in(list(kind)) if isinstance(kind, tuple) else pl.col("kind") == kind
                return events.filter(which)
        one, many, of = ("subject_row",), ("subjects_rows",), ("of_row",)
        if "subject_row" not in t.events.columns:  # subjects (and repaired events) looked up by their ids
            one = many = of = ()
        er = ("erow",) if "erow" in t.events.columns else ()  # each event's row (Tables.subject_rows)
        reads = {"filing": ("subject", "concealed", *one), _PROCEDURE: (), "spot_check": ("subject", "result", *one),
                 "deduction": ("item", "subjects", "intentional", "major_impact", "line_model", "line_standard",
                               "recorded_by", *many),
                 "repair": ("of", "subjects", "rectified", *of),
                 "reward": ("rule", "subject", "reported", "recalled_before_defect", "notice_date", "action_date", *one)}
        # the events of a kind on or before the as-of date with the columns read (narrow copies), and the
        # dates decisions are made on (brief §4a), collected together
        decided = ("deduction", "repair", "reward")
        self.split = split  # (the events as the tables hold them: no correction amended one)
        if split:  # the events of each kind as the tables split them once: their own columns (no query), the
            # events after the as-of date left out of the kinds that have some
            def own(kind: str, cols: tuple) -> Any:
                def read() -> Any:  # the tables' alone (and for an item or rule row, the ruleset's): once
                    f = t.kind(kind)[["id", "kind", "date", *cols, *er]]
                    return self.coded(kind, f) if kind in self._CODED else f
                f = t.memo((kind, "read", er) + ((self.b,) if kind in self._CODED else ()), read)
                self.__dict__.setdefault("_read", {})[kind] = f  # (before the as-of date's cut: ``deductions``)
                return f.filter(~late) if any_late and f.height and f["date"].max() > self.as_of else f
            frames = [own(k, cols) for k, cols in reads.items()]
            # the days decisions are made on: the tables' own (once per tables), up to the as-of date
            days = t.memo("decision days", lambda: _distinct_days(pl, [t.kind(k)["date"] for k in decided]))
            self.event_days = days.filter(days <= self.as_of) if any_late else days
        else:
            days = pl.concat([part(k).select("date") for k in decided]).select(pl.col("date").unique().sort())
            *frames, days = pl.collect_all([part(k).select("id", "kind", "date", *cols, *er) for k, cols in reads.items()]
                                           + [days], engine=MEMORY)
            self.event_days = days["date"]  # distinct, sorted
        if side is not None:
            self.S = self.joined(side)
        self.known()
        live = dict(zip(reads, frames))
        # steps that do not read each other run side by side (polars and numpy release the GIL: two
        # cores); what each refuses or counts is kept in the order of the steps as listed here
        if self.rewards_alone():  # the rewards beside the deductions and repairs, once filings and checks are known
            filings, checks, _ = self.facts(live["filing"], live[_PROCEDURE]), self.spot_checks(live["spot_check"]), \
                self.lines()
            side = self.beside(lambda run: run.rewards(live["reward"], filings, checks, None), first=False)
            deductions = self.deductions(live.pop("deduction"))
        else:
            side = self.beside(lambda run: (run.facts(live["filing"], live[_PROCEDURE]),
                                            run.spot_checks(live["spot_check"]), run.lines()), first=True)
            deductions = self.deductions(live.pop("deduction"))
            filings, checks, _ = self.joined(side)
            side = self.beside(lambda run: run.rewards(live["reward"], filings, checks, deductions), first=False)
        repairs = self.repairs(live["repair"], deductions, filings)
        rewards, line_rewards = self.joined(side)
        # what the accounts read of an entry; the lines (第十条) also read whose it is and which event
        cols = ["pos", "kind", "date", "anchor", "points"]
        if self.lines().height:
            cols = ["subject", "pos", "event", "kind", "date", "anchor", "points", "via_product", "of_event", "of_subject"]
        counted = deductions.lazy().filter(pl.col("status") == "counted").with_columns(
            of_event=pl.lit(None, dtype=pl.Utf8), of_subject=pl.lit(None, dtype=pl.Utf8))
        entries = pl.concat([counted.select(cols), repairs.lazy().select(cols),
                             rewards.lazy().filter(pl.col("points") > 0).select(cols)]).collect(engine=MEMORY)
        return {**self.results(entries, line_rewards), "amended": self.amended}

    def rewards_alone(self) -> bool:
        """Whether no reward rule reads the deductions: none aggregates over a subject's records or
        reads its spot-check record (clean years, failures, passes: spot-check deductions count there),
        and the cap does not read the subject of a producer's line (its record, the same). Then the
        rewards are decided beside the deductions instead of after them."""
        c, b = self.c, self.b
        exprs = [x.expr for conds in c.reward_conditions.values() for x in conds] + [c.exprs["rewards.cap.counted"]]
        names = set().union(*(c.reads(e) for e in exprs))
        if names & {"subject.clean_years", "subject.failures", "subject.passes"}:
            return False
        try:
            if any(b.aggregations(e) for e in exprs):
                return False
        except Unsupported:  # said by the rewards step itself, in its place
            return False
        return not ("subject" in c.reads(c.exprs["rewards.cap.counted"]) and self.lines().height)

    def beside(self, step: Any, first: bool) -> tuple:
        """Start ``step(run)`` in a thread on a copy of this run with lists of its own for what it
        refuses, counts and warns of. :meth:`joined` puts them before those this run makes meanwhile
        (``first``: the step comes first in the order of steps) or after them."""
        import contextvars
        import copy
        import threading

        run = copy.copy(self)
        run.rej, run.counted, run.warnings = [], [], []
        out: dict = {}

        def work() -> None:
            try:
                out["value"] = step(run)
            except BaseException as exc:  # raised again in the caller's thread by joined()
                out["error"] = exc
        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), daemon=True)
        thread.start()
        return thread, run, out, (len(self.rej), len(self.counted), len(self.warnings)), first

    def joined(self, side: tuple) -> Any:
        """Wait for a :meth:`beside` step; its refusals, counts and warnings are put in their place."""
        thread, run, out, marks, first = side
        thread.join()
        if "error" in out:
            raise out["error"]
        for name, mark in zip(("rej", "counted", "warnings"), marks):
            mine = getattr(self, name)
            setattr(self, name, mine[:mark] + getattr(run, name) + mine[mark:] if first else mine + getattr(run, name))
        for name, value in run.__dict__.items():  # what it worked out once per run (the lines...) is kept
            self.__dict__.setdefault(name, value)
        return out["value"]

    def corrections(self, live: Any) -> Any:
        """The live events as corrected (:mod:`qrules.columnar_corrections`); its refusals recorded."""
        from .columnar_corrections import correct

        fixed = correct(live, self.c.cites.get("corrections"))
        if fixed.rejections is not None:
            self.rej.append(fixed.rejections)
        self.counted.append((fixed.counted, None))
        self.revoked, self.amended = fixed.revoked, fixed.amended
        return fixed.events

    def facts(self, filings: Any, procedures: Any) -> Any:
        """Filings (第十四条第（三）项): each operator's first filing and first concealed filing."""
        pl = self.pl
        self.count(procedures)
        if filings.height == 0:  # no filing: no operator has filed (``operator_facts`` reads it so)
            return pl.DataFrame(schema={"sid": pl.Utf8, "first_filed": pl.Date, "first_concealed": pl.Date})
        f = self.check_subjects(self.named(filings))
        product = pl.col("s_kind") == "product"
        self.reject(f.filter(product), "QR614",
                    pl.format("a Yuepintong filing is made by an operator, not the product '{}'", pl.col("sid")),
                    self.c.cites.get("filing"), pl.col("sid"))
        f = f.filter(~product)
        self.count(f)
        return f.group_by("sid").agg(
            pl.col("date").min().alias("first_filed"),
            pl.col("date").filter(pl.col("concealed").fill_null(False)).min().alias("first_concealed"))

    def spot_checks(self, checks: Any) -> Any:
        """Spot checks (第十六条、第十七条第（一）项) are facts: (owner, date, ok) for the subject checked
        and, for a product, its producer too."""
        pl = self.pl
        if checks.height == 0:
            return pl.DataFrame(schema={"owner": pl.Utf8, "date": pl.Date, "ok": pl.Boolean})
        s = self.check_subjects(self.named(checks))
        self.count(s)
        ok = (pl.col("result") == "pass").fill_null(False)
        return pl.concat([s.select(owner=pl.col("sid"), date=pl.col("date"), ok=ok),
                          s.filter((pl.col("s_kind") == "product") & pl.col("s_producer").is_not_null())
                          .select(owner=pl.col("s_producer"), date=pl.col("date"), ok=ok)])

    def operator_facts(self, frame: Any, filings: Any, date: str, who: str = "subject", also: tuple = ()) -> Any:
        """``operator.filed`` and ``operator.concealed`` (第十四条第（三）项) of the operator in column
        ``who`` on each row's ``date``; ``also``: more columns made in the same query."""
        pl = self.pl
        if filings.height == 0:  # nobody filed
            return frame.with_columns(*also, **{"operator.filed": pl.lit(False), "operator.concealed": pl.lit(False)})
        out = frame.join(filings, left_on=who, right_on="sid", how="left")
        return out.with_columns(
            *also,
            (pl.col("first_filed").is_not_null() & (pl.col("first_filed") <= pl.col(date))).alias("operator.filed"),
            (pl.col("first_concealed").is_not_null() & (pl.col("first_concealed") <= pl.col(date)))
            .alias("operator.concealed")).drop("first_filed", "first_concealed")

    def bool_rule(self, expr: Any, scope_key: str, columns: dict) -> Any:
        got = self.b.expr(expr, scope_key, columns)
        return got[0] if isinstance(got, tuple) else got

    # -- deductions ------------------------------------------------------------------------------

    #: The kinds whose events name a ruleset code (an item, a reward rule), joined by :meth:`coded`.
    _CODED = ("deduction", "reward")

    def coded(self, kind: str, frame: Any) -> Any:
        """Events of ``kind`` with the row of the item (deductions) or reward rule they name and its
        columns, by one join on the codes (null for a code the ruleset lacks: refused later)."""
        if kind == "deduction":
            return frame.join(self.items(), on="item", how="left")  # the only pass over the item codes
        return frame.join(self.reward_rules(), on="rule", how="left")

    def items(self) -> Any:
        """The ruleset's items as a table (made once per backend: it reads the ruleset only)."""
        made = self.b.__dict__.get("_items")
        if made is None:
            made = self.b.__dict__.setdefault("_items", self._items())
        return made

    def _items(self) -> Any:
        pl, b, m = self.pl, self.b, self.m
        return pl.DataFrame({"item": list(m.items),
                             "item_subject": [i.subject for i in m.items.values()],
                             "item_title": [i.title for i in m.items.values()],
                             "item.points": [to_scaled(i.points, b.scale) for i in m.items.values()],
                             "item.intentional_points": [to_scaled(i.intentional if i.intentional is not None
                                                                   else i.points, b.scale) for i in m.items.values()],
                             "item_major": [bool(i.major_impact) for i in m.items.values()],
                             "item_spot": [bool(i.spot_check) for i in m.items.values()],
                             "item_cite": [i.cite for i in m.items.values()], "item_i": range(len(m.items))},
                            schema={"item": pl.Utf8, "item_subject": pl.Utf8, "item_title": pl.Utf8,
                                    "item.points": pl.Int64, "item.intentional_points": pl.Int64,
                                    "item_major": pl.Boolean, "item_spot": pl.Boolean, "item_cite": pl.Utf8,
                                    "item_i": pl.Int64})

    def deductions(self, d: Any) -> Any:
        """第十一条至第十三条, 第九条: one row per subject an event scores — the subjects it names, a
        product's producer (第十二条第（一）、（二）项) and a named seller (links) — the heaviest value
        once per subject and event (第九条第一款), the 180-day dedup of spot-check failures per
        product line (第九条第二款), and each counted deduction's ordinal in its window (第十五条).
        Rows keep ``status`` counted or deduplicated (superseded values are dropped)."""
        from .errors import did_you_mean_en

        pl, b, m = self.pl, self.b, self.m
        cite = self.c.cites.get
        items = self.items()
        live = d

        def unknown_item(item: str) -> tuple[str, str]:
            hint = did_you_mean_en(item, m.items)
            return f"unknown item '{item}'" + (f" ({hint})" if hint else ""), cite("items")
        if "item_i" not in d.columns:  # (already there for tables split once: ``run``, ``coded``)
            d = self.coded("deduction", d)
        if d["item_i"].null_count():  # an unknown item (or none)
            self.reject_rows(d.filter(pl.col("item_i").is_null()), "QR601", unknown_item, "item")
            d = d.filter(pl.col("item_i").is_not_null())
        er = ["erow"] if "erow" in live.columns else []
        whole = self.__dict__.get("_read", {}).get("deduction")  # the tables' deductions, before the as-of cut
        if whole is not None and "item_i" in whole.columns:
            # made once per tables from all their deductions (a row-wise step), then cut at the as-of date
            named = self.t.memo(("deductions named", self.b),
                                lambda: self.named_deductions(whole.filter(pl.col("item_i").is_not_null())))
            if live.height != whole.height:
                named = named.filter(pl.col("date") <= self.as_of)
        else:
            named = self.named_deductions(d)
        d = d.lazy()
        evcols = {("event", "date"): pl.col("date"), ("event", "item"): pl.col("item"),
                  ("event", "intentional"): pl.col("intentional"), ("event", "major_impact"): pl.col("major_impact")}
        none = pl.lit(None, dtype=pl.Utf8)
        S = self.S
        # 第二条 (brief §3): the first out-of-scope product an event names; its operators are not scored through it.
        oos = None
        out_of_scope = (S["kind"] == "product") & (S["exc_code"] == "QR604")
        if out_of_scope.any():
            excluded = S.filter(out_of_scope).select(sid=pl.col("id"), oos_reason=pl.col("exc_reason"),
                                                     oos_cite=pl.col("exc_cite"))
            if "s_row" in named.columns:  # by the rows the tables found: the names without one looked up by id
                hit = out_of_scope.gather(named["s_row"])
                by_id = named.filter(hit.is_null()).join(self.t.invalid, on="sid", how="anti").join(excluded, on="sid")
                by_row = named.filter(hit.fill_null(False)).join(excluded, on="sid")  # the few excluded products
                oos = pl.concat([by_row, by_id])
            else:
                oos = named.join(self.t.invalid, on="sid", how="anti").join(excluded, on="sid")
            oos = oos.sort("id", "sidx").group_by("id", maintain_order=True).first().select(
                "id", "oos_reason", "oos_cite", oos_product=pl.col("sid"))
        # the few events naming who recorded them (第五条), kept for the check below; then the events'
        # wide frames are let go before the subjects' columns are gathered (a large run's memory peak)
        recorded = d.filter(pl.col("recorded_by").is_not_null()).collect(engine=MEMORY) \
            if live["recorded_by"].null_count() < live.height else None
        live = d = None
        valid = self.check_subjects(named)
        named = None
        kinds = valid["s_kind"]
        if (kinds == "operator").sum() == valid.height:  # no product named: the product rules have nothing to do
            product, operator = None, valid
        else:
            product = valid.filter(pl.col("s_kind") == "product")
            operator = valid.filter(pl.col("s_kind") == "operator")
        cands = []

        carried = ("date", "item", "line_model", "line_standard", "ev_item_major", "ev_item_spot", "intentional",
                   "major_impact", *er)
        item_row = {code: i for i, code in enumerate(m.items)}

        def cand(frame: Any, subject: Any, code: str | None, phase: int, link: int, via: Any, whose: str = "s_") -> Any:
            """A subject the event may score, with the event's columns and the subject's kind and producer
            (``whose``: the prefix of that subject's columns); ``code``: a link's item, ``None`` for the
            event's own (its row in the items as ``code_i``: null for a code the items lack, which scores nobody)."""
            return frame.select("id", "eidx", *carried, subject=subject, pos=pl.col(whose + "pos"),
                                code=pl.col("item") if code is None else pl.lit(code),
                                code_i=pl.col("item_i") if code is None else pl.lit(item_row.get(code), dtype=pl.Int64),
                                order=phase * 1_000_000 + pl.col("sidx") * 1000 + link, via_product=via,
                                s_kind=pl.col(whose + "kind"), s_producer=pl.col(whose + "producer"))
        if product is not None:
            wrong = pl.col("item_subject") != "product"
            self.reject(product.filter(wrong), "QR606",
                        pl.format("item {} ({}) is recorded against an operator, not the product '{}': name the "
                                  "operator", pl.col("item"), pl.col("item_title"), pl.col("sid")),
                        pl.col("item_cite"), pl.col("sid"))
            own = product.filter(~wrong)
            if self.c.item_whens:  # an item that does not apply to a subject it names is refused
                applies = b.item_applies(pl.col("item"), "s_", "roles")
                self.reject(own.filter(~applies), "QR606", self.not_applying("item", "sid"), pl.col("item_cite"),
                            pl.col("sid"))
                own = own.filter(applies)
            cands.append(cand(own, pl.col("sid"), None, 0, 0, none))
            # each product's producer, by its row (the subjects' producer_pos), kept when it may be scored
            producers = own.filter(pl.col("s_producer_pos").is_not_null())
            producers = producers.with_columns(S.select(
                **{f"p_{f}": pl.col(f) for f in self._SUBJECT_FIELDS}, p_roles=pl.col("roles"), p_pos=pl.col("pos"),
                p_exc=pl.col("exc_code")).gather(producers["s_producer_pos"])).filter(
                pl.col("p_exc").is_null()).drop("p_exc")
            for i, link in enumerate(m.links.producer_of_product):  # 第十二条第（一）、（二）项
                ok = pl.col("item").is_in(list(link.items))
                when = self.c.link_whens.get(("producer_of_product", i))
                if when is not None:
                    ok = ok & self.bool_rule(when, "links.when", evcols)
                if link.item in self.c.item_whens:  # a link to an item that does not apply is not made
                    ok = ok & b.item_applies(pl.lit(link.item), "p_", "p_roles")
                cands.append(cand(producers.filter(ok), pl.col("s_producer"), link.item, 0, i + 1,
                                  pl.col("sid"), "p_"))
            first_product = product.select("eidx", "sidx", first_product="sid").sort("eidx", "sidx").unique(
                "eidx", keep="first")
            operator = operator.join(first_product.drop("sidx"), on="eidx", how="left")
        else:
            operator = operator.with_columns(first_product=none)
        operator = operator.join(oos, on="id", how="left") if oos is not None else operator.with_columns(
            oos_reason=none, oos_cite=none, oos_product=none)
        pitem = pl.col("item_subject") == "product"
        roles = pl.col("roles").list.sort().list.join(", ")
        if (operator["item_subject"] == "product").any():  # product items reach operators only through the links
            blocked = pitem & pl.col("oos_product").is_not_null() & pl.col("first_product").is_null()
            self.reject(operator.filter(blocked), "QR604",
                        pl.format("产品 {} 不适用本规范，其经营者亦不因该事项记分（the product is out of scope, so is "
                                  "'{}' through it）: {}", pl.col("oos_product"), pl.col("sid"), pl.col("oos_reason")),
                        pl.col("oos_cite"), pl.col("sid"))
            via_links = operator.filter(pitem & ~blocked)
            sellers = via_links.filter(pl.col("roles").list.contains("seller"))
            linked, occurrences = [], []
            for i, link in enumerate(m.links.named_seller):  # 第十二条第（一）项: the seller an event names
                ok = pl.col("item").is_in(list(link.items))
                when = self.c.link_whens.get(("named_seller", i))
                if when is not None:
                    ok = ok & self.bool_rule(when, "links.when", evcols)
                if link.item in self.c.item_whens:
                    ok = ok & b.item_applies(pl.lit(link.item), "s_", "roles")
                hit = sellers.filter(ok)
                linked.append(cand(hit, pl.col("sid"), link.item, 1, i, pl.col("first_product")))
                occurrences.append(hit.select("id", "sidx"))
            cands += linked
            # neither linked as a seller nor the producer of a product the event names: refused
            lost = via_links
            if product is not None:
                makes = product.select("id", sid=pl.col("s_producer")).drop_nulls().unique()
                lost = lost.join(makes, on=["id", "sid"], how="anti")
            if occurrences:
                lost = lost.join(pl.concat(occurrences).unique(), on=["id", "sidx"], how="anti")
            self.reject(lost, "QR606",
                        pl.format(f"product item {{}} reaches an operator only through the links ({cite('links')}); "
                                  "it does not apply to '{}' (roles: {})", pl.col("item"), pl.col("sid"),
                                  pl.when(pl.col("roles").list.len() > 0).then(roles).otherwise(pl.lit("none"))),
                        cite("links"), pl.col("sid"))
            direct = operator.filter(~pitem)
        else:
            direct = operator
        if any(i.subject in ("producer", "seller") for i in m.items.values()):  # items for one role only
            role = pl.when(pl.col("item_subject").is_in(["producer", "seller"])).then(pl.col("item_subject"))
            wrong = role.is_not_null() & ~pl.col("roles").list.contains(role)
            self.reject(direct.filter(wrong), "QR606",
                        pl.format("item {} applies to {}s; '{}' has roles [{}]", pl.col("item"), role, pl.col("sid"),
                                  roles), pl.col("item_cite"), pl.col("sid"))
            direct = direct.filter(~wrong)
        if self.c.item_whens:
            applies = b.item_applies(pl.col("item"), "s_", "roles")
            self.reject(direct.filter(~applies), "QR606", self.not_applying("item", "sid"), pl.col("item_cite"),
                        pl.col("sid"))
            direct = direct.filter(applies)
        cands.append(cand(direct, pl.col("sid"), None, 1, 0, none))
        cands = pl.concat(cands) if len(cands) > 1 else cands[0]
        self.count(cands)
        if recorded is not None:
            self.recorded_by(recorded.join(cands.select("id").unique(), on="id", how="semi"))
        # the wide per-subject frames are done with: free them before the dedup and ordinals (a large
        # run's memory peak was here)
        valid = product = operator = direct = own = producers = via_links = sellers = lost = recorded = None
        cols = {("item", "points"): pl.col("item.points"),
                ("item", "intentional_points"): pl.col("item.intentional_points"),
                ("item", "code"): pl.col("code"), **evcols}
        # each candidate's item columns gathered by its row in the items (no second pass over the codes)
        c = cands.lazy().filter(pl.col("code_i").is_not_null()).with_columns(
            pl.lit(items[col]).gather(pl.col("code_i")).alias(col)
            for col in ("item.points", "item.intentional_points", "item_major", "item_spot"))
        points = b.expr(self.c.exprs["intentional.points"], "intentional.points", cols)
        if isinstance(points, tuple):  # a product: refused when a value is not exact at the scale
            c = c.collect(engine=MEMORY)
            c = c.with_columns(points=b.value(c, self.c.exprs["intentional.points"], "intentional.points", cols,
                                              "intentional.points")).lazy()
        else:
            c = c.with_columns(points=points)
        # 第九条第一款: one entry per subject and event, the heaviest value (ties: the first made, as the engine)
        if cands["eidx"].n_unique() == cands.height:  # each event scores one subject once: nothing to choose
            c = c.with_columns(eorder=pl.col("order"))
        else:  # only the few (event, subject) pairs reached more than once need the sort
            # an (event, subject) pair as one integer: the event's row and the subject's row
            pair = pl.col("eidx") * self.S.height + pl.col("pos")
            c = c.with_columns(__pair=pair, __several=pair.is_duplicated()).collect(engine=MEMORY)
            many = c.filter(pl.col("__several")).sort("__pair", "points", "code", "order").with_columns(
                eorder=pl.col("order").min().over("__pair"))
            c = pl.concat([c.filter(~pl.col("__several")).with_columns(eorder=pl.col("order")),
                           many.filter(pl.col("__pair").is_first_distinct())]).drop("__several", "__pair").lazy()
        e = c.select("subject", "pos", "s_kind", "s_producer", "code", "date", "points", "via_product", "eorder",
                     "intentional", *er, event=pl.col("id"), major=pl.col("major_impact") | pl.col("item_major")
                     | pl.col("ev_item_major"),
                     spot=pl.col("item_spot") | pl.col("ev_item_spot"),  # a link from a failure shares its line (§3, 9(2))
                     line_model=pl.col("line_model"),
                     line_standard=pl.col("line_standard"),
                     line_product=pl.coalesce("via_product", pl.when(pl.col("s_kind") == "product")
                                              .then(pl.col("subject"))))
        e = e.with_columns(anchor=pl.col("date"), kind=pl.lit("deduction"), status=pl.lit("counted"))
        e = self.spot_check_dedup(e.collect(engine=MEMORY))
        if self.uses("deduction", "ordinal"):
            counted = e.filter(pl.col("status") == "counted")
            # 第十五条第（一）项: 1 + counted deductions of the subject before it (date, event) inside its window.
            # The counted rows in (subject, date, event) order, as positions in e (no sort of e's columns);
            # a subject is its row in the subjects (the same groups, sorted faster than its id)
            order = e.select(pl.arg_sort_by("pos", "date", "event")).to_series().to_numpy()
            order = order[(e["status"] == "counted").to_numpy()[order]]
            s = e.select("pos", "date")[order]
            first = self.earliest_in_window(s, "pos")
            if first is not None:
                ordinal = np.ones(e.height, dtype=np.int64)
                ordinal[order] = np.arange(s.height) - first + 1
                return e.with_columns(ordinal=pl.Series(ordinal))
            else:  # a window rule that is not one run of dates: pair each subject's deductions
                several = counted.filter(pl.len().over("subject") > 1)  # a subject's only deduction is its first
                pairs = several.select("subject", "event", "date").join(
                    several.select("subject", pl.col("event").alias("p_event"), pl.col("date").alias("p_date")),
                    on="subject")
                before = (pl.col("p_date") < pl.col("date")) | ((pl.col("p_date") == pl.col("date"))
                                                                & (pl.col("p_event") < pl.col("event")))
                prior = pairs.filter(before & b.win("p_date", "date")).group_by("subject", "event").agg(
                    pl.len().alias("prior"))
            e = e.join(prior, on=["subject", "event"], how="left").with_columns(
                ordinal=pl.col("prior").fill_null(0) + 1).drop("prior")
        else:
            e = e.with_columns(ordinal=pl.lit(1))
        return e

    def named_deductions(self, d: Any) -> Any:
        """One row per subject a deduction of ``d`` (items known) names, with the event's columns and the
        subject's row as ``s_row``: ``sid``, ``sidx`` (its place in the event's list), ``eidx`` (the
        event's, a key). Row by row: the rows of a subset of ``d`` are this frame's rows of it."""
        pl = self.pl
        rows = ["subjects_rows"] if "subjects_rows" in d.columns else []
        er = ["erow"] if "erow" in d.columns else []
        named = d.lazy().select("id", "kind", "date", "item", "item_i", *er, "item_subject", "item_title", "item_cite",
                                "line_model", "line_standard", "subjects", *rows,
                                eidx=pl.int_range(pl.len(), dtype=pl.Int64),
                                ev_item_major=pl.col("item_major"), ev_item_spot=pl.col("item_spot"),
                                intentional=pl.col("intentional").fill_null(False),
                                major_impact=pl.col("major_impact").fill_null(False))
        if (d["subjects"].list.len() == 1).all():  # each event names one subject: no list to explode
            named = named.with_columns(pl.col("subjects", *rows).list.first(), sidx=pl.lit(0, dtype=pl.Int64))
        else:
            named = named.with_columns(sidx=pl.int_ranges(pl.col("subjects").list.len())).explode(
                ["subjects", "sidx", *rows])
        return named.rename({"subjects": "sid", **({"subjects_rows": "s_row"} if rows else {})}).filter(
            pl.col("sid").is_not_null()).collect(engine=MEMORY)

    def not_applying(self, code: str, sid: str) -> Any:
        """QR606 for an item whose ``when`` does not hold, in the engine's words."""
        pl = self.pl
        out = pl.lit(None, dtype=pl.Utf8)
        for item in self.c.item_whens:
            x = self.m.items[item]
            out = pl.when(pl.col(code) == item).then(pl.format(
                f"item {item} ({x.title}) does not apply to '{{}}': its condition {x.when} is not met（不适用该事项）",
                pl.col(sid))).otherwise(out)
        return out

    def recorded_by(self, d: Any) -> None:
        """第五条、第十九条第二款: who records what, for the deductions that count. A mismatch is a
        warning in the engine's words, in the engine's order (date, id); it never refuses."""
        pl, auth = self.pl, self.m.authorities
        d = d.filter(pl.col("recorded_by").is_not_null()).sort("date", "id")
        if d.height == 0:
            return
        levels = list(auth.levels)
        expected = pl.when(pl.col("item_spot")).then(pl.lit(auth.records.get("spot_check"), dtype=pl.Utf8)) \
            .otherwise(pl.lit(auth.records.get("other"), dtype=pl.Utf8))
        allowed = pl.lit(False)
        for level, units in auth.entered_by.items():  # 组织实施 is not 录入: these units may enter what a level organises
            allowed = pl.when(expected == level).then(pl.col("recorded_by").is_in(list(units))).otherwise(allowed)
        unknown = ~pl.col("recorded_by").is_in(levels)
        what = pl.when(pl.col("item_spot")).then(pl.lit("spot-check items")).otherwise(pl.lit("other items"))
        text = pl.when(unknown).then(pl.format(f"{{}}: recorded_by '{{}}' is not an authority level of "
                                               f"{self.m.ruleset} ({', '.join(levels)})", pl.col("id"),
                                               pl.col("recorded_by"))) \
            .when(expected.is_not_null() & (pl.col("recorded_by") != expected) & ~allowed) \
            .then(pl.format(f"{{}}: recorded by {{}}, but {self.c.cites.get('records')} assigns {{}} to {{}}"
                            "（录入部门与规定不一致，仅提示）", pl.col("id"), pl.col("recorded_by"), what, expected))
        self.warnings += d.select(text.alias("w")).drop_nulls()["w"].to_list()

    def spot_check_dedup(self, e: Any) -> Any:
        """第九条第二款: failures of the same product line (the ruleset's ``same_line`` fields) count
        once within the dedup period from the last failure that counted. Decided per line and event
        (brief §3: a deduplicated failure scores no subject), in rounds: round ``k`` finds, for every
        line at once, the failure after its ``k``-th counted one that counts next."""
        pl, b, m = self.pl, self.b, self.m
        at = np.flatnonzero(e["spot"].fill_null(False).to_numpy())  # the spot-check failures' rows in e
        if at.size == 0:
            return e
        spot = e[at]
        lines = self.S.select(line_product=pl.col("id"), p_producer=pl.col("producer"), p_brand=pl.col("brand"),
                              p_nice=pl.col("nice_class"))
        spot = spot.join(lines, on="line_product", how="left", maintain_order="left")  # rows stay those of ``at``
        fields = {"producer": pl.when(pl.col("line_product").is_not_null()).then(pl.col("p_producer"))
                  .otherwise(pl.col("subject")),
                  "brand": pl.col("p_brand"), "nice_class": pl.col("p_nice").cast(pl.Utf8),
                  "standard": pl.col("line_standard"), "model": pl.col("line_model")}
        key = pl.struct([fields[f].alias(f) for f in m.dedup.spot_check.same_line])
        # one row per (line, date, event) in that order: the failures sorted, the first of each run kept
        spot = spot.select(lk=key.rank("dense"), date=pl.col("date"), event=pl.col("event"))
        order = spot.select(pl.arg_sort_by("lk", "date", "event")).to_series().to_numpy()
        srt = spot[order]
        new = srt.select(pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in ("lk", "date", "event")])
                         .fill_null(True)).to_series().to_numpy()
        gid = np.empty(order.size, dtype=np.int64)
        gid[order] = np.cumsum(new) - 1  # each failure's (line, date, event)
        g = srt.filter(pl.Series(new))
        lk, dates = g["lk"].to_numpy(), g["date"]
        n = g.height
        first = np.ones(n, dtype=bool)
        first[1:] = lk[1:] != lk[:-1]
        status = np.where(first, 1, 0).astype(np.int8)  # 0 undecided, 1 counted, 2 deduplicated
        last = np.flatnonzero(first)[np.cumsum(first) - 1]  # the counted failure each row is measured from
        expr = self.c.exprs["dedup.spot_check.deduplicated_when"]
        frame = pl.DataFrame({"d": dates, "i": np.arange(n)})
        while (status == 0).any():
            todo = np.flatnonzero(status == 0)
            cur = frame[todo].with_columns(last=dates.gather(last[todo]))
            dup = b.value(cur, expr, "dedup.spot_check.deduplicated_when",
                          {("failure", "date"): pl.col("d"), ("last", "date"): pl.col("last")},
                          "dedup.spot_check.deduplicated_when").to_numpy()
            # per line, the first undecided failure that is not a duplicate counts; those before it do not
            keep = todo[~dup]
            nxt = np.full(n, n, dtype=np.int64)
            if keep.size:
                np.minimum.at(nxt, last[keep], keep)
            stop = nxt[last[todo]]
            status[todo[todo < stop]] = 2
            newly = np.unique(stop[stop < n])
            status[newly] = 1
            moved = todo[todo > stop]
            last[moved] = stop[todo > stop]
        dup = np.zeros(e.height, dtype=bool)
        dup[at] = status[gid] == 2
        return e.with_columns(status=pl.when(pl.Series(dup)).then(pl.lit("deduplicated")).otherwise(pl.col("status")))

    def rounds(self, frame: Any, who: str = "subject", unit: str | None = None) -> tuple[Any, list]:
        """The rounds of a chained decision over ``frame`` (sorted by ``who``, date, ``unit``): rows
        with the same ``who`` and ``unit`` (one repair event for one operator) are one step, decided
        together. Returns (each row's step, rounds); round ``k`` is (rows of some ``who``'s ``k``-th
        step, and step index pairs (step, earlier step of the same ``who`` inside the window ending at
        the step's date)). A step's decision reads only earlier steps' decisions, made in earlier rounds."""
        from .columnar_window import pairs_in_window

        pl, b = self.pl, self.b
        if frame.height == 0:
            return np.zeros(0, dtype=np.int64), []
        keys = [who] + ([unit] if unit else [])
        # where a step and where a ``who`` begins, in one query (the rest is numpy over the rows)
        if not unit and frame.schema[who].is_integer() and not frame[who].null_count():  # a row a step, whos as numbers
            w = frame[who].to_numpy()
            w_new = np.r_[True, w[1:] != w[:-1]]
            new = np.ones(frame.height, dtype=bool)
        else:
            changed = [(pl.col(k) != pl.col(k).shift(1)).fill_null(True) for k in keys]
            f = frame.select(new=pl.any_horizontal(changed) if unit else pl.lit(True), w_new=changed[0])
            new, w_new = f["new"].to_numpy(), f["w_new"].to_numpy()
        step = np.cumsum(new) - 1  # each row's step
        at = np.flatnonzero(new)  # the steps' first rows
        starts = w_new[at]  # a step beginning a ``who``
        i = np.arange(at.size, dtype=np.int64)
        rank = i - np.maximum.accumulate(np.where(starts, i, 0))  # the step's rank within its ``who``
        dates = frame["date"] if at.size == frame.height else frame["date"].gather(at)
        first = self.earliest(np.cumsum(starts), dates)  # the steps, in order
        if first is not None:
            inner, outer = pairs_in_window(first)
        else:  # a window rule that is not one run of dates: pair each who's steps
            u = pl.DataFrame({"w": frame[who].gather(at), "date": frame["date"].gather(at), "g": i, "rank": rank})
            u = u.filter(pl.len().over("w") > 1)  # a single step reads no earlier one
            pairs = u.join(u.select("w", pl.col("date").alias("p_date"), pl.col("g").alias("j"),
                                    pl.col("rank").alias("p_rank")), on="w").filter(
                (pl.col("p_rank") < pl.col("rank")) & b.win("p_date", "date"))
            inner, outer = pairs["g"].to_numpy(), pairs["j"].to_numpy()
        by_rank, row_rank = rank[inner], rank[step]
        out = []
        for k in range(int(rank.max()) + 1):
            mask = by_rank == k
            out.append((np.flatnonzero(row_rank == k), inner[mask], outer[mask]))
        return step, out

    def earliest_in_window(self, frame: Any, who: str) -> Any:
        """For ``frame`` sorted by ``who`` and date: each row's first earlier row of the same
        ``who`` inside the window ending on its date (:mod:`qrules.columnar_window`), or ``None``
        when the window rule is not one run of dates (the caller then pairs rows)."""
        pl = self.pl
        groups = frame.select((pl.col(who) != pl.col(who).shift(1)).fill_null(True).cum_sum()).to_series().to_numpy()
        return self.earliest(groups, frame["date"])

    def earliest(self, groups: np.ndarray, dates: Any) -> Any:
        """:meth:`earliest_in_window` of rows given by their group numbers (sorted) and ``dates`` (a
        Series, sorted within each group)."""
        from .columnar_window import earliest_in_window, is_interval, window_runs

        pl = self.pl
        if "_runs" not in self.__dict__:  # the rule's shape, and its runs over every decided date: once per run
            self._interval = is_interval(self.c.exprs["window.counts"].node)
            self._runs = window_runs(pl, self.b.win("p_date", "date"), self.event_days, self._interval,
                                     self.b.window_memo)
        days = dates.to_numpy()
        first = earliest_in_window(groups, days, self._runs) if self._runs is not None else None
        if first is None and self._runs is not None:  # a date the run did not decide: the runs of these dates
            runs = window_runs(pl, self.b.win("p_date", "date"), dates, self._interval, self.b.window_memo)
            first = earliest_in_window(groups, days, runs) if runs is not None else None
        return first

    def uses(self, record: str, field: str) -> bool:
        """Whether a repair rule reads ``record.field`` (so the backend computes it only when needed)."""
        texts = [c.expr.text for c in self.c.repair_conditions]
        texts += [self.c.exprs[k].text for k in ("repair.ratio.value", "repair.limit.allowed_when")]
        texts += [c.expr.text for conds in self.c.reward_conditions.values() for c in conds]  # over ``deductions``
        return any(f"{record}.{field}" in t for t in texts)

    # -- repairs ---------------------------------------------------------------------------------

    def repairs(self, r: Any, deductions: Any, filings: Any) -> Any:
        """第十四条、第十五条: the deduction repaired, whether it counts and still counts, then in rounds
        (each operator's k-th repair in round k; a product's repair is its producer's): not repaired
        already, eligibility, the per-period limit; then the ratio. One repair event is one repair of
        each operator it concerns (brief §3, Art 15(2) per operator)."""
        pl, b, m = self.pl, self.b, self.m
        cite = self.c.cites.get
        # the events repairs name, found by probing the (few) names: cheaper than a join over every event
        heads = self.t.heads()
        if "of_row" in r.columns and not r["of_row"].null_count():  # the rows the tables found (Tables.subject_rows)
            r = pl.DataFrame(r.get_columns() + heads.drop("of")[r["of_row"]].get_columns())
        else:
            r = r.drop("of_row", strict=False).join(heads.filter(pl.col("of").is_in(r["of"].unique().implode())),
                                                    on="of", how="left")
        kinds = r["t_kind"]  # (Series operations: a query over the three costs more on a small corpus)
        wrong = (kinds.null_count() > 0, bool((kinds != "deduction").any()), bool((r["t_date"] > r["date"]).any()))
        if any(wrong) or self.revoked is not None:  # some repair names no deduction it may repair
            self.reject(r.filter(pl.col("t_kind").is_null()), "QR607",
                        pl.format("repair of unknown deduction '{}'", pl.col("of")), cite("repairs"))
            if self.revoked is not None:  # 第二十五条: a revoked deduction has nothing to repair
                r = r.join(self.revoked.rename({"by": "__revoked"}), on="of", how="left")
                gone = pl.col("__revoked").is_not_null()
                self.reject(r.filter(gone & (pl.col("t_kind") != "deduction")), "QR607",
                            pl.format("repair of deduction '{}' was revoked by {}", pl.col("of"), pl.col("__revoked")),
                            cite("repairs"))
                self.reject(r.filter(gone & (pl.col("t_kind") == "deduction")), "QR607",
                            pl.format("deduction '{}' was revoked by {}", pl.col("of"), pl.col("__revoked")),
                            cite("corrections"))
                r = r.filter(~gone).drop("__revoked")
            self.reject(r.filter(pl.col("t_kind").is_not_null() & (pl.col("t_kind") != "deduction")), "QR607",
                        pl.format("repair of '{}' is not a deduction", pl.col("of")), cite("repairs"))
            r = r.filter(pl.col("t_kind") == "deduction")
            self.reject(r.filter(pl.col("t_date") > pl.col("date")), "QR607",
                        pl.format("repair dated {}, before its deduction ({})", pl.col("date"), pl.col("t_date")),
                        cite("repair_date"))
        if wrong[2]:  # (refused above)
            r = r.filter(pl.col("t_date") <= pl.col("date"))
        named = r["subjects"]  # a repair naming its subjects is "wanted" for those only (none usually do)
        r = pl.DataFrame(r.get_columns() + [
            pl.Series("wanted", [False]).new_from_index(0, r.height) if named.null_count() == r.height
            else (named.fill_null([]).list.len() > 0).alias("wanted")])
        # each repair with the entries of the deduction it names: by the deduction's row when the tables
        # found both (an integer join), else by its id
        by_row = "of_row" in r.columns and "erow" in deductions.columns
        entries = deductions.lazy().select(pl.col("erow" if by_row else "event").alias("of_row" if by_row else "of"),
                                           pl.col("subject").alias("sid"),
                                           pl.col("date").alias("d_date"), pl.col("code").alias("item"), "points",
                                           "intentional", "major", "ordinal", "status", "s_kind", "s_producer",
                                           "via_product", "eorder", "pos")
        er = ["erow"] if "erow" in r.columns else []
        pairs = r.lazy().select("id", "kind", "of", "date", "rectified", "wanted", *er, *(["of_row"] if by_row else [])).join(
            entries, on="of_row" if by_row else "of").collect(engine=MEMORY)
        if by_row:
            pairs = pairs.drop("of_row")
        if r["wanted"].any():  # a repair naming its subjects repairs the deduction for those only
            named = r.filter(pl.col("wanted")).select("id", "kind", "of", "subjects").explode("subjects").rename(
                {"subjects": "sid"})
            self.reject(named.join(pairs, on=["id", "sid"], how="anti"), "QR607",
                        pl.format("deduction '{}' has no entry for subject '{}'", pl.col("of"), pl.col("sid")),
                        cite("repairs"), pl.col("sid"))
            pairs = pl.concat([pairs.filter(~pl.col("wanted")), pairs.join(named.select("id", "sid").unique(),
                                                                             on=["id", "sid"], how="semi")])
        if pairs["id"].n_unique() < r.height:
            self.reject(r.filter(~pl.col("wanted")).join(pairs, on="id", how="anti"), "QR607",
                        pl.format("deduction '{}' did not count for any subject", pl.col("of")), cite("repairs"))
        pairs = pairs.rename({"sid": "subject"})
        dup = pl.col("status") != "counted"
        # Brief §3, Art 15: only while the deduction counts on the repair's date.
        inside = b.win("d_date", "date")
        if pairs.select(dup.any() | (~inside).any()).item():
            self.reject(pairs.filter(dup), "QR607",
                        pl.format("deduction '{}' did not count for '{}' ({}): nothing to repair", pl.col("of"),
                                  pl.col("subject"), pl.col("status")), m.dedup.spot_check.cite, pl.col("subject"))
            pairs = pairs.filter(~dup)
            self.reject(pairs.filter(~inside), "QR607",
                        pl.format("deduction '{}' ({}) is outside the window ending on the repair's date {}: it no "
                                  "longer counts, nothing to repair（扣分已超出统计周期）", pl.col("of"),
                                  pl.col("d_date"), pl.col("date")), m.window.cite, pl.col("subject"))
            pairs = pairs.filter(inside)
        operator = pl.when(pl.col("s_kind") == "operator").then(pl.col("subject")) \
            .otherwise(pl.col("s_producer").fill_null("")).alias("operator")
        if filings.height:  # the operator's filings are joined on it
            pairs, operator = pairs.with_columns(operator), pl.col("operator")
        pairs = self.operator_facts(pairs, filings, "date", "operator",
                                    also=(operator, pl.col("rectified").fill_null(False)))
        cols = {("deduction", "date"): pl.col("d_date"), ("deduction", "item"): pl.col("item"),
                ("deduction", "points"): pl.col("points"), ("deduction", "intentional"): pl.col("intentional"),
                ("deduction", "major_impact"): pl.col("major"),
                ("deduction", "ordinal"): pl.col("ordinal") * b.unit,
                ("repair", "date"): pl.col("date"), ("repair", "rectified"): pl.col("rectified"),
                ("repair", "ordinal"): (pl.col("prior") + 1) * b.unit, ("prior_repairs",): pl.col("prior") * b.unit,
                ("operator", "filed"): pl.col("operator.filed"), ("operator", "concealed"): pl.col("operator.concealed")}
        conds = self.c.repair_conditions
        lim = m.repair.limit
        limit = self.c.exprs["repair.limit.allowed_when"]
        prior = np.zeros(pairs.height, dtype=np.int64)
        once = "deduction '{}' was already repaired for '{}' by {}: a deduction is repaired once（同一扣分只修复一次）"
        if not conds and _always(limit) and not self.c.reads(self.c.exprs["repair.ratio.value"]) & {
                "prior_repairs", "repair.ordinal"}:
            # no decision reads an earlier one but "once": each deduction's first repair for a subject is accepted
            accepted = np.ones(pairs.height, dtype=bool)
            if pairs["of"].n_unique() < pairs.height:  # a deduction repaired twice: the first repair counts
                pairs = pairs.sort("operator", "date", "id", "eorder")
                again = pairs.with_columns(__by=pl.col("id").first().over("subject", "of"),
                                           __first=pl.struct("subject", "of").is_first_distinct())
                self.reject(again.filter(~pl.col("__first")), "QR607",
                            pl.format(once, pl.col("of"), pl.col("subject"), pl.col("__by")), m.repair.ratio.cite,
                            pl.col("subject"))
                accepted = again["__first"].to_numpy()
            return self.repaired(pairs.with_columns(prior=pl.Series(prior)).filter(pl.Series(accepted)), cols)
        pairs = pairs.sort("operator", "date", "id", "eorder")  # each operator's repairs in order: the rounds
        key = pairs.select(pl.struct("subject", "of").rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
        accepted = np.zeros(pairs.height, dtype=bool)
        repaired_by = np.full(int(key.max()) + 1 if pairs.height else 0, -1, dtype=np.int64)
        step, rounds = self.rounds(pairs, "operator", "id")
        n_steps = int(step.max()) + 1 if pairs.height else 0
        step_prior = np.zeros(n_steps, dtype=np.int64)
        step_done = np.zeros(n_steps, dtype=bool)
        ids = pairs["id"]
        for rows, inner, outer in rounds:
            np.add.at(step_prior, inner, step_done[outer])
            prior[rows] = step_prior[step[rows]]
            by = repaired_by[key[rows]]
            already = by >= 0
            if already.any():  # brief §3, Art 15: a deduction is repaired once per subject
                self.reject(pairs[rows[already]].with_columns(__by=ids.gather(by[already])), "QR607",
                            pl.format(once, pl.col("of"), pl.col("subject"), pl.col("__by")),
                            m.repair.ratio.cite, pl.col("subject"))
            rows = rows[~already]
            if rows.size == 0:
                continue
            cur = pairs[rows].with_columns(prior=pl.Series(prior[rows]))
            if conds:  # 第十四条: every failing condition named, as the engine names them
                fails = [~b.value(cur, c.expr, "repair.conditions.when", cols, f"repair.conditions[{i}]")
                         for i, c in enumerate(conds)]
                cur = cur.with_columns([f.alias(f"__f{i}") for i, f in enumerate(fails)])
                f = [pl.col(f"__f{i}") for i in range(len(conds))]
                n = pl.sum_horizontal([x.cast(pl.Int32) for x in f])
                one = pl.concat_str([pl.when(x).then(pl.lit(c.reason)) for x, c in zip(f, conds)], ignore_nulls=True)
                many = pl.concat_str([pl.when(x).then(pl.lit(f"{c.reason}（{c.cite}）" if c.cite else c.reason))
                                      for x, c in zip(f, conds)], separator="；", ignore_nulls=True)
                first_cite = pl.coalesce([pl.when(x).then(pl.lit(c.cite, dtype=pl.Utf8)) for x, c in zip(f, conds)])
                # several failing: each one's article once, in order (the engine's "、".join); none: citations.repairs
                cites = pl.concat_list([pl.when(x).then(pl.lit(c.cite, dtype=pl.Utf8)) for x, c in zip(f, conds)])
                all_cites = cites.list.drop_nulls().list.unique(maintain_order=True).list.join("、")
                cite = pl.coalesce([pl.when(n == 1).then(first_cite).otherwise(pl.when(all_cites != "").then(all_cites)),
                                    pl.lit(self.c.cites.get("repairs"), dtype=pl.Utf8)])
                ok = cur.select(n == 0).to_series().to_numpy()
                if not ok.all():  # the reasons worded for the refused entries only
                    self.reject(cur.filter(pl.Series(~ok)), "QR608",
                                pl.format("not eligible for repair（不予修复）: {}", pl.when(n == 1).then(one).otherwise(many)),
                                cite, pl.col("subject"))
                    rows, cur = rows[ok], cur.filter(pl.Series(ok))
                if rows.size == 0:
                    continue
            allowed = b.value(cur, limit, "repair.limit.allowed_when", cols, "repair.limit.allowed_when").to_numpy()
            # 第十五条第（二）项, judged once per operator and repair: on its first eligible entry, as the engine
            s = step[rows]
            first = np.ones(rows.size, dtype=bool)
            first[1:] = s[1:] != s[:-1]
            verdict = np.zeros(n_steps, dtype=bool)
            verdict[s[first]] = allowed[first]
            ok = verdict[s]
            if not ok.all():
                self.reject(cur.filter(pl.Series(~ok)), "QR609",
                            pl.format(f"{lim.reason}: operator '{{}}' already has {{}} repairs in the period ending "
                                      "{}", pl.col("operator"), pl.col("prior"), pl.col("date")), lim.cite,
                            pl.col("subject"))
            accepted[rows[ok]] = True
            step_done[s[ok]] = True
            repaired_by[key[rows[ok]]] = rows[ok]
        return self.repaired(pairs.with_columns(prior=pl.Series(prior)).filter(pl.Series(accepted)), cols)

    def repaired(self, done: Any, cols: dict) -> Any:
        """The accepted repairs as entries: the ratio (第十五条) of the points of the deduction repaired."""
        pl, b, m = self.pl, self.b, self.m
        expr = self.c.exprs["repair.ratio.value"]
        got = b.expr(expr, "repair.ratio.value", cols)
        ratio = b.value(done, expr, "repair.ratio.value", cols, "repair.ratio.value") if isinstance(got, tuple) \
            else got
        product = pl.col("ratio") * pl.col("points").abs()
        done = done.with_columns(ratio=ratio).with_columns(__inexact=(product % b.unit) != 0)
        if done["__inexact"].any():
            raise Fallback([f"repair.ratio.value: a repair's points need more than {b.scale} decimal places"])
        self.count(done)
        lapse = bool(m.repair.lapses_with_deduction.value)
        return done.select("subject", "pos", "via_product", event=pl.col("id"), kind=pl.lit("repair"), date=pl.col("date"),
                           anchor=pl.col("d_date") if lapse else pl.col("date"), points=product // b.unit,
                           of_event=pl.col("of"), of_subject=pl.col("subject"))

    # -- rewards ---------------------------------------------------------------------------------

    def clean_records(self, frame: Any, checks: Any, deductions: Any, who: str, at: str) -> Any:
        """``frame`` with the spot-check record of ``who`` at ``at`` (第十六条、第十七条第（一）项) as
        ``clean_years``, ``failures``, ``passes``: the checks in the window ending on ``at`` — spot-check
        events and spot-check deductions that are not superseded, a producer's with its products' —
        and the whole years from the first pass after the last failure to ``at``."""
        pl, b = self.pl, self.b
        all_checks = self.all_checks(checks, deductions)
        q = frame.select(pl.int_range(pl.len()).alias("__r"), pl.col(who).alias("owner"), pl.col(at).alias("at"))
        seen = q.join(all_checks, on="owner").filter((pl.col("date") <= pl.col("at")) & b.win("date", "at"))
        agg = seen.group_by("__r").agg(failures=(~pl.col("ok")).sum(), passes=pl.col("ok").sum(),
                                       last_fail=pl.col("date").filter(~pl.col("ok")).max())
        run = seen.join(agg.select("__r", "last_fail"), on="__r").filter(
            pl.col("ok") & (pl.col("last_fail").is_null() | (pl.col("date") > pl.col("last_fail")))).group_by(
            "__r").agg(run=pl.col("date").min())
        out = q.join(agg, on="__r", how="left").join(run, on="__r", how="left")
        years = pl.col("at").dt.year() - pl.col("run").dt.year()
        shifted = pl.col("run").dt.offset_by(pl.format("{}mo", years * 12))
        out = out.with_columns(clean_years=pl.when(pl.col("run").is_null()).then(0)
                               .when(shifted > pl.col("at")).then(years - 1).otherwise(years).cast(pl.Int64))
        out = out.sort("__r")
        return frame.with_columns(clean_years=out["clean_years"], failures=out["failures"].fill_null(0).cast(pl.Int64),
                                  passes=out["passes"].fill_null(0).cast(pl.Int64))

    def all_checks(self, checks: Any, deductions: Any) -> Any:
        """(owner, date, ok): spot-check events and spot-check deductions that are not superseded, a
        producer's with its products' (the engine's spot checks in a window)."""
        pl = self.pl
        spot = deductions.filter(pl.col("spot"))
        fails = pl.concat([spot.select(owner=pl.col("subject"), date=pl.col("date")),
                           spot.filter((pl.col("s_kind") == "product") & pl.col("s_producer").is_not_null())
                           .select(owner=pl.col("s_producer"), date=pl.col("date"))]).with_columns(ok=pl.lit(False))
        return pl.concat([checks, fails])

    def aggregate(self, w: Any, exprs: list, cols: dict, checks: Any, deductions: Any) -> tuple[Any, dict]:
        """The typed collections a reward rule aggregates over (``count(c for c in spot_checks if …)``):
        each aggregation a join of the rewards with their subject's records in the window ending on
        the reward's date, grouped back by reward — the engine's ``collections``."""
        pl, b = self.pl, self.b
        scope = b.scopes["rewards.rules.when"]
        if not any(b.aggregations(expr) for expr in exprs):
            return w, cols
        w = w.with_columns(__r=pl.int_range(pl.len()))
        for expr in exprs:
            for node, name, comp in b.aggregations(expr):
                key = ("__agg", id(node))
                if key in cols:
                    continue
                if name == "spot_checks":
                    items = self.all_checks(checks, deductions).select(
                        "owner", __c_date=pl.col("date"), __c_failed=~pl.col("ok"), __c_passed=pl.col("ok"))
                else:  # the subject's own counted deductions
                    items = deductions.filter(pl.col("status") == "counted").select(
                        owner=pl.col("subject"), __c_date=pl.col("date"), __c_item=pl.col("code"),
                        __c_points=pl.col("points"), __c_intentional=pl.col("intentional"),
                        __c_major_impact=pl.col("major"), __c_ordinal=pl.col("ordinal") * b.unit)
                pairs = w.join(items, left_on="sid", right_on="owner").filter(
                    (pl.col("__c_date") <= pl.col("date")) & b.win("__c_date", "date"))
                env = {**cols, **{(comp.var, f): pl.col(f"__c_{f}") for f in b.COLLECTIONS[name]}}
                cond = b.pc.node(expr, comp.cond, scope, env) if comp.cond is not None else pl.lit(True)
                if node.func == "count":  # what is counted is not read
                    agg, empty = cond.sum().cast(pl.Int64) * b.unit, 0
                else:
                    elem = b.pc.node(expr, comp.elem, scope, env)
                    agg, empty = {"sum": (elem.filter(cond).sum(), 0), "any": ((cond & elem).any(), False),
                                  "all": ((~cond | elem).all(), True)}[node.func]
                name_col = f"__agg{sum(1 for k in cols if k[0] == '__agg')}"
                got = pairs.group_by("__r").agg(agg.alias(name_col))
                w = w.join(got, on="__r", how="left", maintain_order="left").with_columns(
                    pl.col(name_col).fill_null(empty))
                cols = {**cols, key: pl.col(name_col)}
        return w.drop("__r"), cols

    def subject_columns(self, prefix: str = "") -> dict:
        """The ``subject`` record of a reward rule or the cap, from ``s_*`` and clean-record columns."""
        pl, u = self.pl, self.b.unit
        c = lambda name: pl.col(prefix + name)  # noqa: E731
        return {("subject", "kind"): c("s_kind"), ("subject", "category"): c("s_category").fill_null(""),
                ("subject", "roles"): c("roles"), ("subject", "brand"): c("s_brand").fill_null(""),
                ("subject", "nice_class"): c("s_nice_class").fill_null(0) * u,
                ("subject", "region"): c("s_region").fill_null(""), ("subject", "clean_years"): c("clean_years") * u,
                ("subject", "failures"): c("failures") * u, ("subject", "passes"): c("passes") * u}

    def rewards(self, w: Any, filings: Any, checks: Any, deductions: Any) -> tuple[Any, Any]:
        """第十六条至第十八条: rule and subject checks, the rule's conditions, then the cap in rounds
        (each subject's k-th reward in round k, looking back over its window); and the cap once more
        on each producer's line (第十条), where a product's and its producer's rewards share one cap."""
        from .errors import did_you_mean_en

        pl, m = self.pl, self.m
        rules = m.rewards.rules
        if "rule_i" not in w.columns:  # (already there for tables split once: ``run``, ``coded``)
            w = self.coded("reward", w)

        def unknown_rule(rule: str | None) -> tuple[str, str]:
            hint = did_you_mean_en(str(rule), rules)
            return f"unknown reward rule '{rule}'" + (f" ({hint})" if hint else ""), self.c.cites.get("rewards")
        if w["rule_subject"].null_count():
            self.reject_rows(w.filter(pl.col("rule_subject").is_null()), "QR610", unknown_rule, "rule")
            w = w.filter(pl.col("rule_subject").is_not_null())
        w = self.check_subjects(self.named(w))
        is_product = pl.col("s_kind") == "product"
        role = pl.when(pl.col("rule_subject").is_in(["producer", "seller"])).then(pl.col("rule_subject"))
        wrong = ((pl.col("rule_subject") == "product") != is_product) | (
            role.is_not_null() & ~pl.col("roles").list.contains(role))
        with_roles = pl.format(" with roles [{}]", pl.col("roles").list.sort().list.join(", "))
        # nothing can be wrong when every rule is an operator's and every subject an operator (read from
        # the columns, without a query)
        plain = not (w["rule_subject"] != "operator").any() and not (w["s_kind"] != "operator").any()
        w = w if plain else w.with_columns(__wrong=wrong)
        if not plain and (w["__wrong"].any() or w["__wrong"].null_count()):
            self.reject(w.filter(wrong), "QR611",
                        pl.format("reward rule {} applies to a {}; '{}' is a {}{}", pl.col("rule"),
                                  pl.col("rule_subject"), pl.col("sid"), pl.col("s_kind"),
                                  pl.when(is_product).then(pl.lit("")).otherwise(with_roles)),
                        pl.col("rule_cite"), pl.col("sid"))
            w = w.filter(~wrong)
        if "__wrong" in w.columns:
            w = w.drop("__wrong")
        operator = pl.when(is_product).then(pl.col("s_producer")).otherwise(pl.col("sid")).alias("operator")
        if filings.height:  # the operator's filings are joined on it
            w, operator = w.with_columns(operator), pl.col("operator")
        w = self.operator_facts(w, filings, "date", "operator", also=(
            operator, (pl.col("notice_date").is_not_null() & pl.col("action_date").is_not_null()).alias("has_notice"),
            pl.coalesce("notice_date", "date").alias("notice_date"), pl.coalesce("action_date", "date").alias("action_date"),
            pl.col("reported").fill_null(False), pl.col("recalled_before_defect").fill_null(False)))
        codes = list(rules)  # the rules present, read from their rows in the table (no pass over the codes)
        present = [codes[i] for i in np.flatnonzero(np.bincount(w["rule_i"].to_numpy(), minlength=len(codes)))]
        read = {n for code in present for c in self.c.reward_conditions.get(code, []) for n in self.c.reads(c.expr)}
        read |= self.c.reads(self.c.exprs["rewards.cap.counted"])
        if read & {"subject.clean_years", "subject.failures", "subject.passes"}:  # a subject's spot-check record
            w = self.clean_records(w, checks, deductions, "sid", "date")
        cols = {("reward", f): pl.col(f) for f in ("date", "rule", "reported", "recalled_before_defect", "has_notice",
                                                   "notice_date", "action_date")}
        cols.update({("reward", "points"): pl.col("rule_points"), ("operator", "filed"): pl.col("operator.filed"),
                     ("operator", "concealed"): pl.col("operator.concealed"), ("as_of",): pl.col("date"),
                     **self.subject_columns()})
        w, cols = self.aggregate(w, [c.expr for code in present for c in self.c.reward_conditions.get(code, [])],
                                 cols, checks, deductions)
        ok, reason, cite = pl.lit(False), pl.lit(None, dtype=pl.Utf8), pl.lit(None, dtype=pl.Utf8)
        for code in present:
            # 第十六条、第十七条: each failing condition named (one: its reason and article; several: all, listed)
            rule, conds = m.rewards.rules[code], self.c.reward_conditions.get(code, [])
            fails = [~self.bool_rule(c.expr, "rewards.rules.when", cols) for c in conds]
            n = pl.sum_horizontal([f.cast(pl.Int32) for f in fails]) if fails else pl.lit(0)
            one = pl.coalesce([pl.when(f).then(pl.lit(c.reason)) for f, c in zip(fails, conds)] + [pl.lit("")])
            one_cite = pl.coalesce([pl.when(f).then(pl.lit(c.cite or rule.cite)) for f, c in zip(fails, conds)]
                                   + [pl.lit(rule.cite, dtype=pl.Utf8)])
            many = pl.concat_str([pl.when(f).then(pl.lit(f"{c.reason}（{c.cite}）" if c.cite else c.reason))
                                  for f, c in zip(fails, conds)], separator="；", ignore_nulls=True) \
                if fails else pl.lit("")
            this = pl.col("rule") == code
            ok = pl.when(this).then(n == 0).otherwise(ok)
            reason = pl.when(this).then(pl.when(n == 1).then(one).otherwise(many)).otherwise(reason)
            cite = pl.when(this).then(pl.when(n == 1).then(one_cite).otherwise(pl.lit(rule.cite, dtype=pl.Utf8))) \
                .otherwise(cite)
        conditional = any(self.c.reward_conditions.get(code) for code in present)
        w = w.with_columns(__ok=ok) if conditional else w  # no condition: every reward is eligible
        if conditional and w["__ok"].sum() < w.height:  # some not eligible (a null: neither, as a filter reads it)
            w = w.with_columns(__reason=reason, __cite=cite)
            self.reject(w.filter(~pl.col("__ok")), "QR611", pl.format("not eligible: {}", pl.col("__reason")),
                        pl.col("__cite"), pl.col("sid"))
            w = w.filter(pl.col("__ok"))
        self.count(w)
        cap = self.c.exprs["rewards.cap.counted"]
        if self.lines().height == 0:  # no line to cap again: only what the cap and the entries read is put in order
            keep = self.cap_rule(cap, cols)[1] | {"s_pos", "date", "rule_points"}
            order = self.by_subject(w)
            w = w[[c for c in w.columns if c in keep]][order]
            w = w.with_columns(points=self.capped(w, cap, cols, who="s_pos"))
            # the entry's columns the accounts read (``run``: whose and which event only a line reads)
            return w.select(pos=pl.col("s_pos"), kind=pl.lit("reward"), date=pl.col("date"), anchor=pl.col("date"),
                            points=pl.col("points")), self.line_rewards(w, cap, cols, checks, deductions)
        w = w.with_columns(subject=pl.col("sid"))
        w = w[self.by_subject(w)]
        w = w.with_columns(points=self.capped(w, cap, cols, who="s_pos"))
        out = w.select("subject", pos=pl.col("s_pos"), event=pl.col("id"), kind=pl.lit("reward"), date=pl.col("date"),
                       anchor=pl.col("date"), points=pl.col("points"), via_product=pl.lit(None, dtype=pl.Utf8),
                       of_event=pl.lit(None, dtype=pl.Utf8), of_subject=pl.lit(None, dtype=pl.Utf8))
        return out, self.line_rewards(w.filter(pl.col("points") > 0), cap, cols, checks, deductions)

    def by_subject(self, w: Any) -> np.ndarray:
        """The rows of the rewards ``w`` in order of subject (its row), date and id: the order the cap
        rounds read. On tables split by kind, every reward's place in that order is worked out once
        per tables and the rewards kept are picked in it (no sort a run); otherwise sorted here."""
        pl, t = self.pl, self.t

        def sort() -> np.ndarray:  # by subject: its position sorts faster than its id
            return w.select(pl.arg_sort_by("s_pos", "date", "id")).to_series().to_numpy()
        if not (self.__dict__.get("split") and "erow" in w.columns and "subject_row" in t.events.columns):
            return sort()

        def make() -> tuple[np.ndarray, np.ndarray]:
            r = t.kind("reward")
            order = r.select("erow", "subject_row", "date", "id").sort("subject_row", "date", "id")["erow"].to_numpy()
            row = np.full(t.events.height, -1, dtype=np.int64)  # each event's subject's row (-1: none found)
            row[r["erow"].to_numpy()] = r["subject_row"].fill_null(-1).to_numpy()
            return order, row
        order, row = t.memo("rewards by subject", make)
        erow = w["erow"].to_numpy()
        at = np.full(len(row), -1, dtype=np.int64)
        at[erow] = np.arange(len(erow), dtype=np.int64)
        picked = at[order]
        picked = picked[picked >= 0]
        if len(picked) != len(erow) or not np.array_equal(row[erow], w["s_pos"].to_numpy()):
            return sort()  # a reward in two rows, or a subject found otherwise
        return picked

    def reward_rules(self) -> Any:
        """The ruleset's reward rules as a table (made once per backend: it reads the ruleset only)."""
        pl, b = self.pl, self.b
        made = b.__dict__.get("_reward_rules")
        if made is None:
            rules = self.m.rewards.rules
            made = b.__dict__.setdefault("_reward_rules", pl.DataFrame(
                {"rule": list(rules), "rule_subject": [r.subject for r in rules.values()],
                 "rule_points": [to_scaled(r.points, b.scale) for r in rules.values()],
                 "rule_reason": [r.reason for r in rules.values()], "rule_cite": [r.cite for r in rules.values()],
                 "rule_i": range(len(rules))},
                schema={"rule": pl.Utf8, "rule_subject": pl.Utf8, "rule_points": pl.Int64, "rule_reason": pl.Utf8,
                        "rule_cite": pl.Utf8, "rule_i": pl.Int64}))
        return made

    def cap_rule(self, cap: Any, cols: dict) -> tuple[Any, set[str]]:
        """第十八条's cap rule over the rewards' columns and ``granted``, and the columns it reads
        (compiled once a run for the same columns: the rewards step reads it twice)."""
        hit = self.__dict__.get("_cap_rule")
        if hit is not None and hit[0] is cap and hit[1] is cols:
            return hit[2]
        got = self.b.expr(cap, "rewards.cap.counted", {**cols, ("granted",): self.pl.col("granted")})
        out = got, {n for e in (got if isinstance(got, tuple) else (got,)) for n in e.meta.root_names()}
        self._cap_rule = (cap, cols, out)
        return out

    def capped(self, w: Any, cap: Any, cols: dict, who: str = "subject") -> Any:
        """第十八条: each reward's points under the cap, given what earlier rewards of ``who`` in the
        window ending on its date were granted (``rule_points`` requested; sorted by who, date, id)."""
        pl, b = self.pl, self.b
        points = np.zeros(w.height, dtype=np.int64)
        granted = np.zeros(w.height, dtype=np.int64)
        _, rounds = self.rounds(w, who)
        got, read = self.cap_rule(cap, cols)
        narrow = [w[c] for c in w.columns if c in read and c != "granted"]  # what the cap reads
        asked = w["rule_points"].to_numpy()
        # the cap is a function of those columns and ``granted``: evaluated once per distinct pair of
        # (those columns' values; granted), kept for the backend's later runs (``cap_memo``)
        if not narrow:
            code = np.zeros(w.height, dtype=np.int64)
        elif len(narrow) == 1 and narrow[0].dtype.is_integer() and not narrow[0].null_count():  # one number: numpy
            code = _dense_codes(narrow[0].to_numpy().astype(np.int64))[1]
        else:
            code = pl.DataFrame(narrow).select(pl.struct(pl.all()).rank("dense")).to_series().to_numpy().astype(np.int64)
        # each code's first row, and its values there as the memo's key holds them
        codes = _distinct_ints(code)  # (marked in a table, and the first rows by ``minimum.at``: no sort)
        first = np.full(int(codes[-1]) + 1 if codes.size else 0, code.size, dtype=np.int64)
        np.minimum.at(first, code, np.arange(code.size, dtype=np.int64))
        first = first[codes]
        row_of = dict(zip(codes.tolist(), first.tolist()))
        values = dict(zip(codes.tolist(), zip(*[[_hashable(v) for v in s.gather(first).to_list()] for s in narrow])
                          if narrow else [()] * len(codes)))
        names = tuple(s.name for s in narrow)
        memo = self.b.cap_memo
        if len(memo) > _CAP_MEMO:
            memo.clear()
        for rows, inner, outer in rounds:
            np.add.at(granted, inner, points[outer])
            g = granted[rows]
            low, span = (int(g.min()), int(g.max()) - int(g.min()) + 1) if rows.size else (0, 1)
            if span * (int(code.max()) + 1) >= 1 << 62:  # too far apart for one integer key: pairs
                pairs = np.unique(np.stack([code[rows], g], axis=1), axis=0, return_inverse=True)
                keys, back = pairs[0], pairs[1]
            else:  # (code, granted) as one integer
                one, back = _dense_codes(code[rows] * span + (g - low))  # (a table, not a sort: few values)
                keys = np.stack([one // span, one % span + low], axis=1)
            pairs = keys.tolist()
            full = [(names, values[c], gr) for c, gr in pairs]
            todo: dict[tuple, tuple[int, int]] = {}  # the keys not seen yet -> (code, granted)
            for key, pair in zip(full, pairs):
                if key not in memo and key not in todo:
                    todo[key] = pair
            if todo:  # their rows' values and granted, in one query
                at = [row_of[c] for c, _ in todo.values()]
                cur = pl.DataFrame([pl.Series(s.name, [s[i] for i in at], dtype=s.dtype) if len(at) <= 64
                                    else s.gather(at) for s in narrow]
                                   + [pl.Series("granted", [gr for _, gr in todo.values()], dtype=pl.Int64)])
                memo.update(zip(todo, b.value_of(cur, got, "rewards.cap.counted").to_list()))
            counted = np.array([memo[k] for k in full], dtype=np.int64)[back.ravel()]
            points[rows] = np.maximum(np.minimum(counted, asked[rows]), 0)
        return pl.Series(points)

    def line_rewards(self, w: Any, cap: Any, cols: dict, checks: Any, deductions: Any) -> Any:
        """第十条、第十八条: on each producer's line (a product with its producer) the rewards of both
        share one cap, in date order, each keeping at most what its own cap let through (brief §3).
        Returns (product, event, subject, line points) for every reward on a line."""
        pl = self.pl
        lines = self.lines()
        if lines.height == 0 or w.height == 0:
            return pl.DataFrame(schema={"product": pl.Utf8, "event": pl.Utf8, "subject": pl.Utf8,
                                        "line_points": pl.Int64})
        both = pl.concat([w.join(lines, left_on="subject", right_on="product", how="inner").with_columns(
                              product=pl.col("subject")),
                          w.join(lines, left_on="subject", right_on="producer", how="inner")
                          .with_columns(producer=pl.col("subject"))], how="diagonal_relaxed")
        both = both.with_columns(rule_points=pl.col("points"))
        if "subject" in self.c.reads(cap):  # the cap sees the producer as the line's subject
            subj = self.S.select(producer=pl.col("id"), **{f"l_s_{f}": pl.col(f) for f in self._SUBJECT_FIELDS},
                                 l_roles=pl.col("roles"))
            both = self.clean_records(both.join(subj, on="producer", how="left"), checks, deductions, "producer",
                                      "date").rename({"clean_years": "l_clean_years", "failures": "l_failures",
                                                      "passes": "l_passes"})
            cols = {**cols, **{k: v for k, v in self.subject_columns("l_").items()},
                    ("subject", "roles"): pl.col("l_roles")}
        both = both.sort("product", "date", "id")
        both = both.with_columns(line_points=self.capped(both, cap, cols, "product"))
        return both.select("product", "subject", "line_points", event=pl.col("id"))

    def lines(self) -> Any:
        """(product, producer) for every scored product of a scored operator (第十条: a producer's lines),
        sorted by producer and product id, with the rows of both in the subjects (``product_pos``,
        ``producer_pos``) and the line's own row ``li`` (what :mod:`qrules.columnar_accounts` indexes)."""
        pl = self.pl
        if "_lines" in self.__dict__:
            return self._lines

        def make() -> Any:
            if self.m.composition.producer.rule != "lowest_product" or not (self.S["kind"] == "product").any():
                return pl.DataFrame(schema={"product": pl.Utf8, "producer": pl.Utf8, "product_pos": pl.Int64,
                                            "producer_pos": pl.Int64, "li": pl.Int64})
            ok = self.S.filter(pl.col("exc_code").is_null())
            return ok.filter((pl.col("kind") == "product") & pl.col("producer").is_not_null()).select(
                product=pl.col("id"), producer=pl.col("producer"), product_pos=pl.col("pos").cast(pl.Int64)).join(
                ok.filter(pl.col("kind") == "operator").select(producer=pl.col("id"),
                                                               producer_pos=pl.col("pos").cast(pl.Int64)),
                on="producer").sort("producer", "product").with_columns(li=pl.int_range(pl.len(), dtype=pl.Int64))
        # from the subjects' checks alone: kept with them, once per tables, when they are (``run``)
        self._lines = self.t.memo(("lines", self.b), make) if self.t.events.height <= _SPLIT_ROWS else make()
        return self._lines

    # -- scores, classes, adjustments, rows ----------------------------------------------------

    def classify(self, score: Any) -> Any:
        """第二十六条第一款: the first class whose rule holds, as one expression over a scaled score."""
        pl, b = self.pl, self.b
        out = pl.lit("O")
        for name in reversed(self.c.class_order):
            test = b.expr(self.c.class_exprs[name], "classes.when", {("score",): score})
            out = pl.when(test).then(pl.lit(name)).otherwise(out)
        return out

    def window_counts(self, anchors: np.ndarray, dates: np.ndarray) -> np.ndarray:
        """The window rule (第七条) at each of ``dates`` for each anchor (days since 1970): a
        (anchors × dates) boolean array. A rule counting one interval of days around each date is
        its bounds at each date (:func:`qrules.columnar_window.window_bounds`, kept by the backend);
        another is evaluated once over the pairs."""
        from .columnar_window import is_interval, window_bounds

        pl = self.pl
        if is_interval(self.c.exprs["window.counts"].node):
            bounds = window_bounds(pl, self.b.win("p_date", "date"), dates, self.b.window_memo)
            if bounds is not None:
                return (anchors[:, None] >= bounds[0][None, :]) & (anchors[:, None] <= bounds[1][None, :])
        grid = pl.DataFrame({"anchor": np.repeat(anchors, len(dates)), "at": np.tile(dates, len(anchors))},
                            schema={"anchor": pl.Int64, "at": pl.Int64}).with_columns(
            pl.col("anchor", "at").cast(pl.Int32).cast(pl.Date))
        ok = grid.select(self.b.win("anchor", "at").fill_null(False)).to_series().to_numpy()
        return ok.reshape(len(anchors), len(dates))

    def date_sums(self, group: np.ndarray, n: int, frame: Any, days: np.ndarray, k_now: int,
                  counts: bool) -> DateSums:
        """:func:`qrules.columnar_accounts.date_sums` of ``frame``'s entries (date, anchor, kind,
        points) in ``n`` groups at ``days``, in blocks of :data:`MASK_DATES` dates."""
        e_day, anchor = _days(frame["date"]), _days(frame["anchor"])
        points = frame["points"].to_numpy().astype(np.int64)
        ded = (frame["kind"] == "deduction").to_numpy()
        blocks = []
        for lo in range(0, len(days), MASK_DATES):
            block = days[lo:lo + MASK_DATES]
            mask = masks_for(e_day, anchor, block, self.window_counts)
            now = k_now - lo if lo <= k_now < lo + len(block) else 0
            blocks.append((lo <= k_now < lo + len(block),
                           date_sums(group, n, mask, points, ded, len(block), now, counts)))
        if len(blocks) == 1:
            return blocks[0][1]
        at_now = next(s for here, s in blocks if here)
        return DateSums(total=np.hstack([s.total for _, s in blocks]),
                        count=np.hstack([s.count for _, s in blocks]) if counts else None,
                        live_deductions=at_now.live_deductions, entries_counted=at_now.entries_counted,
                        deductions=at_now.deductions)

    def line_entries(self, entries: Any, line_rewards: Any) -> Any:
        """第十条 within a producer's line (brief §3, Art 10): the product's entries and the producer's
        own-behaviour entries and those linked from this product's events; one deduction per event,
        the heaviest (the product's on a tie, 第九条); a repair with the deduction it repaired; the
        rewards as the line's cap left them. Each row names its line by ``li`` (:meth:`lines`)."""
        pl = self.pl
        lines = self.lines()
        mine = entries.lazy().join(lines.lazy().select("product", "producer", "li", pos=pl.col("product_pos")),
                                   on="pos").with_columns(src=pl.lit(0))
        # an entry linked from a product the operator does not produce (it sold it, 第十二条第（一）项) is its
        # own behaviour: in every term; one linked from another of its own products stays in that one's.
        # (The producers of the few products entries are linked from, in one left join and one filter: a
        # join over every subject, or the rows split and put together again, held 0.1-0.2 GB more at 1M.)
        linked = entries["via_product"].drop_nulls().unique()
        owners = self.S.lazy().filter(pl.col("id").is_in(linked.implode())).select(
            via_product=pl.col("id"), vp_producer=pl.col("producer"))
        theirs = entries.lazy().join(lines.lazy().select("product", "li", pos=pl.col("producer_pos")), on="pos").join(
            owners, on="via_product", how="left").filter(
            pl.col("via_product").is_null() | (pl.col("via_product") == pl.col("product"))
            | pl.col("vp_producer").ne_missing(pl.col("subject"))).drop("vp_producer").with_columns(
            producer=pl.col("subject"), src=pl.lit(1))
        both = pl.concat([mine, theirs], how="diagonal_relaxed").collect(engine=MEMORY)  # both joins at once
        # (line, event, src) is unique: the heaviest first, then keep the first row per (line, event)
        ded = first_per_key(pl, both.filter(pl.col("kind") == "deduction"), ["li", "event"], ["points", "src"])
        rep = both.filter(pl.col("kind") == "repair")
        kept = ded.filter(pl.col("event").is_in(rep["of_event"].unique().implode()))  # the few repaired ones
        rep = rep.join(kept.select("li", of_event=pl.col("event"), of_subject=pl.col("subject")),
                       on=["li", "of_event", "of_subject"], how="semi")
        rew = both.filter(pl.col("kind") == "reward").join(line_rewards, on=["product", "event", "subject"],
                                                           how="left").with_columns(
            points=pl.col("line_points").fill_null(pl.col("points"))).drop("line_points")
        return pl.concat([x.select("li", "date", "anchor", "kind", "points") for x in (ded, rep, rew)])

    def accounts(self, entries: Any, line_rewards: Any, dates: list[dt.date], pos: np.ndarray,
                 first_own: np.ndarray) -> SimpleNamespace:
        """Each subject's account at each of ``dates`` (sorted, the as-of date among them) as arrays
        over its row in the subjects (:mod:`qrules.columnar_accounts`): ``total`` and ``scored``
        (subjects × dates) — its own entries in the window, or for a producer holding a product
        line its lowest line (第十条); scored by its own record (第八条: from its first entry, or
        while it has entries in the window when ``stays_scored`` is false) or through a line.
        ``pos``: the row of each entry's subject; ``first_own``: each subject's first own record (days);
        ``determined_by``: the line deciding it at the as-of date (-1: none); the counts at the
        as-of date."""
        stays = bool(self.c.params.get("stays_scored", True))
        n = self.S.height
        days = np.array([_day(d) for d in dates], dtype=np.int64)
        k_now = dates.index(self.as_of)
        lines = self.lines()

        def line_sums(run: _Run) -> DateSums:  # the lines' sums, made beside the subjects' own
            line = run.line_entries(entries, line_rewards)
            return run.date_sums(line["li"].to_numpy().astype(np.int64), lines.height, line, days, k_now, counts=False)
        side = self.beside(line_sums, first=False) if lines.height else None
        own = self.date_sums(pos, n, entries, days, k_now, counts=not stays)
        sums = self.joined(side) if side is not None else None
        scored = first_own[:, None] <= days[None, :] if stays else own.count > 0
        out = SimpleNamespace(total=own.total, scored=scored, determined_by=np.full(n, -1, dtype=np.int64),
                              live_deductions=own.live_deductions, entries_counted=own.entries_counted,
                              deductions=own.deductions, k_now=k_now)
        if sums is None:
            return out
        product, producer = lines["product_pos"].to_numpy(), lines["producer_pos"].to_numpy()
        # a line is held from its product's first record (第八条), or while the product has entries in
        # the window when a subject does not stay scored
        held = first_own[product][:, None] <= days[None, :] if stays else own.count[product] > 0
        starts = np.flatnonzero(np.r_[True, producer[1:] != producer[:-1]])
        best = lowest_lines(sums.total, held, starts)
        p_idx, k_idx = np.nonzero(best >= 0)
        at = producer[starts][p_idx]
        out.total[at, k_idx] = sums.total[best[p_idx, k_idx], k_idx]
        out.scored[at, k_idx] = True
        now = best[:, k_now]
        has = now >= 0
        at, line_now = producer[starts][has], now[has]
        out.determined_by[at] = line_now
        for name in ("live_deductions", "entries_counted", "deductions"):
            getattr(out, name)[at] = getattr(sums, name)[line_now]
        return out

    def class_codes(self, score: np.ndarray, start: int, names: list[str]) -> np.ndarray:
        """The class (第二十六条第一款) of each account total (scaled, before the start score), as
        an index into ``names``: the ruleset's class rules evaluated once per distinct total (the
        backend's ``class_memo`` keeps them for its later runs)."""
        pl = self.pl
        values, at = _dense_codes(score.ravel().astype(np.int64))  # the totals present (a few dozen)
        memo = self.b.class_memo
        todo = [v for v in values.tolist() if v not in memo]
        if todo:  # the class rules over column "s", compiled once per ruleset, for the totals not seen yet
            rule = self.b.__dict__.get("_classify_s")
            if rule is None:
                rule = self.b.__dict__.setdefault("_classify_s", self.classify(pl.col("s")))
            got = pl.DataFrame({"s": np.array(todo, dtype=np.int64) + start}).select(rule).to_series().to_list()
            memo.update(zip(todo, got))
        code = {name: i for i, name in enumerate(names)}
        return np.array([code[memo[v]] for v in values.tolist()], dtype=np.int64)[at].reshape(score.shape)

    def results(self, entries: Any, line_rewards: Any) -> dict:
        pl, b, c = self.pl, self.b, self.c
        start = to_scaled(Decimal(c.params["start_score"]), b.scale)
        S = self.S
        in_scope = not (S.height - S["exc_code"].null_count())  # no subject excluded: no filter (a query)
        subj = pl.DataFrame([S["id"].alias("subject"), S["kind"], S["name"], S["pos"]]) if in_scope else \
            S.filter(pl.col("exc_code").is_null()).select("id", "kind", "name", "pos").rename({"id": "subject"})
        # every step has refused and counted what it does: the events are tallied beside the accounts
        refusals, counted = list(self.rej), list(self.counted)
        tally = self.beside(lambda run: _tally(pl, refusals, counted, self.t.events.height), first=False)
        at = subj["pos"].to_numpy()
        pos = entries["pos"].to_numpy().astype(np.int64)  # each entry's subject as its row in the subjects
        first_own = np.full(S.height, NO_DAY, dtype=np.int64)  # each subject's first own record
        np.minimum.at(first_own, pos, _days(entries["date"]))
        first = first_own.copy()  # a producer's first record: its lines' too (第十条)
        lines = self.lines()
        if lines.height:
            np.minimum.at(first, lines["producer_pos"].to_numpy(), first_own[lines["product_pos"].to_numpy()])
        dates: list = []
        if c.adjustment_dates:
            # 第二十六条第二款: adjustments from the first record
            earliest = int(first[at].min()) if at.size else NO_DAY
            dates = self.adjustment_dates(None if earliest == NO_DAY else _date(earliest))
        score_days = sorted({self.as_of} | {sd for _, sd in dates})
        acc = self.accounts(entries, line_rewards, score_days, pos, first_own)
        names = list(dict.fromkeys([*c.class_order, "O"]))
        o_code = names.index("O")
        k_now = acc.k_now
        scored = acc.scored[at, k_now]
        live = np.where(scored, self.class_codes(acc.total[at, k_now], start, names), o_code)
        official, locks = self.official(acc, at, first, dates, score_days, start, names)
        if not c.params.get("new_subject_waits", True):  # a subject scored since the last adjustment: its live class
            official = np.where((official == o_code) & scored, live, official)
        # the output columns as Series, without a query (planning one over every column cost more than
        # its work on a small corpus); the classes by index
        classes = pl.Series(names, dtype=pl.Utf8)
        official_class = classes[official].alias("official_class")  # (indexing: ``gather`` is a query)
        counts = {name: pl.Series(name, getattr(acc, name)[at], dtype=pl.Int64)
                  for name in ("live_deductions", "entries_counted", "deductions")}
        flags = []
        for name, expr in c.flag_whens.items():
            got = b.expr(expr, "information_use.when", b._flag_columns())
            flags.append(pl.when(got[0] if isinstance(got, tuple) else got).then(pl.lit(name)))
        if flags:  # 第二十九条至第三十二条 (information use): the flags' rules over the columns they read
            score_int = pl.Series("score_int", acc.total[at, k_now] + start).set(pl.Series(~scored), None)
            flag_column = pl.DataFrame([official_class, subj["kind"], counts["live_deductions"],
                                        pl.Series("scored", scored), score_int]).select(
                flags=pl.concat_str(flags, separator=";", ignore_nulls=True).fill_null("")).to_series()
        else:
            flag_column = pl.Series("flags", [""], dtype=pl.Utf8).new_from_index(0, at.size)
        lines = self.lines()["product"]  # the line deciding it (-1: none, the null after the lines)
        determined_by = lines.extend_constant(None, 1)[np.where(acc.determined_by[at] < 0, len(lines), acc.determined_by[at])]
        lock_class, lock_since, lock_until = locks
        # the flat output columns of :func:`qrules.batch.output_row`, in the subjects' input order
        rows = pl.DataFrame([
            subj["subject"].alias("id"), subj["kind"], subj["name"], pl.Series("scored", scored),
            self.score_texts(acc.total[at, k_now] + start, scored), classes[live].alias("live_class"),
            official_class, lock_class, lock_since.cast(pl.Utf8), lock_until.cast(pl.Utf8),
            determined_by.alias("determined_by"), *self.measures(official, names), counts["entries_counted"],
            counts["deductions"], flag_column.alias("flags")])
        rej, n_counted, n_rejected = self.joined(tally)
        excluded = S[["id", "exc_reason", "exc_cite", "exc_code"]]
        excluded = excluded.head(0) if in_scope else excluded.filter(pl.col("exc_code").is_not_null())

        def by(codes: np.ndarray) -> dict[str, int]:  # subjects per class
            return dict(sorted((names[k], int(n)) for k, n in enumerate(np.bincount(codes, minlength=len(names))) if n))
        return {"rows": rows, "rejections": rej, "excluded": excluded, "warnings": self.warnings,
                "notes": self.version_notes([t for t, _ in dates]),
                "events": self.t.events.height,
                "events_counted": n_counted, "events_rejected": n_rejected,
                "rejected_by_code": dict(sorted((k, int(v)) for k, v in rej["code"].value_counts().iter_rows())),
                "by_official_class": by(official), "by_live_class": by(live)}

    def official(self, acc: SimpleNamespace, at: np.ndarray, first: np.ndarray, dates: list, score_days: list[dt.date], start: int,
                 names: list[str]) -> tuple[np.ndarray, list]:
        """第二十六条第二款: the official class and the lock of each subject (rows ``at``) from its
        class at each half-year score date, in date order (:func:`qrules.columnar_accounts.official_classes`):
        (the official classes as indexes into ``names``, the lock's columns)."""
        pl, c, m = self.pl, self.c, self.m
        o_code = names.index("O")
        if not dates:  # no adjustment yet: the official class is O for every subject, nothing locked
            return np.full(at.size, o_code, dtype=np.int64), [
                pl.Series("lock_class", [None], dtype=pl.Utf8).new_from_index(0, at.size),
                *(pl.Series(name, [None], dtype=pl.Date).new_from_index(0, at.size) for name in ("lock_since", "lock_until"))]
        lock = m.adjustment.lock
        lock_class = lock.class_ if lock else None
        # no lock without a class to lock in and a length to hold it
        lock_code = names.index(lock_class) if lock_class in names and c.lock_duration is not None else None
        computed, lock_ends = [], []
        for t, sd in dates:
            k = score_days.index(sd)
            scored = acc.scored[at, k]
            computed.append(np.where(scored, self.class_codes(acc.total[at, k], start, names), o_code))
            lock_ends.append(_day(pl.select(self.b.pc.shift(pl.lit(t), c.lock_duration, 1)).item())
                             if lock_code is not None else None)
        official, since, until = official_classes(computed, first[at], [_day(t) for t, _ in dates], o_code,
                                                  lock_code, lock_ends)
        active = (official == lock_code) & (until > _day(self.as_of)) if lock_code is not None \
            else np.zeros(at.size, dtype=bool)

        def day_column(values: np.ndarray, name: str) -> Any:
            return pl.Series(name, np.where(active, values, 0), dtype=pl.Int32).cast(pl.Date).set(
                pl.Series(~active), None)
        return official, [pl.Series("lock_class", [lock_class, None], dtype=pl.Utf8)[(~active).astype(np.int64)],
                          day_column(since, "lock_since"), day_column(until, "lock_until")]

    def version_notes(self, adjustment_dates: list[dt.date]) -> list:
        """Brief §4a, as the engine says it: the as-of date, events (deductions, repairs, rewards)
        and adjustments dated when the version was not in force; ``--require-in-force`` refuses them."""
        from .engine import refuse_out_of_force, require_in_force, timeline_of, version_notes

        tl = self.b.tl or timeline_of(self.c)
        days = self.event_days.to_numpy().astype("datetime64[D]")
        covered = np.zeros(len(days), dtype=bool)
        for p in tl.pieces:  # the days some version covers need no note: only the others are looked at
            covered |= (days >= np.datetime64(p.start)) & ((days <= np.datetime64(p.until)) if p.until else True)
        decided = [n for n in map(tl.out_of_force, days[~covered].tolist()) if n is not None]
        notes = version_notes(tl, self.as_of, decided,
                              [SimpleNamespace(adjustments=[SimpleNamespace(date=t) for t in adjustment_dates])])
        if notes and require_in_force.get():
            refuse_out_of_force(notes)
        return notes

    def adjustment_dates(self, earliest: dt.date | None) -> list[tuple[dt.date, dt.date]]:
        """(adjustment date, score date) from the earliest first record to the as-of date."""
        c = self.c
        dates = []
        if earliest is not None and c.adjustment_dates:
            for year in range(earliest.year, self.as_of.year + 1):
                for month, day in c.adjustment_dates:
                    t = dt.date(year, month, day)
                    if earliest < t <= self.as_of:
                        dates.append((t, c.score_date(t)))
        return dates

    def score_texts(self, totals: np.ndarray, scored: np.ndarray) -> Any:
        """The score column: each subject's total (scaled) as text, null where ``scored`` is false;
        each distinct score written once (a few dozen over a corpus) and picked by its index."""
        pl = self.pl
        scores = _distinct_ints(totals[scored])
        texts = pl.Series("score", [scaled_text(x, self.b.scale) for x in scores.tolist()] + [None], dtype=pl.Utf8)
        return texts[np.where(scored, np.searchsorted(scores, totals), scores.size)]  # the last text: null

    def measures(self, official: np.ndarray, names: list[str]) -> list[Any]:
        """第二十七条: the measures columns of each subject's official class (an index into ``names``);
        each class's measures made once per backend."""
        from .engine import class_measures

        pl, b = self.pl, self.b
        made = b.__dict__.get(("_measures", tuple(names)))
        if made is None:
            ms = [class_measures(self.c, k) for k in names]
            made = b.__dict__.setdefault(("_measures", tuple(names)), [
                pl.Series("supervision", [x.mode for x in ms], dtype=pl.Utf8),
                pl.Series("notice", [x.notice for x in ms], dtype=pl.Utf8),
                pl.Series("checks_per_year", [x.checks_per_year for x in ms], dtype=pl.Int64)])
        return [m[official] for m in made]


def _dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values of an integer array, sorted; each value's index among them): read from a
    table over the values' span when it is short, else searched."""
    distinct = _distinct_ints(values)
    if distinct.size and int(distinct[-1]) - int(distinct[0]) < 1 << 20:
        table = np.zeros(int(distinct[-1]) - int(distinct[0]) + 1, dtype=np.int64)
        table[distinct - distinct[0]] = np.arange(distinct.size)
        return distinct, table[values - distinct[0]]
    return distinct, np.searchsorted(distinct, values)


def _distinct_ints(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, sorted: marked in a table over their span when it is
    short (scores: a few dozen values), cheaper than sorting them."""
    if values.size == 0:
        return values.astype(np.int64)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo >= 1 << 20:
        return np.unique(values)
    seen = np.zeros(hi - lo + 1, dtype=bool)
    seen[values - lo] = True
    return np.flatnonzero(seen).astype(np.int64) + lo


def _hashable(value: Any) -> Any:
    """A cell's value as a key: a list as a tuple, a struct as its sorted (field, value) pairs."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _distinct_days(pl: Any, columns: list) -> Any:
    """The distinct dates of some date columns, sorted: marked in a table over their span (a few
    thousand days), cheaper than hashing every date."""
    days = np.concatenate([(c.drop_nulls() if c.null_count() else c).to_physical().to_numpy() for c in columns]) \
        if columns else np.zeros(0, np.int32)  # a date's physical value is its day number (no cast: no query)
    return pl.Series("date", _distinct_ints(days.astype(np.int64)), dtype=pl.Int32).cast(pl.Date)


def _tally(pl: Any, rej: list, counted: list, n_events: int) -> tuple[Any, int, int]:
    """(the refusals as one frame, the events counted, the events refused and not counted — an
    event refused for one subject and counted for another is counted). When every count and refusal
    names its events' rows (``erow``), the rows are marked in an array; otherwise one hash over the
    counted ids, the refused ones looked up."""
    frame = pl.concat([f.drop("erow", strict=False) for f in rej]) if rej else pl.DataFrame(schema={k: pl.Utf8 for k in _REJ})
    if counted and all(rows is not None and not rows.null_count() for _, rows in counted) \
            and all("erow" in f.columns and not f["erow"].null_count() for f in rej):
        seen = np.zeros(n_events, dtype=bool)
        seen[np.concatenate([rows.to_numpy() for _, rows in counted])] = True
        refused = np.zeros(n_events, dtype=bool)
        if rej:
            refused[np.concatenate([f["erow"].to_numpy() for f in rej])] = True
        return frame, int(seen.sum()), int((refused & ~seen).sum())
    ids = pl.concat([s.cast(pl.Utf8) for s, _ in counted]) if counted else pl.Series([], dtype=pl.Utf8)
    refused = frame["event"].unique()
    return frame, ids.n_unique(), refused.len() - ids.filter(ids.is_in(refused.implode())).n_unique()


_EPOCH = dt.date(1970, 1, 1)


def _day(date: dt.date) -> int:
    """A date as days since 1970 (what the arrays of :mod:`qrules.columnar_accounts` hold)."""
    return (date - _EPOCH).days


def _date(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


def _days(column: Any) -> np.ndarray:
    """A date column (without nulls) as days since 1970: numpy's dates viewed as integers for a
    short column (polars' cast to the physical type costs some 70 µs a call, a few times a run),
    that cast for a long one (numpy's conversion of the dates grows faster)."""
    if len(column) < 100_000:
        return column.to_numpy().view(np.int64)  # datetime64[D]: days since 1970, as int64
    return column.to_physical().to_numpy().astype(np.int64)
