"""Two copies of the TDX example behind one worker: each call gets its own deployment's
greeting, plugins and journal; a number nobody owns hears the not-in-service line.

livekit-agents 1.8.9's in-process job simulation (``AgentServer.simulate_job``) carries no
job metadata and no SIP participant, so the worker's job function is driven with a small
fake of the ``JobContext`` interface it uses (``job_context_kit``). The call itself is real: routing,
lead lookup, an ``AgentSession`` (text mode, outside a room), the greeting, the journal and
post-call delivery. Outbound metadata comes from a real ``voicekit dial`` against the fake
LiveKit server.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from job_context_kit import FakeJobContext

from voicekit_core import load_deployment, worker
from voicekit_core.routing import serve
from voicekit_core.telephony.dial import dial
from voicekit_core.testing_livekit import fake_livekit, livekit_env

__all__ = ["fake_livekit", "livekit_env"]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tdx_sdr"
DANA = "+14155550101"  # a lead of the example's leads.csv
ACME_NUMBER = "+15105550100"
ZENITH_NUMBER = "+12125550188"


def sip_caller(metadata: str = "", *, caller: str = DANA, dialed: str) -> FakeJobContext:
    return FakeJobContext(
        metadata,
        identity=f"sip_{caller}",
        attributes={"sip.phoneNumber": caller, "sip.trunkPhoneNumber": dialed},
    )


def _copy(tmp_path: Path, folder: str, *, persona: str, company: str, number: str) -> Path:
    """examples/tdx_sdr as ``folder``: its own agent persona, company, number and local
    plugin module name (one process imports a module name once)."""
    target = tmp_path / folder
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    module = f"{folder}_local_{uuid.uuid4().hex[:6]}"
    plugin = (target / "tdx_sdr_local.py").read_text(encoding="utf-8")
    (target / f"{module}.py").write_text(plugin.replace("tdx_sdr_local", module), "utf-8")
    (target / "tdx_sdr_local.py").unlink()
    for prompt in (target / "prompts").glob("*.md"):
        text = prompt.read_text(encoding="utf-8").replace("Sofía", persona)
        prompt.write_text(text, encoding="utf-8")
    config = (target / "voicekit.toml").read_text(encoding="utf-8")
    config = config.replace("tdx_sdr_local", module).replace("Sofía", persona)
    config = config.replace('company = "TDX"', f'company = "{company}"')
    config = config.replace("from TDX", f"from {company}").replace("de TDX", f"de {company}")
    config = config.replace(
        "[plugins.telephony]\n",
        f'[plugins.telephony]\nnumbers = ["{number}"]\n'
        f'inbound_trunk_name = "{folder} inbound"\ndispatch_rule_name = "{folder} dispatch"\n'
        'not_in_service_message = "Sorry, this number is not in service. Goodbye."\n',
    )
    (target / "voicekit.toml").write_text(config, encoding="utf-8")
    return target


@pytest.fixture
def offline(monkeypatch):
    """No provider key (the offline scripted model answers), each copy's own SQLite store,
    the outbound trunk the example reads from the environment."""
    for name in ("OPENAI_API_KEY", "VOICEKIT_STORE_URL", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LIVEKIT_SIP_OUTBOUND_TRUNK", "ST_outbound")


@pytest.fixture
def two(tmp_path, offline):
    acme = load_deployment(
        _copy(tmp_path, "acme", persona="Sofía", company="Acme", number=ACME_NUMBER)
    )
    zenith = load_deployment(
        _copy(tmp_path, "zenith", persona="Marco", company="Zenith", number=ZENITH_NUMBER)
    )
    return acme, zenith, serve([acme, zenith])


async def _answer(ctx: FakeJobContext, served) -> tuple[str, object]:
    run = await worker.serve_job(ctx, served, voice=False)
    assert run is not None and ctx.connected
    await ctx.end()
    return run.call.call_id, run.report


async def test_each_dialed_number_gets_its_own_deployment(two):
    acme, zenith, served = two
    acme_id, acme_report = await _answer(sip_caller(dialed=ACME_NUMBER), served)
    # SIP trunks often give the number as E.164 digits without the plus
    zenith_id, zenith_report = await _answer(sip_caller(dialed=ZENITH_NUMBER[1:]), served)

    assert acme_report.transcript[0].text.startswith("Hi Dana, this is Sofía from Acme.")
    assert zenith_report.transcript[0].text.startswith("Hi Dana, this is Marco from Zenith.")
    # each journal holds its own call only, with how it was routed
    assert [r["call_id"] for r in acme.journal.list(10)] == [acme_id]
    assert [r["call_id"] for r in zenith.journal.list(10)] == [zenith_id]
    journaled = zenith.journal.get(zenith_id)
    assert journaled.data["routing"] == {
        "deployment": "zenith",
        "by": "number",
        "dialed": ZENITH_NUMBER,
    }
    assert journaled.direction == "inbound" and journaled.phone == DANA
    assert journaled.lead["company"] == "Brightline Logistics"  # its own lead lookup
    # each call ran with its own deployment's plugins and prompt
    own_plugins = {name for name, _ in zenith.pm.list_name_plugin()}
    assert any(name.startswith("zenith_local_") for name in own_plugins)
    assert not any(name.startswith("acme_local_") for name in own_plugins)


async def test_dispatch_rule_metadata_routes_before_the_number(two):
    acme, zenith, served = two
    metadata = json.dumps({"direction": "inbound", "deployment": "zenith"})
    call_id, report = await _answer(sip_caller(metadata, dialed=ACME_NUMBER), served)
    assert report.transcript[0].text.startswith("Hi Dana, this is Marco from Zenith.")
    assert zenith.journal.get(call_id).data["routing"]["by"] == "metadata"
    assert acme.journal.list(10) == []


async def test_a_dialed_call_comes_back_to_the_deployment_that_placed_it(
    two, fake_livekit, livekit_env
):
    acme, zenith, served = two
    outcome = await dial(zenith, DANA, check_veto=False)
    metadata = fake_livekit.calls("CreateDispatch")[0].request.metadata
    assert json.loads(metadata)["deployment"] == "zenith"

    # the SIP leg of an outbound call shows our own trunk number: metadata decides
    ctx = sip_caller(metadata, dialed=ACME_NUMBER)
    run = await worker.serve_job(ctx, served, voice=False)
    await ctx.end()
    assert run.call.call_id == outcome.call.call_id
    report = zenith.journal.get(run.call.call_id)
    assert report.direction == "outbound"
    assert report.transcript[0].text.startswith("Hi Dana, this is Marco from Zenith.")
    assert acme.journal.list(10) == []


async def test_a_web_visitor_goes_to_the_deployment_of_the_widget(two):
    acme, _, served = two
    metadata = json.dumps(
        {
            "direction": "inbound",
            "call_id": "web-3f9a",
            "deployment": "acme",
            "extra": {"channel": "web"},
        }
    )
    ctx = FakeJobContext(metadata, identity="web-visitor", attributes={})
    call_id, report = await _answer(ctx, served)
    assert call_id == "web-3f9a" and report.phone == ""
    assert acme.journal.get(call_id).data["routing"] == {
        "deployment": "acme",
        "by": "metadata",
        "dialed": "",
    }


async def test_a_number_nobody_owns_hears_the_line_and_is_hung_up(two, caplog):
    acme, zenith, served = two
    ctx = sip_caller(dialed="+13125550177")
    assert await worker.serve_job(ctx, served, voice=False) is None
    assert ctx.shutdowns == ["number not in service"] and ctx.rooms_deleted == 1
    assert (
        f"call in room {ctx.room.name}: no served deployment owns the dialed number "
        "+13125550177; saying it is not in service"
    ) in caplog.text
    await ctx.end()  # closes the session it spoke with
    assert acme.journal.list(10) == [] and zenith.journal.list(10) == []


async def test_the_not_in_service_line_is_the_first_deployments_text(two):
    acme, _, _ = two
    ctx = sip_caller(dialed="+13125550177")
    session = await worker.say_not_in_service(ctx, acme, DANA, voice=False)
    said = [item.text_content for item in session.history.items if item.type == "message"]
    assert said == ["Sorry, this number is not in service. Goodbye."]
    await ctx.end()
