"""The columnar backend: a compiled ruleset made ready for evaluating whole tables at once, what it
cannot take (it says so, and the commands fall back to the engine), and its entry points.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..tables import ChunkResult
from .common import MEMORY, Fallback
from .polarsexpr import PolarsCompiler, Unsupported, compile_many, ruleset_scale
from .run import Run
from .tables import Tables, excluded, rejections


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


#: Sections that never change a score, class or refusal (procedures, documentation, measures
#: read as they are): a field added there needs nothing from the backend.
NEUTRAL_SECTIONS = ("deadlines", "out_of_scope", "notes", "effective_dates", "measures", "citations", "authorities")


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

        from ..ruleset import SCOPES

        self.pl = pl
        self.c = compiled
        m = self.m = compiled.model
        self.problems: list[str] = [f"ruleset field '{p}' is new to the columnar backend"
                                    for p in sorted(_set_fields(m) - KNOWN_FIELDS)
                                    if p.split(".")[0] not in NEUTRAL_SECTIONS]
        pieces = getattr(getattr(compiled, "timeline", None), "pieces", ())
        self.tl = timeline
        # several versions over time (§4a): evaluated by the one that decides every date (columnar.versions)
        self.family = compiled.timeline if len(pieces) > 1 and timeline is None else None
        self.versions: dict[str, ColumnarBackend] = {}
        #: The window's first and last counted day at each date (columnar.window.window_bounds): the
        #: rule's alone, so kept for every run of this backend.
        self.window_memo: dict = {}
        #: The class (第二十六条第一款) of each account total seen (scaled, before the start score):
        #: the class rules read the score alone, so kept for every run of this backend.
        self.class_memo: dict[int, str] = {}
        #: 第十八条's cap at each (columns it reads, their values, points granted) seen: the cap rule
        #: reads those alone, so kept for every run of this backend (bounded: :data:`CAP_MEMO`).
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
        from ..language import ast
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
            from .versions import route

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
        from ..history.load import gc_paused

        try:
            # as the engine: the cyclic collector's passes over a caller's large history (its records,
            # its results) would land inside the run, unrelated to its own few Python objects
            with gc_paused():
                return Run(self, tables, as_of).run()
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


def _rules_calling(compiled: Any, func: str) -> list[str]:
    """The reward rules whose ``when`` or conditions call ``func`` (read from the checked trees)."""
    from ..language import ast

    def calls(expr: Any) -> bool:
        return any(isinstance(n, ast.Call) and n.func == func for n in ast.walk(expr.node))

    out = []
    for code in compiled.model.rewards.rules:
        exprs = [compiled.reward_whens.get(code)] + [c.expr for c in compiled.reward_conditions.get(code, [])]
        if any(e is not None and calls(e) for e in exprs):
            out.append(code)
    return out
