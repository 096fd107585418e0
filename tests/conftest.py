"""Shared fixtures: a client per backend (embedded SQLite always, PostgreSQL where reachable)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from modeldeck.client import fluent
from modeldeck.client.local import LocalClient
from modeldeck.core.settings import Settings
from postgres_support import postgres_database


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup``, give each item of an ``xdist_group`` its group's suffix.

    pytest-xdist 3.8 does this by setting ``item._nodeid``, which pytest 9 no longer reads (a
    node keeps a NodeId in ``_id``), so the groups were spread over every worker and each
    worker built the groups' expensive fixtures (the quickstart, the browser's site) again."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import coerce_node_id

    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        suffix = "@" + "_".join(sorted(names))
        if names and hasattr(item, "_id") and not item.nodeid.endswith(suffix):
            item._id = coerce_node_id(item.nodeid + suffix)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database for this test session, migrated to the latest schema, dropped after."""
    from modeldeck.storage.db.engine import Database
    from modeldeck.storage.db.migrate import upgrade

    with postgres_database("modeldeck_test") as url:
        db = Database(url)
        upgrade(db)
        db.dispose()
        yield url


def _truncate(url: str) -> None:
    import sqlalchemy as sa

    from modeldeck.storage.db.tables import metadata

    engine = sa.create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    _truncate(postgres_url)
    return postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'md' / 'modeldeck.db'}"
    url: str = request.getfixturevalue("empty_postgres_url")
    return url


@pytest.fixture
def client(backend_url: str, tmp_path: Path) -> Iterator[LocalClient]:
    settings = Settings(
        home=tmp_path / "md",
        tracking_uri=backend_url,
        artifacts_uri=str(tmp_path / "md" / "objects"),
        user="alice",
    )
    c = LocalClient(settings)
    yield c
    c.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An embedded store for the fluent SDK, chosen through MODELDECK_HOME."""
    path = tmp_path / "md"
    monkeypatch.setenv("MODELDECK_HOME", str(path))
    monkeypatch.setenv("MODELDECK_USER", "alice")
    for var in ("MODELDECK_TRACKING_URI", "MODELDECK_ARTIFACTS", "MODELDECK_EXPERIMENT"):
        monkeypatch.delenv(var, raising=False)
    fluent.reset()
    yield path
    fluent.reset()


@pytest.fixture
def dirty_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """The working folder becomes a git repo with one commit of train.py and an uncommitted
    edit of it; returns a ``git(*args)`` helper that runs in the repo and gives stdout."""
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
        return done.stdout.strip()

    git("init", "-q")
    (repo / "train.py").write_text("print('v1')\n")
    git("add", "train.py")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "v1")
    (repo / "train.py").write_text("print('v2')\n")
    monkeypatch.chdir(repo)
    return git


# --- S3: moto's standalone server --------------------------------------------------------


def _free_s3_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto server started for this session, stopped after."""
    missing = [m for m in ("boto3", "moto", "flask") if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (pip install -e '.[dev]' brings moto[server])"
        if os.environ.get("MODELDECK_REQUIRE_S3"):
            pytest.fail(f"MODELDECK_REQUIRE_S3 is set but {reason}")
        pytest.skip(reason)
    port = _free_s3_port()
    url = f"http://127.0.0.1:{port}"
    # moto logs every request: to a file, as an unread pipe would fill up and stall the server.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(proc, url, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 20
    while proc.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # an HTTP answer of any kind: the server is up
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                pytest.fail(f"moto_server did not answer at {url} within 20 s")
            time.sleep(0.05)
    log.seek(0)
    output = log.read().decode(errors="replace")
    pytest.fail(f"moto_server exited with {proc.returncode}: {output[-2000:]}")
