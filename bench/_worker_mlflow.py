"""MLflow's side of the benchmark: ``python _worker_mlflow.py SCENARIO ARGS...``.

Runs in MLflow's own venv, cwd = a fresh temp dir, MLFLOW_TRACKING_URI = a SQLite file in it
(artifacts go to ./mlruns), MLFLOW_ENABLE_ASYNC_LOGGING=false; "async" passes
``synchronous=False`` and then waits with ``mlflow.flush_async_logging()``. bench/server.py
runs ``fill`` on its server's store (SQLite or PostgreSQL), beside the running server.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from contextlib import AbstractContextManager
from typing import Any

import mlflow
import sqlalchemy as sa

from _common import EXPERIMENT, FILTER, ORDER_BY, OTHER_EXPERIMENT, TOP, main, run_data, run_name

logging.disable(logging.WARNING)
_experiment = None
_RUN_TABLES = ("runs", "tags", "params", "metrics", "latest_metrics")


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
    """Fill the big store fast: see ``fill``. Logging 15,000 runs one by one takes minutes."""
    fill(EXPERIMENT, 0, n)
    fill(OTHER_EXPERIMENT, 0, other)


def fill(experiment: str, start: int, stop: int) -> None:
    """Runs ``start``..``stop``-1 of ``experiment``: run 0 goes through the fluent API (here
    when ``start`` is 0, else it is already there), the others are copies of its rows (runs,
    tags, params, metrics, latest_metrics) with their own ids, names and values, inserted in
    one transaction: exactly the rows MLflow itself writes. Works on any SQL store."""
    if start == 0:
        params, metrics = run_data(experiment, 0)
        with start_run(experiment, run_name(experiment, 0)):
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
    found = mlflow.search_runs(
        experiment_names=[experiment],
        filter_string=f"attributes.run_name = '{run_name(experiment, 0)}'",
        output_format="list",
    )
    _copy_run(found[0].info.run_id, experiment, max(start, 1), stop)


def _copy_run(template: str, experiment: str, start: int, stop: int) -> None:
    engine = sa.create_engine(os.environ["MLFLOW_TRACKING_URI"])
    with engine.begin() as con:
        tables = [sa.Table(name, sa.MetaData(), autoload_with=con) for name in _RUN_TABLES]
        rows = {
            table: [r._asdict() for r in con.execute(table.select().filter_by(run_uuid=template))]
            for table in tables
        }
        new_rows: dict[sa.Table, list[dict[str, Any]]] = {table: [] for table in tables}
        for i in range(start, stop):
            run_id, name = uuid.uuid4().hex, run_name(experiment, i)
            params, metrics = run_data(experiment, i)
            for table, template_rows in rows.items():
                for template_row in template_rows:
                    row = {
                        k: v.replace(template, run_id) if isinstance(v, str) else v
                        for k, v in template_row.items()
                    }
                    if table.name == "runs":
                        row["name"] = name
                    elif table.name == "tags" and row["key"] == "mlflow.runName":
                        row["value"] = name
                    elif table.name == "params":
                        row["value"] = params[row["key"]]
                    elif table.name in ("metrics", "latest_metrics"):
                        row["value"] = metrics[row["key"]]
                    new_rows[table].append(row)
        for table, values in new_rows.items():
            if values:
                con.execute(table.insert(), values)
    engine.dispose()


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
