import logging

import pytest

from bot import matching
from bot.matching import RuleSet, tokenize
from bot.rules import Matcher, Prepared, compile_expr

RULES = [
    ("退税", "个税 退税 -招聘"),
    ("发票投诉", "(发票 | 税务局) (投诉 | 举报)"),
    ("槽位", '("社保费" | "个税") & ("某区" | "城关区") & ("乱收费") & !("招聘")'),
    ("标题", "title:(暴力执法 | 维权) 税务"),
    ("近邻", "税务局~10~暴力执法"),
    ("正则", r"税务局 /1[3-9]\d{9}/"),
    ("纯正则", r"/退.{0,2}税款/"),
    ("短语", '"税务 稽查" -培训'),
    ("重叠", "税务局 税务"),
]

ITEMS = [
    pytest.param("个税退税进度", "", id="title-only-item"),
    pytest.param("个税退税", "专员招聘", id="excluded-in-body"),
    pytest.param("网友实名举报", "某税务局发票开具问题", id="groups-across-fields"),
    pytest.param("城关区社保费", "乱收费问题反映", id="slot-form"),
    pytest.param("城关区社保费乱收费", "招聘公告", id="slot-form-excluded"),
    pytest.param("税务暴力执法", "", id="title-scope-hit"),
    pytest.param("情况通报", "暴力执法 税务", id="title-scope-miss"),
    pytest.param("", "某税务局被指暴力执法", id="near-hit"),
    pytest.param("", "税务局，相隔很远很远很远很远的文字，暴力执法", id="near-miss"),
    pytest.param("税务局热线", "请拨13812345678", id="regex-hit"),
    pytest.param("", "请拨13812345678", id="regex-without-term"),
    pytest.param("", "终于退回税款了", id="bare-regex"),
    pytest.param("关于  税务   稽查", "", id="phrase-with-spaces"),
    pytest.param("ＥＴＣ发票", "投诉", id="full-width"),
    pytest.param("今天天气不错", "适合出门散步", id="nothing"),
    pytest.param("", "", id="empty-item"),
]


def _rule_set() -> tuple[RuleSet, list[tuple[str, Matcher]]]:
    compiled = [(name, compile_expr(expr)) for name, expr in RULES]
    return RuleSet(compiled), compiled


@pytest.mark.parametrize(("title", "text"), ITEMS)
def test_ruleset_match_agrees_with_each_matcher(title, text):
    ruleset, compiled = _rule_set()
    expected = [
        (name, found)
        for name, matcher in compiled
        if (found := matcher.match(title, text)) is not None
    ]

    result = ruleset.match(title, text)

    assert result == expected


def test_ruleset_match_keeps_the_rule_order():
    ruleset = RuleSet(
        [
            ("c", compile_expr("投诉")),
            ("a", compile_expr("发票 投诉")),
            ("b", compile_expr("/发.?票/")),
        ]
    )

    result = ruleset.match("发票投诉", "")

    assert [name for name, _ in result] == ["c", "a", "b"]


def test_ruleset_match_reports_terms_and_spans():
    ruleset = RuleSet([("发票投诉", compile_expr("(发票 | 税务局) 投诉"))])

    result = ruleset.match("某税务局", "网友投诉发票")

    ((name, found),) = result
    assert name == "发票投诉"
    assert found.terms == ("发票", "税务局", "投诉")
    assert found.spans == (("text", 2, 4), ("text", 4, 6), ("title", 1, 4))


def test_ruleset_match_with_no_rules_finds_nothing():
    ruleset = RuleSet([])

    assert ruleset.match("个税", "退税") == []


def test_ruleset_evaluates_only_rules_whose_trigger_was_found(monkeypatch):
    rules = [(f"r{n}", compile_expr(f"地区{n} (投诉 | 举报)")) for n in range(200)]
    ruleset = RuleSet(rules)
    evaluated: list[str] = []
    original = Matcher.match_prepared

    def spy(self: Matcher, item: Prepared):
        evaluated.append(self.expr)
        return original(self, item)

    monkeypatch.setattr(Matcher, "match_prepared", spy)

    result = ruleset.match("地区7 有人投诉", "")
    quiet = ruleset.match("网友投诉举报", "")

    assert [name for name, _ in result] == ["r7"]
    assert evaluated == ["地区7 (投诉 | 举报)"]
    assert quiet == []


def test_ruleset_trigger_prefers_the_rarer_required_term(monkeypatch):
    common = [(f"c{n}", compile_expr(f"个税 事件{n}")) for n in range(50)]
    ruleset = RuleSet(common)
    evaluated: list[str] = []
    original = Matcher.match_prepared

    def spy(self: Matcher, item: Prepared):
        evaluated.append(self.expr)
        return original(self, item)

    monkeypatch.setattr(Matcher, "match_prepared", spy)

    ruleset.match("个税汇算开始了", "")

    assert evaluated == []


@pytest.mark.parametrize(
    ("title", "text"),
    [
        pytest.param("发票退了税", "", id="term-missing"),
        pytest.param("发票退了税", "个税", id="title-term-in-body-only"),
    ],
)
def test_ruleset_skips_the_regex_when_a_literal_term_fails(monkeypatch, title, text):
    ruleset = RuleSet([("正则", compile_expr(r"发票 title:个税 /退.税/"))])
    searched: list[str] = []
    original = Prepared.has_regex

    def spy(self: Prepared, pattern, title_only):
        searched.append(pattern.pattern)
        return original(self, pattern, title_only)

    monkeypatch.setattr(Prepared, "has_regex", spy)

    result = ruleset.match(title, text)

    assert result == []
    assert searched == []


def test_ruleset_runs_the_regex_once_the_literal_terms_are_present(monkeypatch):
    ruleset = RuleSet([("正则", compile_expr(r"发票 title:个税 /退.税/"))])
    searched: list[str] = []
    original = Prepared.has_regex

    def spy(self: Prepared, pattern, title_only):
        searched.append(pattern.pattern)
        return original(self, pattern, title_only)

    monkeypatch.setattr(Prepared, "has_regex", spy)

    result = ruleset.match("个税发票退了税", "")

    assert [name for name, _ in result] == ["正则"]
    assert searched == ["退.税"]


def test_ruleset_names_rules_without_a_literal_trigger():
    ruleset = RuleSet(
        [
            ("字面", compile_expr("个税")),
            ("正则", compile_expr("/退.税/")),
            ("或正则", compile_expr("个税 | /退.税/")),
        ]
    )

    assert ruleset.always_evaluated == ["正则", "或正则"]


def test_ruleset_title_only_term_in_body_does_not_match():
    ruleset = RuleSet([("标题", compile_expr("title:个税 投诉"))])

    result = ruleset.match("投诉", "个税")

    assert result == []


def test_tokenize_keeps_extra_words_whole():
    text = "城关区税务局被指乱收费"

    plain = tokenize(text)
    extended = tokenize(text, ["被指乱收费"])

    assert "被指乱收费" not in plain
    assert "被指乱收费" in extended


def test_tokenize_normalises_and_drops_punctuation():
    tokens = tokenize("ＥＴＣ发票，开不出来！！  ")

    assert tokens[0] == "etc"
    assert "，" not in tokens and "！" not in tokens and " " not in tokens


def test_tokenize_loads_jieba_silently(monkeypatch, capfd, caplog):
    monkeypatch.setattr(matching, "_tokenizer", None)
    caplog.set_level(logging.DEBUG)

    tokens = tokenize("个税退税")

    out, err = capfd.readouterr()
    assert tokens
    assert out == "" and err == ""
    assert not [r for r in caplog.records if r.name.startswith("jieba")]
