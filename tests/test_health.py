from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.health import after_failure, after_success
from bot.models import SourceState

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def fail_times(state: SourceState, n: int, threshold: int = 3):
    events = []
    for i in range(n):
        state, event = after_failure(
            state, T0 + timedelta(minutes=i), "超时", threshold
        )
        events.append(event)
    return state, events


def test_health_alerts_once_when_failures_reach_threshold():
    state, events = fail_times(SourceState("要闻"), 5)

    kinds = [e.kind if e else None for e in events]
    assert kinds == [None, None, "failing", None, None]
    assert events[2].failures == 3 and events[2].error == "超时"
    assert state.alert == "failing"


def test_health_recovery_after_alert_only():
    alerted, _ = fail_times(SourceState("要闻"), 3)
    quiet, _ = fail_times(SourceState("要闻"), 2)

    after_alert, event = after_success(alerted, T0 + timedelta(hours=1), 2, None)
    after_blip, no_event = after_success(quiet, T0 + timedelta(hours=1), 2, None)

    assert event is not None and event.kind == "recovered"
    assert after_alert.alert == "" and after_alert.consecutive_failures == 0
    assert no_event is None and after_blip.consecutive_failures == 0


def test_health_silence_alert_then_resumed():
    limit = timedelta(days=1)
    state, _ = after_success(SourceState("留言板"), T0, 4, limit)

    state, quiet_event = after_success(state, T0 + timedelta(days=2), 0, limit)
    state, repeat = after_success(state, T0 + timedelta(days=3), 0, limit)
    state, resumed = after_success(state, T0 + timedelta(days=3, hours=1), 1, limit)

    assert quiet_event is not None and quiet_event.kind == "silent"
    assert quiet_event.quiet_for == timedelta(days=2)
    assert repeat is None
    assert resumed is not None and resumed.kind == "resumed"
    assert state.alert == ""


def test_health_first_success_starts_silence_clock():
    state, event = after_success(SourceState("新来源"), T0, 0, timedelta(hours=1))

    assert event is None
    assert state.last_new_item == T0
