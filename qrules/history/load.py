"""Loading histories: YAML, JSON and JSON Lines into validated :mod:`qrules.history` models.

Pipeline position: ``yamlsource`` / ``json`` (text -> records with positions) -> **historyload**
(each record validated on its own, then ids and references checked across records) ->
``LoadedHistory`` for the engine. Every problem is reported at once, at the ``file:line:col``
of its record or field; a refused record is never dropped silently (see :mod:`qrules.history`).
"""

from __future__ import annotations

import bisect
import gc
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal

from pydantic import BaseModel, ValidationError

from ..messages import json_message, pydantic_message
from ..errors import Diagnostic, Diagnostics, QrulesError, Span, did_you_mean, register_source
from .models import EVENT_KINDS, EVENT_MODELS, MAX_JSON_BYTES, MAX_JSONL_LINE, PROCEDURE_KINDS, SUBJECT_KINDS, SUBJECT_MODELS, USCC_AUTHORITIES, Correction, Deduction, Filing, History, OperatorSubject, ProcedureEvent, ProductSubject, Repair, Reward, SpotCheck
from ..yamlsource import Document, Pos, load_text as _yaml_load_text, not_utf8, not_utf8_file, read_text as _read_text

__all__ = ["RejectedRecord", "LoadedHistory", "load_history", "load_history_text", "load_history_data",
           "load_history_document", "gc_paused"]

# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedRecord:
    """An event that failed validation: ``id`` is its id or ``#<n>`` (its 1-based position
    among the file's events)."""

    id: str
    kind: str | None
    span: Span | None
    reason: str
    code: str


class LoadProblems:
    """What every loader's result says about its input problems (``diagnostics``, ``rejected_events``):
    shared by :class:`LoadedHistory` and the columnar loader's ``ColumnarHistory``."""

    diagnostics: list[Diagnostic]
    rejected_events: list[RejectedRecord]

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def rejected(self, id: str) -> RejectedRecord | None:
        """The rejected event with this id, if any."""
        for rec in self.rejected_events:
            if rec.id == id:
                return rec
        return None


@dataclass
class LoadedHistory(LoadProblems):
    history: History
    diagnostics: list[Diagnostic] = field(default_factory=list)
    invalid_subjects: dict[str, str] = field(default_factory=dict)
    rejected_events: list[RejectedRecord] = field(default_factory=list)


Locate = Callable[[tuple, bool], Span | None]

def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the (nested) model reached by ``loc`` from ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        ann = info.annotation
        nested = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            return []
        current = nested[0]
    return [n for n in getattr(current, "model_fields", {}) if n != "span"]


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class RecordLoader:
    """Collects records from any source, then checks ids and references across them."""

    def __init__(self, file: str, diags: Diagnostics | None = None):
        self.file = file
        self.diags = diags or Diagnostics()
        self.quiet: set[tuple[int, int]] = set()  # spans already reported by the YAML stage
        self.subjects: list[tuple[Any, Locate]] = []
        self.subject_seen: dict[str, list[Span | None]] = {}
        self.invalid: dict[str, str] = {}
        self.events: list[tuple[Any, Locate]] = []
        self.event_seen: dict[str, list[Span | None]] = {}
        self.rejected: list[RejectedRecord] = []
        self.n_events = 0

    # ---- one record ------------------------------------------------------------------

    def _report(self, code: str, message: str, span: Span | None, hint: str | None = None,
                severity: str = "error") -> None:
        if span is not None and code == "QR501" and (span.line, span.col) in self.quiet:
            return
        self.diags.add(code, message, span, severity=severity, hint=hint)  # type: ignore[arg-type]

    def _validate(self, raw: Any, models: dict[str, type[BaseModel]], what: str, label: str,
                  span: Span | None, locate: Locate) -> tuple[Any, str | None, str, str | None]:
        """Validate one record: (model or None, kind, first reason, code)."""
        if not isinstance(raw, dict):
            reason = (f"{label}: each {what} must be a mapping of fields ({{id: ..., kind: ...}}), not {raw!r:.40}"
                      "（每条记录应为字段映射）")
            self._report("QR501", reason, span)
            return None, None, reason, "QR501"
        kind = raw.get("kind")
        if kind is None:
            reason = f"{label}: missing 'kind' (one of: {', '.join(models)})（缺少记录类型 kind）"
            self._report("QR501", reason, span)
            return None, None, reason, "QR501"
        if not isinstance(kind, str) or kind not in models:
            other = SUBJECT_KINDS if what == "event" else EVENT_KINDS
            if isinstance(kind, str) and kind in other:
                place = "subjects" if what == "event" else "events"
                reason = (f"{label}: '{kind}' is not {_a(what)} kind; put this record under '{place}'"
                          f"（'{kind}' 记录应写在 {place} 下）")
                hint = None
            else:
                reason = f"{label}: unknown {what} kind '{kind}'"
                hint = did_you_mean(str(kind), models) or f"可用的类型（{what} kinds）：{', '.join(models)}"
            self._report("QR506", reason, locate(("kind",), False), hint)
            return None, kind if isinstance(kind, str) else None, reason, "QR506"
        model = models[kind]
        if "span" in raw:
            raw = {k: v for k, v in raw.items() if k != "span"}
            reason = f"{label}: unknown field 'span' for {_a(kind)} record（{kind} 记录没有 span 字段）"
            self._report("QR501", reason, locate(("span",), True))
            return None, kind, reason, "QR501"
        try:
            obj = model.model_validate(raw)
        except ValidationError as exc:
            first: tuple[str, str] | None = None
            for err in exc.errors(include_url=False):
                code, message, where, hint = self._explain(err, model, kind, label, span, locate)
                self._report(code, message, where, hint)
                if first is None:
                    first = (message, code)
            assert first is not None
            return None, kind, first[0], first[1]
        obj.__dict__["span"] = span
        return obj, kind, None, None

    def _explain(self, err: dict, model: type[BaseModel], kind: str, label: str, span: Span | None,
                 locate: Locate) -> tuple[str, str, Span | None, str | None]:
        loc = tuple(err["loc"])
        typ = err["type"]
        where = locate(loc, False) if loc else span
        code = {"qr502": "QR502", "qr503": "QR503"}.get(typ, "QR501")
        if typ == "extra_forbidden":
            name = str(loc[-1])
            allowed = _fields_at(model, loc[:-1])
            hint = did_you_mean(name, allowed) or (f"可用的字段：{', '.join(allowed)}（allowed fields）" if allowed else None)
            inside = f" in '{_dotted(loc[:-1])}'" if len(loc) > 1 else ""
            return (code, f"{label}: unknown field '{name}'{inside} for {_a(kind)} record（{kind} 记录没有字段 '{name}'）",
                    locate(loc, True), hint)
        if typ == "missing":
            return (code, f"{label}: missing required field '{_dotted(loc)}' for {_a(kind)} record"
                    f"（{kind} 记录缺少必填字段 '{_dotted(loc)}'）",
                    locate(loc, False) if loc else span, None)  # the nearest place that exists
        if code != "QR501":
            return code, f"{label}: {pydantic_message(err)}", where, None
        if not loc:
            return code, f"{label}: {pydantic_message(err)}", span, None
        return code, f"{label}: {_dotted(loc)}: {pydantic_message(err)}", where, None

    @staticmethod
    def _twice(label: str, code: str | None, obj: Any, kind: Any, reason: str | None,
               rcode: str | None) -> tuple[Any, Any, str | None, str | None]:
        """A record that writes a field twice (reported as ``code`` where the key repeats) is refused:
        either value could be meant, and YAML keeps the first where JSON keeps the last."""
        if code is None or obj is None:
            return obj, kind, reason, rcode
        return None, kind, (f"{label}: a field is written twice in this record (see the duplicate key "
                            f"reported); it is refused since either value could be meant"), code

    def add_subject(self, raw: Any, span: Span | None, locate: Locate, index: int, *,
                    twice: str | None = None) -> None:
        rid = raw.get("id") if isinstance(raw, dict) else None
        sid = str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).strip() else None
        label = sid or f"subject #{index}"
        obj, kind, reason, code = self._twice(label, twice, *self._validate(raw, SUBJECT_MODELS, "subject", label,
                                                                            span, locate))
        if sid is not None:
            self.subject_seen.setdefault(sid, []).append(span)
        if obj is None:
            if sid is not None and sid not in self.invalid:
                self.invalid[sid] = reason or "invalid record"
            return
        if isinstance(obj, OperatorSubject) and obj.uscc[0] not in USCC_AUTHORITIES:
            self._report("QR511", f"{label}: unified social credit code '{obj.uscc}' starts with '{obj.uscc[0]}', "
                         f"which is not a registration-authority code in GB 32100 "
                         f"(登记管理部门代码应为 1–9、A、N、Y)", locate(("uscc",), False),
                         "核对代码的第一位（登记管理部门代码）（check the first character of the code）", severity="warning")
        self.subjects.append((obj, locate))

    def add_event(self, raw: Any, span: Span | None, locate: Locate, *, twice: str | None = None) -> None:
        self.n_events += 1
        rid = raw.get("id") if isinstance(raw, dict) else None
        eid = str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).strip() else None
        label = eid or f"event #{self.n_events}"
        obj, kind, reason, code = self._twice(label, twice, *self._validate(raw, EVENT_MODELS, "event", label,
                                                                            span, locate))
        if eid is not None:
            self.event_seen.setdefault(eid, []).append(span)
        if obj is None:
            self.rejected.append(RejectedRecord(eid or f"#{self.n_events}", kind, span,
                                                reason or "invalid record", code or "QR501"))
            return
        self.events.append((obj, locate))

    def reject_unplaced(self, raw: Any, span: Span | None, reason: str, code: str) -> None:
        """A JSON Lines record that is not a subject or an event: kept as a rejected event."""
        self.n_events += 1
        rid = raw.get("id") if isinstance(raw, dict) else None
        kind = raw.get("kind") if isinstance(raw, dict) else None
        self.rejected.append(RejectedRecord(str(rid) if isinstance(rid, (str, int)) else f"#{self.n_events}",
                                            kind if isinstance(kind, str) else None, span, reason, code))

    # ---- across records -------------------------------------------------------------

    def finish(self) -> LoadedHistory:
        self._duplicates()
        self._same_subjects()
        self._producers()
        self._references()
        history = History(subjects=[s for s, _ in self.subjects], events=[e for e, _ in self.events])
        return LoadedHistory(history, list(self.diags.items), dict(self.invalid), list(self.rejected))

    @staticmethod
    def _where(span: Span | None) -> str:
        if span is not None and not span.line and span.path:
            return span.path
        return f"line {span.line}" if span is not None else "an earlier record"

    @staticmethod
    def _lines(spans: list[Span | None]) -> str:
        lines = [str(s.line) if s.line else str(s.path) for s in spans if s is not None]
        return f" (lines {', '.join(lines)})" if lines else ""

    def _duplicates(self) -> None:
        dup_subjects = {i for i, spans in self.subject_seen.items() if len(spans) > 1}
        for sid in dup_subjects:
            self.dup_subject(sid, self.subject_seen[sid])
        if dup_subjects:
            self.subjects = [(s, loc) for s, loc in self.subjects if s.id not in dup_subjects]
        dup_events = {i for i, spans in self.event_seen.items() if len(spans) > 1}
        for eid in dup_events:
            self.dup_event(eid, self.event_seen[eid])
        if dup_events:
            keep = []
            for ev, loc in self.events:
                if ev.id in dup_events:
                    self.dup_event_rejected(ev.id, ev.kind, ev.span, self.event_seen[ev.id])
                else:
                    keep.append((ev, loc))
            self.events = keep

    # The messages of the checks across records, one method each: RecordLoader's loops and
    # the columnar loader (qrules.history.arrowload, which finds the records with vectorised
    # joins) both report through them, so the two say exactly the same.

    def dup_subject(self, sid: str, spans: list[Span | None]) -> None:
        reason = f"subject id '{sid}' is used by {len(spans)} records{self._lines(spans)}; ids must be unique"
        for span in spans[1:]:
            self._report("QR504", f"{sid}: duplicate subject id (first at {self._where(spans[0])})",
                         span, "每个记分对象使用不同的编号；编号重复的记录均不采用"
                               "（give each subject its own id; both records are refused）")
        self.invalid[sid] = reason

    def dup_event(self, eid: str, spans: list[Span | None]) -> None:
        for span in spans[1:]:
            self._report("QR504", f"{eid}: duplicate event id (first at {self._where(spans[0])})",
                         span, "每个事件使用不同的编号；编号重复的记录均不采用"
                               "（give each event its own id; all records with this id are refused）")

    def dup_event_rejected(self, eid: str, kind: str, span: Span | None, spans: list[Span | None]) -> None:
        self.rejected.append(RejectedRecord(eid, kind, span, f"duplicate event id '{eid}'{self._lines(spans)}",
                                            "QR504"))

    def _refuse_subject(self, subject: Any, code: str, message: str, where: Span | None,
                        hint: str | None = None) -> None:
        self.refuse_subject(subject.id, code, message, where, hint)

    def refuse_subject(self, sid: str, code: str, message: str, where: Span | None, hint: str | None = None) -> None:
        self._report(code, message, where, hint)
        self.invalid[sid] = message

    def same_operator(self, sid: str, uscc: str, first: str, where: Span | None) -> None:
        self.refuse_subject(sid, "QR508", f"{sid}: same unified social credit code {uscc} "
                            f"as operator '{first}'; one organisation is one operator subject "
                            f"(Art 6, 同一经营者只能有一个记分对象)", where,
                            f"合并为一条记录，使用 '{first}'（roles 可同时写 producer 和 seller）"
                            f"（merge the records and use '{first}'; roles can list both）")

    def same_product(self, sid: str, brand: str, nice_class: int, first: str, where: Span | None) -> None:
        self.refuse_subject(sid, "QR508", f"{sid}: same brand '{brand}' and Nice class "
                            f"{nice_class} as product '{first}'; they are one product "
                            f"(Art 6, 同一商标同一尼斯分类为同一产品)", where, f"使用 '{first}'（use '{first}'）")

    def producer_missing(self, sid: str, producer: str, where: Span | None, operators: Callable[[], Iterable[str]]) -> None:
        """A product whose producer is no valid subject; ``operators`` gives the valid operators' ids (for a hint)."""
        if producer in self.invalid:
            self.refuse_subject(sid, "QR505", f"{sid}: its producer '{producer}' was "
                                f"refused ({self.invalid[producer]})", where)
        else:
            self.refuse_subject(sid, "QR505", f"{sid}: producer '{producer}' is not an "
                                f"operator in this history (生产者不存在)", where, did_you_mean(producer, operators()))

    def producer_is_product(self, sid: str, producer: str, where: Span | None) -> None:
        self.refuse_subject(sid, "QR505", f"{sid}: producer '{producer}' is a product, not an operator", where)

    def producer_role(self, sid: str, producer: str, roles: list[str], where: Span | None) -> None:
        self._report("QR505", f"{sid}: producer '{producer}' does not have the 'producer' role "
                     f"(roles: {', '.join(roles) or 'none'})", where,
                     f"在 {producer} 的 roles 中加上 producer（add producer to {producer}'s roles）", severity="warning")

    def no_subject(self, eid: str, value: str, where: Span | None, candidates: Iterable[str]) -> str:
        self._report("QR509", f"{eid}: no subject '{value}' in this history (记分对象不存在)", where,
                     did_you_mean(value, candidates))
        return "QR509"

    def wrong_subject(self, eid: str, kind: str, want: str, value: str, found: str, where: Span | None) -> str:
        self._report("QR510", f"{eid}: a {kind} is about a{'n' if want[0] in 'aeiou' else ''} "
                     f"{want}, but '{value}' is a{'n' if found[:1] in 'aeiou' else ''} {found}", where)
        return "QR510"

    def self_reference(self, eid: str, where: Span | None) -> str:
        self._report("QR509", f"{eid}: an event cannot refer to itself（事件不能引用自身）", where)
        return "QR509"

    def no_event(self, eid: str, value: str, where: Span | None, candidates: Iterable[str]) -> str:
        self._report("QR509", f"{eid}: no event '{value}' in this history (被引用的事件不存在)", where,
                     did_you_mean(value, candidates))
        return "QR509"

    def wrong_event(self, eid: str, kind: str, want: Iterable[str], value: str, found: str, where: Span | None) -> str:
        self._report("QR510", f"{eid}: {_a(kind)} must refer to {' or '.join(want)}, but "
                     f"'{value}' is {_a(found)}", where)
        return "QR510"

    def correction_early(self, eid: str, date: Any, of: str, target_date: Any, where: Span | None) -> str:
        self._report("QR512", f"{eid}: a correction dated {date} comes before the event it "
                     f"corrects ({of}, {target_date})（更正日期早于被更正的事件，不予受理）",
                     where, hint="更正日期应不早于被更正事件的日期（date the correction on or after the event it corrects）")
        return "QR512"

    def recorded_early(self, eid: str, recorded: Any, date: Any, where: Span | None) -> str:
        self._report("QR513", f"{eid}: recorded on {recorded}, before its date {date}（录入日期早于事件日期）", where,
                     hint="recorded 为录入日期，应不早于事件日期"
                          "（recorded is the day the record was entered; it is on or after the event's date）")
        return "QR513"

    def no_field_to_amend(self, eid: str, target_kind: str, unknown: list[str], where: Span | None) -> str:
        self._report("QR510", f"{eid}: a {target_kind} has no field "
                     f"{', '.join(repr(f) for f in unknown)} to amend", where)
        return "QR510"

    def of_cycle(self, start: str, cycle: list[str], span: Span | None) -> None:
        self._report("QR509", f"{start}: 'of' goes round in a circle: {' → '.join(cycle)}", span)

    #: The short reason of a refused reference, by the code of its first problem.
    BAD_REFERENCE = {"QR509": "refers to a missing record", "QR512": "dated before the event it corrects",
                     "QR513": "recorded before its date"}

    def reference_messages(self) -> dict[str, str]:
        """Event id -> the last QR509/QR510/QR512 message about it (the reason of its rejection)."""
        return {d.message.split(":", 1)[0]: d.message for d in self.diags.items
                if d.code in ("QR509", "QR510", "QR512")}

    def _same_subjects(self) -> None:
        by_uscc: dict[str, Any] = {}
        by_key: dict[tuple[str, int], Any] = {}
        keep = []
        for subj, loc in self.subjects:
            if isinstance(subj, OperatorSubject):
                first = by_uscc.setdefault(subj.uscc, subj)
                if first is not subj:
                    self.same_operator(subj.id, subj.uscc, first.id, loc(("uscc",), False))
                    continue
            else:
                key = (subj.brand, subj.nice_class)
                first = by_key.setdefault(key, subj)
                if first is not subj:
                    self.same_product(subj.id, subj.brand, subj.nice_class, first.id, loc(("brand",), False))
                    continue
            keep.append((subj, loc))
        self.subjects = keep

    def _producers(self) -> None:
        by_id = {s.id: s for s, _ in self.subjects}
        keep = []
        for subj, loc in self.subjects:
            if isinstance(subj, ProductSubject):
                target = by_id.get(subj.producer)
                where = loc(("producer",), False)
                if target is None:
                    self.producer_missing(subj.id, subj.producer, where,
                                          lambda: [s.id for s in by_id.values() if isinstance(s, OperatorSubject)])
                    continue
                if not isinstance(target, OperatorSubject):
                    self.producer_is_product(subj.id, subj.producer, where)
                    continue
                if "producer" not in target.roles:
                    self.producer_role(subj.id, target.id, target.roles, where)
            keep.append((subj, loc))
        self.subjects = keep

    def _references(self) -> None:
        subjects = {s.id: s for s, _ in self.subjects}
        events = {e.id: e for e, _ in self.events}
        # A refused id held by records of different kinds (duplicates) has no kind to check
        # against: the result must not depend on which of them came last in the file.
        kinds_of: dict[str, set] = {}
        for r in self.rejected:
            kinds_of.setdefault(r.id, set()).add(r.kind)
        rejected_kinds = {rid: next(iter(kinds)) if len(kinds) == 1 else None for rid, kinds in kinds_of.items()}
        bad: dict[str, tuple[str, str]] = {}

        def subject_ref(ev: Any, value: str, path: tuple, loc: Locate, want: str | None) -> str | None:
            target = subjects.get(value)
            if target is None:
                if value in self.invalid:
                    return None  # kept: the engine rejects it with the subject's reason
                return self.no_subject(ev.id, value, loc(path, False), subjects)
            if want and target.kind != want:
                return self.wrong_subject(ev.id, ev.kind, want, value, target.kind, loc(path, False))
            return None

        def event_ref(ev: Any, value: str, loc: Locate, want: Iterable[str] | None) -> str | None:
            if value == ev.id:
                return self.self_reference(ev.id, loc(("of",), False))
            target = events.get(value)
            kind = target.kind if target is not None else rejected_kinds.get(value)
            if target is None and value not in rejected_kinds:
                return self.no_event(ev.id, value, loc(("of",), False), events)
            if want is not None and kind is not None and kind not in want:
                return self.wrong_event(ev.id, ev.kind, want, value, kind, loc(("of",), False))
            return None

        non_procedure = [k for k in EVENT_KINDS if k not in PROCEDURE_KINDS]
        for ev, loc in self.events:
            problems: list[str | None] = []
            if ev.recorded is not None and ev.recorded < ev.date:  # brief §4a: entered after it happened
                problems.append(self.recorded_early(ev.id, ev.recorded, ev.date, loc(("recorded",), False)))
            if isinstance(ev, Deduction):
                problems += [subject_ref(ev, s, ("subjects", i), loc, None) for i, s in enumerate(ev.subjects)]
            elif isinstance(ev, Repair):
                problems.append(event_ref(ev, ev.of, loc, ["deduction"]))
                problems += [subject_ref(ev, s, ("subjects", i), loc, None) for i, s in enumerate(ev.subjects or [])]
            elif isinstance(ev, Reward):
                problems.append(subject_ref(ev, ev.subject, ("subject",), loc, None))
            elif isinstance(ev, SpotCheck):
                problems.append(subject_ref(ev, ev.subject, ("subject",), loc, "product"))
            elif isinstance(ev, Filing):
                problems.append(subject_ref(ev, ev.subject, ("subject",), loc, "operator"))
            elif isinstance(ev, Correction):
                problems.append(event_ref(ev, ev.of, loc, None))
                target = events.get(ev.of)
                if target is not None and ev.date < target.date:  # brief §3, Art 25
                    problems.append(self.correction_early(ev.id, ev.date, ev.of, target.date, loc(("date",), False)))
                if ev.changes is not None:
                    # what it changes: a field written null (or a line with neither part) changes nothing
                    changed = sorted(f for f in ev.changes.model_fields_set if getattr(ev.changes, f) is not None)
                    if target is not None:
                        unknown = [f for f in changed if f not in type(target).model_fields]
                        if unknown:
                            problems.append(self.no_field_to_amend(ev.id, target.kind, unknown, loc(("changes",), False)))
                    problems += [subject_ref(ev, s, ("changes", "subjects", i), loc, None)
                                 for i, s in enumerate(ev.changes.subjects or [])]
            elif isinstance(ev, ProcedureEvent):
                if ev.kind in ("objection_accepted", "objection_refused", "objection_answered"):
                    want: list[str] = ["objection_filed"]
                elif ev.kind == "repair_applied":
                    want = ["deduction"]
                else:
                    want = non_procedure
                problems.append(event_ref(ev, ev.of, loc, want))
            code = next((p for p in problems if p), None)
            if code:
                bad[ev.id] = (code, self.BAD_REFERENCE.get(code, "refers to a record of the wrong kind"))
        # cycles through `of` (a correction of a correction of ...): each record is walked once
        # (memoised), so a chain of thousands of corrections loads in linear time.
        for start, cycle in _of_cycles(events).items():
            if len(set(cycle)) == 1 and start in bad:  # of: itself, said already (self_reference)
                continue
            self.of_cycle(start, cycle, events[start].span)
            bad[start] = ("QR509", "'of' goes round in a circle")
        if bad:
            keep = []
            messages = self.reference_messages()
            for ev, loc in self.events:
                if ev.id in bad:
                    code, short = bad[ev.id]
                    self.rejected.append(RejectedRecord(ev.id, ev.kind, ev.span, messages.get(ev.id, short), code))
                else:
                    keep.append((ev, loc))
            self.events = keep


#: What to do with a history over the size YAML or JSON may have.
_LARGE = "大量数据请用 JSON Lines 格式（give large histories as JSON Lines）"


def _a(word: str) -> str:
    """``a deduction``, ``an operator``."""
    return f"a{'n' if word[:1] in 'aeiou' else ''} {word}"


def _of_cycles(events: dict[str, Any]) -> dict[str, list[str]]:
    """Corrections whose chain of ``of`` runs into a circle -> that circle (see :func:`of_cycles`)."""
    return of_cycles({e.id: e.of for e in events.values() if isinstance(e, Correction)})


def of_cycles(corrections: dict[str, str]) -> dict[str, list[str]]:
    """Corrections (id -> its ``of``, in history order) whose chain of ``of`` runs into a circle
    -> that circle (ids, starting where the chain enters it, or at the correction itself when
    it is on the circle; a long circle is cut to its first eight ids and a count).

    Only corrections may point at their own kind, so a chain continues through corrections
    only: one that reaches any other record (or none) ends there. Every record is visited
    once: linear in the number of corrections.
    """
    rings: list[list[str]] = []
    entry: dict[str, tuple[int, int] | None] = {}  # id -> (ring, position where its chain enters it)
    for start in corrections:
        if start in entry:
            continue
        path: list[str] = []
        index: dict[str, int] = {}
        cur: str | None = start
        while True:
            if cur in entry:  # joins a chain already walked
                found = entry[cur]
                for i in path:
                    entry[i] = found
                break
            if cur in index:  # a new circle
                cut = index[cur]
                rings.append(path[cut:])
                for pos, i in enumerate(path[cut:]):
                    entry[i] = (len(rings) - 1, pos)
                for i in path[:cut]:
                    entry[i] = (len(rings) - 1, 0)
                break
            index[cur] = len(path)
            path.append(cur)
            cur = corrections[cur]
            if cur not in corrections:
                for i in path:
                    entry[i] = None
                break
    out: dict[str, list[str]] = {}
    for eid, found in entry.items():
        if found is None:
            continue
        ring, pos = rings[found[0]], found[1]
        shown = [ring[(pos + k) % len(ring)] for k in range(min(len(ring), 8))]
        if len(ring) > 8:
            shown = shown[:7] + [f"… ({len(ring)} records in the circle)"]
        out[eid] = shown + [ring[pos]]
    return out


# ---- sources ------------------------------------------------------------------------


def _empty(span: Span | None) -> QrulesError:
    return QrulesError(Diagnostic("QR507", "历史数据文件为空（the history file is empty: no subjects, no events）", span,
                                  hint="重新导出历史数据；确实没有记录时写 subjects: [] 和 events: []"
                                       "（export it again; write 'subjects: []' when there are no records）"))


def _top_level(loader: RecordLoader, data: Any, span_of: Callable[[tuple], Span | None]) -> tuple[list, list]:
    if data is None:  # an empty file (or only comments, or null): a failed export, not a history
        raise _empty(span_of(()))
    if isinstance(data, dict) and "ruleset" in data and not ("subjects" in data or "events" in data):
        raise QrulesError(Diagnostic("QR507", "this file is a ruleset, not a history（这是规则集，不是历史数据）",
                                     span_of(("ruleset",)), hint="规则集在前，历史数据在后：qrules evaluate "
                                                                 "规则集 历史数据（the history comes second）"))
    if not isinstance(data, dict):
        raise QrulesError(Diagnostic("QR507", "a history must be a mapping with 'subjects' and 'events' "
                                     f"lists, not a {type(data).__name__}", span_of(()),
                                     hint="历史数据以 subjects: 和 events: 开头（start the file with 'subjects:' and 'events:'）"))
    for key in data:
        if key not in ("subjects", "events"):
            loader._report("QR507", f"unknown top-level key '{key}' (a history has 'subjects' and 'events')",
                           span_of((key,)), did_you_mean(str(key), ["subjects", "events"]))
    out = []
    for key in ("subjects", "events"):
        value = data.get(key)
        if value is None:
            out.append([])
        elif not isinstance(value, list):
            loader._report("QR507", f"'{key}' must be a list of records (- {{...}} per line), "
                           f"not a {type(value).__name__}", span_of((key,)))
            out.append([])
        else:
            out.append(value)
    return out[0], out[1]


def _from_document(loader: RecordLoader, doc: Document, has_positions: bool = True) -> LoadedHistory:
    # Without positions (Python data), messages name the record's path: events[3].date.
    def at(path: tuple) -> Span | None:
        return doc.span(path) if has_positions else Span.at_path(doc.file, path)

    subjects, events = _top_level(loader, doc.data, at)

    def locator(base: tuple) -> Locate:
        if not has_positions:
            return lambda loc, key=False: Span.at_path(doc.file, base + tuple(loc))
        return lambda loc, key=False: doc.span(base + tuple(loc), key=key)

    twice = _written_twice(loader, doc) if has_positions else {}
    for i, raw in enumerate(subjects):
        loader.add_subject(raw, at(("subjects", i)), locator(("subjects", i)), i + 1, twice=twice.get(("subjects", i)))
    for i, raw in enumerate(events):
        loader.add_event(raw, at(("events", i)), locator(("events", i)), twice=twice.get(("events", i)))
    return loader.finish()


def _written_twice(loader: RecordLoader, doc: Any) -> dict[tuple, str]:
    """Record path -> the code its duplicate key was reported with (JSON: QR507, YAML: QR004)."""
    found = {path: "QR507" for path in getattr(doc, "dup_records", ())}
    keys = [d.span for d in loader.diags.items if d.code == "QR004" and d.span is not None]
    if keys and isinstance(doc, Document):
        for path, pos in doc.positions.items():
            if len(path) == 2 and path[0] in ("subjects", "events") and isinstance(path[1], int):
                s = pos.value
                if any((s.line, s.col) <= (k.line, k.col) <= (s.end_line or s.line, s.end_col or s.col) for k in keys):
                    found[path] = "QR004"
    return found


# ---- JSON -------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')
_JSON_WS = re.compile(r"[ \t\n\r]*")


class _LineIndex:
    """Offsets → 1-based (line, col) for a text, built on first use."""

    def __init__(self, text: str, first_line: int = 1):
        self.text = text
        self.first_line = first_line
        self._newlines: list[int] | None = None

    def span(self, file: str, start: int, end: int | None = None) -> Span:
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_left(self._newlines, start)
        col = start - (self._newlines[line - 1] + 1 if line else 0) + 1
        if end is None:
            return Span(file, line + self.first_line, col)
        return Span(file, line + self.first_line, col, line + self.first_line, col + (end - start))


def _json_positions(text: str, file: str, diags: Diagnostics | None, *, lines: _LineIndex | None = None,
                    start: int = 0, end: int | None = None, base: tuple = ()) -> dict[tuple, Pos]:
    """Positions of the JSON values in ``text[start:end]`` (already accepted by the json
    module) by path under ``base``, like a :class:`~qrules.yamlsource.Document`'s. Only run
    for records that need them (an error to place, a duplicate key to find)."""
    lines = lines or _LineIndex(text)
    positions: dict[tuple, Pos] = {}
    # frame: [is_object, path, key, key_span, index, keys]
    stack: list[list] = []
    expect_key = False
    for m in _JSON_TOKEN.finditer(text, start, len(text) if end is None else end):
        tok = m.group()
        ch = tok[0]
        if ch == ":":
            expect_key = False
            continue
        if ch == ",":
            if stack:
                top = stack[-1]
                if top[0]:
                    expect_key = True
                else:
                    top[4] += 1
            continue
        if ch in "}]":
            if stack:
                stack.pop()
            expect_key = False
            continue
        if expect_key and stack and stack[-1][0] and ch == '"':
            top = stack[-1]
            try:
                key = json.loads(tok)
            except ValueError:
                key = tok.strip('"')
            top[2], top[3] = key, lines.span(file, m.start(), m.end())
            if key in top[5]:
                if diags is not None:
                    diags.add("QR507", f"duplicate key '{key}' in a JSON object: the record is refused, since "
                              f"either value could be meant（同一记录中字段重复，记录不予采用）", top[3],
                              hint="只保留一个（keep one of the two）")
            else:
                top[5].add(key)
            continue
        if stack:  # a value begins
            top = stack[-1]
            path = top[1] + ((top[2],) if top[0] else (top[4],))
            key_span = top[3] if top[0] else None
        else:
            path, key_span = base, None
        positions[path] = Pos(lines.span(file, m.start(), m.end()), key_span)
        if ch == "{":
            stack.append([True, path, None, None, 0, set()])
            expect_key = True
        elif ch == "[":
            stack.append([False, path, None, None, 0, set()])
            expect_key = False
    return positions


_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


def _constant_at(text: str) -> int | None:
    """Where the first NaN or Infinity outside a string is, if any."""
    for m in _CONSTANT.finditer(text):
        if m.group(1):
            return m.start(1)
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a history (numbers must be finite)")


class _DupFlag:
    """object_pairs_hook that builds dicts and notes whether any object repeated a key."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict:
        out = dict(pairs)
        if len(out) != len(pairs):
            self.seen = True
        return out


#: An escaped UTF-16 surrogate with no other half beside it (``"\\ud800"``): where to point.
_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def lone_surrogate(text: str, data: Any) -> int | None:
    """The offset in ``text`` of an escaped half of a UTF-16 surrogate pair that ``data`` (``text``
    decoded) holds alone, or None. Python's JSON reader keeps it in the string, but it is not a
    character: no UTF-8 output can hold it, so every command would fail on the record later."""
    if "\\u" not in text:
        return None
    try:
        json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        found = _LONE_SURROGATE.search(text)
        return found.start() if found else 0
    return None


def surrogate_subject(raw: Any) -> bool:
    """Whether a JSON Lines record refused for a lone surrogate is a subject with an id (kept as
    a refused subject) rather than an event record (refused as one)."""
    return (isinstance(raw, dict) and (raw.get("record") == "subject" or raw.get("kind") in SUBJECT_KINDS)
            and isinstance(raw.get("id"), (str, int)) and not isinstance(raw.get("id"), bool))


def surrogate_message(text: str, at: int) -> tuple[str, str]:
    escape = text[at:at + 6] if text[at:at + 2] == "\\u" else "\\uD800–\\uDFFF"
    return (f"{escape} is half of a UTF-16 surrogate pair, not a character（字符串含有不成对的代理项 {escape}，"
            f"不是有效字符）", "写出字符本身（UTF-8），或写全一对代理项（write the character itself, or both halves "
                             "of the pair）")


class _JsonDoc:
    """A parsed JSON history: data, the offsets of its records, and positions on demand."""

    def __init__(self, file: str, text: str, diags: Diagnostics):
        self.file = file
        self.text = text
        self.diags = diags
        self.lines = _LineIndex(text)
        self.starts: dict[tuple, tuple[int, int]] = {}  # path -> (start, end) offsets
        self.top_keys: dict[str, Span] = {}
        self.dup_records: set[tuple] = set()  # records that wrote a key twice
        self._cache: dict[tuple, dict[tuple, Pos]] = {}
        self.data = self._parse()
        at = lone_surrogate(text, self.data)
        if at is not None:
            message, hint = surrogate_message(text, at)
            raise QrulesError(Diagnostic("QR507", f"not valid JSON: {message}", self.lines.span(file, at), hint=hint))

    def _fail(self, exc: json.JSONDecodeError) -> QrulesError:
        message, hint = json_message(exc.msg)
        return QrulesError(Diagnostic("QR507", message, Span(self.file, exc.lineno, exc.colno), hint=hint))

    def _parse(self) -> Any:
        text, flag = self.text, _DupFlag()
        decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=flag)
        raw_decode, skip = decoder.raw_decode, _JSON_WS.match
        i = skip(text, 0).end()
        try:
            if text[i:i + 1] != "{":
                data, i = raw_decode(text, i)
            else:
                data = {}
                i = skip(text, i + 1).end()
                if text[i:i + 1] == "}":
                    i += 1
                while text[i - 1:i] != "}":
                    kstart = i
                    key, i = raw_decode(text, i)
                    if not isinstance(key, str):
                        raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, kstart)
                    kspan = self.lines.span(self.file, kstart, i)
                    if key in data:
                        self.diags.add("QR507", f"duplicate key '{key}' in a JSON object (the last one is used)",
                                       kspan, hint="只保留一个（keep one）")
                    self.top_keys[key] = kspan
                    i = skip(text, i).end()
                    if text[i:i + 1] != ":":
                        raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
                    i = skip(text, i + 1).end()
                    if key in ("subjects", "events") and text[i:i + 1] == "[":
                        self.starts[(key,)] = (i, i)
                        items: list = []
                        i = skip(text, i + 1).end()
                        if text[i:i + 1] == "]":
                            i += 1
                        else:
                            while True:
                                rstart = i
                                flag.seen = False
                                value, i = raw_decode(text, i)
                                path = (key, len(items))
                                self.starts[path] = (rstart, i)
                                if flag.seen:
                                    self.positions_for(path, report=True)
                                    self.dup_records.add(path)
                                items.append(value)
                                i = skip(text, i).end()
                                if text[i:i + 1] == ",":
                                    i = skip(text, i + 1).end()
                                    continue
                                if text[i:i + 1] == "]":
                                    i += 1
                                    break
                                raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
                        value = items
                    else:
                        value, i = raw_decode(text, i)
                    data[key] = value
                    i = skip(text, i).end()
                    if text[i:i + 1] == ",":
                        i = skip(text, i + 1).end()
                        continue
                    if text[i:i + 1] == "}":
                        i += 1
                        continue
                    raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
            i = skip(text, i).end()
            if i != len(text):
                raise json.JSONDecodeError("Extra data", text, i)
        except json.JSONDecodeError as exc:
            raise self._fail(exc) from None
        except ValueError as exc:  # NaN, Infinity (_reject_constant): said at their place
            at = _constant_at(text)
            raise QrulesError(Diagnostic("QR507", f"数字应为有限的数（JSON: {exc}）",
                                         self.lines.span(self.file, at) if at is not None else Span(self.file, 1, 1),
                                         hint="写出数字，或不写这一项（write a number, or leave the field out）")) from None
        return data

    def positions_for(self, record: tuple, report: bool = False) -> dict[tuple, Pos]:
        if record not in self._cache:
            start, end = self.starts[record]
            self._cache[record] = _json_positions(self.text, self.file, self.diags if report else None,
                                                  lines=self.lines, start=start, end=end, base=record)
        return self._cache[record]

    def span(self, path: tuple, *, key: bool = False) -> Span:
        path = tuple(path)
        if not path:
            return Span(self.file, 1, 1)
        if len(path) == 1:
            kspan = self.top_keys.get(path[0])
            return kspan or Span(self.file, 1, 1)
        record = path[:2]
        if record not in self.starts:
            return self.span(path[:1])
        if len(path) == 2 and not key:
            return self.lines.span(self.file, self.starts[record][0])
        positions = self.positions_for(record)
        while len(path) >= 2:
            pos = positions.get(path)
            if pos is not None:
                return (pos.key or pos.value) if key else pos.value
            path = path[:-1]
        return self.lines.span(self.file, self.starts[record][0])


def _load_json_text(text: str, file: str, loader: RecordLoader) -> LoadedHistory:
    if len(text) > MAX_JSON_BYTES:
        raise QrulesError(Diagnostic("QR001", f"'{file}' is over the {MAX_JSON_BYTES // 1_000_000} MB limit for "
                                     f"JSON", Span(file, 1, 1), hint=_LARGE))
    register_source(file, text)
    if not text.strip():
        raise _empty(Span(file, 1, 1))
    doc = _JsonDoc(file, text, loader.diags)
    return _from_document(loader, doc)  # type: ignore[arg-type]


def jsonl_decoder() -> tuple[_DupFlag, Callable[[str], Any]]:
    """(the duplicate-key flag, the decode function) every JSON Lines record is read with."""
    flag = _DupFlag()
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=flag)
    return flag, decoder.decode


def jsonl_scanner() -> Callable[[str, int], tuple[Any, int]]:
    """``scan(text, 0) -> (value, end)``: :func:`jsonl_decoder`'s reader without its duplicate-key
    hook (a Python call per object) and without the checks around it: the same values for a
    line without a key written twice, which the columnar reader makes sure of otherwise."""
    return json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant).scan_once


def _jsonl_lines(lines: Iterable[str], file: str, loader: RecordLoader) -> LoadedHistory:
    flag, decode = jsonl_decoder()
    records = 0
    for lineno, line in enumerate(lines, 1):
        if jsonl_line(loader, file, line, lineno, flag, decode)[0] != "blank":
            records += 1
    if not records:
        raise _empty(Span(file, 1, 1))
    return loader.finish()


def jsonl_line(loader: RecordLoader, file: str, line: str, lineno: int, flag: _DupFlag,
               decode: Callable[[str], Any]) -> tuple[str, Any]:
    """Read one line of a JSON Lines history into ``loader``: (what it was, the record decoded,
    without its ``record`` field, or None). What it was: ``blank``, ``subject``,
    ``event`` (handed to ``add_subject`` / ``add_event``), ``unplaced`` (refused as an event
    record: not JSON, not an object, no ``record``) or ``invalid`` (a subject refused for its
    ``record``). The columnar loader (:mod:`qrules.history.arrowjsonl`) reads the lines its
    checks are unsure of through here, so both say exactly the same."""
    stripped = line.strip()
    if not stripped:
        return "blank", None
    span = Span(file, lineno, 1)
    if len(line) > MAX_JSONL_LINE:
        reason = f"line {lineno} is longer than {MAX_JSONL_LINE} characters"
        loader._report("QR507", reason, span)
        loader.reject_unplaced(None, span, reason, "QR507")
        return "unplaced", None
    flag.seen = False
    try:
        raw = decode(stripped)
    except RecursionError:
        reason = f"line {lineno} is nested too deeply to load"
        loader._report("QR507", reason, span)
        loader.reject_unplaced(None, span, reason, "QR507")
        return "unplaced", None
    except ValueError as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        col = exc.colno + (len(line) - len(line.lstrip())) if isinstance(exc, json.JSONDecodeError) else 1
        if not isinstance(exc, json.JSONDecodeError):
            at = _constant_at(line)
            col = at + 1 if at is not None else col
        zh = json_message(msg)[0] if isinstance(exc, json.JSONDecodeError) else f"数字应为有限的数（{msg}）"
        reason = f"line {lineno} is not valid JSON: {zh}"
        loader._report("QR507", reason, Span(file, lineno, col),
                       "JSON Lines 每行是一条完整的 {...} 记录，前后不能有其他内容（each line is one complete "
                       "{...} record）")
        loader.reject_unplaced(None, span, reason, "QR507")
        return "unplaced", None
    at = lone_surrogate(stripped, raw)
    if at is not None:
        message, hint = surrogate_message(stripped, at)
        reason = f"line {lineno} is not valid JSON: {message}"
        loader._report("QR507", reason, Span(file, lineno, at + 1 + len(line) - len(line.lstrip())), hint)
        if surrogate_subject(raw):  # its events are refused with this reason, as a refused subject's
            loader.invalid.setdefault(str(raw["id"]), reason)
            return "invalid", raw
        loader.reject_unplaced(None, span, reason, "QR507")
        return "unplaced", None
    locate = jsonl_locator(file, line, lineno)
    if flag.seen:
        _json_positions(line, file, loader.diags, lines=_LineIndex(line, lineno))
    if not isinstance(raw, dict):
        reason = f"line {lineno}: a record must be a JSON object {{...}}, not {type(raw).__name__}"
        loader._report("QR507", reason, span)
        loader.reject_unplaced(raw, span, reason, "QR507")
        return "unplaced", raw
    record = raw.pop("record", None)
    twice = "QR507" if flag.seen else None
    if record == "event":
        loader.add_event(raw, span, locate, twice=twice)
        return "event", raw
    if record == "subject":
        loader.add_subject(raw, span, locate, lineno, twice=twice)
        return "subject", raw
    kind = raw.get("kind")
    if record is None:
        reason = f"line {lineno}: missing \"record\": \"subject\" or \"event\""
        hint = None
    else:
        reason = f"line {lineno}: \"record\" must be \"subject\" or \"event\", not {record!r}"
        hint = did_you_mean(str(record), ["subject", "event"])
    loader._report("QR507", reason, locate(("record",) if record is not None else (), False), hint)
    if kind in SUBJECT_KINDS and isinstance(raw.get("id"), (str, int)):
        loader.invalid.setdefault(str(raw["id"]), reason)
        return "invalid", raw
    loader.reject_unplaced(raw, span, reason, "QR507")
    return "unplaced", raw


def jsonl_locator(file: str, line: str, lineno: int) -> Locate:
    """The ``locate`` of a JSON Lines record: a field path -> ``file:line:column`` in that line."""

    def locate(loc: tuple, key: bool = False) -> Span:
        positions = _json_positions(line, file, None, lines=_LineIndex(line, lineno))
        return Document(file, None, positions).span(tuple(loc), key=key)

    return locate


def _sniff(text: str) -> str:
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        return "yaml"
    try:
        json.loads(text, parse_float=Decimal)
        return "json"
    except json.JSONDecodeError as exc:
        return "jsonl" if exc.msg == "Extra data" else "json"
    except (ValueError, RecursionError):
        return "json"


_EXTENSIONS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}

Format = Literal["auto", "yaml", "json", "jsonl"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Loading builds many small acyclic objects; the cyclic collector's repeated passes over
    them would cost more than the loading itself on large histories."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_history_document(doc: Document) -> LoadedHistory:
    """Load a history from an already parsed YAML document (e.g. one embedded in a test case),
    keeping its positions for messages."""
    with gc_paused():
        return _from_document(RecordLoader(doc.file), doc)


def load_history_text(text: str, file: str = "<string>", format: Format = "auto") -> LoadedHistory:
    """Load a history from text. Raises :class:`QrulesError` if the text cannot be parsed at all."""
    with gc_paused():
        return _load_history_text(text, file, format)


def _load_history_text(text: str, file: str, format: Format) -> LoadedHistory:
    text = text.removeprefix("\ufeff")  # a byte-order mark, as Windows editors write it
    if format == "auto":
        format = _EXTENSIONS.get(Path(file).suffix.lower(), "auto") if file and not file.startswith("<") else "auto"
        if format == "auto":
            format = _sniff(text)  # type: ignore[assignment]
    loader = RecordLoader(file)
    if format == "yaml":
        diags = Diagnostics()
        doc = _yaml_load_text(text, file, diags)
        if doc is None:
            raise QrulesError(diags.items)
        loader.diags.extend(diags.items)
        loader.quiet = {(d.span.line, d.span.col) for d in diags.items if d.code == "QR006" and d.span}
        return _from_document(loader, doc)
    if format == "json":
        try:
            return _load_json_text(text, file, loader)
        except RecursionError:  # the JSON decoder's own limit (about 1,000 levels)
            raise QrulesError(Diagnostic("QR005", "the document is nested too deeply to load", Span(file, 1, 1),
                                         hint="历史数据是记录的列表，每条记录只有一层字段（a history is a mapping of lists of flat records）")) from None
    if format == "jsonl":
        register_source(file, text)
        return _jsonl_lines(text.splitlines(), file, loader)
    raise ValueError(f"unknown history format {format!r} (auto, yaml, json, jsonl)")


def load_history(source: str | Path, *, format: Format = "auto") -> LoadedHistory:
    """Load a history file (YAML, JSON or JSON Lines; by extension, else by content).

    JSON Lines files are read line by line. Raises :class:`QrulesError` if the file cannot
    be read or parsed at all; every problem with individual records is in the result.
    """
    with gc_paused():
        return _load_history(source, format)


def _load_history(source: str | Path, format: Format) -> LoadedHistory:
    file = str(source)
    if file == "-":  # standard input: the format from the content
        import sys

        try:
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise QrulesError(not_utf8("<stdin>", exc)) from None
        return _load_history_text(text, "<stdin>", format)
    path = Path(source)
    if format == "auto":
        format = _EXTENSIONS.get(path.suffix.lower(), "auto")  # type: ignore[assignment]
    if format == "jsonl":
        from ..safeio import FileRefused, open_text
        from ..yamlsource import utf16_file

        if utf16_file(path, "JSON Lines"):  # without a BOM it would decode, a NUL in every other character
            raise QrulesError(utf16_file(path, "JSON Lines"))
        try:
            handle = open_text(path)  # regular files only, size capped, a BOM skipped
        except FileRefused as exc:
            raise QrulesError(Diagnostic("QR001", str(exc), Span(file, 0, 0),
                                         hint="检查路径是否正确，并给出普通文件（name a regular file; check the path）")) from None
        with handle:
            try:
                return _jsonl_lines((line.rstrip("\n") for line in handle), file, RecordLoader(file))
            except UnicodeDecodeError as exc:
                raise QrulesError(not_utf8_file(path, "JSON Lines")) from None
            except FileRefused as exc:
                raise QrulesError(Diagnostic("QR001", str(exc), Span(file, 1, 1))) from None
    diags = Diagnostics()
    limit = MAX_JSON_BYTES if format in ("json", "auto") else 20_000_000
    text = _read_text(path, diags, max_bytes=limit)
    if text is None:
        raise QrulesError(diags.items)
    if format == "auto":
        format = _sniff(text)  # type: ignore[assignment]
        if format == "yaml" and len(text.encode("utf-8")) > 20_000_000:
            raise QrulesError(Diagnostic("QR001", f"'{file}' is over the 20 MB limit for YAML", Span(file, 1, 1),
                                         hint=_LARGE))
    return _load_history_text(text, file, format)


def load_history_data(data: dict, file: str = "<data>") -> LoadedHistory:
    """Load a history given as Python data (the shape of the YAML/JSON file). Records carry
    no source positions; messages name them by id."""
    with gc_paused():
        return _from_document(RecordLoader(file), Document(file, data, {}), has_positions=False)

