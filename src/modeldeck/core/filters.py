"""The search grammar for runs: filter and order-by text in, a small typed tree out.

::

    filter     := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := atom ("AND" atom)*
    atom       := "(" or_expr ")" | comparison
    comparison := key op value | key "IS" ["NOT"] "NULL"
    key        := [prefix "."] name          name: bare, `backticked` or "double-quoted"
    value      := number | 'string' | "string" | "(" value ("," value)* ")"   (list: IN only)

It parses MLflow's ``search_runs`` filter syntax, plus ``==``, ``<>``, ``IS [NOT] NULL`` and
singular prefixes. Keywords are case-insensitive. Every fault raises
:class:`~modeldeck.core.errors.FilterSyntaxError` at the offending character; values are
type-checked here so the store only ever compiles well-typed comparisons to SQL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, NoReturn, TypeAlias

from modeldeck.core.errors import FilterSyntaxError

__all__ = [
    "And",
    "Comparison",
    "Expr",
    "Key",
    "KeyKind",
    "Or",
    "OrderBy",
    "Value",
    "parse_filter",
    "parse_order_by",
]

KeyKind: TypeAlias = Literal["metric", "param", "tag", "attribute", "dataset"]
Value: TypeAlias = float | str


@dataclass(frozen=True, slots=True)
class Key:
    kind: KeyKind
    name: str


@dataclass(frozen=True, slots=True)
class Comparison:
    key: Key
    op: str  # one of =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL
    value: Value | tuple[Value, ...] | None  # a tuple for [NOT] IN, None for IS [NOT] NULL


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


Expr: TypeAlias = Comparison | And | Or


@dataclass(frozen=True, slots=True)
class OrderBy:
    key: Key
    descending: bool


# Each kind with its prefixes, the first one canonical (used when showing a key back).
_KINDS: tuple[tuple[KeyKind, str], ...] = (
    ("metric", "metrics metric"),
    ("param", "params param"),
    ("tag", "tags tag"),
    ("attribute", "attributes attribute attr run"),
    ("dataset", "datasets dataset"),
)
_PREFIXES = {prefix: kind for kind, prefixes in _KINDS for prefix in prefixes.split()}
_PLURAL = {kind: prefixes.split()[0] for kind, prefixes in _KINDS}
# Each attribute with its aliases, the canonical name first.
_ATTRIBUTE_NAMES = (
    "run_id id",
    "run_name name",
    "status",
    "user user_id",
    "start_time",
    "end_time",
    "experiment_id",
    "parent_id parent_run_id",
    "git_commit",
)
_ATTRIBUTES = {alias: names.split()[0] for names in _ATTRIBUTE_NAMES for alias in names.split()}
_NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
_DATASET_FIELDS = ("name", "digest", "context")
_STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")
_SYMBOL_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!="} | {o: o for o in ("<", "<=", ">", ">=")}
_ALL_OPS = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL"
_SPECIAL_NUMBERS = {"nan": math.nan, "inf": math.inf, "infinity": math.inf}
_SPECIAL_NUMBERS |= {"-" + word: -number for word, number in _SPECIAL_NUMBERS.items()}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_WORD_PUNCT = frozenset("_-./:")
_PUNCTUATION: dict[str, Literal["(", ")", ","]] = {"(": "(", ")": ")", ",": ","}
_MAX_DEPTH = 100  # filters arrive over HTTP; a RecursionError would surface as a 500


def _show(key: Key) -> str:
    return key.name if key.kind == "attribute" else f"{_PLURAL[key.kind]}.{key.name}"


def _is_numeric(key: Key) -> bool:
    return key.kind == "metric" or (key.kind == "attribute" and key.name in _NUMERIC_ATTRIBUTES)


class _Token(NamedTuple):
    kind: Literal["word", "number", "quoted", "op", "(", ")", ",", "end"]
    text: str  # the source text, quotes included
    pos: int
    value: str = ""  # the unescaped content of a quoted token

    @property
    def end(self) -> int:
        return self.pos + len(self.text)

    def describe(self) -> str:
        return "the end of the input" if self.kind == "end" else repr(self.text)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in _WORD_PUNCT


def _tokenize(text: str) -> Iterator[_Token]:
    """Yield tokens lazily, so that the leftmost fault is the one reported."""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in _PUNCTUATION:
            yield _Token(_PUNCTUATION[char], char, i)
            j = i + 1
        elif char in "'\"`":
            j, value = _scan_quoted(text, i)
            yield _Token("quoted", text[i:j], i, value)
        elif char in "=!<>":
            j = i
            while j < n and text[j] in "=!<>":
                j += 1
            if text[i:j] not in _SYMBOL_OPS:
                message = f"unknown operator {text[i:j]!r}; expected one of {_ALL_OPS}"
                raise FilterSyntaxError(message, text, i)
            yield _Token("op", text[i:j], i)
        elif _is_word_char(char) or char == "+":
            number = _NUMBER.match(text, i)
            j = number.end() if number else i
            if number and not (j < n and _is_word_char(text[j])):
                yield _Token("number", text[i:j], i)
            elif char == "+":
                raise FilterSyntaxError("unexpected character '+'", text, i)
            else:  # a word, or a number glued to letters ("1e+5x"), which is one bad word
                while j < n and _is_word_char(text[j]):
                    j += 1
                yield _Token("word", text[i:j], i)
        else:
            raise FilterSyntaxError(f"unexpected character {char!r}", text, i)
        i = j
    yield _Token("end", "", n)


def _scan_quoted(text: str, start: int) -> tuple[int, str]:
    """Return the end offset and content of the quoted token at ``start``; ``''`` escapes ``'``."""
    quote = text[start]
    parts: list[str] = []
    i = start + 1
    while True:
        j = text.find(quote, i)
        if j < 0:
            what = "quoted name" if quote == "`" else "string"
            message = f"unterminated {what}: no closing {quote} for the one opened here"
            raise FilterSyntaxError(message, text, start)
        nul = text.find("\x00", i, j)
        if nul >= 0:  # PostgreSQL cannot compare text with NUL, so no backend accepts it
            raise FilterSyntaxError("a NUL character (\\x00) cannot be searched for", text, nul)
        parts.append(text[i:j])
        if not text.startswith(quote, j + 1):
            return j + 1, "".join(parts)
        parts.append(quote)
        i = j + 2


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self._tokens = _tokenize(text)
        self.tok = next(self._tokens)
        self._depth = 0

    def advance(self) -> _Token:
        tok = self.tok
        if tok.kind != "end":
            self.tok = next(self._tokens)
        return tok

    def at(self, kind: str) -> bool:
        # a method, not ``self.tok.kind ==``, so mypy does not keep the narrowing past advance()
        return self.tok.kind == kind

    def keyword(self, *words: str) -> bool:
        return self.at("word") and self.tok.text.upper() in words

    def fail(self, message: str, position: int) -> NoReturn:
        raise FilterSyntaxError(message, self.text, position)

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.keyword("OR"):
            self.advance()
            items.append(self.and_expr())
        return _flatten(Or, items)

    def and_expr(self) -> Expr:
        items = [self.atom()]
        while self.keyword("AND"):
            self.advance()
            items.append(self.atom())
        return _flatten(And, items)

    def atom(self) -> Expr:
        if not self.at("("):
            return self.comparison()
        opening = self.advance()
        self._depth += 1
        if self._depth > _MAX_DEPTH:
            self.fail(f"parentheses nested deeper than {_MAX_DEPTH} levels", opening.pos)
        expr = self.or_expr()
        self._depth -= 1
        if self.at("end"):
            self.fail("unbalanced parentheses: this '(' is never closed", opening.pos)
        if not self.at(")"):
            self.fail(f"expected ')', AND or OR, got {self.tok.describe()}", self.tok.pos)
        self.advance()
        return expr

    def key(self) -> Key:
        tok = self.tok
        if tok.kind != "word" or tok.text.upper() in ("AND", "OR"):
            example = "such as metrics.auc, params.lr or start_time"
            self.fail(f"expected a key {example}, got {tok.describe()}", tok.pos)
        self.advance()
        prefix, dot, name = tok.text.partition(".")
        if not dot:
            return Key("attribute", self._attribute(prefix, tok.pos, bare=True))
        kind = _PREFIXES.get(prefix.lower())
        if kind is None:
            known = "metrics., params., tags., attributes. or datasets. (or singular forms)"
            self.fail(f"unknown key prefix {prefix + '.'!r}; expected {known}", tok.pos)
        if not name:
            quoted = self.tok
            if quoted.kind != "quoted" or quoted.pos != tok.end:
                self.fail(f"expected a name right after {tok.text!r}", tok.end)
            if quoted.text[0] == "'":
                message = "quote key names with backticks or double quotes, not single quotes"
                self.fail(message, quoted.pos)
            if not quoted.value:
                self.fail("empty key name", quoted.pos)
            name = self.advance().value
        if kind == "attribute":
            name = self._attribute(name, tok.pos, bare=False)
        elif kind == "dataset" and name.lower() not in _DATASET_FIELDS:
            known = ", ".join(_DATASET_FIELDS)
            self.fail(f"unknown dataset field {name!r}; expected one of {known}", tok.pos)
        return Key(kind, name.lower() if kind == "dataset" else name)

    def _attribute(self, name: str, position: int, *, bare: bool) -> str:
        canonical = _ATTRIBUTES.get(name.lower())
        if canonical is None:
            known = ", ".join(dict.fromkeys(_ATTRIBUTES.values()))
            message = f"unknown attribute {name!r}; expected one of {known}"
            if bare:
                message += "; other keys need a prefix: metrics., params., tags. or datasets."
            self.fail(message, position)
        return canonical

    def operator(self, key: Key) -> str:
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return _SYMBOL_OPS[tok.text]
        word = tok.text.upper() if tok.kind == "word" else ""
        if word in ("LIKE", "ILIKE") and _is_numeric(key):
            self.fail(f"{word} works only on string values; {_show(key)} is numeric", tok.pos)
        if word in ("LIKE", "ILIKE", "IN"):
            self.advance()
            return word
        if word == "NOT":
            self.advance()
            if not self.keyword("IN"):
                self.fail(f"expected IN after NOT, got {self.tok.describe()}", self.tok.pos)
            self.advance()
            return "NOT IN"
        if word == "IS":
            self.advance()
            negated = self.keyword("NOT")
            if negated:
                self.advance()
            if not self.keyword("NULL"):
                expected = "NULL" if negated else "NULL or NOT NULL"
                self.fail(f"expected {expected} after IS, got {self.tok.describe()}", self.tok.pos)
            self.advance()
            return "IS NOT NULL" if negated else "IS NULL"
        if tok.kind == "end":
            self.fail(f"missing operator after {_show(key)}; expected one of {_ALL_OPS}", tok.pos)
        self.fail(f"unknown operator {tok.describe()}; expected one of {_ALL_OPS}", tok.pos)

    def comparison(self) -> Comparison:
        key = self.key()
        op = self.operator(key)
        if op in ("IS NULL", "IS NOT NULL"):
            return Comparison(key, op, None)
        if op not in ("IN", "NOT IN"):
            return Comparison(key, op, self.value(key, op))
        opening = self.tok
        if opening.kind != "(":
            self.fail(f"{op} needs a parenthesised list, e.g. {op} ('a', 'b')", opening.pos)
        self.advance()
        if self.at(")"):
            self.fail(f"empty list after {op}: give at least one value", self.tok.pos)
        values = [self.value(key, op)]
        while self.at(","):
            self.advance()
            values.append(self.value(key, op))
        if self.at("end"):
            self.fail("unbalanced parentheses: this '(' is never closed", opening.pos)
        if not self.at(")"):
            self.fail(f"expected ',' or ')' in the list, got {self.tok.describe()}", self.tok.pos)
        self.advance()
        return Comparison(key, op, tuple(values))

    def value(self, key: Key, op: str) -> Value:
        tok = self.tok
        if tok.kind == "number":
            value: Value = float(tok.text)
        elif tok.kind == "word" and tok.text.lower() in _SPECIAL_NUMBERS:
            value = _SPECIAL_NUMBERS[tok.text.lower()]
        elif tok.kind == "quoted" and tok.text[0] != "`":
            value = tok.value
        elif tok.kind == "end":
            self.fail(f"missing value after {op}", tok.pos)
        elif tok.kind == "quoted":
            self.fail("backticks quote key names; quote values with single quotes", tok.pos)
        else:
            hint = f"; quote strings: '{tok.text}'" if tok.kind == "word" else ""
            self.fail(f"expected a number or a quoted string, got {tok.describe()}{hint}", tok.pos)
        self.advance()
        return self._check(key, op, value, tok)

    def _check(self, key: Key, op: str, value: Value, tok: _Token) -> Value:
        noun = key.name if key.kind == "attribute" else key.kind
        if _is_numeric(key) and isinstance(value, str):
            unit = " (milliseconds since the epoch)" if key.kind == "attribute" else ""
            self.fail(f"{noun} values are numbers{unit}: got the string {tok.text}", tok.pos)
        if isinstance(value, float):
            if not _is_numeric(key):
                self.fail(f"{noun} values are strings: quote it, as in '{tok.text}'", tok.pos)
            return value
        if key == Key("attribute", "status") and op not in ("LIKE", "ILIKE"):
            if value.upper() not in _STATUSES:
                known = ", ".join(_STATUSES)
                self.fail(f"status must be one of {known}; got {tok.text}", tok.pos)
            return value.upper()
        return value


def _flatten(cls: type[And] | type[Or], items: list[Expr]) -> Expr:
    if len(items) == 1:
        return items[0]
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


def parse_filter(text: str | None) -> Expr | None:
    """Parse a run filter such as ``metrics.auc > 0.9 AND params.model = 'xgb'``.

    Returns None for an empty or blank filter; a single comparison comes back unwrapped.
    """
    if text is None or not text.strip():
        return None
    parser = _Parser(text)
    expr = parser.or_expr()
    tok = parser.tok
    if tok.kind == ")":
        parser.fail("unbalanced parentheses: this ')' has no matching '('", tok.pos)
    if tok.kind != "end":
        message = f"unexpected {tok.describe()} after a complete comparison; join with AND or OR"
        parser.fail(message, tok.pos)
    return expr


def parse_order_by(items: Sequence[str] | str | None) -> tuple[OrderBy, ...]:
    """Each item is `key [ASC|DESC]`, e.g. "metrics.auc desc", "start_time", "params.`lr` ASC".

    An item may also hold several such clauses separated by commas; blank items are skipped.
    An item may not be a dataset key.
    """
    if items is None:
        return ()
    texts = [items] if isinstance(items, str) else list(items)
    result: list[OrderBy] = []
    for text in texts:
        if not text.strip():
            continue
        parser = _Parser(text)
        while True:
            position = parser.tok.pos
            key = parser.key()
            if key.kind == "dataset":
                parser.fail("runs cannot be ordered by a dataset key", position)
            descending = parser.keyword("DESC")
            if descending or parser.keyword("ASC"):
                parser.advance()
            result.append(OrderBy(key, descending))
            if not parser.at(","):
                break
            parser.advance()
        if not parser.at("end"):
            message = f"expected ASC, DESC, ',' or the end, got {parser.tok.describe()}"
            parser.fail(message, parser.tok.pos)
    return tuple(result)
