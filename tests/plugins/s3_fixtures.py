"""Fixtures: S3 through a real moto server over HTTP on 127.0.0.1.

- `s3_endpoint` (session): the URL of a `ThreadedMotoServer` on a free port.
- `s3_client`: a boto3 S3 client for that endpoint, to read back what was written.
- `s3_bucket`: a fresh bucket, as a prefect-aws `S3Bucket` block (unsaved) whose
  `AwsCredentials` point at the moto endpoint; uploads really go over HTTP to moto.
"""

from __future__ import annotations

import uuid

import pytest

_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server for the whole session; yields its base URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_client(s3_endpoint):
    """A boto3 S3 client talking to the moto server."""
    import boto3

    return boto3.client("s3", endpoint_url=s3_endpoint, region_name=_REGION, **_KEYS)


@pytest.fixture
def s3_bucket(s3_endpoint, s3_client):
    """A new bucket on the moto server, as an `S3Bucket` block with folder `videos`."""
    from prefect_aws import AwsCredentials, S3Bucket
    from prefect_aws.client_parameters import AwsClientParameters

    name = f"videogen-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    credentials = AwsCredentials(
        region_name=_REGION,
        aws_client_parameters=AwsClientParameters(endpoint_url=s3_endpoint),
        **_KEYS,
    )
    return S3Bucket(bucket_name=name, credentials=credentials, bucket_folder="videos")
