"""The base of every request body the API accepts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from modeldeck.wire.text import check_tree, stamp


def _stamp_model(schema: dict[str, Any], cls: type) -> None:
    stamp(schema)


class StrictIn(BaseModel):
    """Unknown fields are refused and JSON types must be as declared: 0 is no bool and "7" no
    int, so a wrong type is a 422 that names it rather than a guess. No string of the body,
    however deep, may hold a control character or a lone surrogate
    (:mod:`modeldeck.wire.text`); the schema says so with a pattern on each string."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_stamp_model)

    @model_validator(mode="before")
    @classmethod
    def _no_bad_text(cls, data: Any) -> Any:
        if isinstance(data, dict):
            check_tree(data)
        return data
