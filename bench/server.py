"""Server benchmark: `modeldeck server` and `mlflow server` side by side, on the same backend.

    python bench/server.py [--quick] [--backends sqlite,postgres] [--json OUT]
                           [--mlflow-python PATH] [--pg URL] [--tmp DIR] [--keep]

For each backend, each system's server runs with 2 workers over a fresh store of its own, one
system at a time, and one load driver (httpx, one keep-alive client per thread) measures:
startup until /health answers, idle memory of the whole process tree, batched metric ingestion
and run creation with 16 concurrent clients, and search_runs over 10,000 runs. Only the request
shapes differ between the systems (``Modeldeck`` and ``Mlflow`` below). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table

from _common import (
    EXPERIMENT,
    FILTER,
    ORDER_BY,
    OTHER_EXPERIMENT,
    TOP,
    expected_search,
    run_data,
    run_name,
)
from _process import stop_group
from _venv import BENCH, console, find_mlflow_python, sh

WORKERS = 2
# starts: timed server starts (after one untimed); idle: seconds before memory is read;
# batches: batches of `batch` metrics per client; runs: created through the API, these are the
# first runs of the searched experiment; search: its size; other: a second experiment's size
FULL = {
    "starts": 3,
    "idle": 5,
    "clients": 16,
    "batches": 10,
    "batch": 1_000,
    "runs": 1_000,
    "search": 10_000,
    "other": 5_000,
    "queries": 7,
}
QUICK = FULL | {"starts": 1, "idle": 3, "batches": 2, "runs": 160, "search": 1_000, "other": 500}
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432"
ADMIN = "root"
now = time.perf_counter


@dataclass
class Store:
    backend: str  # "sqlite" or "postgres"
    workdir: Path  # the server's cwd, home, artifacts and log
    url: str  # sqlite:///… or postgresql://…/db (each system adds its driver)


class System:
    """One server and the shapes of its requests; the driver below is the same for both."""

    name = ""

    def __init__(self, python: str, store: Store) -> None:
        self.python = python
        self.store = store
        self.headers = {"Content-Type": "application/json"}

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONWARNINGS="ignore")

    def prepare(self) -> None:
        """Before the first start: create the schema where the server does not."""

    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def experiment(self, client: httpx.Client, name: str) -> str:
        """Create an experiment; what later requests name it by."""
        raise NotImplementedError

    def create_run(self, client: httpx.Client, experiment: str, name: str) -> str:
        raise NotImplementedError

    def finish_run(
        self, client: httpx.Client, run_id: str, params: dict[str, str], metrics: dict[str, float]
    ) -> None:
        """Log the params and metrics of a new run and end it."""
        raise NotImplementedError

    def metric_batch(self, run_id: str, step: int, values: dict[str, float]) -> tuple[str, bytes]:
        """Path and body of one request that logs ``values`` at ``step``."""
        raise NotImplementedError

    def search(self, client: httpx.Client, experiment: str) -> list[float]:
        """m0 of the top runs of the benchmark's search, best first."""
        raise NotImplementedError

    def fill(self, experiment: str, start: int, stop: int) -> float:
        """Runs start..stop-1 of ``experiment`` through the worker's bulk path (untimed)."""
        worker = BENCH / f"_worker_{self.name}.py"
        done = sh(
            [self.python, worker, "fill", experiment, start, stop],
            cwd=self.store.workdir,
            env=self.env(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"{worker.name} fill {experiment}: {done.stderr[-1500:]}")
        return float(json.loads(done.stdout.splitlines()[-1])["seconds"])


class Modeldeck(System):
    name = "modeldeck"

    @property
    def uri(self) -> str:
        return self.store.url.replace("postgresql://", "postgresql+psycopg://", 1)

    def env(self) -> dict[str, str]:
        return super().env() | {
            "MODELDECK_HOME": str(self.store.workdir / "home"),
            "MODELDECK_TRACKING_URI": self.uri,
            "MODELDECK_ARTIFACTS": str(self.store.workdir / "objects"),
            "MODELDECK_USER": ADMIN,
        }

    def prepare(self) -> None:
        # Byte-compile the package once, as pip does when it installs a wheel: an editable
        # install run with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module of
        # the server at every start (MLflow's site-packages were compiled by pip).
        where = sh(
            [self.python, "-c", "import modeldeck, os; print(os.path.dirname(modeldeck.__file__))"],
            env=self.env(),
        )
        sh([self.python, "-m", "compileall", "-q", where.stdout.strip()], env=self.env())
        init = sh([self.cli, "server", "init", "--admin", ADMIN], env=self.env())
        if init.returncode != 0:
            raise RuntimeError(f"modeldeck server init: {init.stderr[-1500:]}")
        self.headers["Authorization"] = f"Bearer {init.stdout.strip()}"

    @property
    def cli(self) -> Path:
        return Path(self.python).parent / "modeldeck"  # no resolve(): venv links

    def command(self, port: int) -> list[str]:
        return [str(self.cli), "server", "--port", str(port), "--workers", str(WORKERS)]

    def experiment(self, client: httpx.Client, name: str) -> str:
        return name  # created with its first run

    def create_run(self, client: httpx.Client, experiment: str, name: str) -> str:
        return str(post(client, "/api/v1/runs", {"experiment": experiment, "name": name})["id"])

    def finish_run(
        self, client: httpx.Client, run_id: str, params: dict[str, str], metrics: dict[str, float]
    ) -> None:
        # what RemoteClient sends: the params, then the end with the run's last metrics
        post(client, f"/api/v1/runs/{run_id}/params", {"values": params})
        ts = millis()
        batch = [{"key": k, "value": v, "step": 0, "timestamp": ts} for k, v in metrics.items()]
        post(client, f"/api/v1/runs/{run_id}/end", {"status": "FINISHED", "metrics": batch})

    def metric_batch(self, run_id: str, step: int, values: dict[str, float]) -> tuple[str, bytes]:
        ts = millis()
        batch = [{"key": k, "value": v, "step": step, "timestamp": ts} for k, v in values.items()]
        return f"/api/v1/runs/{run_id}/metrics", encode({"metrics": batch})

    def search(self, client: httpx.Client, experiment: str) -> list[float]:
        body = {
            "experiments": [experiment],
            "filter": FILTER,
            "order_by": [ORDER_BY],
            "max_results": TOP,
        }
        return [run["metrics"]["m0"] for run in post(client, "/api/v1/runs/search", body)["runs"]]


class Mlflow(System):
    name = "mlflow"
    api = "/api/2.0/mlflow"

    def env(self) -> dict[str, str]:
        return super().env() | {
            "MLFLOW_TRACKING_URI": self.store.url,  # for the fill worker, which skips the server
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "GIT_PYTHON_REFRESH": "quiet",
        }

    def command(self, port: int) -> list[str]:
        return [
            str(Path(self.python).parent / "mlflow"),
            "server",
            *("--backend-store-uri", self.store.url),
            *("--artifacts-destination", str(self.store.workdir / "mlartifacts")),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)),
        ]

    def experiment(self, client: httpx.Client, name: str) -> str:
        return str(post(client, f"{self.api}/experiments/create", {"name": name})["experiment_id"])

    def create_run(self, client: httpx.Client, experiment: str, name: str) -> str:
        body = {"experiment_id": experiment, "run_name": name, "start_time": millis()}
        return str(post(client, f"{self.api}/runs/create", body)["run"]["info"]["run_id"])

    def finish_run(
        self, client: httpx.Client, run_id: str, params: dict[str, str], metrics: dict[str, float]
    ) -> None:
        ts = millis()
        batch = {
            "run_id": run_id,
            "params": [{"key": k, "value": v} for k, v in params.items()],
            "metrics": [
                {"key": k, "value": v, "step": 0, "timestamp": ts} for k, v in metrics.items()
            ],
        }
        post(client, f"{self.api}/runs/log-batch", batch)
        end = {"run_id": run_id, "status": "FINISHED", "end_time": millis()}
        post(client, f"{self.api}/runs/update", end)

    def metric_batch(self, run_id: str, step: int, values: dict[str, float]) -> tuple[str, bytes]:
        ts = millis()
        batch = [{"key": k, "value": v, "step": step, "timestamp": ts} for k, v in values.items()]
        return f"{self.api}/runs/log-batch", encode({"run_id": run_id, "metrics": batch})

    def search(self, client: httpx.Client, experiment: str) -> list[float]:
        body = {
            "experiment_ids": [experiment],
            "filter": FILTER,
            "order_by": [ORDER_BY],
            "max_results": TOP,
        }
        runs = post(client, f"{self.api}/runs/search", body).get("runs", [])
        return [
            next(m["value"] for m in run["data"]["metrics"] if m["key"] == "m0") for run in runs
        ]


# ---------------------------------------------------------------- the load driver


def millis() -> int:
    return int(time.time() * 1000)


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


class Retries:
    """Requests retried after a 429 or 5xx answer, as MLflow's own client retries them."""

    STATUS = frozenset({429, 500, 502, 503, 504})
    ATTEMPTS = 8  # waits 0.05, 0.1, … 3.2 s in between

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.last = ""

    def add(self, what: str) -> None:
        with self.lock:
            self.count += 1
            self.last = what


RETRIES = Retries()


def post(client: httpx.Client, path: str, body: Any) -> Any:
    content = body if isinstance(body, bytes) else encode(body)
    for attempt in range(Retries.ATTEMPTS):
        response = client.post(path, content=content)
        if response.status_code not in Retries.STATUS or attempt == Retries.ATTEMPTS - 1:
            break
        RETRIES.add(f"POST {path}: {response.status_code} {response.text[:300]}")
        time.sleep(0.05 * 2**attempt)
    if response.status_code >= 400:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


def concurrently(
    clients: list[httpx.Client], job: Callable[[int, httpx.Client], None]
) -> tuple[float, int]:
    """Seconds until ``job(i, client)`` has returned for every client, each in its own thread,
    and how many requests were retried meanwhile."""
    retried = RETRIES.count
    with ThreadPoolExecutor(len(clients)) as pool:
        t0 = now()
        for future in [pool.submit(job, i, c) for i, c in enumerate(clients)]:
            future.result()
        return now() - t0, RETRIES.count - retried


@contextmanager
def keep_alive_clients(url: str, headers: dict[str, str], n: int) -> Iterator[list[httpx.Client]]:
    clients = [httpx.Client(base_url=url, headers=headers, timeout=120) for _ in range(n)]
    try:
        for client in clients:  # connect before any clock starts
            client.get("/health").raise_for_status()
        yield clients
    finally:
        for client in clients:
            client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process in a session of its own, so that stopping it stops all its children."""

    def __init__(self, system: System) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = system.store.workdir / f"{system.name}-{self.port}.log"
        with self.log.open("wb") as out:
            t0 = now()
            self.process = subprocess.Popen(
                system.command(self.port),
                cwd=system.store.workdir,
                env=system.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.startup = self._wait_healthy(t0)

    def _wait_healthy(self, t0: float, limit: float = 180) -> float:
        with httpx.Client(timeout=2) as probe:
            while now() - t0 < limit:
                with suppress(httpx.TransportError):
                    if probe.get(f"{self.url}/health").status_code == 200:
                        return now() - t0
                if self.process.poll() is not None:
                    break
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"no /health within {limit:.0f} s: {self.log.read_text()[-1500:]}")

    def memory(self) -> dict[str, int]:
        """RSS (and PSS, which counts shared pages once) summed over the process tree."""
        pids = descendants(self.process.pid)
        rss = pss = 0
        for pid in pids:
            with suppress(OSError):
                rss += proc_kib(f"/proc/{pid}/status", "VmRSS:") * 1024
                pss += proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:") * 1024
        return {"processes": len(pids), "rss": rss, "pss": pss}

    def stop(self) -> None:
        stop_group(self.process)


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def proc_kib(path: str, field: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- the scenarios


def measure(system: System, size: dict[str, int]) -> dict[str, Any]:
    """Every figure of one system on one store; the last server started serves the load."""
    out: dict[str, Any] = {"startup": [], "memory": []}
    system.prepare()
    Server(system).stop()  # untimed: MLflow creates its schema here; both warm the file cache
    for attempt in range(1, size["starts"] + 1):
        server = Server(system)
        try:
            out["startup"].append(server.startup)
            time.sleep(size["idle"])
            out["memory"].append(server.memory())
            if attempt == size["starts"]:
                with keep_alive_clients(server.url, system.headers, size["clients"]) as clients:
                    out |= ingest(system, clients, size)
                    experiment = system.experiment(clients[0], EXPERIMENT)
                    out |= create_runs(system, clients, experiment, size)
                    out |= search(system, clients[0], experiment, size)
        finally:
            server.stop()
    return out


def ingest(system: System, clients: list[httpx.Client], size: dict[str, int]) -> dict[str, Any]:
    """Each client logs ``batches`` batches of ``batch`` metrics (one step each) into its run."""
    experiment = system.experiment(clients[0], "ingest")
    run_ids = [system.create_run(clients[0], experiment, f"i{i}") for i in range(len(clients))]
    keys = [f"metric_{j:04d}" for j in range(size["batch"])]
    requests = [  # encoded before the clock starts
        [
            system.metric_batch(run_id, step, {k: step + j / 1000 for j, k in enumerate(keys)})
            for step in range(size["batches"])
        ]
        for run_id in run_ids
    ]

    def job(i: int, client: httpx.Client) -> None:
        for path, body in requests[i]:
            post(client, path, body)

    seconds, retried = concurrently(clients, job)
    return {"ingest": seconds, "ingest_retried": retried}


def create_runs(
    system: System, clients: list[httpx.Client], experiment: str, size: dict[str, int]
) -> dict[str, Any]:
    """Runs 0..runs-1 of the searched experiment: create, 5 params + 5 metrics, end."""

    def job(first: int, client: httpx.Client) -> None:
        for i in range(first, size["runs"], len(clients)):
            params, metrics = run_data(EXPERIMENT, i)
            run_id = system.create_run(client, experiment, run_name(EXPERIMENT, i))
            system.finish_run(client, run_id, params, metrics)

    seconds, retried = concurrently(clients, job)
    return {"runs": seconds, "runs_retried": retried}


def search(
    system: System, client: httpx.Client, experiment: str, size: dict[str, int]
) -> dict[str, Any]:
    """Fill the searched experiment up to ``search`` runs and add ``other``, then query."""
    filled = system.fill(EXPERIMENT, size["runs"], size["search"])
    filled += system.fill(OTHER_EXPERIMENT, 0, size["other"])
    if system.store.backend == "postgres":
        analyze(system.store.url)
    latencies, m0 = [], []
    for _ in range(size["queries"] + 1):  # the first, untimed, warms the server's caches
        t0 = now()
        m0 = system.search(client, experiment)
        latencies.append(now() - t0)
    return {
        "search": statistics.median(latencies[1:]),
        "search_first": latencies[0],
        "m0": m0,
        "fill": filled,
    }


# ---------------------------------------------------------------- stores and the report


class Postgres:
    """Fresh databases on one PostgreSQL server, dropped at the end."""

    def __init__(self, url: str) -> None:
        import psycopg  # modeldeck's [postgres] extra

        self.url = url.rstrip("/")
        self.admin = psycopg.connect(f"{self.url}/postgres", autocommit=True)
        self.databases: list[str] = []

    def create(self, name: str) -> str:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return f"{self.url}/{name}"

    def close(self) -> None:
        for name in self.databases:
            with suppress(Exception):
                self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


def analyze(url: str) -> None:
    """Refresh the planner's statistics, as autovacuum does within a minute or so of the fill.

    Searched right after a bulk fill, both systems would be planned on the statistics of
    nearly empty tables (modeldeck: 0.9 s instead of 34 ms over 3,000 runs)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def figure(figures: dict[str, Any], key: str) -> float | None:
    """The median of a system's samples of ``key`` (memory: RSS in MB)."""
    value = figures.get(key)
    if key == "memory" and value:
        return statistics.median(m["rss"] for m in value) / 1e6
    if isinstance(value, list):
        return statistics.median(value) if value else None
    return value


def rows_for(backend: str, found: dict[str, dict[str, Any]], size: dict[str, int]) -> list[dict]:
    """One row per scenario; ratio = MLflow / modeldeck, so > 1 means modeldeck does better."""
    n, runs, clients = (
        size["clients"] * size["batches"] * size["batch"],
        size["runs"],
        size["clients"],
    )
    starts = f"median of {size['starts']} starts" if size["starts"] > 1 else "1 start"

    def retried(figures: dict[str, Any], key: str) -> str:
        count = figures.get(f"{key}_retried", 0)
        return f" ({count} retried)" if count else ""

    def memory(mb: float, figures: dict[str, Any]) -> str:
        return f"{mb:,.0f} MB · {figures['memory'][-1]['processes']} proc"

    # label, key, show(value, figures), target, passes(modeldeck's value, ratio)
    specs: list[tuple[str, str, Callable[[float, dict], str], str, Callable[..., bool | None]]] = [
        (
            f"startup to /health, {starts}",
            "startup",
            lambda v, _: fmt_seconds(v),
            "≤ 1.5 s",
            lambda v, _: v <= 1.5,
        ),
        (
            "idle memory (RSS, all processes)",
            "memory",
            memory,
            "≤ 250 MB",
            lambda v, _: v <= 250,
        ),
        (
            f"ingest {n:,} metrics, {clients} clients",
            "ingest",
            lambda v, f: f"{fmt_seconds(v)} · {n / v:,.0f}/s{retried(f, 'ingest')}",
            "≥ 3×",
            lambda _, r: None if r is None else r >= 3,
        ),
        (
            f"create {runs:,} runs, {clients} clients",
            "runs",
            lambda v, f: f"{fmt_seconds(v)} · {runs / v:,.0f}/s{retried(f, 'runs')}",
            "≥ 3×",
            lambda _, r: None if r is None else r >= 3,
        ),
        (
            f"search top {TOP} of {size['search']:,} runs",
            "search",
            lambda v, _: fmt_seconds(v),
            "≥ 5×",
            lambda _, r: None if r is None else r >= 5,
        ),
    ]
    rows = []
    md_figures, ml_figures = found.get("modeldeck", {}), found.get("mlflow", {})
    for label, key, show, target, passes in specs:
        md, ml = figure(md_figures, key), figure(ml_figures, key)
        ratio = ml / md if md and ml else None
        texts = [
            "n/a" if v is None else show(v, f) for v, f in ((md, md_figures), (ml, ml_figures))
        ]
        rows.append(
            {
                "backend": backend,
                "scenario": label,
                "modeldeck": md,
                "mlflow": ml,
                "ratio": ratio,
                "target": target,
                "pass": None if md is None else passes(md, ratio),
                "text": texts,
            }
        )
    return rows


def report(rows: list[dict], title: str, caption: str) -> None:
    table = Table(title=title, caption=caption)
    for col in ("backend", "scenario", "modeldeck", "MLflow", "ratio", "target", "result"):
        table.add_column(col, justify="left" if col in ("backend", "scenario") else "right")
    for row in rows:
        verdict = {None: "—", True: "[green]PASS", False: "[red]MISS"}[row["pass"]]
        ratio = f"{row['ratio']:,.1f}×" if row["ratio"] else "n/a"
        table.add_row(row["backend"], row["scenario"], *row["text"], ratio, row["target"], verdict)
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one timed start")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite,postgres (default)")
    parser.add_argument("--json", metavar="PATH", help="also save the figures as JSON")
    parser.add_argument("--mlflow-python", metavar="PATH", help="python of a venv with MLflow")
    parser.add_argument("--pg", default=PG_DEFAULT, metavar="URL", help=f"default {PG_DEFAULT}")
    parser.add_argument("--tmp", metavar="DIR", help="parent of the temp dirs (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs and databases")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - {"sqlite", "postgres"}:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    extras = {"psycopg": "psycopg[binary]"} if "postgres" in backends else None
    mlflow_python = find_mlflow_python(args.mlflow_python, extras)
    version = sh([mlflow_python, "-c", "import mlflow; print(mlflow.__version__)"]).stdout.strip()
    parent = Path(tempfile.mkdtemp(prefix="modeldeck-bench-server-", dir=args.tmp))
    console.print(f"[dim]stores under {parent}; MLflow {version} at {mlflow_python}")
    pg = Postgres(args.pg) if "postgres" in backends else None
    samples: dict[str, dict[str, dict[str, Any]]] = {}
    errors: dict[str, str] = {}
    try:
        for backend in backends:
            for cls, python in ((Modeldeck, sys.executable), (Mlflow, mlflow_python)):
                workdir = Path(tempfile.mkdtemp(prefix=f"{cls.name}-{backend}-", dir=parent))
                if pg is not None and backend == "postgres":
                    url = pg.create(f"bench_{cls.name}_{os.getpid()}")
                else:
                    url = f"sqlite:///{workdir / 'store.db'}"
                system = cls(python, Store(backend, workdir, url))
                console.print(f"[dim]{backend}: {cls.name}…")
                try:
                    samples.setdefault(backend, {})[cls.name] = measure(system, size)
                except Exception as exc:  # report it with the others, go on with the rest
                    errors[f"{backend}/{cls.name}"] = f"{type(exc).__name__}: {exc}"
    finally:
        if pg is not None and not args.keep:
            pg.close()
        if not args.keep:
            shutil.rmtree(parent, ignore_errors=True)
    _, top = expected_search(size["search"])
    for backend, found in samples.items():
        for name, figures in found.items():
            if [round(v, 9) for v in figures.get("m0", [])] != [round(v, 9) for v in top]:
                errors[f"{backend}/{name}: wrong search result"] = f"{figures.get('m0', [])[:5]}…"
    rows = [row for b in backends for row in rows_for(b, samples.get(b, {}), size)]
    mode = "quick" if args.quick else "full"
    caption = (
        f"{WORKERS} workers each; ingest: each client logs {size['batches']} batches of "
        f"{size['batch']:,} metrics into its own run; a run: create, 5 params + 5 metrics, end; "
        f"search: filtered, ordered, median of {size['queries']} queries, the store also holds "
        f"{size['other']:,} runs of another experiment. Ratio: MLflow ÷ modeldeck (> 1: "
        "modeldeck better)."
    )
    report(rows, f"modeldeck vs MLflow {version}: team servers ({mode})", caption)
    if RETRIES.count:
        console.print(f"{RETRIES.count} request(s) retried; the last: {RETRIES.last}", markup=False)
    if args.json:
        out = {"sizes": size, "workers": WORKERS, "mlflow": version, "samples": samples}
        out |= {
            "rows": rows,
            "errors": errors,
            "retried": RETRIES.count,
            "last_retry": RETRIES.last,
        }
        Path(args.json).write_text(json.dumps(out, indent=2))
        console.print(f"[dim]figures saved to {args.json}")
    for what, detail in errors.items():
        console.print(what, style="red", markup=False)
        console.print(detail.strip(), markup=False, highlight=False)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
