"""The command line as an operator uses it: real subprocesses, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

COMMANDS = ["run", "scan", "console", "check"]


def bot(*args: str, cwd: Path, stdin: str = "", env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_cli_help_is_chinese(tmp_path, command):
    result = bot(*([command] if command else []), "--help", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout.startswith("用法：python -m bot")
    assert "用法：用法：" not in result.stdout
    assert "显示本帮助并退出" in result.stdout
    assert "usage:" not in result.stdout and "options:" not in result.stdout


def test_cli_missing_argument_explained_in_chinese(tmp_path, write_config):
    result = bot("--config", str(write_config()), "console", cwd=tmp_path)

    assert result.returncode == 2
    assert "缺少必需的参数：--as" in result.stderr


def test_cli_bad_config_exits_2_without_traceback(tmp_path, write_config):
    path = write_config('[server]\nport = "eighty"\n')

    result = bot("--config", str(path), "check", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "server.port" in result.stderr and "应为整数" in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_check_reports_what_would_run(tmp_path):
    result = bot("--config", str(ROOT / "config.toml"), "check", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "校验通过" in result.stdout
    assert "科室 2 个" in result.stdout
    assert "人民网·时政（rss，每 30m）：将定时扫描" in result.stdout


def test_cli_console_piped_answers_each_line(tmp_path, write_config):
    path = write_config()

    result = bot(
        "--config",
        str(path),
        "console",
        "--as",
        "zhangsan",
        cwd=tmp_path,
        stdin="身份\n\n命中 今日\n",
    )

    assert result.returncode == 0, result.stderr
    assert "监控科室：税政管理科" in result.stdout
    assert "今日没有命中信息" in result.stdout
    assert "Traceback" not in result.stderr


def test_cli_console_shows_highlights_as_brackets_not_markup(tmp_path, write_config):
    result = bot(
        "--config", str(write_config()), "console", "--as", "sunqi",
        cwd=tmp_path, stdin="简报\n",
    )  # fmt: skip

    assert "【零报告】" in result.stdout, result.stderr
    assert "<font" not in result.stdout


def test_cli_console_unknown_user_refused(tmp_path, write_config):
    result = bot(
        "--config", str(write_config()), "console", "--as", "ghost", cwd=tmp_path
    )

    assert result.returncode == 2
    assert "ghost 不在配置的任何角色中" in result.stderr


def test_cli_second_process_on_same_data_dir_refuses(tmp_path, write_config):
    path = write_config()
    first = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(path), "run"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        # meta.json is written after the lock is taken.
        _wait_for(lambda: (tmp_path / "data" / "meta.json").exists())

        second = bot(
            "--config",
            str(path),
            "console",
            "--as",
            "zhangsan",
            cwd=tmp_path,
            stdin="帮助\n",
        )

        assert second.returncode == 1
        assert "正被另一个进程使用" in second.stderr
        assert str(first.pid) in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=20)
    assert first.returncode == 0, err
    assert "bot stopped" in err


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_cli_secrets_never_reach_output_or_log_file(tmp_path, write_config):
    secrets = {
        "WECOM_APP_SECRET": "corpsecret-7f3a9c",
        "WECOM_APP_TOKEN": "callbacktoken-51be",
        "WECOM_APP_AES_KEY": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    }
    path = write_config('[wecom.app]\ncorp_id = "ww1436e0e65a779aee"\nagent_id = 1\n')

    outputs = [
        bot(
            "--config",
            str(path),
            "--log-level",
            "DEBUG",
            *args,
            cwd=tmp_path,
            stdin="帮助\n身份\n不存在的命令\n",
            env=secrets,
        )
        for args in (["check"], ["console", "--as", "admin"])
    ]

    log_file = tmp_path / "data" / "logs" / "bot.log"
    texts = [r.stdout + r.stderr for r in outputs] + [log_file.read_text("utf-8")]
    assert "message handled" in texts[-1]
    for text in texts:
        for value in secrets.values():
            assert value not in text


async def _bot_async(*args: str, cwd: Path, env: dict) -> tuple[int, str, str]:
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def app_fake():
    from fakewecom import FakeWeCom

    users = ["zhangsan", "lisi", "sunqi"]
    fake = FakeWeCom(corp_id="wwclicorp", apps={1000002: "cli-secret"}, users=users)
    async with fake:
        yield fake


def _app_config(write_config, fake) -> str:
    extra = (
        f'[wecom.app]\ncorp_id = "wwclicorp"\nagent_id = 1000002\n'
        f'api_base = "{fake.base_url}"\n'
    )
    return str(write_config(extra))


async def test_cli_appchat_create_prints_chat_address(tmp_path, write_config, app_fake):
    path = _app_config(write_config, app_fake)
    env = {"WECOM_APP_SECRET": "cli-secret"}

    code, out, err = await _bot_async(
        "--config",
        path,
        "appchat",
        "create",
        "税政科舆情群",
        "lisi",
        "zhangsan",
        "--chatid",
        "szkyq",
        cwd=tmp_path,
        env=env,
    )

    assert code == 0 and "Traceback" not in err
    assert 'chat = "appchat:szkyq"' in out and "已创建应用群聊“税政科舆情群”" in out
    chat = app_fake.state.chats["szkyq"]
    assert chat.owner == "lisi" and chat.members == ["lisi", "zhangsan"]


async def test_cli_appchat_get_shows_members_and_use(tmp_path, write_config, app_fake):
    path = _app_config(write_config, app_fake)
    env = {"WECOM_APP_SECRET": "cli-secret"}
    await _bot_async(
        "--config",
        path,
        "appchat",
        "create",
        "办公室群",
        "sunqi",
        "lisi",
        "--chatid",
        "bgs",
        cwd=tmp_path,
        env=env,
    )
    text = Path(path).read_text(encoding="utf-8")
    Path(path).write_text(text.replace('"office-group"', '"appchat:bgs"'), "utf-8")

    code, out, _ = await _bot_async(
        "--config", path, "appchat", "get", "bgs", cwd=tmp_path, env=env
    )

    assert code == 0
    assert "名称：办公室群" in out and "群主：sunqi" in out
    assert "成员 2 人：sunqi、lisi" in out
    assert 'chat = "appchat:bgs"' in out and "使用它的：办公室" in out


async def test_cli_appchat_refusal_explained(tmp_path, write_config, app_fake):
    path = _app_config(write_config, app_fake)

    code, _, err = await _bot_async(
        "--config",
        path,
        "appchat",
        "create",
        "群",
        "lisi",
        "nobody",
        cwd=tmp_path,
        env={"WECOM_APP_SECRET": "cli-secret"},
    )

    assert code == 1
    assert "企业微信拒绝了请求" in err and "86007" in err
    assert "Traceback" not in err and "cli-secret" not in err
