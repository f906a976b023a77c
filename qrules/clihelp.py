"""Bilingual ``--help``: the Chinese text of every command, argument and option.

Commands are registered in several modules, in English; :func:`localize` puts the Chinese in
front of each description and argument help once the parser is built, so policy staff read
``qrules evaluate --help`` in Chinese with the English beside it. A test requires Chinese and
English for every command and argument (tests/test_messages.py): a new option needs a line here.
"""

from __future__ import annotations

import argparse
import re

#: command -> (one line for the command list, description)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("检查规则集：语法、名称、类型、分类界限、条款引用",
              "检查规则集文件，把每个问题报告在 文件:行:列，并证明信用分类界限覆盖全部分数。"),
    "show": ("显示规则集；--resolved 显示继承的值及其出处",
             "逐项列出规则集（含继承的值）；--resolved 标出每个值来自哪个文件哪一行。"),
    "evaluate": ("对历史数据中每个记分对象计分并分类",
                 "按规则集计算每个记分对象的得分、信用分类和监管措施；被拒绝的记录单独列出。"),
    "explain": ("逐分解释一个记分对象的得分及条款依据",
                "逐条列出一个记分对象的每一分：来自哪个事件、依据哪一条款，以及不予记分的事件和理由。"),
    "schema": ("输出规则集、历史数据或结果的 JSON Schema",
               "输出 JSON Schema，供编辑器校验和自动补全，或供其他系统对接。"),
    "test": ("运行 YAML 测试用例并报告覆盖情况",
             "运行政策人员编写的 YAML 测试用例（规则集、少量历史数据、评价日期和预期结果），"
             "并报告哪些事项、分类、修复和奖励规则没有用例覆盖。"),
    "diff": ("用业务语言比较两个规则集版本，附条款",
             "比较两个规则集（文件路径，或 git 中的 REV:路径）在继承解析后的差异，用业务语言说明，"
             "分类界限的变化以分数区间表示。"),
    "impact": ("用同一历史数据评价两个规则集：谁的分类变了、为什么",
               "在同一历史数据上分别按新旧规则集评价，报告分类变化矩阵、分类变化的对象及原因、"
               "得分变化，以及每年应检查次数的变化。"),
    "render": ("把规则集写成供人阅读的 Markdown 文档",
               "把规则集（含继承内容）按条款写成 Markdown：规则的文字说明、取值及每个值的出处。"),
    "deadlines": ("程序期限（第二十一、二十三至二十五条），按中国工作日计算",
                  "列出历史数据启动的每个程序期限（核实修复、告知、异议、受理、答复、更正）、"
                  "按官方工作日历计算的截止日，以及是否按期完成。"),
    "batch": ("用多个进程批量评价整个辖区的数据（CSV/Parquet/JSONL）",
              "把大型历史数据分块在多个 CPU 上评价，写出每个对象一行的结果并打印汇总。"),
    "plan": ("检查计划（第二十七条）：每个对象每年应检查、已检查和尚欠的次数",
             "按对象和年度列出其正式分类要求的检查次数（规则集 measures.*.checks_per_year；年内分类变化按时段计算）、"
             "历史数据中当年的监督抽查次数、尚欠次数，以及第二十七条第（一）项降低抽查比例的标记；按类别汇总。"),
    "synth": ("生成带随机种子的合成数据（用于测试和性能测试）",
              "生成逼真的合成历史数据：有多个产品的生产者、销售者、各类事件和分类，以及少量错误记录。"),
    "serve": ("在本机启动网页服务：中文页面和 JSON 接口（需安装 qrules[serve]）",
              "在本机启动网页服务：中文页面（总览、规则集、记分对象及得分走势图、规则差异）和 JSON 接口。"),
}

#: argument dest -> (Chinese, English used when the parser gives none)
ARGS: dict[str, tuple[str, str]] = {
    "help": ("显示本帮助并退出", "show this help message and exit"),
    "debug": ("出错时显示 Python 回溯（用于反馈问题）", "show Python tracebacks (for bug reports)"),
    "version": ("显示版本号并退出", "show the version and exit"),
    "allow_path": ("允许 extends 引用此目录中的上级规则集", "let 'extends' name parent rulesets in DIR too"),
    "command": ("命令", "the command"),
    "rulesets": ("规则集版本目录：按名称（如 haojiang、guangdong-2021）查找版本或系列（可重复；默认 rulesets/）",
                 "folder of ruleset versions for RULESET names"),
    "year": ("要编制计划的年度（默认：评价日期所在年度）", "the calendar year to plan"),
    "outlook": ("在 JSON 结果中加入每个对象的展望：没有新事件时将发生的变化，以及升到更好类别所需的分数和做法",
                "add each subject's outlook to the JSON result"),
    "require_in_force": ("某日期没有生效的规则集版本时报错（QR907），而不只是提示",
                         "a date with no ruleset version in force is an error (QR907)"),
    "as_known_at": ("按 DATE 已知的记录评价（只计入 DATE 前已录入的记录）", "evaluate the records known on DATE"),
    "at": ("取 DATE 生效的版本（系列名称或 extends: 系列 时；默认今天）", "the version in force on DATE"),
    "paths": ("规则集文件", "ruleset files"),
    "path": ("规则集文件、git 中的 REV:路径，或版本、系列名称（在 --rulesets 目录中查找）",
             "a ruleset file, REV:path read from git, or a version or family name (--rulesets)"),
    "ruleset": ("规则集文件、git 中的 REV:路径，或版本、系列名称（在 --rulesets 目录中查找）",
                "a ruleset file, REV:path read from git, or a version or family name (--rulesets)"),
    "history": ("历史数据：YAML、JSON 或 JSON Lines 文件；'-' 为标准输入",
                "YAML, JSON or JSON Lines history; '-': standard input"),
    "subject": ("记分对象编号", "the subject's id"),
    "as_of": ("评价日期 DATE，格式 YYYY-MM-DD（默认今天）", "evaluation date DATE, as YYYY-MM-DD (default: today)"),
    "format": ("输出格式", "output format"),
    "output": ("输出到文件；'-' 为标准输出", "write to FILE instead of standard output ('-': standard output)"),
    "resolved": ("标出每个值来自哪个文件哪一行", "annotate each value with the file:line it comes from"),
    "workers": ("工作进程数", "worker processes"),
    "what": ("哪一种格式：ruleset 规则集、history 历史数据、result 结果", "which format: ruleset, history or result"),
    "child": ("继承其他规则集的子规则集所用的 Schema", "the schema of a child ruleset that 'extends' another"),
    "keyword": ("只运行 文件::名称 中含有该文字的用例", "run only cases whose file::name contains TEXT"),
    "require_full_coverage": ("有事项、分类、修复或奖励规则未被覆盖时退出码为 1",
                              "exit 1 if any item, class, repair or reward rule was not exercised"),
    "old": ("旧规则集（文件或 REV:路径）", "the old ruleset (a file or REV:path)"),
    "new": ("新规则集（文件或 REV:路径）", "the new ruleset (a file or REV:path)"),
    "old_label": ("在输出和错误信息中用此名称指代 OLD（git 差异驱动传入仓库路径）",
                  "name OLD by NAME in the output and in messages"),
    "new_label": ("在输出和错误信息中用此名称指代 NEW", "name NEW by NAME in the output and in messages"),
    "exit_code": ("有差异时退出码为 1，无差异为 0", "exit 1 when there are changes, 0 when none"),
    "chunk_size": ("每块的记分对象数", "subjects per chunk"),
    "backend": ("批量评价的计算后端：columnar（polars 列式，CSV/Parquet 和 JSON Lines 输入默认）或 engine（逐对象引擎）",
                "at scale: columnar or engine"),
    "rejections": ("把每个被拒绝的事件写入此 CSV 文件", "write every rejected event to this CSV file"),
    "summary_json": ("把汇总写成 JSON 文件", "write the summary as JSON"),
    "progress": ("在标准错误输出显示进度（默认：终端时显示）", "progress on stderr (default: when stderr is a terminal)"),
    "max_diagnostics": ("最多显示的输入问题数", "input diagnostics to print"),
    "subjects": ("记分对象数量", "number of subjects"),
    "seed": ("随机种子", "random seed"),
    "out": ("输出目录（csv、parquet）或文件（jsonl；'-' 为标准输出）",
            "output directory (csv, parquet) or file (jsonl; '-': standard output)"),
}

#: (command, dest) -> Chinese, where a dest means something else in that command
ARGS_BY_COMMAND: dict[tuple[str, str], tuple[str, str]] = {
    ("check", "paths"): ("规则集文件，或规则集文件夹（同时证明同一系列的各版本施行期不重叠）",
                         "ruleset files, or a rulesets folder"),
    ("serve", "history"): ("启动时载入的历史数据；页面默认显示它，请求未指定历史数据时使用它",
                           "history shown by the pages and used when a request names none"),
    ("serve", "as_of"): ("页面和请求的默认评价日期 DATE，格式 YYYY-MM-DD（默认今天）", "default evaluation date DATE"),
    ("serve", "host"): ("监听地址（默认 127.0.0.1，仅本机可访问）", "address to listen on"),
    ("serve", "port"): ("端口（默认 8000）", "port"),
    ("serve", "max_body"): ("请求大小上限，字节（默认 10000000；超过时 413，QR953）", "largest request body"),
    ("serve", "time_limit"): ("每个请求的计算时间上限，秒（默认 30；超过时 503，QR954）", "longest computation per request"),
    ("serve", "log_level"): ("服务日志的详细程度（默认 info）", "server log detail"),
    ("serve", "format"): ("启动信息（地址和在用的规则集）的格式", "start-up report as text or JSON"),
    ("serve", "output"): ("启动信息（地址和在用的规则集）写入此文件，不写标准错误输出；'-' 为标准输出",
                          "write the start-up report to FILE instead of standard error"),
    ("test", "paths"): ("测试用例文件或目录", "case files or directories of case files"),
    ("batch", "history"): ("含 subjects/events 的 .csv 或 .parquet 目录或文件，或 YAML/JSON/JSONL",
                           "a directory or file of .csv/.parquet, or YAML/JSON/JSONL"),
    ("deadlines", "as_of"): ("按 DATE 判断期限，格式 YYYY-MM-DD；其后的事件不计（默认今天）",
                             "judge clocks on DATE (default: today)"),
    ("plan", "as_of"): ("按 DATE 评价历史数据，格式 YYYY-MM-DD（默认该年 12 月 31 日）", "evaluate the history as of DATE"),
    ("evaluate", "workers"): ("用 N 个进程批量评价，显示进度和汇总", "evaluate at scale in N worker processes"),
    ("batch", "as_known_at"): ("只用截至 DATE 已录入的事件（录入日期 recorded，缺省为事件日期；更正记录同样），"
                               "不得晚于 --as-of；汇总列出因此未计入的事件数",
                               "use only events entered by DATE; the summary counts those left out"),
    ("deadlines", "as_known_at"): ("只用截至 DATE 已录入的记录判断期限（不得晚于 --as-of）：之后才录入的办结事件不算办结",
                                   "use only records entered by DATE: a stop entered later leaves its clock running"),
}

_EVALUATES = ("规则集有错误、历史数据无法读取，或有记录被拒收（已报告；其余记录照常计算并输出）",
              "the ruleset has errors, the history cannot be read, or some records were refused (they are "
              "reported; the rest is still computed and printed)")
_IN_FORCE = ("；加 --require-in-force 时某日期没有生效的版本（QR907）", "; with --require-in-force, a date with no "
             "version in force (QR907)")

#: command -> what exit code 1 means for it, said at the end of its --help (0 ok and 2 usage error
#: are the same for every command; tests/test_messages.py requires an entry for every command)
EXIT_CODES: dict[str, tuple[str, str]] = {
    "check": ("有规则集未通过检查；检查文件夹时，同一系列的版本施行期重叠或因错误无法证明",
              "a ruleset has errors; for a folder, a family's versions overlap or cannot be proven"),
    "show": ("规则集有错误或无法读取", "the ruleset has errors or cannot be read"),
    "evaluate": (_EVALUATES[0] + _IN_FORCE[0], _EVALUATES[1] + _IN_FORCE[1]),
    "explain": (_EVALUATES[0] + "；历史数据中没有该对象（QR956）或其记录被拒收（QR961）" + _IN_FORCE[0],
                _EVALUATES[1] + "; no such subject (QR956) or its record was refused (QR961)" + _IN_FORCE[1]),
    "schema": ("输出文件无法写入", "the output file cannot be written"),
    "test": ("有用例失败或出错；加 --require-full-coverage 时有规则未被覆盖",
             "a case failed or could not run; with --require-full-coverage, a rule no case exercised"),
    "diff": ("规则集有错误；加 --exit-code 时：1 有差异，2 规则集有错误（同 diff(1)）",
             "a ruleset has errors; with --exit-code: 1 there are changes, 2 a ruleset has errors (as diff(1))"),
    "impact": (_EVALUATES[0] + _IN_FORCE[0], _EVALUATES[1] + _IN_FORCE[1]),
    "render": ("规则集有错误或无法读取", "the ruleset has errors or cannot be read"),
    "deadlines": (_EVALUATES[0] + _IN_FORCE[0], _EVALUATES[1] + _IN_FORCE[1]),
    "plan": _EVALUATES,
    "batch": (_EVALUATES[0] + _IN_FORCE[0], _EVALUATES[1] + _IN_FORCE[1]),
    "synth": ("输出无法写入", "the output cannot be written"),
    "serve": ("无法启动：规则集目录不存在、历史数据无法读取或端口已被占用（运行中按 Ctrl+C 停止，退出码 0）",
              "cannot start: no such rulesets folder, the history cannot be read, or the port is in use "
              "(Ctrl+C stops a running server, exit 0)"),
}

_ROOT_EPILOG = ("退出码 exit codes：0 成功 ok；1 输入有错误 errors in the input（各命令的含义见其 --help；输出文件无法写入"
                "时也是 1 also when an output file cannot be written）；2 命令用法错误 usage error。"
                "文档 Docs: docs/index.md")


def exit_codes(command: str) -> str:
    """The exit codes of one command, as its --help ends."""
    zh, en = EXIT_CODES[command]
    return f"退出码 exit codes：0 成功 ok；1 {zh}（{en}）；2 命令用法错误 usage error"


_CJK = re.compile(r"[\u3400-\u9fff]")


def has_chinese(text: str | None) -> bool:
    return bool(text and _CJK.search(text))


def _both(zh: str, en: str | None) -> str:
    return f"{zh}；{en}" if en else zh


def _english(help_text: str, zh: str) -> str:
    """The English of a command's one-line help, whose Chinese (itself perhaps holding '；') is in front."""
    return help_text[len(zh) + 1:] if help_text.startswith(zh + "；") else help_text


def localize(parser: argparse.ArgumentParser, command: str = "") -> None:
    """Put the Chinese text in front of every help and description that lacks it, end each
    command's help with its exit codes."""
    if not command:
        parser.epilog = _ROOT_EPILOG
    elif command in EXIT_CODES and "exit codes" not in (parser.epilog or ""):
        parser.epilog = exit_codes(command) + (f"\n\n{parser.epilog}" if parser.epilog else "")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                zh = COMMANDS.get(choice.dest)
                if zh and not has_chinese(choice.help):
                    choice.help = _both(zh[0], choice.help)
            for name, sub in action.choices.items():
                zh = COMMANDS.get(name)
                if zh and not has_chinese(sub.description):
                    english = sub.description or next((_english(c.help, zh[0]) for c in action._choices_actions
                                                       if c.dest == name and c.help), None)
                    sub.description = _both(zh[1], english)
                localize(sub, name)
            continue
        if action.help == argparse.SUPPRESS or has_chinese(action.help):
            continue
        zh_en = ARGS_BY_COMMAND.get((command, action.dest)) or ARGS.get(action.dest)
        if zh_en is not None:
            action.help = _both(zh_en[0], action.help or zh_en[1])
