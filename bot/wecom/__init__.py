"""WeCom (企业微信) REST clients: the self-built app, its token, the group robots.

`bot.wecom.api` holds the clients, `bot.wecom.tokens` the access-token manager and
`bot.wecom.errors` the error-code table that tells the outbox whether to retry,
alert an operator or give a message up; `bot.wecom.crypto` and `bot.wecom.inbound`
read WeCom's encrypted callbacks. Channels (`bot.channels.app`,
`bot.channels.webhook`) build messages on top of these clients.
"""

from bot.wecom.api import WebhookClient, WeComClient
from bot.wecom.errors import WeComError

__all__ = ["WeComClient", "WeComError", "WebhookClient"]
