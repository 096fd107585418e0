"""Validation policies: which gates a registered model's versions must pass.

A policy lives in the user's repository, in ``modeldeck.toml`` (tables ``[models.<name>]``)
or ``modeldeck.yaml`` with the same structure, and is stored with every evaluation
(``Policy.to_dict``) so the evidence says what was asked as well as what was found.
Parsing is in ``_parse.py``; every error there names the file, the check and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from modeldeck.core.errors import InvalidInput, NotFound

POLICY_FILES = ("modeldeck.toml", "modeldeck.yaml", "modeldeck.yml")
DEFAULT_PROTECTED_ALIASES = ("champion",)


class _Check:
    __slots__ = ()
    type: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        kept = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
        return {"type": self.type, **{k: v for k, v in kept.items() if v is not None}}


@dataclass(frozen=True, slots=True)
class MetricCheck(_Check):
    """A metric on the whole evaluation dataset within ``[min, max]``."""

    type: ClassVar[str] = "metric"
    metric: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class ImprovementCheck(_Check):
    """The metric improves on the champion's, on the same data, by at least ``min_delta``."""

    type: ClassVar[str] = "improvement"
    metric: str
    min_delta: float = 0.0


@dataclass(frozen=True, slots=True)
class SliceCheck(_Check):
    """The metric per value of ``column``: within ``[min, max]`` and/or no further than
    ``max_gap`` worse than the overall value. Slices under ``min_rows`` rows are reported as
    skipped, and a check whose every slice was skipped fails: it judged nothing.

    A numeric column with more than ``MAX_NUMERIC_LEVELS`` distinct values is cut into ranges:
    ``bins`` quantile ranges (an integer, 4 by default) or the ranges between the edges it
    lists (``bins = [0, 30, 60, 120]``; values outside the edges are refused).
    """

    type: ClassVar[str] = "slice"
    column: str
    metric: str
    min: float | None = None
    max: float | None = None
    max_gap: float | None = None
    min_rows: int = 30
    bins: int | tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class LatencyCheck(_Check):
    """p95 of ``samples`` single-row predictions (after ``warmup`` calls) within ``p95_ms``."""

    type: ClassVar[str] = "latency"
    p95_ms: float
    samples: int = 200
    warmup: int = 5


@dataclass(frozen=True, slots=True)
class SignatureCheck(_Check):
    """The candidate's input signature stays compatible with the champion's."""

    type: ClassVar[str] = "signature"


Check = MetricCheck | ImprovementCheck | SliceCheck | LatencyCheck | SignatureCheck
CHECK_TYPES: dict[str, type[Check]] = {
    cls.type: cls
    for cls in (MetricCheck, ImprovementCheck, SliceCheck, LatencyCheck, SignatureCheck)
}
_WITH_METRIC = (MetricCheck, ImprovementCheck, SliceCheck)


@dataclass(frozen=True, slots=True)
class Policy:
    """The gates of one registered model.

    ``task`` is ``None`` when the file leaves it out; evaluation then infers it from the
    metrics named, or else from the label. ``features`` limits the columns given to the model
    (default: every column but the label, or the model's ``feature_names_in_``).
    """

    model: str
    label: str
    task: str | None = None
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES
    positive_label: str | int | bool | None = None
    features: tuple[str, ...] | None = None
    checks: tuple[Check, ...] = field(default=())
    source: str | None = None

    def metric_names(self) -> list[str]:
        return [c.metric for c in self.checks if isinstance(c, _WITH_METRIC)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; ``Policy.from_dict`` reads it back through the same validation."""
        return {
            "model": self.model,
            "label": self.label,
            "task": self.task,
            "protected_aliases": list(self.protected_aliases),
            "positive_label": self.positive_label,
            "features": None if self.features is None else list(self.features),
            "checks": [c.to_dict() for c in self.checks],
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        from modeldeck.validation._parse import parse_section

        if not isinstance(data, Mapping) or not isinstance(data.get("model"), str):
            raise InvalidInput("a stored policy must be a mapping with a 'model' name")
        source = data.get("source")
        section = {k: v for k, v in data.items() if k not in {"model", "source"} and v is not None}
        where = str(source) if source else "stored policy"
        policy = parse_section(section, data["model"], where)
        return _with_source(policy, source if isinstance(source, str) else None)


def parse_policy(document: Mapping[str, Any], model_name: str, source: str = "policy") -> Policy:
    """The policy of ``model_name`` from an already-read document (``{"models": {...}}``)."""
    from modeldeck.validation._parse import parse_document

    return parse_document(document, model_name, source)


def load_policy(path_or_dir: str | Path, model_name: str) -> Policy:
    """Read ``model_name``'s policy from a policy file, or find the file from a directory."""
    from modeldeck.validation._parse import read_document

    path = Path(path_or_dir)
    if path.is_dir():
        found = find_policy_file(path)
        if found is None:
            raise NotFound(
                f"no {' or '.join(POLICY_FILES)} in {path} or its parents up to the repository "
                f"root; create modeldeck.toml with a [models.{model_name}] table"
            )
        path = found
    elif not path.is_file():
        raise NotFound(f"policy file {path} does not exist")
    return _with_source(parse_policy(read_document(path), model_name, str(path)), str(path))


def find_policy_file(start_dir: str | Path) -> Path | None:
    """The nearest policy file from ``start_dir`` up to the repository root (the folder with
    ``.git``), or the filesystem root outside a repository.

    In one folder ``modeldeck.toml`` comes first, but a ``modeldeck.toml`` without a
    ``[models]`` table (only settings) gives way to a YAML file beside it.
    """
    from modeldeck.validation._parse import read_document

    here = Path(start_dir).resolve()
    for folder in (here, *here.parents):
        present = [folder / name for name in POLICY_FILES if (folder / name).is_file()]
        with_models = [p for p in present if "models" in read_document(p)]
        if with_models or present:
            return (with_models or present)[0]
        if (folder / ".git").exists():
            return None
    return None


def _with_source(policy: Policy, source: str | None) -> Policy:
    from dataclasses import replace

    return replace(policy, source=source)
