"""Through the real journal: a target that fails is journaled, `voicekit journal retry`
sends to it alone, once; the secrets never reach a log line, an error or a journal row."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3

from click.testing import CliRunner
from webhook_support import SECRET, TOKEN
from werkzeug import Response

from voicekit_core.cli import cli
from voicekit_core.scripted_llm import ScriptedLLM, replies
from voicekit_core.testing import MINIMAL_CONFIG

TABLE = """
[plugins]
enable = ["webhook"]

[plugins.webhook]
max_attempts = 2
backoff_seconds = 0

[[plugins.webhook.targets]]
name = "helpdesk"
url = "{url}/helpdesk"
secret = "${{HOOK_SECRET}}"

[[plugins.webhook.targets]]
name = "automation"
url = "{url}/automation?token=${{AUTOMATION_TOKEN}}"
secret = "${{HOOK_SECRET}}"
headers = {{ Authorization = "Bearer ${{AUTOMATION_TOKEN}}" }}
"""
ENVIRON = {"HOOK_SECRET": SECRET, "AUTOMATION_TOKEN": TOKEN}


def leaky_outage(request):
    """A 503 whose body quotes the request's credentials back, as careless servers do."""
    return Response(
        f"upstream down; you sent {request.headers.get('Authorization')} to {request.full_path}",
        status=503,
    )


async def test_one_failed_target_is_retried_alone_and_secrets_stay_hidden(
    voicekit, http_receiver, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    for _ in range(2):  # both attempts of the first delivery
        http_receiver.server.expect_oneshot_request(
            "/automation", method="POST"
        ).respond_with_handler(leaky_outage)
    path = voicekit.write(MINIMAL_CONFIG + TABLE.format(url=http_receiver.url))
    deployment = voicekit.load(path, environ=ENVIRON)

    llm = ScriptedLLM(replies("Thanks for calling Maple Property Management."))
    async with voicekit.call(deployment, llm=llm, strict_deliveries=False) as run:
        await run.user_says("Hi, my sink is leaking.")

    [record] = run.report.post_call
    assert record.plugin == "webhook" and record.status == "failed"
    assert record.error.startswith(
        "WebhookDeliveryError: webhook automation: HTTP 503 SERVICE UNAVAILABLE: upstream down"
    )
    # its URL holds ${AUTOMATION_TOKEN}: only scheme, host and port are shown
    assert re.search(r"\(POST http://127\.0\.0\.1:\d+/…\)\. Delivered to helpdesk", record.error)
    assert "Delivered to helpdesk; those are not sent again on retry." in record.error
    assert [r.status for r in http_receiver.received("/helpdesk")] == [200]
    assert [r.status for r in http_receiver.received("/automation")] == [503, 503]

    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("AUTOMATION_TOKEN", TOKEN)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["journal", "retry", str(path), "--attempts", "1"]
    )
    assert result.exit_code == 0, result.output

    [record] = voicekit.deliveries(run)
    assert record.status == "delivered" and record.attempts == 2, record.error
    assert record.result["targets"] == {
        "helpdesk": {"status": 200, "attempts": 1, "earlier": True},
        "automation": {"status": 200, "attempts": 1},
    }
    assert len(http_receiver.received("/helpdesk")) == 1  # not sent again
    automation = http_receiver.received("/automation")
    assert [r.status for r in automation] == [503, 503, 200]
    assert automation[-1].headers["idempotency-key"] == run.report.call_id
    assert automation[-1].json()["call_id"] == run.report.call_id

    # a further retry has nothing left to do
    again = await asyncio.to_thread(CliRunner().invoke, cli, ["journal", "retry", str(path)])
    assert again.exit_code == 0, again.output
    assert len(http_receiver.requests) == 4

    rows = "\n".join(sqlite3.connect(deployment.journal.path).iterdump())
    assert run.report.call_id in rows and "leaking" in rows  # the dump is of the right store
    for text in (rows, caplog.text, result.output, again.output):
        assert SECRET not in text and TOKEN not in text
    # the receiver's echo is quoted in the error, redacted rather than dropped
    assert "upstream down; you sent •••••• to /automation?token=••••••" in caplog.text
