"""What requests share: one tracker over the configured database and object store.

Nothing here is per-process state that matters (caches of immutable facts at most), so any
number of workers and replicas can serve the same store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from modeldeck.storage.db.engine import Database
    from modeldeck.tracking.tracker import Tracker


@dataclass(frozen=True, slots=True)
class Services:
    tracker: Tracker

    @property
    def db(self) -> Database:
        return self.tracker.db

    @property
    def clock(self) -> Callable[[], int]:
        return self.tracker.clock


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
