"""Model packages: signatures, flavors, saving, loading and predicting.

Importing this package loads pandas and numpy; the SDK imports it only when a model is logged
or loaded, so ``import modeldeck`` stays light.
"""

from modeldeck.core.refs import ModelSource
from modeldeck.models.flavors import UnsafeModelError, UntrustedTypesError
from modeldeck.models.loading import load_model, locate
from modeldeck.models.package import ModelInfo, log_model, read_manifest, save_package
from modeldeck.models.predictor import Predictor
from modeldeck.models.signature import (
    ColumnSpec,
    OutputSpec,
    Signature,
    SignatureError,
    compatibility,
    enforce,
    infer_signature,
)

__all__ = [
    "ColumnSpec",
    "ModelInfo",
    "ModelSource",
    "OutputSpec",
    "Predictor",
    "Signature",
    "SignatureError",
    "UnsafeModelError",
    "UntrustedTypesError",
    "compatibility",
    "enforce",
    "infer_signature",
    "load_model",
    "locate",
    "log_model",
    "read_manifest",
    "save_package",
]
