import pytest

from bot.errors import UserError
from bot.rules import Match, RuleSyntaxError, compile_expr


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
        pytest.param("个税&退税", "个税退税", True, id="ampersand-and"),
        pytest.param("个税+退税", "个税汇算", False, id="plus-and-miss"),
        pytest.param("个税＆退税＋进度", "个税退税进度", True, id="full-width-and"),
        pytest.param("个税 －招聘", "个税招聘", False, id="full-width-minus"),
        pytest.param("个税 ！招聘", "个税招聘", False, id="full-width-bang"),
        pytest.param(
            '("个税" | "社保费") & ("某区") & !("招聘")',
            "某区社保费缴纳",
            True,
            id="slot-form-matches",
        ),
        pytest.param(
            '("个税" | "社保费") & ("某区") & !("招聘")',
            "某区社保费稽核岗招聘",
            False,
            id="slot-form-excluded",
        ),
        pytest.param("个税 | 社保 & 退费", "个税", True, id="or-looser-than-ampersand"),
        pytest.param("-招聘 个税 | 社保", "社保招聘", True, id="not-binds-tightest"),
        pytest.param(r"/退.{0,3}税/", "退了点税", True, id="regex"),
        pytest.param(r"/\d{3}元/ 乱收费", "乱收费 200元", True, id="regex-digits"),
        pytest.param("/ETC/ 发票", "etc发票", True, id="regex-case-insensitive"),
        pytest.param("/12366/", "拨打１２３６６", True, id="regex-on-normalised-text"),
        pytest.param(r"/a\/b/", "路径a/b", True, id="regex-escaped-slash"),
        pytest.param("个税 -/招.?聘/", "个税招人聘用", False, id="regex-negated"),
        pytest.param("个税~5~退税", "个税申报后退税", True, id="near-within"),
        pytest.param("个税~2~退税", "个税申报后退税", False, id="near-too-far"),
        pytest.param("退税~3~个税", "个税申报后退税", True, id="near-either-order"),
        pytest.param("个税~0~退税", "个税退税", True, id="near-adjacent"),
        pytest.param('"个 税"~0~退税', "个 税退税", True, id="near-phrase"),
        pytest.param("个税 ~ 5 ~ 退税", "个税申报后退税", True, id="near-spaced"),
    ],
)
def test_matcher_matches(expr, text, expected):
    matcher = compile_expr(expr)

    assert matcher.matches(text) is expected


@pytest.mark.parametrize(
    ("expr", "title", "text", "expected"),
    [
        pytest.param("title:个税 投诉", "个税问题", "网友投诉", True, id="title-word"),
        pytest.param("title:个税 投诉", "网友投诉", "个税问题", False, id="title-miss"),
        pytest.param(
            "title:(发票 | 税务局) 投诉",
            "某税务局",
            "投诉",
            True,
            id="title-group",
        ),
        pytest.param("标题：个税", "个税", "", True, id="chinese-title-prefix"),
        pytest.param("TITLE:个税", "个税", "", True, id="title-prefix-any-case"),
        pytest.param(
            "个税 -title:招聘", "个税", "招聘专员", True, id="title-exclusion-body-ok"
        ),
        pytest.param(
            "个税 -title:招聘", "招聘", "个税", False, id="title-exclusion-in-title"
        ),
        pytest.param("title:/退.税/", "退了税", "", True, id="title-regex"),
        pytest.param("title:/退.税/", "", "退了税", False, id="title-regex-miss"),
        pytest.param("title:(个税~3~退税)", "个税和退税", "", True, id="title-near"),
        pytest.param("个税 退税", "个税", "退税", True, id="and-across-fields"),
        pytest.param(
            "个税~20~退税", "个税", "退税", False, id="near-not-across-fields"
        ),
        pytest.param('"个税 退税"', "个税", "退税", False, id="phrase-not-across"),
    ],
)
def test_matcher_match_title_and_body(expr, title, text, expected):
    matcher = compile_expr(expr)

    found = matcher.match(title, text)

    assert (found is not None) is expected


def test_matcher_match_reports_terms_and_spans_in_original_text():
    matcher = compile_expr("(发票 | 税务局) 投诉 -招聘 /1[3-9]\\d{9}/")
    title = "某税务局被投诉"
    text = "网友  投诉：发票难开，电话 13812345678。"

    found = matcher.match(title, text)

    assert found == Match(
        terms=("发票", "税务局", "投诉", "/1[3-9]\\d{9}/"),
        spans=(
            ("text", 4, 6),
            ("text", 7, 9),
            ("text", 15, 26),
            ("title", 1, 4),
            ("title", 5, 7),
        ),
    )
    assert text[4:6] == "投诉" and title[1:4] == "税务局"


def test_matcher_match_maps_spans_through_full_width_and_spaces():
    matcher = compile_expr('"etc 发票"')
    text = "关于  ＥＴＣ   发票的问题"

    found = matcher.match("", text)

    assert found is not None
    ((field, start, end),) = found.spans
    assert field == "text"
    assert text[start:end] == "ＥＴＣ   发票"


def test_matcher_match_title_only_spans_skip_the_body():
    matcher = compile_expr("title:个税 投诉")

    found = matcher.match("个税投诉", "个税")

    assert found is not None
    assert found.spans == (("title", 0, 2), ("title", 2, 4))


def test_matcher_matches_takes_text_as_title():
    matcher = compile_expr("title:个税 投诉")

    assert matcher.matches("个税投诉")


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
        pytest.param("个税~5~退税 -招聘", ["个税", "退税"], id="near-both"),
        pytest.param("title:个税 /退.税/", ["个税"], id="title-kept-regex-skipped"),
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
        pytest.param("个税 & ", 3, "“&” 后面缺少关键词", id="and-at-end"),
        pytest.param("& 个税", 0, "“&” 前面缺少关键词", id="and-at-start"),
        pytest.param("个税 +| 退税", 3, "“+” 后面缺少关键词", id="plus-then-or"),
        pytest.param("个税 /退(税/", 5, "正则表达式无效：", id="bad-regex"),
        pytest.param("个税 /退税", 3, "正则表达式缺少结尾的 /", id="unclosed-regex"),
        pytest.param("个税 //", 3, "正则表达式是空的", id="empty-regex"),
        pytest.param("个税 /a*/", 3, "能匹配空文本", id="regex-matches-nothing"),
        pytest.param(
            "个税~x~退税", 2, "~ 后面需要数字，如 A~20~B", id="near-no-number"
        ),
        pytest.param("个税~~退税", 2, "~ 后面需要数字", id="near-empty-number"),
        pytest.param("个税~20 退税", 3, "数字后面需要 ~", id="near-one-tilde"),
        pytest.param("个税~20~", 5, "后面需要一个关键词", id="near-no-right"),
        pytest.param("个税~20~(退税)", 5, "后面需要一个关键词", id="near-group-right"),
        pytest.param("(个税)~20~退税", 4, "~ 前面需要一个关键词", id="near-group-left"),
        pytest.param("~20~退税", 0, "~ 前面需要一个关键词", id="near-no-left"),
        pytest.param("a~1~b~2~c", 5, "~ 只能连接两个词", id="near-chained"),
        pytest.param("a~5000~b", 2, "太大", id="near-too-far"),
        pytest.param(
            "个税 title:", 3, "“title:” 后面需要关键词或括号", id="title-empty"
        ),
        pytest.param("个税 title:|退税", 3, "后面需要关键词或括号", id="title-then-or"),
        pytest.param(
            "-title:招聘", 0, "至少要有一个要找的词", id="title-only-negative"
        ),
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
