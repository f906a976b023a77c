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
    if len(folders) > 1 or not Path(folders[0]).is_dir():
        from ..console import fail
        from ..errors import Diagnostic

        why = (f"只能指定一个规则集目录，这里有 {len(folders)} 个（qrules serve serves one rulesets folder: "
               f"{', '.join(folders)}）" if len(folders) > 1 else
               f"规则集目录 '{folders[0]}' 不存在（rulesets folder '{folders[0]}' not found）")
        fail([Diagnostic("QR963", why, None, hint="用 --rulesets 给出一个存在的规则集目录，如 --rulesets rulesets"
                                                  "（name one existing folder with --rulesets）")], args.format)
        return 2 if len(folders) > 1 else 1  # several: a usage error, as the help says
    app = create_app(folders[0], args.history, limits=Limits(max_body=args.max_body, time_limit=args.time_limit),
                     as_of=args.as_of)
    if args.history and app.state.service.histories.default is None:
        from ..console import fail

        return fail(app.state.service.histories.default_error or [], args.format)
    try:  # bound before the start-up report, so a port in use is said plainly (not uvicorn's exit 3)
        sock = _listen(args.host, args.port)
    except OSError as exc:
        from ..console import fail
        from ..errors import Diagnostic

        return fail([Diagnostic("QR962", f"无法监听 {args.host}:{args.port}（cannot listen on {args.host}:{args.port}: "
                                f"{exc.strerror or exc}）", hint="端口已被占用时换一个端口（--port 8001），或先停止占用它的"
                                "服务（choose another --port, or stop the server that holds it）")], args.format)
    _started(args, app)
    with sock:
        uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level)).run(sockets=[sock])
    return 0


def _listen(host: str, port: int):
    """A socket bound to host:port, as uvicorn would bind it."""
    import socket

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


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


def _port(text: str) -> int:
    """An argparse ``type=``: a TCP port (a bad one was an internal error from bind())."""
    import argparse

    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"端口应为 0 到 65535 之间的整数（a port is a whole number from 0 to 65535, "
                                         f"not '{text}'）")
    return port


def _positive(kind, what: str):
    """An argparse ``type=``: a number above zero (a limit of 0, -5 or nan let the server start and
    refuse every request)."""
    import argparse
    import math

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{what} 应为大于 0 的数（{what} must be a number above 0, not '{text}'）")
        return value
    return parse


def register(subparsers) -> None:
    """Add ``serve`` to the ``qrules`` command line."""
    from ..cli import add_output
    from ..console import date_arg as _date

    s = subparsers.add_parser(
        "serve", help="HTTP API (JSON, OpenAPI) and pages in Chinese for officers (needs qrules[serve])",
        description="Serve the rulesets of a folder over HTTP: JSON endpoints answering what check, evaluate, "
                    "explain, diff and impact print with --format json, an OpenAPI description at /api/docs, and "
                    "pages in Chinese (overview, ruleset, subject with a score chart, diff). Rulesets are compiled "
                    "once and reloaded when their files change. Listens on 127.0.0.1 unless --host says otherwise.")
    s.add_argument("--history", metavar="FILE", help="history shown by the pages and used when a request names none")
    s.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                   help="default evaluation date DATE, as YYYY-MM-DD (default: today)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    s.add_argument("--max-body", type=_positive(int, "BYTES"), default=10_000_000, metavar="BYTES",
                   help="largest request body accepted (default: 10000000)")
    s.add_argument("--time-limit", type=_positive(float, "SECONDS"), default=30.0, metavar="SECONDS",
                   help="longest computation per request (default: 30)")
    s.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="server log detail (default: info)")
    s.add_argument("--format", choices=["text", "json"], default="text",
                   help="start-up report as text or JSON (addresses and rulesets in service)")
    add_output(s, redirect=False, help="write the start-up report (addresses and rulesets in service) to FILE "
                                       "instead of standard error ('-': standard output)")
    s.set_defaults(func=cmd_serve)
