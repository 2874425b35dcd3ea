"""``/config``: the deployment as loaded, secrets redacted exactly as ``voicekit check``
shows them (``•••••• (${VAR})``)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request

from voicekit_core.redaction import redact_data

from ..web import Dash, DashboardState, page

router = APIRouter()


def _config_view(dash: DashboardState) -> dict:
    deployment = dash.deployment
    return {
        "file": str(deployment.config.path),
        "store": deployment.store.display_url,
        "plugins": sorted(name for name, _ in deployment.pm.list_name_plugin()),
        "config": redact_data(deployment.config.redacted()),
        "dialer": dash.dialer,
    }


@router.get("/api/config", tags=["config"])
def api_config(dash: Dash) -> dict:
    """The resolved deployment config with every secret redacted."""
    return _config_view(dash)


@router.get("/config", include_in_schema=False)
def config_page(request: Request, dash: Dash):
    view = _config_view(dash)
    return page(
        request,
        "config.html",
        active="config",
        view=view,
        config_json=json.dumps(view["config"], indent=2, default=str, ensure_ascii=False),
    )
