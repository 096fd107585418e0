import math

import pytest

from modeldeck.core.errors import FilterSyntaxError, InvalidInput
from modeldeck.core.filters import (
    And,
    Comparison,
    Key,
    KeyKind,
    Or,
    OrderBy,
    Value,
    parse_filter,
    parse_order_by,
)

AUC = Key("metric", "auc")
LR = Key("param", "lr")


def cmp(kind: KeyKind, name: str, op: str, value: Value | tuple[Value, ...] | None) -> Comparison:
    return Comparison(Key(kind, name), op, value)


def fails(text: str) -> FilterSyntaxError:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    return info.value


# --- empty input -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "\t\n"])
def test_empty_filter_is_none(text: str | None) -> None:
    assert parse_filter(text) is None


# --- operators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "canonical"),
    [
        ("=", "="),
        ("==", "="),
        ("!=", "!="),
        ("<>", "!="),
        ("<", "<"),
        ("<=", "<="),
        (">", ">"),
        (">=", ">="),
    ],
)
def test_symbol_operators_are_canonicalised(op: str, canonical: str) -> None:
    assert parse_filter(f"metrics.auc {op} 0.5") == Comparison(AUC, canonical, 0.5)
    # no whitespace needed around symbols
    assert parse_filter(f"metrics.auc{op}0.5") == Comparison(AUC, canonical, 0.5)


@pytest.mark.parametrize("op", ["LIKE", "like", "Like", "ILIKE", "ilike"])
def test_like_operators_are_case_insensitive(op: str) -> None:
    assert parse_filter(f"params.model {op} 'xgb%'") == cmp("param", "model", op.upper(), "xgb%")


def test_in_and_not_in_produce_tuples() -> None:
    assert parse_filter("params.model IN ('xgb', 'lgbm')") == cmp(
        "param", "model", "IN", ("xgb", "lgbm")
    )
    assert parse_filter("tags.team not in ('a')") == cmp("tag", "team", "NOT IN", ("a",))
    assert parse_filter("metrics.epochs IN (1, 2.5, -3)") == cmp(
        "metric", "epochs", "IN", (1.0, 2.5, -3.0)
    )
    assert parse_filter("params.x in('a','b')") == cmp("param", "x", "IN", ("a", "b"))


def test_is_null_and_is_not_null_have_no_value() -> None:
    assert parse_filter("metrics.auc IS NULL") == Comparison(AUC, "IS NULL", None)
    assert parse_filter("params.lr is not null") == Comparison(LR, "IS NOT NULL", None)
    assert parse_filter("datasets.context IS NULL") == cmp("dataset", "context", "IS NULL", None)
    assert parse_filter("start_time IS NOT NULL") == cmp(
        "attribute", "start_time", "IS NOT NULL", None
    )


# --- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("1", 1.0),
        ("-1", -1.0),
        ("+2", 2.0),
        ("0.25", 0.25),
        (".5", 0.5),
        ("3.", 3.0),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("-2.5e+2", -250.0),
        ("inf", math.inf),
        ("Infinity", math.inf),
        ("-inf", -math.inf),
        ("-INFINITY", -math.inf),
    ],
)
def test_numbers(literal: str, expected: float) -> None:
    result = parse_filter(f"metrics.auc > {literal}")
    assert result == Comparison(AUC, ">", expected)
    assert isinstance(result, Comparison)
    assert type(result.value) is float


def test_nan() -> None:
    result = parse_filter("metrics.auc = NaN")
    assert isinstance(result, Comparison)
    assert isinstance(result.value, float)
    assert math.isnan(result.value)


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("'xgb'", "xgb"),
        ('"xgb"', "xgb"),
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ("'a \"b\" c'", 'a "b" c'),
        ("''", ""),
        ("'AND OR ( ) = 1'", "AND OR ( ) = 1"),
        ("'ünïcødé'", "ünïcødé"),
    ],
)
def test_strings(literal: str, expected: str) -> None:
    assert parse_filter(f"params.model = {literal}") == cmp("param", "model", "=", expected)


# --- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind", "name"),
    [
        ("metrics.auc", "metric", "auc"),
        ("metric.auc", "metric", "auc"),
        ("metrics.val.loss", "metric", "val.loss"),
        ("metrics.f1-score", "metric", "f1-score"),
        ("metrics.eval/acc:top_1", "metric", "eval/acc:top_1"),
        ("metrics.`my key`", "metric", "my key"),
        ('metrics."my key"', "metric", "my key"),
        ("metrics.`a``b`", "metric", "a`b"),
        ('metrics."a""b"', "metric", 'a"b'),
        ("Metrics.auc", "metric", "auc"),
    ],
)
def test_metric_keys(key: str, kind: KeyKind, name: str) -> None:
    assert parse_filter(f"{key} > 1") == cmp(kind, name, ">", 1.0)


@pytest.mark.parametrize(
    ("key", "kind", "name"),
    [
        ("params.lr", "param", "lr"),
        ("param.lr", "param", "lr"),
        ('params."learning rate"', "param", "learning rate"),
        ("tags.mlflow.runName", "tag", "mlflow.runName"),
        ("tag.`team name`", "tag", "team name"),
        ("datasets.name", "dataset", "name"),
        ("dataset.digest", "dataset", "digest"),
        ("datasets.context", "dataset", "context"),
    ],
)
def test_string_keys(key: str, kind: KeyKind, name: str) -> None:
    assert parse_filter(f"{key} = 'v'") == cmp(kind, name, "=", "v")


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("run_id", "run_id"),
        ("id", "run_id"),
        ("run_name", "run_name"),
        ("name", "run_name"),
        ("user", "user"),
        ("user_id", "user"),
        ("experiment_id", "experiment_id"),
        ("parent_id", "parent_id"),
        ("parent_run_id", "parent_id"),
        ("git_commit", "git_commit"),
        ("attributes.run_id", "run_id"),
        ("attribute.id", "run_id"),
        ("attr.name", "run_name"),
        ("run.parent_run_id", "parent_id"),
        ("attributes.`user_id`", "user"),
        ("RUN_NAME", "run_name"),
    ],
)
def test_attribute_aliases_are_normalised(key: str, canonical: str) -> None:
    assert parse_filter(f"{key} = 'x'") == cmp("attribute", canonical, "=", "x")


def test_time_attributes_take_numbers() -> None:
    assert parse_filter("start_time >= 1700000000000") == cmp(
        "attribute", "start_time", ">=", 1700000000000.0
    )
    assert parse_filter("attributes.end_time < 5") == cmp("attribute", "end_time", "<", 5.0)


@pytest.mark.parametrize("literal", ["'running'", "'Finished'", '"FAILED"', "'killed'"])
def test_status_is_upper_cased(literal: str) -> None:
    result = parse_filter(f"status = {literal}")
    assert isinstance(result, Comparison)
    assert result.key == Key("attribute", "status")
    assert result.value == literal.strip("'\"").upper()


def test_status_in_list_is_upper_cased() -> None:
    assert parse_filter("status IN ('running', 'failed')") == cmp(
        "attribute", "status", "IN", ("RUNNING", "FAILED")
    )


def test_status_like_keeps_the_pattern() -> None:
    assert parse_filter("status ILIKE 'run%'") == cmp("attribute", "status", "ILIKE", "run%")


def test_string_keys_allow_ordering_comparisons() -> None:
    assert parse_filter("run_name > 'b'") == cmp("attribute", "run_name", ">", "b")


# --- boolean structure -----------------------------------------------------------------------

A = cmp("metric", "a", ">", 1.0)
B = cmp("metric", "b", ">", 2.0)
C = cmp("metric", "c", ">", 3.0)
D = cmp("metric", "d", ">", 4.0)


def test_and_is_flattened() -> None:
    assert parse_filter("metrics.a > 1 AND metrics.b > 2 and metrics.c > 3") == And((A, B, C))


def test_or_is_flattened() -> None:
    assert parse_filter("metrics.a > 1 OR metrics.b > 2 or metrics.c > 3") == Or((A, B, C))


def test_and_binds_tighter_than_or() -> None:
    assert parse_filter("metrics.a > 1 OR metrics.b > 2 AND metrics.c > 3") == Or((A, And((B, C))))
    assert parse_filter("metrics.a > 1 AND metrics.b > 2 OR metrics.c > 3") == Or((And((A, B)), C))
    assert parse_filter("metrics.a > 1 AND metrics.b > 2 OR metrics.c > 3 AND metrics.d > 4") == Or(
        (And((A, B)), And((C, D)))
    )


def test_parentheses_override_precedence() -> None:
    assert parse_filter("(metrics.a > 1 OR metrics.b > 2) AND metrics.c > 3") == And(
        (Or((A, B)), C)
    )
    assert parse_filter("metrics.a > 1 AND (metrics.b > 2 OR metrics.c > 3)") == And(
        (A, Or((B, C)))
    )


def test_redundant_parentheses_disappear() -> None:
    assert parse_filter("((metrics.a > 1))") == A
    assert parse_filter("(metrics.a > 1 AND metrics.b > 2) AND metrics.c > 3") == And((A, B, C))
    assert parse_filter("metrics.a > 1 OR (metrics.b > 2 OR metrics.c > 3)") == Or((A, B, C))


def test_keywords_are_case_insensitive() -> None:
    assert parse_filter("metrics.a > 1 And metrics.b > 2 oR metrics.c > 3") == Or((And((A, B)), C))


def test_keywords_inside_names_and_strings_are_not_keywords() -> None:
    assert parse_filter("tags.and = 'or'") == cmp("tag", "and", "=", "or")
    assert parse_filter("metrics.a>1 AND(metrics.b>2)") == And((A, B))


# --- errors ----------------------------------------------------------------------------------


def test_error_is_invalid_input_and_points_at_the_fault() -> None:
    error = fails("metrics.auc >> 1")
    assert isinstance(error, InvalidInput)
    assert error.position == 12
    assert error.text == "metrics.auc >> 1"
    assert "metrics.auc >> 1\n" + " " * 14 + "^" in str(error)


@pytest.mark.parametrize(
    ("text", "position", "needle"),
    [
        ("params.model = 'xgb", 15, "unterminated string"),
        ('params.model = "xgb', 15, "unterminated string"),
        ("params.`model = 'x'", 7, "unterminated quoted name"),
        ("params.model = 'it''s", 15, "unterminated string"),
    ],
)
def test_unterminated_quotes(text: str, position: int, needle: str) -> None:
    error = fails(text)
    assert error.position == position
    assert needle in error.reason


@pytest.mark.parametrize(
    ("text", "position", "bad"),
    [
        ("metrics.auc >> 1", 12, "'>>'"),
        ("metrics.auc =< 1", 12, "'=<'"),
        ("metrics.auc ! 1", 12, "'!'"),
        ("metrics.auc CONTAINS 1", 12, "'CONTAINS'"),
        ("metrics.auc 1", 12, "'1'"),
    ],
)
def test_unknown_operator(text: str, position: int, bad: str) -> None:
    error = fails(text)
    assert error.position == position
    assert error.reason.startswith(f"unknown operator {bad}")
    assert "=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL" in error.reason


def test_missing_operator() -> None:
    error = fails("metrics.auc")
    assert error.position == 11
    assert "missing operator after metrics.auc" in error.reason


def test_missing_value() -> None:
    error = fails("metrics.auc > ")
    assert error.position == 14
    assert error.reason == "missing value after >"
    error = fails("metrics.auc > AND metrics.b > 1")
    assert error.position == 14
    assert "expected a number or a quoted string, got 'AND'" in error.reason


def test_unquoted_word_value_suggests_quoting() -> None:
    error = fails("params.model = xgb")
    assert error.position == 15
    assert "quote strings: 'xgb'" in error.reason


@pytest.mark.parametrize("literal", ["1abc", "1.2.3", "1e5x", "1e+5x", "0x10"])
def test_number_glued_to_letters_is_one_bad_value(literal: str) -> None:
    error = fails(f"metrics.auc = {literal}")
    assert error.position == 14
    assert f"expected a number or a quoted string, got '{literal}'" in error.reason


def test_backticked_value_is_rejected() -> None:
    error = fails("params.model = `xgb`")
    assert error.position == 15
    assert "backticks quote key names" in error.reason


@pytest.mark.parametrize(
    ("text", "position", "needle"),
    [
        ("metrics.auc > 1 foo", 16, "unexpected 'foo' after a complete comparison"),
        ("metrics.auc > 1 metrics.b > 2", 16, "join with AND or OR"),
        ("metrics.auc > 1 AND", 19, "expected a key"),
        ("metrics.auc > 1 AND OR metrics.b > 1", 20, "expected a key"),
    ],
)
def test_trailing_garbage(text: str, position: int, needle: str) -> None:
    error = fails(text)
    assert error.position == position
    assert needle in error.reason


@pytest.mark.parametrize(
    ("text", "position", "needle"),
    [
        ("(metrics.a > 1", 0, "this '(' is never closed"),
        ("metrics.a > 1 AND ((metrics.b > 2)", 18, "this '(' is never closed"),
        ("metrics.a > 1)", 13, "this ')' has no matching '('"),
        ("(metrics.a > 1))", 15, "this ')' has no matching '('"),
        ("(metrics.a > 1 metrics.b > 2)", 15, "expected ')', AND or OR"),
        ("()", 1, "expected a key"),
        ("params.x IN ('a', 'b'", 12, "this '(' is never closed"),
    ],
)
def test_unbalanced_parentheses(text: str, position: int, needle: str) -> None:
    error = fails(text)
    assert error.position == position
    assert needle in error.reason


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    error = fails("(" * 500 + "metrics.a > 1" + ")" * 500)
    assert "nested deeper than" in error.reason


def test_unknown_prefix_lists_the_prefixes() -> None:
    error = fails("metricz.auc > 1")
    assert error.position == 0
    assert "unknown key prefix 'metricz.'" in error.reason
    for prefix in ("metrics.", "params.", "tags.", "attributes.", "datasets."):
        assert prefix in error.reason
    assert fails("metrics.a > 1 AND foo.bar = 'x'").position == 18


def test_unknown_attribute_lists_the_attributes() -> None:
    error = fails("metrics.a > 1 AND attributes.colour = 'red'")
    assert error.position == 18
    assert "unknown attribute 'colour'" in error.reason
    for name in ("run_id", "run_name", "status", "user", "start_time", "git_commit"):
        assert name in error.reason


def test_bare_unknown_identifier_hints_at_prefixes() -> None:
    error = fails("auc > 0.5")
    assert error.position == 0
    assert "unknown attribute 'auc'" in error.reason
    assert "need a prefix: metrics." in error.reason


def test_unknown_dataset_field() -> None:
    error = fails("datasets.size = 'x'")
    assert error.position == 0
    assert "expected one of name, digest, context" in error.reason


@pytest.mark.parametrize(
    ("text", "position", "needle"),
    [
        ("metrics. auc > 1", 8, "expected a name right after 'metrics.'"),
        ("metrics.", 8, "expected a name right after 'metrics.'"),
        ("metrics.'auc' > 1", 8, "backticks or double quotes, not single quotes"),
        ("metrics.`` > 1", 8, "empty key name"),
        ("'auc' > 1", 0, "expected a key"),
        ("metrics.a > 1 AND 42 > 1", 18, "expected a key"),
    ],
)
def test_malformed_keys(text: str, position: int, needle: str) -> None:
    error = fails(text)
    assert error.position == position
    assert needle in error.reason


def test_empty_in_list() -> None:
    error = fails("params.model IN ()")
    assert error.position == 17
    assert "empty list after IN" in error.reason
    error = fails("params.model NOT IN ( )")
    assert error.position == 22
    assert "empty list after NOT IN" in error.reason


@pytest.mark.parametrize(
    ("text", "position", "needle"),
    [
        ("params.model IN 'xgb'", 16, "IN needs a parenthesised list"),
        ("params.model IN ('a',)", 21, "expected a number or a quoted string, got ')'"),
        ("params.model IN ('a' 'b')", 21, "expected ',' or ')' in the list"),
        ("params.model NOT LIKE 'a'", 17, "expected IN after NOT"),
        ("params.model IS 'a'", 16, "expected NULL or NOT NULL after IS"),
        ("params.model IS NOT 'a'", 20, "expected NULL after IS"),
    ],
)
def test_malformed_operators_and_lists(text: str, position: int, needle: str) -> None:
    error = fails(text)
    assert error.position == position
    assert needle in error.reason


def test_number_for_a_param() -> None:
    error = fails("params.lr = 0.1")
    assert error.position == 12
    assert error.reason.startswith("param values are strings: quote it")
    assert "'0.1'" in error.reason


@pytest.mark.parametrize(
    ("text", "position", "noun"),
    [
        ("tags.team = 3", 12, "tag"),
        ("datasets.name = 3", 16, "dataset"),
        ("run_name = 3", 11, "run_name"),
        ("params.model IN ('a', 2)", 22, "param"),
    ],
)
def test_number_for_other_string_keys(text: str, position: int, noun: str) -> None:
    error = fails(text)
    assert error.position == position
    assert error.reason.startswith(f"{noun} values are strings: quote it")


def test_string_for_a_metric() -> None:
    error = fails("metrics.auc > '0.9'")
    assert error.position == 14
    assert error.reason == "metric values are numbers: got the string '0.9'"
    error = fails("metrics.auc IN (1, 'x')")
    assert error.position == 19
    assert "metric values are numbers" in error.reason


def test_string_for_a_time_attribute() -> None:
    error = fails("start_time > 'yesterday'")
    assert error.position == 13
    assert "start_time values are numbers (milliseconds since the epoch)" in error.reason


@pytest.mark.parametrize("op", ["LIKE", "ilike"])
def test_like_on_numeric_keys_points_at_the_operator(op: str) -> None:
    error = fails(f"metrics.auc {op} '0.9%'")
    assert error.position == 12
    assert f"{op.upper()} works only on string values; metrics.auc is numeric" in error.reason
    assert fails(f"end_time {op} '1%'").position == 9


def test_unknown_status() -> None:
    error = fails("status = 'DONE'")
    assert error.position == 9
    assert "status must be one of RUNNING, FINISHED, FAILED, KILLED" in error.reason


def test_unexpected_character() -> None:
    error = fails("metrics.auc > 1 & metrics.b > 2")
    assert error.position == 16
    assert "unexpected character '&'" in error.reason


def test_leftmost_fault_is_reported() -> None:
    # the tokenizer is lazy: the bad prefix comes before the unterminated string
    error = fails("metricz.auc > 1 AND params.x = 'oops")
    assert error.position == 0


# --- order by --------------------------------------------------------------------------------


def test_order_by_empty() -> None:
    assert parse_order_by(None) == ()
    assert parse_order_by([]) == ()
    assert parse_order_by("") == ()
    assert parse_order_by(["", "  "]) == ()


def test_order_by_items() -> None:
    assert parse_order_by(["metrics.auc desc", "start_time", "params.`lr` ASC"]) == (
        OrderBy(AUC, True),
        OrderBy(Key("attribute", "start_time"), False),
        OrderBy(LR, False),
    )


def test_order_by_single_string_and_commas() -> None:
    assert parse_order_by("metrics.auc DESC") == (OrderBy(AUC, True),)
    assert parse_order_by('metrics.auc Desc, name, tags."a b" asc') == (
        OrderBy(AUC, True),
        OrderBy(Key("attribute", "run_name"), False),
        OrderBy(Key("tag", "a b"), False),
    )


def test_order_by_tuple_input() -> None:
    assert parse_order_by(("attr.id desc",)) == (OrderBy(Key("attribute", "run_id"), True),)


@pytest.mark.parametrize(
    ("item", "position", "needle"),
    [
        ("datasets.name", 0, "cannot be ordered by a dataset key"),
        ("metrics.auc upward", 12, "expected ASC, DESC, ',' or the end, got 'upward'"),
        ("metrics.auc desc desc", 17, "expected ASC, DESC"),
        ("metricz.auc", 0, "unknown key prefix"),
        ("colour desc", 0, "unknown attribute 'colour'"),
        ("metrics.auc,", 12, "expected a key"),
        ("metrics.`auc desc", 8, "unterminated quoted name"),
    ],
)
def test_order_by_errors(item: str, position: int, needle: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_order_by(["start_time", item])
    assert info.value.position == position
    assert info.value.text == item
    assert needle in info.value.reason
