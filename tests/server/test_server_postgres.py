"""The same server over PostgreSQL: a small flow, with idempotent metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from server_support import Server, start_server

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import sqlalchemy as sa

    from modeldeck.storage.db.tables import metadata

    # other tests share this database: start from empty tables, so `server init` may run
    engine = sa.create_engine(postgres_url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield from start_server(tmp_path_factory.mktemp("pg-server"), postgres_url)


def test_a_run_flow_over_postgres(pg_server: Server, tmp_path: Path) -> None:
    with pg_server.client(pg_server.admin_token) as http:
        run = http.post("/api/v1/runs", json={"experiment": "pg", "name": "r1"}).json()
        url = f"/api/v1/runs/{run['id']}"
        assert http.post(f"{url}/params", json={"values": {"depth": "3"}}).status_code == 204
        batch = {
            "metrics": [
                {"key": "auc", "value": 0.7, "step": 0},
                {"key": "auc", "value": "NaN", "step": 1},
            ]
        }
        key = {"Idempotency-Key": uuid.uuid4().hex}
        assert http.post(f"{url}/metrics", json=batch, headers=key).json()["replayed"] is False
        assert http.post(f"{url}/metrics", json=batch, headers=key).json()["replayed"] is True
        http.post(f"{url}/end", json={"status": "FAILED"})
        got = http.get(url).json()
        assert got["status"] == "FAILED" and got["params"] == {"depth": "3"}
        assert len(http.get(f"{url}/metrics/auc").json()["metrics"]) == 2
        found = http.post(
            "/api/v1/runs/search", json={"experiments": ["pg"], "filter": "params.depth = '3'"}
        ).json()
        assert [r["id"] for r in found["runs"]] == [run["id"]]
        assert http.post("/api/v1/runs/search", json={"filter": "(("}).status_code == 400
