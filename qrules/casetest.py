"""Test cases as data: ``qrules test PATH...`` runs YAML case files written by policy staff.

Pipeline position: a case file names a ruleset (``loader`` -> ``ruleset``), gives a small
history (``history``) and an as-of date, and states the expected results; the runner
evaluates (``engine``) and compares field by field. A failure prints expected vs actual
and the subject's explanation (``engine.explain``). After the run a coverage report says,
per ruleset file, which items, classes, repair rules and reward rules no case exercised;
"exercised" is read from the evaluation results of the subjects and events a case checks,
never from the case text. The format is documented in ``docs/casetest.md``.

A case may override parameters (``parameters: {window: "24 months"}``) to test a
what-if: the resolved ruleset is recompiled with the new value text, nothing is written.
Compiled rulesets are cached per (file, overrides), so a suite compiles each once.

Error codes are QR8xx (:data:`CODES`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .engine.results import EntryStatus
from .errors import Diagnostic, Diagnostics, QrulesError, Span, did_you_mean
from .history.kinds import subjects_concerned
from .messages import pydantic_message
from .output import json_ready
from .language.runtime import plain
from .coverage import Coverage
from .yamlsource import Document, Pos, load_file

__all__ = ["CODES", "register", "run_paths", "collect", "CaseOutcome", "Coverage"]

CODES = {
    "QR801": "the file is not a case file (no 'cases:' list, or not a mapping)",
    "QR802": "a case does not match the case format (unknown key, wrong type, missing value)",
    "QR803": "the ruleset a case names cannot be found or does not check",
    "QR804": "a parameter override names an unknown parameter or has an invalid value",
    "QR805": "an expectation names a subject or event that is not in the case's history",
    "QR806": "the case's history cannot be read",
}

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2

# -- the case format ------------------------------------------------------------------------


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class MeasuresExpect(_M):
    """Any subset of the official class's measures (第二十七条)."""

    mode: str | None = None
    mode_en: str | None = None
    notice: str | None = None
    checks_per_year: int | None = None
    random_checks: bool | None = None
    interview: str | None = None




class EntryExpect(_M):
    """An entry of the subject's account, found by its event id."""

    status: EntryStatus | None = None
    points: Decimal | None = None       # the value decided for the entry (negative for deductions)
    counted: Decimal | None = None      # what it contributes at the as-of date
    ordinal: int | None = None
    code: str | None = None
    version: str | None = None          # the version that decided it (brief §4a: the one in force on its date)


class AdjustmentExpect(_M):
    """A half-year adjustment of the subject (第二十六条第二款), found by its date."""

    score: Decimal | None = None        # the score of the eve it was set from
    class_: str | None = Field(default=None, alias="class")   # the class that score gives
    official: str | None = None         # the official class set (a D lock may keep D)
    locked: bool | None = None
    version: str | None = None          # the version in force on the adjustment date (brief §4a)


class SubjectExpect(_M):
    score: Decimal | None = None
    class_: str | None = Field(default=None, alias="class")
    official: str | None = None
    measures: MeasuresExpect | None = None
    lock_until: dt.date | None = None
    scored: bool | None = None
    excluded: bool | None = None
    determined_by: str | None = None
    flags: dict[str, bool] | None = None
    rejected: list[str] | None = None
    entries: dict[str, Union[str, EntryExpect]] | None = None
    adjustments: dict[dt.date, AdjustmentExpect] | None = None


def _to_name(value: Any) -> Any:
    """A case name written as a bare number (``name: 11.6``) keeps its text."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return value


class CaseModel(_M):
    name: Annotated[str, BeforeValidator(_to_name)]
    ruleset: Union[str, list[str], None] = None
    as_of: dt.date | None = None
    as_known_at: dt.date | None = None   # brief §4a: only the records entered by then (their `recorded`)
    parameters: dict[str, Any] | None = None
    history: Union[str, dict, None] = None
    expect: dict[str, SubjectExpect] = {}
    rejected: dict[str, Union[str, list[str]]] = {}
    input_errors: list[str] = []
    warnings: list[str] | None = None
    note: str | None = None


class CaseFileModel(_M):
    ruleset: Union[str, list[str], None] = None
    title: str | None = None
    note: str | None = None
    as_of: dt.date | None = None
    as_known_at: dt.date | None = None
    parameters: dict[str, Any] | None = None
    history: Union[str, dict, None] = None
    cases: list[dict] = Field(min_length=1)


_MEASURE_FIELDS = ("mode", "mode_en", "notice", "checks_per_year", "random_checks", "interview")


@dataclass
class Case:
    """One case, bound to one ruleset (a case naming two rulesets runs twice)."""

    file: str
    index: int
    name: str
    span: Span
    ruleset: str                      # path as given, resolved against the case file; or a name
    ruleset_label: str | None         # shown when the case runs against several rulesets
    as_of: dt.date
    overrides: tuple[tuple[str, str, Pos | None], ...]
    override_path: tuple
    history: str | dict
    history_path: tuple               # where the inline history sits in the case document
    model: CaseModel
    doc: Document
    by_name: bool = False             # ``ruleset:`` names a version or family (brief §4a), not a file
    as_known_at: dt.date | None = None  # brief §4a: what was known at that date reproduced

    @property
    def id(self) -> str:
        label = f" [{self.ruleset_label}]" if self.ruleset_label else ""
        return f"{self.file}::{self.name}{label}"


@dataclass
class BrokenCase:
    """A case that does not match the format: reported, not run."""

    file: str
    name: str
    line: int
    diagnostics: list[Diagnostic]

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


@dataclass
class Failure:
    field: str
    expected: Any
    actual: Any

    def text(self) -> str:
        return f"{self.field}: expected {_show(self.expected)}, got {_show(self.actual)}"


@dataclass
class CaseOutcome:
    case_id: str
    file: str
    name: str
    line: int | None
    ruleset: str | None
    status: str                       # pass | fail | error
    failures: list[Failure] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    explanation: str = ""

    def to_dict(self) -> dict:
        return {"id": self.case_id, "file": self.file, "name": self.name, "line": self.line,
                "ruleset": self.ruleset, "status": self.status,
                "failures": [{"field": f.field, "expected": json_ready(f.expected), "actual": json_ready(f.actual)}
                             for f in self.failures],
                "diagnostics": [d.to_dict() for d in self.diagnostics],
                "explanation": self.explanation or None}


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return plain(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)




def _text_value(value: Any) -> str:
    """A parameter override as expression text (``24 months``, ``3``, ``true``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _validation_diags(exc: ValidationError, doc: Document, base: tuple, diags: Diagnostics) -> None:
    seen: set = set()
    for err in exc.errors():
        loc: tuple = base
        parts = list(err["loc"])
        for i, part in enumerate(parts):  # drop pydantic's union-branch tags: keep the keys of the file
            if loc + (part,) in doc.positions or i == len(parts) - 1:
                loc = loc + (part,)
        if loc in seen:
            continue
        seen.add(loc)
        if err["type"] == "extra_forbidden":
            fields = _fields_for(loc[len(base):-1])
            diags.add("QR802", f"unknown key '{loc[-1]}'", doc.span(loc, key=True),
                      hint=did_you_mean(str(loc[-1]), fields) or ("可用的键（allowed）：" + ", ".join(fields) if fields else None))
        elif err["type"] == "missing":
            diags.add("QR802", f"'{loc[-1]}' is required here", doc.span(loc[:-1]), hint=f"add '{loc[-1]}:'（请补充 {loc[-1]}:）")
        else:
            where = ".".join(str(p) for p in loc[len(base):])
            diags.add("QR802", f"{where or 'value'}: {pydantic_message(err)}", doc.span(loc))


def _fields_for(loc: tuple) -> list[str]:
    """Allowed keys at a place in a case (for did-you-mean)."""
    names = [p for p in loc if isinstance(p, str)]
    if not names:
        return list(CaseModel.model_fields) if loc else list(CaseFileModel.model_fields)
    model: Any = CaseModel
    if names[0] == "expect":
        model = SubjectExpect
        if "measures" in names:
            model = MeasuresExpect
        elif "entries" in names:
            model = EntryExpect
    out = []
    for name, info in model.model_fields.items():
        out.append(info.alias or name)
    return out


def _resolve(base_file: str, rel: str) -> str:
    p = Path(rel)
    if p.is_absolute():
        return str(p)
    return str(Path(base_file).parent / p)


def _display(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(Path(path).resolve())


def load_cases(path: str, diags: Diagnostics, doc: Document | None = None) -> list[Case | BrokenCase] | None:
    """Read a case file: its cases (one per ruleset named), or :class:`BrokenCase` for a case
    that does not match the format. Problems with the file as a whole go into ``diags``."""
    doc = doc or load_file(path, diags)
    if doc is None:
        return None
    if not isinstance(doc.data, dict) or "cases" not in doc.data:
        diags.add("QR801", "not a case file: expected a mapping with 'ruleset:' and a 'cases:' list",
                  Span(path, 1, 1), hint="格式见 docs/casetest.md（see docs/casetest.md for the format）")
        return None
    head = {k: v for k, v in doc.data.items() if k != "cases"}
    try:
        top = CaseFileModel.model_validate({**head, "cases": doc.data["cases"]})
    except ValidationError as exc:
        _validation_diags(exc, doc, (), diags)
        return None
    cases: list[Case | BrokenCase] = []
    for i, raw in enumerate(top.cases):
        base = ("cases", i)
        name = _to_name(raw.get("name")) if isinstance(raw, dict) else None
        name = name if isinstance(name, str) else f"#{i + 1}"
        case_diags = Diagnostics()
        cases.append(BrokenCase(path, name, doc.span(base).line, case_diags.items))
        if not isinstance(raw, dict):
            case_diags.add("QR802", "a case must be a mapping with 'name:', 'as_of:', 'history:' and 'expect:'",
                           doc.span(base))
            continue
        try:
            model = CaseModel.model_validate(raw)
        except ValidationError as exc:
            _validation_diags(exc, doc, base, case_diags)
            case_diags.items.sort(key=lambda d: (d.span.line, d.span.col) if d.span else (0, 0))
            continue
        case = _bind(path, doc, top, model, i, case_diags)
        if case_diags.items:
            continue
        cases.pop()
        cases.extend(case)
    return cases


def _bind(path: str, doc: Document, top: CaseFileModel, model: CaseModel, i: int,
          diags: Diagnostics) -> list[Case]:
    """Apply the file-level defaults to a case; one Case per ruleset it names."""
    base = ("cases", i)
    span = doc.span(base + ("name",))
    rulesets = model.ruleset if model.ruleset is not None else top.ruleset
    rpath = base + ("ruleset",) if model.ruleset is not None else ("ruleset",)
    if rulesets is None:
        diags.add("QR802", f"case '{model.name}' names no ruleset", span,
                  hint="在文件开头或用例中写 ruleset:，如 'ruleset: ../guangdong-2021.yaml'"
                       "（add 'ruleset:' at the top of the file or in the case）")
    as_of = model.as_of or top.as_of
    if as_of is None:
        diags.add("QR802", f"case '{model.name}' has no as_of date", span, hint="add 'as_of: 2024-03-01'（请写评估日期 as_of）")
    known = model.as_known_at or top.as_known_at
    from .history import date_out_of_range

    for key, value in (("as_of", as_of), ("as_known_at", known)):  # a typo such as 9999: said at its line
        if value is not None and date_out_of_range(value):
            where = base + (key,) if getattr(model, key) is not None else (key,)
            diags.add("QR520", f"{key}: {date_out_of_range(value)}", doc.span(where),
                      hint="写 1900-01-01 至 2199-12-31 之间的日期（write a date from 1900-01-01 to 2199-12-31）")
    if known is not None and as_of is not None and known > as_of:
        kpath = base + ("as_known_at",) if model.as_known_at is not None else ("as_known_at",)
        diags.add("QR802", f"case '{model.name}': as_known_at {known} is after as_of {as_of}", doc.span(kpath),
                  hint="as_known_at 不能晚于 as_of（what was known at a date is evaluated as of that date or later）")
    history = model.history if model.history is not None else top.history
    hpath = base + ("history",) if model.history is not None else ("history",)
    if history is None:
        diags.add("QR802", f"case '{model.name}' has no history", span,
                  hint="请写 history:，含 subjects 和 events，或历史数据文件的路径"
                       "（add 'history:' with subjects and events, or a path to a history file）")
    params: dict[str, tuple[Any, tuple]] = {}
    for pbase, pmap in ((("parameters",), top.parameters), (base + ("parameters",), model.parameters)):
        for name, value in (pmap or {}).items():
            params[name] = (value, pbase + (name,))
    if diags.items:
        return []
    overrides = tuple(sorted((name, _text_value(v), doc.positions.get(p)) for name, (v, p) in params.items()))
    names = [rulesets] if isinstance(rulesets, str) else list(rulesets)
    out = []
    for j, rel in enumerate(names):
        label = Path(rel).stem if len(names) > 1 else None
        by_name = _is_name(path, rel)
        out.append(Case(file=path, index=i, name=model.name, span=span,
                        ruleset=rel if by_name else _resolve(path, rel),
                        ruleset_label=label, as_of=as_of, overrides=overrides,
                        override_path=rpath + ((j,) if len(names) > 1 else ()),
                        history=history, history_path=hpath, model=model, doc=doc, by_name=by_name,
                        as_known_at=known))
    return out


def _is_name(case_file: str, rel: str) -> bool:
    """``ruleset: guangdong`` (a family) or ``guangdong-2021`` (a version) rather than a file path:
    no folder, no YAML suffix, and no such file beside the case file."""
    return not (rel.endswith((".yaml", ".yml")) or "/" in rel or "\\" in rel or ":" in rel
                or Path(_resolve(case_file, rel)).exists())


def name_dirs(case_file: str) -> tuple[str, ...]:
    """Where a case's ruleset name is looked up: the folder above the case file's folder (cases
    live in ``rulesets/tests/``), then the ``--rulesets`` folders (default ``rulesets/``)."""
    from .registry import rulesets_dirs

    out: list[str] = []
    for d in (str(Path(case_file).resolve().parent.parent), *rulesets_dirs.get()):
        if Path(d).is_dir() and all(Path(d).resolve() != Path(o).resolve() for o in out):
            out.append(d)
    return tuple(out)


def is_history_file(doc: Document) -> bool:
    """Shared history files may sit among case files; they are not run."""
    return isinstance(doc.data, dict) and bool(doc.data) and set(doc.data) <= {"subjects", "events"}


# -- running --------------------------------------------------------------------------------


class Runner:
    """Runs cases, caching compiled rulesets per (file, overrides) and histories per file."""

    def __init__(self) -> None:
        self.registries: dict[tuple, Any] = {}
        self.resolved: dict[str, Any] = {}
        self.compiled: dict[tuple, Any] = {}
        self.histories: dict[str, Any] = {}
        self.coverage: dict[str, Coverage] = {}
        self.probes: dict[str, Any] = {}

    def ruleset(self, case: Case) -> Any:
        from .language.compiler import Probes
        from .ruleset import compile_resolved, load_checked  # load_checked: every problem of a broken ruleset at once

        if case.by_name:
            return self._by_name(case)
        key_file = str(Path(case.ruleset).resolve())
        key = (key_file, tuple((n, t) for n, t, _ in case.overrides))
        if key in self.compiled:
            got = self.compiled[key]
            if isinstance(got, QrulesError):
                raise got
            return got
        try:
            if key_file not in self.resolved:
                if not Path(case.ruleset).is_file():
                    raise QrulesError(Diagnostic(
                        "QR803", f"ruleset '{case.ruleset}' not found (paths are relative to the case file)",
                        case.doc.span(case.override_path),
                        hint="写相对于用例文件的路径，如 'ruleset: ../guangdong-2021.yaml'（a path relative to the case file）"))
                self.resolved[key_file] = load_checked(case.ruleset)
            resolved = self.resolved[key_file]
            unknown: list[Diagnostic] = []
            if case.overrides:
                resolved, unknown = _with_overrides(resolved, case)
            probes = self.probes.setdefault(key_file, Probes())  # one sink per file, whatever the overrides
            compiled = _compile_overridden(resolved, probes, unknown)
        except QrulesError as exc:
            self.compiled[key] = exc
            raise
        self.compiled[key] = compiled
        if key_file not in self.coverage:
            self.coverage[key_file] = Coverage.of(_display(case.ruleset), compiled, probes)
        return compiled

    def _by_name(self, case: Case) -> Any:
        """A version or family name: every version compiled with coverage probes, one timeline;
        each event is then decided under the version in force on its date, as ``evaluate`` does."""
        from .language.compiler import Probes
        from .registry import Registry
        from .ruleset import compile_resolved, load_checked  # load_checked: every problem of a broken ruleset at once

        dirs = name_dirs(case.file)
        key = (dirs, tuple((n, t) for n, t, _ in case.overrides))
        reg = self.registries.get(key)
        if reg is None:
            def compile_version(file: str, parents: dict, allow: tuple[str, ...]) -> Any:
                key_file = str(Path(file).resolve())
                resolved = load_checked(file, parents=parents, allow=allow)
                unknown: list[Diagnostic] = []
                if case.overrides:
                    resolved, unknown = _with_overrides(resolved, case)
                probes = self.probes.setdefault(key_file, Probes())
                compiled = _compile_overridden(resolved, probes, unknown)
                self.coverage.setdefault(key_file, Coverage.of(_display(file), compiled, probes))
                return compiled

            reg = self.registries[key] = Registry.scan(dirs, compile=compile_version)
        try:
            return reg.load(case.ruleset)
        except QrulesError as exc:
            if not any(d.code == "QR906" for d in exc.diagnostics):
                raise  # the name was found; its files have problems, listed as they are
            from .errors import did_you_mean

            guess = did_you_mean(case.ruleset, reg.names())
            first = Diagnostic("QR803", f"ruleset '{case.ruleset}' is not a file, nor a version or family in "
                               f"{', '.join(dirs) or '(no rulesets folder)'}（找不到规则集）",
                               case.doc.span(case.override_path),
                               hint=(guess + "；" if guess else "") + f"已有的规则集（known）：{', '.join(reg.names()) or '（无）'}；"
                                    "或写文件路径，如 'ruleset: ../guangdong-2021.yaml'（or write a file path）")
            raise QrulesError([first]) from None

    def observe(self, case: Case, compiled: Any, result: Any) -> None:
        """Coverage: a file's own; for a name, each version sees the entries it decided and the
        classes when it is the version at the as-of date."""
        if not case.by_name:
            self.coverage[str(Path(case.ruleset).resolve())].observe(case, result)
            return
        for piece in compiled.timeline.pieces:
            cov = self.coverage.get(str(Path(piece.compiled.resolved.file).resolve()))
            if cov is not None:
                cov.observe(case, result, version=piece.label)

    def history(self, case: Case):
        from .history.load import load_history, load_history_document

        if isinstance(case.history, str):
            path = _resolve(case.file, case.history)
            if path not in self.histories:
                if not Path(path).is_file():
                    raise QrulesError(Diagnostic("QR806", f"history file '{case.history}' not found "
                                                 "(paths are relative to the case file)",
                                                 case.doc.span(case.history_path)))
                self.histories[path] = load_history(path)
            return self.histories[path]
        n = len(case.history_path)
        positions = {p[n:]: pos for p, pos in case.doc.positions.items() if p[:n] == case.history_path}
        sub = Document(case.file, case.history, positions)
        return load_history_document(sub)

    def run(self, case: Case) -> CaseOutcome:
        from .engine import evaluate

        out = CaseOutcome(case.id, case.file, case.name, case.span.line, None, "pass")
        try:
            compiled = self.ruleset(case)
        except QrulesError as exc:
            out.status = "error"
            out.diagnostics = [Diagnostic("QR803", f"the ruleset '{_display(case.ruleset)}' cannot be used "
                                          "by this case (problems below)", case.span)] + exc.diagnostics
            return out
        out.ruleset = compiled.id
        try:
            loaded = self.history(case)
        except QrulesError as exc:
            out.status = "error"
            out.diagnostics = [Diagnostic("QR806", "the case's history cannot be read", case.span)] + exc.diagnostics
            return out
        problems = _known_names(case, loaded, list(compiled.model.classes))
        if problems:
            out.status = "error"
            out.diagnostics = problems
            return out
        try:
            result = evaluate(compiled, loaded.history, case.as_of, invalid_subjects=loaded.invalid_subjects,
                              as_known_at=case.as_known_at)
        except Exception as exc:  # noqa: BLE001 - an engine crash is a failing case, not a crashed run
            out.status = "error"
            out.diagnostics = [Diagnostic("QR803", f"evaluation failed: {type(exc).__name__}: {exc}", case.span)]
            return out
        failures, explain_ids = _compare(case, loaded, result)
        self.observe(case, compiled, result)
        if failures:
            out.status = "fail"
            out.failures = failures
            out.explanation = _explanations(compiled, result, explain_ids)
            errors = loaded.errors
            if errors and not case.model.input_errors:
                out.diagnostics = errors
        return out


def _compile_overridden(resolved, probes, unknown: list[Diagnostic]):
    """``compile_resolved`` of a ruleset with a case's overrides; the overrides naming no parameter
    (``unknown``) are said with the problems of the others' values, all at once."""
    from .ruleset import compile_resolved

    try:
        compiled = compile_resolved(resolved, probes)
    except QrulesError as exc:
        raise QrulesError([*unknown, *exc.diagnostics]) from None
    if unknown:
        raise QrulesError(unknown)
    return compiled


def _with_overrides(resolved, case: Case):
    """The resolved ruleset with parameter values replaced (what-if), and the overrides that name no
    parameter of it (QR804); nothing is written."""
    model = resolved.model
    params = dict(model.parameters)
    prov = dict(resolved.provenance)
    data = dict(resolved.data)
    data_params = dict(data.get("parameters") or {})
    diags = Diagnostics()
    for name, text, pos in case.overrides:
        if name not in params:
            span = None
            for p, at in case.doc.positions.items():
                if at is pos:
                    span = case.doc.span(p, key=True)
            diags.add("QR804", f"parameter '{name}' does not exist in {model.ruleset}", span or case.span,
                      hint=did_you_mean(name, params) or "已有的参数（known）：" + ", ".join(params))
            continue
        params[name] = params[name].model_copy(update={"value": text})
        data_params[name] = {**(data_params.get(name) or {}), "value": text}
        if pos is not None:
            prov[("parameters", name, "value")] = pos
    data["parameters"] = data_params
    return dataclasses.replace(resolved, model=model.model_copy(update={"parameters": params}),
                               provenance=prov, data=data), diags.items


def _known_names(case: Case, loaded, classes: list[str]) -> list[Diagnostic]:
    """Expectations must name subjects and events of the history, and classes of the ruleset (a typo
    must not pass, nor fail as if the rules were wrong)."""
    diags = Diagnostics()
    subjects = {str(s.id) for s in loaded.history.subjects} | set(loaded.invalid_subjects)
    events = {str(e.id) for e in loaded.history.events} | {r.id for r in loaded.rejected_events}
    base = ("cases", case.index)
    for sid, exp in case.model.expect.items():
        if sid not in subjects:
            diags.add("QR805", f"no subject '{sid}' in the case's history",
                      case.doc.span(base + ("expect", sid), key=True), hint=did_you_mean(sid, subjects))
        for key, value in (("class", exp.class_), ("official", exp.official)):
            if value is not None and value not in classes:
                diags.add("QR802", f"{sid}.{key}: '{value}' is not a class of the ruleset ({', '.join(classes)})",
                          case.doc.span(base + ("expect", sid, key)),
                          hint=f"分类应为 {'、'.join(classes)} 之一（write one of {', '.join(classes)}）")
        for day, adj in (exp.adjustments or {}).items():
            for key, value in (("class", adj.class_), ("official", adj.official)):
                if value is not None and value not in classes:
                    diags.add("QR802", f"{sid}.adjustments.{day}.{key}: '{value}' is not a class of the ruleset "
                              f"({', '.join(classes)})", case.doc.span(base + ("expect", sid, "adjustments")),
                              hint=f"分类应为 {'、'.join(classes)} 之一（write one of {', '.join(classes)}）")
        for i, eid in enumerate(exp.rejected or []):
            if eid not in events:
                diags.add("QR805", f"no event '{eid}' in the case's history",
                          case.doc.span(base + ("expect", sid, "rejected", i)), hint=did_you_mean(eid, events))
        for eid in exp.entries or {}:
            if eid not in events:
                diags.add("QR805", f"no event '{eid}' in the case's history",
                          case.doc.span(base + ("expect", sid, "entries", eid), key=True),
                          hint=did_you_mean(eid, events))
    for eid in case.model.rejected:
        if eid not in events:
            diags.add("QR805", f"no event '{eid}' in the case's history",
                      case.doc.span(base + ("rejected", eid), key=True), hint=did_you_mean(eid, events))
    return diags.items


def _concerns(history, event_id: str) -> set[str]:
    """Subjects an event is about, as the engine says it (:func:`qrules.history.kinds.subjects_concerned`)."""
    ev = history.event(event_id)
    if ev is None:
        return set()
    events = {str(e.id): e for e in history.events}

    def producer_of(sid: str):
        s = history.subject(sid)
        return getattr(s, "producer", None) if s is not None else None

    return set(subjects_concerned(ev, events, producer_of))


def _compare(case: Case, loaded, result) -> tuple[list[Failure], list[str]]:
    fails: list[Failure] = []
    explain: list[str] = []
    m = case.model
    by_id = {s.id: s for s in result.subjects}
    excluded = {x.id: x for x in result.excluded_subjects}
    rejections: dict[str, list[tuple[str, str | None]]] = {}
    for r in result.rejected:
        rejections.setdefault(r.event, []).append((r.code, r.subject))
    for r in loaded.rejected_events:
        rejections.setdefault(r.id, []).append((r.code, None))

    # history problems: every error must be expected by code
    got_codes = sorted({d.code for d in loaded.diagnostics if d.severity == "error"})
    if sorted(set(m.input_errors)) != got_codes:
        fails.append(Failure("input_errors", sorted(set(m.input_errors)), got_codes))

    for sid, exp in m.expect.items():
        fs = exp.model_fields_set
        if sid in excluded:
            if not exp.excluded:
                fails.append(Failure(f"{sid}", "a scored subject", f"excluded: {excluded[sid].reason}"))
            continue
        if exp.excluded:
            fails.append(Failure(f"{sid}.excluded", True, False))
        s = by_id.get(sid)
        if s is None:
            reason = loaded.invalid_subjects.get(sid)
            fails.append(Failure(f"{sid}", "a result", f"no result (invalid subject: {reason})"))
            continue
        before = len(fails)
        if "score" in fs and not (exp.score == s.score if None not in (exp.score, s.score)
                                  else exp.score is s.score):
            fails.append(Failure(f"{sid}.score", exp.score, s.score))
        if "class_" in fs and exp.class_ != s.live_class:
            fails.append(Failure(f"{sid}.class", exp.class_, s.live_class))
        if "official" in fs and exp.official != s.official_class:
            fails.append(Failure(f"{sid}.official", exp.official, s.official_class))
        if "scored" in fs and exp.scored != s.scored:
            fails.append(Failure(f"{sid}.scored", exp.scored, s.scored))
        if "lock_until" in fs:
            actual = s.lock.until if s.lock else None
            if exp.lock_until != actual:
                fails.append(Failure(f"{sid}.lock_until", exp.lock_until, actual))
        if "determined_by" in fs and exp.determined_by != s.determined_by:
            fails.append(Failure(f"{sid}.determined_by", exp.determined_by, s.determined_by))
        if exp.measures is not None:
            for name in exp.measures.model_fields_set:
                want, got = getattr(exp.measures, name), getattr(s.measures, name)
                if want != got:
                    fails.append(Failure(f"{sid}.measures.{name}", want, got))
        for name, want in (exp.flags or {}).items():
            got = s.flags.get(name)
            if got != want:
                fails.append(Failure(f"{sid}.flags.{name}", want, got if got is not None else "(no such flag: "
                                     + ", ".join(s.flags) + ")"))
        if exp.rejected is not None:
            mine = sorted({e for e, rs in rejections.items() for _, subj in rs
                           if subj == sid or (subj is None and sid in _concerns(loaded.history, e))})
            if sorted(set(exp.rejected)) != mine:
                fails.append(Failure(f"{sid}.rejected", sorted(set(exp.rejected)), mine))
        for eid, want in (exp.entries or {}).items():
            want = EntryExpect(status=want) if isinstance(want, str) else want
            mine = [e for e in s.entries if e.event == eid]
            if not any(_entry_matches(e, want) for e in mine):
                fails.append(Failure(f"{sid}.entries.{eid}", _entry_text(want, want.model_fields_set),
                                     "; ".join(_entry_text(e, want.model_fields_set | {"status"}) for e in mine)
                                     or "no entry"))
        for day, want_adj in (exp.adjustments or {}).items():
            adj = next((a for a in s.adjustments if a.date == day), None)
            if adj is None:
                fails.append(Failure(f"{sid}.adjustments.{day}", "an adjustment",
                                     "no adjustment (" + (", ".join(str(a.date) for a in s.adjustments) or "none") + ")"))
                continue
            for name, attr in _ADJ_FIELDS:
                if name in want_adj.model_fields_set and getattr(want_adj, name) != getattr(adj, attr):
                    fails.append(Failure(f"{sid}.adjustments.{day}.{name.rstrip('_')}",
                                         getattr(want_adj, name), getattr(adj, attr)))
        if len(fails) > before:
            explain.append(sid)

    for eid, want in m.rejected.items():
        wanted = [want] if isinstance(want, str) else list(want)
        got = sorted({code for code, _ in rejections.get(eid, [])})
        if not set(wanted) <= set(got) or (not wanted and got):
            fails.append(Failure(f"rejected.{eid}", wanted if len(wanted) != 1 else wanted[0],
                                 got if got else "not rejected"))
            explain += [sid for sid in _concerns(loaded.history, eid) if sid in by_id and sid not in explain]
    if m.warnings is not None:
        if not m.warnings and result.warnings:
            fails.append(Failure("warnings", [], result.warnings))
        for text in m.warnings:
            if not any(text in w for w in result.warnings):
                fails.append(Failure("warnings", f"a warning containing '{text}'", result.warnings or "none"))
    return fails, explain


_ADJ_FIELDS = (("score", "score"), ("class_", "computed_class"), ("official", "official_class"),
               ("locked", "locked"), ("version", "version"))


def _entry_matches(e, want: EntryExpect) -> bool:
    fs = want.model_fields_set
    return (("version" not in fs or e.version == want.version)
            and ("status" not in fs or e.status == want.status)
            and ("points" not in fs or e.points == want.points)
            and ("counted" not in fs or e.counted_points == want.counted)
            and ("ordinal" not in fs or e.ordinal == want.ordinal)
            and ("code" not in fs or e.code == want.code))


def _entry_text(e, fields) -> str:
    parts = []
    for name, attr in (("code", "code"), ("status", "status"), ("points", "points"), ("counted", "counted_points"),
                       ("ordinal", "ordinal"), ("version", "version")):
        if name in fields:
            parts.append(f"{name} {_show(getattr(e, attr))}")
    return ", ".join(parts)


def _explanations(compiled, result, ids: list[str]) -> str:
    from .engine.explain import explain_subject

    texts = []
    for sid in ids:
        try:
            s = result.subject(sid)
        except KeyError:
            continue
        texts.append(explain_subject(result, s, compiled))
    others = [r for r in result.rejected if r.subject is None]
    for r in others:
        texts.append(f"✗ 事项 {r.event}（{r.kind}）不予记分：{r.reason}" + (f"（{r.cite}）" if r.cite else ""))
    return "\n".join(texts)


# -- collecting files and the command ---------------------------------------------------------


def collect(paths: list[str]) -> tuple[list[str], list[str]]:
    """Case files under ``paths`` (files as given; directories: *.yaml, *.yml recursively)."""
    files, missing = [], []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files += sorted(str(f) for f in path.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file())
        elif path.is_file():
            files.append(str(path))
        else:
            missing.append(p)
    return files, missing


def run_paths(paths: list[str], keyword: str | None = None):
    """Run every case under ``paths``; returns (outcomes, file diagnostics, coverage by file)."""
    files, _ = collect(paths)
    runner = Runner()
    outcomes: list[CaseOutcome] = []
    for f in files:
        diags = Diagnostics()
        doc = load_file(f, diags)
        if doc is not None and is_history_file(doc) and f not in paths:
            continue
        cases = load_cases(f, diags, doc) if doc is not None else None
        if diags.items:
            outcomes.append(CaseOutcome(f"{f}", f, "(case file)", None, None, "error", diagnostics=list(diags.items)))
        for case in cases or []:
            if keyword and keyword not in case.id:
                continue
            if isinstance(case, BrokenCase):
                outcomes.append(CaseOutcome(case.id, case.file, case.name, case.line, None, "error",
                                            diagnostics=case.diagnostics))
                continue
            outcomes.append(runner.run(case))
    return outcomes, runner.coverage


def _print_text(outcomes: list[CaseOutcome], coverage: dict[str, Coverage], out) -> None:
    from .console import error_count, print_diagnostics

    for o in outcomes:
        mark = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR"}[o.status]
        print(f"{mark} {o.case_id}", file=out)
    bad = [o for o in outcomes if o.status != "pass"]
    if bad:
        print("\n" + "=" * 30 + " FAILURES（未通过） " + "=" * 30, file=out)
    for o in bad:
        where = f" ({o.file}:{o.line})" if o.line else ""
        print(f"\n--- {o.case_id}{where}", file=out)
        for f in o.failures:
            print(f"  {f.text()}", file=out)
        if o.diagnostics:
            out.flush()
            print_diagnostics(o.diagnostics, out=out)
            count = error_count(o.diagnostics, o.case_id)  # as `check` ends a ruleset's problems
            if count:
                print(count, file=out)
        if o.explanation:
            print("  explanation（说明）:", file=out)
            for line in o.explanation.splitlines():
                print(f"    {line}", file=out)
    if coverage:
        print("\n" + "=" * 30 + " COVERAGE（覆盖情况） " + "=" * 30, file=out)
    for cov in coverage.values():
        unc, tot = cov.uncovered(), cov.totals()
        state = "complete（全部覆盖）" if cov.complete() else "INCOMPLETE（未全部覆盖）"
        print(f"{cov.file} ({cov.ruleset}): {state}", file=out)
        names = {"items": "items 事项", "classes": "classes 分类", "repair": "repair 修复", "rewards": "rewards 奖励",
                 "branches": "branches 分支"}
        if cov.own:
            own = cov.own_uncovered()
            print(f"  own rules 本文件的规则: {len(cov.own) - len(own)}/{len(cov.own)} exercised", file=out)
            for label in own:
                print(f"    not exercised（未覆盖）: {label}", file=out)
        for k in tot:
            print(f"  {names[k]}: {tot[k] - len(unc[k])}/{tot[k]} exercised", file=out)
            if k in ("items", "classes") and unc[k]:
                print(f"    not exercised（未覆盖）: {', '.join(unc[k])}", file=out)
                continue
            for label in unc[k]:
                print(f"    not exercised（未覆盖）: {label}", file=out)


def cmd_test(args) -> int:
    files, missing = collect(args.paths)
    if missing:
        for p in missing:
            print(f"qrules: error: no such file or directory: {p}", file=sys.stderr)
        return EXIT_USAGE
    if not files:
        print("qrules: error: no case files (*.yaml) found", file=sys.stderr)
        return EXIT_USAGE
    outcomes, coverage = run_paths(args.paths, args.keyword)
    passed = sum(1 for o in outcomes if o.status == "pass")
    failed = len(outcomes) - passed
    full = all(c.complete() for c in coverage.values())
    if args.format == "json":
        print(json.dumps({"cases": [o.to_dict() for o in outcomes],
                          "coverage": [c.to_dict() for c in coverage.values()],
                          "summary": {"passed": passed, "failed": failed, "full_coverage": full}},
                         ensure_ascii=False, indent=2))
    else:
        _print_text(outcomes, coverage, sys.stdout)
        if args.require_full_coverage and not full:
            print("\ncoverage is incomplete and --require-full-coverage was given（覆盖不完整）", file=sys.stdout)
        print(f"{passed} passed, {failed} failed", file=sys.stdout)
    if failed or (args.require_full_coverage and not full):
        return EXIT_ERRORS
    return EXIT_OK


def register(subparsers) -> None:
    """Add ``qrules test`` to the CLI."""
    t = subparsers.add_parser(
        "test", help="run YAML test cases against rulesets and report coverage (docs/casetest.md)",
        description="Run YAML case files (a ruleset, a small history, an as-of date and the expected "
                    "results) and report which items, classes, repair and reward rules no case exercised.")
    t.add_argument("paths", nargs="+", metavar="PATH", help="case files or directories of case files")
    t.add_argument("--format", choices=["text", "json"], default="text")
    from .console import add_output

    add_output(t)
    t.add_argument("-k", dest="keyword", metavar="TEXT", help="run only cases whose file::name contains TEXT")
    t.add_argument("--require-full-coverage", action="store_true",
                   help="exit 1 if any item, class, repair or reward rule was not exercised")
    t.set_defaults(func=cmd_test)
