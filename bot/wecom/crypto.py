"""Signatures and AES for WeCom callbacks (self-built app XML and AI bot JSON).

The only module of the bot that imports wechatpy: its `PrpCrypto` does the AES part
(AES-256-CBC, IV = key[:16], 16 random bytes + 4-byte length + message + receive id,
PKCS#7 padded to 32 bytes). The signature
``sha1(sorted([token, timestamp, nonce, encrypt]))`` is computed here so it can be
compared in constant time, and the timestamp is checked for freshness (wechatpy
does neither).

Rules: https://developer.work.weixin.qq.com/document/path/90930 (URL verification,
加解密方案) and https://developer.work.weixin.qq.com/document/path/101033 (AI bot:
receive id is ``""``, JSON envelopes).

Every failure is a `CallbackRejected` with a reason code; wechatpy's own exceptions
never leave this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time
from collections.abc import Callable
from typing import Any

import xmltodict
from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException

from bot.errors import BotError

BAD_SIGNATURE = "bad_signature"
BAD_CORP = "bad_corp"
STALE = "stale"
MALFORMED = "malformed"
REASONS = (BAD_SIGNATURE, BAD_CORP, STALE, MALFORMED)

# What garbage fed to base64/AES/length parsing raises inside wechatpy.
_DECRYPT_ERRORS = (ValueError, TypeError, IndexError, struct.error)


class CallbackRejected(BotError):
    """A callback that must not be processed; `reason` is one of `REASONS`."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _random_prefix() -> str:
    return secrets.token_hex(8)


class _Prp(PrpCrypto):
    """wechatpy's AES with our source of the 16 random leading bytes."""

    def __init__(self, key: bytes, random_prefix: Callable[[], str]) -> None:
        super().__init__(key)
        self._prefix = random_prefix

    def get_random_string(self) -> str:
        return self._prefix()


class CallbackCrypto:
    """Checks and decrypts callbacks of one app or AI bot; encrypts passive replies.

    `receive_id`: the CorpID for a self-built app, ``""`` for an internal AI bot.
    `max_age_s`: reject POSTed callbacks whose timestamp is further than this from
    `clock()` (None: no check). `random_prefix` makes encryption deterministic for
    test vectors.
    """

    def __init__(
        self,
        token: str,
        aes_key: str,
        receive_id: str,
        *,
        max_age_s: float | None = None,
        clock: Callable[[], float] = time.time,
        random_prefix: Callable[[], str] = _random_prefix,
    ) -> None:
        try:
            key = base64.b64decode(aes_key + "=", validate=True)
        except binascii.Error:
            key = b""
        if len(aes_key) != 43 or len(key) != 32:
            raise ValueError("EncodingAESKey must be 43 base64 characters")
        self._token = token
        self._receive_id = receive_id
        self._max_age_s = max_age_s
        self._clock = clock
        self._prp = _Prp(key, random_prefix)

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """WeCom's msg_signature over the encrypted text."""
        parts = sorted(
            p.encode("utf-8") for p in (self._token, timestamp, nonce, encrypted)
        )
        return hashlib.sha1(b"".join(parts)).hexdigest()

    def verify_url(
        self, signature: str, timestamp: str, nonce: str, echostr: str
    ) -> str:
        """Check a URL-verification GET and return the decrypted echostr.

        No freshness check: replaying a verification only echoes a known value.
        """
        self._check_signature(signature, timestamp, nonce, echostr)
        return self._decrypt(echostr)

    def decrypt_xml(
        self, body: str | bytes, signature: str, timestamp: str, nonce: str
    ) -> str:
        """Decrypt an app callback body ``<xml>…<Encrypt>…</Encrypt>…</xml>``."""
        try:
            envelope = xmltodict.parse(body)["xml"]
            encrypted = envelope["Encrypt"]
        except Exception:  # expat errors, wrong root, no Encrypt
            raise CallbackRejected(MALFORMED) from None
        if not isinstance(encrypted, str) or not encrypted:
            raise CallbackRejected(MALFORMED)
        return self._open(encrypted, signature, timestamp, nonce)

    def decrypt_json(
        self, body: dict[str, Any], signature: str, timestamp: str, nonce: str
    ) -> str:
        """Decrypt an AI bot callback body ``{"encrypt": "…"}``."""
        encrypted = body.get("encrypt") if isinstance(body, dict) else None
        if not isinstance(encrypted, str) or not encrypted:
            raise CallbackRejected(MALFORMED)
        return self._open(encrypted, signature, timestamp, nonce)

    def encrypt(self, text: str) -> str:
        """AES-encrypt `text` for this receive id (base64)."""
        return self._prp.encrypt(text, self._receive_id).decode("ascii")

    def encrypt_xml_reply(self, xml: str, nonce: str, timestamp: str) -> str:
        """Wrap a plaintext XML passive reply in WeCom's encrypted envelope."""
        encrypted = self.encrypt(xml)
        signature = self.signature(timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )

    def encrypt_json_reply(
        self, text: str, nonce: str, timestamp: str
    ) -> dict[str, Any]:
        """The AI bot passive-reply body for the plaintext JSON `text`."""
        encrypted = self.encrypt(text)
        return {
            "encrypt": encrypted,
            "msgsignature": self.signature(timestamp, nonce, encrypted),
            "timestamp": int(timestamp),
            "nonce": nonce,
        }

    def _open(self, encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
        self._check_signature(signature, timestamp, nonce, encrypted)
        self._check_fresh(timestamp)
        return self._decrypt(encrypted)

    def _check_signature(
        self, signature: str, timestamp: str, nonce: str, encrypted: str
    ) -> None:
        if not (signature and timestamp and nonce and encrypted):
            raise CallbackRejected(MALFORMED)
        expected = self.signature(timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, signature.lower()):
            raise CallbackRejected(BAD_SIGNATURE)

    def _check_fresh(self, timestamp: str) -> None:
        if self._max_age_s is None:
            return
        try:
            sent = int(timestamp)
        except ValueError:
            raise CallbackRejected(MALFORMED) from None
        if abs(self._clock() - sent) > self._max_age_s:
            raise CallbackRejected(STALE)

    def _decrypt(self, encrypted: str) -> str:
        try:
            plain = self._prp.decrypt(encrypted, self._receive_id)
        except InvalidCorpIdException:
            raise CallbackRejected(BAD_CORP) from None
        except _DECRYPT_ERRORS:
            raise CallbackRejected(MALFORMED) from None
        return str(plain)
