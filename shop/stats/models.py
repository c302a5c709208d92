"""Product views and the daily roll-ups behind the sales dashboard.

The models belong to the ``stats`` app; their tables keep the names they had
when they were ``shop``'s (``shop_productview``...), so ``db_table`` says so.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Product, Seller

# The counters of a day (or a range, once summed), in the order of every fact row.
FACTS = (
    "orders",  # distinct paid orders with an item in scope that cost something (no free claims)
    "units",  # order items, free claims included
    "paid_units",  # order items that cost something
    "gross",  # what buyers paid for them (minor units)
    "fees",  # platform fee on them
    "discounts",  # taken off by discount codes
    "pwyw_units",  # pay-what-you-want items
    "pwyw_paid",  # what those buyers paid
    "pwyw_minimum",  # the minimum they could have paid
    "refunds",  # refunds made (one per refund and sale)
    "refunded",  # money given back to buyers
    "refund_debit",  # the seller's part of it (the platform gives back its fee in proportion)
    "disputes",  # sales disputed by the buyer's bank
    "dispute_debit",  # taken back from the seller for them
    "downloads",  # counted downloads (once per entitlement, file and 30 minutes)
    "views",  # product page views by people
    "transferred",  # paid out to the seller's Stripe account
    "vat",  # VAT in the gross (Stripe Tax's, kept on each item): owed to tax offices
    "refund_vat",  # the VAT part of the money given back
)


class ProductView(models.Model):
    """One product page shown to a person: no cookie, no IP, no user agent kept.

    Recorded after the response by ``shop.stats.recording``; bots,
    prefetches and the seller's own visits are left out.
    """

    # The seller stays when a product without sales is deleted: past views still count.
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+", db_index=False)
    product = models.ForeignKey(
        Product, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    at = models.DateTimeField()
    referrer_host = models.CharField(max_length=255, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "shop_productview"
        indexes = [
            models.Index(fields=["seller", "at"], name="productview_seller_at"),
            models.Index(fields=["product", "at"], name="productview_product_at"),
            models.Index(fields=["at"], name="productview_at"),
        ]

    def __str__(self) -> str:
        return f"view of {self.product_id} at {self.at:%Y-%m-%d %H:%M}"


class StatsBook(models.Model):
    """A set of daily roll-ups in one timezone: one seller's, or the whole shop's.

    Every local day before ``rolled_until`` is in ``DailyStats``/``DailySource``
    (a day without activity has no row); from ``rolled_until`` on, pages read
    the source tables. A book whose timezone no longer matches is rebuilt.
    """

    scope = models.CharField(max_length=40, unique=True, help_text='"shop" or "seller:<id>".')
    seller = models.ForeignKey(Seller, null=True, on_delete=models.CASCADE, related_name="+")
    timezone = models.CharField(max_length=64)
    rolled_until = models.DateField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "shop_statsbook"

    def __str__(self) -> str:
        return f"{self.scope} ({self.timezone}) until {self.rolled_until}"


class DailyStats(models.Model):
    """The counters of one local day of a book, for a product, a seller or the whole shop.

    ``seller`` and ``product`` both set: one product. ``product`` empty: all
    of ``seller``'s products. Both empty (shop book only): every seller.
    """

    book = models.ForeignKey(StatsBook, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    seller = models.ForeignKey(
        Seller, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    product = models.ForeignKey(
        Product, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    orders = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    paid_units = models.BigIntegerField(default=0)
    gross = models.BigIntegerField(default=0)
    fees = models.BigIntegerField(default=0)
    discounts = models.BigIntegerField(default=0)
    pwyw_units = models.BigIntegerField(default=0)
    pwyw_paid = models.BigIntegerField(default=0)
    pwyw_minimum = models.BigIntegerField(default=0)
    refunds = models.BigIntegerField(default=0)
    refunded = models.BigIntegerField(default=0)
    refund_debit = models.BigIntegerField(default=0)
    disputes = models.BigIntegerField(default=0)
    dispute_debit = models.BigIntegerField(default=0)
    downloads = models.BigIntegerField(default=0)
    views = models.BigIntegerField(default=0)
    transferred = models.BigIntegerField(default=0)
    vat = models.BigIntegerField(default=0, db_default=0)
    refund_vat = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "shop_dailystats"
        verbose_name_plural = "daily stats"
        indexes = [
            models.Index(fields=["book", "seller", "product", "day"], name="dailystats_lookup"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["book", "day"],
                condition=Q(seller__isnull=True, product__isnull=True),
                name="dailystats_shop_once",
            ),
            models.UniqueConstraint(
                fields=["book", "day", "seller"],
                condition=Q(seller__isnull=False, product__isnull=True),
                name="dailystats_seller_once",
            ),
            models.UniqueConstraint(
                fields=["book", "day", "product"],
                condition=Q(product__isnull=False),
                name="dailystats_product_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.book.scope} {self.day} {self.seller_id}/{self.product_id}"


class DailySource(models.Model):
    """Where one day's views and orders came from: a referring site, a utm tag, a country."""

    class Kind(models.TextChoices):
        REFERRER = "referrer", _("Referring site")
        SOURCE = "source", _("utm_source")
        CAMPAIGN = "campaign", _("utm_campaign")
        COUNTRY = "country", _("Buyer country")

    book = models.ForeignKey(StatsBook, on_delete=models.CASCADE, related_name="sources")
    day = models.DateField()
    product = models.ForeignKey(
        Product, null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=255, blank=True)
    views = models.BigIntegerField(default=0)
    # Sales only, as on the headline cards: orders and units that cost something.
    orders = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    gross = models.BigIntegerField(default=0)

    class Meta:
        db_table = "shop_dailysource"
        indexes = [
            models.Index(fields=["book", "product", "day"], name="dailysource_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.book.scope} {self.day} {self.kind}={self.value}"
