"""What the remote client does about a flaky network and about bytes: a lost answer is retried
without storing twice, uploads are checked against their digest, large objects go to S3 in
parts through presigned URLs."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modeldeck.client.http import Http, ServerError
from modeldeck.client.remote import RemoteClient
from modeldeck.core.settings import Settings
from server_support import Server, start_server

API = "/api/v1"


class LoseFirstAnswer(httpx.HTTPTransport):
    """Sends every request, but drops the server's answer to the first one whose path ends
    with ``suffix``, as a network cut after the server has acted would."""

    def __init__(self, suffix: str) -> None:
        super().__init__()
        self.suffix = suffix
        self.dropped: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if not self.dropped and request.url.path.endswith(self.suffix):
            response.read()
            response.close()
            self.dropped.append(request.headers.get("idempotency-key", ""))
            raise httpx.ReadError("connection reset after the server answered", request=request)
        return response


def remote(server: Server, token: str, tmp: Path, **http: object) -> RemoteClient:
    settings = Settings(home=tmp / "client", tracking_uri=server.url, artifacts_uri="", user="-")
    return RemoteClient(settings, token=token, **http)


def test_a_metric_batch_whose_answer_was_lost_is_retried_and_stored_once(
    server: Server, tmp_path: Path
) -> None:
    transport = LoseFirstAnswer("/metrics")
    client = remote(server, server.admin_token, tmp_path, transport=transport, backoff=0.01)
    run = client.create_run("flaky-network")
    client.log_metrics(run.id, {"loss": 0.5, "auc": 0.8}, step=1)
    client.flush()
    assert transport.dropped and transport.dropped[0]  # the first answer was lost, key and all
    assert [m.value for m in client.metric_history(run.id, "loss")] == [0.5]
    assert [m.value for m in client.metric_history(run.id, "auc")] == [0.8]
    client.close()


def test_a_run_created_twice_by_a_retry_is_one_run(server: Server, tmp_path: Path) -> None:
    transport = LoseFirstAnswer("/runs")
    client = remote(server, server.admin_token, tmp_path, transport=transport, backoff=0.01)
    run = client.create_run("flaky-create", name="once")
    assert transport.dropped
    found = client.search_runs("flaky-create").runs
    assert [r.id for r in found] == [run.id]
    client.close()


def test_a_registration_retried_after_a_lost_answer_makes_one_version(
    server: Server, tmp_path: Path
) -> None:
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    owner = remote(server, server.admin_token, tmp_path)
    run = owner.create_run("flaky-register")
    frame = pd.DataFrame({"x": [0.0, 1.0]})
    model = DummyClassifier().fit(frame, [0, 1])
    owner.log_model(run.id, model, "model", input_example=frame)
    name = f"flaky-{uuid.uuid4().hex[:6]}"
    transport = LoseFirstAnswer("/versions")
    retrying = remote(server, server.admin_token, tmp_path, transport=transport, backoff=0.01)
    version = retrying.register_model(f"runs:/{run.id}/model", name)
    assert transport.dropped and version.version == 1
    assert [v.version for v in owner.model_versions(name)] == [1]
    owner.close()
    retrying.close()


def test_an_upload_that_does_not_match_its_digest_is_refused(server: Server) -> None:
    claimed = hashlib.sha256(b"the real bytes").hexdigest()
    with server.client(server.admin_token) as http:
        refused = http.put(f"{API}/objects/{claimed}", content=b"other bytes")
        assert refused.status_code == 409, refused.text
        assert "hash to" in refused.json()["error"]["message"]
        assert http.get(f"{API}/objects/{claimed}/info").status_code == 404
        accepted = http.put(f"{API}/objects/{claimed}", content=b"the real bytes")
        assert accepted.status_code == 201
        assert http.get(f"{API}/objects/{claimed}").content == b"the real bytes"


def test_a_viewer_cannot_upload(server: Server) -> None:
    token = server.token_for(f"viewer-{uuid.uuid4().hex[:6]}", None)
    digest = hashlib.sha256(b"x").hexdigest()
    with server.client(token) as http:
        assert http.put(f"{API}/objects/{digest}", content=b"x").status_code == 403
        plan = http.post(f"{API}/objects/uploads", json={"objects": []})
        assert plan.status_code == 403


# --- S3: bytes bypass the server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_server(
    tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str
) -> Iterator[tuple[Server, str]]:
    import boto3

    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env = {**keys, "AWS_DEFAULT_REGION": "us-east-1", "MODELDECK_S3_ENDPOINT_URL": s3_endpoint}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    bucket = f"transfer-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    tmp = tmp_path_factory.mktemp("s3server")
    try:
        uri = f"sqlite:///{tmp / 'home' / 'modeldeck.db'}"
        for server in start_server(tmp, uri, artifacts=f"s3://{bucket}/objects"):
            yield server, bucket
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_a_large_artifact_goes_to_s3_in_parts_and_back_verified(
    s3_server: tuple[Server, str], tmp_path: Path
) -> None:
    server, _ = s3_server
    client = remote(server, server.admin_token, tmp_path)
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(9 * 2**20))  # over one 8 MiB part: a multipart upload
    small = tmp_path / "notes.txt"
    small.write_text("presigned PUT")
    run = client.create_run("s3-transfer")
    artifact = client.log_artifact(run.id, big)
    client.log_artifact(run.id, small)
    assert artifact.size == 9 * 2**20
    back = client.download_artifact(run.id, "weights.bin", tmp_path / "back.bin")
    assert back.read_bytes() == big.read_bytes()
    assert client.download_artifact(run.id, "notes.txt", tmp_path / "n.txt").read_text() == (
        "presigned PUT"
    )
    # the server answers a download with a redirect to the bucket, not with the bytes
    with server.client(server.admin_token) as http:
        answer = http.get(f"{API}/objects/{artifact.digest}")
    assert answer.status_code == 307 and "X-Amz-Signature" in answer.headers["location"]
    assert not (server.log.parent / "objects").exists()
    client.close()


def test_the_transport_retries_with_backoff_then_names_the_server(tmp_path: Path) -> None:
    http = Http("http://127.0.0.1:9", "token", retries=2, backoff=0.01)
    with pytest.raises(
        ServerError, match=r"cannot reach the modeldeck server at http://127\.0\.0\.1:9"
    ):
        http.get("/health")
    http.close()
