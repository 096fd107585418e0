"""Running each check of a policy into ``CheckResult`` rows of evidence.

Verdicts: ``pass`` and ``fail`` judge the model; ``skip`` means there was nothing to judge
(no champion yet, a slice under ``min_rows``, a metric undefined on a slice) and does not fail
the gate by itself; ``error`` means the check could not run (a missing column, a model that
raised, a slice check whose every slice was skipped) and fails it. An evaluation passes only
when some check ran and passed and none failed or erred (``evidence.gate_passed``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modeldeck.validation.evidence import ERROR, FAIL, PASS, SKIP, CheckResult
from modeldeck.validation.metrics import METRICS, MetricUndefined, Predictions, compute_metric
from modeldeck.validation.policy import (
    Check,
    ImprovementCheck,
    LatencyCheck,
    MetricCheck,
    SignatureCheck,
    SliceCheck,
)
from modeldeck.validation.scoring import PredictionFailed, score

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from modeldeck.validation.policy import Policy

MAX_SLICES = 100
# a numeric column with more distinct values than this is cut into ranges
MAX_NUMERIC_LEVELS = 10
DEFAULT_QUANTILE_BINS = 4
Compatibility = Callable[[Any, Any], list[str]]


@dataclass
class Context:
    """What every check may look at; the champion is scored at most once, when first needed."""

    policy: Policy
    model: Any
    data: pd.DataFrame
    features: pd.DataFrame
    preds: Predictions
    metrics: dict[str, float]
    champion: Any = None
    champion_who: str = "champion"
    champion_signature: Any = None
    candidate_signature: Any = None
    compatibility: Compatibility | None = None
    _champion: Predictions | PredictionFailed | None = field(default=None, repr=False)

    def champion_preds(self) -> Predictions:
        if self._champion is None:
            try:
                self._champion = score(
                    self.champion, self.data, self.policy, self.preds.task, self.champion_who
                )
            except PredictionFailed as exc:
                self._champion = exc
        if isinstance(self._champion, PredictionFailed):
            raise self._champion
        return self._champion


def run_check(check: Check, ctx: Context) -> list[CheckResult]:
    if isinstance(check, MetricCheck):
        return [_metric(check, ctx)]
    if isinstance(check, ImprovementCheck):
        return [_improvement(check, ctx)]
    if isinstance(check, SliceCheck):
        return _slices(check, ctx)
    if isinstance(check, LatencyCheck):
        return [_latency(check, ctx)]
    return [_signature(check, ctx)]


def _metric(check: MetricCheck, ctx: Context) -> CheckResult:
    m, lo, hi = check.metric, check.min, check.max
    name = f"metric:{m}" + ",".join(
        f"{op}{v:g}" for op, v in ((">=", lo), ("<=", hi)) if v is not None
    )
    threshold = _bounds_text(lo, hi)
    value = ctx.metrics.get(m, math.nan)
    if math.isnan(value):
        why = _why_undefined(m, ctx.preds)
        return CheckResult(
            name, check.type, ERROR, None, threshold, f"{m} could not be computed: {why}"
        )
    breach = _breach(m, value, lo, hi, "min", "max")
    detail = breach or f"{m} {value:.4g} {threshold}"
    return CheckResult(name, check.type, FAIL if breach else PASS, value, threshold, detail)


def _improvement(check: ImprovementCheck, ctx: Context) -> CheckResult:
    m, delta = check.metric, check.min_delta
    higher = METRICS[m].higher_is_better
    name = f"improvement:{m}>={delta:+g}"
    threshold = (
        f"improvement >= {delta:+g} over the champion ({'higher' if higher else 'lower'} is better)"
    )
    if ctx.champion is None:
        return CheckResult(name, check.type, SKIP, None, threshold, "no champion to compare with")
    try:
        champ = compute_metric(m, ctx.champion_preds())
    except (PredictionFailed, MetricUndefined) as exc:
        return CheckResult(name, check.type, ERROR, None, threshold, f"champion's {m}: {exc}")
    cand = ctx.metrics.get(m, math.nan)
    if math.isnan(cand):
        detail = f"candidate's {m} could not be computed: {_why_undefined(m, ctx.preds)}"
        return CheckResult(name, check.type, ERROR, None, threshold, detail)
    gain = cand - champ if higher else champ - cand
    ok = gain >= delta
    direction = "" if higher else " (lower is better)"
    detail = (
        f"{m} {cand:.4g} vs champion {champ:.4g}{direction}: improvement {gain:+.4g} "
        f"{'>=' if ok else '<'} {delta:+g}"
    )
    return CheckResult(name, check.type, PASS if ok else FAIL, gain, threshold, detail)


def _slices(check: SliceCheck, ctx: Context) -> list[CheckResult]:
    col, m = check.column, check.metric
    threshold = _slice_threshold(check)

    def refused(detail: str) -> list[CheckResult]:
        return [CheckResult(f"slice:{col}:{m}", check.type, ERROR, None, threshold, detail)]

    if col not in ctx.data.columns:
        return refused(f"the evaluation data has no column {col!r} to slice by")
    groups = _groups(ctx.data[col], check)
    if isinstance(groups, str):
        return refused(groups)
    if len(groups) > MAX_SLICES:
        return refused(
            f"column {col!r} has {len(groups)} distinct values (limit {MAX_SLICES}); bin it first"
        )
    overall = ctx.metrics.get(m, math.nan)
    results = [
        _one_slice(check, ctx.preds.subset(rows), key, overall, threshold)
        for key, rows in groups.items()
    ]
    if all(r.verdict == SKIP for r in results):
        # a check that judged no slice must not read as passed
        results.append(
            CheckResult(
                f"slice:{col}:{m}",
                check.type,
                ERROR,
                None,
                threshold,
                f"every slice of {col!r} ({len(results)}) was skipped (under min_rows "
                f"{check.min_rows} rows, or {m} undefined): nothing was judged; evaluate on "
                "more rows, use fewer bins or lower min_rows",
            )
        )
    return results


def _one_slice(
    check: SliceCheck, preds: Predictions, key: str, overall: float, threshold: str
) -> CheckResult:
    m, rows = check.metric, len(preds.y_true)
    where = f"slice {check.column}={key}"
    name = f"slice:{check.column}={key}:{m}"
    try:
        value = compute_metric(m, preds)
    except MetricUndefined as exc:
        return CheckResult(
            name, check.type, SKIP, None, threshold, f"{where}: {m} undefined: {exc}"
        )
    if rows < check.min_rows:
        detail = f"{where}: {m} {value:.4g} on {rows} rows < min_rows {check.min_rows}; not judged"
        return CheckResult(name, check.type, SKIP, value, threshold, detail)
    breaches = [b for b in [_breach(m, value, check.min, check.max, "floor", "ceiling")] if b]
    if check.max_gap is not None and not math.isnan(overall):
        worse = overall - value if METRICS[m].higher_is_better else value - overall
        if worse > check.max_gap:
            breaches.append(
                f"{m} {value:.4g} is {worse:.4g} worse than overall {overall:.4g} "
                f"(max_gap {check.max_gap:g})"
            )
    judged = "; ".join(breaches) or f"{m} {value:.4g} (overall {overall:.4g})"
    detail = f"{where}: {judged} on {rows} rows"
    return CheckResult(name, check.type, FAIL if breaches else PASS, value, threshold, detail)


def _latency(check: LatencyCheck, ctx: Context) -> CheckResult:
    import numpy as np

    budget = check.p95_ms
    name, threshold = f"latency:p95<={budget:g}ms", f"p95 <= {budget:g} ms"
    frame = ctx.features
    rows = [frame.iloc[[i % len(frame)]] for i in range(check.warmup + check.samples)]
    elapsed: list[float] = []
    try:
        for row in rows[: check.warmup]:
            ctx.model.predict(row)
        for row in rows[check.warmup :]:
            start = time.perf_counter()
            ctx.model.predict(row)
            elapsed.append((time.perf_counter() - start) * 1000.0)
    except Exception as exc:
        detail = f"single-row predict failed: {type(exc).__name__}: {exc}"
        return CheckResult(name, check.type, ERROR, None, threshold, detail)
    p95, median = (float(v) for v in np.percentile(elapsed, [95, 50]))
    ok = p95 <= budget
    detail = (
        f"p95 {p95:.3g} ms {'<=' if ok else '>'} budget {budget:g} ms "
        f"(median {median:.3g} ms over {check.samples} single-row calls)"
    )
    return CheckResult(name, check.type, PASS if ok else FAIL, p95, threshold, detail)


def _signature(check: SignatureCheck, ctx: Context) -> CheckResult:
    name, threshold = "signature:compatible", "compatible with the champion's input signature"

    def result(verdict: str, detail: str) -> CheckResult:
        return CheckResult(name, check.type, verdict, None, threshold, detail)

    old = _first(ctx.champion_signature, getattr(ctx.champion, "signature", None))
    if old is None:
        why = "no champion" if ctx.champion is None else "the champion has no signature"
        return result(SKIP, f"{why} to compare with")
    new = _first(ctx.candidate_signature, getattr(ctx.model, "signature", None))
    if new is None:
        return result(ERROR, "the candidate has no signature; log it with an input example")
    if ctx.compatibility is None:
        return result(ERROR, "no signature_compatibility function was given to evaluate()")
    try:
        problems = list(ctx.compatibility(new, old))
    except Exception as exc:
        return result(ERROR, f"comparing signatures failed: {type(exc).__name__}: {exc}")
    if problems:
        return result(FAIL, "incompatible with the champion: " + "; ".join(problems))
    return result(PASS, "compatible with the champion's input signature")


def _first(given: Any, declared: Any) -> Any:
    return declared if given is None else given


def _bounds_text(lo: float | None, hi: float | None) -> str:
    parts = [f">= {lo:g}" if lo is not None else "", f"<= {hi:g}" if hi is not None else ""]
    return " and ".join(p for p in parts if p)


def _slice_threshold(check: SliceCheck) -> str:
    parts = [_bounds_text(check.min, check.max)]
    if check.max_gap is not None:
        parts.append(f"at most {check.max_gap:g} worse than overall")
    return f"each slice of {check.min_rows}+ rows " + " and ".join(p for p in parts if p)


def _breach(m: str, value: float, lo: float | None, hi: float | None, low: str, high: str) -> str:
    if lo is not None and value < lo:
        return f"{m} {value:.4g} < {low} {lo:g}"
    if hi is not None and value > hi:
        return f"{m} {value:.4g} > {high} {hi:g}"
    return ""


def _why_undefined(m: str, preds: Predictions) -> str:
    try:
        compute_metric(m, preds)
    except MetricUndefined as exc:
        return str(exc)
    return "not computed"


def _groups(column: pd.Series, check: SliceCheck) -> dict[str, np.ndarray] | str:
    """Row positions per slice, or why the column cannot be sliced.

    Text and other discrete values make one slice each, missing values (None, NaN, NA) one
    ``<missing>`` slice. A numeric column with more than ``MAX_NUMERIC_LEVELS`` values (or any
    numeric column when the check names ``bins``) is cut into ranges instead: one slice per
    distinct number would leave every slice too small to judge.
    """
    import numpy as np
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if check.bins is not None and not numeric:
        return (
            f"bins = {check.bins!r} needs a numeric column; {check.column!r} holds "
            f"{column.dtype} values (leave bins out to slice by each value)"
        )
    if numeric and (check.bins is not None or column.nunique() > MAX_NUMERIC_LEVELS):
        return _ranges(column, check)
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    keys = ["<missing>" if pd.isna(u) else str(u) for u in uniques]
    return {key: np.flatnonzero(codes == i) for i, key in sorted(enumerate(keys), key=_by_key)}


def _ranges(column: pd.Series, check: SliceCheck) -> dict[str, np.ndarray] | str:
    """Row positions per range of a numeric column, in the order of the ranges."""
    import numpy as np

    values = column.to_numpy(dtype="float64", na_value=np.nan)
    present = ~np.isnan(values)
    if isinstance(check.bins, tuple):
        edges = np.asarray(check.bins, dtype="float64")
        outside = present & ((values < edges[0]) | (values > edges[-1]))
        if outside.any():
            return (
                f"{int(outside.sum())} values of {check.column!r} lie outside the bins edges "
                f"{edges[0]:g}..{edges[-1]:g} (from {np.nanmin(values):g} to "
                f"{np.nanmax(values):g}); widen the edges"
            )
    else:
        count = check.bins or DEFAULT_QUANTILE_BINS
        if not present.any():
            return f"column {check.column!r} has no values to cut into ranges"
        edges = np.unique(np.quantile(values[present], np.linspace(0.0, 1.0, count + 1)))
        if len(edges) == 1:
            edges = np.array([edges[0], edges[0]])
    # each range holds its upper edge, the first one its lower edge too
    where = np.searchsorted(edges, values, side="left")
    where = np.clip(where, 1, len(edges) - 1)
    groups: dict[str, np.ndarray] = {}
    for i in range(1, len(edges)):
        rows = np.flatnonzero(present & (where == i))
        if len(rows):
            opening = "[" if i == 1 else "("
            groups[f"{opening}{edges[i - 1]:g}, {edges[i]:g}]"] = rows
    missing = np.flatnonzero(~present)
    if len(missing):
        groups["<missing>"] = missing
    return groups


def _by_key(item: tuple[int, str]) -> str:
    return item[1]
