"""`/metrics` of a server with two workers: a scrape reaches one worker, and still counts what
every worker answered (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from server_support import start_server

HEALTH = re.compile(
    r'^modeldeck_http_requests_total\{method="GET",route="/health",status="200"\} (\S+)$', re.M
)


@pytest.mark.parametrize("operator_folder", [True, False])
def test_metrics_sum_the_counts_of_every_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operator_folder: bool
) -> None:
    """With the operator's PROMETHEUS_MULTIPROC_DIR (which the test can look into: both workers
    counted), and without (the server makes its own)."""
    folder = tmp_path / "metrics"
    if operator_folder:
        folder.mkdir()
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    else:
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    for server in start_server(tmp_path, f"sqlite:///{tmp_path / 'md.db'}", workers=2):
        before = _health_count(server.url)
        for _ in range(60):  # a new connection each: the kernel spreads them over the workers
            assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
        if operator_folder:
            workers = {p.name.split("_")[-1] for p in folder.glob("counter_*.db")}
            assert len(workers) >= 2, sorted(p.name for p in folder.iterdir())
        # every scrape, whichever worker answers it, sees all 60 (and the scrapes before it)
        for _ in range(6):
            assert _health_count(server.url) == before + 60


def _health_count(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = HEALTH.search(text)
    return 0.0 if found is None else float(found.group(1))
