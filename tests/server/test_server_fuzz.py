"""Schemathesis fuzzes every operation of the server's OpenAPI schema, in process (ASGI).

Whatever it sends, the server answers without a 5xx, in the documented error shape, with the
documented status codes and bodies; a request without a token is refused with 401. The
operations come from the schema, so endpoints added later are fuzzed with no change here.

Generation is derandomized with a fixed seed, so a run is repeatable and a failure names the
request (a curl command) that reproduces it. The cases are a fixed budget shared by all
operations, so the time stays bounded as the API grows: each case costs tens of
milliseconds here, most of it schemathesis generating and sending it.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from modeldeck.client.local import LocalClient
from modeldeck.core.settings import Settings
from modeldeck.server.app import create_app
from modeldeck.tracking.environment import RunContext

ADMIN = "fuzz-admin"
SEED = 20261126
CONTEXT = RunContext("fuzz.py", "fuzz.py", "3.11", "fuzz-host", 1, None, b"{}")
# Values the stores choke on if nothing stops them first: integers past BIGINT or INTEGER,
# NUL (which PostgreSQL refuses in text), quotes and wildcards. Hypothesis alone seldom draws
# them, so each integer or string field takes one of them now and then.
EDGE_VALUES: list[int | str] = [2**63, -(2**63) - 1, 2**31, 10**30, "\x00", "a\x00b", "'", "%"]
EDGE_PROBABILITY = 0.1


def store_settings(tmp: Path, backend_uri: str | None = None) -> Settings:
    return Settings(
        home=tmp / "home",
        tracking_uri=backend_uri or f"sqlite:///{tmp / 'home' / 'modeldeck.db'}",
        artifacts_uri=str(tmp / "objects"),
        user=ADMIN,
    )


def openapi_document() -> dict[str, Any]:
    """The schema, read at collection so that each operation becomes a test of its own;
    writing it needs no data, so a throwaway store serves."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(store_settings(Path(tmp)))
        try:
            return app.openapi()
        finally:
            app.state.services.db.dispose()


def body_leaves(document: dict[str, Any]) -> set[str]:
    """Every integer or string field of every JSON request body, as schemathesis spells a
    body path (``body.metrics[*].step``): the fields that edge values are drawn for."""
    components = document.get("components", {}).get("schemas", {})
    found: set[str] = set()

    def walk(node: dict[str, Any], path: str, depth: int) -> None:
        if "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[1]]
        if depth > 8:
            return
        for choice in node.get("anyOf", []) + node.get("oneOf", []):
            walk(choice, path, depth + 1)
        if node.get("type") in ("integer", "string") and path:
            found.add(f"body.{path}")
        for name, child in node.get("properties", {}).items():
            walk(child, f"{path}.{name}" if path else name, depth + 1)
        if "items" in node and path:
            walk(node["items"], f"{path}[*]", depth + 1)

    for item in document["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                walk(content["application/json"]["schema"], "", 0)
    return found


DOCUMENT = openapi_document()
OPERATIONS = sum(len(item) for item in DOCUMENT["paths"].values())


def config(total_cases: int, *, coverage: bool, **overrides: Any) -> SchemathesisConfig:
    """``total_cases`` random valid cases shared among the operations, after the examples
    phase (one case per operation, from FastAPI's defaults) and, with ``coverage``, the
    coverage phase: wrong types, missing fields, boundary values and undeclared methods,
    systematically (about 17 cases an operation)."""
    edge = {"dictionary": "edge", "probability": EDGE_PROBABILITY}
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},
            "generation": {
                "mode": "positive",
                "max-examples": max(1, total_cases // OPERATIONS),
                "deterministic": True,
                "database": "none",
                # path, query and header parameters, by type
                "dictionaries": {"integer": edge, "string": edge},
            },
            "dictionaries": {"edge": {"values": EDGE_VALUES}},
            "parameters": {leaf: edge for leaf in sorted(body_leaves(DOCUMENT))},
            "phases": {
                "coverage": {
                    "enabled": coverage,
                    "generation": {"mode": "all"},
                    # one method per path catches a 405 without the right Allow header; all
                    # seven cost a third of the phase
                    "unexpected-methods": ["OPTIONS"],
                }
            },
            **overrides,
        }
    )


CHECKS = {
    # keys, names and limits are checked beyond what the schema says: a valid-looking request
    # may well get a 400
    "positive_data_acceptance": {"enabled": False},
    # path templates overlap (/runs/search and /runs/{run_id}; /objects/uploads and
    # /objects/{digest}): an undeclared method may reach a declared route and get a 422, and
    # Allow rightly names GET for /runs/search. test_server_fuzz_findings checks 405 and Allow
    "unsupported_method": {"enabled": False},
    "allow_header_conformance": {"enabled": False},
}
schema = schemathesis.openapi.from_dict(DOCUMENT, config=config(180, coverage=True, checks=CHECKS))
# Invalid requests stop at validation, the same over any store: PostgreSQL gets valid ones.
postgres_schema = schemathesis.openapi.from_dict(
    DOCUMENT, config=config(180, coverage=False, checks=CHECKS)
)
# Without a token nothing is reached but the refusal.
unauthenticated_schema = schemathesis.openapi.from_dict(DOCUMENT, config=config(0, coverage=False))


@dataclass
class Target:
    """An app over a fresh store, and an admin's token for it."""

    app: FastAPI
    token: str
    _turn: Iterator[int] = field(default_factory=itertools.count)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def aim(self, case: Any) -> None:
        """Every other case names a fresh RUNNING run in place of the generated ``run_id``, so
        that writes get past the 404 to the store."""
        if "run_id" in (case.path_parameters or {}) and next(self._turn) % 2 == 0:
            tracker = self.app.state.services.tracker
            run = tracker.create_run(experiment="fuzz", user=ADMIN, context=CONTEXT)
            case.path_parameters["run_id"] = run.id

    def send(self, case: Any) -> None:
        self.aim(case)
        response = case.call_and_validate(app=self.app, headers=self.auth)
        # a fuzzed call may not lock the fuzzer out (disable its user, revoke its token): the
        # cases after it would all be 401s, which pass every check and test nothing
        assert response.status_code != 401, response.text


def open_target(tmp: Path, backend_uri: str | None = None) -> Iterator[Target]:
    settings_ = store_settings(tmp, backend_uri)
    owner = LocalClient(settings_)
    try:
        owner.add_user(ADMIN)
        owner.grant(ADMIN, "admin")
        token = owner.create_token(ADMIN).token
    finally:
        owner.close()
    app = create_app(settings_)
    yield Target(app, token)
    app.state.services.db.dispose()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from open_target(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def postgres_target(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    import sqlalchemy as sa

    from modeldeck.storage.db.tables import metadata

    # other tests share the database: start from empty tables, so the admin may be added
    engine = sa.create_engine(postgres_url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield from open_target(tmp_path_factory.mktemp("fuzz-pg"), postgres_url)


# The case counts are set above; a slow or large case is no reason to stop.
FUZZ_SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzzed_requests_get_no_5xx_and_match_the_schema(case: Any, target: Target) -> None:
    target.send(case)


@postgres_schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.postgres
def test_fuzzed_requests_over_postgres_get_no_5xx(case: Any, postgres_target: Target) -> None:
    """NUL in text, integers out of range: PostgreSQL refuses what SQLite stores."""
    postgres_target.send(case)


@unauthenticated_schema.parametrize()
@FUZZ_SETTINGS
def test_fuzzed_requests_without_a_token_get_401(case: Any, target: Target) -> None:
    response = case.call(app=target.app)
    case.validate_response(response, checks=[not_a_server_error])
    if case.path.startswith("/api/"):
        # refused before routing or parsing: no body is read without a valid token (429 once
        # the flood has spent this address's budget of refusals)
        assert response.status_code in (401, 429), (response.status_code, response.text)
