"""Coverage of a ruleset file by test cases (``qrules test``): what it holds, what cases exercised.

Pipeline position: :mod:`qrules.casetest` runs cases and hands each result here; this module
never reads case text — "exercised" means seen in the evaluation results of the subjects a case
checks, or recorded by the compiled rules' probes (:class:`qrules.language.compiler.Probes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Coverage"]


@dataclass
class Coverage:
    """What a ruleset file holds that cases can exercise, and what they did exercise.

    Items, classes, reward rules, the cap and the lapse of repairs are read from the results of
    the subjects a case checks. Branches are read from the compiled rules themselves
    (:class:`qrules.language.compiler.Probes`): each outcome of a condition (a repair condition failing,
    the repair limit refusing, an item's or reward's ``when``, the window, the 9(2) dedup) and
    each arm of an ``a if c else b`` (a conditional ratio) counts once some case ran it.
    """

    file: str
    ruleset: str
    items: list[str]
    classes: list[str]
    repair: dict[str, str]            # key -> label
    rewards: dict[str, str]
    branches: dict[tuple, str]        # probe key -> label
    probes: Any = None
    seen: set[str] = field(default_factory=set)
    own: dict[str, Any] = field(default_factory=dict)  # a child file's own rules: label -> seen key

    @classmethod
    def of(cls, file: str, compiled, probes=None) -> "Coverage":
        m = compiled.model
        repair: dict[str, str] = {}
        if m.repair.lapses_with_deduction.value:
            repair["lapse"] = f"repair lapses with its deduction ({m.repair.lapses_with_deduction.cite or ''})"
        rewards = {code: f"reward {code} ({rule.cite or ''})" for code, rule in m.rewards.rules.items()}
        rewards["cap"] = f"reward cap ({m.rewards.cap.cite or ''})"
        branches = {}
        for key, label in (probes.declared.items() if probes is not None else ()):
            where, _ = key
            cite = compiled.resolved.cite_for(where)
            branches[key] = f"{_where(where)} {label}" + (f" ({cite})" if cite else "")
        cov = cls(file, m.ruleset, list(m.items), list(m.classes), repair, rewards, branches, probes)
        r = compiled.resolved
        if len(r.chain) > 1:  # what this file itself writes, so a change is seen to be tested
            mine = lambda path: r.span(path).file == r.chain[0]  # noqa: E731
            cov.own.update({f"item {code}": f"item:{code}" for code in m.items if mine(("items", code))})
            cov.own.update({f"reward {code}": f"reward:{code}" for code in m.rewards.rules
                            if mine(("rewards", "rules", code))})
            cov.own.update({label: key for key, label in branches.items() if mine(key[0])})
        return cov

    def observe(self, case: Any, result, version: str | None = None) -> None:
        """Record what the subjects the case checks exercised (branches record themselves); with
        ``version``, only what that version decided (entries it decided; classes at the as-of date)."""
        checked = set(case.model.expect)
        for s in result.subjects:
            if s.id not in checked:
                continue
            if version is None or getattr(result, "version_at_as_of", None) == version:
                self.seen.add(f"live:{s.live_class}")
                self.seen.add(f"official:{s.official_class}")
            for e in s.entries:
                if version is not None and getattr(e, "version", None) not in (None, version):
                    continue
                if e.kind == "deduction":
                    self.seen.add(f"item:{e.code}")
                elif e.kind == "repair" and e.status == "lapsed":
                    self.seen.add("repair:lapse")
                elif e.kind == "reward":
                    self.seen.add(f"reward:{e.code}")
                    if e.status == "capped":
                        self.seen.add("reward:cap")

    def uncovered(self) -> dict[str, list[str]]:
        hits = self.probes.hits if self.probes is not None else set()
        return {
            "items": [c for c in self.items if f"item:{c}" not in self.seen],
            "classes": [f"{w} {c}" for w in ("live", "official") for c in self.classes if f"{w}:{c}" not in self.seen],
            "repair": [label for k, label in self.repair.items() if f"repair:{k}" not in self.seen],
            "rewards": [label for k, label in self.rewards.items() if f"reward:{k}" not in self.seen],
            "branches": [label for k, label in self.branches.items() if k not in hits],
        }

    def own_uncovered(self) -> list[str]:
        """The rules this (child) file writes itself that no case exercised."""
        hits = self.probes.hits if self.probes is not None else set()
        return [label for label, key in self.own.items() if key not in hits and key not in self.seen]

    def totals(self) -> dict[str, int]:
        return {"items": len(self.items), "classes": 2 * len(self.classes), "repair": len(self.repair),
                "rewards": len(self.rewards), "branches": len(self.branches)}

    def complete(self) -> bool:
        return not any(self.uncovered().values())

    def to_dict(self) -> dict:
        unc, tot = self.uncovered(), self.totals()
        return {"file": self.file, "ruleset": self.ruleset, "complete": self.complete(),
                "own": {"total": len(self.own), "uncovered": self.own_uncovered()},
                **{k: {"total": tot[k], "covered": tot[k] - len(unc[k]), "uncovered": unc[k]} for k in tot}}


def _where(path: tuple) -> str:
    """``('repair', 'conditions', 0, 'when')`` -> ``repair.conditions[0].when``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
