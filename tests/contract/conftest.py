"""The contract suite's three backends: the embedded SQLite store, PostgreSQL directly, and
the team server over HTTP.

Each HTTP test gets its own server on a free port over its own store (a copy of one
initialised at the start of the session), so tests see an empty store as with the others. The
server is the real app under uvicorn, on a thread of the test process (what the API answers is
the contract; tests/security and tests/server start real `modeldeck server` processes).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modeldeck.client.local import LocalClient
from modeldeck.client.remote import RemoteClient
from modeldeck.core.settings import Settings
from server_support import Served, serve_in_thread, server_env

USER = "alice"


@pytest.fixture(scope="session")
def initialised_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store after `modeldeck server init --admin alice`, and alice's token."""
    tmp = tmp_path_factory.mktemp("template")
    env = server_env(tmp, f"sqlite:///{tmp / 'home' / 'modeldeck.db'}", USER)
    init = subprocess.run(
        [sys.executable, "-m", "modeldeck", "server", "init", "--admin", USER],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    return tmp, init.stdout.strip()


@pytest.fixture
def http_server(tmp_path: Path, initialised_store: tuple[Path, str]) -> Iterator[Served]:
    template, token = initialised_store
    store = tmp_path / "server"
    shutil.copytree(template, store)
    url = f"sqlite:///{store / 'home' / 'modeldeck.db'}"
    yield from serve_in_thread(store, url, token, admin=USER)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        "http",
    ]
)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalClient]:
    chosen: LocalClient
    if request.param == "http":
        server: Served = request.getfixturevalue("http_server")
        settings = Settings(
            home=tmp_path / "client",
            tracking_uri=server.url,
            # the server's own object store: tests that inspect or tamper with stored bytes
            artifacts_uri=server.settings.artifacts_uri,
            user=USER,
        )
        chosen = RemoteClient(settings, token=server.admin_token)
    else:
        if request.param == "postgres":
            url = request.getfixturevalue("empty_postgres_url")
        else:
            url = f"sqlite:///{tmp_path / 'md' / 'modeldeck.db'}"
        settings = Settings(
            home=tmp_path / "md",
            tracking_uri=url,
            artifacts_uri=str(tmp_path / "md" / "objects"),
            user=USER,
        )
        chosen = LocalClient(settings)
    yield chosen
    chosen.close()
