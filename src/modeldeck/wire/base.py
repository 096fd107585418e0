"""The base of every request body the API accepts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictIn(BaseModel):
    """Unknown fields are refused and JSON types must be as declared: 0 is no bool and "7" no
    int, so a wrong type is a 422 that names it rather than a guess."""

    model_config = ConfigDict(extra="forbid", strict=True)
