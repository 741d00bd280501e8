"""A fake WeCom (企业微信) for tests and the offline demo.

`FakeWeCom` serves the real REST API over real HTTP (`fakewecom.server`) and
remembers what members saw (`fakewecom.state`); `fakewecom.callbacks` plays
WeCom's side of the encrypted callbacks a bot receives.
"""

from fakewecom.server import FakeWeCom

__all__ = ["FakeWeCom"]
