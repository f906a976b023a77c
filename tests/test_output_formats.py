"""An output path whose extension names a format the command cannot write is refused (QR008):
located at the path, the formats it can write listed, exit 1, no traceback, nothing written.
``qrules batch -o x.xlsx`` used to write JSON Lines under a spreadsheet's name."""

from __future__ import annotations

import argparse
import json

import pytest

from conftest import GUANGDONG, HAOJIANG, ROOT
from qrules.cli import build_parser, main
from qrules.outfile import refused_outputs

HISTORY = str(ROOT / "examples" / "haojiang-history.yaml")
GD, HJ = str(GUANGDONG), str(HAOJIANG)
AS_OF = ["--as-of", "2025-12-31"]

#: Every command taking -o/--output, with arguments that would otherwise run it.
COMMANDS = {
    "check": ["check", HJ],
    "show": ["show", HJ],
    "evaluate": ["evaluate", HJ, HISTORY, *AS_OF],
    "explain": ["explain", HJ, HISTORY, "hh", *AS_OF],
    "schema": ["schema", "history"],
    "test": ["test", str(ROOT / "rulesets" / "tests" / "gd-classes.yaml")],
    "diff": ["diff", GD, HJ],
    "impact": ["impact", GD, HJ, HISTORY, *AS_OF],
    "render": ["render", HJ],
    "deadlines": ["deadlines", HJ, HISTORY, *AS_OF],
    "plan": ["plan", HJ, HISTORY, "--year", "2025"],
    "batch": ["batch", HJ, HISTORY, *AS_OF, "-j", "1"],
    "synth": ["synth", "-n", "3"],
    "serve": ["serve", "--port", "0"],  # parsed only: accepted, it would start serving
}


def test_every_command_with_an_output_path_is_covered():
    parser = build_parser(None)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    with_output = {name for name, p in sub.choices.items() if any("--output" in a.option_strings for a in p._actions)}
    assert with_output == set(COMMANDS)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "serve"])
def test_an_xlsx_output_is_refused_with_the_formats_the_command_writes(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(COMMANDS[command] + ["-o", "out.xlsx"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    said = f"--output out.xlsx: qrules {command} cannot write '.xlsx' files; it writes ."
    if captured.out:  # a command whose --format is JSON (schema) or JSON Lines (synth) says it as JSON
        (diag,) = json.loads(captured.out)["diagnostics"]
        assert (diag["code"], diag["file"]) == ("QR008", "out.xlsx") and diag["message"].startswith(said)
        assert diag["hint"].startswith("把文件扩展名改为 .")
    else:
        assert captured.err.startswith(f"out.xlsx: error[QR008]: 输出文件的扩展名与写出的格式不符（本命令不能写这种格式，或与 --format 不一致）：{said}")
        assert "把文件扩展名改为 ." in captured.err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


def test_serve_refuses_an_xlsx_output_before_it_starts():
    parser = build_parser(["serve"])
    args = parser.parse_args(COMMANDS["serve"] + ["-o", "out.xlsx"])
    (diag,) = refused_outputs(parser, args)
    assert diag.code == "QR008" and diag.span.file == "out.xlsx" and ".json" in diag.message


def test_batch_xlsx_says_csv_opens_in_excel(tmp_path, capsys):
    assert main(COMMANDS["batch"] + ["-o", str(tmp_path / "结果.xlsx")]) == 1
    err = capsys.readouterr().err
    assert "it writes .parquet, .csv, .jsonl, .ndjson" in err
    assert "需要 Excel 表格时写 .csv 文件，Excel 可直接打开" in err and not (tmp_path / "结果.xlsx").exists()


@pytest.mark.parametrize("extra, said", [
    (["--rejections", "rej.xlsx"], "--rejections rej.xlsx: qrules batch cannot write '.xlsx' files; it writes .csv"),
    (["--summary-json", "summary.yaml"], "--summary-json summary.yaml: qrules batch cannot write '.yaml' files; "
                                         "it writes .json"),
    (["-o", "rows.parquet", "--format", "csv"], "--output rows.parquet: '.parquet' names parquet, but the output "
                                                "format is csv (--format)"),
])
def test_batch_refuses_every_output_it_cannot_write(extra, said, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(COMMANDS["batch"] + extra) == 1
    assert said in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_evaluate_at_scale_refuses_what_batch_cannot_write(tmp_path, monkeypatch, capsys):
    # -j hands over to batch, which writes Parquet, CSV or JSON Lines only (a .txt was JSON Lines)
    monkeypatch.chdir(tmp_path)
    assert main(COMMANDS["evaluate"] + ["-j", "1", "-o", "rows.txt"]) == 1
    assert ("rows.txt: error[QR008]: 输出文件的扩展名与写出的格式不符（本命令不能写这种格式，或与 --format 不一致）：--output rows.txt: qrules evaluate at scale "
            "cannot write '.txt' files; it writes .parquet, .csv, .jsonl, .ndjson") in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_refusal_is_json_with_format_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check", HJ, "--format", "json", "-o", "report.pdf"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert [(d["code"], d["file"]) for d in data["diagnostics"]] == [("QR008", "report.pdf")]


@pytest.mark.parametrize("argv, name", [
    (["batch", HJ, HISTORY, *AS_OF, "-j", "1"], "rows.csv"),
    (["batch", HJ, HISTORY, *AS_OF, "-j", "1", "--format", "jsonl"], "rows"),  # no extension: as --format says
    (["check", HJ, "--format", "json"], "report.json"),
    (["render", HJ], "haojiang.md"),
    (["synth", "-n", "3"], "corpus.jsonl"),
])
def test_extensions_the_command_writes_are_accepted(argv, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv + ["-o", name]) in (0, 1)  # 1: the example history's planted bad records
    assert (tmp_path / name).is_file()


@pytest.mark.parametrize("argv, name, named, fmt", [
    (COMMANDS["evaluate"], "结果.csv", "csv", "table"),      # a table under a spreadsheet's name
    (COMMANDS["evaluate"] + ["--format", "csv"], "r.json", "json", "csv"),
    (COMMANDS["diff"], "diff.md", "markdown", "text"),
    (COMMANDS["check"], "report.json", "json", "text"),
    (COMMANDS["deadlines"] + ["--format", "json"], "clocks.csv", "csv", "json"),
])
def test_an_extension_naming_another_format_than_format_is_refused(argv, name, named, fmt, tmp_path, monkeypatch,
                                                                    capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv + ["-o", name]) == 1
    captured = capsys.readouterr()
    ext = "." + name.rsplit(".", 1)[1]
    said = f"--output {name}: '{ext}' names {named}, but the output format is {fmt}"
    assert said in captured.err + captured.out and f"用 --format {named}" in captured.err + captured.out
    assert list(tmp_path.iterdir()) == []


def test_evaluate_at_scale_still_takes_its_format_from_the_extension(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(COMMANDS["evaluate"] + ["-j", "1", "-o", "rows.csv"]) == 1  # 1: the planted bad records
    assert (tmp_path / "rows.csv").read_bytes().startswith(b"\xef\xbb\xbfid,")


@pytest.mark.parametrize("fmt, name", [("csv", "corpus.csv"), ("parquet", "corpus.parquet"), ("csv", "corpus.xlsx")])
def test_synth_tables_are_a_folder_never_named_as_one_file(fmt, name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["synth", "-n", "3", "--format", fmt, "-o", name]) == 1
    assert (f"{name}: error[QR008]: 输出文件的扩展名与写出的格式不符（本命令不能写这种格式，或与 --format 不一致）："
            f"--output {name}: qrules synth --format {fmt} writes a folder of files") in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert main(["synth", "-n", "3", "--format", fmt, "-o", "corpus"]) == 0
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == [f"events.{fmt}", f"subjects.{fmt}"]
