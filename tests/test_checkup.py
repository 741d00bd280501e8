import io
from datetime import date

from bot import config
from bot.checkup import print_check

SOURCE = (
    '[[sources]]\nname = "要闻"\nkind = "rss"\nurl = "http://e.cn/f"\nsection = "szk"\n'
)


def check(path, today: date) -> tuple[int, str]:
    out = io.StringIO()
    code = print_check(config.load(path, env={}), out, today=today)
    return code, out.getvalue()


def test_checkup_warns_when_next_30_days_lack_holiday_schedule(write_config):
    code, text = check(write_config(), date(2026, 12, 20))

    assert code == 0
    assert "18 天（2027-01-01 起）没有官方节假日安排" in text


def test_checkup_quiet_when_office_entered_next_year(write_config):
    path = write_config('[calendar]\nholidays = ["2027-01-01"]\nyears = [2027]\n')

    code, text = check(path, date(2026, 12, 20))

    assert code == 0
    assert "节假日" not in text
    assert "✔ 可以运行" in text


def test_checkup_lists_sources_and_sections(write_config):
    code, text = check(write_config(SOURCE), date(2026, 6, 1))

    assert "· 要闻（rss，每 30m）：将定时扫描" in text
    assert "· 税政管理科（szk）：监控人员 1 人，负责人 1 人，群聊 szk-group" in text


def test_checkup_fails_when_nobody_can_chat(write_config):
    base = 'admins = []\n[[sections]]\nid = "a"\nname = "甲"\n'

    code, text = check(write_config(base=base), date(2026, 6, 1))

    assert code == 1
    assert "run 无法提供对话" in text


def test_checkup_rejects_aibot_chat_in_callback_mode(write_config):
    extra = '[wecom.aibot]\nbot_id = "bot-1"\nmode = "callback"\n'
    path = write_config(extra).read_text(encoding="utf-8")
    path = path.replace('chat = "szk-group"', 'chat = "aibot:grp-szk"')
    env = {"WECOM_AIBOT_TOKEN": "t", "WECOM_AIBOT_AES_KEY": "k"}
    file = write_config(base=path)

    out = io.StringIO()
    code = print_check(config.load(file, env=env), out, today=date(2026, 6, 1))

    assert code == 1
    assert "税政管理科的群 aibot:grp-szk 走智能机器人" in out.getvalue()
    assert "回调模式只能回复 @ 它的消息，不能主动推送到群里" in out.getvalue()
    assert "webhook:名称" in out.getvalue() and "appchat:群ID" in out.getvalue()


def test_config_bare_chat_not_aibot_in_callback_mode(write_config):
    extra = '[wecom.aibot]\nbot_id = "bot-1"\nmode = "callback"\n'
    env = {"WECOM_AIBOT_TOKEN": "t", "WECOM_AIBOT_AES_KEY": "k"}

    settings = config.load(write_config(extra), env=env)

    assert settings.has_aibot and settings.default_channel == "console"
    assert settings.chat("szk-group").channel == "console"
