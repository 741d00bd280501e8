"""The offline demo (``make demo``): sample sources and the fake WeCom on this
machine, a narrated scenario from scan to daily briefing, then a console chat.

Nothing here is used by the bot itself; it drives the real `bot.app.App`, its
AI-bot long-connection channel and its outbox against `fakewecom`.
"""
