"""A seeded, synthetic customer-churn table, with a segment-drift scenario.

Each row is one customer of a subscription business, observed at `event_time` within the
30 days after `start`. The label `churned` is drawn from a logistic model: month-to-month
contracts, many support calls, short tenure, high charges, electronic-check payments and
long absences raise the odds; more products and longer contracts lower them.

`drift` in [0, 1] shifts one segment, the customers of region `SHIFTED_REGION`: more of
them move to month-to-month contracts, a price rise lifts their charges, they call support
more, and their churn becomes more sensitive to price than the reference model says. Every
other row is unchanged, and `drift=0` is the reference distribution exactly, so a monitoring
scenario can replay "a normal month" and "a month in which a segment shifts" and compare.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "CATEGORICAL_FEATURES",
    "CATEGORIES",
    "FEATURES",
    "LABEL",
    "NUMERIC_FEATURES",
    "SHIFTED_REGION",
    "make_churn",
    "split",
]

NUMERIC_FEATURES: tuple[str, ...] = (
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "num_products",
    "support_calls",
    "age",
    "days_since_last_login",
)
CATEGORIES: dict[str, tuple[str, ...]] = {
    "region": ("north", "south", "east", "west"),
    "plan": ("basic", "standard", "premium"),
    "contract": ("month-to-month", "one-year", "two-year"),
    "payment_method": ("electronic check", "mailed check", "bank transfer", "credit card"),
}
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(CATEGORIES)
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES
LABEL = "churned"
SHIFTED_REGION = "south"

_REGION_P = (0.30, 0.25, 0.25, 0.20)
_PLAN_P = (0.40, 0.40, 0.20)
_PLAN_BASE_CHARGE = np.array([35.0, 65.0, 95.0])
_CONTRACT_P = (0.55, 0.25, 0.20)
_CONTRACT_MEAN_TENURE = np.array([14.0, 32.0, 48.0])
_CONTRACT_LOGIT = np.array([0.9, -0.4, -1.6])
_PAYMENT_P = (0.35, 0.20, 0.22, 0.23)
_WINDOW_SECONDS = 30 * 24 * 3600
_DAYS_PER_MONTH = 30.44


def make_churn(
    n_rows: int = 5000,
    seed: int = 7,
    *,
    start: str = "2026-01-01",
    drift: float = 0.0,
) -> pd.DataFrame:
    """Return `n_rows` customers, sorted by `event_time`; the same arguments give the same frame.

    Columns: `customer_id`, `event_time`, `signup_date`, the `CATEGORICAL_FEATURES`
    (pandas categoricals with fixed categories), the `NUMERIC_FEATURES` (`total_charges` and
    `days_since_last_login` have a few missing values) and `LABEL` (0/1, about a quarter
    positive at `drift=0`).
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    if not 0.0 <= drift <= 1.0:
        raise ValueError(f"drift must be between 0 and 1, got {drift}")
    rng = np.random.default_rng(seed)
    n = n_rows

    # Every draw below has a fixed size and fixed parameters, so the random stream is the
    # same whatever `drift` is: drift only transforms draws, which keeps unshifted rows equal.
    region = rng.choice(len(_REGION_P), size=n, p=_REGION_P)
    plan = rng.choice(len(_PLAN_P), size=n, p=_PLAN_P)
    contract_u = rng.random(n)
    payment = rng.choice(len(_PAYMENT_P), size=n, p=_PAYMENT_P)
    tenure_g = rng.gamma(2.0, 0.5, size=n)  # mean 1, scaled by the contract's mean tenure
    num_products = 1 + rng.binomial(4, 0.3, size=n)
    charge_noise = rng.normal(0.0, 6.0, size=n)
    total_noise = rng.lognormal(0.0, 0.04, size=n)
    support_calls = rng.poisson(1.5, size=n)
    age = np.clip(np.rint(rng.normal(44.0, 14.0, size=n)), 18, 85).astype(np.int64)
    days_since_login = np.rint(rng.exponential(12.0, size=n))
    total_missing = rng.random(n) < 0.02
    login_missing = rng.random(n) < 0.04
    event_seconds = rng.integers(0, _WINDOW_SECONDS, size=n)
    id_base = int(rng.integers(1, 90_000)) * 100_000
    label_u = rng.random(n)
    shift_u = rng.random(n)
    extra_calls = rng.poisson(1.5, size=n)

    shifted = region == CATEGORIES["region"].index(SHIFTED_REGION)
    cum = np.cumsum(_CONTRACT_P)
    contract = np.searchsorted(cum[:-1], contract_u, side="right")
    contract = np.where(shifted & (shift_u < 0.6 * drift), 0, contract)

    tenure = np.clip(np.rint(tenure_g * _CONTRACT_MEAN_TENURE[contract]), 1, 72).astype(np.int64)
    monthly = _PLAN_BASE_CHARGE[plan] + 5.0 * (num_products - 1) + charge_noise
    monthly = monthly + np.where(shifted, 20.0 * drift, 0.0)
    monthly = np.round(np.clip(monthly, 18.0, 160.0), 2)
    total = np.round(tenure * monthly * total_noise, 2)
    calls = support_calls + np.where(shifted & (shift_u < drift), extra_calls, 0)
    calls = calls.astype(np.int64)

    logit = (
        -1.8
        + _CONTRACT_LOGIT[contract]
        - 0.035 * (tenure - 24)
        + 0.018 * (monthly - 65.0)
        + 0.38 * (calls - 1.5)
        + 0.35 * (payment == 0)
        + 0.03 * (days_since_login - 12.0)
        - 0.2 * (num_products - 2)
        - 0.01 * (age - 44)
    )
    # The shifted segment's customers become price-sensitive: the reference model no longer
    # describes them, which is what a performance monitor should notice.
    # A competitor also courts the segment's loyal customers: long tenure now raises the odds.
    concept = 0.3 + 0.03 * (monthly - 65.0) + 0.12 * (tenure - 24) - _CONTRACT_LOGIT[contract]
    logit = logit + np.where(shifted, drift * concept, 0.0)
    churned = (label_u < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    event_time = (pd.Timestamp(start) + pd.to_timedelta(event_seconds, unit="s")).as_unit("us")
    signup_date = event_time - pd.to_timedelta(np.rint(tenure * _DAYS_PER_MONTH), unit="D")
    signup_date = signup_date.normalize().as_unit("us")
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{id_base + i:010d}" for i in range(n)],
            "event_time": event_time,
            "signup_date": signup_date,
            "region": _categorical(region, "region"),
            "plan": _categorical(plan, "plan"),
            "contract": _categorical(contract, "contract"),
            "payment_method": _categorical(payment, "payment_method"),
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": np.where(total_missing, np.nan, total),
            "num_products": num_products.astype(np.int64),
            "support_calls": calls,
            "age": age,
            "days_since_last_login": np.where(login_missing, np.nan, days_since_login),
            LABEL: churned,
        }
    )
    return frame.sort_values("event_time", kind="stable", ignore_index=True)


def split(
    df: pd.DataFrame, seed: int = 7, *, eval_fraction: float = 0.25
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split `df` into (train, eval), stratified on `LABEL`, both in `df`'s row order."""
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be between 0 and 1, got {eval_fraction}")
    rng = np.random.default_rng(seed)
    labels = df[LABEL].to_numpy()
    in_eval = np.zeros(len(df), dtype=bool)
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        n_eval = round(len(rows) * eval_fraction)
        in_eval[rng.choice(rows, size=n_eval, replace=False)] = True
    train = df.loc[~in_eval].reset_index(drop=True)
    evaluation = df.loc[in_eval].reset_index(drop=True)
    return train, evaluation


def _categorical(codes: npt.NDArray[np.integer], column: str) -> pd.Categorical:
    dtype = pd.CategoricalDtype(list(CATEGORIES[column]))
    return pd.Categorical.from_codes(codes, dtype=dtype)
