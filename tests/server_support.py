"""Starting a real `modeldeck server` process on a free port over a temp store, for the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from modeldeck.client.local import LocalClient
from modeldeck.core.settings import Settings


@dataclass
class Served:
    """A team server answering at ``url``: a process (:class:`Server`) or a thread of this one
    (:func:`serve_in_thread`)."""

    url: str
    admin_token: str
    settings: Settings  # the store, acting as the admin

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def admin(self) -> LocalClient:
        return LocalClient(self.settings)

    def token_for(self, user: str, role: str | None) -> str:
        """A new user with ``role`` (None: no grant, so a viewer) and a token of theirs."""
        owner = self.admin()
        try:
            owner.add_user(user)
            if role is not None:
                owner.grant(user, role)
            return owner.create_token(user).token
        finally:
            owner.close()


@dataclass
class Server(Served):
    """A real `modeldeck server` process."""

    process: subprocess.Popen[bytes]
    log: Path


CLI = [sys.executable, "-m", "modeldeck", "server"]


def within_a_second(send: Callable[[], httpx.Response], status: int) -> httpx.Response:
    """``send()``'s answer once it is ``status``, trying for a little over a second: a server
    process trusts what it learnt of a token or a role for up to a second (IdentityCache),
    so that is how long a revocation may take to reach every worker."""
    deadline = time.monotonic() + 1.5
    while True:
        answer = send()
        if answer.status_code == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60
) -> None:
    """Poll ``url`` until it answers 200; fail with the process's log if it dies or stalls."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{url} did not answer:\n{log.read_text()}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(
    tmp: Path, backend_uri: str, admin: str, artifacts: str | None = None
) -> dict[str, str]:
    return {
        **os.environ,
        "MODELDECK_HOME": str(tmp / "home"),
        "MODELDECK_TRACKING_URI": backend_uri,
        "MODELDECK_ARTIFACTS": artifacts or str(tmp / "objects"),
        "MODELDECK_USER": admin,
    }


def start_server(
    tmp: Path,
    backend_uri: str,
    *,
    workers: int = 1,
    admin: str = "root",
    artifacts: str | None = None,
    new_session: bool = False,
) -> Iterator[Server]:
    """`modeldeck server init` on a new store, then :func:`serve`."""
    env = server_env(tmp, backend_uri, admin, artifacts)
    init = subprocess.run(
        [*CLI, "init", "--admin", admin], env=env, capture_output=True, text=True, check=False
    )
    assert init.returncode == 0, init.stderr
    token = init.stdout.strip()
    yield from serve(
        tmp,
        backend_uri,
        token,
        workers=workers,
        admin=admin,
        artifacts=artifacts,
        new_session=new_session,
    )


def serve(
    tmp: Path,
    backend_uri: str,
    token: str,
    *,
    workers: int = 1,
    admin: str = "root",
    artifacts: str | None = None,
    new_session: bool = False,
) -> Iterator[Server]:
    """A server on a free port over an initialised store; ``token`` is its admin's.

    ``new_session``: the server and its workers get a process group of their own, whose id is
    the server's pid, so that ``os.killpg`` reaches them all (uvicorn's workers are children).
    """
    env = server_env(tmp, backend_uri, admin, artifacts)
    port = free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*CLI, "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/health", process, log)
    settings = Settings(
        home=tmp / "home",
        tracking_uri=backend_uri,
        artifacts_uri=env["MODELDECK_ARTIFACTS"],
        user=admin,
    )
    try:
        yield Server(url, token, settings, process, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_in_thread(tmp: Path, backend_uri: str, token: str, *, admin: str) -> Iterator[Served]:
    """The team server's app over an initialised store, served by uvicorn on a thread of this
    process: the same HTTP, middleware and routes as :func:`serve` without a process to start
    (about a second and a half of imports each), for suites that test what the API answers
    rather than how a process behaves (tests/contract). Security tests use :func:`serve`."""
    import threading

    import uvicorn

    from modeldeck.server.app import create_app

    settings = Settings(
        home=tmp / "home", tracking_uri=backend_uri, artifacts_uri=str(tmp / "objects"), user=admin
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name=f"server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the in-thread server on port {port} did not start")
        time.sleep(0.01)
    try:
        yield Served(f"http://127.0.0.1:{port}", token, settings)
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.services.db.dispose()
