"""Opening the stores that settings name, for the clients above."""

from __future__ import annotations

from modeldeck.core.errors import InvalidInput
from modeldeck.core.settings import Settings
from modeldeck.storage.db.engine import Database
from modeldeck.storage.db.migrate import ensure_current
from modeldeck.storage.objects import open_object_store
from modeldeck.tracking.tracker import RunGuard, Tracker


def open_tracker(settings: Settings, guard: RunGuard | None = None) -> Tracker:
    """Connect, migrating the embedded SQLite store on first use (a shared one is migrated by
    `modeldeck db upgrade`, never implicitly)."""
    if settings.tracking_uri.startswith(("http://", "https://")):
        raise InvalidInput(
            f"{settings.tracking_uri} names a modeldeck server, not a database: the stores are "
            "opened directly only by the embedded client and by the server itself. Use "
            "modeldeck.client.connect() (the SDK and CLI do), or point the server at "
            "postgresql+psycopg://user@host/db"
        )
    db = Database(settings.tracking_uri)
    ensure_current(db, auto_upgrade=settings.is_embedded)
    objects = open_object_store(settings.artifacts_uri)
    return Tracker(db, objects, actor=settings.user, guard=guard)
