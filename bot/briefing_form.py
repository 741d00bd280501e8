"""导出简报: a briefing as a Word file, filled into `templates/forms/舆情简报.docx`.

The template is built by `scripts/make_briefing_template.py` and may be edited in
Word; this module only fills in values (the two sentences come from
`templates/briefing/docx_*.j2`). It imports docxtpl like `bot.forms` does (kept
apart so the two can change independently); the trend chart is embedded as an
inline picture.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from docx.shared import Cm
from docxtpl import DocxTemplate, InlineImage

from bot.briefing import Briefing
from bot.forms import FormTemplateError
from bot.render import TEMPLATES_DIR, Renderer

log = logging.getLogger(__name__)

BRIEFING_TEMPLATE = TEMPLATES_DIR / "forms" / "舆情简报.docx"


def briefing_docx(
    brief: Briefing,
    out: Path,
    *,
    chart: Path | None,
    title: str,
    section_name: Callable[[str], str],
    names: Mapping[str, str],
    template: Path = BRIEFING_TEMPLATE,
    renderer: Renderer | None = None,
) -> Path:
    """Fill the briefing template with `brief` (and the `chart` PNG); save as `out`.

    Raises:
        FormTemplateError: `template` uses a variable the briefing does not provide.
    """
    renderer = renderer or Renderer()
    doc = DocxTemplate(template)
    p = brief.period
    period = f"{p.start}" if p.start == p.end else f"{p.start} 至 {p.end}"
    sup = brief.supervision.sections if brief.supervision else []
    context = {
        "title": title,
        "period": period,
        "now": brief.now.strftime("%Y-%m-%d %H:%M"),
        "summary": renderer.render("briefing/docx_summary.j2", b=brief),
        "patrol": renderer.render("briefing/docx_patrol.j2", b=brief, names=names),
        "new_tickets": len(brief.new_tickets),
        "open_tickets": brief.open_tickets,
        "chart": InlineImage(doc, str(chart), width=Cm(16)) if chart else "",
        "levels": _rows(brief.by_level),
        "sections": _rows(brief.by_section),
        "sources": _rows(brief.by_source),
        "rules": _rows(brief.by_rule),
        "stories": [
            {
                "id": h.id,
                "level": h.level,
                "title": h.title,
                "source": h.source,
                "copies": h.copy_count,
            }
            for h in brief.top_stories
        ],
        "overdue": [
            {
                "id": t.id,
                "section": section_name(t.section),
                "state": t.state,
                "age": age,
                "title": t.title,
            }
            for t, age in brief.overdue
        ],
        "supervision": [
            {
                "name": s.name,
                "registered": s.registered,
                "instruct": s.instruct.percent,
                "handle": s.handle.percent,
                "overdue": len(s.overdue),
            }
            for s in sup
        ],
    }
    unknown = doc.get_undeclared_template_variables() - context.keys()
    if unknown:
        raise FormTemplateError(template, unknown)
    doc.render(context, autoescape=True)
    buffer = io.BytesIO()
    doc.save(buffer)
    _write_atomic(out, buffer.getvalue())
    log.info("briefing exported start=%s end=%s hits=%d", p.start, p.end, brief.total)
    return out


def _rows(pairs: list[tuple[str, int]]) -> list[dict[str, object]]:
    return [{"name": name, "count": n} for name, n in pairs]


def _write_atomic(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
