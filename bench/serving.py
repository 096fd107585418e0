"""Serving benchmark: `modeldeck serve` and `mlflow models serve`, one row per request.

    python bench/serving.py [--quick] [--duration S] [--concurrency 1,8,32] [--workers 1]
                            [--threads 1] [--servers modeldeck,modeldeck-off,mlflow]
                            [--serve-args="--no-log"] [--json OUT] [--mlflow-python PATH]
                            [--tmp DIR] [--keep]

One scikit-learn pipeline (impute + scale, one-hot, 100 boosted trees) is trained once on the
quickstart's churn data, registered with modeldeck (alias ``champion``) and saved, the same
fitted object, as an MLflow model. Each server runs alone with the same number of workers; a
load generator in its own process (asyncio, raw keep-alive HTTP/1.1, one connection per caller)
sends the same single-row ``/invocations`` bytes to both at each concurrency. The in-process
``predict`` of the loaded model is the floor. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table

from _process import stop_group
from _venv import BENCH, console, find_mlflow_python, sh

ROWS = 20_000  # churn rows: 15,000 train the pipeline, the test quarter gives the requests
REQUESTS = 256  # distinct single-row bodies, cycled
FLOOR_CALLS = 2_000  # one-row calls per median of the floor (the extra figures: a tenth)
WARMUP = 2.0
SERVER_CPU, LOAD_CPU = 1, 0  # at concurrency 1 (see pin())
PIN = os.environ.get("MODELDECK_BENCH_PIN", "1") != "0"
SLICES = 5  # concurrency 1 runs in this many slices, the floor measured around each
FLOOR_SLICE_CALLS = 150  # one-row predicts per floor measurement between slices
VERIFY = 16  # bodies whose predictions every server must return exactly
now = time.perf_counter


@dataclass
class Config:
    """One server configuration: a row group of the table."""

    label: str
    command: list[str]  # the port number is appended
    ready: str  # the path that answers 200 once the model is loaded
    env: dict[str, str]
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    startup: float | None = None
    error: str | None = None
    interleave: bool = False  # measure the floor between slices of the concurrency-1 load
    floor_ms: float | None = None  # that floor: the median of every interleaved predict
    pinned: bool = False  # concurrency 1 ran with the server and the load on separate CPUs


class Server:
    """A server process in a session of its own, so that stopping it stops all its children."""

    def __init__(self, config: Config, workdir: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / f"{config.label.split()[0]}-{port}.log"
        with self.log.open("wb") as out:
            t0 = now()
            self.process = subprocess.Popen(
                [*config.command, str(port)],
                cwd=workdir,
                env=config.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.startup = self._wait_ready(config.ready, t0)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, path: str, t0: float, limit: float = 180) -> float:
        with httpx.Client(timeout=2) as probe:
            while now() - t0 < limit:
                with suppress(httpx.TransportError):
                    if probe.get(f"{self.url}{path}").status_code == 200:
                        return now() - t0
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"no 200 from {path} within {limit:.0f} s: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-1500:]

    def stop(self) -> None:
        stop_group(self.process)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker(python: str, script: str, *args: Any, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    done = sh([python, BENCH / script, *args], cwd=cwd, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{script} {args[0]} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def verify(url: str, requests: dict[str, Any]) -> None:
    """The server must return the pipeline's own prediction for each of the first bodies."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for body, expected in list(zip(requests["bodies"], requests["expected"], strict=True))[
            :VERIFY
        ]:
            response = client.post(
                "/invocations", content=body, headers={"Content-Type": "application/json"}
            )
            if response.status_code != 200:
                raise RuntimeError(f"/invocations: {response.status_code} {response.text[:500]}")
            got = response.json().get("predictions")
            if got != [expected]:
                raise RuntimeError(f"wrong prediction: {got} for {body} (expected [{expected}])")


def load(url: str, concurrency: int, warmup: float, duration: float, workdir: Path,
         out: Path | None = None, cpu: int | None = None) -> dict[str, Any]:  # fmt: skip
    port = url.rsplit(":", 1)[1]
    extra = [] if out is None else [out]
    done = sh(
        [*on_cpu(cpu), sys.executable, BENCH / "_serving_load.py", port, concurrency, warmup,
         duration, workdir / "requests.json", *extra]
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def interleaved(config: Config, server: Server, workdir: Path, duration: float) -> dict[str, Any]:
    """Concurrency 1 in SLICES slices, with the in-process floor measured before each slice and
    after the last: this box's speed drifts by tens of percent over minutes, so a floor
    measured once, minutes away from the load, would not compare like with like."""
    piece = max(2.0, duration / SLICES)
    latencies: list[int] = []
    floors: list[int] = []
    errors = 0
    kinds: dict[str, int] = {}
    pinned = PIN and pin(server, SERVER_CPU)
    for k in range(SLICES + 1):
        floor = sh([*on_cpu(SERVER_CPU if pinned else None), sys.executable,
                    BENCH / "_serving_model.py", "floor-samples", workdir, FLOOR_SLICE_CALLS],
                   cwd=workdir, env=config.env)  # fmt: skip
        if floor.returncode != 0:
            raise RuntimeError(f"floor-samples failed:\n{floor.stderr[-3000:]}")
        floors += json.loads(floor.stdout.strip().splitlines()[-1])["samples"]
        if k == SLICES:
            break
        out = workdir / "latencies.json"
        result = load(server.url, 1, WARMUP if k == 0 else 0.5, piece, workdir, out,
                      cpu=LOAD_CPU if pinned else None)  # fmt: skip
        latencies += json.loads(out.read_text())
        errors += result["errors"]
        for kind, count in result["error_kinds"].items():
            kinds[kind] = kinds.get(kind, 0) + count
    if pinned:
        pin(server, None)
    config.pinned = pinned
    latencies.sort()
    floors.sort()
    config.floor_ms = percentile(floors, 50)
    return {
        "concurrency": 1,
        "duration": piece * SLICES,
        "requests": len(latencies),
        "rps": len(latencies) / (piece * SLICES),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "errors": errors,
        "error_kinds": kinds,
        "floor_ms": config.floor_ms,
    }


def on_cpu(cpu: int | None) -> list[str]:
    return [] if cpu is None else ["taskset", "-c", str(cpu)]


def pin(server: Server, cpu: int | None) -> bool:
    """Every thread of the server's processes on ``cpu`` (None: on all CPUs again). At
    concurrency 1 the server gets a core of its own, as the floor does, and the load generator
    the other: sharing a core with it costs a one-row predict 10–40% on this 2-core box, in
    context switches and cold caches, which is not the server's overhead. False where it
    cannot be done (one CPU, no taskset)."""
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        return False
    cpus = str(cpu) if cpu is not None else f"0-{(os.cpu_count() or 1) - 1}"
    group = os.getpgid(server.process.pid)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            if os.getpgid(int(entry.name)) == group:
                sh(["taskset", "-a", "-cp", cpus, entry.name])
    return True


def percentile(ordered: list[int], q: float) -> float:
    """Nearest-rank percentile of sorted nanoseconds, in milliseconds."""
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank] / 1e6


def measure(config: Config, workdir: Path, levels: list[int], duration: float) -> None:
    """Start the server, check its answers, load it at each concurrency, stop it."""
    server = Server(config, workdir, free_port())
    try:
        config.startup = server.startup
        verify(server.url, json.loads((workdir / "requests.json").read_text()))
        for concurrency in levels:
            if concurrency == 1 and config.interleave:
                config.results[1] = interleaved(config, server, workdir, duration)
            else:
                config.results[concurrency] = load(
                    server.url, concurrency, WARMUP, duration, workdir
                )
            if server.process.poll() is not None:
                raise RuntimeError(f"the server exited: {server.tail()}")
    finally:
        server.stop()


def has_flag(cli: Path, flag: str) -> bool:
    return flag in sh([cli, "serve", "--help"], env=dict(os.environ, COLUMNS="200")).stdout


# ---------------------------------------------------------------- the report


Target = tuple[str, str, str, bool | None]  # what, measured, target, passes (None: n/a)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def verdict(ok: bool | None) -> str:
    return {None: "n/a", True: "[green]PASS", False: "[red]MISS"}[ok]


def targets(configs: dict[str, Config], floor: dict[str, float]) -> list[Target]:
    """(what, measured, target, passes) for the issue's four targets."""

    def get(key: str, concurrency: int, figure: str) -> float | None:
        config = configs.get(key)
        found = config.results.get(concurrency) if config else None
        return None if found is None or not found["requests"] else float(found[figure])

    out: list[Target] = []
    p50 = get("modeldeck", 1, "p50_ms")
    ours_config = configs.get("modeldeck")
    interleaved_floor = ours_config.floor_ms if ours_config else None
    floor_ms = interleaved_floor or floor["loaded_predict"] * 1e3
    gap = None if p50 is None else p50 - floor_ms
    out.append(
        (
            "c=1: modeldeck p50 − in-process predict floor"
            + (
                " (measured between the load's slices; server and floor on CPU 1, load on CPU 0)"
                if interleaved_floor and ours_config and ours_config.pinned
                else " (measured between the load's slices)"
                if interleaved_floor
                else ""
            ),
            "n/a" if gap is None else f"{p50:.2f} − {floor_ms:.2f} = {gap:+.2f} ms",
            "≤ 1 ms",
            None if gap is None else gap <= 1.0,
        )
    )
    ours, theirs = get("modeldeck", 8, "rps"), get("mlflow", 8, "rps")
    ratio = ours / theirs if ours and theirs else None
    out.append(
        (
            "c=8: modeldeck req/s ÷ MLflow req/s",
            "n/a" if ratio is None else f"{ours:,.0f} ÷ {theirs:,.0f} = {ratio:.2f}×",
            "≥ 3×",
            None if ratio is None else ratio >= 3,
        )
    )
    on, off = get("modeldeck", 32, "rps"), get("modeldeck-off", 32, "rps")
    ratio = on / off if on and off else None
    out.append(
        (
            "c=32: batching on req/s ÷ batching off req/s",
            "n/a" if ratio is None else f"{on:,.0f} ÷ {off:,.0f} = {ratio:.2f}×",
            "≥ 2×",
            None if ratio is None else ratio >= 2,
        )
    )
    ours, theirs = get("modeldeck", 32, "p99_ms"), get("mlflow", 32, "p99_ms")
    ratio = ours / theirs if ours and theirs else None
    out.append(
        (
            "c=32: modeldeck p99 ÷ MLflow p99",
            "n/a" if ratio is None else f"{ours:.1f} ÷ {theirs:.1f} ms = {ratio:.2f}",
            "≤ 0.33",
            None if ratio is None else ratio <= 1 / 3,
        )
    )
    return out


def report(
    configs: dict[str, Config], floor: dict[str, float], title: str, caption: str
) -> list[Target]:
    table = Table(title=title, caption=caption)
    for col in ("server", "conc.", "req/s", "p50 ms", "p99 ms", "errors", "start s"):
        table.add_column(col, justify="left" if col == "server" else "right")
    for config in configs.values():
        if config.error and not config.results:
            table.add_row(config.label, "—", "failed", "", "", "", "")
        for concurrency, r in sorted(config.results.items()):
            table.add_row(
                config.label,
                str(concurrency),
                f"{r['rps']:,.0f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"[red]{r['errors']}" if r["errors"] else "0",
                f"{config.startup:.1f}" if config.startup else "",
            )
        table.add_section()
    console.print(table)
    console.print(
        f"in-process, one-row DataFrame, median of {floor['calls']:,} calls: loaded model "
        f"predict {ms(floor['loaded_predict'])} (the floor) · raw pipeline predict "
        f"{ms(floor['raw_predict'])} · loaded predict + predict_proba "
        f"{ms(floor['loaded_predict_proba'])} · frame from the request's lists + predict "
        f"{ms(floor['frame_and_predict'])}",
        highlight=False,
    )
    lines = targets(configs, floor)
    for what, measured, target, ok in lines:
        console.print(f"{what}: {measured}  (target {target})  {verdict(ok)}", highlight=False)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per level instead of 15 s")
    parser.add_argument("--duration", type=float, help="measured seconds per level (default 15)")
    parser.add_argument("--concurrency", default="1,8,32", help="levels (default 1,8,32)")
    parser.add_argument("--workers", type=int, default=1, help="workers of each server")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OMP_NUM_THREADS of the servers and the floor (default 1; 0: leave unset)",
    )
    parser.add_argument(
        "--servers",
        default="modeldeck,modeldeck-off,mlflow",
        help="which to run (default all: modeldeck,modeldeck-off,mlflow)",
    )
    parser.add_argument(
        "--serve-args",
        default="",
        help="more options for `modeldeck serve`, e.g. --serve-args=--no-log",
    )
    parser.add_argument("--json", metavar="PATH", help="also save the figures as JSON")
    parser.add_argument("--mlflow-python", metavar="PATH", help="python of a venv with MLflow")
    parser.add_argument("--tmp", metavar="DIR", help="parent of the temp dir (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, models)")
    args = parser.parse_args()
    duration = args.duration or (3.0 if args.quick else 15.0)
    chosen = {s.strip() for s in args.servers.split(",") if s.strip()}
    if unknown := chosen - {"modeldeck", "modeldeck-off", "mlflow"}:
        parser.error(f"unknown server(s): {', '.join(sorted(unknown))}")
    levels = sorted({int(c) for c in args.concurrency.split(",") if c.strip()})
    mlflow_python = find_mlflow_python(args.mlflow_python)
    cli = Path(sys.executable).parent / "modeldeck"  # no resolve(): venv links
    mlflow_cli = Path(mlflow_python).parent / "mlflow"

    workdir = Path(tempfile.mkdtemp(prefix="modeldeck-bench-serving-", dir=args.tmp))
    base = dict(os.environ, PYTHONWARNINGS="ignore")
    if args.threads:
        # HistGradientBoosting predicts with OpenMP; on a busy 2-core box its threads spin
        # against the load generator and one row takes tens of ms instead of ~1 ms
        base |= {"OMP_NUM_THREADS": str(args.threads)}
    ours = base | {"MODELDECK_HOME": str(workdir / "md")}
    theirs = base | {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        # `mlflow models serve` runs `bash -c "exec uvicorn …"`: its venv must come first
        "PATH": f"{mlflow_cli.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    console.print(f"[dim]work dir {workdir}; MLflow at {mlflow_python}")
    configs: dict[str, Config] = {}
    errors: list[str] = []
    floor: dict[str, float] = {}
    info: dict[str, Any] = {}
    try:
        console.print("[dim]training and registering the pipeline…")
        info = worker(sys.executable, "_serving_model.py", "prepare", workdir, ROWS, REQUESTS,
                      cwd=workdir, env=ours)  # fmt: skip
        info |= worker(mlflow_python, "_serving_mlflow.py", workdir, cwd=workdir, env=theirs)
        console.print("[dim]in-process floor…")
        calls = FLOOR_CALLS // 5 if args.quick else FLOOR_CALLS
        floor = worker(sys.executable, "_serving_model.py", "floor", workdir, calls,
                       cwd=workdir, env=ours)  # fmt: skip

        extra = shlex.split(args.serve_args)
        serve = [str(cli), "serve", info["model"], "--workers", str(args.workers), *extra]
        serve.append("--port")
        batching = has_flag(cli, "--max-batch")
        if batching:
            configs["modeldeck"] = Config(
                "modeldeck (batching)", serve, "/health/ready", ours, interleave=True
            )
            configs["modeldeck-off"] = Config(
                "modeldeck (batching off)", [*serve[:-1], "--max-batch", "1", "--port"],
                "/health/ready", ours,
            )  # fmt: skip
        else:
            console.print(
                "[yellow]note: `modeldeck serve` has no --max-batch yet: modeldeck runs once, "
                "as it is, and the batching target is n/a"
            )
            configs["modeldeck"] = Config("modeldeck (no batching)", serve, "/health/ready", ours)
        mlflow_serve = [
            str(mlflow_cli), "models", "serve", "-m", str(workdir / "mlflow-model"),
            "--env-manager", "local", "-w", str(args.workers), "-p",
        ]  # fmt: skip
        configs["mlflow"] = Config(f"MLflow {info['mlflow']}", mlflow_serve, "/ping", theirs)
        configs = {key: c for key, c in configs.items() if key in chosen}

        load = os.getloadavg()[0]
        if load > 1.0:
            console.print(f"[yellow]load average {load:.1f} before measuring: other work runs")
        for config in configs.values():
            console.print(f"[dim]{config.label}: {len(levels)} levels × {duration:g} s…")
            try:
                measure(config, workdir, levels, duration)
            except Exception as exc:  # report it with the others, go on with the rest
                config.error = f"{type(exc).__name__}: {exc}"
                errors.append(f"{config.label}: {config.error}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    mode = "quick" if args.quick else "full"
    caption = (
        f"{args.workers} worker(s) each; single-row POST /invocations (dataframe_split, the same "
        f"bytes for both, {REQUESTS} distinct test rows), {WARMUP:g} s warm-up then "
        f"{duration:g} s per level; one keep-alive connection per concurrent caller"
        + (f"; OMP_NUM_THREADS={args.threads}" if args.threads else "")
    )
    lines: list[Target] = []
    if floor:
        lines = report(configs, floor, f"modeldeck serve vs mlflow models serve ({mode})", caption)
    for config in configs.values():
        for concurrency, r in sorted(config.results.items()):
            for kind, count in r["error_kinds"].items():
                errors.append(f"{config.label} c={concurrency}: {count} × {kind}")
    if args.json:
        out = {
            "model": info,
            "floor": floor,
            "workers": args.workers,
            "threads": args.threads,
            "duration": duration,
            "warmup": WARMUP,
            "servers": {
                key: {"label": c.label, "startup": c.startup, "error": c.error, "levels": c.results}
                for key, c in configs.items()
            },
            "targets": [
                {"what": w, "measured": m, "target": t, "pass": ok} for w, m, t, ok in lines
            ],
            "errors": errors,
        }
        Path(args.json).write_text(json.dumps(out, indent=2))
        console.print(f"[dim]figures saved to {args.json}")
    for line in errors:
        console.print(line, style="red", markup=False, highlight=False)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
