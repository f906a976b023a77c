"""Repairs for the columnar backend (第十四条、第十五条): the deduction repaired, whether it counts and
still counts, then in rounds (each operator's k-th repair in round k) eligibility, the limit per
period and the ratio.

Pipeline position: steps of :class:`qrules.columnar.run.Run` (a mixin).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import MEMORY, Fallback, always_true


class RepairSteps:
    """The repair steps of a :class:`~qrules.columnar.run.Run`: repairs decided in rounds, one per operator's repair."""

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
        if not conds and always_true(limit) and not self.c.reads(self.c.exprs["repair.ratio.value"]) & {
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
