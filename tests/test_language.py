"""The expression language: every construct, every error code, limits and invariants.

Tables are ``(expression, environment, expected)``; error messages are asserted exactly,
as users see them.
"""

from __future__ import annotations

import calendar as pycalendar
import re
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qrules.language import check, parser
from qrules.errors import Diagnostics, SourceMap, register_source, render
from qrules.language import CompiledExpr, compile_expression, parse_literal_value, type_of_value
from qrules.language.runtime import Duration, EvaluationError, add_months, shift
from qrules.language.types import ANY, BOOL, DATE, DURATION, NUMBER, STRING, ListType, RecordType

DEDUCTION = RecordType("deduction", {"points": NUMBER, "counted": BOOL, "intentional": BOOL,
                                     "date": DATE, "item": STRING})
SPOT_CHECK = RecordType("spot_check", {"passed": BOOL, "date": DATE})
SUBJECT = RecordType("subject", {"name": STRING, "filed": BOOL, "deduction": DEDUCTION})
SCOPE = {
    "score": NUMBER, "分数": NUMBER, "as_of": DATE, "start": DATE, "name": STRING, "flag": BOOL,
    "window": DURATION, "xs": ListType(NUMBER), "tags": ListType(STRING), "flags": ListType(BOOL),
    "deductions": ListType(DEDUCTION), "spot_checks": ListType(SPOT_CHECK), "deduction": DEDUCTION,
    "operator": SUBJECT, "anything": ANY,
}
DEDUCTIONS = [
    {"points": D(-3), "counted": True, "intentional": False, "date": date(2023, 3, 1), "item": "11.1"},
    {"points": D(-6), "counted": True, "intentional": True, "date": date(2023, 6, 1), "item": "11.2"},
    {"points": D("-1.5"), "counted": False, "intentional": False, "date": date(2024, 1, 2), "item": "12.1"},
]
ENV = {
    "score": D(8), "分数": D(95), "as_of": date(2025, 12, 31), "start": date(2024, 2, 29), "name": "濠江区",
    "flag": True, "window": Duration(36, "months"), "xs": [D(3), D(1), D(2)], "tags": ["a", "b"],
    "flags": [True, False], "deductions": DEDUCTIONS, "deduction": DEDUCTIONS[1],
    "spot_checks": [{"passed": True, "date": date(2023, 1, 1)}, {"passed": True, "date": date(2024, 1, 1)}],
    "operator": {"name": "某公司", "filed": True, "deduction": DEDUCTIONS[0]}, "anything": D(1),
}
SMAP = SourceMap.at("rules.yaml", 1, 1)


def compile_ok(text: str, scope=SCOPE, **kwargs) -> CompiledExpr:
    diags = Diagnostics()
    compiled = compile_expression(text, SMAP, scope, diags, **kwargs)
    assert compiled is not None, [render(d, source=False) for d in diags.items]
    assert not diags.items
    return compiled


def errors(text: str, scope=SCOPE, smap=SMAP, **kwargs) -> list[str]:
    diags = Diagnostics()
    compiled = compile_expression(text, smap, scope, diags, **kwargs)
    assert compiled is None
    return [render(d, source=False) for d in diags.items]


def evaluate(text: str, env=ENV, **kwargs):
    return compile_ok(text, **kwargs)(env)


class WeekdayCalendar:
    """A stand-in working-day calendar: Monday to Friday."""

    def add_workdays(self, d: date, n: int) -> date:
        step = 1 if n >= 0 else -1
        while n:
            d += timedelta(days=step)
            if d.weekday() < 5:
                n -= step
        return d


# --- every construct -------------------------------------------------------------------------

CASES = [
    # literals
    ("12", {}, D(12)),
    ("-1.5", {}, D("-1.5")),
    ("0.25", {}, D("0.25")),
    ("50%", {}, D("0.5")),
    ("12.5%", {}, D("0.125")),
    ('"abc"', {}, "abc"),
    ("'单引号'", {}, "单引号"),
    ('"say \\"hi\\""', {}, 'say "hi"'),
    ("true", {}, True),
    ("false", {}, False),
    ("2021-06-05", {}, date(2021, 6, 5)),
    ("36 months", {}, Duration(36, "months")),
    ("1 month", {}, Duration(1, "months")),
    ("180 days", {}, Duration(180, "days")),
    ("1 day", {}, Duration(1, "days")),
    ("3 years", {}, Duration(3, "years")),
    ("1 year", {}, Duration(1, "years")),
    ("5 workdays", {}, Duration(5, "workdays")),
    ("1 workday", {}, Duration(1, "workdays")),
    ("2 weeks", {}, Duration(14, "days")),
    ("1 week", {}, Duration(7, "days")),
    ("[1, 2]", {}, [D(1), D(2)]),
    ('["a", "b"]', {}, ["a", "b"]),
    ("[]", {}, []),
    ("[score, 1]", ENV, [D(8), D(1)]),
    # arithmetic, exact decimals
    ("1 + 2", {}, D(3)),
    ("score - 10", ENV, D(-2)),
    ("2 * 3.5", {}, D("7.0")),
    ("50% * 3", {}, D("1.5")),
    ("score / 4", ENV, D(2)),
    ("1 / 3", {}, D("0.3333333333333333333333333333")),
    ("0.1 + 0.2", {}, D("0.3")),
    ("-score", ENV, D(-8)),
    ("- -3", {}, D(3)),
    ("1 + 2 * 3", {}, D(7)),
    ("(1 + 2) * 3", {}, D(9)),
    ("10 - 4 - 3", {}, D(3)),
    ("12 / 2 / 3", {}, D(2)),
    # comparisons
    ("score == 8", ENV, True),
    ("score != 8", ENV, False),
    ("score < 12", ENV, True),
    ("score <= 8", ENV, True),
    ("score > 8", ENV, False),
    ("score >= 12", ENV, False),
    ("6 < score < 12", ENV, True),
    ("6 < score <= 8", ENV, True),
    ("8 < score <= 12", ENV, False),
    ("0 < score <= 6", ENV, False),
    ("1 < 2 < 3 < 4", {}, True),
    ("1 < 3 < 2", {}, False),
    ('"a" < "b"', {}, True),
    ("as_of > 2025-01-01", ENV, True),
    ("flag == true", ENV, True),
    ("flag != false", ENV, True),
    ("1.0 == 1", {}, True),
    # in / not in
    ("score in [8, 9]", ENV, True),
    ("score not in [8, 9]", ENV, False),
    ('"a" in tags', ENV, True),
    ('"c" not in tags', ENV, True),
    ('"江" in name', ENV, True),
    ('"市" not in name', ENV, True),
    ("deduction.item in [\"11.1\", \"11.2\"]", ENV, True),
    # boolean logic
    ("true and false", {}, False),
    ("true or false", {}, True),
    ("not flag", ENV, False),
    ("not score > 10", ENV, True),
    ("flag and score > 6 or false", ENV, True),
    ("false or not false and false", {}, False),
    # conditional
    ("100% if score > 6 else 50%", ENV, D(1)),
    ("1 if false else 2 if false else 3", {}, D(3)),
    ('"yes" if flag else "no"', ENV, "yes"),
    # names and fields
    ("分数 >= 90", ENV, True),
    ("deduction.intentional", ENV, True),
    ("deduction.points * 50%", ENV, D("-3.0")),
    ("operator.deduction.points", ENV, D(-3)),
    ("operator.filed and not operator.deduction.intentional", ENV, True),
    # built-in functions
    ("min(3, score)", ENV, D(3)),
    ("max(1, 2, score)", ENV, D(8)),
    ("min(xs)", ENV, D(1)),
    ("max(xs)", ENV, D(3)),
    ("sum(xs)", ENV, D(6)),
    ("count(xs)", ENV, D(3)),
    ("count(tags)", ENV, D(2)),
    ("any(flags)", ENV, True),
    ("all(flags)", ENV, False),
    ("abs(-2.5)", {}, D("2.5")),
    ("abs(score - 10)", ENV, D(2)),
    ("round(2.5)", {}, D(3)),
    ("round(-2.5)", {}, D(-3)),
    ("round(1.245, 2)", {}, D("1.25")),
    ("round(score / 3, 1)", ENV, D("2.7")),
    ("min(2024-01-01, as_of)", ENV, date(2024, 1, 1)),
    ("max(30 days, 2 weeks)", {}, Duration(30, "days")),
    ("sum([])", {}, D(0)),
    # aggregation over generators, with and without `if`
    ("sum(d.points for d in deductions if d.counted)", ENV, D(-9)),
    ("sum(d.points for d in deductions)", ENV, D("-10.5")),
    ("count(d for d in deductions if d.intentional)", ENV, D(1)),
    ("count(d for d in deductions)", ENV, D(3)),
    ("any(s.passed for s in spot_checks)", ENV, True),
    ("all(s.passed for s in spot_checks)", ENV, True),
    ("any(d.intentional for d in deductions if not d.counted)", ENV, False),
    ("min(d.points for d in deductions)", ENV, D(-6)),
    ("max(d.date for d in deductions if d.counted)", ENV, date(2023, 6, 1)),
    ("sum(x * 2 for x in xs if x > 1)", ENV, D(10)),
    ("count(d for d in deductions if as_of - 24 months < d.date <= as_of)", ENV, D(1)),
    ("sum(count(t for t in tags if t == d.item) for d in deductions)", ENV, D(0)),
    ("count(x for x in [1, 2, 3] if x != 2)", {}, D(2)),
    # dates and durations
    ("start + 12 months", ENV, date(2025, 2, 28)),
    ("2024-02-29 + 12 months", {}, date(2025, 2, 28)),
    ("2023-08-31 - 36 months", {}, date(2020, 8, 31)),
    ("2023-05-31 - 3 months", {}, date(2023, 2, 28)),
    ("2024-01-31 + 1 month", {}, date(2024, 2, 29)),
    ("2024-02-29 + 1 year", {}, date(2025, 2, 28)),
    ("2023-08-31 - 3 years", {}, date(2020, 8, 31)),
    ("2023-01-01 + 180 days", {}, date(2023, 6, 30)),
    ("2023-01-01 - 1 day", {}, date(2022, 12, 31)),
    ("2023-01-01 + 2 weeks", {}, date(2023, 1, 15)),
    ("3 months + 2023-01-31", {}, date(2023, 4, 30)),
    ("as_of - window", ENV, date(2022, 12, 31)),
    ("2024-03-01 - 2024-02-01", {}, Duration(29, "days")),
    ("as_of - start > 600 days", ENV, True),
    ("2 * 18 months", {}, Duration(36, "months")),
    ("36 months * 50%", {}, Duration(18, "months")),
    ("1 year + 6 months", {}, Duration(18, "months")),
    ("30 days - 1 week", {}, Duration(23, "days")),
    ("-36 months", {}, Duration(-36, "months")),
    ("3 years == 36 months", {}, True),
    ("window > 2 years", ENV, True),
    ("180 days < 200 days", {}, True),
    ("2024-02-29 + 12 months == 2025-02-28", {}, True),
]


@pytest.mark.parametrize(("text", "env", "expected"), CASES, ids=[c[0] for c in CASES])
def test_construct(text, env, expected):
    value = evaluate(text, env)
    assert value == expected
    assert type(value) is type(expected)


def test_numbers_are_decimal_never_float():
    for text in ("1 + 1", "50% * 3", "count(xs)", "sum(xs)", "abs(-1)", "round(1.5)", "score"):
        assert type(evaluate(text, {**ENV, "score": 8, "xs": [1, 2]})) is D


def test_environment_numbers_are_coerced_to_decimal():
    assert evaluate("score / 3", {"score": 1}) == D(1) / D(3)
    assert evaluate("deduction.points * 2", {"deduction": {"points": 1.1}}) == D("2.2")


def test_types_of_expressions():
    assert compile_ok("6 < score < 12").type == BOOL
    assert compile_ok("[1, 2]").type == ListType(NUMBER)
    assert compile_ok("as_of - start").type == DURATION
    assert compile_ok("min(d.date for d in deductions)").type == DATE
    assert str(ListType(DEDUCTION)) == "list[deduction]"
    assert str(NUMBER) == "number"


def test_workdays_use_the_calendar():
    cal = WeekdayCalendar()
    expr = compile_ok("2024-01-05 + 5 workdays", calendar=cal)  # a Friday
    assert expr({}) == date(2024, 1, 12)
    assert compile_ok("as_of - 2 workdays", calendar=cal)(ENV) == date(2025, 12, 29)
    assert shift(date(2024, 1, 8), Duration(1, "workdays"), -1, cal) == date(2024, 1, 5)


def test_workdays_from_the_environment_without_calendar_fail_at_run_time():
    expr = compile_ok("as_of + window")
    with pytest.raises(EvaluationError) as info:
        expr({**ENV, "window": Duration(5, "workdays")})
    assert info.value.message == "working days need a calendar, and none was given"
    assert (info.value.span.line, info.value.span.col) == (1, 1)


def test_constants_are_folded():
    expr = compile_ok("as_of - window < start", scope={"start": DATE},
                      constants={"as_of": date(2025, 12, 31), "window": Duration(36, "months")})
    assert expr({"start": date(2023, 1, 1)}) is True
    assert compile_ok("ratio * 3", scope={}, constants={"ratio": D("0.5")})({}) == D("1.5")
    assert compile_ok("cap", scope={}, constants={"cap": 2})({}) == D(2)


def test_expected_type():
    assert compile_ok("score >= 12", expected=BOOL).type == BOOL
    assert errors("score + 1", expected=BOOL) == ["rules.yaml:1:1: error[QR203]: 类型不匹配：expected bool, got number\n"
                                                  "    = 这里需要条件（true/false），实际是数字，条件写成比较，如 score >= 12"
                                                  "（the place needs a bool）"]


def test_parse_literal_value():
    diags = Diagnostics()
    assert parse_literal_value("36 months", SMAP, diags) == (Duration(36, "months"), DURATION)
    assert parse_literal_value("12", SMAP, diags) == (D(12), NUMBER)
    assert parse_literal_value("50%", SMAP, diags) == (D("0.5"), NUMBER)
    assert parse_literal_value("[1, 2]", SMAP, diags) == ([D(1), D(2)], ListType(NUMBER))
    assert parse_literal_value("2021-06-05", SMAP, diags) == (date(2021, 6, 5), DATE)
    assert not diags.items
    assert parse_literal_value("score", SMAP, diags) is None
    assert [d.code for d in diags.items] == ["QR201"]


def test_type_of_value():
    assert type_of_value(D(1)) == NUMBER
    assert type_of_value(1) == NUMBER
    assert type_of_value(True) == BOOL
    assert type_of_value("x") == STRING
    assert type_of_value(date(2024, 1, 1)) == DATE
    assert type_of_value(Duration(1, "days")) == DURATION
    assert type_of_value([D(1)]) == ListType(NUMBER)
    assert type_of_value([]) == ListType(ANY)


def test_duration_str():
    assert str(Duration(36, "months")) == "36 months"
    assert str(Duration(1, "days")) == "1 day"
    assert str(Duration(5, "workdays")) == "5 workdays"


# --- golden error messages: one per code ----------------------------------------------------

GOLDEN = [
    ("QR101", "score = 12", "rules.yaml:1:7: error[QR101]: 表达式语法错误：'=' is not a comparison, use '=='"
     "\n    = 判断相等写两个等号 '=='，如 score == 12（use '=='）"),
    ("QR101", "6 < score <", "rules.yaml:1:12: error[QR101]: 表达式语法错误：missing operand at the end of the expression"
     "\n    = 在末尾补上数值或名称，或删去最后的运算符（complete it, or remove the last operator）"),
    ("QR101", "(score + 1", "rules.yaml:1:1: error[QR101]: 表达式语法错误：unclosed '('"
     "\n    = 补上缺少的 ')'（add the missing ')'）"),
    ("QR101", "score + 1)", "rules.yaml:1:10: error[QR101]: 表达式语法错误：unmatched ')'"
     "\n    = 删去多余的 ')'，或在前面补上对应的左括号（remove it, or add the opening bracket）"),
    ("QR101", "score > * 3", "rules.yaml:1:9: error[QR101]: 表达式语法错误：missing operand before '*'"
     "\n    = 在 '*' 前补上数值或名称（put a value before '*'）"),
    ("QR101", "score 12", "rules.yaml:1:7: error[QR101]: 表达式语法错误：missing operator between 'score' and '12'"
     "\n    = 在两者之间补上运算符，如 +、-、>=、and、or（add an operator between them）"),
    ("QR101", "1e999999", "rules.yaml:1:1: error[QR101]: 表达式语法错误：exponent notation is not allowed; write the number in full"
     "\n    = 把数字完整写出，如 100000，不写 1e5（write the number in full）"),
    ("QR101", "score && flag", "rules.yaml:1:7: error[QR101]: 表达式语法错误：'&' is not an operator, use 'and'"
     "\n    = “并且”写 and（use 'and'）"),
    ("QR101", "score => 12", "rules.yaml:1:7: error[QR101]: 表达式语法错误：'=>' is not an operator, use '>='"
     "\n    = “大于或等于”写 '>='（use '>='）"),
    ("QR101", "days > 3", "rules.yaml:1:1: error[QR101]: 表达式语法错误：'days' is a reserved word and cannot be used as a name"
     "\n    = 'days' 是期限单位，只能写在数字后，如 3 days（a duration unit, as in 3 days）"),
    ("QR101", "score not 3", "rules.yaml:1:11: error[QR101]: 表达式语法错误：expected 'in' after 'not', got '3'"
     "\n    = “不属于”写成 x not in [a, b]；“不是”把 not 写在条件前（write 'x not in [a, b]'）"),
    ("QR101", "1 if flag", "rules.yaml:1:10: error[QR101]: 表达式语法错误：'if' without 'else'"
     "\n    = 写成：取值 if 条件 else 另一取值（write: value if condition else other_value）"),
    ("QR101", '"abc', "rules.yaml:1:1: error[QR101]: 表达式语法错误：unterminated string"
     "\n    = 在字符串末尾补上同样的引号（close the string with the same quote）"),
    ("QR102", "2023-02-30", "rules.yaml:1:1: error[QR102]: 日期写法无效：invalid date '2023-02-30': 2023-02 has 28 days"
     "\n    = 2023 年 2 月只有 28 天：日期写作 YYYY-MM-DD，且须真实存在（write a date that exists）"),
    ("QR102", "2023-13-01", "rules.yaml:1:1: error[QR102]: 日期写法无效：invalid date '2023-13-01': there is no month 13"
     "\n    = 没有 13 月：日期写作 YYYY-MM-DD，且须真实存在（write a date that exists）"),
    ("QR103", "1" * 10_001, "rules.yaml:1:1: error[QR103]: 表达式过长：expression is too long "
                            "(10,001 characters; the limit is 10,000)"
     "\n    = 把表达式拆成几个参数或规则（split the expression into parameters or rules）"),
    ("QR104", "(" * 65 + "1" + ")" * 65, "rules.yaml:1:65: error[QR104]: 表达式嵌套过深：expression is nested too deeply "
                                         "(more than 64 brackets)"
     "\n    = 括号嵌套不超过 64 层：去掉多余的括号，或拆成几个参数（use fewer nested brackets）"),
    ("QR105", "1" * 40, "rules.yaml:1:1: error[QR105]: 数字位数过多：number has 40 digits; at most 30 are allowed"
     "\n    = 数字不超过 30 位，检查是否多写了数字（write the number with fewer digits）"),
    ("QR106", "3 mounths", "rules.yaml:1:3: error[QR106]: 期限单位无法识别：unknown duration unit 'mounths'"
     "\n    = 是否应为 'months'？（did you mean 'months'?）"),
    ("QR107", "1.5 months", "rules.yaml:1:1: error[QR107]: 期限数量不是整数：a duration must be a whole number of months, got 1.5"
     "\n    = 期限数量写整数，如 18 months，或改用更小的单位，如 days（write a whole number, or a smaller unit）"),
    ("QR108", "99999 months", "rules.yaml:1:1: error[QR108]: 期限过长（超过 200 年）：duration 99999 months is longer than 200 years "
                              "(at most 2,400 months)"
     "\n    = 期限不超过 200 年，否则日期计算会超出日历范围（date arithmetic with it would leave the calendar）"),
    ("QR201", "scroe > 3", "rules.yaml:1:1: error[QR201]: 未知名称：unknown name 'scroe'"
     "\n    = 是否应为 'score'？（did you mean 'score'?）"),
    ("QR201", "True", "rules.yaml:1:1: error[QR201]: 未知名称：unknown name 'True'"
     "\n    = true、false 用小写：true（booleans are written in lower case: true）"),
    ("QR202", "deduction.intentionl", "rules.yaml:1:11: error[QR202]: 未知字段，或对非记录的值取字段：deduction has no field 'intentionl'"
     "\n    = 是否应为 'intentional'？（did you mean 'intentional'?）"),
    ("QR202", "deduction.zzz", "rules.yaml:1:11: error[QR202]: 未知字段，或对非记录的值取字段：deduction has no field 'zzz'"
     "\n    = deduction 的字段：points, counted, intentional, date, item（fields of deduction: points, counted, intentional, date, item）"),
    ("QR202", "score.points", "rules.yaml:1:7: error[QR202]: 未知字段，或对非记录的值取字段：number has no fields (no field 'points')"
     "\n    = 数字没有字段：只有记录（如 deduction）才能用 '.' 取字段（only records have fields）"),
    ("QR203", "score > 2024-01-01", "rules.yaml:1:1: error[QR203]: 类型不匹配：cannot compare number with date"
     "\n    = 比较两边应为同一类型，这里是数字和日期（compare like with like）"),
    ("QR203", "score and flag", "rules.yaml:1:1: error[QR203]: 类型不匹配：'and' needs bool operands, got number"
     "\n    = 'and' 两边都应是条件，如 score > 6 and score < 12，这里是数字（both sides must be conditions）"),
    ("QR203", "1 if score else 2", "rules.yaml:1:6: error[QR203]: 类型不匹配：the condition of 'if' must be a bool, got number"
     "\n    = if 后面应是条件，如 100% if deduction.ordinal == 1 else 50%（the condition must be true or false）"),
    ("QR203", '1 if flag else "a"', "rules.yaml:1:1: error[QR203]: 类型不匹配：both branches of 'if ... else' must have "
                                    "the same type, got number and string"
     "\n    = if 前与 else 后的取值应为同一类型，这里是数字和文字（give both branches the same type）"),
    ("QR203", "as_of + 3", 'rules.yaml:1:1: error[QR203]: 类型不匹配：cannot add date and number'
     "\n    = 数字要带单位，如 30 days 或 3 months（give the number a unit, e.g. 30 days or 3 months）"),
    ("QR203", "flag < true", "rules.yaml:1:1: error[QR203]: 类型不匹配：bools can only be compared with == and !=, not '<'"
     "\n    = 条件只能用 == 或 != 比较，或直接写条件本身（compare conditions with == or !=）"),
    ("QR203", "sum(tags)", "rules.yaml:1:5: error[QR203]: 类型不匹配：sum() needs a list of numbers, got list[string]"
     "\n    = sum() 的参数应为数字列表，这里是文字列表（give sum() a list of numbers）"),
    ("QR203", "score in 3", "rules.yaml:1:1: error[QR203]: 类型不匹配：'in' needs a list or a string on the right, got number"
     "\n    = 'in' 右边应为列表，如 deduction.item in [\"11.1\", \"11.2\"]（'in' looks in a list）"),
    ("QR203", "[1, \"a\"]", "rules.yaml:1:5: error[QR203]: 类型不匹配：list items must have the same type: number and string"
     "\n    = 列表各项应为同一类型，这里有数字和文字；编号写成带引号的文字，如 [\"11.1\", \"11.2\"]（one type per list）"),
    ("QR204", "summ(xs)", "rules.yaml:1:1: error[QR204]: 未知函数：unknown function 'summ'"
     "\n    = 是否应为 'sum'？（did you mean 'sum'?）"),
    ("QR204", "score(1)", "rules.yaml:1:1: error[QR204]: 未知函数：'score' is not a function"
     "\n    = 'score' 是取值，不是函数：去掉后面的括号，或在两者之间写运算符（it is a value: remove the brackets, or add an operator）"),
    ("QR205", "round(1, 2, 3)", "rules.yaml:1:1: error[QR205]: 参数个数不对：round() takes 1 or 2 arguments, got 3"
     "\n    = round() 的参数应为 1 或 2 个，这里有 3 个；用法见 docs/language.md（give round() 1 or 2 arguments）"),
    ("QR205", "abs()", "rules.yaml:1:1: error[QR205]: 参数个数不对：abs() takes 1 argument, got 0"
     "\n    = abs() 的参数应为 1 个，这里有 0 个；用法见 docs/language.md（give abs() 1 argument）"),
    ("QR206", "as_of + 5 workdays", "rules.yaml:1:1: error[QR206]: 使用了工作日计算，但未配置工作日历：working days need a calendar, and none is "
                                    "configured"
     "\n    = 改用自然日（days），或在规则集中配置工作日历 calendar（use days, or configure the working-day calendar）"),
    ("QR207", "3 months < 90 days", "rules.yaml:1:1: error[QR207]: 不同单位的期限（月与日）不能相加或比较：cannot compare months with days"
     "\n    = 月与日不能互相换算：两边用同一种单位，如都用 days 或都用 months（use one unit）"),
    ("QR207", "3 months + 90 days", 'rules.yaml:1:1: error[QR207]: 不同单位的期限（月与日）不能相加或比较：cannot combine months with days'
     "\n    = 月与日不能互相换算：两边用同一种单位，如都用 days 或都用 months（use one unit）"),
    ("QR208", "score + 1 / (2 - 2)", "rules.yaml:1:9: error[QR208]: 常量部分计算出错（如除以零）：division by zero"
     "\n    = 修改常量部分，使其能计算（如不要除以零）（fix the constant part, e.g. no division by zero）"),
    ("QR209", "abs(x for x in xs)", 'rules.yaml:1:5: error[QR209]: 生成式只能用于汇总函数：abs() does not take a generator'
     "\n    = 生成式（x for x in xs）只能写在 all、any、count、max、min、sum 中（generators are for all, any, count, max, min, sum）"),
]


@pytest.mark.parametrize(("code", "text", "message"), GOLDEN, ids=[f"{g[0]}-{g[1][:20]}" for g in GOLDEN])
def test_error_golden(code, text, message):
    assert errors(text) == [message]  # each with its own hint, Chinese first
    assert message.split("error[")[1].startswith(code)


def test_every_error_code_has_a_golden_test_and_a_description():
    codes = {**parser.CODES, **check.CODES}
    assert {g[0] for g in GOLDEN} == set(codes)
    assert all(code.startswith(("QR1", "QR2")) for code in codes)


def test_error_rendered_with_source_line_and_caret(tmp_path: Path):
    yaml = "classes:\n  B: 6 < scroe < 12\n"
    path = tmp_path / "haojiang.yaml"
    path.write_text(yaml, encoding="utf-8")
    diags = Diagnostics()
    assert compile_expression("6 < scroe < 12", SourceMap.at(str(path), 2, 6), SCOPE, diags) is None
    assert render(diags.items[0]) == (
        f"{path}:2:10: error[QR201]: 未知名称：unknown name 'scroe'\n"
        "    2 |   B: 6 < scroe < 12\n"
        "      |          ^^^^^ 是否应为 'score'？（did you mean 'score'?）"
    )


def test_error_in_multiline_expression_maps_to_file_line_and_column():
    # A `|` block: line 1 of the text starts at 11:7 in the file, line 2 at 12:7.
    text = "score > 0 and\n  分数 > 0 and scroe < 12"
    register_source("block.yaml", "\n" * 10 + "      score > 0 and\n        分数 > 0 and scroe < 12\n")
    smap = SourceMap("block.yaml", ((11, 7), (12, 7)))
    diags = Diagnostics()
    assert compile_expression(text, smap, SCOPE, diags) is None
    (diag,) = diags.items
    assert (diag.span.line, diag.span.col, diag.span.end_line, diag.span.end_col) == (12, 20, 12, 25)
    assert render(diag) == (
        "block.yaml:12:20: error[QR201]: 未知名称：unknown name 'scroe'\n"
        "   12 |         分数 > 0 and scroe < 12\n"
        "      |                      ^^^^^ 是否应为 'score'？（did you mean 'score'?）"
    )


def test_several_errors_are_collected():
    assert [e.split(": ")[1] for e in errors("scroe > 1 and flg")] == ["error[QR201]", "error[QR201]"]


def test_keywords_are_not_names():
    assert errors("x and and y", scope={"x": BOOL, "y": BOOL}) == [
        "rules.yaml:1:7: error[QR101]: 表达式语法错误：missing operand before 'and'\n"
        "    = 在 'and' 前补上数值或名称（put a value before 'and'）"]
    # names that merely start with a keyword are fine
    assert compile_ok("index in indexes or order > 0 or notes == \"\"", scope={
        "index": NUMBER, "indexes": ListType(NUMBER), "order": NUMBER, "notes": STRING})


# --- limits: refused cleanly and fast ---------------------------------------------------------

BAD = [
    ("(" * 10_000, "QR104"),
    ("(" * 4_000 + "1" + ")" * 4_000, "QR104"),
    ("1+" * 4_999 + "1", "QR104"),
    ("-" * 5_000 + "1", "QR104"),
    ("not " * 2_000 + "true", "QR104"),
    ("x if flag else " * 600 + "1", "QR104"),
    ("1" * 20_000, "QR103"),
    ("a" * 20_000, "QR103"),
    ("1e999999", "QR101"),
    ("9" * 40, "QR105"),
    ("2023-02-30", "QR102"),
    ("score = 12", "QR101"),
    ("", "QR101"),
    ("   ", "QR101"),
    ("\x00", "QR101"),
    ("sum(", "QR101"),
]


@pytest.mark.parametrize(("text", "code"), BAD, ids=[f"{c}-{t[:12]!r}-{len(t)}" for t, c in BAD])
def test_bad_input_gives_one_diagnostic(text, code):
    # How fast the refusal is, is measured in bench/, not asserted here.
    diags = Diagnostics()
    assert compile_expression(text, SMAP, {**SCOPE, "x": NUMBER}, diags) is None
    assert [d.code for d in diags.items] == [code]


def test_deep_nesting_within_the_limit_is_fine():
    assert evaluate("(" * 64 + "1" + ")" * 64, {}) == D(1)
    assert evaluate("1+" * 150 + "1", {}) == D(151)


# --- run-time errors carry spans ----------------------------------------------------------

@pytest.mark.parametrize(("text", "env", "message", "col"), [
    ("score / (score - 8)", ENV, "division by zero", 1),
    ("min(x for x in xs if x > 5)", ENV, "min() of an empty list", 1),
    ("score + 1", {}, "no value for 'score'", 1),
    ("deduction.points > 0", {"deduction": {}}, "the record has no field 'points'", 11),
    # ``name.field`` is one closure (the name's lookup inside the field's): the same errors, the same places
    ("deduction.points > 0", {}, "no value for 'deduction'", 1),
    ("deduction.points > 0", {"deduction": "x"}, "string has no field 'points'", 11),
    ("operator.deduction.points > 0", {"operator": {"deduction": {}}}, "the record has no field 'points'", 20),
    ("operator.deduction.points > 0", {"operator": {}}, "the record has no field 'deduction'", 10),
    ("operator.deduction.points > 0", {}, "no value for 'operator'", 1),
    # places that are not constant fail when evaluated (constant ones are refused by check: QR208)
    ("round(score, score / 16)", ENV, "round() needs a whole number of places between -28 and 28, got 0.5", 1),
    ("2 * window", {"window": Duration(1, "months")} | {"x": 1}, None, None),
    ("50% * window", {"window": Duration(3, "months")}, "0.5 * 3 months is not a whole number of months", 1),
    ("anything + 1", {"anything": "a"}, "cannot add string and number", 1),
])
def test_runtime_errors(text, env, message, col):
    expr = compile_ok(text)
    if message is None:
        expr(env)
        return
    with pytest.raises(EvaluationError) as info:
        expr(env)
    assert info.value.message == message
    assert info.value.span.col == col


def test_no_eval_or_exec_in_package():
    root = Path(__file__).resolve().parents[1] / "qrules" / "language"
    for name in ("ast", "types", "parser", "check", "compiler", "runtime", "__init__"):
        path = root / f"{name}.py"
        source = path.read_text(encoding="utf-8")
        assert "eval(" not in source and "exec(" not in source, path


# --- invariants ------------------------------------------------------------------------------

decimals = st.decimals(min_value=D("-1e9"), max_value=D("1e9"), places=4, allow_nan=False,
                       allow_infinity=False)


@given(decimals, decimals)
def test_add_then_subtract_is_identity(a, b):
    expr = compile_ok("a + b - b", scope={"a": NUMBER, "b": NUMBER})
    assert expr({"a": a, "b": b}) == a


@given(decimals, decimals, decimals)
def test_multiplication_distributes_exactly(a, b, c):
    expr = compile_ok("a * (b + c) == a * b + a * c", scope={"a": NUMBER, "b": NUMBER, "c": NUMBER})
    assert expr({"a": a, "b": b, "c": c}) is True


OPS = ["<", "<=", ">", ">=", "==", "!="]


@given(st.lists(st.integers(-3, 3), min_size=3, max_size=5), st.data())
def test_chained_comparison_is_the_conjunction(values, data):
    ops = [data.draw(st.sampled_from(OPS)) for _ in values[1:]]
    names = [f"v{i}" for i in range(len(values))]
    scope = {n: NUMBER for n in names}
    env = {n: D(v) for n, v in zip(names, values)}
    chained = names[0] + "".join(f" {op} {n}" for op, n in zip(ops, names[1:]))
    expanded = " and ".join(f"{a} {op} {b}" for a, op, b in zip(names, ops, names[1:]))
    assert compile_ok(chained, scope=scope)(env) == compile_ok(expanded, scope=scope)(env)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(-50, 50))
def test_add_years_clamps_to_month_end(d, n):
    result = add_months(d, 12 * n)
    last = pycalendar.monthrange(d.year + n, d.month)[1]
    assert result == date(d.year + n, d.month, min(d.day, last))


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(-600, 600))
def test_add_months_keeps_the_day_or_clamps(d, n):
    result = add_months(d, n)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == n
    assert result.day == min(d.day, pycalendar.monthrange(result.year, result.month)[1])


@settings(max_examples=50)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(0, 100))
def test_date_language_agrees_with_add_months(d, n):
    expr = compile_ok(f"d + {n} months - {n} months <= d", scope={"d": DATE})
    assert expr({"d": d}) is True
    assert compile_ok(f"d + {n} years == d + {12 * n} months", scope={"d": DATE})({"d": d}) is True


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_arbitrary_text_never_raises(text):
    diags = Diagnostics()
    compiled = compile_expression(text, SMAP, SCOPE, diags)
    assert (compiled is None) == diags.has_errors


# -- hints in Chinese (policy staff act on them; the English gist follows) ----------------------------
CJK = re.compile(r"[\u3400-\u9fff]")
#: Broken expressions reaching every diagnostic the parser and the checker add, beyond GOLDEN's.
MORE_BROKEN = [
    "", "score + (1 * 2", "score !! 3", "score | flag", "score % 3", "{1}", "score =< 12", "score @ 3",
    "score ≥ 12", "score ≤ 6", "score ＞ 6", "score ＜ 6", "score ＝ 6", "score ≠ 6", "（score）", "min(1，2)",
    "score ＋ 1", "score － 1", "score not", "3 fortnights", "score , 1", "-" * 250 + "1", "min", "False",
    "zzzzqq > 1", "not score", "-name", "as_of * 2", "score in tags", "score in name", "score > as_of",
    "deduction < deduction", "3 months if flag else 90 days", "count(x for x in score)",
    "count(x for x in xs if x)", "frobnicate(1)", "min()", "count(score)", "any(xs)", "min(score)",
    "min(score, as_of)", "min(flags)", "abs(name)", "min(3 months, 90 days)", "due(score, 15 days)",
    "due(as_of, score)", "due(as_of, 3 months)", "due(as_of, 15 days)",
]
BROKEN = [text for _, text, _ in GOLDEN] + MORE_BROKEN


def diagnostics(text: str, **kwargs) -> list:
    diags = Diagnostics()
    assert compile_expression(text, SMAP, SCOPE, diags, **kwargs) is None
    return diags.items


@pytest.mark.parametrize("text", BROKEN, ids=[f"{i}-{t[:15]}" for i, t in enumerate(BROKEN)])
def test_every_language_diagnostic_has_a_chinese_hint_with_the_english_gist(text):
    for d in diagnostics(text):
        assert d.hint and CJK.search(d.hint), f"{d.code} {d.message!r}: hint {d.hint!r} has no Chinese"
        assert re.search(r"（[^（）]*[a-z]{3}[^（）]*）$", d.hint), f"{d.code}: keep the English gist in brackets"


def test_an_expected_condition_is_hinted_in_chinese():
    (d,) = diagnostics("score + 12", expected=BOOL)
    assert d.hint == "这里需要条件（true/false），实际是数字，条件写成比较，如 score >= 12（the place needs a bool）"


def test_the_hint_corpus_reaches_every_language_code():
    codes = {d.code for text in BROKEN for d in diagnostics(text)}
    assert codes == set(parser.CODES) | set(check.CODES)


def test_every_diagnostic_the_language_adds_passes_a_hint_literal_hints_in_chinese():
    """Read the source: each ``diags.add("QRnnn", ...)``/``self.error("QRnnn", ...)`` in qrules/language
    passes ``hint=``, and a hint written as a literal there has Chinese (so a new one cannot be English only)."""
    import ast as pyast

    import qrules.language as language

    sites = 0
    for path in Path(language.__file__).parent.glob("*.py"):
        for node in pyast.walk(pyast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, pyast.Call) and isinstance(node.func, pyast.Attribute)
                    and node.func.attr in ("add", "error") and node.args
                    and isinstance(node.args[0], pyast.Constant) and str(node.args[0].value).startswith("QR")):
                continue
            sites += 1
            hint = next((k.value for k in node.keywords if k.arg == "hint"), None)
            assert hint is not None, f"{path.name}:{node.lineno}: {node.args[0].value} without a hint"
            literal = "".join(p.value for p in pyast.walk(hint) if isinstance(p, pyast.Constant) and isinstance(p.value, str))
            if isinstance(hint, (pyast.Constant, pyast.JoinedStr)):
                assert CJK.search(literal), f"{path.name}:{node.lineno}: hint without Chinese"
    assert sites >= 50
