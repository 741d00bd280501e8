"""What the demo prints: the narrator's lines, and what each WeCom chat shows,
read from the fake WeCom's record of deliveries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from bot.channels.console import for_terminal
from fakewecom.aibot_ws import Delivery, FakeAiBotServer

RULE = "─" * 60


def card_text(card: dict[str, Any]) -> str:
    """A template card as terminal lines: title, fields, then its buttons."""
    lines = []
    source = (card.get("source") or {}).get("desc")
    if source:
        lines.append(f"［{source}］")
    title = card.get("main_title") or {}
    lines.append(f"【{title.get('title', '')}】")
    if title.get("desc"):
        lines.append(title["desc"])
    if card.get("sub_title_text"):
        lines.append(card["sub_title_text"])
    for field in card.get("horizontal_content_list") or []:
        value = field.get("url") if field.get("type") == 1 else field.get("value")
        lines.append(f"{field.get('keyname', '')}：{value}")
    buttons = "  ".join(f"[{b.get('text', '')}]" for b in card.get("button_list") or [])
    if buttons:
        lines.append(buttons)
    return "\n".join(lines)


def delivery_text(shown: Delivery) -> str:
    if shown.card is not None and shown.kind in ("template_card", "card_update"):
        prefix = "（卡片更新为）\n" if shown.kind == "card_update" else "（卡片）\n"
        return prefix + card_text(shown.card)
    return for_terminal(shown.content)


class ChatPrinter:
    """Prints each finished delivery of the fake AI bot once, under its chat."""

    def __init__(
        self, fake: FakeAiBotServer, out: TextIO, chat_name: Callable[[str], str]
    ) -> None:
        self._fake = fake
        self._out = out
        self._chat_name = chat_name
        self._printed: set[int] = set()

    def flush(self) -> int:
        """Print what appeared since the last call; how many deliveries."""
        count = 0
        for shown in list(self._fake.deliveries):
            if id(shown) in self._printed or not shown.finish:
                continue
            self._printed.add(id(shown))
            count += 1
            self._out.write(
                f"\n〔企业微信 · {self._chat_name(shown.chat)}〕\n"
                f"{delivery_text(shown)}\n"
            )
        self._out.flush()
        return count
