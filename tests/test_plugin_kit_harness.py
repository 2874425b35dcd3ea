"""The plugin author's harness: failed deliveries fail the call (opt out per call or per
test), delivery records and redelivery, the local HTTP receiver, and the kit importable
without pytest."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from voicekit_core import hookimpl
from voicekit_core.harness import DeliveryFailed, Harness
from voicekit_core.testing import MINIMAL_CONFIG, ScriptedLLM, replies


class Flaky:
    """A post_call that fails ``failures`` times, then delivers."""

    def __init__(self, failures: int):
        self.failures = failures
        self.calls = 0

    @hookimpl
    def post_call(self, report, delivery):
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"CRM down (attempt {delivery.attempt})")
        return {"crm_id": f"crm-{report.call_id}"}


async def one_call(voicekit, **options):
    deployment = voicekit.load()
    async with voicekit.call(deployment, llm=ScriptedLLM(replies("Hi!")), **options) as run:
        await run.user_says("Hello")
    return run


async def test_a_failed_delivery_fails_the_call(voicekit):
    voicekit.register(Flaky(failures=1), name="crm")
    with pytest.raises(DeliveryFailed) as caught:
        await one_call(voicekit)
    message = str(caught.value)
    assert "crm: failed after 1 attempt(s): RuntimeError: CRM down (attempt 1)" in message
    assert "strict_deliveries=False" in message
    assert isinstance(caught.value, AssertionError)
    assert [d.status for d in caught.value.failed] == ["failed"]


async def test_opt_out_per_call_then_retry(voicekit):
    flaky = Flaky(failures=1)
    voicekit.register(flaky, name="crm")
    run = await one_call(voicekit, strict_deliveries=False)
    [record] = run.report.post_call
    assert (record.plugin, record.status, record.attempts) == ("crm", "failed", 1)
    assert voicekit.deliveries(run)[0].status == "failed"

    [retried] = await voicekit.retry_deliveries(run)
    assert (retried.status, retried.attempts) == ("delivered", 2)
    assert retried.result == {"crm_id": f"crm-{run.report.call_id}"}
    assert voicekit.deliveries(run.report.call_id) == [retried]
    assert await voicekit.retry_deliveries() == []  # nothing left to deliver


async def test_opt_out_for_the_whole_test(voicekit):
    voicekit.strict_deliveries = False
    voicekit.register(Flaky(failures=5), name="crm")
    run = await one_call(voicekit)
    [again] = await voicekit.retry_deliveries(run, attempts=2)
    assert (again.status, again.attempts) == ("failed", 3)
    assert "attempt 3" in again.error


async def test_delivered_records_come_back_with_the_report(voicekit):
    voicekit.register(Flaky(failures=0), name="crm")
    run = await one_call(voicekit)
    assert [(d.plugin, d.status) for d in run.report.post_call] == [("crm", "delivered")]


def test_http_receiver_listens_on_loopback_and_records(http_receiver):
    assert http_receiver.url.startswith("http://127.0.0.1:")
    http_receiver.fail("/hook", status=503)
    request = urllib.request.Request(
        http_receiver.url_for("/hook"), b'{"a": 1}', {"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request, timeout=5)
    assert failed.value.code == 503
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    assert [r.status for r in http_receiver.received("/hook")] == [503, 200]
    assert http_receiver.json("/hook") == [{"a": 1}, {"a": 1}]
    assert http_receiver.received("/hook")[0].headers["content-type"] == "application/json"


async def test_harness_works_without_the_fixture(tmp_path):
    harness = Harness(tmp_path)
    harness.register(Flaky(failures=0), name="crm")
    deployment = harness.load(harness.write(MINIMAL_CONFIG))
    async with harness.call(deployment, llm=ScriptedLLM(replies("Hi!"))) as run:
        await run.user_says("Hello")
    assert run.report.post_call[0].status == "delivered"


def test_scripted_llm_and_harness_import_without_pytest():
    code = (
        "import sys\n"
        "sys.modules['pytest'] = None  # any import of pytest now fails\n"
        "from voicekit_core.scripted_llm import Reply, ScriptedLLM, ToolCall, replies\n"
        "from voicekit_core.harness import MINIMAL_CONFIG, DeliveryFailed, Harness\n"
        "llm = ScriptedLLM(replies(ToolCall('x', {}), 'done'))\n"
        "llm.push(Reply('first'))\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_old_import_path_still_works():
    from voicekit_core import scripted_llm, testing

    assert testing.ScriptedLLM is scripted_llm.ScriptedLLM
    assert testing.replies is scripted_llm.replies
    assert testing.Harness is Harness
