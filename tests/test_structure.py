"""Structure as data: no regulation in Python, citations from the ruleset, inherited articles kept."""

from __future__ import annotations

import ast
import re

from conftest import ROOT, d, ded, operator, product

ENGINE = ROOT / "qrules" / "engine"
ARTICLE = re.compile(r"第[一二三四五六七八九十百零〇\d]+条")


def _engine_strings() -> list[tuple[str, int, str]]:
    """Every string constant of the engine's modules except docstrings (f-string parts included)."""
    out = []
    for path in sorted(ENGINE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    docs.add(id(first.value))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                out.append((path.name, node.lineno, node.value))
    return out


def test_engine_strings_cite_no_article():
    """Every citation in a rejection, explanation or warning comes from the ruleset."""
    found = [f"{f}:{line}: {text!r}" for f, line, text in _engine_strings() if ARTICLE.search(text)]
    assert found == []


def test_engine_strings_hold_no_parameter_value(gd):
    """Every number in an explanation comes from the ruleset's parameters and durations."""
    values = set()
    for p in gd.model.parameters.values():
        values |= set(re.findall(r"\d+", p.value))
    values |= {str(gd.lock_duration.amount)} | {str(x.amount) for x in gd.deadline_durations.values()}
    values -= {"0", "1"}
    found = []
    for f, line, text in _engine_strings():
        numbers = set(re.findall(r"\d+", re.sub(r"QR\d+", "", text)))
        if numbers & values:
            found.append(f"{f}:{line}: {text!r}")
    assert values >= {"12", "36", "180", "2", "3"} and found == []


def test_the_test_above_can_fail():
    """The scan sees f-string parts: a literal article in one would be caught."""
    tree = ast.parse('x = f"超出（第十条）{y}"')
    parts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert any(ARTICLE.search(p) for p in parts)


# -- a child re-citing a section does not re-cite what it inherits ---------------------------------
def test_art36_expiry_warning_of_haojiang_cites_the_provincial_article(run, hj):
    """Haojiang sets in_force.cite 五(三) for its own start date; the end date is the province's (第三十六条)."""
    r = run([operator("op1", 1)], [], "2026-07-01", ruleset=hj)
    (warning,) = [w for w in r.warnings if "expired" in w]
    assert "第三十六条" in warning and "五(三)" not in warning


def test_art19_records_warning_of_haojiang_cites_the_provincial_article(run, hj):
    """Haojiang re-cites authorities (一(三)) for its units; the records split stays 第十九条第二款."""
    events = [ded("e1", "11.4", "2024-03-01", ["p1"], recorded_by="province")]
    r = run([operator("op1", 1), product("p1", "op1")], events, "2024-06-01", ruleset=hj)
    (warning,) = [w for w in r.warnings if "e1" in w]
    assert "第十九条第二款" in warning and "一(三)" not in warning


def test_render_of_a_child_keeps_every_inherited_article(gd, hj):
    from qrules.render import render_markdown

    pattern = r"第[一二三四五六七八九十]+条(?:第[一二三四五六七八九十]+款)?(?:第（[一二三四五六七八九十]+）项)?"
    parent = set(re.findall(pattern, render_markdown(gd)))
    kid = set(re.findall(pattern, render_markdown(hj)))
    assert {"第三十六条", "第十九条第二款", "第二条"} <= parent
    assert parent - kid == set()


def test_citations_follow_a_renumbered_table(run, child):
    """The engine's own rejections cite the ruleset's citation table."""
    c = child("citations:\n  items: 第十三条\n")
    r = run([operator("op1", 1)], [ded("e1", "99.9", "2024-03-01", ["op1"])], "2024-06-01", ruleset=c,
            allow_invalid=True)
    assert [(x.event, x.code, x.cite) for x in r.rejected] == [("e1", "QR601", "第十三条")]


def test_art10_producer_rule_own_scores_the_producer_on_its_own_entries(run, child):
    """composition.producer.rule: own — the producer is not the lowest of its products (what-if)."""
    c = child("composition:\n  producer: {rule: own}\n")
    subjects = [operator("op1", 1), product("p1", "op1")]
    # 11.1 (not intentional) links nothing to the producer (第十二条第（二）项 needs intent).
    r = run(subjects, [ded("e1", "11.1", "2024-03-01", ["p1"])], d("2024-06-01"), ruleset=c)
    op = next(s for s in r.subjects if s.id == "op1")
    assert op.scored is False and op.determined_by is None  # 12 − 3 on p1 only; no own entry
    r = run(subjects, [ded("e1", "11.1", "2024-03-01", ["p1"])], d("2024-06-01"))
    assert next(s for s in r.subjects if s.id == "op1").score == 9  # 第十条 as written: the lowest product


def test_explanation_numbers_come_from_the_ruleset(run, child):
    """A 200-day dedup period and a 2-year D lock: the explanation says 200日 and 2年."""
    from qrules.engine.explain import explain_subject

    c = child('parameters:\n  spot_check_dedup: {value: "200 days"}\nadjustment:\n  lock: {duration: "2 years"}\n')
    events = [ded("e1", "11.9", "2023-01-10", ["p1"]), ded("e2", "11.1", "2023-02-10", ["p1"]),
              ded("e3", "11.1", "2023-07-20", ["p1"])]
    r = run([operator("op1", 1), product("p1", "op1")], events, "2024-03-01", ruleset=c)
    text = explain_subject(r, r.subject("p1"), c)
    assert "200日内只记一次" in text and "起2年" in text and "180" not in text and "3年" not in text


def test_explain_without_the_ruleset_adds_no_article(run, gd):
    from qrules.engine.explain import explain_subject

    r = run([operator("op1", 1)], [], "2024-06-01")
    text = explain_subject(r, r.subject("op1"))
    assert "第二十六条" not in text and "O类（" not in text  # the measures' own cite is in the result itself
