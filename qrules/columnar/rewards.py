"""Rewards for the columnar backend (第十六条至第十八条): the rules' conditions with the subject's
spot-check record and aggregations in the window, then the cap on a subject and on a producer's
line (第十条、第十八条) in rounds.

Pipeline position: steps of :class:`qrules.columnar.run.Run` (a mixin).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import CAP_MEMO, dense_codes, distinct_ints, hashable
from .polarsexpr import to_scaled


class RewardSteps:
    """The reward steps of a :class:`~qrules.columnar.run.Run`: conditions, then the caps in rounds."""

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
        from ..errors import did_you_mean_en

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
            code = dense_codes(narrow[0].to_numpy().astype(np.int64))[1]
        else:
            code = pl.DataFrame(narrow).select(pl.struct(pl.all()).rank("dense")).to_series().to_numpy().astype(np.int64)
        # each code's first row, and its values there as the memo's key holds them
        codes = distinct_ints(code)  # (marked in a table, and the first rows by ``minimum.at``: no sort)
        first = np.full(int(codes[-1]) + 1 if codes.size else 0, code.size, dtype=np.int64)
        np.minimum.at(first, code, np.arange(code.size, dtype=np.int64))
        first = first[codes]
        row_of = dict(zip(codes.tolist(), first.tolist()))
        values = dict(zip(codes.tolist(), zip(*[[hashable(v) for v in s.gather(first).to_list()] for s in narrow])
                          if narrow else [()] * len(codes)))
        names = tuple(s.name for s in narrow)
        memo = self.b.cap_memo
        if len(memo) > CAP_MEMO:
            memo.clear()
        for rows, inner, outer in rounds:
            np.add.at(granted, inner, points[outer])
            g = granted[rows]
            low, span = (int(g.min()), int(g.max()) - int(g.min()) + 1) if rows.size else (0, 1)
            if span * (int(code.max()) + 1) >= 1 << 62:  # too far apart for one integer key: pairs
                pairs = np.unique(np.stack([code[rows], g], axis=1), axis=0, return_inverse=True)
                keys, back = pairs[0], pairs[1]
            else:  # (code, granted) as one integer
                one, back = dense_codes(code[rows] * span + (g - low))  # (a table, not a sort: few values)
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
