"""Early warnings: spike, spread and late-scan detection on synthetic histories with
known answers, and the tick that records each event once, with updates."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from bot.config_briefing import WarningSettings
from bot.errors import ConfigError
from bot.events import Inbound
from bot.models import Hit, HitCopy, SourceState
from bot.warning_notices import warning_tick
from bot.warnings import (
    bucket_counts,
    find_late,
    find_spikes,
    find_spread,
    in_quiet,
    reconcile,
    spike_threshold,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=TZ)
PLAN = WarningSettings()  # 14 buckets of 1d, k = 3, at least 3 hits


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def hit(n: int, ago: timedelta, rule: str = "个税退税", **kw: object) -> Hit:
    fields: dict = {
        "title": f"网友反映个税退税慢 {n}",
        "url": f"https://bbs.example.cn/t/{n}",
        "source": "本地论坛",
        "section": "nfk",
        "rule": rule,
        "level": "一般",
        "found_at": NOW - ago,
        "id": f"H2612-{n}",
    }
    fields.update(kw)
    return Hit(**fields)


def history(per_day: list[int], today: int, rule: str = "个税退税") -> list[Hit]:
    """`per_day` hits on each of the days before today (oldest first), then today."""
    hits, n = [], 0
    days = len(per_day)
    for index, count in enumerate(per_day):
        for _ in range(count):
            n += 1
            hits.append(hit(n, timedelta(days=days - index, hours=2), rule))
    for _ in range(today):
        n += 1
        hits.append(hit(n, timedelta(hours=3), rule))
    return hits


def test_bucket_counts_split_the_window():
    times = [NOW, NOW - timedelta(hours=23), NOW - timedelta(hours=25)]
    times += [NOW - timedelta(days=3, hours=1), NOW - timedelta(days=30)]

    current, past = bucket_counts(times, NOW, timedelta(days=1), 4)

    assert current == 2
    assert past == [0, 1, 0, 1]  # oldest first: 4..3 days ago, ..., 2..1 day ago


def test_spike_threshold_known_answer():
    mean, sd, limit = spike_threshold([2, 4, 4, 4, 5, 5, 7, 9], k=3)

    assert (mean, sd, limit) == (5.0, 2.0, 11.0)


def test_spike_found_over_a_flat_history():
    hits = history([1] * 14, today=6)

    found = {f.subject: f for f in find_spikes(hits, NOW, PLAN)}

    assert set(found) == {"rule:个税退税", "section:nfk"}
    spike = found["rule:个税退税"]
    assert (spike.value, spike.threshold, len(spike.hits)) == (6, 1.0, 6)


def test_no_spike_within_a_noisy_history():
    noisy = [2, 4, 4, 4, 5, 5, 7, 9, 2, 4, 4, 4, 5, 5, 7, 9]
    plan = WarningSettings(window="16d")

    assert find_spikes(history(noisy, today=11), NOW, plan) == []
    assert len(find_spikes(history(noisy, today=12), NOW, plan)) == 2


def test_spike_needs_min_hits_and_skips_false_alarms():
    quiet = history([0] * 14, today=2)
    dismissed = [
        h.__class__(**{**h.__dict__, "dismissed": "误报"})
        for h in history([0] * 14, today=5)
    ]

    assert find_spikes(quiet, NOW, PLAN) == []
    assert find_spikes(dismissed, NOW, PLAN) == []


def copies(
    n: int, sources: int, hours_ago: float, base: datetime = NOW
) -> tuple[HitCopy, ...]:
    at = base - timedelta(hours=hours_ago)
    return tuple(
        HitCopy(f"来源{i % sources}", f"https://m{i}.example.cn/", "转载", at)
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("copied", "expected"),
    [
        (copies(6, 3, 2), True),
        (copies(6, 1, 2), False),  # one other source (plus the first) is not spread
        (copies(4, 4, 2), False),  # too few copies
        (copies(9, 5, 8), False),  # copies older than the 6-hour window
    ],
    ids=["fast", "one-source", "few", "slow"],
)
def test_spread_found_only_when_fast_across_sources(copied, expected):
    story = hit(1, timedelta(hours=10), copies=copied, copy_count=len(copied))

    found = find_spread([story], NOW, PLAN)

    assert bool(found) is expected
    if expected:
        assert (found[0].subject, found[0].value, found[0].level) == (
            "H2612-1",
            6,
            "较大",
        )


def test_late_scan_found_after_interval_and_grace(write_config):
    settings = config.load(
        write_config(
            '\n[[sources]]\nname = "论坛"\nkind = "rss"\n'
            'url = "https://bbs.example.cn/rss"\nsection = "nfk"\nevery = "30m"\n'
        ),
        env={},
    )
    source = settings.sources[0]
    started = NOW - timedelta(hours=5)
    grace = timedelta(minutes=15)

    def late(minutes_ago: int, paused: bool = False) -> list:
        state = SourceState("论坛", last_attempt=NOW - timedelta(minutes=minutes_ago))
        state = SourceState(**{**state.__dict__, "paused": paused})
        return find_late([source], {"论坛": state}, NOW, started, grace)

    assert late(44) == []
    assert [f.value for f in late(46)] == [46]
    assert late(120, paused=True) == []
    assert find_late([source], {}, NOW, NOW - timedelta(minutes=40), grace) == []


def test_reconcile_updates_instead_of_repeating():
    hits = history([1] * 14, today=4)
    first = reconcile("spike", find_spikes(hits, NOW, PLAN), [], NOW)
    opened = [c.warning for c in first]
    later = NOW + timedelta(minutes=5)

    same = reconcile("spike", find_spikes(hits, later, PLAN), opened, later)
    grown = history([1] * 14, today=7)
    more = reconcile("spike", find_spikes(grown, later, PLAN), opened, later)
    gone = reconcile("spike", [], opened, later)

    assert [c.action for c in first] == ["new", "new"]
    assert same == []
    assert [(c.action, c.warning.value, c.warning.updates) for c in more] == [
        ("update", 7, 1),
        ("update", 7, 1),
    ]
    assert [c.action for c in gone] == ["resolve", "resolve"]


def test_quiet_hours_span_midnight():
    quiet = (NOW.time().replace(hour=22), NOW.time().replace(hour=7))

    assert in_quiet(NOW.time().replace(hour=23), quiet)
    assert in_quiet(NOW.time().replace(hour=6, minute=59), quiet)
    assert not in_quiet(NOW.time().replace(hour=7), quiet)
    assert not in_quiet(NOW.time(), None)


@pytest.fixture
def settings(write_config):
    return config.load(write_config(), env={})


async def test_tick_records_a_spike_once_then_updates(settings):
    clock = Clock(NOW)
    async with App.open(settings, clock=clock) as app:
        app.store.hits.add_many(history([1] * 14, today=4))

        first = warning_tick(app, clock(), NOW - timedelta(hours=1))
        again = warning_tick(app, clock(), NOW - timedelta(hours=1))
        app.store.hits.add_many(history([0] * 14, today=3))
        clock.now = NOW + timedelta(minutes=5)
        update = warning_tick(app, clock(), NOW - timedelta(hours=1))

        texts = [str(m.body["text"]) for m in app.outbox.pending()]
        records = app.store.warnings.since(NOW - timedelta(days=1))
    assert (first, again, update) == (4, 0, 4)  # section and office, rule and section
    assert len(records) == 2 and {w.updates for w in records} == {1}
    assert "预警·命中激增" in texts[0] and "<@zhaoliu>" in texts[0]
    assert "规则“个税退税”近 1d 命中 4 条" in texts[0]
    assert "（更新1）" in texts[-1]


async def test_tick_holds_warnings_in_quiet_hours(settings):
    night = NOW.replace(hour=23)
    clock = Clock(night)
    async with App.open(settings, clock=clock) as app:
        spread = copies(6, 3, 0.5, base=night)
        story = hit(1, timedelta(hours=-7), copies=spread, copy_count=6)
        app.store.hits.add(story)
        held = warning_tick(app, clock(), night - timedelta(hours=3))
        clock.now = night + timedelta(hours=8, minutes=5)
        morning = warning_tick(app, clock(), night - timedelta(hours=3))

        texts = [str(m.body["text"]) for m in app.outbox.pending()]
    assert (held, morning) == (0, 2)
    assert "预警·快速扩散" in texts[0] and "登记 H2612-1" in texts[0]


async def test_ticketed_story_spreading_mentions_its_owners(settings):
    clock = Clock(NOW)
    async with App.open(settings, clock=clock) as app:
        story = app.store.hits.add(hit(1, timedelta(hours=1)))
        await app.dispatcher.handle(Inbound("wangwu", f"登记 {story.id} 核实"))
        story = app.store.hits.get(story.id)
        grown = story.__class__(
            **{**story.__dict__, "copies": copies(6, 3, 0.5), "copy_count": 6}
        )
        app.store.hits.save(grown)
        before = len(app.outbox.pending())

        assert warning_tick(app, clock(), NOW - timedelta(hours=3)) == 2
        text = str(app.outbox.pending()[before].body["text"])
    assert "已登记处理单" in text and "<@wangwu>" in text


@pytest.mark.parametrize(
    ("block", "key", "expected"),
    [
        ("k = 0.1", "warning.k", "超出范围"),
        ('window = "2d"', "warning.window", "至少要有 3 个 bucket"),
        ('bucket = "soon"', "warning.bucket", "不是时间间隔"),
        ("spread_copies = 0", "warning.spread_copies", "超出范围"),
        ('intensify_every = "2h"', "warning.intensify_every", "超出范围"),
    ],
    ids=["k", "window", "bucket", "copies", "intensify"],
)
def test_warning_config_errors_name_the_key(write_config, block, key, expected):
    with pytest.raises(ConfigError) as caught:
        config.load(write_config(f"\n[warning]\n{block}\n"), env={})
    assert caught.value.key == key
    assert expected in caught.value.message
