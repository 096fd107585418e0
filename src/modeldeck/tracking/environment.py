"""What a run records about the process that made it: code version, command, packages.

Captured once per process (git state at most every ``GIT_TTL_S`` seconds), because asking git
and walking the installed packages cost milliseconds that a loop creating runs must not pay.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

GIT_TTL_S = 10.0
MAX_DIFF_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GitState:
    commit: str
    dirty: bool
    diff: bytes | None  # `git diff HEAD` when dirty, cut at MAX_DIFF_BYTES


@dataclass(frozen=True, slots=True)
class RunContext:
    """Everything about the calling process that a new run stores."""

    source: str
    entry_point: str
    python_version: str
    host: str
    pid: int
    git: GitState | None
    environment: bytes  # canonical JSON of python, platform and installed packages


_git_lock = threading.Lock()
_git_cache: dict[str, tuple[float, GitState | None]] = {}


def capture(cwd: Path | None = None) -> RunContext:
    return RunContext(
        source=shlex.join(sys.argv) if sys.argv and sys.argv[0] else "<interactive>",
        entry_point=_entry_point(),
        python_version=platform.python_version(),
        host=socket.gethostname(),
        pid=os.getpid(),
        git=git_state(cwd or Path.cwd()),
        environment=environment_document(),
    )


def git_state(cwd: Path) -> GitState | None:
    key = str(cwd)
    now = time.monotonic()
    with _git_lock:
        cached = _git_cache.get(key)
        if cached is not None and now - cached[0] < GIT_TTL_S:
            return cached[1]
    state = _read_git(cwd)
    with _git_lock:
        _git_cache[key] = (now, state)
    return state


def _read_git(cwd: Path) -> GitState | None:
    def git(*args: str) -> bytes | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    dirty = bool(status and status.strip())
    diff = git("diff", "HEAD", "--binary") if dirty else None
    if diff is not None and len(diff) > MAX_DIFF_BYTES:
        diff = diff[:MAX_DIFF_BYTES] + b"\n[modeldeck: diff cut at 5 MiB]\n"
    return GitState(commit=commit.decode().strip(), dirty=dirty, diff=diff)


@cache
def environment_document() -> bytes:
    from importlib import metadata

    found = (_name_version(d) for d in metadata.distributions())
    packages = sorted({f"{name}=={version}" for name, version in found if name}, key=str.lower)
    doc = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _name_version(dist: Any) -> tuple[str, str]:
    """A distribution's Name and Version, read from the top of its metadata file.

    ``dist.metadata`` runs the whole file through the email parser: 0.3 s for the 400-odd
    packages of a data-science environment, at every run's start. The two fields are headers,
    before the first blank line, so reading those lines gives the same answer.
    """
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Version") and key not in fields:
            fields[key] = value.strip()
    return fields.get("Name", ""), fields.get("Version", "")


def _entry_point() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path:
        return str(Path(path).resolve())
    return sys.argv[0] if sys.argv and sys.argv[0] else "<interactive>"
