"""The ticket path through the fake WeCom: cards pushed, buttons clicked, cards
updated for everyone, refusals shown only to the one who clicked."""

from __future__ import annotations

import asyncio

from bot import config
from bot.app import App
from bot.roles import person
from fakewecom import FakeWeCom
from fakewecom.aibot_ws import FakeAiBotServer
from fakewecom.callbacks import CallbackDriver
from tests.conftest import BASE_CONFIG
from tests.test_e2e_wecom import (
    AES_KEY,
    CORP,
    TOKEN,
    free_port,
    serve_story,
    settings_for,
    wait_for,
)


def cards_in(fake: FakeAiBotServer, chat: str) -> list:
    return [d for d in fake.chat_log(chat) if d.kind == "template_card"]


def key_of(card: dict, text: str) -> str:
    return next(b["key"] for b in card["button_list"] if b["text"] == text)


async def test_aibot_hit_card_to_approval_to_office(write_config, feed_server):
    fake = FakeWeCom()
    fake.aibot = FakeAiBotServer("bot-1", "aibot-secret")
    async with fake:
        bot = fake.aibot
        bot.allow_chat("grp-szk", ("zhangsan", "lisi"))
        bot.allow_chat("office-group", ("sunqi",))
        extra = serve_story(feed_server) + (
            f'[wecom.aibot]\nbot_id = "bot-1"\nws_url = "{bot.ws_url}"\n'
        )
        settings = urgent_settings(
            write_config, "aibot:grp-szk", extra, {"WECOM_AIBOT_SECRET": "aibot-secret"}
        )
        async with App.open(settings) as app:
            await app.start_channels()
            await app.channels["aibot"].wait_connected()
            report = await app.scan_all()
            await bot.wait_until(lambda: cards_in(bot, "grp-szk"))
            hit_card = cards_in(bot, "grp-szk")[0].card
            hit_id = report.hits[0].id

            # The monitor registers the hit with the card's button.
            await bot.push_card_click(
                "zhangsan", hit_card["task_id"], key_of(hit_card, "登记"), "grp-szk"
            )
            await bot.wait_until(lambda: hit_card["task_id"] in bot.card_updates)
            await app.deliver()
            await bot.wait_until(lambda: len(cards_in(bot, "grp-szk")) == 2)
            approval = cards_in(bot, "grp-szk")[1].card

            # The head approves with the approval card; a second click is refused.
            await bot.push_card_click(
                "lisi", approval["task_id"], key_of(approval, "同意"), "grp-szk"
            )
            await bot.wait_until(lambda: approval["task_id"] in bot.card_updates)
            approved = bot.card_updates[approval["task_id"]]
            approved_for = bot.card_update_users[approval["task_id"]]
            await bot.push_card_click(
                "lisi", approval["task_id"], key_of(approval, "退回"), "grp-szk"
            )
            await bot.wait_until(
                lambda: bot.card_update_users[approval["task_id"]] == ["lisi"]
            )
            refused = bot.card_updates[approval["task_id"]]
            await app.deliver()
            await bot.wait_until(lambda: bot.chat_log("office-group"))
            ticket = app.store.tickets.get(approval["main_title"]["desc"])

    registered = bot.card_updates[hit_card["task_id"]]
    assert hit_id in hit_card["main_title"]["desc"]
    assert registered["main_title"]["title"].startswith("已登记 YQ-")
    assert bot.card_update_users[hit_card["task_id"]] == []  # everyone sees it
    assert approval["task_id"] == f"{ticket.id}-r1"
    assert approved["main_title"] == {"title": "已批示", "desc": "操作人：lisi"}
    assert approved_for == []
    assert refused["main_title"]["title"] == "未执行"
    assert "已被他人处理" in refused["sub_title_text"]
    assert ticket.state == "待办理" and ticket.instruction == "同意"
    office = bot.chat_log("office-group")[0]
    assert ticket.id in office.content and "<@sunqi>" in office.content


async def test_app_private_approval_card_updates_every_head(write_config):
    fake = FakeWeCom(
        corp_id=CORP, apps={1000002: "app-secret"}, users=["lisi", "zhangsan"]
    )
    async with fake:
        port = free_port()
        extra = (
            f'[wecom.app]\ncorp_id = "{CORP}"\nagent_id = 1000002\n'
            f'api_base = "{fake.base_url}"\n[server]\nport = {port}\n'
        )
        env = {
            "WECOM_APP_SECRET": "app-secret",
            "WECOM_APP_TOKEN": TOKEN,
            "WECOM_APP_AES_KEY": AES_KEY,
        }
        settings = settings_for(write_config, "appchat:szkchat", extra, env)
        stop = asyncio.Event()
        async with App.open(settings) as app:
            await app.start_channels()
            worker = asyncio.ensure_future(app.outbox.run(app.channels, stop))
            driver = CallbackDriver(
                f"http://127.0.0.1:{port}/wecom/app/callback", TOKEN, AES_KEY, CORP
            )
            ticket = app.casework.register_manual(
                person(settings, "zhangsan"),
                "http://127.0.0.1:9/t/1",
                "网友称退税难",
                "",
                app.now(),
            )
            await wait_for(lambda: fake.cards("lisi"))
            task_id = f"{ticket.id}-r1"
            before = fake.cards("lisi")[task_id]["card"]
            key = key_of(before, "同意")
            code = fake.issue_click_response_code(task_id, "lisi")
            await driver.app_card_click("lisi", task_id, key, code)
            await wait_for(lambda: app.store.tickets.get(ticket.id).state == "待办理")
            await wait_for(lambda: "已批示" in str(fake.cards("lisi")[task_id]))
            after = fake.cards("lisi")[task_id]["card"]
            await app.casework.stop()
            stop.set()
            await worker

        replies = [m.get("content", "") for m in fake.seen_by("lisi")]

    assert before["main_title"]["title"] == "网友称退税难"
    assert after["main_title"] == {"title": "已批示", "desc": "操作人：lisi"}
    assert any(f"已批示 {ticket.id}" in str(r) for r in replies)


def urgent_settings(write_config, chat: str, extra: str, env: dict[str, str]):
    """The e2e settings with the section's rule at level 重大 (hits come as cards)."""
    base = BASE_CONFIG.replace('chat = "szk-group"', f'chat = "{chat}"')
    base = base.replace('expr = "发票 投诉"', 'expr = "乱收费 投诉"')
    base = base.replace('level = "较大"', 'level = "重大"')
    return config.load(write_config(extra, base=base), env=env)
