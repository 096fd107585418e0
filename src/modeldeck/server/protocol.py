"""uvicorn's h11 protocol with TCP_NODELAY set on every accepted connection.

With more than one worker, uvicorn hands the workers a shared listening socket and its accepted
connections miss asyncio's own TCP_NODELAY (uvicorn issue 3149): each response on a keep-alive
connection then waits ~40 ms for a delayed ACK. Setting it here costs one syscall.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # not a TCP socket after all: nothing to tune
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
