"""docs/writing-plugins.md builds a plugin from scratch: its files are copied out of the
page, installed as a distribution, and must pass their own test, show in `voicekit
plugins`, and show their tool in `voicekit simulate` (issue 14's "held to")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from plugin_install_kit import VOICEKIT, install, listed_plugin, run

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "writing-plugins.md"
BLOCK = re.compile(r"```(?:python|toml|yaml)\n# file: (\S+)\n(.*?)```", re.S)


def doc_files() -> dict[str, str]:
    """``{path: text}`` of every code block that starts with ``# file: PATH``."""
    return {path: text for path, text in BLOCK.findall(DOC.read_text(encoding="utf-8"))}


def code_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def test_the_example_is_small():
    files = doc_files()
    module = files["src/voicekit_orders/__init__.py"]
    test = files["tests/test_orders.py"]
    assert "@hookimpl\ndef register_tools" in module and "async def post_call" in module
    assert code_lines(module) <= 40, code_lines(module)
    assert code_lines(test) <= 15, code_lines(test)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The doc's files in a folder, built and installed with pip into a --target folder
    (not the shared environment); returns the folder and an environment that sees it."""
    root = tmp_path_factory.mktemp("docs-example")
    project = root / "voicekit-orders"
    for path, text in doc_files().items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text, encoding="utf-8")
    return project, install(project, root / "site")


def test_the_example_passes_its_own_test(installed):
    project, env = installed
    result = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], project, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_example_is_listed_and_simulated(installed, http_receiver):
    project, env = installed
    row = listed_plugin("orders", project, env)
    assert row["distribution"] == "voicekit-orders 0.1.0"
    assert row["hooks"] == ["post_call", "register_settings", "register_tools"]

    env = {**env, "ORDERS_WEBHOOK_URL": http_receiver.url_for("/calls"), "COLUMNS": "120"}
    result = run(["-c", VOICEKIT, "simulate", "demo", "--script", "demo/call.yaml"], project, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '↳ tool order_status({"order_id": "A100"})' in result.stdout
    assert "Agent: Order A100 shipped yesterday" in result.stdout
    assert '✗ tool order_status({"order_id": "B200"}) FAILED' in result.stdout
    assert "post-call orders" in result.stdout and "delivered" in result.stdout
    [sent] = http_receiver.json("/calls")
    assert sent["disposition"] == "completed"
