"""``qrules serve``: the HTTP API (the CLI's JSON over HTTP, with an OpenAPI description) and
pages in Chinese for officers, served by one process (FastAPI on uvicorn).

Installed with the optional extra: ``pip install 'qrules[serve]'``. See docs/serve.md (API)
and docs/guide/serve.md (the pages, for officers).
"""

from __future__ import annotations

import sys

__all__ = ["register", "create_app"]


def create_app(*args, **kwargs):
    """The ASGI application (see :func:`qrules.serve.app.create_app`)."""
    from .app import create_app as _create

    return _create(*args, **kwargs)


def cmd_serve(args) -> int:
    try:
        import uvicorn

        from .app import Limits, create_app
    except ImportError as exc:
        print(f"qrules: error: qrules serve needs the 'serve' extra ({exc.name} is missing): "
              "pip install 'qrules[serve]'（请安装 serve 扩展）", file=sys.stderr)
        return 1
    from pathlib import Path

    folders = getattr(args, "rulesets", None) or ["rulesets"]  # --rulesets DIR, as on every command
    if len(folders) > 1:
        print("qrules: error: qrules serve serves one rulesets folder（只能指定一个规则集目录）", file=sys.stderr)
        return 2
    if not Path(folders[0]).is_dir():
        print(f"qrules: error: rulesets folder '{folders[0]}' not found（规则集目录不存在）", file=sys.stderr)
        return 1
    app = create_app(folders[0], args.history, limits=Limits(max_body=args.max_body, time_limit=args.time_limit),
                     as_of=args.as_of)
    if args.history and app.state.service.histories.default is None:
        from ..cli import print_diagnostics

        print_diagnostics(app.state.service.histories.default_error or [])
        return 1
    _started(args, app)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _started(args, app) -> None:
    """The start-up report: where the pages and the API are, and the rulesets in service
    (``--format json`` for scripts; ``-o FILE`` writes it to FILE, else standard error)."""
    import json

    url = f"http://{args.host}:{args.port}"
    slots = [s.status() for s in app.state.service.rulesets.slots.values()]
    if args.format == "json":
        text = json.dumps({"pages": url + "/", "api": url + "/api/", "openapi": url + "/api/openapi.json",
                           "rulesets": slots}, ensure_ascii=False, indent=2)
    else:
        text = (f"qrules serve: {url}/ （页面 pages） · {url}/api/docs （API）\n"
                + "".join(f"  {s['name']}: {'ok' if s['ok'] else '未通过检查 fails to check'}\n" for s in slots))
    if args.output and args.output != "-":
        from pathlib import Path

        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text, file=sys.stderr if not args.output else sys.stdout)


def register(subparsers) -> None:
    """Add ``serve`` to the ``qrules`` command line."""
    from ..cli import add_output
    from ..console import date_arg as _date

    s = subparsers.add_parser(
        "serve", help="HTTP 接口与中文页面 HTTP API (JSON, OpenAPI) and pages in Chinese for officers "
                      "(needs qrules[serve])",
        description="在本机启动网页服务：中文页面（总览、规则集、记分对象及得分走势图、规则差异）和 JSON 接口。"
                    "Serve the rulesets of a folder over HTTP: JSON endpoints answering what check, evaluate, "
                    "explain, diff and impact print with --format json, an OpenAPI description at /api/docs, and "
                    "pages in Chinese (overview, ruleset, subject with a score chart, diff). Rulesets are compiled "
                    "once and reloaded when their files change. Listens on 127.0.0.1 unless --host says otherwise.")
    s.add_argument("--history", metavar="FILE", help="history shown by the pages and used when a request names none（启动时载入的历史数据）")
    s.add_argument("--as-of", type=_date, default=None, help="default evaluation date YYYY-MM-DD (default: today)（默认评价日期）")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)（监听地址，默认仅本机）")
    s.add_argument("--port", type=int, default=8000, help="port (default: 8000)（端口）")
    s.add_argument("--max-body", type=int, default=10_000_000, metavar="BYTES",
                   help="largest request body accepted (default: 10000000)（请求大小上限，字节）")
    s.add_argument("--time-limit", type=float, default=30.0, metavar="SECONDS",
                   help="longest computation per request (default: 30)（每个请求的计算时间上限，秒）")
    s.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="server log detail (default: info)（日志详细程度）")
    s.add_argument("--format", choices=["text", "json"], default="text",
                   help="start-up report as text or JSON (addresses and rulesets in service)（启动信息格式）")
    add_output(s, redirect=False)
    s.set_defaults(func=cmd_serve)
