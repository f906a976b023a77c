"""Rulesets by name and over time: the layer above ``ruleset`` that compiles what ``registry`` reads.

Pipeline position: ``registry`` (folders -> versions and families, no compiling) + ``loader`` +
``ruleset`` (compile one resolved file) -> **versioned** -> commands and the API. ``load`` takes a
RULESET argument (a file, a version or a family) and returns the compiled ruleset with its
``.timeline``. Kept apart from ``registry`` so that ``loader`` can read families without an import
cycle (``tests/test_architecture.py``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .loader import load_ruleset
from .registry import DEFAULT_DIRS, Registry, needs_registry, rulesets_dirs
from .ruleset import CompiledRuleset, load_compiled
from .versions import Timeline


def _compile(file: str, parents: dict, allow: tuple[str, ...]) -> CompiledRuleset:
    """One version of a family, its ``extends`` names mapped by the registry."""
    return load_compiled(file, parents=parents, allow=allow)


def load(source: str | Path) -> CompiledRuleset:
    """Load, check and compile a ruleset: a file, or a version or family name in the rulesets
    folders (``--rulesets``); ``.timeline`` says which version is in force on which date."""
    return resolve(source)


def load_rulesets(*dirs: str | Path) -> Registry:
    """Read one or more rulesets folders (default ``rulesets/``): versions, families, periods.

    ``reg.load("haojiang")`` compiles a family or version; ``reg.check()`` lists overlaps and gaps."""
    return Registry.scan(tuple(str(d) for d in dirs) or DEFAULT_DIRS, compile=_compile)


def resolve(source: str | Path):
    """A RULESET argument: a file (one version; a family it follows is resolved in its folder and
    the ``--rulesets`` folders) or a version or family name in the ``--rulesets`` folders.

    Returns a compiled ruleset with ``.timeline`` (see :class:`qrules.versions.Timeline`)."""
    text = str(source)
    path = Path(text)
    dirs = rulesets_dirs.get()
    looks_like_file = path.exists() or text.endswith((".yaml", ".yml")) or "/" in text or ":" in text
    if looks_like_file and not (path.is_file() and needs_registry(text)):
        compiled = load_compiled(text)  # one version on its own, as before families
        compiled.timeline = Timeline.single(compiled)
        return compiled
    if looks_like_file:
        others = tuple(d for d in dirs if Path(d).resolve() != path.parent.resolve())
        reg = Registry.scan((str(path.parent),) + others, compile=_compile)
        me = next((v for v in reg.versions.values() if Path(v.file).resolve() == path.resolve()), None)
        if me is not None and (reg.family_of(me.extends) or me.extends in reg.versions):
            return reg.load(me.name)
        compiled = load_compiled(text)  # extends by path: families resolved as of today
        compiled.timeline = Timeline.single(compiled)
        return compiled
    return Registry.scan(dirs, compile=_compile).load(text)


def resolved_at(source: str, at: dt.date | None):
    """The resolved (not compiled) ruleset a RULESET argument means on ``at`` (default today), for
    ``show``: a file's family references resolved on that date, or a name's piece in force then."""
    path = Path(source)
    if path.exists() or source.endswith((".yaml", ".yml")) or "/" in source or ":" in source:
        return load_ruleset(source, at=at)
    return Registry.scan(rulesets_dirs.get(), compile=_compile).timeline(source).at(at or dt.date.today()).compiled.resolved
