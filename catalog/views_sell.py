"""The seller's side, under /sell/: thin views around the gate, the forms and the services.

Every object comes through ``catalog/access.py``; every change through the
services of ``catalog/services/``. The JSON endpoints of the upload protocol
are in ``catalog/uploads/views.py``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from catalog import imports, quotas, selectors
from catalog.access import (
    NotASeller,
    access_asset_for_seller,
    access_import_for_seller,
    access_product_for_seller,
    access_seller,
    request_seller,
    seller_required,
)
from catalog.currencies import chargeable_currencies
from catalog.forms import (
    AssetUploadForm,
    ProductForm,
    SellerProfileForm,
    SellerStartForm,
    SignupForm,
    add_service_error,
)
from catalog.headers import bearer_token_page
from catalog.license_format import DEFAULT_PATTERN
from catalog.limits import Limited, Rate, limit_hit, limited_response, mail_limit
from catalog.markdown import render_markdown
from catalog.models import Asset, ImportJob, Product, Seller
from catalog.request_size import MULTIPART_MARGIN, Allowance, body_limit
from catalog.services import CatalogError, assets, products, sellers

RESEND_PAUSE = Rate(count=1, seconds=60)


def _seller(request: HttpRequest) -> Seller:
    return request_seller(request)


# --- Accounts ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("catalog:sell_dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # The verification mail goes to the address typed: counted before anything is made.
            mail_limit(request=request, recipients=[form.cleaned_data["email"]])
        except Limited as exc:
            form.add_error(None, f"{exc.message} Please try again {exc.wait}.")
            return limited_response(
                request, exc, template="catalog/sell/signup.html", context={"form": form}
            )
        try:
            seller = sellers.seller_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
            )
        except CatalogError as exc:
            add_service_error(form, exc)
        else:
            login(request, seller.user, backend=settings.AUTHENTICATION_BACKENDS[0])
            messages.success(
                request,
                gettext("Welcome, %(display_name)s! Your shop is open.")
                % {"display_name": seller.display_name},
            )
            return redirect("catalog:sell_dashboard")
    return render(request, "catalog/sell/signup.html", {"form": form}, status=_status(form))


@login_required
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """An account that bought things opens a shop."""
    try:
        access_seller(request.user)
        return redirect("catalog:sell_dashboard")
    except NotASeller:
        pass
    form = SellerStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mail_limit(request=request, recipients=[getattr(request.user, "email", "")])
        except Limited as exc:
            form.add_error(None, f"{exc.message} Please try again {exc.wait}.")
            return limited_response(
                request, exc, template="catalog/sell/start.html", context={"form": form}
            )
        try:
            sellers.seller_create(
                user=request.user,  # type: ignore[arg-type]  # behind login_required
                display_name=form.cleaned_data["display_name"],
            )
        except CatalogError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, gettext("Your shop is open. Check your inbox to confirm your email.")
            )
            return redirect("catalog:sell_dashboard")
    return render(request, "catalog/sell/start.html", {"form": form}, status=_status(form))


@bearer_token_page
def verify(request: HttpRequest, token: str) -> HttpResponse:
    # Verifying on GET is safe to repeat, and mail scanners that open the link
    # only do what the seller would have done.
    try:
        seller = sellers.seller_verify_email(token=token)
    except CatalogError as exc:
        return render(request, "catalog/sell/verify.html", {"error": exc.message}, status=400)
    return render(request, "catalog/sell/verify.html", {"seller": seller})


@seller_required
@require_POST
def verify_resend(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    if seller.is_verified:
        return redirect("catalog:sell_dashboard")
    try:
        # A second click within the minute is a double click, not a lost mail.
        limit_hit(
            scope="verify-resend", subject=f"seller:{seller.pk}", rate=RESEND_PAUSE, message=""
        )
    except Limited:
        messages.warning(
            request, gettext("A link was sent less than a minute ago; check your inbox.")
        )
        return redirect("catalog:sell_dashboard")
    try:
        mail_limit(request=request, recipients=[seller.user.email])
    except Limited as exc:
        return limited_response(request, exc)
    sellers.seller_send_verification(seller=seller)
    messages.success(
        request, gettext("A new link is on its way to %(email)s.") % {"email": seller.user.email}
    )
    return redirect("catalog:sell_dashboard")


# --- Dashboard and profile --------------------------------------------------------------


@seller_required
def dashboard(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    listed = selectors.seller_products(seller=seller)
    return render(request, "catalog/sell/dashboard.html", {"seller": seller, "products": listed})


@body_limit(lambda request, seller: settings.REQUEST_MAX_BYTES_IMAGES)
@seller_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    form = SellerProfileForm(
        request.POST or None,
        request.FILES or None,
        initial=SellerProfileForm.initial_for(seller),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sellers.seller_update(
                seller=seller,
                display_name=data["display_name"],
                slug=data["slug"],
                bio=data["bio"],
                links=data["links"],
                currency=data["currency"],
                timezone_name=data["timezone"],
                language=data["language"] or None,
                avatar=data["avatar"],
                remove_avatar=data["remove_avatar"],
                is_organization=data["is_organization"],
                tax_behavior=data["tax_behavior"] or None,
                legal_name=data["legal_name"],
                legal_address=data["legal_address"],
                vat_number=data["vat_number"],
            )
        except CatalogError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, gettext("Profile saved."))
            return redirect("catalog:sell_profile")
    return render(
        request,
        "catalog/sell/profile.html",
        {"seller": seller, "form": form},
        status=_status(form),
    )


# --- Products -------------------------------------------------------------------------------


def _product_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": data["title"],
        "slug": data["slug"],
        "kind": data["kind"],
        "description": data["description"],
        "pricing": data["pricing"],
        "price": data["price_minor"],
        "suggested_price": data["suggested_minor"],
        "currency": data["currency"],
        "status": data["status"],
        "release_date": data["release_date"],
        "tags": data["tags"],
        "cover": data["cover"],
    }


def _license_set(product: Product, data: dict[str, Any]) -> Product:
    return products.product_license_set(
        product=product,
        enabled=data["license_keys"],
        pattern=data["license_format"],
        max_activations=data["license_max_activations"],
    )


def _previewed(request: HttpRequest) -> tuple[ProductForm, str]:
    """The form as typed, unchecked, with the description rendered: previewing is
    not saving, so a price not typed yet is no error."""
    typed: dict[str, object] = {key: request.POST.get(key, "") for key in ProductForm.base_fields}
    typed["remove_cover"] = bool(request.POST.get("remove_cover"))
    return ProductForm(initial=typed), render_markdown(request.POST.get("description", ""))


def _status(form: Any) -> int:
    return 400 if form.is_bound and form.errors else 200


@body_limit(lambda request, seller: settings.REQUEST_MAX_BYTES_IMAGES)
@seller_required
@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    form = ProductForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "currency": seller.currency
            if seller.currency in chargeable_currencies()
            else chargeable_currencies()[0],
            "pricing": Product.Pricing.FIXED,
            "status": Product.Status.DRAFT,
            "kind": Product.Kind.EBOOK,
            "license_format": DEFAULT_PATTERN,
        },
    )
    preview: str | None = None
    if request.method == "POST" and "preview" in request.POST:
        form, preview = _previewed(request)
    elif request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                product = products.product_create(
                    seller=seller, **_product_values(form.cleaned_data)
                )
                _license_set(product, form.cleaned_data)
        except CatalogError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                gettext("“%(title)s” is saved as a draft. Now add its files.")
                % {"title": product.title},
            )
            return redirect("catalog:sell_files", product_id=product.pk)
    return render(
        request,
        "catalog/sell/product_form.html",
        {"form": form, "product": None, "seller": seller, "preview": preview},
        status=_status(form),
    )


@body_limit(lambda request, seller: settings.REQUEST_MAX_BYTES_IMAGES)
@seller_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, product_id: int) -> HttpResponse:
    product = access_product_for_seller(request, product_id)
    form = ProductForm(
        request.POST or None,
        request.FILES or None,
        initial=ProductForm.initial_for(product),
        keep_currency=product.currency,
    )
    preview: str | None = None
    if request.method == "POST" and "preview" in request.POST:
        form, preview = _previewed(request)
    elif request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                product = products.product_update(
                    product=product,
                    remove_cover=form.cleaned_data["remove_cover"],
                    **_product_values(form.cleaned_data),
                )
                product = _license_set(product, form.cleaned_data)
        except CatalogError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, gettext("“%(title)s” is saved.") % {"title": product.title})
            return redirect("catalog:sell_product", product_id=product.pk)
    return render(
        request,
        "catalog/sell/product_form.html",
        {"form": form, "product": product, "seller": product.seller, "preview": preview},
        status=_status(form),
    )


@seller_required
@require_http_methods(["GET", "POST"])
def product_delete(request: HttpRequest, product_id: int) -> HttpResponse:
    product = access_product_for_seller(request, product_id)
    has_sales = selectors.product_has_sales(product=product)
    if request.method == "POST":
        try:
            products.product_delete(product=product)
        except CatalogError as exc:
            return render(
                request,
                "catalog/sell/product_delete.html",
                {"product": product, "has_sales": True, "error": exc.message},
                status=exc.status,
            )
        messages.success(request, gettext("“%(title)s” is deleted.") % {"title": product.title})
        return redirect("catalog:sell_dashboard")
    return render(
        request, "catalog/sell/product_delete.html", {"product": product, "has_sales": has_sales}
    )


# --- Files ------------------------------------------------------------------------------------


def _files_allowance(request: HttpRequest, seller: Seller) -> Allowance:
    """A one-request upload may carry what the seller's quota has left (checked again,
    exactly, on the file itself): judged before CSRF or the form parses the body."""
    usage = quotas.storage_usage(seller=seller)
    return Allowance(
        min(settings.UPLOAD_MAX_BYTES, usage.left) + MULTIPART_MARGIN,
        f"your storage quota: {usage.summary}, {quotas.human_size(usage.left)} left",
    )


@body_limit(_files_allowance)
@seller_required
@require_http_methods(["GET", "POST"])
def product_files(request: HttpRequest, product_id: int) -> HttpResponse:
    product = access_product_for_seller(request, product_id)
    form = AssetUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            refused: list[str] = []
            added = 0
            for file in form.cleaned_data["file"]:
                try:
                    assets.asset_upload(
                        product=product,
                        role=form.cleaned_data["role"],
                        file=file,
                        original_filename=file.name or "",
                    )
                    added += 1
                except CatalogError as exc:
                    refused.append(f"{file.name}: {exc.message}")
            if not refused:
                messages.success(
                    request,
                    gettext("%(added)s file%(value)s added.")
                    % {"added": added, "value": "s" if added != 1 else ""},
                )
                return redirect("catalog:sell_files", product_id=product.pk)
            for reason in refused:
                form.add_error("file", reason)
        status = 400
    files = selectors.product_assets(product=product)
    context = {
        "product": product,
        "seller": product.seller,
        "form": form,
        "deliverables": files[Asset.Role.DELIVERABLE],
        "previews": files[Asset.Role.PREVIEW],
        "has_sales": selectors.product_has_sales(product=product),
        "usage": quotas.storage_usage(seller=product.seller),
        "upload_config": {
            "createUrl": reverse("catalog:sell_upload_create"),
            "product": product.pk,
            "maxBytes": settings.UPLOAD_MAX_BYTES,
        },
    }
    return render(request, "catalog/sell/files.html", context, status=status)


@seller_required
@require_POST
def product_status(request: HttpRequest, product_id: int) -> HttpResponse:
    """Publish or unpublish from the Files page, under the product form's rules."""
    product = access_product_for_seller(request, product_id)
    wanted = request.POST.get("status", "")
    if wanted not in (Product.Status.PUBLISHED, Product.Status.DRAFT):
        messages.error(request, gettext("Choose Publish or Unpublish."))
    else:
        try:
            product = products.product_status_set(product=product, status=wanted)
        except CatalogError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                (
                    gettext("“%(title)s” is published: it is in the shop.")
                    if wanted == Product.Status.PUBLISHED
                    else gettext("“%(title)s” is a draft again: it left the shop; buyers keep it.")
                )
                % {"title": product.title},
            )
    return redirect("catalog:sell_files", product_id=product.pk)


@seller_required
@require_POST
def asset_move(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = access_asset_for_seller(request, asset_id)
    assets.asset_move(asset=asset, delta=-1 if request.POST.get("direction") == "up" else 1)
    return redirect(reverse("catalog:sell_files", args=[asset.product_id]) + f"#asset-{asset.pk}")


@seller_required
@require_POST
def asset_delete(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = access_asset_for_seller(request, asset_id)
    try:
        assets.asset_delete(asset=asset)
    except CatalogError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            gettext("“%(original_filename)s” is deleted.")
            % {"original_filename": asset.original_filename},
        )
    return redirect("catalog:sell_files", product_id=asset.product_id)


# --- Catalog imports (format in catalog/imports.py) -----------------------------------------


def _import_allowance(request: HttpRequest, seller: Seller) -> Allowance:
    """A catalog ZIP larger than the seller's whole quota could never unpack within it."""
    most = min(imports.ZIP_MAX_BYTES, imports.import_max_bytes(seller))
    return Allowance(
        most + MULTIPART_MARGIN,
        f"your whole storage quota is {quotas.human_size(imports.import_max_bytes(seller))}",
    )


@body_limit(_import_allowance)
@seller_required
@require_http_methods(["GET", "POST"])
def imports_page(request: HttpRequest) -> HttpResponse:
    """Upload a catalog ZIP; it is checked (a dry run) before anything is written."""
    seller = _seller(request)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("catalog")
        if upload is None:
            error = "Choose a ZIP file with your catalog."
        else:
            try:
                job = imports.import_job_upload(
                    seller=seller, file=upload, filename=upload.name or "catalog.zip"
                )
            except imports.ImportRefused as exc:
                error = str(exc)
            else:
                return redirect("catalog:sell_import", job_id=job.pk)
    context = {
        "seller": seller,
        "jobs": seller.imports.all()[:10],
        "error": error,
        "max_bytes": imports.ZIP_MAX_BYTES,
        "usage": quotas.storage_usage(seller=seller),
    }
    return render(request, "catalog/sell/imports.html", context, status=400 if error else 200)


@seller_required
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_import_for_seller(request, job_id)
    if request.method == "POST":
        try:
            imports.import_job_start(job=job)
        except imports.ImportRefused as exc:
            messages.warning(request, str(exc))
        return redirect("catalog:sell_import", job_id=job.pk)
    job.refresh_from_db()
    plan = imports.Plan.from_dict(job.report) if job.report else None
    running = job.status in RUNNING_STATUSES
    context = {
        "seller": job.seller,
        "job": job,
        "plan": plan,
        "running": running,
        "progress_text": _progress_text(job),
        "importable": len(plan.importable) if plan else 0,
        "progress_url": reverse("catalog:sell_import_progress", args=[job.pk]),
    }
    return render(request, "catalog/sell/import_detail.html", context)


RUNNING_STATUSES = (ImportJob.Status.PLANNING, ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


def _progress_text(job: ImportJob) -> str:
    if job.status == ImportJob.Status.PLANNING:
        if not job.total_rows:
            return "Reading the catalog…"
        return f"{job.processed_rows} of {job.total_rows} checked · nothing is written yet"
    return (
        f"{job.processed_rows} of {job.total_rows} rows · {job.created_count} created · "
        f"{job.updated_count} updated · {job.failed_count} failed"
    )


@seller_required
def import_progress(request: HttpRequest, job_id: int) -> JsonResponse:
    job = access_import_for_seller(request, job_id)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "total": job.total_rows,
            "processed": job.processed_rows,
            "percent": job.percent,
            "created": job.created_count,
            "updated": job.updated_count,
            "failed": job.failed_count,
            "finished": job.status not in RUNNING_STATUSES,
            "summary": _progress_text(job),
            "error": job.error,
        }
    )
