"""`make demo` as a user runs it: the real demo process, offline, with its
console fed from a pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT


def demo(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WECOM_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.demo", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": str(ROOT)},
    )


def chat_blocks(out: str, chat: str) -> list[str]:
    """What the demo printed as shown in `chat`, one entry per message."""
    parts = re.split(r"\n(?=〔企业微信 · |─{10})", out)
    head = f"〔企业微信 · {chat}〕\n"
    return [p.removeprefix(head) for p in parts if p.startswith(head)]


def test_demo_tells_the_whole_story_then_answers_the_console():
    result = demo("查询 1\n归档 1\n")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    steps = re.findall(r"▶ (第.步)", out)
    assert steps == ["第一步", "第二步", "第三步", "第四步", "第五步"]
    section = chat_blocks(out, "税政管理科群")
    office = chat_blocks(out, "办公室群")
    # The 重大 hit came as a card with buttons, the register click updated it,
    # the head's approval card followed and the approval greyed it out.
    assert "［税政管理科 · 重大舆情］" in section[0] and "[登记]" in section[0]
    assert any(b.startswith("（卡片更新为）\n【已登记 YQ-") for b in section)
    assert any("[同意]  [退回]" in b for b in section)
    assert any(b.startswith("（卡片更新为）\n【已批示】") for b in section)
    # The office got the ticket, handled it by typed commands, then the briefing.
    assert any("处理单转办" in b and "@sunqi" in b for b in office)
    assert any("状态：**已办结**" in b for b in office)
    assert any(b.startswith("**舆情日报") and "新增命中 3 条" in b for b in office)
    # The console after the scenario works on the same data.
    console = out.split("现在请您试一试", 1)[1]
    assert "状态：**已办结**" in console
    assert "已归档" in console
    assert "Traceback" not in result.stderr


def test_demo_console_user_can_be_chosen_and_is_checked():
    chosen = demo("待办\n", "--as", "lisi")
    wrong = demo("", "--as", "nobody")

    assert chosen.returncode == 0, chosen.stderr
    assert "下面以 lisi 的身份" in chosen.stdout
    assert wrong.returncode == 2
    assert "--as 无效：'nobody'" in wrong.stderr
