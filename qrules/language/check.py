"""Static checks, the second stage of ``parser -> check -> compiler``.

Resolves names (generator variables, then constants, then the scope), checks field access
against declared :class:`~qrules.language.types.RecordType` fields, types every node, checks the
arity of built-in calls and folds constant sub-expressions. Problems become diagnostics
(codes ``QR2xx``) at the span of the offending token; a node in error gets type ``any`` so
that one mistake is reported once. The result, :class:`Checked`, tells the compiler each
node's type, its constant value if known, and a duration's unit if known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Mapping

from . import ast, runtime
from ..errors import Diagnostics, Span, did_you_mean
from .runtime import Duration, EvaluationError, WorkdayCalendar
from .types import ANY, BOOL, DATE, DURATION, NUMBER, STRING, ListType, RecordType, Type, compatible, unify

CODES: dict[str, str] = {
    "QR201": "unknown name",
    "QR202": "unknown field, or field access on a value that is not a record",
    "QR203": "type mismatch",
    "QR204": "unknown function",
    "QR205": "wrong number of arguments",
    "QR206": "working days used in date arithmetic, but no working-day calendar is configured",
    "QR207": "durations in different units (months and days) combined or compared",
    "QR208": "a constant sub-expression fails (e.g. division by zero)",
    "QR209": "a generator ('x for x in xs') given to a function that does not aggregate",
}

# name -> (fewest arguments, most arguments or None)
BUILTINS: dict[str, tuple[int, int | None]] = {
    "min": (1, None), "max": (1, None), "sum": (1, 1), "count": (1, 1),
    "any": (1, 1), "all": (1, 1), "abs": (1, 1), "round": (1, 2), "due": (2, 2),
}
AGGREGATES = frozenset({"min", "max", "sum", "count", "any", "all"})
ORDERED = (NUMBER, DATE, STRING, DURATION, ANY)

#: Type names as policy staff say them (hints are Chinese first, the English gist after).
_ZH_TYPES = {"number": "数字", "date": "日期", "bool": "条件（true/false）", "string": "文字", "duration": "期限",
             "any": "任意值"}
_SAME_UNIT = "月与日不能互相换算：两边用同一种单位，如都用 days 或都用 months（use one unit）"
_CALENDAR = "改用自然日（days），或在规则集中配置工作日历 calendar（use days, or configure the working-day calendar）"


def zh(typ: Type) -> str:
    """A type in Chinese: ``数字``, ``文字列表``, ``deduction 记录``."""
    if isinstance(typ, ListType):
        return f"{zh(typ.elem)}列表"
    if isinstance(typ, RecordType):
        return f"{typ} 记录"
    return _ZH_TYPES.get(str(typ), str(typ))


class _NoConst:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOCONST"


NOCONST: Any = _NoConst()


@dataclass(frozen=True, slots=True)
class Info:
    """What the checker knows about one node.

    Attributes:
        type: its static type.
        const: its value when known at compile time, else :data:`NOCONST`.
        unit: for a duration, its unit family (``days``, ``months``, ``workdays``) if known.
    """

    type: Type
    const: Any = NOCONST
    unit: str | None = None

    @property
    def is_const(self) -> bool:
        return self.const is not NOCONST


@dataclass(frozen=True)
class Checked:
    """A checked expression: its type and, per node (by ``id``), what the checker learnt."""

    node: ast.Expr
    type: Type
    infos: dict[int, Info]


def normalize_value(value: Any) -> Any:
    """A constant as the runtime represents it: Decimal numbers, tuples for lists."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return runtime.to_number(value)
    if isinstance(value, (list, tuple)):
        return tuple(normalize_value(v) for v in value)
    return value


def type_of_value(value: Any) -> Type:
    """The static type of a run-time value (a list takes the type of its first item)."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float, Decimal)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, date):
        return DATE
    if isinstance(value, Duration):
        return DURATION
    if isinstance(value, (list, tuple)):
        return ListType(type_of_value(value[0]) if value else ANY)
    return ANY


def check(node: ast.Expr, scope: Mapping[str, Type], diags: Diagnostics, *,
          constants: Mapping[str, Any] | None = None, calendar: WorkdayCalendar | None = None,
          expected: Type | None = None) -> Checked | None:
    """Check ``node``; add problems to ``diags`` and return None if there were any.

    Args:
        node: the parsed expression.
        scope: names visible to the expression and their types (values come at run time).
        diags: collector for ``QR2xx`` diagnostics.
        constants: names whose values are known now; folded into the compiled code.
        calendar: the working-day calendar, if any (without one, ``workdays`` arithmetic on
            dates is an error).
        expected: the type the caller needs, e.g. ``BOOL`` for a condition.
    """
    checker = _Checker(scope, constants or {}, diags, calendar)
    before = len(diags.errors)
    info = checker.visit(node)
    typ = info.type
    if expected is not None and not compatible(expected, typ):
        example = "，条件写成比较，如 score >= 12" if expected == BOOL else ""
        diags.add("QR203", f"expected {expected}, got {typ}", node.span,
                  hint=f"这里需要{zh(expected)}，实际是{zh(typ)}{example}（the place needs a {expected}）")
    if len(diags.errors) > before:
        return None
    if typ == ANY and expected is not None:
        typ = expected
    return Checked(node, typ, checker.infos)


class _Checker:
    def __init__(self, scope: Mapping[str, Type], constants: Mapping[str, Any], diags: Diagnostics,
                 calendar: WorkdayCalendar | None):
        self.scope = scope
        self.constants = constants
        self.diags = diags
        self.calendar = calendar
        self.locals: list[tuple[str, Type]] = []
        self.infos: dict[int, Info] = {}

    def visit(self, node: ast.Expr) -> Info:
        info = getattr(self, "_" + type(node).__name__)(node)
        self.infos[id(node)] = info
        return info

    def error(self, code: str, message: str, span: Span, hint: str) -> Info:
        self.diags.add(code, message, span, hint=hint)
        return Info(ANY)

    def fold(self, typ: Type, fn: Callable[..., Any], args: list[Info], span: Span,
             unit: str | None = None) -> Info:
        """Info for a node of type ``typ``, with its value if every argument is constant."""
        if not all(a.is_const for a in args):
            return Info(typ, unit=unit)
        try:
            value = fn(*(a.const for a in args))
        except EvaluationError as exc:
            return self.error("QR208", exc.message, span,
                              hint="修改常量部分，使其能计算（如不要除以零）（fix the constant part, e.g. no division by zero）")
        return Info(typ, normalize_value(value), unit)

    # --- leaves ---------------------------------------------------------------------------

    def _Literal(self, node: ast.Literal) -> Info:
        unit = runtime.unit_kind(node.value.unit) if isinstance(node.value, Duration) else None
        return Info(node.type, node.value, unit)

    def _Name(self, node: ast.Name) -> Info:
        for name, typ in reversed(self.locals):
            if name == node.name:
                return Info(typ)
        if node.name in self.constants:
            value = normalize_value(self.constants[node.name])
            unit = runtime.unit_kind(value.unit) if isinstance(value, Duration) else None
            return Info(type_of_value(value), value, unit)
        if node.name in self.scope:
            return Info(self.scope[node.name])
        if node.name in BUILTINS:
            return self.error("QR201", f"'{node.name}' is a function, not a value", node.span,
                              hint=f"函数要带括号调用，如 {node.name}(...)（call it, e.g. {node.name}(...)）")
        if node.name in ("True", "False"):
            return self.error("QR201", f"unknown name '{node.name}'", node.span,
                              hint=f"true、false 用小写：{node.name.lower()}（booleans are written in lower case: "
                                   f"{node.name.lower()}）")
        candidates = [n for n, _ in self.locals] + list(self.scope) + list(self.constants)
        return self.error("QR201", f"unknown name '{node.name}'", node.span,
                          hint=did_you_mean(node.name, candidates) or "检查名称拼写；各处可用的名称见文档中的"
                          "“表达式可用名称”（check the spelling; the names each expression may use are in the docs）")

    def _Field(self, node: ast.Field) -> Info:
        obj = self.visit(node.obj)
        if obj.type == ANY:
            return Info(ANY)
        if not isinstance(obj.type, RecordType):
            return self.error("QR202", f"{obj.type} has no fields (no field '{node.name}')", node.name_span,
                              hint=f"{zh(obj.type)}没有字段：只有记录（如 deduction）才能用 '.' 取字段"
                                   f"（only records have fields）")
        typ = obj.type.field(node.name)
        if typ is None:
            names = list(obj.type.field_names())
            hint = did_you_mean(node.name, names) or (
                f"{obj.type} 的字段：{', '.join(names)}（fields of {obj.type}: {', '.join(names)}）" if names
                else f"{obj.type} 没有字段（{obj.type} has no fields）")
            return self.error("QR202", f"{obj.type} has no field '{node.name}'", node.name_span, hint=hint)
        return Info(typ)

    # --- operators ------------------------------------------------------------------------

    def _Unary(self, node: ast.Unary) -> Info:
        arg = self.visit(node.operand)
        if node.op == "not":
            if not compatible(arg.type, BOOL):
                return self.error("QR203", f"'not' needs a bool, got {arg.type}", node.operand.span,
                                  hint="not 后面应是条件，如 not deduction.intentional（'not' applies to a condition）")
            return self.fold(BOOL, lambda v: not v, [arg], node.span)
        if arg.type not in (NUMBER, DURATION, ANY):
            return self.error("QR203", f"cannot negate {arg.type}", node.span,
                              hint=f"负号只能用于数字或期限，不能用于{zh(arg.type)}（'-' applies to numbers and durations）")
        return self.fold(arg.type, runtime.neg, [arg], node.span, arg.unit)

    def _Binary(self, node: ast.Binary) -> Info:
        left, right = self.visit(node.left), self.visit(node.right)
        if node.op in ("and", "or"):
            bad = [(n, i) for n, i in ((node.left, left), (node.right, right)) if not compatible(i.type, BOOL)]
            if bad:
                n, i = bad[0]
                return self.error("QR203", f"'{node.op}' needs bool operands, got {i.type}", n.span,
                                  hint=f"'{node.op}' 两边都应是条件，如 score > 6 {node.op} score < 12，"
                                       f"这里是{zh(i.type)}（both sides must be conditions）")
            fn = (lambda a, b: a and b) if node.op == "and" else (lambda a, b: a or b)
            return self.fold(BOOL, fn, [left, right], node.span)
        typ = _arith_type(node.op, left.type, right.type)
        if typ is None:
            return self._arith_error(node, left.type, right.type)
        unit = None
        durations = [i for i in (left, right) if i.type == DURATION]
        if len(durations) == 2:
            if left.unit and right.unit and left.unit != right.unit:
                return self.error("QR207", f"cannot combine {left.unit} with {right.unit}", node.span,
                                  hint=_SAME_UNIT)
            unit = left.unit if typ == DURATION else None
        elif durations:
            unit = durations[0].unit
            if DATE in (left.type, right.type) and unit == "workdays" and self.calendar is None:
                return self.error("QR206", "working days need a calendar, and none is configured", node.span,
                                  hint=_CALENDAR)
        if left.type == DATE and right.type == DATE:
            unit = "days"
        ops = {"+": lambda a, b: runtime.add(a, b, self.calendar),
               "-": lambda a, b: runtime.sub(a, b, self.calendar),
               "*": runtime.mul, "/": runtime.div}
        return self.fold(typ, ops[node.op], [left, right], node.span, unit if typ == DURATION else None)

    def _arith_error(self, node: ast.Binary, lt: Type, rt: Type) -> Info:
        verbs = {"+": f"cannot add {lt} and {rt}", "-": f"cannot subtract {rt} from {lt}",
                 "*": f"cannot multiply {lt} by {rt}", "/": f"cannot divide {lt} by {rt}"}
        hint = f"{zh(lt)}与{zh(rt)}不能这样计算：检查 '{node.op}' 两边的取值（check both sides of '{node.op}'）"
        if {lt, rt} == {DATE, NUMBER} and node.op in "+-":
            hint = "数字要带单位，如 30 days 或 3 months（give the number a unit, e.g. 30 days or 3 months）"
        return self.error("QR203", verbs[node.op], node.span, hint=hint)

    def _Compare(self, node: ast.Compare) -> Info:
        infos = [self.visit(operand) for operand in node.operands]
        ok = True
        for i, op in enumerate(node.ops):
            left, right = infos[i], infos[i + 1]
            a, b = node.operands[i].span, node.operands[i + 1].span
            span = Span(a.file, a.line, a.col, b.end_line, b.end_col)
            message, hint = _compare_error(op, left.type, right.type)
            if message:
                self.error("QR203", message, span, hint=hint)
                ok = False
            elif left.unit and right.unit and left.unit != right.unit and op not in ("in", "not in"):
                self.error("QR207", f"cannot compare {left.unit} with {right.unit}", span, hint=_SAME_UNIT)
                ok = False
        if not ok:
            return Info(BOOL)

        def chain(*values: Any) -> bool:
            return all(runtime.COMPARE[op](values[i], values[i + 1]) for i, op in enumerate(node.ops))
        return self.fold(BOOL, chain, infos, node.span)

    def _IfElse(self, node: ast.IfElse) -> Info:
        cond = self.visit(node.cond)
        then, orelse = self.visit(node.then), self.visit(node.orelse)
        if not compatible(cond.type, BOOL):
            return self.error("QR203", f"the condition of 'if' must be a bool, got {cond.type}", node.cond.span,
                              hint="if 后面应是条件，如 100% if deduction.ordinal == 1 else 50%"
                                   "（the condition must be true or false）")
        if not compatible(then.type, orelse.type):
            return self.error("QR203", f"both branches of 'if ... else' must have the same type, "
                                       f"got {then.type} and {orelse.type}", node.span,
                              hint=f"if 前与 else 后的取值应为同一类型，这里是{zh(then.type)}和{zh(orelse.type)}"
                                   "（give both branches the same type）")
        typ = unify(then.type, orelse.type)
        unit = then.unit if then.unit == orelse.unit else None
        if cond.is_const:
            chosen = then if cond.const else orelse
            return Info(typ, chosen.const, chosen.unit)
        if then.unit and orelse.unit and then.unit != orelse.unit:
            return self.error("QR207", f"the branches of 'if ... else' are in {then.unit} and {orelse.unit}",
                              node.span, hint=_SAME_UNIT)
        return Info(typ, unit=unit)

    def _ListExpr(self, node: ast.ListExpr) -> Info:
        infos = [self.visit(item) for item in node.items]
        elem: Type = ANY
        for item, info in zip(node.items, infos):
            if not compatible(elem, info.type):
                return self.error("QR203", f"list items must have the same type: {elem} and {info.type}",
                                  item.span, hint=f"列表各项应为同一类型，这里有{zh(elem)}和{zh(info.type)}；"
                                                  "编号写成带引号的文字，如 [\"11.1\", \"11.2\"]（one type per list）")
            elem = unify(elem, info.type)
        return self.fold(ListType(elem), lambda *values: tuple(values), infos, node.span)

    def _Comprehension(self, node: ast.Comprehension) -> Info:
        source = self.visit(node.iterable)
        if isinstance(source.type, ListType):
            elem_type = source.type.elem
        elif source.type == ANY:
            elem_type = ANY
        else:
            self.error("QR203", f"'for' needs a list, got {source.type}", node.iterable.span,
                       hint=f"for ... in 后面应为列表，这里是{zh(source.type)}（'for' goes over a list）")
            elem_type = ANY
        self.locals.append((node.var, elem_type))
        try:
            if node.cond is not None:
                cond = self.visit(node.cond)
                if not compatible(cond.type, BOOL):
                    self.error("QR203", f"the 'if' of a generator must be a bool, got {cond.type}", node.cond.span,
                               hint="生成式 if 后面应是条件，如 c.failed（the filter must be a condition）")
            elem = self.visit(node.elem)
        finally:
            self.locals.pop()
        return Info(ListType(elem.type))

    def _Call(self, node: ast.Call) -> Info:
        if node.func not in BUILTINS:
            if node.func in self.scope or node.func in self.constants:
                return self.error("QR204", f"'{node.func}' is not a function", node.func_span,
                                  hint=f"'{node.func}' 是取值，不是函数：去掉后面的括号，或在两者之间写运算符"
                                       "（it is a value: remove the brackets, or add an operator）")
            functions = ", ".join(sorted(BUILTINS))
            return self.error("QR204", f"unknown function '{node.func}'", node.func_span,
                              hint=did_you_mean(node.func, BUILTINS)
                              or f"可用的函数：{functions}（the functions are {functions}）")
        low, high = BUILTINS[node.func]
        n = len(node.args)
        if n < low or (high is not None and n > high):
            if high is None:
                takes, takes_zh = f"at least {low} argument{'s' if low > 1 else ''}", f"至少 {low} 个"
            elif low == high:
                takes, takes_zh = f"{low} argument{'s' if low > 1 else ''}", f"{low} 个"
            else:
                takes, takes_zh = f"{low} or {high} arguments", f"{low} 或 {high} 个"
            return self.error("QR205", f"{node.func}() takes {takes}, got {n}", node.span,
                              hint=f"{node.func}() 的参数应为 {takes_zh}，这里有 {n} 个；用法见 docs/language.md"
                                   f"（give {node.func}() {takes}）")
        infos = [self.visit(arg) for arg in node.args]
        if any(isinstance(arg, ast.Comprehension) for arg in node.args) and node.func not in AGGREGATES:
            return self.error("QR209", f"{node.func}() does not take a generator", node.args[0].span,
                              hint=f"生成式（x for x in xs）只能写在 {'、'.join(sorted(AGGREGATES))} 中"
                                   f"（generators are for {', '.join(sorted(AGGREGATES))}）")
        if node.func == "due":
            return self._due(node, infos)
        typ, message, hint = _call_type(node.func, [i.type for i in infos])
        if message:
            span = node.args[0].span if len(node.args) == 1 else node.span
            return self.error("QR203", message, span, hint=hint)
        if any(isinstance(arg, ast.Comprehension) for arg in node.args):
            return Info(typ)
        unit = None
        if typ == DURATION:
            units = {i.unit for i in infos}
            if len(units) == 1:
                unit = units.pop()
            elif None not in units:
                return self.error("QR207", f"{node.func}() of durations in different units", node.span, hint=_SAME_UNIT)
        if node.func == "round" and len(infos) == 2 and infos[1].is_const and not infos[0].is_const:
            try:  # the places alone are constant (round(score, 99999)): said here, not when evaluating
                runtime.round_half_up(Decimal(0), infos[1].const)
            except EvaluationError as exc:
                return self.error("QR208", exc.message, node.args[1].span,
                                  hint="round() 的位数写 -28 到 28 之间的整数，如 round(x, 2)（write whole places from -28 to 28）")
        fn = _FOLDERS[node.func]
        return self.fold(typ, fn, infos, node.span, unit)


    def _due(self, node: ast.Call, infos: list[Info]) -> Info:
        """``due(start, period)``: the last day of a period (brief §3, periods in days: one rule).

        Calendar days end on a day off → the next working day; working days count working days.
        Needs the working-day calendar, so it is never folded to a constant."""
        start, period = infos
        usage = "写成 due(起始日期, 期限)，如 due(notice_date, 15 days)（write e.g. due(notice_date, 15 days)）"
        if not compatible(start.type, DATE):
            return self.error("QR203", f"due() needs a date first, got {start.type}", node.args[0].span, hint=usage)
        if not compatible(period.type, DURATION):
            return self.error("QR203", f"due() needs a period second, got {period.type}", node.args[1].span, hint=usage)
        if period.unit not in (None, "days", "workdays"):
            return self.error("QR203", f"due() counts days or workdays, not {period.unit}", node.args[1].span,
                              hint="期限用 days 或 workdays，" + usage)
        if self.calendar is None:
            return self.error("QR206", "due() needs a working-day calendar, and none is configured", node.span,
                              hint="在规则集中配置工作日历 calendar（configure the working-day calendar）")
        return Info(DATE)


_FOLDERS: dict[str, Callable[..., Any]] = {
    "sum": runtime.agg_sum, "count": runtime.agg_count, "any": runtime.agg_any, "all": runtime.agg_all,
    "min": lambda *xs: runtime.agg_min(xs[0] if len(xs) == 1 else xs),
    "max": lambda *xs: runtime.agg_max(xs[0] if len(xs) == 1 else xs),
    "abs": runtime.fn_abs, "round": runtime.round_half_up,
}

_ARITH: dict[str, dict[tuple[Type, Type], Type]] = {
    "+": {(NUMBER, NUMBER): NUMBER, (DATE, DURATION): DATE, (DURATION, DATE): DATE,
          (DURATION, DURATION): DURATION},
    "-": {(NUMBER, NUMBER): NUMBER, (DATE, DURATION): DATE, (DATE, DATE): DURATION,
          (DURATION, DURATION): DURATION},
    "*": {(NUMBER, NUMBER): NUMBER, (NUMBER, DURATION): DURATION, (DURATION, NUMBER): DURATION},
    "/": {(NUMBER, NUMBER): NUMBER},
}


def _arith_type(op: str, lt: Type, rt: Type) -> Type | None:
    """Result type of ``lt op rt``; with ``any`` on a side, what the other side allows."""
    table = _ARITH[op]
    results = {res for (a, b), res in table.items() if compatible(a, lt) and compatible(b, rt)}
    if not results:
        return None
    return results.pop() if len(results) == 1 else ANY


def _compare_error(op: str, lt: Type, rt: Type) -> tuple[str | None, str]:
    """(the message, what to do) when ``lt op rt`` is not a valid comparison, else (None, "")."""
    like = f"比较两边应为同一类型，这里是{zh(lt)}和{zh(rt)}（compare like with like）"
    if op in ("in", "not in"):
        listed = f"'{op}' 右边应为列表，如 deduction.item {op} [\"11.1\", \"11.2\"]（'{op}' looks in a list）"
        if isinstance(rt, ListType):
            return (None, "") if compatible(lt, rt.elem) else (
                f"cannot look for a {lt} in a {rt}",
                f"'{op}' 左边应与列表各项同为{zh(rt.elem)}，这里是{zh(lt)}（look for a {rt.elem} in a {rt}）")
        if rt == STRING:
            return (None, "") if compatible(lt, STRING) else (
                f"cannot look for a {lt} in a string", f"在文字中查找时左边也应是文字，这里是{zh(lt)}（look for a string）")
        return (None, "") if rt == ANY else (f"'{op}' needs a list or a string on the right, got {rt}", listed)
    if not compatible(lt, rt):
        return f"cannot compare {lt} with {rt}", like
    if op in ("==", "!="):
        return None, ""
    typ = unify(lt, rt)
    if typ == BOOL:
        return (f"bools can only be compared with == and !=, not '{op}'",
                "条件只能用 == 或 != 比较，或直接写条件本身（compare conditions with == or !=）")
    if typ not in ORDERED:
        return f"'{op}' cannot order values of type {typ}", f"{zh(typ)}不能比较大小（{typ} values have no order）"
    return None, ""


def _call_type(func: str, args: list[Type]) -> tuple[Type, str | None, str]:
    """Result type of a built-in call, and an error message with what to do (or None, "")."""
    def elem_of(typ: Type) -> Type | None:
        if isinstance(typ, ListType):
            return typ.elem
        return ANY if typ == ANY else None

    if func in ("sum", "count", "any", "all"):
        elem = elem_of(args[0])
        if func == "count":
            if elem is not None:
                return NUMBER, None, ""
            return (NUMBER, f"count() needs a list, got {args[0]}",
                    f"count() 数列表中的项，这里是{zh(args[0])}，如 count(spot_checks)（count() takes a list）")
        want = NUMBER if func == "sum" else BOOL
        result = NUMBER if func == "sum" else BOOL
        if elem is None or not compatible(elem, want):
            return (result, f"{func}() needs a list of {want}s, got {args[0]}",
                    f"{func}() 的参数应为{zh(want)}列表，这里是{zh(args[0])}（give {func}() a list of {want}s）")
        return result, None, ""
    if func in ("min", "max"):
        if len(args) == 1:
            elem = elem_of(args[0])
            if elem is None:
                return (ANY, f"{func}() of one value needs a list; to compare values write {func}(a, b)",
                        f"比较几个取值写 {func}(a, b)；只有一个参数时它应是列表（compare values with {func}(a, b)）")
            args = [elem]
        typ: Type = ANY
        for arg in args:
            if not compatible(typ, arg):
                return (ANY, f"{func}() needs values of one type, got {typ} and {arg}",
                        f"{func}() 的各参数应为同一类型，这里有{zh(typ)}和{zh(arg)}（give values of one type）")
            typ = unify(typ, arg)
        if typ not in ORDERED:
            return ANY, f"{func}() cannot order values of type {typ}", f"{zh(typ)}不能比较大小（{typ} values have no order）"
        return typ, None, ""
    # abs, round: numbers only
    for arg in args:
        if not compatible(arg, NUMBER):
            return (NUMBER, f"{func}() needs a number, got {arg}",
                    f"{func}() 的参数应为数字，这里是{zh(arg)}（give {func}() a number）")
    return NUMBER, None, ""


__all__ = ["CODES", "BUILTINS", "AGGREGATES", "NOCONST", "Info", "Checked", "check", "type_of_value",
           "normalize_value"]
