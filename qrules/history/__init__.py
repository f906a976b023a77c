"""Histories: what happened to the scored subjects, as validated records.

``models`` holds the pydantic records (subjects, events, corrections); ``load`` reads YAML,
JSON, JSON Lines into them with located errors; ``kinds`` names the record kinds and links
(light enough for ``qrules check``). Names are re-exported here lazily, so importing
``qrules.history.kinds`` does not load pydantic.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    import importlib

    if name.startswith("_"):
        raise AttributeError(f"module 'qrules.history' has no attribute {name!r}")
    for sub in ("models", "load"):
        module = importlib.import_module(f"{__name__}.{sub}")
        if name in vars(module):
            return vars(module)[name]
    raise AttributeError(f"module 'qrules.history' has no attribute {name!r}")
