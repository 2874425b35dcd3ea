"""Real-browser tests: `voicekit dashboard` started as a subprocess on a private copy of
the TDX SDR example (simulated dialer), driven by Playwright in Debian's Chromium.

Playwright's own browser download is not reachable here, so the tests launch the system
Chromium (``/usr/bin/chromium``, or ``$VOICEKIT_CHROMIUM``); without it, or without the
``playwright`` package, they skip with a one-line reason. ``.ci/run`` installs both.
Screenshots go to a temporary folder, or to ``docs/img/`` with
``VOICEKIT_UPDATE_SCREENSHOTS=1`` (how the README's pictures are made).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from browser_kit import collect_errors
from dashboard_kit import ADMIN, DEPLOYMENT_ENV, ROOT, copy_example

CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # the closed network refuses Chromium's background connections, many at a time
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    candidate = (
        os.environ.get("VOICEKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    return candidate if Path(candidate).exists() else None


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    reason = None
    try:
        import playwright  # noqa: F401
    except ImportError:
        reason = "browser tests: playwright is not installed (pip install playwright)"
    if reason is None and chromium_path() is None:
        reason = "browser tests: no Chromium (apt-get install chromium, or set VOICEKIT_CHROMIUM)"
    if reason:
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if Path(str(item.fspath)).is_relative_to(here):
                item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _voicekit() -> list[str]:
    script = Path(sys.executable).parent / "voicekit"
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from voicekit_core.cli import main; main()"]
    )


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory) -> Path:
    if os.environ.get("VOICEKIT_UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "img"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def dashboard_server(tmp_path_factory):
    """Base URL of a running `voicekit dashboard` (simulated dialer, campaign time 5x real
    time so calls last long enough to be watched live)."""
    folder = copy_example(tmp_path_factory.mktemp("browser") / "tdx_sdr")
    env = {k: v for k, v in os.environ.items() if k not in DEPLOYMENT_ENV}
    env["VOICEKIT_DASHBOARD_PASSWORD"] = ADMIN[1]
    created = subprocess.run(
        [*_voicekit(), "dashboard", str(folder), "--create-user", "--username", ADMIN[0]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if created.returncode != 0:
        raise RuntimeError(
            f"voicekit dashboard --create-user failed ({created.returncode}):\n"
            + created.stdout
            + created.stderr
        )
    port = _free_port()
    log = (folder / "dashboard.log").open("w")
    process = subprocess.Popen(
        [
            *_voicekit(),
            "dashboard",
            str(folder),
            "--port",
            str(port),
            "--dialer",
            "simulated",
            "--speed",
            os.environ.get("VOICEKIT_BROWSER_SPEED", "5"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                "voicekit dashboard exited:\n" + (folder / "dashboard.log").read_text()
            )
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("voicekit dashboard did not answer /healthz in 60 s")
        time.sleep(0.2)
    yield {"base": base, "folder": folder, "log": folder / "dashboard.log"}
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Not session-wide: Playwright's sync API runs an
    asyncio loop in this thread while it is open, which would break every later test of
    the run that starts a loop of its own (asyncio.run, pytest-asyncio)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def login_state(browser, dashboard_server, tmp_path_factory) -> str:
    """Storage state (cookies) of a logged-in admin, saved once per module."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(dashboard_server["base"] + "/login")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url(dashboard_server["base"] + "/")
    path = tmp_path_factory.mktemp("state") / "state.json"
    context.storage_state(path=str(path))
    context.close()
    return str(path)


@pytest.fixture
def page(browser, login_state, dashboard_server):
    """A logged-in page; console errors fail the test."""
    context = browser.new_context(
        storage_state=login_state,
        base_url=dashboard_server["base"],
        viewport={"width": 1360, "height": 900},
        accept_downloads=True,
    )
    opened = context.new_page()
    errors = collect_errors(opened)
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    assert not errors, f"errors in the browser console: {errors}"
