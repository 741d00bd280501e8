"""Split a chat line into a command word and its argument text.

Chat users type on phones: full-width spaces and colons, an @mention of the bot in
front, stray spaces. `parse` absorbs all of that so handlers see ``("批示", "12 同意")``
for ``@舆情助手　批示：12 同意``. `split_ref` takes the ticket or hit id off the
front of the arguments, so ``12：同意`` reads like ``12 同意``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MENTION = re.compile(r"^(?:@\S+\s+)+")
_SPACES = re.compile(r"[\s\u3000]+")
_COLONS = ("：", ":")
_REF_END = re.compile(r"[ ：:]")


@dataclass(frozen=True)
class ParsedLine:
    """A command word and the rest of the line."""

    word: str
    args: str


def normalize(text: str) -> str:
    """Collapse full-width and repeated spaces and drop a leading @mention."""
    text = _SPACES.sub(" ", text).strip()
    return _MENTION.sub("", text + " ").strip()


def parse(text: str) -> ParsedLine:
    """Split `text` into its first word and the remaining arguments."""
    text = normalize(text)
    word, _, rest = text.partition(" ")
    for colon in _COLONS:
        if colon in word:
            word, _, tail = word.partition(colon)
            rest = f"{tail} {rest}".strip()
    return ParsedLine(word, rest.lstrip("：: ").strip())


def split_args(args: str) -> list[str]:
    """The argument text as whitespace-separated words."""
    return args.split()


def split_ref(args: str) -> tuple[str, str]:
    """``"12：同意"`` → ``("12", "同意")``: the leading ticket or hit id and the rest.

    The id ends at a space or a colon (full- or half-width); ids never contain
    one. Only for commands whose first argument is an id: a URL has colons.
    """
    args = args.strip()
    end = _REF_END.search(args)
    if end is None:
        return args, ""
    return args[: end.start()], args[end.end() :].lstrip("：: ").strip()
