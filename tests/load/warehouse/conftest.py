"""moto's S3 and Secrets Manager for the Redshift tests (the staging bucket and the credentials secret)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="etl-staging")
        yield s3


@pytest.fixture
def secret_arn(aws: Any) -> str:
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    answer = sm.create_secret(
        Name="etl/redshift", SecretString=json.dumps({"username": "etl", "password": "p@ss"})
    )
    return str(answer["ARN"])
