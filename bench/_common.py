"""The scenarios and data shared by the benchmark workers and the driver (stdlib only: both
venvs import it). Each worker is a thin adapter (``_worker_modeldeck.py``, ``_worker_mlflow.py``)
so both systems run exactly the same loops on the same data.

Every run's params and metrics come from a seeded generator, so both stores hold the same
values and the driver can compute the exact expected search result.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from typing import Any

EXPERIMENT = "bench"
OTHER_EXPERIMENT = "other"  # fills the big store: MLflow's search slows as the whole DB grows
FILTER = "metrics.m0 > 0.5 and params.p1 = 'x'"  # about 1 run in 6 matches
ORDER_BY = "metrics.m0 desc"
TOP = 100
now = time.perf_counter


def run_data(experiment: str, i: int) -> tuple[dict[str, str], dict[str, float]]:
    """The 5 params and 5 metrics of run ``i`` of ``experiment``."""
    rng = random.Random(f"{experiment}/{i}")
    params = {
        "p0": rng.choice(["gbm", "rf", "logreg"]),
        "p1": rng.choice(["x", "y", "z"]),
        "p2": str(rng.randrange(1, 500)),
        "p3": f"{rng.uniform(1e-4, 1e-1):.6f}",
        "p4": rng.choice(["true", "false"]),
    }
    return params, {f"m{j}": rng.random() for j in range(5)}


def run_name(experiment: str, i: int) -> str:
    return f"{experiment[0]}{i}"


def expected_search(n: int) -> tuple[int, list[float]]:
    """How many of the first ``n`` runs of EXPERIMENT match FILTER, and the top m0 values."""
    hits = []
    for i in range(n):
        params, metrics = run_data(EXPERIMENT, i)
        if metrics["m0"] > 0.5 and params["p1"] == "x":
            hits.append(metrics["m0"])
    return len(hits), sorted(hits, reverse=True)[:TOP]


# Scenarios. ``sdk`` is a worker module; ``mode`` is MLflow's "sync" or "async" (modeldeck
# has one mode: buffered, durable after flush). Store setup happens before the clock starts.
def log_metric(sdk: Any, n: str, mode: str = "sync") -> dict:
    sdk.warm_up()
    with sdk.start_run(EXPERIMENT, "a"):
        t0 = now()
        for i in range(int(n)):
            sdk.log_metric("loss", 1.0 / (i + 1), i, mode)
        sdk.flush(mode)
        return {"seconds": now() - t0}


def log_metrics(sdk: Any, calls: str, keys: str, mode: str = "sync") -> dict:
    sdk.warm_up()
    batches = [
        {f"metric_{j:04d}": s + j / 1000 for j in range(int(keys))} for s in range(int(calls))
    ]
    with sdk.start_run(EXPERIMENT, "b"):
        t0 = now()
        for step, batch in enumerate(batches):
            sdk.log_metrics(batch, step, mode)
        sdk.flush(mode)
        return {"seconds": now() - t0}


def log_runs(sdk: Any, experiment: str, n: int, start: int = 0) -> None:
    """Runs ``start``..``n``-1 of ``experiment``, each with its params and metrics."""
    for i in range(start, n):
        params, metrics = run_data(experiment, i)
        with sdk.start_run(experiment, run_name(experiment, i)):
            sdk.log_params(params)
            sdk.log_metrics(metrics, None, "sync")
    sdk.flush("sync")


def runs(sdk: Any, n: str) -> dict:
    sdk.warm_up()
    t0 = now()
    log_runs(sdk, EXPERIMENT, int(n))
    return {"seconds": now() - t0}


def populate(sdk: Any, n: str, other: str) -> dict:
    t0 = now()
    sdk.populate(int(n), int(other))
    return {"seconds": now() - t0}


def fill(sdk: Any, experiment: str, start: str, stop: str) -> dict:
    """Add runs ``start``..``stop``-1 of ``experiment`` (bench/server.py: the ones before
    ``start`` went through the server); run 0 is made here when ``start`` is 0."""
    t0 = now()
    sdk.fill(experiment, int(start), int(stop))
    return {"seconds": now() - t0}


def search(sdk: Any, queries: str) -> dict:
    latencies, result = [], []
    for _ in range(int(queries)):
        t0 = now()
        result = sdk.search()
        latencies.append(now() - t0)
    return {"seconds": statistics.median(latencies), "first": latencies[0], "m0": sdk.m0(result)}


def main(sdk: Any) -> None:
    """``python _worker_X.py SCENARIO ARGS...``: run it, print one JSON line of timings."""
    scenario, *args = sys.argv[1:]
    print(json.dumps(globals()[scenario](sdk, *args)))
