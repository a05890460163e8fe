from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET, require_POST

from processing.engines.imageio import ImageDecodeError
from processing.models import Job, JobKind

from .access import SESSION_TEAM_KEY, current_membership, member_required, require_editor, require_owner
from .forms import (
    ApiTokenForm,
    CatalogFilterForm,
    InvitationForm,
    MemberRoleForm,
    ProductForm,
    SignupForm,
    TeamForm,
    TeamSettingsForm,
)
from .models import PHOTO_SORTS, ApiToken, Invitation, Membership, Product, ProductImage, Role, Team


def _get_product_for_user(request: HttpRequest, pk: int) -> Product:
    return get_object_or_404(Product.objects.for_team(request.membership.team), pk=pk)


def _get_image_for_user(request: HttpRequest, pk: int) -> ProductImage:
    return get_object_or_404(ProductImage.objects.for_team(request.membership.team), pk=pk)


# --- Error pages ------------------------------------------------------------------------------------
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 403 page in the site's layout: why, and (for a role that may not) who in the team may."""
    membership = current_membership(request)
    roles = getattr(exception, "roles", None)
    allowed = []
    if membership is not None and roles:
        members = membership.team.memberships.filter(role__in=roles).select_related("user")
        # In the order the roles are named (owners first), then by name.
        allowed = sorted(members, key=lambda member: (roles.index(member.role), member.user.get_username()))
    context = {
        "reason": str(exception or "") or "You do not have permission to do this.",
        "membership": membership,
        "allowed_members": allowed,
        "allowed_roles": [Role(role).label.lower() for role in roles or ()],
    }
    return render(request, "403.html", context, status=403)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page in the site's layout, rendered without the request's context processors: the
    database may be what failed. It shows the request id the log lines carry."""
    page = loader.get_template("500.html").render({"request_id": getattr(request, "request_id", "")})
    return HttpResponseServerError(page)


# --- Accounts and teams ---------------------------------------------------------------------------
def signup(request: HttpRequest) -> HttpResponse:
    next_url = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or "catalog:product_list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            team_name = form.cleaned_data["team_name"].strip()
            if team_name or not next_url:
                Team.create_with_owner(team_name or f"{user.get_username()}'s shop", user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return HttpResponseRedirect(next_url or reverse("catalog:product_list"))
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


def team_create(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = Team.create_with_owner(form.cleaned_data["name"], request.user)
        request.session[SESSION_TEAM_KEY] = team.pk
        messages.success(request, f"Team “{team.name}” created.")
        return redirect("catalog:product_list")
    return render(request, "catalog/team_create.html", {"form": form})


@require_POST
@member_required
def team_switch(request: HttpRequest) -> HttpResponse:
    membership = get_object_or_404(
        Membership.objects.for_user(request.user), team_id=request.POST.get("team")
    )
    request.session[SESSION_TEAM_KEY] = membership.team_id
    messages.info(request, f"Now working in {membership.team.name}.")
    return redirect("catalog:product_list")


@member_required
def team_settings(request: HttpRequest) -> HttpResponse:
    team = request.membership.team
    context = {
        "members": team.memberships.select_related("user").order_by("created_at"),
        "invitations": team.invitations.usable(),
        "tokens": team.api_tokens.all(),
        "invitation_form": InvitationForm(),
        "token_form": ApiTokenForm(),
        "role_choices": Role.choices,
        "new_token": request.session.pop("new_api_token", None),
        "settings_form": TeamSettingsForm(instance=team),
    }
    return render(request, "catalog/team_settings.html", context)


@require_POST
@member_required
def team_update(request: HttpRequest) -> HttpResponse:
    require_owner(request)
    form = TeamSettingsForm(request.POST, instance=request.membership.team)
    if form.is_valid():
        form.save()
        messages.success(request, "Team settings saved.")
    else:
        messages.error(
            request,
            "The settings were not saved: "
            + "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()),
        )
    return redirect("catalog:team_settings")


@require_POST
@member_required
def invitation_create(request: HttpRequest) -> HttpResponse:
    require_owner(request)
    form = InvitationForm(request.POST)
    if form.is_valid():
        invitation = form.save(commit=False)
        invitation.team = request.membership.team
        invitation.created_by = request.user
        invitation.save()
        link = request.build_absolute_uri(invitation.get_absolute_url())
        messages.success(request, f"Invitation link (valid 7 days, single use): {link}")
    else:
        messages.error(request, "The invitation could not be created: check the role and e-mail.")
    return redirect("catalog:team_settings")


@require_POST
@member_required
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    require_owner(request)
    invitation = get_object_or_404(Invitation.objects.filter(team=request.membership.team), pk=pk)
    invitation.revoke()
    messages.info(request, "Invitation revoked.")
    return redirect("catalog:team_settings")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.select_related("team"), token=token)
    if not invitation.is_usable:
        return render(request, "catalog/invitation_accept.html", {"invitation": invitation}, status=410)
    if not request.user.is_authenticated:
        return render(request, "catalog/invitation_accept.html", {"invitation": invitation})
    if request.method == "POST":
        membership = invitation.accept(request.user)
        if membership is None:
            return render(request, "catalog/invitation_accept.html", {"invitation": invitation}, status=410)
        request.session[SESSION_TEAM_KEY] = membership.team_id
        messages.success(request, f"You joined {membership.team.name} as {membership.get_role_display()}.")
        return redirect("catalog:product_list")
    return render(request, "catalog/invitation_accept.html", {"invitation": invitation})


@require_POST
@member_required
def member_update(request: HttpRequest, pk: int) -> HttpResponse:
    require_owner(request)
    membership = get_object_or_404(Membership.objects.filter(team=request.membership.team), pk=pk)
    owners = Membership.objects.filter(team=membership.team, role=Role.OWNER)
    leaving_owner = membership.role == Role.OWNER and owners.count() == 1
    if request.POST.get("action") == "remove":
        if leaving_owner:
            messages.error(request, "A team needs at least one owner.")
        else:
            membership.delete()
            messages.info(request, f"{membership.user} was removed from the team.")
        return redirect("catalog:team_settings")
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        if leaving_owner and form.cleaned_data["role"] != Role.OWNER:
            messages.error(request, "A team needs at least one owner.")
        else:
            membership.role = form.cleaned_data["role"]
            membership.save(update_fields=["role"])
            messages.success(request, f"{membership.user} is now {membership.get_role_display()}.")
    return redirect("catalog:team_settings")


@require_POST
@member_required
def token_create(request: HttpRequest) -> HttpResponse:
    require_owner(request)
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name.")
        return redirect("catalog:team_settings")
    token, raw = ApiToken.objects.create_token(
        request.membership.team, form.cleaned_data["name"], request.user
    )
    # Shown once on the next page (popped there), never stored in clear: the token is kept as a hash and
    # the access key's secret is derived from the server's key whenever a signature is checked.
    request.session["new_api_token"] = {
        "token": raw,
        "access_key_id": token.access_key_id,
        "access_key_secret": token.access_key_secret(),
    }
    return redirect("catalog:team_settings")


@require_POST
@member_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    require_owner(request)
    token = get_object_or_404(ApiToken.objects.filter(team=request.membership.team), pk=pk)
    token.revoke()
    messages.info(request, f"Token {token.prefix}… revoked.")
    return redirect("catalog:team_settings")


# --- Catalog ----------------------------------------------------------------------------------------
@member_required
def product_list(request: HttpRequest) -> HttpResponse:
    team = request.membership.team
    filters = CatalogFilterForm(request.GET or None)
    products = Product.objects.for_team(team).prefetch_related(
        Prefetch(
            "images", queryset=ProductImage.objects.order_by("position", "pk"), to_attr="prefetched_images"
        )
    )
    if filters.is_valid():
        products = products.search(filters.cleaned_data.get("q") or "")
        if filters.cleaned_data.get("category"):
            products = products.filter(category=filters.cleaned_data["category"])
        products = products.sorted_by(filters.cleaned_data.get("sort") or "")
    page = Paginator(products, settings.CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    unsorted_count = ProductImage.objects.for_team(team).filter(product__isnull=True).count()
    context = {"page": page, "filters": filters, "query": query.urlencode(), "unsorted_count": unsorted_count}
    template = "catalog/product_list.html#results" if request.htmx else "catalog/product_list.html"
    return render(request, template, context)


@member_required
def photo_list(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "")
    sort = sort if sort in PHOTO_SORTS else "newest"
    images = ProductImage.objects.for_team(request.membership.team).select_related("product").sorted_by(sort)
    unsorted = request.GET.get("unsorted") == "1"
    if unsorted:
        images = images.filter(product__isnull=True)
    page = Paginator(images, 48).get_page(request.GET.get("page"))
    query = request.GET.copy()
    for key in ("page", "select"):
        query.pop(key, None)
    context = {
        "page": page,
        "unsorted": unsorted,
        "sort": sort,
        "sorts": [(key, label) for key, (label, _ordering) in PHOTO_SORTS.items()],
        "query": query.urlencode(),
        # "Select all" without JavaScript: the page comes back with every tile ticked.
        "select_all": request.GET.get("select") == "all",
    }
    return render(request, "catalog/photo_list.html", context)


@member_required
def photo_bulk_delete(request: HttpRequest) -> HttpResponse:
    """Delete the selected photos, after a confirmation page that shows exactly which ones."""
    require_editor(request)
    data = request.POST if request.method == "POST" else request.GET
    raw_ids = data.getlist("images")
    images = (
        ProductImage.objects.for_team(request.membership.team).select_related("product").from_ids(raw_ids)
    )
    if raw_ids and not images:
        # Only another team's photos (or none that exist): nothing here to show or delete.
        raise Http404("No such photos.")
    if not images:
        messages.error(request, "Select the photos to delete first.")
        return redirect("catalog:photo_list")
    if request.method == "POST" and data.get("confirm") == "yes":
        with transaction.atomic():
            # The rows go together; their files and search entries follow once this commits (signals).
            deleted = ProductImage.objects.for_team(request.membership.team).filter(
                pk__in=[image.pk for image in images]
            )
            count = len(deleted)
            deleted.delete()
        messages.success(request, f"{count} photo{'s' if count != 1 else ''} deleted.")
        return redirect("catalog:photo_list")
    products = sorted({image.product.title for image in images if image.product is not None})
    context = {"images": images, "products": products}
    return render(request, "catalog/photo_bulk_delete.html", context)


@member_required
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = _get_product_for_user(request, pk)
    return render(
        request, "catalog/product_detail.html", {"product": product, "images": product.ordered_images()}
    )


@require_POST
@member_required
def product_photos(request: HttpRequest, pk: int) -> HttpResponse:
    """Reorder a product's photos: `move` one up or down (buttons that work without JavaScript), make one
    the `cover`, or give the whole `order` (dragging). With htmx the photos region comes back."""
    require_editor(request)
    product = _get_product_for_user(request, pk)
    image_id = request.POST.get("image", "")
    image_id = int(image_id) if image_id.isdigit() else None
    action = request.POST.get("action", "")
    if action in ("up", "down") and image_id is not None:
        product.move_image(image_id, -1 if action == "up" else 1)
    elif action == "cover" and image_id is not None:
        if product.make_cover(image_id) and not request.htmx:
            messages.success(request, "Cover photo changed.")
    elif action == "order":
        product.set_image_order([int(value) for value in request.POST.getlist("order") if value.isdigit()])
    else:
        return HttpResponseBadRequest("Say which photo to move, or give the new order.")
    if request.htmx:
        context = {"product": product, "images": product.ordered_images()}
        return render(request, "catalog/product_detail.html#photos", context)
    return HttpResponseRedirect(f"{product.get_absolute_url()}#photo-{image_id or ''}")


@member_required
def product_add_images(request: HttpRequest) -> HttpResponse:
    """ "Add selected photos to a product": GET shows the chosen photos and the team's products to pick
    from, POST puts them into the chosen one (after its own photos)."""
    require_editor(request)
    team = request.membership.team
    images = (
        ProductImage.objects.for_team(team)
        .select_related("product")
        .from_ids(request.POST.getlist("images") or request.GET.getlist("images"))
    )
    products = Product.objects.for_team(team).order_by("title", "pk")
    if request.method == "POST":
        product_id = request.POST.get("product", "")
        product = get_object_or_404(products, pk=product_id) if product_id.isdigit() else None
        if product is None:
            messages.error(request, "Choose the product to add the photos to.")
        elif not images:
            messages.error(request, "Choose at least one photo.")
        else:
            moved_from = sorted(
                {image.product.title for image in images if image.product and image.product_id != product.pk}
            )
            added = product.add_images(images)
            note = f" (moved from {', '.join(moved_from)})" if moved_from else ""
            messages.success(
                request, f"{added} photo{'s' if added != 1 else ''} added to “{product.title}”{note}."
            )
            return redirect(product)
    context = {"images": images, "products": products, "chosen": request.GET.get("product", "")}
    return render(request, "catalog/product_add_images.html", context)


@member_required
def product_create(request: HttpRequest) -> HttpResponse:
    require_editor(request)
    team = request.membership.team
    images = ProductImage.objects.for_team(request.membership.team).from_ids(
        request.POST.getlist("images") or request.GET.getlist("images")
    )
    form = ProductForm(
        request.POST if request.method == "POST" and "title" in request.POST else None, team=team
    )
    if form.is_bound and form.is_valid():
        with transaction.atomic():
            product = form.save(commit=False)
            product.team = team
            product.created_by = request.user
            product.save()
            for position, image in enumerate(images):
                ProductImage.objects.filter(pk=image.pk, team=team).update(product=product, position=position)
        messages.success(request, f"Product “{product.title}” created with {len(images)} photo(s).")
        return redirect(product)
    return render(request, "catalog/product_form.html", {"form": form, "images": images, "creating": True})


@member_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_editor(request)
    product = _get_product_for_user(request, pk)
    form = ProductForm(request.POST or None, instance=product, team=request.membership.team)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Product saved.")
        return redirect(product)
    return render(request, "catalog/product_form.html", {"form": form, "product": product, "creating": False})


@require_POST
@member_required
def product_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require_editor(request)
    product = _get_product_for_user(request, pk)
    title = product.title
    product.delete()
    messages.info(request, f"Product “{title}” and its photos were deleted.")
    return redirect("catalog:product_list")


@require_POST
@member_required
def image_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require_editor(request)
    image = _get_image_for_user(request, pk)
    product = image.product
    image.delete()
    messages.info(request, "Photo deleted.")
    return redirect(product or "catalog:photo_list")


@require_GET
@member_required
def image_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A photo's own page: the picture, its facts, its product, and what can be done with it."""
    image = get_object_or_404(
        ProductImage.objects.for_team(request.membership.team).select_related("product", "uploaded_by"), pk=pk
    )
    products = (
        Product.objects.for_team(request.membership.team).order_by("title", "pk")
        if request.membership.can_edit
        else Product.objects.none()
    )
    return render(request, "catalog/image_detail.html", {"image": image, "products": products})


@require_GET
@member_required
def image_file(request: HttpRequest, pk: int) -> HttpResponse:
    image = _get_image_for_user(request, pk)
    # The download keeps the uploaded name but takes the extension of the decoded format, never the
    # uploaded one (a JPEG named page.html must not be saved as .html).
    stem = (image.original_filename or "").rsplit(".", 1)[0] or f"image-{image.pk}"
    extension = image.file.name.rsplit(".", 1)[-1] if "." in image.file.name else image.format.lower()
    return serve_stored_file(request, image.file, image.content_type, f"{stem}.{extension}")


@require_GET
@member_required
def image_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    image = _get_image_for_user(request, pk)
    if not image.thumbnail:
        raise Http404("The thumbnail is not ready yet.")
    return serve_stored_file(request, image.thumbnail, "image/webp", f"thumbnail-{image.pk}.webp")


@require_GET
@member_required
def image_tile(request: HttpRequest, pk: int) -> HttpResponse:
    image = _get_image_for_user(request, pk)
    return render(
        request,
        "catalog/_image_tile.html",
        {
            "image": image,
            "selectable": request.GET.get("selectable") == "1",
            "link_photo": request.GET.get("photo") == "1",
        },
    )


def serve_stored_file(request: HttpRequest, field_file, content_type: str, filename: str) -> HttpResponse:
    """Members only: S3 gets a short-lived signed redirect, local files are streamed by Django."""
    if settings.STORAGE_BACKEND == "s3":
        response = redirect(field_file.storage.url(field_file.name))
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    as_attachment = request.GET.get("download") == "1"
    response = FileResponse(handle, content_type=content_type, as_attachment=as_attachment, filename=filename)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Upload -----------------------------------------------------------------------------------------
@member_required
def upload(request: HttpRequest) -> HttpResponse:
    """The page, and the no-JavaScript fallback: one POST with many files, then the job page."""
    require_editor(request)
    product = _upload_product(request)
    if request.method != "POST":
        context = {"max_bytes": settings.MAX_UPLOAD_BYTES, "product": product}
        return render(request, "catalog/upload.html", context)
    files = request.FILES.getlist("files")
    if not files:
        messages.error(request, "Choose at least one photo to upload.")
        return redirect(f"{reverse('catalog:upload')}?product={product.pk}" if product else "catalog:upload")
    stored: list[ProductImage] = []
    for uploaded in files:
        image, error = _ingest_upload(request, uploaded, product)
        if error:
            messages.error(request, f"{uploaded.name}: {error}")
        elif image is not None:
            stored.append(image)
            if image._upload_note:
                messages.info(request, f"{uploaded.name}: {image._upload_note}")
    job = _start_facts_job(request, stored)
    if stored:
        where = f" to “{product.title}”" if product else ""
        messages.success(request, f"{len(stored)} photo(s) uploaded{where}.")
    return redirect(product or job or "catalog:photo_list")


def _upload_product(request: HttpRequest) -> Product | None:
    """The product an upload goes into (`product` in the form or the query), of the team or a 404."""
    value = request.POST.get("product") or request.GET.get("product") or ""
    if not value:
        return None
    if not value.isdigit():
        raise Http404("No such product.")
    return _get_product_for_user(request, int(value))


@require_POST
@member_required
def upload_file(request: HttpRequest) -> HttpResponse:
    """One file per request, so the page can show per-file progress and per-file errors."""
    if not request.membership.can_edit:
        return JsonResponse({"ok": False, "error": "Viewers cannot upload photos."}, status=403)
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return JsonResponse({"ok": False, "error": "No file was received."}, status=400)
    try:
        product = _upload_product(request)
    except Http404:
        return JsonResponse({"ok": False, "error": "No such product."}, status=404)
    image, error = _ingest_upload(request, uploaded, product)
    if error:
        return JsonResponse({"ok": False, "error": error}, status=422)
    return JsonResponse(
        {
            "ok": True,
            "image": {
                "id": image.pk,
                "name": image.original_filename,
                "width": image.width,
                "height": image.height,
                "duplicate": image._was_duplicate,
                "note": image._upload_note,
            },
        }
    )


@require_POST
@member_required
def upload_finish(request: HttpRequest) -> HttpResponse:
    require_editor(request)
    images = ProductImage.objects.for_team(request.membership.team).from_ids(request.POST.getlist("images"))
    if not images:
        return HttpResponseBadRequest("No uploaded photos were named.")
    product = _upload_product(request)
    job = _start_facts_job(request, images)
    context = {"job": job, "images": images, "product": product}
    return render(request, "catalog/_upload_summary.html", context)


def _ingest_upload(
    request: HttpRequest, uploaded, product: Product | None = None
) -> tuple[ProductImage | None, str]:
    """Store one upload (into `product` when given). A photo the team already has joins the product when it
    was in none; one already in another product stays there, and `_upload_note` says so."""
    if uploaded.size > settings.MAX_UPLOAD_BYTES:
        limit = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
        return None, f"The file is larger than {limit} MB."
    data = uploaded.read()
    try:
        image, created = ProductImage.objects.ingest(
            team=request.membership.team,
            data=data,
            original_filename=uploaded.name,
            uploaded_by=request.user,
            product=product,
        )
    except ImageDecodeError as error:
        return None, error.message
    image._was_duplicate = not created
    image._upload_note = ""
    if not created and product is not None and image.product_id != product.pk:
        if image.product_id is None:
            product.add_images([image])
            image._upload_note = "already in your photos; added to this product"
        else:
            image._upload_note = f"already in your photos, in “{image.product.title}”; left there"
    return image, ""


def _start_facts_job(request: HttpRequest, images: list[ProductImage]) -> Job | None:
    pending = [image for image in images if image.facts_at is None]
    if not pending:
        return None
    return Job.objects.create_for_images(
        team=request.membership.team, kind=JobKind.IMAGE_FACTS, images=pending, created_by=request.user
    )
