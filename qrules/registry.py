"""A rulesets folder as families of versions (brief §4a).

Pipeline position: files in a folder -> **registry** (names, families, periods, proofs; no
compiling, so ``loader`` can read families) -> ``versioned`` (each piece loaded and compiled
through the ``compile`` step it gives the registry) -> ``versions.Timeline`` -> engine.

Each ruleset file is one *version* (``ruleset: guangdong-2021``) of a *family*
(``family: guangdong``; default: inherited through a pinned ``extends``, else its own
name) with an ``in_force`` period. The versions of a family must not overlap (an error
naming both and the shared dates) and should leave no gap (a warning naming the dates),
the way the classes partition the score line. ``extends`` may name a version (pinned) or
a family (the version of that family in force at the date in question): a version that
follows a family becomes one compiled *piece* per period of the family it follows.

A RULESET argument is a file (one version), a version name or a family name::

    reg = qrules.versioned.load_rulesets("rulesets")
    haojiang = reg.load("haojiang")          # a CompiledRuleset whose .timeline covers every period
"""

from __future__ import annotations

import contextvars
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Diagnostic, Diagnostics, QrulesError, Span, did_you_mean
from .versions import Piece, Timeline
from .yamlsource import Document, load_file

CODES = {
    "QR901": "two rulesets in the folder have the same name",
    "QR902": "two versions of a family are in force on the same dates",
    "QR903": "a family has a gap: dates on which none of its versions is in force",
    "QR904": "'extends' names a family that has no version in force on some date of the child's period",
    "QR905": "a version extends its own family (it would inherit from itself)",
    "QR906": "a RULESET name is neither a file nor a version or family in the rulesets folder",
    "QR907": "no version in force on a date the evaluation needed (with --require-in-force)",
    "QR908": "a family's last version has ended: later dates are evaluated under it, with a notice",
    "QR909": "a folder given as rulesets holds no ruleset file",
}

DEFAULT_DIRS = ("rulesets",)
#: Folders searched for version and family names (the CLI's ``--rulesets``).
rulesets_dirs: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("rulesets_dirs",
                                                                               default=DEFAULT_DIRS)
FAR = dt.date(9999, 12, 31)


@dataclass
class Version:
    """What the registry reads of one ruleset file before loading it."""

    name: str
    file: str
    doc: Document
    family: str = ""
    extends: str | None = None
    start: dt.date | None = None
    until: dt.date | None = None
    transition: str = "keep"

    def span(self, *path, key: bool = False) -> Span:
        return self.doc.span(tuple(path), key=key)

    @property
    def period(self) -> str:
        return f"{self.start}..{self.until or '(open)'}"


def _date(value: Any) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


def _written(section: Any) -> dict:
    """The keys a file writes in ``section`` as the loader merges them: ``+k`` adds ``k``, ``-k``
    removes it (``-until: null`` leaves a successor open-ended, not with its parent's end)."""
    if not isinstance(section, dict):
        return {}
    out = {}
    for key, value in section.items():
        name = key[1:] if isinstance(key, str) and key[:1] in "+-" else key
        out[name] = None if isinstance(key, str) and key.startswith("-") else value
    return out


@dataclass
class Registry:
    """The versions and families of one or more rulesets folders."""

    dirs: tuple[str, ...]
    versions: dict[str, Version] = field(default_factory=dict)
    families: dict[str, list[Version]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    duplicates: dict[str, Diagnostic] = field(default_factory=dict)  # name -> QR901
    _timelines: dict[str, Timeline] = field(default_factory=dict, repr=False)
    #: ``compile(file, parents, allow) -> CompiledRuleset``, given by :mod:`qrules.versioned`; the
    #: registry itself only reads folders, so the loader can use it without an import cycle.
    compile: Any = field(default=None, repr=False)

    # -- reading the folder -------------------------------------------------------------------
    @classmethod
    def scan(cls, dirs: tuple[str, ...] | list[str], compile: Any = None) -> "Registry":
        reg = cls(tuple(str(d) for d in dirs), compile=compile)
        diags = Diagnostics()
        files = [str(f) for d in reg.dirs if Path(d).is_dir()
                 for f in sorted(Path(d).glob("*.y*ml")) if f.suffix in (".yaml", ".yml")]
        for f in files:
            doc = load_file(f, diags)
            if doc is None or not isinstance(doc.data, dict) or not isinstance(doc.data.get("ruleset"), str):
                continue  # not a ruleset: `qrules check FILE` reports it
            data = doc.data
            v = Version(data["ruleset"], f, doc, extends=data.get("extends") if isinstance(data.get("extends"), str)
                        else None)
            other = reg.versions.get(v.name)
            if other is not None:
                reg.duplicates[v.name] = diags.add("QR901", f"two rulesets are named '{v.name}': {other.file} and {f}"
                          f"（规则集名称重复）", v.span("ruleset"),
                          hint="每个版本使用不同的名称，如 guangdong-2026（each version needs its own name）")
                continue
            reg.versions[v.name] = v
        for v in reg.versions.values():
            reg._settle(v, [])
        for v in reg.versions.values():
            reg.families.setdefault(v.family, []).append(v)
        for fam in reg.families.values():
            fam.sort(key=lambda v: (v.start or dt.date.min, v.name))
        reg.diagnostics = [d for d in diags.items if d.code in CODES]
        return reg

    def _settle(self, v: Version, seen: list[str]) -> None:
        """Family, period and transition: written in the file, else inherited through a pinned parent."""
        if v.family or v.name in seen:
            return
        data = v.doc.data
        parent = self.versions.get(v.extends or "")
        if parent is not None:
            self._settle(parent, seen + [v.name])
        own = _written(data.get("in_force"))
        inherits = parent is not None and self.family_of(v.extends) is None
        v.start = _date(own.get("from")) or (parent.start if inherits and parent else None)
        if "until" in own:
            v.until = _date(own.get("until"))
        elif inherits and parent is not None:
            v.until = parent.until
        v.transition = data.get("transition") if data.get("transition") in ("keep", "redecide") else "keep"
        fam = data.get("family")
        v.family = fam if isinstance(fam, str) else (parent.family if inherits and parent else v.name)

    def family_of(self, name: str | None) -> str | None:
        """``name`` when it is a family name (and not also a version name), else None."""
        if not name or name in self.versions:
            return None
        return name if any(v.family == name for v in self.versions.values()) else None

    # -- proofs ---------------------------------------------------------------------------------
    def check(self) -> list[Diagnostic]:
        """Duplicate names, overlaps and gaps per family, family references that resolve to nothing."""
        diags = Diagnostics()
        diags.extend(self.diagnostics)
        for family, versions in sorted(self.families.items()):
            for a, b in zip(versions, versions[1:]):
                if a.start is None or b.start is None:
                    continue
                a_end = a.until or FAR
                if b.start <= a_end:
                    last = min(a_end, b.until or FAR)
                    diags.add("QR902", f"versions {a.name} ({a.period}) and {b.name} ({b.period}) of family "
                              f"'{family}' are both in force from {b.start} to "
                              f"{last if last != FAR else '(open)'}（同一规则族的两个版本施行期重叠）",
                              b.span("in_force"), hint=f"让 {a.name} 在 {b.start} 前一日终止，或让 {b.name} 在 {a.until} 之后开始施行"
                              f"（end {a.name} on the day before {b.start}, or start {b.name} after {a.until}）")
                elif (a.until + dt.timedelta(days=1)) < b.start:
                    diags.add("QR903", f"family '{family}' has no version in force from "
                              f"{a.until + dt.timedelta(days=1)} to {b.start - dt.timedelta(days=1)} "
                              f"(between {a.name} and {b.name}); those dates are evaluated under {a.name}"
                              f"（规则族在此期间无有效版本，按上一版本评价并提示）", b.span("in_force"),
                              severity="warning", hint=f"如无意留出空档，让 {b.name} 自 {a.until + dt.timedelta(days=1)} 起施行"
                              "（start it the day after if nothing was meant to lapse）")
            last = versions[-1]
            if last.until is not None and len(versions) and not any(self.family_of(v.extends) for v in versions):
                diags.add("QR908", f"family '{family}' has no version after {last.until} ({last.name}): later "
                          f"dates are evaluated under {last.name} and every result says so"
                          f"（{last.until} 之后无有效版本）", last.span("in_force", "until"), severity="info",
                          hint="后续版本发布后，加入这个文件夹（add the successor version to this folder when it is issued）")
        for v in self.versions.values():
            self._check_family_ref(v, diags)
        return diags.items

    def _check_family_ref(self, v: Version, diags: Diagnostics) -> None:
        family = self.family_of(v.extends)
        if family is None:
            return
        where = v.span("extends")
        if family == v.family:
            diags.add("QR905", f"{v.name} extends its own family '{family}': on its own dates that is {v.name} "
                      f"itself（版本通过规则族继承了自身）", where,
                      hint="后续版本按名称继承上一版本，如 'extends: guangdong-2021'（a successor extends the previous version by name）")
            return
        parents = [p for p in self.families[family] if p.start is not None]
        if v.start is None or not parents:
            return
        first = parents[0].start
        if v.start < first:
            diags.add("QR904", f"{v.name} follows family '{family}' from {v.start}, but no version of '{family}' "
                      f"is in force before {first}: from {v.start} to {first - dt.timedelta(days=1)} "
                      f"'extends: {family}' resolves to nothing（此期间所继承的规则族没有任何版本）", where,
                      hint=f"让 {v.name} 自 {first} 或之后施行，或指定版本：'extends: {parents[0].name}'"
                      f"（start {v.name} on {first} or later, or pin a version）")

    # -- resolving names ------------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(set(self.versions) | set(self.families))

    def timeline(self, name: str) -> Timeline:
        """The compiled pieces of a version or a family name (raise QrulesError with every problem)."""
        hit = self._timelines.get(name)
        if hit is not None:
            return hit
        if name in self.versions:
            v = self.versions[name]
            pieces = self._pieces(v, [])
            family = v.family
        elif self.family_of(name):
            family = name
            pieces = []
            for v in self.families[name]:
                pieces += self._pieces(v, [])
        else:
            hint = did_you_mean(name, self.names())
            raise QrulesError(Diagnostic(
                "QR906", f"'{name}' is not a ruleset file, nor a version or family in {', '.join(self.dirs)}"
                f"（找不到规则集）", None,
                hint=(hint + "；" if hint else "") + f"已有的规则集（known）：{', '.join(self.names()) or '（无）'}；"
                "或用 --rulesets 指定规则集文件夹（or pass --rulesets DIR）"))
        files = {p.compiled.resolved.file for p in pieces} | {f for p in pieces for f in p.compiled.resolved.chain}
        files |= {v.file for v in self.versions.values() if v.name == name or v.family == name}
        problems = [d for d in self.check() if d.severity == "error" and d.span is not None and d.span.file in files]
        named = {label for p in pieces for label in p.label.split("/")} | {name}
        problems += [d for n, d in self.duplicates.items() if n in named and d not in problems]
        if problems:
            raise QrulesError(problems)
        pieces.sort(key=lambda p: p.start)
        tl = self._timelines[name] = Timeline(name, pieces, family)
        return tl

    def _periods(self, v: Version, seen: list[str]) -> list[tuple]:
        """(start, until, parents mapping, labels, transition) for each period of ``v``: one, unless
        ``v`` follows a family (directly or through a pinned parent), then one per version followed."""
        if v.name in seen:
            return []
        start, until = v.start or dt.date.min, v.until or FAR
        family = self.family_of(v.extends)
        pinned = self.versions.get(v.extends or "")
        if family is None and (pinned is None or not self._follows_family(pinned, seen + [v.name])):
            return [(start, v.until, {}, [v.name], v.transition)]
        parents = self.families[family] if family is not None else [pinned]
        out = []
        for parent in parents:
            for pstart, puntil, pmap, plabels, ptrans in self._periods(parent, seen + [v.name]):
                lo, hi = max(start, pstart), min(until, puntil or FAR)
                if lo > hi:
                    continue
                mapping = {**pmap, v.extends: parent.file}
                opens = [t for t, begins in ((ptrans, lo == pstart), (v.transition, lo == start)) if begins]
                transition = "redecide" if "redecide" in opens else "keep"
                labels = [v.name] + (plabels if family is not None else plabels[1:])
                out.append((lo, None if hi == FAR else hi, mapping, labels, transition))
        return out

    def _follows_family(self, v: Version, seen: list[str]) -> bool:
        if v.name in seen:
            return False
        if self.family_of(v.extends):
            return True
        parent = self.versions.get(v.extends or "")
        return parent is not None and self._follows_family(parent, seen + [v.name])

    def _pieces(self, v: Version, seen: list[str]) -> list[Piece]:
        if self.compile is None:
            raise TypeError("this Registry only reads folders: use qrules.versioned.load_rulesets() to compile")
        pieces = []
        errors: list[Diagnostic] = []
        for start, until, mapping, labels, transition in self._periods(v, seen):
            mapping = {**{n: x.file for n, x in self.versions.items()}, **mapping}
            try:
                compiled = self.compile(v.file, mapping, self.dirs)
            except QrulesError as exc:
                errors += [d for d in exc.diagnostics if d not in errors]
                continue
            pieces.append(Piece("/".join(labels), start, until, compiled, transition,
                                compiled.model.in_force.cite))
        if errors:
            raise QrulesError(errors)
        return pieces

    def load(self, name: str):
        """The compiled ruleset for a version or family name, with its :class:`Timeline` attached.

        The returned object is the piece in force today (else the last one): commands that show a
        single ruleset use it; evaluation uses ``.timeline`` to pick the piece for each date."""
        tl = self.timeline(name)
        face = tl.at(dt.date.today()).compiled
        import copy

        face = copy.copy(face)
        face.timeline = tl
        return face


class FamilyParents:
    """``extends`` names for a file loaded on its own: a family name resolves to the version in force
    on ``at`` (default today; else the last before it) among the file's folder and ``--rulesets``."""

    def __init__(self, child: str, at: dt.date | None):
        self.child, self.at = child, at

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.lookup(name, self.child) or default

    def lookup(self, name: str, child: str) -> str | None:
        """The file for ``extends: name`` written in ``child`` (None: the loader's own rule applies).

        For a file at a git revision (``REV:dir/child.yaml``) the family is resolved among the
        working tree's files of that folder; the answer is a file name read at the same revision."""
        if "/" in name or name.endswith((".yaml", ".yml")):
            return None
        rev = None
        if ":" in child and not Path(child).exists():
            rev, _, child = child.partition(":")
        elif (Path(child).parent / f"{name}.yaml").is_file():
            return None
        folder = Path(child).parent
        dirs = ((str(folder),) if folder.is_dir() else ()) + (() if rev else rulesets_dirs.get())
        reg = Registry.scan(dirs)
        if name in reg.versions:
            found = reg.versions[name].file
        elif reg.family_of(name) is None:
            return None
        else:
            day = self.at or dt.date.today()
            versions = [v for v in reg.families[name] if v.start is not None]
            chosen = [v for v in versions if v.start <= day] or versions[:1]
            if not chosen:
                return None
            found = chosen[-1].file
        return Path(found).name if rev else found


def needs_registry(file: str) -> bool:
    """Whether a file's ``extends`` chain names something that is not a sibling file (a family)."""
    seen: set[str] = set()
    while file not in seen:
        seen.add(file)
        doc = load_file(file, Diagnostics())
        parent = doc.data.get("extends") if doc is not None and isinstance(doc.data, dict) else None
        if not isinstance(parent, str):
            return False
        nxt = str(Path(file).parent / (parent if "/" in parent or parent.endswith((".yaml", ".yml"))
                                       else f"{parent}.yaml"))
        if not Path(nxt).is_file():
            return "/" not in parent and not parent.endswith((".yaml", ".yml"))
        file = nxt
    return False


def check_folders(folders: list[str], failed: Any = ()) -> tuple[list[Diagnostic], dict, list[str]]:
    """``qrules check DIR...``: the families of these folders together, their periods proved (no
    overlap; gaps warned). Returns the diagnostics, a JSON-ready report and the text lines.

    ``failed``: the files whose own check found errors. A family with such a version (or one whose
    period cannot be read), or any family when a failed file is not readable as a version at all,
    is reported as not proven rather than as free of overlap: the proof would leave that file out."""
    reg = Registry.scan(tuple(folders))
    failed = {Path(f).resolve() for f in failed}
    unread = sorted(str(f) for f in failed - {Path(v.file).resolve() for v in reg.versions.values()})
    diags = reg.check()
    if unread:  # a file that could not be read may be a successor: "no version after ..." is not known
        diags = [d for d in diags if d.code != "QR908"]
    for folder in folders:
        if not any(Path(v.file).parent.resolve() == Path(folder).resolve() for v in reg.versions.values()):
            diags.append(Diagnostic("QR909", f"'{folder}' holds no ruleset file (*.yaml with 'ruleset:')"
                                    f"（文件夹中没有规则集）", Span(folder, 1, 1),
                                    hint="给出规则集文件，或存放规则集的文件夹（如 rulesets/）（name ruleset files, or their folder）"))
    errors = {d.span.file for d in diags if d.severity == "error" and d.code == "QR902" and d.span}
    families, lines, unproven = {}, [], []
    for family, versions in sorted(reg.families.items()):
        families[family] = [{"version": v.name, "file": v.file, "from": v.start, "until": v.until,
                             "extends": v.extends, "transition": v.transition} for v in versions]
        periods = "; ".join(f"{v.name} {v.period}" + (f" (follows {v.extends})" if reg.family_of(v.extends)
                                                        else "") for v in versions)
        overlap = any(v.file in errors for v in versions)
        blocked = [v.name for v in versions if Path(v.file).resolve() in failed or v.start is None] + unread
        if blocked and not overlap:
            unproven.append(family)
        lines.append(f"family {family}: {periods} — " + (
            "OVERLAP（施行期重叠）" if overlap else
            f"not proven: {', '.join(blocked)} has errors; fix them and check again"
            f"（有错误，未能证明施行期无重叠，请改正后重新检查）" if blocked else "no overlap（施行期无重叠）"))
    ok = not any(d.severity == "error" for d in diags) and not unproven
    return diags, {"folders": folders, "ok": ok, "families": families, "unproven": unproven,
                   "diagnostics": [d.to_dict() for d in diags]}, lines
