"""Build templates/forms/监控日志.docx, the Word template of the monthly patrol log.

An ordinary .docx with docxtpl (jinja2) tags, so a bureau can reword the title and
column labels or change the layout in Word; `bot.forms.patrol_log` fills it in.
Run this script again only to start over from the default layout:

    .venv/bin/python scripts/make_log_template.py [OUT]

Layout: A4 landscape with 2 cm margins, title in 宋体 小二 bold, body in 仿宋 五号,
one bordered table whose header row repeats on every page; the rows between the
``{%tr for %}`` and ``{%tr endfor %}`` marker rows repeat once per log line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

OUT = Path(__file__).resolve().parent.parent / "templates/forms/监控日志.docx"

BODY_FONT = "仿宋"
TITLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
MARGIN = Cm(2.0)
TEXT_WIDTH = Cm(29.7 - 4.0)

# (label, width in cm, the value's tag); widths add up to TEXT_WIDTH.
COLUMNS = [
    ("日期", 2.4, "{{ r.date }}"),
    ("时间", 1.5, "{{ r.time }}"),
    ("监控人员", 2.6, "{{ r.monitor }}"),
    ("巡查范围", 5.8, "{{ r.scope }}"),
    ("发现情况", 5.8, "{{ r.findings }}"),
    ("处理情况", 4.0, "{{ r.handling }}"),
    ("备注", 3.6, "{{ r.note }}"),
]


def set_fonts(element: object, east_asia: str) -> None:
    """Name the Latin and East Asian fonts (Word reads Chinese from w:eastAsia)."""
    rpr = element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(slot), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asia)


def build() -> Document:
    doc = Document()
    _page_setup(doc)
    _base_style(doc)
    _title(doc)
    _header_line(doc)
    _table(doc)
    _signatures(doc)
    props = doc.core_properties
    props.title = "涉税舆情监控日志"
    props.author = props.last_modified_by = ""
    props.comments = ""
    return doc


def _page_setup(doc: Document) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    section.top_margin = section.bottom_margin = MARGIN
    section.left_margin = section.right_margin = MARGIN


def _base_style(doc: Document) -> None:
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10.5)  # 五号
    set_fonts(normal.element, BODY_FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    fmt = normal.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = 1.15


def _title(doc: Document) -> None:
    para = doc.add_paragraph()
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.paragraph_format.space_after = Pt(10)
    run = para.add_run("涉税舆情监控日志")
    run.bold = True
    run.font.size = Pt(18)  # 小二
    set_fonts(run._element, TITLE_FONT)


def _header_line(doc: Document) -> None:
    para = doc.add_paragraph()
    para.paragraph_format.space_after = Pt(4)
    para.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    para.add_run("科室：{{ section }}\t月份：{{ month }}").font.size = Pt(12)


def _table(doc: Document) -> None:
    table = doc.add_table(rows=4, cols=len(COLUMNS))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    width = table._tbl.tblPr.first_child_found_in("w:tblW")
    width.set(qn("w:type"), "dxa")
    width.set(qn("w:w"), str(TEXT_WIDTH.twips))
    _borders(table._tbl)
    widths = [Cm(w) for _, w, _ in COLUMNS]
    for column, w in zip(table.columns, widths, strict=True):
        column.width = w
    header, loop, values, end = table.rows
    # Repeat the column labels at the top of every page.
    header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for row in table.rows:
        for cell, w in zip(row.cells, widths, strict=True):
            cell.width = w
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    for cell, (label, _, _) in zip(header.cells, COLUMNS, strict=True):
        para = cell.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.add_run(label).bold = True
    for index, (cell, (_, _, tag)) in enumerate(
        zip(values.cells, COLUMNS, strict=True)
    ):
        para = cell.paragraphs[0]
        if index < 3:  # short values: date, time, name
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.add_run(tag)
    loop.cells[0].paragraphs[0].add_run("{%tr for r in rows %}")
    end.cells[0].paragraphs[0].add_run("{%tr endfor %}")


def _borders(tbl: object) -> None:
    """Single lines, heavier outside (1.5 pt) than inside (0.5 pt)."""
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        line = OxmlElement(f"w:{side}")
        line.set(qn("w:val"), "single")
        line.set(qn("w:sz"), "4" if side.startswith("inside") else "12")
        line.set(qn("w:space"), "0")
        line.set(qn("w:color"), "000000")
        borders.append(line)
    # Word rejects a table whose properties are out of schema order.
    tbl.tblPr.insert_element_before(  # type: ignore[attr-defined]
        borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook"
    )


def _signatures(doc: Document) -> None:
    para = doc.add_paragraph()
    para.paragraph_format.space_before = Pt(12)
    para.paragraph_format.tab_stops.add_tab_stop(Cm(12), WD_TAB_ALIGNMENT.LEFT)
    para.add_run("科室负责人（签字）：\t办公室督查（签字）：").font.size = Pt(12)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    build().save(str(out))
    print(f"已生成 {out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
