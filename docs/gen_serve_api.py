"""Generate the HTTP API page of the docs site from the OpenAPI description of `qrules serve`.

``pages()`` gives ``reference/http-api.md`` and ``reference/schemas/openapi.json``; the docs hook
``gen_reference.py`` adds them to the site in memory with its own pages. They are built
from ``create_app().openapi()`` — the same description the server gives at
``/api/openapi.json`` — so the page cannot drift from the code.
``python docs/gen_serve_api.py DIR`` writes both files to DIR for inspection.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def openapi() -> dict:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from qrules.serve.app import create_app

    return create_app(ROOT / "rulesets").openapi()


def _ref(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _type(spec: dict, schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(spec, s) for s in schema["anyOf"] if s.get("type") != "null")
    if schema.get("type") == "array":
        return f"list of {_type(spec, schema.get('items', {}))}"
    if schema.get("format") == "date":
        return "date (YYYY-MM-DD)"
    return schema.get("type", "any")


def page(spec: dict) -> str:
    from qrules.serve.service import CODES

    out = ["# HTTP API（qrules serve）", "",
           "Generated from the OpenAPI description of `qrules serve` (the server gives the same at "
           "`/api/openapi.json`, and an interactive page at `/api/docs`). Each endpoint answers the same "
           "JSON as the command's `--format json`; the download: [openapi.json](schemas/openapi.json).", "",
           "```bash",
           "pip install 'qrules[serve]'",
           "qrules serve --rulesets rulesets --history examples/haojiang-history.yaml --as-of 2025-12-31",
           "curl -s -X POST http://127.0.0.1:8000/api/explain -H 'Content-Type: application/json' \\",
           "     -d '{\"subject\": \"ht\"}'",
           "```", "",
           "Histories: a request names one the server holds (`history_id`: `default` is `--history FILE`, "
           "or the id `POST /api/histories` returned), or carries one inline (`history`: the data; "
           "`history_text`: YAML, JSON or JSON Lines text). Without `as_of` the server's `--as-of` applies, "
           "else the day of the request. Without `ruleset` the server's default ruleset applies (the last "
           "one in the folder that extends another).", "",
           "Limits: request bodies over `--max-body` bytes (default 10,000,000) are refused with 413 "
           "(QR953), computations over `--time-limit` seconds (default 30) with 503 (QR954). Rulesets are "
           "compiled once and reloaded when a file of their chain changes; a reload that fails keeps the "
           "last good version in service and `GET /api/rulesets` shows why.", ""]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            out += [f"## `{method.upper()} {path}`", "", op.get("summary", ""), ""]
            if op.get("description"):  # what the answer holds beyond the command's JSON
                out += [op["description"], ""]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                schema = _ref(spec, body)
                required = set(schema.get("required", []))
                out += ["| field | type | required | meaning |", "|---|---|---|---|"]
                for name, prop in schema.get("properties", {}).items():
                    desc = (prop.get("description") or "").replace("|", "\\|")
                    out.append(f"| `{name}` | {_type(spec, prop)} | {'yes' if name in required else ''} | {desc} |")
                out.append("")
            for p in op.get("parameters", []):
                out.append(f"- query `{p['name']}` ({_type(spec, p.get('schema', {}))})")
            codes = sorted(op.get("responses", {}))
            out += [f"Responses: {', '.join(codes)}.", ""]
    out += ["## Errors", "",
            "Every answer other than success is JSON: `{\"ok\": false, \"status\": N, \"diagnostics\": [...]}`, "
            "each diagnostic with its `code`, `message`, and where known `file`, `line`, `col` and `hint` "
            "(the same fields as `qrules check --format json`). A ruleset or history with errors gives its "
            "own codes (QR0xx–QR6xx); the HTTP layer adds these:", "",
            "| code | meaning | status |", "|---|---|---|"]
    status = {"QR951": 400, "QR952": "400/422", "QR953": 413, "QR954": 503, "QR955": 404, "QR956": 404,
              "QR957": 404, "QR958": 422, "QR959": 500, "QR960": 404, "QR961": 422,
              "QR962": "start-up (exit 1)", "QR963": "start-up (exit 1; several folders: 2)"}
    out += [f"| {code} | {text} | {status.get(code, '')} |" for code, text in CODES.items()]
    return "\n".join(out) + "\n"


def pages() -> dict[str, str]:
    spec = openapi()
    return {"reference/http-api.md": page(spec),
            "reference/schemas/openapi.json": json.dumps(spec, ensure_ascii=False, indent=2) + "\n"}
