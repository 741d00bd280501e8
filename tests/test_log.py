import io
import logging

import pytest

from bot import log


@pytest.fixture
def captured():
    stream = io.StringIO()
    log.setup("DEBUG", secrets=["corp-secret-123", "aes-key-456"], stream=stream)
    yield stream
    logging.getLogger().handlers.clear()


def test_log_masks_configured_secret_values(captured):
    logging.getLogger("bot.test").info("token refreshed secret=%s", "corp-secret-123")

    text = captured.getvalue()
    assert "corp-secret-123" not in text
    assert "token refreshed" in text


@pytest.mark.parametrize(
    "line",
    [
        "GET https://qyapi.weixin.qq.com/cgi-bin/message/send?access_token=AbC123xyz",
        "gettoken?corpid=ww1&corpsecret=SeCrEt999",
        "callback msg_signature=0c3914025cb4b4d68103f6bfc8db550f79dcf48e ts=1",
        '{"Encrypt": "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaO"}',
    ],
    ids=["access-token", "corpsecret", "signature", "encrypt-field"],
)
def test_log_masks_credential_fields(captured, line):
    logging.getLogger("bot.test").warning("request failed url=%s", line)

    text = captured.getvalue()
    for secret in ("AbC123xyz", "SeCrEt999", "0c3914025cb4", "Kl7kjoSf6DMD"):
        assert secret not in text
    assert log.MASK in text


def test_log_masks_secrets_in_tracebacks(captured):
    try:
        raise RuntimeError("boom with aes-key-456 inside")
    except RuntimeError:
        logging.getLogger("bot.test").exception("job failed job=scan")

    text = captured.getvalue()
    assert "aes-key-456" not in text
    assert "RuntimeError" in text


def test_log_line_carries_level_and_logger_name(captured):
    logging.getLogger("bot.scan").info("source scanned source=%s items=%d", "人民网", 3)

    line = captured.getvalue().strip()
    assert " INFO bot.scan: source scanned source=人民网 items=3" in line
