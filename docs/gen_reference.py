"""Generate the reference pages of the docs site from the code and the rulesets.

A mkdocs hook (``hooks:`` in mkdocs.yml): ``mkdocs build`` calls :func:`on_files`, which adds
the pages of :func:`pages` to the site in memory, so plain ``mkdocs build --strict`` builds the
whole site from a clean checkout and nothing generated is written under docs/. The pages come
from the pydantic schemas, the error-code tables of each module, the expression scopes, the
CLI's argparse help, the public API's docstrings (rendered by mkdocstrings, through
:class:`RestRoles`) and the rulesets themselves (``qrules render``), so they cannot drift from the code.

To add a generated page: add it to :func:`pages` (and to ``nav`` in mkdocs.yml).
``python docs/gen_reference.py DIR`` writes the same pages to DIR for inspection.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:  # the API page's docstrings pass through RestRoles (mkdocs.yml names it as a griffe extension)
    import griffe
except ImportError:
    griffe = None

CODE_MODULES = ["qrules.yamlsource", "qrules.outfile", "qrules.language.parser", "qrules.language.check", "qrules.loader", "qrules.ruleset",
                "qrules.registry",
                "qrules.history", "qrules.engine.decide", "qrules.workdays", "qrules.deadlines",
                "qrules.casetest", "qrules.serve.service"]


def error_examples() -> dict[str, str]:
    """Run small broken rulesets through the checker and keep the first message per code."""
    from qrules.errors import QrulesError, render
    from qrules.versioned import load

    base = (ROOT / "rulesets" / "guangdong-2021.yaml").read_text(encoding="utf-8")
    variants = [
        base.replace("items:  ", "items: [", 1) if "items:  " in base else base + "\nbad: [\n",
        base + "\nalias: &x [1]\nagain: *x\n",
        base.replace("qrules: 1\n", "qrules: 1\nqrules: 1\n", 1),
        base.replace("from: 2021-06-05", "from: 2023-02-30"),
        base.replace("  excluded_categories:", "  excluded_categorys:"),
        base.replace('B: {when: "6 < score < 12"', 'B: {when: "6.5 < score < 12"'),
        base.replace(", cite: 第十一条第（七）项", ""),
        base.replace('item: "12.2", when', 'item: "12.20", when'),
        base.replace("until: 2026-06-04", "until: 2020-06-04"),
        base.replace('window: {value: "36 months"', 'window: {value: "36"'),
        base.replace('B: {when: "6 < score < 12"', 'B: {when: "6 < scroe < 12"'),
        base.replace('"repair.rectified"', '"repair.rectifed"'),
        base.replace('A: {when: "score >= 12"', 'A: {when: "score + 12"'),
        base.replace('A: {when: "score >= 12"', 'A: {when: "score = 12"'),
        base.replace('A: {when: "score >= 12"', 'A: {when: "scor(12)"'),
        base.replace('value: "180 days"', 'value: "180 dayz"'),
        base.replace('dates: ["01-01", "07-01"]', 'dates: ["01-01", "07-32"]'),
    ]
    children = [
        "qrules: 1\nruleset: kid\nextends: guangdong-2021\nversion: '1'\nparameters:\n  windw: {value: '24 months'}\n",
        "qrules: 1\nruleset: kid\nextends: guangdong-2099\nversion: '1'\n",
        "qrules: 1\nruleset: kid\nextends: guangdong-2021\nversion: '1'\nitems:\n  '-99.9': null\n",
    ]
    found: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        (tmpdir / "guangdong-2021.yaml").write_text(base, encoding="utf-8")
        files = []
        for i, text in enumerate(variants):
            files.append(tmpdir / f"example-{i}.yaml")
            files[-1].write_text(text, encoding="utf-8")
        for i, text in enumerate(children):
            files.append(tmpdir / f"child-{i}.yaml")
            files[-1].write_text(text, encoding="utf-8")
        (tmpdir / "a.yaml").write_text("qrules: 1\nruleset: a\nextends: b\nversion: '1'\n", encoding="utf-8")
        (tmpdir / "b.yaml").write_text("qrules: 1\nruleset: b\nextends: a\nversion: '1'\n", encoding="utf-8")
        files.append(tmpdir / "a.yaml")
        for path in files:
            try:
                load(path)
            except QrulesError as exc:
                for d in exc.diagnostics:
                    if d.code not in found and d.severity == "error":
                        text = render(d).replace(str(tmpdir) + "/", "rulesets/")
                        found[d.code] = text
    from argparse import Namespace

    from qrules.outfile import batch_outputs  # an output the command cannot write: `qrules batch ... -o 结果.xlsx`

    found["QR008"] = render(batch_outputs(Namespace(output="结果.xlsx"))[0])
    return found


def errors_page() -> str:
    examples = error_examples()
    lines = ["# Error codes / 错误代码", "",
             "Every problem qrules reports has a code. Messages print as `file:line:col: error[CODE]: message`, "
             "with the source line and a caret under the place. The examples below are produced by running "
             "the checker on broken copies of `guangdong-2021.yaml` when the docs are built.", "",
             "每条错误都带有代码，并指出文件、行、列；下列示例在生成文档时实际运行检查得到。", ""]
    for name in CODE_MODULES:
        module = importlib.import_module(name)
        codes = getattr(module, "CODES", {})
        if not codes:
            continue
        lines += [f"## `{name}`", "", (inspect.getdoc(module) or "").split("\n\n")[0], "",
                  "| code | 中文 | meaning |", "| --- | --- | --- |"]
        from qrules.messages import title_zh

        for code, text in sorted(codes.items()):
            lines.append(f"| {code} | {title_zh(code) or ''} | {text.replace('|', '/')} |")
        lines.append("")
        for code in sorted(codes):
            if code in examples:
                lines += [f"**{code}** example:", "", "```text", examples[code], "```", ""]
    return "\n".join(lines)


def _own_doc(obj) -> str:
    """The object's own docstring (not one inherited from pydantic's BaseModel)."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    return inspect.cleandoc(doc) if doc else ""


def _field_rows(model) -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        ann = str(info.annotation).replace("typing.", "").replace("qrules.schema.", "").replace("|", "or")
        required = "yes" if info.is_required() else ""
        desc = (info.description or "").replace("|", "/")
        rows.append(f"| `{alias}` | `{ann}` | {required} | {desc} |")
    return rows


def schema_page() -> str:
    from pydantic import BaseModel

    import qrules.schema as schema

    lines = ["# Ruleset format reference / 规则集格式", "",
             "Generated from the pydantic models in `qrules/schema.py`. `qrules schema ruleset` prints the same "
             "as JSON Schema. Fields typed `Expr` hold expressions (see the [language reference](../language.md)); "
             "the names each expression may use are listed in [expression scopes](scopes.md).", ""]
    models = [obj for _, obj in inspect.getmembers(schema, inspect.isclass)
              if issubclass(obj, BaseModel) and obj.__module__ == schema.__name__ and not obj.__name__.startswith("_")]
    models.sort(key=lambda m: (m.__name__ != "Ruleset", m.__name__))
    for model in models:
        lines += [f"## {model.__name__}", "", _own_doc(model), "",
                  "| key | type | required | description |", "| --- | --- | --- | --- |"]
        lines += _field_rows(model)
        lines.append("")
    return "\n".join(lines)


def history_schema_page() -> str:
    from pydantic import BaseModel

    import qrules.history as history

    lines = ["# History format reference (generated) / 历史数据格式（自动生成）", "",
             "Generated from the pydantic models in `qrules/history.py`; the guide is [History format](../history.md). "
             "`qrules schema history` prints the JSON Schema.", ""]
    names = ["OperatorSubject", "ProductSubject", "LineInfo", "Deduction", "Repair", "Reward", "SpotCheck",
             "Filing", "Correction", "CorrectionChanges", "ProcedureEvent"]
    for name in names:
        model = getattr(history, name, None)
        if model is None or not issubclass(model, BaseModel):
            continue
        lines += [f"## {name}", "", _own_doc(model).split("\n\n")[0], "",
                  "| field | type | required | description |", "| --- | --- | --- | --- |"]
        lines += [r for r in _field_rows(model) if not r.startswith("| `span`")]
        lines.append("")
    return "\n".join(lines)


def scopes_page() -> str:
    from qrules.ruleset import PARAMETER_TYPES, SCOPES
    from qrules.language.types import ListType, RecordType

    lines = ["# Expression scopes / 表达式可用名称", "",
             "Which names each expression of a ruleset may use, and their types (generated from "
             "`qrules/ruleset.py`). Every parameter under `parameters:` is also in scope by its name.", "",
             "| parameter | type |", "| --- | --- |"]
    lines += [f"| `{k}` | {v} |" for k, v in PARAMETER_TYPES.items()]
    lines.append("")
    records: dict[str, RecordType] = {}
    for path, scope in SCOPES.items():
        lines += [f"## `{path}`", "", "| name | type |", "| --- | --- |"]
        for name, typ in scope.items():
            lines.append(f"| `{name}` | {typ} |")
            inner = typ.elem if isinstance(typ, ListType) else typ
            if isinstance(inner, RecordType):
                records[inner.name] = inner
        lines.append("")
    lines += ["## Records / 记录类型", ""]
    for name, rec in sorted(records.items()):
        lines.append(f"- **{name}**: " + ", ".join(f"`{k}` ({t})" for k, t in rec.fields))
    return "\n".join(lines)


def cli_page() -> str:
    from qrules.cli import build_parser

    parser = build_parser()
    lines = ["# Command line / 命令行", "", "Generated from the argparse definitions in `qrules/cli.py` "
             "and the command modules.", "", "```text", parser.format_help().rstrip(), "```", ""]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        lines += [f"## qrules {name}", "", "```text", p.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


def _type_name(annotation) -> str:
    """``list[qrules.engine.results.EntryResult]`` -> ``list[EntryResult]``, for a table cell."""
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return re.sub(r"\b(?:[a-z_]+\.)+(?=[A-Za-z_])", "", text.replace("typing.", "")).replace("|", "or")


def api_page() -> str:
    """The public API (``qrules.__all__``), rendered from the docstrings by mkdocstrings."""
    import qrules

    lines = ["# Python API", "",
             "Everything below is importable from `qrules` (its `__all__`) and rendered from the code's "
             "docstrings when the site is built.", "",
             "::: qrules", "    options:", "      show_root_heading: false", "      members: false", ""]
    from pydantic import BaseModel

    for name in qrules.__all__:
        lines.append(f"::: qrules.{name}")
        obj = getattr(qrules, name)
        lines.append("")
        if inspect.isclass(obj) and issubclass(obj, BaseModel):   # data: every field, documented or not
            lines += ["| field 字段 | type 类型 | default 默认 |", "| --- | --- | --- |"]
            for field, info in obj.model_fields.items():
                if field == "span":
                    continue
                default = "required 必填" if info.is_required() else f"`{info.get_default(call_default_factory=True)!r}`"
                lines.append(f"| `{info.alias or field}` | `{_type_name(info.annotation)}` | {default} |")
            lines.append("")
    return "\n".join(lines)


_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj):`(~?)([\w.]+)(\(\))?`")


def markdown_roles(text: str, public: set[str]) -> str:
    """reST in a docstring as Markdown: ``:class:`~a.B``` -> a link to ``qrules.B`` when B is on the
    API page, else the code ``B``; a paragraph ending in ``::`` (a literal block follows) ends in ``:``."""
    def link(m: re.Match) -> str:
        tilde, target, call = m.groups()
        shown = (target.rsplit(".", 1)[-1] if tilde else target) + (call or "")
        name = target.rsplit(".", 1)[-1]
        return f"[`{shown}`][qrules.{name}]" if name in public else f"`{shown}`"

    return re.sub(r"(?<=\S)::(?=\n\s*\n)", ":", _ROLE.sub(link, text))


if griffe is not None:
    class RestRoles(griffe.Extension):
        """Show the reST roles the code's docstrings use as Markdown, linked when on the API page."""

        def on_object(self, *, obj, **kwargs) -> None:
            if obj.docstring is not None:
                import qrules

                obj.docstring.value = markdown_roles(obj.docstring.value, set(qrules.__all__))

        def on_package(self, *, pkg, **kwargs) -> None:   # the top package is no on_object
            self.on_object(obj=pkg)


def rulesets_pages() -> dict[str, str]:
    """Each ruleset rendered as the page ``qrules render`` prints."""
    from qrules.render import render_markdown
    from qrules.versioned import load

    return {f"reference/rulesets/{name}.md": render_markdown(load(ROOT / "rulesets" / f"{name}.yaml"))
            for name in ("guangdong-2021", "haojiang-2023")}


def pages() -> dict[str, str | bytes]:
    """Every generated file of the site, by its path under docs/ (one place to extend)."""
    from qrules.history import history_json_schema
    from qrules.schema import ruleset_json_schema

    def schema(data: dict) -> str:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    out: dict[str, str | bytes] = {
        "reference/errors.md": errors_page(),
        "reference/ruleset-format.md": schema_page(),
        "reference/history-format.md": history_schema_page(),
        "reference/scopes.md": scopes_page(),
        "reference/cli.md": cli_page(),
        "reference/api.md": api_page(),
        "reference/example-history.md": (ROOT / "examples" / "README.md").read_text(encoding="utf-8"),
        "reference/schemas/ruleset.schema.json": schema(ruleset_json_schema()),
        "reference/schemas/ruleset-child.schema.json": schema(ruleset_json_schema(child=True)),
        "reference/schemas/history.schema.json": schema(history_json_schema()),
    }
    out.update(rulesets_pages())
    out.update(_serve_api_pages())
    return {path: text.rstrip() + "\n" if path.endswith(".md") else text for path, text in out.items()}


def _serve_api_pages() -> dict[str, str | bytes]:
    """The HTTP API reference of ``qrules serve`` (built from its OpenAPI description by
    ``docs/gen_serve_api.py``), so this hook stays the one place that adds generated pages."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_serve_api", Path(__file__).with_name("gen_serve_api.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pages()


def on_config(config):
    """mkdocs hook: Chinese search needs jieba (material's search plugin segments Chinese text
    into words with it when it is importable); without it 修复 would not find 信用修复, so
    refuse to build rather than ship a search that misses."""
    from mkdocs.exceptions import PluginError

    try:
        import jieba
    except ImportError:
        raise PluginError("the docs need the jieba package for Chinese search: make install "
                          "(or pip install -c constraints.txt jieba)") from None
    jieba.setLogLevel(logging.WARNING)   # its "Building prefix dict" lines are noise in a build
    return config


def on_files(files, config):
    """mkdocs hook: add the generated pages to the site (a stale copy on disk is replaced)."""
    from mkdocs.structure.files import File

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for path, content in pages().items():
        stale = files.get_file_from_path(path)
        if stale is not None:
            files.remove(stale)
        files.append(File.generated(config, path, content=content))
    return files


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "build" / "reference-pages"
    for path, content in pages().items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    print(f"generated pages written to {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
