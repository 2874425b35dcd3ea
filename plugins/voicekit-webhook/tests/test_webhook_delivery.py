"""Delivery to URLs against a local HTTP server: signature, headers, retries, refusals."""

from __future__ import annotations

import json
import socket
import time

import pytest
from voicekit_webhook import SignatureError, verify
from voicekit_webhook.deliver import WebhookDeliveryError, deliver
from voicekit_webhook.payload import encode_body
from voicekit_webhook.settings import WebhookSettings
from webhook_support import SECRET, TOKEN, documented_verifier, make_report
from werkzeug import Response

from voicekit_core.delivery_state import DeliveryState


def settings(*targets: dict, **table) -> WebhookSettings:
    return WebhookSettings.model_validate({"targets": list(targets), **table})


class Sleeps(list):
    """An ``asyncio.sleep`` stand-in recording the waits asked for (seconds)."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


async def test_signed_body_verifies_with_the_documented_recipe(tmp_path, http_receiver):
    report = make_report()
    result = await deliver(
        report,
        settings({"url": http_receiver.url_for("/hook"), "secret": SECRET, "name": "helpdesk"}),
        DeliveryState(),
        base_dir=tmp_path,
    )

    assert result == {"targets": {"helpdesk": {"status": 200, "attempts": 1}}}
    [(request, _)] = http_receiver.server.log
    body = request.get_data()
    assert body == encode_body(report.model_dump(mode="json", exclude={"post_call"}))
    sent = json.loads(body)
    assert sent["call_id"] == report.call_id and "post_call" not in sent
    assert sent["transcript"][0]["text"] == "My sink is leaking — ¿me ayuda?"
    signature = request.headers["X-Voicekit-Signature"]
    timestamp = request.headers["X-Voicekit-Timestamp"]
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert abs(int(timestamp) - time.time()) < 30

    verify_voicekit = documented_verifier()
    assert verify_voicekit(body, request.headers, SECRET)
    assert not verify_voicekit(body + b" ", request.headers, SECRET)
    assert not verify_voicekit(body, request.headers, "another-secret-value")
    stale = {**request.headers, "X-Voicekit-Timestamp": str(int(timestamp) - 600)}
    assert not verify_voicekit(body, stale, SECRET)
    assert not verify_voicekit(
        body, {**request.headers, "X-Voicekit-Signature": "sha256=é"}, SECRET
    )

    verify(SECRET, body, signature, timestamp)  # the shipped helper agrees
    with pytest.raises(SignatureError, match="does not match the body"):
        verify(SECRET, body.replace(b"Ada", b"Eve"), signature, timestamp)
    with pytest.raises(SignatureError, match="away from now"):
        verify(SECRET, body, signature, timestamp, now=int(timestamp) + 301)


async def test_idempotency_key_and_headers(tmp_path, http_receiver):
    report = make_report()
    await deliver(
        report,
        settings(
            {
                "url": http_receiver.url_for("/hook"),
                "headers": {"Authorization": f"Bearer {TOKEN}", "X-Tenant": "maple"},
            }
        ),
        DeliveryState(),
        base_dir=tmp_path,
    )
    [request] = http_receiver.received("/hook")
    headers = request.headers
    assert headers["idempotency-key"] == report.call_id == headers["x-voicekit-call-id"]
    assert headers["content-type"] == "application/json"
    assert headers["x-voicekit-payload"] == "report"
    assert headers["authorization"] == f"Bearer {TOKEN}" and headers["x-tenant"] == "maple"
    assert "x-voicekit-signature" not in headers  # no secret: unsigned
    assert headers["user-agent"].startswith("voicekit-webhook/")


async def test_503_then_200_is_delivered_once(tmp_path, http_receiver):
    http_receiver.fail("/hook", status=503)
    state = DeliveryState()
    sleeps = Sleeps()

    result = await deliver(
        make_report(),
        settings({"url": http_receiver.url_for("/hook"), "secret": SECRET, "name": "crm"}),
        state,
        base_dir=tmp_path,
        sleep=sleeps,
    )

    assert [r.status for r in http_receiver.received("/hook")] == [503, 200]
    first, second = http_receiver.received("/hook")
    assert first.body == second.body
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert result["targets"]["crm"] == {"status": 200, "attempts": 2}
    assert sleeps == [0.5]  # backoff_seconds
    assert state.get("targets")["crm"]["status"] == 200

    # a second run of the same delivery (a journal retry) sends nothing
    again = await deliver(
        make_report(),
        settings({"url": http_receiver.url_for("/hook"), "secret": SECRET, "name": "crm"}),
        state,
        base_dir=tmp_path,
    )
    assert len(http_receiver.received("/hook")) == 2
    assert again["targets"]["crm"] == {"status": 200, "attempts": 2, "earlier": True}


async def test_429_waits_for_retry_after(tmp_path, http_receiver):
    http_receiver.server.expect_oneshot_request("/hook", method="POST").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "1"})
    )
    started = time.monotonic()
    result = await deliver(
        make_report(),
        settings({"url": http_receiver.url_for("/hook")}, backoff_seconds=0),
        DeliveryState(),
        base_dir=tmp_path,
    )
    waited = time.monotonic() - started

    assert [r.status for r in http_receiver.received("/hook")] == [429, 200]
    assert 1.0 <= waited < 5, waited
    [entry] = result["targets"].values()
    assert entry == {"status": 200, "attempts": 2}


async def test_retry_after_beyond_the_cap_fails_at_once(tmp_path, http_receiver):
    http_receiver.server.expect_oneshot_request("/hook", method="POST").respond_with_response(
        Response("", status=503, headers={"Retry-After": "3600"})
    )
    with pytest.raises(WebhookDeliveryError) as caught:
        await deliver(
            make_report(),
            settings({"url": http_receiver.url_for("/hook"), "name": "crm"}),
            DeliveryState(),
            base_dir=tmp_path,
            sleep=Sleeps(),
        )
    assert len(http_receiver.received("/hook")) == 1
    message = str(caught.value)
    assert "asked to retry after 3600 s" in message
    assert "retry_after_max_seconds (30 s)" in message and "voicekit journal retry" in message


async def test_400_is_a_permanent_failure_with_a_clear_message(tmp_path, http_receiver):
    http_receiver.respond("/hook", status=400, json={"error": "unknown field urgency"}, times=1)
    state = DeliveryState()
    with pytest.raises(WebhookDeliveryError) as caught:
        await deliver(
            make_report(),
            settings({"url": http_receiver.url_for("/hook"), "name": "helpdesk"}),
            state,
            base_dir=tmp_path,
            sleep=Sleeps(),
        )
    assert len(http_receiver.received("/hook")) == 1  # not retried
    message = str(caught.value)
    url = http_receiver.url_for("/hook")
    assert message.startswith("webhook helpdesk refused the delivery: HTTP 400 BAD REQUEST: ")
    assert '"error": "unknown field urgency"' in message  # the receiver's answer, quoted
    assert f"(POST {url}). Not retried: a 400 means" in message
    assert "then run `voicekit journal retry`" in message
    assert state.get("targets") is None


async def test_5xx_until_the_attempts_run_out(tmp_path, http_receiver):
    http_receiver.fail("/hook", status=502, times=3)
    sleeps = Sleeps()
    with pytest.raises(
        WebhookDeliveryError, match=r"^webhook http://127\.0\.0\.1:\d+/hook: HTTP 502 BAD GATEWAY"
    ):
        await deliver(
            make_report(),
            settings({"url": http_receiver.url_for("/hook")}, max_attempts=3),
            DeliveryState(),
            base_dir=tmp_path,
            sleep=sleeps,
        )
    assert len(http_receiver.received("/hook")) == 3
    assert sleeps == [0.5, 1.0]  # exponential, capped by backoff_max_seconds


async def test_a_slow_answer_times_out_and_is_retried(tmp_path, http_receiver):
    def slow(request):
        time.sleep(0.6)
        return Response("{}", status=200, content_type="application/json")

    http_receiver.server.expect_oneshot_request("/slow", method="POST").respond_with_handler(slow)
    result = await deliver(
        make_report(),
        settings({"url": http_receiver.url_for("/slow"), "timeout_seconds": 0.2}),
        DeliveryState(),
        base_dir=tmp_path,
        sleep=Sleeps(),
    )
    deadline = time.monotonic() + 3  # the slow answer is logged when its handler returns
    while len(http_receiver.received("/slow")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.status for r in http_receiver.received("/slow")] == [200, 200]
    [entry] = result["targets"].values()
    assert entry["attempts"] == 2


async def test_connection_refused_is_retried_then_reported(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    with pytest.raises(WebhookDeliveryError, match="could not connect"):
        await deliver(
            make_report(),
            settings({"url": f"http://127.0.0.1:{port}/hook"}, max_attempts=2),
            DeliveryState(),
            base_dir=tmp_path,
            sleep=sleeps,
        )
    assert len(sleeps) == 1


async def test_a_redirect_is_not_followed(tmp_path, http_receiver):
    http_receiver.server.expect_oneshot_request("/hook", method="POST").respond_with_response(
        Response("", status=301, headers={"Location": "https://elsewhere.example/x"})
    )
    with pytest.raises(WebhookDeliveryError, match="a redirect"):
        await deliver(
            make_report(),
            settings({"url": http_receiver.url_for("/hook")}),
            DeliveryState(),
            base_dir=tmp_path,
        )
    assert len(http_receiver.requests) == 1


async def test_extracted_payload(tmp_path, http_receiver):
    ticket = {"kind": "maintenance", "unit": "4B", "urgency": "urgent"}
    await deliver(
        make_report(extracted=ticket),
        settings({"url": http_receiver.url_for("/tickets"), "payload": "extracted"}),
        DeliveryState(),
        base_dir=tmp_path,
    )
    [request] = http_receiver.received("/tickets")
    assert request.json() == ticket
    assert request.headers["x-voicekit-payload"] == "extracted"


async def test_nothing_extracted_is_skipped_or_sent_empty(tmp_path, http_receiver):
    target = {"url": http_receiver.url_for("/tickets"), "name": "tickets"}
    # a report without the field at all (an older core) and one with nothing in it
    for report in (make_report(), make_report(extracted=None), make_report(extracted={})):
        result = await deliver(
            report, settings(target, payload="extracted"), DeliveryState(), base_dir=tmp_path
        )
        assert "skipped" in result["targets"]["tickets"]
    assert http_receiver.received("/tickets") == []

    await deliver(
        make_report(),
        settings(target, payload="extracted", skip_empty=False),
        DeliveryState(),
        base_dir=tmp_path,
    )
    assert http_receiver.json("/tickets") == [{}]
