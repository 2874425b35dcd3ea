"""``[plugins.dashboard]``: limits and security settings of ``voicekit dashboard``.

Every key has a default; the table is optional (add ``"dashboard"`` to ``[plugins] enable``
to set any of them)::

    [plugins.dashboard]
    upload_max_bytes = 10_485_760       # 10 MB per lead CSV
    upload_max_rows = 10_000
    session_hours = 12
    secure_cookies = true               # behind HTTPS
    login_rate = "10/minute"            # per client IP
    widget_allowed_origins = ["https://www.example.com"]
"""

from __future__ import annotations

from pydantic import Field, field_validator

from voicekit_core.strict import StrictModel

RATE_HELP = 'a rate such as "10/minute" or "100/hour" (per client IP)'


class DashboardSettings(StrictModel):
    """Settings of the dashboard server. Sizes in bytes, durations in seconds or hours."""

    upload_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, le=1024**3, description="largest lead CSV, bytes"
    )
    upload_max_rows: int = Field(default=10_000, ge=1, le=5_000_000, description="rows per CSV")
    preview_rows: int = Field(default=20, ge=1, le=500, description="rows shown in a preview")
    session_hours: float = Field(default=12, gt=0, le=24 * 30, description="login lifetime")
    secure_cookies: bool = Field(
        default=False, description="send the session cookie over HTTPS only (set behind TLS)"
    )
    trust_proxy_headers: bool = Field(
        default=False, description="take the client IP from X-Forwarded-For (behind a proxy)"
    )
    login_rate: str = Field(default="10/minute", description=RATE_HELP)
    upload_rate: str = Field(default="30/minute", description=RATE_HELP)
    api_rate: str = Field(default="600/minute", description=RATE_HELP)
    widget_rate: str = Field(default="10/minute", description=RATE_HELP)
    widget_allowed_origins: list[str] = Field(
        default_factory=list,
        description="origins (scheme://host[:port]) allowed to request widget tokens",
    )
    widget_token_ttl_seconds: int = Field(
        default=600, ge=30, le=900, description="lifetime of a widget join token (<= 15 min)"
    )
    live_poll_seconds: float = Field(
        default=0.5, ge=0.01, le=10, description="how often live streams read the store"
    )
    sse_keepalive_seconds: float = Field(
        default=15, ge=0.05, le=300, description="idle time before a stream sends a keep-alive"
    )
    test_call_limit: int = Field(
        default=4, ge=1, le=50, description="test calls running at once (browser chats)"
    )
    test_call_idle_seconds: float = Field(
        default=600, ge=0.1, le=24 * 3600, description="a test call nobody types in ends after"
    )

    @field_validator("login_rate", "upload_rate", "api_rate", "widget_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not {RATE_HELP}") from None
        return value

    @field_validator("widget_allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin such as https://www.example.com")
        return [origin.rstrip("/") for origin in value]
