"""The retraining loop: a rule fires, the model's registered job trains a successor in a
tracked run, and the successor goes through the same gates as every version.

A job is a Python entry point (``package.module:function``) that takes a
:class:`RetrainContext` and returns a fitted model, or a command (split like a shell would,
``shlex.split``, but never run by one) with ``MODELDECK_RUN_ID`` naming the tracked run it
must log its model (artifact ``model``) to.

A job runs code in the process of whoever runs the monitor, so it is trusted only as an admin
saw it: a stored job carries its :func:`digest` and a ``pinned`` record (the digest an admin
pinned, by whom, when). An admin setting a job pins it at once; the monitor's owner may set
one, which waits for an admin's pin; a job whose pin is missing or names another digest is
refused by :func:`check_pinned` before anything runs. A job never gets the token of the caller:
a remote client hands it a token limited to its run and its model (``MODELDECK_TOKEN`` of a
command; the ``client`` of an entry point's context), revoked when the job ends, and a command's
environment is the caller's without any ``MODELDECK_*`` variable of its own. An entry point
runs inside the caller's process, where no boundary keeps Python code from the caller's memory:
for it the admin's pin is the protection, and the limited client is what it is meant to use.
Then, whatever ran: the model is registered as a new version that ``replaces`` the one the
alert was about (so lineage reads generation 1 → 2), evaluated by the job's policy on the
evaluation data, and given the ``challenger`` alias when its gates pass. Promotion to
``champion`` is not part of the loop: it still needs the approval rules. Each step is
audited (``retrain.start``, ``retrain.finish`` or ``retrain.fail``, besides what the
registry audits itself).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from modeldeck.core.errors import InvalidInput, ModeldeckError, PermissionDenied

if TYPE_CHECKING:
    import pandas as pd


KINDS = ("python", "command")
CHALLENGER = "challenger"
COMMAND_TIMEOUT_S = 6 * 3600
JOB_FIELDS = ("kind", "target", "policy", "label", "experiment")
HISTORY = 20  # the latest changes of a job kept with it, for `monitor status`


def digest(job: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of exactly what runs: the job's fields as canonical JSON (the pin and
    history around them are not part of it)."""
    fields = {k: job[k] for k in JOB_FIELDS if job.get(k) is not None}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_pinned(model: str, job: Mapping[str, Any]) -> str:
    """The digest of ``job`` when an admin pinned exactly it; else PermissionDenied (nothing
    runs). The digest is computed here from the job's fields, never taken from the record."""
    found = digest(job)
    pin = job.get("pinned")
    if not isinstance(pin, Mapping) or pin.get("digest") != found:
        raise PermissionDenied(
            f"the retraining job of {model!r} ({found[:19]}) is not pinned by an admin, so it "
            f"is not run; an admin reviews it with `modeldeck monitor status {model}` and pins "
            f"it with `modeldeck monitor pin {model} {found}`"
        )
    return found


def argv_of(target: str) -> list[str]:
    """A command job's argv: split as a shell would, run by none (no pipes, no expansion)."""
    try:
        argv = shlex.split(target)
    except ValueError as bad:
        raise InvalidInput(f"the retraining command cannot be parsed: {bad}") from None
    if not argv:
        raise InvalidInput("the retraining command is empty")
    return argv


def job_environment(store: Mapping[str, str] | None) -> dict[str, str]:
    """The environment of a command: the caller's, without any ``MODELDECK_*`` variable of
    its own (its token above all), then ``store`` (where to log, and the job's own token)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MODELDECK_")}
    env.update(store or {})
    return env


def check_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """A retraining job as stored: ``kind`` python or command, its ``target``, optionally
    the ``policy`` (TOML text of ``[models.<name>]``), ``label`` column, ``experiment``."""
    if not isinstance(job, Mapping):
        raise InvalidInput("a retraining job must be a mapping with 'kind' and 'target'")
    kind, target = job.get("kind"), job.get("target")
    if kind not in KINDS:
        raise InvalidInput(f"unknown retraining kind {kind!r}; use one of {', '.join(KINDS)}")
    if not isinstance(target, str) or not target.strip():
        raise InvalidInput("a retraining job needs a target: module:function, or a command")
    target = target.strip()
    if kind == "python":
        module, sep, function = target.partition(":")
        if not sep or not module or not function.isidentifier():
            raise InvalidInput(
                f"a Python retraining entry point is module:function, e.g. "
                f"myproject.train:retrain (got {target!r})"
            )
    else:
        argv_of(target)
    out: dict[str, Any] = {"kind": kind, "target": target}
    for key in ("policy", "label", "experiment"):
        value = job.get(key)
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"the retraining job's {key!r} must be non-empty text")
            out[key] = value
    if "policy" in out:
        import tomllib

        try:
            tomllib.loads(out["policy"])
        except tomllib.TOMLDecodeError as bad:
            raise InvalidInput(f"the retraining policy is not valid TOML: {bad}") from None
    return out


def job_of(
    *,
    entry_point: str | None,
    command: str | None,
    policy: str | os.PathLike[str] | None,
    label: str | None,
    experiment: str | None,
) -> dict[str, Any]:
    """The job a client registers, from its arguments (the policy file is read here, on the
    client's side); :func:`check_job` checks it where it is stored."""
    from pathlib import Path

    if (entry_point is None) == (command is None):
        raise InvalidInput("give a retraining job either an entry point or a command")
    job: dict[str, Any] = {
        "kind": "python" if entry_point else "command",
        "target": entry_point or command,
    }
    if policy is not None:
        path = Path(policy)
        if not path.is_file():
            raise InvalidInput(f"policy file {path} does not exist")
        job["policy"] = path.read_text(encoding="utf-8")
    if label is not None:
        job["label"] = label
    if experiment is not None:
        job["experiment"] = experiment
    return job


class Lifecycle(Protocol):
    """What retraining needs of a client (the local client provides it)."""

    def create_run(
        self,
        experiment: str,
        name: str | None = None,
        parent_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Any: ...

    def end_run(self, run_id: str, status: Any = ...) -> None: ...

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None: ...

    def log_dataset(
        self, run_id: str, data: Any, name: str | None = None, context: str = "train"
    ) -> Any: ...

    def log_model(self, run_id: str, model: Any, name: str = "model", **kwargs: Any) -> Any: ...

    def flush(self) -> None: ...


@dataclass
class RetrainContext:
    """What a retraining entry point is handed.

    ``labeled()`` gives the newest data: logged inputs of the deployment joined with the
    labels that arrived (a ``label`` column, or the job's label name). ``training_data()`` is
    the dataset the replaced version was trained on. Log what you train on with
    ``log_dataset(frame)`` (it becomes the new version's reference) and, optionally, what to
    judge it on with ``set_evaluation(frame)``; return the fitted model.
    """

    client: Lifecycle
    run_id: str
    model: str
    replaces: int
    label: str
    _labeled: Callable[[int | None], pd.DataFrame]
    _training: Callable[[], pd.DataFrame]
    train: pd.DataFrame | None = None
    evaluation: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def labeled(self, since: int | None = None) -> pd.DataFrame:
        return self._labeled(since)

    def training_data(self) -> pd.DataFrame:
        return self._training()

    def log_dataset(self, frame: pd.DataFrame, name: str | None = None) -> None:
        self.client.log_dataset(
            self.run_id, frame, name=name or f"{self.model}-train", context="train"
        )
        self.train = frame

    def set_evaluation(self, frame: pd.DataFrame, name: str | None = None) -> None:
        self.client.log_dataset(
            self.run_id, frame, name=name or f"{self.model}-eval", context="eval"
        )
        self.evaluation = frame

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.client.log_params(self.run_id, params)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        self.client.log_metrics(self.run_id, metrics)


@dataclass(frozen=True)
class Retrained:
    run_id: str
    version: int
    replaces: int
    passed: bool | None
    alias: str | None
    evaluation_rows: int


def run_job(
    job: Mapping[str, Any],
    context: RetrainContext,
    feature_columns: list[str] | None,
    store: Mapping[str, str] | None = None,
) -> None:
    """Run the job inside ``context``'s run; afterwards the run holds the model at ``model``.

    A command gets ``store`` (the ``MODELDECK_*`` variables naming the caller's store, and the
    job's own limited token) in its environment, so the SDK in it logs to the same place, into
    the run ``MODELDECK_RUN_ID``; it is started from an argv list, never by a shell."""
    if job["kind"] == "python":
        module_name, _, function_name = job["target"].partition(":")
        try:
            function = getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError) as missing:
            raise InvalidInput(
                f"retraining entry point {job['target']!r} cannot be imported: {missing}"
            ) from None
        model = function(context)
        if model is None:
            return  # the function logged its model itself
        example = None
        if context.train is not None:
            columns = [c for c in (feature_columns or []) if c in context.train.columns]
            example = context.train[columns] if columns else context.train
        context.client.log_model(context.run_id, model, "model", input_example=example)
        return
    env = job_environment(store)
    env["MODELDECK_RUN_ID"] = context.run_id
    env["MODELDECK_RETRAIN_MODEL"] = context.model
    env["MODELDECK_RETRAIN_REPLACES"] = str(context.replaces)
    argv = argv_of(job["target"])
    try:
        done = subprocess.run(
            argv,
            shell=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except OSError as failed:
        why = failed.strerror or str(failed)
        raise ModeldeckError(
            f"the retraining command {argv[0]!r} could not be started ({why}); it is run "
            "without a shell: name a program, e.g. `env VAR=1 python train.py`"
        ) from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout or "").strip()[-2000:]
        raise ModeldeckError(f"the retraining command exited with {done.returncode}: {tail}")
