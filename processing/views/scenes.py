"""Scenes in the browser: the library, team scenes with their editor, and a product's "Scenes" tab
(recommendations, a live placement preview, and rendering as a `scene_render` job)."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.core.signing import BadSignature, TimestampSigner
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from catalog.access import current_membership, member_required, require_editor
from catalog.models import Product, ProductImage
from catalog.views import serve_stored_file

from .. import scene_library
from ..engines.imageio import ImageDecodeError, decode_image, encode_image
from ..kinds import ItemError
from ..kinds import scenes as scene_kind
from ..models import Job, JobItem, JobKind, Scene
from ..tasks import queue_missing_covers

logger = logging.getLogger(__name__)

MAX_RENDER_ITEMS = 48  # images x scenes in one job from the web page
LONG_SIDES = (1024, 1536, 2048)
_COVER_SALT = "vitrine.scene-cover"


def _get_scene_for_user(request: HttpRequest, model_num: str) -> Scene:
    """A preset or one of the team's scenes; another team's scene is 404."""
    return get_object_or_404(Scene.objects.visible_to(request.membership.team), model_num=model_num)


def _get_team_scene_for_user(request: HttpRequest, model_num: str) -> Scene:
    return get_object_or_404(Scene.objects.for_team(request.membership.team), model_num=model_num)


def _get_product_for_user(request: HttpRequest, pk: int) -> Product:
    return get_object_or_404(Product.objects.for_team(request.membership.team), pk=pk)


def signed_cover_path(scene: Scene) -> str:
    """Cover URL for API clients: presets are public, a team scene's cover needs the signed token."""
    path = reverse("processing:scene_cover", args=[scene.model_num])
    if scene.is_preset:
        return path
    return f"{path}?sig={TimestampSigner(salt=_COVER_SALT).sign(scene.model_num)}"


def _filter_value(raw: str | None, valid: dict) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if value in valid else None


# --- forms ------------------------------------------------------------------------------------------
TYPE_CHOICES = [(k, v[0]) for k, v in scene_library.SCENE_TYPES.items()]
CATEGORY_CHOICES = [(k, v[0]) for k, v in scene_library.CATEGORIES.items()]


class SceneForm(forms.Form):
    name_en = forms.CharField(label="Name (English)", max_length=120)
    name_zh = forms.CharField(label="Name (Chinese)", max_length=120, required=False)
    description_en = forms.CharField(
        label="What it suits", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=1000
    )
    scene_types = forms.TypedMultipleChoiceField(
        label="Scene type", choices=TYPE_CHOICES, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    categories = forms.TypedMultipleChoiceField(
        label="Categories", choices=CATEGORY_CHOICES, coerce=int, widget=forms.CheckboxSelectMultiple
    )


class SceneUploadForm(SceneForm):
    photo = forms.FileField(label="Background photo")


class SceneGeometryForm(SceneForm):
    surface_y = forms.FloatField(min_value=0.05, max_value=1.0, widget=forms.HiddenInput)
    box_x0 = forms.FloatField(min_value=0.0, max_value=1.0, widget=forms.HiddenInput)
    box_y0 = forms.FloatField(min_value=0.0, max_value=1.0, widget=forms.HiddenInput)
    box_x1 = forms.FloatField(min_value=0.0, max_value=1.0, widget=forms.HiddenInput)
    box_y1 = forms.FloatField(min_value=0.0, max_value=1.0, widget=forms.HiddenInput)
    light_angle = forms.FloatField(
        label="Light from (degrees, 0 right, 90 top, 180 left)", min_value=0, max_value=360
    )
    light_softness = forms.FloatField(label="Light softness (0 hard, 1 soft)", min_value=0, max_value=1)

    def clean(self):
        data = super().clean()
        box = [data.get(k) for k in ("box_x0", "box_y0", "box_x1", "box_y1")]
        if None not in box and (abs(box[2] - box[0]) < 0.05 or abs(box[3] - box[1]) < 0.05):
            raise forms.ValidationError("Drag a product box of at least 5% of the photo each way.")
        return data


# --- the library --------------------------------------------------------------------------------------
SCENES_PER_PAGE = 12
SOURCE_CHOICES = [("", "All scenes"), ("team", "Your team's"), ("presets", "Presets")]


class SceneLibraryForm(forms.Form):
    # The field names are the API's (sceneType, categoryType), so links between the pages keep working.
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=80,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, e.g. marble or 大理石"}),
    )
    sceneType = forms.TypedChoiceField(
        label="Type", choices=[("", "All types"), *TYPE_CHOICES], coerce=int, required=False, empty_value=None
    )
    categoryType = forms.TypedChoiceField(
        label="Category",
        choices=[("", "All categories"), *CATEGORY_CHOICES],
        coerce=int,
        required=False,
        empty_value=None,
    )
    source = forms.ChoiceField(label="Whose", choices=SOURCE_CHOICES, required=False)


@member_required
def scene_list(request: HttpRequest) -> HttpResponse:
    """The library: filtered, 12 a page; htmx swaps the list, plain links page through it without JS."""
    form = SceneLibraryForm(request.GET or None)
    form.is_valid()  # a bad value in one field drops that filter only
    chosen = getattr(form, "cleaned_data", {})
    scenes = Scene.objects.library_for(
        request.membership.team,
        text=chosen.get("q") or "",
        scene_type=chosen.get("sceneType"),
        category_type=chosen.get("categoryType"),
        source=chosen.get("source") or "",
    )
    page = Paginator(scenes, SCENES_PER_PAGE).get_page(request.GET.get("page"))
    covers_pending = any(scene.cover_pending for scene in page.object_list)
    if covers_pending:
        queue_missing_covers()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "covers_pending": covers_pending,
        "filtered": any(chosen.get(name) for name in ("q", "sceneType", "categoryType", "source")),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "processing/scene_list.html#scene-library" if partial else "processing/scene_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])  # the partial and the page share a URL
    return response


@member_required
def scene_new(request: HttpRequest) -> HttpResponse:
    require_editor(request)
    form = SceneUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["photo"]
        try:
            if upload.size > settings.MAX_UPLOAD_BYTES:
                raise ImageDecodeError("too_large", "The photo is larger than the upload limit.")
            decoded = decode_image(
                upload.read(),
                min_side=256,
                max_side=settings.MAX_IMAGE_SIDE,
                max_pixels=settings.MAX_IMAGE_PIXELS,
            )
        except ImageDecodeError as error:
            form.add_error("photo", error.message)
        else:
            data = form.cleaned_data
            scene = Scene.objects.create(
                model_num=scene_library.new_team_model_num(),
                team=request.membership.team,
                name_en=data["name_en"],
                name_zh=data["name_zh"],
                description_en=data["description_en"],
                scene_types=sorted(set(data["scene_types"])),
                categories=sorted(set(data["categories"])),
                surface_y=0.82,
                product_box=[0.25, 0.25, 0.75, 0.82],
                created_by=request.user,
            )
            scene_library.store_team_scene_files(scene, scene_library.prepare_team_background(decoded))
            messages.success(request, "Scene added. Drag the surface line and the product box, then save.")
            return redirect(scene)
    return render(request, "processing/scene_form.html", {"form": form, "scene": None})


@member_required
def scene_detail(request: HttpRequest, model_num: str) -> HttpResponse:
    """A preset's page, or a team scene with its editor (surface line and product box by dragging)."""
    scene = _get_scene_for_user(request, model_num)
    form = None
    if not scene.is_preset:
        initial = {
            "name_en": scene.name_en,
            "name_zh": scene.name_zh,
            "description_en": scene.description_en,
            "scene_types": scene.scene_types,
            "categories": scene.categories,
            "surface_y": scene.surface_y,
            "box_x0": scene.product_box[0],
            "box_y0": scene.product_box[1],
            "box_x1": scene.product_box[2],
            "box_y1": scene.product_box[3],
            "light_angle": scene.light_angle,
            "light_softness": scene.light_softness,
        }
        form = SceneGeometryForm(request.POST or None, initial=initial)
        if request.method == "POST":
            require_editor(request)
            if form.is_valid():
                data = form.cleaned_data
                box = [data["box_x0"], data["box_y0"], data["box_x1"], data["box_y1"]]
                box = [min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])]
                Scene.objects.filter(pk=scene.pk).update(
                    name_en=data["name_en"],
                    name_zh=data["name_zh"],
                    description_en=data["description_en"],
                    scene_types=sorted(set(data["scene_types"])),
                    categories=sorted(set(data["categories"])),
                    surface_y=data["surface_y"],
                    product_box=box,
                    light_angle=data["light_angle"],
                    light_softness=data["light_softness"],
                )
                scene.refresh_from_db()
                scene_library.refresh_team_cover(scene)
                messages.success(request, "Scene saved.")
                return redirect(scene)
    elif request.method == "POST":
        raise Http404("Presets cannot be edited.")
    return render(request, "processing/scene_form.html", {"form": form, "scene": scene})


@require_POST
@member_required
def scene_delete(request: HttpRequest, model_num: str) -> HttpResponse:
    require_editor(request)
    scene = _get_team_scene_for_user(request, model_num)
    files = [f.name for f in (scene.cover, scene.background) if f]
    scene.delete()
    for name in files:
        default_storage.delete(name)
    messages.info(request, "Scene deleted.")
    return redirect("processing:scene_list")


@require_GET
def scene_cover(request: HttpRequest, model_num: str) -> HttpResponse:
    """Preset covers are public (not team data); a team scene's cover needs a member or a signed link."""
    scene = Scene.objects.filter(model_num=model_num).first()
    if scene is None:
        raise Http404("No such scene.")
    if not scene.is_preset and not _may_see_team_scene(request, scene):
        raise Http404("No such scene.")
    if scene.is_preset:
        scene_library.ensure_cover(scene)
    if not scene.cover:
        raise Http404("This scene has no cover yet.")
    response = serve_stored_file(request, scene.cover, "image/jpeg", f"scene-{scene.model_num}.jpg")
    if scene.is_preset and settings.STORAGE_BACKEND != "s3":
        response["Cache-Control"] = "public, max-age=86400"
    return response


def _may_see_team_scene(request: HttpRequest, scene: Scene) -> bool:
    token = request.GET.get("sig")
    if token:
        try:
            value = TimestampSigner(salt=_COVER_SALT).unsign(token, max_age=settings.SIGNED_URL_MAX_AGE)
        except BadSignature:
            return False
        return value == scene.model_num
    membership = current_membership(request)
    return membership is not None and membership.team_id == scene.team_id


@require_GET
@member_required
def scene_background_file(request: HttpRequest, model_num: str) -> HttpResponse:
    """A team scene's photo, for its editor (members only)."""
    scene = _get_team_scene_for_user(request, model_num)
    if not scene.background:
        raise Http404("This scene has no photo.")
    return serve_stored_file(request, scene.background, "image/jpeg", f"scene-{scene.model_num}.jpg")


# --- a product's Scenes tab -------------------------------------------------------------------------------
def _product_images(request: HttpRequest, product: Product) -> list[ProductImage]:
    return list(product.images.order_by("position", "pk"))


@member_required
def product_scenes(request: HttpRequest, pk: int) -> HttpResponse:
    product = _get_product_for_user(request, pk)
    images = _product_images(request, product)
    category_type = _filter_value(request.GET.get("categoryType"), scene_library.CATEGORIES)
    scene_type = _filter_value(request.GET.get("sceneType"), scene_library.SCENE_TYPES)
    signals: dict = {}
    if images:
        try:
            signals = scene_library.signals_for_product_image(images[0])
        except (ImageDecodeError, FileNotFoundError, ItemError) as error:
            logger.info("no image signals for product %s: %s", product.pk, error)
    choices = scene_library.recommend_scenes(
        request.membership.team,
        title=product.title,
        category_probs=signals.get("probs"),
        palette=signals.get("palette"),
        category_type=category_type,
        scene_type=scene_type,
    )
    if any(choice.scene.cover_pending for choice in choices):
        queue_missing_covers()
    context = {
        "product": product,
        "images": images,
        "choices": choices,
        "category_type": category_type,
        "scene_type": scene_type,
        "type_choices": TYPE_CHOICES,
        "category_choices": CATEGORY_CHOICES,
        "aspects": list(scene_library.ASPECTS),
        "long_sides": LONG_SIDES,
        "palette": signals.get("palette") or [],
    }
    template = "processing/scene_product.html#scene-grid" if request.htmx else "processing/scene_product.html"
    return render(request, template, context)


@require_GET
@member_required
def scene_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """A small composite of one photo on one scene with the merchant's placement, as PNG."""
    product = _get_product_for_user(request, pk)
    scene = _get_scene_for_user(request, request.GET.get("scene", ""))
    image = get_object_or_404(
        ProductImage.objects.for_team(request.membership.team),
        pk=_int(request.GET.get("image")),
        product=product,
    )
    aspect = request.GET.get("aspect", "1:1")
    if aspect not in scene_library.ASPECTS:
        aspect = "1:1"
    try:
        placement = scene_kind.parse_placement(request.GET)
    except ValueError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    try:
        cutout = scene_library.cached_cutout(image)
    except (ItemError, ImageDecodeError) as error:
        return HttpResponse(getattr(error, "message", str(error)), status=422, content_type="text/plain")
    picture, geometry = scene_kind.render_on_scene(
        cutout,
        scene,
        category=product.category,
        size=scene_library.output_dims(aspect, scene_library.PREVIEW_SIDE),
        placement=placement,
        background_side=768,
    )
    response = HttpResponse(encode_image(picture, "PNG"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Subject-Box"] = ",".join(str(v) for v in geometry["subject_box"])
    response["X-Baseline"] = str(geometry["baseline_y"])
    return response


def _int(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() else 0


@require_POST
@member_required
def scene_render(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a `scene_render` job: one item per (photo, scene); photos sharing a scene form one set."""
    require_editor(request)
    product = _get_product_for_user(request, pk)
    team = request.membership.team
    image_ids = [_int(v) for v in request.POST.getlist("images")]
    images = list(
        ProductImage.objects.for_team(team)
        .filter(product=product, pk__in=image_ids)
        .order_by("position", "pk")
    )
    wanted = list(dict.fromkeys(request.POST.getlist("scenes")))
    by_num = {s.model_num: s for s in Scene.objects.visible_to(team).filter(model_num__in=wanted)}
    chosen = [by_num[num] for num in wanted if num in by_num]
    aspect = request.POST.get("aspect", "1:1")
    long_side = _int(request.POST.get("long_side")) or 2048
    problems = []
    if not images:
        problems.append("Choose at least one photo.")
    if not chosen:
        problems.append("Choose at least one scene.")
    if aspect not in scene_library.ASPECTS or not 256 <= long_side <= scene_library.MAX_OUTPUT_SIDE:
        problems.append("Choose a size: 1:1, 3:4, 4:3 or 9:16, up to 2048 px.")
    if len(images) * len(chosen) > MAX_RENDER_ITEMS:
        problems.append(f"At most {MAX_RENDER_ITEMS} renders at once; choose fewer photos or scenes.")
    placement = {}
    try:
        parsed = scene_kind.parse_placement({k: request.POST.get(k) for k in ("x", "y", "scale")})
    except ValueError as error:
        problems.append(f"Placement: {error}")
    else:
        if parsed is not None:
            placement = {"x": parsed.x, "y": parsed.y, "scale": parsed.scale}
    if problems:
        for problem in problems:
            messages.error(request, problem)
        return redirect("processing:product_scenes", pk=product.pk)
    items = [
        JobItem(
            image=image,
            source_name=image.original_filename,
            params={"scene": scene.model_num, "category": product.category},
        )
        for scene in chosen
        for image in images
    ]
    job = Job.objects.create_with_items(
        team=team,
        kind=JobKind.SCENE_RENDER,
        items=items,
        created_by=request.user,
        params={
            "size": list(scene_library.output_dims(aspect, long_side)),
            "aspect": aspect,
            "placement": placement,
            "consistent": True,
            "product": product.pk,
        },
    )
    return redirect(job)
