"""docs/language.md shows only syntax that works: its examples are executed here."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import yaml

from conftest import ROOT
from qrules.errors import Diagnostics, SourceMap
from qrules.language import compile_expression, parse_literal_value
from qrules.ruleset import SCOPES
from qrules.language.types import DATE, NUMBER, STRING, ListType
from qrules.workdays import WorkdayCalendar

PAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
SMAP = SourceMap.at("docs/language.md", 1, 1)
CODE = re.compile(r"`([^`\n]+)`")
INLINE = re.sub(r"```.*?```", "", PAGE, flags=re.S)  # prose and tables, without the fenced blocks


def _compile(text: str, scope: dict, **kw):
    diags = Diagnostics()
    return compile_expression(text, SMAP, scope, diags, calendar=WorkdayCalendar(), **kw), diags


def _section(title: str) -> str:
    start = PAGE.index(title)
    end = PAGE.find("\n## ", start + 1)
    return PAGE[start:end if end != -1 else None]


def _rows(section: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("| ") and not line.startswith("| ---")]


def test_the_yaml_example_compiles_in_its_scopes():
    block = PAGE.split("```yaml\n", 1)[1].split("```", 1)[0]
    data = yaml.safe_load(block)
    for cls in data["classes"].values():
        expr, diags = _compile(cls["when"], SCOPES["classes.when"])
        assert expr is not None, diags.items
    for cond in data["repair"]["conditions"]:
        assert _compile(cond["when"], SCOPES["repair.conditions.when"])[0] is not None
    assert _compile(data["repair"]["ratio"]["value"], SCOPES["repair.ratio.value"])[0] is not None


def test_every_literal_example_is_a_value():
    rows = _rows(_section("Literals:"))
    examples = [code for kind, cell, _ in rows[1:] for code in CODE.findall(cell)]
    assert len(examples) >= 15
    for text in examples:
        diags = Diagnostics()
        assert parse_literal_value(text, SMAP, diags) is not None, (text, diags.items)


def test_month_end_table_evaluates_as_written():
    rows = _rows(_section("## Dates and the month-end rule"))[1:]
    assert len(rows) == 5
    for expr_cell, result_cell in rows:
        got = parse_literal_value(CODE.findall(expr_cell)[0], SMAP, Diagnostics())
        assert got is not None and got[0] == dt.date.fromisoformat(CODE.findall(result_cell)[0]), expr_cell


def test_every_constant_comparison_on_the_page_holds():
    """`3 years == 36 months`, `round(2.5) == 3`, `0.1 + 0.2 == 0.3`...: evaluated, all true."""
    checked = 0
    for text in set(CODE.findall(INLINE)):
        if not re.search(r"==|<|>", text) or re.search(r"[A-Za-z_]\w*\s*\.", text):
            continue
        diags = Diagnostics()
        got = parse_literal_value(text, SMAP, diags)
        if got is None or got[0] is not True and got[0] is not False:
            continue  # not a constant comparison (names, or an error example)
        assert got[0] is True, text
        checked += 1
    assert checked >= 6


def test_aggregation_examples_check_in_the_reward_scope_and_run():
    block = _section("## Functions").split("```\n", 1)[1].split("```", 1)[0]
    lines = [x for x in block.splitlines() if x.strip()]
    guard = [c for c in CODE.findall(re.sub(r"```.*?```", "", _section("## Functions"), flags=re.S))
             if c.startswith("count(c for c in spot_checks if c.failed) == 0 or")]
    assert len(lines) == 5 and len(guard) == 1
    env = {"as_of": dt.date(2024, 3, 1), "deductions": [], "repairs": [], "rewards": [],
           "spot_checks": [{"date": dt.date(2023, 1, 1), "failed": False, "passed": True}]}
    for text in lines[:3] + lines[4:] + guard:
        expr, diags = _compile(text, SCOPES["rewards.rules.when"])
        assert expr is not None, (text, diags.items)
        expr(env)  # runs on an empty and a one-item collection
    with pytest.raises(Exception):
        _compile(lines[3], SCOPES["rewards.rules.when"])[0](env)  # max of an empty list: the guard's reason


@pytest.mark.parametrize("row", [r for r in _rows(_section("## Error codes"))[1:]
                                 if CODE.findall(r[2]) and "..." not in r[2]],
                         ids=lambda r: r[0])
def test_each_error_example_gives_its_code(row):
    code, _, example_cell, _ = row
    text = CODE.findall(example_cell)[0]
    scope = {"score": NUMBER, "as_of": DATE, "xs": ListType(NUMBER), "name": STRING,
             "deduction": SCOPES["repair.conditions.when"]["deduction"]}
    diags = Diagnostics()
    compile_expression(text, SMAP, scope, diags)  # no calendar: QR206 needs its absence
    assert code in {d.code for d in diags.items}, (text, diags.items)


def test_decimal_examples_are_exact():
    assert parse_literal_value("1 / 3", SMAP, Diagnostics())[0] == Decimal("0.3333333333333333333333333333")
