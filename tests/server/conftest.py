"""A real `modeldeck server` (two workers) over a temp SQLite store, for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from server_support import Server, start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Two workers, so the keep-alive latency test covers uvicorn's multi-worker mode."""
    tmp = tmp_path_factory.mktemp("server")
    yield from start_server(tmp, f"sqlite:///{tmp / 'home' / 'modeldeck.db'}", workers=2)


@pytest.fixture(scope="session")
def admin_http(server: Server) -> Iterator[httpx.Client]:
    with server.client(server.admin_token) as c:
        yield c
