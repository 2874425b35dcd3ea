{% set hooks = cookiecutter.hooks.split(",") -%}
"""{{ cookiecutter.description }}.

Enable it in a deployment with ``[plugins] enable = ["{{ cookiecutter.plugin_name }}"]``; its
settings go in ``[plugins.{{ cookiecutter.plugin_name }}]`` (see README.md).
"""

# No `from __future__ import annotations` here: livekit reads tool annotations at call time.
{%- if 'post_call' in hooks %}
import asyncio
import json
{%- endif %}
{%- if 'lifecycle' in hooks %}
import logging
{%- endif %}
{%- if 'post_call' in hooks %}
import urllib.request
{%- endif %}

from pydantic import BaseModel, ConfigDict{% if 'post_call' in hooks %}, SecretStr{% endif %}
from voicekit_core import hookimpl

NAME = "{{ cookiecutter.plugin_name }}"


class Settings(BaseModel):
    """``[plugins.{{ cookiecutter.plugin_name }}]`` in the deployment file."""

    model_config = ConfigDict(extra="forbid")
{%- if 'tools' in hooks %}
    statuses: dict[str, str] = {"A100": "shipped", "A101": "being packed"}  # TODO: your API
{%- endif %}
{%- if 'post_call' in hooks %}
    webhook_url: str = ""  # post_call sends each finished call here; "" sends nothing
    api_key: SecretStr | None = None  # write it as api_key = "${MY_API_KEY}"
{%- endif %}
{%- if 'lead_lookup' in hooks %}
    directory: dict[str, str] = {"+14155550100": "Grace Hopper"}  # E.164 phone -> name
{%- endif %}
{%- if 'instructions' in hooks %}
    extra_instructions: str = "Offer to text the caller a summary at the end of the call."
{%- endif %}
{%- if 'before_dial' in hooks %}
    blocked_numbers: list[str] = []  # E.164 numbers this plugin refuses to dial
{%- endif %}


@hookimpl
def register_settings(register):
    register(Settings)
{%- if 'tools' in hooks %}


@hookimpl
def register_tools(register, call):
    # imported here, not at the top: `voicekit plugins` stays fast and light
    from livekit.agents import RunContext, ToolError, function_tool

    settings = call.config.plugin_settings(NAME)

    @function_tool
    async def order_status(context: RunContext, order_id: str) -> str:
        """Where an order is.

        Args:
            order_id: the order number the caller reads out, e.g. A100.
        """
        status = settings.statuses.get(order_id.strip().upper())
        if status is None:
            raise ToolError(f"there is no order {order_id}; ask the caller to check the number")
        return f"Order {order_id.upper()}: {status}"

    register(order_status)
{%- endif %}
{%- if 'lead_lookup' in hooks %}


@hookimpl
def lookup_lead(phone, call):
    from voicekit_core import Lead

    name = call.config.plugin_settings(NAME).directory.get(phone)
    if name is None:
        return None  # let the next lead source (the CSV) answer
    first, _, last = name.partition(" ")
    return Lead(first_name=first, last_name=last, phone=phone, source=NAME)
{%- endif %}
{%- if 'instructions' in hooks %}


@hookimpl
def call_instructions(call):
    return call.config.plugin_settings(NAME).extra_instructions or None
{%- endif %}
{%- if 'before_dial' in hooks %}


@hookimpl
def before_dial(lead, call):
    if call.phone in call.config.plugin_settings(NAME).blocked_numbers:
        return f"{call.phone} is blocked by {NAME}"
    return None
{%- endif %}
{%- if 'lifecycle' in hooks %}


@hookimpl
def call_started(call):
    call.note(f"{NAME}: call started")


@hookimpl
def call_ended(call, report):
    # the report is journaled already: log, notify; deliveries belong in post_call
    logging.getLogger(NAME).info("call %s ended: %s", report.call_id, report.disposition.value)
{%- endif %}
{%- if 'post_call' in hooks %}


@hookimpl
async def post_call(report, config):
    """Send the finished call to ``webhook_url``. Raising marks the delivery failed;
    ``voicekit journal retry`` sends it again (the receiver dedupes on Idempotency-Key)."""
    settings = config.plugin_settings(NAME)
    if not settings.webhook_url:
        return None
    body = {
        "call_id": report.call_id,
        "phone": report.phone,
        "disposition": report.disposition.value,
        "summary": report.summary(),
    }
    status = await asyncio.to_thread(_post_json, settings, body)
    return {"status": status}


def _post_json(settings, body):
    request = urllib.request.Request(
        settings.webhook_url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": body["call_id"]},
        method="POST",
    )
    if settings.api_key is not None:
        request.add_header("Authorization", f"Bearer {settings.api_key.get_secret_value()}")
    with urllib.request.urlopen(request, timeout=10) as response:  # HTTP errors raise
        return response.status
{%- endif %}
{%- if 'commands' in hooks %}


@hookimpl
def register_commands(cli):
    import click

    @cli.command("{{ cookiecutter.plugin_name.replace('_', '-') }}-hello")
    def hello():
        """Say hello from {{ cookiecutter.dist_name }}."""
        click.echo("hello from {{ cookiecutter.dist_name }}")
{%- endif %}
