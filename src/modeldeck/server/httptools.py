"""uvicorn's httptools protocol with TCP_NODELAY (see :mod:`modeldeck.server.protocol`); a module
of its own because it imports httptools, which is optional."""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from modeldeck.server.protocol import no_delay


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)
