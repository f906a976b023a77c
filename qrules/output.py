"""JSON-ready values for every command's ``--format json``: exact decimals as strings
("10.5", never a binary float), dates in ISO form."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


def json_ready(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps`` accepts, keeping decimals exact."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_ready(v) for v in value]
    return value


def json_default(value: Any) -> Any:
    """``default=`` hook for ``json.dumps`` (decimals and dates; anything else is an error)."""
    if isinstance(value, (Decimal, dt.date)):
        return json_ready(value)
    raise TypeError(type(value).__name__)
