"""The syntax tree of an expression: what :mod:`qrules.language.parser` produces.

Nodes are frozen dataclasses with slots; every node has a :class:`~qrules.errors.Span` in the
user's file, so :mod:`qrules.language.check` and run-time errors can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import Span
from .types import Type


class Expr:
    """Base class of expression nodes."""

    __slots__ = ()
    span: Span


@dataclass(frozen=True, slots=True)
class Literal(Expr):
    """A number, percentage, string, bool, date or duration written in the text."""

    value: Any
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Name(Expr):
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Field(Expr):
    """``obj.name``; ``name_span`` covers just the field name."""

    obj: Expr
    name: str
    name_span: Span
    span: Span


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    """``-x`` or ``not x`` (``op`` is ``"-"`` or ``"not"``)."""

    op: str
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    """``+ - * /`` and the boolean ``and`` / ``or``."""

    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    """A comparison chain ``a < b <= c`` (``ops[i]`` sits between ``operands[i]`` and ``[i+1]``).

    ``ops`` are ``== != < <= > >= in`` and ``not in``.
    """

    operands: tuple[Expr, ...]
    ops: tuple[str, ...]
    op_spans: tuple[Span, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class IfElse(Expr):
    """``then if cond else orelse``."""

    cond: Expr
    then: Expr
    orelse: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class ListExpr(Expr):
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Comprehension(Expr):
    """``elem for var in iterable [if cond]``: only as the argument of an aggregation."""

    elem: Expr
    var: str
    var_span: Span
    iterable: Expr
    cond: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """A call of a built-in function; ``func_span`` covers just the function name."""

    func: str
    func_span: Span
    args: tuple[Expr, ...]
    span: Span


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``node``, in source order."""
    if isinstance(node, Field):
        return (node.obj,)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Compare):
        return node.operands
    if isinstance(node, IfElse):
        return (node.then, node.cond, node.orelse)
    if isinstance(node, ListExpr):
        return node.items
    if isinstance(node, Comprehension):
        return (node.elem, node.iterable) + ((node.cond,) if node.cond is not None else ())
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of the expression, ``node`` first (the one walk the checks and tools share)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def names_read(node: Expr) -> frozenset[str]:
    """The names and ``name.field`` paths an expression reads (for diffs and window scopes)."""
    out = set()
    for n in walk(node):
        if isinstance(n, Name):
            out.add(n.name)
        elif isinstance(n, Field) and isinstance(n.obj, Name):
            out.add(f"{n.obj.name}.{n.name}")
    return frozenset(out)


__all__ = ["Expr", "Literal", "Name", "Field", "Unary", "Binary", "Compare", "IfElse",
           "ListExpr", "Comprehension", "Call", "children", "walk", "names_read"]
