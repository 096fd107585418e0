"""What a new user waits for: the first ``log_model`` in a fresh process, and a model server
from its command to its first ready answer, modeldeck and MLflow side by side.

``python bench/startup.py [--repeat 3] [--mlflow-python PATH]``

Each repeat is a fresh process (bench/_worker_startup.py) that fits the quickstart's
logistic-regression churn pipeline and logs it, then a fresh ``modeldeck serve`` of that run's
model (``mlflow models serve --env-manager local`` for MLflow), polled every 10 ms until its
readiness route answers 200. Medians of the repeats. Targets (issue 14): ``log_model`` ≤ 0.5 s,
``serve`` ready ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.table import Table

from _process import stop_group
from _venv import BENCH, console, find_mlflow_python, sh

TARGETS = {"log_model_s": 0.5, "ready_s": 2.0}
READY = {"modeldeck": "/health/ready", "mlflow": "/ping"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_once(python: str, system: str, where: Path) -> dict:
    done = sh([python, str(BENCH / "_worker_startup.py"), system, where])
    if done.returncode != 0:
        console.print(f"[red]{system} worker failed:[/]\n{done.stderr[-3000:]}")
        sys.exit(1)
    return json.loads(done.stdout.strip().splitlines()[-1])


def ready_once(python: str, system: str, where: Path, uri: str) -> float:
    port = free_port()
    bin_dir = Path(python).parent
    if system == "modeldeck":
        command = [bin_dir / "modeldeck", "serve", uri, "--port", port]
        env = {**os.environ, "MODELDECK_HOME": str(where)}
    else:
        command = [bin_dir / "mlflow", "models", "serve", "-m", uri, "-p", port]
        command += ["--env-manager", "local"]
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": f"sqlite:///{where / 'mlflow.db'}",
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # its uvicorn
        }
    url = f"http://127.0.0.1:{port}{READY[system]}"
    t0 = time.perf_counter()
    process = subprocess.Popen(
        [str(c) for c in command],
        cwd=where,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - t0 < 120:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                err = process.stderr.read().decode() if process.stderr else ""
                console.print(f"[red]{system} serve exited:[/]\n{err[-3000:]}")
                sys.exit(1)
            time.sleep(0.01)
        console.print(f"[red]{system} serve was not ready after 120 s[/]")
        sys.exit(1)
    finally:
        stop_group(process)


def measure(python: str, system: str, repeat: int) -> dict:
    rows: list[dict] = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix=f"modeldeck-bench-startup-{system}-") as tmp:
            logged = log_once(python, system, Path(tmp))
            logged["ready_s"] = ready_once(python, system, Path(tmp), logged["uri"])
            rows.append(logged)
    figures = {
        key: statistics.median(r[key] for r in rows)
        for key in ("start_run_s", "log_model_s", "ready_s", "model_bytes")
    }
    figures["runs"] = rows
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per figure")
    parser.add_argument("--mlflow-python", help="python of a venv with mlflow (default: make one)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    results = {"modeldeck": measure(sys.executable, "modeldeck", args.repeat)}
    results["mlflow"] = measure(find_mlflow_python(args.mlflow_python), "mlflow", args.repeat)
    md, ml = results["modeldeck"], results["mlflow"]
    table = Table(title=f"Fresh process, medians of {args.repeat}")
    for column in ("", "modeldeck", "MLflow", "MLflow / modeldeck", "target", "met"):
        table.add_column(column, justify="right")
    for key, label in (
        ("start_run_s", "start run (s)"),
        ("log_model_s", "first log_model (s)"),
        ("ready_s", "serve: command to ready (s)"),
        ("model_bytes", "model file (bytes)"),
    ):
        target = TARGETS.get(key)
        met = "" if target is None else ("yes" if md[key] <= target else "NO")
        fmt = "{:,.0f}" if key == "model_bytes" else "{:.2f}"
        table.add_row(
            label,
            fmt.format(md[key]),
            fmt.format(ml[key]),
            f"{ml[key] / md[key]:.1f}×",
            "" if target is None else f"≤ {target}",
            met,
        )
    console.print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(md[k] <= t for k, t in TARGETS.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
