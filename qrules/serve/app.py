"""The ASGI application: JSON endpoints (the CLI's ``--format json``), the OpenAPI
description, the limits, and errors as JSON with diagnostic codes — never a traceback.

Every evaluation runs in a worker thread under a time limit; a request over the limit is
answered 503 (QR954) at once, and the thread finishes its work in the background.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import Diagnostic, QrulesError
from ..language.runtime import EvaluationError
from .service import Problem, Service, body_text
from .store import HistoryStore, RulesetStore

log = logging.getLogger("qrules.serve")


@dataclass
class Limits:
    """Request limits (``qrules serve --max-body`` / ``--time-limit``)."""

    max_body: int = 10_000_000      # bytes of a request body (histories are sent in it)
    time_limit: float = 30.0        # seconds of computation per request


# -- request bodies (they make the OpenAPI description) -------------------------------------------
_AS_OF = "评价日期 YYYY-MM-DD（缺省为服务启动时的 --as-of，否则为当天）"
_KNOWN = "只用截至该日已录入的记录（as known at，§4a；同命令行 --as-known-at）"
_RULESET = "规则集名称（文件名去掉 .yaml）；缺省为服务的默认规则集"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HistoryChoice(_Body):
    history: dict[str, Any] | None = Field(None, description="历史数据（subjects/events，与历史文件同形）inline")
    history_text: str | None = Field(None, description="历史数据文本（YAML、JSON 或 JSON Lines）")
    history_id: str | None = Field(None, description="服务器已有的历史数据：'default'（--history）或上传后得到的编号")


class CheckRequest(_Body):
    ruleset: str | None = Field(None, description="规则集名称（文件名去掉 .yaml）；缺省为服务的默认规则集")
    source: str | None = Field(None, description="待检查的规则集 YAML 文本（视为保存在规则集目录中的该名称）")


class EvaluateRequest(HistoryChoice):
    ruleset: str | None = Field(None, description=_RULESET)
    as_of: dt.date | None = Field(None, description=_AS_OF)
    as_known_at: dt.date | None = Field(None, description=_KNOWN)
    subjects: list[str] | None = Field(None, description="只评价这些记分对象")
    outlook: bool = Field(False, description="附上每个对象的展望（同 evaluate --outlook，§4a）")


class ExplainRequest(HistoryChoice):
    ruleset: str | None = Field(None, description=_RULESET)
    subject: str = Field(description="记分对象编号 subject id")
    as_of: dt.date | None = Field(None, description=_AS_OF)
    as_known_at: dt.date | None = Field(None, description=_KNOWN)


class DiffRequest(_Body):
    old: str = Field(description="旧规则集名称")
    new: str = Field(description="新规则集名称")


class ImpactRequest(HistoryChoice):
    old: str = Field(description="旧规则集名称")
    new: str = Field(description="新规则集名称")
    as_of: dt.date | None = Field(None, description=_AS_OF)


_EVALUATE_OUT = (
    "答复与 `qrules evaluate --format json` 相同。给出 `as_known_at` 时另含 `events_not_yet_recorded`："
    "该日之后才录入、因而未计入的事件数，只计与所评价对象相关的事件（给出 `subjects` 时，为完整历史中与这些"
    "对象相连的事件；未给出时为全部事件）。\n\n"
    "The answer is `qrules evaluate --format json`. With `as_known_at` it also has `events_not_yet_recorded`: "
    "the events entered after that date, left out, among those that concern the subjects evaluated — with "
    "`subjects`, the events connected to them in the whole history (those that would have been evaluated with "
    "them had they been entered by then), not the history's total minus the events evaluated; without, every "
    "event entered later.")


_EXPLAIN_OUT = (
    "答复与 `qrules explain --format json` 相同。给出 `as_known_at` 时另含 `events_not_yet_recorded`：完整历史中与该"
    "对象相连、在该日之后才录入因而未计入的事件数。\n\n"
    "The answer is `qrules explain --format json`. With `as_known_at` it also has `events_not_yet_recorded`: the "
    "events connected to the subject in the whole history that were entered after that date, left out.")


class DiagnosticOut(BaseModel):
    code: str
    severity: str
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    hint: str | None = None


class ErrorOut(BaseModel):
    """Every answer other than success."""

    ok: bool = False
    status: int
    diagnostics: list[DiagnosticOut]


_ERRORS = {code: {"model": ErrorOut} for code in (400, 404, 413, 422, 503)}


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status_code=status,
                    media_type="application/json; charset=utf-8")


# -- limits -----------------------------------------------------------------------------------------
class BodyLimit:
    """Refuses a body over ``limit`` bytes with 413 (QR953): by its Content-Length, or while it
    is read (a chunked body is buffered up to the limit before the application sees it)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _send_problem(send, _too_large(self.limit))
        if scope.get("method") in ("GET", "HEAD", "OPTIONS") and length is None:
            return await self.app(scope, receive, send)
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                return await _send_problem(send, _too_large(self.limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> Problem:
    return Problem.of(413, "QR953", f"请求内容超过 {limit} 字节上限（request body over {limit} bytes）",
                      "大量历史数据请在启动时用 --history 指定文件，或调大 --max-body"
                      "（send large histories as a file named at start-up, or raise --max-body）")


async def _send_problem(send, problem: Problem) -> None:
    body = json.dumps(problem.body(), ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": problem.status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# -- the application ------------------------------------------------------------------------------
def create_app(rulesets: str | Path = "rulesets", history: str | Path | None = None, *,
               limits: Limits | None = None, reload_interval: float = 1.0, as_of: dt.date | None = None) -> FastAPI:
    """The qrules server for the rulesets of ``rulesets`` (a folder) and an optional history file;
    ``as_of`` is the evaluation date when a request gives none (default: the day of the request)."""
    from .pages import add_pages

    limits = limits or Limits()
    service = Service(RulesetStore(rulesets, reload_interval), HistoryStore(history))
    app = FastAPI(
        title="qrules", version=_version(),
        description="产品质量信用分类监管规则的 HTTP 接口：检查规则集、评价、逐项说明、规则差异与影响评估。"
                    "每个接口的 JSON 与命令行 `--format json` 相同；错误以 JSON 返回，带诊断代码。\n\n"
                    "HTTP API of qrules: each endpoint answers the same JSON as the command's `--format json`; "
                    "errors are JSON with diagnostic codes (QRnnn), never a traceback.",
        docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.service = service
    app.state.limits = limits
    app.state.as_of = as_of

    def day(value: dt.date | None) -> dt.date | None:
        return value or app.state.as_of

    async def run(fn: Callable[[], Any]) -> Any:
        """``fn`` in a worker thread under the time limit."""
        try:
            with anyio.fail_after(limits.time_limit):
                return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)
        except TimeoutError:
            raise Problem.of(503, "QR954", f"处理超过 {limits.time_limit:g} 秒上限（over the time limit）",
                             "每次请求评价较少的对象，或改用 qrules batch（evaluate fewer subjects per request, or use qrules batch）") from None
    app.state.run = run

    def loaded_of(req: HistoryChoice):
        return service.history(req.history_id, data=req.history, text=req.history_text)

    @app.get("/api/rulesets", tags=["rulesets"], summary="规则集及其加载状态 Rulesets and their load status")
    def api_rulesets() -> Response:
        service.rulesets.refresh()
        return _json({"folder": str(service.rulesets.folder), "default": service.rulesets.default_name(),
                      "rulesets": [s.status() for s in service.rulesets.slots.values()]})

    @app.post("/api/check", tags=["rulesets"], responses=_ERRORS,
              summary="检查规则集（= qrules check --format json）")
    async def api_check(req: CheckRequest) -> Response:
        status, report = await run(lambda: service.check(req.ruleset, req.source))
        return _json(report, status)

    @app.post("/api/evaluate", tags=["evaluation"], responses=_ERRORS,
              summary="评价（= qrules evaluate --format json）", description=_EVALUATE_OUT)
    async def api_evaluate(req: EvaluateRequest) -> Response:
        return _json(await run(lambda: service.evaluate_json(req.ruleset, loaded_of(req), day(req.as_of),
                                                               req.subjects, req.as_known_at, req.outlook)))

    @app.post("/api/explain", tags=["evaluation"], responses=_ERRORS,
              summary="逐项说明一个记分对象（= qrules explain --format json）", description=_EXPLAIN_OUT)
    async def api_explain(req: ExplainRequest) -> Response:
        return _json(await run(lambda: service.explain_json(req.ruleset, loaded_of(req), req.subject, day(req.as_of),
                                                              req.as_known_at)))

    @app.post("/api/diff", tags=["review"], responses=_ERRORS, summary="规则差异（= qrules diff --format json）")
    async def api_diff(req: DiffRequest) -> Response:
        return _json(await run(lambda: service.diff_json(req.old, req.new)))

    @app.post("/api/impact", tags=["review"], responses=_ERRORS,
              summary="影响评估（= qrules impact --format json）")
    async def api_impact(req: ImpactRequest) -> Response:
        def work():
            loaded = loaded_of(req)
            name = req.history_id or ("<request>" if req.history is not None or req.history_text else "default")
            if name == "default" and service.histories.default is not None:
                name = str(service.histories.default.path)
            return service.impact_json(req.old, req.new, loaded, day(req.as_of), name)
        return _json(await run(work))

    @app.post("/api/histories", tags=["histories"], responses=_ERRORS,
              summary="上传历史数据（请求体为 YAML、JSON 或 JSON Lines 文本）Upload a history")
    async def api_upload(request: Request, name: str = "history.yaml") -> Response:
        text = body_text(await request.body())
        held = await run(lambda: service.histories.add_text(text, name))
        return _json({"history_id": held.key, "name": held.name, "subjects": len(held.loaded.history.subjects),
                      "events": len(held.loaded.history.events),
                      "diagnostics": [d.to_dict() for d in held.loaded.diagnostics]})

    add_pages(app, service)
    _handlers(app)
    app.add_middleware(BodyLimit, limit=limits.max_body)
    return app


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("qrules")
    except Exception:  # noqa: BLE001 - an uninstalled checkout
        return "0"


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api")


def _handlers(app: FastAPI) -> None:
    from .pages import error_page

    def answer(request: Request, problem: Problem) -> Response:
        if _wants_html(request):
            return HTMLResponse(error_page(problem), status_code=problem.status)
        return _json(problem.body(), problem.status)

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem):
        return answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        diags = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                detail = (err.get("ctx") or {}).get("error", "")
                pos = err["loc"][1] if len(err.get("loc", ())) > 1 else None
                where = f" at character {pos}" if pos is not None else ""
                return answer(request, Problem.of(400, "QR951", f"请求内容不是有效的 JSON（{detail}{where}）",
                                                  "请求内容应为 JSON 对象，如 {\"ruleset\": \"haojiang-2023\"}（send a JSON object）"))
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            diags.append(Diagnostic("QR952", f"{loc or 'body'}: {err.get('msg')}",
                                    hint="请求的字段见 /api/docs（see /api/docs for the fields of this request）"))
        return answer(request, Problem(422, diags))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException):
        code = "QR960" if exc.status_code == 404 else "QR952"
        return answer(request, Problem.of(exc.status_code, code, f"{exc.detail}（{request.url.path}）"))

    @app.exception_handler(QrulesError)
    async def on_qrules(request: Request, exc: QrulesError):
        return answer(request, Problem(422, exc.diagnostics))

    @app.exception_handler(EvaluationError)
    async def on_evaluation(request: Request, exc: EvaluationError):
        return answer(request, Problem(422, [Diagnostic("QR690", f"a rule could not be evaluated: {exc.message}",
                                                        exc.span)]))

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception):
        log.exception("internal error on %s", request.url.path)
        return answer(request, Problem.of(500, "QR959", f"服务器内部错误（internal error: {type(exc).__name__}）",
                                          "详情见服务器日志，请反馈此问题（the server log has the details; please report it）"))
