"""Invoices: one per paid order, numbered in one sequence without gaps, as HTML and PDF.

The number is taken from :class:`~shop.models.InvoiceCounter`, locked, in the
transaction of ``order_fulfil`` that marks the order paid: if that transaction
rolls back, the number goes back with it, and two concurrent payments wait for
each other on the counter's row (on SQLite, writers are serialised anyway).
What the invoice says (parties, lines, totals) is kept in ``Invoice.details``
when it is issued, so a seller's later change of address never rewrites it.

The platform is the seller of record (separate charges and transfers): its
legal details head the invoice; each line names the seller of its work.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from catalog.l10n import language_or_default
from catalog.money import format_money
from shop.models import Invoice, InvoiceCounter, Order
from shop.tax import rate_text

log = logging.getLogger(__name__)

SCOPE = "shop"


def _details(order: Order) -> dict[str, Any]:
    # order_fulfil has read the items with their sellers.
    items = list(order.items.all())
    sellers = {}
    for item in items:
        seller = item.seller
        sellers[str(seller.pk)] = {
            "name": seller.legal_name or seller.display_name,
            "address": seller.legal_address,
            "vat_number": seller.vat_number,
        }
    return {
        "currency": order.currency,
        "platform": {
            "name": settings.PLATFORM_LEGAL_NAME,
            "address": settings.PLATFORM_LEGAL_ADDRESS,
            "vat_number": settings.PLATFORM_VAT_NUMBER,
        },
        "sellers": sellers,
        "buyer": {
            "email": order.buyer_email,
            "country": order.tax_country or order.billing_country or order.country,
            "tax_ids": list(order.buyer_tax_ids or []),
        },
        "lines": [
            {
                "title": item.title,
                "seller": str(item.seller_id),
                "net": item.net,
                "rate": item.tax_rate,
                "vat": item.tax_amount,
                "gross": item.gross,
            }
            for item in items
        ],
        "net": order.net,
        "vat": order.tax_amount,
        "gross": order.gross,
        "reverse_charge": order.reverse_charge,
    }


# One statement takes the number and reads it back (SQLite 3.35+ and PostgreSQL both
# have RETURNING): the counter's row stays locked until the caller's transaction ends.
_TAKE_SQL = (
    f"UPDATE {InvoiceCounter._meta.db_table} SET last = last + 1 "  # noqa: S608
    "WHERE scope = %s RETURNING last"
)


def _number_take() -> int:
    """The next number of the sequence; the counter's row stays locked until the caller's
    transaction ends, so a concurrent payment waits and takes the one after."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, [SCOPE])
        row = cursor.fetchone()
        if row is None:
            # The very first invoice: the counter's row is made (by a concurrent one, maybe).
            InvoiceCounter.objects.get_or_create(scope=SCOPE)
            cursor.execute(_TAKE_SQL, [SCOPE])
            row = cursor.fetchone()
    return int(row[0])


def invoice_issue(*, order: Order) -> Invoice | None:
    """Number and keep the invoice of a paid order, inside the caller's transaction.

    Called once, by ``order_fulfil`` as it marks the order paid (the order's one
    invoice is unique in the database besides). An order that cost nothing gets
    none: there was no sale to invoice.
    """
    if order.gross <= 0:
        return None
    with transaction.atomic(savepoint=False):
        number = _number_take()
        return Invoice.objects.create(
            order=order,
            scope=SCOPE,
            sequence=number,
            number=f"{settings.INVOICE_PREFIX}{number:06d}",
            issued_at=order.paid_at or timezone.now(),
            details=_details(order),
        )


# --- Reading an invoice ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    address: str
    vat_number: str


@dataclass(frozen=True, slots=True)
class Line:
    title: str
    seller: str
    net: str
    rate: str
    vat: str
    gross: str


@dataclass(frozen=True, slots=True)
class Sheet:
    """An invoice ready to show, its figures written for the reader's language."""

    number: str
    issued: str
    platform: Party
    sellers: list[Party]
    buyer_email: str
    buyer_country: str
    buyer_tax_ids: list[str]
    lines: list[Line]
    net: str
    vat: str
    gross: str
    reverse_charge: bool


def sheet(invoice: Invoice) -> Sheet:
    d = invoice.details
    currency = d["currency"]

    def money(amount: int) -> str:
        return format_money(int(amount), currency)

    sellers = {
        key: Party(v.get("name", ""), v.get("address", ""), v.get("vat_number", ""))
        for key, v in d.get("sellers", {}).items()
    }
    platform = d.get("platform", {})
    issued: datetime = timezone.localtime(invoice.issued_at)
    return Sheet(
        number=invoice.number,
        issued=formats.date_format(issued, "DATE_FORMAT"),
        platform=Party(
            platform.get("name", ""), platform.get("address", ""), platform.get("vat_number", "")
        ),
        sellers=list(sellers.values()),
        buyer_email=d["buyer"]["email"],
        buyer_country=d["buyer"].get("country", ""),
        buyer_tax_ids=[t.split(":", 1)[-1] for t in d["buyer"].get("tax_ids", [])],
        lines=[
            Line(
                title=line["title"],
                seller=sellers[line["seller"]].name if line["seller"] in sellers else "",
                net=money(line["net"]),
                rate=rate_text(line["rate"]) if line["rate"] is not None else "–",
                vat=money(line["vat"]),
                gross=money(line["gross"]),
            )
            for line in d["lines"]
        ],
        net=money(d["net"]),
        vat=money(d["vat"]),
        gross=money(d["gross"]),
        reverse_charge=bool(d.get("reverse_charge")),
    )


def reverse_charge_text() -> str:
    return gettext(
        "Reverse charge: VAT to be accounted for by the customer "
        "(Article 196 of Council Directive 2006/112/EC)."
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF (fpdf2), in the language of the order."""
    from fpdf import FPDF

    with translation.override(language_or_default(invoice.order.language)):
        data = sheet(invoice)
        pdf = FPDF(format="A4")
        pdf.set_title(gettext("Invoice %(number)s") % {"number": data.number})
        pdf.set_author(data.platform.name)
        font = Path(settings.INVOICE_FONT)
        if font.is_file():
            pdf.add_font("body", "", str(font))
            family = "body"
        else:  # the core font knows Latin-1 only: the text is brought down to it
            log.warning("INVOICE_FONT %s is missing; the PDF uses Helvetica", font)
            family = "Helvetica"

        def text(value: str) -> str:
            if family != "Helvetica":
                return value
            value = value.replace("\u202f", " ").replace("\u00a0", " ").replace("’", "'")
            return value.replace("€", "EUR").encode("latin-1", "replace").decode("latin-1")

        pdf.add_page()
        pdf.set_font(family, size=16)
        pdf.cell(0, 10, text(gettext("Invoice %(number)s") % {"number": data.number}))
        pdf.ln(10)
        pdf.set_font(family, size=10)
        pdf.multi_cell(0, 5, text(gettext("Date: %(date)s") % {"date": data.issued}))
        pdf.ln(2)

        def party(title: str, who: Party) -> None:
            pdf.set_font(family, size=10)
            lines = [title, who.name, *who.address.splitlines()]
            if who.vat_number:
                lines.append(gettext("VAT number: %(number)s") % {"number": who.vat_number})
            pdf.multi_cell(0, 5, text("\n".join(line for line in lines if line)))
            pdf.ln(2)

        party(gettext("Sold by"), data.platform)
        for seller in data.sellers:
            party(gettext("On behalf of"), seller)
        buyer = [gettext("Bill to"), data.buyer_email]
        if data.buyer_country:
            buyer.append(gettext("Country: %(country)s") % {"country": data.buyer_country})
        for tax_id in data.buyer_tax_ids:
            buyer.append(gettext("Customer VAT number: %(number)s") % {"number": tax_id})
        pdf.multi_cell(0, 5, text("\n".join(buyer)))
        pdf.ln(4)
        widths = (70, 28, 20, 28, 30)
        heads = (
            gettext("Item"),
            gettext("Net"),
            gettext("VAT rate"),
            gettext("VAT"),
            gettext("Gross"),
        )
        for width, head in zip(widths, heads, strict=True):
            pdf.cell(width, 7, text(head), border=1)
        pdf.ln(7)
        for line in data.lines:
            cells = (line.title[:40], line.net, line.rate, line.vat, line.gross)
            for width, cell in zip(widths, cells, strict=True):
                pdf.cell(width, 7, text(cell), border=1)
            pdf.ln(7)
        pdf.ln(3)
        for label, value in (
            (gettext("Total excluding VAT"), data.net),
            (gettext("Total VAT"), data.vat),
            (gettext("Total including VAT"), data.gross),
        ):
            pdf.cell(118, 6, text(label))
            pdf.cell(58, 6, text(value))
            pdf.ln(6)
        if data.reverse_charge:
            pdf.ln(3)
            pdf.multi_cell(0, 5, text(reverse_charge_text()))
        out = io.BytesIO()
        pdf.output(out)
        return out.getvalue()
