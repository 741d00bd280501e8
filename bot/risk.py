"""Risk score (0-100) and level for a hit, with the reasons that produced them.

Factors: sensitive and negative words (softened by a negation just before them,
amplified by a degree word), engagement counts, how many places carry the story
and how fast new copies arrive (`GROWTH_HOURS`), and the source's weight. The
word lists are plain text files in `lexicon/` that a bureau edits. The rule's
configured level is a floor: the score can raise a hit's level, never lower it.
Tokenising is left to the caller (`bot.matching.tokenize`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bot.config import LEVELS
from bot.errors import ConfigError

LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicon"

# Score thresholds for 较大, 重大, 特别重大.
THRESHOLDS = ((85, "特别重大"), (65, "重大"), (40, "较大"))
_BASE = 10
_WINDOW = 3  # tokens before a word in which negation and degree words count
_CAP_SENSITIVE = 45
_CAP_NEGATIVE = 20
_CAP_ENGAGEMENT = 15
_CAP_COPIES = 15
_CAP_GROWTH = 10
GROWTH_HOURS = 6  # copies found within this many hours count as fast spread
_GROWTH_FROM = 3  # fewer recent copies than this is ordinary reposting


@dataclass(frozen=True)
class Lexicon:
    """The word lists: sensitive and negative words with weights, modifiers."""

    sensitive: dict[str, float]
    negative: dict[str, float]
    negation: frozenset[str]
    degree: dict[str, float]

    @classmethod
    def load(cls, directory: Path = LEXICON_DIR) -> Lexicon:
        return cls(
            sensitive=_weights(directory / "sensitive.txt", 15),
            negative=_weights(directory / "negative.txt", 5),
            negation=frozenset(_weights(directory / "negation.txt", 0)),
            degree=_weights(directory / "degree.txt", 1.5),
        )

    def words(self) -> list[str]:
        """Every listed word, so the tokenizer never splits one."""
        return [*self.sensitive, *self.negative, *self.negation, *self.degree]


@dataclass(frozen=True)
class Assessment:
    score: int
    level: str
    reasons: tuple[str, ...]


def assess(
    tokens: list[str],
    lexicon: Lexicon,
    *,
    rule_level: str = "一般",
    source_weight: float = 1.0,
    reposts: int | None = None,
    comments: int | None = None,
    likes: int | None = None,
    copies: int = 0,
    recent_copies: int = 0,
) -> Assessment:
    """Score one hit's text (as tokens) and context; explain every factor.

    `copies` counts every other place carrying the story; `recent_copies` those
    found in the last `GROWTH_HOURS` hours, so a story spreading now scores
    higher than one that collected the same copies over a week.
    """
    reasons: list[str] = []
    sensitive = _word_points(tokens, lexicon.sensitive, lexicon, _CAP_SENSITIVE)
    negative = _word_points(tokens, lexicon.negative, lexicon, _CAP_NEGATIVE)
    total = float(_BASE)
    for label, (points, words) in (("敏感词", sensitive), ("负面词", negative)):
        if words:
            total += points
            reasons.append(f"{label}：{'、'.join(words)}（{points:+.0f}）")

    engagement = (reposts or 0) * 2 + (comments or 0) + (likes or 0) * 0.2
    if engagement:
        bonus = min(_CAP_ENGAGEMENT, 4 * math.log10(1 + engagement))
        total += bonus
        counts = [
            f"{name} {value}"
            for name, value in (("转发", reposts), ("评论", comments), ("点赞", likes))
            if value
        ]
        reasons.append(f"互动：{'、'.join(counts)}（{bonus:+.0f}）")
    if copies:
        bonus = min(_CAP_COPIES, 5 * math.log2(1 + copies))
        total += bonus
        reasons.append(f"另有 {copies} 处转载（{bonus:+.0f}）")
    if recent_copies >= _GROWTH_FROM:
        bonus = min(_CAP_GROWTH, 2 * recent_copies)
        total += bonus
        reasons.append(
            f"扩散快：近 {GROWTH_HOURS} 小时新增 {recent_copies} 处转载（{bonus:+.0f}）"
        )
    if source_weight != 1.0:
        total *= source_weight
        reasons.append(f"来源权重 ×{source_weight:g}")

    score = max(0, min(100, round(total)))
    level = _level_for(score)
    if LEVELS.index(rule_level) > LEVELS.index(level):
        level = rule_level
        reasons.append(f"规则设定等级不低于{rule_level}")
    return Assessment(score, level, tuple(reasons))


def _level_for(score: int) -> str:
    return next((level for limit, level in THRESHOLDS if score >= limit), "一般")


def _word_points(
    tokens: list[str], weights: dict[str, float], lexicon: Lexicon, cap: float
) -> tuple[float, list[str]]:
    points = 0.0
    found: list[str] = []
    for i, token in enumerate(tokens):
        weight = weights.get(token)
        if weight is None:
            continue
        before = tokens[max(0, i - _WINDOW) : i]
        if any(t in lexicon.negation for t in before):
            weight *= -0.5
            found.append(f"{token}(否定)")
        else:
            for t in before:
                weight *= lexicon.degree.get(t, 1.0)
            found.append(token)
        points += weight
    return max(0.0, min(cap, points)), list(dict.fromkeys(found))


def _weights(path: Path, default: float) -> dict[str, float]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            path, "", f"词表无法读取（{exc}）；应为 UTF-8 文本文件"
        ) from None
    table: dict[str, float] = {}
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, value = line.partition(" ")
        try:
            table[word] = float(value) if value.strip() else default
        except ValueError:
            raise ConfigError(
                path,
                f"第 {number} 行",
                f"“{value.strip()}”不是数字；应写成“词 分值”，如“维权 20”",
            ) from None
    return table
