"""Auth-mode settings (clear errors naming settings) and a simulated TDX SDR call."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError
from salesforce_fake import SESSION
from voicekit_salesforce import SalesforceSettings
from voicekit_salesforce.client import login_arguments

from voicekit_core import ConfigError, load_deployment
from voicekit_core.simulate import load_script, run_script

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "tdx_sdr"


@pytest.mark.parametrize(
    ("table", "mode", "arguments"),
    [
        (
            {"instance_url": "https://acme.my.salesforce.com", "session_id": "s3"},
            "session",
            {"instance_url": "https://acme.my.salesforce.com", "session_id": "s3"},
        ),
        (
            {"username": "u@acme.com", "password": "pw", "security_token": "tok", "domain": "test"},
            "password",
            {"username": "u@acme.com", "password": "pw", "security_token": "tok", "domain": "test"},
        ),
        (
            {
                "username": "u@acme.com",
                "password": "pw",
                "consumer_key": "ck",
                "consumer_secret": "cs",
            },
            "oauth_password",
            {
                "username": "u@acme.com",
                "password": "pw",
                "consumer_key": "ck",
                "consumer_secret": "cs",
                "domain": "login",
            },
        ),
        (
            {"consumer_key": "ck", "consumer_secret": "cs", "domain": "acme.my"},
            "client_credentials",
            {"consumer_key": "ck", "consumer_secret": "cs", "domain": "acme.my"},
        ),
    ],
)
def test_auth_modes_map_to_simple_salesforce_arguments(table, mode, arguments):
    settings = SalesforceSettings.model_validate(table)
    assert settings.auth_mode == mode
    assert login_arguments(settings) == arguments


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "no Salesforce credentials: set session_id + instance_url"),
        ({"session_id": "s3"}, "session_id needs instance_url"),
        ({"username": "u", "password": "pw"}, "username/password login needs security_token"),
        ({"consumer_key": "ck", "consumer_secret": "cs"}, "needs domain = your My Domain"),
        (
            {"instance_url": "http://acme.my.salesforce.com", "session_id": "s"},
            "must start with https://",
        ),
        (
            {"session_id": "s", "instance_url": "https://x", "phone_fields": ["Phone; DROP"]},
            "is not a Salesforce field API name",
        ),
        (
            {"session_id": "s", "instance_url": "https://x", "lead_statuses": {"booked": "x"}},
            "unknown disposition(s) booked",
        ),
    ],
)
def test_bad_settings_say_what_to_fix(table, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        SalesforceSettings.model_validate(table)


def test_deployment_error_names_the_setting(voicekit):
    path = voicekit.write(
        '[agent]\nname = "a"\ninstructions = "x"\n[leads]\npath = "leads.csv"\n'
        '[plugins]\nenable = ["salesforce"]\n[plugins.salesforce]\nsession_id = "s"\n'
    )
    with pytest.raises(ConfigError) as caught:
        voicekit.load(path)
    assert "plugins.salesforce" in str(caught.value)
    assert "session_id needs instance_url" in str(caught.value)


async def test_qualified_sdr_call_has_crm_context_and_is_logged(tmp_path, salesforce):
    copy = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    text = (copy / "voicekit.toml").read_text(encoding="utf-8")
    text = text.replace('enable = ["tdx_sdr_local"]', 'enable = ["tdx_sdr_local", "salesforce"]')
    text += (
        f'\n[plugins.salesforce]\ninstance_url = "{salesforce.url}"\n'
        f'session_id = "${{SALESFORCE_SESSION_ID}}"\nca_bundle = "{salesforce.ca_file}"\n'
    )
    config = copy / "voicekit.salesforce.toml"
    config.write_text(text, encoding="utf-8")
    dana = salesforce.add(
        "Lead",
        {
            "FirstName": "Dana",
            "LastName": "Whitfield",
            "Company": "Brightline Logistics",
            "Title": "VP of Operations",
            "Email": "dana.whitfield@brightline.example",
            "Phone": "(415) 555-0101",
            "Status": "Open - Not Contacted",
            "Owner": {"Name": "Alex Rivera"},
        },
    )
    deployment = load_deployment(config, environ={"SALESFORCE_SESSION_ID": SESSION})

    run = await run_script(deployment, load_script(copy / "scripts" / "qualified.yaml"))

    assert "## CRM context (Salesforce)" in run.agent.instructions
    assert (
        "- Lead: Dana Whitfield, VP of Operations at Brightline Logistics" in run.agent.instructions
    )
    assert "- Lead status: Open - Not Contacted" in run.agent.instructions
    report = run.report
    assert report.disposition.value == "meeting_booked"
    [delivery] = [d for d in report.post_call if d.plugin == "salesforce"]
    assert delivery.status == "delivered", delivery.error
    [task] = salesforce.sent("POST", "/sobjects/Task/")
    assert (task["WhoId"], task["CallObject"]) == (dana, f"voicekit:{report.call_id}")
    assert "user: We've set aside about $60k" in task["Description"]
    assert salesforce.records["Lead"][dana]["Status"] == "Working - Contacted"


async def test_task_committed_then_502_is_logged_once_after_journal_retry(
    tmp_path, salesforce, monkeypatch
):
    """Through the real journal: the Task create is committed but answered 502 and the
    check after it fails; the delivery fails, and ``voicekit journal retry`` resumes from
    the saved state without a second Task."""
    import asyncio

    from click.testing import CliRunner

    from voicekit_core.cli import cli

    copy = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    text = (copy / "voicekit.toml").read_text(encoding="utf-8")
    text = text.replace('enable = ["tdx_sdr_local"]', 'enable = ["tdx_sdr_local", "salesforce"]')
    text += (
        f'\n[plugins.salesforce]\ninstance_url = "{salesforce.url}"\n'
        f'session_id = "${{SALESFORCE_SESSION_ID}}"\nca_bundle = "{salesforce.ca_file}"\n'
        "backoff_seconds = 0\n"
    )
    config = copy / "voicekit.salesforce.toml"
    config.write_text(text, encoding="utf-8")
    dana = salesforce.add("Lead", {"LastName": "Whitfield", "Phone": "(415) 555-0101"})
    salesforce.fail_when("POST", r"/sobjects/Task/", 502, commit=True)
    # lookups before the create pass (2 person queries + the Task query); the check after
    # the lost reply fails with all its retries
    salesforce.fail_when("GET", r"/query/", *[503] * 4, after=3)
    deployment = load_deployment(config, environ={"SALESFORCE_SESSION_ID": SESSION})

    run = await run_script(deployment, load_script(copy / "scripts" / "qualified.yaml"))

    [delivery] = [d for d in run.report.post_call if d.plugin == "salesforce"]
    assert delivery.status == "failed"
    assert "Salesforce Task create failed: HTTP 502" in delivery.error
    monkeypatch.setenv("SALESFORCE_SESSION_ID", SESSION)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["journal", "retry", str(config), "--attempts", "1"]
    )
    assert result.exit_code == 0, result.output
    [record] = deployment.journal.deliveries(run.report.call_id)
    assert record.status == "delivered", record.error
    [task_id] = salesforce.records["Task"]
    assert record.result["task_id"] == task_id and record.result["who_id"] == dana
    assert len(salesforce.sent("POST", "/sobjects/Task/")) == 1
