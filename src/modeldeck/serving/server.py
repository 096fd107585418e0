"""``modeldeck serve``: registered models behind three protocols, with micro-batching, canary,
shadow, alias following and a prediction log.

- ``POST /predict``: ``{"records": [...]}`` or ``{"columns": {...}}``; answers predictions,
  class probabilities when the model has them, the model version and a request id;
- MLflow's scoring protocol, ``POST /invocations`` (``dataframe_split``, ``dataframe_records``,
  ``instances``, ``inputs``), so callers of ``mlflow models serve`` switch without changes;
- the Open Inference Protocol V2 (``/v2/health/live``, ``/v2/health/ready``,
  ``/v2/models/{name}``, ``/v2/models/{name}/ready``, ``POST /v2/models/{name}/infer``);
- ``/health/live``, ``/health/ready`` and Prometheus ``/metrics``.

Every answer carries ``X-Request-Id`` (the caller's, when it sends a valid one) and
``X-Model-Version``. A caller that sends ``X-Caller-Key`` always reaches the same side of a
canary split. Input is checked against the signature: a wrong column or type is a 422 whose
message names it. Errors have the team server's shape (``{"error": {"code", "message"}}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import Receive, Scope, Send

from modeldeck.core.deployment import HEARTBEAT_SECONDS, Prediction
from modeldeck.core.errors import InvalidInput, ModeldeckError, NotFound
from modeldeck.serving.batching import Columns
from modeldeck.serving.inputs import parse, to_columns
from modeldeck.serving.metrics import multiprocess_folder, render
from modeldeck.serving.recorder import Entry, Recorder
from modeldeck.serving.routing import Arm, Outcome, Served, split

log = logging.getLogger("modeldeck.serving")

V2_TYPES = {"integer": "INT64", "double": "FP64", "boolean": "BOOL", "string": "BYTES"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
MAX_SHADOW_PENDING = 1_000
MAX_BODY = 64 * 1024 * 1024
"""Bytes of one prediction request body: larger is a 413, answered before it is read whole."""
Headers = Mapping[str, str]
"""Request headers by lower-case name."""
Handler = Callable[[dict[str, Any], Headers], Awaitable[Response]]


class Backend(Protocol):
    """Where models come from and where a deployment reports: the client, in practice."""

    def resolve(self, reference: str) -> int | None:
        """The registry version ``reference`` names now."""

    def load(self, reference: str, version: int | None) -> Served:
        """``reference`` loaded, pinned to ``version`` when given."""

    def swapped(self, role: str, version: int | None) -> None:
        """The deployment now serves ``version`` as ``role``."""

    def heartbeat(self) -> None: ...

    def log(self, predictions: Sequence[Prediction]) -> int:
        """Store predictions in the monitoring store."""


@dataclass(frozen=True, slots=True)
class Options:
    poll: float = 5.0
    """Seconds between checks of the aliases an arm follows (0: never)."""
    log_predictions: bool = True
    deployment_id: str | None = None
    canary_share: float = 0.0


class Telemetry:
    def __init__(self, arms: Sequence[Arm]) -> None:
        self.folder = multiprocess_folder()  # several workers: every scrape sums them all
        self.registry = CollectorRegistry()
        labels = ("model", "version", "role", "protocol", "status")
        self.requests = Counter(
            "modeldeck_predict_requests", "Prediction requests.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "modeldeck_predict_duration_seconds",
            "Time to answer a prediction request.",
            labels,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.rows = Histogram(
            "modeldeck_predict_batch_rows",
            "Rows per predict call (one batch of requests).",
            ("model", "version", "role"),
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096),
            registry=self.registry,
        )
        self.swaps = Counter(
            "modeldeck_model_swaps",
            "Times an arm swapped to the version its alias moved to.",
            ("role",),
            registry=self.registry,
        )
        self.version = Gauge(
            "modeldeck_served_version",
            "The registry version each arm serves.",
            ("model", "role"),
            registry=self.registry,
            multiprocess_mode="livemostrecent",
        )
        self.shadow_dropped = Counter(
            "modeldeck_shadow_dropped",
            "Shadow copies not sent because too many were pending.",
            registry=self.registry,
        )
        self.log_written = Counter(
            "modeldeck_prediction_log_written",
            "Predictions written to the monitoring store.",
            registry=self.registry,
        )
        self.log_dropped = Counter(
            "modeldeck_prediction_log_dropped",
            "Predictions not logged (queue full, or the store refused them after retries).",
            registry=self.registry,
        )
        for arm in arms:
            self.served(arm)

    def logged(self, outcome: str, rows: int) -> None:
        """The recorder's count of predictions ``written`` or ``dropped``."""
        (self.log_written if outcome == "written" else self.log_dropped).inc(rows)

    def render(self) -> bytes:
        return render(self.registry, self.folder)

    def served(self, arm: Arm) -> None:
        number = arm.served.number
        if number is not None:
            self.version.labels(arm.served.name, arm.role).set(number)


def create_app(
    primary: Arm,
    backend: Backend,
    options: Options | None = None,
    *,
    canary: Arm | None = None,
    shadow: Arm | None = None,
) -> FastPath:
    opts = options or Options()
    arms = [arm for arm in (primary, canary, shadow) if arm is not None]
    telemetry = Telemetry(arms)
    recorder = Recorder(backend.log, counted=telemetry.logged) if opts.log_predictions else None
    background: set[asyncio.Task[Any]] = set()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if opts.poll > 0:
            tasks += [
                asyncio.create_task(_follow(arm, backend, opts.poll, telemetry))
                for arm in arms
                if arm.follows
            ]
        if opts.deployment_id is not None:
            tasks.append(asyncio.create_task(_beat(backend)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            if background:
                await asyncio.wait(list(background), timeout=5)
            for arm in arms:
                await arm.batcher.close()
            if recorder is not None:
                await asyncio.to_thread(recorder.close)

    served = primary.served
    app = FastAPI(
        title=f"modeldeck serve: {served.name}",
        description=f"Predictions of {primary.reference}.",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.arms = arms
    app.state.telemetry = telemetry
    app.state.recorder = recorder

    @app.exception_handler(ModeldeckError)
    async def _refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ModeldeckError)
        return _refusal(exc)

    async def answer(headers: Headers, protocol: str, data: Any, shape: str) -> _Answer:
        """Route, batch, predict, count and log one request."""
        start = time.perf_counter()
        request_id = _request_id(headers)
        arm = primary
        if canary is not None:
            key = headers.get("x-caller-key") or request_id
            if split(key, opts.canary_share):
                arm = canary
        status = "200"
        version = arm.served.version
        try:
            columns, rows = to_columns(data, shape)
            outcome = await arm.predict(columns, rows)
            version = outcome.served.version
        except InvalidInput:
            status = "422"
            raise
        except Exception:
            status = "500"
            raise
        finally:
            elapsed = time.perf_counter() - start
            labels = (arm.served.name, version, arm.role, protocol, status)
            telemetry.requests.labels(*labels).inc()
            telemetry.latency.labels(*labels).observe(elapsed)
        telemetry.rows.labels(arm.served.name, version, arm.role).observe(rows)
        now = int(time.time() * 1000)
        if recorder is not None:
            recorder.record(_entry(request_id, arm.role, outcome, now, elapsed, columns, opts))
        if shadow is not None:
            _copy(request_id, columns, rows, now)
        return _Answer(request_id, outcome)

    def _copy(request_id: str, columns: Columns, rows: int, now: int) -> None:
        assert shadow is not None
        if len(background) >= MAX_SHADOW_PENDING:
            telemetry.shadow_dropped.inc()
            return
        task = asyncio.create_task(_shadow(request_id, columns, rows, now))
        background.add(task)
        task.add_done_callback(background.discard)

    async def _shadow(request_id: str, columns: Columns, rows: int, now: int) -> None:
        assert shadow is not None
        start = time.perf_counter()
        status = "200"
        version = shadow.served.version
        try:
            outcome = await shadow.predict(columns, rows)
            version = outcome.served.version
            if recorder is not None:
                elapsed = time.perf_counter() - start
                recorder.record(_entry(request_id, "shadow", outcome, now, elapsed, columns, opts))
        except Exception as exc:  # a shadow's failure never reaches the caller
            status = "422" if isinstance(exc, InvalidInput) else "500"
            log.debug("shadow prediction failed: %s", exc)
        finally:
            labels = (shadow.served.name, version, "shadow", "shadow", status)
            telemetry.requests.labels(*labels).inc()
            telemetry.latency.labels(*labels).observe(time.perf_counter() - start)

    async def predict(body: dict[str, Any], headers: Headers) -> Response:
        """``{"records": [{col: value}, ...]}`` or ``{"columns": {col: [values]}}``."""
        if "records" in body:
            data, shape = body["records"], "records"
        elif "columns" in body:
            data, shape = body["columns"], "columns"
        else:
            raise InvalidInput('send {"records": [...]} or {"columns": {...}}')
        result = await answer(headers, "predict", data, shape)
        outcome = result.outcome
        out: dict[str, Any] = {
            "predictions": outcome.predictions,
            "model": {"name": outcome.served.name, "version": outcome.served.version},
            "request_id": result.request_id,
        }
        if outcome.probabilities is not None:
            out["probabilities"] = outcome.probabilities
            out["classes"] = outcome.served.classes or []
        return result.respond(out)

    async def invocations(body: dict[str, Any], headers: Headers) -> Response:
        """MLflow's scoring protocol."""
        formats = [
            k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in body
        ]
        if len(formats) != 1:
            raise InvalidInput(
                "send exactly one of dataframe_split, dataframe_records, instances or inputs "
                f"(got {', '.join(sorted(body)) or 'none'})"
            )
        kind = formats[0]
        result = await answer(headers, "invocations", body[kind], kind)
        return result.respond({"predictions": result.outcome.predictions})

    async def v2_infer(body: dict[str, Any], headers: Headers, name: str) -> Response:
        _same_model(primary, name)
        result = await answer(headers, "v2", body.get("inputs"), "v2")
        outcome = result.outcome
        values = outcome.predictions
        return result.respond(
            {
                "model_name": outcome.served.name,
                "model_version": outcome.served.version,
                "id": str(body.get("id") or result.request_id),
                "outputs": [
                    {
                        "name": "predict",
                        "datatype": _v2_output(outcome.served),
                        "shape": [len(values)],
                        "data": values,
                    }
                ],
            }
        )

    handlers: dict[str, Handler] = {"/predict": predict, "/invocations": invocations}

    async def handle(path: str, raw: bytes, headers: Headers) -> Response:
        """One prediction request, from its path, body and headers to its answer."""
        try:
            body = parse(raw)
            found = handlers.get(path)
            if found is not None:
                return await found(body, headers)
            name = path.removeprefix("/v2/models/").removesuffix("/infer")
            return await v2_infer(body, headers, name)
        except ModeldeckError as exc:
            return _refusal(exc)

    # the documented routes (OpenAPI); requests to them normally take the fast path below
    @app.post("/predict")
    @app.post("/invocations")
    async def predict_route(request: Request) -> Response:
        return await handle(request.url.path, await request.body(), request.headers)

    @app.post("/v2/models/{name}/infer")
    async def v2_infer_route(name: str, request: Request) -> Response:
        return await handle(request.url.path, await request.body(), request.headers)

    @app.get("/health/live")
    @app.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/health/ready")
    @app.get("/v2/health/ready")
    def ready() -> dict[str, Any]:
        out: dict[str, Any] = {
            "ready": True,
            "model": primary.served.name,
            "version": primary.served.version,
        }
        if canary is not None:
            out["canary"] = {
                "model": canary.served.name,
                "version": canary.served.version,
                "share": opts.canary_share,
            }
        if shadow is not None:
            out["shadow"] = {"model": shadow.served.name, "version": shadow.served.version}
        return out

    @app.get("/v2/models/{name}")
    def v2_metadata(name: str) -> dict[str, Any]:
        current = _same_model(primary, name)
        signature = current.predictor.signature
        inputs = (
            []
            if signature is None
            else [
                {"name": c.name, "datatype": V2_TYPES.get(c.type, "BYTES"), "shape": [-1]}
                for c in signature.inputs
            ]
        )
        return {
            "name": current.name,
            "versions": [current.version],
            "platform": f"modeldeck-{current.predictor.flavor}",
            "inputs": inputs,
            "outputs": [{"name": "predict", "datatype": _v2_output(current), "shape": [-1]}],
        }

    @app.get("/v2/models/{name}/ready")
    def v2_ready(name: str) -> dict[str, Any]:
        current = _same_model(primary, name)
        return {"name": current.name, "ready": True}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(telemetry.render(), media_type=CONTENT_TYPE_LATEST)

    return FastPath(app, handle)


class FastPath:
    """The ASGI app uvicorn runs: prediction requests go straight to their handler (no routing,
    no middleware, no request object: a few hundred microseconds less per request on a small
    machine), everything else to the FastAPI app, which also documents the prediction routes."""

    def __init__(self, app: FastAPI, handle: Callable[[str, bytes, Headers], Awaitable[Response]]):
        self.app = app
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _fast(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            await _too_big()(scope, receive, send)
            return
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _too_big()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        try:
            response = await self.handle(scope["path"], b"".join(chunks), headers)
        except Exception:
            log.exception("prediction failed")
            response = _error(500, "INTERNAL", "the prediction failed; see the server's log")
        await response(scope, receive, send)


def _too_big() -> Response:
    return _error(413, "TOO_LARGE", f"a prediction request body is at most {MAX_BODY} bytes")


def _fast(path: str) -> bool:
    if path in ("/predict", "/invocations"):
        return True
    return path.startswith("/v2/models/") and path.endswith("/infer") and path.count("/") == 4


@dataclass(frozen=True, slots=True)
class _Answer:
    request_id: str
    outcome: Outcome

    def respond(self, body: Mapping[str, Any]) -> Response:
        return Response(
            json.dumps(body, separators=(",", ":")).encode(),
            media_type="application/json",
            headers={
                "x-request-id": self.request_id,
                "x-model-version": self.outcome.served.version,
            },
        )


async def _follow(arm: Arm, backend: Backend, poll: float, telemetry: Telemetry) -> None:
    """Swap ``arm`` to the version its alias names whenever the alias moves."""
    warned = False
    while True:
        await asyncio.sleep(poll)
        try:
            version = await asyncio.to_thread(backend.resolve, arm.reference)
            if version is None or version == arm.served.number:
                warned = False
                continue
            served = await asyncio.to_thread(backend.load, arm.reference, version)
            before = arm.served.version
            arm.swap(served)
            telemetry.swaps.labels(arm.role).inc()
            telemetry.served(arm)
            log.warning(
                "%s: %s moved, now serving version %s (was %s)",
                arm.role,
                arm.reference,
                served.version,
                before,
            )
            await asyncio.to_thread(backend.swapped, arm.role, version)
            warned = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep serving what is loaded; try again later
            if not warned:
                log.warning("%s: cannot follow %s (%s); still serving version %s",
                            arm.role, arm.reference, exc, arm.served.version)  # fmt: skip
                warned = True


async def _beat(backend: Backend) -> None:
    while True:
        try:
            await asyncio.to_thread(backend.heartbeat)
        except Exception as exc:  # the store may be away; the next beat retries
            log.warning("deployment heartbeat failed: %s", exc)
        await asyncio.sleep(HEARTBEAT_SECONDS)


def _entry(
    request_id: str,
    role: str,
    outcome: Outcome,
    now: int,
    elapsed: float,
    columns: Columns,
    opts: Options,
) -> Entry:
    return Entry(
        request_id=request_id,
        role=role,
        model=outcome.served.name,
        version=outcome.served.number,
        time=now,
        latency_ms=round(elapsed * 1000, 3),
        columns=columns,
        predictions=outcome.predictions,
        probabilities=outcome.probabilities,
        deployment_id=opts.deployment_id,
    )


def _request_id(headers: Headers) -> str:
    given = headers.get("x-request-id")
    if given is None:
        return uuid.uuid4().hex
    if not _REQUEST_ID.fullmatch(given):
        raise InvalidInput(
            "X-Request-Id must be 1 to 128 letters, digits or . _ : - (or leave it out and one "
            "is made for you)"
        )
    return given


def _same_model(primary: Arm, name: str) -> Served:
    served = primary.served
    if name != served.name:
        raise NotFound(f"this server serves {served.name!r}, not {name!r}")
    return served


def _v2_output(served: Served) -> str:
    signature = served.predictor.signature
    kind = signature.outputs.type if signature is not None and signature.outputs else "double"
    return V2_TYPES.get(kind, "BYTES")


def _refusal(exc: ModeldeckError) -> JSONResponse:
    status = 422 if isinstance(exc, InvalidInput) else 404 if isinstance(exc, NotFound) else 500
    return _error(status, exc.code, str(exc))


def _error(status: int, code: str, message: str) -> JSONResponse:
    # the team server's error shape
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
