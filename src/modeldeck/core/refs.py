"""References to models, as users write them, and where a reference leads.

Three spellings, as MLflow users know them::

    runs:/<run id>/<artifact path>     a model package logged by a run   -> RunModelRef
    models:/<name>/<version>           a numbered registry version         -> VersionRef
    models:/<name>@<alias>             the version an alias points at now  -> AliasRef

``parse_model_uri`` turns text into one of these or raises InvalidInput saying what is wrong.
Whoever resolves a reference answers with a ``ModelSource``: the run and artifact path the
package came from and, when known, the digest of its stored directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modeldeck.core.errors import InvalidInput

RUNS_SCHEME = "runs:/"
MODELS_SCHEME = "models:/"

# A registered model name: letters, digits and ``_ - .``, starting with a letter or digit. No
# "/" or "@", which would make a URI ambiguous, and no spaces, which break shells and URLs.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}$")
# An alias: an identifier-like word (``champion``, ``challenger``, ``eu-shadow``).
_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass(frozen=True, slots=True)
class RunModelRef:
    """``runs:/<run_id>/<path>``: the package a run logged under ``path``."""

    run_id: str
    path: str

    def __str__(self) -> str:
        return f"{RUNS_SCHEME}{self.run_id}/{self.path}"


@dataclass(frozen=True, slots=True)
class VersionRef:
    """``models:/<name>/<version>``: one numbered version of a registered model."""

    name: str
    version: int

    def __str__(self) -> str:
        return f"{MODELS_SCHEME}{self.name}/{self.version}"


@dataclass(frozen=True, slots=True)
class AliasRef:
    """``models:/<name>@<alias>``: whichever version the alias points at when resolved."""

    name: str
    alias: str

    def __str__(self) -> str:
        return f"{MODELS_SCHEME}{self.name}@{self.alias}"


ModelRef = RunModelRef | VersionRef | AliasRef


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a model package is stored.

    ``package_digest`` is the digest of the package's directory manifest in the object store;
    a resolver that knows only the run and path may leave it ``None`` and the loader finds it.
    """

    run_id: str | None
    artifact_path: str | None
    package_digest: str | None = None

    def __post_init__(self) -> None:
        if self.package_digest is None and (self.run_id is None or self.artifact_path is None):
            raise InvalidInput("a model source needs a package digest or a run id and a path")


def parse_model_uri(text: object) -> ModelRef:
    """Parse ``runs:/…``, ``models:/name/3`` or ``models:/name@alias``; InvalidInput otherwise."""
    if not isinstance(text, str):
        raise InvalidInput(f"a model URI must be a string, got {type(text).__name__}: {text!r}")
    uri = text.strip()
    if uri.startswith(RUNS_SCHEME):
        return _parse_runs(uri, uri[len(RUNS_SCHEME) :])
    if uri.startswith(MODELS_SCHEME):
        return _parse_models(uri, uri[len(MODELS_SCHEME) :])
    raise InvalidInput(
        f"unsupported model URI {text!r}: use runs:/<run id>/<path>, models:/<name>/<version> "
        "or models:/<name>@<alias>"
    )


def check_model_name(name: object) -> str:
    """A registered model name: 1-250 letters, digits, ``_ - .``; no spaces, ``/`` or ``@``."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInput(
            f"invalid model name {name!r}: use 1-250 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


def check_alias(alias: object) -> str:
    """An alias: a letter, then up to 63 letters, digits, ``_`` or ``-`` (no spaces)."""
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias):
        raise InvalidInput(
            f"invalid alias {alias!r}: use a letter followed by up to 63 letters, digits, "
            "'_' or '-' (no spaces)"
        )
    return alias


def _parse_runs(uri: str, rest: str) -> RunModelRef:
    run_id, sep, path = rest.lstrip("/").partition("/")
    if not run_id or not _RUN_ID_RE.match(run_id):
        raise InvalidInput(f"model URI {uri!r} has no valid run id: use runs:/<run id>/<path>")
    path = path.strip("/")
    if not sep or not path:
        raise InvalidInput(
            f"model URI {uri!r} names no artifact path: use runs:/{run_id}/model "
            "(the name given to log_model)"
        )
    if "\\" in path or any(p in ("", ".", "..") for p in path.split("/")):
        raise InvalidInput(f"model URI {uri!r}: the artifact path must be relative, without '..'")
    return RunModelRef(run_id, path)


def _parse_models(uri: str, rest: str) -> VersionRef | AliasRef:
    if "@" in rest:
        name, _, alias = rest.partition("@")
        if not alias:
            raise InvalidInput(f"model URI {uri!r} has an empty alias after '@'")
        return AliasRef(_uri_name(uri, name), _uri_alias(uri, alias))
    name, sep, version = rest.partition("/")
    if not sep:
        raise InvalidInput(
            f"model URI {uri!r} names no version or alias: use models:/{name}/<version> "
            f"or models:/{name}@<alias>"
        )
    if not version.isascii() or not version.isdigit() or int(version) < 1:
        raise InvalidInput(
            f"model URI {uri!r}: the version must be a positive whole number, got {version!r}"
        )
    return VersionRef(_uri_name(uri, name), int(version))


def _uri_name(uri: str, name: str) -> str:
    try:
        return check_model_name(name)
    except InvalidInput as e:
        raise InvalidInput(f"model URI {uri!r}: {e}") from None


def _uri_alias(uri: str, alias: str) -> str:
    try:
        return check_alias(alias)
    except InvalidInput as e:
        raise InvalidInput(f"model URI {uri!r}: {e}") from None


_SHORTHAND = re.compile(r"[^/@:\s]+(@[^/@:\s]+|/\d+)")


def expand_model_ref(text: str) -> str:
    """``churn@champion`` and ``churn/3`` as ``models:/churn@champion``, ``models:/churn/3``;
    a ``models:/`` or ``runs:/`` URI as it is. What commands accept where they name a model."""
    text = text.strip()
    if text.startswith(("models:/", "runs:/")):
        return text
    if _SHORTHAND.fullmatch(text):
        return f"models:/{text}"
    raise InvalidInput(
        f"cannot read model {text!r}: give NAME@ALIAS, NAME/VERSION, models:/… "
        "or runs:/<run>/<path>"
    )
