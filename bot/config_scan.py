"""Scanning settings: sources, keyword rules, and the `[http]`, `[scan]` and
`[risk]` tables, with their range checks.

Part of the configuration loaded by `bot.config` (which re-exports these names);
what the values mean for crawling, matching and scoring is left to those modules.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bot.errors import ConfigError

LEVELS = ("一般", "较大", "重大", "特别重大")
SOURCE_KINDS = ("rss", "html", "json", "search")

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """Parse ``"90s"``, ``"30m"``, ``"2h"`` or ``"1d"``; raise ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(text)
    return timedelta(seconds=int(match[1]) * _DURATION_UNITS[match[2]])


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    url: str
    section: str
    every: str = "30m"
    enabled: bool = True
    weight: float = 1.0
    expect_new_within: str = ""
    charset: str = ""
    # html: CSS selectors (XPath when starting with "/" or "("); json: dotted paths.
    item: str = ""
    title: str = ""
    link: str = ""
    time: str = ""
    summary: str = ""
    content: str = ""
    reposts: str = ""
    comments: str = ""
    likes: str = ""
    # search: how the result page is read ("rss", "html" or "json").
    format: str = "rss"
    rules: tuple[str, ...] = ()

    @property
    def interval(self) -> timedelta:
        return parse_duration(self.every)

    @property
    def silence_limit(self) -> timedelta | None:
        """How long without new items before the source counts as silent."""
        return (
            parse_duration(self.expect_new_within) if self.expect_new_within else None
        )

    def check(self, key: str, file: Path) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ConfigError(
                file,
                f"{key}.kind",
                f'"{self.kind}" 不是支持的来源类型，'
                f"应为 {'、'.join(SOURCE_KINDS)} 之一",
            )
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                file,
                f"{key}.url",
                f'"{self.url}" 不是网址，应以 http:// 或 https:// 开头',
            )
        try:
            interval = self.interval
        except ValueError:
            raise ConfigError(
                file,
                f"{key}.every",
                f'"{self.every}" 不是时间间隔，应如 "90s"、"30m"、"2h"、"1d"',
            ) from None
        if not timedelta(minutes=1) <= interval <= timedelta(days=7):
            raise ConfigError(
                file, f"{key}.every", f'"{self.every}" 超出范围，应在 1 分钟到 7 天之间'
            )
        self._check_kind_fields(key, file)

    def _check_kind_fields(self, key: str, file: Path) -> None:
        if not 0.1 <= self.weight <= 5:
            raise ConfigError(
                file, f"{key}.weight", f"{self.weight} 超出范围，应在 0.1 到 5 之间"
            )
        if self.expect_new_within:
            try:
                _ = self.silence_limit
            except ValueError:
                raise ConfigError(
                    file,
                    f"{key}.expect_new_within",
                    f'"{self.expect_new_within}" 不是时间间隔，应如 "12h"、"3d"',
                ) from None
        if self.charset:
            try:
                codecs.lookup(self.charset)
            except LookupError:
                raise ConfigError(
                    file,
                    f"{key}.charset",
                    f'未知的字符集 "{self.charset}"，应如 "utf-8"、"gbk"',
                ) from None
        if self.kind == "html" or (self.kind == "search" and self.format == "html"):
            for name in ("item", "title"):
                if not getattr(self, name):
                    raise ConfigError(
                        file,
                        f"{key}.{name}",
                        "网页类来源必须配置此选择器（CSS 或 XPath）",
                    )
        if self.kind == "json" or (self.kind == "search" and self.format == "json"):
            for name in ("item", "title"):
                if not getattr(self, name):
                    raise ConfigError(
                        file,
                        f"{key}.{name}",
                        'JSON 类来源必须配置此字段路径，如 "data.list"',
                    )
        if self.kind == "search":
            if "{q}" not in self.url:
                raise ConfigError(
                    file,
                    f"{key}.url",
                    "搜索类来源的网址中必须有 {q}，代表要搜索的关键词",
                )
            if self.format not in ("rss", "html", "json"):
                raise ConfigError(
                    file,
                    f"{key}.format",
                    f'"{self.format}" 无效，应为 rss、html 或 json',
                )


@dataclass(frozen=True)
class Rule:
    """A keyword rule: an expression, or the trade's slot form (主体/地域/事件/排除)."""

    name: str
    section: str
    expr: str = ""
    level: str = "一般"
    subject: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    event: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def expression(self) -> str:
        """The rule as one expression; slots become ``(s) & (r) & (e) & !(x)``."""
        if self.expr:
            return self.expr
        parts = [
            _any_of(words) for words in (self.subject, self.region, self.event) if words
        ]
        if self.exclude:
            parts.append("!" + _any_of(self.exclude))
        return " & ".join(parts)

    def check(self, key: str, file: Path) -> None:
        from bot.rules import RuleSyntaxError, compile_expr

        slots = self.subject or self.region or self.event or self.exclude
        if self.expr and slots:
            raise ConfigError(
                file, f"{key}.expr", "expr 与 subject/region/event/exclude 只能二选一"
            )
        if not self.expr and not self.subject:
            raise ConfigError(
                file,
                f"{key}.expr",
                "缺少关键词：请写 expr，或用 subject（主体词）等分槽写法",
            )
        field = "expr" if self.expr else "subject"
        try:
            compile_expr(self.expression)
        except RuleSyntaxError as exc:
            raise ConfigError(
                file,
                f"{key}.{field}",
                f'规则“{self.name}”的关键词表达式 "{self.expression}" 有误：{exc}',
            ) from None
        if self.level not in LEVELS:
            raise ConfigError(
                file,
                f"{key}.level",
                f'"{self.level}" 不是风险等级，应为 {"、".join(LEVELS)} 之一',
            )


def _any_of(words: tuple[str, ...]) -> str:
    quoted = ('"' + w.replace('"', "") + '"' for w in words if w.strip())
    return "(" + " | ".join(quoted) + ")"


@dataclass(frozen=True)
class HttpSettings:
    """How sources are fetched."""

    user_agent: str = "Mozilla/5.0 (compatible; shuiwu-yuqing-bot/0.1)"
    proxy: str = ""
    timeout_s: float = 15.0
    max_bytes: int = 5_000_000
    per_host_concurrency: int = 2
    per_host_delay_s: float = 1.0
    retries: int = 2

    def check(self, key: str, file: Path) -> None:
        if not self.user_agent.isascii():
            raise ConfigError(
                file, f"{key}.user_agent", "只能包含英文字符（HTTP 头不支持中文）"
            )
        if self.proxy and not self.proxy.startswith(
            ("http://", "https://", "socks5://")
        ):
            raise ConfigError(file, f"{key}.proxy", "应如 http://10.0.0.1:3128")
        checks = (
            ("timeout_s", 1, 120),
            ("max_bytes", 10_000, 100_000_000),
            ("per_host_concurrency", 1, 16),
            ("per_host_delay_s", 0, 60),
            ("retries", 0, 5),
        )
        for name, low, high in checks:
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(
                    file,
                    f"{key}.{name}",
                    f"{value} 超出范围，应在 {low} 到 {high} 之间",
                )


@dataclass(frozen=True)
class ScanSettings:
    """What counts as new, how long items are kept, which sources may be added."""

    max_item_age: str = "7d"
    seen_retention: str = "60d"
    failures_before_alert: int = 3
    item_retention: str = "14d"  # archived items, for 测试关键词 (at least 7d)
    allow_private_sources: bool = False  # chat-added sources on private addresses
    hit_retention: str = "365d"  # whole months of hits older than this are dropped

    def check(self, key: str, file: Path) -> None:
        durations = ("max_item_age", "seen_retention", "item_retention")
        for name in (*durations, "hit_retention"):
            try:
                parse_duration(getattr(self, name))
            except ValueError:
                raise ConfigError(
                    file, f"{key}.{name}", '应为时间间隔，如 "7d"'
                ) from None
        if parse_duration(self.item_retention) < timedelta(days=7):
            raise ConfigError(
                file,
                f"{key}.item_retention",
                f'"{self.item_retention}" 太短：“测试关键词”要用近 7 天的条目，'
                '应至少为 "7d"',
            )
        if parse_duration(self.hit_retention) < timedelta(days=90):
            raise ConfigError(
                file,
                f"{key}.hit_retention",
                f'"{self.hit_retention}" 太短：督查要用到上月的命中，应至少为 "90d"',
            )
        if not 1 <= self.failures_before_alert <= 100:
            raise ConfigError(
                file, f"{key}.failures_before_alert", "应在 1 到 100 之间"
            )


@dataclass(frozen=True)
class RiskSettings:
    """Where the risk word lists live (empty: the shipped `lexicon/`)."""

    lexicon_dir: str = ""

    def check(self, key: str, file: Path) -> None:
        path = Path(self.lexicon_dir)
        if self.lexicon_dir and not (file.parent / path).is_dir():
            raise ConfigError(file, f"{key}.lexicon_dir", f"目录 {path} 不存在")
