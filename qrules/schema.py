"""Pydantic models of the ruleset format: the second stage after YAML loading.

The loader merges a ruleset with its parents into plain data, then validates it against
:class:`Ruleset`. Fields typed :data:`Expr` hold expression-language text; they are
parsed, checked and compiled later (``qrules.ruleset``), with positions from the YAML.
``qrules schema ruleset`` prints the JSON Schema of these models for editors.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator


def _to_text(value: Any) -> Any:
    """An expression may be written as a bare YAML scalar (12, true): keep its text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return value


Expr = Annotated[str, BeforeValidator(_to_text), Field(description="an expression in the qrules language")]
SubjectKind = Literal["product", "producer", "seller", "operator"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Note(_Model):
    """A documented rule whose computation is built into the engine's model."""

    cite: str | None = None
    note: str | None = None
    value: Any = None


class InForce(_Model):
    from_: dt.date = Field(alias="from")
    until: dt.date | None = None
    cite: str | None = None


class Jurisdiction(_Model):
    name: str
    division: str = Field(pattern=r"^\d{6}$", description="6-digit administrative division code (e.g. 440000, 440512)")
    cite: str | None = None


class Scope(_Model):
    excluded_categories: list[str] = []
    cite: str | None = None


class AuthorityLevel(_Model):
    name: str
    cite: str | None = None


class Authorities(_Model):
    levels: dict[str, AuthorityLevel]
    records: dict[str, str] = Field(description="which level records spot-check items and which the other items")
    entered_by: dict[str, list[str]] = Field(
        default_factory=dict, description="levels whose units may also enter what a level organises "
        "(组织实施 vs 录入: Haojiang 一(三) lets the district bureau and its offices enter what the city organises)")
    cite: str | None = None


class Parameter(_Model):
    value: Expr
    cite: str | None = None
    note: str | None = None
    provisional: bool = False


class WindowRule(_Model):
    counts: Expr
    cite: str | None = None


class OwnRule(_Model):
    """A subject scored on its own entries: start + its deductions, repairs and rewards."""

    rule: Literal["own"] = "own"
    cite: str | None = None
    note: str | None = None


class ProducerRule(_Model):
    """How a producer's score is composed: ``lowest_product`` (the lowest over its products'
    terms, each merged with the producer's entries) or ``own`` (its own entries, like a seller)."""

    rule: Literal["lowest_product", "own"] = "lowest_product"
    cite: str | None = None
    note: str | None = None


class Composition(_Model):
    """How each kind of subject's score is composed; the engine follows ``rule`` and cites ``cite``."""

    cite: str | None = None
    product: OwnRule = OwnRule()
    seller: OwnRule = OwnRule()
    producer: ProducerRule = ProducerRule()


class Citations(_Model):
    """Articles the engine cites where no rule of the ruleset applies (refused input)."""

    subjects: str | None = Field(default=None, description="who is a subject: unknown or invalid subjects")
    items: str | None = Field(default=None, description="the list of items: an unknown item code")
    corrections: str | None = Field(default=None, description="corrections of errors")
    repairs: str | None = Field(default=None, description="what a repair applies to: a missing or uncounted deduction")
    filing: str | None = Field(default=None, description="who files on Yuepintong: a filing on a product")
    rewards: str | None = Field(default=None, description="the list of reward rules: an unknown rule")
    score_table: str | None = Field(default=None, description="where the official score table is issued "
                                                              "(provisional values)")


class SpotCheckDedup(_Model):
    same_line: list[Literal["producer", "standard", "brand", "model", "nice_class"]]
    deduplicated_when: Expr
    cite: str | None = None


class Heaviest(_Model):
    """Where one event matches several items or values for a subject, which one counts."""

    rule: Literal["heaviest"] = "heaviest"
    cite: str | None = None
    note: str | None = None


class Dedup(_Model):
    once_per_event: Note
    heaviest: Heaviest
    spot_check: SpotCheckDedup


#: Points are on a 12-point scale: anything beyond these bounds is a typo, and would overflow
#: the exact decimal arithmetic at evaluation time (a value such as -1.0e+29 or 60 digits).
MAX_POINTS = Decimal(1000)
MAX_POINT_DECIMALS = 4


def _plain_points(value: Decimal | None) -> Decimal | None:
    if value is None:
        return value
    if not value.is_finite() or abs(value) > MAX_POINTS:
        raise ValueError(f"points must lie between -{MAX_POINTS} and {MAX_POINTS}（分值超出范围）")
    if value.normalize().as_tuple().exponent < -MAX_POINT_DECIMALS:
        raise ValueError(f"points may have at most {MAX_POINT_DECIMALS} decimal places（分值小数位过多）")
    return value


class Item(_Model):
    subject: SubjectKind
    title: str
    points: Decimal
    intentional: Decimal | None = Field(default=None, description="points when the act was intentional (第十三条)")
    spot_check: bool = False
    major_impact: bool = False
    when: Expr | None = Field(default=None, description="the item applies only where this holds (subject, event, "
                                                         "what is in the window)")
    cite: str | None = None
    provisional: bool = False
    note: str | None = None

    @field_validator("points", "intentional")
    @classmethod
    def _not_positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value > 0:
            raise ValueError("deduction points must be zero or negative (write -3, not 3)")
        return _plain_points(value)


class Link(_Model):
    items: list[str]
    item: str
    when: Expr | None = None
    cite: str | None = None


class Links(_Model):
    producer_of_product: list[Link] = []
    named_seller: list[Link] = []


class Formula(_Model):
    points: Expr
    cite: str | None = None


class Condition(_Model):
    when: Expr
    reason: str
    cite: str | None = None


class ValueRule(_Model):
    value: Expr
    cite: str | None = None


class LimitRule(_Model):
    allowed_when: Expr
    reason: str
    cite: str | None = None


class Repair(_Model):
    conditions: list[Condition]
    ratio: ValueRule
    limit: LimitRule
    lapses_with_deduction: Note


class RewardRule(_Model):
    subject: SubjectKind
    title: str
    points: Decimal
    when: Expr | None = Field(default=None, description="one condition (with 'reason'); or list 'conditions'")
    reason: str | None = None
    conditions: list[Condition] = Field(
        default_factory=list, description="all must hold; a refusal names each failing one with its reason and "
        "article (第十六条、第十七条), as repair conditions do (第十四条)")
    cite: str | None = None
    provisional: bool = False

    @field_validator("points")
    @classmethod
    def _plain(cls, value: Decimal) -> Decimal:
        return _plain_points(value)

    @model_validator(mode="after")
    def _has_conditions(self) -> "RewardRule":
        if self.when is None and not self.conditions:
            raise ValueError("a reward rule needs 'conditions' (a list of when/reason/cite) or 'when' with 'reason'")
        if self.when is not None and not self.reason:
            raise ValueError("a reward rule's 'when' needs a 'reason' (said when the condition fails)")
        return self


class RewardCap(_Model):
    counted: Expr
    cite: str | None = None


class Rewards(_Model):
    rules: dict[str, RewardRule]
    cap: RewardCap


class ClassDef(_Model):
    when: Expr | None = None
    label: str | None = None
    cite: str | None = None


class Lock(_Model):
    class_: str = Field(alias="class")
    duration: Expr


class Adjustment(_Model):
    dates: list[Annotated[str, Field(pattern=r"^\d{2}-\d{2}$")]]
    score_as_of: Expr
    lock: Lock | None = None
    cite: str | None = None


class Measure(_Model):
    mode: str
    mode_en: str | None = None
    notice: str | None = None
    checks_per_year: int | None = None
    random_checks: bool = False
    interview: str | None = None
    actions: list[str] = []
    cite: str | None = None


class Flag(_Model):
    when: Expr
    cite: str | None = None
    note: str | None = None


class CalendarYear(_Model):
    holidays: list[str] = []
    workdays: list[str] = []
    cite: str | None = None


class Deadline(_Model):
    """A procedural clock: which event starts it, how long, which event stops it (第二十一条等)."""

    title: str
    starts: str | list[str] = Field(description="the event kind that starts the clock, or several (第二十三条's "
                                    "notify: every scoring, deduction, repair and reward)")
    stops: list[str]
    within: Expr
    party: Literal["bureau", "operator"] = "bureau"
    addressee: Literal["subject", "producer"] = Field(
        default="subject", description="whom the procedure is addressed to: the subjects as named, or 'producer': "
        "a product's producer stands for it (第二十三条)")
    cite: str | None = None

    @property
    def start_kinds(self) -> list[str]:
        """The kinds of event that start the clock, whether ``starts`` names one or several."""
        return [self.starts] if isinstance(self.starts, str) else list(self.starts)


class OutOfScope(_Model):
    cite: str
    note: str


class Ruleset(_Model):
    """A resolved ruleset (after inheritance)."""

    qrules: Literal[1] = 1
    ruleset: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    extends: str | None = None
    family: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._-]*$",
                               description="the family this version belongs to (§4a); default: the ruleset's own name")
    transition: Literal["keep", "redecide"] | None = Field(
        default=None, description="at this version's start: keep past decisions (default) or re-decide the "
                                  "entries still in the window under this version (§4a); not inherited")
    version: str
    title: str
    document: str | None = None
    issuer: str | None = None
    issued: dt.date | None = None
    in_force: InForce
    jurisdiction: Jurisdiction
    scope: Scope
    authorities: Authorities
    parameters: dict[str, Parameter]
    window: WindowRule
    composition: Composition
    citations: Citations = Citations()
    dedup: Dedup
    items: dict[str, Item]
    links: Links = Links()
    intentional: Formula
    repair: Repair
    rewards: Rewards
    effective_dates: dict[str, Note] = {}
    classes: dict[str, ClassDef]
    adjustment: Adjustment
    measures: dict[str, Measure]
    information_use: dict[str, Flag] = {}
    calendar: dict[int, CalendarYear] = {}
    deadlines: dict[str, Deadline] = {}
    out_of_scope: list[OutOfScope] = []
    notes: list[str] = []


def _relax(node: Any) -> None:
    """Child rulesets hold any subset of keys and may add '+key' / remove '-key'."""
    if isinstance(node, dict):
        node.pop("required", None)
        if "properties" in node:
            node.setdefault("patternProperties", {})["^[+-]"] = {}
        for value in node.values():
            _relax(value)
    elif isinstance(node, list):
        for value in node:
            _relax(value)


def ruleset_json_schema(child: bool = False) -> dict:
    """JSON Schema of the ruleset format (for editor completion and validation).

    With ``child=True``, the schema of a file that ``extends`` another: no key is required
    and ``+key`` / ``-key`` entries are allowed anywhere.
    """
    schema = Ruleset.model_json_schema(by_alias=True)
    if child:
        _relax(schema)
    schema["$id"] = "https://qrules.example/schema/ruleset.json"
    schema["title"] = "qrules ruleset"
    # A child ruleset may override any subset and add '+key' / remove '-key' entries.
    schema["description"] = ("A qrules ruleset. A ruleset with 'extends' is merged with its parent "
                             "before validation, so a child file may hold any subset of these keys.")
    return schema
