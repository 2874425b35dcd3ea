"""``[plugins.telephony]``: the built-in telephony plugin's settings.

Every field has a default (built-ins are active in every deployment). Credentials left
empty are read from ``LIVEKIT_URL`` / ``LIVEKIT_API_KEY`` / ``LIVEKIT_API_SECRET`` when
they are used, not when the deployment loads::

    [plugins.telephony]
    outbound_trunk_id = "ST_abc123"
    caller_id = "+14155550100"          # optional: the number shown to the callee
    numbers = ["+14155550100"]          # inbound trunk numbers
    room_prefix = "call-"
    ring_timeout_seconds = 30
    amd = true                          # answering-machine detection on outbound calls
    voicemail_message = "Hi {lead.first_name}, ..."
    deployment_name = "maple"           # how job metadata names this deployment
    catch_all = false                   # answer numbers no served deployment owns
    not_in_service_message = "Sorry, ..."

The last three matter when one worker serves several deployments
(``voicekit start A B``, :mod:`voicekit_core.routing`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ..leads import to_e164

if TYPE_CHECKING:
    from ..config import DeploymentConfig


NOT_IN_SERVICE_MESSAGE = "Sorry, the number you have called is not in service. Goodbye."


class TelephonySettings(BaseModel):
    """Validated ``[plugins.telephony]`` table. Durations are in seconds."""

    model_config = ConfigDict(extra="forbid")
    livekit_url: str = Field(default="", description="empty: LIVEKIT_URL at use time")
    api_key: str = Field(default="", description="empty: LIVEKIT_API_KEY at use time")
    api_secret: SecretStr | None = Field(default=None, description="empty: LIVEKIT_API_SECRET")
    outbound_trunk_id: str = Field(default="", description="SIP outbound trunk for dial")
    caller_id: str = Field(default="", description="E.164 number shown to the callee")
    numbers: list[str] = Field(default_factory=list, description="inbound numbers, E.164")
    inbound_trunk_name: str = Field(default="", description="default: '<agent> inbound'")
    dispatch_rule_name: str = Field(default="", description="default: '<agent> dispatch'")
    room_prefix: str = Field(default="call-", min_length=1)
    ring_timeout_seconds: int = Field(default=30, ge=5, le=180)
    krisp: bool = True
    amd: bool = True
    voicemail_tool: bool = Field(
        default=False, description="give the model a leave_voicemail tool (when AMD is off)"
    )
    voicemail_message: str | dict[str, str] = ""
    hangup_on_end: bool = Field(default=True, description="delete the room when a live call ends")
    deployment_name: str = Field(
        default="",
        max_length=64,
        pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="the name job metadata routes by; default: the deployment folder's name",
    )
    catch_all: bool = Field(
        default=False,
        description="in a worker serving several deployments, answer calls to numbers "
        "no served deployment owns",
    )
    not_in_service_message: str | dict[str, str] = Field(
        default=NOT_IN_SERVICE_MESSAGE,
        description="said (text or {lang = text}) before hanging up on a call no served "
        "deployment owns; the worker's first deployment's is used",
    )

    @field_validator("numbers")
    @classmethod
    def _e164_numbers(cls, value: list[str]) -> list[str]:
        return [to_e164(number) for number in value]

    @field_validator("caller_id")
    @classmethod
    def _e164_caller_id(cls, value: str) -> str:
        return to_e164(value) if value else ""

    def trunk_name(self, config: DeploymentConfig) -> str:
        return self.inbound_trunk_name or f"{config.agent.name} inbound"

    def rule_name(self, config: DeploymentConfig) -> str:
        return self.dispatch_rule_name or f"{config.agent.name} dispatch"


def deployment_name(config: DeploymentConfig) -> str:
    """The name job metadata gives ``config``'s deployment (``"deployment"``):
    ``[plugins.telephony].deployment_name``, else the name of the folder holding the file."""
    return telephony_settings(config).deployment_name or config.base_dir.name


def telephony_settings(config: DeploymentConfig) -> TelephonySettings:
    """The deployment's telephony settings (defaults when the plugin is not registered)."""
    try:
        settings: Any = config.plugin_settings("telephony")
    except KeyError:
        return TelephonySettings()
    return settings
