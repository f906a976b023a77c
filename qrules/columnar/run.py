"""One evaluation of the columnar backend over a history's tables: the subjects' checks, the
events read kind by kind, corrections, filings and spot checks, then the steps (deductions,
repairs, rewards, results) in order, some side by side in two threads.

Pipeline position: :meth:`qrules.columnar.backend.ColumnarBackend.evaluate` makes a :class:`Run`
per evaluation; the steps are the mixins of :mod:`.deductions`, :mod:`.repairs`, :mod:`.rewards`
and :mod:`.results`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import common
from .common import MEMORY, distinct_days
from .deductions import DeductionSteps
from .keys import hash_rows
from .polarsexpr import Unsupported
from .repairs import RepairSteps
from .results import ResultSteps
from .rewards import RewardSteps
from .tables import Tables


#: Event kinds that are facts for procedures only (counted as facts, never scored).
_PROCEDURE = ("notice_sent", "objection_filed", "objection_accepted", "objection_refused", "objection_answered",
              "repair_applied", "error_reported")


class Run(DeductionSteps, RepairSteps, RewardSteps, ResultSteps):
    """One evaluation over the tables; refused rows are collected as frames of :data:`REJ` columns.
    The steps are methods of the mixins (one module per step), reading this run's state through ``self``."""

    def __init__(self, b: Any, t: Tables, as_of: dt.date):  # b: the ColumnarBackend
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
        from ..engine import division_prefix

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
        the subjects' ids made once per run (:func:`qrules.columnar.keys.hash_rows`)."""
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
        got = self.t.memo(("known", self.b), make) if self.t.events.height <= common.SPLIT_ROWS else make()
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
        from ..errors import did_you_mean_en

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
        if t.events.height <= common.SPLIT_ROWS:  # the subjects' checks read the ruleset and the subjects alone
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
        if t.events.height <= common.SPLIT_ROWS:  # tables evaluated more than once (versions, as-of dates): rows once
            t.subject_rows()
        split = not (corrected or (t.events.height > common.SPLIT_ROWS and "_split" not in t.__dict__))
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
            days = t.memo("decision days", lambda: distinct_days(pl, [t.kind(k)["date"] for k in decided]))
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
        """The live events as corrected (:mod:`qrules.columnar.corrections`); its refusals recorded."""
        from .corrections import correct

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

    def lines(self) -> Any:
        """(product, producer) for every scored product of a scored operator (第十条: a producer's lines),
        sorted by producer and product id, with the rows of both in the subjects (``product_pos``,
        ``producer_pos``) and the line's own row ``li`` (what :mod:`qrules.columnar.accounts` indexes)."""
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
        self._lines = self.t.memo(("lines", self.b), make) if self.t.events.height <= common.SPLIT_ROWS else make()
        return self._lines
