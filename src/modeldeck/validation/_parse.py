"""Reading policy documents into ``Policy`` objects.

Every error names the file and the place in it (``[models.churn] check #3 (type 'slice')``),
says what is wrong and how to fix it, suggesting the nearest known name for a typo.
"""

from __future__ import annotations

import difflib
import itertools
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from modeldeck.core.errors import InvalidInput
from modeldeck.validation.metrics import METRICS, TASKS, metric_names
from modeldeck.validation.policy import (
    CHECK_TYPES,
    DEFAULT_PROTECTED_ALIASES,
    Check,
    MetricCheck,
    Policy,
    SliceCheck,
)

_ALIASES = "protected_aliases"
MODEL_KEYS = ("label", "task", "protected_aliases", "positive_label", "features", "checks")


def read_document(path: Path) -> dict[str, Any]:
    """The parsed contents of a TOML or YAML policy file (a mapping)."""
    text = path.read_text(encoding="utf-8")
    data: object
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"{path} is not valid TOML: {exc}") from exc
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: the top level must be a mapping with a 'models' key")
    return data


def parse_document(document: Mapping[str, Any], model_name: str, source: str) -> Policy:
    models = document.get("models")
    if models is None:
        _fail(source, f"has no [models.{model_name}] section", _ADD_SECTION.format(model_name))
    if not isinstance(models, Mapping):
        _fail(source, "'models' must be a table of model names", _ADD_SECTION.format(model_name))
    section = models.get(model_name)
    if section is None:
        known = ", ".join(sorted(models)) or "none"
        _fail(
            source,
            f"has no [models.{model_name}] section{_did_you_mean(model_name, list(models))} "
            f"(sections: {known})",
            _ADD_SECTION.format(model_name),
        )
    if not isinstance(section, Mapping):
        _fail(f"{source} [models.{model_name}]", "must be a table", _ADD_SECTION.format(model_name))
    return parse_section(section, model_name, source)


_ADD_SECTION = (
    'add a [models.{0}] table with label = "<label column>" and its [[models.{0}.checks]]'
)


def parse_section(section: Mapping[str, Any], model_name: str, source: str) -> Policy:
    where = f"{source} [models.{model_name}]"
    _reject_unknown(section, MODEL_KEYS, where)
    if "label" not in section:
        _fail(where, "is missing 'label'", 'add label = "<name of the label column>"')
    label = _text(section["label"], where, "label")
    task = section.get("task")
    if task is not None and task not in TASKS:
        _fail(where, f"task {task!r} is not known", f"use one of {', '.join(TASKS)}")
    aliases = _texts(section.get("protected_aliases", DEFAULT_PROTECTED_ALIASES), where, _ALIASES)
    positive = section.get("positive_label")
    if positive is not None and not isinstance(positive, str | int | bool):
        _expected(where, "positive_label", "a class label (text, integer or boolean)", positive)
    features = section.get("features")
    raw_checks = section.get("checks", [])
    if not isinstance(raw_checks, list | tuple):
        _expected(where, "checks", f"a list of tables ([[models.{model_name}.checks]])", raw_checks)
    checks = tuple(
        _parse_check(raw, f"{where} check #{i}", task) for i, raw in enumerate(raw_checks, 1)
    )
    policy = Policy(
        model=model_name,
        label=label,
        task=task,
        protected_aliases=aliases,
        positive_label=positive,
        features=None if features is None else _texts(features, where, "features"),
        checks=checks,
    )
    implied = {METRICS[name].task for name in policy.metric_names()}
    if task is None and len(implied) > 1:
        used = ", ".join(sorted(set(policy.metric_names())))
        fix = 'set task = "classification" or "regression" and keep only its metrics'
        _fail(where, f"mixes classification and regression metrics ({used})", fix)
    return policy


def _parse_check(raw: object, where: str, task: str | None) -> Check:
    if not isinstance(raw, Mapping):
        _expected(where, "a check", "a table with a 'type' key", raw)
    kind = raw.get("type")
    known = ", ".join(CHECK_TYPES)
    if kind is None:
        _fail(where, "has no 'type'", f"add type = one of {known}")
    if kind not in CHECK_TYPES:
        hint = _did_you_mean(str(kind), list(CHECK_TYPES))
        _fail(where, f"unknown check type {kind!r}{hint}", f"known types: {known}")
    cls = CHECK_TYPES[kind]
    where = f"{where} (type {kind!r})"
    allowed = [f.name for f in fields(cls)]
    _reject_unknown(raw, ["type", *allowed], where)
    for f in fields(cls):
        if f.default is MISSING and f.name not in raw:
            _fail(where, f"is missing {f.name!r}", f"add {f.name} = {_EXAMPLES[f.name]}")
    values = {k: _RULES[k](v, where, k, task) for k, v in raw.items() if k != "type"}
    check = cls(**values)
    _check_bounds(check, where)
    return check


def _check_bounds(check: Check, where: str) -> None:
    if isinstance(check, MetricCheck | SliceCheck):
        lo, hi = check.min, check.max
        if isinstance(check, SliceCheck):
            gap, fix = check.max_gap, "add min = ..., max = ... and/or max_gap = ..."
        else:
            gap, fix = None, "add min = ... and/or max = ..."
        if lo is None and hi is None and gap is None:
            _fail(where, "sets no threshold", fix)
        if lo is not None and hi is not None and lo > hi:
            _fail(where, f"min {lo:g} is above max {hi:g}", "swap them or fix one")


def _metric(value: object, where: str, key: str, task: str | None) -> str:
    name = _text(value, where, key)
    if name in metric_names(task):
        return name
    if name in METRICS:
        problem = f"metric {name!r} is a {METRICS[name].task} metric but task = {task!r}"
        _fail(where, problem, f"known for {task}: {', '.join(metric_names(task))}")
    for_task = f" for {task}" if task else ""
    hint = _did_you_mean(name, metric_names(task))
    _fail(where, f"unknown metric {name!r}{for_task}{hint}", f"known: {_known_metrics(task)}")


def _known_metrics(task: str | None) -> str:
    if task:
        return ", ".join(metric_names(task))
    return "; ".join(f"{t}: {', '.join(metric_names(t))}" for t in TASKS)


def _number(
    value: object,
    where: str,
    key: str,
    _task: object,
    *,
    above: float | None = None,
    at_least: float | None = None,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _expected(where, key, "a number", value)
    number = float(value)
    if math.isnan(number):
        _expected(where, key, "a number", value)
    if above is not None and number <= above:
        _expected(where, key, f"a number above {above:g}", value)
    if at_least is not None and number < at_least:
        _expected(where, key, f"a number of at least {at_least:g}", value)
    return number


def _count(value: object, where: str, key: str, _task: object, *, at_least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < at_least:
        _expected(where, key, f"a whole number of at least {at_least}", value)
    return value


def _bins(value: object, where: str, key: str, _task: object) -> int | tuple[float, ...]:
    """A number of quantile ranges (2 or more) or the increasing edges of the ranges."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 2 or value > 100:
            _expected(where, key, "a number of ranges from 2 to 100, or a list of edges", value)
        return value
    if isinstance(value, list | tuple) and len(value) >= 2:
        edges = tuple(_number(v, where, key, _task) for v in value)
        if all(a < b for a, b in itertools.pairwise(edges)) and len(edges) <= 101:
            return edges
    _expected(where, key, "a number of quantile ranges (4) or increasing edges ([0, 30])", value)


def _text(value: object, where: str, key: str, _task: object = None) -> str:
    if not isinstance(value, str) or not value.strip():
        _expected(where, key, "a non-empty text", value)
    return value


def _texts(value: object, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        _expected(where, key, 'a list of texts (["a", "b"])', value)
    return tuple(_text(v, where, key) for v in value)


_RULES: dict[str, Callable[[Any, str, str, str | None], Any]] = {
    "metric": _metric,
    "column": _text,
    "min": _number,
    "max": _number,
    "min_delta": _number,
    "max_gap": partial(_number, at_least=0.0),
    "p95_ms": partial(_number, above=0.0),
    "min_rows": partial(_count, at_least=0),
    "samples": partial(_count, at_least=1),
    "warmup": partial(_count, at_least=0),
    "bins": _bins,
}
_EXAMPLES = {"metric": '"auc"', "column": '"region"', "p95_ms": "25.0"}
assert {f.name for cls in CHECK_TYPES.values() for f in fields(cls)} == set(_RULES)


def _reject_unknown(mapping: Mapping[str, Any], allowed: Any, where: str) -> None:
    for key in mapping:
        if key not in allowed:
            hint = _did_you_mean(str(key), list(allowed))
            _fail(where, f"unknown key {key!r}{hint}", f"allowed keys: {', '.join(allowed)}")


def _did_you_mean(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _expected(where: str, key: str, expected: str, value: object) -> NoReturn:
    got = f"{type(value).__name__} {value!r}"
    quoted = isinstance(value, str) and expected.startswith(("a number", "a whole"))
    fix = f"write {key} = {value} without quotes" if quoted else f"set {key} to {expected}"
    _fail(where, f"{key!r} must be {expected}, got {got}", fix)


def _fail(where: str, problem: str, fix: str) -> NoReturn:
    joint = " " if problem.endswith("?") else "; "
    raise InvalidInput(f"{where}: {problem}{joint}{fix}")
