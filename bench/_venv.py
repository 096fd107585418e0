"""What the benchmark drivers share: the console, a subprocess helper and the peers' own venvs.

MLflow and Evidently live in virtualenvs of their own, because their pins clash with ours;
see bench/README.md.
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
EVIDENTLY_PINS = ["evidently==0.7.23", "pandas<3", "pyarrow"]  # its pandas pin clashes with ours
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
    return find_peer_python(
        arg, "MODELDECK_BENCH_MLFLOW_PYTHON", ".venv-mlflow", "mlflow", [MLFLOW_PIN], extras
    )


def find_evidently_python(arg: str | None) -> str:
    """--evidently-python, else $MODELDECK_BENCH_EVIDENTLY_PYTHON, else bench/.venv-evidently
    (made here: Evidently 0.7 needs pandas < 3, which clashes with ours)."""
    return find_peer_python(
        arg,
        "MODELDECK_BENCH_EVIDENTLY_PYTHON",
        ".venv-evidently",
        "evidently",
        EVIDENTLY_PINS,
        {"pyarrow": "pyarrow"},
    )


def find_peer_python(
    arg: str | None,
    variable: str,
    folder: str,
    module: str,
    packages: list[str],
    extras: Mapping[str, str] | None = None,
) -> str:
    """The python of a peer's venv: ``arg``, else ``$variable``, else bench/``folder``, made
    the first time with ``python -m venv`` and ``pip install packages`` (until ``module``
    imports); ``extras`` (module -> package) are added there when missing, never to a venv
    the user named."""
    if chosen := arg or os.environ.get(variable):
        python = os.path.abspath(chosen)  # workers run in other folders; no resolve(): venv links
        if missing := _missing(python, {module: packages[0], **(extras or {})}):
            sys.exit(f"{python} lacks {', '.join(missing)}: pip install {' '.join(missing)}")
        return python
    venv = BENCH / folder
    python = str(venv / "bin" / "python")
    if not Path(python).exists():
        console.print(f"[yellow]creating {venv} for {module} (one time, a few minutes)…")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if sh([python, "-c", f"import {module}"]).returncode != 0:
        console.print(f"[yellow]pip install {' '.join(packages)} into {venv}…")
        subprocess.run([python, "-m", "pip", "install", "-q", *packages], check=True)
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
