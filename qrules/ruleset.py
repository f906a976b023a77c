"""Compile a resolved ruleset: parameters evaluated, every expression checked and compiled.

Pipeline position: ``loader`` (resolved, validated data) -> **ruleset** -> ``engine``.
Every expression of the ruleset is parsed, type-checked against the scope in which the
engine will evaluate it (the record types below are the contract between the ruleset
and the engine, listed in docs/reference/scopes.md), and compiled to a closure once.
Static checks a reviewer can trust run here too (``audit``): the class thresholds
partition the score line, citations exist, references resolve, the provisional count.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import Diagnostic, Diagnostics, QrulesError, SourceMap
from .language import CompiledExpr, compile_expression, parse_literal_value
from .loader import ResolvedRuleset, load_ruleset
from .language.runtime import Duration
from .language.types import ANY, BOOL, DATE, DURATION, NUMBER, STRING, ListType, RecordType, Type
from .workdays import WorkdayCalendar

CODES = {
    "QR401": "the class thresholds leave a gap or overlap on the score line",
    "QR402": "a rule has no article citation",
    "QR403": "a reference (item, class, parameter) does not exist",
    "QR404": "in_force dates are inconsistent",
    "QR405": "a parameter value has the wrong type",
    "QR406": "provisional values are present (score table not yet official)",
    "QR407": "the class thresholds cannot be proven to partition the score line",
    "QR408": "an adjustment date is not a day of the year (MM-DD)",
    "QR409": "a reward condition asks for more clean years than the window lets it see (never holds)",
}

# Record types visible to expressions: the contract between ruleset authors and the engine.
EVENT = RecordType("event", {"date": DATE, "item": STRING, "intentional": BOOL, "major_impact": BOOL})
ITEM = RecordType("item", {"points": NUMBER, "intentional_points": NUMBER, "code": STRING})
DATED = RecordType("failure", {"date": DATE})
DEDUCTION = RecordType("deduction", {"date": DATE, "item": STRING, "points": NUMBER, "intentional": BOOL,
                                     "major_impact": BOOL, "ordinal": NUMBER})
OPERATOR = RecordType("operator", {"filed": BOOL, "concealed": BOOL, "roles": ListType(STRING)})
REWARD = RecordType("reward", {"date": DATE, "rule": STRING, "points": NUMBER, "reported": BOOL,
                               "recalled_before_defect": BOOL, "has_notice": BOOL, "notice_date": DATE,
                               "action_date": DATE})
# The subject an item, a reward or a cap is decided for (kind product|operator, category, roles...).
SUBJECT = RecordType("subject", {"kind": STRING, "category": STRING, "roles": ListType(STRING), "brand": STRING,
                                 "nice_class": NUMBER, "region": STRING, "clean_years": NUMBER, "failures": NUMBER,
                                 "passes": NUMBER})
# An item's condition sees the subject as recorded (no spot-check record: that is ``spot_checks``).
ITEM_SUBJECT = RecordType("item_subject", {"kind": STRING, "category": STRING, "roles": ListType(STRING),
                                           "brand": STRING, "nice_class": NUMBER, "region": STRING})

# What is in the window ending on an event's date, as typed collections for aggregations
# (``count(c for c in spot_checks if c.failed)``): the subject's own records; a producer's
# spot checks include its products'.
SPOT_CHECK = RecordType("spot_check", {"date": DATE, "failed": BOOL, "passed": BOOL})
REPAIR_ENTRY = RecordType("repair_entry", {"date": DATE, "item": STRING, "points": NUMBER})
REWARD_ENTRY = RecordType("reward_entry", {"date": DATE, "rule": STRING, "points": NUMBER})
COLLECTIONS: dict[str, Type] = {"spot_checks": ListType(SPOT_CHECK), "deductions": ListType(DEDUCTION),
                                "repairs": ListType(REPAIR_ENTRY), "rewards": ListType(REWARD_ENTRY)}
# An entry as the window rule sees it: which item (or reward rule), what kind of entry, whose.
WINDOW_ENTRY = RecordType("entry", {"date": DATE, "item": STRING, "kind": STRING, "subject_kind": STRING,
                                    "category": STRING})
# The repair being decided: its ordinal among the operator's repairs in the window (this one included).
REPAIR_IN_WINDOW = RecordType("repair", {"date": DATE, "rectified": BOOL, "ordinal": NUMBER})

SCOPES: dict[str, dict[str, Type]] = {
    "window.counts": {"as_of": DATE, "entry": WINDOW_ENTRY},
    "items.when": {"subject": ITEM_SUBJECT, "event": EVENT, "as_of": DATE, "spot_checks": ListType(SPOT_CHECK)},
    "dedup.spot_check.deduplicated_when": {"failure": DATED, "last": RecordType("last", {"date": DATE})},
    "links.when": {"event": EVENT},
    "intentional.points": {"item": ITEM, "event": EVENT},
    "repair.conditions.when": {"deduction": DEDUCTION, "repair": REPAIR_IN_WINDOW, "operator": OPERATOR},
    "repair.ratio.value": {"deduction": DEDUCTION, "repair": REPAIR_IN_WINDOW, "operator": OPERATOR,
                           "prior_repairs": NUMBER},
    "repair.limit.allowed_when": {"deduction": DEDUCTION, "repair": REPAIR_IN_WINDOW, "operator": OPERATOR,
                                  "prior_repairs": NUMBER},
    "rewards.rules.when": {"reward": REWARD, "subject": SUBJECT, "operator": OPERATOR, "as_of": DATE,
                           **COLLECTIONS},
    "rewards.cap.counted": {"reward": REWARD, "granted": NUMBER, "subject": SUBJECT},
    "classes.when": {"score": NUMBER},
    "adjustment.score_as_of": {"adjustment": DATE},
    "adjustment.lock.duration": {},
    "information_use.when": {"class": STRING, "kind": STRING, "deductions": NUMBER, "scored": BOOL,
                             "score": NUMBER},
    "deadlines.within": {},
}

PARAMETER_TYPES: dict[str, Type] = {
    "start_score": NUMBER, "window": DURATION, "spot_check_dedup": DURATION, "max_repairs": NUMBER,
    "reward_cap": NUMBER, "stays_scored": BOOL, "new_subject_waits": BOOL,
}


_MISSING = object()
#: Numeric parameters are counts and points on a 12-point scale; far beyond is a typo.
MAX_PARAMETER = 1_000_000


@dataclass(frozen=True)
class CompiledCondition:
    expr: CompiledExpr
    reason: str
    cite: str | None


@dataclass
class CompiledRuleset:
    """Everything the engine needs, compiled once; evaluate many histories with it."""

    resolved: ResolvedRuleset
    params: dict[str, Any]
    exprs: dict[str, CompiledExpr]              # path-like key -> compiled expression
    class_order: list[str]                      # classes with a 'when', in file order
    class_exprs: dict[str, CompiledExpr]
    link_whens: dict[tuple[str, int], CompiledExpr | None]
    item_whens: dict[str, CompiledExpr]
    repair_conditions: list[CompiledCondition]
    reward_whens: dict[str, CompiledExpr]
    flag_whens: dict[str, CompiledExpr]
    lock_duration: Duration | None
    deadline_durations: dict[str, Duration]
    adjustment_dates: list[tuple[int, int]]
    calendar: WorkdayCalendar
    diagnostics: list[Diagnostic] = field(default_factory=list)  # warnings and infos from check
    reward_conditions: dict[str, list[CompiledCondition]] = field(default_factory=dict)  # rule -> conditions
    cites: dict[str, str | None] = field(default_factory=dict)  # what the engine cites, by role
    timeline: Any = None  # qrules.versions.Timeline: the versions by date (set by qrules.versioned.resolve)
    _window_cache: dict = field(default_factory=dict, repr=False)

    def in_window(self, entry_date: dt.date, as_of: dt.date, entry: tuple = ()) -> bool:
        """The ruleset's window rule (第七条) for one entry, memoised: dates repeat a lot.

        ``entry`` is (item, kind, subject_kind, category), read only when the rule looks at more
        than the date (a window per group of items).
        """
        if not self.window_by_entry:
            entry = ()
        key = (entry_date, as_of, entry)
        hit = self._window_cache.get(key)
        if hit is None:
            if len(self._window_cache) > 2_000_000:
                self._window_cache.clear()
            item, kind, subject_kind, category = entry or ("", "", "", "")
            record = {"date": entry_date, "item": item, "kind": kind, "subject_kind": subject_kind,
                      "category": category}
            hit = self._window_cache[key] = bool(self.exprs["window.counts"]({"as_of": as_of, "entry": record}))
        return hit

    @property
    def window_by_entry(self) -> bool:
        """Whether the window rule reads an entry field other than its date (memoised)."""
        hit = self._window_cache.get("window_by_entry")
        if hit is None:
            hit = self._window_cache["window_by_entry"] = "entry." in _fields_read(self.exprs["window.counts"])
        return hit

    def reads(self, expr: CompiledExpr) -> frozenset[str]:
        """The names (and ``name.field`` paths) ``expr`` reads: the engine builds only those records."""
        key = ("reads", id(expr))
        hit = self._window_cache.get(key)
        if hit is None:
            hit = self._window_cache[key] = _names_read(expr)
        return hit

    def memo(self, key: tuple, compute):
        """A rule's value for inputs already seen (the same item, date and flags recur across a
        corpus); ``compute`` runs only on a miss. Keys must cover everything the rule reads."""
        hit = self._window_cache.get(key, _MISSING)
        if hit is _MISSING:
            if len(self._window_cache) > 2_000_000:
                self._window_cache.clear()
            hit = self._window_cache[key] = compute()
        return hit

    def score_date(self, adjustment: dt.date) -> dt.date:
        """The date whose score sets the class at an adjustment (第二十六条第二款), memoised."""
        hit = self._window_cache.get(("adj", adjustment))
        if hit is None:
            hit = self._window_cache[("adj", adjustment)] = self.exprs["adjustment.score_as_of"](
                {"adjustment": adjustment})
        return hit

    def classify(self, score) -> str:
        """The first class whose condition holds for ``score``, else O (also for no score: unscored);
        memoised. The one implementation: the engine, ``diff``, ``impact`` and ``render`` use it."""
        if score is None:
            return "O"
        hit = self._window_cache.get(("cls", score))
        if hit is None:
            hit = next((name for name in self.class_order if self.class_exprs[name]({"score": score})), "O")
            self._window_cache[("cls", score)] = hit
        return hit

    @property
    def model(self):
        return self.resolved.model

    @property
    def id(self) -> str:
        return self.resolved.model.ruleset

    def provisional_count(self) -> int:
        m = self.model
        return (sum(1 for i in m.items.values() if i.provisional)
                + sum(1 for r in m.rewards.rules.values() if r.provisional)
                + sum(1 for p in m.parameters.values() if p.provisional))


def _names_read(expr: CompiledExpr) -> frozenset[str]:
    from .language import ast

    return ast.names_read(expr.node)


def _fields_read(expr: CompiledExpr) -> str:
    """The ``entry.`` fields a window rule reads besides ``entry.date``, as one string."""
    return " ".join(n for n in _names_read(expr) if n.startswith("entry.") and n != "entry.date")


def _smap(resolved: ResolvedRuleset, path: tuple) -> SourceMap:
    pos = resolved.pos(path)
    if pos is not None and pos.smap is not None:
        return pos.smap
    span = resolved.span(path)
    return SourceMap.at(span.file, span.line, span.col)


# The expressions written once in a fixed section: (path, which is also the scope key; type).
SINGLE_EXPRS: tuple[tuple[tuple[str, ...], Type], ...] = (
    (("window", "counts"), BOOL), (("dedup", "spot_check", "deduplicated_when"), BOOL),
    (("intentional", "points"), NUMBER), (("repair", "ratio", "value"), NUMBER),
    (("repair", "limit", "allowed_when"), BOOL), (("rewards", "cap", "counted"), NUMBER),
    (("adjustment", "score_as_of"), DATE))

# Expressions whose outcome is a decision: with probes, ``qrules test`` counts both outcomes.
CONDITIONS = frozenset({"window.counts", "items.when", "links.when", "dedup.spot_check.deduplicated_when",
                        "repair.conditions.when", "repair.limit.allowed_when", "rewards.rules.when"})


def _outcomes(expr: CompiledExpr, probes, where: tuple) -> CompiledExpr:
    """``expr`` recording whether it came out true or false (coverage mode only)."""
    keys = {True: (where, "true"), False: (where, "false")}
    for value, key in keys.items():
        probes.declare(key, "holds" if value else "does not hold")
    fn = expr.fn

    def probed(env):
        value = fn(env)
        probes.hit(keys[bool(value)])
        return value
    return CompiledExpr(expr.text, expr.type, expr.node, probed)


class _Compiler:
    def __init__(self, resolved: ResolvedRuleset, diags: Diagnostics, probes=None, broken=()):
        self.probes = probes
        self.r = resolved
        self.m = resolved.model
        self.diags = diags
        self.params: dict[str, Any] = {}
        # Parameters with errors (here, or refused by the schema): typed ANY so each is reported once.
        self.broken: dict[str, Type] = dict.fromkeys(broken, ANY)
        self.calendar = WorkdayCalendar()
        self.deadline_durations: dict[str, Duration] = {}

    def expr(self, path: tuple, text: str, scope_key: str, expected: Type | None) -> CompiledExpr | None:
        scope = {**self.broken, **SCOPES[scope_key]} if self.broken else SCOPES[scope_key]
        compiled = compile_expression(text, _smap(self.r, path), scope, self.diags, expected=expected,
                                      constants=self.params, calendar=self.calendar, probes=self.probes,
                                      where=path)
        if compiled is not None and self.probes is not None and scope_key in CONDITIONS:
            compiled = _outcomes(compiled, self.probes, path)
        return compiled

    def run(self) -> CompiledRuleset | None:
        m, r = self.m, self.r
        self.calendar_years()
        for name, param in m.parameters.items():
            path = ("parameters", name, "value")
            got = parse_literal_value(param.value, _smap(r, path), self.diags)
            if got is None:
                self.broken[name] = ANY
                continue
            value, typ = got
            want = PARAMETER_TYPES.get(name)
            if want is not None and typ != want:
                self.diags.add("QR405", f"parameter '{name}' must be a {want}, got {typ} ('{param.value}')",
                               r.span(path), hint=_example(want))
                self.broken[name] = ANY
                continue
            if isinstance(value, Duration) and value.amount < 0:
                self.diags.add("QR405", _NEGATIVE.format(what=f"parameter '{name}'", value=value), r.span(path),
                               hint=_NEGATIVE_HINT)
                self.broken[name] = ANY
                continue
            if isinstance(value, Decimal) and abs(value) > MAX_PARAMETER:
                self.diags.add("QR405", f"parameter '{name}' is {value}, beyond ±{MAX_PARAMETER} "
                               "(exact arithmetic with it would overflow)", r.span(path))
                self.broken[name] = ANY
                continue
            self.params[name] = value
        for name in PARAMETER_TYPES:
            if name not in self.params and name not in m.parameters and name not in self.broken:
                self.diags.add("QR403", f"parameter '{name}' is required by the engine but not defined",
                               r.span(("parameters",)), hint=f"在 parameters 下补充 '{name}:'（add '{name}:' under parameters）")
        exprs: dict[str, CompiledExpr | None] = {}
        for path, want in SINGLE_EXPRS:
            if getattr(m, path[0]) is not None:  # None: a section the schema refused (check_partial)
                text = functools.reduce(getattr, path, m)
                exprs[".".join(path)] = self.expr(path, text, ".".join(path), want)
        link_whens: dict[tuple[str, int], CompiledExpr | None] = {}
        for group in ("producer_of_product", "named_seller"):
            for i, link in enumerate(getattr(m.links, group)):
                link_whens[(group, i)] = (self.expr(("links", group, i, "when"), link.when, "links.when", BOOL)
                                          if link.when else None)
        item_whens = {}
        for code, item in m.items.items():
            if item.when is not None:
                c = self.expr(("items", code, "when"), item.when, "items.when", BOOL)
                if c is not None:
                    item_whens[code] = c
        conditions = []
        for i, cond in enumerate(m.repair.conditions if m.repair is not None else ()):
            c = self.expr(("repair", "conditions", i, "when"), cond.when, "repair.conditions.when", BOOL)
            if c is not None:
                conditions.append(CompiledCondition(c, cond.reason, cond.cite))
        reward_whens, reward_conditions = {}, {}
        for code, rule in (m.rewards.rules if m.rewards is not None else {}).items():
            # Each condition names itself when it fails (第十六条、第十七条, like 第十四条); the rule's
            # eligibility (reward_whens) is their conjunction, one expression for every backend.
            listed = reward_conditions[code] = []
            parts = [(("rewards", "rules", code, "when"), rule.when, rule.reason, rule.cite)] if rule.when else []
            parts += [(("rewards", "rules", code, "conditions", i, "when"), cond.when, cond.reason, cond.cite)
                      for i, cond in enumerate(rule.conditions)]
            for path, text, reason, cite in parts:
                c = self.expr(path, text, "rewards.rules.when", BOOL)
                if c is not None:
                    listed.append(CompiledCondition(c, reason, cite))
            if len(listed) == len(parts) == 1:
                reward_whens[code] = listed[0].expr
            elif len(listed) == len(parts):
                both = " and ".join(f"({text})" for _, text, _, _ in parts)
                scope = {**self.broken, **SCOPES["rewards.rules.when"]}
                reward_whens[code] = compile_expression(both, _smap(self.r, parts[0][0]), scope, Diagnostics(),
                                                        expected=BOOL, constants=self.params, calendar=self.calendar)
        class_order, class_exprs = [], {}
        for name, cdef in m.classes.items():
            if cdef.when is None:
                continue
            c = self.expr(("classes", name, "when"), cdef.when, "classes.when", BOOL)
            class_order.append(name)
            if c is not None:
                class_exprs[name] = c
        flag_whens = {}
        for name, flag in m.information_use.items():
            c = self.expr(("information_use", name, "when"), flag.when, "information_use.when", BOOL)
            if c is not None:
                flag_whens[name] = c
        lock_duration = None
        if m.adjustment is not None and m.adjustment.lock is not None:
            lock_duration = self.duration(("adjustment", "lock", "duration"), m.adjustment.lock.duration)
        deadline_durations = self.deadline_durations
        for name, dl in m.deadlines.items():
            d = self.duration(("deadlines", name, "within"), dl.within)
            if d is not None:
                deadline_durations[name] = d
        adjustment_dates = []
        for i, text in enumerate(m.adjustment.dates if m.adjustment is not None else ()):
            month, day = int(text[:2]), int(text[3:])
            try:
                dt.date(2024, month, day)
                adjustment_dates.append((month, day))
            except ValueError:
                self.diags.add("QR408", f"adjustment date '{text}' is not a day of the year (MM-DD)",
                               r.span(("adjustment", "dates", i)),
                               hint="写存在的月-日，如 '01-01'、'07-01'（write a month and a day that exist）")
        if self.diags.has_errors:
            return None
        compiled = CompiledRuleset(r, self.params, {k: v for k, v in exprs.items() if v is not None}, class_order,
                                   class_exprs, link_whens, item_whens, conditions, reward_whens, flag_whens,
                                   lock_duration,
                                   deadline_durations, sorted(adjustment_dates), self.calendar)
        compiled.reward_conditions = reward_conditions
        return compiled

    def duration(self, path: tuple, text: str) -> Duration | None:
        got = parse_literal_value(text, _smap(self.r, path), self.diags)
        if got is None:
            return None
        value, typ = got
        if typ != DURATION:
            self.diags.add("QR405", f"expected a duration such as '3 years' or '5 workdays', got {typ}",
                           self.r.span(path))
            return None
        if value.amount < 0:  # a clock due before it starts, a lock that ends before it is set
            self.diags.add("QR405", _NEGATIVE.format(what=".".join(map(str, path)), value=value), self.r.span(path),
                           hint=_NEGATIVE_HINT)
            return None
        return value

    def calendar_years(self) -> None:
        if not self.m.calendar:
            return
        from .workdays import WorkdayCalendar as _Cal

        section = {year: {"holidays": list(cy.holidays), "workdays": list(cy.workdays)}
                   for year, cy in self.m.calendar.items()}
        try:
            self.calendar = _Cal.from_config(section, file=self.r.file)
        except QrulesError as exc:
            self.diags.extend(exc.diagnostics)


def _join(*cites: str | None) -> str | None:
    """Distinct citations in order, joined the way the documents list articles (、)."""
    out = list(dict.fromkeys(c for c in cites if c))
    return "、".join(out) or None


def citations(resolved: ResolvedRuleset) -> dict[str, str | None]:
    """Every article the engine cites outside a rule's own ``cite``, by role, read from the ruleset.

    Values a child inherits keep their own file's citation (:meth:`ResolvedRuleset.cite_for`).
    """
    m, r = resolved.model, resolved
    c = m.citations
    links = [link.cite for group in (m.links.producer_of_product, m.links.named_seller) for link in group]
    return {
        "subjects": c.subjects, "items": c.items, "corrections": c.corrections, "repairs": c.repairs,
        "filing": c.filing, "rewards": c.rewards, "links": _join(*links),
        "repair_date": r.cite_for(("effective_dates", "repair", "value")) if "repair" in m.effective_dates else None,
        "intentional": r.cite_for(("intentional", "points")),
        "records": r.cite_for(("authorities", "records")),
        "start": r.cite_for(("parameters", "start_score", "value")),
        "window": r.cite_for(("window", "counts")),
        "unscored": r.cite_for(("classes", "O")) if "O" in m.classes else None,
        "producer": r.cite_for(("composition", "producer", "rule")),
        "line_cap": _join(r.cite_for(("composition", "producer", "rule")), r.cite_for(("rewards", "cap", "counted"))),
        "adjustment": r.cite_for(("adjustment", "dates")),
        "lock": r.cite_for(("adjustment", "lock", "duration")),
        "in_force_from": r.cite_for(("in_force", "from")),
        "in_force_until": r.cite_for(("in_force", "until")),
    }


_NEGATIVE = "{what} is {value}: a period cannot be negative"
_NEGATIVE_HINT = "期限不能为负，写正数，如 '5 workdays'、'3 years'（a period is written with a positive number）"


def _example(typ: Type) -> str:
    return {"number": "写数字，如 '12'（write a number）", "duration": "写期限，如 '36 months'（write a duration）",
            "bool": "写 true 或 false（write true or false）"}.get(str(typ), "")


def load_compiled(source: str | Path, **kwargs: Any) -> CompiledRuleset:
    """``compile_resolved(load_ruleset(source, **kwargs))``; when loading fails, the rest of the
    file is checked too (:func:`check_partial`), so that one run reports every problem."""
    return compile_resolved(load_checked(source, **kwargs))


def load_checked(source: str | Path, **kwargs: Any) -> ResolvedRuleset:
    """``load_ruleset(source, **kwargs)``; when loading fails, the error carries the problems of the
    parts that did load too (:func:`check_partial`): ``check``, ``test`` and ``render`` say them all at once."""
    try:
        return load_ruleset(source, **kwargs)
    except QrulesError as exc:
        partial = getattr(exc, "partial", None)
        more = [d for d in check_partial(partial) if d not in exc.diagnostics] if partial is not None else []
        if not more:
            raise
        raise QrulesError([*exc.diagnostics, *more]) from None


def check_partial(partial) -> list[Diagnostic]:
    """The problems of the parts of a ruleset that did load (a :class:`qrules.loader.Partial`).

    Expressions and parameters are checked in every section the schema accepted; what the
    schema refused is left out, and the names it held (a refused parameter) are not reported
    again as unknown. Citations, references and dates are checked in the sections that loaded; a
    reference to a refused or dropped key (QR302) is not reported (it is the same mistake). The
    class partition proof needs every class and parameter: it runs only when nothing but keys
    the merge dropped was refused and the expressions compile.
    """
    model, lost, pruned = partial.salvage()
    resolved = ResolvedRuleset(model, partial.data, partial.provenance, partial.chain, [], partial.views)
    broken = {p[1] for p in pruned if p[0] == "parameters"}
    if "parameters" in lost:
        raw = partial.data.get("parameters")
        broken |= set(PARAMETER_TYPES) | (set(map(str, raw)) if isinstance(raw, dict) else set())
    diags = Diagnostics()
    compiler = _Compiler(resolved, diags, broken=broken)
    compiled = compiler.run()
    from .audit import audit

    if compiled is not None and not lost and not pruned:
        audit(compiled, diags)
    else:
        _static(resolved, compiler, diags, lost)
    left_out = [f"'{name}'" for name in {*partial.dropped, *(str(p[-1]) for p in pruned)}]
    return [d for d in diags.items if d.severity != "info"
            and not (d.code == "QR403" and any(name in d.message for name in left_out))]


def _static(resolved: ResolvedRuleset, compiler: _Compiler, diags: Diagnostics, lost=frozenset()) -> None:
    """The checks of :func:`qrules.audit.audit` that need no compiled ruleset (references, citations,
    dates, deadlines' event kinds), for a ruleset whose compilation found errors."""
    from types import SimpleNamespace

    from .audit import check_deadlines, static_checks

    static_checks(resolved.model, resolved, diags, lost)
    if "deadlines" not in lost:
        diags.extend(check_deadlines(SimpleNamespace(resolved=resolved, model=resolved.model,
                                                     deadline_durations=compiler.deadline_durations)))


def compile_resolved(resolved: ResolvedRuleset, probes=None) -> CompiledRuleset:
    """Compile and audit a resolved ruleset; raise QrulesError with every problem found.

    ``probes`` (a :class:`qrules.language.compiler.Probes`) makes the compiled rules record which
    branches run, for the coverage of ``qrules test``; leave it None otherwise.
    """
    from .audit import audit

    diags = Diagnostics()
    diags.extend(resolved.diagnostics)
    compiler = _Compiler(resolved, diags, probes)
    compiled = compiler.run()
    if compiled is not None:
        audit(compiled, diags)
    else:  # the compiler's errors do not stop the checks of references and deadlines: every problem at once
        _static(resolved, compiler, diags)
    if diags.has_errors or compiled is None:
        raise QrulesError(diags.items)
    compiled.diagnostics = [d for d in diags.items if d.severity != "error"]
    compiled.cites = citations(resolved)
    return compiled
