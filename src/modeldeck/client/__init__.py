"""The SDK's clients: ``LocalClient`` talks to the stores directly, ``RemoteClient`` to a
modeldeck server; :func:`connect` picks the one the settings name."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modeldeck.client.local import LocalClient
    from modeldeck.core.settings import Settings


def connect(settings: Settings | None = None, token: str | None = None) -> LocalClient:
    """A client for ``settings`` (default: from the environment): remote when the tracking URI
    is ``http(s)://`` (authenticating with ``token``, default ``$MODELDECK_TOKEN``), else local.
    Nothing is sent or opened until the first call."""
    from modeldeck.core.settings import Settings

    chosen = settings or Settings.load()
    if chosen.is_remote:
        from modeldeck.client.remote import RemoteClient

        return RemoteClient(chosen, token)
    from modeldeck.client.local import LocalClient

    return LocalClient(chosen)
