"""Model packages: a folder with the model's files and a manifest, stored content-addressed.

Layout (an ``MLmodel``-like manifest next to the files it describes)::

    modeldeck-model.json     flavor, serialization, signature, requirements, run, time
    model.skops              the model (model.joblib, model.pkl or model/ for other flavors)
    input_example.parquet    the input example, when one was given
    requirements.txt         the pinned requirements, for pip

The folder is stored with the object store's ``put_dir`` and logged as a directory artifact of
the run, so its digest names exactly these bytes and loading verifies every file against it.
"""

from __future__ import annotations

import json
import platform
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from modeldeck.core.errors import InvalidInput
from modeldeck.models.flavors import FLAVORS, flavor_for, get_flavor
from modeldeck.models.requirements import merge
from modeldeck.models.signature import Signature, as_frame, enforce, infer_output, infer_signature

if TYPE_CHECKING:
    from modeldeck.tracking.port import TrackingPort

MANIFEST_FILE = "modeldeck-model.json"
EXAMPLE_FILE = "input_example.parquet"
REQUIREMENTS_FILE = "requirements.txt"
FORMAT = "modeldeck.model"
FORMAT_VERSION = 1
# The signature is inferred from every row of the input example (the whole training frame is
# a good one: it shows which columns have missing values and every category); the package
# keeps only the first rows as the example.
EXAMPLE_ROWS = 10

_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "format_version": int,
    "flavor": str,
    "serialization": str,
    "model_file": str,
    "model_class": str,
    "flavor_options": dict,
    "methods": list,
    "signature": (dict, type(None)),
    "input_example": (str, type(None)),
    "python_version": str,
    "requirements": list,
    "run_id": (str, type(None)),
    "artifact_path": (str, type(None)),
    "created_at": int,
}


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What ``log_model`` stored: where, under which digest, and how to load it."""

    run_id: str
    artifact_path: str
    model_uri: str
    package_digest: str
    size: int
    flavor: str
    serialization: str
    signature: Signature | None
    metadata: Mapping[str, Any]


def log_model(
    tracker: TrackingPort,
    run_id: str,
    model: Any,
    name: str = "model",
    *,
    input_example: Any = None,
    signature: Signature | Mapping[str, Any] | None = None,
    serialization: str | None = None,
    requirements: Sequence[str] | None = None,
    created_at: int | None = None,
) -> ModelInfo:
    """Save ``model`` as a package and log it as directory artifact ``name`` of the run."""
    from modeldeck.tracking.tracker import now_ms

    tracker.get_run(run_id)  # fail on an unknown run before the (slow) save
    with tempfile.TemporaryDirectory(prefix="modeldeck-model-") as tmp:
        folder = Path(tmp) / "package"
        manifest = save_package(
            model,
            folder,
            input_example=input_example,
            signature=signature,
            serialization=serialization,
            requirements=requirements,
            run_id=run_id,
            artifact_path=name,
            created_at=now_ms() if created_at is None else created_at,
        )
        artifact = tracker.log_artifact(run_id, folder, name)
    return ModelInfo(
        run_id=run_id,
        artifact_path=artifact.path,
        model_uri=f"runs:/{run_id}/{artifact.path}",
        package_digest=artifact.digest,
        size=artifact.size,
        flavor=manifest["flavor"],
        serialization=manifest["serialization"],
        signature=manifest_signature(manifest),
        metadata=manifest,
    )


def save_package(
    model: Any,
    folder: Path,
    *,
    input_example: Any = None,
    signature: Signature | Mapping[str, Any] | None = None,
    serialization: str | None = None,
    requirements: Sequence[str] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    created_at: int = 0,
) -> dict[str, Any]:
    """Write the package of ``model`` into the new folder ``folder``; return its manifest."""
    flavor_name = flavor_for(model)
    flavor = get_flavor(flavor_name)
    serialization = serialization or flavor.default_serialization(model)
    if serialization not in flavor.SERIALIZATIONS:
        raise InvalidInput(
            f"a {flavor_name} model can be saved with {', '.join(flavor.SERIALIZATIONS)}, "
            f"not {serialization!r}"
        )
    if isinstance(signature, Mapping):
        signature = Signature.from_dict(signature)
    elif signature is not None and not isinstance(signature, Signature):
        raise InvalidInput(f"signature must be a Signature or a dict, got {type(signature)}")
    example = None if input_example is None else as_frame(input_example)
    if example is not None:
        if signature is None:
            signature = _infer_from_model(model, example)
        else:
            enforce(signature, example)  # an example the signature rejects is a mistake now
        example = example.head(EXAMPLE_ROWS)
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        raise InvalidInput(f"cannot save a model package into {folder}: it exists") from None
    options = flavor.save(model, folder, serialization)
    model_file = options.pop("model_file")
    if example is not None:
        _write_example(example, folder / EXAMPLE_FILE)
    reqs = merge(flavor.requirements(serialization), requirements)
    (folder / REQUIREMENTS_FILE).write_text("".join(f"{r}\n" for r in reqs), encoding="utf-8")
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "flavor": flavor_name,
        "serialization": serialization,
        "model_file": model_file,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "flavor_options": options,
        "methods": [m for m in ("predict", "predict_proba") if callable(getattr(model, m, None))],
        "signature": None if signature is None else signature.to_dict(),
        "input_example": None if example is None else EXAMPLE_FILE,
        "python_version": platform.python_version(),
        "requirements": reqs,
        "run_id": run_id,
        "artifact_path": artifact_path,
        "created_at": created_at,
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (folder / MANIFEST_FILE).write_text(text, encoding="utf-8")
    return manifest


def _infer_from_model(model: Any, example: Any) -> Signature:
    """The example's signature, with the output the model gives for it."""
    try:
        predicted = model.predict(example.head(1000))
    except Exception as e:
        raise InvalidInput(
            f"the model's predict failed on the input example ({type(e).__name__}: {e}); "
            "pass an example the model accepts"
        ) from e
    classes = getattr(model, "classes_", None)
    inputs = infer_signature(example).inputs
    return Signature(inputs, infer_output(predicted, None if classes is None else list(classes)))


def _write_example(example: Any, path: Path) -> None:
    try:
        example.to_parquet(path, index=False)
    except Exception as e:
        raise InvalidInput(f"the input example cannot be stored as parquet: {e}") from e


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The validated manifest of the package in ``folder``; InvalidInput says what is wrong."""
    folder = Path(folder)
    path = folder / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(
            f"{folder} is not a modeldeck model package: it has no {MANIFEST_FILE} "
            "(log models with log_model)"
        ) from None
    return parse_manifest(text, where=str(folder), folder=folder)


def parse_manifest(text: str | bytes, where: str, folder: Path | None = None) -> dict[str, Any]:
    """Validate manifest text; with ``folder``, also check the files it names are there."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InvalidInput(f"{MANIFEST_FILE} of {where} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f"{MANIFEST_FILE} of {where} is not a modeldeck model manifest")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise InvalidInput(
            f"model package {where} has format version {version!r}; this modeldeck reads "
            f"version {FORMAT_VERSION} (upgrade modeldeck to load newer packages)"
        )
    for key, kind in _REQUIRED.items():
        if key not in data:
            raise InvalidInput(f"{MANIFEST_FILE} of {where} has no {key!r}")
        if not isinstance(data[key], kind) or isinstance(data[key], bool):
            raise InvalidInput(f"{MANIFEST_FILE} of {where}: {key!r} has the wrong type")
    if data["flavor"] not in FLAVORS:
        raise InvalidInput(
            f"model package {where} has flavor {data['flavor']!r}, which this modeldeck does "
            f"not know (known: {', '.join(sorted(FLAVORS))})"
        )
    for key in ("model_file", "input_example"):
        value = data[key]
        if value is None:
            continue
        rel = PurePosixPath(value)
        if rel.is_absolute() or ".." in rel.parts or "\\" in value or not rel.parts:
            raise InvalidInput(f"{MANIFEST_FILE} of {where}: {key} {value!r} is not a local path")
        if folder is not None and not (folder / value).exists():
            raise InvalidInput(f"model package {where} lacks its {key.replace('_', ' ')} {value}")
    if data["signature"] is not None:
        try:
            Signature.from_dict(data["signature"])
        except InvalidInput as e:
            raise InvalidInput(f"{MANIFEST_FILE} of {where} has a malformed signature: {e}") from e
    return data


def manifest_signature(manifest: Mapping[str, Any]) -> Signature | None:
    raw = manifest.get("signature")
    return None if raw is None else Signature.from_dict(raw)


def read_input_example(folder: str | Path, manifest: Mapping[str, Any]) -> Any:
    """The stored input example as a DataFrame, or None."""
    name = manifest.get("input_example")
    if name is None:
        return None
    import pandas as pd

    return pd.read_parquet(Path(folder) / name)
