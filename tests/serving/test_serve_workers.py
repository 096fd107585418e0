"""`modeldeck serve --workers 2`: a scrape of /metrics reaches one worker and still counts the
predictions every worker answered (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from modeldeck.client.local import LocalClient
from modeldeck.core.settings import Settings
from server_support import free_port, wait_until_up

PREDICTED = re.compile(
    r'^modeldeck_predict_requests_total\{model="churn",protocol="predict",role="primary",'
    r'status="200",version="1"\} (\S+)$',
    re.M,
)


def test_metrics_of_two_workers_add_up(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"tenure": rng.integers(1, 72, 100), "spend": rng.normal(50, 10, 100)})
    home = tmp_path / "md"
    client = LocalClient(
        Settings(home, f"sqlite:///{home / 'modeldeck.db'}", str(home / "objects"), "ann")
    )
    run = client.create_run("workers")
    model = LogisticRegression().fit(frame, (frame.tenure > 30).astype(int))
    client.log_model(run.id, model, "model", input_example=frame.head(3))
    client.end_run(run.id)
    client.register_model(f"runs:/{run.id}/model", "churn")
    client.close()
    port = free_port()
    env = {**os.environ, "MODELDECK_HOME": str(home), "MODELDECK_USER": "ann"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modeldeck",
                "serve",
                "churn/1",
                "--port",
                str(port),
                "--workers",
                "2",
                "--no-log",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health/ready", process, log)
        body = {"records": [{"tenure": 3, "spend": 20.0}]}
        for _ in range(40):  # a new connection each: the kernel spreads them over the workers
            assert httpx.post(f"{url}/predict", json=body, timeout=10).status_code == 200
        for _ in range(6):
            text = httpx.get(f"{url}/metrics", timeout=10).text
            found = PREDICTED.search(text)
            assert found is not None and float(found.group(1)) == 40, text
            assert 'modeldeck_served_version{model="churn",role="primary"} 1.0' in text
    finally:
        process.terminate()
        process.wait(10)
