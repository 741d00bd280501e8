"""Build templates/forms/监控处理单.docx, the Word template of the handling ticket.

The result is an ordinary .docx with docxtpl (jinja2) tags in its cells, so a bureau
can reword labels or move things around in Word; `bot.forms` fills it in. Run this
script again only to start over from the default layout:

    .venv/bin/python scripts/make_form_template.py [OUT]

Layout: A4 with 2.5 cm margins so a usual case fits one page, title in 宋体 小二 bold,
body in 仿宋 小四, a bordered two-column table whose label column is 3.2 cm wide.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.table import (
    WD_CELL_VERTICAL_ALIGNMENT,
    WD_ROW_HEIGHT_RULE,
    WD_TABLE_ALIGNMENT,
)
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import _Cell

OUT = Path(__file__).resolve().parent.parent / "templates/forms/监控处理单.docx"

BODY_FONT = "仿宋"
TITLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
LABEL_WIDTH = Cm(3.2)
TEXT_WIDTH = Cm(21 - 2.6 - 2.6)

EVIDENCE = (
    "{% if e.sha256 %}留证：已于 {{ e.fetched_at }} 抓取原网页，SHA-256 {{ e.sha256 }}"
    "{% if e.note %}（{{ e.note }}）{% endif %}"
    '{% else %}留证：{{ e.note or "未留存原网页" }}{% endif %}'
)

# (label, minimum row height in cm, paragraphs of the value cell). A paragraph is a
# tag string, or (text, "right") for a signature line, or (text, "small").
ROWS: list[tuple[str, float, list[str | tuple[str, str]]]] = [
    ("编号", 0.8, ["{{ number }}"]),
    ("科室", 0.8, ["{{ section }}"]),
    ("监控人员", 0.8, ["{{ monitor }}"]),
    ("发现时间", 0.8, ["{{ found_at }}"]),
    ("风险等级", 0.8, ["{{ level }}"]),
    ("来源", 0.8, ["{{ source }}"]),
    ("标题", 1.0, ["{{ title }}"]),
    (
        "网址",
        1.0,
        [
            "{{ url }}",
            ("{%p for e in evidence %}", "small"),
            (EVIDENCE, "small"),
            ("{%p endfor %}", "small"),
        ],
    ),
    ("原文摘要", 2.5, ["{{ summary }}"]),
    ("拟处理意见", 1.8, ["{{ proposal }}"]),
    (
        "科室负责人批示",
        2.2,
        [
            "{{ instruction }}",
            ("批示人：{{ instructed_by }}　时间：{{ instructed_at }}", "right"),
        ],
    ),
    ("办公室处理意见", 1.8, ["{{ office_opinion }}"]),
    ("处理结果", 1.8, ["{{ result }}"]),
    ("上报情况", 1.4, ["{{ reported }}", ("上报时间：{{ reported_at }}", "right")]),
    ("归档时间", 0.8, ["{{ archived_at }}"]),
]


def set_fonts(element: object, east_asia: str) -> None:
    """Name the Latin and the East Asian font of a style's or run's properties.

    python-docx's ``font.name`` sets only the Latin slots; Word picks the font of
    Chinese characters from ``w:eastAsia``.
    """
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
    props = doc.core_properties
    props.title = "涉税舆情监控处理单"
    props.author = props.last_modified_by = ""
    props.comments = ""
    return doc


def _page_setup(doc: Document) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2.5)
    section.left_margin = section.right_margin = Cm(2.6)


def _base_style(doc: Document) -> None:
    normal = doc.styles["Normal"]
    normal.font.size = Pt(12)
    set_fonts(normal.element, BODY_FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    fmt = normal.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = 1.2


def _title(doc: Document) -> None:
    para = doc.add_paragraph()
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.paragraph_format.space_after = Pt(12)
    run = para.add_run("涉税舆情监控处理单")
    run.bold = True
    run.font.size = Pt(18)  # 小二
    set_fonts(run._element, TITLE_FONT)


def _header_line(doc: Document) -> None:
    para = doc.add_paragraph()
    para.paragraph_format.space_after = Pt(4)
    para.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    para.add_run("编号：{{ number }}\t日期：{{ date }}")


def _table(doc: Document) -> None:
    table = doc.add_table(rows=len(ROWS), cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    width = table._tbl.tblPr.first_child_found_in("w:tblW")
    width.set(qn("w:type"), "dxa")
    width.set(qn("w:w"), str(TEXT_WIDTH.twips))
    _borders(table._tbl)
    widths = (LABEL_WIDTH, TEXT_WIDTH - LABEL_WIDTH)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row, (label, height, paragraphs) in zip(table.rows, ROWS, strict=True):
        row.height = Cm(height)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        if label != "原文摘要":  # the one row long enough to need a page break
            row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
        _label_cell(row.cells[0], label)
        _value_cell(row.cells[1], paragraphs, tall=height > 1.0)


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


def _label_cell(cell: _Cell, label: str) -> None:
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    # Narrow side margins keep a seven-character label such as 科室负责人批示
    # on one line in the 3.2 cm column.
    margins = OxmlElement("w:tcMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(Cm(0.08).twips))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    cell._tc.get_or_add_tcPr().insert_element_before(
        margins, "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark"
    )
    para = cell.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.add_run(label).bold = True


def _value_cell(
    cell: _Cell, paragraphs: list[str | tuple[str, str]], *, tall: bool
) -> None:
    cell.vertical_alignment = (
        WD_CELL_VERTICAL_ALIGNMENT.TOP if tall else WD_CELL_VERTICAL_ALIGNMENT.CENTER
    )
    for index, spec in enumerate(paragraphs):
        text, kind = (spec, "") if isinstance(spec, str) else spec
        para = cell.paragraphs[0] if index == 0 else cell.add_paragraph()
        run = para.add_run(text)
        if kind == "right":
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            para.paragraph_format.space_before = Pt(6)
        elif kind == "small":
            run.font.size = Pt(10.5)  # 五号


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    build().save(str(out))
    print(f"已生成 {out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
