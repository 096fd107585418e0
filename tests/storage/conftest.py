"""A real S3-compatible endpoint for the storage tests: moto's standalone server."""

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
import uuid
from collections.abc import Callable, Iterator
from typing import IO, Any

import pytest

S3_KEY = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
S3_REGION = "us-east-1"


def _free_port() -> int:
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
    port = _free_port()
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


@pytest.fixture(scope="session")
def s3_session(s3_endpoint: str) -> Any:
    """One boto3 session for the tests' clients (a new session costs ~0.1 s, a client from it
    ~7 ms), with dummy keys; each client still has its own event hooks."""
    import boto3

    return boto3.session.Session(**S3_KEY, region_name=S3_REGION)


@pytest.fixture
def make_s3_client(s3_endpoint: str, s3_session: Any) -> Callable[..., Any]:
    """Make a boto3 client for the test endpoint; keyword arguments go to botocore's Config."""
    from botocore.config import Config

    def make(**config: Any) -> Any:
        config.setdefault("signature_version", "s3v4")
        return s3_session.client("s3", endpoint_url=s3_endpoint, config=Config(**config))

    return make


@pytest.fixture(scope="session")
def s3_raw(s3_endpoint: str, s3_session: Any) -> Any:
    """A plain boto3 client, for creating buckets and tampering with objects behind a store."""
    from botocore.config import Config

    return s3_session.client(
        "s3", endpoint_url=s3_endpoint, config=Config(signature_version="s3v4")
    )


@pytest.fixture
def s3_bucket(s3_raw: Any) -> str:
    """A fresh, empty bucket for one test."""
    name = f"md-test-{uuid.uuid4().hex[:16]}"
    s3_raw.create_bucket(Bucket=name)
    return name
