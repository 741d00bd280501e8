"""The briefing trend chart: a PNG with Chinese labels, or English without a font."""

from __future__ import annotations

from datetime import date, timedelta

from bot import chart

ROWS = [
    (
        date(2026, 11, 1) + timedelta(days=n),
        {"一般": n % 5, "较大": n % 3, "重大": n % 7 == 0, "特别重大": 0},
    )
    for n in range(30)
]


def test_a_cjk_font_is_found_without_downloading():
    assert chart.cjk_family() is not None


def test_trend_chart_is_a_png(tmp_path):
    out = chart.trend_png(ROWS, "舆情月报 每日命中", tmp_path / "趋势.png")

    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_trend_chart_falls_back_to_english_labels(tmp_path):
    out = chart.trend_png(ROWS[:5], "无字体", tmp_path / "plain.png", family=None)

    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
