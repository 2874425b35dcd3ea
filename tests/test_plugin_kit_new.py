"""`voicekit plugin new`: the generated distribution installs, passes its own tests and is
listed by `voicekit plugins`, with no edits."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from plugin_install_kit import install, listed_plugin, run

from voicekit_core.cli import build_cli
from voicekit_core.plugin_kit import HOOK_CHOICES, PluginNameError, new_plugin, plugin_names


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """`voicekit plugin new shop_orders` with every hook example, installed with pip into
    a --target folder (the shared environment is left alone)."""
    root = tmp_path_factory.mktemp("plugin-new")
    result = CliRunner().invoke(
        build_cli(),
        ["plugin", "new", "shop-orders", "--hooks", ",".join(HOOK_CHOICES), "--output", str(root)],
    )
    assert result.exit_code == 0, result.output
    project = root / "voicekit-shop-orders"
    return project, install(project, root / "site")


def test_layout(generated):
    project, _ = generated
    for path in (
        "pyproject.toml",
        "README.md",
        "noxfile.py",
        ".github/workflows/tests.yml",
        "src/voicekit_shop_orders/__init__.py",
        "tests/test_shop_orders.py",
        "tests/test_demo.py",
        "demo/voicekit.toml",
        "demo/call.yaml",
    ):
        assert (project / path).is_file(), path
    pyproject = (project / "pyproject.toml").read_text()
    assert 'version = "0.1.0"' in pyproject
    assert '[project.entry-points.voicekit]\nshop_orders = "voicekit_shop_orders"' in pyproject
    assert 'asyncio_mode = "auto"' in pyproject
    assert "voicekit-core[testing]" in pyproject
    readme = (project / "README.md").read_text()
    assert "| `register_tools` | tool `order_status`" in readme  # the hook table
    assert "{{" not in readme and "{%" not in (project / "tests/test_shop_orders.py").read_text()


def test_generated_code_passes_ruff(generated):
    project, _ = generated
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run([ruff, *args], cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_generated_package_passes_its_own_tests(generated):
    project, env = generated
    result = run(["-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10 passed" in result.stdout, result.stdout


def test_generated_plugin_is_listed(generated):
    _, env = generated
    row = listed_plugin("shop_orders", Path.cwd(), env)
    assert row["distribution"] == "voicekit-shop-orders 0.1.0"
    assert {"register_tools", "post_call", "lookup_lead", "before_dial"} <= set(row["hooks"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("orders", ("orders", "voicekit-orders", "voicekit_orders")),
        ("Order-Status", ("order_status", "voicekit-order-status", "voicekit_order_status")),
        ("voicekit-crm", ("crm", "voicekit-crm", "voicekit_crm")),
    ],
)
def test_names(name, expected):
    assert plugin_names(name) == expected


@pytest.mark.parametrize(
    ("name", "hooks", "message"),
    [
        ("9lives", "tools", "starting with a letter"),
        ("class", "tools", "keyword"),
        ("telephony", "tools", "built-in"),
        ("shop", "tools,webhooks", "--hooks = webhooks: known: tools, post_call"),
    ],
)
def test_bad_names_and_hooks_are_refused(tmp_path, name, hooks, message):
    with pytest.raises(PluginNameError, match=message):
        new_plugin(name, hooks=hooks, output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_not_overwritten(tmp_path):
    new_plugin("shop", hooks="commands", output_dir=tmp_path)
    result = CliRunner().invoke(build_cli(), ["plugin", "new", "shop", "--output", str(tmp_path)])
    assert result.exit_code == 2
    assert "already exists" in result.output
