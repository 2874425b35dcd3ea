{% set hooks = cookiecutter.hooks.split(",") -%}
"""`voicekit simulate` on demo/: the installed plugin, found by its entry point, in a call."""

import shutil
from pathlib import Path

from click.testing import CliRunner
from voicekit_core.cli import build_cli

DEMO = Path(__file__).resolve().parents[1] / "demo"


def test_demo_call_simulates(tmp_path):
    demo = shutil.copytree(DEMO, tmp_path / "demo")
    script = str(demo / "call.yaml")
    result = CliRunner().invoke(build_cli(), ["simulate", str(demo), "--script", script])
    assert result.exit_code == 0, result.output
{%- if 'tools' in hooks %}
    assert "↳ tool order_status" in result.output  # A100 was found
    assert "✗ tool order_status" in result.output  # Z9 was not: a failed tool call
{%- endif %}
