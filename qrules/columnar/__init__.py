"""The columnar backend: a whole corpus evaluated at once with polars, from the same rules.

Pipeline position: ``ruleset`` (compiled) + ``history`` (validated) -> **columnar** -> flat
result rows, as :mod:`qrules.batch` writes them. The per-subject engine (:mod:`qrules.engine`)
stays the reference and the source of explanations; this backend computes the same scores,
classes, official classes, locks and rejections for every subject at once:

- every ruleset expression it needs is compiled from the checked AST to a polars expression
  (:mod:`qrules.columnar.polarsexpr`), numbers as scaled integers at the ruleset's scale;
- deductions, repairs and rewards are rows; items, subjects, the links of 第十二条 and a
  producer's product lines (第十条) are joins, the heaviest value per event a sort;
- the decisions that depend on earlier decisions (the 180-day dedup per product line, the
  per-period repair limit, the reward cap on a subject and on a producer's line, the
  half-year adjustments and the D lock) are bounded iterations — round ``k`` decides every
  group's ``k``-th failure, repair, reward or adjustment at once.

Corrections are applied first (:mod:`qrules.columnar.corrections`); a family of versions is
evaluated by the version that decides every date (:mod:`qrules.columnar.versions`).

What it does not take, it says: :meth:`ColumnarBackend.unsupported` lists every rule or kind
of record of this ruleset and history it cannot evaluate (rules over the typed collections,
decisions across a change of version, rule fields it does not know...). The commands then fall
back to the per-subject engine and print that list — never silently.
``tests/test_columnar.py`` compares both backends subject by subject over seeded corpora.

The modules, in the order of an evaluation:

- :mod:`.backend` — :class:`ColumnarBackend`: the ruleset compiled for tables, what it cannot take;
- :mod:`.polarsexpr` — the expressions compiled a second time, to polars expressions;
- :mod:`.tables` — :class:`Tables`: the history as two polars tables, and the refusals made from them;
- :mod:`.run` — one evaluation: subjects, events, corrections (:mod:`.corrections`), facts, then the
  steps :mod:`.deductions`, :mod:`.repairs`, :mod:`.rewards` and :mod:`.results` (mixins of ``Run``);
- helpers: :mod:`.window` (earlier rows in the window), :mod:`.keys` (string keys as hashes),
  :mod:`.accounts` (sums by date as arrays), :mod:`.versions` (which version decides), :mod:`.common`.
"""

from __future__ import annotations

from .backend import ColumnarBackend
from .common import Fallback
from .tables import Tables, excluded

__all__ = ["ColumnarBackend", "Fallback", "Tables", "excluded"]
