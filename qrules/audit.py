"""Static checks of a compiled ruleset that a reviewer can trust.

Runs after compilation (``ruleset.compile_resolved``). The central one is the
**partition proof** of Art 26: the class conditions compare ``score`` with constants, so
their truth is constant on every open interval between two constants and at each
constant. Evaluating each condition at every constant and at one point inside every
interval between them (and beyond both ends) therefore decides, exactly, whether every
possible score matches exactly one class; any gap or overlap is reported as a score range.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .language import ast
from .errors import Diagnostic, Diagnostics, did_you_mean
from .history.kinds import EVENT_KINDS
from .language.runtime import EvaluationError, plain
from .language.types import NUMBER

Piece = tuple[Decimal | None, bool, Decimal | None, bool, Decimal]  # lo, lo_closed, hi, hi_closed, sample


def score_provable(node: ast.Expr) -> bool:
    """True when ``score`` appears only as a direct operand of comparisons (joined by ``and``, ``or``,
    ``not``: constant between the numbers compared, so the pieces decide them exactly)."""
    for n in ast.walk(node):
        if isinstance(n, (ast.Binary, ast.Unary)) and n.op in ("and", "or", "not"):
            continue
        if isinstance(n, (ast.Binary, ast.Unary, ast.Call, ast.IfElse, ast.Comprehension)):
            if any(isinstance(x, ast.Name) and x.name == "score" for x in ast.walk(n)):
                return False
    return True


def literal_numbers(node: ast.Expr) -> set[Decimal]:
    """Every number written in the expression, with its sign (``-3`` parses as minus 3)."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Literal) and n.type == NUMBER:
            out.add(Decimal(n.value))
        elif isinstance(n, ast.Unary) and n.op == "-" and isinstance(n.operand, ast.Literal) \
                and n.operand.type == NUMBER:
            out.add(-Decimal(n.operand.value))
    return out


def score_pieces(points: list[Decimal]) -> list[Piece]:
    """The score line cut at ``points``: each point, each open interval between, both ends."""
    if not points:
        return [(None, False, None, False, Decimal(0))]
    out: list[Piece] = [(None, False, points[0], False, points[0] - 1)]
    for i, b in enumerate(points):
        out.append((b, True, b, True, b))
        hi = points[i + 1] if i + 1 < len(points) else None
        sample = (b + hi) / 2 if hi is not None else b + 1
        out.append((b, False, hi, False, sample))
    return out


def _fmt(n: Decimal | None, sign: str) -> str:
    if n is None:
        return f"{sign}∞"
    return plain(n)


def describe_range(first: Piece, last: Piece) -> str:
    """Interval notation for the union of consecutive pieces, e.g. '(6, 6.5]' or 'exactly 6'."""
    lo, lo_closed, _, _, _ = first
    _, _, hi, hi_closed, _ = last
    if lo is not None and lo == hi and lo_closed and hi_closed:
        return f"exactly {_fmt(lo, '')}"
    return f"{'[' if lo_closed else '('}{_fmt(lo, '-')}, {_fmt(hi, '+')}{']' if hi_closed else ')'}"


Finding = tuple[str, tuple[str, ...]]  # (score range in words, the classes that border or share it)


def partition_report(class_exprs: dict, class_order: list[str],
                     params: dict | None = None) -> tuple[list[Finding], list[Finding], bool]:
    """Return (gaps, overlaps, provable): each finding is a score range in words and the classes
    involved (for a gap, the classes on either side of it; for an overlap, the classes sharing it).
    ``params``: the ruleset's parameters, so a threshold written as one (``score >= a_threshold``)
    cuts the score line like a number."""
    provable = all(score_provable(e.node) for e in class_exprs.values())
    points: set[Decimal] = {v for v in (params or {}).values() if isinstance(v, Decimal)}
    for e in class_exprs.values():
        points |= literal_numbers(e.node)
    pieces = score_pieces(sorted(points))
    verdicts: list[tuple[str, ...]] = []
    for piece in pieces:
        matched = []
        for name in class_order:
            expr = class_exprs.get(name)
            if expr is None:
                continue
            try:
                if expr({"score": piece[4]}):
                    matched.append(name)
            except EvaluationError:
                pass
        verdicts.append(tuple(matched))
    gaps, overlaps = [], []
    i = 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and verdicts[j + 1] == verdicts[i]:
            j += 1
        rng = describe_range(pieces[i], pieces[j])
        if not verdicts[i]:
            before = verdicts[i - 1] if i > 0 else ()
            after = verdicts[j + 1] if j + 1 < len(pieces) else ()
            gaps.append((f"scores in {rng} match no class" if not rng.startswith("exactly")
                         else f"a score of {rng[8:]} matches no class", tuple(dict.fromkeys(after + before))))
        elif len(verdicts[i]) > 1:
            names = " and ".join(verdicts[i])
            overlaps.append((f"scores in {rng} match {names}" if not rng.startswith("exactly")
                             else f"a score of {rng[8:]} matches {names}", verdicts[i]))
        i = j + 1
    return gaps, overlaps, provable


def audit(compiled, diags: Diagnostics) -> None:
    """Add every static finding about ``compiled`` to ``diags``."""
    r = compiled.resolved
    m = compiled.model
    # Art 26: the thresholds partition the score line.
    gaps, overlaps, provable = partition_report(compiled.class_exprs, compiled.class_order, compiled.params)

    def where(names: tuple[str, ...]):
        """The condition of the first class involved that this file writes (a child that moved one
        threshold made the gap), else of the first class involved: where the fix most likely goes."""
        spans = [r.span(("classes", n, "when")) for n in names]
        return next((x for x in spans if x.file == r.file), spans[0]) if names else r.span(("classes",))

    def which(names: tuple[str, ...]) -> tuple[str, str]:
        """Which classes to look at, in Chinese and in English."""
        return (f"：检查 {'、'.join(names)} 类", f"; check {' and '.join(names)}") if names else ("", "")

    def article(names: tuple[str, ...]) -> str:
        """The ruleset's own article for the classes involved (a successor may renumber it)."""
        cite = r.cite_for(("classes", names[0])) if names and names[0] in m.classes else None
        return f"（{cite}）" if cite else ""
    if not provable:
        diags.add("QR407", "class conditions use score inside arithmetic or a call; the partition check "
                  "sampled the constants but cannot prove coverage", r.span(("classes",)), severity="warning",
                  hint="每个分类写成 score 与数字的比较，如 '6 < score < 12'（write each class as comparisons of score with numbers）")
    for text, names in gaps:
        diags.add("QR401", f"class thresholds leave a gap: {text}", where(names),
                  hint=f"每个可能的得分都应恰好属于一个分类{article(names)}{which(names)[0]}"
                  f"（every possible score must fall in exactly one class{which(names)[1]}）")
    for text, names in overlaps:
        diags.add("QR401", f"class thresholds overlap: {text}", where(names),
                  hint=f"相邻分类在同一界限处一边写 '<'、另一边写 '<='（以上、以下含本数；高于、不满不含本数）"
                  f"{which(names)[0]}（use '<' on one side and '<=' on the other at a shared boundary{which(names)[1]}）")
    static_checks(m, r, diags)
    diags.extend(check_deadlines(compiled))  # procedural clocks (第二十一条、第二十三至二十五条)
    diags.extend(check_clean_years(compiled))  # 第十六条: years the window (第七条) cannot hold
    count = compiled.provisional_count()
    if count:
        table = f"the score table of {m.citations.score_table}" if m.citations.score_table else "the score table"
        diags.add("QR406", f"{count} provisional values ({table} is not yet official)",
                  None, severity="info", hint="省局记分表发布后改为正式分值，并删除 'provisional: true'（replace them with the official score table）")


def static_checks(m, r, diags: Diagnostics, lost: frozenset[str] | set[str] = frozenset()) -> None:
    """Citations, references and validity dates of the model ``m`` (resolved as ``r``).

    ``lost``: top-level sections the schema refused (``ruleset.check_partial``): the checks that
    read one of them are left out, so that a refused section gives no follow-on errors.
    """
    # Citations: every item and rule must say which article it encodes.
    for code, item in m.items.items():
        if not item.cite:
            diags.add("QR402", f"item '{code}' has no citation", r.span(("items", code)),
                      hint="写明所依据的条款，如 cite: 第十一条第（一）项（add the article and item it encodes）")
    for code, rule in (m.rewards.rules if m.rewards is not None else {}).items():
        if not rule.cite:
            diags.add("QR402", f"reward rule '{code}' has no citation", r.span(("rewards", "rules", code)),
                      hint="写明所依据的条款，如 cite: 第十六条（add cite:）")
    for i, cond in enumerate(m.repair.conditions if m.repair is not None else ()):
        if not cond.cite:
            diags.add("QR402", "repair condition has no citation", r.span(("repair", "conditions", i)),
                      hint="写明所依据的条款，如 cite: 第十四条（add cite:）")
    for name, cdef in m.classes.items():
        if not cdef.cite:
            diags.add("QR402", f"class '{name}' has no citation", r.span(("classes", name)), severity="warning")
    # References resolve.
    for group in ("producer_of_product", "named_seller") if "items" not in lost else ():
        for i, link in enumerate(getattr(m.links, group)):
            for j, code in enumerate(link.items):
                if code not in m.items:
                    _unknown(diags, r, ("links", group, i, "items", j), "item", code, m.items)
            if link.item not in m.items:
                _unknown(diags, r, ("links", group, i, "item"), "item", link.item, m.items)
    classes = set(m.classes)
    if "classes" in lost:
        classes = set()
    elif "O" not in classes:
        diags.add("QR403", "class 'O' (unscored subjects) is not defined", r.span(("classes",)),
                  hint="补充 O: {label: O类, cite: 第二十六条第一款}（add class O）")
    for name in classes if "measures" not in lost else ():
        if name not in m.measures:
            where = r.span(("measures",))  # a child's new class: at its own line, not in the parent's measures
            where = r.span(("classes", name)) if where.file != r.file else where
            diags.add("QR403", f"class '{name}' has no measures", where, hint=f"补充 measures.{name}（第二十七条）（add measures.{name}）")
    for name in m.measures if "classes" not in lost else ():
        if name not in classes:
            _unknown(diags, r, ("measures", name), "class", name, classes, key=True)
    if m.adjustment is not None and m.adjustment.lock is not None and "classes" not in lost \
            and m.adjustment.lock.class_ not in classes:
        _unknown(diags, r, ("adjustment", "lock", "class"), "class", m.adjustment.lock.class_, classes)
    for kind, level in (m.authorities.records if m.authorities is not None else {}).items():
        if level not in m.authorities.levels:
            _unknown(diags, r, ("authorities", "records", kind), "authority level", level, m.authorities.levels)
    # Validity (第三十六条).
    if m.in_force is None:
        return
    if m.in_force.until is not None and m.in_force.until < m.in_force.from_:
        until, start = r.span(("in_force", "until")), r.span(("in_force", "from"))
        inherited = until.file != start.file  # a successor that wrote only `from` (第三十六条's end is its parent's)
        diags.add("QR404", f"in_force.until ({m.in_force.until}) is before in_force.from ({m.in_force.from_})"
                  + (f"; the until is inherited from {until.file}:{until.line}" if inherited else ""),
                  start if inherited else until,
                  hint="写明本版本自己的终止日 write this version's own end: 'until: YYYY-MM-DD', "
                  "or 'until: null' if none is set yet（尚未确定的写 until: null）"
                  if inherited else None)
    if m.issued is not None and m.issued > m.in_force.from_:
        diags.add("QR404", f"issued ({m.issued}) is after in_force.from ({m.in_force.from_})",
                  r.span(("issued",)), severity="warning")


def _unknown(diags: Diagnostics, r, path, what: str, name: str, known, *, key: bool = False) -> None:
    from .errors import did_you_mean

    span = r.provenance.get(tuple(path))
    where = (span.key or span.value) if (span and key) else (span.value if span else r.span(path))
    hint = did_you_mean(str(name), [str(k) for k in known])
    if where.file != r.file:  # inherited: the child removed or renamed what its parent's rule names
        hint = (f"{'.'.join(map(str, path[:2]))} is inherited from {where.file}; {r.file} has no {what} "
                f"'{name}': override {'.'.join(map(str, path[:2]))} there too（继承的规则仍引用本文件已删除或改名的编号）")
    diags.add("QR403", f"unknown {what} '{name}'", where, hint=hint)


#: The units a deadline's ``within`` may use.
DEADLINE_UNITS = ("days", "workdays")


def check_deadlines(compiled: Any) -> list[Diagnostic]:
    """Static checks of a compiled ruleset's ``deadlines:``: known event kinds, usable units.

    Returns diagnostics (errors) at the YAML position of the offending value; empty when fine.
    """
    diags: list[Diagnostic] = []
    resolved = compiled.resolved
    for name, dl in compiled.model.deadlines.items():
        kinds = ([(("deadlines", name, "starts"), dl.starts)] if isinstance(dl.starts, str)
                 else [(("deadlines", name, "starts", i), k) for i, k in enumerate(dl.starts)])
        kinds += [(("deadlines", name, "stops", i), k) for i, k in enumerate(dl.stops)]
        for path, kind in kinds:
            if kind not in EVENT_KINDS:
                diags.append(Diagnostic("QR711", f"deadline '{name}': unknown event kind '{kind}'",
                                        resolved.span(path),
                                        hint=did_you_mean(kind, EVENT_KINDS) or
                                        f"可用的事件类型（event kinds）：{', '.join(EVENT_KINDS)}"))
        if not dl.start_kinds:
            diags.append(Diagnostic("QR711", f"deadline '{name}' has no start kinds: its clock could never start",
                                    resolved.span(("deadlines", name, "starts")),
                                    hint="列出开始计时的事件种类，如 starts: [deduction, repair, reward]"
                                         "（list the event kinds that start the procedure）"))
        if not dl.stops:
            diags.append(Diagnostic("QR711", f"deadline '{name}' has no stop kinds: its clock could never stop",
                                    resolved.span(("deadlines", name, "stops")),
                                    hint="列出结束该程序的事件类型，如 stops: [notice_sent]（list the event kinds that end the procedure）"))
        dur = compiled.deadline_durations.get(name)
        if dur is not None and dur.unit not in DEADLINE_UNITS:
            diags.append(Diagnostic("QR712", f"deadline '{name}': '{dur}' is not in days or workdays",
                                    resolved.span(("deadlines", name, "within")),
                                    hint="写工作日或日，如 '5 workdays'（工作日）、'15 days'（日）（write days or workdays）"))
    return diags


def _clean_years_asked(node: ast.Expr) -> list[Decimal]:
    """The whole years a condition asks ``subject.clean_years`` to reach, where it compares it with a
    number (``subject.clean_years >= 3`` asks 3, ``> 2`` asks 3, ``== 3`` asks 3)."""
    def is_clean(x: ast.Expr) -> bool:
        return isinstance(x, ast.Field) and x.name == "clean_years" and isinstance(x.obj, ast.Name) \
            and x.obj.name == "subject"

    def number(x: ast.Expr) -> Decimal | None:
        return Decimal(x.value) if isinstance(x, ast.Literal) and x.type == NUMBER else None

    out = []
    for n in ast.walk(node):
        if not isinstance(n, ast.Compare):
            continue
        for op, a, b in zip(n.ops, n.operands, n.operands[1:]):
            if is_clean(b) and number(a) is not None:  # 3 <= subject.clean_years: as subject.clean_years >= 3
                op, a, b = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}.get(op, ""), b, a
            k = number(b) if is_clean(a) else None
            if k is None:
                continue
            if op in (">=", "=="):
                out.append(k.to_integral_value(rounding="ROUND_CEILING"))
            elif op == ">":
                out.append(k.to_integral_value(rounding="ROUND_FLOOR") + 1)
    return out


def check_clean_years(compiled) -> list[Diagnostic]:
    """第十六条、第十七条第（一）项: ``subject.clean_years`` counts the spot checks inside the window
    (第七条, for an entry of kind ``spot_check``). A reward condition asking for more whole years
    than that window can hold never holds: the rule would be dead without a word (a successor
    writing "three years" with a 36-month window). Warned, with the years the window allows."""
    import datetime as dt

    from .language.runtime import add_months

    m, r = compiled.model, compiled.resolved
    at = m.in_force.from_  # required by the schema: the first day the rule applies
    out: list[Diagnostic] = []
    for code, rule in (m.rewards.rules if m.rewards is not None else {}).items():
        paths = ([("rewards", "rules", code, "when")] if rule.when else []) + [
            ("rewards", "rules", code, "conditions", i, "when") for i in range(len(rule.conditions))]
        conditions = compiled.reward_conditions.get(code, [])
        if len(conditions) != len(paths):
            continue  # a condition did not compile: reported already
        key = ("", "spot_check", "product" if rule.subject == "product" else "operator", "")
        for path, cond in zip(paths, conditions):
            asked = _clean_years_asked(cond.expr.node)
            if not asked:
                continue
            lo, hi = add_months(at, -12 * 50), at   # the earliest spot check the window still sees at `at`
            if compiled.in_window(lo, at, key) or not compiled.in_window(hi, at, key):
                continue
            while (hi - lo).days > 1:
                mid = lo + dt.timedelta(days=(hi - lo).days // 2)
                lo, hi = (lo, mid) if compiled.in_window(mid, at, key) else (mid, hi)
            years = 0
            while add_months(hi, 12 * (years + 1)) <= at:
                years += 1
            if max(asked) > years:
                out.append(Diagnostic(
                    "QR409", f"reward rule '{code}' asks for {max(asked)} clean years, but the window (第七条) sees "
                    f"a spot check for at most {years} whole years (the earliest seen on {at} is {hi}): "
                    "the condition never holds", r.span(path), severity="warning",
                    hint="放宽监督抽查的回看期，如 window.counts 中 entry.kind == \"spot_check\" 的分支，或降低年数"
                         "（widen the window for spot checks, or ask for fewer years）"))
    return out
