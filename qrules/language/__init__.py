"""The expression language's public façade: parse, check and compile in one call.

Rulesets hold conditions and formulas as text; the loader calls
:func:`compile_expression` once per expression with the names the expression may use, and
the engine calls the resulting :class:`CompiledExpr` once per evaluation::

    expr = compile_expression("6 < score < 12", smap, {"score": NUMBER}, diags, expected=BOOL)
    expr({"score": Decimal(8)})   # True

Everything below this module is the pipeline ``parser -> check -> compiler -> runtime``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import ast, check, compiler, parser
from ..errors import Diagnostics, SourceMap
from .runtime import Duration, EvaluationError, WorkdayCalendar
from .types import Type


@dataclass(frozen=True)
class CompiledExpr:
    """A checked, compiled expression; call it with an environment to evaluate it.

    Attributes:
        text: the source text.
        type: its static type.
        node: the syntax tree (for explanations).
        fn: the compiled closure.
    """

    text: str
    type: Type
    node: ast.Expr
    fn: Callable[[Mapping[str, Any]], Any]

    def __call__(self, env: Mapping[str, Any]) -> Any:
        """Evaluate in ``env`` (name -> value); raises :class:`EvaluationError` with a span."""
        try:
            return self.fn(env)
        except EvaluationError as exc:
            if exc.span is None:
                exc.span = self.node.span
            raise
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            raise EvaluationError(f"cannot evaluate: {exc}", self.node.span) from exc


def compile_expression(text: str, smap: SourceMap, scope: Mapping[str, Type], diags: Diagnostics, *,
                       expected: Type | None = None, constants: Mapping[str, Any] | None = None,
                       calendar: WorkdayCalendar | None = None, probes: compiler.Probes | None = None,
                       where: tuple = ()) -> CompiledExpr | None:
    """Parse, check and compile an expression.

    Args:
        text: the expression.
        smap: where the text sits in its file; diagnostics are reported there.
        scope: the names the expression may use and their types.
        diags: collector; every problem is added here.
        expected: the type the caller needs (e.g. ``BOOL`` for a condition), if any.
        constants: names with values known now (parameters); folded into the code.
        calendar: a working-day calendar, needed for ``workdays`` date arithmetic.
        probes: record branch coverage under ``where`` (``qrules test``); None in normal use.

    Returns:
        The compiled expression, or None if there was an error (see ``diags``).
    """
    node = parser.parse(text, smap, diags)
    if node is None:
        return None
    checked = check.check(node, scope, diags, constants=constants, calendar=calendar, expected=expected)
    if checked is None:
        return None
    return CompiledExpr(text, checked.type, node, compiler.compile_checked(checked, calendar, probes, where))


def parse_literal_value(text: str, smap: SourceMap, diags: Diagnostics) -> tuple[Any, Type] | None:
    """The value of an expression that uses no names: a parameter such as ``36 months``.

    Returns:
        ``(value, type)``, lists as Python lists; or None on error (see ``diags``).
    """
    compiled = compile_expression(text, smap, {}, diags)
    if compiled is None:
        return None
    try:
        value = compiled({})
    except EvaluationError as exc:
        diags.add("QR208", exc.message, exc.span,
                  hint="修改这个取值，使其能计算（如不要除以零）（fix the value so that it can be computed）")
        return None
    if isinstance(value, tuple):
        value = list(value)
    return value, compiled.type


def type_of_value(value: Any) -> Type:
    """The static type of a value: Decimal/int -> number, bool -> bool, str -> string, date -> date,
    Duration -> duration, list -> list of the first item's type (``any`` if empty)."""
    return check.type_of_value(value)


__all__ = ["CompiledExpr", "compile_expression", "parse_literal_value", "type_of_value", "Duration",
           "EvaluationError", "WorkdayCalendar"]
