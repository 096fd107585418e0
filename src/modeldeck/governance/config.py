"""Settings an admin changes on a running store: the allowlists the server checks.

``webhook_hosts``
    Hosts (names or IP addresses, optionally ``host:port``) that webhooks may reach although
    they resolve to a loopback, private, link-local or otherwise internal address. Empty by
    default: webhooks go to public addresses only.
``python_loaders``
    The ``module:qualname`` loaders that a ``python``-flavor model package may name, or a
    module prefix ending in ``.*`` (``mypkg.models.*``) for every loader below it. A package
    naming another loader is refused at registration, and the server never imports it.

Values are lists of text, stored as JSON, read by anyone who may read the store's settings,
changed by admins only, and every change is audited (``config.set``) with the values before
and after.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from modeldeck.core.errors import InvalidInput
from modeldeck.core.governance import Role
from modeldeck.governance.access import DEFAULT_PROJECT, guarded_write, require
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit
from modeldeck.storage.metadata import server_config as rows

WEBHOOK_HOSTS = "webhook_hosts"
PYTHON_LOADERS = "python_loaders"
MAX_ENTRIES = 200

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]{1,253})(:[0-9]{1,5})?$")
_LOADER = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
    r"(:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*|\.\*)$"
)


@dataclass(frozen=True)
class Key:
    name: str
    describe: str
    pattern: re.Pattern[str]
    example: str


KEYS: dict[str, Key] = {
    WEBHOOK_HOSTS: Key(
        WEBHOOK_HOSTS,
        "hosts webhooks may reach on internal addresses",
        _HOST,
        "hooks.internal:8080",
    ),
    PYTHON_LOADERS: Key(
        PYTHON_LOADERS,
        "loaders python-flavor models may name (module:qualname, or module.*)",
        _LOADER,
        "mypkg.models:Forecaster",
    ),
}


def check_key(key: str) -> Key:
    found = KEYS.get(key.replace("-", "_")) if isinstance(key, str) else None
    if found is None:
        raise InvalidInput(
            f"unknown server setting {key!r}; the settings are {', '.join(sorted(KEYS))}"
        )
    return found


def check_values(key: Key, values: Sequence[str]) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidInput(f"{key.name} is a list of text, e.g. [{key.example!r}]")
    if len(values) > MAX_ENTRIES:
        raise InvalidInput(f"{key.name} holds at most {MAX_ENTRIES} entries")
    clean = []
    for value in values:
        text = value.strip() if isinstance(value, str) else value
        if not isinstance(text, str) or not key.pattern.match(text):
            raise InvalidInput(
                f"{value!r} is not a valid entry of {key.name} ({key.describe}), "
                f"e.g. {key.example!r}"
            )
        clean.append(text.lower() if key.name == WEBHOOK_HOSTS else text)
    return sorted(set(clean))


def read(conn: Connection, key: str) -> list[str]:
    """The entries of ``key`` (empty when never set), inside the caller's transaction."""
    return list(rows.value(conn, check_key(key).name) or [])


def get(db: Database, key: str) -> list[str]:
    with db.read() as conn:
        return read(conn, key)


def get_all(db: Database) -> dict[str, list[str]]:
    with db.read() as conn:
        return {name: read(conn, name) for name in KEYS}


def set_values(
    db: Database, clock: Callable[[], int], key: str, values: Sequence[str], actor: str
) -> list[str]:
    """Replace the entries of ``key`` (admins only; audited, refusals too)."""
    found = check_key(key)
    clean = check_values(found, values)
    subject = f"config:/{found.name}"
    with guarded_write(db, clock, actor, "config.set", subject) as conn:
        require(conn, DEFAULT_PROJECT, actor, Role.ADMIN, "change server settings")
        before = read(conn, found.name)
        now = clock()
        rows.put(conn, found.name, clean, actor, now)
        audit.append(
            conn,
            actor=actor,
            action="config.set",
            subject=subject,
            at=now,
            before={"values": before},
            after={"values": clean},
        )
    return clean


def loader_allowed(loader: str, allowed: Sequence[str]) -> bool:
    """Whether ``module:qualname`` is named by an entry of ``python_loaders``."""
    module = loader.partition(":")[0]
    for entry in allowed:
        if entry == loader:
            return True
        if entry.endswith(".*"):
            prefix = entry[:-2]
            if module == prefix or module.startswith(prefix + "."):
                return True
    return False
