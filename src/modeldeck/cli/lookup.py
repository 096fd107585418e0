"""Finding what a command names: the client, runs by id or unique id prefix, experiment names."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from modeldeck.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from modeldeck.client.local import LocalClient
    from modeldeck.core.entities import Run

# The tables show 8 characters of a run id; accept any hex prefix of 4 or more.
_PREFIX = re.compile(r"[0-9a-f]{4,31}")


def client() -> LocalClient:
    from modeldeck.client.fluent import client as process_client

    return process_client()


def run(run_id: str) -> Run:
    """The run with this id, or the only run whose id starts with it."""
    owner = client()
    try:
        return owner.get_run(run_id)
    except NotFound:
        if not _PREFIX.fullmatch(run_id):
            raise
        found = owner.search_runs(filter=f"attributes.run_id LIKE '{run_id}%'", max_results=2)
        if len(found.runs) == 1:
            return owner.get_run(found.runs[0].id)
        if found.runs:
            raise InvalidInput(
                f"run id prefix {run_id!r} matches several runs; give more characters"
            ) from None
        raise


def experiment_names() -> dict[str, str]:
    """Experiment id -> name."""
    return {e.id: e.name for e in client().experiments()}
