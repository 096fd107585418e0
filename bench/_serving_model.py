"""The model side of bench/serving.py, run in modeldeck's venv with cwd = the bench's temp dir.

``python _serving_model.py prepare DIR ROWS REQUESTS``: train the churn pipeline once, log it
with modeldeck, register it as ``MODEL`` and point ``champion`` at it (in the store that
``MODELDECK_HOME`` names), pickle the same fitted pipeline for MLflow's side, and write
``requests.json``: ``REQUESTS`` single-row ``dataframe_split`` bodies from the test set with
the pipeline's prediction for each.

``python _serving_model.py floor-samples DIR CALLS``: every time of ``CALLS`` one-row predicts
over the request rows (bench/serving.py interleaves these with the concurrency-1 load).
``python _serving_model.py floor DIR CALLS``: the in-process floor, loaded as the server loads
it: median seconds of ``CALLS`` one-row ``predict`` of the loaded model and of the raw
pipeline; over a tenth as many, ``predict`` + ``predict_proba``, and building the frame from
the request's lists + ``predict``.

Each prints one JSON line.
"""

from __future__ import annotations

import json
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the data and pipelines

from modeldeck.quickstart.data import CATEGORICAL_FEATURES, FEATURES, LABEL, make_churn, split

MODEL = "churn-bench"
ALIAS = "champion"
TREES = 100
SEED = 7


def pipeline() -> Any:
    """Impute + scale the numeric columns, one-hot the categorical ones, then 100 boosted trees
    (the quickstart's preprocessing and its gradient boosting, with 100 iterations)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from modeldeck.quickstart.data import NUMERIC_FEATURES

    prepare = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                list(NUMERIC_FEATURES),
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FEATURES)),
        ]
    )
    model = HistGradientBoostingClassifier(
        max_iter=TREES,
        learning_rate=0.1,
        max_leaf_nodes=15,
        early_stopping=False,
        random_state=SEED,
    )
    return Pipeline([("prepare", prepare), ("model", model)])


def prepare(where: Path, rows: int, requests: int) -> dict[str, Any]:
    import modeldeck
    from modeldeck.client import connect

    train, test = split(make_churn(rows, seed=SEED), seed=SEED, eval_fraction=0.25)
    x = train[list(FEATURES)]
    t0 = time.perf_counter()
    fitted = pipeline().fit(x, train[LABEL])
    fit_s = time.perf_counter() - t0
    with modeldeck.start_run(experiment="bench-serving") as run:
        modeldeck.log_model(fitted, "model", input_example=x.head(20))
    version = modeldeck.register_model(f"runs:/{run.id}/model", MODEL)
    client = connect()
    client.set_protected_aliases(MODEL, [])  # a benchmark has no reviewer to approve it
    modeldeck.promote(MODEL, version.version, ALIAS)
    (where / "pipeline.pkl").write_bytes(pickle.dumps(fitted))
    (where / "example.json").write_text(x.head(20).to_json(orient="split", index=False))

    # JSON has no NaN: the requests are the test rows without missing values
    sample = test[list(FEATURES)].dropna().head(requests).reset_index(drop=True)
    split_frame = json.loads(sample.to_json(orient="split", index=False))
    expected = fitted.predict(sample).tolist()
    bodies = [
        json.dumps({"dataframe_split": {"columns": split_frame["columns"], "data": [row]}})
        for row in split_frame["data"]
    ]
    (where / "requests.json").write_text(json.dumps({"bodies": bodies, "expected": expected}))
    return {
        "model": f"{MODEL}@{ALIAS}",
        "version": version.version,
        "train_rows": len(train),
        "fit_s": fit_s,
        "requests": len(bodies),
        "accuracy": float((fitted.predict(test[list(FEATURES)]) == test[LABEL]).mean()),
    }


def median_call(fn: Callable[[], Any], calls: int) -> float:
    for _ in range(min(100, calls)):
        fn()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e9


def floor(where: Path, calls: int) -> dict[str, Any]:
    import pandas as pd

    import modeldeck

    loaded = modeldeck.load_model(f"models:/{MODEL}@{ALIAS}")  # as `modeldeck serve` loads it
    raw = pickle.loads((where / "pipeline.pkl").read_bytes())
    bodies = json.loads((where / "requests.json").read_text())["bodies"]
    first = json.loads(bodies[0])["dataframe_split"]
    one = pd.DataFrame(first["data"], columns=first["columns"])  # as the server builds it
    extra = max(100, calls // 10)  # for information only
    return {
        "calls": calls,
        "loaded_predict": median_call(lambda: loaded.predict(one), calls),
        "raw_predict": median_call(lambda: raw.predict(one), calls),
        "loaded_predict_proba": median_call(
            lambda: (loaded.predict(one), loaded.predict_proba(one)), extra
        ),
        "frame_and_predict": median_call(
            lambda: loaded.predict(pd.DataFrame(first["data"], columns=first["columns"])), extra
        ),
    }


def floor_samples(where: Path, calls: int) -> dict[str, Any]:
    """``calls`` one-row predicts of the loaded model over the benchmark's request rows, as
    the server sees them: every time (ns), to pool with other slices of the same run."""
    import pandas as pd

    import modeldeck

    loaded = modeldeck.load_model(f"models:/{MODEL}@{ALIAS}")
    bodies = json.loads((where / "requests.json").read_text())["bodies"]
    splits = [json.loads(body)["dataframe_split"] for body in bodies]
    frames = [pd.DataFrame(s["data"], columns=s["columns"]) for s in splits]
    for frame in frames[:50]:
        loaded.predict(frame)
    times = []
    for i in range(calls):
        frame = frames[i % len(frames)]
        t0 = time.perf_counter_ns()
        loaded.predict(frame)
        times.append(time.perf_counter_ns() - t0)
    return {"samples": times}


def main() -> None:
    command, where, *args = sys.argv[1:]
    if command == "prepare":
        out = prepare(Path(where), int(args[0]), int(args[1]))
    elif command == "floor-samples":
        out = floor_samples(Path(where), int(args[0]))
    else:
        out = floor(Path(where), int(args[0]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
