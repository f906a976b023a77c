"""``qrules diff OLD NEW``: a ruleset change in domain words, with the articles it touches.

Pipeline position: two ``versioned.load`` results (either may be read from git as ``REV:path``;
inheritance is resolved first) -> **review.diff** -> a list of :class:`Change`.

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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..audit import Piece, describe_range, literal_numbers, score_pieces, score_provable
from ..language.runtime import EvaluationError, plain
from ..output import json_ready

__all__ = ["Change", "ClassRange", "SECTION_LABEL", "class_at", "class_ranges", "cite_at", "diff", "fmt_value",
           "format_diff", "range_words", "relabel", "ruleset_label"]

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


def range_words(rng: str) -> str:
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
        # a removed rule is named by its old title, as a removed item is
        rule = (new_data if _has(new_data, path[:3]) else old_data)["rewards"]["rules"].get(rest[1], {})
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
    from ..language import ast
    from ..errors import Diagnostics, SourceMap
    from ..language.parser import parse

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
        text = (f"信用分类界限: {range_words(rng)}的由 {r.old}类 改为 {r.new}类"
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


def relabel(diags, labels: dict[str, str]) -> list:
    """Diagnostics naming ``labels``' files (and their siblings: the parents an ``extends`` found
    beside them) by the labels given, e.g. the repository path instead of git's temporary file."""
    import dataclasses
    import posixpath
    from pathlib import Path

    from ..errors import source_lines, register_source

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
