"""What the monitoring tests share: a small churn-like dataset with a segment that can shift,
a registered version trained on it, predictions logged as a deployment would, a real webhook
receiver, and the retraining entry points (`monitoring_support:retrain`, `:broken`)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modeldeck.core.deployment import Prediction

if TYPE_CHECKING:
    from modeldeck.client.local import LocalClient

DAY = 86_400_000
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MODEL = "churn"
FEATURES = ["x1", "x2", "segment"]
LABEL = "label"
CALLS: list[dict[str, Any]] = []
POLICY = """\
[models.churn]
label = "label"
task = "classification"

[[models.churn.checks]]
type = "metric"
metric = "auc"
min = 0.6
"""


def make(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Two numbers and a segment; with ``shift`` the numbers of segment "b" move."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    x1 = rng.normal(0.0, 1.0, n)
    x2 = rng.normal(5.0, 2.0, n)
    moved = segment == "b"
    x1 = np.where(moved, x1 + 3.0 * shift, x1)
    x2 = np.where(moved, x2 - 4.0 * shift, x2)
    logit = 1.5 * x1 - 0.4 * (x2 - 5.0)
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "segment": segment, "label": label})


def register(client: LocalClient, rows: int = 2000) -> pd.DataFrame:
    """Version 1 of MODEL, trained on a logged train dataset, champion; returns the data."""
    train = make(rows, seed=1)
    run = client.create_run("churn")
    client.log_dataset(run.id, train, name="churn-train", context="train")
    model = build().fit(train[FEATURES], train[LABEL])
    client.log_model(run.id, model, "model", input_example=train[FEATURES])
    client.end_run(run.id)
    client.register_model(f"runs:/{run.id}/model", MODEL)
    client.set_protected_aliases(MODEL, [])  # these tests move champion without approvals
    client.promote(MODEL, 1, "champion")
    return train


def serve(
    client: LocalClient,
    frame: pd.DataFrame,
    day: int,
    prefix: str,
    version: int = 1,
    model: str = MODEL,
) -> list[str]:
    """Log ``version``'s predictions of ``frame``, spread over ``day`` (days after START)."""
    proba = client.load_model(f"models:/{model}/{version}").predict_proba(frame[FEATURES])
    times = START + day * DAY + np.linspace(0, DAY - 1, len(frame)).astype(int)
    ids = [f"{prefix}-{i}" for i in range(len(frame))]
    client.log_predictions(
        [
            Prediction(
                request_id=ids[i],
                row=0,
                model=model,
                version=version,
                role="primary",
                time=int(times[i]),
                latency_ms=1.0,
                inputs={
                    "x1": float(frame["x1"].iloc[i]),
                    "x2": float(frame["x2"].iloc[i]),
                    "segment": str(frame["segment"].iloc[i]),
                },
                outputs={"prediction": int(proba[i].argmax()), "probabilities": proba[i].tolist()},
            )
            for i in range(len(frame))
        ]
    )
    return ids


class Receiver:
    """A real HTTP server on 127.0.0.1 recording what it receives; answers ``codes`` in turn,
    then 200."""

    def __init__(self, codes: list[int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.codes = list(codes or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(outer.codes.pop(0) if outer.codes else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/modeldeck"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def build() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    prepare = ColumnTransformer(
        [("segment", OneHotEncoder(handle_unknown="ignore"), ["segment"])],
        remainder="passthrough",
    )
    return Pipeline([("prepare", prepare), ("model", LogisticRegression(max_iter=500))])


def retrain(context: Any) -> Any:
    """Train on the old training data plus every labeled production row."""
    import pandas as pd

    old = context.training_data()
    new = context.labeled()
    CALLS.append({"replaces": context.replaces, "old": len(old), "new": len(new)})
    train = pd.concat([old[[*FEATURES, LABEL]], new[[*FEATURES, LABEL]]], ignore_index=True)
    context.log_dataset(train)
    context.log_params({"rows": len(train)})
    return build().fit(train[FEATURES], train[LABEL])


def broken(context: Any) -> Any:
    raise RuntimeError("the feature store is down")
