"""What each CLI command does, once arguments are parsed.

Loads settings and sets up logging for every command; turns the failures an operator
can fix into one Chinese line on stderr and an exit code (2: configuration, 1: the
bot cannot start), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot import backup, config, log
from bot.app import App
from bot.appchats import appchat_command
from bot.channels.console import ConsoleChannel
from bot.checkup import print_check
from bot.errors import ConfigError, StoreError
from bot.healthz import serve_status
from bot.probe import print_probes
from bot.roles import person
from bot.scheduler import build_scheduler

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2
EXIT_START = 1
# On SIGTERM, scans in flight get this long to finish (docker stop waits 10 s).
SHUTDOWN_GRACE_S = 3.0


def dispatch(args: argparse.Namespace) -> int:
    """Run the parsed command and return the process exit code."""
    try:
        settings = config.load(args.config)
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    chatting = args.command == "console" or (
        args.command == "run" and not settings.has_wecom and sys.stdin.isatty()
    )
    log_file = settings.data_dir / "logs" / "bot.log" if chatting else None
    log.setup(args.log_level, settings.secrets.values(), file=log_file)

    if args.command == "check":
        code = print_check(settings, sys.stdout)
        if args.online:
            code = max(code, print_probes(settings, sys.stdout))
        return code
    if args.command == "backup":
        return backup.backup_command(settings.data_dir, args.dir, sys.stdout)
    if args.command == "restore":
        return backup.restore_command(args.dir, settings.data_dir, sys.stdout)
    try:
        if args.command == "appchat":
            return asyncio.run(appchat_command(settings, args, sys.stdout))
        if args.command == "console":
            return asyncio.run(_console(settings, args.user))
        if args.command == "scan":
            if not args.once:
                sys.stderr.write(
                    "scan 目前只支持一轮扫描：请加 --once；持续扫描请用 run。\n"
                )
                return EXIT_CONFIG
            return asyncio.run(_scan_once(settings, args.json))
        return asyncio.run(_run(settings))
    except StoreError as exc:
        sys.stderr.write(f"无法启动：{exc}\n")
        return EXIT_START
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


async def _console(settings: config.Settings, user: str) -> int:
    if not person(settings, user).is_known:
        sys.stderr.write(
            f"用户ID {user} 不在配置的任何角色中；请用 admins、[[sections]]、[office] "
            "或 [leaders] 中出现的用户ID。\n"
        )
        return EXIT_CONFIG
    async with App.open(settings) as app:
        show_notices = None if settings.has_wecom else app.deliver
        channel = console_channel(app, user, after_reply=show_notices)
        if not settings.has_wecom:
            # Without WeCom every notice is meant for this terminal: show the queue.
            await app.start_channels({"console": channel})
            await app.deliver()
        app.casework.resume_evidence(app.now())
        await channel.run()
    return 0


async def _scan_once(settings: config.Settings, as_json: bool) -> int:
    async with App.open(settings) as app:
        report = await app.scan_all()
    paused = [s.name for s in report.sources if s.paused]
    if paused and as_json:
        # stdout carries only hits here; the skipped sources go to stderr.
        sys.stderr.write(f"已暂停、本轮跳过的来源：{'、'.join(paused)}\n")
    if as_json:
        for hit in report.hits:
            record = {
                "id": hit.id,
                "title": hit.title,
                "url": hit.url,
                "source": hit.source,
                "section": hit.section,
                "rule": hit.rule,
                "level": hit.level,
                "found_at": hit.found_at.isoformat(),
                "published": hit.published.isoformat() if hit.published else None,
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    for source in report.sources:
        if source.paused:
            sys.stdout.write(
                f"⏸ {source.name}：已暂停，本轮跳过"
                f"（在群里发“恢复来源 {source.name}”恢复）\n"
            )
        elif source.ok:
            sys.stdout.write(
                f"✔ {source.name}：读取 {source.items} 条，新 {source.new_items} 条，"
                f"命中 {source.hits} 条\n"
            )
        else:
            sys.stdout.write(f"✘ {source.name}：{source.error}\n")
    sys.stdout.write(f"本轮共新增命中 {len(report.hits)} 条。\n")
    return 0


async def _run(settings: config.Settings) -> int:
    async with App.open(settings) as app:
        scheduler = build_scheduler(app)
        scheduler.start()
        app.casework.resume_evidence(app.now())
        logger.info(
            "bot started data_dir=%s sources=%d jobs=%d",
            settings.data_dir,
            len(settings.sources),
            len(scheduler.get_jobs()),
        )
        try:
            await _serve(app, settings, scheduler)
        finally:
            scheduler.shutdown(wait=False)
            await app.stop_scans(SHUTDOWN_GRACE_S)
            logger.info("bot stopped")
    return 0


async def _serve(
    app: App, settings: config.Settings, scheduler: AsyncIOScheduler
) -> None:
    """Run the channels, the outbox and the status routes until a signal (or the
    console chat ends)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

    user = settings.console.user or (settings.admins[0] if settings.admins else "")
    console = None
    if not settings.has_wecom and sys.stdin.isatty() and user:
        console = console_channel(app, user)
    await app.start_channels({"console": console} if console else None)
    try:
        status_server = await serve_status(app, scheduler)
    except BaseException:
        await app.stop_channels()
        raise
    worker = asyncio.ensure_future(app.outbox.run(app.channels, stop))
    try:
        if console is not None:
            chat = asyncio.ensure_future(console.run())
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait({chat, waiter}, return_when=asyncio.FIRST_COMPLETED)
            chat.cancel()
            waiter.cancel()
            stop.set()
        else:
            await stop.wait()
    finally:
        stop.set()
        await worker
        if status_server is not None:
            await status_server.stop()
        await app.stop_channels()


def console_channel(
    app: App,
    user: str,
    after_reply: Callable[[], Awaitable[object]] | None = None,
    greet: bool = True,
) -> ConsoleChannel:
    """A chat on this terminal as `user`, greeting them when interactive (and
    `greet`); `after_reply` runs after each reply (to show the notices it queued)."""
    interactive = sys.stdin.isatty()
    channel = ConsoleChannel(
        app.dispatcher, user, sys.stdin, sys.stdout, interactive, after_reply
    )
    if interactive and greet:
        sys.stdout.write(console_welcome(app, user) + "\n\n")
    return channel


def console_welcome(app: App, user: str) -> str:
    """Who the console chats as, and how to get help or leave."""
    return app.renderer.render(
        "console_welcome.j2",
        bot_name=app.settings.bot.name,
        userid=user,
        roles=sorted(r.value for r in person(app.settings, user).roles),
    )
