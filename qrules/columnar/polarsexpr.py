"""Checked AST -> polars expressions: the columnar backend's compiler (``parser -> check -> here``).

The same front end as :mod:`qrules.language.compiler`: a ruleset expression is parsed and checked once
(:mod:`qrules.language.check` gives every node its type and constant value); this module walks the
checked tree and builds one polars expression that computes the rule for every row of a
table at once. Names and fields (``reward.points``, ``score``) are columns given by the
caller; constants and parameters are literals.

Exact decimals: a number is an ``Int64`` column holding the value times ``10**scale`` (the
ruleset's scale, :func:`ruleset_scale`). A literal that cannot be written exactly at that
scale is refused at compile time; a product is divided back by ``10**scale`` and the
backend checks that no remainder was dropped (:func:`compile_many`). Anything the translation
does not cover (aggregations, lists, division, working days, ``round``) raises
:class:`Unsupported` naming the construct, so the caller can fall back to the per-subject
engine and say which rule it could not take.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any, Mapping

from ..language import ast
from ..language.check import check
from ..errors import Diagnostics
from ..language.runtime import Duration
from ..language.types import BOOL, DATE, NUMBER, STRING, ListType

#: Aggregations over a collection (``count(c for c in spot_checks if c.failed)``).
AGGREGATIONS = ("count", "sum", "any", "all")


class Unsupported(Exception):
    """The columnar compiler cannot take this expression (the message says what)."""


def to_scaled(value: Decimal, scale: int) -> int:
    """``value * 10**scale`` as an int; :class:`Unsupported` if that is not exact."""
    scaled = Decimal(value).scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise Unsupported(f"the number {value} has more than {scale} decimal places")
    return int(scaled)


def scaled_text(value: int, scale: int) -> str:
    """A scaled integer (:func:`to_scaled`) written as the engine writes the decimal: no trailing
    zeros after the point, no point for a whole number (``-250, 2`` → ``-2.5``; ``1200, 2`` → ``12``)."""
    whole, part = divmod(abs(value), 10 ** scale)
    digits = f"{part:0{scale}d}".rstrip("0") if scale else ""
    return ("-" if value < 0 else "") + str(whole) + (f".{digits}" if digits else "")


def ruleset_scale(numbers: list[Decimal], floor: int = 2, ceiling: int = 6) -> int:
    """Decimal places enough for every number the ruleset writes (at least ``floor``)."""
    places = floor
    for n in numbers:
        exp = Decimal(n).normalize().as_tuple().exponent
        if isinstance(exp, int) and -exp > places:
            places = -exp
    if places > ceiling:
        raise Unsupported(f"a number of the ruleset needs {places} decimal places (the columnar backend takes "
                          f"up to {ceiling})")
    return places


class PolarsCompiler:
    """Compiles checked ruleset expressions to polars expressions over given columns.

    Args:
        compiled: the :class:`~qrules.ruleset.CompiledRuleset` (parameters, calendar).
        scale: decimal places of the scaled-integer numbers.
    """

    def __init__(self, compiled: Any, scale: int):
        import polars as pl

        self.pl = pl
        self.c = compiled
        self.scale = scale
        self.unit = 10 ** scale
        self.products: list[Any] = []  # products built by the last compile (their remainders are checked)
        self._checked: dict[int, Any] = {}  # expression -> its checked tree (the expressions live as long as us)
        # a compile keeps its state on the compiler (the tree's types, the columns, the products):
        # one compile at a time when a run's steps go side by side in threads
        self.lock = threading.RLock()

    def compile(self, expr: Any, scope: Mapping[str, Any], columns: Mapping[tuple[str, ...], Any]) -> Any:
        """The polars expression of ``expr`` (a :class:`~qrules.language.CompiledExpr`).

        ``scope`` is the expression's scope (name -> type, as the ruleset checked it);
        ``columns`` maps a name or field path (``("reward", "points")``) to a polars expression
        holding it (numbers scaled). Raises :class:`Unsupported`.
        """
        with self.lock:
            self._prepare(expr, scope)
            self.columns = columns
            return self._node(expr.node)

    def _prepare(self, expr: Any, scope: Mapping[str, Any]) -> None:
        checked = self._checked.get(id(expr))
        if checked is None:
            checked = check(expr.node, scope, Diagnostics(), constants=self.c.params, calendar=self.c.calendar)
            if checked is None:  # pragma: no cover - the ruleset checked it already
                raise Unsupported(f"'{expr.text}' does not check")
            self._checked[id(expr)] = checked
        self.infos = checked.infos
        self.text = expr.text

    # -- values ------------------------------------------------------------------------------

    def _lit(self, value: Any, typ: Any) -> Any:
        pl = self.pl
        if typ == NUMBER:
            return pl.lit(to_scaled(Decimal(value), self.scale), dtype=pl.Int64)
        if typ == BOOL:
            return pl.lit(bool(value), dtype=pl.Boolean)
        if typ == STRING:
            return pl.lit(str(value), dtype=pl.Utf8)
        if typ == DATE:
            return pl.lit(value, dtype=pl.Date)
        raise Unsupported(f"a constant of type {typ} in '{self.text}'")

    def _node(self, node: ast.Expr) -> Any:
        info = self.infos[id(node)]
        if info.is_const and not isinstance(info.const, (tuple, Duration)):
            return self._lit(info.const, info.type)
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(f"{type(node).__name__.lower()} in '{self.text}'")
        return method(node, info)

    def _path(self, node: ast.Expr) -> tuple[str, ...]:
        if isinstance(node, ast.Name):
            return (node.name,)
        if isinstance(node, ast.Field):
            return self._path(node.obj) + (node.name,)
        raise Unsupported(f"a field of a computed value in '{self.text}'")

    def _Name(self, node: ast.Name, info: Any) -> Any:
        return self._column(self._path(node))

    def _Field(self, node: ast.Field, info: Any) -> Any:
        return self._column(self._path(node))

    def _column(self, path: tuple[str, ...]) -> Any:
        col = self.columns.get(path)
        if col is None:
            raise Unsupported(f"'{'.'.join(path)}' in '{self.text}' is not available to the columnar backend")
        return col

    # -- operators ---------------------------------------------------------------------------

    def _Unary(self, node: ast.Unary, info: Any) -> Any:
        operand = self._node(node.operand)
        if node.op == "not" and self.infos[id(node.operand)].type == BOOL:
            return ~operand
        if node.op == "-" and info.type == NUMBER:
            return -operand
        raise Unsupported(f"'{node.op}' on a {self.infos[id(node.operand)].type} in '{self.text}'")

    def _Binary(self, node: ast.Binary, info: Any) -> Any:
        ltype, rtype = self.infos[id(node.left)].type, self.infos[id(node.right)].type
        if node.op in ("and", "or"):
            if ltype != BOOL or rtype != BOOL:
                raise Unsupported(f"'{node.op}' on non-booleans in '{self.text}'")
            left, right = self._node(node.left), self._node(node.right)
            return (left & right) if node.op == "and" else (left | right)
        if ltype == NUMBER and rtype == NUMBER:
            left, right = self._node(node.left), self._node(node.right)
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                product = left * right
                self.products.append(product)
                return product // self.unit
            raise Unsupported(f"division in '{self.text}'")
        if ltype == DATE and node.op in ("+", "-"):
            rinfo = self.infos[id(node.right)]
            if not (rinfo.is_const and isinstance(rinfo.const, Duration)):
                raise Unsupported(f"a date plus a computed duration in '{self.text}'")
            return self.shift(self._node(node.left), rinfo.const, 1 if node.op == "+" else -1)
        raise Unsupported(f"'{node.op}' on {ltype} and {rtype} in '{self.text}'")

    def shift(self, date: Any, dur: Duration, sign: int) -> Any:
        """``date ± dur`` as :func:`qrules.language.runtime.shift` computes it (months clamp to the month's end)."""
        amount = sign * dur.amount
        if dur.unit == "days":
            return date + self.pl.duration(days=amount)
        if dur.unit in ("months", "years"):
            months = amount * (12 if dur.unit == "years" else 1)
            return date.dt.offset_by(f"{months}mo")
        raise Unsupported(f"working-day arithmetic ('{dur}') in '{self.text}'")

    def _Compare(self, node: ast.Compare, info: Any) -> Any:
        out = None
        for i, op in enumerate(node.ops):
            a, b = node.operands[i], node.operands[i + 1]
            step = self._compare(op, a, b)
            out = step if out is None else (out & step)
        return out

    def _compare(self, op: str, a: ast.Expr, b: ast.Expr) -> Any:
        ltype, rtype = self.infos[id(a)].type, self.infos[id(b)].type
        if op in ("in", "not in"):
            rinfo = self.infos[id(b)]
            if rinfo.is_const and isinstance(rinfo.const, tuple) and isinstance(rtype, ListType) \
                    and ltype in (STRING, NUMBER) and rtype.elem == ltype:
                values = [to_scaled(Decimal(v), self.scale) if ltype == NUMBER else str(v) for v in rinfo.const]
                test = self._node(a).is_in(values)
                return test if op == "in" else ~test
            if isinstance(rtype, ListType) and ltype == STRING and rtype.elem == STRING and not rinfo.is_const:
                test = self._node(b).list.contains(self._node(a))  # a list column (``subject.roles``)
                return test if op == "in" else ~test
            raise Unsupported(f"'{op}' with a computed list in '{self.text}'")
        same = ltype == rtype and ltype in (NUMBER, DATE, STRING) or (op in ("==", "!=") and ltype == rtype == BOOL)
        if not same:
            raise Unsupported(f"'{op}' between {ltype} and {rtype} in '{self.text}'")
        left, right = self._node(a), self._node(b)
        return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
                ">": left > right, ">=": left >= right}[op]

    def _IfElse(self, node: ast.IfElse, info: Any) -> Any:
        if self.infos[id(node.cond)].type != BOOL:
            raise Unsupported(f"a non-boolean condition in '{self.text}'")
        pl = self.pl
        return pl.when(self._node(node.cond)).then(self._node(node.then)).otherwise(self._node(node.orelse))

    def node(self, expr: Any, node: ast.Expr, scope: Mapping[str, Any], columns: Mapping[tuple[str, ...], Any]) -> Any:
        """A sub-expression of ``expr`` (the condition or element of an aggregation) over ``columns``;
        a product in it is :class:`Unsupported` (its remainder could not be checked)."""
        with self.lock:
            self._prepare(expr, scope)
            self.columns, self.products = columns, []
            out = self._node(node)
            if self.products:
                raise Unsupported(f"a product inside an aggregation in '{self.text}'")
            return out

    def _Call(self, node: ast.Call, info: Any) -> Any:
        pl = self.pl
        if node.func in AGGREGATIONS and len(node.args) == 1 and isinstance(node.args[0], ast.Comprehension):
            col = self.columns.get(("__agg", id(node)))  # computed by the caller: a group-by over the collection
            if col is None:
                raise Unsupported(f"the aggregation {node.func}() over "
                                  f"'{getattr(node.args[0].iterable, 'name', '?')}' in '{self.text}'")
            return col
        if node.func in ("min", "max") and len(node.args) > 1 and info.type == NUMBER:
            args = [self._node(a) for a in node.args]
            return pl.min_horizontal(*args) if node.func == "min" else pl.max_horizontal(*args)
        if node.func == "abs" and info.type == NUMBER:
            return self._node(node.args[0]).abs()
        period = self.infos[id(node.args[1])] if node.func == "due" else None
        if period is not None and period.is_const:  # due(date, N days): the one period rule, per distinct date
            from ..language.runtime import due_date

            cal, dur = self.c.calendar, period.const

            def end(d: Any) -> Any:
                try:
                    return due_date(d, dur, cal)
                except Exception:  # noqa: BLE001 - a year the calendar lacks: ColumnarBackend.calendar_gap sends such histories to the engine
                    return None
            return self._node(node.args[0]).map_elements(end, return_dtype=pl.Date)
        raise Unsupported(f"the function {node.func}() in '{self.text}'")


def compile_many(pc: PolarsCompiler, expr: Any, scope: Mapping[str, Any],
                 columns: Mapping[tuple[str, ...], Any]) -> tuple[Any, Any]:
    """(value, inexact) for ``expr``: ``inexact`` is a boolean expression true on rows where a
    product dropped a remainder at the ruleset's scale (or None when there is no product)."""
    with pc.lock:
        pc.products = []
        value = pc.compile(expr, scope, columns)
        products = list(pc.products)
    inexact = None
    for product in products:
        test = (product % pc.unit) != 0
        inexact = test if inexact is None else (inexact | test)
    return value, inexact


__all__ = ["AGGREGATIONS", "PolarsCompiler", "Unsupported", "compile_many", "ruleset_scale", "scaled_text", "to_scaled"]
