"""The columnar backend: a whole corpus evaluated at once with polars, from the same rules.

Pipeline position: ``ruleset`` (compiled) + ``history`` (validated) -> **columnar** -> flat
result rows, as :mod:`qrules.batch` writes them. The per-subject engine (:mod:`qrules.engine`)
stays the reference and the source of explanations; this backend computes the same scores,
classes, official classes, locks and rejections for every subject at once:

- every ruleset expression it needs is compiled from the checked AST to a polars expression
  (:mod:`qrules.polarsexpr`), numbers as scaled integers at the ruleset's scale;
- deductions, repairs and rewards are rows; items, subjects and their deductions are joins;
- the decisions that depend on earlier decisions (a repair's ordinal, the per-period repair
  limit, the reward cap, the half-year adjustments and the D lock) are bounded iterations —
  round ``k`` decides every subject's ``k``-th repair, reward or adjustment at once.

What it does not take, it says: :meth:`ColumnarBackend.unsupported` lists every rule or kind
of record of this ruleset and history it cannot evaluate (products and their links, spot-check
dedup, corrections, clean-record rewards, rule fields it does not know...). The commands then
fall back to the per-subject engine and print that list — never silently.
``tests/test_columnar.py`` compares both backends subject by subject over seeded corpora.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np

from .polarsexpr import PolarsCompiler, Unsupported, compile_many, ruleset_scale, to_scaled
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
items.*.title jurisdiction.cite jurisdiction.division jurisdiction.name links.named_seller.items
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

#: Event kinds that are facts for procedures only (counted as facts, never scored).
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

    def __init__(self, compiled: Any):
        import polars as pl

        from .ruleset import SCOPES

        self.pl = pl
        self.c = compiled
        m = self.m = compiled.model
        self.problems: list[str] = [f"ruleset field '{p}' is new to the columnar backend"
                                    for p in sorted(_set_fields(m) - KNOWN_FIELDS)
                                    if p.split(".")[0] not in NEUTRAL_SECTIONS]
        pieces = getattr(getattr(compiled, "timeline", None), "pieces", ())
        if len(pieces) > 1:  # several versions over time (§4a): the engine picks one per date
            self.problems.append(f"{len(pieces)} versions in force over time "
                                 f"({', '.join(p.label for p in pieces)}) are new to the columnar backend")
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
        for name, expr in compiled.flag_whens.items():
            self._try(lambda e=expr: self.expr(e, "information_use.when", self._flag_columns()),
                      f"information_use.{name}")
        for code, expr in compiled.reward_whens.items():
            try:
                self.expr(expr, "rewards.rules.when", self._probe_columns("rewards.rules.when"))
            except Unsupported as exc:
                self.reward_problems[code] = f"rewards.rules.{code}.when: {exc}"
        if m.adjustment.lock is not None and compiled.lock_duration is not None \
                and compiled.lock_duration.unit == "workdays":
            self.problems.append("adjustment.lock.duration in working days")

    # -- compiling ---------------------------------------------------------------------------

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

    def _probe_columns(self, scope_key: str) -> dict:
        pl = self.pl
        cols: dict = {}
        for name, typ in self.scopes[scope_key].items():
            fields = getattr(typ, "fields", None)
            if fields:
                for f, ftyp in dict(fields).items():
                    if not hasattr(ftyp, "elem") and not (name == "subject" and f != "kind"):
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
        compiled = self.expr(expr, scope_key, columns)
        if isinstance(compiled, tuple):
            value, inexact = compiled
            out = frame.with_columns(value.alias("__v"), inexact.alias("__x"))
            if out["__x"].any():
                raise Fallback([f"{what}: a result needs more than {self.scale} decimal places"])
            return out["__v"]
        return frame.with_columns(compiled.alias("__v"))["__v"]  # a constant broadcast to every row

    def win(self, entry: str, at: str) -> Any:
        """The window rule (第七条) with ``entry.date`` and ``as_of`` taken from two date columns."""
        pl = self.pl
        got = self.expr(self.c.exprs["window.counts"], "window.counts",
                        {("as_of",): pl.col(at), ("entry", "date"): pl.col(entry)})
        return got[0] if isinstance(got, tuple) else got

    # -- what cannot be taken ----------------------------------------------------------------

    def unsupported(self, t: "Tables") -> list[str]:
        """Every rule or kind of record of this ruleset and history the backend cannot take."""
        pl, m = self.pl, self.m
        reasons = list(self.problems)
        ev, subj = t.events, t.subjects
        if subj.height and (subj["kind"] == "product").any():
            reasons.append("product subjects (第十条 composition over products, 第十二条 links)")
        kinds = set(ev["kind"].unique().to_list())
        if "correction" in kinds:
            reasons.append("correction events (第二十四、二十五条)")
        if "spot_check" in kinds:
            reasons.append("spot_check events (第十六、十七条 clean records)")
        ded = t.kind("deduction")
        spot = [c for c, i in m.items.items() if i.spot_check]
        product = [c for c, i in m.items.items() if i.subject == "product"]
        for codes, what in ((spot, "spot-check item {} (第九条第二款 dedup)"),
                            (product, "product item {} recorded on an operator (第十二条 links)")):
            hit = ded.filter(pl.col("item").is_in(codes))["item"]
            if hit.len():
                reasons.append(what.format(hit[0]))
        if ded.height and (ded["subjects"].list.n_unique() != ded["subjects"].list.len()).any():
            reasons.append("a deduction that names a subject twice")
        if ev["recorded_by"].is_not_null().any():
            reasons.append("recorded_by checks (第五条、第十九条第二款)")
        rules = t.kind("reward")["rule"].unique().to_list()
        reasons += [self.reward_problems[r] for r in sorted(x for x in rules if x in self.reward_problems)]
        return reasons

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, tables: "Tables", as_of: dt.date) -> dict:
        """Evaluate a whole history given as :class:`Tables`. Returns ``rows`` (a DataFrame of
        the flat output columns, as :func:`qrules.batch.output_row`), ``rejections`` (a
        DataFrame) and the summary counts. Raises :class:`Fallback` with the reasons when the
        backend cannot take this ruleset and history."""
        reasons = self.unsupported(tables)
        if reasons:
            raise Fallback(reasons)
        try:
            return _Run(self, tables, as_of).run()
        except Unsupported as exc:  # a rule reading a name of a newer scope (repair.ordinal...)
            raise Fallback([str(exc)]) from None

    def chunk(self, loaded: Any, as_of: dt.date) -> Any:
        """A loaded history as one :class:`qrules.tables.ChunkResult` (what ``qrules batch`` adds up)."""
        import time

        from .engine import validity_warnings

        t0 = time.perf_counter()
        tables = Tables.from_history(loaded)
        out = self.evaluate(tables, as_of)
        warnings = validity_warnings(self.c, as_of)  # the engine's own words about the ruleset
        return ChunkResult(index=0, subjects=out["rows"].to_dicts(), rejected=rejections(tables, out["rejections"]),
                           excluded=excluded(out["excluded"]), events=out["events"],
                           events_counted=out["events_counted"], events_rejected=out["events_rejected"],
                           rejected_by_code=out["rejected_by_code"], by_official_class=out["by_official_class"],
                           by_live_class=out["by_live_class"], warnings=warnings,
                           seconds=time.perf_counter() - t0)


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


def rejections(t: Tables, frame: Any) -> list[Any]:
    """Rejection models for the refused rows, with the subjects each event concerns (as the engine lists them)."""
    from .engine.results import Rejection

    ev = t.events
    index = dict(zip(ev["id"].to_list(), range(ev.height)))
    subs, sub, of = ev["subjects"].to_list(), ev["subject"].to_list(), ev["of"].to_list()

    def related(eid: str, depth: int = 0) -> list[str]:
        i = index[eid]
        names = list(subs[i] or [])
        if sub[i]:
            names.append(sub[i])
        if not names and of[i] is not None and depth < 5 and of[i] in index:
            return related(of[i], depth + 1)
        return sorted(set(names))

    build = Rejection.build  # values computed here, as the engine's: no validation pass
    return [build(event=r[0], kind=r[1], subject=r[2], subjects=related(r[0]), code=r[3], reason=r[4], cite=r[5])
            for r in frame.iter_rows()]


def excluded(frame: Any) -> list[Any]:
    from .engine.results import ExcludedSubject

    return [ExcludedSubject.build(id=r[0], reason=r[1], cite=r[2], code=r[3]) for r in frame.iter_rows()]


class _Run:
    """One evaluation over the tables; refused rows are collected as frames of :data:`_REJ` columns."""

    def __init__(self, b: ColumnarBackend, t: Tables, as_of: dt.date):
        self.b, self.pl, self.c, self.m, self.t = b, b.pl, b.c, b.m, t
        self.as_of = as_of
        self.rej: list[Any] = []
        self.counted: list[Any] = []  # Series of event ids counted or used as facts

    def reject(self, frame: Any, code: str, reason: Any, cite: Any = None, subject: Any = None) -> None:
        pl = self.pl
        if frame.height == 0:
            return
        lit = lambda v: v if isinstance(v, pl.Expr) else pl.lit(v, dtype=pl.Utf8)  # noqa: E731
        self.rej.append(frame.select(pl.col("id").alias("event"), pl.col("kind"), lit(subject).alias("subject"),
                                     pl.lit(code).alias("code"), lit(reason).alias("reason"), lit(cite).alias("cite")))

    def reject_rows(self, frame: Any, code: str, make: Any, subject: str | None = None) -> None:
        """Refusals whose message needs a Python computation (a did-you-mean hint); few rows."""
        pl = self.pl
        if frame.height == 0:
            return
        reasons, cites = [], []
        for row in frame.iter_rows(named=True):
            reason, cite = make(row)
            reasons.append(reason)
            cites.append(cite)
        self.rej.append(pl.DataFrame({"event": frame["id"], "kind": frame["kind"],
                                      "subject": frame[subject] if subject else [None] * frame.height,
                                      "code": [code] * frame.height, "reason": reasons, "cite": cites},
                                     schema={k: pl.Utf8 for k in _REJ}))

    # -- subjects ------------------------------------------------------------------------------

    def subjects(self) -> Any:
        """Operators with the scope (第二条) and jurisdiction checks as the engine's subject views make them."""
        from .engine import division_prefix

        pl, m = self.pl, self.m
        prefix = division_prefix(m.jurisdiction.division)
        s = self.t.subjects
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
            .when(outside).then(pl.lit(m.jurisdiction.cite, dtype=pl.Utf8)))

    def check_subjects(self, pairs: Any) -> Any:
        """``pairs`` (event rows with a ``sid``) that may be scored; the others refused with the
        engine's reasons (QR603 refused record, QR602 unknown, QR604/QR605 excluded)."""
        from .errors import did_you_mean

        pl = self.pl
        j = pairs.join(self.t.invalid, on="sid", how="left").join(
            self.S.select(pl.col("id").alias("sid"), "roles", "exc_code", "exc_reason", "exc_cite",
                          known=pl.lit(True)), on="sid", how="left")
        inv = pl.col("inv_reason").is_not_null()
        self.reject(j.filter(inv), "QR603", pl.format("subject '{}' is invalid: {}", pl.col("sid"), pl.col("inv_reason")),
                    self.c.cites.get("subjects"), pl.col("sid"))
        unknown = ~inv & pl.col("known").is_null()
        def unknown_reason(row: dict) -> tuple[str, str]:
            hint = did_you_mean(row["sid"], self.S["id"].to_list())
            return f"unknown subject '{row['sid']}'" + (f" ({hint})" if hint else ""), self.c.cites.get("subjects")
        self.reject_rows(j.filter(unknown), "QR602", unknown_reason, subject="sid")
        exc = ~inv & ~unknown & pl.col("exc_code").is_not_null()
        for code in ("QR604", "QR605"):
            self.reject(j.filter(exc & (pl.col("exc_code") == code)), code, pl.col("exc_reason"), pl.col("exc_cite"),
                        pl.col("sid"))
        return j.filter(~inv & ~unknown & pl.col("exc_code").is_null()).drop(
            "inv_reason", "known", "exc_code", "exc_reason", "exc_cite")

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> dict:
        pl = self.pl
        t = self.t
        self.S = self.subjects()
        late = pl.col("date") > self.as_of
        self.reject(t.events.lazy().filter(late).select("id", "kind", "date").collect(), "QR613",
                    pl.format(f"dated {{}}, after the as-of date {self.as_of}; not yet effective", pl.col("date")))
        live = lambda kind: t.kind(kind).filter(~late)  # noqa: E731
        filings = self.facts(live("filing"), live(_PROCEDURE))
        deductions = self.deductions(live("deduction"))
        repairs = self.repairs(live("repair"), deductions, filings)
        rewards = self.rewards(live("reward"), filings)
        cols = ["subject", "kind", "date", "anchor", "points"]
        entries = pl.concat([deductions.select(cols), repairs.select(cols), rewards.select(cols)])
        entries = entries.with_columns(counted=(pl.col("kind") != "reward") | (pl.col("points") > 0))
        return self.results(entries)

    def facts(self, filings: Any, procedures: Any) -> Any:
        """Filings (第十四条第（三）项): each operator's first filing and first concealed filing."""
        pl = self.pl
        f = self.check_subjects(filings.with_columns(sid=pl.col("subject")))
        self.counted.append(f["id"])
        self.counted.append(procedures["id"])
        return f.group_by("sid").agg(
            pl.col("date").min().alias("first_filed"),
            pl.col("date").filter(pl.col("concealed").fill_null(False)).min().alias("first_concealed"))

    def operator_facts(self, frame: Any, filings: Any, date: str) -> Any:
        pl = self.pl
        out = frame.join(filings, left_on="subject", right_on="sid", how="left")
        return out.with_columns(
            (pl.col("first_filed").is_not_null() & (pl.col("first_filed") <= pl.col(date))).alias("operator.filed"),
            (pl.col("first_concealed").is_not_null() & (pl.col("first_concealed") <= pl.col(date)))
            .alias("operator.concealed")).drop("first_filed", "first_concealed")

    # -- deductions ------------------------------------------------------------------------------

    def deductions(self, d: Any) -> Any:
        """第十一条至第十三条 for operators: one entry per named subject, points by the item and
        the intentional rule, and the ordinal among counted deductions in its window (第十五条)."""
        from .errors import did_you_mean

        pl, b, m = self.pl, self.b, self.m
        items = pl.DataFrame({"item": list(m.items),
                              "item_subject": [i.subject for i in m.items.values()],
                              "item.points": [to_scaled(i.points, b.scale) for i in m.items.values()],
                              "item.intentional_points": [to_scaled(i.intentional if i.intentional is not None
                                                                    else i.points, b.scale) for i in m.items.values()],
                              "item_major": [i.major_impact for i in m.items.values()],
                              "item_cite": [i.cite for i in m.items.values()]},
                             schema={"item": pl.Utf8, "item_subject": pl.Utf8, "item.points": pl.Int64,
                                     "item.intentional_points": pl.Int64, "item_major": pl.Boolean,
                                     "item_cite": pl.Utf8})
        d = d.join(items, on="item", how="left")

        def unknown_item(row: dict) -> tuple[str, str]:
            hint = did_you_mean(row["item"], m.items)
            return f"unknown item '{row['item']}'" + (f" ({hint})" if hint else ""), self.c.cites.get("items")
        self.reject_rows(d.filter(pl.col("item_subject").is_null()), "QR601", unknown_item)
        d = d.filter(pl.col("item_subject").is_not_null())
        pairs = self.check_subjects(d.explode("subjects").rename({"subjects": "sid"}).filter(pl.col("sid").is_not_null()))
        role = pl.when(pl.col("item_subject").is_in(["producer", "seller"])).then(pl.col("item_subject"))
        pairs = pairs.with_columns(role=role)
        wrong = pl.col("role").is_not_null() & ~pl.col("roles").list.contains(pl.col("role"))
        self.reject(pairs.filter(wrong), "QR606",
                    pl.format("item {} applies to {}s; '{}' has roles [{}]", pl.col("item"), pl.col("role"),
                              pl.col("sid"), pl.col("roles").list.sort().list.join(", ")),
                    pl.col("item_cite"), pl.col("sid"))
        d = pairs.filter(~wrong).with_columns(subject=pl.col("sid"), event=pl.col("id"),
                                              intentional=pl.col("intentional").fill_null(False),
                                              major_impact=pl.col("major_impact").fill_null(False))
        self.counted.append(d["id"])
        cols = {("item", "points"): pl.col("item.points"),
                ("item", "intentional_points"): pl.col("item.intentional_points"),
                ("item", "code"): pl.col("item"), ("event", "date"): pl.col("date"), ("event", "item"): pl.col("item"),
                ("event", "intentional"): pl.col("intentional"), ("event", "major_impact"): pl.col("major_impact")}
        d = d.with_columns(points=b.value(d, self.c.exprs["intentional.points"], "intentional.points", cols,
                                          "intentional.points"),
                           major=pl.col("major_impact") | pl.col("item_major"),
                           anchor=pl.col("date"), kind=pl.lit("deduction"))
        if self.uses("deduction", "ordinal"):
            # 第十五条第（一）项: 1 + counted deductions of the subject before it (date, event) inside its window.
            pairs = d.select("subject", "event", "date").join(
                d.select("subject", pl.col("event").alias("p_event"), pl.col("date").alias("p_date")), on="subject")
            before = (pl.col("p_date") < pl.col("date")) | ((pl.col("p_date") == pl.col("date"))
                                                            & (pl.col("p_event") < pl.col("event")))
            prior = pairs.filter(before & b.win("p_date", "date")).group_by("subject", "event").agg(
                pl.len().alias("prior"))
            d = d.join(prior, on=["subject", "event"], how="left").with_columns(
                ordinal=pl.col("prior").fill_null(0) + 1).drop("prior")
        else:
            d = d.with_columns(ordinal=pl.lit(1))
        return d

    def rounds(self, frame: Any):
        """The rounds of a chained decision over ``frame`` (sorted by subject, date, id): for round
        ``k``, (rows that are some subject's ``k``-th, and index pairs (row, earlier row of the same
        subject inside the window ending at the row's date)). A row's decision reads only the
        earlier rows' decisions, which earlier rounds made."""
        pl, b = self.pl, self.b
        if frame.height == 0:
            return
        i = pl.int_range(pl.len())
        start = pl.when(pl.col("subject") != pl.col("subject").shift(1).fill_null("")).then(i).forward_fill()
        f = frame.select("subject", "date").with_columns(i=i, rank=i - start)  # sorted by subject
        rank = f["rank"].to_numpy()
        pairs = f.join(f.select("subject", pl.col("date").alias("p_date"), pl.col("i").alias("j"),
                                pl.col("rank").alias("p_rank")), on="subject").filter(
            (pl.col("p_rank") < pl.col("rank")) & b.win("p_date", "date"))
        inner, outer = pairs["i"].to_numpy(), pairs["j"].to_numpy()
        by_rank = rank[inner]
        for k in range(int(rank.max()) + 1):
            mask = by_rank == k
            yield np.flatnonzero(rank == k), inner[mask], outer[mask]

    def uses(self, record: str, field: str) -> bool:
        """Whether a repair rule reads ``record.field`` (so the backend computes it only when needed)."""
        texts = [c.expr.text for c in self.c.repair_conditions]
        texts += [self.c.exprs[k].text for k in ("repair.ratio.value", "repair.limit.allowed_when")]
        return any(f"{record}.{field}" in t for t in texts)

    # -- repairs ---------------------------------------------------------------------------------

    def repairs(self, r: Any, deductions: Any, filings: Any) -> Any:
        """第十四条、第十五条: the deduction repaired, whether it still counts and was not repaired
        already, eligibility, the per-period limit — the last three in rounds (each operator's
        k-th repair in round k) — then the ratio by the ordinal."""
        pl, b, m = self.pl, self.b, self.m
        cite = self.c.cites.get
        r = r.join(self.t.heads(), on="of", how="left")
        self.reject(r.filter(pl.col("t_kind").is_null()), "QR607", pl.format("repair of unknown deduction '{}'",
                                                                             pl.col("of")), cite("repairs"))
        self.reject(r.filter(pl.col("t_kind").is_not_null() & (pl.col("t_kind") != "deduction")), "QR607",
                    pl.format("repair of '{}' is not a deduction", pl.col("of")), cite("repairs"))
        r = r.filter(pl.col("t_kind") == "deduction")
        self.reject(r.filter(pl.col("t_date") > pl.col("date")), "QR607",
                    pl.format("repair dated {}, before its deduction ({})", pl.col("date"), pl.col("t_date")),
                    cite("repair_date"))
        r = r.filter(pl.col("t_date") <= pl.col("date")).with_columns(
            wanted=pl.col("subjects").fill_null([]).list.len() > 0)
        entries = deductions.select(pl.col("event").alias("of"), pl.col("subject").alias("sid"),
                                    pl.col("date").alias("d_date"), "item", "points", "intentional", "major", "ordinal")
        pairs = r.select("id", "kind", "of", "date", "rectified", "wanted").join(entries, on="of")
        named = r.filter(pl.col("wanted")).select("id", "kind", "of", "subjects").explode("subjects").rename(
            {"subjects": "sid"})
        self.reject(named.join(pairs, on=["id", "sid"], how="anti"), "QR607",
                    pl.format("deduction '{}' has no entry for subject '{}'", pl.col("of"), pl.col("sid")),
                    cite("repairs"), pl.col("sid"))
        pairs = pl.concat([pairs.filter(~pl.col("wanted")), pairs.join(named.select("id", "sid").unique(),
                                                                         on=["id", "sid"], how="semi")])
        self.reject(r.filter(~pl.col("wanted")).join(pairs, on="id", how="anti"), "QR607",
                    pl.format("deduction '{}' did not count for any subject", pl.col("of")), cite("repairs"))
        pairs = pairs.rename({"sid": "subject"})
        # Brief §3, Art 15: only while the deduction counts on the repair's date.
        inside = b.win("d_date", "date")
        self.reject(pairs.filter(~inside), "QR607",
                    pl.format("deduction '{}' ({}) is outside the window ending on the repair's date {}: it no "
                              "longer counts, nothing to repair（扣分已超出统计周期）", pl.col("of"), pl.col("d_date"),
                              pl.col("date")), m.window.cite, pl.col("subject"))
        pairs = self.operator_facts(pairs.filter(inside), filings, "date").with_columns(
            rectified=pl.col("rectified").fill_null(False))
        cols = {("deduction", "date"): pl.col("d_date"), ("deduction", "item"): pl.col("item"),
                ("deduction", "points"): pl.col("points"), ("deduction", "intentional"): pl.col("intentional"),
                ("deduction", "major_impact"): pl.col("major"),
                ("deduction", "ordinal"): pl.col("ordinal") * b.unit,
                ("repair", "date"): pl.col("date"), ("repair", "rectified"): pl.col("rectified"),
                ("operator", "filed"): pl.col("operator.filed"), ("operator", "concealed"): pl.col("operator.concealed")}
        conds = self.c.repair_conditions
        pairs = pairs.sort("subject", "date", "id")
        if conds:  # 第十四条: which conditions fail, and the reason the engine gives for them
            fails = [~b.value(pairs, c.expr, "repair.conditions.when", cols, f"repair.conditions[{i}]")
                     for i, c in enumerate(conds)]
            pairs = pairs.with_columns([f.alias(f"__f{i}") for i, f in enumerate(fails)])
            f = [pl.col(f"__f{i}") for i in range(len(conds))]
            n = pl.sum_horizontal([x.cast(pl.Int32) for x in f])
            one = pl.concat_str([pl.when(x).then(pl.lit(c.reason)) for x, c in zip(f, conds)], ignore_nulls=True)
            many = pl.concat_str([pl.when(x).then(pl.lit(f"{c.reason}（{c.cite}）" if c.cite else c.reason))
                                  for x, c in zip(f, conds)], separator="；", ignore_nulls=True)
            first_cite = pl.coalesce([pl.when(x).then(pl.lit(c.cite, dtype=pl.Utf8)) for x, c in zip(f, conds)])
            pairs = pairs.with_columns(
                __eligible=n == 0,
                __reason=pl.format("not eligible for repair（不予修复）: {}", pl.when(n == 1).then(one).otherwise(many)),
                __cite=pl.when(n == 1).then(first_cite)).drop([f"__f{i}" for i in range(len(conds))])
        else:
            pairs = pairs.with_columns(__eligible=pl.lit(True), __reason=pl.lit(None, dtype=pl.Utf8),
                                       __cite=pl.lit(None, dtype=pl.Utf8))
        # In rounds: once repaired (brief §3, Art 15), then eligibility, then 第十五条第（二）项's limit.
        lim = m.repair.limit
        limit = self.c.exprs["repair.limit.allowed_when"]
        key = pairs.select(pl.struct("subject", "of").rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
        eligible = pairs["__eligible"].to_numpy()
        status = np.zeros(pairs.height, dtype=np.int8)  # 0 repaired, 1 already repaired, 2 not eligible, 3 limit
        accepted = np.zeros(pairs.height, dtype=bool)
        prior = np.zeros(pairs.height, dtype=np.int64)
        repaired_by = np.full(int(key.max()) + 1 if pairs.height else 0, -1, dtype=np.int64)
        by = np.full(pairs.height, -1, dtype=np.int64)
        for rows, inner, outer in self.rounds(pairs):
            by[rows] = repaired_by[key[rows]]
            already = by[rows] >= 0
            status[rows[already]] = 1
            status[rows[~already & ~eligible[rows]]] = 2
            rows = rows[~already & eligible[rows]]
            np.add.at(prior, inner, accepted[outer])
            if rows.size == 0:
                continue
            cur = pairs[rows].with_columns(prior=pl.Series(prior[rows]))
            ok = b.value(cur, limit, "repair.limit.allowed_when",
                         {**cols, ("prior_repairs",): pl.col("prior") * b.unit}, "repair.limit.allowed_when").to_numpy()
            status[rows[~ok]] = 3
            accepted[rows[ok]] = True
            repaired_by[key[rows[ok]]] = rows[ok]
        ids = pairs["id"]
        pairs = pairs.with_columns(__status=pl.Series(status), prior=pl.Series(prior),
                                   __by=ids.gather(np.maximum(by, 0)) if pairs.height else ids)
        self.reject(pairs.filter(pl.col("__status") == 1), "QR607",
                    pl.format("deduction '{}' was already repaired for '{}' by {}: a deduction is repaired once"
                              "（同一扣分只修复一次）", pl.col("of"), pl.col("subject"), pl.col("__by")),
                    m.repair.ratio.cite, pl.col("subject"))
        self.reject(pairs.filter(pl.col("__status") == 2), "QR608", pl.col("__reason"), pl.col("__cite"),
                    pl.col("subject"))
        self.reject(pairs.filter(pl.col("__status") == 3), "QR609",
                    pl.format(f"{lim.reason}: operator '{{}}' already has {{}} repairs in the period ending {{}}",
                              pl.col("subject"), pl.col("prior"), pl.col("date")), lim.cite, pl.col("subject"))
        done = pairs.filter(pl.Series(accepted))
        ratio = b.value(done, self.c.exprs["repair.ratio.value"], "repair.ratio.value", cols, "repair.ratio.value")
        done = done.with_columns(ratio=ratio)
        product = pl.col("ratio") * pl.col("points").abs()
        if done.height and done.select(((product % b.unit) != 0).any()).item():
            raise Fallback([f"repair.ratio.value: a repair's points need more than {b.scale} decimal places"])
        self.counted.append(done["id"])
        lapse = bool(m.repair.lapses_with_deduction.value)
        return done.select("subject", kind=pl.lit("repair"), date=pl.col("date"),
                           anchor=pl.col("d_date") if lapse else pl.col("date"), points=product // b.unit)

    # -- rewards ---------------------------------------------------------------------------------

    def rewards(self, w: Any, filings: Any) -> Any:
        """第十六条至第十八条: rule and subject checks, the rule's condition, then the cap in rounds
        (each subject's k-th reward in round k, looking back over its window)."""
        from .errors import did_you_mean

        pl, b, m = self.pl, self.b, self.m
        rules = m.rewards.rules
        table = pl.DataFrame({"rule": list(rules), "rule_subject": [r.subject for r in rules.values()],
                              "rule_points": [to_scaled(r.points, b.scale) for r in rules.values()],
                              "rule_reason": [r.reason for r in rules.values()],
                              "rule_cite": [r.cite for r in rules.values()]},
                             schema={"rule": pl.Utf8, "rule_subject": pl.Utf8, "rule_points": pl.Int64,
                                     "rule_reason": pl.Utf8, "rule_cite": pl.Utf8})
        w = w.join(table, on="rule", how="left")

        def unknown_rule(row: dict) -> tuple[str, str]:
            hint = did_you_mean(str(row["rule"]), rules)
            return f"unknown reward rule '{row['rule']}'" + (f" ({hint})" if hint else ""), self.c.cites.get("rewards")
        self.reject_rows(w.filter(pl.col("rule_subject").is_null()), "QR610", unknown_rule)
        w = self.check_subjects(w.filter(pl.col("rule_subject").is_not_null()).with_columns(sid=pl.col("subject")))
        role = pl.when(pl.col("rule_subject").is_in(["producer", "seller"])).then(pl.col("rule_subject"))
        wrong = (pl.col("rule_subject") == "product") | (role.is_not_null() & ~pl.col("roles").list.contains(role))
        self.reject(w.filter(wrong), "QR611",
                    pl.format("reward rule {} applies to a {}; '{}' is a operator with roles [{}]", pl.col("rule"),
                              pl.col("rule_subject"), pl.col("sid"), pl.col("roles").list.sort().list.join(", ")),
                    pl.col("rule_cite"), pl.col("sid"))
        w = w.filter(~wrong)
        w = self.operator_facts(w, filings, "date").with_columns(
            has_notice=pl.col("notice_date").is_not_null() & pl.col("action_date").is_not_null(),
            notice_date=pl.coalesce("notice_date", "date"), action_date=pl.coalesce("action_date", "date"),
            reported=pl.col("reported").fill_null(False),
            recalled_before_defect=pl.col("recalled_before_defect").fill_null(False))
        cols = {("reward", f): pl.col(f) for f in ("date", "rule", "reported", "recalled_before_defect", "has_notice",
                                                   "notice_date", "action_date")}
        cols.update({("reward", "points"): pl.col("rule_points"), ("operator", "filed"): pl.col("operator.filed"),
                     ("operator", "concealed"): pl.col("operator.concealed"), ("subject", "kind"): pl.lit("operator")})
        ok, reason, cite = pl.lit(False), pl.lit(None, dtype=pl.Utf8), pl.lit(None, dtype=pl.Utf8)
        for code in w["rule"].unique().to_list():
            # 第十六条、第十七条: each failing condition named (one: its reason and article; several: all, listed)
            rule, conds = m.rewards.rules[code], self.c.reward_conditions.get(code, [])
            fails = []
            for c in conds:
                got = b.expr(c.expr, "rewards.rules.when", cols)
                fails.append(~(got[0] if isinstance(got, tuple) else got))
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
        w = w.with_columns(__ok=ok, __reason=reason, __cite=cite)
        self.reject(w.filter(~pl.col("__ok")), "QR611", pl.format("not eligible: {}", pl.col("__reason")),
                    pl.col("__cite"), pl.col("sid"))
        w = w.filter(pl.col("__ok"))
        self.counted.append(w["id"])
        cap = self.c.exprs["rewards.cap.counted"]
        w = w.sort("subject", "date", "id")
        points = np.zeros(w.height, dtype=np.int64)
        granted = np.zeros(w.height, dtype=np.int64)
        for rows, inner, outer in self.rounds(w):
            np.add.at(granted, inner, points[outer])
            cur = w[rows].with_columns(granted=pl.Series(granted[rows]))
            counted = b.value(cur, cap, "rewards.cap.counted", {**cols, ("granted",): pl.col("granted")},
                              "rewards.cap.counted").to_numpy()
            points[rows] = np.maximum(np.minimum(counted, cur["rule_points"].to_numpy()), 0)
        done = w.with_columns(points=pl.Series(points))
        return done.select("subject", kind=pl.lit("reward"), date=pl.col("date"), anchor=pl.col("date"),
                           points=pl.col("points"))

    # -- scores, classes, adjustments, rows ----------------------------------------------------

    def classify(self, score: Any) -> Any:
        """第二十六条第一款: the first class whose rule holds, as one expression over a scaled score."""
        pl, b = self.pl, self.b
        out = pl.lit("O")
        for name in reversed(self.c.class_order):
            test = b.expr(self.c.class_exprs[name], "classes.when", {("score",): score})
            out = pl.when(test).then(pl.lit(name)).otherwise(out)
        return out

    def scores_at(self, entries: Any, dates: list[dt.date]) -> Any:
        """(subject, at, points summed, live deductions, counted entries) at each date, per subject."""
        pl, b = self.pl, self.b
        at = pl.DataFrame({"at": dates}, schema={"at": pl.Date})
        live = entries.filter(pl.col("counted")).join(at, how="cross").filter(
            (pl.col("date") <= pl.col("at")) & b.win("anchor", "at"))
        return live.group_by("subject", "at").agg(
            pl.col("points").sum().alias("total"),
            (pl.col("kind") == "deduction").sum().alias("live_deductions"),
            (pl.col("points") != 0).sum().alias("entries_counted"),
            ((pl.col("points") != 0) & (pl.col("kind") == "deduction")).sum().alias("deductions"))

    def results(self, entries: Any) -> dict:
        pl, b, c = self.pl, self.b, self.c
        start = to_scaled(Decimal(c.params["start_score"]), b.scale)
        stays = bool(c.params.get("stays_scored", True))
        S = self.S
        subj = S.filter(pl.col("exc_code").is_null()).select("id", "kind", "name", "pos").rename({"id": "subject"})
        first = entries.filter(pl.col("counted")).group_by("subject").agg(pl.col("date").min().alias("first"))
        subj = subj.join(first, on="subject", how="left")
        now = self.scores_at(entries, [self.as_of]).drop("at")
        subj = subj.join(now, on="subject", how="left")
        scored = (pl.col("first").is_not_null() & (pl.col("first") <= self.as_of)) if stays \
            else pl.col("total").is_not_null()
        subj = subj.with_columns(scored=scored).with_columns(
            score_int=pl.when(pl.col("scored")).then(pl.col("total").fill_null(0) + start))
        subj = subj.with_columns(live_class=pl.when(pl.col("scored")).then(self.classify(pl.col("score_int")))
                                 .otherwise(pl.lit("O")))
        subj = self.adjustments(subj, entries, start, stays)
        if not c.params.get("new_subject_waits", True):
            subj = subj.with_columns(official_class=pl.when((pl.col("official_class") == "O") & pl.col("scored"))
                                     .then(pl.col("live_class")).otherwise(pl.col("official_class")))
        subj = subj.with_columns(live_deductions=pl.col("live_deductions").fill_null(0))
        flags = []
        for name, expr in c.flag_whens.items():
            got = b.expr(expr, "information_use.when", b._flag_columns())
            flags.append(pl.when(got[0] if isinstance(got, tuple) else got).then(pl.lit(name)))
        subj = subj.with_columns(flags=pl.concat_str(flags, separator=";", ignore_nulls=True).fill_null("")
                                 if flags else pl.lit(""))
        rows = self.rows(subj)
        rej = pl.concat(self.rej) if self.rej else pl.DataFrame(schema={k: pl.Utf8 for k in _REJ})
        counted = pl.concat([s.cast(pl.Utf8) for s in self.counted]).unique() if self.counted \
            else pl.Series([], dtype=pl.Utf8)
        rejected_ids = rej["event"].unique()
        n_rejected = int((~rejected_ids.is_in(counted.implode())).sum())
        excluded = S.filter(pl.col("exc_code").is_not_null()).select("id", "exc_reason", "exc_cite", "exc_code")
        by = lambda col: dict(sorted((k, int(v)) for k, v in rows[col].value_counts().iter_rows()))  # noqa: E731
        return {"rows": rows, "rejections": rej, "excluded": excluded, "events": self.t.events.height,
                "events_counted": counted.len(), "events_rejected": n_rejected,
                "rejected_by_code": dict(sorted((k, int(v)) for k, v in rej["code"].value_counts().iter_rows())),
                "by_official_class": by("official_class"), "by_live_class": by("live_class")}

    def adjustments(self, subj: Any, entries: Any, start: int, stays: bool) -> Any:
        """第二十六条第二款: the half-year classes in date order with the lock, one round per date."""
        pl, c, m = self.pl, self.c, self.m
        earliest = subj["first"].min()
        dates = []
        if earliest is not None and c.adjustment_dates:
            for year in range(earliest.year, self.as_of.year + 1):
                for month, day in c.adjustment_dates:
                    t = dt.date(year, month, day)
                    if earliest < t <= self.as_of:
                        dates.append((t, c.score_date(t)))
        lock = m.adjustment.lock
        lock_class = lock.class_ if lock else None
        st = subj.select("subject", "first").with_columns(
            official=pl.lit("O"), since=pl.lit(None, dtype=pl.Date), until=pl.lit(None, dtype=pl.Date))
        scores = self.scores_at(entries, sorted({sd for _, sd in dates})).select("subject", "at", "total") \
            if dates else None
        for t, sd in dates:
            cur = st.join(scores.filter(pl.col("at") == sd).drop("at"), on="subject", how="left")
            scored = (pl.col("first") <= sd) if stays else pl.col("total").is_not_null()
            computed = pl.when(scored).then(self.classify(pl.col("total").fill_null(0) + start)).otherwise(pl.lit("O"))
            applies = pl.col("first").is_not_null() & (pl.col("first") < t)
            cur = cur.with_columns(computed=computed, locked=pl.col("until").is_not_null() & (pl.lit(t) < pl.col("until")))
            official = pl.when(pl.col("locked")).then(pl.lit(lock_class)).otherwise(pl.col("computed"))
            updates = [pl.when(applies).then(official).otherwise(pl.col("official")).alias("official")]
            if lock_class is not None and c.lock_duration is not None:
                starts = applies & ~pl.col("locked") & (pl.col("computed") == lock_class)
                until = self.b.pc.shift(pl.lit(t), c.lock_duration, 1)
                updates += [pl.when(starts).then(pl.lit(t)).otherwise(pl.col("since")).alias("since"),
                            pl.when(starts).then(until).otherwise(pl.col("until")).alias("until")]
            st = cur.with_columns(updates).select("subject", "first", "official", "since", "until")
        active = pl.col("until").is_not_null() & (pl.col("official") == (lock_class or "")) \
            & (pl.lit(self.as_of) < pl.col("until"))
        st = st.select("subject", pl.col("official").alias("official_class"),
                       lock_class=pl.when(active).then(pl.lit(lock_class)),
                       lock_since=pl.when(active).then(pl.col("since")),
                       lock_until=pl.when(active).then(pl.col("until")))
        return subj.join(st, on="subject", how="left")

    def rows(self, subj: Any) -> Any:
        """The flat output columns of :func:`qrules.batch.output_row`, in the subjects' input order."""
        from .engine import class_measures

        pl, b, c = self.pl, self.b, self.c
        classes = list(c.model.classes) + ["O"]
        ms = [class_measures(c, k) for k in classes]
        measures = pl.DataFrame({"official_class": classes, "supervision": [x.mode for x in ms],
                                 "notice": [x.notice for x in ms], "checks_per_year": [x.checks_per_year for x in ms]},
                                schema={"official_class": pl.Utf8, "supervision": pl.Utf8, "notice": pl.Utf8,
                                        "checks_per_year": pl.Int64}).unique("official_class", keep="first")
        v = pl.col("score_int")
        frac = (v.abs() % b.unit).cast(pl.Utf8).str.zfill(b.scale).str.strip_chars_end("0")
        text = pl.concat_str([pl.when(v < 0).then(pl.lit("-")).otherwise(pl.lit("")),
                              (v.abs() // b.unit).cast(pl.Utf8),
                              pl.when(frac != "").then(pl.lit(".") + frac).otherwise(pl.lit(""))])
        out = subj.join(measures, on="official_class", how="left").sort("pos")
        return out.select(pl.col("subject").alias("id"), "kind", "name", "scored",
                          pl.when(v.is_not_null()).then(text).alias("score"), "live_class", "official_class",
                          "lock_class", pl.col("lock_since").cast(pl.Utf8), pl.col("lock_until").cast(pl.Utf8),
                          pl.lit(None, dtype=pl.Utf8).alias("determined_by"), "supervision", "notice",
                          "checks_per_year", pl.col("entries_counted").fill_null(0).cast(pl.Int64),
                          pl.col("deductions").fill_null(0).cast(pl.Int64), "flags")
