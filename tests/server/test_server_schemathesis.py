"""Schemathesis's own CLI, default checks, against a real server process: the OpenAPI document
states every constraint the API enforces, so no request the document calls valid is refused
(no 400/422 to schema-valid data), an undeclared method is 405 with the Allow the document
implies, and nothing is a 5xx.

This is the command the issue names (``schemathesis run URL/openapi.json -H "Authorization:
Bearer TOKEN"``), with a fixed seed and a bounded number of examples per operation so that it
finishes in about two minutes on two cores. In-process fuzzing with edge values lives in
test_server_fuzz.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server_support import Server, start_server

pytestmark = pytest.mark.slow
MAX_EXAMPLES = 5
SEED = 14


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from start_server(tmp_path, f"sqlite:///{tmp_path / 'home' / 'modeldeck.db'}")


def schemathesis_cli() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    return [found]


def test_schemathesis_default_checks_find_nothing(server: Server, tmp_path: Path) -> None:
    command = [
        *schemathesis_cli(),
        "run",
        f"{server.url}/openapi.json",
        "-H",
        f"Authorization: Bearer {server.admin_token}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--no-color",
        # its stateful phase finds the admin token's id (GET /tokens) and revokes it, after
        # which every answer is 401; the last admin's self-lockout is refused (409) already
        "--exclude-path",
        "/api/v1/tokens/{token_id}",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-20000:]
