"""Settings: `config.toml` plus secrets from the environment, loaded once and frozen.

Every setting, its default and its unit is listed in the dataclasses here, in
`bot.config_scan` (sources, rules, fetching) and in `bot.config_wecom` (channels,
secrets, chat addresses); the shipped `config.toml` explains them in Chinese.
Secrets (corp secret, callback token, EncodingAESKey) are read only from the
environment, never from the file. `load` raises `ConfigError` naming the file, the
key and what is expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot._schema import build
from bot.config_briefing import BriefingSettings, WarningSettings
from bot.config_patrol import PatrolSettings
from bot.config_scan import (  # noqa: F401  (re-exported)
    LEVELS,
    SOURCE_KINDS,
    HttpSettings,
    RiskSettings,
    Rule,
    ScanSettings,
    Source,
    parse_duration,
)
from bot.config_supervision import SupervisionSettings
from bot.config_tickets import TicketSettings
from bot.config_wecom import ChatAddress, Secrets, Wecom, parse_chat
from bot.errors import ConfigError

_SECTION_ID = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")


def parse_day(text: str) -> date:
    """Parse ``YYYY-MM-DD``; raise ValueError otherwise."""
    return date.fromisoformat(text.strip())


def parse_days(text: str) -> list[date]:
    """Parse a day or an inclusive range ``2027-02-05..2027-02-11``."""
    first, sep, last = text.partition("..")
    start = parse_day(first)
    end = parse_day(last) if sep else start
    if end < start:
        raise ValueError(text)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@dataclass(frozen=True)
class BotSettings:
    name: str = "涉税舆情值守机器人"
    data_dir: Path = Path("data")
    timezone: str = "Asia/Shanghai"

    def check(self, key: str, file: Path) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                file,
                f"{key}.timezone",
                f'未知的时区 "{self.timezone}"，应如 Asia/Shanghai',
            ) from None


_UNSAFE_NAME = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]|^\.+$')


@dataclass(frozen=True)
class Section:
    id: str
    name: str
    monitors: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    chat: str = ""

    def check(self, key: str, file: Path) -> None:
        if not _SECTION_ID.match(self.id):
            raise ConfigError(
                file,
                f"{key}.id",
                f'"{self.id}" 不可用：'
                "科室编号只能由字母、数字、_ 和 - 组成，最长 32 个字符",
            )
        # The name goes into export file names (监控日志-2026-12-税政管理科.docx).
        if not self.name.strip() or _UNSAFE_NAME.search(self.name):
            raise ConfigError(
                file,
                f"{key}.name",
                f'"{self.name}" 不可用：科室名称不能为空，'
                '也不能含有 / \\ : * ? " < > | 或控制字符（名称会用在导出的文件名中）',
            )
        overlap = sorted(set(self.monitors) & set(self.heads))
        if overlap:
            raise ConfigError(
                file,
                f"{key}.heads",
                f"{'、'.join(overlap)} 同时是本科室的监控人员和负责人；"
                "负责人要批示监控人员登记的处理单，同一人不能兼任，请只保留一处",
            )


@dataclass(frozen=True)
class Office:
    members: tuple[str, ...] = ()
    chat: str = ""


@dataclass(frozen=True)
class Leaders:
    members: tuple[str, ...] = ()
    chat: str = ""  # the leading group's chat; empty: the office chat


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: int = 8080

    def check(self, key: str, file: Path) -> None:
        if not 1 <= self.port <= 65535:
            raise ConfigError(
                file, f"{key}.port", f"{self.port} 超出范围，应为 1 到 65535"
            )


@dataclass(frozen=True)
class CalendarSettings:
    """Official holiday schedule entered by the office (节假日与调休)."""

    holidays: tuple[str, ...] = ()
    workdays: tuple[str, ...] = ()
    years: tuple[int, ...] = ()

    def check(self, key: str, file: Path) -> None:
        for name in ("holidays", "workdays"):
            for i, text in enumerate(getattr(self, name)):
                try:
                    parse_days(text)
                except ValueError:
                    raise ConfigError(
                        file,
                        f"{key}.{name}[{i + 1}]",
                        f'"{text}" 不是日期，'
                        '应如 "2027-01-01" 或区间 "2027-02-05..2027-02-11"',
                    ) from None


@dataclass(frozen=True)
class ConsoleSettings:
    user: str = ""


@dataclass(frozen=True)
class Settings:
    bot: BotSettings = field(default_factory=BotSettings)
    admins: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    office: Office = field(default_factory=Office)
    leaders: Leaders = field(default_factory=Leaders)
    sources: tuple[Source, ...] = ()
    rules: tuple[Rule, ...] = ()
    wecom: Wecom = field(default_factory=Wecom)
    server: Server = field(default_factory=Server)
    http: HttpSettings = field(default_factory=HttpSettings)
    scan: ScanSettings = field(default_factory=ScanSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    patrol: PatrolSettings = field(default_factory=PatrolSettings)
    supervision: SupervisionSettings = field(default_factory=SupervisionSettings)
    briefing: BriefingSettings = field(default_factory=BriefingSettings)
    warning: WarningSettings = field(default_factory=WarningSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    names: dict[str, str] = field(default_factory=dict)  # userid -> 姓名, for forms
    path: Path = field(default=Path("config.toml"), init=False, compare=False)
    secrets: Secrets = field(default_factory=Secrets, init=False, compare=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot.timezone)

    @property
    def data_dir(self) -> Path:
        """The data directory; a relative one is taken from the config file's folder."""
        return (self.path.parent / self.bot.data_dir).resolve()

    @property
    def lexicon_dir(self) -> Path | None:
        """The configured word-list directory, or None for the shipped one."""
        if not self.risk.lexicon_dir:
            return None
        return (self.path.parent / self.risk.lexicon_dir).resolve()

    @property
    def has_wecom_app(self) -> bool:
        return bool(self.wecom.app.corp_id and self.secrets.app_secret)

    @property
    def has_aibot(self) -> bool:
        bot = self.wecom.aibot
        if not bot.bot_id:
            return False
        if bot.mode == "ws":
            return bool(self.secrets.aibot_secret)
        return bool(self.secrets.aibot_token and self.secrets.aibot_aes_key)

    @property
    def has_wecom(self) -> bool:
        """True when any WeCom channel can talk (else the console is used)."""
        return self.has_aibot or self.has_wecom_app

    @property
    def default_channel(self) -> str:
        """Where a bare chat id goes: the AI bot (long connection only: in callback
        mode it cannot push), else app group chats, else console."""
        if self.has_aibot and self.wecom.aibot.mode == "ws":
            return "aibot"
        return "appchat" if self.has_wecom_app else "console"

    def chat(self, text: str) -> ChatAddress:
        """The address of a configured chat (a section's or the office's)."""
        return parse_chat(text, self.default_channel)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def section_name(self, section_id: str) -> str:
        """The section's name, or the id itself for an unknown (removed) section."""
        section = self.section(section_id)
        return section.name if section else section_id

    def check(self, key: str, file: Path) -> None:
        from bot.roles import check_roles

        _check_unique(file, "sections", [s.id for s in self.sections], "id", "科室编号")
        _check_unique(
            file, "sources", [s.name for s in self.sources], "name", "来源名称"
        )
        _check_unique(file, "rules", [r.name for r in self.rules], "name", "规则名称")
        known = {s.id for s in self.sections}
        for kind, items in (("sources", self.sources), ("rules", self.rules)):
            for i, item in enumerate(items):
                if item.section not in known:
                    raise ConfigError(
                        file,
                        f"{kind}[{i + 1}].section",
                        f'科室 "{item.section}" 不存在，应为 [[sections]] 中的某个 id：'
                        f"{'、'.join(sorted(known)) or '（尚未配置科室）'}",
                    )
        check_roles(self, file)
        self._check_chats(file)

    def _check_chats(self, file: Path) -> None:
        webhooks = {w.name for w in self.wecom.webhooks}
        places = [
            (f"sections[{i + 1}].chat", s.chat) for i, s in enumerate(self.sections)
        ]
        places.append(("office.chat", self.office.chat))
        for key, text in places:
            try:
                address = parse_chat(text, "console")
            except ValueError:
                raise ConfigError(
                    file,
                    key,
                    f'"{text}" 的通道无效；应写成 aibot:群ID、appchat:群ID、'
                    "app:用户ID|用户ID、webhook:机器人名称 或 console",
                ) from None
            if address.channel == "webhook" and address.id not in webhooks:
                raise ConfigError(
                    file,
                    key,
                    f'群机器人 "{address.id}" 未在 [[wecom.webhooks]] 中配置'
                    f"（已配置：{'、'.join(sorted(webhooks)) or '无'}）",
                )


def _check_unique(
    file: Path, kind: str, names: list[str], attr: str, label: str
) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(
                file, f"{kind}[{i + 1}].{attr}", f'{label} "{name}" 重复，每项必须唯一'
            )
        seen.add(name)


_TOML_WHERE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")
_TOML_WHAT = (
    ("Illegal character '\\n'", "字符串没有闭合：缺少结尾的英文双引号"),
    ("Illegal character", "有不能出现在这里的字符"),
    ("Invalid value", '值的写法有误：文字要加英文双引号，如 "税政管理科"'),
    ("Expected '=' after a key", "缺少“=”：每项应写成 键 = 值"),
    ("Expected ']' at the end of a table", "表名缺少结尾的“]”"),
    ("Unclosed array", "列表缺少结尾的“]”"),
    ("Cannot overwrite a value", "同一项写了两次"),
    ("Cannot declare", "同一个表写了两次"),
    ("Expected newline or end of document", "一行只能写一项：值后面多了内容"),
)


def toml_problem(message: str) -> str:
    """tomllib's English error as a Chinese sentence naming the line and column."""
    where = _TOML_WHERE.search(message)
    what = message[: where.start()] if where else message
    said = next((zh for en, zh in _TOML_WHAT if what.startswith(en)), "")
    if where and where.group(1):
        place = f"第 {where.group(1)} 行第 {where.group(2)} 列"
    else:
        place = "文件末尾" if where else ""
    detail = f"{said}（{what}）" if said else what
    return f"TOML 语法错误：{place}{'，' if place else ''}{detail}"


def load(path: Path, env: dict[str, str] | os._Environ[str] | None = None) -> Settings:
    """Read, validate and freeze the settings in `path`, secrets from `env`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "", "文件不存在；请用 --config 指定配置文件") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "", "文件不是 UTF-8 编码；请用 UTF-8 保存") from None
    except OSError as exc:
        raise ConfigError(path, "", f"无法读取（{exc.strerror}）") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", toml_problem(str(exc))) from None

    settings: Settings = build(Settings, raw, "", path)
    object.__setattr__(settings, "path", path)
    object.__setattr__(
        settings, "secrets", Secrets.from_env(env if env is not None else os.environ)
    )
    return settings
