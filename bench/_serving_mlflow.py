"""MLflow's side of bench/serving.py, run in MLflow's venv: ``python _serving_mlflow.py DIR``.

Saves the very pipeline that modeldeck registered (``DIR/pipeline.pkl``, fitted once by
``_serving_model.py``) as an MLflow model in ``DIR/mlflow-model``, with the same input example
(so MLflow infers a signature and enforces it, as modeldeck does). Prints one JSON line.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from pathlib import Path

import mlflow.sklearn
import pandas as pd
import skops.io


def main() -> None:
    where = Path(sys.argv[1])
    fitted = pickle.loads((where / "pipeline.pkl").read_bytes())
    split = json.loads((where / "example.json").read_text())
    example = pd.DataFrame(split["data"], columns=split["columns"])
    # MLflow 3.17 saves scikit-learn models with skops and asks which types to trust; a
    # benchmark trusts what its own pipeline needs (a user should review that list)
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(fitted))
    t0 = time.perf_counter()
    mlflow.sklearn.save_model(
        fitted,
        str(where / "mlflow-model"),
        input_example=example,
        skops_trusted_types=trusted,
        pip_requirements=["scikit-learn", "pandas", "skops"],  # no inference: seconds, no value
    )
    print(json.dumps({"save_s": time.perf_counter() - t0, "mlflow": mlflow.__version__}))


if __name__ == "__main__":
    main()
