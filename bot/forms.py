"""Export a ticket as a Word form (监控处理单) and as a one-case archive (一案一档),
and a month of the monitoring log (监控日志) as a Word table.

The only module that imports docxtpl. The forms' wording and layout live in Word
templates: `templates/forms/监控处理单.docx` (built by `scripts/make_form_template.py`)
and `templates/forms/监控日志.docx` (`scripts/make_log_template.py`), both editable
in Word; this module only fills in values. The archive is a zip of the ticket
form, a plain-text history rendered by `bot.render` from `forms/处理记录.j2`, the
evidence files of every snapshot, and a SHA-256 list of all of it. Both files are
written atomically. Archives are built in memory, which suits pages of a few MB.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from pathlib import Path

from docxtpl import DocxTemplate, Listing

from bot.errors import BotError
from bot.models import Evidence, Ticket
from bot.patrol_log import LogRow
from bot.render import TEMPLATES_DIR, Renderer

log = logging.getLogger(__name__)

FORM_TEMPLATE = TEMPLATES_DIR / "forms" / "监控处理单.docx"
LOG_TEMPLATE = TEMPLATES_DIR / "forms" / "监控日志.docx"
FORM_ENTRY = "监控处理单.docx"
RECORD_ENTRY = "处理记录.txt"
EVIDENCE_DIR = "留证"
MISSING_ENTRY = "缺失文件.txt"
CHECKSUM_ENTRY = "校验.txt"

EMPTY = "—"
_TIME = "%Y-%m-%d %H:%M"
# Characters XML 1.0 forbids; docxtpl would also read \a and \f as paragraph and
# page breaks, so they must not reach it from user text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class FormTemplateError(BotError, ValueError):
    """Raised when a Word template uses variables the form does not provide."""

    def __init__(self, template: Path, unknown: set[str]) -> None:
        self.template, self.unknown = template, unknown
        super().__init__(f"{template}: unknown variables: {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class _Snapshot:
    """An evidence record with its time formatted for the templates."""

    fetched_at: str
    sha256: str
    note: str


def ticket_form(
    ticket: Ticket,
    section_name: str,
    out: Path,
    *,
    names: Mapping[str, str] | None = None,
    template: Path = FORM_TEMPLATE,
) -> Path:
    """Fill in the handling-ticket form for `ticket` and save it as `out` (.docx).

    `names` maps userids to display names (a userid without one is shown as is).
    Times are shown in the time zone of ``ticket.created_at``; empty fields as "—";
    the time found (发现时间) falls back to the registration time.

    Raises:
        FormTemplateError: `template` uses a variable the form does not provide.
    """
    data = _render_form(ticket, section_name, names or {}, template)
    _write_atomic(out, data)
    log.info("form exported ticket=%s bytes=%d", ticket.id, len(data))
    return out


def case_archive(
    ticket: Ticket,
    section_name: str,
    data_dir: Path,
    out: Path,
    *,
    names: Mapping[str, str] | None = None,
) -> Path:
    """Write the one-case archive of `ticket` as the zip file `out`.

    `out` is chosen by the caller, usually named like ``YQ-2026-0012-全案.zip``.
    Evidence files are read from ``data_dir / evidence.path``; any that cannot be
    read are listed in 缺失文件.txt instead of failing the export.
    """
    names = names or {}
    evidence: dict[str, bytes] = {}
    missing: list[str] = []
    for number, snapshot in enumerate(ticket.evidence, start=1):
        for name, data in _evidence_files(snapshot, data_dir.resolve()):
            entry = f"{EVIDENCE_DIR}/{number}/{name}"
            if data is None:
                missing.append(entry)
            else:
                evidence[entry] = data

    entries = {FORM_ENTRY: _render_form(ticket, section_name, names, FORM_TEMPLATE)}
    record = _render_record(ticket, section_name, names, missing)
    entries[RECORD_ENTRY] = record.encode()
    entries.update(evidence)
    if missing:
        entries[MISSING_ENTRY] = "".join(f"{m}\n" for m in missing).encode()
    sums = (f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in entries.items())
    entries[CHECKSUM_ENTRY] = "".join(sums).encode()

    _write_atomic(out, _zip(entries))
    if missing:
        log.warning("evidence files missing ticket=%s files=%s", ticket.id, missing)
    log.info("archive written ticket=%s entries=%d", ticket.id, len(entries))
    return out


def patrol_log(
    rows: Sequence[LogRow],
    section_name: str,
    month: date,
    out: Path,
    *,
    names: Mapping[str, str] | None = None,
    section_names: Mapping[str, str] | None = None,
    template: Path = LOG_TEMPLATE,
) -> Path:
    """Fill in the monthly monitoring log (监控日志) with `rows`; save it as `out`.

    `section_names` (section id to name), when given, adds each row's section
    to the monitor's name, for a log of every section. Leave rows show "—" in
    the columns a patrol would fill.

    Raises:
        FormTemplateError: `template` uses a variable the log does not provide.
    """
    names = names or {}
    context = {
        "section": _clean(section_name),
        "month": f"{month.year}年{month.month}月",
        "rows": [_log_row(row, names, section_names) for row in rows],
    }
    doc = DocxTemplate(template)
    unknown = doc.get_undeclared_template_variables() - context.keys()
    if unknown:
        raise FormTemplateError(template, unknown)
    doc.render(context, autoescape=True)
    buffer = io.BytesIO()
    doc.save(buffer)
    _write_atomic(out, buffer.getvalue())
    log.info("patrol log exported month=%s rows=%d", context["month"], len(rows))
    return out


def _log_row(
    row: LogRow, names: Mapping[str, str], sections: Mapping[str, str] | None
) -> dict[str, str]:
    monitor = _name(names, row.user)
    if sections is not None:
        monitor = f"{monitor}（{sections.get(row.section, row.section) or '办公室'}）"
    return {
        "date": row.day.isoformat(),
        "time": row.at.strftime("%H:%M") if row.at else EMPTY,
        "monitor": _clean(monitor),
        "scope": _clean(row.scope),
        "findings": _clean(row.findings),
        "handling": _clean(row.handling),
        "note": _clean(row.note, ""),
    }


def _render_form(
    ticket: Ticket, section_name: str, names: Mapping[str, str], template: Path
) -> bytes:
    doc = DocxTemplate(template)
    context = _form_context(ticket, section_name, names)
    unknown = doc.get_undeclared_template_variables() - context.keys()
    if unknown:
        raise FormTemplateError(template, unknown)
    # autoescape turns & < > in user text into XML entities; Listing values are
    # already escaped and keep their line breaks as <w:br/> in the template's style.
    doc.render(context, autoescape=True)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _form_context(
    ticket: Ticket, section_name: str, names: Mapping[str, str]
) -> dict[str, object]:
    tz = ticket.created_at.tzinfo
    return {
        "number": _clean(ticket.id),
        "date": ticket.created_at.strftime("%Y-%m-%d"),
        "section": _clean(section_name),
        "monitor": _clean(_name(names, ticket.created_by)),
        "found_at": _when(ticket.found_at or ticket.created_at, tz),
        "level": _clean(ticket.level),
        "source": _clean(ticket.source),
        "title": _clean(ticket.title),
        "url": _clean(ticket.url),
        "evidence": [_snapshot(e, tz) for e in ticket.evidence],
        "summary": Listing(_clean(ticket.summary)),
        "proposal": Listing(_clean(ticket.proposal)),
        "instruction": Listing(_clean(ticket.instruction)),
        "instructed_by": _clean(_name(names, ticket.instructed_by)),
        "instructed_at": _when(ticket.instructed_at, tz),
        "office_opinion": Listing(_clean(ticket.office_opinion)),
        "result": Listing(_clean(ticket.result)),
        "reported": Listing(_clean(ticket.reported)),
        "reported_at": _when(ticket.reported_at, tz),
        "archived_at": _when(ticket.archived_at, tz),
    }


def _render_record(
    ticket: Ticket, section_name: str, names: Mapping[str, str], missing: list[str]
) -> str:
    tz = ticket.created_at.tzinfo
    events = [
        replace(e, at=_local(e.at, tz), actor=_name(names, e.actor) or EMPTY)
        for e in ticket.history
    ]
    text = Renderer().render(
        "forms/处理记录.j2",
        ticket=ticket,
        section=section_name,
        events=events,
        evidence=[_snapshot(e, tz) for e in ticket.evidence],
        missing=missing,
    )
    return text + "\n"


def _evidence_files(
    snapshot: Evidence, root: Path
) -> Iterator[tuple[str, bytes | None]]:
    """Each file a snapshot should have, with its contents or None if missing.

    The page (page.html or page.bin) is expected only when its hash was recorded:
    a failed download leaves none, and the snapshot's note says why.
    """
    folder = (root / snapshot.path).resolve()
    if not snapshot.path or not folder.is_relative_to(root):
        folder = None  # a stored path must not lead outside the data directory
    wanted = [("page.html", "page.bin")] if snapshot.sha256 else []
    wanted += [("text.txt",), ("meta.json",)]
    if snapshot.screenshot:
        wanted.append((Path(snapshot.screenshot).name,))
    for choices in wanted:
        found = ((n, _read(folder, n)) for n in choices)
        yield next((f for f in found if f[1] is not None), (choices[0], None))


def _read(folder: Path | None, name: str) -> bytes | None:
    try:
        return (folder / name).read_bytes() if folder else None
    except OSError:
        return None


def _zip(entries: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    now = datetime.now().timetuple()[:6]
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=now)
            info.compress_type = zipfile.ZIP_DEFLATED
            # zipfile flags only non-ASCII names as UTF-8; flagging all is harmless
            # and keeps every entry readable the same way by Windows tools.
            info.flag_bits |= 0x800
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _write_atomic(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _snapshot(evidence: Evidence, tz: tzinfo | None) -> _Snapshot:
    when = _when(evidence.fetched_at, tz)
    return _Snapshot(when, _clean(evidence.sha256, ""), _clean(evidence.note, ""))


def _name(names: Mapping[str, str], userid: str) -> str:
    return names.get(userid, userid) if userid else ""


def _clean(text: str, empty: str = EMPTY) -> str:
    text = _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.strip() or empty


def _local(value: datetime, tz: tzinfo | None) -> datetime:
    return value.astimezone(tz) if tz and value.tzinfo else value


def _when(value: datetime | None, tz: tzinfo | None) -> str:
    return _local(value, tz).strftime(_TIME) if value else EMPTY
