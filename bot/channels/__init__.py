"""Channels: where chat lines come from and where replies and notices go.

Each channel turns its traffic into `bot.events.Inbound`, hands it to the dispatcher,
and delivers the outbox's messages: the AI bot (long connection, or callback with
its ``aibot_reply`` late replies), the self-built app (``app``, ``appchat``), group
robots (``webhook``) and the console. `bot.channels.setup` builds the ones the
settings ask for.
"""
