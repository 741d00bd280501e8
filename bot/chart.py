"""The briefing's trend chart: hits per day by level, stacked bars, as a PNG.

The only module that imports matplotlib (Agg backend, no display needed; imported
on first use, as it takes a while). Chinese labels need a CJK font: one installed
on the system is used if found, else the Noto Sans CJK collection shipped by the
``noto-cjk-sans-otc`` package; with neither, labels fall back to English so the
chart never shows empty boxes. Nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)

LEVELS = ("一般", "较大", "重大", "特别重大")
COLOURS = {
    "一般": "#8fb3d9",
    "较大": "#f2c14e",
    "重大": "#f08a24",
    "特别重大": "#c0392b",
}
ASCII_LEVELS = {
    "一般": "minor",
    "较大": "notable",
    "重大": "major",
    "特别重大": "critical",
}
# Families tried first, in order: fonts a bureau's server is likely to have.
SYSTEM_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)
PACKAGED_FAMILY = "Noto Sans CJK SC"


@cache
def cjk_family() -> str | None:
    """The font family for Chinese labels, or None when there is none."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in SYSTEM_FAMILIES:
        if family in names:
            return family
    try:
        import noto_cjk_sans_otc
    except ImportError:
        logger.warning("no CJK font found, chart labels fall back to English")
        return None
    font_manager.fontManager.addfont(str(noto_cjk_sans_otc.FONT_PATH))
    names = {f.name for f in font_manager.fontManager.ttflist}
    return PACKAGED_FAMILY if PACKAGED_FAMILY in names else None


def trend_png(
    rows: list[tuple[date, dict[str, int]]],
    title: str,
    out: Path,
    *,
    family: str | None = "auto",
) -> Path:
    """Draw hits per day by level (`rows` as from `briefing.per_day`) into `out`.

    `family` is the font family; ``"auto"`` picks one (`cjk_family`), None forces
    the English fallback (also used when `title` cannot be shown).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    font = cjk_family() if family == "auto" else family
    labels = (lambda level: level) if font else ASCII_LEVELS.__getitem__
    heading = title if font else "Hits per day by level"
    days = [day for day, _ in rows]
    ticks = [day.strftime("%m-%d") for day in days]

    rc = {"font.family": [font, "DejaVu Sans"]} if font else {}
    with plt.rc_context(rc):
        fig, ax = plt.subplots(
            figsize=(min(10.0, max(6.0, 0.3 * len(days) + 2)), 3.6), dpi=120
        )
        bottom = [0] * len(days)
        for level in LEVELS:
            counts = [counts.get(level, 0) for _, counts in rows]
            ax.bar(
                range(len(days)),
                counts,
                bottom=bottom,
                color=COLOURS[level],
                label=labels(level),
                width=0.7,
            )
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        step = -(-len(days) // 15)  # a month of daily labels would overlap
        ax.set_xticks(range(0, len(days), step), ticks[::step])
        ax.set_ylabel("命中（条）" if font else "hits")
        ax.set_title(heading)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(loc="upper left", frameon=False, ncols=4, fontsize=8)
        ax.set_ylim(0, max([*bottom, 1]) * 1.3)
        fig.tight_layout()
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
        plt.close(fig)
    return out
