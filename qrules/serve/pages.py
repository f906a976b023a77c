"""Pages for people, in Chinese, rendered on the server: no script or font from a CDN, the
CSS inline, the chart as SVG. Each page shows what a command computes — the ruleset page what
``show --resolved`` and ``render`` give, the subject page what ``explain`` gives plus the
chart, the diff page what ``diff`` and ``impact`` give.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from urllib.parse import urlencode

from fastapi import FastAPI, File, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from ..engine.outlook import adjustments_name
from .chart import cited
from .service import Problem, Service, body_text

KIND = {"product": "产品", "operator": "经营者"}
ENTRY_KIND = {"deduction": "扣分", "repair": "修复", "reward": "奖励"}
CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",
 "PingFang SC",sans-serif;margin:0;color:#1d2733;background:#f6f7f9;line-height:1.55}
header{background:#8b1a1a;color:#fff;padding:.6em 1.4em;display:flex;gap:1.4em;align-items:baseline;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header strong{font-size:1.15em}
main{max-width:1100px;margin:0 auto;padding:1em 1.4em 3em}
h1{font-size:1.5em;margin:.6em 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid #d5d9e0}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92em}
th,td{border:1px solid #d5d9e0;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600;white-space:nowrap}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;min-width:1.6em;padding:.05em .45em;border-radius:.3em;font-weight:700;text-align:center;
 background:#ddd}
.cls-A{background:#2e7d32;color:#fff}.cls-B{background:#1565c0;color:#fff}.cls-C{background:#ef8f00;color:#fff}
.cls-D{background:#c62828;color:#fff}.cls-O{background:#9e9e9e;color:#fff}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{background:#fff;border:1px solid #d5d9e0;border-radius:.4em;
 padding:.6em 1em;min-width:9em}.card .big{font-size:1.8em;font-weight:700}
.muted{color:#667}.warn{background:#fff4e5;border:1px solid #f0b35b;padding:.5em .8em;border-radius:.3em}
.error{background:#fdecea;border:1px solid #e57373;padding:.5em .8em;border-radius:.3em}
.no{color:#999}.strike{text-decoration:line-through;color:#999}
form.inline{display:flex;gap:.6em;align-items:end;flex-wrap:wrap;background:#fff;border:1px solid #d5d9e0;
 padding:.6em .8em;border-radius:.4em}label{display:flex;flex-direction:column;font-size:.85em}
code{font-family:"DejaVu Sans Mono",monospace;font-size:.9em}pre{background:#fff;border:1px solid #d5d9e0;
 padding:.6em;overflow:auto}
svg.score-chart{background:#fff;border:1px solid #d5d9e0;border-radius:.4em}
svg .band{font-size:12px;fill:#55606e}svg .tick{font-size:11px;fill:#55606e}svg .grid{stroke:#fff;stroke-width:1}
svg .axis{stroke:#55606e}svg .score{fill:none;stroke:#1d2733;stroke-width:2.2}svg .dot{fill:#1d2733}
svg .adjustment line{stroke:#8b1a1a;stroke-dasharray:4 3}svg .adjustment text{font-size:11px;fill:#8b1a1a;font-weight:700}
svg .exit line{stroke:#6a1b9a;stroke-dasharray:1 3}svg .exit text{font-size:10px;fill:#6a1b9a}
svg .lock-label{font-size:11px;fill:#c62828}svg .ded{fill:#c62828;font-size:11px}svg .plus{fill:#2e7d32;font-size:11px}
svg .legend{font-size:11px;fill:#55606e}
"""


def page(title: str, body: str, service: Service | None = None) -> str:
    """A whole page: header, the body, inline CSS."""
    nav = '<a href="/">首页</a><a href="/diff">规则差异</a><a href="/api/docs">API 文档</a>'
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{escape(title)} · qrules</title>'
            f"<style>{CSS}</style></head><body><header><strong>产品质量信用分类监管</strong>{nav}</header>"
            f"<main>{body}</main></body></html>")


def badge(cls: str) -> str:
    return f'<span class="badge cls-{escape(cls)}">{escape(cls)}</span>'


def score_text(value) -> str:
    return "未记分" if value is None else f"{value.normalize():f}" if hasattr(value, "normalize") else str(value)


def error_page(problem: Problem) -> str:
    items = "".join(f"<li><code>{escape(d.code)}</code> {escape(d.message)}"
                    + (f"<br><span class='muted'>{escape(str(d.span))}</span>" if d.span else "")
                    + (f"<br><span class='muted'>提示：{escape(d.hint)}</span>" if d.hint else "") + "</li>"
                    for d in problem.diagnostics)
    return page("出错了", f'<h1>无法显示此页（{problem.status}）</h1><div class="error"><ul>{items}</ul></div>'
                          '<p><a href="/">返回首页</a></p>')


def _date(text: str | None, default: dt.date | None) -> dt.date:
    if not text:
        return default or dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Problem.of(400, "QR952", f"'{text}' 不是日期（write YYYY-MM-DD, e.g. 2025-12-31）") from None


def _link(path: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", "default")})
    return escape(path + (f"?{query}" if query else ""))


def _options(names: list[str], chosen: str | None) -> str:
    return "".join(f'<option value="{escape(n)}"{" selected" if n == chosen else ""}>{escape(n)}</option>'
                   for n in names)


def add_pages(app: FastAPI, service: Service) -> None:
    """Register the HTML pages on ``app``."""
    run = app.state.run

    def as_of_default() -> dt.date | None:
        return getattr(app.state, "as_of", None)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(r: str | None = None, h: str | None = None, as_of: str | None = None):
        day = _date(as_of, as_of_default())
        return HTMLResponse(await run(lambda: _index(service, r, h, day)))

    @app.get("/rulesets/{name}", response_class=HTMLResponse, include_in_schema=False)
    async def ruleset_page(name: str):
        return HTMLResponse(await run(lambda: _ruleset(service, name)))

    @app.get("/subjects/{sid}", response_class=HTMLResponse, include_in_schema=False)
    async def subject_page(sid: str, r: str | None = None, h: str | None = None, as_of: str | None = None):
        day = _date(as_of, as_of_default())
        return HTMLResponse(await run(lambda: _subject(service, sid, r, h, day)))

    @app.get("/diff", response_class=HTMLResponse, include_in_schema=False)
    async def diff_page(old: str | None = None, new: str | None = None, h: str | None = None,
                        as_of: str | None = None):
        day = _date(as_of, as_of_default())
        return HTMLResponse(await run(lambda: _diff(service, old, new, h, day)))

    @app.post("/upload", include_in_schema=False)
    async def upload(file: UploadFile = File(...), r: str | None = None, as_of: str | None = None):
        data = await file.read()
        text = body_text(data)
        held = await run(lambda: service.histories.add_text(text, file.filename or "history.yaml"))
        return RedirectResponse(_link("/", h=held.key, r=r, as_of=as_of).replace("&amp;", "&"), status_code=303)


# -- index ------------------------------------------------------------------------------------------
def _index(service: Service, r: str | None, h: str | None, day: dt.date) -> str:
    from ..engine.explain import fmt_score

    store = service.rulesets
    names = store.names()
    r = r or store.default_name()
    rows = []
    for slot in store.slots.values():
        st = slot.status()
        state = ("正常" if st["ok"] else
                 '<span class="error">重新加载失败，仍使用上一版本</span>' if st["in_service"] else
                 '<span class="error">未通过检查</span>')
        problems = "".join(f"<li><code>{escape(d.code)}</code> {escape(str(d.span or ''))} {escape(d.message)}</li>"
                           for d in slot.error or [])
        rows.append(f'<tr><td><a href="{_link("/rulesets/" + slot.name)}">{escape(slot.name)}</a></td>'
                    f'<td>{escape(st["version"] or "")}</td><td>{escape(st["title"] or "")}</td><td>{state}'
                    + (f"<ul>{problems}</ul>" if problems else "") + "</td></tr>")
    body = [f"<h1>信用分类总览</h1><p class='muted'>规则集目录 <code>{escape(str(store.folder))}</code></p>",
            "<h2>规则集</h2><table><tr><th>名称</th><th>版本</th><th>标题</th><th>状态</th></tr>"
            + "".join(rows) + "</table>"]
    form = (f'<form class="inline" method="get" action="/"><label>规则集<select name="r">{_options(names, r)}'
            f'</select></label><label>评价日期<input type="date" name="as_of" value="{day}"></label>'
            + (f'<input type="hidden" name="h" value="{escape(h)}">' if h else "")
            + '<button type="submit">评价</button></form>')
    upload = (f'<form class="inline" method="post" action="{_link("/upload", r=r, as_of=str(day))}" '
              'enctype="multipart/form-data"><label>上传历史数据（YAML / JSON / JSON Lines）'
              '<input type="file" name="file" required></label><button type="submit">上传并评价</button></form>')
    body.append("<h2>评价</h2>" + form + "<p></p>" + upload)
    try:
        held = service.held(h)
    except Problem:  # no history yet: the page still offers the upload
        body.append("<p class='warn'>尚无历史数据：启动时用 <code>--history 文件</code> 指定，或在上方上传。</p>")
        return page("总览", "".join(body))
    loaded = held.loaded
    _, result = service.evaluate(r, loaded, day)
    sm = result.summary
    body.append(f"<p>历史数据 <code>{escape(held.name)}</code>：{len(loaded.history.subjects)} 个记分对象、"
                f"{len(loaded.history.events)} 条事项；规则 {escape(result.ruleset)} {escape(result.version)}，"
                f"截至 {result.as_of}。正式分类："
                + "，".join(f"{badge(k)} {v}" for k, v in sm.by_official_class.items()) + "</p>")
    body += [f'<p class="warn">{escape(w)}</p>' for w in result.warnings]
    if loaded.diagnostics:
        body.append(f"<details><summary>历史数据中有 {len(loaded.diagnostics)} 处问题（相关记录未计入）</summary><ul>"
                    + "".join(f"<li><code>{escape(d.code)}</code> {escape(str(d.span or ''))} {escape(d.message)}</li>"
                              for d in loaded.diagnostics) + "</ul></details>")
    trs = []
    for s in result.subjects:
        link = _link("/subjects/" + s.id, r=r, h=held.key, as_of=str(day))
        trs.append(f'<tr><td><a href="{link}">{escape(s.id)}</a></td><td>{escape(s.name or "")}</td>'
                   f'<td>{KIND[s.kind]}</td><td class="num">{fmt_score(s.score)}</td><td>{badge(s.live_class)}</td>'
                   f'<td>{badge(s.official_class)}</td><td>{escape(s.measures.mode)}</td></tr>')
    body.append("<h2>记分对象</h2><table><tr><th>编号</th><th>名称</th><th>类型</th><th class='num'>得分</th>"
                "<th>实时分类</th><th>正式分类</th><th>监管方式</th></tr>" + "".join(trs) + "</table>")
    if result.excluded_subjects:
        body.append("<h2>不予评价的对象</h2><ul>" + "".join(
            f"<li>{escape(x.id)}：{escape(x.reason)}" + (f"（{escape(x.cite)}）" if x.cite else "") + "</li>"
            for x in result.excluded_subjects) + "</ul>")
    return page("总览", "".join(body))


# -- ruleset --------------------------------------------------------------------------------------
def _ruleset(service: Service, name: str) -> str:
    from ..cli import flatten_values
    from ..render import class_score_ranges
    from ..review import cite_at

    compiled = service.ruleset(name)
    slot = service.rulesets.slot(name)
    resolved = compiled.resolved
    m = compiled.model
    rows: list = []
    flatten_values(resolved.data, (), rows)
    chain = " → ".join(escape(f) for f in resolved.chain)
    body = [f"<h1>{escape(m.title)}</h1><p>{escape(m.ruleset)} 版本 {escape(m.version)}"
            + (f"，{escape(m.document)}" if m.document else "")
            + f"；施行 {m.in_force.from_} 至 {m.in_force.until or '—'}；辖区 {escape(m.jurisdiction.name)}</p>"
            f"<p class='muted'>继承链 {chain}</p>"]
    if slot.error:
        body.append('<div class="error">该文件最近一次重新加载失败，页面显示的是上一个通过检查的版本：<ul>'
                    + "".join(f"<li><code>{escape(d.code)}</code> {escape(str(d.span or ''))} {escape(d.message)}</li>"
                              for d in slot.error) + "</ul></div>")
    pieces = list(getattr(compiled.timeline, "pieces", None) or [])
    family = getattr(compiled.timeline, "family", None) or m.family
    if pieces:  # the versions in force over time (brief §4a)
        body.append(f"<h2>版本（{escape(family or m.ruleset)}）</h2><table><tr><th>版本</th><th>施行期间</th>"
                    "<th>依据</th></tr>" + "".join(
                        f"<tr><td>{_version_link(service, p.label)}</td><td>{p.start} 至 {p.until or '—'}</td>"
                        f"<td>{escape(p.cite or '')}</td></tr>" for p in pieces) + "</table>")
    ranges = class_score_ranges(compiled)
    class_cite = next((c.cite for c in m.classes.values() if c.cite), None)
    body.append(f"<h2>分类得分区间{escape(cited({'c': class_cite}, 'c'))}</h2><table><tr><th>分类</th><th>得分区间</th><th>监管方式</th></tr>"
                + "".join(f"<tr><td>{badge(c)}</td><td>{escape('、'.join(ranges.get(c, [])))}</td>"
                          f"<td>{escape(m.measures[c].mode if c in m.measures else '')}</td></tr>"
                          for c in list(m.classes)) + "</table>")
    body.append(f"<h2>解析后的全部取值（{len(rows)} 项，含条款与来源 文件:行）</h2>"
                "<table><tr><th>路径</th><th>取值</th><th>条款</th><th>来源</th></tr>")
    for path, value in rows:
        span = resolved.span(path)
        origin = "继承" if span.file != resolved.file else "本文件"
        cite = cite_at(resolved.data, path) or ""
        text = json.dumps(value, ensure_ascii=False, default=str)
        body.append(f"<tr><td><code>{escape('.'.join(map(str, path)))}</code></td><td>{escape(text)}</td>"
                    f"<td>{escape(cite)}</td><td><code>{escape(span.file.rsplit('/', 1)[-1])}:{span.line}</code> "
                    f"<span class='muted'>{origin}</span></td></tr>")
    body.append("</table>")
    return page(m.title, "".join(body))


# -- subject --------------------------------------------------------------------------------------
def _subject(service: Service, sid: str, r: str | None, h: str | None, day: dt.date) -> str:
    from ..engine.explain import STATUS_ZH, explain_subject, fmt_points, fmt_score
    from .chart import svg, timeline

    held = service.held(h)
    loaded = held.loaded
    compiled, result, s = service.explain(r, loaded, sid, day)
    name = service.ruleset_name(r)
    if s is None:
        x = next((x for x in result.excluded_subjects if x.id == sid), None)
        return page(sid, f"<h1>{escape(sid)}</h1><p class='warn'>不予评价：{escape(x.reason if x else '')}"
                         + (f"（{escape(x.cite)}）" if x and x.cite else "") + "</p>")
    m = s.measures
    cites = compiled.cites
    cards = (f'<div class="cards"><div class="card">得分<div class="big" id="score">{fmt_score(s.score)}</div></div>'
             f'<div class="card">实时分类<div class="big" id="live-class">{badge(s.live_class)}</div></div>'
             f'<div class="card">正式分类<div class="big" id="official-class">{badge(s.official_class)}</div></div>'
             f'<div class="card">监管方式<div>{escape(m.mode)}</div>'
             + (f"<div>{escape(m.notice)}</div>" if m.notice else "")
             + (f"<div>每年至少 {m.checks_per_year} 次监督抽查或检查</div>" if m.checks_per_year else "")
             + (f"<div>{escape(m.interview)}</div>" if m.interview else "")
             + (f"<div class='muted'>{escape(m.cite)}</div>" if m.cite else "") + "</div></div>")
    body = [f"<h1>{escape(s.id)} {escape(s.name or '')}</h1><p class='muted'>{KIND[s.kind]}"
            + (f"（{escape('、'.join(s.roles))}）" if s.roles else "")
            + f"；规则 {escape(result.ruleset)} {escape(result.version)}；截至 {result.as_of}；历史数据 "
            f"{escape(held.name)}</p>", cards]
    body += [f'<p class="warn">{escape(w)}</p>' for w in result.warnings]
    if s.lock:
        body.append(f"<p class='warn'>{escape(s.lock.class_)}类锁定：自 {s.lock.since} 起至 {s.lock.until}，"
                    f"期间{adjustments_name(compiled, [day])}维持该类{escape(cited(cites, 'lock'))}</p>")
    tl = timeline(compiled, loaded, s, day)
    body.append("<h2>得分走势</h2>" + svg(tl))
    start_cite = cites.get("start") or ""
    trs = [f"<tr><td></td><td>起始分</td><td></td><td class='num'>{fmt_score(s.start)}</td><td class='num'>"
           f"{fmt_score(s.start)}</td><td>计入</td><td>{escape(start_cite)}</td><td></td></tr>"] if s.scored else []
    for e in s.entries:
        counts = e.status == "counted" or (e.status == "capped" and e.counted_points > 0)
        notes = [n for n in (e.via, e.reason) if n]
        row = "<tr>" if counts else '<tr class="no">'
        trs.append(f"{row}<td>{e.date}</td><td>{ENTRY_KIND[e.kind]} "
                   f"{escape(e.title)}</td><td><code>{escape(e.event)}</code></td><td class='num'>{fmt_points(e.points)}"
                   f"</td><td class='num'>{fmt_points(e.counted_points)}</td><td>{escape(STATUS_ZH.get(e.status, e.status))}"
                   f"</td><td>{escape(e.cite or '')}</td><td>{escape('；'.join(notes))}</td></tr>")
    if s.scored:
        trs.append(f"<tr><th colspan='4'>合计 → 实时分类 {escape(s.live_class)}类</th><th class='num'>"
                   f"{fmt_score(s.score)}</th><th colspan='3'></th></tr>")
    body.append("<h2>逐项记分</h2>"
                + (f"<p>生产者得分取其产品中的最低分：由产品 {escape(s.determined_by)} 决定"
                   f"{escape(cited(cites, 'producer'))}</p>"
                   if s.determined_by else "")
                + ("<table><tr><th>日期</th><th>事项</th><th>编号</th><th class='num'>分值</th><th class='num'>计入</th>"
                   "<th>状态</th><th>条款</th><th>说明</th></tr>" + "".join(trs) + "</table>"
                   if trs else f"<p>未获得质量信用分 → O类{escape(cited(cites, 'unscored'))}</p>"))
    if s.adjustments:
        body.append(f"<h2>{adjustments_name(compiled, [a.date for a in s.adjustments])}{escape(cited(cites, 'adjustment'))}</h2><table><tr><th>调整日</th><th>取分日</th>"
                    "<th class='num'>得分</th><th>按得分</th><th>正式分类</th><th>锁定</th></tr>"
                    + "".join(f"<tr><td>{a.date}</td><td>{a.score_date}</td><td class='num'>{fmt_score(a.score)}</td>"
                              f"<td>{badge(a.computed_class)}</td><td>{badge(a.official_class)}</td>"
                              f"<td>{'是' if a.locked else ''}</td></tr>" for a in s.adjustments) + "</table>")
    if tl.exits:
        body.append(f"<h2>移出统计周期{escape(cited(cites, 'window'))}</h2><ul>" + "".join(
            f"<li>{d}：<code>{escape(ev)}</code>「{escape(t)}」</li>" for d, ev, t in tl.exits) + "</ul>")
    if getattr(s, "outlook", None) is not None:  # brief §4a: what happens with no new events, what could be done
        from ..engine.outlook import render as outlook_lines

        lines = [x.strip() for x in outlook_lines(s.outlook)]
        body.append(f'<h2>{escape(lines[0].rstrip("："))}</h2><ul class="outlook">'
                    + "".join(f"<li>{escape(x)}</li>" for x in lines[1:]) + "</ul>")
    rejected = [x for x in result.rejected if x.subject == s.id or (x.subject is None and s.id in x.subjects)]
    if rejected:
        body.append("<h2>不予记分的事项</h2><ul>" + "".join(
            f"<li><code>{escape(x.event)}</code>（{escape(x.kind)}）[{escape(x.code)}] {escape(x.reason)}"
            + (f"（{escape(x.cite)}）" if x.cite else "") + "</li>" for x in rejected) + "</ul>")
    flags = [k for k, v in s.flags.items() if v]
    if flags:
        body.append(f"<h2>信息应用</h2><p>{escape('、'.join(flags))}</p>")
    body.append("<details><summary>命令行说明（qrules explain）</summary><pre>"
                + escape(explain_subject(result, s, compiled)) + "</pre></details>")
    body.append(f'<p><a href="{_link("/", r=name, h=held.key, as_of=str(day))}">← 返回总览</a></p>')
    return page(f"{s.id} {s.name or ''}", "".join(body))


def _version_link(service: Service, label: str) -> str:
    """A version label ('haojiang-2023/guangdong-2021') with each known name linked."""
    return "/".join(f'<a href="{_link("/rulesets/" + n)}">{escape(n)}</a>' if n in service.rulesets.slots
                    else escape(n) for n in label.split("/"))


# -- diff -----------------------------------------------------------------------------------------
def _diff(service: Service, old: str | None, new: str | None, h: str | None, day: dt.date) -> str:
    from ..review import SECTION_LABEL

    names = service.rulesets.names()
    form = (f'<form class="inline" method="get" action="/diff"><label>旧版本<select name="old">{_options(names, old)}'
            f'</select></label><label>新版本<select name="new">{_options(names, new)}</select></label>'
            f'<label>评价日期<input type="date" name="as_of" value="{day}"></label>'
            + (f'<input type="hidden" name="h" value="{escape(h)}">' if h else "")
            + '<button type="submit">比较</button></form>')
    body = ["<h1>规则差异与影响评估</h1>", form]
    if not (old and new):
        return page("规则差异", "".join(body))
    _, _, changes, la, lb = service.diff(old, new)
    body.append(f"<h2>规则变化：{escape(la)} → {escape(lb)}（{len(changes)} 处）</h2>")
    if not changes:
        body.append("<p>无实质变化。</p>")
    section = None
    for c in changes:
        if c.section != section:
            if section is not None:
                body.append("</ul>")
            section = c.section
            body.append(f"<h3>{escape(SECTION_LABEL.get(section, section))}</h3><ul>")
        body.append(f"<li>{escape(c.text)}</li>")
    if section is not None:
        body.append("</ul>")
    try:
        loaded = service.held(h).loaded
    except Problem:
        body.append("<p class='warn'>没有历史数据，无法评估影响：启动时用 --history 指定，或在首页上传。</p>")
        return page("规则差异", "".join(body))
    imp = service.impact(old, new, loaded, day)
    body.append(f"<h2>影响评估（截至 {imp.as_of}，{len(imp.subjects)} 个记分对象）</h2>")
    body += [f'<p class="warn">{escape(w)}</p>' for w in imp.warnings]
    for which, title in (("official", "正式分类"), ("live", "实时分类")):
        classes = imp.classes(which)
        mat = imp.matrix(which)
        body.append(f"<h3>{title}转移矩阵（行：旧规则，列：新规则）</h3><table class='matrix'><tr><th>旧 \\ 新</th>"
                    + "".join(f"<th class='num'>{escape(c)}</th>" for c in classes) + "</tr>"
                    + "".join(f"<tr><th>{escape(o)}</th>" + "".join(
                        f"<td class='num'>{mat.get((o, n), '')}</td>" for n in classes) + "</tr>" for o in classes)
                    + "</table>")
    if imp.class_changes:
        body.append("<h3>正式分类变化的对象</h3><table><tr><th>对象</th><th>分类</th><th>得分</th><th>原因</th></tr>"
                    + "".join(f"<tr><td>{escape(s.id)} {escape(s.name or '')}</td><td>{badge(s.old_official)} → "
                              f"{badge(s.new_official)}</td><td>{score_text(s.old_score)} → {score_text(s.new_score)}</td>"
                              f"<td>{'<br>'.join(escape(x) for x in s.reasons)}</td></tr>" for s in imp.class_changes)
                    + "</table>")
    else:
        body.append("<p>没有对象的正式分类变化。</p>")
    return page("规则差异", "".join(body))
