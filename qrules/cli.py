"""The ``qrules`` command line: ``main(argv) -> exit code``.

Exit codes: 0 success; 1 the input has errors (a ruleset that does not check, a history
that cannot be read, a failing test case); 2 usage errors (unknown option, missing file
argument). Problems print as ``file:line:col: error[CODE]: message`` with the source line;
``--debug`` shows the Python traceback instead of hiding it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from .errors import Diagnostic, QrulesError, printable
from .output import json_default
from .language.runtime import EvaluationError

# The shared printing and parsing live in console (the command modules import it, not cli);
# re-exported here for callers that still name them through cli.
from .console import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, add_output, error_count, fail, print_diagnostics, refused_records, table, width  # noqa: F401,E402
from .console import date_arg as _date  # noqa: E402


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors; keep it, with our wording
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"qrules: error: {message}\n")


# -- check / show -----------------------------------------------------------------------------
def check_file(path: str):
    """Check one ruleset file: (its entry of ``check --format json``, the compiled ruleset or None,
    the diagnostics). ``qrules serve`` answers ``/api/check`` with the same entry."""
    from .versioned import load

    try:
        compiled = load(path)
    except QrulesError as exc:
        return ({"file": path, "ok": False, "diagnostics": [d.to_dict() for d in exc.diagnostics]}, None,
                exc.diagnostics)
    m = compiled.model
    return ({"file": path, "ok": True, "ruleset": m.ruleset, "version": m.version,
             "extends": compiled.resolved.chain[1:], "items": len(m.items),
             "provisional": compiled.provisional_count(),
             "diagnostics": [d.to_dict() for d in compiled.diagnostics]}, compiled, compiled.diagnostics)


def cmd_check(args) -> int:
    status = EXIT_OK
    report = []
    paths, folders = [], []
    for path in args.paths:
        if Path(path).is_dir():  # a rulesets folder: every version, then the families' periods (§4a)
            folders.append(path)
            paths += [str(f) for f in sorted(Path(path).glob("*.yaml"))]
        else:
            paths.append(path)
    printed: list[Diagnostic] = []
    if folders and not getattr(args, "rulesets", None):
        from .registry import rulesets_dirs

        rulesets_dirs.set(tuple(folders))  # names in these files resolve among these folders
    for path in paths:
        entry, compiled, diagnostics = check_file(path)
        report.append(entry)
        if compiled is None:
            status = EXIT_ERRORS
            if args.format == "text":
                print_diagnostics([d for d in diagnostics if d not in printed])
                printed += diagnostics
                print(error_count(diagnostics, path), file=sys.stderr)
            continue
        m = compiled.model
        provisional = entry["provisional"]
        warnings = [d for d in compiled.diagnostics if d.severity == "warning"]
        if args.format == "text":
            print_diagnostics(warnings)
            chain = " → ".join(Path(f).stem for f in compiled.resolved.chain)
            print(f"{path}: ok — {m.ruleset} {m.version} ({chain}); {len(m.items)} items, "
                  f"{len(m.rewards.rules)} reward rules, classes {'/'.join(list(m.classes))}; "
                  f"{provisional} provisional values（{provisional} 项暂定分值，待省局记分表）")
    if folders:  # the families of these folders together: versions must not overlap (§4a)
        from .registry import check_folders

        diags, entry, lines = check_folders(folders, failed=[e["file"] for e in report if not e.get("ok")])
        report.append(entry)
        if args.format == "text":
            print_diagnostics([d for d in diags if d not in printed])
            print("\n".join(f"{', '.join(folders)}: {line}" for line in lines))
        status = status if entry["ok"] else EXIT_ERRORS
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2, default=json_default))
    return status


def flatten_values(value: Any, path: tuple, out: list) -> None:
    if isinstance(value, dict):
        if not value:
            out.append((path, {}))
        for k, v in value.items():
            flatten_values(v, path + (k,), out)
    elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        for i, v in enumerate(value):
            flatten_values(v, path + (i,), out)
    else:
        out.append((path, value))


def cmd_show(args) -> int:
    from .versioned import resolved_at

    try:
        resolved = resolved_at(args.path, args.at)
    except QrulesError as exc:
        return fail(exc.diagnostics, args.format)   # --format json: the error as JSON too
    rows: list = []
    flatten_values(resolved.data, (), rows)
    if args.format == "json":
        out = []
        for path, value in rows:
            span = resolved.span(path)
            out.append({"path": ".".join(map(str, path)), "value": value, "file": span.file, "line": span.line})
        print(json.dumps({"ruleset": resolved.model.ruleset, "chain": resolved.chain, "values": out},
                         ensure_ascii=False, indent=2, default=json_default))
        return EXIT_OK
    print(f"# {resolved.model.ruleset} {resolved.model.version}: " + " extends ".join(resolved.chain))
    for path, value in rows:
        key = ".".join(map(str, path))
        text = json.dumps(value, ensure_ascii=False, default=json_default)
        if args.resolved:
            span = resolved.span(path)
            origin = "" if span.file == resolved.file else "  (inherited)"
            print(f"{key} = {text}    # {span.file}:{span.line}{origin}")
        else:
            print(f"{key} = {text}")
    return EXIT_OK


# -- evaluate / explain -------------------------------------------------------------------------
def _load_inputs(args):
    from .history.load import load_history
    from .versioned import load

    from .output import Status

    with Status("加载规则集与历史数据 loading", getattr(args, "progress", None)):
        compiled = load(args.ruleset)
        loaded = load_history(args.history)
    return compiled, loaded


def _history_problems(loaded, fmt: str) -> None:
    """The history's problems on standard error (JSON output carries them in its own keys)."""
    if loaded.diagnostics and fmt != "json":
        print_diagnostics(loaded.diagnostics)


def result_rows(result) -> tuple[list[str], list[list[str]]]:
    from .engine.explain import fmt_score

    header = ["id", "kind", "name", "score", "live", "official", "lock_until", "supervision", "notice",
              "checks/yr"]
    rows = []
    for s in result.subjects:
        rows.append([s.id, s.kind, s.name or "", fmt_score(s.score), s.live_class, s.official_class,
                     str(s.lock.until) if s.lock else "", s.measures.mode, s.measures.notice or "",
                     str(s.measures.checks_per_year or "")])
    return header, rows


def _at_scale(args) -> bool:
    """Whether `evaluate` should hand over to the batch backend (docs/batch.md)."""
    from .batch import is_columnar

    return (args.workers is not None or (args.output or "").endswith(".parquet")
            or is_columnar(args.history) or getattr(args, "backend", None) == "columnar")


def evaluation_json(result, loaded) -> dict:
    """``evaluate --format json``: the result plus the history's refused records and input problems
    (``qrules serve`` answers ``/api/evaluate`` with the same)."""
    data = json.loads(result.model_dump_json(by_alias=True))
    data["invalid_records"] = [{"event": r.id, "kind": r.kind, "code": r.code, "reason": r.reason,
                                "at": str(r.span) if r.span else None} for r in loaded.rejected_events]
    data["input_diagnostics"] = [d.to_dict() for d in loaded.diagnostics]
    return data


def cmd_evaluate(args) -> int:
    from .engine import evaluate

    if _at_scale(args):  # a whole jurisdiction: worker processes, progress bar, summary
        import argparse
        import os

        from .batch import cmd_batch

        return cmd_batch(argparse.Namespace(
            ruleset=args.ruleset, history=args.history, as_of=args.as_of,
            workers=args.workers or os.cpu_count() or 2, chunk_size=500, output=args.output,
            format=args.format if args.format in ("csv", "jsonl") and args.output else None,
            rejections=None, summary_json=None, progress=args.progress, max_diagnostics=20,
            backend=getattr(args, "backend", None), as_known_at=args.as_known_at, via="evaluate at scale"))
    compiled, loaded = _load_inputs(args)
    result = evaluate(compiled, loaded.history, args.as_of, invalid_subjects=loaded.invalid_subjects,
                      as_known_at=args.as_known_at)
    if args.outlook:  # brief §4a: per subject, with no new events, and what could be done now
        from .engine.outlook import with_outlook

        result = with_outlook(compiled, loaded.history, result, result.as_of, loaded.invalid_subjects)
    from .output import open_output

    if args.format in ("csv", "jsonl"):  # the table prints them itself, JSON carries them
        _history_problems(loaded, args.format)
    with open_output(args.output, csv=args.format == "csv") as out:
        if args.format == "json":
            data = evaluation_json(result, loaded)
            if result.as_known_at:  # left out, not lost (brief §4a), as batch's --summary-json says it
                data["events_not_yet_recorded"] = len(loaded.history.events) - result.summary.events
            print(json.dumps(data, ensure_ascii=False, indent=2), file=out)
        elif args.format == "csv":
            header, rows = result_rows(result)
            # which version decided the live class, and whether it was in force (brief §4a)
            header += ["version", "in_force"]
            rows = [r + [result.version_at_as_of or result.ruleset, str(result.in_force).lower()] for r in rows]
            from .output import CsvWriter

            writer = CsvWriter(out)
            writer.writerow(header)
            writer.writerows(rows)
        elif args.format == "jsonl":
            for s in result.subjects:
                line = json.loads(s.model_dump_json(by_alias=True, exclude={"entries", "adjustments"}))
                line.update(version=result.version_at_as_of, in_force=result.in_force)  # brief §4a
                print(json.dumps(line, ensure_ascii=False), file=out)
        else:
            _history_problems(loaded, "table")
            for w in result.warnings:
                print(f"warning: {w}", file=sys.stderr)
            header, rows = result_rows(result)
            print(f"{result.ruleset} {result.version} — as of {result.as_of}"
                  + (f", as known at {result.as_known_at}（截至 {result.as_known_at} 已录入的记录）"
                     if result.as_known_at else ""), file=out)
            print(table(rows, header), file=out)
            sm = result.summary
            print(f"\n{sm.subjects} subjects; official classes "
                  + ", ".join(f"{k}: {v}" for k, v in sm.by_official_class.items())
                  + f"; {sm.events} events, {sm.events_counted} counted, {sm.events_rejected} rejected"
                  + (f"; {len(loaded.rejected_events)} more refused as invalid records（另有 {len(loaded.rejected_events)} "
                     "个事件记录无效，未载入）" if loaded.rejected_events else ""), file=out)
            if result.as_known_at:  # left out, not lost (brief §4a), as `qrules batch` says it
                from .knownat import left_out_line

                print(left_out_line(len(loaded.history.events) - sm.events, result.as_known_at, "more "), file=out)
            if result.rejected or loaded.rejected_events or result.excluded_subjects:
                print("\nRejected（不予记分）:", file=out)
                for r in loaded.rejected_events:
                    print(printable(f"  {r.id} [{r.code}] invalid record: {r.reason}" + (f" ({r.span})" if r.span else "")),
                          file=out)
                for r in result.rejected:
                    who = f" {r.subject}" if r.subject else ""
                    print(printable(f"  {r.event}{who} [{r.code}] {r.reason}" + (f"（{r.cite}）" if r.cite else "")),
                          file=out)
                for x in result.excluded_subjects:
                    print(printable(f"  subject {x.id}: {x.reason}" + (f"（{x.cite}）" if x.cite else "")), file=out)
    if args.format != "table":  # the table prints them itself; every format says it (brief §4a)
        for w in result.warnings:
            print(printable(f"warning: {w}"), file=sys.stderr)
    # The valid part of the history was evaluated and printed; the refused records make it exit 1.
    return refused_records(loaded, args.history)


def cmd_explain(args) -> int:
    from .engine import evaluate
    from .engine.explain import explain_subject

    compiled, loaded = _load_inputs(args)
    known = {str(s.id) for s in loaded.history.subjects}
    if args.subject in loaded.invalid_subjects:
        own = [d for d in loaded.diagnostics if d.message.startswith(f"{args.subject}:")]
        return fail(own + [Diagnostic("QR961", f"subject '{args.subject}' was refused: "
                                      f"{loaded.invalid_subjects[args.subject]}",
                                      hint="先改正历史数据中该对象的记录（见上），再重新解释"
                                           "（correct its record in the history, above, then explain it again）")], args.format)
    if args.subject not in known:
        from .errors import did_you_mean

        return fail([Diagnostic("QR956", f"no subject '{args.subject}' in {args.history}",
                                hint=did_you_mean(args.subject, known) or "请给出历史数据中记分对象的编号"
                                "（give the id of a subject in the history）")], args.format)
    if args.format != "json":  # the records refused are said, as evaluate says them (JSON: on exit 1 below)
        _history_problems(loaded, "text")
    result = evaluate(compiled, loaded.history, args.as_of, invalid_subjects=loaded.invalid_subjects,
                      subjects=[args.subject], as_known_at=args.as_known_at)
    if args.as_known_at is None and any(s.id == args.subject for s in result.subjects):
        from .engine.outlook import with_outlook

        result = with_outlook(compiled, loaded.history, result, result.as_of, loaded.invalid_subjects,
                              subjects=[args.subject])
    try:
        subject = result.subject(args.subject)
    except KeyError:
        reason = next((x.reason for x in result.excluded_subjects if x.id == args.subject), "not evaluated")
        print(f"{args.subject}: {reason}")
        return refused_records(loaded, args.history)
    left_out = None
    if args.as_known_at is not None:  # left out, not lost (brief §4a): the subject's own events entered later
        from .knownat import left_out_of

        left_out = left_out_of(loaded.history, args.as_known_at, [args.subject])
    if args.format == "json":
        if left_out is None:
            print(subject.model_dump_json(by_alias=True, indent=2))
        else:  # as `evaluate --format json` says it
            data = json.loads(subject.model_dump_json(by_alias=True))
            data["events_not_yet_recorded"] = left_out
            print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for w in result.warnings:
            print(f"warning: {w}", file=sys.stderr)
        print(printable(explain_subject(result, subject, compiled), newlines=True))
        if left_out is not None:
            from .knownat import left_out_line

            print(left_out_line(left_out, args.as_known_at))
    if args.format == "json" and loaded.errors:
        print_diagnostics(loaded.diagnostics, "json")
    return refused_records(loaded, args.history)


def cmd_schema(args) -> int:
    if args.what == "ruleset":
        from .schema import ruleset_json_schema

        schema = ruleset_json_schema(child=args.child)
    elif args.what == "history":
        from .history import history_json_schema

        schema = history_json_schema()
    else:
        from .engine.results import EvaluationResult

        schema = EvaluationResult.model_json_schema(by_alias=True)
    print(json.dumps(schema, ensure_ascii=False, indent=2))
    return EXIT_OK


# -- wiring ---------------------------------------------------------------------------------------
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qrules")
    except PackageNotFoundError:  # run from a source tree that was not installed
        from . import __version__

        return __version__


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``argv``, only the named command's module is imported."""
    p = _Parser(prog="qrules", description="Rules-as-code for product quality credit classification "
                "(产品质量信用分类监管): check rulesets, evaluate histories, explain every point.",
                epilog="Exit codes: 0 ok, 1 errors in the input, 2 usage error. Docs: docs/index.md")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks (for bug reports)")
    p.add_argument("--version", action="version", version=f"qrules {_version()}")
    p.add_argument("--allow-path", action="append", default=[], metavar="DIR",
                   help="let 'extends' name parent rulesets in DIR too (default: only the folder of the "
                        "ruleset named; see docs/security.md)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser("check", help="check rulesets: syntax, names, types, class partition, citations",
                       description="Check ruleset files and report every problem at file:line:col.")
    c.add_argument("paths", nargs="+", metavar="PATH",
                   help="ruleset files, or a rulesets folder (also proves its families' versions do not overlap)")
    c.add_argument("--format", choices=["text", "json"], default="text")
    add_output(c)
    c.set_defaults(func=cmd_check)

    s = sub.add_parser("show", help="print a ruleset; --resolved shows inherited values and their origin")
    s.add_argument("path", metavar="RULESET", help="a ruleset file, or a version or family name (--rulesets)")
    s.add_argument("--resolved", action="store_true", help="annotate each value with the file:line it comes from")
    s.add_argument("--at", type=_date, default=None, metavar="DATE",
                   help="the version in force on DATE, for a family name or 'extends: FAMILY' (default: today)")
    s.add_argument("--format", choices=["text", "json"], default="text")
    add_output(s)
    s.set_defaults(func=cmd_show)

    e = sub.add_parser("evaluate", help="score and classify every subject of a history")
    e.add_argument("ruleset", metavar="RULESET")
    e.add_argument("history", metavar="HISTORY", help="YAML, JSON or JSON Lines history")
    e.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                   help="evaluation date DATE, as YYYY-MM-DD (default: today)")
    e.add_argument("--outlook", action="store_true",
                   help="add each subject's outlook (coming changes with no new events, points and actions for "
                        "the next better class) to the JSON result")
    e.add_argument("--as-known-at", type=_date, default=None, metavar="DATE",
                   help="use only records entered (recorded) by DATE, corrections included (not after --as-of)")
    e.add_argument("--format", choices=["table", "json", "csv", "jsonl"], default="table")
    e.add_argument("--output", "-o", metavar="FILE",
                   help="write to FILE instead of standard output (.parquet: at scale)")
    e.add_argument("--workers", "-j", type=int, default=None,
                   help="evaluate at scale in N worker processes with a progress bar and a summary "
                        "(also chosen for a CSV/Parquet history or a .parquet output; see qrules batch)")
    e.add_argument("--backend", choices=["engine", "columnar"], default=None,
                   help="at scale: columnar (polars, default for CSV/Parquet and JSON Lines input) or engine (see qrules batch)")
    e.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="status line or progress bar on stderr while loading and evaluating "
                        "(default: when stderr is a terminal)")
    e.set_defaults(func=cmd_evaluate)

    x = sub.add_parser("explain", help="explain one subject's score point by point with articles")
    x.add_argument("ruleset", metavar="RULESET")
    x.add_argument("history", metavar="HISTORY")
    x.add_argument("subject", metavar="SUBJECT")
    x.add_argument("--as-of", type=_date, default=None, metavar="DATE")
    x.add_argument("--as-known-at", type=_date, default=None, metavar="DATE",
                   help="use only records entered (recorded) by DATE, corrections included (not after --as-of)")
    x.add_argument("--format", choices=["text", "json"], default="text")
    add_output(x)
    x.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="status line on stderr while loading (default: when stderr is a terminal)")
    x.set_defaults(func=cmd_explain)

    sc = sub.add_parser("schema", help="print the JSON Schema of the ruleset, history or result format")
    sc.add_argument("what", choices=["ruleset", "history", "result"])
    sc.add_argument("--child", action="store_true",
                    help="ruleset schema for a file that 'extends' another (no required keys, +key/-key allowed)")
    sc.add_argument("--format", choices=["json"], default="json", help="output format (JSON Schema only)")
    add_output(sc)
    sc.set_defaults(func=cmd_schema)

    wanted = _command_in(argv) if argv is not None else None
    wanted_module = EXTENSIONS.get(wanted or "", ("", ""))[0]
    imported: set[str] = set()
    for command, (module_name, help_text) in EXTENSIONS.items():
        if wanted is None or module_name == wanted_module:
            if module_name not in imported:
                import importlib

                importlib.import_module(module_name).register(sub)
                imported.add(module_name)
        else:  # listed in --help without importing its module (keeps start-up fast)
            sub.add_parser(command, help=help_text, add_help=False)
    _versions_options(sub)
    from .clihelp import localize

    localize(p)  # Chinese in front of every description and argument help
    return p


def _versions_options(sub) -> None:
    """``--rulesets DIR`` on every command: where version and family names are looked up (§4a);
    ``--require-in-force`` on those that evaluate."""
    for name, parser in sub.choices.items():
        parser.add_argument("--rulesets", action="append", metavar="DIR", default=None,
                            help="folder of ruleset versions for RULESET names such as 'haojiang' or "
                                 "'guangdong-2021' (repeatable; default: rulesets/)")
        if name in ("evaluate", "explain", "deadlines", "impact", "batch"):
            parser.add_argument("--require-in-force", action="store_true",
                                help="a date with no ruleset version in force is an error (QR907), not a notice")


#: Commands defined in their own modules (each exposes ``register(subparsers)``), imported only
#: when that command runs, or for the full help.
EXTENSIONS: dict[str, tuple[str, str]] = {
    "test": ("qrules.casetest", "run YAML test cases against rulesets and report coverage (docs/casetest.md)"),
    "diff": ("qrules.review", "semantic diff of two rulesets in domain words, with articles"),
    "impact": ("qrules.review", "evaluate two rulesets over one history: who changes class, and why"),
    "render": ("qrules.render", "write the resolved ruleset as a Markdown document for people"),
    "deadlines": ("qrules.deadlines", "procedural deadlines (Art 21, 23-25) on the Chinese working-day calendar"),
    "plan": ("qrules.plan", "inspection plan (Art 27): inspections required, recorded and owed per subject and year"),
    "batch": ("qrules.batch", "evaluate a whole corpus in worker processes (CSV/Parquet/JSONL)"),
    "synth": ("qrules.batch", "write a seeded synthetic corpus (for tests and benchmarks)"),
    "serve": ("qrules.serve", "HTTP API (JSON, OpenAPI) and pages in Chinese for officers (needs qrules[serve])"),
}


def _command_in(argv: Sequence[str]) -> str:
    """The subcommand named in ``argv`` ('' when none): only its module needs importing."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--allow-path":
            skip = True  # its value is a folder, not the command
        elif not arg.startswith("-"):
            return arg
    return ""


def _run(args) -> int:
    if not getattr(args, "redirect_output", False):
        return args.func(args)
    import contextlib

    from .output import open_output

    with open_output(args.output, csv=getattr(args, "format", None) == "csv") as out, \
            contextlib.redirect_stdout(out):
        return args.func(args)


def _output_problems(parser, args) -> list[Diagnostic]:
    """Every output file named on the command line that cannot be written (QR007) or whose name says
    a format the command does not write there (QR008), all at once, before any input is read."""
    from .outfile import batch_outputs, evaluate_output, refused_outputs
    from .safeio import check_output

    found = []
    for option in ("output", "rejections", "summary_json"):
        path = getattr(args, option, None)
        problem = check_output(path) if isinstance(path, str) and path != "-" else None
        if problem:
            found.append(Diagnostic("QR007", f"--{option.replace('_', '-')} {path}: {problem}（无法写入输出文件）",
                                    hint="请写到已存在且有写权限的文件夹中（name a file in a folder that exists and "
                                         "you may write to）"))
    found += refused_outputs(parser, args)  # never a format the file's name does not say (batch -o x.xlsx)
    if getattr(args, "command", None) == "evaluate":  # its extension chooses the format at scale (docs/batch.md)
        if _at_scale(args):
            fmt = args.format if args.format in ("csv", "jsonl") and args.output else None
            found += batch_outputs(argparse.Namespace(output=args.output, format=fmt), "evaluate at scale")
        else:
            found += evaluate_output(args)  # -o x.csv with the table format would be a table named .csv
    return list(dict.fromkeys(found))


def _hoist_allow_path(argv: list[str]) -> list[str]:
    """``--allow-path DIR`` is accepted after the command too: move it before the command."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--allow-path" and i + 1 < len(argv):
            front += argv[i:i + 2]
            i += 2
            continue
        (front if argv[i].startswith("--allow-path=") else rest).append(argv[i])
        i += 1
    return front + rest


def _diagnostics_format(args) -> str | None:
    """The form of the messages that stop a command: its --format, except where --format is the
    format of a file it writes (``synth``'s corpus, ``batch``'s result file), and messages are text."""
    return None if getattr(args, "command", None) in ("synth", "batch") else getattr(args, "format", None)


def main(argv: Sequence[str] | None = None) -> int:
    from .output import safe_streams

    safe_streams()
    argv = _hoist_allow_path(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    if args.allow_path:
        from .loader import allow_paths

        allow_paths(*args.allow_path)
    missing = [d for d in getattr(args, "rulesets", None) or () if not Path(d).is_dir()]
    if missing and args.command != "serve":  # a typo in --rulesets: said, not ignored (serve says QR963)
        return fail([Diagnostic("QR909", f"--rulesets {d}: 文件夹不存在（'{d}' is not a folder）", None,
                                hint="用 --rulesets 给出存放规则集的文件夹，如 --rulesets rulesets（name an existing folder）")
                     for d in missing], _diagnostics_format(args))
    problems = _output_problems(parser, args)
    if problems:  # said before any input is loaded, not after minutes of work
        return fail(problems, _diagnostics_format(args))
    from .registry import rulesets_dirs

    token = rulesets_dirs.set(tuple(args.rulesets) if getattr(args, "rulesets", None) else rulesets_dirs.get())
    from .versions import require_in_force

    strict = require_in_force.set(bool(getattr(args, "require_in_force", False)))
    try:
        return _run(args)
    except QrulesError as exc:
        if args.debug:
            raise
        return fail(exc.diagnostics, _diagnostics_format(args))
    except EvaluationError as exc:  # a rule that fails on some input (e.g. a division by zero)
        if args.debug:
            raise
        return fail([Diagnostic("QR690", f"a rule could not be evaluated: {exc.message}", exc.span,
                                hint="检查此处的表达式遇到的取值（check the expression at this place for the values it met）")],
                    _diagnostics_format(args))
    except KeyboardInterrupt:
        print("\nqrules: interrupted; no output file was changed（已中断，输出文件未改动）", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a full disk, a folder removed meanwhile: the old output is kept
        if args.debug:
            raise
        return fail([Diagnostic("QR007", f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
                                + "（读写文件失败）", hint="检查输出路径、磁盘空间和文件夹权限；原输出文件未改动（check the output path, the free "
                                "space and the folder's permissions; the previous output file is kept）")], _diagnostics_format(args))
    except Exception as exc:  # noqa: BLE001 - last resort: no traceback for users
        if args.debug:
            raise
        print(f"qrules: internal error: {type(exc).__name__}: {exc}\n"
              "rerun with --debug and report the traceback（请加 --debug 重新运行并反馈）", file=sys.stderr)
        return EXIT_ERRORS
    finally:
        rulesets_dirs.reset(token)
        require_in_force.reset(strict)


if __name__ == "__main__":
    sys.exit(main())
