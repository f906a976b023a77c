"""Chinese text for every diagnostic: code titles, pydantic errors and PyYAML problems.

Policy staff read Chinese first: :func:`qrules.errors.render` puts each code's Chinese title
before the English detail (``error[QR201]: 未知名称：unknown name 'scroe'``); schema and
YAML problems, which come from libraries in English, are translated here by their error type
(never the raw "Input should be a valid decimal") with the English gist kept in brackets.
A test requires a title for every code of every module's ``CODES`` table.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

#: Code -> Chinese title. Every code of every module's ``CODES`` table has one (tests/test_messages.py).
ZH_TITLES: dict[str, str] = {
    # yamlsource: reading files
    "QR001": "文件无法读取（不存在、不是 UTF-8 编码或过大）",
    "QR002": "YAML 语法错误",
    "QR003": "不允许使用 YAML 锚点和别名",
    "QR004": "同一映射中键重复",
    "QR005": "嵌套过深或文件过大，无法安全读取",
    "QR006": "取值无效（日期不存在或数字过大）",
    "QR007": "输出文件无法写入（文件夹不存在、是文件夹或没有权限）",
    # parser: expressions
    "QR101": "表达式语法错误",
    "QR102": "日期写法无效",
    "QR103": "表达式过长",
    "QR104": "表达式嵌套过深",
    "QR105": "数字位数过多",
    "QR106": "期限单位无法识别",
    "QR107": "期限数量不是整数",
    "QR108": "期限过长（超过 200 年）",
    # check: names and types
    "QR201": "未知名称",
    "QR202": "未知字段，或对非记录的值取字段",
    "QR203": "类型不匹配",
    "QR204": "未知函数",
    "QR205": "参数个数不对",
    "QR206": "使用了工作日计算，但未配置工作日历",
    "QR207": "不同单位的期限（月与日）不能相加或比较",
    "QR208": "常量部分计算出错（如除以零）",
    "QR209": "生成式只能用于汇总函数",
    # loader: ruleset format and inheritance
    "QR301": "规则集格式不符（缺少取值或类型不对）",
    "QR302": "子规则集覆盖了上级规则集中不存在的键",
    "QR303": "找不到 extends 指定的上级规则集",
    "QR304": "extends 形成循环继承",
    "QR305": "'+键' 新增的键上级已有，或 '-键' 删除的键上级没有",
    "QR306": "未知的顶层键",
    "QR307": "文件不是规则集",
    "QR308": "键名中含引号：'+' 或 '-' 写在了引号外",
    "QR309": "extends 指向规则集目录以外的文件",
    # ruleset: static checks
    "QR401": "信用分类界限在分数轴上有空缺或重叠",
    "QR402": "规则缺少条款引用",
    "QR403": "引用的事项、类别或参数不存在",
    "QR404": "有效期日期前后矛盾",
    "QR405": "参数取值类型不对",
    "QR406": "含暂定分值（记分表尚未正式发布）",
    "QR407": "无法证明信用分类界限覆盖全部分数",
    # history records
    "QR501": "历史记录不符合格式（缺少或多出字段、类型或日期错误）",
    "QR502": "统一社会信用代码无效",
    "QR503": "尼斯分类超出范围（商品为第 1–34 类）",
    "QR504": "编号重复",
    "QR505": "产品的生产者不是已知的生产经营者",
    "QR506": "记录类型无法识别",
    "QR507": "文件格式问题",
    "QR508": "同一记分对象出现两次（第六条）",
    "QR509": "事件引用的对象或事件不存在",
    "QR510": "事件引用的对象或事件类型不对",
    "QR511": "统一社会信用代码的登记管理部门代码不在 GB 32100 代码表中",
    "QR512": "更正日期早于被更正的事件（第二十五条）",
    "QR513": "录入日期早于事件日期",
    "QR520": "评价日期超出可计算的范围（1900-01-01 至 2199-12-31）",
    # engine: decisions
    "QR601": "失信事项代码不存在（第十一条、第十二条）",
    "QR602": "事件涉及的记分对象不在历史数据中",
    "QR603": "事件涉及的记分对象记录未被采用",
    "QR604": "记分对象的类别不属于适用范围（第二条）",
    "QR605": "记分对象不在本规则集辖区内",
    "QR606": "该事项不适用于此类记分对象或角色",
    "QR607": "修复对应的扣分不存在、已撤销、晚于修复或未计入",
    "QR608": "修复不符合条件（第十四条）",
    "QR609": "修复次数超出周期上限（第十五条第（二）项）",
    "QR610": "奖励规则不存在",
    "QR611": "奖励条件不满足或对象不符（第十六、十七条）",
    "QR612": "更正所指的事件不存在、已撤销或本身是更正",
    "QR613": "事件日期晚于评价日期（尚未生效）",
    "QR614": "粤品通填报应由经营者进行，不能针对产品",
    "QR615": "已知日期（--as-known-at）晚于评价日期",
    "QR620": "事件已被更正撤销：保留在历史中，不计分（第二十四、二十五条）",
    "QR690": "规则计算出错（如除以零），评价中止",
    # working days and deadlines
    "QR701": "工作日历年度条目格式错误",
    "QR702": "日期所在年份没有工作日历",
    "QR711": "程序期限引用了不存在的事件类型，或缺少终止事件",
    "QR712": "程序期限的期限单位应为自然日或工作日",
    # test cases
    "QR801": "不是测试用例文件",
    "QR802": "测试用例格式不符",
    "QR803": "测试用例指定的规则集找不到或检查不通过",
    "QR804": "参数覆盖指定了不存在的参数或取值无效",
    "QR805": "预期结果引用的对象或事件不在用例历史中",
    "QR806": "测试用例的历史数据无法读取",
    # registry: families and versions (brief §4a)
    "QR901": "规则集目录中有两个同名规则集",
    "QR902": "同一系列的两个版本有效期重叠",
    "QR903": "同一系列的版本之间有效期有空档",
    "QR904": "extends 指定的系列在子规则集有效期内有日期无版本生效",
    "QR905": "版本继承了自己所在的系列",
    "QR906": "规则集名称既不是文件，也不是规则集目录中的版本或系列",
    "QR907": "评价所需的日期没有生效的版本",
    "QR908": "系列的最后一个版本已到期：之后的日期仍按它评价，并给出提示",
    "QR909": "作为规则集目录给出的文件夹中没有规则集文件",
    # qrules serve: the HTTP layer
    "QR951": "请求内容不是有效的 JSON",
    "QR952": "请求字段缺失或类型不对",
    "QR953": "请求内容超过大小上限",
    "QR954": "处理超过时间上限",
    "QR955": "没有这个规则集",
    "QR956": "历史数据中没有这个记分对象",
    "QR957": "没有这份历史数据",
    "QR958": "规则集未通过检查，且没有可用的上一版本",
    "QR959": "服务器内部错误",
    "QR960": "没有这个地址",
    "QR961": "记分对象的记录被拒收",
}


def title_zh(code: str) -> str | None:
    """The Chinese title of a diagnostic code, shown first in every message."""
    return ZH_TITLES.get(code)


# -- pydantic: by error type -------------------------------------------------------------------
#: error type -> (Chinese, English gist); ``{...}`` are filled from the error's ``ctx``.
_PYDANTIC: dict[str, tuple[str, str]] = {
    "decimal_parsing": ("应为数字", "must be a number"),
    "decimal_type": ("应为数字", "must be a number"),
    "decimal_max_digits": ("数字位数过多（最多 {max_digits} 位）", "too many digits"),
    "decimal_max_places": ("小数位数过多（最多 {decimal_places} 位）", "too many decimal places"),
    "finite_number": ("应为有限的数字", "must be a finite number"),
    "int_parsing": ("应为整数", "must be a whole number"),
    "int_type": ("应为整数", "must be a whole number"),
    "int_from_float": ("应为整数，不能有小数", "must be a whole number"),
    "float_parsing": ("应为数字", "must be a number"),
    "float_type": ("应为数字", "must be a number"),
    "date_parsing": ("应为日期，写作 YYYY-MM-DD", "must be a date YYYY-MM-DD"),
    "date_type": ("应为日期，写作 YYYY-MM-DD", "must be a date YYYY-MM-DD"),
    "date_from_datetime_parsing": ("应为日期，写作 YYYY-MM-DD", "must be a date YYYY-MM-DD"),
    "date_from_datetime_inexact": ("应为日期，不带时间", "must be a date without a time"),
    "datetime_parsing": ("应为日期时间", "must be a date and time"),
    "string_type": ("应为文字", "must be text"),
    "string_too_short": ("不能为空（至少 {min_length} 个字符）", "too short"),
    "string_too_long": ("过长（最多 {max_length} 个字符）", "too long"),
    "string_pattern_mismatch": ("格式不对（应符合 {pattern}）", "does not match the expected pattern"),
    "bool_parsing": ("应为 true 或 false", "must be true or false"),
    "bool_type": ("应为 true 或 false", "must be true or false"),
    "literal_error": ("应为以下之一：{expected}", "must be one of {expected}"),
    "enum": ("应为以下之一：{expected}", "must be one of {expected}"),
    "list_type": ("应为列表（如 [p1, p2]）", "must be a list"),
    "tuple_type": ("应为列表", "must be a list"),
    "set_type": ("应为列表", "must be a list"),
    "dict_type": ("应为映射（键: 值）", "must be a mapping of keys"),
    "model_type": ("应为映射（键: 值）", "must be a mapping of keys"),
    "model_attributes_type": ("应为映射（键: 值）", "must be a mapping of keys"),
    "too_short": ("不能为空（至少 {min_length} 项）", "must not be empty"),
    "too_long": ("项数过多（最多 {max_length} 项）", "too many entries"),
    "greater_than": ("应大于 {gt}", "must be greater than {gt}"),
    "greater_than_equal": ("应不小于 {ge}", "must be at least {ge}"),
    "less_than": ("应小于 {lt}", "must be less than {lt}"),
    "less_than_equal": ("应不大于 {le}", "must be at most {le}"),
    "missing": ("缺少必填项", "required"),
    "extra_forbidden": ("不允许的键", "unknown key"),
    "union_tag_invalid": ("类型 {tag} 无法识别（应为 {expected_tags}）", "unknown kind {tag}"),
    "union_tag_not_found": ("缺少类型字段 {discriminator}", "missing {discriminator}"),
    "none_required": ("此处不应有值", "must be empty"),
    "is_instance_of": ("类型不对", "wrong type"),
}


def _fill(template: str, ctx: dict) -> str:
    try:
        return template.format(**{k: v for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].rstrip("（：(: ")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


#: Our own validators' error types (qrules.history): Chinese; their text is the English gist.
_OURS: dict[str, str] = {
    "id_type": "编号应为文字或整数", "id_empty": "编号不能为空",
    "code_type": "代码应写成带引号的文字，如 \"11.1\"", "code_empty": "不能为空",
    "date_type": "应为日期，写作 YYYY-MM-DD", "date_format": "日期应写作 YYYY-MM-DD", "date_invalid": "日期不存在",
}
_LIBRARY_WORDING = ("Input should", "Field required", "Extra inputs", "Value error, ", "Assertion failed, ")


def pydantic_message(err: Mapping[str, Any]) -> str:
    """One pydantic error in Chinese with the English gist, by its ``type``: never the raw
    "Input should be a valid decimal". Our own validators' text is kept as the gist."""
    typ = str(err.get("type", ""))
    ctx = dict(err.get("ctx") or {})
    msg = str(err.get("msg", "")).replace("{value!r}", _shown(err.get("input")))
    # pydantic's own errors are known by their type ("List should have at least 1 item", "Decimal input
    # should be ...": not every one starts "Input should"); our validators' types are in _OURS.
    library = msg.startswith(_LIBRARY_WORDING) or (typ in _PYDANTIC and typ not in _OURS)
    if not library or typ in ("value_error", "assertion_error"):
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        zh = _OURS.get(typ) or (None if _has_cjk(msg) or typ.startswith("qr") else "取值无效")
        return f"{zh}（{msg}）" if zh else msg
    zh_en = _PYDANTIC.get(typ)
    has_input = "input" in err and typ not in ("missing", "extra_forbidden")
    got = f"，实际为 {_shown(err['input'])}" if has_input else ""
    got_en = f", not {_shown(err['input'])}" if has_input else ""
    if zh_en is None:
        return f"取值无效{got}（{msg}）"
    zh, en = (_fill(t, ctx) for t in zh_en)
    return f"{zh}{got}（{en}{got_en}）"


def _has_cjk(text: str) -> bool:
    return bool(re.search(r"[\u3400-\u9fff]", text))


# -- PyYAML: by problem -------------------------------------------------------------------------
#: A PyYAML problem (start of its text) -> Chinese explanation and what to do.
_YAML: list[tuple[str, str, str]] = [
    ("mapping values are not allowed", "此处不能出现 '键: 值'",
     "常见原因：值里有未加引号的 ': '（给值加上引号），或这一行的缩进不对"),
    ("could not find expected ':'", "缺少冒号 ':'", "每个键后面写半角冒号和空格，如 'title: 名称'"),
    ("did not find expected key", "这里应是一个键，但缩进或括号不对", "检查这一行与上一行的缩进是否对齐"),
    ("did not find expected '-' indicator", "列表项缺少 '-'", "同一列表的每一项都以 '- ' 开头并对齐"),
    ("did not find expected ',' or ']'", "方括号列表缺少 ',' 或 ']'", "检查 [ ] 是否成对、各项之间用逗号分隔"),
    ("did not find expected ',' or '}'", "花括号映射缺少 ',' 或 '}'", "检查 { } 是否成对、各项之间用逗号分隔"),
    ("expected ',' or ']'", "方括号列表缺少 ',' 或 ']'", "检查 [ ] 是否成对、各项之间用逗号分隔"),
    ("expected ',' or '}'", "花括号映射缺少 ',' 或 '}'", "检查 { } 是否成对、各项之间用逗号分隔"),
    ("found character '\\t'", "不能用制表符（Tab）缩进", "把 Tab 换成空格"),
    ("found a tab character", "不能用制表符（Tab）缩进", "把 Tab 换成空格"),
    ("found character that cannot start any token", "这个字符不能作为值的开头", "给这个值加上引号"),
    ("found unexpected end of stream", "文件意外结束", "检查引号、括号是否都已闭合"),
    ("found unknown escape character", "双引号字符串中有无法识别的转义符 '\\'", "改用单引号，或写成 '\\\\'"),
    ("found unexpected ':'", "此处不能出现冒号", "给含冒号的值加上引号"),
    ("expected <block end>", "缩进不对", "同一层级的键要左对齐"),
    ("block sequence entries are not allowed", "此处不能开始一个 '- ' 列表", "检查列表的缩进，或它前面的键是否缺少冒号"),
    ("expected a single document", "文件中有多个 YAML 文档（'---'）", "一个文件只写一个文档"),
    ("unacceptable character", "文件中有不允许的控制字符", "删除这个字符，或将文件另存为 UTF-8 文本"),
    ("found undefined alias", "不允许使用 YAML 锚点和别名", "写出完整的值"),
    ("anchors and aliases", "不允许使用 YAML 锚点和别名", "写出完整的值"),
    ("found undefined tag handle", "不允许使用 YAML 标签（!）", "给以 ! 开头的值加上引号"),
    ("found duplicate anchor", "不允许使用 YAML 锚点和别名", "写出完整的值"),
    ("while scanning a quoted scalar", "引号没有闭合", "在值的末尾补上引号"),
    ("while scanning a simple key", "缺少冒号 ':'", "每个键后面写半角冒号和空格"),
    ("did not find expected node content", "这里缺少取值", "检查括号、引号是否成对，列表或映射的最后一项后是否多了逗号"),
]


def yaml_message(problem: str, context: str | None = None, char: str = "") -> tuple[str, str]:
    """A PyYAML problem as (Chinese message with the English gist, hint); ``char`` is the
    character at the problem's mark (libyaml names a tab only as "a character")."""
    if char == "\t":
        return f"不能用制表符（Tab）缩进（YAML: {problem}）", "把 Tab 换成空格"
    for needle, zh, hint in _YAML:
        if problem.startswith(needle) or needle in problem or (context and context.startswith(needle)):
            return f"{zh}（YAML: {problem}）", hint
    return f"YAML 语法错误（{problem}" + (f"; {context}" if context else "") + "）", "检查这一行的缩进、冒号和引号"


#: ``key：value`` written with a full-width colon where YAML needs ``key: value``.
FULLWIDTH_KEY = re.compile(r"^(\s*)([^\s#'\"{}\[\],:：\-][^#'\"：:]*?)\s*：")


def fullwidth_colons(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line, col, key) of every line whose key is followed by a full-width colon '：'."""
    out = []
    for n, text in enumerate(lines, 1):
        m = FULLWIDTH_KEY.match(text)
        if m:
            out.append((n, len(text[: m.end()]) , m.group(2).strip()))
    return out
