"""Property-based tests (hypothesis) for what WeCom, or someone posing as it,
sends to the callback endpoints: random envelopes, signatures and ciphertexts
are refused with `CallbackRejected` and a reason, never another exception; any
decrypted payload, however odd, parses to an event or is refused.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.wecom.crypto import (
    BAD_SIGNATURE,
    MALFORMED,
    STALE,
    CallbackCrypto,
    CallbackRejected,
)
from bot.wecom.inbound import Unsupported, parse_aibot_json, parse_app_xml, to_inbound
from tests.test_properties import EXAMPLES

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "wx5823bf96d3bd56c7"
NOW = 1_800_000_000

BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

crypto = CallbackCrypto(TOKEN, AES_KEY, CORP, max_age_s=300, clock=lambda: NOW)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
B64 = st.text(
    st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    ),
    min_size=1,
    max_size=400,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["msgid", "msgtype", "from", "userid", "chatid", "chattype", "text",
             "content", "event", "eventtype", "template_card_event", "task_id",
             "event_key", "stream", "id", "aibotid", "response_url", "mixed"]
        )
        | TEXT,
        inner,
        max_size=6,
    ),
    max_leaves=20,
)  # fmt: skip
AIBOT_BASE = {
    "msgid": "MSG1",
    "aibotid": "BOT",
    "chatid": "CHAT1",
    "chattype": "group",
    "from": {"userid": "lisi"},
    "msgtype": "text",
    "text": {"content": "@助手 待办"},
}
# A well-formed callback with some fields replaced or added: reaches past the
# envelope checks, where a purely random value mostly does not.
AIBOT_NEAR = st.dictionaries(
    st.sampled_from(sorted(AIBOT_BASE)) | TEXT, JSON_VALUES, max_size=3
).map(lambda extra: {**AIBOT_BASE, **extra})
XML_TAGS = st.sampled_from(
    ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId",
     "AgentID", "Event", "EventKey", "TaskId", "CardType", "ResponseCode",
     "SelectedItems", "SelectedItem", "QuestionKey", "OptionIds", "OptionId"]
)  # fmt: skip


def xml_element(tag: str, body: str) -> str:
    return f"<{tag}><![CDATA[{body.replace(']]>', '')}]]></{tag}>"


APP_BASE = {
    "ToUserName": "ww1",
    "FromUserName": "zhangsan",
    "CreateTime": "1476422779",
    "MsgType": "text",
    "Content": "待办",
    "MsgId": "1456453720",
    "AgentID": "1000002",
}
APP_VALUES = st.sampled_from(["text", "event", "template_card_event", ""]) | TEXT
# As for the AI bot: a well-formed callback with some elements replaced or added.
APP_XML = st.dictionaries(XML_TAGS, APP_VALUES, max_size=5).map(
    lambda extra: (
        "<xml>"
        + "".join(xml_element(t, b) for t, b in {**APP_BASE, **extra}.items())
        + "</xml>"
    )
)


def refused(call) -> str | None:
    """The rejection reason `call()` raised, or None when it returned."""
    try:
        call()
    except CallbackRejected as exc:
        return exc.reason
    return None


@BOUNDED
@given(body=st.binary(max_size=400) | TEXT, sig=TEXT, ts=TEXT, nonce=TEXT)
def test_any_app_envelope_is_refused_with_a_reason(body, sig, ts, nonce):
    assert refused(lambda: crypto.decrypt_xml(body, sig, ts, nonce)) is not None


@BOUNDED
@given(encrypted=B64, nonce=st.text("0123456789abc", min_size=1, max_size=10))
def test_signed_garbage_ciphertext_is_refused_as_malformed(encrypted, nonce):
    ts = str(NOW)
    signature = crypto.signature(ts, nonce, encrypted)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"

    reason = refused(lambda: crypto.decrypt_xml(body, signature, ts, nonce))

    # A ciphertext that happens to decrypt for this corp is astronomically unlikely.
    assert reason in (MALFORMED, "bad_corp")


@BOUNDED
@given(text=TEXT, forged=st.text("0123456789abcdef", min_size=40, max_size=40))
def test_only_the_right_signature_opens_a_message(text, forged):
    ts, nonce = str(NOW), "n1"
    encrypted = crypto.encrypt(text)
    right = crypto.signature(ts, nonce, encrypted)
    assume(forged != right)

    assert crypto.decrypt_json({"encrypt": encrypted}, right, ts, nonce) == text
    assert (
        refused(lambda: crypto.decrypt_json({"encrypt": encrypted}, forged, ts, nonce))
        == BAD_SIGNATURE
    )


@BOUNDED
@given(skew=st.integers(min_value=-(10**9), max_value=10**9))
def test_timestamps_outside_the_window_are_stale(skew):
    ts, nonce = str(NOW + skew), "n1"
    encrypted = crypto.encrypt("{}")
    signature = crypto.signature(ts, nonce, encrypted)

    reason = refused(
        lambda: crypto.decrypt_json({"encrypt": encrypted}, signature, ts, nonce)
    )

    assert reason == (None if abs(skew) <= 300 else STALE)


@BOUNDED
@given(xml=APP_XML | TEXT)
def test_any_app_payload_parses_or_is_refused(xml):
    try:
        event = parse_app_xml(xml)
    except CallbackRejected as exc:
        assert exc.reason == MALFORMED
        return
    result = to_inbound(event)
    assert isinstance(result, Unsupported) or result[0].sender


@BOUNDED
@given(data=AIBOT_NEAR | JSON_VALUES)
def test_any_aibot_payload_parses_or_is_refused(data):
    try:
        event = parse_aibot_json(json.dumps(data, ensure_ascii=False))
    except CallbackRejected as exc:
        assert exc.reason == MALFORMED
        return
    result = to_inbound(event)
    assert isinstance(result, Unsupported) or result[0].sender
