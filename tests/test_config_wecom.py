import pytest

from bot import config
from bot.config_wecom import ChatAddress, Secrets, parse_chat
from bot.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("webhook:szk", ChatAddress("webhook", "szk"), id="webhook"),
        pytest.param(
            "aibot:wrkSFfCgAA", ChatAddress("aibot", "wrkSFfCgAA"), id="aibot"
        ),
        pytest.param("app:lisi|zhaoliu", ChatAddress("app", "lisi|zhaoliu"), id="app"),
        pytest.param("szk-group", ChatAddress("appchat", "szk-group"), id="bare"),
        pytest.param("console", ChatAddress("console", ""), id="console"),
    ],
)
def test_config_wecom_chat_addresses(text, expected):
    assert parse_chat(text, "appchat") == expected


def test_config_wecom_unknown_channel_prefix_rejected(write_config):
    path = (
        write_config()
        .read_text(encoding="utf-8")
        .replace('chat = "szk-group"', 'chat = "qq:123"')
    )
    file = write_config(base=path)

    with pytest.raises(ConfigError) as caught:
        config.load(file, env={})

    assert caught.value.key == "sections[1].chat"
    assert "webhook:机器人名称" in str(caught.value)


def test_config_wecom_webhook_must_be_declared(write_config):
    text = (
        write_config()
        .read_text(encoding="utf-8")
        .replace('chat = "szk-group"', 'chat = "webhook:szk"')
    )

    with pytest.raises(ConfigError, match='群机器人 "szk" 未在'):
        config.load(write_config(base=text), env={})

    ok = config.load(
        write_config('[[wecom.webhooks]]\nname = "szk"\n', base=text), env={}
    )
    assert ok.chat(ok.sections[0].chat) == ChatAddress("webhook", "szk")


def test_config_wecom_secrets_and_webhook_keys_from_env():
    env = {
        "WECOM_AIBOT_SECRET": "aibot-secret-1",
        "WECOM_WEBHOOK_KEY_SZK": "hook-key-1",
        "WECOM_WEBHOOK_KEY_EMPTY": "",
    }

    secrets = Secrets.from_env(env)

    assert secrets.webhook_key("szk") == "hook-key-1"
    assert secrets.webhook_key("empty") == ""
    assert set(secrets.values()) == {"aibot-secret-1", "hook-key-1"}
    assert "hook-key-1" not in repr(secrets)


@pytest.mark.parametrize(
    ("env", "channel"),
    [
        pytest.param({}, "console", id="nothing"),
        pytest.param({"WECOM_APP_SECRET": "s"}, "appchat", id="app"),
        pytest.param(
            {"WECOM_APP_SECRET": "s", "WECOM_AIBOT_SECRET": "b"},
            "aibot",
            id="aibot-first",
        ),
    ],
)
def test_config_wecom_default_channel_prefers_aibot(write_config, env, channel):
    extra = '[wecom.app]\ncorp_id = "ww1"\nagent_id = 1\n[wecom.aibot]\nbot_id = "b1"\n'

    settings = config.load(write_config(extra), env=env)

    assert settings.default_channel == channel


def test_config_wecom_aibot_secret_in_file_refused(write_config):
    with pytest.raises(ConfigError, match="WECOM_AIBOT_SECRET"):
        config.load(write_config('[wecom.aibot]\nsecret = "x"\n'), env={})
