"""qrules render: the resolved ruleset as a document for people, article by article."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qrules.cli import main
from qrules.render import article_key, class_score_ranges, render_markdown
from qrules.versioned import load

ROOT = Path(__file__).resolve().parents[1]
GUANGDONG = ROOT / "rulesets" / "guangdong-2021.yaml"
HAOJIANG = ROOT / "rulesets" / "haojiang-2023.yaml"


@pytest.fixture(scope="module")
def gd() -> str:
    return render_markdown(load(GUANGDONG))


@pytest.fixture(scope="module")
def hj() -> str:
    return render_markdown(load(HAOJIANG))


@pytest.mark.parametrize("cite, key, head", [
    ("第二条", (2,), "第二条"),
    ("第十一条第（一）项", (11,), "第十一条"),
    ("第二十六条第一款", (26,), "第二十六条"),
    ("第三十六条", (36,), "第三十六条"),
    ("五(三)", (1005, 3), "五(三)"),
    ("一(一)", (1001, 1), "一(一)"),
    (None, (10_000,), "其他（无条款）"),
])
def test_article_key(cite, key, head):
    assert article_key(cite) == (key, head)


def test_articles_in_article_order(gd):
    heads = re.findall(r"^## (第.+条)$", gd, flags=re.M)
    numbers = [article_key(h)[0][0] for h in heads]
    assert numbers == sorted(numbers)
    for art in ("第二条", "第七条", "第八条", "第十一条", "第十二条", "第十四条", "第十五条", "第十八条", "第二十六条",
                "第二十七条", "第三十六条"):
        assert f"## {art}" in gd


def test_items_table_has_every_item_with_points_and_provisional_marks(gd):
    model = load(GUANGDONG).model
    for code, item in model.items.items():
        row = next(line for line in gd.splitlines() if line.startswith(f"| {code} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[3] == f"{item.points.normalize():f}"
        assert cells[4] == f"{item.intentional.normalize():f}"
        assert cells[6] == ("暂定" if item.provisional else "")
        assert "guangdong-2021.yaml:" in cells[8]


def test_art26_classes_are_shown_as_score_ranges(gd):
    assert "| A | A类 | `score >= 12` | [12, +∞) |" in gd
    assert "| B | B类 | `6 < score < 12` | (6, 12) |" in gd
    assert "| C | C类 | `0 < score <= 6` | (0, 6] |" in gd
    assert "| D | D类 | `score <= 0` | (-∞, 0] |" in gd


def test_class_score_ranges_follow_the_thresholds(tmp_path):
    text = GUANGDONG.read_text(encoding="utf-8")
    text = text.replace('B: {when: "6 < score < 12"', 'B: {when: "8 < score < 12"')
    text = text.replace('C: {when: "0 < score <= 6"', 'C: {when: "0 < score <= 8"')
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    assert class_score_ranges(load(path)) == {"D": ["(-∞, 0]"], "C": ["(0, 8]"], "B": ["(8, 12)"], "A": ["[12, +∞)"]}


def test_parameters_measures_validity_and_out_of_scope(gd):
    assert "**参数 统计周期**（`window`）= `36 months`" in gd
    assert "自 2021-06-05 起施行，至 2026-06-04 止" in gd
    assert "| C | 重点监管 key supervision | 橙色监管警示 | 每年 2 次以上 |" in gd
    assert "## 未编码为计算的条款 Out of scope" in gd and "- 第三十五条：解释权" in gd
    assert "23 项" in gd or "provisional" in gd


def test_provenance_of_a_child_ruleset(hj):
    # overridden by the district plan, inherited from the province, added by the district plan
    assert re.search(r"汕头市濠江区（行政区划代码 440512）.*本文件覆盖 overridden in `haojiang-2023\.yaml:\d+`", hj)
    assert re.search(r"\*\*参数 统计周期\*\*.*继承自 inherited from `guangdong-2021\.yaml:\d+`", hj)
    assert re.search(r"`district`：汕头市濠江区市场监督管理局（本文件新增 added in `haojiang-2023\.yaml:\d+`）", hj)
    # the district plan's own sections first, then the provincial articles it inherits
    assert hj.index("### 一(一)") < hj.index("### 第七条")
    assert "`haojiang-2023.yaml` → `guangdong-2021.yaml`" in hj


def test_three_level_chain_names_the_file_that_set_each_value(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(f"""
qrules: 1
ruleset: haojiang-draft
extends: {HAOJIANG.as_posix()}
version: "2026.0"
title: 濠江区方案修订稿
parameters:
  window: {{value: "24 months"}}
""", encoding="utf-8")
    text = render_markdown(load(child))
    assert re.search(r"\*\*参数 统计周期\*\*（`window`）= `24 months`.*本文件覆盖 overridden in `child\.yaml:\d+`", text)
    assert re.search(r"汕头市濠江区（行政区划代码 440512）.*继承自 inherited from `haojiang-2023\.yaml:\d+`", text)


def test_no_relative_links(gd, hj):
    for text in (gd, hj):
        assert not re.search(r"\]\((?!https?://)", text)


def test_cli_render_stdout_and_output(capsys, tmp_path):
    assert main(["render", str(GUANGDONG)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 广东省市场监督管理局产品质量信用分类监管规范")
    target = tmp_path / "hj.md"
    assert main(["render", str(HAOJIANG), "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("# 汕头市濠江区")
    assert capsys.readouterr().out == ""


def test_cli_render_reports_ruleset_errors(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GUANGDONG.read_text(encoding="utf-8").replace('"score >= 12"', '"scroe >= 12"'), encoding="utf-8")
    assert main(["render", str(bad)]) == 1
    assert "scroe" in capsys.readouterr().err


def test_cli_render_reports_every_problem_of_a_broken_ruleset_at_once_as_check_does(capsys, tmp_path):
    """A schema error (window.counts not a text) does not hide B's 'scroe': render says both, at the
    places check says them (the partial check), and writes nothing."""
    bad = tmp_path / "two.yaml"
    bad.write_text(GUANGDONG.read_text(encoding="utf-8")
                   .replace('counts: "as_of - window < entry.date <= as_of"', "counts: [1]")
                   .replace('B: {when: "6 < score < 12"', 'B: {when: "6 < scroe < 12"'), encoding="utf-8")

    def heads(err):  # file:line:col: error[QRnnn] of each diagnostic
        return re.findall(r"^(\S+:\d+:\d+: error\[QR\d+\])", err, flags=re.M)
    assert main(["check", str(bad)]) == 1
    checked = heads(capsys.readouterr().err)
    assert [h[-6:-1] for h in checked] == ["QR301", "QR201"]
    target = tmp_path / "two.md"
    assert main(["render", str(bad), "-o", str(target)]) == 1
    assert heads(capsys.readouterr().err) == checked and not target.exists()


@pytest.mark.skipif(shutil.which("mkdocs") is None and not (Path(sys.executable).parent / "mkdocs").exists(),
                    reason="mkdocs not installed")
def test_rendered_rulesets_build_with_mkdocs_strict(tmp_path, gd, hj):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# qrules\n", encoding="utf-8")
    (docs / "guangdong-2021.md").write_text(gd, encoding="utf-8")
    (docs / "haojiang-2023.md").write_text(hj, encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\nnav:\n  - index.md\n  - guangdong-2021.md\n"
                                         "  - haojiang-2023.md\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir",
                           str(tmp_path / "site")], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "site" / "guangdong-2021" / "index.html").read_text(encoding="utf-8")
    assert "<table>" in html and "<li><code>province</code>" in html
