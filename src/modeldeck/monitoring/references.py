"""A version's reference: the training rows its monitor compares production against.

Captured when the version is registered (and, for stores written by older clients, the first
time a monitor needs it): the run's dataset logged with context ``train`` is read from the
object store, cut to the signature's input columns (sampled down to ``MAX_ROWS``, seeded),
stored again as one parquet object, with the model's outputs on the same rows and their
profile. A version whose run logged no stored training data has no reference; its monitor
says how to give it one.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modeldeck.core.errors import InvalidInput
from modeldeck.core.monitoring import Reference
from modeldeck.monitoring.analysis import ReferenceData, scores_of, task_of
from modeldeck.registry.lineage import lineage
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import monitoring as rows
from modeldeck.storage.objects.base import ObjectStore

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.models.predictor import Predictor

MAX_ROWS = 200_000
TRAIN = "train"


class References:
    def __init__(
        self,
        db: Database,
        objects: ObjectStore,
        clock: Callable[[], int],
        load_model: Callable[[str], Predictor],
    ) -> None:
        self.db = db
        self.objects = objects
        self.clock = clock
        self.load_model = load_model
        self._loaded: dict[tuple[str, int], ReferenceData] = {}

    def get(self, model: str, version: int) -> Reference | None:
        with self.db.read() as conn:
            return rows.reference(conn, model, version)

    def capture(self, model: str, version: int) -> Reference | None:
        """Store the reference of ``model`` ``version`` if it has none; None when its run
        logged no stored training dataset."""
        import pandas as pd

        from modeldeck.tracking.datasets import profile

        existing = self.get(model, version)
        if existing is not None:
            return existing
        found = lineage(self.db, model, version)
        train = next(
            (
                i.dataset
                for i in found.inputs
                if i.context == TRAIN and i.dataset.object_digest is not None
            ),
            None,
        )
        if train is None or train.object_digest is None:
            return None
        signature = _signature(found.version.signature)
        frame = _read_parquet(self.objects.read_bytes(train.object_digest))
        if signature is not None:
            frame = frame[[c for c in signature.columns if c in frame.columns]]
        if len(frame) > MAX_ROWS:
            frame = frame.sample(n=MAX_ROWS, random_state=0).sort_index()
        frame = frame.reset_index(drop=True)
        task, classes = task_of(signature)
        predictor = self.load_model(f"models:/{model}/{version}")
        predictions, probabilities = predict(predictor, frame, task)
        scores = scores_of(predictions, probabilities, task, classes)
        data_digest = self.objects.put_bytes(_parquet(frame)).digest
        predictions_digest = self.objects.put_bytes(
            _parquet(pd.DataFrame({"score": scores}))
        ).digest
        values = {
            "model": model,
            "version": version,
            "dataset_name": train.name,
            "dataset_digest": train.digest,
            "data_digest": data_digest,
            "predictions_digest": predictions_digest,
            "rows": len(frame),
            "profile": profile(frame),
            "created_at": self.clock(),
        }
        with self.db.write() as conn:
            rows.insert_reference(conn, values)
        return self.get(model, version)

    def load(self, model: str, version: int) -> ReferenceData:
        """The reference of a version, read once per process."""
        key = (model, version)
        if key in self._loaded:
            return self._loaded[key]
        stored = self.capture(model, version)
        if stored is None:
            raise InvalidInput(
                f"{model} version {version} has no reference data: its run logged no stored "
                "training dataset. Log one in the training run with "
                "`modeldeck.log_dataset(train_frame, context='train')` and register again"
            )
        from modeldeck.storage.metadata import registry as registry_rows

        with self.db.read() as conn:
            signature = _signature(registry_rows.get_version(conn, model, version).signature)
        task, classes = task_of(signature)
        frame = _read_parquet(self.objects.read_bytes(stored.data_digest))
        scores = None
        if stored.predictions_digest is not None:
            scores = _read_parquet(self.objects.read_bytes(stored.predictions_digest))["score"]
        loaded = ReferenceData(
            model=model,
            version=version,
            frame=frame,
            scores=scores,
            profile=stored.profile,
            signature=signature,
            task=task,
            classes=classes,
            description=(
                f"dataset {stored.dataset_name} (sha256 {stored.dataset_digest[:12]}…), "
                f"{stored.rows:,} rows"
            ),
        )
        if len(self._loaded) > 8:
            self._loaded.pop(next(iter(self._loaded)))
        self._loaded[key] = loaded
        return loaded


def _signature(raw: Any) -> Any:
    if not raw:
        return None
    from modeldeck.models.signature import Signature

    return Signature.from_dict(raw)


def predict(predictor: Predictor, frame: pd.DataFrame, task: str | None) -> tuple[Any, Any]:
    """Predictions as a list, and class probabilities for a classifier (else None)."""
    import numpy as np

    predictions, probabilities = predictor.predict_with_proba(frame)
    if task != "classification":
        probabilities = None
    return list(np.asarray(predictions).tolist()), probabilities


def predict_valid(
    predictor: Predictor, frame: pd.DataFrame, task: str | None
) -> tuple[list[int], Any, Any]:
    """Predict the rows the model accepts: ``(positions kept, predictions, probabilities)``.
    A batch under monitoring may break the signature (that is a quality finding, not a
    reason to stop), so a refused chunk is halved until the refused rows are isolated."""
    from modeldeck.models.signature import SignatureError

    try:
        predictions, probabilities = predict(predictor, frame, task)
        return list(range(len(frame))), predictions, probabilities
    except SignatureError:
        if len(frame) <= 1:
            return [], [], None
    import numpy as np

    middle = len(frame) // 2
    kept: list[int] = []
    predictions = []
    parts = []
    for offset, part in ((0, frame.iloc[:middle]), (middle, frame.iloc[middle:])):
        rows, predicted, proba = predict_valid(predictor, part, task)
        kept += [offset + r for r in rows]
        predictions += list(predicted)
        if proba is not None and len(rows):
            parts.append(np.asarray(proba))
    return kept, predictions, (np.concatenate(parts) if parts else None)


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _read_parquet(data: bytes) -> pd.DataFrame:
    import pandas as pd

    return pd.read_parquet(io.BytesIO(data))


def training_frame(db: Database, objects: ObjectStore, model: str, version: int) -> pd.DataFrame:
    """The whole stored training dataset of a version (labels included), for retraining."""
    found = lineage(db, model, version)
    for used in found.inputs:
        if used.context == TRAIN and used.dataset.object_digest is not None:
            return _read_parquet(objects.read_bytes(used.dataset.object_digest))
    raise InvalidInput(
        f"{model} version {version} has no stored training dataset to retrain from; log it "
        "in its run with `modeldeck.log_dataset(frame, context='train')`"
    )
