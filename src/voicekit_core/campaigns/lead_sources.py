"""Lead sources: lists of leads that plugins offer through ``register_lead_sources``.

A source is a callable ``source(config, ref) -> Iterable[Lead | SourceItem]`` registered
under a name (``hubspot``, ``salesforce``). ``voicekit campaign create CONFIG --name N
--from-source NAME:REF`` imports from it with the same dedupe, DNC scrub and row report as a
CSV file (:mod:`voicekit_core.campaigns.importer`). ``REF`` says which list: a HubSpot list
id, a Salesforce Campaign id.

Sources stream: the importer reads one item at a time and writes in batches, so a source
must fetch page by page rather than build the whole list first. Items are numbered from 1
in the order the source yields them; the row report names an item by that number and its
``ref`` (``item 12 (contact 5012)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import PluginError, VoicekitError
from ..leads import Lead

if TYPE_CHECKING:
    from ..config import DeploymentConfig
    from ..plugins import VoicekitPluginManager

LeadSourceFunction = Callable[["DeploymentConfig", str], Iterable["Lead | SourceItem"]]


class LeadSourceError(VoicekitError):
    """A lead source could not be read (unknown source, bad ``ref``, refused credentials,
    a CRM outage). Raised from inside the import: the campaign is not created."""


@dataclass(frozen=True)
class SourceItem:
    """One record of a lead source.

    ``ref`` names the record in its system (``"contact 5012"``, ``"CampaignMember
    00v..."``). Exactly one of:

    * ``lead``: a lead to import (``opt_out`` empty), or a lead the source itself says must
      not be called (``opt_out`` = why, e.g. ``"Do Not Call is set in Salesforce"``): it is
      stored ``skipped`` with that reason;
    * ``problem``: why the record is not a lead (no phone, an invalid number); it is
      reported and not stored. ``phone`` is the raw number, if any, for the report.
    """

    ref: str
    lead: Lead | None = None
    problem: str = ""
    phone: str = ""
    opt_out: str = ""

    def __post_init__(self) -> None:
        if (self.lead is None) == (not self.problem):
            raise ValueError("a SourceItem has either a lead or a problem")


@dataclass(frozen=True)
class RegisteredSource:
    """A source as registered: its ``name``, the ``plugin`` that registered it, the
    callable and a one-line ``description``."""

    name: str
    plugin: str
    function: LeadSourceFunction
    description: str = ""


def lead_sources(pm: VoicekitPluginManager) -> dict[str, RegisteredSource]:
    """Every source the deployment's plugins register, by name.

    Raises :class:`PluginError` when two plugins register one name, or a registration is
    not ``register(name: str, source: callable, *, description="")``.
    """
    found: dict[str, RegisteredSource] = {}
    for plugin, registrations in pm.collect("register_lead_sources"):
        for args, kwargs in registrations:
            source = _registered(plugin, args, kwargs)
            other = found.get(source.name)
            if other is not None:
                raise PluginError(
                    f"lead source {source.name!r} is registered by both {other.plugin!r} "
                    f"and {plugin!r}; disable one of them"
                )
            found[source.name] = source
    return found


def _registered(plugin: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RegisteredSource:
    if len(args) != 2 or set(kwargs) - {"description"}:
        raise PluginError(
            f"plugin {plugin!r}: register_lead_sources must call register(name, source, "
            f"*, description=''), got {len(args)} positional argument(s)"
            + (f" and {', '.join(sorted(kwargs))}" if kwargs else "")
        )
    name, function = args
    if not isinstance(name, str) or not name or ":" in name:
        raise PluginError(
            f"plugin {plugin!r}: a lead source name is a non-empty text without ':', got {name!r}"
        )
    if not callable(function):
        raise PluginError(f"plugin {plugin!r}: lead source {name!r} is not callable")
    return RegisteredSource(name, plugin, function, str(kwargs.get("description", "")))


def parse_source_spec(spec: str) -> tuple[str, str]:
    """``"hubspot:1234"`` -> ``("hubspot", "1234")``; ``"hubspot"`` -> ``("hubspot", "")``.
    Raises :class:`LeadSourceError` for an empty name."""
    name, _, ref = spec.partition(":")
    name, ref = name.strip(), ref.strip()
    if not name:
        raise LeadSourceError(f"--from-source {spec!r}: give a source name, e.g. hubspot:LIST_ID")
    return name, ref


def open_source(
    pm: VoicekitPluginManager, config: DeploymentConfig, spec: str
) -> tuple[str, Iterator[Lead | SourceItem]]:
    """The source named in ``spec`` (``NAME[:REF]``) as ``(label, items)``; ``label`` is
    ``spec`` normalised (stored as the campaign's source). Nothing is fetched until
    ``items`` is iterated.

    Raises :class:`LeadSourceError` for an unknown name (listing the known ones).
    """
    name, ref = parse_source_spec(spec)
    sources = lead_sources(pm)
    source = sources.get(name)
    if source is None:
        known = ", ".join(sorted(sources)) or "none (enable a plugin that offers one)"
        raise LeadSourceError(f"--from-source: no lead source named {name!r}; known: {known}")
    label = f"{name}:{ref}" if ref else name

    def items() -> Iterator[Lead | SourceItem]:
        result = source.function(config, ref)
        for item in result:
            if not isinstance(item, (Lead, SourceItem)):
                raise LeadSourceError(
                    f"lead source {name!r} (plugin {source.plugin!r}) yielded a "
                    f"{type(item).__name__}, not a Lead or SourceItem"
                )
            yield item

    return label, items()
