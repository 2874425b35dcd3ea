"""The deploy files of the TDX SDR example cannot rot: Dockerfile, .dockerignore,
docker-compose.yml, render.yaml, Procfile, .env.example and docs/deploy.md.

Each file is parsed and its structure checked (non-root image on python:3.12-slim, the
services and their shared store, the dashboard published on 127.0.0.1 only, the Render
database wiring); .env.example lists exactly the variables something reads; every
`voicekit ...` command these files start (or the deploy guide tells people to type) runs
with `--help` through the installed `voicekit` script, and the build's own checks run.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/tdx_sdr"
APP_DIR = "/app"  # the image's WORKDIR
DATA_DIR = f"{APP_DIR}/{EXAMPLE}/.voicekit"
VOICEKIT_SERVICES = ("worker", "dialer", "dashboard")
STORE_VAR = "VOICEKIT_STORE_URL"
VOICEKIT = Path(sys.executable).with_name("voicekit")
# what a platform puts in a command line ($PORT on Heroku-style hosts)
COMMAND_ENV = {"PORT": "4100"}
_VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_ENV_LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


# -- parsers ------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order: continuations joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def exec_form(args: str) -> list[str]:
    assert args.startswith("["), f"not in exec form: {args}"
    return json.loads(args)


def procfile() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip():
            continue
        name, sep, command = line.partition(":")
        assert sep and re.fullmatch(r"[a-z][a-z0-9_-]*", name), f"bad Procfile line: {line!r}"
        assert name not in entries, f"Procfile process {name} twice"
        entries[name] = command.strip()
    return entries


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def render() -> dict:
    return yaml.safe_load((ROOT / "render.yaml").read_text())


def env_example() -> dict[str, dict]:
    """``{NAME: {"value", "optional", "comment"}}``: ``NAME=value`` lines, commented out
    when optional, each under a one-line ``# comment``."""
    entries: dict[str, dict] = {}
    comment = ""
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = _ENV_LINE.match(line.strip())
        if match:
            name = match.group(2)
            assert name not in entries, f".env.example lists {name} twice"
            entries[name] = {
                "value": match.group(3),
                "optional": bool(match.group(1)),
                "comment": comment,
            }
            comment = ""
        elif line.startswith("#") and not line.startswith("# ---"):
            comment = line.lstrip("#").strip()
        else:
            comment = ""
    return entries


def compose_command(service: dict) -> list[str]:
    command = service.get("command")
    if command is None:
        return exec_form(dict(final_stage()).get("CMD", "[]"))
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def render_service(command: str) -> dict:
    """The Render service whose dockerCommand starts with ``command``."""
    found = [s for s in render()["services"] if s.get("dockerCommand", "").startswith(command)]
    assert len(found) == 1, f"render.yaml: {len(found)} services run {command!r}"
    return found[0]


def option(argv: list[str], name: str) -> str:
    assert name in argv, f"{name} missing from {argv}"
    return argv[argv.index(name) + 1]


def voicekit_argv(line: str) -> list[str] | None:
    """The ``voicekit ...`` command a shell line starts, directly or through
    ``docker compose run/exec SERVICE``; None if it starts none."""
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError:
        return None
    for i, token in enumerate(tokens):
        if token == "voicekit" and (i == 0 or tokens[i - 1] in VOICEKIT_SERVICES):
            return tokens[i:]
    return None


def docs_commands() -> list[str]:
    """Lines of the fenced code blocks of docs/deploy.md, and the comment lines of the
    compose file and the blueprint (they show commands too)."""
    lines: list[str] = []
    fenced = False
    for line in (ROOT / "docs" / "deploy.md").read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            lines.append(line.strip())
    for name in ("docker-compose.yml", "render.yaml"):
        for line in (ROOT / name).read_text().splitlines():
            if line.lstrip().startswith("#"):
                lines.append(line.lstrip().lstrip("#").strip())
    return lines


def started_commands() -> dict[str, list[str]]:
    """``{where: argv}`` for every voicekit command the deploy files start or document."""
    found: dict[str, list[str]] = {}
    stage = final_stage()
    found["Dockerfile CMD"] = exec_form(dict(stage)["CMD"])
    for name, service in compose()["services"].items():
        if name in VOICEKIT_SERVICES:
            found[f"docker-compose.yml {name}"] = compose_command(service)
    for service in render()["services"]:
        found[f"render.yaml {service['name']}"] = shlex.split(service["dockerCommand"])
    for name, command in procfile().items():
        found[f"Procfile {name}"] = shlex.split(command)
    for keyword, args in stage:
        if keyword == "RUN":
            for part in re.split(r"&&|;", args):
                argv = voicekit_argv(part.split(">")[0])
                if argv:
                    found[f"Dockerfile RUN {shlex.join(argv)}"] = argv
    for line in docs_commands():
        argv = voicekit_argv(line)
        if argv:
            found[f"docs {shlex.join(argv)}"] = argv
    return found


def distinct_commands() -> list[tuple[str, list[str]]]:
    """Each distinct command once (with $PORT filled in), named by its first place."""
    seen: dict[tuple[str, ...], str] = {}
    for where, argv in started_commands().items():
        filled = tuple(
            COMMAND_ENV.get(a[1:].strip("{}"), a) if a.startswith("$") else a for a in argv
        )
        seen.setdefault(filled, where)
    return [(where, list(argv)) for argv, where in seen.items()]


def run_voicekit(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert argv[0] == "voicekit", argv
    return subprocess.run(
        [str(VOICEKIT), *argv[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """The image's /app: the example copied as the Dockerfile copies it."""
    target = tmp_path / "app" / EXAMPLE
    shutil.copytree(
        ROOT / EXAMPLE, target, ignore=shutil.ignore_patterns(".voicekit", "__pycache__", ".env")
    )
    return tmp_path / "app"


# -- Dockerfile -------------------------------------------------------------------------


def test_every_stage_is_python_3_12_slim():
    bases = [args.split()[0] for keyword, args in dockerfile() if keyword == "FROM"]
    assert bases
    assert all(base == "python:3.12-slim" for base in bases), bases


def test_the_image_runs_as_a_non_root_user():
    stage = final_stage()
    keywords = [keyword for keyword, _ in stage]
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user
    assert keywords.index("USER") < keywords.index("CMD")
    assert any("useradd" in args and user in args for keyword, args in stage if keyword == "RUN")


def test_the_default_command_is_the_worker_with_a_healthcheck():
    stage = dict(final_stage())
    assert exec_form(stage["CMD"]) == ["voicekit", "start", EXAMPLE]
    assert dict(final_stage())["WORKDIR"] == APP_DIR
    check = stage["HEALTHCHECK"]
    assert "CMD" in check and "8081" in check, check  # livekit's worker health port


def test_the_image_has_the_extras_the_example_needs_and_every_plugin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    known = set(project["optional-dependencies"])
    args = [
        a for keyword, a in dockerfile() if keyword == "ARG" and a.startswith("VOICEKIT_EXTRAS=")
    ]
    assert args, "no ARG VOICEKIT_EXTRAS=..."
    extras = set(args[0].partition("=")[2].split(","))
    assert extras <= known, f"unknown extras {extras - known}"

    config = tomllib.loads((ROOT / EXAMPLE / "voicekit.toml").read_text())
    models = config.get("models", {})
    needed = {"postgres"}
    for kind in ("realtime", "stt", "llm", "tts"):
        chain = models.get(kind) or []
        for ref in chain if isinstance(chain, list) else [chain]:
            use = ref["use"] if isinstance(ref, dict) else ref
            if use.split(":")[0] in known:
                needed.add(use.split(":")[0])
    if models.get("turn", {}).get("vad") in known:
        needed.add(models["turn"]["vad"])
    assert needed <= extras, f"the image lacks extras {needed - extras}"

    installs = " ".join(a for keyword, a in dockerfile() if keyword == "RUN" and "pip install" in a)
    installed = set(re.findall(r"\./plugins/([\w.-]+)", installs))
    plugins = {p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file()}
    assert plugins <= installed, f"plugins not installed in the image: {plugins - installed}"
    assert installed <= plugins, f"the image installs missing plugins {installed - plugins}"


def test_the_image_copies_what_it_builds_and_runs():
    copies = [a.split() for keyword, a in dockerfile() if keyword == "COPY" and "--from" not in a]
    for args in copies:
        for source in args[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such path"
    assert [f"{EXAMPLE}/", f"{EXAMPLE}/"] in copies
    ignored = (ROOT / ".dockerignore").read_text().split()
    for must in (".env", "**/.env", "**/.voicekit", ".git", ".nox"):
        assert must in ignored, f".dockerignore does not exclude {must}"
    for args in copies:
        for source in args[:-1]:
            assert source.rstrip("/") not in ignored, f".dockerignore drops {source}"


# -- docker-compose.yml ------------------------------------------------------------------


def test_compose_runs_postgres_and_the_three_processes():
    services = compose()["services"]
    assert set(services) == {"postgres", *VOICEKIT_SERVICES}
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])

    assert compose_command(services["worker"]) == ["voicekit", "start", EXAMPLE]
    assert compose_command(services["dialer"]) == ["voicekit", "campaign", "serve", EXAMPLE]
    dashboard = compose_command(services["dashboard"])
    assert dashboard[:3] == ["voicekit", "dashboard", EXAMPLE]
    assert option(dashboard, "--host") == "0.0.0.0"
    assert option(dashboard, "--dialer") == "external"  # the dialer service dials


def test_compose_services_share_the_env_file_and_the_store():
    data = compose()
    services = data["services"]
    urls = set()
    for name in VOICEKIT_SERVICES:
        service = services[name]
        env_files = service["env_file"]
        assert ".env" in ([env_files] if isinstance(env_files, str) else env_files), name
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert any(v.endswith(f":{DATA_DIR}") for v in service["volumes"]), name
        urls.add(service["environment"][STORE_VAR])
    assert len(urls) == 1, urls
    url = urls.pop()
    assert url.startswith("postgresql+psycopg://voicekit:${POSTGRES_PASSWORD"), url
    assert url.endswith("@postgres:5432/voicekit"), url
    postgres = services["postgres"]["environment"]
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("voicekit", "voicekit")
    named = set(data["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in named, volume


def test_compose_publishes_the_dashboard_on_localhost_only():
    services = compose()["services"]
    dashboard = services["dashboard"]
    port = option(compose_command(dashboard), "--port")
    assert dashboard["ports"], "the dashboard port is not published"
    for mapping in dashboard["ports"]:
        host, _, container = str(mapping).rpartition(":")
        assert host.startswith("127.0.0.1:"), f"{mapping} is not bound to 127.0.0.1"
        assert container == port, mapping
    for name in ("postgres", "worker", "dialer"):
        assert not services[name].get("ports"), f"{name} publishes ports"
    check = " ".join(dashboard["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/healthz" in check, check
    assert services["dialer"]["healthcheck"] == {"disable": True}  # no :8081 to check


# -- render.yaml -------------------------------------------------------------------------


def test_render_blueprint_runs_worker_dashboard_and_dialer_on_one_database():
    blueprint = render()
    databases = {db["name"] for db in blueprint["databases"]}
    assert len(databases) == 1
    agent = render_service(f"voicekit start {EXAMPLE}")
    dialer = render_service(f"voicekit campaign serve {EXAMPLE}")
    web = render_service(f"voicekit dashboard {EXAMPLE}")
    assert (agent["type"], dialer["type"], web["type"]) == ("worker", "worker", "web")
    assert len(blueprint["services"]) == 3
    for service in blueprint["services"]:
        assert service["runtime"] == "docker"
        assert (ROOT / service["dockerfilePath"]).is_file()
        store = [e for e in service["envVars"] if e.get("key") == STORE_VAR]
        assert store, f"{service['name']}: no {STORE_VAR}"
        assert store[0]["fromDatabase"]["name"] in databases
        assert store[0]["fromDatabase"]["property"] == "connectionString"

    argv = shlex.split(web["dockerCommand"])
    assert option(argv, "--host") == "0.0.0.0"
    assert option(argv, "--dialer") == "external"
    port = {e["key"]: e.get("value") for e in web["envVars"]}.get("PORT")
    assert port == option(argv, "--port"), "Render routes to $PORT"
    assert web["healthCheckPath"] == "/healthz"


def test_render_asks_for_secrets_instead_of_holding_them():
    for service in render()["services"]:
        for entry in service["envVars"]:
            if "value" in entry:
                assert entry["key"] == "PORT", f"{service['name']}: {entry['key']} has a value"


# -- Procfile ----------------------------------------------------------------------------


def test_procfile_has_web_worker_and_dialer():
    entries = procfile()
    assert set(entries) == {"web", "worker", "dialer"}
    assert shlex.split(entries["worker"]) == ["voicekit", "start", EXAMPLE]
    assert shlex.split(entries["dialer"]) == ["voicekit", "campaign", "serve", EXAMPLE]
    web = shlex.split(entries["web"])
    assert web[:3] == ["voicekit", "dashboard", EXAMPLE]
    assert option(web, "--port") == "$PORT"
    assert option(web, "--host") == "0.0.0.0"
    assert option(web, "--dialer") == "external"


# -- .env.example ------------------------------------------------------------------------


def example_config_variables() -> set[str]:
    """``${VAR}`` references in every deployment file of the example (comments excluded)."""
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            names.update(_VAR_REF.findall(node))

    for path in sorted((ROOT / EXAMPLE).glob("*.toml")):
        walk(tomllib.loads(path.read_text()))
    return names


def deploy_file_variables() -> set[str]:
    """Variables the operator supplies to the deploy files: ``${VAR}`` in the compose file
    and ``sync: false`` keys of the blueprint."""
    text = "\n".join(
        line
        for line in (ROOT / "docker-compose.yml").read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    names = set(_VAR_REF.findall(text))
    for service in render()["services"]:
        names.update(e["key"] for e in service["envVars"] if e.get("sync") is False)
    return names


def code_variables() -> set[str]:
    """Variables voicekit, its providers and the plugins read (their own constants)."""
    from voicekit_dashboard.command import PASSWORD_ENV
    from voicekit_transfer.settings import FORWARD_ENV

    from voicekit_core.deployment import load_deployment
    from voicekit_core.masking import MASK_ENV
    from voicekit_core.plugins import TRACE_ENV
    from voicekit_core.telephony.credentials import ENV_KEY, ENV_SECRET, ENV_URL

    providers = load_deployment(ROOT / EXAMPLE, environ={}).providers
    keys = {key for name in providers.names() for key in providers.get(name).env_keys}
    return keys | {ENV_URL, ENV_KEY, ENV_SECRET, MASK_ENV, TRACE_ENV, FORWARD_ENV, PASSWORD_ENV}


def test_env_example_entries_have_a_comment_and_no_secret():
    entries = env_example()
    assert entries
    for name, entry in entries.items():
        assert entry["comment"], f"{name} has no comment line above it"
        if not entry["optional"]:
            assert entry["value"] == "", f"{name}: required values stay empty in the example"
        assert not re.search(r"sk-[A-Za-z0-9]{16,}|pat-[a-z]{2}\d-[0-9a-f-]{16,}", entry["value"])


def test_env_example_lists_every_variable_the_deployment_reads():
    listed = set(env_example())
    wanted = example_config_variables() | deploy_file_variables() | code_variables() | {STORE_VAR}
    assert wanted - listed == set(), f".env.example misses {sorted(wanted - listed)}"


def test_env_example_has_no_stale_entries():
    sources = [
        path.read_text()
        for path in [*(ROOT / "src").rglob("*.py"), *(ROOT / "plugins").glob("*/src/**/*.py")]
    ]
    code = "\n".join(sources)
    known = example_config_variables() | deploy_file_variables() | {STORE_VAR}
    stale = [
        name
        for name in env_example()
        if name not in known and not re.search(rf"[\"']{name}[\"']", code)
    ]
    assert stale == [], f".env.example lists variables nothing reads: {stale}"


# -- the example reads what the deploy files set ----------------------------------------------


def deploy_environ() -> dict[str, str]:
    return {
        STORE_VAR: "postgresql+psycopg://voicekit:pw@postgres:5432/voicekit",
        "LIVEKIT_SIP_OUTBOUND_TRUNK": "ST_deploytest",
    }


def test_the_example_takes_its_store_url_from_the_environment(app_dir: Path):
    from voicekit_core.deployment import load_deployment

    environ = deploy_environ()
    deployment = load_deployment(app_dir / EXAMPLE, environ=environ)
    assert deployment.config.store.url == environ[STORE_VAR], (
        f"{EXAMPLE}/voicekit.toml ignores {STORE_VAR}: the worker, the dialer and the "
        "dashboard would not share the Postgres store; it needs "
        f'[store] url = "${{{STORE_VAR}:-sqlite:///.voicekit/voicekit.sqlite3}}"'
    )


def test_the_example_takes_its_outbound_trunk_from_the_environment(app_dir: Path):
    from voicekit_core.deployment import load_deployment
    from voicekit_core.telephony.settings import telephony_settings

    environ = deploy_environ()
    deployment = load_deployment(app_dir / EXAMPLE, environ=environ)
    assert telephony_settings(deployment.config).outbound_trunk_id == "ST_deploytest", (
        f"{EXAMPLE}/voicekit.toml has no outbound trunk: `voicekit campaign serve` cannot "
        "dial; it needs [plugins.telephony] "
        'outbound_trunk_id = "${LIVEKIT_SIP_OUTBOUND_TRUNK:-}"'
    )


# -- every voicekit command the files start ------------------------------------------------


COMMANDS = distinct_commands()


@pytest.mark.parametrize("argv", [argv for _, argv in COMMANDS], ids=[w for w, _ in COMMANDS])
def test_voicekit_command_exists(argv: list[str]):
    """The command and its options parse (click stops at --help after reading them all)."""
    result = run_voicekit([*argv, "--help"], cwd=ROOT)
    assert result.returncode == 0, f"`{shlex.join(argv)} --help`:\n{result.stdout}{result.stderr}"
    for arg in argv:
        if arg.startswith("examples/"):
            assert (ROOT / arg).exists(), f"{arg}: no such path"


def test_the_build_checks_pass(app_dir: Path):
    """The Dockerfile's RUN voicekit commands, run for real in a copy of /app."""
    runs = [
        argv for where, argv in started_commands().items() if where.startswith("Dockerfile RUN")
    ]
    assert runs, "the Dockerfile checks nothing at build time"
    for argv in runs:
        result = run_voicekit(argv, cwd=app_dir)
        assert result.returncode == 0, f"`{shlex.join(argv)}`:\n{result.stdout}{result.stderr}"


def test_the_deploy_guide_documents_every_variable():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    missing = [name for name in env_example() if f"`{name}`" not in guide]
    assert missing == [], f"docs/deploy.md does not mention {missing}"
