"""Where a deployment's record schema comes from: the ``[extraction]`` table of the
deployment file, or a pydantic model a plugin names with ``register_extraction``
(:func:`load_schema`, called when the deployment loads; :func:`schema_from_model`).
"""

from __future__ import annotations

import enum
import re
import typing
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from .errors import Problem
from .extraction import ExtractionSchema, FieldSpec, check_field_name

if TYPE_CHECKING:
    from .config import DeploymentConfig
    from .plugins import VoicekitPluginManager


def schema_from_model(
    model: type[BaseModel], *, name: str = "", description: str = "", source: str = ""
) -> ExtractionSchema:
    """:meth:`ExtractionSchema.from_model <voicekit_core.extraction.ExtractionSchema.from_model>`:
    the schema of a pydantic model. Raises ``ValueError`` naming a field whose type has no
    extraction type."""
    fields = []
    for field_name, info in model.model_fields.items():
        check_field_name(field_name)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        kind, values = _annotation_type(info.annotation, field_name)
        override = extra.get("voicekit_type")
        if override is not None:
            if override not in ("phone", "email") or kind != "string":
                raise ValueError(
                    f"{field_name}: voicekit_type {override!r} applies to str fields and is "
                    "'phone' or 'email'"
                )
            kind = str(override)
        limits = _limits(info.metadata)
        fields.append(
            FieldSpec(
                name=field_name,
                type=kind,
                description=info.description or "",
                required=info.is_required(),
                values=values,
                max_length=limits.get("max_length") if kind == "string" else None,
                minimum=limits.get("minimum"),
                maximum=limits.get("maximum"),
                confirm=bool(extra.get("confirm", False)),
            )
        )
    doc = " ".join((model.__doc__ or "").split())
    return ExtractionSchema(
        name=name or _snake(model.__name__),
        description=description or doc,
        fields=tuple(fields),
        source=source or model.__module__,
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _annotation_type(annotation: Any, name: str) -> tuple[str, tuple[str, ...]]:
    """``(extraction type, enum values)`` of a pydantic field annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _annotation_type(args[0], name)
    if origin is Literal:
        return "enum", tuple(str(a) for a in typing.get_args(annotation))
    if origin is not None and len(args) == 1 and type(None) in typing.get_args(annotation):
        return _annotation_type(args[0], name)  # Optional[X] / X | None
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return "enum", tuple(str(m.value) for m in annotation)
        if issubclass(annotation, bool):
            return "boolean", ()
        if issubclass(annotation, int):
            return "integer", ()
        if issubclass(annotation, float):
            return "number", ()
        if issubclass(annotation, datetime):
            raise ValueError(f"{name}: datetime fields are not supported; use datetime.date")
        if issubclass(annotation, date):
            return "date", ()
        if issubclass(annotation, str):
            return ("email" if annotation.__name__ == "EmailStr" else "string"), ()
    raise ValueError(
        f"{name}: {annotation!r} has no extraction type (use str, int, float, bool, "
        "datetime.date, Literal[...] or an Enum)"
    )


def _limits(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if getattr(item, "max_length", None) is not None:
            found["max_length"] = item.max_length
        for attr, key in (
            ("ge", "minimum"),
            ("gt", "minimum"),
            ("le", "maximum"),
            ("lt", "maximum"),
        ):
            if getattr(item, attr, None) is not None:
                found[key] = getattr(item, attr)
    return found


def load_schema(
    config: DeploymentConfig, pm: VoicekitPluginManager
) -> tuple[ExtractionSchema | None, list[Problem]]:
    """The deployment's schema: ``[extraction]`` fields, or the pydantic model one plugin
    registers with ``register_extraction`` (then ``[extraction]`` may still set ``name``,
    ``description`` and the post-call options). Problems: two plugins registering a model,
    a model and ``[extraction.fields]`` both, a model a field of which has no extraction
    type, an ``[extraction]`` table without fields."""
    file = str(config.path)
    section = config.extraction
    models: list[tuple[str, Any, dict[str, Any]]] = []
    for plugin, calls in pm.collect("register_extraction"):
        models += [(plugin, args[0] if args else kw.get("model"), kw) for args, kw in calls]
    if len(models) > 1:
        names = ", ".join(repr(p) for p, _, _ in models)
        return None, [
            Problem(
                file,
                "plugins.enable",
                "",
                f"plugins {names} each register an extraction model; enable one",
            )
        ]
    if not models:
        if section is None:
            return None, []
        if not section.fields:
            return None, [
                Problem(
                    file,
                    "extraction.fields",
                    "",
                    "declare at least one field ([extraction.fields.NAME] with a type)",
                )
            ]
        return ExtractionSchema.from_section(section), []
    plugin, model, options = models[0]
    if section is not None and section.fields:
        return None, [
            Problem(
                file,
                "extraction.fields",
                "",
                f"plugin {plugin!r} registers the record model; remove [extraction.fields] or that plugin",
            )
        ]
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None, [
            Problem(
                file,
                "plugins.enable",
                repr(model)[:60],
                f"plugin {plugin!r}: register_extraction takes a pydantic model class",
            )
        ]
    try:
        schema = ExtractionSchema.from_model(
            model,
            name=(
                section.name
                if section and "name" in section.model_fields_set
                else options.get("name", "")
            ),
            description=(
                section.description
                if section and section.description
                else options.get("description", "")
            ),
            source=plugin,
        )
    except ValueError as exc:
        return None, [Problem(file, "plugins.enable", model.__name__, f"plugin {plugin!r}: {exc}")]
    if section is not None:
        schema = ExtractionSchema(
            schema.name,
            schema.description,
            schema.fields,
            section.fill_after_call,
            section.fill_timeout_seconds,
            plugin,
        )
    return schema, []


__all__ = ["load_schema", "schema_from_model"]
