"""A delivery backend that cannot reach the private storage fails `manage.py check`."""

from __future__ import annotations

import pytest

from delivery.checks import check_delivery_backend
from shop.settings import s3_storages

S3 = s3_storages(
    access_key="k", secret_key="s", endpoint_url=None, private_bucket="p", public_bucket="q"
)


@pytest.mark.parametrize("backend", ["stream", "x-accel", "x-sendfile"])
def test_the_local_disk_suits_every_backend_but_s3(settings, backend):
    settings.DELIVERY_BACKEND = backend
    assert check_delivery_backend() == []


def test_s3_redirects_need_an_s3_storage(settings):
    settings.DELIVERY_BACKEND = "s3"
    assert [error.id for error in check_delivery_backend()] == ["delivery.E002"]
    settings.STORAGES = {**settings.STORAGES, **S3}
    assert check_delivery_backend() == []


@pytest.mark.parametrize("backend", ["x-accel", "x-sendfile"])
def test_the_web_server_cannot_send_a_file_from_a_bucket(settings, backend):
    settings.STORAGES = {**settings.STORAGES, **S3}
    settings.DELIVERY_BACKEND = backend
    assert [error.id for error in check_delivery_backend()] == ["delivery.E001"]
