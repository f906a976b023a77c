"""What the server holds: the rulesets of a folder, compiled once and reloaded when their
files change, and the histories it was given (at start-up or uploaded in a page).

A reload that fails keeps the last good version in service and records why, so a policy
officer saving a half-edited file does not take the service down; ``/api/rulesets`` and
the index page show the failure with its diagnostics.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, QrulesError


def discover_rulesets(folder: str | Path) -> tuple[dict[str, Path | None], list[Path]]:
    """The rulesets of ``folder`` by name, from the registry (issue 13): every version (its file)
    and every family (None: its versions together), and the ``*.yaml`` files that are no
    readable version (a reload of them reports why)."""
    from ..registry import Registry

    reg = Registry.scan((str(folder),))
    names: dict[str, Path | None] = {n: Path(v.file) for n, v in reg.versions.items()}
    for family in reg.families:
        names.setdefault(family, None)
    known = {Path(v.file).resolve() for v in reg.versions.values()}
    unread = [p for p in sorted(Path(folder).glob("*.yaml")) if p.is_file() and p.resolve() not in known]
    return dict(sorted(names.items())), unread


def _signature(files: list[str]) -> tuple:
    out = []
    for f in files:
        try:
            st = Path(f).stat()
            out.append((f, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((f, None, None))
    return tuple(out)


@dataclass
class RulesetSlot:
    """One ruleset file: the version in service and the outcome of the last (re)load."""

    name: str
    path: Path | None                       # the version's file (None: a family, all its versions)
    compiled: Any = None                    # the last good CompiledRuleset (None if it never checked)
    deps: list[str] = field(default_factory=list)  # the files of its extends chain
    loaded_at: float | None = None          # when the version in service was compiled
    error: list[Diagnostic] | None = None   # why the last reload failed (None: it succeeded)
    failed_at: float | None = None

    def status(self) -> dict:
        """The slot as ``/api/rulesets`` reports it."""
        m = self.compiled.model if self.compiled is not None else None
        return {"name": self.name, "file": str(self.path) if self.path else None, "ok": self.error is None,
                "in_service": m is not None, "ruleset": m.ruleset if m else None,
                "version": m.version if m else None, "title": m.title if m else None,
                "extends": list(self.compiled.resolved.chain[1:]) if m else [],
                "loaded_at": _iso(self.loaded_at), "reload_failed_at": _iso(self.failed_at),
                "diagnostics": [d.to_dict() for d in (self.error or [])]}


def _iso(t: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) if t is not None else None


class UnknownName(LookupError):
    """A ruleset or history the server does not have."""

    def __init__(self, what: str, name: str, known: list[str]):
        super().__init__(name)
        self.what, self.name, self.known = what, name, known


class Unusable(Exception):
    """A ruleset that has never checked: there is no good version to serve."""

    def __init__(self, name: str, diagnostics: list[Diagnostic]):
        super().__init__(name)
        self.name, self.diagnostics = name, diagnostics


class RulesetStore:
    """The rulesets of a folder, compiled once, reloaded when a file of their chain changes.

    ``interval`` throttles the file checks (seconds between two looks at the folder); 0 looks
    on every request (tests).
    """

    def __init__(self, folder: str | Path, interval: float = 1.0):
        self.folder = Path(folder)
        self.interval = interval
        self.slots: dict[str, RulesetSlot] = {}
        self._lock = threading.Lock()
        self._looked = float("-inf")
        self._signature: tuple = ()
        self._outside: tuple = ()
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        """Pick up new, changed and removed files (at most once per ``interval``): when any file of
        the folder changed, every name is loaded again; a failing load keeps the last good version."""
        now = time.monotonic()
        if not force and now - self._looked < self.interval:
            return
        with self._lock:
            self._looked = now
            files = [str(p) for p in sorted(self.folder.glob("*.yaml")) if p.is_file()]
            signature = _signature(files)
            outside = {f for slot in self.slots.values() for f in slot.deps if f not in files}
            if not force and signature == self._signature and _signature(sorted(outside)) == self._outside:
                return
            self._signature, self._outside = signature, _signature(sorted(outside))
            found, unread = discover_rulesets(self.folder)
            for p in unread:  # a file that is no readable version: its stem names it, with its errors
                found.setdefault(p.stem, p)
            for name, slot in list(self.slots.items()):
                if name not in found and (slot.path is None or not slot.path.exists()):
                    del self.slots[name]
                elif name not in found:
                    found[name] = slot.path
            for name, path in found.items():
                slot = self.slots.get(name)
                if slot is None:
                    slot = self.slots[name] = RulesetSlot(name, path)
                slot.path = path
                self._load(slot)

    def _load(self, slot: RulesetSlot) -> None:
        from ..registry import rulesets_dirs
        from ..versioned import load

        token = rulesets_dirs.set((str(self.folder),))
        try:
            compiled = load(str(slot.path) if slot.path is not None else slot.name)
        except QrulesError as exc:
            slot.error, slot.failed_at = exc.diagnostics, time.time()
            return
        finally:
            rulesets_dirs.reset(token)
        slot.compiled, slot.error, slot.failed_at = compiled, None, None
        slot.loaded_at = time.time()
        slot.deps = [str(f) for f in compiled.resolved.chain]

    def names(self) -> list[str]:
        self.refresh()
        return list(self.slots)

    def slot(self, name: str) -> RulesetSlot:
        self.refresh()
        slot = self.slots.get(name)
        if slot is None:
            raise UnknownName("ruleset", name, list(self.slots))
        return slot

    def get(self, name: str):
        """The compiled ruleset in service under ``name`` (the last good version)."""
        slot = self.slot(name)
        if slot.compiled is None:
            raise Unusable(name, slot.error or [])
        return slot.compiled

    def default_name(self) -> str | None:
        """The ruleset pages use when none is named: the family (else version) of the last version
        that extends another (the most local plan), else the first name."""
        names = self.names()
        usable = [n for n in names if self.slots[n].compiled is not None]
        children = [n for n in usable if self.slots[n].path is not None
                    and len(self.slots[n].compiled.resolved.chain) > 1]
        if children:
            family = getattr(self.slots[children[-1]].compiled.timeline, "family", None)
            return family if family in usable else children[-1]
        return (usable or names or [None])[-1]


@dataclass
class HeldHistory:
    key: str
    name: str                  # the file name, or the uploaded file's name
    loaded: Any                # qrules.history.load.LoadedHistory
    path: Path | None = None
    signature: tuple = ()


class HistoryStore:
    """The start-up history (``--history FILE``, reloaded when it changes) and uploads, kept by
    the digest of their text (the last ``keep`` of them)."""

    DEFAULT = "default"

    def __init__(self, path: str | Path | None = None, keep: int = 8):
        self.keep = keep
        self.uploads: OrderedDict[str, HeldHistory] = OrderedDict()
        self.default: HeldHistory | None = None
        self.default_error: list[Diagnostic] | None = None
        self._path = Path(path) if path else None
        self._lock = threading.Lock()
        if self._path is not None:
            self._load_default()

    def _load_default(self) -> None:
        from ..history.load import load_history

        assert self._path is not None
        signature = _signature([str(self._path)])
        try:
            loaded = load_history(self._path)
        except QrulesError as exc:  # keep the last good one, as for rulesets
            self.default_error = exc.diagnostics
        else:
            self.default = HeldHistory(self.DEFAULT, self._path.name, loaded, self._path, signature)
            self.default_error = None
        if self.default is not None:
            self.default.signature = signature

    def get(self, key: str | None) -> HeldHistory:
        key = key or self.DEFAULT
        if key == self.DEFAULT:
            with self._lock:
                if self._path is not None and (self.default is None
                                               or _signature([str(self._path)]) != self.default.signature):
                    self._load_default()
            if self.default is None:
                if self.default_error:
                    raise Unusable(str(self._path), self.default_error)
                raise UnknownName("history", key, list(self.uploads))
            return self.default
        held = self.uploads.get(key)
        if held is None:
            raise UnknownName("history", key, ([self.DEFAULT] if self.default else []) + list(self.uploads))
        self.uploads.move_to_end(key)
        return held

    def add_text(self, text: str, name: str) -> HeldHistory:
        """Load an uploaded history (YAML, JSON or JSON Lines). Raises QrulesError if unreadable."""
        from ..history.load import load_history_text

        key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        with self._lock:
            held = self.uploads.get(key)
            if held is None:
                loaded = load_history_text(text, name)
                held = HeldHistory(key, name, loaded)
                self.uploads[key] = held
                while len(self.uploads) > self.keep:
                    self.uploads.popitem(last=False)
            self.uploads.move_to_end(key)
            return held
