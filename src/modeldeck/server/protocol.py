"""uvicorn's HTTP protocols with TCP_NODELAY set on every accepted connection.

With more than one worker, uvicorn hands the workers a shared listening socket and its accepted
connections miss asyncio's own TCP_NODELAY (uvicorn issue 3149): each response on a keep-alive
connection then waits ~40 ms for a delayed ACK. Setting it here costs one syscall.

``httptools`` (C parser, installed with the ``server`` extra where it has wheels) is used when it
imports; h11 (pure Python) otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def no_delay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # not a TCP socket after all: nothing to tune
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


def protocol() -> str:
    """The uvicorn ``http`` setting: the fastest protocol class that imports here."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "modeldeck.server.protocol:NoDelayH11Protocol"
    return "modeldeck.server.httptools:NoDelayHttpToolsProtocol"
