import pytest

from bot.errors import UserError
from bot.rules import RuleSyntaxError, compile_expr


@pytest.mark.parametrize(
    ("expr", "text", "expected"),
    [
        pytest.param("个税 退税", "个税退税进度查询", True, id="and-both-present"),
        pytest.param("个税 退税", "个税汇算开始了", False, id="and-one-missing"),
        pytest.param("个税 退税 -招聘", "个税退税专员招聘", False, id="not-excludes"),
        pytest.param("个税 退税 !招聘", "个税退税专员招聘", False, id="bang-excludes"),
        pytest.param("个税 退税 -招聘", "个税退税到账慢", True, id="not-absent"),
        pytest.param("发票 | 税务局", "某区税务局窗口", True, id="or-right"),
        pytest.param("发票 ｜ 税务局", "电子发票开不出来", True, id="full-width-or"),
        pytest.param("发票 | 税务局", "社保缴费", False, id="or-neither"),
        pytest.param(
            "(发票 | 税务局) (投诉 | 举报)", "实名举报某税务局", True, id="groups-match"
        ),
        pytest.param(
            "(发票 | 税务局) (投诉 | 举报)", "税务局办事效率高", False, id="groups-miss"
        ),
        pytest.param(
            "（发票｜税务局）（投诉｜举报）",
            "投诉发票问题",
            True,
            id="full-width-parens",
        ),
        pytest.param("个税 | 社保 退费", "个税汇算", True, id="and-binds-tighter"),
        pytest.param(
            "个税 | 社保 退费", "社保缴费", False, id="and-binds-tighter-miss"
        ),
        pytest.param('"税务 稽查"', "关于税务  稽查的通报", True, id="phrase-spaces"),
        pytest.param('"税务 稽查"', "税务局稽查局", False, id="phrase-needs-space"),
        pytest.param("“税务 稽查”", "税务 稽查", True, id="chinese-quotes"),
        pytest.param("ETC", "ｅｔｃ发票", True, id="full-width-letters"),
        pytest.param("12366", "拨打１２３６６热线", True, id="full-width-digits"),
        pytest.param("ＥＴＣ", "etc 发票", True, id="full-width-term"),
        pytest.param("COVID-19 减免", "covid-19 税费减免", True, id="hyphen-in-term"),
        pytest.param("个税 -(招聘 | 培训)", "个税培训班", False, id="not-group"),
        pytest.param("个税 (退税 | -招聘)", "个税汇算", True, id="not-inside-or"),
    ],
)
def test_matcher_matches(expr, text, expected):
    matcher = compile_expr(expr)

    assert matcher.matches(text) is expected


@pytest.mark.parametrize(
    ("expr", "terms"),
    [
        pytest.param("个税 退税 -招聘", ["个税", "退税"], id="skips-negative"),
        pytest.param(
            "(发票 | 税务局) (投诉 | 举报)",
            ["发票", "税务局", "投诉", "举报"],
            id="in-order",
        ),
        pytest.param('"税务  稽查" 稽查', ["税务 稽查", "稽查"], id="phrase"),
        pytest.param("个税 个税 | 个税", ["个税"], id="no-repeats"),
        pytest.param("ＥＴＣ", ["ETC"], id="nfkc"),
    ],
)
def test_matcher_terms_are_the_words_to_look_for(expr, terms):
    assert compile_expr(expr).terms() == terms


def test_matcher_explain_names_matched_terms():
    matcher = compile_expr("(发票 | 税务局) (投诉 | 举报) -招聘")

    matched = matcher.explain("网友投诉某税务局发票开具不规范")
    missed = matcher.explain("税务局招聘公告，投诉电话12366")

    assert matched == ["发票", "税务局", "投诉"]
    assert missed == []


@pytest.mark.parametrize(
    ("expr", "position", "reason"),
    [
        pytest.param("", 0, "表达式是空的", id="empty"),
        pytest.param("   ", 0, "表达式是空的", id="blank"),
        pytest.param("个税 (退税 | 退费", 3, "括号没有闭合", id="unclosed"),
        pytest.param("个税 退税)", 5, "多了一个右括号", id="extra-close"),
        pytest.param("（个税", 0, "括号没有闭合", id="full-width-unclosed"),
        pytest.param("个税 ()", 3, "括号里没有内容", id="empty-group"),
        pytest.param("个税 |", 3, "“|” 后面缺少关键词", id="or-at-end"),
        pytest.param("| 个税", 0, "“|” 前面缺少关键词", id="or-at-start"),
        pytest.param("个税 | | 退税", 3, "“|” 后面缺少关键词", id="double-or"),
        pytest.param("(个税 ｜)", 4, "“｜” 后面缺少关键词", id="or-before-close"),
        pytest.param("个税 -", 3, "“-” 后面缺少要排除的词", id="not-at-end"),
        pytest.param("个税 !|退税", 3, "“!” 后面缺少要排除的词", id="bang-then-or"),
        pytest.param("-招聘", 0, "至少要有一个要找的词", id="only-negative"),
        pytest.param("-招聘 !培训", 0, "至少要有一个要找的词", id="all-negative"),
        pytest.param("个税 | -招聘", 5, "至少要有一个要找的词", id="negative-branch"),
        pytest.param('"税务 稽查', 0, "引号没有闭合", id="unclosed-quote"),
        pytest.param('个税 ""', 3, "引号里没有内容", id="empty-quote"),
        pytest.param("个税”", 2, "多了一个右引号", id="stray-close-quote"),
    ],
)
def test_compile_expr_rejects_bad_syntax_in_chinese(expr, position, reason):
    with pytest.raises(RuleSyntaxError) as caught:
        compile_expr(expr)

    error = caught.value
    assert error.expr == expr
    assert error.position == position
    assert reason in error.reason
    assert str(error) == f"第 {position + 1} 个字符处：{error.reason}"


def test_rule_syntax_error_is_a_user_error_with_template_params():
    with pytest.raises(UserError) as caught:
        compile_expr("(发票 | 税务局")

    error = caught.value
    assert error.template == "errors/rule_syntax.j2"
    assert error.params == {
        "expr": "(发票 | 税务局",
        "position": 0,
        "reason": "括号没有闭合",
    }
    assert str(error) == "第 1 个字符处：括号没有闭合"


@pytest.mark.parametrize(
    "expr",
    [
        pytest.param("(" * 40 + "个税" + ")" * 40, id="parentheses"),
        pytest.param("个税 " + "-" * 2000 + "招聘", id="negations"),
    ],
)
def test_compile_expr_refuses_absurd_nesting(expr):
    with pytest.raises(RuleSyntaxError) as caught:
        compile_expr(expr)

    assert "嵌套太深" in caught.value.reason
