from pathlib import Path

import pytest

from bot import config
from bot.errors import ConfigError
from tests.conftest import BASE_CONFIG, ROOT


def test_config_shipped_file_loads():
    settings = config.load(ROOT / "config.toml", env={})

    assert settings.bot.timezone == "Asia/Shanghai"
    assert [s.id for s in settings.sections] == ["szk", "nfk"]
    assert all(s.kind in config.SOURCE_KINDS for s in settings.sources)
    assert not settings.has_wecom_app


def test_config_defaults_fill_missing_tables(write_config):
    settings = config.load(write_config(), env={})

    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8080
    assert settings.wecom.app.api_base == "https://qyapi.weixin.qq.com/cgi-bin/"
    assert settings.data_dir == (write_config().parent / "data").resolve()


def test_config_secrets_come_from_environment(write_config):
    env = {"WECOM_APP_SECRET": "s3cret-value", "WECOM_APP_TOKEN": "tok-value"}
    path = write_config('[wecom.app]\ncorp_id = "ww123"\n')

    settings = config.load(path, env=env)

    assert settings.secrets.app_secret == "s3cret-value"
    assert settings.has_wecom_app
    assert "s3cret-value" not in repr(settings)


def test_config_is_frozen(write_config):
    settings = config.load(write_config(), env={})

    with pytest.raises(AttributeError):
        settings.bot.name = "x"  # type: ignore[misc]


BAD_CONFIGS = [
    pytest.param('[bot\nname = "x"', "", "TOML 语法错误", id="syntax-error"),
    pytest.param(
        "[server]\nhost = 本机\n", "", "行第 8 列，值的写法有误", id="syntax-unquoted"
    ),
    pytest.param(
        '[server]\nhost = "本机\n', "", "字符串没有闭合", id="syntax-unclosed-string"
    ),
    pytest.param(
        "[server]\nprot = 80\n", "server.prot", "是不是想写 port", id="unknown-key"
    ),
    pytest.param('[server]\nport = "80"\n', "server.port", "应为整数", id="wrong-type"),
    pytest.param(
        "[server]\nport = 70000\n", "server.port", "1 到 65535", id="port-range"
    ),
    pytest.param(
        '[wecom.app]\nsecret = "abc"\n',
        "wecom.app.secret",
        "环境变量 WECOM_APP_SECRET",
        id="secret-in-file",
    ),
    pytest.param(
        '[[rules]]\nname = "x"\nexpr = "税"\nsection = "nope"\n',
        "rules[3].section",
        '科室 "nope" 不存在',
        id="rule-missing-section",
    ),
    pytest.param(
        '[[sources]]\nname = "a"\nkind = "rss"\nurl = "http://e.cn/f"\nsection = "x"\n',
        "sources[1].section",
        "不存在",
        id="source-missing-section",
    ),
    pytest.param(
        '[[sources]]\nname = "a"\nkind = "ftp"\nurl = "http://e.cn/"\n'
        'section = "szk"\n',
        "sources[1].kind",
        "rss、html、json、search",
        id="source-kind",
    ),
    pytest.param(
        '[[sources]]\nname = "a"\nkind = "rss"\nurl = "e.cn/f"\nsection = "szk"\n',
        "sources[1].url",
        "http://",
        id="source-url",
    ),
    pytest.param(
        '[[sources]]\nname = "a"\nkind = "rss"\nurl = "http://e.cn/"\nsection = "szk"\n'
        'every = "30 minutes"\n',
        "sources[1].every",
        '"30m"',
        id="source-every",
    ),
    pytest.param(
        '[[rules]]\nname = "x"\nexpr = "税"\nsection = "szk"\nlevel = "严重"\n',
        "rules[3].level",
        "一般、较大、重大、特别重大",
        id="rule-level",
    ),
    pytest.param(
        '[[rules]]\nname = "个税退税"\nexpr = "税"\nsection = "szk"\n',
        "rules[3].name",
        "重复",
        id="duplicate-rule",
    ),
    pytest.param(
        '[[sections]]\nid = "x"\nname = "x"\nmonitors = ["zhangsan"]\n',
        "sections[3].monitors",
        "只能属于一个科室",
        id="monitor-in-two-sections",
    ),
    pytest.param(
        '[[sections]]\nid = "x"\nname = "x"\nmonitors = ["a"]\nheads = ["a"]\n',
        "sections[3].heads",
        "不能兼任",
        id="monitor-heads-own-section",
    ),
    pytest.param(
        '[[sections]]\nid = "x"\nname = "税政/../科"\n',
        "sections[3].name",
        "不能含有 / \\ :",
        id="section-name-path",
    ),
    pytest.param(
        '[calendar]\nholidays = ["2027-13-01"]\n',
        "calendar.holidays[1]",
        "不是日期",
        id="calendar-date",
    ),
    pytest.param(
        '[[rules]]\nname = "x"\nexpr = "(发票 | 投诉"\nsection = "szk"\n',
        "rules[3].expr",
        "括号",
        id="rule-syntax",
    ),
    pytest.param(
        '[[rules]]\nname = "x"\nexpr = "  "\nsection = "szk"\n',
        "rules[3].expr",
        "有误",
        id="rule-empty",
    ),
    pytest.param(
        '[console]\nuser = "ghost"\n',
        "console.user",
        "不在任何角色中",
        id="console-user",
    ),
    pytest.param(
        '[bot]\ntimezone = "Mars/Base"\n', "bot.timezone", "未知的时区", id="timezone"
    ),
]


@pytest.mark.parametrize(("extra", "key", "expected"), BAD_CONFIGS)
def test_config_bad_file_names_key_and_expectation(tmp_path, extra, key, expected):
    base = BASE_CONFIG.replace('[bot]\nname = "测试机器人"\ndata_dir = "data"\n', "")
    path = tmp_path / "config.toml"
    path.write_text(base + extra, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        config.load(path, env={})

    message = str(caught.value)
    assert str(path) in message
    assert caught.value.key == key
    assert expected in message


def test_config_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="文件不存在"):
        config.load(tmp_path / "nope.toml", env={})


def test_config_missing_rule_keywords(write_config):
    path = write_config('[[rules]]\nname = "x"\nsection = "szk"\n')

    with pytest.raises(ConfigError) as caught:
        config.load(path, env={})

    assert caught.value.key == "rules[3].expr"
    assert "缺少关键词" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400)]
)
def test_config_parse_duration_units(text, seconds):
    assert config.parse_duration(text).total_seconds() == seconds


def test_config_parse_days_range():
    days = config.parse_days("2027-02-05..2027-02-07")

    assert [d.isoformat() for d in days] == ["2027-02-05", "2027-02-06", "2027-02-07"]


def test_config_relative_data_dir_follows_config_file(tmp_path: Path):
    nested = tmp_path / "etc"
    nested.mkdir()
    (nested / "config.toml").write_text(BASE_CONFIG, encoding="utf-8")

    settings = config.load(nested / "config.toml", env={})

    assert settings.data_dir == nested / "data"
