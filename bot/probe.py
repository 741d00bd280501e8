"""``python -m bot check --online``: try each channel's credentials and each source.

Each probe makes one real call and returns a `Probe` row: what was tried, whether
it worked, and for a failure what the operator should change. Nothing is sent to a
chat and nothing is written to the store, so it is safe while the bot runs:

- the self-built app: one ``gettoken`` (https://developer.work.weixin.qq.com/document/path/91039);
- each group robot: the key's shape, then ``webhook/send`` with an empty body.
  WeCom checks the key before the message: a valid key answers 40008 (no message
  type) and sends nothing, an invalid one 93000
  (https://developer.work.weixin.qq.com/document/path/91770);
- the AI bot long connection: one subscribe, then disconnect. WeCom keeps only the
  newest connection of a bot, so this is skipped while the bot runs (its data
  directory is locked): it would knock the running bot offline;
- each enabled source: one crawl, as a scan does, without remembering anything.

The table and the exit code are `print_probes`'s; `bot.checkup` does the offline
checks.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from bot.channels.aibot_ws import AiBotWsChannel
from bot.channels.base import SendError
from bot.crawlers import crawler_for
from bot.crawlers.base import CrawlContext
from bot.errors import BotError, StoreLockedError
from bot.http import HttpFetcher
from bot.rules import compile_expr
from bot.store.lock import DirLock
from bot.wecom.api import WebhookClient, WeComClient

if TYPE_CHECKING:
    from bot.config import Settings, Source

logger = logging.getLogger(__name__)

AIBOT_WAIT_S = 15.0
_SOURCE_FIXES = (
    (("域名", "DNS"), "核对地址中的域名，或检查本机的 DNS 与 [http] proxy"),
    (("404", "410"), "地址已失效：在浏览器中打开核对，网站改版后更新 url"),
    (
        ("403", "429"),
        "网站拒绝访问（可能限制抓取）：加大 every，或设置 [http] user_agent、proxy",
    ),
    (("超时",), "网站响应太慢：调大 [http] timeout_s，或检查本机网络"),
    (("证书", "SSL"), "网站证书有问题：核对地址是否应为 http://，或联系网站"),
)
_WEBHOOK_KEY = re.compile(r"[0-9A-Za-z-]{8,64}")


@dataclass(frozen=True)
class Probe:
    """One row of the table: `what` was tried, `ok`, `detail`, and `fix` if not."""

    what: str
    ok: bool
    detail: str
    fix: str = ""


def print_probes(settings: Settings, out: TextIO) -> int:
    """Run every probe, print the table to `out`; 1 if any failed, else 0."""
    probes = asyncio.run(run_probes(settings))
    out.write("\n在线检查（每个通道、每个来源实际试一次）：\n")
    for probe in probes:
        mark = "✔" if probe.ok else "✘"
        out.write(f"{mark} {probe.what}：{probe.detail}\n")
        if probe.fix:
            out.write(f"    → 处理：{probe.fix}\n")
    failed = sum(1 for p in probes if not p.ok)
    if failed:
        out.write(f"\n✘ {len(probes)} 项中 {failed} 项不通，请按上面的提示处理。\n")
    else:
        out.write(f"\n✔ {len(probes)} 项全部正常。\n")
    return 1 if failed else 0


async def run_probes(settings: Settings) -> list[Probe]:
    """All probes, channels first, then sources in configuration order."""
    probes: list[asyncio.Future[Probe] | asyncio.Task[Probe]] = []
    if settings.has_wecom_app:
        probes.append(asyncio.ensure_future(probe_app(settings)))
    for hook in settings.wecom.webhooks:
        probes.append(asyncio.ensure_future(probe_webhook(settings, hook.name)))
    if settings.has_aibot and settings.wecom.aibot.mode == "ws":
        probes.append(asyncio.ensure_future(probe_aibot(settings)))
    fetcher = HttpFetcher(settings.http)
    try:
        for source in settings.sources:
            if source.enabled:
                probes.append(
                    asyncio.ensure_future(probe_source(settings, source, fetcher))
                )
        return list(await asyncio.gather(*probes))
    finally:
        await fetcher.aclose()


async def probe_app(settings: Settings) -> Probe:
    app = settings.wecom.app
    what = f"自建应用（AgentId {app.agent_id}）"
    client = WeComClient(
        app.api_base, app.corp_id, app.agent_id, settings.secrets.app_secret
    )
    try:
        await client.tokens.get()
    except SendError as exc:
        return Probe(what, False, "获取 access_token 失败", str(exc))
    finally:
        await client.aclose()
    return Probe(what, True, "凭据有效，已取得 access_token")


async def probe_webhook(settings: Settings, name: str) -> Probe:
    what = f"群机器人 {name}"
    env = "WECOM_WEBHOOK_KEY_" + name.upper()
    key = settings.secrets.webhook_key(name)
    if not key:
        return Probe(
            what,
            False,
            f"缺少环境变量 {env}",
            f"设置 {env} 为群机器人地址中 key= 后面的部分",
        )
    if "key=" in key or "://" in key:
        return Probe(
            what, False, f"{env} 像是整个 Webhook 地址", "只填地址中 key= 后面的部分"
        )
    if not _WEBHOOK_KEY.fullmatch(key):
        return Probe(
            what,
            False,
            f"{env} 的格式不对（应为字母、数字和连字符）",
            "重新复制群机器人地址中 key= 后面的部分，注意不要带空格或换行",
        )
    client = WebhookClient(settings.wecom.webhook_base, key)
    try:
        await client.send({})
    except SendError as exc:
        if exc.code == 40008:
            return Probe(what, True, "key 有效（未发送任何消息）")
        return Probe(what, False, "企业微信不接受这个 key", str(exc))
    finally:
        await client.aclose()
    return Probe(what, True, "key 有效")


async def probe_aibot(settings: Settings) -> Probe:
    aibot = settings.wecom.aibot
    what = f"智能机器人长连接（{aibot.bot_id}）"
    lock = None
    if settings.data_dir.is_dir():  # no data directory: no bot runs on it
        try:
            lock = DirLock.acquire(settings.data_dir)
        except StoreLockedError:
            return Probe(
                what, True, "机器人正在运行，跳过订阅测试（以免顶掉正在使用的连接）"
            )
    try:
        channel = AiBotWsChannel(aibot, settings.secrets.aibot_secret)
        await channel.start(_ignore)
        try:
            await asyncio.wait_for(channel.wait_connected(), AIBOT_WAIT_S)
        except TimeoutError:
            return Probe(
                what,
                False,
                f"{AIBOT_WAIT_S:.0f} 秒内未能订阅成功",
                "核对 [wecom.aibot] bot_id 与环境变量 WECOM_AIBOT_SECRET，"
                f"并确认本机能访问 {aibot.ws_url}（只需出站访问）",
            )
        finally:
            await channel.stop()
    finally:
        if lock is not None:
            lock.release()
    return Probe(what, True, "订阅成功，已断开")


async def probe_source(
    settings: Settings, source: Source, fetcher: HttpFetcher
) -> Probe:
    what = f"来源“{source.name}”（{source.kind}）"
    crawler = crawler_for(source.kind)
    if crawler is None:
        return Probe(
            what,
            False,
            f"暂不支持 {source.kind} 类型",
            "改用 rss、html、json 或 search",
        )
    ctx = CrawlContext(
        fetcher,
        settings.tz,
        datetime.now(settings.tz),
        terms=_one_term(settings, source),
    )
    try:
        result = await crawler.crawl(source, ctx)
    except BotError as exc:
        return Probe(what, False, f"读取失败：{exc}", _source_fix(str(exc)))
    if not result.items:
        return Probe(
            what,
            False,
            "能访问，但没有读出任何条目",
            "核对地址；html、json 来源核对 item、title 等选择器",
        )
    return Probe(what, True, f"读到 {len(result.items)} 条")


def _one_term(settings: Settings, source: Source) -> tuple[str, ...]:
    """One keyword for a search source: enough to see that searching works."""
    if source.kind != "search":
        return ()
    for rule in settings.rules:
        if rule.name in source.rules or (
            not source.rules and rule.section == source.section
        ):
            terms = compile_expr(rule.expression).terms()
            if terms:
                return (terms[0],)
    return ()


def _source_fix(error: str) -> str:
    for words, fix in _SOURCE_FIXES:
        if any(word in error for word in words):
            return fix
    return "在浏览器中打开该地址核对；仍不行时用 --log-level DEBUG 查看详细错误"


async def _ignore(*_: object) -> None:
    return None
