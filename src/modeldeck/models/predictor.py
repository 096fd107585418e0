"""A loaded model behind one small interface: signature-checked ``predict``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modeldeck.core.errors import InvalidInput
from modeldeck.models.package import manifest_signature, read_input_example
from modeldeck.models.signature import Enforcer, Signature, as_frame


class Predictor:
    """A model loaded from a package.

    ``predict(data)`` takes a DataFrame, a list of dicts or a dict of lists, checks it against
    the signature (the checks are compiled once, here) and calls the model. ``raw`` is the
    model itself, for anything else.
    """

    __slots__ = ("_enforce", "_predict", "folder", "metadata", "raw", "signature")

    def __init__(self, model: Any, metadata: Mapping[str, Any], folder: Path | None = None) -> None:
        self.raw = model
        self.metadata = dict(metadata)
        self.folder = folder
        self.signature: Signature | None = manifest_signature(metadata)
        enforcer: Enforcer | None = None if self.signature is None else self.signature.enforcer()
        self._enforce = enforcer if enforcer is not None else _as_given
        self._predict = model.predict  # bound once: a method lookup per call adds up on one row

    @property
    def flavor(self) -> str:
        return str(self.metadata["flavor"])

    @property
    def run_id(self) -> str | None:
        return self.metadata.get("run_id")

    def __repr__(self) -> str:
        return (
            f"<Predictor {self.metadata.get('model_class')} flavor={self.flavor} run={self.run_id}>"
        )

    def predict(self, data: Any) -> Any:
        """Predictions for each row of ``data`` (a numpy array for scikit-learn models)."""
        return self._predict(self._enforce(data))

    def check(self, data: Any) -> Any:
        """``data`` as the model takes it: a frame with the signature's columns, checked."""
        return self._enforce(data)

    def predict_proba(self, data: Any) -> Any:
        """Class probabilities, for models that have them."""
        method = getattr(self.raw, "predict_proba", None)
        if not callable(method):
            raise InvalidInput(f"{self.metadata.get('model_class')} has no predict_proba")
        return method(self._enforce(data))

    def predict_with_proba(self, data: Any) -> tuple[Any, Any | None]:
        """Predictions and, for classifiers, class probabilities (else None), checking ``data``
        once and passing over the model once where its ``predict`` is the most probable class
        (everything but SVMs with Platt scaling)."""
        import numpy as np

        frame = self._enforce(data)
        model = self.raw
        proba = getattr(model, "predict_proba", None)
        classes = getattr(model, "classes_", None)
        if not callable(proba) or classes is None:
            return self._predict(frame), None
        probabilities = proba(frame)
        if _predict_is_argmax(model):
            return np.asarray(classes)[np.argmax(probabilities, axis=1)], probabilities
        return self._predict(frame), probabilities

    def input_example(self) -> Any:
        """The example stored with the model (a DataFrame), or None."""
        if self.folder is None:
            return None
        return read_input_example(self.folder, self.metadata)


def _predict_is_argmax(model: Any) -> bool:
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return not hasattr(final, "probability")  # SVC(probability=True): predict may disagree


def _as_given(data: Any) -> Any:
    """Without a signature: records and column dicts become a DataFrame, the rest goes as is."""
    if isinstance(data, Mapping) or (
        isinstance(data, list) and data and isinstance(data[0], Mapping)
    ):
        return as_frame(data)
    return data
