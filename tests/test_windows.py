"""Chinese Windows and Excel (issue 9, item 1): a GBK console never crashes the CLI, CSV files
carry a UTF-8 byte-order mark, and a Windows path is never read as a git ``REV:path``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from conftest import GUANGDONG, HAOJIANG, ROOT, ded, operator, product
from qrules.cli import main

HISTORY = ROOT / "examples" / "haojiang-history.yaml"


def run_gbk(*args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="gbk")
    return subprocess.run([sys.executable, "-m", "qrules.cli", *args], stdout=stdout, stderr=subprocess.PIPE,
                          env=env, cwd=ROOT, timeout=120)


def test_explain_on_a_gbk_console_prints_lookalikes_instead_of_crashing():
    # hh has a reward over the cap, marked with "✗", which GBK cannot encode.
    proc = run_gbk("explain", str(HAOJIANG), str(HISTORY), "hh", "--as-of", "2025-12-31")
    assert proc.returncode == 1, proc.stderr.decode("gbk", "replace")  # the example's two refused records
    out = proc.stdout.decode("gbk")  # the whole output is valid GBK
    assert "× +1 奖励" in out and "超出奖励上限" in out


def test_errors_and_unencodable_names_on_a_gbk_console(tmp_path):
    history = tmp_path / "h.yaml"
    history.write_text("subjects:\n  - {id: p1, kind: product, brand: 𠀀牌✓, nice_class: 28, category: 玩具,"
                       " bogus: 1}\nevents: []\n", encoding="utf-8")
    proc = run_gbk("evaluate", str(GUANGDONG), str(history), "--as-of", "2025-12-31")
    err = proc.stderr.decode("gbk")
    assert proc.returncode == 1 and "internal error" not in err
    assert "error[QR501]" in err and "bogus" in err


def test_gbk_output_redirected_to_a_file(tmp_path):
    target = tmp_path / "out.txt"
    with target.open("wb") as fh:
        proc = run_gbk("explain", str(HAOJIANG), str(HISTORY), "kd", "--as-of", "2025-12-31", stdout=fh)
    assert proc.returncode == 1  # the example's two refused records
    assert "× 事项 kd-d1" in target.read_bytes().decode("gbk")


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"subjects": [operator("op1", 1, name="某某玩具有限公司"), product("p1", "op1")],
                                "events": [ded("e1", "11.1", "2023-03-01", ["p1"])]}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def test_evaluate_csv_file_starts_with_a_utf8_bom_for_excel(small, tmp_path):
    out = tmp_path / "结果.csv"
    assert main(["evaluate", str(GUANGDONG), str(small), "--as-of", "2023-07-01", "--format", "csv",
                 "-o", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,kind,name")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["name"] == "某某玩具有限公司"


def test_csv_on_a_pipe_has_no_bom(small, capsys):
    assert main(["evaluate", str(GUANGDONG), str(small), "--as-of", "2023-07-01", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("id,kind,name")


def test_csv_redirected_to_a_file_gets_the_bom(small, tmp_path):
    target = tmp_path / "r.csv"
    with target.open("wb") as fh:
        subprocess.run([sys.executable, "-m", "qrules.cli", "evaluate", str(GUANGDONG), str(small),
                        "--as-of", "2023-07-01", "--format", "csv"], stdout=fh, check=True, cwd=ROOT, timeout=120)
    assert target.read_bytes().startswith(b"\xef\xbb\xbfid,")


def test_deadlines_and_batch_csv_files_have_the_bom(small, tmp_path):
    out, rej = tmp_path / "d.csv", tmp_path / "b.csv"
    assert main(["deadlines", str(GUANGDONG), str(small), "--as-of", "2023-07-01", "--format", "csv",
                 "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert main(["batch", str(GUANGDONG), str(small), "--as-of", "2023-07-01", "-j", "0", "-o", str(rej)]) == 0
    assert rej.read_bytes().startswith(b"\xef\xbb\xbfid,")


def test_synth_csv_files_have_the_bom_and_load_back(tmp_path):
    assert main(["synth", "-n", "20", "--format", "csv", "-o", str(tmp_path / "corpus")]) == 0
    assert (tmp_path / "corpus" / "events.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    from qrules.batch import load_any

    loaded = load_any(str(tmp_path / "corpus"))  # the BOM is not read into the first column's name
    assert loaded.history.subjects[0].id == "o1" and loaded.history.events


@pytest.mark.parametrize("path", [r"C:\rulesets\x.yaml", "D:/rulesets/x.yaml", r"c:\规则\广东.yaml"])
def test_a_windows_path_is_a_file_not_a_git_revision(path, capsys):
    assert main(["check", path]) == 1
    err = capsys.readouterr().err
    assert "error[QR001]" in err and "git" not in err


def test_rev_path_is_still_read_from_git(capsys):
    assert main(["check", "HEAD:rulesets/guangdong-2021.yaml"]) == 0
    assert "HEAD:rulesets/guangdong-2021.yaml: ok" in capsys.readouterr().out
