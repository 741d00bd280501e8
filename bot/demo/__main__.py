"""``python -m bot.demo [--as USERID]``: the offline demo (``make demo``)."""

from __future__ import annotations

import asyncio
import logging
import sys

from bot.cli import ChineseArgumentParser
from bot.demo.scenario import MEMBERS, run_demo

PAUSE_S = 1.5


def main() -> int:
    people = sorted({u for members in MEMBERS.values() for u in members})
    parser = ChineseArgumentParser(
        prog="python -m bot.demo",
        description=(
            "离线演示：在本机启动演示来源和模拟企业微信，按步骤演示扫描、命中推送、"
            "登记、按钮批示、办结和日报，然后留下终端对话供试用。不访问互联网。"
        ),
    )
    parser.add_argument(
        "--as",
        dest="user",
        default="sunqi",
        choices=people,
        metavar="用户ID",
        help=f"演示结束后以谁的身份对话（{'、'.join(people)}；默认 sunqi，办公室）",
    )
    args = parser.parse_args()
    # The demo narrates on stdout; only real trouble reaches the terminal.
    logging.basicConfig(
        level=logging.ERROR, format="%(levelname)s %(name)s %(message)s"
    )
    pause = PAUSE_S if sys.stdout.isatty() else 0.0
    try:
        return asyncio.run(run_demo(args.user, sys.stdout, pause))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
