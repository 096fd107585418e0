"""Model URIs: runs:/, models:/name/version, models:/name@alias."""

from __future__ import annotations

import pytest

from modeldeck.core.errors import InvalidInput
from modeldeck.core.refs import (
    AliasRef,
    ModelSource,
    RunModelRef,
    VersionRef,
    check_alias,
    parse_model_uri,
)


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("runs:/abc123/model", RunModelRef("abc123", "model")),
        ("runs:/abc123/models/churn/", RunModelRef("abc123", "models/churn")),
        ("models:/churn/3", VersionRef("churn", 3)),
        ("models:/churn@champion", AliasRef("churn", "champion")),
        ("  models:/churn.v2@eu-shadow ", AliasRef("churn.v2", "eu-shadow")),
    ],
)
def test_parses_the_three_spellings(text: str, ref: object) -> None:
    assert parse_model_uri(text) == ref
    assert parse_model_uri(str(ref)) == ref


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("churn", "unsupported model URI"),
        ("s3://bucket/model", "unsupported model URI"),
        ("runs:/", "no valid run id"),
        ("runs:/abc123", "names no artifact path"),
        ("runs:/abc123/../other", "without '..'"),
        ("models:/churn", "names no version or alias"),
        ("models:/churn/0", "positive whole number"),
        ("models:/churn/latest", "positive whole number"),
        ("models:/churn/-1", "positive whole number"),
        ("models:/churn@", "empty alias"),
        ("models:/churn@my champion", "invalid alias"),
        ("models:/churn@3", "invalid alias"),
        ("models:/my model/3", "invalid model name"),
        ("models:/@champion", "invalid model name"),
    ],
)
def test_malformed_uris_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_model_uri(text)


def test_not_a_string() -> None:
    with pytest.raises(InvalidInput, match="must be a string"):
        parse_model_uri(3)


def test_alias_rules() -> None:
    assert check_alias("champion") == "champion"
    with pytest.raises(InvalidInput, match="no spaces"):
        check_alias("the champion")


def test_model_source_needs_a_digest_or_a_run_and_path() -> None:
    assert ModelSource(None, None, "a" * 64).package_digest == "a" * 64
    assert ModelSource("run", "model").package_digest is None
    with pytest.raises(InvalidInput):
        ModelSource("run", None)
