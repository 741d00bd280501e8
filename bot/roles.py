"""Who is who: the roles a WeCom userid holds under the configuration.

Roles: 监控人员 (monitor, of one section), 负责人 (head, of one or more
sections), 办公室 (office), 领导小组 (leaders), 管理员 (admin). A person may hold
several roles, with two exceptions checked at start-up: a monitor belongs to exactly
one section (so a hit they register has one home), and nobody heads a section they
also monitor (the head instructs the monitor's tickets).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.config import Settings


class Role(Enum):
    MONITOR = "监控人员"
    HEAD = "负责人"
    OFFICE = "办公室"
    LEADER = "领导小组"
    ADMIN = "管理员"


@dataclass(frozen=True)
class Person:
    """The roles one userid holds."""

    userid: str
    roles: frozenset[Role]
    monitor_of: str = ""
    head_of: tuple[str, ...] = ()

    def has(self, role: Role) -> bool:
        return role in self.roles

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)

    @property
    def is_known(self) -> bool:
        return bool(self.roles)


def person(settings: Settings, userid: str) -> Person:
    """Look up the roles `userid` holds (an empty set for a stranger)."""
    roles: set[Role] = set()
    monitor_of = ""
    head_of: list[str] = []
    for section in settings.sections:
        if userid in section.monitors:
            roles.add(Role.MONITOR)
            monitor_of = section.id
        if userid in section.heads:
            roles.add(Role.HEAD)
            head_of.append(section.id)
    if userid in settings.office.members:
        roles.add(Role.OFFICE)
    if userid in settings.leaders.members:
        roles.add(Role.LEADER)
    if userid in settings.admins:
        roles.add(Role.ADMIN)
    return Person(userid, frozenset(roles), monitor_of, tuple(head_of))


def everyone(settings: Settings) -> list[str]:
    """Every userid named anywhere in the configuration, in first-seen order."""
    names: dict[str, None] = {}
    for section in settings.sections:
        names.update(dict.fromkeys(section.monitors + section.heads))
    names.update(dict.fromkeys(settings.office.members))
    names.update(dict.fromkeys(settings.leaders.members))
    names.update(dict.fromkeys(settings.admins))
    return list(names)


def check_roles(settings: Settings, file: Path) -> None:
    """Raise ConfigError for role combinations the workflow cannot serve."""
    home: dict[str, str] = {}
    for i, section in enumerate(settings.sections):
        for userid in section.monitors:
            if userid in home and home[userid] != section.id:
                raise ConfigError(
                    file,
                    f"sections[{i + 1}].monitors",
                    f'{userid} 已是科室 "{home[userid]}" 的监控人员；'
                    "每名监控人员只能属于一个科室，请删去其中一处",
                )
            home[userid] = section.id
    console_user = settings.console.user
    if console_user and console_user not in everyone(settings):
        raise ConfigError(
            file,
            "console.user",
            f"{console_user} 不在任何角色中；"
            "应为 admins、[[sections]]、[office] 或 [leaders] 里出现的用户ID",
        )
