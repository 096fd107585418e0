"""The fluent SDK: module-level functions over one process-wide client and a stack of active runs.

Only the standard library is imported here, so ``import modeldeck`` stays fast; the client,
SQLAlchemy and pandas load on first use.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

from modeldeck.core import validation as check
from modeldeck.core.entities import Artifact, Dataset, Metric, Run, RunStatus
from modeldeck.core.errors import Conflict, PermissionDenied
from modeldeck.core.governance import Approval
from modeldeck.core.registry import AliasEvent, Evaluation, ModelVersion

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.client.local import LocalClient
    from modeldeck.governance.cards import ModelCard
    from modeldeck.models.package import ModelInfo
    from modeldeck.models.predictor import Predictor
    from modeldeck.models.signature import Signature
    from modeldeck.monitoring.labels import LabelsLogged

_lock = threading.RLock()
_client: LocalClient | None = None
_stack: list[ActiveRun] = []


def client() -> LocalClient:
    """The process-wide client, built from the settings on first use."""
    global _client
    with _lock:
        if _client is None:
            from modeldeck.client import connect

            _client = connect()
        return _client


def reset() -> None:
    """Flush and forget the process-wide client (after changing MODELDECK_* variables)."""
    global _client
    with _lock:
        while _stack:
            _stack[-1].end()
        if _client is not None:
            _client.close()
        _client = None


class ActiveRun:
    """A run this process is logging to; a context manager that ends it.

    Leaving the block normally marks the run FINISHED, an exception FAILED, Ctrl-C KILLED.
    """

    def __init__(self, run: Run, owner: LocalClient, experiment: str) -> None:
        self.run = run
        self.id = run.id
        self.experiment = experiment
        self.experiment_id = run.experiment_id
        self.name = run.name
        self._client = owner
        self._steps: dict[str, int] = {}
        self._keys: set[str] = set()
        self._ended = False

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name} id={self.id}>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end(RunStatus.FINISHED)
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end(RunStatus.KILLED)
        else:
            self.end(RunStatus.FAILED)

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        if key not in self._keys:
            check.check_key(key, "metric key")
            self._keys.add(key)
        number = check.check_metric_value(key, value)
        step = self._steps.get(key, -1) + 1 if step is None else check.check_step(step)
        self._steps[key] = step
        ts = time.time_ns() // 1_000_000 if timestamp is None else timestamp
        self._client.log_metric_rows([(self.id, key, number, step, ts)])

    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
    ) -> None:
        if not isinstance(metrics, Mapping):
            raise check.InvalidInput(f"log_metrics takes a dict, got {type(metrics).__name__}")
        ts = time.time_ns() // 1_000_000 if timestamp is None else timestamp
        rows = []
        fixed = None if step is None else check.check_step(step)
        for key, value in metrics.items():
            if key not in self._keys:
                check.check_key(key, "metric key")
                self._keys.add(key)
            this_step = self._steps.get(key, -1) + 1 if fixed is None else fixed
            self._steps[key] = this_step
            rows.append((self.id, key, check.check_metric_value(key, value), this_step, ts))
        self._client.log_metric_rows(rows)

    def end(self, status: RunStatus | str = RunStatus.FINISHED) -> None:
        with _lock:
            if self._ended:
                return
            self._ended = True
            if self in _stack:
                _stack.remove(self)
        self._client.end_run(self.id, status)


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    parent: str | Run | ActiveRun | None = None,
    tags: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> ActiveRun:
    """Start a run; a run started while another is active becomes its child.

    ``experiment`` is created when it does not exist (default: MODELDECK_EXPERIMENT or "Default").
    ``run_id`` resumes an existing run instead; so does ``MODELDECK_RUN_ID`` when no run is
    active (a retraining command logs into the run modeldeck started for it).
    """
    owner = client()
    with _lock:
        if run_id is None and parent is None and not _stack:
            run_id = os.environ.get("MODELDECK_RUN_ID") or None
        if run_id is not None:
            run = owner.get_run(run_id)
            try:
                names = {e.id: e.name for e in owner.experiments()}
            except PermissionDenied:  # a token limited to this run (a retraining job's)
                names = {}
            active = ActiveRun(run, owner, names.get(run.experiment_id, str(run.experiment_id)))
            if tags:
                owner.set_tags(run.id, tags)
            _stack.append(active)
            return active
        if parent is None and _stack:
            parent = _stack[-1]
        parent_id = parent if isinstance(parent, str) or parent is None else parent.id
        if experiment is None:
            experiment = _stack[-1].experiment if _stack else owner.settings.experiment
        run = owner.create_run(experiment, name, parent_id, tags)
        active = ActiveRun(run, owner, experiment)
        _stack.append(active)
    return active


def active_run() -> ActiveRun | None:
    with _lock:
        return _stack[-1] if _stack else None


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the innermost active run."""
    run = active_run()
    if run is not None:
        run.end(status)


def _current() -> ActiveRun:
    run = active_run()
    if run is None:
        raise Conflict(
            "no active run: wrap the logging in `with modeldeck.start_run(): ...` "
            "or call modeldeck.start_run() first"
        )
    return run


def log_param(key: str, value: Any) -> None:
    client().log_params(_current().id, {key: value})


def log_params(params: Mapping[str, Any]) -> None:
    client().log_params(_current().id, params)


def set_tag(key: str, value: Any) -> None:
    client().set_tags(_current().id, {key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    client().set_tags(_current().id, tags)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Queue one value; without ``step`` each key counts 0, 1, 2, ... in this run."""
    _current().log_metric(key, value, step, timestamp)


def log_metrics(
    metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
) -> None:
    _current().log_metrics(metrics, step, timestamp)


def log_artifact(path: str | os.PathLike[str], name: str | None = None) -> Artifact:
    """Store a file or a directory in the run under ``name`` (default: its own name)."""
    return client().log_artifact(_current().id, path, name)


def log_text(text: str, name: str) -> Artifact:
    return client().log_text(_current().id, text, name)


def log_dict(data: Mapping[str, Any], name: str) -> Artifact:
    """Store a dict as JSON (or YAML when ``name`` ends in .yaml/.yml)."""
    return client().log_dict(_current().id, data, name)


def log_figure(figure: Any, name: str) -> Artifact:
    """Store a matplotlib figure; the format follows ``name``'s suffix (png by default)."""
    return client().log_figure(_current().id, figure, name)


def log_dataset(
    data: pd.DataFrame | str | os.PathLike[str],
    name: str | None = None,
    context: str = "train",
    store: bool = True,
    source: str | None = None,
) -> Dataset:
    """Record a DataFrame or a file the run used: content digest, schema, column profile.

    With ``store`` (the default) the exact bytes go to the object store, so a model can be
    traced back to its data and the data fetched again; identical data is stored once.
    """
    return client().log_dataset(_current().id, data, name, context, store, source)


def flush() -> None:
    """Block until every metric logged so far is durably stored."""
    if _client is not None:
        _client.flush()


def get_run(run_id: str) -> Run:
    return client().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    return client().metric_history(run_id, key)


@overload
def search_runs(
    experiment: str | Sequence[str] | None = ...,
    filter: str | None = ...,
    order_by: Sequence[str] | str | None = ...,
    max_results: int = ...,
    output: Literal["runs"] = ...,
) -> list[Run]: ...
@overload
def search_runs(
    experiment: str | Sequence[str] | None = ...,
    filter: str | None = ...,
    order_by: Sequence[str] | str | None = ...,
    max_results: int = ...,
    *,
    output: Literal["pandas"],
) -> pd.DataFrame: ...
def search_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = None,
    max_results: int = 1000,
    output: Literal["runs", "pandas"] = "runs",
) -> list[Run] | pd.DataFrame:
    """Runs matching ``filter`` (e.g. ``"metrics.auc > 0.8 and params.model = 'gbm'"``).

    ``order_by`` items are ``"metrics.auc desc"``-style; ``output="pandas"`` gives a DataFrame
    with ``params.*``, ``metrics.*`` and ``tags.*`` columns.
    """
    runs = client().search_runs(experiment, filter, order_by, max_results).runs
    if output == "pandas":
        return runs_frame(runs)
    return runs


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    import pandas as pd

    records = []
    for run in runs:
        record: dict[str, Any] = {
            "run_id": run.id,
            "experiment_id": run.experiment_id,
            "name": run.name,
            "status": run.status.value,
            "user": run.user,
            "start_time": pd.to_datetime(run.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(run.end_time, unit="ms", utc=True) if run.end_time else None,
            "parent_id": run.parent_id,
            "git_commit": run.git_commit,
        }
        record.update({f"metrics.{k}": v for k, v in run.metrics.items()})
        record.update({f"params.{k}": v for k, v in run.params.items()})
        record.update({f"tags.{k}": v for k, v in run.tags.items()})
        records.append(record)
    return pd.DataFrame.from_records(records)


def download_artifact(run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
    return client().download_artifact(run_id, path, dest)


# models (packages, loading) -----------------------------------------------------------------


def log_model(
    model: Any,
    name: str = "model",
    *,
    input_example: Any = None,
    signature: Signature | Mapping[str, Any] | None = None,
    serialization: str | None = None,
    requirements: Sequence[str] | None = None,
) -> ModelInfo:
    """Store ``model`` as a package in the active run, under ``name``; load it with
    ``load_model(info.model_uri)``.

    scikit-learn estimators are saved with skops (``serialization="joblib"`` opts into a pickle,
    which then needs ``allow_pickle=True`` to load); other objects with ``predict`` are saved by
    their own ``save``/``load`` methods or else pickled. The signature is inferred from
    ``input_example`` (a DataFrame, list of dicts or dict of lists) unless given.
    """
    return client().log_model(
        _current().id,
        model,
        name,
        input_example=input_example,
        signature=signature,
        serialization=serialization,
        requirements=requirements,
    )


def load_model(uri: str, *, allow_pickle: bool = False) -> Predictor:
    """A predictor for ``runs:/<run>/<path>``, ``models:/<name>/<version>`` or
    ``models:/<name>@<alias>``; its ``predict(df)`` enforces the model's signature."""
    return client().load_model(uri, allow_pickle=allow_pickle)


# registry ------------------------------------------------------------------------------------


def register_model(
    source: str,
    name: str,
    *,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
    replaces: int | None = None,
) -> ModelVersion:
    """Register ``runs:/<run id>/model`` as the next version of ``name`` (created if new)."""
    return client().register_model(
        source, name, description=description, tags=tags, replaces=replaces
    )


def approve(name: str, version: int, comment: str | None = None) -> Approval:
    """Approve a version as the current user (a reviewer who is not its author)."""
    return client().approve(name, version, comment)


def reject(name: str, version: int, comment: str | None = None) -> Approval:
    return client().reject(name, version, comment)


def promote(name: str, version: int, alias: str = "champion") -> AliasEvent | None:
    """Move ``alias`` to ``version``; a protected alias needs passed gates and an approval."""
    return client().promote(name, version, alias)


def get_model_version(name: str, version: int | str) -> ModelVersion:
    return client().get_model_version(name, version)


# model cards ---------------------------------------------------------------------------------


def model_card(name: str, version: int) -> ModelCard:
    """The model card of a version (Mitchell et al. 2019): ``card.sections`` maps each section to
    Markdown, generated from the version's records or written by people."""
    return client().model_card(name, version)


def edit_model_card(
    name: str, version: int, sections: Mapping[str, str] | None = None, **texts: str
) -> ModelCard:
    """Write human sections of a card, as a dict or as keywords:
    ``edit_model_card("churn", 3, intended_use="...", factors="...")``.

    The sections people write are intended_use, factors, ethical_considerations and
    caveats_and_recommendations; an empty text restores the placeholder. The card goes back
    to draft.
    """
    return client().edit_model_card(name, version, {**(sections or {}), **texts})


def evaluate_model(
    name: str,
    version: int,
    data: pd.DataFrame | str | os.PathLike[str],
    *,
    policy: Any = None,
) -> Evaluation:
    """Run the validation gates of ``name`` on ``version`` over ``data``; store the evidence."""
    return client().evaluate_model(name, version, data, policy=policy)


# monitoring ----------------------------------------------------------------------------------


def log_labels(
    request_ids: Sequence[Any], labels: Sequence[Any], *, rows: Sequence[int] | None = None
) -> LabelsLogged:
    """Ground truth for logged predictions, joined by request id (and ``rows``, 0 by default:
    the row of a request that scored several). Labels may arrive long after the predictions;
    sending one again replaces it. ``unmatched`` counts labels whose prediction is not logged
    (yet)."""
    return client().log_labels(request_ids, labels, rows=rows)


def _forget_after_fork() -> None:
    # A forked child shares neither the writer thread nor the database connections, and the
    # parent's runs are not its own to end.
    global _client, _lock
    _client = None
    _stack.clear()
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def _at_exit() -> None:
    # Runs still open when the interpreter exits finished normally, as in MLflow; an
    # exception escaping a `with start_run()` block has already marked its run FAILED.
    try:
        with _lock:
            while _stack:
                _stack[-1].end(RunStatus.FINISHED)
        if _client is not None:
            _client.flush()
    except Exception as exc:  # never turn a clean exit into a traceback storm
        import sys

        print(f"modeldeck: could not finish runs at exit: {exc}", file=sys.stderr)
