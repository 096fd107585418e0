"""What the benchmark drivers share: the console, a subprocess helper and MLflow's own venv.

MLflow lives in its own virtualenv, because its pins may clash with ours; see bench/README.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

BENCH = Path(__file__).resolve().parent
MLFLOW_PIN = "mlflow==3.17.2"  # the newest that installs here (../shared/PEERS.md)
console = Console(width=None if sys.stdout.isatty() else 120)


def sh(cmd: list[Any], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, check=False, **kwargs
    )


def find_mlflow_python(arg: str | None, extras: Mapping[str, str] | None = None) -> str:
    """--mlflow-python, else $MODELDECK_BENCH_MLFLOW_PYTHON, else bench/.venv-mlflow (made here).

    ``extras`` maps modules the caller needs beside MLflow to the packages that bring them
    (``{"psycopg": "psycopg[binary]"}``); they are installed into bench/.venv-mlflow when
    missing, never into a venv the user named.
    """
    if chosen := arg or os.environ.get("MODELDECK_BENCH_MLFLOW_PYTHON"):
        python = os.path.abspath(chosen)  # workers run in other folders; no resolve(): venv links
        if missing := _missing(python, extras or {}):
            sys.exit(f"{python} lacks {', '.join(missing)}: pip install {' '.join(missing)}")
        return python
    venv = BENCH / ".venv-mlflow"
    python = str(venv / "bin" / "python")
    if not Path(python).exists():
        console.print(f"[yellow]creating {venv} for MLflow (one time, a few minutes)…")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if sh([python, "-c", "import mlflow"]).returncode != 0:
        console.print(f"[yellow]pip install {MLFLOW_PIN} into {venv}…")
        subprocess.run([python, "-m", "pip", "install", "-q", MLFLOW_PIN], check=True)
    if missing := _missing(python, extras or {}):
        console.print(f"[yellow]pip install {' '.join(missing)} into {venv}…")
        subprocess.run([python, "-m", "pip", "install", "-q", *missing], check=True)
    return python


def _missing(python: str, extras: Mapping[str, str]) -> list[str]:
    """The packages of ``extras`` whose module ``python`` cannot import."""
    return [
        package
        for module, package in extras.items()
        if sh([python, "-c", f"import {module}"]).returncode != 0
    ]
