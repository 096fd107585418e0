"""One side of bench/startup.py: ``python _worker_startup.py modeldeck|mlflow DIR``.

A new user's first script, in a fresh process: fit the quickstart's logistic-regression churn
pipeline, then open a run and log the model. Times the run's start and the ``log_model`` call
(with an input example, as the quickstart does) and prints one JSON line with the times, the
model file's bytes and the URI a server can load.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the data and pipelines

from modeldeck.quickstart.data import FEATURES, LABEL, make_churn
from modeldeck.quickstart.story import _candidates


def model_bytes(root: Path, names: tuple[str, ...]) -> int:
    """Bytes of the files called ``names`` under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.name in names)


def main() -> None:
    system, where = sys.argv[1], Path(sys.argv[2])
    data = make_churn(5_000, seed=7)
    x, y = data[list(FEATURES)], data[LABEL]
    pipeline = next(c for c in _candidates(7) if c.name == "logreg").estimator.fit(x, y)
    out: dict[str, Any] = {}
    if system == "modeldeck":
        os.environ["MODELDECK_HOME"] = str(where)
        t0 = time.perf_counter()
        import modeldeck
        import modeldeck.client.fluent

        with modeldeck.start_run(experiment="bench") as run:
            t1 = time.perf_counter()
            modeldeck.log_model(pipeline, "model", input_example=x.head(5))
            t2 = time.perf_counter()
        out["uri"] = f"runs:/{run.id}/model"
        copy = modeldeck.client.fluent.client().download_artifact(run.id, "model", where / "copy")
        out["model_bytes"] = model_bytes(copy, ("model.skops",))
    else:
        os.chdir(where)  # MLflow puts artifacts under ./mlruns
        t0 = time.perf_counter()
        import mlflow
        import skops.io

        mlflow.set_tracking_uri(f"sqlite:///{where / 'mlflow.db'}")
        with mlflow.start_run() as run:
            t1 = time.perf_counter()
            # MLflow 3.17 saves with skops and asks the caller which types to trust
            trusted = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
            info = mlflow.sklearn.log_model(
                pipeline, name="model", input_example=x.head(5), skops_trusted_types=trusted
            )
            t2 = time.perf_counter()
        out["uri"] = info.model_uri
        out["model_bytes"] = model_bytes(where, ("model.skops", "model.pkl"))
    out["start_run_s"] = t1 - t0
    out["log_model_s"] = t2 - t1
    print(json.dumps(out))


if __name__ == "__main__":
    main()
