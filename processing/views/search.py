"""Search by picture in the browser: drop, paste or photograph a product and see the catalog's matches,
"Find similar" from any catalog photo, the duplicates page, and the team's API search instances.

Queries are synchronous (two model runs and a re-rank, well under a second): the page posts the picture
with fetch and swaps in the `results` partial; without JavaScript the same form posts and gets the page.
"""

from __future__ import annotations

import base64
import io
import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from PIL import Image

from catalog import search_index
from catalog.access import member_required, require_owner
from catalog.models import (
    ATTRIBUTE_LABELS,
    SEARCH_INSTANCE_NAME_MAX,
    Category,
    ImageSearchEntry,
    Product,
    ProductImage,
    SearchInstance,
    Team,
)
from processing.engines.embedding import ModelMissingError
from processing.engines.imageio import ImageDecodeError, decode_image
from processing.engines.search import (
    SAME_PRODUCT_THRESHOLD,
    SIMILAR_PRODUCT_THRESHOLD,
    Box,
    Node,
    SearchParamError,
)
from processing.engines.search.engine import ALT_VIEW_MIN_COVER, NUM_MAX

logger = logging.getLogger(__name__)

WEB_MAX_SIDE = 1600  # phone photos are 4000+ px; detection and embedding see far less anyway
PREVIEW_SIDE = 640
PAGE_SIZE = 24
INT32 = 2**31 - 1
# The page asks the engine for this many candidates once, counts those at or above the merchant's minimum
# score, and pages through them (scores are sorted, so the shown ones are always the window's head).
CANDIDATE_WINDOW = NUM_MAX
# When the engine's main region is most of the picture it did not isolate a product (its own rule for
# searching other views); the page then also searches up to this many smaller detected objects and shows
# the one whose best match is strongest (on the dev set: a canoe in a room, 0.14 -> 0.83).
SUBJECT_FILLS_SHARE = ALT_VIEW_MIN_COVER
OTHER_OBJECTS_TRIED = 2


class SearchForm(forms.Form):
    category = forms.TypedChoiceField(
        choices=[("", "Any category"), *Category.choices], coerce=int, required=False, empty_value=None
    )
    # The API's int_attr / str_attr / str_attr2 under the names the product form gives them.
    int_min = forms.IntegerField(
        label=f"{ATTRIBUTE_LABELS['int_attr']} from", required=False, min_value=-INT32 - 1, max_value=INT32
    )
    int_max = forms.IntegerField(
        label=f"{ATTRIBUTE_LABELS['int_attr']} to", required=False, min_value=-INT32 - 1, max_value=INT32
    )
    str_attr = forms.CharField(label=ATTRIBUTE_LABELS["str_attr"], required=False, max_length=128)
    str_attr2 = forms.CharField(label=ATTRIBUTE_LABELS["str_attr2"], required=False, max_length=128)
    min_score = forms.FloatField(
        label="Show matches scoring at least",
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text=f"Scores run 0 to 1; {SAME_PRODUCT_THRESHOLD:.2f} and above means the same product.",
        widget=forms.NumberInput(attrs={"step": "0.05", "inputmode": "decimal"}),
    )
    filter = forms.CharField(
        label="Filter expression",
        required=False,
        max_length=256,
        help_text=(
            "The API's syntax: int_attr is the price band, int_attr2 the size, str_attr the colour, "
            'str_attr2 the brand; e.g. int_attr2 > 5 AND str_attr2 != "old".'
        ),
    )
    region = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    crop = forms.CharField(required=False, max_length=1, widget=forms.HiddenInput, initial="1")
    start = forms.IntegerField(required=False, min_value=0, max_value=499, widget=forms.HiddenInput)
    image = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def minimum_score(self) -> float:
        value = self.cleaned_data.get("min_score")
        return SIMILAR_PRODUCT_THRESHOLD if value is None else float(value)


def _prepare(picture: Image.Image) -> Image.Image:
    picture = picture.convert("RGB")
    if max(picture.size) > WEB_MAX_SIDE:
        picture.thumbnail((WEB_MAX_SIDE, WEB_MAX_SIDE), Image.Resampling.LANCZOS)
    return picture


def _preview_data_url(picture: Image.Image) -> str:
    # The query is never stored: the partial carries its own small preview for the boxes to sit on.
    preview = picture.copy()
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buffer = io.BytesIO()
    preview.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _box(box: Box, width: int, height: int, *, main: bool) -> dict:
    return {
        "region": box.to_region(),
        "main": main,
        "style": (
            f"left:{100 * box.x0 / width:.2f}%;top:{100 * box.y0 / height:.2f}%;"
            f"width:{100 * box.width / width:.2f}%;height:{100 * box.height / height:.2f}%"
        ),
    }


def _query_picture(request: HttpRequest, form: SearchForm) -> tuple[Image.Image, ProductImage | None]:
    """The uploaded picture, or a catalog image of the team ("Find similar")."""
    upload = request.FILES.get("picture")
    source: ProductImage | None = None
    if upload is not None:
        if upload.size > settings.MAX_UPLOAD_BYTES:
            raise SearchParamError("UnsupportedPicFormat", "the picture is too large")
        data = upload.read()
    elif form.cleaned_data.get("image"):
        source = get_object_or_404(
            ProductImage.objects.for_team(request.membership.team), pk=form.cleaned_data["image"]
        )
        data = source.read_bytes()
    else:
        raise SearchParamError("BadRequest", "Drop, paste or choose a photo to search with.")
    try:
        decoded = decode_image(
            data,
            min_side=settings.MIN_IMAGE_SIDE,
            max_side=settings.MAX_IMAGE_SIDE,
            max_pixels=settings.MAX_IMAGE_PIXELS,
        )
    except ImageDecodeError as error:
        raise SearchParamError("UnsupportedPicFormat", error.message) from None
    return _prepare(decoded.image), source


def _best_score(found: search_index.TeamSearch) -> float:
    return found.result.hits[0].score if found.result.hits else 0.0


def _run_search(request: HttpRequest, form: SearchForm) -> dict:
    team = request.membership.team
    picture, source = _query_picture(request, form)
    data = form.cleaned_data
    node = search_index.catalog_filter(
        data.get("filter") or None, int_min=data.get("int_min"), int_max=data.get("int_max"),
        str_value=data.get("str_attr") or None, str2_value=data.get("str_attr2") or None,
    )  # fmt: skip
    region = data.get("region") or None
    crop = data.get("crop") != "0"
    width, height = picture.size

    def search(region: str | None) -> search_index.TeamSearch:
        return _search_window(team, picture, node, region, crop, data.get("category"), source)

    found = search(region)
    # What was searched, in the merchant's terms: their own box, the whole picture, the detected product,
    # or (when detection kept most of the picture) the clearest smaller object, or the busy picture itself.
    if region:
        searched = "region"
    elif not crop:
        searched = "whole"
    elif found.result.region.area < SUBJECT_FILLS_SHARE * width * height:
        searched = "subject"
    else:
        searched = "filled"
        objects = [b for b in found.result.multi_region[1:] if b.area < SUBJECT_FILLS_SHARE * width * height]
        for box in objects[:OTHER_OBJECTS_TRIED]:
            other = search(box.to_region())
            if _best_score(other) > _best_score(found):
                found, searched = other, "object"
    result = found.result
    minimum = form.minimum_score()
    rows = [(hit, image) for hit, image in found.rows() if hit.score >= minimum]
    shown = len(rows)
    start = min(data.get("start") or 0, max(0, shown - 1))
    boxes = [_box(box, width, height, main=(i == 0)) for i, box in enumerate(result.multi_region)]
    if not boxes:
        boxes = [_box(result.region, width, height, main=True)]
    return {
        "rows": rows[start : start + PAGE_SIZE],
        "result": result,
        "preview": _preview_data_url(picture),
        "query_width": width,
        "query_height": height,
        "boxes": boxes,
        "region": result.region.to_region(),
        "searched": searched,
        "minimum_score": minimum,
        "shown_count": shown,
        "hidden_count": max(0, result.docs_found - shown),
        "window_full": shown >= CANDIDATE_WINDOW,
        "filter_text": search_index.filter_text(node),
        "source": source,
        "start": start,
        "next_start": start + PAGE_SIZE if start + PAGE_SIZE < shown else None,
        "previous_start": max(0, start - PAGE_SIZE) if start else None,
        "catalog_category_label": Category(result.catalog_category).label,
    }


def _search_window(
    team: Team,
    picture: Image.Image,
    node: Node | None,
    region: str | None,
    crop: bool,
    category: int | None,
    source: ProductImage | None,
) -> search_index.TeamSearch:
    """One engine query for the page: the best `CANDIDATE_WINDOW` candidates, from the first."""
    return search_index.search_team(
        team,
        picture,
        node=node,
        num=CANDIDATE_WINDOW,
        start=0,
        region=region,
        crop=crop,
        catalog_category=category,
        exclude_image=source.pk if source else None,
    )


def _index_counts(team) -> dict:
    return {
        "indexed_count": ImageSearchEntry.objects.for_team(team)
        .filter(model_version=search_index.MODEL_VERSION)
        .count(),
        "image_count": ProductImage.objects.for_team(team).count(),
    }


def _render_results(request: HttpRequest, form: SearchForm, status: int = 200, **extra) -> HttpResponse:
    context = {"form": form, **_index_counts(request.membership.team), **extra}
    if not request.htmx:
        products = Product.objects.for_team(request.membership.team)
        context["colours"] = products.attribute_values("str_attr")
        context["brands"] = products.attribute_values("str_attr2")
    template = "processing/search_page.html#results" if request.htmx else "processing/search_page.html"
    return render(request, template, context, status=status)


@require_GET
@member_required
def search_page(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    if form.is_bound and form.is_valid() and form.cleaned_data.get("image"):
        # "Find similar" links land here with ?image=<id>: search at once.
        try:
            return _render_results(request, form, **_run_search(request, form))
        except (SearchParamError, ModelMissingError) as error:
            return _render_results(request, form, status=400, error=_message(error))
    return _render_results(
        request, SearchForm(initial={"crop": "1", "min_score": f"{SIMILAR_PRODUCT_THRESHOLD:.2f}"})
    )


@require_POST
@member_required
def search_query(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in form.errors.items())
        return _render_results(request, form, status=400, error=errors)
    try:
        context = _run_search(request, form)
    except (SearchParamError, ModelMissingError) as error:
        return _render_results(request, form, status=400, error=_message(error))
    return _render_results(request, form, **context)


def _message(error: Exception) -> str:
    if isinstance(error, ModelMissingError):
        logger.error("search page without the image model: %s", error)
        return "Search is not available: the image model is not installed (make models)."
    if isinstance(error, SearchParamError):
        return error.detail or error.message
    return str(error)


@require_GET
@member_required
def search_duplicates(request: HttpRequest) -> HttpResponse:
    team = request.membership.team
    threshold = settings.SEARCH_DUPLICATE_SIMILARITY
    pairs = search_index.similar_pairs(team, threshold)
    ids = {i for a, b, _s in pairs for i in (a, b)}
    images = {
        image.pk: image
        for image in ProductImage.objects.for_team(team).filter(pk__in=ids).select_related("product")
    }
    rows = [
        {
            "a": images[a],
            "b": images[b],
            "similarity": sim,
            "same_listing": images[a].product_id == images[b].product_id,
        }
        for a, b, sim in pairs
        if a in images and b in images
    ]
    context = {"rows": rows, "threshold": threshold, **_index_counts(team)}
    return render(request, "processing/search_duplicates.html", context)


# ---- search instances (team settings) -------------------------------------------------------------------------
class SearchInstanceForm(forms.Form):
    name = forms.RegexField(
        regex=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        max_length=SEARCH_INSTANCE_NAME_MAX,
        error_messages={"invalid": "Use letters, digits, - and _ (starting with a letter or digit)."},
    )


@require_POST
@member_required
def instance_create(request: HttpRequest) -> HttpResponse:
    require_owner(request)
    form = SearchInstanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Instance name: {' '.join(form.errors.get('name', []))}")
    elif SearchInstance.objects.filter(name=form.cleaned_data["name"]).exists():
        # Names are global (like Aliyun's); say so without telling whose it is.
        messages.error(request, "That instance name is taken; choose another.")
    else:
        SearchInstance.objects.create(
            team=request.membership.team, name=form.cleaned_data["name"], created_by=request.user
        )
        messages.success(request, f"Search instance “{form.cleaned_data['name']}” created.")
    return redirect("catalog:team_settings")


@require_POST
@member_required
def instance_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require_owner(request)
    instance = get_object_or_404(SearchInstance.objects.for_team(request.membership.team), pk=pk)
    instance.delete()
    messages.info(request, f"Search instance “{instance.name}” deleted.")
    return redirect("catalog:team_settings")
