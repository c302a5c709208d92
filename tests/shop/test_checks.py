"""``check --deploy`` warns when a production shop takes no money."""

from __future__ import annotations

from django.core.checks import run_checks

from shop.checks import check_test_payments


def test_test_payments_with_debug_off_are_a_deploy_warning(settings):
    settings.DEBUG, settings.PAYMENT_PROVIDER, settings.TEST_PAYMENTS_ENABLED = False, "test", True
    [warning] = check_test_payments()
    assert warning.id == "shop.W001" and "no money is taken" in warning.msg
    assert "shop.W001" in {m.id for m in run_checks(include_deployment_checks=True)}
    assert "shop.W001" not in {m.id for m in run_checks(include_deployment_checks=False)}


def test_no_warning_in_development_or_with_stripe_or_test_payments_off(settings):
    for debug, provider, enabled in [
        (True, "test", True),
        (False, "stripe", True),
        (False, "test", False),
    ]:
        settings.DEBUG, settings.PAYMENT_PROVIDER = debug, provider
        settings.TEST_PAYMENTS_ENABLED = enabled
        assert check_test_payments() == []
