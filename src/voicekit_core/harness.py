"""The plugin author's test harness, usable with or without pytest.

:class:`Harness` registers in-memory plugins, writes a deployment to a folder, loads it
and runs text calls through a real livekit ``AgentSession``. The pytest plugin
:mod:`voicekit_core.testing` hands one out as the ``voicekit`` fixture; elsewhere (a demo
script, another test runner) build it with a folder of your own::

    harness = Harness(Path(tempfile.mkdtemp()))
    harness.register(my_plugin, name="orders")
    deployment = harness.load()
    async with harness.call(deployment, llm=ScriptedLLM(replies("Hello!"))) as run:
        await run.user_says("Hi")
    run.report            # the CallReport, journaled and post-call delivered

A ``post_call`` delivery that fails makes :meth:`Harness.call` raise
:class:`DeliveryFailed` when the call ends (``strict_deliveries=False`` to allow it).
Importing this module imports neither pytest nor livekit.
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .deployment import Deployment, load_deployment

if TYPE_CHECKING:
    from .calls import CallReport, DeliveryRecord
    from .runner import CallRun

#: A deployment with no plugins and one lead; ``Harness.write()`` starts from it.
MINIMAL_CONFIG = """\
[agent]
name = "test-agent"
instructions = "You are a test agent talking to {lead.name}."
greeting = "Hello {lead.first_name}!"

[leads]
path = "leads.csv"
"""

#: The one lead of :data:`MINIMAL_CONFIG`: Ada Lovelace, ``+14155550123``, New York.
MINIMAL_LEADS = """\
prospect_name,company_name,job_title,phone,email,timezone,resource_name
Ada Lovelace,Analytical Engines,CTO,+14155550123,ada@example.com,America/New_York,rep
"""

TEST_PHONE = "+14155550123"


class DeliveryFailed(AssertionError):
    """A call's ``post_call`` delivery failed (raised by :meth:`Harness.call` when the call
    ends). ``report`` is the call's report, ``failed`` the failed delivery records."""

    def __init__(self, report: CallReport, failed: list[DeliveryRecord]):
        self.report = report
        self.failed = failed
        lines = [f"{d.plugin}: {d.status} after {d.attempts} attempt(s): {d.error}" for d in failed]
        super().__init__(
            f"post_call delivery failed for call {report.call_id}:\n  "
            + "\n  ".join(lines)
            + "\n(pass strict_deliveries=False to voicekit.call() to allow this)"
        )


def _call_id(target: Any) -> str:
    if isinstance(target, str):
        return target
    report = getattr(target, "report", target)  # a CallRun or a CallReport
    call_id = getattr(report, "call_id", None)
    if not call_id:
        raise TypeError(f"expected a call id, a CallReport or a finished call, got {target!r}")
    return call_id


class Harness:
    """Build deployments and run calls in tests. See the module docstring.

    :param tmp_path: the folder deployments are written to.
    :param strict_deliveries: the default of :meth:`call`'s ``strict_deliveries``: a failed
        ``post_call`` delivery fails the call (set ``False`` for a whole test).
    """

    def __init__(self, tmp_path: Path, *, strict_deliveries: bool = True):
        self.tmp_path = tmp_path
        self.plugins: list[tuple[str, object]] = []
        self.strict_deliveries = strict_deliveries
        self.deployments: list[Deployment] = []

    def register(self, plugin: object, name: str | None = None) -> None:
        """Add ``plugin`` (a module or an object with ``@hookimpl`` methods) to every
        deployment this harness loads, under ``name`` (the ``[plugins.NAME]`` table)."""
        self.plugins.append((name or getattr(plugin, "__name__", type(plugin).__name__), plugin))

    def unregister(self, name: str) -> None:
        """Stop adding plugin ``name`` to deployments loaded from now on."""
        self.plugins = [(n, p) for n, p in self.plugins if n != name]

    def write(
        self,
        config: str = MINIMAL_CONFIG,
        *,
        files: dict[str, str] | None = None,
        folder: str = "deployment",
    ) -> Path:
        """Write ``voicekit.toml`` (plus a one-lead ``leads.csv`` and ``files``, ``{relative
        path: text}``) to ``folder`` under the harness's folder; returns the file's path."""
        root = self.tmp_path / folder
        root.mkdir(parents=True, exist_ok=True)
        (root / "voicekit.toml").write_text(textwrap.dedent(config), encoding="utf-8")
        all_files = {"leads.csv": MINIMAL_LEADS, **(files or {})}
        for name, text in all_files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text), encoding="utf-8")
        return root / "voicekit.toml"

    def load(
        self, path: Path | str | None = None, *, environ: dict[str, str] | None = None
    ) -> Deployment:
        """Load a deployment (default: a fresh :data:`MINIMAL_CONFIG`) with the registered
        plugins. ``environ`` replaces ``os.environ`` for ``${VAR}`` interpolation.
        Raises :class:`~voicekit_core.errors.ConfigError` as ``voicekit check`` would."""
        deployment = load_deployment(
            path or self.write(), extra_plugins=self.plugins, environ=environ
        )
        self.deployments.append(deployment)
        return deployment

    @asynccontextmanager
    async def call(
        self,
        deployment: Deployment,
        phone: str = TEST_PHONE,
        *,
        strict_deliveries: bool | None = None,
        **options: Any,
    ) -> AsyncIterator[CallRun]:
        """A started text-mode call (see :func:`voicekit_core.runner.open_call`: ``llm=``,
        ``direction=``, ``lead=``...); ``greet`` defaults to False here so scripted replies
        line up with caller turns.

        On exit the call is journaled and delivered: ``run.report`` is the
        :class:`~voicekit_core.calls.CallReport` and ``run.report.post_call`` its
        :class:`~voicekit_core.calls.DeliveryRecord` s. Raises :class:`DeliveryFailed` if a
        delivery failed, unless ``strict_deliveries`` is False (default: the harness's).
        """
        from .runner import open_call

        options.setdefault("greet", False)
        async with open_call(deployment, phone, **options) as run:
            yield run
        strict = self.strict_deliveries if strict_deliveries is None else strict_deliveries
        report = run.report
        if strict and report is not None:
            failed = [d for d in report.post_call if d.status != "delivered"]
            if failed:
                raise DeliveryFailed(report, failed)

    def _deployment(self, target: Any, deployment: Deployment | None) -> Deployment:
        if deployment is not None:
            return deployment
        found = getattr(getattr(target, "call", None), "deployment", None)  # a CallRun
        if found is not None:
            return found
        if not self.deployments:
            raise ValueError("no deployment loaded yet: pass deployment=")
        return self.deployments[-1]

    def deliveries(
        self, call: Any, *, deployment: Deployment | None = None
    ) -> list[DeliveryRecord]:
        """The journal's delivery records of ``call`` (a finished run, a report or a call
        id), one per ``post_call`` plugin, as they are now."""
        return self._deployment(call, deployment).journal.deliveries(_call_id(call))

    async def retry_deliveries(
        self,
        call: Any = None,
        *,
        deployment: Deployment | None = None,
        attempts: int = 1,
    ) -> list[DeliveryRecord]:
        """Re-run the failed (or pending) ``post_call`` deliveries, as ``voicekit journal
        retry`` does: of ``call`` (a finished run, a report or a call id), or of every call
        of ``deployment`` (default: the last one loaded) when ``call`` is None. Each is
        tried ``attempts`` times with no backoff; the plugin's ``delivery`` state keeps
        what earlier attempts saved. Returns the delivery records of the calls retried,
        as they are afterwards; never raises for a delivery that fails again."""
        from .delivery import retry_undelivered

        target = self._deployment(call, deployment)
        call_ids = [_call_id(call)] if call is not None else None
        outcomes = await retry_undelivered(
            target, attempts=attempts, backoff_seconds=0, call_ids=call_ids
        )
        wanted = call_ids or sorted({call_id for call_id, _, _ in outcomes})
        return [record for cid in wanted for record in target.journal.deliveries(cid)]


__all__ = [
    "MINIMAL_CONFIG",
    "MINIMAL_LEADS",
    "TEST_PHONE",
    "DeliveryFailed",
    "Harness",
]
