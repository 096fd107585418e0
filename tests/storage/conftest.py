"""boto3 clients and buckets for the storage tests, over the moto server of tests/conftest.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

S3_KEY = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
S3_REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_session(s3_endpoint: str) -> Any:
    """One boto3 session for the tests' clients (a new session costs ~0.1 s, a client from it
    ~7 ms), with dummy keys; each client still has its own event hooks."""
    import boto3

    return boto3.session.Session(**S3_KEY, region_name=S3_REGION)


@pytest.fixture
def make_s3_client(s3_endpoint: str, s3_session: Any) -> Callable[..., Any]:
    """Make a boto3 client for the test endpoint; keyword arguments go to botocore's Config."""
    from botocore.config import Config

    def make(**config: Any) -> Any:
        config.setdefault("signature_version", "s3v4")
        return s3_session.client("s3", endpoint_url=s3_endpoint, config=Config(**config))

    return make


@pytest.fixture(scope="session")
def s3_raw(s3_endpoint: str, s3_session: Any) -> Any:
    """A plain boto3 client, for creating buckets and tampering with objects behind a store."""
    from botocore.config import Config

    return s3_session.client(
        "s3", endpoint_url=s3_endpoint, config=Config(signature_version="s3v4")
    )


@pytest.fixture
def s3_bucket(s3_raw: Any) -> str:
    """A fresh, empty bucket for one test."""
    name = f"md-test-{uuid.uuid4().hex[:16]}"
    s3_raw.create_bucket(Bucket=name)
    return name
