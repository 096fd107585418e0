"""Each pattern the OpenAPI document states admits only what the service it stands for
accepts: hypothesis draws from the pattern, the service's own check must take the draw."""

from __future__ import annotations

import base64
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from modeldeck.core import validation
from modeldeck.core.errors import InvalidInput
from modeldeck.core.filters import parse_filter, parse_order_by
from modeldeck.core.refs import RunModelRef, parse_model_uri
from modeldeck.governance.config import KEYS, check_values
from modeldeck.monitoring.retraining import check_job
from modeldeck.monitoring.webhooks import check_url
from modeldeck.monitoring.windows import parse_window
from modeldeck.wire import governance, monitoring, registry, retraining, search, text

DRAWS = settings(max_examples=100, deadline=None)


@DRAWS
@given(st.from_regex(text.KEY_PATTERN, fullmatch=True).filter(lambda s: len(s) <= 250))
def test_a_key_the_pattern_admits_is_a_key(key: str) -> None:
    validation.check_key(key)


@DRAWS
@given(st.from_regex(text.HEADER_KEY_PATTERN, fullmatch=True).filter(lambda s: len(s) <= 250))
def test_a_header_key_is_a_key_once_http_trims_it(key: str) -> None:
    validation.check_key(key.strip(" \t"))


@DRAWS
@given(st.from_regex(text.NAME_PATTERN, fullmatch=True).filter(lambda s: len(s) <= 250))
def test_a_name_the_pattern_admits_is_a_name(name: str) -> None:
    validation.check_name(name)


def test_a_blank_name_is_outside_the_pattern() -> None:
    for blank in ["", " ", "\u3000", "\xa0 "]:
        assert not re.fullmatch(text.NAME_PATTERN, blank)


@DRAWS
@given(st.from_regex(monitoring.URL_PATTERN, fullmatch=True))
def test_a_webhook_url_the_pattern_admits_is_one(url: str) -> None:
    check_url(url)


@DRAWS
@given(st.from_regex(retraining.ENTRY_POINT_PATTERN, fullmatch=True))
def test_an_entry_point_the_pattern_admits_is_one(target: str) -> None:
    check_job({"kind": "python", "target": target})


@DRAWS
@given(st.from_regex(retraining.COMMAND_PATTERN, fullmatch=True))
def test_a_command_the_pattern_admits_splits(target: str) -> None:
    check_job({"kind": "command", "target": target})


def test_what_the_checks_refuse_is_outside_the_patterns() -> None:
    for url in ["/hook", "ftp://a/b", "http://", "http://a:99999/"]:
        assert not re.fullmatch(monitoring.URL_PATTERN, url)
    for command in ["", "  ", "'open", 'say "hi', "end\\"]:
        assert not re.fullmatch(retraining.COMMAND_PATTERN, command)
        try:
            check_job({"kind": "command", "target": command})
        except InvalidInput:
            pass
        else:
            raise AssertionError(command)


@DRAWS
@given(st.from_regex(registry.RUN_MODEL_URI, fullmatch=True))
def test_a_model_source_the_pattern_admits_is_a_run_uri(uri: str) -> None:
    assert isinstance(parse_model_uri(uri), RunModelRef)


@DRAWS
@given(
    st.from_regex(governance.HOST_PATTERN, fullmatch=True)
    | st.from_regex(governance.LOADER_PATTERN, fullmatch=True)
)
def test_a_setting_entry_the_pattern_admits_is_one(entry: str) -> None:
    key = KEYS[
        "webhook_hosts" if re.fullmatch(governance.HOST_PATTERN, entry) else "python_loaders"
    ]
    check_values(key, [entry])


@DRAWS
@given(st.from_regex(monitoring.WINDOW_PATTERN, fullmatch=True))
def test_a_window_the_pattern_admits_reads(window: str) -> None:
    parse_window(window)


@DRAWS
@given(st.from_regex(search.FILTER_PATTERN, fullmatch=True))
def test_a_filter_the_pattern_admits_parses(text: str) -> None:
    parse_filter(text)


@DRAWS
@given(st.from_regex(search.ORDER_PATTERN, fullmatch=True))
def test_an_order_the_pattern_admits_parses(text: str) -> None:
    parse_order_by([text])


@DRAWS
@given(st.from_regex(registry.BASE64_PATTERN, fullmatch=True))
def test_a_plot_the_pattern_admits_decodes(text: str) -> None:
    base64.b64decode(text, validate=True)


@DRAWS
@given(st.from_regex(retraining.POLICY_PATTERN, fullmatch=True).filter(bool))
def test_a_policy_the_pattern_admits_is_toml(policy: str) -> None:
    check_job({"kind": "python", "target": "a:b", "policy": policy})
