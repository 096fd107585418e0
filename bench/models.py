"""modeldeck vs MLflow: what loading a registered-style model package costs at predict time.

``python bench/models.py [--rows 20000] [--calls 300] [--mlflow-python PATH]``

For the quickstart's churn pipelines (preprocessing + logistic regression, and preprocessing +
histogram gradient boosting), each system stores the fitted pipeline in its own format, loads it
back and predicts; the bare scikit-learn ``predict`` of the same pipeline on the same frames, in
the same process, is the floor. Targets (issue 3): one row ≤ 1.5× the floor, 10,000 rows ≤ 1.1×.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.table import Table

from _venv import BENCH, console, find_mlflow_python, sh

TARGETS = {"1": 1.5, "n": 1.1}


def run_worker(python: str, system: str, rows: int, calls: int) -> dict:
    done = sh([python, str(BENCH / "_worker_models.py"), system, str(rows), str(calls)])
    if done.returncode != 0:
        console.print(f"[red]{system} worker failed:[/]\n{done.stderr[-3000:]}")
        sys.exit(1)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="churn rows (half are scored)")
    parser.add_argument("--calls", type=int, default=300, help="single-row calls per median")
    parser.add_argument("--mlflow-python", help="python of a venv with mlflow (default: make one)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    results = {"modeldeck": run_worker(sys.executable, "modeldeck", args.rows, args.calls)}
    results["mlflow"] = run_worker(
        find_mlflow_python(args.mlflow_python), "mlflow", args.rows, args.calls
    )
    table = Table(title="Loaded model vs bare scikit-learn predict (medians, same process)")
    for column in (
        "pipeline",
        "rows",
        "sklearn",
        "modeldeck",
        "ratio",
        "target",
        "MLflow pyfunc",
        "ratio ",
    ):
        table.add_column(column, justify="right")
    failures = 0
    for pipeline, ours in results["modeldeck"].items():
        theirs = results["mlflow"][pipeline]
        for size in ("1", "n"):
            ratio = ours[f"loaded_{size}"] / ours[f"bare_{size}"]
            ok = ratio <= TARGETS[size] and ours["same_predictions"]
            failures += not ok
            table.add_row(
                pipeline,
                "1" if size == "1" else f"{ours['rows']:,}",
                f"{ours[f'bare_{size}'] * 1e3:.3f} ms",
                f"{ours[f'loaded_{size}'] * 1e3:.3f} ms",
                f"{ratio:.3f}×",
                f"≤ {TARGETS[size]}× {'PASS' if ok else 'MISS'}",
                f"{theirs[f'loaded_{size}'] * 1e3:.3f} ms",
                f"{theirs[f'loaded_{size}'] / theirs[f'bare_{size}']:.2f}×",
            )
    console.print(table)
    for pipeline, ours in results["modeldeck"].items():
        console.print(
            f"{pipeline}: load {ours['load_s'] * 1e3:.0f} ms (modeldeck, skops, digest-checked) vs "
            f"{results['mlflow'][pipeline]['load_s'] * 1e3:.0f} ms (MLflow pyfunc, skops); "
            f"same predictions as the bare pipeline: {ours['same_predictions']}"
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
