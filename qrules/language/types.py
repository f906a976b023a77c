"""Static types of the expression language, used by :mod:`qrules.language.check`.

The pipeline is ``parser -> check -> compiler``; the checker gives every node one of these
types. Types are frozen and hashable so they can be compared with ``==`` and used as keys.
:data:`ANY` is given to a node after an error, so that one mistake is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping


class Type:
    """Base class of the static types."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Primitive(Type):
    """A scalar type, named as the docs and messages name it (``number``, ``date``...)."""

    name: str

    def __str__(self) -> str:
        return self.name


NUMBER = Primitive("number")
BOOL = Primitive("bool")
STRING = Primitive("string")
DATE = Primitive("date")
DURATION = Primitive("duration")
ANY = Primitive("any")


@dataclass(frozen=True, slots=True)
class ListType(Type):
    """A list whose items all have type ``elem``."""

    elem: Type

    def __str__(self) -> str:
        return f"list[{self.elem}]"


@dataclass(frozen=True, slots=True, init=False)
class RecordType(Type):
    """A record (a mapping at run time) with declared fields, e.g. a deduction event.

    Args:
        name: shown in messages and in ``str()``, e.g. ``deduction``.
        fields: field name -> type; kept as a tuple of pairs so the type stays hashable.
    """

    name: str
    fields: tuple[tuple[str, Type], ...]

    def __init__(self, name: str, fields: Mapping[str, Type] | tuple[tuple[str, Type], ...] = ()):
        pairs = tuple(fields.items()) if isinstance(fields, Mapping) else tuple(fields)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "fields", pairs)

    def field(self, name: str) -> Type | None:
        """The type of field ``name``, or None when the record does not declare it."""
        for key, typ in self.fields:
            if key == name:
                return typ
        return None

    def field_names(self) -> Iterator[str]:
        return (key for key, _ in self.fields)

    def __str__(self) -> str:
        return self.name


def compatible(a: Type, b: Type) -> bool:
    """Whether values of types ``a`` and ``b`` may meet (ANY meets everything)."""
    if a == ANY or b == ANY:
        return True
    if isinstance(a, ListType) and isinstance(b, ListType):
        return compatible(a.elem, b.elem)
    return a == b


def unify(a: Type, b: Type) -> Type:
    """The more precise of two compatible types."""
    if a == ANY:
        return b
    if isinstance(a, ListType) and isinstance(b, ListType):
        return ListType(unify(a.elem, b.elem))
    return a


__all__ = ["Type", "Primitive", "ListType", "RecordType", "NUMBER", "BOOL", "STRING", "DATE",
           "DURATION", "ANY", "compatible", "unify"]
