"""Opening the stores that settings name, for the clients above."""

from __future__ import annotations

from modeldeck.core.settings import Settings
from modeldeck.storage.db.engine import Database
from modeldeck.storage.db.migrate import ensure_current
from modeldeck.storage.objects import open_object_store
from modeldeck.tracking.tracker import Tracker


def open_tracker(settings: Settings) -> Tracker:
    """Connect, migrating the embedded SQLite store on first use (a shared one is migrated by
    `modeldeck db upgrade`, never implicitly)."""
    db = Database(settings.tracking_uri)
    ensure_current(db, auto_upgrade=settings.is_embedded)
    return Tracker(db, open_object_store(settings.artifacts_uri))
