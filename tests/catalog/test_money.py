import pytest

from catalog.money import AmountError, format_money, parse_amount, to_decimal_string


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12", "EUR", 1200), ("12.5", "EUR", 1250), ("12,50", "EUR", 1250), ("€ 9.99", "EUR", 999),
     ("1000", "JPY", 1000), ("0", "USD", 0), ("1.234", "KWD", 1234), ("$3", "USD", 300)],
)  # fmt: skip
def test_typed_amounts_become_minor_units(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "Enter an amount"), ("abc", "is not an amount"), ("-1", "negative"),
     ("1.001", "at most 2 decimal places"), ("inf", "is not an amount"), ("99999999999", "too large")],
)  # fmt: skip
def test_bad_amounts_say_what_is_wrong(text, message):
    with pytest.raises(AmountError, match=message):
        parse_amount(text, "EUR")


def test_yen_has_no_decimals():
    with pytest.raises(AmountError, match="at most 0 decimal places"):
        parse_amount("10.5", "JPY")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1250, "EUR", "€12.50"),
        (100000, "USD", "$1,000.00"),
        (500, "JPY", "¥500"),
        (1234, "SEK", "12.34 SEK"),
        (-50, "GBP", "-£0.50"),
    ],
)
def test_amounts_are_formatted_for_people(amount, currency, text):
    assert format_money(amount, currency) == text


def test_decimal_strings_round_trip():
    assert to_decimal_string(1250, "EUR") == "12.50"
    assert parse_amount(to_decimal_string(1250, "EUR"), "EUR") == 1250
