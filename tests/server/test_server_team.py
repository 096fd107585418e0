"""The team server as a team uses it: PostgreSQL for metadata, S3 for bytes, several users.

One user trains, logs and registers through the SDK; another approves from a shell with the
CLI; a viewer's attempt to promote is refused with 403 and lands in the audit log. Model bytes
go to S3 through presigned URLs and never into the server's folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modeldeck.client.remote import RemoteClient
from modeldeck.core.errors import PermissionDenied
from modeldeck.core.settings import Settings
from server_support import Server, start_server

pytestmark = pytest.mark.postgres
BUCKET_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def team_server(
    tmp_path: Path, empty_postgres_url: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Server, str]]:
    import boto3

    bucket = f"team-{uuid.uuid4().hex[:10]}"
    for name, value in {**BUCKET_KEYS, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODELDECK_S3_ENDPOINT_URL", s3_endpoint)
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    artifacts = f"s3://{bucket}/modeldeck"
    for server in start_server(
        tmp_path, empty_postgres_url, workers=2, admin="root", artifacts=artifacts
    ):
        yield server, bucket


def remote(server: Server, token: str, home: Path) -> RemoteClient:
    settings = Settings(home=home, tracking_uri=server.url, artifacts_uri="", user="ignored")
    return RemoteClient(settings, token=token)


def shell(server: Server, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`modeldeck ARGS` in another process, as a user in another shell would run it."""
    env = {
        **os.environ,
        "MODELDECK_TRACKING_URI": server.url,
        "MODELDECK_TOKEN": token,
        "MODELDECK_HOME": str(server.log.parent / "shell"),
    }
    return subprocess.run(
        [sys.executable, "-m", "modeldeck", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_two_users_log_register_approve_and_a_viewer_is_refused(
    team_server: tuple[Server, str], tmp_path: Path, s3_endpoint: str
) -> None:
    from sklearn.linear_model import LogisticRegression

    server, bucket = team_server
    admin = remote(server, server.admin_token, tmp_path / "admin")
    tokens = {}
    for user, role in [("alice", "contributor"), ("bob", "reviewer"), ("victor", "viewer")]:
        admin.add_user(user)
        admin.grant(user, role)
        tokens[user] = admin.create_token(user).token

    # alice: a tracked run with a model, registered as version 1
    alice = remote(server, tokens["alice"], tmp_path / "alice")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"tenure": rng.normal(size=200), "spend": rng.normal(size=200)})
    labels = (frame.tenure + frame.spend > 0).astype(int)
    model = LogisticRegression().fit(frame, labels)
    run = alice.create_run("churn", name="baseline")
    alice.log_params(run.id, {"C": 1.0})
    alice.log_metrics(run.id, {"auc": 0.91})
    alice.log_dataset(run.id, frame.assign(churned=labels), name="customers")
    alice.log_model(run.id, model, "model", input_example=frame.head(3))
    alice.end_run(run.id)
    version = alice.register_model(f"runs:/{run.id}/model", "churn")
    assert version.version == 1 and version.created_by == "alice"
    with pytest.raises(PermissionDenied, match="alice cannot approve"):
        alice.approve("churn", 1)

    # bob, from another shell: approves with the CLI
    approved = shell(server, tokens["bob"], "models", "approve", "churn", "1", "-m", "looks good")
    assert approved.returncode == 0, approved.stderr
    assert [(d.reviewer, d.decision.value) for d in alice.decisions("churn", 1)] == [
        ("bob", "approved")
    ]

    # victor, a viewer: refused with 403 over the wire, exit code 1 in the shell
    victor = remote(server, tokens["victor"], tmp_path / "victor")
    with pytest.raises(PermissionDenied, match="victor cannot"):
        victor.promote("churn", 1, "champion")
    with server.client(tokens["victor"]) as http:
        refused = http.put("/api/v1/models/churn/aliases/staging", json={"version": 1})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "PERMISSION_DENIED"
    promoted = shell(server, tokens["victor"], "models", "promote", "churn", "1")
    assert promoted.returncode == 1 and "victor cannot" in promoted.stderr
    denied = admin.audit_log(actor="victor")
    assert denied and all(r.action.startswith("denied:") for r in denied)
    assert admin.verify_audit().ok

    # the model's bytes are in S3, the server's folder holds none; they load back verified
    import boto3

    keys = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=bucket)
    assert keys["KeyCount"] > 3
    assert not (server.log.parent / "objects").exists()
    loaded = alice.load_model("models:/churn/1")
    assert list(loaded.predict(frame.head(5))) == list(model.predict(frame.head(5)))
    for c in (admin, alice, victor):
        c.close()
