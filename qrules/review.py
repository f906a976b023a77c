"""Review a ruleset change: ``qrules diff OLD NEW`` and ``qrules impact OLD NEW HISTORY``.

Pipeline position: two ``versioned.load`` results (either may be read from git as
``REV:path``; inheritance is resolved first) -> **review** -> a list of :class:`Change`
in domain words with citations, and an :class:`Impact` of the change on a corpus.

The diff compares the resolved models, not the YAML text, so moving a value from a child
file to its parent, reordering keys or rewriting comments is not a change. Class
thresholds are compared **semantically**: the class conditions compare ``score`` with
constants (the partition proof of ``qrules.audit``), so evaluating both sides at every
constant and between them finds, exactly, the score ranges whose class changes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from .audit import Piece, describe_range, literal_numbers, score_pieces, score_provable
from .errors import QrulesError
from .output import json_ready
from .language.runtime import EvaluationError, plain

__all__ = ["Change", "ClassRange", "Impact", "SubjectImpact", "class_ranges", "diff", "impact",
           "format_diff", "format_impact", "register"]

# -- vocabulary ---------------------------------------------------------------------------------
SECTION_LABEL = {
    "metadata": "基本信息", "in_force": "有效期", "jurisdiction": "适用地域", "scope": "适用范围",
    "authorities": "实施机关", "parameters": "参数", "window": "统计周期规则", "composition": "得分构成",
    "dedup": "同一事项只记一次", "items": "失信事项", "links": "关联记分", "intentional": "主观故意从重",
    "repair": "信用修复", "rewards": "奖励", "effective_dates": "生效日期", "classes": "信用分类",
    "adjustment": "分类调整", "measures": "监管措施", "information_use": "信息运用", "calendar": "工作日历",
    "deadlines": "程序期限", "out_of_scope": "不计算的条款", "notes": "备注",
}
# kind prefix of a change, by section (kind = f"{noun}_{added|removed|changed}")
SECTION_NOUN = {
    "metadata": "metadata", "in_force": "validity", "jurisdiction": "jurisdiction", "scope": "scope",
    "authorities": "authorities", "parameters": "parameter", "window": "window", "composition": "composition",
    "dedup": "dedup", "items": "item", "links": "link", "intentional": "intentional", "repair": "repair",
    "rewards": "reward", "effective_dates": "effective_date", "classes": "class", "adjustment": "adjustment",
    "measures": "measure", "information_use": "flag", "calendar": "calendar", "deadlines": "deadline",
    "out_of_scope": "out_of_scope", "notes": "notes",
}
METADATA = ("qrules", "ruleset", "extends", "version", "title", "document", "issuer", "issued")
PARAM_LABEL = {
    "start_score": "起始分", "window": "统计周期", "spot_check_dedup": "监督抽查不合格去重期",
    "max_repairs": "周期内修复次数上限", "reward_cap": "周期内奖励分上限",
    "stays_scored": "移出统计周期后保留得分", "new_subject_waits": "新记分对象待下次调整",
}
FIELD_LABEL = {
    "points": "分值", "intentional": "主观故意分值", "subject": "记分对象", "title": "名称",
    "spot_check": "监督抽查", "major_impact": "重大社会影响", "provisional": "暂定", "cite": "条款",
    "note": "说明", "when": "条件", "reason": "不符合时的理由", "value": "值", "label": "名称",
    "mode": "监管方式", "mode_en": "监管方式（英文）", "notice": "提示/警示", "checks_per_year": "每年抽查或检查次数",
    "random_checks": "双随机抽查", "interview": "约谈", "actions": "措施", "from": "起", "until": "止",
    "name": "名称", "division": "行政区划代码", "excluded_categories": "不适用类别", "levels": "层级",
    "records": "记分录入", "counts": "计入条件", "dates": "调整日期",
    "score_as_of": "计分日", "lock": "锁定", "duration": "期限", "class": "类别", "items": "事项",
    "item": "记入事项", "within": "期限", "starts": "起算事件", "stops": "终止事件", "party": "义务方",
    "holidays": "节假日", "workdays": "调休工作日", "same_line": "同一产品线", "deduplicated_when": "去重条件",
    "counted": "计入公式", "allowed_when": "允许条件", "ratio": "修复比例", "limit": "修复次数限制",
    "conditions": "修复条件", "lapses_with_deduction": "随扣分失效", "cap": "奖励分上限", "rules": "规则",
    "product": "产品", "seller": "销售者", "producer": "生产者",
    "once_per_event": "同一事项只记一次", "heaviest": "取最高扣分", "producer_of_product": "生产者关联",
    "named_seller": "销售者关联", "deduction": "扣除分", "repair": "修复分", "reward": "奖励分",
    "ruleset": "规则集编号", "extends": "继承", "version": "版本", "document": "文号", "issuer": "发布机关",
    "issued": "发布日期", "qrules": "格式版本",
}
SUBJECT_LABEL = {"product": "产品", "producer": "生产者", "seller": "销售者", "operator": "经营者"}


def fmt_value(value: Any) -> str:
    """A value as a reviewer reads it: exact decimals, ISO dates, 是/否."""
    if value is None:
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.items() if v not in (None, [], {}, False)) + "}"
    return str(value)




# -- semantic diff --------------------------------------------------------------------------------
@dataclass
class Change:
    """One semantic difference between two rulesets.

    Attributes:
        kind: what changed, e.g. ``parameter_changed``, ``item_added``, ``class_range``.
        path: dotted path in the resolved ruleset (``parameters.window.value``).
        old: the old value (None when added).
        new: the new value (None when removed).
        cite: the article the value encodes (new side, else old side).
        text: one line in domain words.
        range: for ``class_range``: the score range whose class changes, e.g. ``(6, 8]``.
    """

    kind: str
    path: str
    old: Any
    new: Any
    cite: str | None
    text: str
    range: str | None = None

    @property
    def section(self) -> str:
        head = self.path.split(".", 1)[0]
        return head if head in SECTION_LABEL else "metadata"

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "path": self.path, "old": json_ready(self.old), "new": json_ready(self.new),
             "cite": self.cite, "text": self.text}
        if self.range is not None:
            d["range"] = self.range
        return d


@dataclass(frozen=True)
class ClassRange:
    """A range of scores and the class each side gives it."""

    first: Piece
    last: Piece
    old: str
    new: str

    @property
    def text(self) -> str:
        return describe_range(self.first, self.last)

    def contains(self, score: Decimal) -> bool:
        lo, lo_closed = self.first[0], self.first[1]
        hi, hi_closed = self.last[2], self.last[3]
        if lo is not None and (score < lo or (score == lo and not lo_closed)):
            return False
        if hi is not None and (score > hi or (score == hi and not hi_closed)):
            return False
        return True


def class_at(compiled, score: Decimal) -> str:
    """``compiled.classify`` for a sampled score; a condition failing there (``1 / score`` at 0)
    gives no class, as the partition proof reads it."""
    try:
        return compiled.classify(score)
    except EvaluationError:
        return "O"


def class_ranges(old, new) -> tuple[list[ClassRange], bool]:
    """Split the score line at every constant of either side's class conditions.

    Returns (ranges, exact): consecutive pieces with the same (old class, new class) are
    merged; ``exact`` is False when a condition uses ``score`` inside arithmetic, in which
    case the ranges are sampled rather than proven (QR407).
    """
    points: set[Decimal] = set()
    exact = True
    for compiled in (old, new):
        for expr in compiled.class_exprs.values():
            points |= literal_numbers(expr.node)
            exact = exact and score_provable(expr.node)
        points |= {v for v in compiled.params.values() if isinstance(v, Decimal)}
    pieces = score_pieces(sorted(points))
    pairs = [(class_at(old, p[4]), class_at(new, p[4])) for p in pieces]
    out: list[ClassRange] = []
    i = 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and pairs[j + 1] == pairs[i]:
            j += 1
        out.append(ClassRange(pieces[i], pieces[j], *pairs[i]))
        i = j + 1
    return out, exact


def _range_words(rng: str) -> str:
    return f"得分恰为 {rng[8:]}" if rng.startswith("exactly") else f"得分在 {rng} 内"


def _range_english(rng: str) -> str:
    return f"a score of {rng[8:]}" if rng.startswith("exactly") else f"scores in {rng}"


def cite_at(data: Any, path: tuple) -> str | None:
    """The most specific ``cite`` on the way down ``path`` in ``data``."""
    cite = None
    node = data
    for part in (None,) + tuple(path):
        if part is not None:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                break
        if isinstance(node, dict) and node.get("cite"):
            cite = node["cite"]
    return cite


def _dump(compiled) -> dict:
    return compiled.model.model_dump(by_alias=True, mode="python")


def _raw_diff(old: Any, new: Any, path: tuple, out: list) -> None:
    """Leaf differences (op, path, old, new) between two plain data trees."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for k in old:
            if k not in new:
                out.append(("removed", path + (k,), old[k], None))
        for k in new:
            if k not in old:
                out.append(("added", path + (k,), None, new[k]))
        for k in old:
            if k in new:
                _raw_diff(old[k], new[k], path + (k,), out)
        return
    if (isinstance(old, list) and isinstance(new, list) and (old or new)
            and all(isinstance(v, dict) for v in old + new)):
        a = [json.dumps(json_ready(v), sort_keys=True, ensure_ascii=False) for v in old]
        b = [json.dumps(json_ready(v), sort_keys=True, ensure_ascii=False) for v in new]
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            if op == "replace" and i2 - i1 == j2 - j1:
                for k in range(i2 - i1):
                    _raw_diff(old[i1 + k], new[j1 + k], path + (j1 + k,), out)
                continue
            for k in range(i1, i2):
                out.append(("removed", path + (k,), old[k], None))
            for k in range(j1, j2):
                out.append(("added", path + (k,), None, new[k]))
        return
    out.append(("changed", path, old, new))


def _where(path: tuple, old_data: dict, new_data: dict) -> str:
    """Domain words for a path: '统计周期（window）', '失信事项 11.1「监督抽查不合格」分值'."""
    section = path[0]
    rest = list(path[1:])
    data = new_data if _has(new_data, path[:2]) else old_data

    def fields(parts):
        return "".join(FIELD_LABEL.get(p, str(p)) if not isinstance(p, int) else f"第{p + 1}条" for p in parts)

    if section in METADATA:
        return FIELD_LABEL.get(section, section)
    if section == "parameters" and rest:
        name = rest[0]
        label = f"{PARAM_LABEL[name]}（{name}）" if name in PARAM_LABEL else f"参数 {name}"
        tail = [p for p in rest[1:] if p != "value"]
        return label + (" " + fields(tail) if tail else "")
    if section == "items" and rest:
        item = data["items"].get(rest[0], {})
        tail = rest[1:]
        return f"失信事项 {rest[0]}「{item.get('title', '')}」" + (fields(tail) if tail else "")
    if section == "rewards" and len(rest) >= 2 and rest[0] == "rules":
        rule = data["rewards"]["rules"].get(rest[1], {})
        tail = rest[2:]
        return f"奖励规则 {rest[1]}「{rule.get('title', '')}」" + (fields(tail) if tail else "")
    if section == "classes" and rest:
        return f"{rest[0]}类" + (" " + fields(rest[1:]) if rest[1:] else "")
    if section == "measures" and rest:
        return f"{rest[0]}类监管措施" + (" " + fields(rest[1:]) if rest[1:] else "")
    if section == "information_use" and rest:
        return f"信息运用标志 {rest[0]}" + (" " + fields(rest[1:]) if rest[1:] else "")
    if section == "repair" and len(rest) >= 2 and rest[0] == "conditions":
        return f"修复条件第{rest[1] + 1}条" + (" " + fields(rest[2:]) if rest[2:] else "")
    if section == "links" and len(rest) >= 2:
        return f"关联记分（{FIELD_LABEL.get(rest[0], rest[0])}第{rest[1] + 1}条）" + (
            " " + fields(rest[2:]) if rest[2:] else "")
    if section == "deadlines" and rest:
        return f"程序期限 {rest[0]}" + (" " + fields(rest[1:]) if rest[1:] else "")
    if section == "authorities" and len(rest) >= 2 and rest[0] in ("levels", "records"):
        return f"实施机关{FIELD_LABEL[rest[0]]} {rest[1]}" + (" " + fields(rest[2:]) if rest[2:] else "")
    return SECTION_LABEL.get(section, section) + (" " + fields(rest) if rest else "")


def _has(data: Any, path: tuple) -> bool:
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _describe_added(path: tuple, value: Any) -> str:
    section = path[0]
    if section == "items" and len(path) == 2 and isinstance(value, dict):
        intent = value.get("intentional")
        flags = [FIELD_LABEL[f] for f in ("spot_check", "major_impact") if value.get(f)]
        return (f"{SUBJECT_LABEL.get(value.get('subject'), value.get('subject'))}，扣 {fmt_value(value.get('points'))} 分"
                + (f"，主观故意 {fmt_value(intent)} 分" if intent is not None else "")
                + (f"，{'、'.join(flags)}" if flags else "") + ("，暂定分值" if value.get("provisional") else "")
                + (f"，仅当 `{value['when']}` 时适用{_depends(None, value['when'])}" if value.get("when") else ""))
    if section == "rewards" and len(path) == 3 and isinstance(value, dict):
        whens = ([value["when"]] if value.get("when") else []) + [c.get("when") for c in value.get("conditions") or []
                                                                  if isinstance(c, dict)]
        return (f"{SUBJECT_LABEL.get(value.get('subject'), value.get('subject'))}，奖 {fmt_value(value.get('points'))} 分，"
                f"条件 {' 且 '.join(f'`{w}`' for w in whens)}{_depends(None, ' and '.join(map(str, whens)))}")
    if section == "parameters" and len(path) == 2 and isinstance(value, dict):
        return fmt_value(value.get("value"))
    if isinstance(value, dict) and "when" in value and len(value) <= 4:
        return f"`{value['when']}`" + (f"，{value['reason']}" if value.get("reason") else "")
    return fmt_value(value)


# What an expression depends on, in the words of the documents: shown when a change makes a
# rule depend on something new (``repair.ordinal``: the operator's repair order, not the deduction's).
READS_LABEL = {
    "deduction.ordinal": "所修复扣分在周期内的次序", "repair.ordinal": "本次修复在经营者周期内的次序",
    "prior_repairs": "经营者周期内已有的修复次数", "entry.item": "记录的事项编号", "entry.kind": "记录的种类",
    "entry.subject_kind": "记分对象的种类", "entry.category": "产品类别", "subject.category": "产品类别",
    "subject.kind": "记分对象的种类", "subject.roles": "经营者的角色（生产者、销售者）", "spot_checks": "周期内的监督抽查",
    "deductions": "周期内的扣分", "repairs": "周期内的修复", "rewards": "周期内的奖励", "as_of": "决定之日",
    "subject.clean_years": "连续未发现不合格的年数", "granted": "周期内已得奖励分",
}


def _reads(text: str) -> set[str]:
    """Names and ``name.field`` paths an expression reads (empty when it does not parse)."""
    from .language import ast
    from .errors import Diagnostics, SourceMap
    from .language.parser import parse

    node = parse(text, SourceMap.at("<diff>", 1, 1), Diagnostics())
    return set() if node is None else set(ast.names_read(node))


def _depends(old: str | None, new: str) -> str:
    """'；改为依据：…' for what ``new`` reads that ``old`` did not, in domain words."""
    added = sorted(_reads(new) - (_reads(old) if old else set()))
    words = list(dict.fromkeys(READS_LABEL[n] for n in added if n in READS_LABEL))
    return f"；新依据 now depends on：{'、'.join(words)}" if words else ""


def _text(op: str, path: tuple, old: Any, new: Any, cite: str | None, old_data: dict, new_data: dict) -> str:
    where = _where(path, old_data, new_data)
    tail = f"（{cite}）" if cite and path[-1] != "cite" else ""
    if op == "added":
        return f"新增 {where}: {_describe_added(path, new)}{tail}"
    if op == "removed":
        return f"删除 {where}（原为 {_describe_added(path, old)}）{tail}"
    if isinstance(old, list) and isinstance(new, list) and not any(isinstance(v, (dict, list)) for v in old + new):
        plus = [v for v in new if v not in old]
        minus = [v for v in old if v not in new]
        parts = ([f"增加 {'、'.join(map(fmt_value, plus))}"] if plus else []) + (
            [f"去掉 {'、'.join(map(fmt_value, minus))}"] if minus else [])
        if not parts:
            return f"{where}: 顺序调整 {fmt_value(old)} → {fmt_value(new)}{tail}"
        return f"{where}: {'；'.join(parts)}{tail}"
    if isinstance(old, str) and isinstance(new, str) and path[-1] in ("when", "counts", "value", "scored_when",
                                                                      "deduplicated_when", "counted", "allowed_when",
                                                                      "score_as_of", "points") \
            and not (path[0] == "parameters"):
        return f"{where}: `{old}` → `{new}`{tail}{_depends(old, new)}"
    return f"{where}: {fmt_value(old)} → {fmt_value(new)}{tail}"


def diff(old, new) -> list[Change]:
    """Semantic differences between two compiled rulesets, in section order.

    Args:
        old: the :class:`qrules.ruleset.CompiledRuleset` before the change.
        new: the one after.

    Returns:
        Every difference as a :class:`Change`; class thresholds as ``class_range`` changes
        (one per score range whose class changes), other values field by field.
    """
    a, b = _dump(old), _dump(new)
    order = list(a) + [k for k in b if k not in a]
    changes: list[Change] = []
    for key in order:
        if key == "classes":
            changes += _class_changes(old, new, a, b)
            continue
        raw = []
        _raw_diff(a.get(key), b.get(key), (key,), raw)
        for op, path, o, n in raw:
            cite = cite_at(b, path) if op != "removed" else cite_at(a, path)
            if key in METADATA:
                kind = "metadata_changed"
            else:
                kind = f"{SECTION_NOUN.get(key, key)}_{op}"
                if key == "rewards" and not (len(path) > 1 and path[1] == "rules"):
                    kind = f"reward_cap_{op}"
            changes.append(Change(kind, ".".join(map(str, path)), o, n, cite, _text(op, path, o, n, cite, a, b)))
    return changes


def _class_changes(old, new, a: dict, b: dict) -> list[Change]:
    out: list[Change] = []
    ranges, exact = class_ranges(old, new)
    moved = [r for r in ranges if r.old != r.new]
    for r in moved:
        cite = (b["classes"].get(r.new) or a["classes"].get(r.new) or a["classes"].get(r.old) or {}).get("cite")
        rng = r.text
        sampled = "" if exact else "（抽样，条件含算术，无法证明 sampled, not proven）"
        text = (f"信用分类界限: {_range_words(rng)}的由 {r.old}类 改为 {r.new}类"
                f"（{_range_english(rng)} move from {r.old} to {r.new}）{sampled}" + (f"（{cite}）" if cite else ""))
        out.append(Change("class_range", "classes", r.old, r.new, cite, text, range=rng))
    moved_classes = {r.old for r in moved} | {r.new for r in moved}
    raw: list = []
    _raw_diff(a["classes"], b["classes"], ("classes",), raw)
    for op, path, o, n in raw:
        cite = cite_at(b, path) if op != "removed" else cite_at(a, path)
        if op == "changed" and path[-1] == "when":
            if path[1] in moved_classes:
                continue  # reported as the ranges that move
            text = (f"{path[1]}类条件改写: `{o}` → `{n}`，得分范围不变（rewritten, same scores）"
                    + (f"（{cite}）" if cite else ""))
            out.append(Change("class_rewritten", ".".join(map(str, path)), o, n, cite, text))
            continue
        out.append(Change(f"class_{op}", ".".join(map(str, path)), o, n, cite, _text(op, path, o, n, cite, a, b)))
    return out


# -- impact ---------------------------------------------------------------------------------------
@dataclass
class SubjectImpact:
    """How one subject fares under the old and the new ruleset."""

    id: str
    kind: str
    name: str | None
    old_official: str
    new_official: str
    old_live: str
    new_live: str
    old_score: Decimal | None
    new_score: Decimal | None
    reasons: list[str] = field(default_factory=list)
    entry_changes: list[dict] = field(default_factory=list)
    old_checks: int = 0  # inspections owed per year by the official class's measures (第二十七条)
    new_checks: int = 0

    @property
    def delta(self) -> Decimal | None:
        if self.old_score is None or self.new_score is None:
            return None
        return self.new_score - self.old_score

    @property
    def official_changed(self) -> bool:
        return self.old_official != self.new_official

    @property
    def live_changed(self) -> bool:
        return self.old_live != self.new_live

    @property
    def score_changed(self) -> bool:
        return self.old_score != self.new_score

    def to_dict(self) -> dict:
        d = asdict(self)
        d["delta"] = self.delta
        return json_ready(d)


EXCLUDED = "—"


@dataclass
class Impact:
    """The effect of a ruleset change on one history as of one date."""

    old: str
    new: str
    as_of: dt.date
    subjects: list[SubjectImpact]
    class_order: list[str]
    warnings: list[str] = field(default_factory=list)

    def matrix(self, which: str = "official") -> dict[tuple[str, str], int]:
        return dict(Counter((getattr(s, f"old_{which}"), getattr(s, f"new_{which}")) for s in self.subjects))

    @property
    def class_changes(self) -> list[SubjectImpact]:
        return [s for s in self.subjects if s.official_changed]

    @property
    def live_changes(self) -> list[SubjectImpact]:
        return [s for s in self.subjects if s.live_changed]

    @property
    def score_changes(self) -> list[SubjectImpact]:
        return [s for s in self.subjects if s.score_changed]

    def inspections(self) -> dict[str, int]:
        """Spot checks or inspections owed per year over all subjects, from each official
        class's measures (``checks_per_year``; a class without a minimum owes none)."""
        old = sum(s.old_checks for s in self.subjects)
        new = sum(s.new_checks for s in self.subjects)
        return {"old": old, "new": new, "delta": new - old}

    def delta_stats(self) -> dict[str, Any]:
        deltas = [s.delta for s in self.subjects if s.delta is not None]
        changed = [d for d in deltas if d != 0]
        stats: dict[str, Any] = {"compared": len(deltas), "changed": len(changed)}
        if deltas:
            stats.update(min=min(deltas), max=max(deltas), total=sum(deltas, Decimal(0)),
                         mean=(sum(deltas, Decimal(0)) / len(deltas)).quantize(Decimal("0.01")))
        return stats

    def to_dict(self) -> dict:
        def mat(which):
            return [{"old": o, "new": n, "count": c} for (o, n), c in sorted(self.matrix(which).items(),
                                                                           key=lambda kv: self._key(kv[0]))]
        return json_ready({
            "old": self.old, "new": self.new, "as_of": self.as_of, "warnings": self.warnings,
            "subjects": len(self.subjects), "inspections_per_year": self.inspections(),
            "official_matrix": mat("official"), "live_matrix": mat("live"),
            "class_changes": [s.to_dict() for s in self.class_changes],
            "live_class_changes": [s.to_dict() for s in self.live_changes],
            "score_deltas": {"stats": self.delta_stats(),
                             "subjects": [{"id": s.id, "old": s.old_score, "new": s.new_score, "delta": s.delta}
                                          for s in self.score_changes]},
        })

    def classes(self, which: str = "official") -> list[str]:
        seen = {c for pair in self.matrix(which) for c in pair}
        order = [c for c in self.class_order + ["O", EXCLUDED] if c in seen]
        return order + sorted(seen - set(order))

    def _key(self, pair):
        order = self.class_order + ["O", EXCLUDED]
        return tuple(order.index(c) if c in order else len(order) for c in pair)


_STATUS = {"counted": "计入", "outside_window": "超出统计周期", "lapsed": "修复已失效", "deduplicated": "去重不计",
           "superseded": "以较重分值计入他处", "capped": "超出奖励上限"}


def _entry_state(e) -> str:
    if e is None:
        return "未计入"
    if e.counted_points != 0 or e.status == "counted":
        return f"计 {fmt_value(e.counted_points)}"
    return _STATUS.get(e.status, e.status)


def _entries_diff(old_s, new_s, old_rej: dict, new_rej: dict, sid: str) -> list[dict]:
    def key(e):
        return (e.event, e.kind, e.code, e.of)
    a = {key(e): e for e in (old_s.entries if old_s else [])}
    b = {key(e): e for e in (new_s.entries if new_s else [])}
    out = []
    for k in list(a) + [k for k in b if k not in a]:
        ea, eb = a.get(k), b.get(k)
        if ea is not None and eb is not None and (ea.counted_points, ea.status, ea.points) == (
                eb.counted_points, eb.status, eb.points):
            continue
        before = _entry_state(ea) if ea is not None else _rejected(old_rej, k[0], sid)
        after = _entry_state(eb) if eb is not None else _rejected(new_rej, k[0], sid)
        if before == after and ea is not None and eb is not None and ea.points != eb.points:
            before, after = f"分值 {fmt_value(ea.points)}", f"分值 {fmt_value(eb.points)}"
        if before == after:
            continue
        e = eb or ea
        out.append({"event": e.event, "kind": e.kind, "code": e.code, "title": e.title, "date": e.date,
                    "old": before, "new": after,
                    "old_points": ea.counted_points if ea else Decimal(0),
                    "new_points": eb.counted_points if eb else Decimal(0)})
    return out


def _rejected(rejections: dict, event: str, sid: str) -> str:
    return rejections.get((event, sid)) or rejections.get((event, None)) or "未计入"


def _rejections(result) -> dict:
    out = {}
    for r in result.rejected:
        text = f"不予记分 [{r.code}] {r.reason}"
        out[(r.event, r.subject)] = text
        out.setdefault((r.event, None), text)
    return out


def _threshold_reason(old_c, new_c, score: Decimal | None, what: str) -> str | None:
    if score is None:
        return None
    a, b = old_c.classify(score), new_c.classify(score)
    if a == b:
        return None
    ranges, _ = class_ranges(old_c, new_c)
    rng = next((r.text for r in ranges if r.contains(score)), None)
    cite = (new_c.model.classes.get(b) or old_c.model.classes.get(a))
    cite = cite.cite if cite is not None else None
    where = f"，{_range_words(rng)}" if rng else ""
    return (f"分类界限变化: {what} {fmt_value(score)}{where}，旧规则为 {a}类，新规则为 {b}类"
            + (f"（{cite}）" if cite else ""))


def impact(old, new, loaded, as_of: dt.date | None = None) -> Impact:
    """Evaluate ``old`` and ``new`` over the same history and compare subject by subject.

    Args:
        old: compiled ruleset before the change.
        new: compiled ruleset after the change.
        loaded: a :class:`qrules.history.LoadedHistory` (its invalid subjects are honoured).
        as_of: evaluation date (default: today).
    """
    from .engine import evaluate

    as_of = as_of or dt.date.today()
    ra = evaluate(old, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects)
    rb = evaluate(new, loaded.history, as_of, invalid_subjects=loaded.invalid_subjects)
    rej_a, rej_b = _rejections(ra), _rejections(rb)
    by_a = {s.id: s for s in ra.subjects}
    by_b = {s.id: s for s in rb.subjects}
    excl_a = {x.id: x for x in ra.excluded_subjects}
    excl_b = {x.id: x for x in rb.excluded_subjects}
    ids = list(by_a) + [i for i in by_b if i not in by_a]
    subjects = []
    for sid in ids:
        sa, sb = by_a.get(sid), by_b.get(sid)
        any_s = sb or sa
        si = SubjectImpact(
            id=sid, kind=any_s.kind, name=any_s.name,
            old_official=sa.official_class if sa else EXCLUDED, new_official=sb.official_class if sb else EXCLUDED,
            old_live=sa.live_class if sa else EXCLUDED, new_live=sb.live_class if sb else EXCLUDED,
            old_score=sa.score if sa else None, new_score=sb.score if sb else None,
            old_checks=_checks(sa), new_checks=_checks(sb))
        if sa is None or sb is None:
            x = excl_a.get(sid) if sa is None else excl_b.get(sid)
            side = "旧规则" if sa is None else "新规则"
            si.reasons.append(f"{side}不评价该对象: {x.reason if x else '不在结果中'}" + (f"（{x.cite}）" if x and x.cite else ""))
        if sa is not None and sb is not None:
            si.entry_changes = _entries_diff(sa, sb, rej_a, rej_b, sid)
            si.reasons += _subject_reasons(old, new, sa, sb, si)
        subjects.append(si)
    _adjustment_reasons(old, new, loaded, by_a, by_b, subjects)
    order = list(dict.fromkeys(old.class_order + new.class_order))
    return Impact(old=ruleset_label(old), new=ruleset_label(new), as_of=as_of, subjects=subjects, class_order=order,
                  warnings=list(dict.fromkeys(ra.warnings + rb.warnings)))


def _checks(s) -> int:
    return (s.measures.checks_per_year or 0) if s is not None else 0


def _adjustment_reasons(old, new, loaded, by_a: dict, by_b: dict, subjects: list[SubjectImpact]) -> None:
    """For official-class changes, the entries that differ on the day the adjustment scored."""
    from .engine import evaluate

    wanted: dict[dt.date, list[SubjectImpact]] = {}
    for si in subjects:
        sa, sb = by_a.get(si.id), by_b.get(si.id)
        if not (si.official_changed and sa and sb and sa.adjustments and sb.adjustments):
            continue
        adj_a, adj_b = sa.adjustments[-1], sb.adjustments[-1]
        if adj_a.score_date == adj_b.score_date and adj_a.score != adj_b.score:
            wanted.setdefault(adj_b.score_date, []).append(si)
    for day, group in wanted.items():
        ids = [si.id for si in group]
        ra = evaluate(old, loaded.history, day, invalid_subjects=loaded.invalid_subjects, subjects=ids)
        rb = evaluate(new, loaded.history, day, invalid_subjects=loaded.invalid_subjects, subjects=ids)
        rej_a, rej_b = _rejections(ra), _rejections(rb)
        xa, xb = {s.id: s for s in ra.subjects}, {s.id: s for s in rb.subjects}
        for si in group:
            if si.id in xa and si.id in xb:
                at = next((i + 1 for i, r in enumerate(si.reasons) if r.startswith(f"调整日（{day}）得分")),
                          len(si.reasons))
                si.reasons[at:at] = [f"调整日（{day}）{ec['event']} {ec['code']}「{ec['title']}」: "
                                     f"{ec['old']} → {ec['new']}"
                                     for ec in _entries_diff(xa[si.id], xb[si.id], rej_a, rej_b, si.id)]


def _subject_reasons(old_c, new_c, sa, sb, si: SubjectImpact) -> list[str]:
    reasons: list[str] = []
    if not (si.official_changed or si.live_changed or si.score_changed):
        return reasons
    adj_a = sa.adjustments[-1] if sa.adjustments else None
    adj_b = sb.adjustments[-1] if sb.adjustments else None
    if si.official_changed:
        if (adj_a is None) != (adj_b is None) or (adj_a and adj_b and adj_a.date != adj_b.date):
            reasons.append(f"最近一次分类调整: {adj_a.date if adj_a else '无'} → {adj_b.date if adj_b else '无'}")
        if adj_a and adj_b:
            if adj_a.score != adj_b.score:
                reasons.append(f"调整日（{adj_b.score_date}）得分 {_score(adj_a.score)} → {_score(adj_b.score)}")
            if adj_a.locked != adj_b.locked:
                reasons.append(f"{sa.official_class if adj_a.locked else sb.official_class}类锁定: "
                               f"{'是' if adj_a.locked else '否'} → {'是' if adj_b.locked else '否'}")
            t = _threshold_reason(old_c, new_c, adj_b.score, f"调整日（{adj_b.score_date}）得分")
            if t:
                reasons.append(t)
    if si.score_changed:
        reasons.append(f"当前得分 {_score(si.old_score)} → {_score(si.new_score)}")
    if si.live_changed:
        t = _threshold_reason(old_c, new_c, si.new_score, "当前得分")
        if t and t not in reasons:
            reasons.append(t)
    for ec in si.entry_changes:
        reasons.append(f"{ec['event']} {ec['code']}「{ec['title']}」: {ec['old']} → {ec['new']}")
    return reasons


def _score(value: Decimal | None) -> str:
    return "未记分" if value is None else fmt_value(value)


def ruleset_label(compiled) -> str:
    m = compiled.model
    return f"{m.ruleset} {m.version}"


# -- output ---------------------------------------------------------------------------------------
def format_diff(changes: list[Change], fmt: str, old_name: str, new_name: str, old_label: str = "",
                new_label: str = "") -> str:
    """Render changes as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps({"old": {"source": old_name, "ruleset": old_label},
                           "new": {"source": new_name, "ruleset": new_label},
                           "changed": bool(changes), "changes": [c.to_dict() for c in changes]},
                          ensure_ascii=False, indent=2)
    if fmt == "markdown":
        lines = [f"### 规则变化 Ruleset changes: `{old_name}` → `{new_name}`", ""]
        if old_label != new_label:
            lines += [f"{old_label} → {new_label}", ""]
        if not changes:
            return "\n".join(lines + ["无实质变化（no semantic changes）。", ""])
        lines += [f"{len(changes)} 处变化（{len(changes)} change{'s' if len(changes) != 1 else ''}）.", ""]
        section = None
        for c in changes:
            if c.section != section:
                section = c.section
                lines += ["", f"#### {SECTION_LABEL.get(section, section)}（{section}）", ""]
            lines.append(f"- {c.text}")
        return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
    lines = [f"qrules diff {old_name} ({old_label}) → {new_name} ({new_label})"]
    if not changes:
        lines.append("no semantic changes（无实质变化）")
    for c in changes:
        lines.append(f"  {c.text}")
    if changes:
        lines.append(f"{len(changes)} change{'s' if len(changes) != 1 else ''}（{len(changes)} 处变化）")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_impact(imp: Impact, fmt: str, history_name: str = "") -> str:
    """Render an impact report as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        d = imp.to_dict()
        d["history"] = history_name
        return json.dumps(d, ensure_ascii=False, indent=2)
    stats = imp.delta_stats()
    head = (f"{len(imp.subjects)} subjects; {len(imp.class_changes)} change official class, "
            f"{len(imp.live_changes)} change live class, {len(imp.score_changes)} change score"
            f"（{len(imp.subjects)} 个记分对象，{len(imp.class_changes)} 个正式分类变化，"
            f"{len(imp.live_changes)} 个实时分类变化，{len(imp.score_changes)} 个得分变化）")
    if fmt == "markdown":
        out = [f"### 影响评估 Impact: {imp.old} → {imp.new}", "",
               f"历史数据 history: `{history_name}`; as of {imp.as_of}.", "", head + ".", "",
               _inspections_line(imp) + ".", ""]
        for w in imp.warnings:
            out += [f"> warning: {w}", ""]
        for which, title in (("official", "正式分类 Official class"), ("live", "实时分类 Live class")):
            classes = imp.classes(which)
            mat = imp.matrix(which)
            out += [f"#### {title}: old ↓ / new →", "",
                    "| old \\ new | " + " | ".join(classes) + " |",
                    "|---|" + "---:|" * len(classes)]
            for o in classes:
                out.append(f"| **{o}** | " + " | ".join(str(mat.get((o, n), "")) for n in classes) + " |")
            out.append("")
        out += ["#### 正式分类变化的对象 Subjects whose official class changes", ""]
        out += _md_subjects(imp.class_changes, "official")
        out += ["#### 实时分类变化的对象 Subjects whose live class changes", ""]
        out += _md_subjects(imp.live_changes, "live")
        out += ["#### 得分变化 Score deltas", ""]
        if imp.score_changes:
            out += [f"{stats['changed']} of {stats['compared']} subjects scored under both change score; "
                    f"delta min {fmt_value(stats['min'])}, max {fmt_value(stats['max'])}, "
                    f"mean {fmt_value(stats['mean'])}, total {fmt_value(stats['total'])}.", "",
                    "| subject | old | new | delta |", "|---|---:|---:|---:|"]
            out += [f"| {_cell(s.id)} | {_score(s.old_score)} | {_score(s.new_score)} | {_signed(s.delta)} |"
                    for s in imp.score_changes]
        else:
            out.append("无得分变化（no score changes）.")
        return "\n".join(out) + "\n"
    out = [f"qrules impact {imp.old} → {imp.new} on {history_name} as of {imp.as_of}", head, _inspections_line(imp)]
    moves = sorted(((o, n, c) for (o, n), c in imp.matrix("official").items() if o != n),
                   key=lambda t: imp._key((t[0], t[1])))
    if moves:
        out.append("official class: " + ", ".join(f"{o} → {n}: {c}" for o, n, c in moves))
    for s in imp.class_changes:
        name = f" {s.name}" if s.name else ""
        checks = (f"  checks/yr {s.old_checks} → {s.new_checks}" if s.old_checks != s.new_checks else "")
        out.append(f"  {s.id}{name}  {s.old_official} → {s.new_official}  score {_score(s.old_score)} → "
                   f"{_score(s.new_score)}{checks}")
        out += [f"      {r}" for r in s.reasons]
    live_only = [s for s in imp.live_changes if not s.official_changed]
    if live_only:
        out.append("live class only: " + ", ".join(f"{s.id}{' ' + s.name if s.name else ''} {s.old_live} → "
                                                    f"{s.new_live}" for s in live_only))
    if imp.score_changes:
        out.append(f"score deltas: {stats['changed']} of {stats['compared']} change; min {fmt_value(stats['min'])}, "
                   f"max {fmt_value(stats['max'])}, mean {fmt_value(stats['mean'])}")
    return "\n".join(out) + "\n"


def _inspections_line(imp: Impact) -> str:
    n = imp.inspections()
    sign = "+" if n["delta"] > 0 else ""
    return (f"inspections owed per year（每年应抽查或检查次数，第二十七条）: {n['old']} → {n['new']} "
            f"({sign}{n['delta']})")


def _signed(d: Decimal | None) -> str:
    if d is None:
        return "–"
    return ("+" if d > 0 else "") + fmt_value(d)


def _md_subjects(subjects: list[SubjectImpact], which: str) -> list[str]:
    if not subjects:
        return ["无（none）.", ""]
    out = ["| subject | kind | class | score | reasons |", "|---|---|---|---|---|"]
    for s in subjects:
        cls = f"{getattr(s, 'old_' + which)} → {getattr(s, 'new_' + which)}"
        out.append(f"| {_cell(s.id)}{(' ' + _cell(s.name)) if s.name else ''} | {s.kind} | {cls} | "
                   f"{_score(s.old_score)} → {_score(s.new_score)} | "
                   + "<br>".join(_cell(r) for r in s.reasons) + " |")
    return out + [""]


# -- command line ---------------------------------------------------------------------------------
def _write(text: str, output: str | None) -> None:
    if output and output != "-":  # '-': standard output
        from .safeio import atomic_open

        with atomic_open(output, "w", encoding="utf-8") as f:  # complete, or the old file kept
            f.write(text)
    else:
        sys.stdout.write(text)


def cmd_diff(args) -> int:
    from .console import print_diagnostics
    from .versioned import load

    labels = {args.old: args.old_label or args.old, args.new: args.new_label or args.new}
    try:
        old, new = load(args.old), load(args.new)
    except QrulesError as exc:
        print_diagnostics(relabel(exc.diagnostics, labels))
        return 2 if args.exit_code else 1
    changes = diff(old, new)
    _write(format_diff(changes, args.format, labels[args.old], labels[args.new], ruleset_label(old), ruleset_label(new)),
           args.output)
    return 1 if (args.exit_code and changes) else 0


def relabel(diags, labels: dict[str, str]) -> list:
    """Diagnostics naming ``labels``' files (and their siblings: the parents an ``extends`` found
    beside them) by the labels given, e.g. the repository path instead of git's temporary file."""
    import dataclasses
    import posixpath
    from pathlib import Path

    from .errors import source_lines, register_source

    def name(file: str) -> str:
        for real, label in labels.items():
            if label == real:
                continue
            if file == real:
                return label
            if Path(file).parent == Path(real).parent:
                return posixpath.join(posixpath.dirname(label), Path(file).name)
        return file

    out = []
    for d in diags:
        if d.span is not None and name(d.span.file) != d.span.file:
            label = name(d.span.file)
            register_source(label, "\n".join(source_lines(d.span.file) or []))
            d = dataclasses.replace(d, span=dataclasses.replace(d.span, file=label))
        out.append(d)
    return out


def cmd_impact(args) -> int:
    from .console import print_diagnostics
    from .history.load import load_history
    from .versioned import load

    from .output import Status

    with Status("加载规则集与历史数据 loading", args.progress):
        old, new = load(args.old), load(args.new)
        loaded = load_history(args.history)
    if loaded.diagnostics:
        print_diagnostics(loaded.diagnostics)
    with Status("评价 evaluating", args.progress):
        imp = impact(old, new, loaded, args.as_of)
    for w in imp.warnings:
        print(f"warning: {w}", file=sys.stderr)
    _write(format_impact(imp, args.format, args.history), args.output)
    if loaded.has_errors:  # as `qrules evaluate`: the rest was compared, the refused records make it exit 1
        n = len(loaded.errors)
        print(f"{n} input problem(s) in {args.history}: the records concerned were refused "
              f"（历史数据中有 {n} 处错误，相关记录未计入）", file=sys.stderr)
        return 1
    return 0


def register(subparsers) -> None:
    """Add ``diff`` and ``impact`` to the ``qrules`` command line."""
    import argparse

    from .console import date_arg as _date

    d = subparsers.add_parser(
        "diff", help="semantic diff of two rulesets in domain words, with articles",
        description="Compare two resolved rulesets (a path, or REV:path read from git, e.g. "
                    "HEAD~1:rulesets/guangdong-2021.yaml). Class thresholds are reported as the score ranges "
                    "that change class. Exit 0 on success; with --exit-code, 1 when there are changes and 2 "
                    "when a ruleset has errors (like diff(1)).")
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    d.add_argument("--output", "-o", help="write to this file instead of standard output")
    d.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes, 0 when none")
    d.add_argument("--old-label", metavar="NAME", help="name OLD by NAME in the output and in messages "
                   "(the git diff driver passes the repository path)")
    d.add_argument("--new-label", metavar="NAME", help="name NEW by NAME in the output and in messages")
    d.set_defaults(func=cmd_diff)

    i = subparsers.add_parser(
        "impact", help="evaluate two rulesets over one history: who changes class, and why",
        description="Evaluate OLD and NEW over the same history and report the class transition matrix, the "
                    "subjects that change class with the reason, and score deltas.")
    i.add_argument("old", metavar="OLD")
    i.add_argument("new", metavar="NEW")
    i.add_argument("history", metavar="HISTORY", help="YAML, JSON or JSON Lines history")
    i.add_argument("--as-of", type=_date, default=None, help="evaluation date YYYY-MM-DD (default: today)")
    i.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    i.add_argument("--output", "-o", help="write to this file instead of standard output")
    i.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="status line on stderr while loading and evaluating (default: when stderr is a terminal)")
    i.set_defaults(func=cmd_impact)

