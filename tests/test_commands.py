import pytest

from bot.commands import parse


@pytest.mark.parametrize(
    ("text", "word", "args"),
    [
        pytest.param("帮助", "帮助", "", id="bare"),
        pytest.param("  帮助   命中 ", "帮助", "命中", id="extra-spaces"),
        pytest.param("帮助\u3000命中", "帮助", "命中", id="full-width-space"),
        pytest.param("@舆情助手 命中 今日", "命中", "今日", id="mention"),
        pytest.param(
            "@舆情助手\u3000批示：12 同意", "批示", "12 同意", id="mention-colon"
        ),
        pytest.param("批示:12  同意  转办", "批示", "12 同意 转办", id="ascii-colon"),
        pytest.param("", "", "", id="empty"),
    ],
)
def test_commands_parse_tolerates_phone_typing(text, word, args):
    line = parse(text)

    assert (line.word, line.args) == (word, args)
