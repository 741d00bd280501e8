"""Run the fake WeCom on its own: ``python -m fakewecom --port 8900``.

Prints the base URLs and the test credentials, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from fakewecom.server import FakeWeCom

CORP_ID = "wwfakecorp"
AGENT_ID = 1000002
APP_SECRET = "app-secret"
USERS = ["zhangsan", "lisi", "wangwu", "zhaoliu", "sunqi", "leader1", "admin"]
WEBHOOKS = {"hook-key-1": "szk", "hook-key-2": "nfk"}


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fakewecom")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    return parser.parse_args()


async def _serve(host: str, port: int) -> None:
    fake = FakeWeCom(
        corp_id=CORP_ID, apps={AGENT_ID: APP_SECRET}, users=USERS, webhooks=WEBHOOKS
    )
    await fake.start(host=host, port=port)
    lines = [
        f"fake WeCom at {fake.root_url}",
        f"  api_base      {fake.base_url}",
        f"  webhook_base  {fake.webhook_base}",
        f"  corp_id       {CORP_ID}",
        f"  agent_id      {AGENT_ID}",
        f"  app secret    {APP_SECRET}",
        f"  users         {', '.join(USERS)}",
        *(f"  webhook key   {key} ({name})" for key, name in WEBHOOKS.items()),
    ]
    print("\n".join(lines), flush=True)  # noqa: T201
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main() -> None:
    args = _parse_args()
    logging.basicConfig(level=logging.INFO)
    try:
        asyncio.run(_serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
