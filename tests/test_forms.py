"""The Word form (监控处理单) and the one-case archive (一案一档)."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from docx.oxml.ns import qn

from bot.forms import (
    FORM_TEMPLATE,
    FormTemplateError,
    case_archive,
    ticket_form,
)
from bot.models import Evidence, Ticket, TicketEvent

SH = ZoneInfo("Asia/Shanghai")
NAMES = {"zhangsan": "张三", "lisi": "李四", "sunqi": "孙七"}
LABELS = [
    "编号",
    "科室",
    "监控人员",
    "发现时间",
    "风险等级",
    "来源",
    "标题",
    "网址",
    "原文摘要",
    "拟处理意见",
    "科室负责人批示",
    "办公室处理意见",
    "处理结果",
    "上报情况",
    "归档时间",
]
SHA = hashlib.sha256(b"<html>page</html>").hexdigest()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SH)


def make_ticket(**changes: object) -> Ticket:
    steps = [
        ("zhangsan", "登记", "", "待批示", "命中 H2603-7 登记"),
        ("机器人", "催办", "待批示", "待批示", "到期：已提醒科室负责人"),
        ("lisi", "批示", "待批示", "待办理", "请办公室核实\n并回应"),
        ("sunqi", "受理", "待办理", "办理中", ""),
        ("机器人", "催办", "办理中", "办理中", "提醒：已提醒办公室"),
        ("sunqi", "上报", "办理中", "办理中", "已报市局"),
        ("sunqi", "办结", "办理中", "已办结", "已电话回复当事人"),
        ("sunqi", "归档", "已办结", "已归档", ""),
    ]
    history = tuple(
        TicketEvent(at(2, 9 + i), actor, action, old, new, comment)
        for i, (actor, action, old, new, comment) in enumerate(steps)
    )
    ticket = Ticket(
        title="某地退税“秒到账”被指虚假宣传",
        url="https://bbs.example.cn/t/123?a=1&b=2",
        section="nfk",
        state="已归档",
        created_by="zhangsan",
        created_at=at(2, 9),
        level="较大",
        proposal="建议核实后在平台回应。",
        history=history,
        source="本地论坛",
        summary="第一行：退税迟迟不到账\n第二行：客服电话打不通",
        found_at=at(2, 8, 50),
        instruction="请办公室核实并回应",
        instructed_by="lisi",
        instructed_at=at(2, 10),
        handler="sunqi",
        office_opinion="已联系发帖人",
        result="已电话回复当事人，帖子已删除",
        reported="已报市局舆情办",
        reported_at=at(2, 13),
        archived_at=at(2, 14),
        reminders=2,
        evidence=(Evidence(at(2, 9, 1), "evidence/YQ-2026-0012/1", SHA),),
        id="YQ-2026-0012",
    )
    return replace(ticket, **changes)


def form_rows(path: Path) -> dict[str, str]:
    table = Document(str(path)).tables[0]
    return {row.cells[0].text: row.cells[1].text for row in table.rows}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "evidence/YQ-2026-0012/1"
    folder.mkdir(parents=True)
    (folder / "page.html").write_bytes(b"<html>page</html>")
    (folder / "text.txt").write_text("退税迟迟不到账", encoding="utf-8")
    (folder / "meta.json").write_text('{"url": "x"}', encoding="utf-8")
    return tmp_path / "data"


def test_form_labels_in_order(tmp_path: Path) -> None:
    out = ticket_form(make_ticket(), "纳税服务科", tmp_path / "f.docx", names=NAMES)

    table = Document(str(out)).tables[0]

    assert [row.cells[0].text for row in table.rows] == LABELS
    assert Document(str(out)).paragraphs[0].text == "涉税舆情监控处理单"


def test_form_values_in_their_rows(tmp_path: Path) -> None:
    out = ticket_form(make_ticket(), "纳税服务科", tmp_path / "f.docx", names=NAMES)

    rows = form_rows(out)

    assert rows["编号"] == "YQ-2026-0012"
    assert rows["科室"] == "纳税服务科"
    assert rows["监控人员"] == "张三"
    assert rows["发现时间"] == "2026-03-02 08:50"
    assert rows["风险等级"] == "较大"
    assert rows["来源"] == "本地论坛"
    assert rows["标题"] == "某地退税“秒到账”被指虚假宣传"
    assert rows["网址"].startswith("https://bbs.example.cn/t/123?a=1&b=2\n")
    assert rows["拟处理意见"] == "建议核实后在平台回应。"
    assert rows["办公室处理意见"] == "已联系发帖人"
    assert rows["处理结果"] == "已电话回复当事人，帖子已删除"
    assert rows["归档时间"] == "2026-03-02 14:00"


def test_form_instruction_names_the_head(tmp_path: Path) -> None:
    out = ticket_form(make_ticket(), "纳税服务科", tmp_path / "f.docx", names=NAMES)

    rows = form_rows(out)

    assert rows["科室负责人批示"] == (
        "请办公室核实并回应\n批示人：李四　时间：2026-03-02 10:00"
    )
    assert rows["上报情况"] == "已报市局舆情办\n上报时间：2026-03-02 13:00"


def test_form_header_line_and_evidence(tmp_path: Path) -> None:
    out = ticket_form(make_ticket(), "纳税服务科", tmp_path / "f.docx", names=NAMES)

    doc = Document(str(out))

    assert doc.paragraphs[1].text == "编号：YQ-2026-0012\t日期：2026-03-02"
    url_cell = doc.tables[0].rows[7].cells[1]
    assert [p.text for p in url_cell.paragraphs] == [
        "https://bbs.example.cn/t/123?a=1&b=2",
        f"留证：已于 2026-03-02 09:01 抓取原网页，SHA-256 {SHA}",
    ]


def test_form_evidence_note_without_page(tmp_path: Path) -> None:
    snapshot = Evidence(at(2, 9), note="网页无法访问，未能留存")
    ticket = make_ticket(evidence=(snapshot,))

    out = ticket_form(ticket, "纳税服务科", tmp_path / "f.docx")

    assert form_rows(out)["网址"].endswith("\n留证：网页无法访问，未能留存")


def test_form_empty_fields_show_dash(tmp_path: Path) -> None:
    ticket = make_ticket(office_opinion="", reported="", reported_at=None, evidence=())

    out = ticket_form(ticket, "纳税服务科", tmp_path / "f.docx")

    rows = form_rows(out)
    assert rows["办公室处理意见"] == "—"
    assert rows["上报情况"] == "—\n上报时间：—"
    assert rows["网址"] == "https://bbs.example.cn/t/123?a=1&b=2"
    assert rows["监控人员"] == "zhangsan"  # no display name: the userid


def test_form_summary_keeps_line_breaks(tmp_path: Path) -> None:
    ticket = make_ticket(summary="第一行\r\n第二行\n\n第四行\x07\x0c")

    out = ticket_form(ticket, "纳税服务科", tmp_path / "f.docx")

    assert form_rows(out)["原文摘要"] == "第一行\n第二行\n\n第四行"


def test_form_times_in_ticket_time_zone(tmp_path: Path) -> None:
    ticket = make_ticket(instructed_at=datetime(2026, 3, 2, 2, 30, tzinfo=UTC))

    out = ticket_form(ticket, "纳税服务科", tmp_path / "f.docx", names=NAMES)

    assert form_rows(out)["科室负责人批示"].endswith("时间：2026-03-02 10:30")


@pytest.mark.parametrize(
    "title",
    ["税务局<通知>&“退税”'问题'", "纯中文标题", "{{ number }} {% if %} ]]> &amp;"],
    ids=["xml-specials", "chinese-only", "template-syntax"],
)
def test_form_special_characters_stay_valid(tmp_path: Path, title: str) -> None:
    ticket = make_ticket(title=title, summary=f"摘要 {title}")

    out = ticket_form(ticket, "纳税服务科<&>", tmp_path / "f.docx")

    rows = form_rows(out)
    assert rows["标题"] == title
    assert rows["原文摘要"] == f"摘要 {title}"
    assert rows["科室"] == "纳税服务科<&>"


def test_form_custom_template_honoured(tmp_path: Path) -> None:
    custom = Path(shutil.copy(FORM_TEMPLATE, tmp_path / "custom.docx"))
    doc = Document(str(custom))
    doc.tables[0].rows[8].cells[0].paragraphs[0].runs[0].text = "内容摘要"
    doc.save(str(custom))

    out = ticket_form(make_ticket(), "纳税服务科", tmp_path / "f.docx", template=custom)

    assert form_rows(out)["内容摘要"].startswith("第一行：退税迟迟不到账")


def test_form_unknown_template_tag_raises(tmp_path: Path) -> None:
    custom = tmp_path / "custom.docx"
    doc = Document(str(FORM_TEMPLATE))
    doc.add_paragraph("{{ 填表人 }}")
    doc.save(str(custom))

    with pytest.raises(FormTemplateError, match="填表人"):
        ticket_form(make_ticket(), "纳税服务科", tmp_path / "f.docx", template=custom)

    assert not (tmp_path / "f.docx").exists()


def test_form_template_is_a4_with_chinese_fonts() -> None:
    doc = Document(str(FORM_TEMPLATE))

    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (
        21.0,
        29.7,
    )
    normal = doc.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋"
    title = doc.paragraphs[0].runs[0]
    assert title.bold and title.font.size.pt == 18
    assert title._element.rPr.rFonts.get(qn("w:eastAsia")) == "宋体"
    assert round(doc.tables[0].columns[0].width.cm, 1) == 3.2


def test_form_template_matches_generator(tmp_path: Path) -> None:
    path = Path(__file__).resolve().parent.parent / "scripts/make_form_template.py"
    spec = importlib.util.spec_from_file_location("make_form_template", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    module.build().save(str(tmp_path / "fresh.docx"))

    for part in ("word/document.xml", "word/styles.xml"):
        with zipfile.ZipFile(tmp_path / "fresh.docx") as fresh:
            with zipfile.ZipFile(FORM_TEMPLATE) as stored:
                assert fresh.read(part) == stored.read(part), part


def test_archive_holds_named_entries(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out" / "YQ-2026-0012-全案.zip"

    case_archive(make_ticket(), "纳税服务科", data_dir, out, names=NAMES)

    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == [
            "监控处理单.docx",
            "处理记录.txt",
            "留证/1/page.html",
            "留证/1/text.txt",
            "留证/1/meta.json",
            "校验.txt",
        ]
        assert archive.read("留证/1/text.txt").decode() == "退税迟迟不到账"
        Document(archive.open("监控处理单.docx"))  # a valid form
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left


def test_archive_checksums_match_entries(tmp_path: Path, data_dir: Path) -> None:
    out = case_archive(make_ticket(), "纳税服务科", data_dir, tmp_path / "a.zip")

    with zipfile.ZipFile(out) as archive:
        lines = archive.read("校验.txt").decode().splitlines()
        listed = dict(reversed(line.split("  ", 1)) for line in lines)
        others = [n for n in archive.namelist() if n != "校验.txt"]
        assert sorted(listed) == sorted(others)
        for name, digest in listed.items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest


def test_archive_names_are_utf8(tmp_path: Path, data_dir: Path) -> None:
    out = case_archive(make_ticket(), "纳税服务科", data_dir, tmp_path / "全案.zip")

    with zipfile.ZipFile(out) as archive:
        infos = archive.infolist()

    assert all(info.flag_bits & 0x800 for info in infos)
    assert "留证/1/page.html" in [info.filename for info in infos]
    raw = out.read_bytes()
    assert "监控处理单.docx".encode() in raw  # stored as UTF-8, not GBK or cp437


def test_archive_lists_missing_evidence(tmp_path: Path, data_dir: Path) -> None:
    folder = data_dir / "evidence/YQ-2026-0012/1"
    (folder / "meta.json").unlink()
    (folder / "page.html").rename(folder / "page.bin")
    first = replace(make_ticket().evidence[0], screenshot="shot.png")
    outside = Evidence(at(2, 9, 5), path="../outside", note="无法访问")
    unfiled = Evidence(at(2, 9, 6), sha256=SHA)
    ticket = make_ticket(evidence=(first, outside, unfiled))

    out = case_archive(ticket, "纳税服务科", data_dir, tmp_path / "a.zip")

    with zipfile.ZipFile(out) as archive:
        missing = archive.read("缺失文件.txt").decode().splitlines()
        record = archive.read("处理记录.txt").decode()
        assert "留证/1/page.bin" in archive.namelist()
    assert missing == [
        "留证/1/meta.json",
        "留证/1/shot.png",
        "留证/2/text.txt",
        "留证/2/meta.json",
        "留证/3/page.html",
        "留证/3/text.txt",
        "留证/3/meta.json",
    ]
    assert "有 7 个留证文件未能找到，清单见 缺失文件.txt。" in record


def test_archive_record_lists_history(tmp_path: Path, data_dir: Path) -> None:
    ticket = make_ticket()

    out = case_archive(ticket, "纳税服务科", data_dir, tmp_path / "a.zip", names=NAMES)

    with zipfile.ZipFile(out) as archive:
        record = archive.read("处理记录.txt").decode()

    assert record.startswith("涉税舆情监控处理单 YQ-2026-0012 处理记录\n")
    assert "3. 2026-03-02 11:00  李四  批示（待批示 → 待办理）\n" in record
    assert "    请办公室核实\n    并回应\n" in record
    assert "8. 2026-03-02 16:00  孙七  归档（已办结 → 已归档）\n" in record
    assert "催办提醒：共 2 次" in record
    assert f"原网页 SHA-256 {SHA}" in record


def test_form_replaces_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "f.docx"
    out.write_bytes(b"old")

    ticket_form(make_ticket(), "纳税服务科", out)

    assert form_rows(out)["编号"] == "YQ-2026-0012"
