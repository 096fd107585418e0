"""MLflow's side of the benchmark: ``python _worker_mlflow.py SCENARIO ARGS...``.

Runs in MLflow's own venv, cwd = a fresh temp dir, MLFLOW_TRACKING_URI = a SQLite file in it
(artifacts go to ./mlruns), MLFLOW_ENABLE_ASYNC_LOGGING=false; "async" passes
``synchronous=False`` and then waits with ``mlflow.flush_async_logging()``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import uuid
from contextlib import AbstractContextManager
from typing import Any

import mlflow

from _common import EXPERIMENT, FILTER, ORDER_BY, OTHER_EXPERIMENT, TOP, main, run_data, run_name

logging.disable(logging.WARNING)
_experiment = None


def warm_up() -> None:
    with start_run("warmup", "warmup"):
        mlflow.log_metric("x", 0.0)


def start_run(experiment: str, name: str) -> AbstractContextManager[Any]:
    global _experiment
    if experiment != _experiment:
        mlflow.set_experiment(experiment)
        _experiment = experiment
    return mlflow.start_run(run_name=name)


def log_metric(key: str, value: float, step: int, mode: str) -> None:
    mlflow.log_metric(key, value, step=step, synchronous=mode == "sync")


def log_metrics(values: dict[str, float], step: int | None, mode: str) -> None:
    mlflow.log_metrics(values, step=step, synchronous=mode == "sync")


def log_params(params: dict[str, str]) -> None:
    mlflow.log_params(params)


def flush(mode: str) -> None:
    if mode == "async":
        mlflow.flush_async_logging()


def populate(n: int, other: int) -> None:
    """Fill the big store fast: run 0 of each experiment goes through the fluent API, the
    others are copies of its rows (runs, tags, params, metrics, latest_metrics) with their own
    ids, names and values, in one SQLite transaction. Logging 15,000 runs takes minutes."""
    db = os.environ["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")
    for experiment, count in ((EXPERIMENT, n), (OTHER_EXPERIMENT, other)):
        params, metrics = run_data(experiment, 0)
        with start_run(experiment, run_name(experiment, 0)) as run:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
        _copy_run(db, run.info.run_id, experiment, count)


def _copy_run(db: str, template: str, experiment: str, count: int) -> None:
    con = sqlite3.connect(db)
    rows = {}
    for table in ["runs", "tags", "params", "metrics", "latest_metrics"]:
        cursor = con.execute(f"SELECT * FROM {table} WHERE run_uuid = ?", (template,))
        rows[table] = ([c[0] for c in cursor.description], cursor.fetchall())
    new_rows: dict[str, list[tuple]] = {table: [] for table in rows}
    for i in range(1, count):
        run_id, name = uuid.uuid4().hex, run_name(experiment, i)
        params, metrics = run_data(experiment, i)
        for table, (cols, template_rows) in rows.items():
            for values in template_rows:
                row = dict(zip(cols, values, strict=True))
                row = {
                    k: v.replace(template, run_id) if isinstance(v, str) else v
                    for k, v in row.items()
                }
                if table == "runs":
                    row["name"] = name
                elif table == "tags" and row["key"] == "mlflow.runName":
                    row["value"] = name
                elif table == "params":
                    row["value"] = params[row["key"]]
                elif table in ("metrics", "latest_metrics"):
                    row["value"] = metrics[row["key"]]
                new_rows[table].append(tuple(row.values()))
    with con:
        for table, (cols, _) in rows.items():
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            con.executemany(sql, new_rows[table])
    con.close()


def search() -> list[Any]:
    return mlflow.search_runs(
        experiment_names=[EXPERIMENT],
        filter_string=FILTER,
        order_by=[ORDER_BY],
        max_results=TOP,
        output_format="list",
    )


def m0(runs: list[Any]) -> list[float]:
    return [run.data.metrics["m0"] for run in runs]


if __name__ == "__main__":
    main(sys.modules[__name__])
