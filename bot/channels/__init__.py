"""Channels: where chat lines come from and where replies and notices go.

Each channel turns its traffic into `bot.events.Inbound`, hands it to the dispatcher,
and delivers the `Reply`. Only the console exists so far; the WeCom kinds (AI bot,
self-built app, group robot webhook) arrive with the outbox.
"""
