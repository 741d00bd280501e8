"""Callback signatures and AES against official vectors, plus round trips."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import xmltodict

from bot.wecom.crypto import CallbackCrypto, CallbackRejected

# A: the official WeCom Python sample (WXBizMsgCrypt demo).
A_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
A_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
A_CORP = "ww1436e0e65a779aee"
A_VERIFY = {
    "signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9q"
    "dqjnoVzEtpbhnFyq6SVHyA==",
}
A_ECHO = "1288432023552776189"
A_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLv"
    "El3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6"
    "GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65"
    "HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJO"
    "pcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)
A_BODY = (
    "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n"
    f"<Encrypt><![CDATA[{A_ENCRYPT}]]></Encrypt>\n"
    "<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
A_MESSAGE = {
    "signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
}
A_PLAIN = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun"
    "</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType>"
    "<Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)

# B: wechatpy's own tests.
B_TOKEN = "123456"
B_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
B_CORP = "wx49f0ab532d5d035a"
B_ECHOSTR = (
    "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOch"
    "LF6p+Q=="
)
B_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPat"
    "fjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD"
    "8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0"
    "gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgW"
    "YEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnT"
    "bcX2e8K9QaNWHp91eBdCRxthuL0="
)
B_REPLY = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
    "<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n"
    "<CreateTime>1411525903</CreateTime>\n</xml>"
)
B_REPLY_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrlu"
    "LBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkM"
    "KCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnw"
    "KKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vW"
    "wi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)

# C: self-generated AI bot vector (receive id "", keys of A).
C_ECHOSTR = (
    "/K4xJYsBwQssQzE/v2nbvK6YJE+5LmSsVJLXhKjeDY/mnD//LzNmXYHxk2FyFS8SJ64KAFyeNrBl8Wr5"
    "Ecvdsg=="
)


def _fixed_prefix() -> str:
    return "1234567890123456"


def test_verify_url_official_vector_a():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, A_CORP)

    echo = crypto.verify_url(**A_VERIFY)

    assert echo == A_ECHO


def test_decrypt_xml_official_vector_a():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, A_CORP)

    plain = crypto.decrypt_xml(A_BODY, **A_MESSAGE)

    assert plain == A_PLAIN


def test_verify_url_wechatpy_vector_b():
    crypto = CallbackCrypto(B_TOKEN, B_KEY, B_CORP)

    echo = crypto.verify_url(
        "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
        "1411443780",
        "437374425",
        B_ECHOSTR,
    )

    assert echo == "5927782489442352469"


def test_decrypt_xml_wechatpy_vector_b():
    crypto = CallbackCrypto(B_TOKEN, B_KEY, B_CORP)
    body = (
        f"<xml><ToUserName><![CDATA[{B_CORP}]]></ToUserName>\n"
        f"<Encrypt><![CDATA[{B_ENCRYPT}]]></Encrypt>\n"
        "<AgentID><![CDATA[1]]></AgentID>\n</xml>"
    ).encode()

    plain = crypto.decrypt_xml(
        body,
        "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
        "1411525903",
        "461056294",
    )

    message = xmltodict.parse(plain)["xml"]
    assert message["Content"] == "test"
    assert message["FromUserName"] == "messense"


def test_encrypt_xml_reply_wechatpy_vector_b():
    crypto = CallbackCrypto(B_TOKEN, B_KEY, B_CORP, random_prefix=_fixed_prefix)

    envelope = crypto.encrypt_xml_reply(B_REPLY, "461056294", "1411525903")

    fields = xmltodict.parse(envelope)["xml"]
    assert fields["Encrypt"] == B_REPLY_ENCRYPT
    assert fields["MsgSignature"] == "407518b7649e86ef23978113f92d27afa9296533"
    assert fields["TimeStamp"] == "1411525903"
    assert fields["Nonce"] == "461056294"


def test_verify_url_aibot_vector_c_has_empty_receive_id():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, "")

    echo = crypto.verify_url(
        "87af13bf44c202b6bfd2d3049f1cd6a09cdd5862",
        "1700000000",
        "1372623149",
        C_ECHOSTR,
    )

    assert echo == "echo-1700000000"


def test_encrypt_aibot_vector_c_deterministic():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, "", random_prefix=_fixed_prefix)

    encrypted = crypto.encrypt("echo-1700000000")

    assert encrypted == C_ECHOSTR


def test_xml_reply_round_trip_decrypts():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, A_CORP)
    reply = "<xml><MsgType>text</MsgType><Content>收到</Content></xml>"

    envelope = crypto.encrypt_xml_reply(reply, "123", "1700000000")

    fields = xmltodict.parse(envelope)["xml"]
    assert crypto.decrypt_xml(
        envelope, fields["MsgSignature"], "1700000000", "123"
    ) == (reply)


def test_json_reply_round_trip_decrypts():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, "")
    payload = json.dumps({"msgtype": "stream", "stream": {"content": "你好"}})

    body = crypto.encrypt_json_reply(payload, "nonce1", "1700000000")

    assert set(body) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert body["timestamp"] == 1700000000 and body["nonce"] == "nonce1"
    plain = crypto.decrypt_json(body, body["msgsignature"], "1700000000", "nonce1")
    assert json.loads(plain) == json.loads(payload)


def test_decrypt_xml_forged_signature_rejected():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, A_CORP)

    with pytest.raises(CallbackRejected) as caught:
        crypto.decrypt_xml(A_BODY, "0" * 40, "1476422779", "1597212914")

    assert caught.value.reason == "bad_signature"


def test_verify_url_wrong_nonce_rejected():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, A_CORP)

    with pytest.raises(CallbackRejected) as caught:
        crypto.verify_url(**{**A_VERIFY, "nonce": "47744684"})

    assert caught.value.reason == "bad_signature"


def test_decrypt_xml_other_corp_rejected():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, "ww0000000000000000")

    with pytest.raises(CallbackRejected) as caught:
        crypto.decrypt_xml(A_BODY, **A_MESSAGE)

    assert caught.value.reason == "bad_corp"


def test_decrypt_xml_stale_timestamp_rejected():
    crypto = CallbackCrypto(
        A_TOKEN, A_KEY, A_CORP, max_age_s=300, clock=lambda: 1476422779 + 301
    )

    with pytest.raises(CallbackRejected) as caught:
        crypto.decrypt_xml(A_BODY, **A_MESSAGE)

    assert caught.value.reason == "stale"


def test_decrypt_xml_fresh_timestamp_accepted():
    crypto = CallbackCrypto(
        A_TOKEN, A_KEY, A_CORP, max_age_s=300, clock=lambda: 1476422779 + 299
    )

    plain = crypto.decrypt_xml(A_BODY, **A_MESSAGE)

    assert plain == A_PLAIN


@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        b"<xml><ToUserName>x</ToUserName></xml>",
        b"<other><Encrypt>abc</Encrypt></other>",
    ],
)
def test_decrypt_xml_malformed_body_rejected(body):
    crypto = CallbackCrypto(A_TOKEN, A_KEY, A_CORP)

    with pytest.raises(CallbackRejected) as caught:
        crypto.decrypt_xml(body, "0" * 40, "1476422779", "1")

    assert caught.value.reason == "malformed"


def test_decrypt_json_garbage_ciphertext_rejected_as_malformed():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, "")
    garbage = "bm90IGEgY2lwaGVydGV4dA=="
    signature = crypto.signature("1700000000", "n", garbage)

    with pytest.raises(CallbackRejected) as caught:
        crypto.decrypt_json({"encrypt": garbage}, signature, "1700000000", "n")

    assert caught.value.reason == "malformed"


def test_decrypt_json_missing_encrypt_rejected():
    crypto = CallbackCrypto(A_TOKEN, A_KEY, "")

    with pytest.raises(CallbackRejected) as caught:
        crypto.decrypt_json({"msg": "x"}, "0" * 40, "1700000000", "n")

    assert caught.value.reason == "malformed"


def test_crypto_bad_aes_key_refused():
    with pytest.raises(ValueError):
        CallbackCrypto(A_TOKEN, "short", A_CORP)


def test_crypto_is_the_only_module_importing_wechatpy():
    root = Path(__file__).resolve().parent.parent / "bot"
    importing = re.compile(r"^\s*(from|import)\s+wechatpy", re.MULTILINE)

    modules = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if importing.search(p.read_text(encoding="utf-8"))
    )

    assert modules == ["wecom/crypto.py"]
