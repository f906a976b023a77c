"""Values and operations at evaluation time: the last stage of ``parser -> check -> compiler``.

Numbers are :class:`decimal.Decimal`, computed in one fixed context (:data:`CTX`, 28
significant digits) whatever the caller's thread context is. Dates are
:class:`datetime.date`; durations are :class:`Duration`. Records are plain mappings.

The compiler calls the generic operations here when the static types do not settle the
operation (a duration, a value of type ``any``), and for the built-in functions.
Failures raise :class:`EvaluationError`; the compiler attaches the span of the node.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import (ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, DecimalException,
                     DivisionByZero, InvalidOperation, Overflow)
from typing import Any, Callable, Iterable, Literal, Mapping, Protocol, runtime_checkable

from ..errors import QrulesError, Span

CTX = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
ZERO = Decimal(0)

Unit = Literal["days", "months", "years", "workdays"]


class EvaluationError(Exception):
    """A failure while evaluating an expression (division by zero, a missing field...).

    Attributes:
        message: what went wrong, without position.
        span: where, in the user's file (set by the compiled node that failed).
    """

    def __init__(self, message: str, span: Span | None = None):
        super().__init__(message)
        self.message = message
        self.span = span

    def __str__(self) -> str:
        return f"{self.span}: {self.message}" if self.span else self.message


@runtime_checkable
class WorkdayCalendar(Protocol):
    """Counts working days (e.g. the State Council holiday schedule); given at compile time."""

    def add_workdays(self, d: date, n: int) -> date:
        """The date ``n`` working days after ``d`` (before it when ``n`` is negative)."""
        ...


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time: ``Duration(36, "months")`` is written ``36 months``.

    Weeks are normalised to days when parsed; years stay years but count as 12 months, so
    ``3 years`` and ``36 months`` compare equal and shift dates the same way.
    """

    amount: int
    unit: Unit

    def __str__(self) -> str:
        unit = self.unit[:-1] if abs(self.amount) == 1 else self.unit
        return f"{self.amount} {unit}"

    def zh(self) -> str:
        """In Chinese, as explanations write it: ``180日``, ``36个月``, ``2年``, ``5个工作日``."""
        return f"{self.amount}{ {'days': '日', 'months': '个月', 'years': '年', 'workdays': '个工作日'}[self.unit]}"

    @property
    def kind(self) -> str:
        """The comparable family: ``days``, ``months`` (years included) or ``workdays``."""
        return "months" if self.unit == "years" else self.unit

    @property
    def measure(self) -> int:
        """The amount in the family's unit (years as months)."""
        return self.amount * 12 if self.unit == "years" else self.amount


def unit_kind(unit: str) -> str:
    """The comparable family of a unit: years count as months."""
    return "months" if unit == "years" else unit


# --- numbers -----------------------------------------------------------------------------

def plain(value: Decimal) -> str:
    """A decimal as people read it: exact, no trailing zeros, never exponent form (10.50 -> 10.5,
    1E+1 -> 10). The one place numbers become text in outputs, explanations and documents."""
    return f"{value.normalize():f}"


def to_number(value: Any) -> Decimal:
    """A number from the environment as a Decimal (ints and floats are accepted as written)."""
    if type(value) is Decimal:
        return value
    if isinstance(value, bool):
        raise EvaluationError(f"expected a number, got bool {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # repr() is the shortest text that round-trips: what the YAML said, not the binary.
        return Decimal(repr(value))
    raise EvaluationError(f"expected a number, got {type_name(value)}")


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, Decimal, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, date):
        return "date"
    if isinstance(value, Duration):
        return "duration"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, Mapping):
        return "record"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, (Decimal, int)) and not isinstance(value, bool)


def divide(a: Decimal, b: Decimal) -> Decimal:
    if not b:
        raise EvaluationError("division by zero")
    return CTX.divide(a, b)


def round_half_up(x: Any, places: Any = 0) -> Decimal:
    """``round(x, n)``: ROUND_HALF_UP to ``n`` decimal places (``round(2.5) == 3``)."""
    x, places = to_number(x), to_number(places)
    if places != places.to_integral_value() or abs(places) > 28:
        raise EvaluationError(f"round() needs a whole number of places between -28 and 28, got {places}")
    try:
        return x.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP, context=CTX)
    except DecimalException:
        raise EvaluationError(f"cannot round {x} to {places} places") from None


# --- dates and durations -----------------------------------------------------------------

def add_months(d: date, n: int) -> date:
    """``d`` plus ``n`` months, keeping the day of month clamped to the target month's end.

    2024-02-29 + 12 months = 2025-02-28; 2023-05-31 - 3 months = 2023-02-28.
    """
    years, month0 = divmod(d.month - 1 + n, 12)
    year = d.year + years
    if not 1 <= year <= 9999:
        raise EvaluationError(f"{d} {'+' if n >= 0 else '-'} {abs(n)} months is out of the date range")
    month = month0 + 1
    return date(year, month, min(d.day, _calendar.monthrange(year, month)[1]))


def shift(d: date, dur: Duration, sign: int, calendar: WorkdayCalendar | None) -> date:
    """``d + dur`` (``sign`` 1) or ``d - dur`` (``sign`` -1)."""
    amount = sign * dur.amount
    if dur.unit == "days":
        try:
            return d + timedelta(days=amount)
        except OverflowError:
            raise EvaluationError(f"{d} {'+' if sign > 0 else '-'} {dur} is out of the date range") from None
    if dur.unit == "months":
        return add_months(d, amount)
    if dur.unit == "years":
        return add_months(d, 12 * amount)
    if calendar is None:
        raise EvaluationError("working days need a calendar, and none was given")
    try:
        return calendar.add_workdays(d, amount)
    except (OverflowError, ValueError):
        raise EvaluationError(f"{d} {'+' if sign > 0 else '-'} {dur} is out of the date range") from None


def scale_duration(dur: Duration, factor: Any) -> Duration:
    product = CTX.multiply(to_number(factor), dur.amount)
    if product != product.to_integral_value():
        raise EvaluationError(f"{factor} * {dur} is not a whole number of {dur.unit}")
    return Duration(int(product), dur.unit)


def _combine(a: Duration, b: Duration, sign: int) -> Duration:
    if a.kind != b.kind:
        raise EvaluationError(f"cannot combine {a} and {b}: different units")
    if a.unit == b.unit:
        return Duration(a.amount + sign * b.amount, a.unit)
    return Duration(a.measure + sign * b.measure, a.kind)  # type: ignore[arg-type]


# --- generic operators (for values whose static type is not settled) ---------------------

def due_date(start: Any, period: Any, calendar: Any) -> date:
    """``due(start, period)``: the last day of a period of days or working days from ``start``
    (the start day not counted); a period in days ending on a day off runs to the next working
    day (brief §3: one rule for every period in days, as the deadlines of 第二十四条)."""
    if not isinstance(start, date) or not isinstance(period, Duration) or period.unit not in ("days", "workdays"):
        raise EvaluationError(f"due() needs a date and a period in days or workdays, got "
                              f"{type_name(start)} and {period}")
    if calendar is None:
        raise EvaluationError("working days need a calendar, and none was given")
    try:
        return calendar.due_date(start, period.amount, period.unit)
    except QrulesError as exc:  # a year the calendar lacks (QR702)
        raise EvaluationError(exc.diagnostics[0].message if exc.diagnostics else str(exc)) from None


def add(a: Any, b: Any, calendar: WorkdayCalendar | None = None) -> Any:
    if is_number(a) and is_number(b):
        return CTX.add(a, b)
    if isinstance(a, date) and isinstance(b, Duration):
        return shift(a, b, 1, calendar)
    if isinstance(a, Duration) and isinstance(b, date):
        return shift(b, a, 1, calendar)
    if isinstance(a, Duration) and isinstance(b, Duration):
        return _combine(a, b, 1)
    raise EvaluationError(f"cannot add {type_name(a)} and {type_name(b)}")


def sub(a: Any, b: Any, calendar: WorkdayCalendar | None = None) -> Any:
    if is_number(a) and is_number(b):
        return CTX.subtract(a, b)
    if isinstance(a, date) and isinstance(b, Duration):
        return shift(a, b, -1, calendar)
    if isinstance(a, date) and isinstance(b, date):
        return Duration((a - b).days, "days")
    if isinstance(a, Duration) and isinstance(b, Duration):
        return _combine(a, b, -1)
    raise EvaluationError(f"cannot subtract {type_name(b)} from {type_name(a)}")


def mul(a: Any, b: Any) -> Any:
    if is_number(a) and is_number(b):
        return CTX.multiply(a, b)
    if isinstance(a, Duration) and is_number(b):
        return scale_duration(a, b)
    if is_number(a) and isinstance(b, Duration):
        return scale_duration(b, a)
    raise EvaluationError(f"cannot multiply {type_name(a)} by {type_name(b)}")


def div(a: Any, b: Any) -> Any:
    if is_number(a) and is_number(b):
        return divide(to_number(a), to_number(b))
    raise EvaluationError(f"cannot divide {type_name(a)} by {type_name(b)}")


def neg(a: Any) -> Any:
    if is_number(a):
        return CTX.minus(a)
    if isinstance(a, Duration):
        return Duration(-a.amount, a.unit)
    raise EvaluationError(f"cannot negate {type_name(a)}")


def truth(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise EvaluationError(f"expected a bool, got {type_name(value)}")


def _order_key(value: Any, other: Any) -> tuple[Any, Any]:
    """The two values in a form Python can order, or an error if they do not compare."""
    if is_number(value) and is_number(other):
        return value, other
    if isinstance(value, Duration) and isinstance(other, Duration):
        if value.kind != other.kind:
            raise EvaluationError(f"cannot compare {value} with {other}: different units")
        return value.measure, other.measure
    for kind in (date, str):
        if isinstance(value, kind) and isinstance(other, kind):
            return value, other
    raise EvaluationError(f"cannot compare {type_name(value)} with {type_name(other)}")


def equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a == b
        raise EvaluationError(f"cannot compare {type_name(a)} with {type_name(b)}")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return a == b
    x, y = _order_key(a, b)
    return x == y


def contains(item: Any, collection: Any) -> bool:
    """``item in collection``: an element of a list, or a substring of a string."""
    if isinstance(collection, str):
        if not isinstance(item, str):
            raise EvaluationError(f"cannot look for a {type_name(item)} in a string")
        return item in collection
    if isinstance(collection, (frozenset, set)):
        return item in collection
    if isinstance(collection, (list, tuple)):
        return any(equal(item, x) for x in collection)
    raise EvaluationError(f"'in' needs a list or a string, got {type_name(collection)}")


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": equal,
    "!=": lambda a, b: not equal(a, b),
    "<": lambda a, b: (lambda x, y: x < y)(*_order_key(a, b)),
    "<=": lambda a, b: (lambda x, y: x <= y)(*_order_key(a, b)),
    ">": lambda a, b: (lambda x, y: x > y)(*_order_key(a, b)),
    ">=": lambda a, b: (lambda x, y: x >= y)(*_order_key(a, b)),
    "in": contains,
    "not in": lambda a, b: not contains(a, b),
}


# --- built-in functions ------------------------------------------------------------------

def as_list(value: Any) -> Iterable[Any]:
    if isinstance(value, (list, tuple)) or hasattr(value, "__next__"):
        return value
    raise EvaluationError(f"expected a list, got {type_name(value)}")


def agg_sum(values: Iterable[Any]) -> Decimal:
    total = ZERO
    for value in as_list(values):
        total = CTX.add(total, to_number(value))
    return total


def agg_count(values: Iterable[Any]) -> Decimal:
    return Decimal(sum(1 for _ in as_list(values)))


def agg_any(values: Iterable[Any]) -> bool:
    return any(truth(v) for v in as_list(values))


def agg_all(values: Iterable[Any]) -> bool:
    return all(truth(v) for v in as_list(values))


def _extreme(name: str, values: Iterable[Any], better: str) -> Any:
    best = None
    first = True
    for value in as_list(values):
        if type(value) is int:
            value = Decimal(value)
        if first:
            best, first = value, False
        elif COMPARE[better](value, best):
            best = value
    if first:
        raise EvaluationError(f"{name}() of an empty list")
    return best


def agg_min(values: Iterable[Any]) -> Any:
    return _extreme("min", values, "<")


def agg_max(values: Iterable[Any]) -> Any:
    return _extreme("max", values, ">")


def fn_abs(x: Any) -> Decimal:
    return CTX.abs(to_number(x))


__all__ = ["CTX", "Duration", "EvaluationError", "WorkdayCalendar", "add_months", "shift",
           "to_number", "type_name", "add", "sub", "mul", "div", "neg", "equal", "contains",
           "COMPARE", "agg_sum", "agg_count", "agg_any", "agg_all", "agg_min", "agg_max",
           "fn_abs", "round_half_up", "divide", "truth", "due_date"]
