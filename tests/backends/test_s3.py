"""S3Storage against moto's standalone server: the conformance suite plus S3's own settings."""

from __future__ import annotations

import uuid

import pytest

from tests.conformance import BackendConfig, BrokenConfigs, Capabilities, StorageConformance
from tests.servers import free_port
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, S3Server, start_s3

BUCKET = "conformance"


@pytest.fixture(scope="session")
def s3_server():
    server = start_s3()
    server.create_bucket(BUCKET)
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def s3_auth_server():
    server = start_s3(auth=True)
    yield server
    server.process.stop()


def s3_options(server: S3Server, **extra) -> dict:
    return {
        "bucket_name": BUCKET,
        "endpoint_url": server.endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "location": f"conformance/{uuid.uuid4().hex}",
        **extra,
    }


class TestS3Conformance(StorageConformance):
    capabilities = Capabilities(created_time=False, accessed_time=False)

    @pytest.fixture
    def storage_config(self, s3_server):
        return BackendConfig("storages.backends.s3.S3Storage", s3_options(s3_server), secrets=[SECRET_KEY],
                             static_options={"querystring_auth": False})

    @pytest.fixture
    def broken_configs(self, s3_server, s3_auth_server):
        return BrokenConfigs(
            bad_credentials=BackendConfig("storages.backends.s3.S3Storage", s3_options(s3_auth_server),
                                          secrets=[SECRET_KEY]),
            missing_container=BackendConfig("storages.backends.s3.S3Storage",
                                            s3_options(s3_server, bucket_name="no-such-bucket")),
            unreachable=BackendConfig("storages.backends.s3.S3Storage",
                                      s3_options(s3_server, endpoint_url=f"http://127.0.0.1:{free_port()}")),
        )
