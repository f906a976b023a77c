"""Render a resolved ruleset as a Markdown document for people: ``qrules render RULESET``.

Pipeline position: ``versioned.load`` (resolved and compiled) -> **render** -> Markdown.
The document is written for policy staff, Chinese first: article by article, the rule in
plain words, its values, and where each value comes from (the file and line that set it,
and whether a child ruleset inherits, overrides or adds it). Class thresholds are shown
as score ranges computed the same way as the partition proof (``qrules.audit``).

The docs site includes both rulesets rendered by :func:`render_markdown`, so the output
holds no relative links (``mkdocs build --strict`` must pass).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .audit import describe_range, literal_numbers, score_pieces
from .errors import QrulesError
from .language.runtime import plain

__all__ = ["render_markdown", "class_score_ranges", "register"]

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
SUBJECT = {"product": "产品", "producer": "生产者", "seller": "销售者", "operator": "经营者（生产者和销售者）"}
PARAM_LABEL = {
    "start_score": "起始分", "window": "统计周期", "spot_check_dedup": "监督抽查不合格去重期",
    "max_repairs": "周期内修复次数上限", "reward_cap": "周期内奖励分上限",
    "stays_scored": "移出统计周期后保留得分", "new_subject_waits": "新记分对象待下次调整",
}
LINE_LABEL = {"producer": "生产者", "standard": "执行标准", "brand": "商标", "model": "规格型号", "nice_class": "尼斯分类"}


def _cn_number(text: str) -> int | None:
    """一 -> 1, 十二 -> 12, 三十六 -> 36, 一百零二 -> 102."""
    if not text:
        return None
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


_ARTICLE = re.compile(r"第([零〇一二三四五六七八九十百]+)条")
_SECTION = re.compile(r"^([零〇一二三四五六七八九十百]+)\s*[（(]?([零〇一二三四五六七八九十百]*)")


def article_key(cite: str | None) -> tuple[tuple, str]:
    """Sort key and heading of the article a citation names.

    ``第十一条第（一）项`` -> ((11,), '第十一条'); a plan section ``五(三)`` -> ((1005, 3), '五(三)');
    no citation -> a key after every article.
    """
    if not cite:
        return (10_000,), "其他（无条款）"
    m = _ARTICLE.search(cite)
    if m:
        n = _cn_number(m.group(1))
        return (n if n is not None else 9_000,), m.group(0)
    m = _SECTION.match(cite)
    if m:
        top, sub = _cn_number(m.group(1)), _cn_number(m.group(2))
        return (1_000 + (top or 0), sub or 0), cite
    return (9_500,), cite


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)


def _code(text) -> str:
    text = str(text)
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def class_score_ranges(compiled) -> dict[str, list[str]]:
    """Score ranges per class, e.g. {'A': ['[12, +∞)'], 'B': ['(6, 12)'], ...}.

    The score line is split at every constant of the class conditions (and the numeric
    parameters), each piece is classified as the engine does (first matching class), and
    consecutive pieces with the same class are merged.
    """
    from .review import class_at

    points: set[Decimal] = set()
    for expr in compiled.class_exprs.values():
        points |= literal_numbers(expr.node)
    points |= {v for v in compiled.params.values() if isinstance(v, Decimal)}
    pieces = score_pieces(sorted(points))
    classes = [class_at(compiled, p[4]) for p in pieces]
    out: dict[str, list[str]] = {}
    i = 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and classes[j + 1] == classes[i]:
            j += 1
        out.setdefault(classes[i], []).append(describe_range(pieces[i], pieces[j]))
        i = j + 1
    return out


@dataclass
class _Block:
    cite: str | None
    source_file: str           # the file that set the citation (which document the article is in)
    lines: list[str] = field(default_factory=list)


class _Renderer:
    def __init__(self, compiled):
        from .loader import load_ruleset

        self.c = compiled
        self.m = compiled.model
        self.r = compiled.resolved
        self.chain = list(self.r.chain)
        # each file of the chain, resolved on its own: titles, and whether a parent has a path
        self.models = {self.chain[0]: self.m}
        self.parent = None
        for i, f in enumerate(self.chain[1:], start=1):
            try:
                resolved = load_ruleset(f)
            except QrulesError:
                continue
            self.models[f] = resolved.model
            if i == 1:
                self.parent = resolved
        self.blocks: list[_Block] = []

    # -- provenance ------------------------------------------------------------------------------
    def src(self, *path) -> str:
        """Where the value at ``path`` comes from, e.g. '继承 guangdong-2021.yaml:43'."""
        span = self.r.span(path)
        name = span.file.replace("\\", "/").rsplit("/", 1)[-1] if ":" not in span.file or Path(span.file).exists() \
            else span.file
        where = _code(f"{name}:{span.line}")
        if len(self.chain) == 1:
            return where
        if span.file != self.chain[0]:
            return f"继承自 inherited from {where}"
        if self.parent is not None and self._parent_has(path):
            return f"本文件覆盖 overridden in {where}"
        return f"本文件新增 added in {where}"

    def _parent_has(self, path: tuple) -> bool:
        node = self.parent.data
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                return False
        return True

    def block(self, cite: str | None, cite_path: tuple, lines: list[str]) -> None:
        file = self.r.span(cite_path + ("cite",)).file if cite else self.chain[-1]
        self.blocks.append(_Block(cite, file, lines))

    def value_block(self, value_path: tuple, lines: list[str]) -> None:
        """A block cited as the file that set the value cites it: a child re-citing a section keeps
        the parent's article for the values it inherits (``ResolvedRuleset.cite_for``)."""
        cite = self.r.cite_for(value_path)
        self.blocks.append(_Block(cite, self.r.span(value_path).file if cite else self.chain[-1], lines))

    # -- sections --------------------------------------------------------------------------------
    def collect(self) -> None:
        m = self.m
        f = m.in_force
        split = f.until is not None and self.r.cite_for(("in_force", "until")) != self.r.cite_for(("in_force", "from"))
        until = (f"，至 {f.until} 止（此日之后的评价会提示规则已失效）" if f.until and not split
                 else "" if split else "，未规定截止日期")
        self.value_block(("in_force", "from"), [
            f"**施行与有效期** validity：自 {f.from_} 起施行{until}。来源：{self.src('in_force', 'from')}"
            + (f"；截止日 {self.src('in_force', 'until')}" if f.until and not split else "") + "。"])
        if split:
            self.value_block(("in_force", "until"), [
                f"**有效期截止** validity：至 {f.until} 止（此日之后的评价会提示规则已失效）。"
                f"来源：{self.src('in_force', 'until')}。"])
        j = m.jurisdiction
        self.value_block(("jurisdiction", "name"), [
            f"**适用地域** jurisdiction：{j.name}（行政区划代码 {j.division}）。辖区以外的记分对象不予记分"
            f"（QR605）。来源：{self.src('jurisdiction', 'name')}。"])
        cats = "、".join(m.scope.excluded_categories) or "（无）"
        self.value_block(("scope", "excluded_categories"), [
            f"**适用范围** scope：工业产品；以下类别不适用，属于这些类别的记分对象的事项不予记分（QR604）：{cats}。"
            f"来源：{self.src('scope', 'excluded_categories')}。"])
        by_cite: dict[str | None, list[str]] = {}
        for name, level in m.authorities.levels.items():
            by_cite.setdefault(level.cite, []).append(
                f"- {_code(name)}：{level.name}（{self.src('authorities', 'levels', name)}）")
        for cite, lines in by_cite.items():
            key = next(n for n, lv in m.authorities.levels.items() if lv.cite == cite)
            self.block(cite, ("authorities", "levels", key), ["**实施机关** authorities："] + lines)
        rec = m.authorities.records
        names = {k: v.name for k, v in m.authorities.levels.items()}
        parts = [f"{'监督抽查相关事项' if k == 'spot_check' else '其他事项' if k == 'other' else k}由"
                 f"{names.get(v, v)}组织实施" for k, v in rec.items()]
        self.value_block(("authorities", "records"), [
            f"**记分录入** recording：{'；'.join(parts)}。录入机关与此不一致时只提示（警告），不影响记分。"
            f"来源：{self.src('authorities', 'records')}。"])
        for level, units in m.authorities.entered_by.items():
            if units:
                self.value_block(("authorities", "entered_by", level), [
                    f"**录入单位** entering：{names.get(level, level)}组织实施的记分，亦可由"
                    f"{'、'.join(names.get(u, u) for u in units)}录入，不作提示。"
                    f"来源：{self.src('authorities', 'entered_by', level)}。"])
        for name, p in m.parameters.items():
            label = PARAM_LABEL.get(name, name)
            self.block(p.cite, ("parameters", name), [
                f"**参数 {label}**（{_code(name)}）= {_code(p.value)}"
                + (f"：{p.note}" if p.note else "") + ("（暂定值 provisional）" if p.provisional else "")
                + f"。来源：{self.src('parameters', name, 'value')}。"])
        self.block(m.window.cite, ("window",), [
            f"**统计周期** window：一条记录（日期为 entry.date）在评价日 as_of 计入，当且仅当 {_code(m.window.counts)}"
            f"（window = {_code(m.parameters['window'].value) if 'window' in m.parameters else '—'}）。"
            f"来源：{self.src('window', 'counts')}。"])
        comp = m.composition
        stays = m.parameters.get("stays_scored")
        lines = ["**得分构成** composition：记分对象产生第一条计入的质量信用记录（扣分、修复或奖励）时获得起始分；"
                 "此前为 O 类。" + ("记录移出统计周期后仍保留质量信用分（stays_scored）。"
                                   if stays is None or stays.value.strip() == "true" else
                                   "记录全部移出统计周期后回到 O 类（stays_scored: false）。")]
        rules = {"own": "按自身记录计分 own entries", "lowest_product": "取其各产品得分中的最低分 lowest product"}
        for key, label in (("product", "产品"), ("seller", "销售者"), ("producer", "生产者")):
            rule = getattr(comp, key)
            lines.append(f"- {label}：{rules[rule.rule]}（{_code(rule.rule)}）" + (f"——{rule.note}" if rule.note else "")
                         + (f"（{rule.cite}）" if rule.cite else "") + f"（{self.src('composition', key)}）")
        self.block(comp.cite, ("composition",), lines)
        d = m.dedup
        for key, label in (("once_per_event", "同一事项只记一次"), ("heaviest", "取最高扣分")):
            note = getattr(d, key)
            self.block(note.cite, ("dedup", key), [f"**{label}**：{note.note or ''}。来源：{self.src('dedup', key)}。"])
        sc = d.spot_check
        line = "、".join(LINE_LABEL.get(x, x) for x in sc.same_line)
        self.block(sc.cite, ("dedup", "spot_check"), [
            f"**监督抽查不合格去重**：同一产品线（{line}均相同）的监督抽查不合格，满足 {_code(sc.deduplicated_when)} "
            f"时只记一次（last 为上一次计入的不合格）。来源：{self.src('dedup', 'spot_check', 'deduplicated_when')}。"])
        self.items()
        self.links()
        self.block(m.intentional.cite, ("intentional",), [
            f"**主观故意从重** intentional：扣分为 {_code(m.intentional.points)}，即主观故意时适用事项的"
            f"“主观故意分值”。来源：{self.src('intentional', 'points')}。"])
        self.repair()
        self.rewards()
        for key, note in m.effective_dates.items():
            label = {"deduction": "扣除分", "repair": "修复分", "reward": "奖励分"}.get(key, key)
            self.block(note.cite, ("effective_dates", key), [
                f"**{label}生效日**：{_fmt(note.value)}。来源：{self.src('effective_dates', key)}。"])
        self.classes()
        self.adjustment()
        self.measures()
        for name, flag in m.information_use.items():
            self.block(flag.cite, ("information_use", name), [
                f"**信息运用标志 {_code(name)}**：{_code(flag.when)} 时为真" + (f"——{flag.note}" if flag.note else "")
                + f"。来源：{self.src('information_use', name, 'when')}。"])
        for name, dl in m.deadlines.items():
            party = {"bureau": "市场监管部门", "operator": "经营者"}.get(dl.party, dl.party)
            self.block(dl.cite, ("deadlines", name), [
                f"**程序期限 {dl.title}**（{_code(name)}）：自 {'、'.join(_code(k) for k in dl.start_kinds)} 起 "
                f"{_code(dl.within)} 内，"
                f"由{party}完成（{'、'.join(_code(s) for s in dl.stops)} 即为完成）"
                + ("；记分对象为产品的，告知其生产者" if dl.addressee == "producer" else "")
                + f"。来源：{self.src('deadlines', name, 'within')}。"])
        for year, cy in m.calendar.items():
            self.block(cy.cite, ("calendar", year), [
                f"**{year} 年工作日历补充**：节假日 {', '.join(cy.holidays) or '—'}；调休工作日 "
                f"{', '.join(cy.workdays) or '—'}。来源：{self.src('calendar', year)}。"])
        for i, oos in enumerate(m.out_of_scope):
            self.block(oos.cite, ("out_of_scope", i), [
                f"**说明性条款，不计算** out of scope：{oos.note}。来源：{self.src('out_of_scope', i)}。"])

    def items(self) -> None:
        groups: dict[str, list[str]] = {}
        order: list[str] = []
        for code, item in self.m.items.items():
            _, head = article_key(item.cite)
            if head not in groups:
                groups[head] = []
                order.append(code)
            flags = [x for x, on in (("监督抽查", item.spot_check), ("重大社会影响", item.major_impact)) if on]
            groups[head].append(
                f"| {code} | {_cell(item.title)}" + (f"（仅当 {_code(item.when)} 时适用）" if item.when else "")
                + f" | {SUBJECT.get(item.subject, item.subject)} | {_fmt(item.points)} | "
                f"{_fmt(item.intentional)} | {'、'.join(flags)} | {'暂定' if item.provisional else ''} | "
                f"{_cell(item.cite or '')} | {self.src('items', code)} |")
        for first in order:
            head = article_key(self.m.items[first].cite)[1]
            lines = ["**失信事项与分值** items（扣分为负数；“暂定”表示记分表未正式发布前的暂定值）：", "",
                     "| 编号 | 事项 | 记分对象 | 分值 | 主观故意分值 | 标志 | 暂定 | 条款 | 来源 |",
                     "|---|---|---|---:|---:|---|---|---|---|"] + groups[head]
            self.block(self.m.items[first].cite, ("items", first), lines)

    def links(self) -> None:
        for group, words in (("producer_of_product", "同时记入该产品的生产者"),
                             ("named_seller", "同时记入事项中列明的销售者")):
            for i, link in enumerate(getattr(self.m.links, group)):
                when = f"，条件为 {_code(link.when)}" if link.when else ""
                self.block(link.cite, ("links", group, i), [
                    f"**关联记分**：产品事项 {'、'.join(link.items)} {words}，记为事项 {link.item}{when}。"
                    f"来源：{self.src('links', group, i)}。"])

    def repair(self) -> None:
        rp = self.m.repair
        for i, cond in enumerate(rp.conditions):
            self.block(cond.cite, ("repair", "conditions", i), [
                f"**修复条件**：须满足 {_code(cond.when)}；不满足时不予修复，理由“{cond.reason}”。"
                f"来源：{self.src('repair', 'conditions', i, 'when')}。"])
        self.block(rp.ratio.cite, ("repair", "ratio"), [
            f"**修复分** = 修复比例 × 所修复扣分的绝对值，比例为 {_code(rp.ratio.value)}"
            f"（ordinal 为该扣分在其日期前统计周期内的序号）。来源：{self.src('repair', 'ratio', 'value')}。"])
        self.block(rp.limit.cite, ("repair", "limit"), [
            f"**修复次数**：须满足 {_code(rp.limit.allowed_when)}（prior_repairs 为此前统计周期内已修复次数），"
            f"否则不予修复，理由“{rp.limit.reason}”。来源：{self.src('repair', 'limit', 'allowed_when')}。"])
        lapse = rp.lapses_with_deduction
        if lapse.value:
            self.block(lapse.cite, ("repair", "lapses_with_deduction"), [
                f"**修复分随扣分失效**：所修复的扣分移出统计周期时，修复分一并不再统计。"
                f"来源：{self.src('repair', 'lapses_with_deduction')}。"])

    def rewards(self) -> None:
        rw = self.m.rewards
        for code, rule in rw.rules.items():
            self.block(rule.cite, ("rewards", "rules", code), [
                f"**奖励 {code}**：{rule.title}——{SUBJECT.get(rule.subject, rule.subject)}加 {_fmt(rule.points)} 分"
                f"{'（暂定）' if rule.provisional else ''}；"
                + (f"条件 {_code(rule.when)}，不满足时“{rule.reason}”；" if rule.when is not None else "")
                + "".join(f"须满足 {_code(c.when)}，不满足时“{c.reason}”" + (f"（{c.cite}）" if c.cite else "") + "；"
                          for c in rule.conditions)
                + f"来源：{self.src('rewards', 'rules', code)}。"])
        cap = self.m.parameters.get("reward_cap")
        self.block(rw.cap.cite, ("rewards", "cap"), [
            f"**奖励分上限**：每项奖励计入 {_code(rw.cap.counted)}（granted 为此前统计周期内已计入的奖励分"
            + (f"，reward_cap = {_code(cap.value)}" if cap else "") + "）；超出部分列为“超出上限”，不丢弃。"
            f"来源：{self.src('rewards', 'cap', 'counted')}。"])

    def classes(self) -> None:
        ranges = class_score_ranges(self.c)
        rows = []
        first = None
        for name, cdef in self.m.classes.items():
            first = first or name
            rng = "、".join(ranges.get(name, [])) if cdef.when else "未获得质量信用分"
            rows.append(f"| {name} | {_cell(cdef.label or '')} | {_code(cdef.when) if cdef.when else '—'} | "
                        f"{_cell(rng)} | {self.src('classes', name)} |")
        lines = ["**信用分类** classes（得分范围中方括号含本数、圆括号不含本数）：", "",
                 "| 类别 | 名称 | 条件 | 得分范围 | 来源 |", "|---|---|---|---|---|"] + rows
        if first is not None:
            cite = self.m.classes[first].cite
            self.block(cite, ("classes", first), lines)

    def adjustment(self) -> None:
        adj = self.m.adjustment
        lock = (f"；{adj.lock.class_}类自确定之日起锁定 {_code(adj.lock.duration)}，期间的调整维持{adj.lock.class_}类"
                f"（{self.src('adjustment', 'lock')}）" if adj.lock else "")
        self.block(adj.cite, ("adjustment",), [
            f"**分类调整** adjustment：每年 {'、'.join(adj.dates)} 调整正式分类，依据 {_code(adj.score_as_of)} "
            f"（调整日前一日）的得分{lock}。来源：{self.src('adjustment', 'dates')}。"])

    def measures(self) -> None:
        groups: dict[str, tuple[str, list[str]]] = {}
        for name, ms in self.m.measures.items():
            _, head = article_key(ms.cite)
            checks = "双随机抽查" if ms.random_checks else (f"每年 {ms.checks_per_year} 次以上" if ms.checks_per_year else "—")
            row = (f"| {name} | {_cell(ms.mode)}{(' ' + _cell(ms.mode_en)) if ms.mode_en else ''} | "
                   f"{_cell(ms.notice or '—')} | {checks} | {_cell(ms.interview or '—')} | "
                   f"{_cell('；'.join(ms.actions))} | {_cell(ms.cite or '')} | {self.src('measures', name)} |")
            groups.setdefault(head, (name, []))[1].append(row)
        for head, (first, rows) in groups.items():
            lines = ["**监管措施** measures（按正式分类）：", "",
                     "| 类别 | 监管方式 | 提示/警示 | 抽查或检查 | 约谈 | 措施 | 条款 | 来源 |",
                     "|---|---|---|---|---|---|---|---|"] + rows
            self.block(self.m.measures[first].cite, ("measures", first), lines)

    # -- document --------------------------------------------------------------------------------
    def document(self) -> str:
        m = self.m
        self.collect()
        out = [f"# {m.title}", "",
               f"规则集 ruleset {_code(m.ruleset)}，版本 {_code(m.version)}。本文件由 `qrules render` 从规则集生成，"
               "请勿手工修改（generated; edit the ruleset instead）。", ""]
        meta = [("文号 document", m.document), ("发布机关 issuer", m.issuer), ("发布日期 issued", m.issued),
                ("施行 in force", f"{m.in_force.from_} — {m.in_force.until or '（未定）'}"),
                ("适用地域 jurisdiction", f"{m.jurisdiction.name}（{m.jurisdiction.division}）"),
                ("继承 extends", " → ".join(_code(self._name(f)) for f in self.chain) if len(self.chain) > 1 else "—"),
                ("暂定分值 provisional", f"{self.c.provisional_count()} 项（记分表正式发布后替换）")]
        out += ["| 项目 | 内容 |", "|---|---|"]
        out += [f"| {k} | {_cell(_fmt(v))} |" for k, v in meta if v is not None]
        out.append("")
        if len(self.chain) > 1:
            out += ["“来源”一栏给出每个值所在的文件和行号：**继承自**表示沿用上级规则集，**本文件覆盖**表示本文件改写了上级的值，"
                    "**本文件新增**表示上级没有、本文件增加的内容。", ""]
        else:
            out += ["“来源”一栏给出每个值所在的文件和行号。", ""]
        if m.notes:
            out += ["**说明** notes：", ""] + [f"- {note}" for note in m.notes] + [""]
        docs = {f: self.models.get(f) for f in self.chain}
        by_file: dict[str, list[_Block]] = {}
        for b in self.blocks:
            by_file.setdefault(b.source_file if b.source_file in docs else self.chain[-1], []).append(b)
        multi = len([f for f in self.chain if by_file.get(f)]) > 1
        for f in self.chain:
            blocks = by_file.get(f)
            if not blocks:
                continue
            doc = docs.get(f)
            if multi:
                title = doc.title if doc is not None else self._name(f)
                out += [f"## {title}（{_code(doc.ruleset if doc else self._name(f))}）的条款", ""]
            level = "###" if multi else "##"
            grouped: dict[str, tuple[tuple, list[_Block]]] = {}
            for b in blocks:
                key, head = article_key(b.cite)
                grouped.setdefault(head, (key, []))[1].append(b)
            for head, (_, bl) in sorted(grouped.items(), key=lambda kv: kv[1][0]):
                out += [f"{level} {head}", ""]
                for b in bl:
                    cite = f"（{b.cite}）" if b.cite and b.cite != head else ""
                    if len(b.lines) == 1:
                        out += [b.lines[0] + cite, ""]
                    else:  # a heading line, a blank line, then a list or a table
                        out += [b.lines[0], ""] + [x for x in b.lines[1:] if x] + [""]
        recited = self.r.recited()
        if recited:  # a child keeps every article it inherits visible: what it re-cited, and from what
            parent = self.models.get(self.chain[1])
            name = parent.ruleset if parent is not None else self._name(self.chain[1])
            out += ["## 条款对照 re-cited articles", "",
                    f"本文件改写了下列规则的条款（上级规则集 {_code(name)} 中的条款 → 本文件的条款）：", "",
                    f"| 规则 | {_cell(name)} | 本文件 |", "|---|---|---|"]
            out += [f"| {_code('.'.join(map(str, path)))} | {_cell(old)} | {_cell(new)} |" for path, old, new in recited]
            out.append("")
        if m.out_of_scope:
            out += ["## 未编码为计算的条款 Out of scope", ""]
            out += [f"- {o.cite}：{o.note}" for o in m.out_of_scope]
            out.append("")
        return "\n".join(out).rstrip("\n") + "\n"

    @staticmethod
    def _name(file: str) -> str:
        return file.replace("\\", "/").rsplit("/", 1)[-1]


def render_markdown(compiled) -> str:
    """The resolved ruleset as a Markdown document, article by article, with provenance.

    Args:
        compiled: a :class:`qrules.ruleset.CompiledRuleset` (``qrules.versioned.load(path)``).

    Returns:
        Markdown text without relative links (safe for ``mkdocs build --strict``).
    """
    return _Renderer(compiled).document()


def cmd_render(args) -> int:
    from .versioned import load

    text = render_markdown(load(args.ruleset))
    if args.output and args.output != "-":  # '-': standard output
        from .safeio import atomic_open

        with atomic_open(args.output, "w", encoding="utf-8") as fh:  # complete, or the old file kept
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def register(subparsers) -> None:
    """Add ``render`` to the ``qrules`` command line."""
    r = subparsers.add_parser("render", help="write the resolved ruleset as a Markdown document for people",
                              description="Render a ruleset (with everything it inherits) as Markdown: article by "
                                          "article, the rule in plain words, its values and the file:line each "
                                          "value comes from.")
    r.add_argument("ruleset", metavar="RULESET", help="a ruleset file, or REV:path read from git")
    r.add_argument("--output", "-o", metavar="FILE",
                   help="write to FILE instead of standard output ('-': standard output)")
    r.add_argument("--format", choices=["markdown"], default="markdown", help="output format (Markdown only)")
    r.set_defaults(func=cmd_render)
