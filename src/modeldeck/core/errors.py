"""The one exception tree of modeldeck.

::

    ModeldeckError
    ├── NotFound            an id, name or path that does not exist
    ├── AlreadyExists       a create that collides with an existing name
    ├── InvalidInput        a value, key, name or filter that is malformed
    │   └── FilterSyntaxError   a search filter that does not parse (carries the position)
    ├── Conflict            a write that contradicts stored state (a param re-logged with
    │                       another value, a run that is not active)
    ├── Unauthenticated     no credentials, or an unknown, expired or revoked token
    ├── PermissionDenied    the caller's role does not allow the action
    ├── GateFailed          a validation gate or promotion rule is not met
    ├── IntegrityError      stored bytes whose digest does not match their address
    └── StoreError          the metadata store cannot be used as it is (schema too old, ...)

Every error carries a stable ``code`` so the server can map it to an HTTP status in one place.
"""

from __future__ import annotations


class ModeldeckError(Exception):
    """Base of every error modeldeck raises on purpose."""

    code = "MODELDECK_ERROR"


class NotFound(ModeldeckError):
    code = "NOT_FOUND"


class AlreadyExists(ModeldeckError):
    code = "ALREADY_EXISTS"


class InvalidInput(ModeldeckError, ValueError):
    code = "INVALID_INPUT"


class FilterSyntaxError(InvalidInput):
    """A search filter that does not parse; ``position`` is the 0-based offset of the fault."""

    code = "INVALID_FILTER"

    def __init__(self, message: str, text: str, position: int) -> None:
        self.text = text
        self.position = position
        self.reason = message
        pointer = " " * position + "^"
        super().__init__(f"{message} at position {position}:\n  {text}\n  {pointer}")


class Conflict(ModeldeckError):
    code = "CONFLICT"


class Unauthenticated(ModeldeckError):
    code = "UNAUTHENTICATED"


class PermissionDenied(ModeldeckError):
    code = "PERMISSION_DENIED"


class GateFailed(ModeldeckError):
    code = "GATE_FAILED"


class IntegrityError(ModeldeckError):
    code = "INTEGRITY_ERROR"


class StoreError(ModeldeckError):
    code = "STORE_ERROR"
