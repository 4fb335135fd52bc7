"""An S3-compatible server on 127.0.0.1 for the tests: moto's server mode (a dev dependency),
with the environment a corpusgov process reads its endpoint and credentials from."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.pipelines.dagster_service import free_port


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "corpusgov-test",
            "AWS_SECRET_ACCESS_KEY": "corpusgov-test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def keys(self, prefix: str = "") -> list[str]:
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, **_credentials(self.env()))
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def delete(self, key: str) -> None:
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, **_credentials(self.env())).delete_object(
            Bucket=self.bucket, Key=key
        )


def _credentials(env: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "region_name": env["AWS_DEFAULT_REGION"],
    }


@contextmanager
def s3_server(bucket: str = "corpus") -> Iterator[S3Server]:
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        s3 = S3Server(endpoint=f"http://127.0.0.1:{port}", bucket=bucket)
        boto3.client("s3", endpoint_url=s3.endpoint, **_credentials(s3.env())).create_bucket(Bucket=bucket)
        yield s3
    finally:
        server.stop()
