"""Seeded data and stand-in models for the validation tests: a churn-like binary problem where
one region can be made deliberately bad, a regression problem, a slow and a broken model."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from modeldeck.validation import Policy, parse_policy

FEATURES = ["tenure", "spend"]


def churn_frame(n: int = 1200, seed: int = 0, bad_region: str | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure, spend = rng.normal(size=n), rng.normal(size=n)
    region = rng.choice(["north", "south", "east"], size=n)
    churned = rng.random(n) < 1.0 / (1.0 + np.exp(-(2.5 * tenure - 1.5 * spend)))
    if bad_region is not None:
        bad = region == bad_region
        churned[bad] = rng.random(int(bad.sum())) < 0.5  # labels the features do not explain
    return pd.DataFrame(
        {"tenure": tenure, "spend": spend, "region": region, "churned": churned.astype(int)}
    )


def regression_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "price": 3.0 * a - 2.0 * b + 10 + rng.normal(size=n)})


def policy_of(*checks: dict[str, Any], label: str = "churned", **section: Any) -> Policy:
    document = {"models": {"churn": {"label": label, "checks": list(checks), **section}}}
    return parse_policy(document, "churn", source="test.toml")


class Slow:
    """Wraps a model, sleeping before each prediction: a latency budget it cannot meet."""

    def __init__(self, model: Any, seconds: float) -> None:
        self.model, self.seconds = model, seconds

    def predict(self, frame: pd.DataFrame) -> Any:
        time.sleep(self.seconds)
        return self.model.predict(frame)


class Broken:
    def predict(self, frame: pd.DataFrame) -> Any:
        raise ValueError("column 'tenure' has the wrong dtype")
