import pytest

from bot.commands import parse, split_ref


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


@pytest.mark.parametrize(
    ("args", "ref", "rest"),
    [
        pytest.param("1：同意", "1", "同意", id="full-width-colon"),
        pytest.param("YQ-2026-0004：同意", "YQ-2026-0004", "同意", id="full-id"),
        pytest.param("4:同意", "4", "同意", id="ascii-colon"),
        pytest.param("4 ： 同意 转办", "4", "同意 转办", id="spaced-colon"),
        pytest.param("12#3 同意", "12#3", "同意", id="card-revision"),
        pytest.param("H2612-4：建议核实", "H2612-4", "建议核实", id="hit"),
        pytest.param(" 12 ", "12", "", id="bare"),
        pytest.param("", "", "", id="empty"),
    ],
)
def test_commands_split_ref_ends_at_space_or_colon(args, ref, rest):
    assert split_ref(args) == (ref, rest)
