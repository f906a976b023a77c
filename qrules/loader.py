"""Ruleset loading: YAML with positions, inheritance, provenance, schema validation.

Pipeline position: ``yamlsource`` (text -> data + positions) -> **loader** (extends chain
merged key by key, every resolved value remembering the file and line it came from, then
validated by the pydantic models of ``schema``) -> ``ruleset`` (expressions compiled,
static checks).

Inheritance rules (a typo must never add a rule silently):

* ``extends: guangdong-2021`` names a ruleset in the same directory (or a path); in a
  rulesets folder (``registry``) it may name a version or a family (``extends: guangdong``:
  the version of that family in force at the date in question), chosen by the registry
  and passed in as ``parents``;
* ``transition`` (a version's own start rule, §4a) is never inherited;
* a key the child writes replaces the parent's value; mappings merge key by key;
* ``+key:`` adds a key the parent does not have, ``-key: null`` removes one;
* writing a bare key the parent does not have is an error, with a suggestion;
* lists are replaced whole.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import posixpath
import re
import subprocess
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Sequence

from pydantic import TypeAdapter, ValidationError

from .errors import Diagnostics, QrulesError, Span, did_you_mean, register_source
from .messages import pydantic_message
from .schema import Ruleset
from .yamlsource import Document, Path_, Pos, load_file, load_text, not_utf8

CODES = {
    "QR301": "the ruleset does not match the ruleset format (missing or wrongly typed value)",
    "QR302": "a child ruleset overrides a key its parent does not have (write '+key' to add one)",
    "QR303": "the parent named by 'extends' cannot be found",
    "QR304": "'extends' forms a cycle",
    "QR305": "'+key' adds a key the parent already has, or '-key' removes one it does not have",
    "QR306": "unknown top-level key",
    "QR307": "the file is not a ruleset (no mapping at the top), or a parent named by 'extends' is not one",
    "QR308": "a key holds quote characters: the '+' or '-' was written outside the quotes (+\"11.10\")",
    "QR309": "'extends' names a file outside the rulesets folder (allow more with --allow-path DIR)",
}

MAX_RULESET_BYTES = 5_000_000
TOP_LEVEL = set(Ruleset.model_fields) | {"from"}


def _at(data: Any, path: Path_) -> Any:
    """The value at ``path`` in nested mappings and lists, or None."""
    node = data
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


@dataclass
class ResolvedRuleset:
    """A ruleset after inheritance: the validated model plus where each value came from."""

    model: Ruleset
    data: dict[str, Any]
    provenance: dict[Path_, Pos]
    chain: list[str]  # files, child first
    diagnostics: list = field(default_factory=list)  # warnings collected while loading
    views: dict[str, dict] = field(default_factory=dict)  # file -> that file's own resolved data

    def cite_for(self, path: Path_) -> str | None:
        """The article in force for the value at ``path``: the nearest enclosing ``cite``.

        A child that writes a section's ``cite`` *alone* renumbers it: every value of the section,
        inherited or not, takes the new article (a successor whose classes move to 第二十五条).
        A child that writes a ``cite`` together with values of its own cites those values only:
        the values it inherits keep the article of the file that set them (Haojiang's
        ``in_force: {from: …, cite: 五(三)}`` leaves ``until`` under 第三十六条).
        """
        path = tuple(path)
        section = path
        while section:
            node = _at(self.data, section)
            if isinstance(node, dict) and isinstance(node.get("cite"), str):
                break
            section = section[:-1]
        if not section:
            return None
        cite = _at(self.data, section)["cite"]
        cite_file = self.span(section + ("cite",)).file
        value_file = self.span(path).file
        if cite_file == value_file or value_file not in self.views or self._cite_only(section, cite_file):
            return cite
        view = self.views[value_file]
        while path:
            node = _at(view, path)
            if isinstance(node, dict) and isinstance(node.get("cite"), str):
                return node["cite"]
            path = path[:-1]
        return None

    def _cite_only(self, section: Path_, file: str) -> bool:
        """Whether ``file`` writes nothing in ``section`` but its ``cite`` (a renumbering)."""
        n = len(section)
        return not any(p[:n] == section and len(p) > n and p[n] != "cite" and pos.value.file == file
                       for p, pos in self.provenance.items())

    def recited(self) -> list[tuple[Path_, str, str]]:
        """(section, parent's article, this file's article) for every ``cite`` this file changed."""
        if len(self.chain) < 2 or self.chain[1] not in self.views:
            return []
        parent = self.views[self.chain[1]]
        out = []
        for p, pos in self.provenance.items():
            if p and p[-1] == "cite" and pos.value.file == self.chain[0]:
                old = _at(parent, p)
                new = _at(self.data, p)
                if isinstance(old, str) and isinstance(new, str) and old != new:
                    out.append((p[:-1], old, new))
        return out

    @property
    def file(self) -> str:
        return self.chain[0]

    def pos(self, path: Path_) -> Pos | None:
        return self.provenance.get(tuple(path))

    def span(self, path: Path_) -> Span:
        """Span of the value at ``path`` (or its nearest ancestor) in whichever file set it."""
        path = tuple(path)
        while path:
            pos = self.provenance.get(path)
            if pos is not None:
                return pos.value
            path = path[:-1]
        return Span(self.file, 1, 1)


_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")


def is_git_source(source: str) -> bool:
    """Whether ``source`` is ``REV:path`` (a file at a git revision) rather than a file path.

    A Windows path such as ``C:\\rulesets\\x.yaml`` (a drive letter, a colon, a slash) is a path.
    """
    return ":" in source and not _WINDOWS_PATH.match(source) and not Path(source).exists()


#: Folders (besides the child's own) where a parent named by ``extends`` may live: set from
#: the command line (``qrules --allow-path DIR``) or :func:`allow_paths`, never from a ruleset.
ALLOWED_PATHS: list[Path] = []

_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./~^@{}-]*$")  # a git revision: no option, no space
_RULESET_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def allow_paths(*folders: str | Path) -> None:
    """Let ``extends`` name parents inside ``folders`` too (the user's choice, not a ruleset's)."""
    ALLOWED_PATHS.extend(Path(f).resolve() for f in folders)


def _git_source(source: str) -> tuple[str, str] | None:
    """``(rev, path)`` when ``source`` is ``REV:path`` (see :func:`is_git_source`)."""
    if not is_git_source(source):
        return None
    rev, _, rel = source.partition(":")
    return rev, rel


def _read_source(source: str, diags: Diagnostics, rev: str | None) -> Document | None:
    """Read ``source``: a file, or (``rev`` given) ``REV:path`` read from git.

    The revision and path are validated and passed after ``--end-of-options``, so no text
    can become a git option (``--output=...`` would make git write a file).
    """
    if rev is None:
        return load_file(source, diags, max_bytes=MAX_RULESET_BYTES)
    rel = source.partition(":")[2]
    if not _REVISION.match(rev) or ".." in rev or not rel or rel.startswith("-"):
        diags.add("QR001", f"'{source}' is not a valid REV:PATH (a git revision, a colon, a path in it)", None,
                  hint=_REV_HINT)
        return None
    try:
        proc = subprocess.run(["git", "show", "--end-of-options", f"{rev}:{rel}"], capture_output=True,
                              check=True, timeout=30, stdin=subprocess.DEVNULL)
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired) as exc:
        stderr = getattr(exc, "stderr", b"") or str(exc)
        stderr = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
        diags.add("QR001", f"cannot read '{source}' from git: {stderr.strip()[:300]}", None,
                  hint=_REV_HINT)
        return None
    if len(proc.stdout) > MAX_RULESET_BYTES:
        diags.add("QR001", f"'{source}' is over the {MAX_RULESET_BYTES // 1_000_000} MB limit for a ruleset", None)
        return None
    try:
        text = proc.stdout.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        diags.items.append(not_utf8(source, exc))
        return None
    return load_text(text, source, diags)


def _resolve_parent(name: str, child: str, rev: str | None, roots: list[Path]) -> tuple[str | None, str]:
    """Where ``extends: name`` of ``child`` points: ``(source, "")``, or ``(None, why refused)``.

    A ruleset id (``guangdong-2021``) names ``<id>.yaml`` beside the child; a relative path
    is taken from the child's folder. Either must end inside ``roots`` (the folder of the
    ruleset the user named, and folders the user allowed): a ruleset cannot reach other
    files. Inside a git revision the parent is read at the same revision, never another.
    """
    if not name or name.startswith("-") or "\0" in name or "\n" in name:
        return None, "not a ruleset id or a relative path"
    rel = name if "/" in name or name.endswith((".yaml", ".yml")) else f"{name}.yaml"
    if rev is not None:
        child_rel = child.partition(":")[2]
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(child_rel), rel))
        top = posixpath.dirname(roots[0].as_posix()) if roots and not roots[0].is_absolute() else ""
        if posixpath.isabs(rel) or joined == ".." or joined.startswith("../") or \
                (top and not joined.startswith(top + "/")):
            return None, "outside the folder of the ruleset named on the command line"
        return f"{rev}:{joined}", ""
    candidate = Path(rel) if Path(rel).is_absolute() else Path(child).parent / rel
    real = candidate.resolve()
    if not any(real == root or real.is_relative_to(root) for root in roots):
        return None, "outside the folder of the ruleset named on the command line"
    return str(candidate), ""


def _is_ruleset(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("ruleset"), str) and bool(_RULESET_ID.match(data["ruleset"]))


def _subtree(doc_positions: dict[Path_, Pos], prefix_from: Path_, prefix_to: Path_) -> dict[Path_, Pos]:
    n = len(prefix_from)
    return {prefix_to + p[n:]: pos for p, pos in doc_positions.items() if p[:n] == prefix_from}


def _drop(prov: dict[Path_, Pos], prefix: Path_) -> None:
    n = len(prefix)
    for p in [p for p in prov if p[:n] == prefix]:
        del prov[p]


def _quoted_keys(data: Any, doc: Document, path: Path_, diags: Diagnostics) -> None:
    """Refuse keys such as ``+"11.10"``: YAML reads the plus outside the quotes as part of a plain
    key, which would add an item whose code holds quote characters."""
    if not isinstance(data, dict):
        if isinstance(data, list):
            for i, value in enumerate(data):
                _quoted_keys(value, doc, path + (i,), diags)
        return
    for key, value in data.items():
        if isinstance(key, str) and ('"' in key or "'" in key):
            sign, bare = (key[0], key[1:]) if key[:1] in "+-" else ("", key)
            name = bare.strip("\"'")
            diags.add("QR308", f"key {key} holds quote characters（键名中含有引号：+ 或 - 写在了引号外）",
                      doc.span(path + (key,), key=True),
                      hint=f"把 {sign} 写在引号内：\"{sign}{name}\":（put the sign inside the quotes）" if sign
                      else f"键名内不加引号：\"{name}\":（write the key without inner quotes）")
            continue
        _quoted_keys(value, doc, path + (key,), diags)


def _merge(parent: dict, prov: dict[Path_, Pos], child: dict, doc: Document, path: Path_,
           diags: Diagnostics, parent_name: str) -> dict:
    """Merge ``child`` into a copy of ``parent`` (both mappings at ``path``)."""
    out = dict(parent)
    for key, value in child.items():
        cpath = path + (key,)
        kspan = doc.span(cpath, key=True)
        if not path and key == "extends":
            continue
        if key.startswith("+"):
            name = key[1:]
            if name in out:
                diags.add("QR305", f"'+{name}' adds '{name}', but {parent_name} already has it", kspan,
                          hint=f"覆盖上级的键时不加 +，写 '{name}:'（write '{name}:' to override it）")
                continue
            out[name] = value
            prov.update(_subtree(doc.positions, cpath, path + (name,)))
            continue
        if key.startswith("-"):
            name = key[1:]
            if name not in out:
                diags.add("QR305", f"'-{name}' removes '{name}', but {parent_name} has no such key", kspan,
                          hint=did_you_mean(name, out))
                continue
            del out[name]
            _drop(prov, path + (name,))
            continue
        if key not in out:
            if not path and key in TOP_LEVEL:
                out[key] = value  # an optional top-level section the parent does not use
                prov.update(_subtree(doc.positions, cpath, cpath))
                continue
            diags.add("QR302", f"'{key}' does not exist in {parent_name}"
                      f"{' under ' + '.'.join(map(str, path)) if path else ''}; an override must name an "
                      f"existing key", kspan, hint=_new_field_hint(key, path, parent_name)
                      or _unknown_key_hint(key, list(out) if path else sorted(TOP_LEVEL - {"from"}),
                                                          open_=_open_mapping(path)))
            continue
        if isinstance(value, dict) and isinstance(out[key], dict):
            prov[cpath] = doc.positions.get(cpath, prov.get(cpath))
            out[key] = _merge(out[key], prov, value, doc, cpath, diags, parent_name)
        else:
            _drop(prov, cpath)
            out[key] = value
            prov.update(_subtree(doc.positions, cpath, cpath))
    return out


def _load_raw(source: str, diags: Diagnostics, seen: list[str], roots: list[Path], rev: str | None,
              via: Span | None = None, views: dict[str, dict] | None = None, parents: Any = None
              ) -> tuple[dict, dict[Path_, Pos], list[str]] | None:
    """Load ``source`` and its ancestors; return merged data, provenance and the file chain.
    ``views`` collects each file's own resolved data (what it cites for the values it sets).

    ``via`` is the ``extends`` that named ``source`` (None for the file the user named): a
    parent that is not a ruleset is refused there without quoting any of its content.
    ``parents`` (from ``registry``) says which file an ``extends`` name means: a version, or
    the version of a family chosen for one period.
    """
    own = Diagnostics()
    doc = _read_source(source, own, rev)
    if via is not None and (doc is None or not _is_ruleset(doc.data)):
        where = next((f" (problem at {d.span})" for d in own.items if d.span and d.severity == "error"), "")
        unreadable = next((d.message for d in own.items if d.code == "QR001"), None)
        diags.add("QR307", unreadable or f"the parent '{source}' is not a ruleset{where}; its content is not "
                  "shown", via, hint=f"单独检查它：qrules check {source}（check it on its own）")
        return None
    diags.extend(own.items)
    if doc is None:
        return None
    if not isinstance(doc.data, dict):
        diags.add("QR307", f"'{source}' is not a ruleset: expected a mapping of keys such as 'ruleset:', 'items:'",
                  Span(source, 1, 1))
        return None
    data = doc.data
    if "ruleset" not in data and ("subjects" in data or "events" in data):  # the arguments swapped
        diags.add("QR307", f"'{source}' is a history (subjects, events), not a ruleset（这是历史数据文件，不是规则集）",
                  Span(source, 1, 1), hint="规则集在前，历史数据在后：qrules evaluate 规则集 历史数据"
                                           "（the ruleset comes first）")
        return None
    _quoted_keys(data, doc, (), diags)
    parent_name = data.get("extends")
    if parent_name is None and "extends" in data:
        diags.add("QR303", "'extends' names no parent ruleset（extends 后没有写上级规则集）", doc.span(("extends",)),
                  hint="写上级规则集名称，如 'extends: guangdong-2021'，或删除这一行"
                       "（write the parent's name, or delete the line）")
        return None
    if parent_name is None:
        if views is not None:
            views[source] = data
        return data, dict(doc.positions), [source]
    espan = doc.span(("extends",))
    if not isinstance(parent_name, str):
        diags.add("QR303", "'extends' must name a ruleset id or a path", espan)
        return None
    lookup = getattr(parents, "lookup", None)  # registry.FamilyParents resolves per child file
    chosen = lookup(parent_name, source) if lookup else (parents or {}).get(parent_name)
    target = parent_name
    if chosen:  # the registry's choice, as a path from the child's folder (then checked as any other)
        target = chosen if rev is not None else os.path.relpath(chosen, Path(source).parent)
    parent_file, refused = _resolve_parent(target, source, rev, roots)
    if parent_file is None:
        diags.add("QR309", f"'extends: {parent_name}' is refused: {refused}", espan,
                  hint="写同一文件夹中的规则集名称（如 guangdong-2021），或在命令行允许另一文件夹：qrules --allow-path 文件夹 ..."
                       "（name a ruleset in the same folder, or allow another folder with --allow-path）")
        return None
    key = str(Path(parent_file).resolve()) if rev is None else parent_file
    if key in seen:
        cycle = " -> ".join(Path(s).name for s in seen + [key])
        diags.add("QR304", f"'extends: {parent_name}' forms a cycle: {cycle}", espan,
                  hint="规则集不能继承自身或自己的下级规则集（a ruleset cannot inherit from itself or from one of its children）")
        return None
    if rev is None and not Path(parent_file).exists():
        diags.add("QR303", f"parent ruleset '{parent_name}' not found (looked for {parent_file})", espan,
                  hint="写同一目录中的规则集名称（如 guangdong-2021），或相对路径"
                       "（name a ruleset id in the same directory or a relative path）")
        return None
    parent = _load_raw(parent_file, diags, seen + [key], roots, rev, espan, views, parents)
    if parent is None:
        return None
    pdata, pprov, chain = parent
    if "transition" in pdata:  # a version's own start rule: never inherited (§4a)
        pdata = {k: v for k, v in pdata.items() if k != "transition"}
        pprov = {p: pos for p, pos in pprov.items() if p[:1] != ("transition",)}
    prov = dict(pprov)
    merged = _merge(pdata, prov, data, doc, (), diags, pdata.get("ruleset", parent_name))
    merged["extends"] = parent_name
    prov[("extends",)] = doc.positions[("extends",)]
    if views is not None:
        views[source] = merged
    return merged, prov, [source] + chain


def load_ruleset(source: str | Path, *, allow: Sequence[str | Path] = (), parents: dict[str, str] | None = None,
                 at: dt.date | None = None) -> ResolvedRuleset:
    """Load a ruleset file (with its parents) and validate it; raise QrulesError with every problem.

    ``source`` is a path, or ``REV:path`` for a file at a git revision. Parents named by
    ``extends`` must lie in the folder of ``source`` or in ``allow`` (or :data:`ALLOWED_PATHS`).
    ``parents``: ``extends`` name -> file, as chosen by the registry (:mod:`qrules.registry`).
    Without it, a family name in ``extends`` means the version in force on ``at`` (default
    today; else the last one before it), looked up in the ruleset's folder and ``--rulesets``.
    """
    if parents is None:
        from .registry import FamilyParents, rulesets_dirs

        parents = FamilyParents(str(source), at)
        allow = (*allow, *rulesets_dirs.get())  # the folders the user named for family names
    git = _git_source(source) if isinstance(source, str) else None  # only text the user typed
    source = str(source)
    diags = Diagnostics()
    rev = git[0] if git else None
    if git:
        roots = [Path(git[1])]  # relative: the folder inside the revision
        first = source
    else:
        roots = [Path(source).resolve().parent, *ALLOWED_PATHS, *(Path(a).resolve() for a in allow)]
        first = str(Path(source).resolve())
    views: dict[str, dict] = {}
    raw = _load_raw(source, diags, [first], roots, rev, views=views, parents=parents)
    if raw is None:
        raise QrulesError(diags.items)
    data, prov, chain = raw
    resolved_span = lambda path: _span_of(prov, path, source)  # noqa: E731
    for key in data:
        if key not in TOP_LEVEL:
            diags.add("QR306", f"unknown top-level key '{key}'", _span_of(prov, (key,), source, key=True),
                      hint=_unknown_key_hint(key, sorted(TOP_LEVEL - {"from"}), open_=False))
    locs: list[Path_] = []  # where the schema refused a value: what a partial check leaves out
    try:
        model = Ruleset.model_validate({k: v for k, v in data.items() if k in TOP_LEVEL})
    except ValidationError as exc:
        model = None
        for err in exc.errors():
            loc = tuple(err["loc"])
            locs.append(loc)
            if err["type"] == "extra_forbidden":
                parent_fields = _fields_at(loc[:-1])
                diags.add("QR301", f"unknown key '{loc[-1]}' in {'.'.join(map(str, loc[:-1])) or 'the ruleset'}",
                          _span_of(prov, loc, source, key=True),
                          hint=_unknown_key_hint(str(loc[-1]), parent_fields, open_=False))
            elif err["type"] == "missing":
                where = ".".join(map(str, loc[:-1])) or "the ruleset"
                diags.add("QR301", f"'{loc[-1]}' is required in {where}", resolved_span(loc[:-1]),
                          hint=f"add '{loc[-1]}:'（请补充 {loc[-1]}:）")
            else:
                diags.add("QR301", f"{'.'.join(map(str, loc))}: {pydantic_message(err)}", resolved_span(loc))
    if diags.has_errors or model is None:
        error = QrulesError(diags.items)
        dropped = {m.group(1) for d in diags.items if d.code in ("QR302", "QR305")
                   for m in [re.match(r"'[+-]?([^']*)'", d.message)] if m}
        error.partial = Partial(data, prov, chain, views, locs, dropped)  # type: ignore[attr-defined]
        raise error
    return ResolvedRuleset(model, data, prov, chain, diags.items, views)


@dataclass
class Partial:
    """What loaded of a ruleset that has errors: the merged data and where the schema refused it
    (``locs``), so that ``check`` can still check the rest of the file (``ruleset.check_partial``)."""

    data: dict[str, Any]
    provenance: dict[Path_, Pos]
    chain: list[str]
    views: dict[str, dict]
    locs: list[Path_]
    dropped: set[str]  # keys a child wrote that the merge refused (QR302, QR305): not follow-on errors

    def salvage(self) -> tuple[Ruleset, set[str], list[Path_]]:
        """The model of what did validate, with the sections left out and the entries pruned.

        An entry of a mapping of the ruleset's own keys that the schema refused (an item, a
        parameter, a reward rule) is left out; a fixed section it refused is None (or empty).
        The result is only checked, never evaluated.
        """
        data = copy.deepcopy({k: v for k, v in self.data.items() if k in TOP_LEVEL and k != "from"})
        pruned: list[Path_] = []
        for loc in self.locs:
            cut = next((loc[:i + 1] for i in range(1, len(loc)) if _open_mapping(loc[:i])), None)
            parent = _at(data, cut[:-1]) if cut else None
            if cut and isinstance(parent, dict) and cut[-1] in parent:
                del parent[cut[-1]]
                pruned.append(cut)
        fields: dict[str, Any] = {}
        lost: set[str] = set()
        for name, info in Ruleset.model_fields.items():
            if name in data:
                try:
                    fields[name] = TypeAdapter(Annotated[info.annotation, info]).validate_python(data[name])
                    continue
                except ValidationError:
                    lost.add(name)
            if not info.is_required() and name not in lost:
                continue
            lost.add(name)
            fields[name] = (info.get_default(call_default_factory=True) if not info.is_required()
                            else {} if typing.get_origin(info.annotation) is dict else None)
        return Ruleset.model_construct(**fields), lost, pruned


#: How to name a ruleset at a git revision.
_REV_HINT = "写作 版本:路径，如 HEAD~1:rulesets/guangdong-2021.yaml（write REV:PATH）"


def _unknown_key_hint(key: str, valid: list[str], *, open_: bool) -> str | None:
    """A misspelt key gets a suggestion; a Chinese or unknown one the list of valid keys here.
    '+key' is offered only where the ruleset chooses its own keys (items, parameters...)."""
    best = did_you_mean(key, valid)
    add = f"；新增键请写 '+{key}'（to add a new key write '+{key}'）" if open_ and key.isascii() else ""
    if best:
        return best + add
    if not valid:
        return add.lstrip("；") or None
    shown = ", ".join(valid[:30]) + (", ..." if len(valid) > 30 else "")
    return f"此处可用的键（valid keys here）：{shown}{add}"


def _new_field_hint(key: str, path: Path_, parent_name: str) -> str | None:
    """A field the format has here but the parent does not set (an item's ``when``, ``spot_check``):
    adding it takes '+', which the list of the parent's keys would not say."""
    fields = _fields_at(path)
    if key not in fields and key + "_" not in fields:
        return None
    return (f"上级 {parent_name} 未设置此键，新增请写 '+{key}'"
            f"（'{key}' is a field here that {parent_name} does not set: write '+{key}' to add it）")


def _open_mapping(path: Path_) -> bool:
    """Whether the mapping at ``path`` has keys of the ruleset's choosing (a ``dict`` in the
    schema: items, parameters, rules...) rather than a fixed set of fields."""
    import types
    import typing

    def unwrap(ann: Any) -> Any:
        if typing.get_origin(ann) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            return next((a for a in args if typing.get_origin(a) is dict or hasattr(a, "model_fields")),
                        args[0] if args else ann)
        if typing.get_origin(ann) is typing.Annotated:
            return unwrap(typing.get_args(ann)[0])
        return ann

    ann: Any = Ruleset
    for part in path:
        ann = unwrap(ann)
        if hasattr(ann, "model_fields"):
            fields = ann.model_fields
            info = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
            if info is None:
                return False
            ann = info.annotation
        elif typing.get_origin(ann) is dict:
            ann = typing.get_args(ann)[1]
        else:
            return False
    return typing.get_origin(unwrap(ann)) is dict


def _span_of(prov: dict[Path_, Pos], path: Path_, file: str, *, key: bool = False) -> Span:
    path = tuple(path)
    while path:
        pos = prov.get(path)
        if pos is not None:
            return (pos.key or pos.value) if key else pos.value
        path = path[:-1]
    return Span(file, 1, 1)


def _fields_at(loc: Path_) -> list[str]:
    """Field names of the model at ``loc`` (for did-you-mean on unknown keys)."""
    model: Any = Ruleset
    keyed = False  # the last step was into a mapping's values: the next part is one of its keys
    for part in loc:
        info = getattr(model, "model_fields", {}).get(part) if isinstance(part, str) else None
        if info is None:
            if keyed:  # items."11.1": the value model is already the one stepped into
                keyed = False
                continue
            # dict values: step into the value model
            ann = getattr(model, "__args__", None)
            if ann:
                model = ann[-1]
                continue
            return []
        model = info.annotation
        args = getattr(model, "__args__", None)
        keyed = getattr(model, "__origin__", None) is dict
        if args and not hasattr(model, "model_fields"):
            model = next((a for a in args[::-1] if hasattr(a, "model_fields")), args[-1])
    return list(getattr(model, "model_fields", {}))


def register_text(file: str, text: str) -> None:
    """Expose in-memory ruleset text to error rendering (used for git revisions)."""
    register_source(file, text)
