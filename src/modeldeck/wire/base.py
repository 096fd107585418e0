"""The base of every request body the API accepts."""

from __future__ import annotations

from functools import cache
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
            schema = _schema_of(cls)
            data = integral(data, schema, schema.get("$defs", {}))
        return data


def conditions(*rules: dict[str, Any]) -> ConfigDict:
    """The ``model_config`` of a :class:`StrictIn` whose fields constrain each other, stated in
    its schema as JSON Schema conditions (``{"if": ..., "then": ...}``), which no field's
    type can say; the service checks them."""

    def extra(schema: dict[str, Any], cls: type) -> None:
        _stamp_model(schema, cls)
        schema["allOf"] = [*schema.get("allOf", []), *rules]

    return ConfigDict(json_schema_extra=extra)


@cache
def _schema_of(cls: type[BaseModel]) -> dict[str, Any]:
    return cls.model_json_schema()


def integral(value: Any, schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """``value`` with every float that JSON Schema counts as an integer (``2.0``) made an int
    where the schema says integer: the document and the validation agree, strict as it is."""
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    choices = schema.get("anyOf") or schema.get("oneOf")
    if choices:
        if isinstance(value, float):
            kinds = {c.get("type") for c in choices}
            return (
                int(value)
                if value.is_integer() and "integer" in kinds and "number" not in kinds
                else value
            )
        for choice in choices:
            if "$ref" in choice or choice.get("type") in ("array", "object"):
                value = integral(value, choice, defs)
        return value
    kind = schema.get("type")
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "array" and isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [integral(item, schema["items"], defs) for item in value]
    if kind == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        out = {}
        for key, item in value.items():
            child = properties.get(key, extra if isinstance(extra, dict) else None)
            out[key] = item if child is None else integral(item, child, defs)
        return out
    return value
