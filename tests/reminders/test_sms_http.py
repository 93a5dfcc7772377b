"""The Twilio adapter against a local server that checks the exact request and answers like
Twilio: success, a 400 with Twilio's error message, a 503 and then success."""

from __future__ import annotations

import pytest

from exoshare.reminders.sms import SmsNotSent, TextMessage, TwilioSms
from tests.reminders.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, MESSAGES_PATH, FakeTwilio

SENDER = "+15005550006"
MESSAGE = TextMessage("+34612345678", "exoshare reminder: your therapy appointment ...")


def _adapter(server: FakeTwilio) -> TwilioSms:
    return TwilioSms(server.url, ACCOUNT_SID, AUTH_TOKEN, SENDER, attempts=3, backoff_s=0.01)


def test_a_message_is_a_form_post_with_basic_auth_and_returns_the_sid() -> None:
    with FakeTwilio([(201, {})]) as server:
        sid = _adapter(server).send(MESSAGE)
    assert sid == "SM" + "1".zfill(32)
    [request] = server.received
    assert request.path == MESSAGES_PATH
    assert (request.user, request.password) == (ACCOUNT_SID, AUTH_TOKEN)
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {"To": "+34612345678", "From": SENDER, "Body": MESSAGE.body}


def test_a_refusal_is_not_retried_and_carries_the_providers_message() -> None:
    refusal = {
        "code": 21211,
        "message": "The 'To' number +34612345678 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }
    with FakeTwilio([(400, refusal)]) as server, pytest.raises(SmsNotSent) as caught:
        _adapter(server).send(MESSAGE)
    assert len(server.received) == 1
    assert caught.value.permanent
    assert str(caught.value) == (
        "the SMS provider refused the message: The 'To' number +34612345678 is not a valid "
        "phone number. (code 21211)"
    )


def test_an_unavailable_provider_is_tried_again_until_it_answers() -> None:
    busy = {"code": 20503, "message": "Service unavailable", "status": 503}
    with FakeTwilio([(503, busy), (201, {})]) as server:
        sid = _adapter(server).send(MESSAGE)
    assert sid == "SM" + "2".zfill(32)
    assert [r.form for r in server.received] == [server.received[0].form] * 2


def test_a_provider_that_stays_unavailable_fails_after_the_last_attempt() -> None:
    too_many = (429, {"code": 20429, "message": "Too Many Requests"})
    with FakeTwilio([too_many]) as server, pytest.raises(SmsNotSent) as caught:
        _adapter(server).send(MESSAGE)
    assert len(server.received) == 3
    assert not caught.value.permanent
    assert str(caught.value) == (
        "the SMS provider refused the message: Too Many Requests (code 20429) (after 3 attempts)"
    )
