"""Text the API accepts: no control characters and no lone UTF-16 surrogates, anywhere.

JSON can carry ``"\\u0000"`` or a lone ``"\\ud800"``; PostgreSQL refuses the first in text
and cannot encode the second, a terminal or a log line is at the mercy of the rest. So every
string a request brings (a field, a dict key, a path or query parameter) is refused with 422
if it holds one: C0 and C1 control characters, DEL, and lone surrogates; tab, newline and
carriage return pass (free text has them).

:data:`Text` is the type to annotate a parameter with; :class:`~modeldeck.wire.base.StrictIn`
applies the same check to every string of a body, and :func:`stamp` writes :data:`PATTERN`
into the OpenAPI schema of every string that has no pattern of its own, so the document says
what the server refuses.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

FORBIDDEN = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
# spelled with escapes so the OpenAPI document stays ASCII (ECMA 262, Rust and Python read it).
# Lone surrogates are refused too, but no pattern can say so to every reader: Rust's regex (the
# validators of jsonschema-rs, schemathesis) cannot name a surrogate, and valid UTF-8 cannot
# carry one; only a JSON "\ud800" escape can, and :data:`NO_SURROGATES` documents it.
PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
NO_SURROGATES = (
    "Every string (field, key, path or query parameter): control characters other than tab, "
    "newline and carriage return, and lone UTF-16 surrogates, are refused with 422."
)
_BAD = re.compile(f"[{FORBIDDEN}]")


def bad_character(value: str) -> str | None:
    """A description of the first forbidden character of ``value``, or None."""
    found = _BAD.search(value)
    if found is None:
        return None
    char = found.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"{kind} (U+{ord(char):04X}) at position {found.start()}"


def check_text(value: str) -> str:
    problem = bad_character(value)
    if problem is not None:
        raise ValueError(f"text must not contain {problem}")
    return value


def check_tree(value: Any, where: str = "") -> None:
    """:func:`check_text` on every string of decoded JSON, dict keys included."""
    if isinstance(value, str):
        problem = bad_character(value)
        if problem is not None:
            raise ValueError(f"{where or 'text'} must not contain {problem}")
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            check_tree(key, f"a key of {where or 'the body'}")
            check_tree(item, path)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_tree(item, f"{where}[{i}]")


Text = Annotated[str, AfterValidator(check_text), Field(json_schema_extra={"pattern": PATTERN})]


# What core.validation.check_key accepts (metric, param and tag keys, idempotency keys): key
# characters, not starting with "/" and with no ".." segment; it answers 400 itself, this
# states the rule in the document. No lookahead, which not every regex dialect has: a segment
# is any run of key characters but "..".
_C, _D = r"[A-Za-z0-9_\-. :]", r"[A-Za-z0-9_\- :]"  # a key character; one but "."
_CN, _DN = r"[A-Za-z0-9_\-.:]", r"[A-Za-z0-9_\-:]"  # the same, no space
_SEGMENT = rf"(?:{_C}?|{_C}{{3,}}|{_D}{_C}|\.{_D})"
_FIRST = rf"(?:{_C}|{_C}{{3,}}|{_D}{_C}|\.{_D})"  # not empty: no "/" first
KEY_PATTERN = rf"^{_FIRST}(?:/{_SEGMENT})*$"
# An HTTP header loses the spaces and tabs at its ends, so a header key is one whose inside,
# trimmed, is a key: its first and last characters no space.
_ALONE = rf"(?:{_CN}|{_CN}{_C}+{_CN}|{_DN}{_CN}|\.{_DN})"  # one segment, trimmed both ends
_OPENING = rf"(?:{_CN}|{_CN}{_C}{{2,}}|{_DN}{_C}|\.{_D})"  # the first of several, trimmed left
_CLOSING = rf"(?:{_CN}?|{_C}{{2,}}{_CN}|{_D}{_CN}|\.{_DN})"  # the last, trimmed right
HEADER_KEY_PATTERN = rf"^[ \t]*(?:{_ALONE}|{_OPENING}(?:/{_SEGMENT})*/{_CLOSING})[ \t]*$"
KEY_SCHEMA = {"minLength": 1, "maxLength": 250, "pattern": KEY_PATTERN}
Key = Annotated[str, Field(json_schema_extra=KEY_SCHEMA)]

# What core.validation.check_name accepts (experiment, run, dataset and model names): no
# control character at all, not even a tab, and something besides whitespace (``str.strip``'s,
# spelled out so every regex dialect reads the same set); it answers 400 itself.
_LINE = r"[^\x00-\x1f\x7f-\x9f]"
_VISIBLE = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
NAME_PATTERN = f"^{_LINE}*{_VISIBLE}{_LINE}*$"


def named(max_length: int = 250) -> Any:
    """The field of a name up to ``max_length`` characters: ``Annotated[str, named(1000)]``.
    Its length is checked here (422), its characters by the service (400)."""
    return Field(min_length=1, max_length=max_length, json_schema_extra={"pattern": NAME_PATTERN})


Name = Annotated[str, named()]


# Free-form JSON (``dict[str, Any]``: evidence, profiles, prediction inputs) is refused with the
# same characters anywhere inside; the document names it by this schema rather than by ``{}``.
# A model's schema marks the place (pydantic follows every "$ref" it meets, and knows no
# components); :func:`link_json` turns the marks into references in the OpenAPI document.
JSON_TEXT = "JsonText"
JSON_REF = f"#/components/schemas/{JSON_TEXT}"
_JSON_MARK = "x-modeldeck-json-text"
JSON_TEXT_SCHEMA: dict[str, Any] = {
    "title": JSON_TEXT,
    "description": "Any JSON value whose strings, keys included, hold no control character.",
    "anyOf": [
        {"type": "string", "pattern": PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": JSON_REF}},
        {
            "type": "object",
            "additionalProperties": {"$ref": JSON_REF},
            "propertyNames": {"pattern": PATTERN},
        },
    ],
}


def stamp(schema: Any) -> None:
    """Give every string schema under ``schema`` without a pattern or an enum :data:`PATTERN`,
    every map its key pattern (``propertyNames``) and every free-form map :data:`JSON_REF`;
    ``$ref`` targets are stamped where they are defined."""
    if isinstance(schema, list):
        for item in schema:
            stamp(item)
        return
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    plain = not {"pattern", "enum", "const"} & schema.keys()
    if schema.get("type") == "string" and plain and schema.get("format") not in ("binary", "byte"):
        schema["pattern"] = PATTERN
    if schema.get("type") == "object":
        _keys_by_name(schema)
        if schema.get("additionalProperties") is True:
            schema["additionalProperties"] = {_JSON_MARK: True}
        if isinstance(schema.get("additionalProperties"), dict):
            schema.setdefault("propertyNames", {}).setdefault("pattern", PATTERN)
    for key in ("properties", "patternProperties", "$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            for child in schema[key].values():
                stamp(child)
    for key in ("items", "additionalProperties", "not"):
        if key in schema:
            stamp(schema[key])
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if key in schema:
            stamp(schema[key])


def link_json(document: Any) -> None:
    """Replace every free-form JSON mark :func:`stamp` left in an OpenAPI ``document`` with a
    reference to :data:`JSON_TEXT_SCHEMA`, which it adds to the document's components."""

    def link(node: Any) -> Any:
        if isinstance(node, dict):
            if node == {_JSON_MARK: True}:
                return {"$ref": JSON_REF}
            return {key: link(value) for key, value in node.items()}
        if isinstance(node, list):
            return [link(item) for item in node]
        return node

    for key, value in list(document.items()):
        document[key] = link(value)
    document.setdefault("components", {}).setdefault("schemas", {})[JSON_TEXT] = JSON_TEXT_SCHEMA


def _keys_by_name(schema: dict[str, Any]) -> None:
    """A map whose keys have a pattern (``dict[Key, str]``) is written by pydantic as
    ``patternProperties``, which leaves every other key free to hold anything; the API refuses
    those keys, so the document says ``propertyNames`` and ``additionalProperties`` instead."""
    patterns = schema.get("patternProperties")
    if not isinstance(patterns, dict) or len(patterns) != 1 or "additionalProperties" in schema:
        return
    [(pattern, value)] = patterns.items()
    del schema["patternProperties"]
    schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}
    schema["additionalProperties"] = value
