from __future__ import annotations

import pytest

from tests.s3server import S3Server


@pytest.fixture
def on_s3(s3_server: S3Server, settings) -> S3Server:
    """Paid files in SeaweedFS, downloads answered with presigned redirects."""
    settings.STORAGES = s3_server.storages()
    settings.DELIVERY_BACKEND = "s3"
    return s3_server
