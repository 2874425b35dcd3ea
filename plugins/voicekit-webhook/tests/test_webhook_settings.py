"""``[plugins.webhook]`` validation: clear errors naming the key, secrets registered."""

from __future__ import annotations

import pytest
from voicekit_webhook.settings import Target, display_url
from webhook_support import SECRET, TOKEN

from voicekit_core.errors import ConfigError
from voicekit_core.redaction import REDACTED, redact
from voicekit_core.testing import MINIMAL_CONFIG


def deployment_with(voicekit, table: str, environ: dict[str, str] | None = None):
    config = MINIMAL_CONFIG + '\n[plugins]\nenable = ["webhook"]\n\n' + table
    return voicekit.load(voicekit.write(config), environ=environ or {})


@pytest.mark.parametrize(
    ("table", "key", "reason"),
    [
        (
            '[[plugins.webhook.targets]]\nurl = "ftp://example.com/x"\n',
            "plugins.webhook.targets[0].url",
            "must be an https:// URL",
        ),
        (
            '[[plugins.webhook.targets]]\nurl = "http://crm.example.com/hook"\n',
            "plugins.webhook.targets[0]",
            "is plain http",
        ),
        (
            '[[plugins.webhook.targets]]\nurl = "https://a.example/h"\n'
            'headers = { "Content-Type" = "text/plain" }\n',
            "plugins.webhook.targets[0].headers",
            "Content-Type is set by the plugin itself",
        ),
        (
            '[[plugins.webhook.targets]]\nurl = "https://a.example/h"\n'
            '[[plugins.webhook.targets]]\nurl = "https://a.example/h"\n',
            "plugins.webhook",
            "targets[0] and targets[1] are the same target",
        ),
        (
            '[[plugins.webhook.targets]]\nurl = "https://a.example/h"\nname = "no spaces"\n',
            "plugins.webhook.targets[0].name",
            "should match pattern",
        ),
        (
            '[[plugins.webhook.targets]]\nurl = "https://a.example/h"\npayload = "ticket"\n',
            "plugins.webhook.targets[0].payload",
            "'report' or 'extracted'",
        ),
        ('[plugins.webhook]\nfile = "tickets/latest.json"\n', "plugins.webhook.file", "{call_id}"),
        (
            '[plugins.webhook]\nfile = "tickets/{caller}.json"\n',
            "plugins.webhook.file",
            "unknown placeholder {caller}",
        ),
        (
            "[plugins.webhook]\nmax_attempts = 0\n",
            "plugins.webhook.max_attempts",
            "greater than or equal to 1",
        ),
        ('[plugins.webhook]\npayload = "report"\n', "plugins.webhook", "nothing to deliver to"),
    ],
)
def test_bad_settings_name_the_key(voicekit, table, key, reason):
    with pytest.raises(ConfigError) as caught:
        deployment_with(voicekit, table)
    problems = caught.value.problems
    assert any(p.key == key and reason in p.reason for p in problems), problems


def test_enabled_without_a_table_says_what_to_add(voicekit):
    with pytest.raises(ConfigError, match="nothing to deliver to"):
        deployment_with(voicekit, "")


def test_secrets_are_registered_and_never_shown(voicekit):
    deployment = deployment_with(
        voicekit,
        "[plugins.webhook]\n"
        "[[plugins.webhook.targets]]\n"
        'url = "https://helpdesk.example.com/hooks?key=${HOOK_KEY}"\n'
        'secret = "${HOOK_SECRET}"\n'
        'headers = { Authorization = "Bearer ${HELPDESK_TOKEN}" }\n',
        environ={"HOOK_SECRET": SECRET, "HELPDESK_TOKEN": TOKEN, "HOOK_KEY": "query-key-1234"},
    )
    assert redact(f"x {SECRET} {TOKEN} query-key-1234") == f"x {REDACTED} {REDACTED} {REDACTED}"
    shown = str(deployment.config.redacted())
    assert SECRET not in shown and TOKEN not in shown
    assert not deployment.warnings
    [target] = deployment.config.plugin_settings("webhook").targets
    assert target.label == "https://helpdesk.example.com/…"  # its URL holds a secret
    assert target.key.startswith("url-") and "helpdesk" not in target.key


def test_a_literal_secret_is_a_warning(voicekit):
    deployment = deployment_with(
        voicekit,
        '[[plugins.webhook.targets]]\nurl = "https://a.example/h"\nsecret = "literal-secret-42"\n',
    )
    assert any(
        "plugins.webhook.targets[0].secret is a secret written in the file" in w
        for w in deployment.warnings
    ), deployment.warnings
    assert redact("literal-secret-42") == REDACTED


def test_display_url_hides_credentials_and_query():
    assert (
        display_url("https://user:pw-123456@crm.example.com:8443/hooks/v1?token=abc#x")
        == "https://crm.example.com:8443/hooks/v1"
    )
    target = Target(url="http://127.0.0.1:9000/h", name="local")
    assert target.label == "local (http://127.0.0.1:9000/h)" and target.key == "local"
    assert Target(url="http://10.0.0.5/h", allow_plain_http=True).url == "http://10.0.0.5/h"


def test_check_shows_the_secret_masked(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from voicekit_core.cli import cli

    (tmp_path / "voicekit.toml").write_text(
        MINIMAL_CONFIG.replace('path = "leads.csv"', 'source = "none"')
        + '\n[plugins]\nenable = ["webhook"]\n\n[plugins.webhook]\nfile = "tickets/{call_id}.json"\n'
        '[[plugins.webhook.targets]]\nurl = "https://a.example/h"\nsecret = "${HOOK_SECRET}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
