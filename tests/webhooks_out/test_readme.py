"""The README's signature check, run as printed against a real signed delivery."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from shop.webhooks_out import signing
from shop.webhooks_out.services import delivery_attempt, endpoint_secret_roll, endpoint_send_test
from tests.webhooks_out.conftest import hooked

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_verify():
    text = README.read_text()
    section = text[text.index("### Webhooks") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "the Webhooks section has a Python example"
    assert len([line for line in code.group(1).splitlines() if line.strip()]) <= 10
    namespace: dict = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)  # noqa: S102
    return namespace["verify"]


def test_the_readme_example_accepts_a_real_delivery_and_refuses_a_changed_one(receiver):
    verify = _readme_verify()
    hook = hooked(receiver.url)
    delivery_attempt(delivery_id=endpoint_send_test(endpoint=hook.endpoint).pk)
    [got] = receiver.received
    header = got.headers["Echoppe-Signature"]
    assert verify(got.body, header, hook.secret)
    assert not verify(got.body + b" ", header, hook.secret)
    assert not verify(got.body, header, "whsec_wrong")
    assert not verify(got.body, "t=abc,v1=00", hook.secret)


def test_the_readme_example_accepts_both_secrets_during_a_roll(receiver):
    verify = _readme_verify()
    hook = hooked(receiver.url)
    new = endpoint_secret_roll(endpoint=hook.endpoint)
    delivery_attempt(delivery_id=endpoint_send_test(endpoint=hook.endpoint).pk)
    [got] = receiver.received
    header = got.headers["Echoppe-Signature"]
    assert verify(got.body, header, new) and verify(got.body, header, hook.secret)


def test_the_readme_example_refuses_an_old_delivery():
    verify = _readme_verify()
    body = b'{"id":"evt_1"}'
    old = signing.signature_header(
        secrets_=["whsec_a"], timestamp=int(time.time()) - 600, body=body
    )
    fresh = signing.signature_header(secrets_=["whsec_a"], timestamp=int(time.time()), body=body)
    assert verify(body, fresh, "whsec_a") and not verify(body, old, "whsec_a")
