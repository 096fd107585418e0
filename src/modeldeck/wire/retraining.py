"""The retraining job of a monitor, as a request registers it: ``kind`` python (``target``
module:function) or command (``target`` a command line), with an optional ``policy``.

The patterns state what :func:`modeldeck.monitoring.retraining.check_job` accepts, which this
layer may not import; they stand in the document only (the service checks and says what is
wrong), and tests/wire draws from each and runs the check on the draw.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from modeldeck.wire.base import StrictIn
from modeldeck.wire.text import Name

MAX_POLICY = 100_000  # TOML text

# The policy is any TOML text. No pattern can say which text parses (a key twice is an error),
# so the document names the usual shape of a policy, which always does: a [models.<name>]
# table, then [[models.<name>.checks]] tables, each with its keys at most once, in this order.
_BARE = r"[A-Za-z0-9_\-]{1,64}"
_VALUE = (
    r"(?:\"[^\"\\\x00-\x1f\x7f-\x9f]{0,200}\"|-?(?:0|[1-9][0-9]{0,9})(?:\.[0-9]{1,10})?|true|false)"
)
MODEL_KEYS = ("label", "task", "positive_label")
CHECK_KEYS = ("type", "metric", "min", "max", "min_delta", "column", "min_rows", "max_gap")


def _keys(names: tuple[str, ...]) -> str:
    return "".join(f"(?:{name} = {_VALUE}\\n)?" for name in names)


POLICY_PATTERN = (
    rf"^(?:\[models\.{_BARE}\]\n{_keys(MODEL_KEYS)})?"
    rf"(?:\[\[models\.{_BARE}\.checks\]\]\n{_keys(CHECK_KEYS)})*$"
)
Policy = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_POLICY,
        description="TOML text of a policy file ([models.<name>] and its checks)",
        json_schema_extra={"pattern": POLICY_PATTERN},
    ),
]

# what monitoring.retraining.check_job accepts: a Python entry point module:function (ASCII
# here), or a command shlex can split into words (quotes closed, no backslash last)
ENTRY_POINT_PATTERN = (
    r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)
_LINE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # the characters Text refuses
_SPACE = r"\x09\x0a\x0d\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_QUOTED = rf"'[^'{_LINE}]*'|\"(?:[^\"\\{_LINE}]|\\[^{_LINE}])*\"|\\[^{_LINE}{_SPACE}]"
_WORD = rf"(?:[^'\"\\{_LINE}{_SPACE}]|{_QUOTED})"
_ANY = rf"(?:[^'\"\\{_LINE}]|{_QUOTED})"
COMMAND_PATTERN = rf"^[{_SPACE}]*{_WORD}{_ANY}*$"


class _Job(StrictIn):
    policy: Policy | None = None
    label: Name | None = None
    experiment: Name | None = None


class PythonJob(_Job):
    """Retrain by calling ``target``, a module:function."""

    kind: Literal["python"]
    target: Annotated[
        str, Field(max_length=4000, json_schema_extra={"pattern": ENTRY_POINT_PATTERN})
    ]


class CommandJob(_Job):
    """Retrain by running ``target``, a command line (split as a shell would, run by none)."""

    kind: Literal["command"]
    target: Annotated[str, Field(max_length=4000, json_schema_extra={"pattern": COMMAND_PATTERN})]


RetrainingIn = Annotated[PythonJob | CommandJob, Field(discriminator="kind")]
