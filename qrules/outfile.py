"""Which file formats a command writes, told by the output path's extension (QR008).

Before any input is read, ``cli.main`` asks :func:`refused_outputs` about every output path on the
command line (``evaluate`` also :func:`evaluate_output`, or :func:`batch_outputs` at scale) and reports
them together with the paths that cannot be written at all (QR007); ``batch`` asks
:func:`batch_outputs` again when another command hands over to it. A
path whose extension names a format the command cannot write (``batch -o x.xlsx``, ``render -o
x.pdf``) is refused with the formats it can write, and so is one naming another of its formats than
``--format`` (``evaluate -o x.csv`` with the table format): nothing is ever written in a format its
name does not say. A path without an extension, or ``.txt``, is written as ``--format`` says; ``-``
is standard output.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from .errors import Diagnostic, Span

CODES: dict[str, str] = {
    "QR008": "an output file's extension names a format the command cannot write (batch -o x.xlsx), or another "
             "of its formats than --format (evaluate -o x.csv with the table format)",
}

#: ``--format`` value -> the extensions a file written in it may have (text of any kind may be .txt).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "text": (".txt", ".log"), "table": (".txt", ".log"), "markdown": (".md", ".markdown", ".txt"),
    "json": (".json", ".txt"), "jsonl": (".jsonl", ".ndjson"), "csv": (".csv",), "parquet": (".parquet",),
}
#: How each extension's format is named to people.
NAMES: dict[str, str] = {
    ".txt": "文本 text", ".log": "文本 text", ".md": "Markdown", ".markdown": "Markdown", ".json": "JSON",
    ".jsonl": "JSON Lines", ".ndjson": "JSON Lines", ".csv": "CSV 表格", ".parquet": "Parquet",
}
#: batch writes the format its --output extension names; --rejections is CSV, --summary-json JSON.
BATCH_FORMATS = ("parquet", "csv", "jsonl")
_SPREADSHEETS = (".xlsx", ".xls", ".xlsm", ".ods", ".et")


def writable(formats: Sequence[str], command: str = "") -> list[str]:
    """The extensions a command writing ``formats`` (its --format choices) can give a file."""
    out = [ext for f in formats for ext in EXTENSIONS.get(f, ())]
    if command == "evaluate":  # a .parquet output hands over to batch (docs/batch.md)
        out.append(".parquet")
    return list(dict.fromkeys(out))


def refused(command: str, option: str, path: str | None, can: Sequence[str], fmt: str | None = None,
            fixed: dict[str, str] | None = None) -> Diagnostic | None:
    """QR008 when ``path``'s extension is not one of ``can``; with ``fixed`` (extension -> format, for a
    command whose extension chooses the format) also when it names another format than ``fmt``."""
    if not isinstance(path, str) or path == "-":
        return None
    ext = Path(path).suffix.lower()
    if not ext:
        return None  # written as --format says
    listed = "、".join(f"{e}（{NAMES.get(e, e)}）" for e in can)
    if ext not in can:
        problem = f"{option} {path}: qrules {command} cannot write '{ext}' files; it writes {', '.join(can)}"
        hint = f"把文件扩展名改为 {listed}（name the file with one of these extensions）"
        if ext in _SPREADSHEETS and ".csv" in can:
            hint = "需要 Excel 表格时写 .csv 文件，Excel 可直接打开（for Excel, write a .csv file）；" + hint
        return Diagnostic("QR008", problem, Span(path, 0, 0), hint=hint)
    named = (fixed or {}).get(ext)
    if fmt and named and named != fmt:
        other = EXTENSIONS[fmt][0]
        return Diagnostic("QR008", f"{option} {path}: '{ext}' names {named}, but the output format is {fmt} (--format)",
                          Span(path, 0, 0), hint=f"用 --format {named}，或把扩展名改为 {other}"
                                                 f"（use --format {named}, or name the file {other}）")
    return None


def named(formats: Sequence[str]) -> dict[str, str]:
    """Extension -> format for the extensions that name one of ``formats`` (``.txt`` names none)."""
    return {ext: f for f in formats for ext in EXTENSIONS.get(f, ()) if ext not in (".txt", ".log")}


def evaluate_output(args: argparse.Namespace) -> list[Diagnostic]:
    """``evaluate -o x.csv`` with the table format (not at scale, where the extension chooses): refused."""
    formats = ("table", "json", "csv", "jsonl")
    found = refused("evaluate", "--output", args.output, writable(formats, "evaluate"), args.format, named(formats))
    return [found] if found else []


def _folder(command: str, path: str | None, fmt: str) -> list[Diagnostic]:
    """A folder of files (``synth --format csv``) named like one file (``corpus.csv``, ``x.xlsx``): refused."""
    ext = Path(path).suffix.lower() if isinstance(path, str) and path != "-" else ""
    if ext not in NAMES and ext not in _SPREADSHEETS:
        return []
    return [Diagnostic("QR008", f"--output {path}: qrules {command} --format {fmt} writes a folder of files "
                                f"(subjects{EXTENSIONS[fmt][0]}, events{EXTENSIONS[fmt][0]}), not one '{ext}' file",
                       Span(path, 0, 0), hint=f"给出文件夹名称（不带扩展名），如 corpus；要一个文件请用 --format jsonl"
                                              f"（name a folder, e.g. corpus; for one file use --format jsonl）")]


def batch_outputs(args: argparse.Namespace, command: str = "batch") -> list[Diagnostic]:
    """The output paths of ``batch`` (or of ``evaluate`` handing over to it) it cannot write."""
    found = [refused(command, "--output", getattr(args, "output", None), writable(BATCH_FORMATS),
                     getattr(args, "format", None), named(BATCH_FORMATS)),
             refused(command, "--rejections", getattr(args, "rejections", None), EXTENSIONS["csv"]),
             refused(command, "--summary-json", getattr(args, "summary_json", None), (".json",))]
    return [d for d in found if d is not None]


def refused_outputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Diagnostic]:
    """Every output path on the command line the command cannot write, from its --format choices."""
    command = getattr(args, "command", None) or ""
    if command == "batch":
        return batch_outputs(args)
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    own = sub.choices.get(command) if sub is not None else None
    formats = next((a.choices for a in (own._actions if own is not None else ())
                    if "--format" in a.option_strings and a.choices), None)
    if not formats:
        return []
    if command == "synth":  # csv and parquet are written as a folder of files; jsonl as one file
        out = getattr(args, "out", None)
        if args.format != "jsonl":
            return _folder(command, out, args.format)
        found = refused(command, "--output", out, EXTENSIONS["jsonl"])
        return [found] if found else []
    # evaluate's extension also chooses the format at scale: its mismatch is judged by cli._output_problems
    fixed = named(formats) if command != "evaluate" else None
    found = refused(command, "--output", getattr(args, "output", None), writable(formats, command),
                    getattr(args, "format", None), fixed)
    return [found] if found else []


__all__ = ["CODES", "EXTENSIONS", "batch_outputs", "evaluate_output", "named", "refused", "refused_outputs",
           "writable"]
