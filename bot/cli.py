"""Command line: ``python -m bot [--config PATH] COMMAND`` with Chinese help.

Commands: ``run`` (the bot), ``scan --once [--json]``, ``console --as USERID``,
``check``, ``backup``/``restore`` and ``appchat create|get``. Start-up failures an
operator can fix (bad config, data directory in use) print one Chinese message and
exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

_TRANSLATIONS = [
    (r"the following arguments are required: (.*)", r"缺少必需的参数：\1"),
    (r"unrecognized arguments: (.*)", r"无法识别的参数：\1"),
    (
        r"argument (\S+): invalid choice: (\S+) \(choose from (.*)\)",
        r"\1 无效：\2，可选 \3",
    ),
    (r"argument (\S+): expected one argument", r"\1 后面需要跟一个值"),
]


class ChineseHelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        # argparse passes prefix="" when it builds a subcommand's name: keep it.
        super().add_usage(
            usage, actions, groups, "用法：" if prefix is None else prefix
        )


class ChineseArgumentParser(argparse.ArgumentParser):
    """argparse with Chinese headings and error messages."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", help="显示本帮助并退出")

    def error(self, message: str) -> NoReturn:
        for pattern, replacement in _TRANSLATIONS:
            message = re.sub(pattern, replacement, message)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：错误：{message}\n（加 --help 查看用法）\n")


def build_parser() -> ChineseArgumentParser:
    parser = ChineseArgumentParser(
        prog="python -m bot",
        description="涉税舆情值守机器人：定时扫描舆情来源，命中推送到科室群，处理单流转与督查。",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("config.toml"),
        metavar="路径",
        help="配置文件（默认 ./config.toml）",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="日志级别（默认 INFO）",
    )
    sub = parser.add_subparsers(dest="command", title="命令", metavar="命令")
    sub.required = True

    sub.add_parser(
        "run",
        help="运行机器人：定时扫描、推送命中；未配置企业微信时在终端里对话",
        description="运行机器人。未设置企业微信凭据时，"
        "在终端中以 [console] user 的身份对话。",
    )
    scan = sub.add_parser(
        "scan",
        help="扫描全部启用的来源",
        description="扫描全部启用的来源并保存新命中。",
    )
    scan.add_argument(
        "--once", action="store_true", help="只扫描一轮后退出（目前必填）"
    )
    scan.add_argument(
        "--json", action="store_true", help="每条新命中输出一行 JSON（便于脚本处理）"
    )
    console = sub.add_parser(
        "console",
        help="在终端里以某个用户的身份与机器人对话",
        description="从标准输入读取聊天内容，以指定用户的身份交给机器人并打印回复。"
        "标准输入是管道时，读完即退出，便于编写脚本。",
    )
    console.add_argument(
        "--as",
        dest="user",
        required=True,
        metavar="用户ID",
        help="以哪个用户ID的身份对话",
    )
    check = sub.add_parser(
        "check",
        help="检查配置并列出将要运行的内容",
        description="校验配置文件，报告科室、人员、来源、规则、通道和节假日安排的情况。",
    )
    check.add_argument(
        "--online",
        action="store_true",
        help="另外实际试一次每个通道的凭据和每个来源（需要联网，不发消息）",
    )
    backup = sub.add_parser(
        "backup",
        help="把数据目录备份到一个新目录（机器人运行中也可以）",
        description="复制数据目录，得到一致的备份；机器人运行中也可以执行。",
    )
    backup.add_argument(
        "dir", type=Path, metavar="目录", help="备份目录（新建或空目录）"
    )
    restore = sub.add_parser(
        "restore",
        help="用备份替换数据目录（须先停止机器人）",
        description="校验备份后替换数据目录的内容，原有数据移到数据目录里的 "
        "before-restore-<时间>/ 保留。机器人运行时拒绝执行。",
    )
    restore.add_argument("dir", type=Path, metavar="目录", help="backup 生成的目录")
    _add_appchat(sub)
    for action in sub.choices.values():
        action._positionals.title = "参数"
        action._optionals.title = "选项"
    return parser


def _add_appchat(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    appchat = sub.add_parser(
        "appchat",
        help="创建或查看自建应用的群聊，得到 chat 要填的 appchat:群ID",
        description="用自建应用创建群聊或查看已建的群聊（应用可见范围须为根部门）。"
        "企业微信客户端里建的群不能由应用推送，要用这里创建的群。",
    )
    actions = appchat.add_subparsers(dest="action", title="操作", metavar="操作")
    actions.required = True
    create = actions.add_parser(
        "create",
        help="创建应用群聊并输出群ID",
        description="创建应用群聊（群主加成员共 2 到 2000 人），"
        "输出要填入科室或办公室 chat 的 appchat:群ID。",
    )
    create.add_argument("name", metavar="名称", help="群名称（最长 50 个字）")
    create.add_argument("owner", metavar="群主", help="群主的用户ID（也是成员）")
    create.add_argument("members", nargs="+", metavar="成员", help="成员的用户ID")
    create.add_argument(
        "--chatid",
        metavar="ID",
        help="指定群ID（最多 32 个字母或数字）；不指定时由企业微信生成",
    )
    get = actions.add_parser(
        "get",
        help="查看应用群聊的名称、群主和成员",
        description="查看本应用创建的群聊的名称、群主和成员，以及配置中的写法。",
    )
    get.add_argument("chatid", metavar="群ID", help="群ID（appchat: 后面的部分）")
    for parser in (appchat, create, get):
        parser._positionals.title = "参数"
        parser._optionals.title = "选项"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, load settings, run the command; return the exit code."""
    from bot import runner

    args = build_parser().parse_args(argv)
    return runner.dispatch(args)
