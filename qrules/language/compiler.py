"""Checked AST -> Python closures: the third stage of ``parser -> check -> compiler``.

Each node becomes a closure ``fn(env) -> value`` built once; operators, constant values
and field names are resolved here, so evaluating ``score >= 12`` is two closure calls and
a Decimal comparison. Positions cost nothing unless something fails: a closure that can
fail catches :class:`~qrules.language.runtime.EvaluationError` and attaches its node's span.
Nothing here parses, and nothing calls ``eval``: only closures over the fixed operators of
:mod:`qrules.language.runtime`, so evaluation always terminates.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Callable, Iterator

from . import ast, runtime
from .check import Checked, Info
from ..errors import Span
from .runtime import CTX, EvaluationError, WorkdayCalendar, to_number, truth, type_name
from .types import BOOL, DATE, NUMBER, STRING, ListType

Env = Mapping[str, Any]
Fn = Callable[[Env], Any]

_DIRECT_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                   ">": operator.gt, ">=": operator.ge}


class Probes:
    """Branch coverage of a ruleset's expressions (``qrules test``): which branches exist and
    which ran. Keys are ``(where, branch)``: ``where`` names the expression by its place in the
    ruleset, ``branch`` an arm (``then@line:col``) or a condition's outcome (``true``/``false``).
    Only code compiled with probes records anything; normal evaluation pays nothing."""

    def __init__(self) -> None:
        self.declared: dict[tuple, str] = {}  # key -> label
        self.hits: set[tuple] = set()

    def declare(self, key: tuple, label: str) -> None:
        self.declared.setdefault(key, label)

    def hit(self, key: tuple) -> None:
        self.hits.add(key)


def compile_checked(checked: Checked, calendar: WorkdayCalendar | None = None, probes: Probes | None = None,
                    where: tuple = ()) -> Fn:
    """The closure that evaluates ``checked.node`` in an environment (a name -> value mapping).

    With ``probes``, each ``a if c else b`` that is not decided at compile time declares its two
    arms under ``where`` and records the arm it takes.
    """
    return _Compiler(checked.infos, calendar, probes, where).compile(checked.node)


def _spanned(exc: EvaluationError, span: Span) -> EvaluationError:
    if exc.span is None:
        exc.span = span
    return exc


def _number(value: Any, span: Span) -> Decimal:
    try:
        return to_number(value)
    except EvaluationError as exc:
        raise _spanned(exc, span) from None


def _guard(f: Callable[..., Any], span: Span) -> Callable[..., Any]:
    """``f`` with the node's span attached to its evaluation errors."""
    def guarded(*args: Any) -> Any:
        try:
            return f(*args)
        except EvaluationError as exc:
            raise _spanned(exc, span) from None
    return guarded


class _Compiler:
    def __init__(self, infos: dict[int, Info], calendar: WorkdayCalendar | None, probes: Probes | None = None,
                 where: tuple = ()):
        self.infos = infos
        self.calendar = calendar
        self.probes = probes
        self.where = where

    def compile(self, node: ast.Expr) -> Fn:
        info = self.infos[id(node)]
        if info.is_const:
            value = info.const
            if isinstance(value, tuple):  # constant lists are stored as tuples, given out as lists
                return lambda env: list(value)
            return lambda env: value
        return getattr(self, "_" + type(node).__name__)(node, info)

    def _const(self, node: ast.Expr) -> tuple[bool, Any]:
        info = self.infos[id(node)]
        return info.is_const, info.const

    # --- names and fields -----------------------------------------------------------------

    def _Name(self, node: ast.Name, info: Info) -> Fn:
        name, span = node.name, node.span
        if info.type == NUMBER:
            def number(env: Env) -> Any:
                try:
                    value = env[name]
                except KeyError:
                    raise EvaluationError(f"no value for '{name}'", span) from None
                return value if type(value) is Decimal else _number(value, span)
            return number

        def lookup(env: Env) -> Any:
            try:
                return env[name]
            except KeyError:
                raise EvaluationError(f"no value for '{name}'", span) from None
        return lookup

    def _Field(self, node: ast.Field, info: Info) -> Fn:
        key, span = node.name, node.name_span
        coerce = info.type == NUMBER
        base = self.infos[id(node.obj)]
        if isinstance(node.obj, ast.Name) and not base.is_const and base.type != NUMBER:
            # ``name.field``, the usual shape: the name's lookup in the same call (one closure, not two).
            name, name_span = node.obj.name, node.obj.span

            def name_field(env: Env) -> Any:
                try:
                    record = env[name]
                except KeyError:
                    raise EvaluationError(f"no value for '{name}'", name_span) from None
                if type(record) is not dict and not isinstance(record, Mapping):
                    raise EvaluationError(f"{type_name(record)} has no field '{key}'", span)
                try:
                    value = record[key]
                except KeyError:
                    raise EvaluationError(f"the record has no field '{key}'", span) from None
                if coerce and type(value) is not Decimal:
                    return _number(value, span)
                return value
            return name_field
        obj = self.compile(node.obj)

        def field(env: Env) -> Any:
            record = obj(env)
            if type(record) is not dict and not isinstance(record, Mapping):
                raise EvaluationError(f"{type_name(record)} has no field '{key}'", span)
            try:
                value = record[key]
            except KeyError:
                raise EvaluationError(f"the record has no field '{key}'", span) from None
            if coerce and type(value) is not Decimal:
                return _number(value, span)
            return value
        return field

    # --- operators ------------------------------------------------------------------------

    def _Unary(self, node: ast.Unary, info: Info) -> Fn:
        operand = self.compile(node.operand)
        if node.op == "not":
            if self.infos[id(node.operand)].type == BOOL:
                return lambda env: not operand(env)
            check = _guard(truth, node.operand.span)
            return lambda env: not check(operand(env))
        if info.type == NUMBER:
            return lambda env: CTX.minus(operand(env))
        neg = _guard(runtime.neg, node.span)
        return lambda env: neg(operand(env))

    def _Binary(self, node: ast.Binary, info: Info) -> Fn:
        left, right = self.compile(node.left), self.compile(node.right)
        ltype, rtype = self.infos[id(node.left)].type, self.infos[id(node.right)].type
        if node.op in ("and", "or"):
            if ltype != BOOL or rtype != BOOL:
                lt, rt = _guard(truth, node.left.span), _guard(truth, node.right.span)
                if node.op == "and":
                    return lambda env: lt(left(env)) and rt(right(env))
                return lambda env: lt(left(env)) or rt(right(env))
            if node.op == "and":
                return lambda env: left(env) and right(env)
            return lambda env: left(env) or right(env)
        if ltype == NUMBER and rtype == NUMBER:
            if node.op == "/":
                divide = _guard(runtime.divide, node.span)
                return lambda env: divide(left(env), right(env))
            op = {"+": CTX.add, "-": CTX.subtract, "*": CTX.multiply}[node.op]
            rconst, rvalue = self._const(node.right)
            if rconst:
                return lambda env: op(left(env), rvalue)
            return lambda env: op(left(env), right(env))
        calendar = self.calendar
        generic = {"+": lambda a, b: runtime.add(a, b, calendar), "-": lambda a, b: runtime.sub(a, b, calendar),
                   "*": runtime.mul, "/": runtime.div}[node.op]
        f = _guard(generic, node.span)
        return lambda env: f(left(env), right(env))

    def _compare_fn(self, op: str, lnode: ast.Expr, rnode: ast.Expr, span: Span) -> Callable[[Any, Any], bool]:
        ltype, rtype = self.infos[id(lnode)].type, self.infos[id(rnode)].type
        if op in _DIRECT_COMPARE and ltype == rtype and ltype in (NUMBER, DATE, STRING) \
                or op in ("==", "!=") and ltype == rtype == BOOL:
            return _DIRECT_COMPARE[op]
        if op in ("in", "not in"):
            rconst, rvalue = self._const(rnode)
            if rconst and isinstance(rvalue, tuple) and ltype in (NUMBER, STRING, DATE) \
                    and isinstance(rtype, ListType) and rtype.elem == ltype:
                members = frozenset(rvalue)
                if op == "in":
                    return lambda a, _: a in members
                return lambda a, _: a not in members
            if ltype == STRING and rtype == STRING:
                if op == "in":
                    return lambda a, b: a in b
                return lambda a, b: a not in b
        return _guard(runtime.COMPARE[op], span)

    def _Compare(self, node: ast.Compare, info: Info) -> Fn:
        fns = [self.compile(operand) for operand in node.operands]
        steps = []
        for i, op in enumerate(node.ops):
            a, b = node.operands[i].span, node.operands[i + 1].span
            span = Span(a.file, a.line, a.col, b.end_line, b.end_col)
            steps.append(self._compare_fn(op, node.operands[i], node.operands[i + 1], span))
        if len(steps) == 1:
            test, left, right = steps[0], fns[0], fns[1]
            rconst, rvalue = self._const(node.operands[1])
            if rconst:
                return lambda env: test(left(env), rvalue)
            return lambda env: test(left(env), right(env))
        first, rest = fns[0], list(zip(steps, fns[1:]))

        def chain(env: Env) -> bool:
            left = first(env)
            for test, fn in rest:
                right = fn(env)
                if not test(left, right):
                    return False
                left = right
            return True
        return chain

    def _IfElse(self, node: ast.IfElse, info: Info) -> Fn:
        cconst, cvalue = self._const(node.cond)
        if cconst:
            return self.compile(node.then if cvalue else node.orelse)
        cond, then, orelse = self.compile(node.cond), self.compile(node.then), self.compile(node.orelse)
        if self.probes is not None:
            then, orelse = self._probed(node, "then", then), self._probed(node, "else", orelse)
        if self.infos[id(node.cond)].type != BOOL:
            check = _guard(truth, node.cond.span)
            return lambda env: then(env) if check(cond(env)) else orelse(env)
        return lambda env: then(env) if cond(env) else orelse(env)

    def _probed(self, node: ast.IfElse, arm: str, fn: Fn) -> Fn:
        """``fn`` recording that the ``arm`` of ``node`` ran (coverage mode only)."""
        span = node.cond.span
        key = (self.where, f"{arm}@{span.line}:{span.col}")
        self.probes.declare(key, f"{'if' if arm == 'then' else 'else'} arm of the condition at {span.line}:{span.col}")
        probes = self.probes

        def probed(env: Env) -> Any:
            probes.hit(key)
            return fn(env)
        return probed

    def _ListExpr(self, node: ast.ListExpr, info: Info) -> Fn:
        fns = [self.compile(item) for item in node.items]
        return lambda env: [fn(env) for fn in fns]

    # --- aggregation ----------------------------------------------------------------------

    def _Comprehension(self, node: ast.Comprehension, info: Info) -> Callable[[Env], Iterator[Any]]:
        source, var = self.compile(node.iterable), node.var
        elem = self.compile(node.elem)
        cond = self.compile(node.cond) if node.cond is not None else None
        if cond is not None and self.infos[id(node.cond)].type != BOOL:
            raw, check = cond, _guard(truth, node.cond.span)
            cond = lambda env: check(raw(env))  # noqa: E731
        span = node.iterable.span

        def iterate(env: Env) -> Iterator[Any]:
            items = source(env)
            if not isinstance(items, (list, tuple)):
                raise EvaluationError(f"'for' needs a list, got {type_name(items)}", span)
            # Generator variables live in a copy of the environment, so closures that read
            # names need no second mechanism.
            local = dict(env)
            for item in items:
                local[var] = item
                if cond is None or cond(local):
                    yield elem(local)
        return iterate

    def _Call(self, node: ast.Call, info: Info) -> Fn:
        fns = [self.compile(arg) for arg in node.args]
        func = node.func
        if func in ("min", "max") and len(fns) > 1 and all(self.infos[id(a)].type == NUMBER for a in node.args):
            # Numbers only (checked): runtime._extreme's choice without its per-value dispatch —
            # the first value, replaced by each later one strictly better than it.
            better = operator.lt if func == "min" else operator.gt

            def extreme(env: Env) -> Any:
                best = None
                for fn in fns:
                    value = fn(env)
                    if type(value) is int:
                        value = Decimal(value)
                    if best is None or better(value, best):
                        best = value
                return best
            return extreme
        if func in ("min", "max") and len(fns) > 1:
            pick = _guard(runtime.agg_min if func == "min" else runtime.agg_max, node.span)
            return lambda env: pick([fn(env) for fn in fns])
        if func == "due":
            due = _guard(runtime.due_date, node.span)
            start, period = fns
            calendar = self.calendar
            return lambda env: due(start(env), period(env), calendar)
        if func == "round":
            rnd = _guard(runtime.round_half_up, node.span)
            if len(fns) == 1:
                (x,) = fns
                return lambda env: rnd(x(env))
            x, places = fns
            return lambda env: rnd(x(env), places(env))
        impl = {"sum": runtime.agg_sum, "count": runtime.agg_count, "any": runtime.agg_any,
                "all": runtime.agg_all, "min": runtime.agg_min, "max": runtime.agg_max,
                "abs": runtime.fn_abs}[func]
        f = _guard(impl, node.span)
        (arg,) = fns
        return lambda env: f(arg(env))


__all__ = ["compile_checked", "Probes", "Fn", "Env"]
