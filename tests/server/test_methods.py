"""The 405 gate reads the paths and methods the OpenAPI document lists off the routes, so a
worker's first request need not build the document; the two must agree exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeck.core.settings import Settings
from modeldeck.server.app import create_app
from modeldeck.server.methods import Templates, documented_paths


def test_the_routes_name_exactly_the_documents_paths_and_methods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELDECK_HOME", str(tmp_path))
    app = create_app(Settings.load())
    read = documented_paths(app.routes)
    assert read is not None, "the routes could not be read: every first request builds the doc"
    assert app.openapi_schema is None  # reading the routes built nothing
    document = app.openapi()
    listed = {path: sorted(item) for path, item in document["paths"].items()}
    assert {path: sorted(item) for path, item in read["paths"].items()} == listed
    assert len(listed) > 50
    # and the gate decides alike from either
    for path in ("/api/v1/runs/search", "/api/v1/objects/uploads", "/api/v1/runs/abc", "/ui"):
        assert Templates(read).allowed(path) == Templates(document).allowed(path)


def test_a_route_of_an_unknown_kind_falls_back_to_the_document() -> None:
    class Odd:
        path = "/odd"

    assert documented_paths([Odd()]) is None
