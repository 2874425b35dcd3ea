"""``voicekit simulate``: an offline call from a caller script, in text or (``--voice``)
over a simulated phone line with real audio."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli import _load, config_argument, console, err_console, untrusted
from .errors import PluginError

if TYPE_CHECKING:
    from .deployment import Deployment


@click.command()
@config_argument
@click.option(
    "--script",
    "script_path",
    type=click.Path(path_type=Path),
    help="Caller script (YAML); default: scripts/qualified.yaml, else the first in scripts/.",
)
@click.option(
    "--lead-phone", help="The lead to call, E.164 (+14155550123) or national in [leads] region."
)
@click.option(
    "--report", "report_path", type=click.Path(path_type=Path), help="Write the CallReport as JSON."
)
@click.option(
    "--offline",
    is_flag=True,
    help="Use [models].fallback (the scripted model) even if keys are set.",
)
@click.option(
    "--voice",
    is_flag=True,
    help="Real audio: the caller speaks (Piper), the agent hears through VAD + STT and "
    "answers through TTS, at real-time pace; prints latency per turn. Needs "
    "voicekit-core[local].",
)
@click.option(
    "--save-audio",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --voice: write the call as a two-channel WAV (left caller, right agent).",
)
@click.option(
    "--speed",
    type=click.FloatRange(1.0, 8.0),
    default=1.0,
    show_default=True,
    help="With --voice: run the line this many times faster than real time (latency "
    "figures then no longer match a phone call).",
)
@click.option(
    "--line-rate",
    type=click.Choice(["8000", "16000"]),
    default="16000",
    show_default=True,
    help="With --voice: the line's sample rate in Hz (8000: narrowband telephone audio).",
)
def simulate(
    config: Path,
    script_path: Path | None,
    lead_phone: str | None,
    report_path: Path | None,
    offline: bool,
    voice: bool,
    save_audio: Path | None,
    speed: float,
    line_rate: str,
) -> None:
    """Run an offline call: scripted caller turns through a real AgentSession.

    Inputs are checked before the call is created (nothing is journaled for a call that
    never started): a bad --lead-phone is a usage error, a bad script or leads file exits
    2 naming the file.
    """
    if not voice and (save_audio is not None or speed != 1.0 or line_rate != "16000"):
        raise click.UsageError("--save-audio, --speed and --line-rate go with --voice")
    if save_audio is not None and not save_audio.parent.resolve().is_dir():
        raise click.BadParameter(
            f"{untrusted(save_audio)}: folder {untrusted(save_audio.parent)} does not exist",
            param_hint="--save-audio",
        )
    from .phones import InvalidPhone, parse_deployment_phone
    from .render import print_call
    from .simulate import load_script, run_script

    deployment = _load(config)
    if lead_phone is not None:
        try:
            parse_deployment_phone(lead_phone, deployment.config)
        except InvalidPhone as exc:
            raise click.BadParameter(
                f"{lead_phone[:40]!r}: {exc}", param_hint="--lead-phone"
            ) from None
    if script_path is None:  # scripts/qualified.yaml, else the deployment's first script
        scripts = deployment.config.base_dir / "scripts"
        script_path = scripts / "qualified.yaml"
        if not script_path.exists():
            script_path = next(iter(sorted(scripts.glob("*.yaml"))), script_path)
    script = load_script(script_path)
    for warning in deployment.warnings:
        err_console.print(f"[yellow]warning:[/] {untrusted(warning)}")
    if voice:
        run = _simulate_voice(
            deployment, script, lead_phone, offline, save_audio, speed, int(line_rate)
        )
    else:
        run = asyncio.run(run_script(deployment, script, lead_phone=lead_phone, offline=offline))
    report = run.report
    assert report is not None
    print_call(console, report, deployment)
    if voice:
        from .voice.render import print_summary

        print_summary(console, report.metrics.get("voice", {}))
        recording = report.data.get("recording", {})
        if recording.get("status") == "saved":
            console.print(f"audio written to {untrusted(recording['location'])}")
    if report_path is not None:
        from .files import write_private
        from .redaction import redact

        write_private(report_path, redact(report.model_dump_json(indent=2)))
        console.print(f"report written to {untrusted(report_path)}")
    if run.failure is not None:  # a model failed for good: the call is journaled as failed
        err_console.print(f"call failed: {untrusted(run.failure)}")
        sys.exit(1)
    unmet = script.unmet(report)
    if unmet:
        for problem in unmet:
            err_console.print(f"[red]expectation failed:[/] {untrusted(problem)}")
        sys.exit(1)


def _simulate_voice(
    deployment: Deployment,
    script: Any,
    lead_phone: str | None,
    offline: bool,
    save_audio: Path | None,
    speed: float,
    line_rate: int,
) -> Any:
    """``simulate --voice``: the call over the simulated line, printing each turn."""
    from .builtins.local_models import missing_modules
    from .voice.call import VoiceOptions, run_voice_script
    from .voice.render import print_turn

    missing = missing_modules()
    if missing:
        raise PluginError(
            f"--voice needs the local speech models ({', '.join(missing)} missing): "
            "pip install 'voicekit-core[local]'"
        )
    options = VoiceOptions(speed=speed, line_rate=line_rate, save_audio=save_audio)
    console.print(f"voice call over a simulated {line_rate} Hz line (Ctrl-C ends it)")
    call = asyncio.run(
        run_voice_script(
            deployment,
            script,
            lead_phone=lead_phone,
            offline=offline,
            options=options,
            on_turn=lambda turn: print_turn(console, turn),
        )
    )
    return call.run
