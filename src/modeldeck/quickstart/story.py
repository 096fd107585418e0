"""The quickstart story: train churn candidates in tracked runs and point at what comes next.

Everything here goes through the public SDK (`import modeldeck`), as a user's script would.
pandas, scikit-learn, skops and matplotlib are imported inside the functions that use them,
so importing this module (the CLI does) stays cheap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import modeldeck

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["EXPERIMENT", "QuickstartResult", "run_quickstart"]

EXPERIMENT = "churn"
PARENT_RUN_NAME = "churn-candidates"
BEST_METRIC = "eval_auc"
CV_FOLDS = 5


@dataclass(frozen=True)
class QuickstartResult:
    """What the quickstart recorded: its runs and which candidate won."""

    experiment: str
    parent_run_id: str
    run_ids: dict[str, str]  # candidate name -> child run id, in training order
    best_run_id: str
    best_metric: str
    best_value: float
    champion_version: int | None = None
    versions: dict[str, int] = field(default_factory=dict)  # candidate -> registered version
    production: Any = None  # the third act's ProductionResult, when a champion was released


@dataclass(frozen=True)
class _Candidate:
    name: str
    params: dict[str, Any]
    estimator: Any  # an unfitted scikit-learn Pipeline


def run_quickstart(console: Console, *, n_rows: int = 5000, seed: int = 7) -> QuickstartResult:
    """Generate churn data, train and track the candidates, print a summary; return the runs."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from modeldeck.quickstart.data import make_churn, split

    started = time.perf_counter()
    data = make_churn(n_rows, seed)
    train, evaluation = split(data, seed)
    candidates = _candidates(seed)
    console.print(
        f"[bold]modeldeck quickstart[/]: customer churn, {len(train):,} train / "
        f"{len(evaluation):,} eval rows, {len(candidates)} candidates, {CV_FOLDS}-fold CV"
    )

    results: dict[str, dict[str, float]] = {}
    run_ids: dict[str, str] = {}
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )
    with (
        progress,
        modeldeck.start_run(experiment=EXPERIMENT, name=PARENT_RUN_NAME) as parent,
    ):
        task = progress.add_task("preparing", total=len(candidates) * (CV_FOLDS + 1))
        modeldeck.log_params(
            {"n_rows": n_rows, "seed": seed, "cv_folds": CV_FOLDS, "selection": BEST_METRIC}
        )
        modeldeck.set_tags({"use_case": "churn", "source": "modeldeck quickstart"})
        _log_data(train, evaluation)
        for candidate in candidates:
            with modeldeck.start_run(experiment=EXPERIMENT, name=candidate.name) as run:
                run_ids[candidate.name] = run.id
                results[candidate.name] = _train(candidate, train, evaluation, progress, task)
        best_name = max(results, key=lambda name: results[name][BEST_METRIC])
        best_value = results[best_name][BEST_METRIC]
        modeldeck.set_tags({"best_run_id": run_ids[best_name], "best_candidate": best_name})
        modeldeck.log_metric(f"best_{BEST_METRIC}", best_value)
        modeldeck.log_text(_summary_markdown(results, run_ids, best_name), "notes/summary.md")
        progress.update(task, description="done")
    modeldeck.flush()
    _print_candidates(console, EXPERIMENT, run_ids, results, run_ids[best_name])

    from modeldeck.quickstart.release import release

    released = release(console, run_ids, results, evaluation)
    produced = None
    if released.champion_version is not None:
        from dataclasses import replace

        from modeldeck.client import fluent
        from modeldeck.quickstart.production import production
        from modeldeck.quickstart.release import REVIEWER

        client = fluent.client()
        reviewer = type(client)(replace(client.settings, user=REVIEWER))
        try:
            produced = production(console, client, reviewer, released.champion_version)
        finally:
            reviewer.close()
    result = QuickstartResult(
        experiment=EXPERIMENT,
        parent_run_id=parent.id,
        run_ids=run_ids,
        best_run_id=run_ids[best_name],
        best_metric=BEST_METRIC,
        best_value=best_value,
        champion_version=released.champion_version,
        versions=released.versions,
        production=produced,
    )
    _print_next_steps(console, result, released, time.perf_counter() - started)
    return result


def _candidates(seed: int) -> list[_Candidate]:
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    from modeldeck.quickstart.data import CATEGORICAL_FEATURES, NUMERIC_FEATURES

    numeric, categorical = list(NUMERIC_FEATURES), list(CATEGORICAL_FEATURES)

    def one_hot(scale: bool) -> ColumnTransformer:
        steps: list[Any] = [SimpleImputer(strategy="median")]
        if scale:
            steps.append(StandardScaler())
        return ColumnTransformer(
            [
                ("numeric", make_pipeline(*steps), numeric),
                ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ]
        )

    logreg = {"C": 1.0, "max_iter": 1000}
    forest = {"n_estimators": 30, "max_depth": 8, "min_samples_leaf": 5}
    boosting = {"learning_rate": 0.15, "max_iter": 40, "max_leaf_nodes": 15}
    # Gradient boosting splits on categories natively; ordinal codes come first in its input.
    ordinal = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
                categorical,
            ),
            ("numeric", "passthrough", numeric),
        ]
    )
    return [
        _Candidate(
            "logreg",
            {"model": "logistic_regression", "preprocessing": "impute+scale+onehot", **logreg},
            Pipeline([("prepare", one_hot(scale=True)), ("model", LogisticRegression(**logreg))]),
        ),
        _Candidate(
            "random-forest",
            {"model": "random_forest", "preprocessing": "impute+onehot", **forest},
            Pipeline(
                [
                    ("prepare", one_hot(scale=False)),
                    (
                        "model",
                        RandomForestClassifier(**forest, n_jobs=1, random_state=seed),
                    ),
                ]
            ),
        ),
        _Candidate(
            "hist-gbm",
            {"model": "hist_gradient_boosting", "preprocessing": "ordinal", **boosting},
            Pipeline(
                [
                    ("prepare", ordinal),
                    (
                        "model",
                        HistGradientBoostingClassifier(
                            **boosting,
                            categorical_features=list(range(len(categorical))),
                            early_stopping=False,
                            random_state=seed,
                        ),
                    ),
                ]
            ),
        ),
    ]


def _log_data(train: pd.DataFrame, evaluation: pd.DataFrame) -> None:
    modeldeck.log_dataset(train, name="churn-train", context="train")
    modeldeck.log_dataset(evaluation, name="churn-eval", context="eval")


def _scores(y_true: Any, proba: Any) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    predicted = (proba >= 0.5).astype(int)
    return {
        "auc": float(roc_auc_score(y_true, proba)),
        "f1": float(f1_score(y_true, predicted)),
        "accuracy": float(accuracy_score(y_true, predicted)),
        "log_loss": float(log_loss(y_true, proba, labels=[0, 1])),
    }


def _train(
    candidate: _Candidate,
    train: pd.DataFrame,
    evaluation: pd.DataFrame,
    progress: Progress,
    task: TaskID,
) -> dict[str, float]:
    """Cross-validate, fit and evaluate one candidate inside the active run."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    from modeldeck.quickstart.data import FEATURES, LABEL

    modeldeck.log_params({**candidate.params, "cv_folds": CV_FOLDS})
    modeldeck.set_tags({"candidate": "yes", "parent": PARENT_RUN_NAME})
    _log_data(train, evaluation)

    x, y = train[list(FEATURES)], train[LABEL].to_numpy()
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=0)
    fold_aucs = []
    for fold, (fit_rows, test_rows) in enumerate(folds.split(x, y)):
        progress.update(task, description=f"{candidate.name}: fold {fold + 1}/{CV_FOLDS}")
        model = clone(candidate.estimator).fit(x.iloc[fit_rows], y[fit_rows])
        scores = _scores(y[test_rows], model.predict_proba(x.iloc[test_rows])[:, 1])
        modeldeck.log_metrics(scores, step=fold)
        fold_aucs.append(scores["auc"])
        progress.advance(task)

    progress.update(task, description=f"{candidate.name}: final fit")
    fit_started = time.perf_counter()
    model = clone(candidate.estimator).fit(x, y)
    fit_seconds = time.perf_counter() - fit_started
    y_eval = evaluation[LABEL].to_numpy()
    proba = model.predict_proba(evaluation[list(FEATURES)])[:, 1]
    metrics = {f"eval_{key}": value for key, value in _scores(y_eval, proba).items()}
    metrics |= {
        "cv_auc_mean": float(np.mean(fold_aucs)),
        "cv_auc_std": float(np.std(fold_aucs)),
        "fit_seconds": fit_seconds,
    }
    modeldeck.log_metrics(metrics)
    modeldeck.log_dict(metrics, "metrics.json")
    _log_confusion_matrix(y_eval, proba, candidate.name)
    # The signature is inferred from the whole training frame, so it knows every category and
    # which columns may be missing; only the first rows are stored as the example.
    modeldeck.log_model(model, "model", input_example=x)
    progress.advance(task)
    return metrics


def _log_confusion_matrix(y_true: Any, proba: Any, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed, and none assumed
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    try:
        ConfusionMatrixDisplay.from_predictions(
            y_true,
            (proba >= 0.5).astype(int),
            display_labels=["stays", "churns"],
            cmap="Blues",
            colorbar=False,
            ax=ax,
        )
        ax.set_title(f"{title} (eval)")
        fig.tight_layout()
        modeldeck.log_figure(fig, "confusion_matrix.png")
    finally:
        plt.close(fig)


def _summary_markdown(
    results: dict[str, dict[str, float]], run_ids: dict[str, str], best: str
) -> str:
    lines = [
        "# Churn candidates",
        "",
        "| candidate | run | eval_auc | eval_f1 | eval_accuracy | eval_log_loss |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in results.items():
        mark = " (best)" if name == best else ""
        lines.append(
            f"| {name}{mark} | {run_ids[name]} | {m['eval_auc']:.4f} | {m['eval_f1']:.4f} "
            f"| {m['eval_accuracy']:.4f} | {m['eval_log_loss']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def _print_candidates(
    console: Console,
    experiment: str,
    run_ids: dict[str, str],
    results: dict[str, dict[str, float]],
    best_run_id: str,
) -> None:
    from rich.table import Table

    table = Table(
        title=f"Churn candidates (experiment '{experiment}')",
        caption=f"cv: mean ± sd over {CV_FOLDS} folds of train; auc, f1, log loss: on eval",
    )
    table.add_column("candidate", no_wrap=True)
    table.add_column("run", no_wrap=True)
    for column in ("cv auc", "auc", "f1", "log loss"):
        table.add_column(column, justify="right", no_wrap=True)
    for name, run_id in run_ids.items():
        m = results[name]
        best = run_id == best_run_id
        table.add_row(
            f"★ {name}" if best else name,
            run_id[:8],  # the CLI takes any unique prefix
            f"{m['cv_auc_mean']:.3f}±{m['cv_auc_std']:.3f}",
            f"{m['eval_auc']:.3f}",
            f"{m['eval_f1']:.3f}",
            f"{m['eval_log_loss']:.3f}",
            style="bold green" if best else None,
        )
    console.print(table)


def _print_next_steps(
    console: Console, result: QuickstartResult, released: Any, seconds: float
) -> None:
    from rich.panel import Panel

    ids = list(result.run_ids.values())
    other = next((run_id for run_id in ids if run_id != result.best_run_id), ids[0])
    best_name = next(
        name for name, run_id in result.run_ids.items() if run_id == result.best_run_id
    )
    version = result.champion_version or next(iter(result.versions.values()), 1)
    console.print(
        Panel(
            f"Best candidate: [bold]{best_name}[/] ({result.best_metric} = "
            f"{result.best_value:.3f}), run [bold]{result.best_run_id}[/].\n"
            f"Whole lifecycle recorded in {seconds:.1f} s. What to run next:\n\n"
            f"  [cyan]modeldeck runs list --experiment {result.experiment}[/]\n"
            f"  [cyan]modeldeck runs compare {result.best_run_id[:8]} {other[:8]}[/]\n"
            f"  [cyan]modeldeck runs show {result.best_run_id[:8]}[/]\n"
            f"  [cyan]modeldeck models show churn {version}[/]\n"
            f"  [cyan]modeldeck models lineage churn {version}[/]\n"
            f"  [cyan]modeldeck models card churn {version}[/]\n"
            f"  [cyan]modeldeck audit log --subject models:/churn[/]\n"
            f"  [cyan]modeldeck monitor status churn[/]\n"
            f"  [cyan]modeldeck models evaluate churn {version} --data {released.eval_path} "
            f"--policy {released.policy_path}[/]",
            title="Next steps",
            expand=False,
        )
    )
