"""PNG plots stored with an evaluation: ROC, calibration and confusion matrix for classifiers,
residuals for regressors.

Figures are drawn on matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``), never
through ``pyplot``: no GUI backend is touched, the process-wide backend of the caller (a
notebook, say) is left as it was, and no figure is registered anywhere that would need closing.
PNG metadata is left out so the same plot gives the same bytes, and is stored once.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modeldeck.validation.metrics import REGRESSION, Predictions
from modeldeck.validation.scoring import ModelLike, describe, label_values, resolve_task, score

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.validation.policy import Policy


def plots(
    model: ModelLike, data: pd.DataFrame, policy: Policy, *, name: str | None = None
) -> dict[str, bytes]:
    """File name → PNG bytes: ``roc.png``, ``calibration.png`` (binary classifiers with
    ``predict_proba``), ``confusion_matrix.png`` (classifiers), ``residuals.png`` (regressors)."""
    task = resolve_task(policy, label_values(data, policy))
    preds = score(model, data, policy, task, name or describe(model, "candidate", policy))
    return render(preds)


def render(preds: Predictions) -> dict[str, bytes]:
    """The plots for predictions already made (``evaluate`` and ``plots`` share them)."""
    if preds.task == REGRESSION:
        return {"residuals.png": _png(lambda fig: _residuals(fig, preds))}
    out: dict[str, bytes] = {}
    if preds.proba is not None and preds.is_binary:
        out["roc.png"] = _png(lambda fig: _roc(fig.add_subplot(), preds))
        out["calibration.png"] = _png(lambda fig: _calibration(fig.add_subplot(), preds))
    out["confusion_matrix.png"] = _png(lambda fig: _confusion(fig.add_subplot(), preds))
    return out


def _png(draw: Callable[[Any], None]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    draw(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _roc(ax: Any, preds: Predictions) -> None:
    from sklearn.metrics import roc_auc_score, roc_curve

    truth, scores = preds.positive_truth(), preds.positive_scores()
    if len(set(truth.tolist())) < 2:
        ax.text(0.5, 0.5, "only one class present: no ROC curve", ha="center", va="center")
        return
    fpr, tpr, _ = roc_curve(truth, scores)
    ax.plot(fpr, tpr, label=f"model (AUC {roc_auc_score(truth, scores):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.legend(loc="lower right")


def _calibration(ax: Any, preds: Predictions) -> None:
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(
        preds.positive_truth(), preds.positive_scores(), n_bins=10, strategy="quantile"
    )
    ax.plot(predicted, observed, marker="o", label="model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.set(
        xlabel=f"mean predicted probability of {preds.positive!r}",
        ylabel="observed frequency",
        title="Calibration",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left")


def _confusion(ax: Any, preds: Predictions) -> None:
    from sklearn.metrics import confusion_matrix

    labels = list(preds.classes)
    matrix = confusion_matrix(preds.y_true, preds.y_pred, labels=labels)
    ax.imshow(matrix, cmap="Blues")
    ticks = range(len(labels))
    names = [str(label) for label in labels]
    ax.set_xticks(ticks, names, rotation=45 if len(labels) > 4 else 0)
    ax.set_yticks(ticks, names)
    ax.set(xlabel="predicted", ylabel="actual", title="Confusion matrix")
    top = matrix.max() or 1
    for i in ticks:
        for j in ticks:
            colour = "white" if matrix[i, j] > top / 2 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=colour)


def _residuals(fig: Any, preds: Predictions) -> None:
    residuals = preds.y_true - preds.y_pred
    scatter, histogram = fig.subplots(1, 2, width_ratios=[2, 1])
    scatter.scatter(preds.y_pred, residuals, s=8, alpha=0.5)
    scatter.axhline(0.0, color="grey", linestyle="--")
    scatter.set(xlabel="predicted", ylabel="actual - predicted", title="Residuals")
    histogram.hist(residuals, bins=30, orientation="horizontal")
    histogram.set(xlabel="rows", title="Distribution")
