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
    "QR008": "输出文件的扩展名与写出的格式不符（本命令不能写这种格式，或与 --format 不一致）",
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
    "QR408": "调整日期不是一年中存在的日期（应为 月-日）",
    "QR409": "奖励条件要求的连续年数超过统计周期所能看到的年数（永远不成立）",
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
    "QR962": "无法在该地址和端口启动服务",
    "QR963": "服务启动需要且只需要一个存在的规则集目录",
}


#: Code -> what to do, for a diagnostic that carries no hint of its own: every message says what
#: is wrong (its text) and what to do (this), in Chinese first (tests/test_messages.py).
ZH_HINTS: dict[str, str] = {
    "QR001": "检查路径是否正确、文件是否为 UTF-8 文本（check the path; save the file as UTF-8）",
    "QR002": "按提示修改这一行的缩进、冒号或引号（fix the indentation, colon or quotes on this line）",
    "QR003": "把锚点（&name）和别名（*name）换成完整的取值（write the value out in full）",
    "QR004": "同一层级的键只保留一个（keep one of the two keys）",
    "QR005": "减少嵌套层数，或把大的历史数据改为 JSON Lines（flatten it, or use JSON Lines for large histories）",
    "QR006": "核对日期和数字的写法（check the date exists and the number is written plainly）",
    "QR007": "请写到已存在且有写权限的文件夹中（name a file in a folder that exists and you may write to）",
    "QR008": "把输出文件的扩展名改为本命令能写的格式，如 .csv、.json（name the file with an extension the command writes）",
    "QR101": "检查运算符、括号和引号是否完整（check the operators, brackets and quotes）",
    "QR102": "日期写作 YYYY-MM-DD，且须真实存在（write dates as YYYY-MM-DD, e.g. 2023-03-01）",
    "QR103": "把表达式拆成几个参数或规则（split the expression into parameters or rules）",
    "QR104": "减少括号嵌套（use fewer nested brackets）",
    "QR105": "数字不超过 30 位（write the number with fewer digits）",
    "QR106": "期限单位用 days、workdays、weeks、months 或 years（use days, workdays, weeks, months or years）",
    "QR107": "期限数量写整数，如 36 months（write a whole number, e.g. 36 months）",
    "QR108": "期限不超过 200 年（use a shorter period）",
    "QR201": "检查名称拼写；可用的名称见 docs/language.md（check the spelling; names are listed in docs/language.md）",
    "QR202": "检查字段名拼写（check the field name）",
    "QR203": "两边应为同一类型，如分数与数字比较、日期与日期比较（compare like with like）",
    "QR204": "可用的函数见 docs/language.md（the functions are listed in docs/language.md）",
    "QR205": "按函数说明给出参数个数（give the number of arguments the function takes）",
    "QR206": "在规则集中配置工作日历，或改用自然日（configure the calendar, or use days）",
    "QR207": "月与日不能直接相加或比较：统一单位（use one unit）",
    "QR208": "修改常量部分，使其能计算（如不要除以零）（fix the constant part, e.g. no division by zero）",
    "QR209": "x for x in xs 只能放在 count、sum、min、max、any、all 中（use it inside an aggregate）",
    "QR301": "按规则集格式补充或改正此项，格式见 docs/guide/writing-rules.md（see the ruleset format）",
    "QR302": "新增键写作 '+键'，或检查键名拼写（write '+key' to add a key, or check its spelling）",
    "QR303": "extends 写上级规则集的名称或路径（name the parent ruleset or its path）",
    "QR304": "去掉循环继承中的一个 extends（remove one 'extends' of the cycle）",
    "QR305": "上级已有的键直接写键名覆盖；上级没有的键不能用 '-' 删除（override it by name; only remove what exists）",
    "QR306": "检查键名拼写，或删除这一键（check the spelling, or remove the key）",
    "QR307": "规则集是以 ruleset: 等键开头的 YAML 映射（a ruleset is a YAML mapping with 'ruleset:' and its keys）",
    "QR308": "把 '+' 或 '-' 写在引号内（put the sign inside the quotes）",
    "QR309": "把上级规则集放入规则集目录，或加 --allow-path 目录（move it into the folder, or add --allow-path DIR）",
    "QR401": "调整各类别的界限，使每个分数恰好属于一个类别（make every score fall in exactly one class）",
    "QR402": "为此规则写上条款引用 cite（add the article citation）",
    "QR403": "检查所引用的事项、类别或参数的编号（check the id of the item, class or parameter）",
    "QR404": "in_force.from 应不晚于 until（from must not be after until）",
    "QR405": "按参数的类型写取值（write the value in the parameter's type）",
    "QR406": "省局正式记分表发布后替换暂定分值（replace the provisional values with the official table）",
    "QR407": "把类别界限写成 score 与数字的比较（write the thresholds as comparisons of score with numbers）",
    "QR408": "写存在的月-日，如 01-01、07-01（write a month and a day that exist, e.g. 01-01）",
    "QR409": "放宽监督抽查的回看期，或降低年数（widen the window for spot checks, or ask for fewer years）",
    "QR501": "按历史数据格式改正此项，格式见 docs/history.md（fix the field; the format is in docs/history.md）",
    "QR502": "核对营业执照上的 18 位统一社会信用代码（check the 18-character code on the business licence）",
    "QR503": "商品的尼斯分类为 1–34 类的整数（use a goods class, a whole number from 1 to 34）",
    "QR504": "每条记录使用不同的编号（give each record its own id）",
    "QR505": "producer 写历史数据中生产者的编号，并在其 roles 中列出 producer（name an operator with the producer role）",
    "QR506": "kind 的取值见 docs/history.md（see docs/history.md for the kinds）",
    "QR507": "按 docs/history.md（YAML、JSON）或 docs/batch.md（CSV、Parquet）的格式改正文件"
             "（fix the file to the format of docs/history.md or docs/batch.md）",
    "QR508": "合并这两条记录，事件中使用保留的编号（merge the records and use the one kept）",
    "QR509": "检查所引用编号的拼写，或补充被引用的记录（check the id, or add the record it names）",
    "QR510": "引用正确类型的对象或事件（refer to a record of the right kind）",
    "QR511": "核对统一社会信用代码的第一位（check the first character of the code）",
    "QR512": "更正日期应不早于被更正事件的日期（date the correction on or after the event）",
    "QR513": "录入日期应不早于事件日期（recorded is on or after the event's date）",
    "QR520": "评价日期应在 1900-01-01 至 2199-12-31 之间（give a date from 1900 to 2199）",
    "QR615": "--as-known-at 应不晚于 --as-of（give an as-known-at date on or before the as-of date）",
    "QR690": "检查此处表达式在这些取值下能否计算（check the expression for the values it met）",
    "QR701": "按工作日历格式改正这一年的条目（fix the year's entry of the calendar）",
    "QR702": "补充该年份的工作日历，或改用其他日期（add the year to the calendar）",
    "QR711": "检查期限的事件类型（check the deadline's event kinds）",
    "QR712": "期限单位用 days 或 workdays（use days or workdays）",
    "QR801": "测试用例文件应有 ruleset: 和 cases: 列表，见 docs/casetest.md（see docs/casetest.md）",
    "QR802": "按测试用例格式改正此项，见 docs/casetest.md（fix it to the case format, docs/casetest.md）",
    "QR803": "检查规则集路径（相对于用例文件）并先用 qrules check 检查它（check the path, then qrules check it）",
    "QR804": "检查参数名称和取值（check the parameter's name and value）",
    "QR805": "预期结果只引用用例历史中的对象和事件（expect only subjects and events of the case's history）",
    "QR806": "检查用例的历史数据或其文件路径（check the case's history or its path）",
    "QR901": "给每个规则集不同的 ruleset 名称（give each ruleset its own name）",
    "QR902": "调整版本的 in_force，使有效期不重叠（make the versions' periods not overlap）",
    "QR903": "调整版本的 in_force，使有效期首尾相接（make the periods meet）",
    "QR904": "调整子规则集的有效期，或补充上级版本（adjust the period, or add the parent's version）",
    "QR905": "extends 指向另一个系列（extend another family）",
    "QR906": "给出规则集文件路径，或规则集目录中的版本、系列名称（name a file, or a version or family of the folder）",
    "QR907": "补充该日期生效的版本，或去掉 --require-in-force（add a version in force, or drop --require-in-force）",
    "QR908": "把后继版本加入规则集目录；在此之前仍按最后一个版本评价（add the successor version to the folder）",
    "QR909": "给出含规则集文件（*.yaml）的文件夹（name a folder that holds ruleset files）",
    "QR956": "给出历史数据中记分对象的编号（give the id of a subject in the history）",
    "QR961": "先改正历史数据中该对象的记录（correct the subject's record in the history）",
}


def hint_zh(code: str) -> str | None:
    """What to do about a diagnostic of this code when it carries no hint of its own."""
    return ZH_HINTS.get(code)


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


#: A json-module problem (start of its text) -> Chinese explanation and what to do.
_JSON: list[tuple[str, str, str]] = [
    ("Expecting value", "这里缺少取值（或多了一个逗号）", "检查这里的逗号、引号和括号"),
    ("Expecting ',' delimiter", "缺少逗号 ','", "在两项之间加逗号，并检查括号是否成对"),
    ("Expecting ':' delimiter", "缺少冒号 ':'", "键和值之间写冒号，如 \"id\": \"e1\""),
    ("Expecting property name enclosed in double quotes", "键名应使用双引号（或最后一项后多了逗号）",
     "写成 \"键\": 值，并删除最后一项后的逗号"),
    ("Unterminated string", "引号没有闭合", "在字符串末尾补上双引号"),
    ("Invalid control character", "字符串中有控制字符（如换行、Tab）", "换行写成 \\n，Tab 写成 \\t"),
    ("Invalid \\escape", "无效的转义符 '\\'", "反斜杠写成 \\\\"),
    ("Extra data", "数据结束后还有多余的内容", "一个 JSON 文件只写一个 {...}；一行一条记录请用 JSON Lines（.jsonl）"),
]


def json_message(problem: str) -> tuple[str, str]:
    """A json-module problem as (Chinese message with the English gist, what to do)."""
    for needle, zh, hint in _JSON:
        if problem.startswith(needle):
            return f"{zh}（JSON: {problem}）", hint
    return f"JSON 格式错误（JSON: {problem}）", "检查这一行的逗号、引号和括号"


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
