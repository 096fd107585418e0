"""``modeldeck serve MODEL``: answer predictions over HTTP (uvicorn; every worker serves the
primary model, the canary and the shadow, and follows their aliases)."""

from __future__ import annotations

import gc
import json
import os
import signal
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from modeldeck.client.local import LocalClient
    from modeldeck.core.deployment import Prediction
    from modeldeck.serving.routing import Served
    from modeldeck.serving.server import FastPath


def serve(
    model: Annotated[
        str,
        typer.Argument(help="churn@champion, churn/3, models:/…, runs:/<run>/<path> or a folder."),
    ],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.", min=1)] = 1,
    canary: Annotated[
        str | None,
        typer.Option(
            "--canary",
            help="Send a share of the traffic to another model, e.g. churn@challenger:10 (10%); "
            "sticky per X-Caller-Key.",
        ),
    ] = None,
    shadow: Annotated[
        str | None,
        typer.Option(
            "--shadow",
            help="Send a copy of every request to another model; its answer is logged, "
            "not returned.",
        ),
    ] = None,
    max_batch: Annotated[
        int,
        typer.Option(
            "--max-batch",
            min=1,
            help="Most rows gathered from concurrent requests into one predict (1: no batching; "
            "a larger request goes alone).",
        ),
    ] = 64,
    max_wait_ms: Annotated[
        float,
        typer.Option(
            "--max-wait-ms",
            min=0,
            help="Under load, how long a batch may wait to fill (a lone request never waits).",
        ),
    ] = 2.0,
    poll: Annotated[
        float,
        typer.Option("--poll", min=0, help="Seconds between checks of the aliases (0: never)."),
    ] = 5.0,
    log_predictions: Annotated[
        bool,
        typer.Option(
            "--log/--no-log", help="Log every prediction to the monitoring store (default on)."
        ),
    ] = True,
) -> None:
    """Serve a model: /predict, MLflow's /invocations, Open Inference V2, /health, /metrics;
    micro-batching, canary and shadow traffic, and a new alias target swapped in live."""
    # what starting allocates (libraries, the models) lives as long as the server: collecting
    # garbage meanwhile only walks it; app_from_env turns collection back on (~5% of the start)
    gc.disable()
    from modeldeck.cli.server import fork_workers, require_server_extra, run_uvicorn
    from modeldeck.client import connect
    from modeldeck.serving.routing import parse_canary

    require_server_extra()
    canary_ref, share = parse_canary(canary) if canary else (None, 0.0)
    client = connect()
    backend = ClientBackend(client)
    # load here: a wrong reference or a broken package fails before workers start, and forked
    # workers inherit the loaded models instead of loading them again
    primary = backend.load(model, None)
    others = {
        role: backend.load(ref, None)
        for role, ref in (("canary", canary_ref), ("shadow", shadow))
        if ref is not None
    }
    _PRELOADED.update({primary.uri: primary} | {s.uri: s for s in others.values()})
    deployment = client.start_deployment(
        model=primary.name,
        reference=primary.uri,
        version=primary.number,
        host=host,
        port=port,
        workers=workers,
        canary_reference=others["canary"].uri if "canary" in others else None,
        canary_version=others["canary"].number if "canary" in others else None,
        canary_share=share,
        shadow_reference=others["shadow"].uri if "shadow" in others else None,
        shadow_version=others["shadow"].number if "shadow" in others else None,
    )
    plan = Plan(
        primary=primary.uri,
        canary=others["canary"].uri if "canary" in others else None,
        canary_share=share,
        shadow=others["shadow"].uri if "shadow" in others else None,
        max_batch=max_batch,
        max_wait=max_wait_ms / 1000,
        poll=poll,
        log_predictions=log_predictions,
        deployment_id=deployment.id,
    )
    os.environ[PLAN_ENV] = json.dumps(asdict(plan))
    client.close()  # nothing open is carried into the forked workers
    if workers > 1:
        fork_workers()
    lines = [f"serving {primary.name} version {primary.version} on http://{host}:{port}"]
    if "canary" in others:
        lines.append(f"  canary {others['canary'].uri} version {others['canary'].version}: "
                     f"{share:.0%} of callers")  # fmt: skip
    if "shadow" in others:
        lines.append(f"  shadow {others['shadow'].uri} version {others['shadow'].version}")
    lines.append(f"  deployment {deployment.id}, {workers} worker(s)")
    typer.secho("\n".join(lines), fg="green", err=True)
    # uvicorn re-raises the SIGTERM it shut down on; as an exception it lets the finally below
    # record the stop (the default action would kill the process first)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    from modeldeck.serving.metrics import shared_by_workers

    try:
        with shared_by_workers(workers):  # /metrics sums every worker's counts
            run_uvicorn("modeldeck.cli.serve:app_from_env", host, port, workers)
    finally:
        closing = connect()
        try:
            closing.stop_deployment(deployment.id)
        finally:
            closing.close()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


PLAN_ENV = "MODELDECK_SERVE_PLAN"
_PRELOADED: dict[str, Served] = {}


@dataclass(frozen=True, slots=True)
class Plan:
    """What every worker serves, handed over in the environment."""

    primary: str
    canary: str | None = None
    canary_share: float = 0.0
    shadow: str | None = None
    max_batch: int = 64
    max_wait: float = 0.002
    poll: float = 5.0
    log_predictions: bool = True
    deployment_id: str | None = None


class ClientBackend:
    """How a serving worker reaches the registry and the monitoring store: the SDK client
    (local stores or a team server)."""

    def __init__(self, client: LocalClient, deployment_id: str | None = None) -> None:
        self.client = client
        self.deployment_id = deployment_id

    def resolve(self, reference: str) -> int | None:
        if not reference.startswith("models:/"):
            return None
        return self.client.resolve_model_version(reference).version

    def load(self, reference: str, version: int | None) -> Served:
        """``reference`` (as the user wrote it, or a ``models:/`` URI) loaded; pinned to
        ``version`` when given, so an alias that moves again meanwhile cannot mix versions."""
        from modeldeck.core.refs import expand_model_ref
        from modeldeck.serving.routing import Served

        folder = Path(reference)
        if folder.is_dir():
            return load_folder(folder)
        uri = expand_model_ref(reference)
        if uri.startswith("models:/"):
            found = self.client.resolve_model_version(uri)
            number = found.version if version is None else version
            pinned = f"models:/{found.name}/{number}"
            return Served(found.name, str(number), uri, self.client.load_model(pinned))
        name = uri.removeprefix("runs:/").split("/", 1)[0]
        return Served(name, "run", uri, self.client.load_model(uri))

    def swapped(self, role: str, version: int | None) -> None:
        if self.deployment_id is not None:
            self.client.set_deployment_version(self.deployment_id, role, version)

    def heartbeat(self) -> None:
        if self.deployment_id is not None:
            self.client.deployment_heartbeat(self.deployment_id)

    def log(self, predictions: Sequence[Prediction]) -> int:
        return self.client.log_predictions(predictions)


def load_folder(folder: Path) -> Served:
    """A package folder (an exported bundle's ``model/``, named by the
    ``modeldeck-bundle.json`` beside it)."""
    from modeldeck.models.loading import load_folder as load_package
    from modeldeck.serving.routing import Served

    about = folder.parent / "modeldeck-bundle.json"
    meta: dict[str, Any] = json.loads(about.read_text()) if about.is_file() else {}
    name, number = str(meta.get("name", folder.name)), str(meta.get("version", "local"))
    return Served(name, number, str(folder.resolve()), load_package(folder))


def app_from_env() -> FastPath:
    """The factory uvicorn workers call: the plan comes from MODELDECK_SERVE_PLAN."""
    from modeldeck.client import connect
    from modeldeck.serving.routing import Arm
    from modeldeck.serving.server import Options, create_app

    plan = Plan(**json.loads(os.environ[PLAN_ENV]))
    backend = ClientBackend(connect(), plan.deployment_id)

    def arm(role: str, reference: str) -> Arm:
        served = _PRELOADED.get(reference) or backend.load(reference, None)
        return Arm(role, reference, served, max_batch=plan.max_batch, max_wait=plan.max_wait)

    options = Options(
        poll=plan.poll,
        log_predictions=plan.log_predictions,
        deployment_id=plan.deployment_id,
        canary_share=plan.canary_share,
    )
    arms = {"primary": arm("primary", plan.primary)}
    if plan.canary:
        arms["canary"] = arm("canary", plan.canary)
    if plan.shadow:
        arms["shadow"] = arm("shadow", plan.shadow)
    # the loaded models and libraries live as long as the worker: the garbage collector's full
    # passes, which pause every request, need not walk them
    gc.freeze()
    gc.enable()
    return create_app(
        arms["primary"],
        backend,
        options,
        canary=arms.get("canary"),
        shadow=arms.get("shadow"),
    )
