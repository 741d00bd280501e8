from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.risk import Lexicon, assess

LEXICON = Lexicon.load()


def test_risk_plain_match_is_ordinary():
    verdict = assess(["税务局", "发布", "通知"], LEXICON)

    assert verdict.level == "一般"
    assert verdict.score == 10
    assert verdict.reasons == ()


def test_risk_sensitive_and_negative_words_raise_level_with_reasons():
    tokens = ["纳税人", "维权", "称", "税务局", "暴力执法", "非常", "愤怒"]

    verdict = assess(tokens, LEXICON)

    assert verdict.level == "较大"
    assert any(r.startswith("敏感词：维权、暴力执法") for r in verdict.reasons)
    assert any("负面词：愤怒" in r for r in verdict.reasons)


def test_risk_negation_softens_word():
    plain = assess(["存在", "乱收费"], LEXICON)
    negated = assess(["没有", "乱收费"], LEXICON)

    assert negated.score < plain.score
    assert any("乱收费(否定)" in r for r in negated.reasons)


def test_risk_degree_word_amplifies():
    plain = assess(["纳税人", "不满"], LEXICON)
    strong = assess(["纳税人", "非常", "不满"], LEXICON)

    assert strong.score > plain.score


def test_risk_engagement_copies_and_weight_add_up_to_major():
    tokens = ["群体", "上访", "维权"]

    verdict = assess(
        tokens, LEXICON, reposts=5000, comments=800, copies=6, source_weight=1.5
    )

    assert verdict.level in ("重大", "特别重大")
    assert any(r.startswith("互动：转发 5000、评论 800") for r in verdict.reasons)
    assert any("另有 6 处转载" in r for r in verdict.reasons)
    assert "来源权重 ×1.5" in verdict.reasons


def test_risk_fast_spread_scores_above_slow_spread():
    tokens = ["纳税人", "投诉", "退税"]

    slow = assess(tokens, LEXICON, copies=5, recent_copies=1)
    fast = assess(tokens, LEXICON, copies=5, recent_copies=5)

    assert fast.score == slow.score + 10
    assert "扩散快：近 6 小时新增 5 处转载（+10）" in fast.reasons
    assert not any(r.startswith("扩散快") for r in slow.reasons)


def test_risk_rule_level_is_a_floor():
    verdict = assess(["发布", "通知"], LEXICON, rule_level="重大")

    assert verdict.level == "重大"
    assert "规则设定等级不低于重大" in verdict.reasons


@pytest.mark.parametrize("score_words", [["暴力执法"] * 10])
def test_risk_score_capped_at_100(score_words):
    verdict = assess(score_words, LEXICON, reposts=10**9, copies=10**6, source_weight=5)

    assert verdict.score == 100
    assert verdict.level == "特别重大"


def test_risk_bad_weight_in_word_list_names_file_and_line(tmp_path: Path):
    for name in ("negative.txt", "negation.txt", "degree.txt"):
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "sensitive.txt").write_text("# 注释\n维权 二十\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        Lexicon.load(tmp_path)

    assert "sensitive.txt" in str(caught.value)
    assert caught.value.key == "第 2 行"
    assert "“二十”不是数字" in str(caught.value)
