"""Several deployments behind one worker: the routing decision (pure), the checks at start,
the job-request gate and the `voicekit start A B` command line."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from voicekit_core import worker
from voicekit_core.cli import build_cli, split_worker_args
from voicekit_core.errors import ConfigError
from voicekit_core.routing import RoutingTable, normalize_number, route, serve

TABLE = RoutingTable(
    names=("maple", "birch"),
    numbers={"+14155550100": "maple", "+14155550111": "maple", "+12125550100": "birch"},
)


# -- the decision ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "dialed", "expected"),
    [
        # metadata wins over the number (voicekit dial, campaigns, the dispatch rule, widget)
        ("birch", "+14155550100", ("birch", "metadata")),
        ("maple", None, ("maple", "metadata")),
        # the dialed number, in the forms SIP trunks give it
        (None, "+14155550111", ("maple", "number")),
        (None, "12125550100", ("birch", "number")),
        ("", "tel:+1 415 555 0100", ("maple", "number")),
        # nobody owns it, or there is no number at all
        (None, "+13125550100", (None, "unowned")),
        (None, None, (None, "unowned")),
        (None, "anonymous", (None, "unowned")),
        # a deployment this worker does not serve: another worker's job
        ("oak", "+14155550100", (None, "not_served")),
    ],
)
def test_route_by_metadata_then_number(requested, dialed, expected):
    decision = route(TABLE, requested=requested, dialed=dialed)
    assert (decision.deployment, decision.by) == expected


def test_unowned_and_unserved_decisions_say_why():
    unowned = route(TABLE, requested=None, dialed="+13125550100")
    assert unowned.detail == "no served deployment owns the dialed number +13125550100"
    assert "a call without a dialed number" in route(TABLE, requested=None, dialed=None).detail
    unserved = route(TABLE, requested="oak", dialed=None)
    assert unserved.detail == (
        "the job names deployment 'oak', which this worker does not serve (it serves maple, birch)"
    )


def test_catch_all_takes_what_nobody_owns_but_not_other_workers_jobs():
    table = RoutingTable(TABLE.names, TABLE.numbers, catch_all="birch")
    assert route(table, requested=None, dialed="+13125550100").by == "catch_all"
    assert route(table, requested=None, dialed="+13125550100").deployment == "birch"
    assert route(table, requested=None, dialed="+14155550100").deployment == "maple"
    assert route(table, requested="oak", dialed=None).by == "not_served"


def test_a_worker_serving_one_deployment_takes_every_job():
    table = RoutingTable(names=("maple",), numbers={"+14155550100": "maple"})
    for requested, dialed in [(None, None), (None, "+13125550100"), ("oak", None)]:
        decision = route(table, requested=requested, dialed=dialed)
        assert (decision.deployment, decision.by) == ("maple", "only")
    assert "the job names 'oak'" in route(table, requested="oak", dialed=None).detail


def test_normalize_number():
    assert normalize_number("+1 (415) 555-0100") == "+14155550100"
    assert normalize_number("14155550100") == "+14155550100"
    assert normalize_number("sip:+14155550100@pbx.example.com") == "+14155550100"
    assert normalize_number(" anonymous ") == "anonymous"
    assert normalize_number(None) == ""


# -- checks at start -----------------------------------------------------------------------

CONFIG = """\
[agent]
name = "{agent}"
instructions = "You answer the phone for {company}."
greeting = "{company}, good morning!"

[leads]
path = "leads.csv"

[plugins.telephony]
{telephony}
"""


def _write(voicekit, folder: str, *, agent="front-desk", telephony="", files=None, extra=""):
    text = CONFIG.format(agent=agent, company=folder.title(), telephony=telephony) + extra
    return voicekit.write(text, folder=folder, files=files)


def test_serve_builds_the_table_from_each_deployments_numbers(voicekit):
    maple = voicekit.load(_write(voicekit, "maple", telephony='numbers = ["(415) 555-0100"]'))
    birch = voicekit.load(
        _write(
            voicekit,
            "birch",
            telephony='numbers = ["+12125550100"]\ndeployment_name = "birch-pm"\ncatch_all = true',
        )
    )
    served = serve([maple, birch])
    assert served.agent_name == "front-desk"
    assert served.table == RoutingTable(
        names=("maple", "birch-pm"),
        numbers={"+14155550100": "maple", "+12125550100": "birch-pm"},
        catch_all="birch-pm",
    )
    assert served.default is maple and served.by_name["birch-pm"] is birch
    assert served.describe()[1].endswith(": +12125550100, catch-all")
    # both use the default trunk and rule names: setup-inbound would share them
    assert len(served.warnings) == 2
    assert "both name their inbound trunk 'front-desk inbound'" in served.warnings[0]


def test_serve_lists_every_problem_with_file_key_and_value(voicekit):
    maple = voicekit.load(
        _write(voicekit, "maple", telephony='numbers = ["+14155550100"]\ncatch_all = true')
    )
    other_agent = voicekit.load(
        _write(voicekit, "birch", agent="birch-bot", telephony='numbers = ["+14155550100"]')
    )
    same_name = voicekit.load(
        _write(voicekit, "oak", telephony='deployment_name = "maple"\ncatch_all = true')
    )
    pine = voicekit.load(_write(voicekit, "pine", telephony="catch_all = true"))
    with pytest.raises(ConfigError) as caught:
        serve([maple, other_agent, same_name, pine, maple])
    problems = {(p.file.split(os.sep)[-2], p.key, p.value): p.reason for p in caught.value.problems}
    assert problems.keys() == {
        ("birch", "agent.name", "birch-bot"),
        ("birch", "plugins.telephony.numbers", "+14155550100"),
        ("oak", "plugins.telephony.deployment_name", "maple"),
        ("pine", "plugins.telephony.catch_all", "true"),
        ("maple", "", ""),
    }
    assert "must use 'front-desk'" in problems[("birch", "agent.name", "birch-bot")]
    assert (
        "also owned by deployment 'maple'"
        in problems[("birch", "plugins.telephony.numbers", "+14155550100")]
    )
    assert problems[("maple", "", "")] == "given twice; serve each deployment once"


def test_two_folders_with_a_same_named_local_plugin_cannot_share_a_process(voicekit):
    module = f"front_desk_tools_{uuid.uuid4().hex[:8]}"  # fresh: not imported by other tests
    plugin = "from voicekit_core import hookimpl\n\n@hookimpl\ndef call_instructions(call):\n"
    extra = f'\n[plugins]\nenable = ["{module}"]\n'
    maple = voicekit.load(
        _write(voicekit, "maple", extra=extra, files={f"{module}.py": plugin + "    return 'M'\n"})
    )
    birch = voicekit.load(
        _write(voicekit, "birch", extra=extra, files={f"{module}.py": plugin + "    return 'B'\n"})
    )
    with pytest.raises(ConfigError) as caught:
        serve([maple, birch])
    (problem,) = caught.value.problems
    assert (problem.key, problem.value) == ("plugins.enable", module)
    assert problem.file.endswith(os.path.join("birch", "voicekit.toml"))
    assert "is shadowed by" in problem.reason and "rename one" in problem.reason
    serve([maple])  # alone, a deployment is what it loaded


# -- the job-request gate and the server ----------------------------------------------------


class FakeJobRequest:
    """The part of livekit's ``JobRequest`` that ``accept_job`` uses."""

    def __init__(self, metadata: str):
        self.id = "AJ_test"
        self.job = SimpleNamespace(metadata=metadata)
        self.room = SimpleNamespace(name="call-test")
        self.answers: list[str] = []

    async def accept(self) -> None:
        self.answers.append("accept")

    async def reject(self, *, terminate: bool = True) -> None:
        self.answers.append(f"reject terminate={terminate}")


@pytest.fixture
def two_served(voicekit, monkeypatch):
    paths = [
        _write(voicekit, "maple", telephony='numbers = ["+14155550100"]'),
        _write(voicekit, "birch", telephony='numbers = ["+12125550100"]'),
    ]
    monkeypatch.setenv(worker.CONFIG_ENV, os.pathsep.join(str(p) for p in paths))
    worker.current_deployment.cache_clear()
    yield paths
    worker.current_deployment.cache_clear()


async def test_job_requests_for_another_workers_deployment_are_passed_on(two_served, caplog):
    answers = {}
    for metadata in [
        '{"deployment": "birch"}',
        '{"direction": "inbound"}',
        "",
        '{"deployment": "oak"}',
    ]:
        request = FakeJobRequest(metadata)
        await worker.accept_job(request)
        answers[metadata] = request.answers
    assert answers == {
        '{"deployment": "birch"}': ["accept"],
        '{"direction": "inbound"}': ["accept"],  # routed by the dialed number later
        "": ["accept"],
        '{"deployment": "oak"}': ["reject terminate=False"],  # LiveKit tries another worker
    }
    assert "job AJ_test (room call-test): the job names deployment 'oak'" in caplog.text


def test_the_server_registers_the_shared_agent_name_with_the_gate(two_served):
    server = worker.make_server()
    assert server._agent_name == "front-desk"
    assert server._entrypoint_fnc is worker.entrypoint
    assert server._request_fnc is worker.accept_job
    assert worker.current_deployment().config.path == two_served[0].resolve()
    assert list(worker.served_deployments().by_name) == ["maple", "birch"]


# -- the command line ------------------------------------------------------------------------


def test_split_worker_args():
    assert split_worker_args(()) == ([Path(".")], [])
    assert split_worker_args(("a", "b", "--log-level", "debug")) == (
        [Path("a"), Path("b")],
        ["--log-level", "debug"],
    )
    assert split_worker_args(("a", "--", "--url", "ws://x")) == (
        [Path("a")],
        ["--url", "ws://x"],
    )


def test_start_with_two_deployments_checks_them_before_livekit(voicekit, monkeypatch):
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    maple = _write(voicekit, "maple", telephony='numbers = ["+14155550100"]')
    birch = _write(voicekit, "birch", telephony='numbers = ["+12125550100"]')
    result = CliRunner().invoke(
        build_cli(), ["start", str(maple.parent), str(birch), "--log-level", "debug"]
    )
    assert result.exit_code == 2
    assert "serving 2 deployments as agent front-desk:" in result.output
    assert "maple (" in result.output and "): +14155550100" in result.output
    assert "needs LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET" in result.output


def test_start_refuses_deployments_with_different_agent_names(voicekit):
    maple = _write(voicekit, "maple")
    birch = _write(voicekit, "birch", agent="birch-bot")
    result = CliRunner().invoke(build_cli(), ["start", str(maple), str(birch)])
    assert result.exit_code == 2
    assert "error: ConfigError" in result.output
    assert "agent.name = birch-bot: a worker registers under one agent name" in result.output


def test_console_talks_to_one_deployment(voicekit):
    maple = _write(voicekit, "maple")
    birch = _write(voicekit, "birch")
    result = CliRunner().invoke(build_cli(), ["console", str(maple), str(birch)])
    assert result.exit_code == 2
    assert "`voicekit console` talks to one deployment" in result.output
