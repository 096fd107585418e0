"""``modeldeck serve``: one registered model behind three protocols.

- ``POST /predict``: ``{"records": [...]}`` or ``{"columns": {...}}``; answers predictions,
  class probabilities when the model has them, the model version and a request id;
- MLflow's scoring protocol, ``POST /invocations`` (``dataframe_split``, ``dataframe_records``,
  ``instances``, ``inputs``), so callers of ``mlflow models serve`` switch without changes;
- the Open Inference Protocol V2 (``/v2/health/live``, ``/v2/health/ready``,
  ``/v2/models/{name}``, ``POST /v2/models/{name}/infer``);
- ``/health/live``, ``/health/ready`` and Prometheus ``/metrics``.

The model is loaded once per worker. Input is checked against the signature: a wrong column or
type is a 422 whose message names it. Errors have the team server's shape
(``{"error": {"code", "message"}}``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from modeldeck.core.errors import InvalidInput, ModeldeckError, NotFound
from modeldeck.models.predictor import Predictor

V2_TYPES = {"integer": "INT64", "double": "FP64", "boolean": "BOOL", "string": "BYTES"}


@dataclass(frozen=True, slots=True)
class Served:
    """The model a worker serves: where it came from and the loaded predictor."""

    name: str
    version: str
    uri: str
    predictor: Predictor


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("model", "version", "protocol", "status")
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
            "Rows per predict call.",
            ("model", "version"),
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096),
            registry=self.registry,
        )


def create_app(served: Served) -> FastAPI:
    app = FastAPI(
        title=f"modeldeck serve: {served.name}",
        description=f"Predictions of {served.uri} (version {served.version}).",
        docs_url="/docs",
        redoc_url=None,
    )
    telemetry = Telemetry()
    app.state.served = served
    app.state.telemetry = telemetry

    @app.exception_handler(ModeldeckError)
    async def _refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ModeldeckError)
        status = 422 if isinstance(exc, InvalidInput) else 404 if isinstance(exc, NotFound) else 500
        return _error(status, exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _malformed(request: Request, exc: Exception) -> JSONResponse:
        return _error(422, "VALIDATION_ERROR", "the body must be a JSON object")

    def answer(protocol: str, data: Any, shape: str) -> tuple[Any, Any, str]:
        """(predictions, probabilities or None, request id), counted and timed."""
        start = time.perf_counter()
        status = "200"
        try:
            frame = to_frame(data, shape)
            predictions = served.predictor.predict(frame)
            probabilities = None
            if callable(getattr(served.predictor.raw, "predict_proba", None)):
                probabilities = served.predictor.predict_proba(frame)
            telemetry.rows.labels(served.name, served.version).observe(len(predictions))
            return predictions, probabilities, uuid.uuid4().hex
        except ModeldeckError:
            status = "422"
            raise
        except Exception:
            status = "500"
            raise
        finally:
            labels = (served.name, served.version, protocol, status)
            telemetry.requests.labels(*labels).inc()
            telemetry.latency.labels(*labels).observe(time.perf_counter() - start)

    @app.post("/predict")
    def predict(body: dict[str, Any]) -> dict[str, Any]:
        """``{"records": [{col: value}, ...]}`` or ``{"columns": {col: [values]}}``."""
        if "records" in body:
            data, shape = body["records"], "records"
        elif "columns" in body:
            data, shape = body["columns"], "columns"
        else:
            raise InvalidInput('send {"records": [...]} or {"columns": {...}}')
        predictions, probabilities, request_id = answer("predict", data, shape)
        out: dict[str, Any] = {
            "predictions": _list(predictions),
            "model": {"name": served.name, "version": served.version},
            "request_id": request_id,
        }
        if probabilities is not None:
            out["probabilities"] = _list(probabilities)
            out["classes"] = _list(getattr(served.predictor.raw, "classes_", []))
        return out

    @app.post("/invocations")
    def invocations(body: dict[str, Any]) -> dict[str, Any]:
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
        predictions, _, _ = answer("invocations", body[kind], kind)
        return {"predictions": _list(predictions)}

    @app.get("/health/live")
    @app.get("/v2/health/live")
    def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/health/ready")
    @app.get("/v2/health/ready")
    def ready() -> dict[str, Any]:
        return {"ready": True, "model": served.name, "version": served.version}

    @app.get("/v2/models/{name}")
    def v2_metadata(name: str) -> dict[str, Any]:
        _same_model(served, name)
        signature = served.predictor.signature
        inputs = (
            []
            if signature is None
            else [
                {"name": c.name, "datatype": V2_TYPES.get(c.type, "BYTES"), "shape": [-1]}
                for c in signature.inputs
            ]
        )
        return {
            "name": served.name,
            "versions": [served.version],
            "platform": f"modeldeck-{served.predictor.flavor}",
            "inputs": inputs,
            "outputs": [{"name": "predict", "datatype": _v2_output(served), "shape": [-1]}],
        }

    @app.get("/v2/models/{name}/ready")
    def v2_ready(name: str) -> dict[str, Any]:
        _same_model(served, name)
        return {"name": served.name, "ready": True}

    @app.post("/v2/models/{name}/infer")
    def v2_infer(name: str, body: dict[str, Any]) -> dict[str, Any]:
        _same_model(served, name)
        tensors = body.get("inputs")
        if not isinstance(tensors, list) or not tensors:
            raise InvalidInput('V2 infer needs "inputs": a list of named tensors, one per column')
        predictions, _, request_id = answer("v2", tensors, "v2")
        values = _list(predictions)
        return {
            "model_name": served.name,
            "model_version": served.version,
            "id": str(body.get("id") or request_id),
            "outputs": [
                {
                    "name": "predict",
                    "datatype": _v2_output(served),
                    "shape": [len(values)],
                    "data": values,
                }
            ],
        }

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def to_frame(data: Any, shape: str) -> Any:
    """A DataFrame from any of the accepted request shapes; InvalidInput names what is wrong."""
    import pandas as pd

    try:
        if shape in ("records", "dataframe_records"):
            if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
                raise InvalidInput(f"{shape} must be a list of objects, one per row")
            return pd.DataFrame.from_records(data)
        if shape == "columns":
            if not isinstance(data, Mapping):
                raise InvalidInput("columns must be an object of column name to a list of values")
            return pd.DataFrame(dict(data))
        if shape == "dataframe_split":
            if not isinstance(data, Mapping) or "data" not in data:
                raise InvalidInput('dataframe_split needs "columns" and "data"')
            return pd.DataFrame(data["data"], columns=data.get("columns"), index=data.get("index"))
        if shape in ("instances", "inputs"):
            if isinstance(data, Mapping):
                return pd.DataFrame(dict(data))
            if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
                return pd.DataFrame.from_records(data)
            raise InvalidInput(f"{shape} must be a list of objects or an object of columns")
        if shape == "v2":
            columns = {}
            for tensor in data:
                if not isinstance(tensor, Mapping) or "name" not in tensor or "data" not in tensor:
                    raise InvalidInput("each V2 input needs a name and data")
                columns[str(tensor["name"])] = list(tensor["data"])
            return pd.DataFrame(columns)
    except ValueError as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"cannot make a table of the {shape} input: {exc}") from None
    raise InvalidInput(f"unknown input shape {shape}")


def _same_model(served: Served, name: str) -> None:
    if name != served.name:
        raise NotFound(f"this server serves {served.name!r}, not {name!r}")


def _v2_output(served: Served) -> str:
    signature = served.predictor.signature
    kind = signature.outputs.type if signature is not None and signature.outputs else "double"
    return V2_TYPES.get(kind, "BYTES")


def _list(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _error(status: int, code: str, message: str) -> JSONResponse:
    # the team server's error shape
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
