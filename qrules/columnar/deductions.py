"""Deductions for the columnar backend: items, links and the checks of the subjects named
(第十一条至第十三条), the heaviest value once per event (第九条第一款), the 180-day dedup of
spot-check failures per product line (第九条第二款) and each deduction's ordinal (第十五条第（一）项).

Pipeline position: steps of :class:`qrules.columnar.run.Run` (a mixin: the methods read the run's
tables, ruleset and refusals through ``self``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import MEMORY
from .polarsexpr import to_scaled


class DeductionSteps:
    """The deduction steps of a :class:`~qrules.columnar.run.Run`: entries made, deduplicated and numbered."""

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
        from ..errors import did_you_mean_en

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
        from .window import pairs_in_window

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
        ``who`` inside the window ending on its date (:mod:`qrules.columnar.window`), or ``None``
        when the window rule is not one run of dates (the caller then pairs rows)."""
        pl = self.pl
        groups = frame.select((pl.col(who) != pl.col(who).shift(1)).fill_null(True).cum_sum()).to_series().to_numpy()
        return self.earliest(groups, frame["date"])

    def earliest(self, groups: np.ndarray, dates: Any) -> Any:
        """:meth:`earliest_in_window` of rows given by their group numbers (sorted) and ``dates`` (a
        Series, sorted within each group)."""
        from .window import earliest_in_window, is_interval, window_runs

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
