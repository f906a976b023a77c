"""Histories: what happened to the scored subjects (products and operators).

A history file lists **subjects** (记分对象: operators keyed by their unified social
credit code, products keyed by brand + Nice class) and **events** (deductions, repairs,
rewards, spot checks, Yuepintong filings, corrections and procedure events). It can be
written as YAML, as JSON of the same shape, or as JSON Lines with one record per line
(``"record": "subject"`` or ``"record": "event"``). See ``docs/history.md``.

Loading validates every record on its own and reports every problem at once, each at the
``file:line:col`` of its record or field. A record that fails is never dropped silently:
a refused subject goes to :attr:`LoadedHistory.invalid_subjects` (with the reason, so the
engine can reject events naming it), a refused event to
:attr:`LoadedHistory.rejected_events`, and each gets a :class:`~qrules.errors.Diagnostic`.

Error codes are QR5xx (:data:`CODES`). This module holds the record models and their field
validation; reading files into them is :mod:`qrules.history.load`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, InstanceOf, PrivateAttr, StrictBool,
                      TypeAdapter, WithJsonSchema, model_validator)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError
from stdnum.cn import uscc as _stdnum_uscc
from stdnum.exceptions import ValidationError as _StdnumError

from ..errors import Span

__all__ = [
    "CODES", "PROCEDURE_KINDS", "EVENT_KINDS", "SUBJECT_KINDS",
    "LineInfo", "OperatorSubject", "ProductSubject", "Subject",
    "Deduction", "Repair", "Reward", "SpotCheck", "Filing", "CorrectionChanges", "Correction",
    "ProcedureEvent", "Event", "History", "history_json_schema",
    "check_uscc", "uscc_check_character",
]

CODES: dict[str, str] = {
    "QR501": "a record does not match the history schema (missing or unknown field, wrong type, bad date)",
    "QR502": "invalid unified social credit code (统一社会信用代码: length, characters or check character)",
    "QR503": "Nice class out of range (products use goods classes 1–34)",
    "QR504": "duplicate id (subject ids are unique among subjects, event ids among events)",
    "QR505": "a product's producer is not a known operator, or lacks the producer role (warning)",
    "QR506": "unknown record kind",
    "QR507": "file format problem (not a mapping, unknown top-level key, bad JSON line, duplicate JSON key)",
    "QR508": "the same subject twice: two operators with one credit code, or two products with one "
             "brand + Nice class (Art 6)",
    "QR509": "an event names a subject or event that does not exist",
    "QR510": "an event refers to a subject or event of the wrong kind (a filing of a product, a repair "
             "of a spot check, ...)",
    "QR511": "a credit code whose registration-authority code (1st character) is not in the GB 32100 "
             "table (warning)",
    "QR512": "a correction dated before the event it corrects (第二十五条; 更正日期早于被更正的事件)",
    "QR513": "a record entered (recorded) before the date of what it records (brief §4a; 录入日期早于事件日期)",
    "QR520": "an as-of date outside the dates qrules evaluates (1900-01-01 to 2199-12-31; a record dated "
             "outside them is refused as QR501)",
}

from .kinds import EVENT_KINDS, PROCEDURE_KINDS, SUBJECT_KINDS  # noqa: E402  (re-exported)

MAX_JSON_BYTES = 200_000_000
MAX_JSONL_LINE = 1_000_000

# --------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------


def _to_id(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("id_type", "an id must be a string or a whole number, not {value}",
                                  {"value": "true" if value else "false"})
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if not value.strip():
            raise PydanticCustomError("id_empty", "an id must not be empty")
        return value
    raise PydanticCustomError("id_type", "an id must be a string or a whole number, not {type}",
                              {"type": "null (empty)" if value is None else f"a {type(value).__name__}"})


Id = Annotated[str, BeforeValidator(_to_id),
               WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]})]


def _to_code(value: Any) -> Any:
    """Item numbers, rule numbers, models: strings; unquoted YAML numbers keep their text."""
    if isinstance(value, bool):
        raise PydanticCustomError("code_type", "expected text such as \"11.1\", not {value}", {"value": value})
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        raise PydanticCustomError("code_type", "write {value} as a quoted string, e.g. \"{value}\"",
                                  {"value": repr(value)})
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError("code_empty", "must not be empty")
    return value


Code = Annotated[str, BeforeValidator(_to_code),
                 WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1}, {"type": "number"}]})]
Text = Annotated[str, BeforeValidator(_to_code)]

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

#: The dates a history and an as-of date may hold. Outside them, window arithmetic (36 months
#: back, a 3-year D lock, half-yearly adjustments, deadlines) would leave the calendar, and the
#: adjustments to walk would grow without bound; a record dated outside is refused on its own.
MIN_DATE = _dt.date(1900, 1, 1)
MAX_DATE = _dt.date(2199, 12, 31)


def date_out_of_range(value: _dt.date) -> str | None:
    """Why ``value`` is not a date qrules evaluates (see :data:`MIN_DATE`), or None."""
    if MIN_DATE <= value <= MAX_DATE:
        return None
    return (f"the date {value.isoformat()} is outside the dates qrules evaluates, {MIN_DATE.isoformat()} to "
            f"{MAX_DATE.isoformat()}（日期超出可计算范围）")


def check_as_of(as_of: _dt.date | None) -> None:
    """Refuse an as-of date outside :data:`MIN_DATE`..:data:`MAX_DATE` (QR520) before any work."""
    problem = date_out_of_range(as_of) if as_of is not None else None
    if problem:
        from ..errors import Diagnostic, QrulesError

        raise QrulesError(Diagnostic("QR520", f"as-of date: {problem}",
                                     hint="评价日期写 1900-01-01 至 2199-12-31 之间的日期（evaluate as of a date between them）"))


def _in_range(value: _dt.date) -> _dt.date:
    problem = date_out_of_range(value)
    if problem:
        raise PydanticCustomError("date_range", problem)
    return value


def _to_date(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        raise PydanticCustomError("date_type", "expected a date (YYYY-MM-DD) without a time of day")
    if isinstance(value, _dt.date):
        return _in_range(value)
    if isinstance(value, str):
        match = _ISO_DATE.match(value.strip())
        if not match:
            raise PydanticCustomError("date_format", "'{value}' is not a date; write it as YYYY-MM-DD, "
                                      "e.g. 2023-03-01 (日期格式应为 YYYY-MM-DD)", {"value": value})
        try:
            date = _dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise PydanticCustomError("date_invalid", "the date {value} does not exist (日期不存在)",
                                      {"value": value.strip()}) from None
        return _in_range(date)
    raise PydanticCustomError("date_type", "expected a date written YYYY-MM-DD, not {value!r}",
                              {"value": value})


Date = Annotated[_dt.date, BeforeValidator(_to_date)]

_REGION = re.compile(r"^\d{6}$")


def _to_region(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _REGION.match(value):
        raise PydanticCustomError("region", "region must be a 6-digit administrative division code "
                                  "(行政区划代码, GB/T 2260), e.g. \"440512\"; got {value!r}", {"value": value})
    return value


Region = Annotated[str, BeforeValidator(_to_region), WithJsonSchema({"type": "string", "pattern": r"^\d{6}$"})]


def _to_nice_class(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("qr503", "the Nice class must be a whole number from 1 to 34 "
                                  "(尼斯分类应为1–34的整数), not {value!r}", {"value": value})
    if 35 <= value <= 45:
        raise PydanticCustomError("qr503", "Nice class {value} is a service class; products use goods "
                                  "classes 1–34 (尼斯分类第1–34类为商品)", {"value": value})
    if not 1 <= value <= 34:
        raise PydanticCustomError("qr503", "Nice class {value} does not exist; products use goods classes "
                                  "1–34 (尼斯分类第1–34类为商品)", {"value": value})
    return value


NiceClass = Annotated[int, BeforeValidator(_to_nice_class),
                      WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 34})]

# ---- unified social credit code (GB 32100-2015) --------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
#: GB 32100 registration-authority codes (登记管理部门代码), 1st character.
USCC_AUTHORITIES = {
    "1": "机构编制", "2": "外交", "3": "司法行政", "4": "文化", "5": "民政", "6": "旅游", "7": "宗教",
    "8": "工会", "9": "市场监管（工商）", "A": "中央军委改革和编制办公室", "N": "农业", "Y": "其他",
}


def uscc_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (python-stdnum's helper)."""
    return _stdnum_uscc.calc_check_digit(first17)


#: How Excel shows an 18-digit code it took for a number: 9.14405E+17.
_SCIENTIFIC = re.compile(r"\d+(\.\d+)?[eE]\+?\d+")


@functools.lru_cache(maxsize=4096)
def check_uscc(code: str) -> tuple[str, str | None]:
    """Normalise a credit code and say what is wrong with it: ``(code, problem or None)``.

    Memoised by the text (a pure function of it): ``qrules serve`` and the Python API load the
    same operators again and again, and stdnum's checks cost about a quarter of loading a small
    history.

    python-stdnum's ``validate`` refuses any code whose first 8 characters are not digits,
    but GB 32100 lets the registration-authority code (1st) and institution-category code
    (2nd) be letters (``A``, ``N``, ``Y`` are in use). So the format is checked here per
    GB 32100, the check character always with stdnum's ``calc_check_digit``, and codes
    that start with two digits are also passed through stdnum's own ``validate``.
    """
    norm = _stdnum_uscc.compact(code)
    shown = f"'{code}'"
    if len(norm) != 18:
        excel = ("; a spreadsheet turned it into a number: format the column as text and enter the code again"
                 "（表格软件把代码变成了数字：请把该列设为“文本”格式后重新录入）"
                 if _SCIENTIFIC.fullmatch(str(code).strip()) else "")
        return norm, (f"unified social credit code {shown} has {len(norm)} characters; it must have 18 "
                      f"(统一社会信用代码应为18位){excel}")
    for pos, ch in enumerate(norm, 1):
        if ch not in USCC_ALPHABET:
            extra = " (I, O, S, V and Z are never used)" if ch in "IOSVZ" else ""
            return norm, (f"unified social credit code {shown} has '{ch}' at position {pos}, which is not "
                          f"allowed{extra} (统一社会信用代码含有不允许的字符)")
    if not norm[2:8].isdigit():
        return norm, (f"unified social credit code {shown}: characters 3–8 are the administrative division "
                      f"code and must be digits (第3–8位为登记管理机关行政区划码，应为数字)")
    expected = uscc_check_character(norm[:17])
    if norm[17] != expected:
        return norm, (f"unified social credit code {shown} has a wrong check character "
                      f"(统一社会信用代码校验位错误): expected '{expected}', found '{norm[17]}'")
    if norm[:2].isdigit():
        try:
            _stdnum_uscc.validate(norm)
        except _StdnumError as exc:  # pragma: no cover - the checks above cover stdnum's
            return norm, f"unified social credit code {shown} is not valid: {exc.message}"
    return norm, None


def _to_uscc(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("qr502", "a unified social credit code must be written as text "
                                  "(18 characters), not {value!r}", {"value": value})
    norm, problem = check_uscc(value)
    if problem:
        raise PydanticCustomError("qr502", problem)
    return norm


USCC = Annotated[str, BeforeValidator(_to_uscc),
                 WithJsonSchema({"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}"
                                 "[0-9A-HJ-NPQRTUWXY]{10}$",
                                 "description": "unified social credit code (GB 32100), 18 characters "
                                                "with a check character"})]

# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Record(_Frozen):
    """A subject or event record; ``span`` is where it was written (not part of its value)."""

    span: SkipJsonSchema[InstanceOf[Span] | None] = Field(default=None, exclude=True, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Record):
            return NotImplemented
        if type(self) is not type(other):
            return False
        names = [n for n in type(self).model_fields if n != "span"]
        return all(getattr(self, n) == getattr(other, n) for n in names)

    def __hash__(self) -> int:
        return hash((type(self).__name__, getattr(self, "id", None)))


class LineInfo(_Frozen):
    """A product line (Art 9(4)): model/specification and the standard tested against."""

    model: Text | None = None
    standard: Text | None = None


def _line_or_none(line: LineInfo | None) -> LineInfo | None:
    """``line: {}`` (neither part) is no line: what a table's empty cells say too."""
    return line if line is None or line.model is not None or line.standard is not None else None


#: An event's product line (第九条第二款); written without either part, it is absent.
Line = Annotated[LineInfo | None, AfterValidator(_line_or_none)]

Role = Literal["producer", "seller"]


class OperatorSubject(_Record):
    """经营者: one organisation, keyed by its unified social credit code (Art 6)."""

    id: Id
    kind: Literal["operator"]
    uscc: USCC
    name: str | None = None
    roles: list[Role] = Field(default_factory=list)
    region: Region | None = None
    category: str | None = None
    note: str | None = None


class ProductSubject(_Record):
    """产品: same brand (trademark) + same Nice goods class (Art 6)."""

    id: Id
    kind: Literal["product"]
    brand: Text
    nice_class: NiceClass
    producer: Id
    name: str | None = None
    category: str | None = None
    region: Region | None = None
    note: str | None = None


Subject = Annotated[Union[OperatorSubject, ProductSubject], Field(discriminator="kind")]


def _no_repeats(values: list[str] | None, what: str) -> None:
    if values:
        seen: set[str] = set()
        for v in values:
            if v in seen:
                raise PydanticCustomError("repeated", "{what} lists '{v}' twice", {"what": what, "v": v})
            seen.add(v)


class _Event(_Record):
    id: Id
    date: Date
    recorded: Date | None = Field(default=None, description="when the record was entered (brief §4a, as known "
                                  "at); default: its date")
    recorded_by: str | None = None
    note: str | None = None


class Deduction(_Event):
    """A dishonesty item (失信事项, Art 11/12) recorded against one or more subjects."""

    kind: Literal["deduction"]
    item: Code
    subjects: list[Id] = Field(min_length=1)
    intentional: StrictBool = False
    major_impact: StrictBool = False
    line: Line = None

    @model_validator(mode="after")
    def _check(self) -> "Deduction":
        _no_repeats(self.subjects, "subjects")
        return self


class Repair(_Event):
    """信用修复 of a deduction (Art 14–15); ``date`` is the verification date (Art 21)."""

    kind: Literal["repair"]
    of: Id
    rectified: StrictBool = False
    subjects: list[Id] | None = None
    applied: Date | None = None

    @model_validator(mode="after")
    def _check(self) -> "Repair":
        _no_repeats(self.subjects, "subjects")
        return self


class Reward(_Event):
    """A reward (Art 16–17); ``rule`` names the article/item, e.g. "16" or "17.1"."""

    kind: Literal["reward"]
    rule: Code
    subject: Id
    reported: StrictBool = False
    recalled_before_defect: StrictBool = False
    notice_date: Date | None = None
    action_date: Date | None = None


class SpotCheck(_Event):
    """监督抽查 of a product: pass or fail (不合格)."""

    kind: Literal["spot_check"]
    subject: Id
    result: Literal["pass", "fail"]
    line: Line = None


class Filing(_Event):
    """粤品通 filing by an operator (Art 14(3), 17)."""

    kind: Literal["filing"]
    subject: Id
    concealed: StrictBool = False


class CorrectionChanges(_Frozen):
    """What an ``amend`` correction changes; only the fields written are changed
    (``model_fields_set`` / ``model_dump(exclude_unset=True)``)."""

    item: Code | None = None
    intentional: StrictBool | None = None
    major_impact: StrictBool | None = None
    date: Date | None = None
    subjects: list[Id] | None = Field(default=None, min_length=1)
    line: Line = None

    @model_validator(mode="after")
    def _check(self) -> "CorrectionChanges":
        # a field written as null, or a ``line`` with neither part, changes nothing (Art 24-25)
        written = [f for f in self.model_fields_set if getattr(self, f) is not None]
        if not written:
            raise PydanticCustomError("changes_empty", "'changes' must set at least one of: "
                                      "item, intentional, major_impact, date, subjects, line")
        _no_repeats(self.subjects, "subjects")
        return self


class Correction(_Event):
    """A correction (Art 24–25): revokes or amends an earlier event; both stay in the history."""

    kind: Literal["correction"]
    of: Id
    action: Literal["revoke", "amend"]
    reason: str | None = None
    changes: CorrectionChanges | None = None

    @model_validator(mode="after")
    def _check(self) -> "Correction":
        if self.action == "amend" and self.changes is None:
            raise PydanticCustomError("amend_changes", "an 'amend' correction needs 'changes' "
                                      "(e.g. changes: {item: \"11.7\"})")
        if self.action == "revoke" and self.changes is not None:
            raise PydanticCustomError("revoke_changes", "a 'revoke' correction takes no 'changes'; "
                                      "use action: amend to change fields")
        return self


class ProcedureEvent(_Event):
    """A procedure step with a deadline (Art 21, 23–25), about the event in ``of``."""

    kind: Literal["notice_sent", "objection_filed", "objection_accepted", "objection_refused",
                  "objection_answered", "repair_applied", "error_reported"]
    of: Id


Event = Annotated[Union[Deduction, Repair, Reward, SpotCheck, Filing, Correction, ProcedureEvent],
                  Field(discriminator="kind")]

EVENT_MODELS: dict[str, type[_Event]] = {
    "deduction": Deduction, "repair": Repair, "reward": Reward, "spot_check": SpotCheck,
    "filing": Filing, "correction": Correction, **{k: ProcedureEvent for k in PROCEDURE_KINDS},
}
SUBJECT_MODELS: dict[str, type[_Record]] = {"operator": OperatorSubject, "product": ProductSubject}


class History(_Frozen):
    """Subjects and events that validated. Ids are unique among subjects and among events."""

    subjects: list[Subject] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    _subjects: dict[str, Any] = PrivateAttr(default_factory=dict)
    _events: dict[str, Any] = PrivateAttr(default_factory=dict)
    _links: Any = PrivateAttr(default=None)  # kinds.components of this history, built on first use

    @model_validator(mode="after")
    def _unique(self) -> "History":
        for name, records in (("subject", self.subjects), ("event", self.events)):
            seen: set[str] = set()
            for rec in records:
                if rec.id in seen:
                    raise PydanticCustomError("duplicate_id", "duplicate {name} id '{id}'",
                                              {"name": name, "id": rec.id})
                seen.add(rec.id)
        return self

    def model_post_init(self, context: Any) -> None:
        self._subjects = {s.id: s for s in self.subjects}
        self._events = {e.id: e for e in self.events}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return self.subjects == other.subjects and self.events == other.events

    def subject(self, id: str, default: Any = None) -> OperatorSubject | ProductSubject | None:
        """The subject with this id, or ``default``."""
        return self._subjects.get(id, default)

    def event(self, id: str, default: Any = None) -> Any:
        """The event with this id, or ``default``."""
        return self._events.get(id, default)

    @property
    def operators(self) -> list[OperatorSubject]:
        return [s for s in self.subjects if isinstance(s, OperatorSubject)]

    @property
    def products(self) -> list[ProductSubject]:
        return [s for s in self.subjects if isinstance(s, ProductSubject)]


class HistoryFile(_Frozen):
    """The shape of a history file (YAML or JSON); JSON Lines carries the same records one
    per line with ``"record": "subject"`` or ``"record": "event"``."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="qrules history")
    subjects: list[Subject] = Field(default_factory=list, description="products and operators (记分对象)")
    events: list[Event] = Field(default_factory=list, description="what happened, in any order")


def history_json_schema() -> dict:
    """JSON Schema (draft 2020-12) of a history file."""
    schema = HistoryFile.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://qrules.example/schema/history.json"
    schema["description"] = ("A qrules history: subjects (operators, products) and events (deductions, "
                             "repairs, rewards, spot checks, filings, corrections, procedure events). "
                             "JSON Lines form: one subject or event per line with an extra "
                             "\"record\": \"subject\" | \"event\".")
    return schema


# TypeAdapters for callers validating single records (built once).
EVENT_ADAPTER: TypeAdapter = TypeAdapter(Event)
SUBJECT_ADAPTER: TypeAdapter = TypeAdapter(Subject)
