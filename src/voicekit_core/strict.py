"""The base of every table of the deployment file: unknown keys are errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for config tables: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
