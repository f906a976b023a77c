"""Chinese-first messages (issue 9, item 2): every diagnostic code has Chinese text, library
messages (pydantic, PyYAML) are translated by type, a full-width colon is reported on its own,
an unknown or Chinese key lists the valid keys, and every --help is bilingual."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import qrules
from conftest import GUANGDONG, ROOT
from qrules.cli import build_parser, main
from qrules.errors import Diagnostic, Diagnostics, Span, render
from qrules.messages import ZH_TITLES, pydantic_message, yaml_message
from qrules.yamlsource import load_text

CJK = re.compile(r"[\u3400-\u9fff]")
PACKAGE = Path(qrules.__file__).parent


def all_codes() -> set[str]:
    """Every code in a module's CODES table, and every QRnnn the package's source emits."""
    codes: set[str] = set()
    for info in pkgutil.walk_packages([str(PACKAGE)], "qrules."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
        codes.update(k for k in getattr(module, "CODES", {}) if re.fullmatch(r"QR\d{3}", str(k)))
    for path in PACKAGE.rglob("*.py"):
        codes.update(re.findall(r"[\"'](QR\d{3})[\"']", path.read_text(encoding="utf-8")))
    return codes


def test_every_diagnostic_code_has_chinese_text():
    codes = all_codes()
    assert len(codes) >= 73
    missing = sorted(c for c in codes if not CJK.search(ZH_TITLES.get(c, "")))
    assert not missing, f"add a Chinese title for {missing} to qrules/messages.py ZH_TITLES"


def test_a_rendered_diagnostic_puts_the_chinese_title_first():
    diag = Diagnostic("QR201", "unknown name 'scroe'", Span("r.yaml", 3, 7), hint="did you mean 'score'?")
    assert render(diag, source=False).splitlines()[0] == "r.yaml:3:7: error[QR201]: 未知名称：unknown name 'scroe'"
    assert diag.to_dict()["title_zh"] == "未知名称"
    already = Diagnostic("QR002", "缺少冒号 ':'（YAML: could not find expected ':'）", Span("r.yaml", 1, 1))
    assert "error[QR002]: 缺少冒号" in render(already, source=False)


# -- pydantic ----------------------------------------------------------------------------------
@pytest.mark.parametrize("err, expected", [
    ({"type": "decimal_parsing", "msg": "Input should be a valid decimal", "input": "abc"},
     "应为数字，实际为 'abc'（must be a number, not 'abc'）"),
    ({"type": "int_parsing", "msg": "Input should be a valid integer", "input": "x"},
     "应为整数，实际为 'x'（must be a whole number, not 'x'）"),
    ({"type": "date_from_datetime_parsing", "msg": "Input should be a valid date", "input": "2023/01/01"},
     "应为日期，写作 YYYY-MM-DD，实际为 '2023/01/01'（must be a date YYYY-MM-DD, not '2023/01/01'）"),
    ({"type": "literal_error", "msg": "Input should be 'pass' or 'fail'", "input": "ok",
      "ctx": {"expected": "'pass' or 'fail'"}},
     "应为以下之一：'pass' or 'fail'，实际为 'ok'（must be one of 'pass' or 'fail', not 'ok'）"),
    ({"type": "greater_than_equal", "msg": "Input should be greater than or equal to 0", "input": -1,
      "ctx": {"ge": 0}}, "应不小于 0，实际为 -1（must be at least 0, not -1）"),
    ({"type": "value_error", "msg": "Value error, the date 2023-02-30 does not exist (日期不存在)"},
     "the date 2023-02-30 does not exist (日期不存在)"),
])
def test_pydantic_errors_are_translated_by_type(err, expected):
    assert pydantic_message(err) == expected


def test_a_wrongly_typed_ruleset_value_is_reported_in_chinese(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GUANGDONG.read_text(encoding="utf-8").replace("checks_per_year: 4", "checks_per_year: four", 1),
                   encoding="utf-8")
    with pytest.raises(qrules.RulesetError) as info:
        qrules.load_ruleset(bad)
    text = str(info.value)
    assert "应为整数" in text and "must be a whole number" in text
    assert "Input should be" not in text


def test_history_field_errors_are_translated(tmp_path, capsys):
    history = tmp_path / "h.yaml"
    history.write_text("subjects:\n  - {id: op1, kind: operator, uscc: 91440512MA5XXXX01U, roles: producer}\n"
                       "events:\n  - {id: e1, kind: spot_check, subject: op1, date: 2024-01-01, result: ok}\n",
                       encoding="utf-8")
    assert main(["evaluate", str(GUANGDONG), str(history), "--as-of", "2025-01-01"]) == 1
    err = capsys.readouterr().err
    assert "op1: roles: 应为列表（如 [p1, p2]），实际为 'producer'（must be a list, not 'producer'）" in err
    assert "e1: result: 应为以下之一：'pass' or 'fail'，实际为 'ok'" in err
    assert "Input should be" not in err


# -- PyYAML ------------------------------------------------------------------------------------
def yaml_errors(text: str) -> list[str]:
    diags = Diagnostics()
    load_text(text, "r.yaml", diags)
    return [render(d, source=False) for d in diags.items]


def test_yaml_mapping_values_problem_is_translated_with_the_english_gist():
    (message,) = yaml_errors("title: 规则: 新版\n")
    assert message.startswith("r.yaml:1:")
    assert "error[QR002]: 此处不能出现 '键: 值'（YAML: mapping values are not allowed" in message
    assert "给值加上引号" in message


@pytest.mark.parametrize("text, chinese", [
    ("a: [1, 2\nb: 3\n", "方括号列表缺少"),
    ("a:\n\t- 1\n", "制表符"),
    ('a: "abc\n', "文件意外结束"),
    ("a: 1\n b: 2\n", "此处不能出现"),
])
def test_common_yaml_problems_are_in_chinese(text, chinese):
    messages = yaml_errors(text)
    assert messages and chinese in messages[0] and "YAML:" in messages[0]


def test_yaml_message_falls_back_to_a_chinese_frame():
    message, hint = yaml_message("something new in PyYAML")
    assert message == "YAML 语法错误（something new in PyYAML）" and CJK.search(hint)


# -- full-width colon ----------------------------------------------------------------------------
def test_a_fullwidth_colon_is_reported_on_its_own_with_a_quanjiao_hint():
    messages = yaml_errors("metadata:\n  title: 规则\n  issuer：广东省市场监督管理局\n  version: '1'\n")
    assert len(messages) == 1
    assert messages[0].startswith("r.yaml:3:9: error[QR002]: 全角冒号 '：' 不能分隔键和值")
    assert "把全角冒号 '：' 改为半角冒号加空格 ': '" in messages[0]


def test_a_fullwidth_colon_that_yaml_reads_as_text_is_still_reported():
    messages = yaml_errors("metadata:\n  issuer：广东省\n")
    assert len(messages) == 1 and "r.yaml:2:9: error[QR002]: 全角冒号" in messages[0]


def test_a_fullwidth_colon_inside_a_value_is_fine():
    assert yaml_errors("note: 说明：这是正文\nitems: ['甲：乙']\n") == []


# -- unknown keys ----------------------------------------------------------------------------------
def child(tmp_path, body: str) -> Path:
    (tmp_path / "guangdong-2021.yaml").write_text(GUANGDONG.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "kid.yaml"
    path.write_text("qrules: 1\nruleset: kid\nextends: guangdong-2021\nversion: '1'\n" + body, encoding="utf-8")
    return path


def test_a_chinese_key_lists_the_valid_keys_instead_of_suggesting_plus(tmp_path):
    with pytest.raises(qrules.RulesetError) as info:
        qrules.load_ruleset(child(tmp_path, "scope:\n  范围: 工业产品\n"))
    (diag,) = [d for d in info.value.diagnostics if d.code == "QR302"]
    assert "+范围" not in (diag.hint or "")
    assert diag.hint.startswith("此处可用的键（valid keys here）：") and "excluded_categories" in diag.hint


def test_an_unknown_top_level_key_lists_the_valid_keys(tmp_path):
    with pytest.raises(qrules.RulesetError) as info:
        qrules.load_ruleset(child(tmp_path, "说明: 新增\n"))
    (diag,) = [d for d in info.value.diagnostics if d.code in ("QR302", "QR306")]
    assert "+说明" not in (diag.hint or "") and "parameters" in diag.hint and "items" in diag.hint


def test_a_new_key_in_an_open_section_still_offers_plus(tmp_path):
    with pytest.raises(qrules.RulesetError) as info:
        qrules.load_ruleset(child(tmp_path, "parameters:\n  max_rewards: {value: 3, cite: 第十八条}\n"))
    (diag,) = [d for d in info.value.diagnostics if d.code == "QR302"]
    assert "write '+max_rewards'" in diag.hint


# -- --help ------------------------------------------------------------------------------------------
def parsers():
    parser = build_parser(None)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, sub


def test_every_command_has_a_chinese_and_english_description():
    _, sub = parsers()
    assert len(sub.choices) >= 12
    for name, sp in sub.choices.items():
        assert CJK.search(sp.description or "") and re.search(r"[a-z]{4}", sp.description), name
    for choice in sub._choices_actions:
        assert CJK.search(choice.help) and re.search(r"[a-z]{4}", choice.help), choice.dest


def test_every_argument_of_every_command_is_explained_in_chinese_and_english():
    parser, sub = parsers()
    todo = [("qrules", parser)] + list(sub.choices.items())
    for name, p in todo:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and CJK.search(action.help) and re.search(r"[a-z]{3}", action.help), \
                f"qrules {name} {action.dest}: add its Chinese text to qrules/clihelp.py"


def test_help_output_is_bilingual(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = capsys.readouterr().out
    assert "对历史数据中每个记分对象计分并分类" in out or "计算每个记分对象的得分" in out
    assert "评价日期 DATE，格式 YYYY-MM-DD（默认今天）；evaluation date DATE" in out


def test_every_command_help_ends_with_its_exit_codes(capsys):
    """`qrules X --help` says what exit 1 means for X, in Chinese and English (README: exit codes)."""
    from qrules.clihelp import EXIT_CODES

    parser, sub = parsers()
    assert set(EXIT_CODES) == set(sub.choices)
    for name, p in sub.choices.items():
        text = " ".join(p.format_help().split())  # the formatter wraps lines
        assert "退出码 exit codes：0 成功 ok；1 " in text and "；2 命令用法错误 usage error" in text, name
        assert " ".join(EXIT_CODES[name][1].split()) in text, name
    assert "退出码 exit codes" in parser.format_help()


def test_a_command_description_is_not_said_twice():
    """`qrules show --help`: the Chinese one-liner holds a '；' of its own; the English after it is the
    English, not the Chinese again."""
    _, sub = parsers()
    description = sub.choices["show"].description
    assert description.count("--resolved 显示继承的值及其出处") == 0 and description.endswith(
        "print a ruleset; --resolved shows inherited values and their origin")
