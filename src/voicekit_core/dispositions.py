"""The outcomes one deployment knows: voicekit's built-ins plus those its ``[dispositions]``
table and its plugins declare, each with a label and whether it counts as a success.

Deployment file::

    [dispositions]
    ticket_created = { label = "Ticket created", success = true }
    emergency_escalated = { label = "Emergency escalated", success = true }
    faq_answered = { label = "Question answered", success = true, description = "..." }
    transferred = { success = true }     # a built-in, relabelled or counted as a success

A plugin declares its own with the ``register_dispositions`` hook
(``register("ticket_created", label="Ticket created", success=True)``); the deployment
file wins over a plugin for the same name. Names are lowercase snake_case, at most 40
characters (:data:`voicekit_core.calls.DISPOSITION_NAME`).

Loading a deployment builds its :class:`DispositionCatalog` (``deployment.dispositions``)
and checks every key of the file that names an outcome: ``dialer.retry.delays.*``,
``dialer.retry.never_retry``, ``dialer.pacing.breaker.failure_dispositions``,
``agent.end_call_dispositions`` and any ``[flow]`` key ending in ``disposition`` or
``dispositions``. An unknown name is a ``voicekit check`` error naming the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from .calls import DISPOSITION_NAME, Disposition
from .errors import Problem
from .strict import StrictModel

if TYPE_CHECKING:
    from .config import DeploymentConfig
    from .plugins import VoicekitPluginManager

#: Outcomes the model may pass to ``end_call`` unless ``[agent] end_call_dispositions``
#: says otherwise (declared outcomes are added to these).
MODEL_DISPOSITIONS: tuple[str, ...] = (
    "not_interested",
    "wrong_number",
    "do_not_call",
    "callback_requested",
    "voicemail",
    "completed",
)

_BUILTIN_LABELS: dict[Disposition, str] = {
    Disposition.MEETING_BOOKED: "Meeting booked",
    Disposition.QUALIFIED: "Qualified",
    Disposition.NURTURE: "Nurture",
    Disposition.DISQUALIFIED: "Disqualified",
    Disposition.NOT_INTERESTED: "Not interested",
    Disposition.WRONG_NUMBER: "Wrong number",
    Disposition.TRANSFERRED: "Transferred",
    Disposition.MESSAGE_TAKEN: "Message taken",
    Disposition.CALLBACK_REQUESTED: "Callback requested",
    Disposition.VOICEMAIL: "Voicemail",
    Disposition.DNC: "Do not call",
    Disposition.BUSY: "Busy",
    Disposition.NO_ANSWER: "No answer",
    Disposition.DECLINED: "Declined",
    Disposition.INVALID_NUMBER: "Invalid number",
    Disposition.VETOED: "Vetoed",
    Disposition.FAILED: "Failed",
    Disposition.COMPLETED: "Completed",
}
_BUILTIN_SUCCESS = frozenset({Disposition.MEETING_BOOKED, Disposition.QUALIFIED})


class DispositionDecl(StrictModel):
    """One ``[dispositions].NAME`` entry."""

    label: str = Field(default="", max_length=80, description="shown in reports; default: NAME")
    success: bool = Field(default=False, description="counts as a success in voicekit report")
    description: str = Field(
        default="", max_length=300, description="when to use it (shown to the model by end_call)"
    )


@dataclass(frozen=True)
class DispositionInfo:
    """One outcome: ``name`` (snake_case), ``label`` (for people), ``success`` (counted as a
    success by ``voicekit report``), ``description`` (when to use it; the model reads it in
    ``end_call``) and ``source``: ``"voicekit"`` (built-in), ``"deployment"`` (the file)
    or the name of the plugin that declared it."""

    name: str
    label: str
    success: bool = False
    description: str = ""
    source: str = "voicekit"

    @property
    def builtin(self) -> bool:
        """Whether ``name`` is one of voicekit's built-in outcomes."""
        return Disposition.is_builtin(self.name)


def default_label(name: str) -> str:
    """``ticket_created`` -> ``Ticket created``."""
    return name.replace("_", " ").capitalize()


class DispositionCatalog:
    """The outcomes of one deployment, built-ins first, then declared ones in order.

    ``name in catalog`` (a string or a :class:`~voicekit_core.calls.Disposition`),
    iteration (:class:`DispositionInfo`), :meth:`get`, :meth:`label`, :meth:`is_success`.
    """

    def __init__(self, declared: Iterable[DispositionInfo] = ()):
        self._infos: dict[str, DispositionInfo] = {
            d.value: DispositionInfo(
                d.value, _BUILTIN_LABELS.get(d, default_label(d.value)), d in _BUILTIN_SUCCESS
            )
            for d in Disposition
        }
        for info in declared:
            self._infos[info.name] = info

    def __contains__(self, name: object) -> bool:
        return _text(name) in self._infos

    def __iter__(self) -> Iterator[DispositionInfo]:
        return iter(self._infos.values())

    def __len__(self) -> int:
        return len(self._infos)

    def get(self, name: str | Disposition) -> DispositionInfo | None:
        """The outcome called ``name``, or None."""
        return self._infos.get(_text(name))

    def names(self) -> list[str]:
        """Every name, built-ins first."""
        return list(self._infos)

    def custom(self) -> list[DispositionInfo]:
        """The declared outcomes that are not built-ins, in declaration order."""
        return [info for info in self._infos.values() if not info.builtin]

    def label(self, name: str | Disposition) -> str:
        """The label of ``name`` (the name itself when unknown, e.g. an old journal row)."""
        info = self.get(name)
        return info.label if info else _text(name)

    def is_success(self, name: str | Disposition) -> bool:
        """Whether ``name`` counts as a success (False when unknown)."""
        info = self.get(name)
        return bool(info and info.success)

    def require(self, name: str | Disposition) -> Disposition:
        """``name`` as a Disposition. Raises ``ValueError`` naming it and the declared
        outcomes when this deployment does not know it."""
        text = _text(name)
        if text not in self._infos:
            custom = ", ".join(info.name for info in self.custom()) or "none"
            raise ValueError(
                f"unknown disposition {text[:60]!r}: declare it in [dispositions] "
                f"(declared: {custom}; built-in: {', '.join(d.value for d in Disposition)})"
            )
        return Disposition.read(text)

    def model_choices(self, configured: list[str] | None = None) -> list[DispositionInfo]:
        """What ``end_call`` accepts: ``configured`` (``[agent] end_call_dispositions``)
        when given, else :data:`MODEL_DISPOSITIONS` plus every declared outcome. Unknown
        names are left out (``voicekit check`` reports them)."""
        names = (
            list(configured)
            if configured is not None
            else [*MODEL_DISPOSITIONS, *(i.name for i in self.custom())]
        )
        return [self._infos[n] for n in dict.fromkeys(names) if n in self._infos]


def _text(name: object) -> str:
    return name.value if isinstance(name, Disposition) else str(name)


def build_catalog(
    config: DeploymentConfig, pm: VoicekitPluginManager
) -> tuple[DispositionCatalog, list[Problem]]:
    """The deployment's catalog from plugins (``register_dispositions``, in plugin order)
    and ``[dispositions]`` (which wins). Declares every name in the process
    (:meth:`Disposition.declare`). Problems: a plugin registering a malformed name, or two
    plugins declaring one name differently when the file does not settle it."""
    file = str(config.source_of("plugins.enable"))
    problems: list[Problem] = []
    declared: dict[str, DispositionInfo] = {}
    for plugin, calls in pm.collect("register_dispositions"):
        for args, kwargs in calls:
            name = args[0] if args else kwargs.get("name", "")
            if not isinstance(name, str) or not DISPOSITION_NAME.fullmatch(name):
                problems.append(
                    Problem(
                        file,
                        "plugins.enable",
                        repr(name)[:60],
                        f"plugin {plugin!r} registers a disposition with a malformed name: "
                        "use lowercase snake_case, at most 40 characters",
                    )
                )
                continue
            info = DispositionInfo(
                name=name,
                label=str(kwargs.get("label") or default_label(name)),
                success=bool(kwargs.get("success", False)),
                description=str(kwargs.get("description") or ""),
                source=plugin,
            )
            other = declared.get(name)
            if (
                other is not None
                and (other.label, other.success) != (info.label, info.success)
                and name not in config.dispositions
            ):
                problems.append(
                    Problem(
                        file,
                        "plugins.enable",
                        name,
                        f"plugins {other.source!r} and {plugin!r} declare this disposition "
                        f"differently; settle it in [dispositions]: {name} = "
                        "{ label = ..., success = ... }",
                    )
                )
                continue
            declared.setdefault(name, info)
    builtins = DispositionCatalog()
    for name, decl in config.dispositions.items():
        base = declared.get(name) or builtins.get(name)
        given = decl.model_fields_set
        declared[name] = DispositionInfo(
            name=name,
            label=decl.label or (base.label if base else default_label(name)),
            success=decl.success if "success" in given or base is None else base.success,
            description=decl.description or (base.description if base else ""),
            source="deployment",
        )
    for name in declared:
        Disposition.declare(name)
    return DispositionCatalog(declared.values()), problems


def named_dispositions(config: DeploymentConfig) -> list[tuple[str, str]]:
    """``(dotted key, name)`` for every place of the deployment file that names an
    outcome (see the module docstring)."""
    found: list[tuple[str, str]] = []
    retry = config.dialer.retry
    found += [(f"dialer.retry.delays.{_text(n)}", _text(n)) for n in retry.delays]
    found += [("dialer.retry.never_retry", n) for n in sorted(_text(n) for n in retry.never_retry)]
    for name in sorted(_text(n) for n in config.dialer.pacing.breaker.failure_dispositions):
        found.append(("dialer.pacing.breaker.failure_dispositions", name))
    for index, name in enumerate(config.agent.end_call_dispositions or []):
        found.append((f"agent.end_call_dispositions[{index}]", name))
    found += _flow_names(config.flow.model_dump(mode="json"), "flow")
    return found


def _flow_names(node: Any, dotted: str) -> list[tuple[str, str]]:
    """Names under ``[flow]`` keys ending in ``disposition`` (a string) or
    ``dispositions`` (a list, or a table keyed by name), at any depth."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{dotted}.{key}"
            if key.endswith("disposition") and isinstance(value, str) and value:
                found.append((where, value))
            elif key.endswith("dispositions") and isinstance(value, list):
                found += [(f"{where}[{i}]", str(v)) for i, v in enumerate(value)]
            elif key.endswith("dispositions") and isinstance(value, dict):
                found += [(f"{where}.{k}", str(k)) for k in value]
            else:
                found += _flow_names(value, where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _flow_names(value, f"{dotted}[{index}]")
    return found


def disposition_problems(config: DeploymentConfig, catalog: DispositionCatalog) -> list[Problem]:
    """One problem per key of the deployment file naming an outcome ``catalog`` does not
    know, e.g. ``dialer.retry.delays.tickt_created = 'tickt_created': unknown disposition:
    declare it in [dispositions] (declared: ticket_created; built-in: ...)``."""
    file = str(config.path)
    problems = []
    for dotted, name in named_dispositions(config):
        if name in catalog:
            continue
        try:
            catalog.require(name)
        except ValueError as exc:
            reason = str(exc).split(": ", 1)[1]
            problems.append(
                Problem(file, dotted, repr(name)[:60], f"unknown disposition: {reason}")
            )
    return problems


__all__ = [
    "MODEL_DISPOSITIONS",
    "DispositionCatalog",
    "DispositionDecl",
    "DispositionInfo",
    "build_catalog",
    "default_label",
    "disposition_problems",
    "named_dispositions",
]
