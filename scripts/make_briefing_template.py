"""Build templates/forms/舆情简报.docx, the Word template of 导出简报.

An ordinary .docx with docxtpl (jinja2) tags, so a bureau can reword headings or
change the layout in Word; `bot.briefing_form` fills it in. Run again only to
start over from the default layout:

    .venv/bin/python scripts/make_briefing_template.py [OUT]

Layout: A4 portrait, title in 宋体 bold, body in 仿宋, one bordered table per
part; the rows between ``{%tr for %}`` and ``{%tr endfor %}`` repeat per value.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_log_template import _borders, set_fonts  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "templates/forms/舆情简报.docx"

# (heading, column labels, loop variable, value tags)
TABLES = [
    ("一、命中按等级", ("等级", "条数"), "levels", ("{{ r.name }}", "{{ r.count }}")),
    ("二、命中按科室", ("科室", "条数"), "sections", ("{{ r.name }}", "{{ r.count }}")),
    ("三、命中按来源", ("来源", "条数"), "sources", ("{{ r.name }}", "{{ r.count }}")),
    ("四、命中按规则", ("规则", "条数"), "rules", ("{{ r.name }}", "{{ r.count }}")),
    (
        "五、传播最广",
        ("编号", "等级", "标题", "来源", "转载"),
        "stories",
        (
            "{{ r.id }}",
            "{{ r.level }}",
            "{{ r.title }}",
            "{{ r.source }}",
            "{{ r.copies }}",
        ),
    ),
    (
        "六、超期处理单",
        ("编号", "科室", "状态", "超期", "标题"),
        "overdue",
        (
            "{{ r.id }}",
            "{{ r.section }}",
            "{{ r.state }}",
            "{{ r.age }}",
            "{{ r.title }}",
        ),
    ),
    (
        "七、督查",
        ("科室", "登记", "批示按时", "办结按时", "超期"),
        "supervision",
        (
            "{{ r.name }}",
            "{{ r.registered }}",
            "{{ r.instruct }}",
            "{{ r.handle }}",
            "{{ r.overdue }}",
        ),
    ),
]


def build() -> Document:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(11)
    set_fonts(normal.element, "仿宋")
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run("{{ title }}")
    run.bold = True
    run.font.size = Pt(18)
    set_fonts(run._element, "宋体")
    doc.add_paragraph("统计期间：{{ period }}　　统计截至：{{ now }}")
    doc.add_paragraph("{{ summary }}")
    doc.add_paragraph(
        "处理单：本期新登记 {{ new_tickets }} 件，目前未办结 {{ open_tickets }} 件。"
    )
    doc.add_paragraph("巡查：{{ patrol }}")
    doc.add_paragraph("{{ chart }}")
    for heading, labels, loop, tags in TABLES:
        para = doc.add_paragraph()
        para.paragraph_format.space_before = Pt(8)
        para.add_run(heading).bold = True
        _table(doc, labels, loop, tags)
    doc.core_properties.title = "涉税舆情简报"
    doc.core_properties.author = doc.core_properties.last_modified_by = ""
    return doc


def _table(
    doc: Document, labels: tuple[str, ...], loop: str, tags: tuple[str, ...]
) -> None:
    table = doc.add_table(rows=4, cols=len(labels))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _borders(table._tbl)
    header, start, values, end = table.rows
    for cell, label in zip(header.cells, labels, strict=True):
        cell.paragraphs[0].add_run(label).bold = True
    for cell, tag in zip(values.cells, tags, strict=True):
        cell.paragraphs[0].add_run(tag)
    start.cells[0].paragraphs[0].add_run(f"{{%tr for r in {loop} %}}")
    end.cells[0].paragraphs[0].add_run("{%tr endfor %}")


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    build().save(str(out))
    print(f"已生成 {out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
