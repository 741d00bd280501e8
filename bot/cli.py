"""Command line: ``python -m bot [--config PATH] COMMAND`` with Chinese help.

Commands: ``run`` (the bot), ``scan --once [--json]``, ``console --as USERID`` and
``check``. Start-up failures an operator can fix (bad config, data directory in use)
print one Chinese message and exit non-zero, never a traceback.
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
    sub.add_parser(
        "check",
        help="检查配置并列出将要运行的内容",
        description="校验配置文件，报告科室、人员、来源、规则、通道和节假日安排的情况。",
    )
    for action in sub.choices.values():
        action._positionals.title = "参数"
        action._optionals.title = "选项"
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, load settings, run the command; return the exit code."""
    from bot import runner

    args = build_parser().parse_args(argv)
    return runner.dispatch(args)
