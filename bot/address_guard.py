"""Refuse source addresses that lead into the bureau's own network.

The bot fetches sources from inside the bureau's network, so a source added in
chat that pointed at a loopback, private, link-local, shared or reserved address
would let anyone allowed to add sources make the bot read internal services (and
show what it found). `check_public` refuses such an address: a literal IP as
written, a host name by every address DNS gives for it (one bad address is
enough). ``[scan] allow_private_sources = true`` switches the check off for
bureaus that do monitor internal sites.

The check runs when the source is added, and again for every request made while
the source is scanned, redirects, article pages and search queries included
(`bot.http.public_addresses_only`, which the scanner turns on for chat sources).
Limit: a DNS answer that changes between that check and the connection itself
(rebinding within seconds) is not caught.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from bot.errors import UserError

logger = logging.getLogger(__name__)

DNS_TIMEOUT_S = 10.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefusedError(UserError):
    """A source address that is not on the public internet, or cannot be resolved."""

    template = "sources/address_refused.j2"

    def __init__(self, url: str, host: str, addresses: list[str]) -> None:
        super().__init__(url=url, host=host, addresses=addresses)
        self.url = url
        self.host = host
        self.addresses = addresses


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


async def check_public(url: str) -> None:
    """Raise `AddressRefusedError` unless every address of `url`'s host is public.

    An unresolvable host is refused too (with no addresses listed): it cannot be
    checked, and it cannot be fetched either.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        addresses = await _resolve(host, parts.port or _default_port(parts.scheme))
    bad = [str(a) for a in addresses if not is_public(a)]
    if not addresses or bad:
        logger.info(
            "source address refused host=%s addresses=%s",
            host,
            ",".join(bad) or "unresolved",
        )
        raise AddressRefusedError(url, host, bad)


async def _resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), DNS_TIMEOUT_S
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    found: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"); the zone is not
        # part of the address.
        text = str(sockaddr[0]).split("%", 1)[0]
        found[ipaddress.ip_address(text)] = None
    return list(found)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80
