"""One side of bench/models.py: ``python _worker_models.py modeldeck|mlflow ROWS CALLS``.

Trains the quickstart's churn pipelines, stores each with the system's own model format, loads
it back and times ``predict`` of the loaded model against the bare scikit-learn pipeline on
the same one-row and 10,000-row frames, in this one process. Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the data and pipelines

from modeldeck.quickstart.data import FEATURES, LABEL, make_churn, split
from modeldeck.quickstart.story import _candidates

PIPELINES = ("logreg", "hist-gbm")


def paired(bare: Any, loaded: Any, calls: int) -> tuple[float, float]:
    """Median seconds of one call of each, over ``calls`` interleaved pairs after a warm-up.

    Interleaving makes both see the same machine: a burst of other work slows both alike.
    """
    for _ in range(min(20, calls)):
        bare()
        loaded()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(calls):
        for fn, into in ((bare, times[0]), (loaded, times[1])):
            t0 = time.perf_counter()
            fn()
            into.append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1])


def store_and_load(system: str, pipeline: Any, train: Any, where: Path) -> tuple[Any, float]:
    x = train[list(FEATURES)]
    t0 = time.perf_counter()
    if system == "modeldeck":
        import os

        os.environ["MODELDECK_HOME"] = str(where / "md")
        import modeldeck

        with modeldeck.start_run(experiment="bench") as run:
            modeldeck.log_model(pipeline, "model", input_example=x)
        t0 = time.perf_counter()
        loaded = modeldeck.load_model(f"runs:/{run.id}/model")
    else:
        import os

        import mlflow
        import skops.io

        where.mkdir(parents=True, exist_ok=True)
        os.chdir(where)  # MLflow puts artifacts under ./mlruns
        mlflow.set_tracking_uri(f"sqlite:///{where / 'mlflow.db'}")
        # MLflow 3.17 saves with skops too and asks the caller which types to trust; a benchmark
        # trusts what its own pipeline needs (a user should review that list).
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                pipeline, name="model", input_example=x.head(5), skops_trusted_types=trusted
            )
        t0 = time.perf_counter()
        loaded = mlflow.pyfunc.load_model(info.model_uri)
    return loaded, time.perf_counter() - t0


def main() -> None:
    system, rows, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    data = make_churn(rows, seed=7)
    train, evaluation = split(data, seed=7, eval_fraction=0.5)
    big = evaluation[list(FEATURES)].head(10_000).reset_index(drop=True)
    one = big.head(1)
    x, y = train[list(FEATURES)], train[LABEL]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="modeldeck-bench-models-") as tmp:
        for candidate in _candidates(7):
            if candidate.name not in PIPELINES:
                continue
            pipeline = candidate.estimator.fit(x, y)
            loaded, load_seconds = store_and_load(
                system, pipeline, train, Path(tmp) / candidate.name
            )
            same = (loaded.predict(big) == pipeline.predict(big)).all()
            bare_1, loaded_1 = paired(
                lambda p=pipeline: p.predict(one), lambda m=loaded: m.predict(one), calls
            )
            bare_n, loaded_n = paired(
                lambda p=pipeline: p.predict(big),
                lambda m=loaded: m.predict(big),
                max(9, calls // 20),
            )
            out[candidate.name] = {
                "rows": len(big),
                "same_predictions": bool(same),
                "load_s": load_seconds,
                "bare_1": bare_1,
                "loaded_1": loaded_1,
                "bare_n": bare_n,
                "loaded_n": loaded_n,
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
